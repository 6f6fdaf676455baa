//! Time-based one-time passwords (RFC 6238, the second factor of accounts):
//! HMAC-SHA1 over the 30-second step since the Unix epoch, six digits, as
//! every authenticator app computes them; secrets in base32 (RFC 4648).

use hmac::{KeyInit, Mac};

/// Seconds per step.
pub const STEP: u64 = 30;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Reads base32 (case and spaces ignored); `None` for anything else.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a as char == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The code of a step (RFC 4226's HOTP with the step as counter), with
/// `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The six-digit code of a secret at a time (Unix seconds).
pub fn totp_code(secret: &[u8], unix_seconds: u64) -> u32 {
    hotp(secret, unix_seconds / STEP, 6)
}

/// The step a six-digit code belongs to, if it is the code of the current
/// step or of one next to it (clocks drift) and later than `used`, the
/// last step used (a code works once, RFC 6238 §5.2).
pub(crate) fn matching_step(
    secret: &[u8],
    code: &str,
    unix_seconds: u64,
    used: u64,
) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = unix_seconds / STEP;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .filter(|step| *step > used)
        .find(|step| hotp(secret, *step, 6) == wanted)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RFC 6238, appendix B (SHA-1), eight digits; six are the last six.
    #[test]
    fn codes_of_rfc_6238() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(secret, t / STEP, 8), code, "t = {t}");
            assert_eq!(totp_code(secret, t), code % 1_000_000, "t = {t}");
        }
        assert_eq!(matching_step(secret, "287082", 59, 0), Some(1));
        assert_eq!(
            matching_step(secret, "287082", 59 + 30, 0),
            Some(1),
            "one step late"
        );
        assert_eq!(matching_step(secret, "287082", 59 + 90, 0), None);
        assert_eq!(matching_step(secret, "28708", 59, 0), None);
        assert_eq!(matching_step(secret, "287082", 59, 1), None, "step 1 used");
    }

    /// RFC 4648's test vectors, without padding.
    #[test]
    fn base32_of_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), coded);
            assert_eq!(base32_decode(coded).unwrap(), plain.as_bytes());
        }
        assert!(base32_decode("MZ1").is_none());
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base32_decode(&base32(&bytes)), Some(bytes));
        }
    }
}
