//! Throttling of password sign-ins, per account and per address, so that
//! passwords cannot be guessed at the speed of the server. Failures are
//! counted in a window; once the allowance of a key is used, every further
//! attempt with it is refused until the window ends (a correct password
//! too, so that the answer says nothing). Counted per process: behind a
//! load balancer with several replicas the allowance is per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures allowed per account in a window.
pub const PER_ACCOUNT: u32 = 5;
/// Failures allowed per address in a window.
pub const PER_ADDRESS: u32 = 20;
/// Keys kept at most; when full, windows that ended go first.
const MAX_KEYS: usize = 100_000;

/// Failures per key (`account:<email>`, `address:<ip>`).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a key has used its allowance of `limit` in the current window.
    pub fn blocked(&self, key: &str, limit: u32) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|(n, since)| *n >= limit && since.elapsed() < WINDOW)
    }

    /// Counts a failure of a key.
    pub fn failed(&self, key: &str) {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets a key's failures (after a sign-in that succeeded).
    pub fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_blocked_after_its_allowance_and_others_are_not() {
        let t = Throttle::default();
        for _ in 0..PER_ACCOUNT {
            assert!(!t.blocked("account:a", PER_ACCOUNT));
            t.failed("account:a");
        }
        assert!(t.blocked("account:a", PER_ACCOUNT));
        assert!(!t.blocked("account:b", PER_ACCOUNT));
        t.succeeded("account:a");
        assert!(!t.blocked("account:a", PER_ACCOUNT));
    }
}
