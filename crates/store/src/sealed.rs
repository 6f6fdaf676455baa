//! Secrets the state log must keep readable for the service but nobody
//! else (the TOTP secrets of second factors) are sealed with AES-256-GCM
//! under the ring's key (`secrets_key`, shared by every replica, never in
//! the lake). Whoever reads the bucket reads figures, but cannot compute
//! anybody's second-factor codes. The user's id is the associated data,
//! so a sealed secret copied onto another account does not open.
//!
//! Without a key, secrets are stored as before (plain base32), and sealed
//! ones cannot be opened: a replica started without the key refuses those
//! second factors rather than guessing.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The prefix of a sealed value.
const PREFIX: &str = "sealed:v1:";

/// The ring's key for sealed secrets: 32 bytes.
#[derive(Clone)]
pub struct SecretsKey([u8; 32]);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(********)")
    }
}

impl SecretsKey {
    /// A key from 64 hex digits (`openssl rand -hex 32`).
    pub fn from_hex(hex: &str) -> Result<SecretsKey, String> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(
                "secrets_key must be 64 hex digits (32 bytes; `openssl rand -hex 32`)".into(),
            );
        }
        let mut key = [0u8; 32];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "secrets_key must be hex digits".to_string())?;
        }
        Ok(SecretsKey(key))
    }

    fn aead(&self) -> Option<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .ok()
            .map(LessSafeKey::new)
    }
}

/// Whether a stored value is sealed.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Seals `plain` for the account `aad`: `sealed:v1:` and the base64url of
/// a random nonce followed by the ciphertext and its tag.
pub(crate) fn seal(key: &SecretsKey, plain: &str, aad: &str) -> Option<String> {
    let aead = key.aead()?;
    let nonce_bytes: [u8; NONCE_LEN] = rand::random();
    let mut buf = plain.as_bytes().to_vec();
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad.as_bytes()),
        &mut buf,
    )
    .ok()?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    Some(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
}

/// The plain value of a stored one: a sealed value opened with the key (if
/// the key, the account and the ciphertext fit), a plain one as it is.
pub(crate) fn open(key: Option<&SecretsKey>, stored: &str, aad: &str) -> Option<String> {
    let Some(sealed) = stored.strip_prefix(PREFIX) else {
        return Some(stored.to_string());
    };
    let aead = key?.aead()?;
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = ciphertext.to_vec();
    let plain = aead
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(byte: u8) -> SecretsKey {
        SecretsKey([byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_account_only() {
        let k = key(7);
        let sealed = seal(&k, "JBSWY3DPEHPK3PXP", "u_1").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(open(Some(&k), &sealed, "u_1").unwrap(), "JBSWY3DPEHPK3PXP");
        assert!(open(Some(&k), &sealed, "u_2").is_none(), "another account");
        assert!(open(Some(&key(8)), &sealed, "u_1").is_none(), "another key");
        assert!(open(None, &sealed, "u_1").is_none(), "no key");
        // Two seals of one secret differ (a fresh nonce each time).
        assert_ne!(seal(&k, "JBSWY3DPEHPK3PXP", "u_1").unwrap(), sealed);
        // A flipped character of the ciphertext does not open.
        let mut broken = sealed.clone().into_bytes();
        let last = broken.len() - 2;
        broken[last] = if broken[last] == b'A' { b'B' } else { b'A' };
        assert!(open(Some(&k), std::str::from_utf8(&broken).unwrap(), "u_1").is_none());
        // A plain value is read as it is.
        assert_eq!(
            open(None, "JBSWY3DPEHPK3PXP", "u_1").unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
    }

    #[test]
    fn keys_are_64_hex_digits() {
        assert!(SecretsKey::from_hex(&"ab".repeat(32)).is_ok());
        for bad in ["", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
            assert!(SecretsKey::from_hex(bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{:?}", key(1)), "SecretsKey(********)");
    }
}
