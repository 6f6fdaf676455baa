//! The TOTP second factor: enrolment, and the confirmation of a waiting
//! session with a code or a recovery code.
//!
//! Guessing is bounded before any code is looked at: every attempt is
//! counted first (per waiting session and per account, in this process's
//! memory, so that failed attempts never write to the state log), and only
//! then checked. A session that used up its attempts ends; an account with
//! too many attempts has its second-factor step paused, for longer each
//! time. A code's time step is used once, enrolment included (RFC 6238
//! §5.2): the last used step is part of the account in the state log, so
//! it holds on every replica and after a restart. A confirmed session gets
//! a new id, in one event that ends the old key and starts the new one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::random_hex;
use crate::state::{Change, SessionRecord, expired};
use crate::{Result, Store, StoreError, UserRecord, hash_token};

/// How many codes one waiting session may try; the last failure ends it.
pub const SESSION_ATTEMPTS: u32 = 5;

/// How many codes an account's waiting sessions may try together within
/// [`ACCOUNT_WINDOW`] on one replica before its second-factor step pauses.
pub const ACCOUNT_ATTEMPTS: u32 = 10;

/// The window in which an account's attempts are counted.
pub const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The first pause of an account's second-factor step; each further pause
/// without a success in between doubles, up to [`MAX_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_secs(15 * 60);

/// The longest pause.
pub const MAX_PAUSE: Duration = Duration::from_secs(24 * 3600);

/// What became of a code sent for a waiting session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The session counts now, under a new id (the cookie's new value);
    /// the old id ended with it.
    Confirmed {
        /// The new session id.
        session_id: String,
    },
    /// A wrong or used code; the session may try `attempts_left` more.
    Refused {
        /// Codes the session may still try.
        attempts_left: u32,
    },
    /// The session is not (or no longer) waiting: unknown, ended, or its
    /// attempts are used up (then it was ended).
    Ended,
    /// The account's second-factor step pauses after too many attempts.
    Paused {
        /// How long the pause lasts.
        retry_after: Duration,
    },
}

/// The attempts of one account on this replica.
#[derive(Debug)]
struct AccountAttempts {
    attempts: u32,
    since: Instant,
    paused_until: Option<Instant>,
    pauses: u32,
}

#[derive(Debug, Default)]
struct Counts {
    /// Attempts per waiting session (by its key) and when it was first
    /// counted.
    sessions: HashMap<String, (u32, Instant)>,
    accounts: HashMap<String, AccountAttempts>,
}

/// What the counter says about an attempt, decided before the code is
/// looked at.
#[derive(Debug, PartialEq, Eq)]
enum Reserved {
    /// Check the code: this is the session's `n`th attempt.
    Go(u32),
    /// The session used up its attempts.
    SessionSpent,
    /// The account pauses for this long.
    Paused(Duration),
}

/// Attempts of the second factor counted per session and per account, in
/// memory: per replica, and a restart forgets them (a spent session has
/// ended in the state log by then).
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    counts: Mutex<Counts>,
}

impl Attempts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an attempt of a session of an account, before its code is
    /// checked: concurrent attempts beyond the limits never reach the
    /// check.
    fn reserve(&self, session_key: &str, user_id: &str, now: Instant) -> Reserved {
        let mut guard = self.lock();
        let counts = &mut *guard;
        // Sessions end within their lifetime: entries older than it are
        // of no use (an attacker needs a password sign-in for each one).
        if counts.sessions.len() > 10_000 {
            counts
                .sessions
                .retain(|_, (_, at)| now.duration_since(*at) < crate::SESSION_LIFETIME);
        }
        let account = counts
            .accounts
            .entry(user_id.to_string())
            .or_insert_with(|| AccountAttempts {
                attempts: 0,
                since: now,
                paused_until: None,
                pauses: 0,
            });
        if let Some(until) = account.paused_until {
            if until > now {
                return Reserved::Paused(until - now);
            }
            account.paused_until = None;
            account.attempts = 0;
            account.since = now;
        }
        if now.duration_since(account.since) >= ACCOUNT_WINDOW {
            account.attempts = 0;
            account.since = now;
        }
        let session = counts
            .sessions
            .entry(session_key.to_string())
            .or_insert((0, now));
        if session.0 >= SESSION_ATTEMPTS {
            return Reserved::SessionSpent;
        }
        session.0 += 1;
        account.attempts += 1;
        if account.attempts >= ACCOUNT_ATTEMPTS {
            // This attempt goes ahead; the next ones wait.
            let pause = FIRST_PAUSE
                .saturating_mul(1 << account.pauses.min(10))
                .min(MAX_PAUSE);
            account.pauses += 1;
            account.paused_until = Some(now + pause);
        }
        Reserved::Go(session.0)
    }

    /// A confirmed session: the account starts from nothing again.
    fn succeeded(&self, session_key: &str, user_id: &str) {
        let mut counts = self.lock();
        counts.accounts.remove(user_id);
        counts.sessions.remove(session_key);
    }
}

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

impl Store {
    /// Enrols the TOTP second factor of a user: `secret` (base32) is the
    /// one shown to the user, `code` what its app shows for it now, which
    /// proves the app has it; the code's step is used up with it. Returns
    /// ten recovery codes, shown once and stored only as hashes.
    pub async fn enrol_totp(&self, user_id: &str, secret: &str, code: &str) -> Result<Vec<String>> {
        let bytes = crate::totp::base32_decode(secret)
            .filter(|b| b.len() >= 16)
            .ok_or_else(|| {
                StoreError::Invalid("secret: not a base32 secret of 128 bits or more".into())
            })?;
        let Some(step) = crate::totp::matching_step(&bytes, code, unix_now(), 0) else {
            return Err(StoreError::Invalid(
                "code: not the current code of this secret".into(),
            ));
        };
        let codes: Vec<String> = (0..10).map(|_| random_hex(5)).collect();
        let hashes: Vec<String> = codes.iter().map(|c| hash_token(c)).collect();
        // Sealed under the ring's key when the service has one: the state
        // log then never holds the secret in the clear.
        let plain = crate::totp::base32(&bytes);
        let stored_secret = match self.secrets_key.get() {
            Some(key) => crate::sealed::seal(key, &plain, user_id)
                .ok_or_else(|| StoreError::Invalid("secret: it could not be sealed".into()))?,
            None => plain,
        };
        self.state
            .commit(user_id, |view| {
                let user = view
                    .users
                    .get(user_id)
                    .filter(|u| !u.disabled)
                    .ok_or_else(|| StoreError::NotFound(format!("no user {user_id}")))?;
                if user.totp_secret.is_some() {
                    return Err(StoreError::Conflict(
                        "the second factor is enrolled already".into(),
                    ));
                }
                Ok((
                    vec![
                        Change::TotpEnrolled {
                            user_id: user_id.to_string(),
                            secret: stored_secret.clone(),
                            recovery_hashes: hashes.clone(),
                        },
                        // The enrolling code must not confirm the next
                        // sign-in (RFC 6238 §5.2).
                        Change::TotpStepUsed {
                            user_id: user_id.to_string(),
                            step,
                        },
                    ],
                    (),
                ))
            })
            .await?;
        Ok(codes)
    }

    /// Confirms a waiting session with the user's TOTP code of a step not
    /// used before, or an unused recovery code (used up then). The attempt
    /// is counted before the code is checked (see [`SESSION_ATTEMPTS`] and
    /// [`ACCOUNT_ATTEMPTS`]); the session's last allowed failure ends it.
    /// A confirmed session continues under a new id.
    pub async fn confirm_session(&self, session_id: &str, code: &str) -> Result<Confirmation> {
        let key = hash_token(session_id);
        let Some(session) = self.session(session_id).await.filter(|s| s.pending) else {
            return Ok(Confirmation::Ended);
        };
        let Some(user) = session.user_id.as_deref().and_then(|u| self.user(u)) else {
            return Ok(Confirmation::Ended);
        };
        let nth = match self
            .second_factor
            .reserve(&key, &user.user_id, Instant::now())
        {
            Reserved::Go(n) => n,
            // The attempt that used the session up ended it (or is ending
            // it): nothing to write here, so a flood writes nothing.
            Reserved::SessionSpent => return Ok(Confirmation::Ended),
            Reserved::Paused(retry_after) => return Ok(Confirmation::Paused { retry_after }),
        };
        if let Some(session_id) = self.check_and_rotate(&key, &user, code).await? {
            self.second_factor.succeeded(&key, &user.user_id);
            return Ok(Confirmation::Confirmed { session_id });
        }
        if nth >= SESSION_ATTEMPTS {
            tracing::warn!(
                user_id = user.user_id,
                "a waiting session used up its second-factor attempts and ends"
            );
            self.end_session(session_id).await?;
            return Ok(Confirmation::Ended);
        }
        Ok(Confirmation::Refused {
            attempts_left: SESSION_ATTEMPTS - nth,
        })
    }

    /// The code's check and, if it holds, one event: the step (or the
    /// recovery code) used, the old session ended and a confirmed one
    /// started under a new id, which is returned. Checked again against
    /// the latest state inside the commit, so two replicas cannot both
    /// take one step or one recovery code.
    async fn check_and_rotate(
        &self,
        key: &str,
        user: &UserRecord,
        code: &str,
    ) -> Result<Option<String>> {
        let recovery = hash_token(code.trim());
        let by_recovery = user.recovery_codes.contains(&recovery);
        let step = if by_recovery {
            None
        } else {
            let Some(secret) = self.totp_secret_of(user) else {
                return Ok(None);
            };
            let Some(step) =
                crate::totp::matching_step(&secret, code, unix_now(), user.totp_last_step)
            else {
                return Ok(None);
            };
            Some(step)
        };
        let new_id = random_hex(32);
        let new_key = hash_token(&new_id);
        let confirmed = self
            .state
            .commit(&user.user_id, |view| {
                let now = chrono::Utc::now();
                let Some(old) = view
                    .sessions
                    .get(key)
                    .filter(|s| s.pending && !expired(&s.expires_at, now))
                else {
                    return Ok((Vec::new(), false));
                };
                let Some(latest) = view.users.get(&user.user_id).filter(|u| !u.disabled) else {
                    return Ok((Vec::new(), false));
                };
                let mut changes = Vec::new();
                match step {
                    None if latest.recovery_codes.contains(&recovery) => {
                        changes.push(Change::RecoveryCodeUsed {
                            user_id: user.user_id.clone(),
                            code_hash: recovery.clone(),
                        });
                    }
                    Some(step) if latest.totp_last_step < step => {
                        changes.push(Change::TotpStepUsed {
                            user_id: user.user_id.clone(),
                            step,
                        });
                    }
                    _ => return Ok((Vec::new(), false)),
                }
                // The id seen before the second factor (by whoever watched
                // the sign-in) is worth nothing after it.
                changes.push(Change::SessionEnded {
                    key: key.to_string(),
                });
                changes.push(Change::SessionStarted {
                    key: new_key.clone(),
                    session: SessionRecord {
                        pending: false,
                        ..old.clone()
                    },
                });
                Ok((changes, true))
            })
            .await?;
        Ok(confirmed.then_some(new_id))
    }

    /// The TOTP secret of an account, opened with the ring's key if it is
    /// sealed.
    fn totp_secret_of(&self, user: &UserRecord) -> Option<Vec<u8>> {
        let stored = user.totp_secret.as_deref()?;
        let opened = crate::sealed::open(self.secrets_key.get(), stored, &user.user_id);
        if opened.is_none() && crate::sealed::is_sealed(stored) {
            tracing::error!(
                user_id = user.user_id,
                "a sealed second factor cannot be opened: the service has no or another secrets_key"
            );
        }
        opened.as_deref().and_then(crate::totp::base32_decode)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn attempts_are_counted_before_the_check_and_pause_the_account() {
        let a = Attempts::default();
        let t = Instant::now();
        for n in 1..=SESSION_ATTEMPTS {
            assert_eq!(a.reserve("s1", "u", t), Reserved::Go(n));
        }
        assert_eq!(a.reserve("s1", "u", t), Reserved::SessionSpent);
        for n in 1..SESSION_ATTEMPTS {
            assert_eq!(a.reserve("s2", "u", t), Reserved::Go(n));
        }
        // The account's tenth attempt goes ahead; the next one waits.
        assert_eq!(a.reserve("s2", "u", t), Reserved::Go(SESSION_ATTEMPTS));
        assert_eq!(a.reserve("s3", "u", t), Reserved::Paused(FIRST_PAUSE));
        assert_eq!(a.reserve("s3", "other", t), Reserved::Go(1));
        // After the pause, ten more; then a pause twice as long.
        let later = t + FIRST_PAUSE;
        for i in 0..ACCOUNT_ATTEMPTS {
            let s = format!("t{}", i / SESSION_ATTEMPTS);
            assert!(matches!(a.reserve(&s, "u", later), Reserved::Go(_)));
        }
        assert_eq!(
            a.reserve("t9", "u", later),
            Reserved::Paused(2 * FIRST_PAUSE)
        );
        a.succeeded("t9", "u");
        assert_eq!(a.reserve("t9", "u", later), Reserved::Go(1));
    }

    /// With the ring's key the state log never holds a TOTP secret in the
    /// clear; a store with the key confirms sign-ins with it, one without
    /// the key (or with another) refuses them. The enrolling code's step
    /// confirms nothing, and a used step stays used for a store opened
    /// afterwards (a restart, another replica).
    #[tokio::test]
    async fn a_sealed_second_factor_keeps_its_secret_out_of_the_log() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let key = "0f".repeat(32);
        let store = Store::open(dir.path()).await.unwrap();
        assert!(store.set_secrets_key(crate::SecretsKey::from_hex(&key).unwrap()));
        let (user, code) = store
            .invite_user(
                "cli",
                crate::NewUser {
                    email: "t@ring.de".into(),
                    name: "Tina".into(),
                    role: crate::Role::Analyst,
                    member_id: None,
                    consultant_id: None,
                    lead: false,
                },
            )
            .await
            .unwrap();
        store
            .accept_invitation(&code, "ein langes Passwort")
            .await
            .unwrap();
        let secret = crate::totp::base32(&[42u8; 20]);
        let now = chrono::Utc::now().timestamp() as u64;
        let current = format!(
            "{:06}",
            crate::totp::totp_code(&crate::totp::base32_decode(&secret).unwrap(), now)
        );
        store
            .enrol_totp(&user.user_id, &secret, &current)
            .await
            .unwrap();
        let mut log = String::new();
        for e in std::fs::read_dir(dir.path().join("lake/_state/log")).unwrap() {
            log.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        assert!(log.contains("sealed:v1:"), "{log}");
        assert!(
            !log.contains(&secret),
            "the secret is in the log in the clear"
        );

        let next = format!(
            "{:06}",
            crate::totp::totp_code(&crate::totp::base32_decode(&secret).unwrap(), now + 30)
        );
        let session = store.start_user_session(&user.user_id).await.unwrap();
        assert_eq!(
            store.confirm_session(&session, &current).await.unwrap(),
            Confirmation::Refused {
                attempts_left: SESSION_ATTEMPTS - 1
            },
            "the enrolling code is used"
        );
        let Confirmation::Confirmed { session_id } =
            store.confirm_session(&session, &next).await.unwrap()
        else {
            panic!("the next step's code confirms");
        };
        assert!(store.session(&session).await.is_none(), "the old id ended");
        assert!(!store.session(&session_id).await.unwrap().pending);

        for other_key in [None, Some("f0".repeat(32))] {
            let other = Store::open(dir.path()).await.unwrap();
            if let Some(k) = &other_key {
                other.set_secrets_key(crate::SecretsKey::from_hex(k).unwrap());
            }
            let session = other.start_user_session(&user.user_id).await.unwrap();
            assert!(
                matches!(
                    other.confirm_session(&session, &next).await.unwrap(),
                    Confirmation::Refused { .. }
                ),
                "{other_key:?}"
            );
        }
        let same = Store::open(dir.path()).await.unwrap();
        same.set_secrets_key(crate::SecretsKey::from_hex(&key).unwrap());
        let session = same.start_user_session(&user.user_id).await.unwrap();
        assert!(
            matches!(
                same.confirm_session(&session, &next).await.unwrap(),
                Confirmation::Refused { .. }
            ),
            "a used step stays used"
        );
    }
}
