//! The guard in front of every sign-in: attempts are counted per account,
//! per token and per client address *before* any work is done (count
//! first, then check), so that a burst of parallel guesses cannot slip
//! past the limit while earlier guesses are still being checked; and the
//! argon2id checks that do run are bounded by a semaphore sized from
//! memory (each takes [`ARGON2_MIB`] MiB), so that a burst cannot take
//! the server's memory either. A request that finds no free check within
//! a short wait is answered 503 with `Retry-After`; none queues without
//! bound.
//!
//! Once the allowance of a key is used, every further attempt with it is
//! refused until its window ends (a correct password too, so that the
//! answer says nothing). Counted per process: behind a load balancer with
//! several replicas the allowance is per replica.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::Response;

/// The default window attempts are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed passwords allowed per account in a window (by default).
pub const PER_ACCOUNT: u32 = 5;
/// Failed passwords allowed per client address in a window (by default).
pub const PER_ADDRESS: u32 = 20;
/// Memory one argon2id check takes, in MiB: the argon2 crate's default
/// (19 MiB, two passes, one lane), OWASP's minimum, which the store uses.
pub const ARGON2_MIB: u64 = 19;
/// Keys kept at most; when full, windows that ended go first.
const MAX_KEYS: usize = 100_000;

/// How many sign-ins the throttles allow, and how many password checks
/// run at once.
#[derive(Debug, Clone)]
pub struct SignInLimits {
    /// Failed passwords per account in a window.
    pub per_account: u32,
    /// Failed passwords per client address in a window.
    pub per_address: u32,
    /// Sign-ins with one token in a window (each one is a session).
    pub per_token: u32,
    /// Sign-ins with tokens per client address in a window.
    pub tokens_per_address: u32,
    /// The window attempts are counted in.
    pub window: Duration,
    /// Memory all password checks at once may take, in MiB: the checks
    /// running at once are this divided by [`ARGON2_MIB`] (at least one).
    pub password_check_mib: u64,
    /// How long a request waits for a free password check before it is
    /// answered 503.
    pub wait: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            per_account: PER_ACCOUNT,
            per_address: PER_ADDRESS,
            per_token: 10,
            tokens_per_address: 30,
            window: WINDOW,
            // Four checks at once: two per core of a small machine, 76 MiB.
            password_check_mib: 4 * ARGON2_MIB,
            wait: Duration::from_secs(2),
        }
    }
}

impl SignInLimits {
    /// Password checks allowed to run at once.
    pub fn permits(&self) -> usize {
        usize::try_from(self.password_check_mib / ARGON2_MIB)
            .unwrap_or(usize::MAX)
            .max(1)
    }
}

/// Why a sign-in was refused before its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The allowance of the account, token or address is used: 429.
    Attempts {
        /// Until the window of the key ends.
        retry_after: Duration,
    },
    /// Every password check is busy: 503.
    Busy {
        /// A short wait.
        retry_after: Duration,
    },
}

impl Refused {
    /// 429 for used allowances, 503 for a full server.
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::Attempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Refused::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whole seconds to wait, at least one.
    pub fn retry_after_seconds(&self) -> u64 {
        let (Refused::Attempts { retry_after } | Refused::Busy { retry_after }) = self;
        retry_after.as_secs_f64().ceil().max(1.0) as u64
    }

    /// What the web page says, in German.
    pub fn message(&self) -> String {
        match self {
            Refused::Attempts { .. } => format!(
                "Zu viele Anmeldeversuche. Bitte versuchen Sie es in {} Minuten noch einmal.",
                self.retry_after_seconds().div_ceil(60)
            ),
            Refused::Busy { .. } => {
                "Der Server prüft gerade zu viele Anmeldungen. Bitte versuchen Sie es in einigen Sekunden noch einmal.".to_string()
            }
        }
    }

    /// `response` with this refusal's status and `Retry-After`.
    pub fn apply(&self, mut response: Response) -> Response {
        *response.status_mut() = self.status();
        if let Ok(v) = HeaderValue::from_str(&self.retry_after_seconds().to_string()) {
            response.headers_mut().insert(RETRY_AFTER, v);
        }
        response
    }
}

/// Attempts per key (`account:<hash of the email>`, `address:<ip>`, `token:<hash>`,
/// `token-address:<ip>`) and the bound on password checks.
pub struct Throttle {
    limits: SignInLimits,
    attempts: Mutex<HashMap<String, (u32, Instant)>>,
    checks: Arc<tokio::sync::Semaphore>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(SignInLimits::default())
    }
}

/// Attempts counted by [`Throttle::reserve`]; they stay counted unless
/// given back.
#[must_use]
pub struct Reservation<'a> {
    throttle: &'a Throttle,
    keys: Vec<String>,
}

impl Reservation<'_> {
    /// Gives every attempt back (the work was not done).
    pub fn give_back(self) {
        let mut map = self.throttle.lock();
        for key in &self.keys {
            if let Some(entry) = map.get_mut(key) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }

    /// A correct password: the account's count starts again (`reset`),
    /// the address gets its attempt back (not more, so that signing in to
    /// one's own account does not clear the guesses at others).
    fn succeeded(self, reset: &str) {
        let mut map = self.throttle.lock();
        for key in &self.keys {
            if key == reset {
                map.remove(key);
            } else if let Some(entry) = map.get_mut(key) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }
}

/// The key an e-mail address is counted under (`<kind>:` and the hash of
/// the address as the store looks it up: trimmed, lower case), so that a
/// key takes the same few bytes however long the address sent is (a form
/// may carry megabytes, and a key stays for its window even when the
/// attempt is refused).
pub fn account_key(kind: &str, email: &str) -> String {
    let hash = vergleichsring_store::hash_token(&email.trim().to_lowercase());
    format!("{kind}:{}", hash.get(..32).unwrap_or(&hash))
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(limits: SignInLimits) -> Throttle {
        Throttle {
            checks: Arc::new(tokio::sync::Semaphore::new(limits.permits())),
            limits,
            attempts: Mutex::default(),
            running: Arc::default(),
            peak: Arc::default(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &SignInLimits {
        &self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.attempts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one attempt for each `(key, limit)`, all under one lock, then
    /// refuses if any key is over its limit. The attempt stays counted
    /// when refused: a refused guess extends nothing, but it is not free.
    pub fn reserve(&self, keys: &[(String, u32)]) -> Result<Reservation<'_>, Refused> {
        let now = Instant::now();
        let window = self.limits.window;
        let mut map = self.lock();
        if map.len() + keys.len() > MAX_KEYS {
            map.retain(|_, (_, since)| now.saturating_duration_since(*since) < window);
        }
        let mut wait: Option<Duration> = None;
        for (key, limit) in keys {
            let entry = map.entry(key.clone()).or_insert((0, now));
            if now.saturating_duration_since(entry.1) >= window {
                *entry = (0, now);
            }
            entry.0 = entry.0.saturating_add(1);
            if entry.0 > *limit {
                let left = window.saturating_sub(now.saturating_duration_since(entry.1));
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        drop(map);
        match wait {
            Some(retry_after) => {
                metrics::counter!("vergleichsring_sign_ins_refused_total", "reason" => "attempts")
                    .increment(1);
                Err(Refused::Attempts { retry_after })
            }
            None => Ok(Reservation {
                throttle: self,
                keys: keys.iter().map(|(k, _)| k.clone()).collect(),
            }),
        }
    }

    /// Runs `work` (which hashes or verifies with argon2id) holding one of
    /// the password checks, waiting at most the configured wait for one.
    /// The work runs in a task of its own with the permit, so that a
    /// client that hangs up cannot free the permit while the hash still
    /// runs on the blocking pool.
    pub async fn password_check<T, F>(&self, work: F) -> Result<T, Refused>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let busy = Refused::Busy {
            retry_after: Duration::from_secs(2),
        };
        let permit =
            match tokio::time::timeout(self.limits.wait, self.checks.clone().acquire_owned()).await
            {
                Ok(Ok(permit)) => permit,
                _ => {
                    metrics::counter!("vergleichsring_sign_ins_refused_total", "reason" => "busy")
                        .increment(1);
                    return Err(busy);
                }
            };
        let (running, peak) = (self.running.clone(), self.peak.clone());
        let task = tokio::spawn(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            let high = peak.fetch_max(now, Ordering::SeqCst).max(now);
            metrics::gauge!("vergleichsring_password_checks_running").set(now as f64);
            metrics::gauge!("vergleichsring_password_checks_peak").set(high as f64);
            metrics::counter!("vergleichsring_password_checks_total").increment(1);
            let out = work.await;
            let now = running.fetch_sub(1, Ordering::SeqCst) - 1;
            metrics::gauge!("vergleichsring_password_checks_running").set(now as f64);
            drop(permit);
            out
        });
        task.await.map_err(|e| {
            tracing::error!(error = %e, "a password check failed");
            busy
        })
    }

    /// The most password checks that ran at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// A password sign-in: counts the attempt for the account and the
    /// client address, then checks the password under
    /// [`Throttle::password_check`]. `Ok(None)` is a wrong password (or
    /// an unknown address), which stays counted; a correct one resets
    /// the account's count.
    pub async fn sign_in_with_password(
        &self,
        store: &Arc<vergleichsring_store::Store>,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<Option<vergleichsring_store::UserRecord>, Refused> {
        let account = account_key("account", email);
        let reservation = self.reserve(&[
            (account.clone(), self.limits.per_account),
            (format!("address:{address}"), self.limits.per_address),
        ])?;
        let (store, email, password) = (store.clone(), email.to_string(), password.to_string());
        match self
            .password_check(async move { store.check_password(&email, &password).await })
            .await
        {
            Err(refused) => {
                // Nothing was checked, so nothing was guessed.
                reservation.give_back();
                Err(refused)
            }
            Ok(Some(user)) => {
                reservation.succeeded(&account);
                Ok(Some(user))
            }
            Ok(None) => Ok(None),
        }
    }

    /// A sign-in with an API token: counted per token (by its hash, so
    /// that no token is kept in memory) and per client address before the
    /// token is looked up or a session written. Every sign-in counts,
    /// successful ones too, because each one starts a session.
    pub fn token_sign_in(&self, token: &str, address: &str) -> Result<(), Refused> {
        let hash = vergleichsring_store::hash_token(token.trim());
        self.reserve(&[
            (
                format!("token:{}", hash.get(..32).unwrap_or(&hash)),
                self.limits.per_token,
            ),
            (
                format!("token-address:{address}"),
                self.limits.tokens_per_address,
            ),
        ])
        .map(|_| ())
    }

    /// Whether a key has used its allowance of `limit` in the current
    /// window (for counters that are not sign-ins: reset mails).
    pub fn blocked(&self, key: &str, limit: u32) -> bool {
        let window = self.limits.window;
        self.lock()
            .get(key)
            .is_some_and(|(n, since)| *n >= limit && since.elapsed() < window)
    }

    /// Counts one for a key (see [`Throttle::blocked`]).
    pub fn failed(&self, key: &str) {
        let now = Instant::now();
        let window = self.limits.window;
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, since)| now.saturating_duration_since(*since) < window);
        }
        let entry = map.entry(key.to_string()).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forgets a key's count.
    pub fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn limits() -> SignInLimits {
        SignInLimits {
            window: Duration::from_millis(300),
            ..SignInLimits::default()
        }
    }

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let t = Throttle::new(limits());
        let key = || vec![("account:a".to_string(), 2)];
        // Two reservations held at once (two checks in flight): the
        // third is refused although neither has failed yet.
        let first = t.reserve(&key()).unwrap();
        let second = t.reserve(&key()).unwrap();
        let refused = t.reserve(&key()).err().unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.retry_after_seconds() >= 1);
        assert!(t.reserve(&[("account:b".to_string(), 2)]).is_ok());
        // Giving back (nothing was checked) does not undo the refused
        // one: one attempt is left, not two.
        first.give_back();
        second.give_back();
        drop(t.reserve(&key()).unwrap());
        assert!(t.reserve(&key()).is_err(), "the refused attempt counted");
        std::thread::sleep(Duration::from_millis(350));
        assert!(t.reserve(&key()).is_ok(), "a new window");
    }

    #[test]
    fn success_resets_the_account_and_returns_one_to_the_address() {
        let t = Throttle::new(limits());
        let keys = |a: &str| vec![(a.to_string(), 5), ("address:x".to_string(), 3)];
        drop(t.reserve(&keys("account:victim")).unwrap());
        drop(t.reserve(&keys("account:victim")).unwrap());
        t.reserve(&keys("account:own"))
            .unwrap()
            .succeeded("account:own");
        // Two guesses at the victim stay counted against the address.
        drop(t.reserve(&keys("account:victim")).unwrap());
        assert!(t.reserve(&keys("account:other")).is_err());
    }

    #[test]
    fn permits_follow_the_memory_budget() {
        let l = |mib| SignInLimits {
            password_check_mib: mib,
            ..SignInLimits::default()
        };
        assert_eq!(SignInLimits::default().permits(), 4);
        assert_eq!(l(19).permits(), 1);
        assert_eq!(l(37).permits(), 1);
        assert_eq!(l(190).permits(), 10);
        assert_eq!(l(0).permits(), 1, "at least one check");
    }

    #[tokio::test]
    async fn password_checks_beyond_the_permits_wait_briefly_then_are_refused() {
        let t = Arc::new(Throttle::new(SignInLimits {
            password_check_mib: 2 * ARGON2_MIB,
            wait: Duration::from_millis(100),
            ..SignInLimits::default()
        }));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                t.password_check(tokio::time::sleep(Duration::from_millis(400)))
                    .await
            }));
        }
        let mut refused = 0;
        for task in tasks {
            if let Err(r) = task.await.unwrap() {
                assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
                refused += 1;
            }
        }
        assert_eq!(refused, 4);
        assert_eq!(t.peak(), 2);
    }

    #[test]
    fn the_argon2_memory_is_the_store_s() {
        assert_eq!(ARGON2_MIB * 1024, u64::from(argon2::Params::DEFAULT_M_COST));
        assert_eq!(argon2::Params::DEFAULT_T_COST, 2, "OWASP: m=19 MiB, t=2");
    }
}
