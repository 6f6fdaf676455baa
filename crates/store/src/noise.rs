//! The ring's noise secret (rule 14 of the domain description): 32 random
//! bytes from which the engine derives every member's multipliers. Created
//! once, by `init` or the first start, as a change of the state log, so
//! every replica reads the same; sealed with AES-256-GCM under
//! `secrets_key` when the service has one (like second factors' secrets).
//! It is never returned, printed or logged.

use crate::state::Change;
use crate::{Result, Store, StoreError};

/// What the sealed secret is bound to (the associated data).
const AAD: &str = "vergleichsring noise secret";

impl Store {
    /// The ring's noise secret, created (and recorded in the state log) if
    /// the ring has none yet. Fails when the stored secret is sealed and
    /// this process has no or another `secrets_key`: the multipliers must
    /// be the same on every replica, so guessing is no option.
    pub async fn noise_secret(&self) -> Result<[u8; 32]> {
        let stored = self
            .state
            .commit("noise", |view| {
                if let Some(s) = &view.noise_secret {
                    return Ok((Vec::new(), s.clone()));
                }
                let plain = crate::auth::random_hex(32);
                let secret = match self.secrets_key.get() {
                    Some(key) => crate::sealed::seal(key, &plain, AAD).ok_or_else(|| {
                        StoreError::Invalid("the noise secret could not be sealed".into())
                    })?,
                    None => plain,
                };
                Ok((
                    vec![Change::NoiseSecret {
                        secret: secret.clone(),
                    }],
                    secret,
                ))
            })
            .await?;
        // Another writer may have won the number: what counts is the log.
        let stored = self.state.view().noise_secret.clone().unwrap_or(stored);
        let plain = crate::sealed::open(self.secrets_key.get(), &stored, AAD).ok_or_else(|| {
            StoreError::Invalid(
                "the ring's noise secret is sealed and cannot be opened: start the service with the secrets_key it was created with".into(),
            )
        })?;
        parse_hex32(&plain).ok_or_else(|| {
            StoreError::Invalid("the ring's noise secret in the state log is malformed".into())
        })
    }
}

impl Store {
    /// Records `secret` as the ring's noise secret if the ring has none
    /// yet (sealed like a created one); `Ok(false)` if it has another. For
    /// a ring carried to a new lake with its published numbers, and for
    /// tests whose expected answers (golden files) need fixed multipliers.
    pub async fn adopt_noise_secret(&self, secret: [u8; 32]) -> Result<bool> {
        let plain: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let stored = match self.secrets_key.get() {
            Some(key) => crate::sealed::seal(key, &plain, AAD).ok_or_else(|| {
                StoreError::Invalid("the noise secret could not be sealed".into())
            })?,
            None => plain,
        };
        self.state
            .commit("noise", |view| {
                if view.noise_secret.is_some() {
                    return Ok((Vec::new(), ()));
                }
                Ok((
                    vec![Change::NoiseSecret {
                        secret: stored.clone(),
                    }],
                    (),
                ))
            })
            .await?;
        Ok(self.noise_secret().await? == secret)
    }
}

/// 64 hex digits as 32 bytes.
fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn the_secret_is_created_once_and_read_the_same_by_another_process() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let a = Store::open(dir.path()).await.unwrap();
        let first = a.noise_secret().await.unwrap();
        assert_eq!(a.noise_secret().await.unwrap(), first);
        // A second process on the same lake reads the same secret.
        let b = Store::open(dir.path()).await.unwrap();
        assert_eq!(b.noise_secret().await.unwrap(), first);
        assert_ne!(first, [0u8; 32]);
    }

    #[tokio::test]
    async fn a_sealed_secret_needs_its_key() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let key = "11".repeat(32);
        let a = Store::open(dir.path()).await.unwrap();
        assert!(a.set_secrets_key(crate::SecretsKey::from_hex(&key).unwrap()));
        let first = a.noise_secret().await.unwrap();
        // Not in the clear in the log.
        let hex: String = first.iter().map(|b| format!("{b:02x}")).collect();
        let log = std::fs::read_dir(dir.path().join("lake/_state/log")).unwrap();
        for e in log {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            assert!(!text.contains(&hex));
        }
        let without = Store::open(dir.path()).await.unwrap();
        assert!(without.noise_secret().await.is_err());
        let with = Store::open(dir.path()).await.unwrap();
        with.set_secrets_key(crate::SecretsKey::from_hex(&key).unwrap());
        assert_eq!(with.noise_secret().await.unwrap(), first);
    }

    #[tokio::test]
    async fn an_adopted_secret_is_kept_and_another_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let a = Store::open(dir.path()).await.unwrap();
        assert!(a.adopt_noise_secret([9; 32]).await.unwrap());
        assert_eq!(a.noise_secret().await.unwrap(), [9; 32]);
        assert!(!a.adopt_noise_secret([8; 32]).await.unwrap());
        assert_eq!(a.noise_secret().await.unwrap(), [9; 32]);
    }

    #[test]
    fn hex_is_parsed_strictly() {
        assert!(parse_hex32(&"ab".repeat(32)).is_some());
        assert!(parse_hex32(&"ab".repeat(31)).is_none());
        assert!(parse_hex32(&"zz".repeat(32)).is_none());
        assert!(parse_hex32(&"é".repeat(32)).is_none());
    }
}
