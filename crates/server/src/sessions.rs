//! The store of the member web page's signed-in sessions (the cookie and
//! CSRF handling around it is in `web/session.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A session ends after this long without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(8 * 3600);

/// At most this many sessions are kept; the oldest goes first.
pub(crate) const MAX_SESSIONS: usize = 10_000;

pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) csrf: String,
    pub(crate) last_seen: Instant,
}

/// The signed-in browser sessions, in memory: a restart signs everybody
/// out, which is acceptable for a page used a few times a year.
#[derive(Default)]
pub struct Sessions {
    pub(crate) inner: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a usable map behind.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session for a token: its id and its CSRF token.
    pub(crate) fn create(&self, token: String) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let mut map = self.lock();
        map.retain(|_, s| s.last_seen.elapsed() < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                token,
                csrf: csrf.clone(),
                last_seen: Instant::now(),
            },
        );
        (id, csrf)
    }

    /// The token and CSRF token of a live session.
    pub(crate) fn get(&self, id: &str) -> Option<(String, String)> {
        let mut map = self.lock();
        let expired = map.get(id)?.last_seen.elapsed() >= IDLE;
        if expired {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.last_seen = Instant::now();
        Some((s.token.clone(), s.csrf.clone()))
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

pub(crate) fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
