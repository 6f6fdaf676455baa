//! Arithmetic modulo the two primes the audit works with.
//!
//! Both primes are just below a power of two so that reducing a 124-bit
//! product needs only shifts, one small multiplication and additions; a
//! generic `u128 % p` would be a library call and dominate the elimination.

/// A prime field `Z/pZ` with elements stored as `u64` in `0..P`.
pub(crate) trait Modulus {
    /// The prime; below `2^62`, so the sum of two elements fits in a `u64`.
    const P: u64;

    /// The product `a * b mod P` for reduced `a` and `b`.
    fn mul(a: u64, b: u64) -> u64;

    /// The sum `a + b mod P` for reduced `a` and `b`.
    #[inline]
    fn add(a: u64, b: u64) -> u64 {
        let s = a + b;
        if s >= Self::P { s - Self::P } else { s }
    }

    /// The difference `a - b mod P` for reduced `a` and `b`.
    #[inline]
    fn sub(a: u64, b: u64) -> u64 {
        if a >= b { a - b } else { a + Self::P - b }
    }

    /// The additive inverse of a reduced `a`.
    #[inline]
    fn neg(a: u64) -> u64 {
        if a == 0 { 0 } else { Self::P - a }
    }

    /// The multiplicative inverse of a nonzero reduced `a` (Fermat: `a^(P-2)`).
    fn inv(a: u64) -> u64 {
        let mut result = 1;
        let mut base = a;
        let mut exp = Self::P - 2;
        while exp > 0 {
            if exp & 1 == 1 {
                result = Self::mul(result, base);
            }
            base = Self::mul(base, base);
            exp >>= 1;
        }
        result
    }
}

/// The Mersenne prime `2^61 - 1`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mersenne61;

impl Modulus for Mersenne61 {
    const P: u64 = (1 << 61) - 1;

    #[inline]
    fn mul(a: u64, b: u64) -> u64 {
        // Because 2^61 = 1 (mod P), the high part of the product folds onto
        // the low part by a plain addition.
        let x = u128::from(a) * u128::from(b);
        let folded = (x & u128::from(Self::P)) + (x >> 61);
        // `folded` < 2^62, one more fold brings it to at most P.
        let y = (folded & u128::from(Self::P)) + (folded >> 61);
        // The truncation is exact: y <= P < 2^61.
        #[allow(clippy::cast_possible_truncation)]
        let y = y as u64;
        if y >= Self::P { y - Self::P } else { y }
    }
}

/// The prime `2^62 - 57`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pseudo62;

impl Modulus for Pseudo62 {
    const P: u64 = (1 << 62) - 57;

    #[inline]
    fn mul(a: u64, b: u64) -> u64 {
        // Because 2^62 = 57 (mod P), the part above bit 62 is worth 57 times
        // as much below it; two folds bring a product below 2P.
        const MASK: u128 = (1 << 62) - 1;
        let x = u128::from(a) * u128::from(b);
        let y = (x >> 62) * 57 + (x & MASK);
        let z = (y >> 62) * 57 + (y & MASK);
        // The truncation is exact: z < 2^62 + 57 * 58 < 2^64.
        #[allow(clippy::cast_possible_truncation)]
        let z = z as u64;
        if z >= Self::P { z - Self::P } else { z }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic Miller-Rabin for 64-bit numbers, with `u128` arithmetic
    /// independent of the folding multiplications under test.
    fn is_prime(n: u64) -> bool {
        let mulmod = |a: u64, b: u64| -> u64 {
            let r = u128::from(a) * u128::from(b) % u128::from(n);
            u64::try_from(r).unwrap_or(0)
        };
        let powmod = |mut b: u64, mut e: u64| -> u64 {
            let mut r = 1u64;
            while e > 0 {
                if e & 1 == 1 {
                    r = mulmod(r, b);
                }
                b = mulmod(b, b);
                e >>= 1;
            }
            r
        };
        let mut d = n - 1;
        let mut s = 0;
        while d.is_multiple_of(2) {
            d /= 2;
            s += 1;
        }
        'witness: for a in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            let mut x = powmod(a, d);
            if x == 1 || x == n - 1 {
                continue;
            }
            for _ in 1..s {
                x = mulmod(x, x);
                if x == n - 1 {
                    continue 'witness;
                }
            }
            return false;
        }
        true
    }

    fn check_mul<M: Modulus>() {
        let p = M::P;
        let samples = [
            0,
            1,
            2,
            57,
            p - 1,
            p - 2,
            p / 2,
            p / 3 + 7,
            1 << 40,
            (1 << 60) + 12_345,
        ];
        for &a in &samples {
            for &b in &samples {
                let expect = u128::from(a) * u128::from(b) % u128::from(p);
                assert_eq!(u128::from(M::mul(a, b)), expect, "{a} * {b} mod {p}");
            }
            if a != 0 {
                assert_eq!(M::mul(a, M::inv(a)), 1);
            }
            assert_eq!(M::add(a, M::neg(a)), 0);
            assert_eq!(M::sub(a, a), 0);
        }
    }

    #[test]
    fn moduli_are_prime_and_multiply_correctly() {
        assert!(is_prime(Mersenne61::P));
        assert!(is_prime(Pseudo62::P));
        check_mul::<Mersenne61>();
        check_mul::<Pseudo62>();
    }
}
