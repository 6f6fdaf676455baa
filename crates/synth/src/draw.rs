//! Random streams and the few distributions the generator needs.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// The generator every draw comes from.
pub(crate) type Rng = ChaCha8Rng;

/// One step of SplitMix64; it spreads nearby inputs (member 1, member 2) over the
/// whole seed space so the derived streams are unrelated.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A stream keyed by the seed and a path such as (purpose, member, domain, year).
///
/// Each member, domain and year gets its own stream, so generating more years or
/// members leaves the values already generated for the others unchanged.
pub(crate) fn stream(seed: u64, path: &[u64]) -> Rng {
    let key = path
        .iter()
        .fold(splitmix(seed), |h, p| splitmix(h ^ splitmix(*p)));
    Rng::seed_from_u64(key)
}

/// A standard normal draw by the Box–Muller transform.
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    // `1 - u` lies in (0, 1], which keeps the logarithm finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A uniform draw from `lo..hi`.
pub(crate) fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A log-normal draw with the given median, clamped to the plausible range so a
/// rare tail draw cannot produce an implausible member.
pub(crate) fn log_normal(rng: &mut Rng, median: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    (median * (sigma * normal(rng)).exp()).clamp(lo, hi)
}

/// Rounds a count or an amount of money to a whole, non-negative number.
pub(crate) fn whole(x: f64) -> f64 {
    x.max(0.0).round()
}

/// Rounds full-time equivalents to one decimal, but never below 0.1, because a
/// service that exists has at least some staff.
pub(crate) fn tenth(x: f64) -> f64 {
    ((x * 10.0).round() / 10.0).max(0.1)
}
