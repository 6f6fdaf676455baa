//! Signed-in sessions of the member web page, in the state log: a session
//! started through one replica is known to every other, and signing out
//! ends it everywhere. The cookie's value is never stored, only its
//! SHA-256; the session acts as a token by its id, never the token itself.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::state::{Change, SessionRecord, expired};
use crate::{Result, Store, hash_token};

/// A session ends this long after sign-in.
pub const SESSION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(8 * 3600);

/// Live sessions one token or one account may have at once; the oldest
/// ends when another starts. Without a bound, sign-ins in a loop grew the
/// state every replica holds and copies (issue 26).
pub const MAX_SESSIONS_PER_PRINCIPAL: usize = 10;

/// The live sessions of the state, by the SHA-256 of their cookie, with
/// two indices kept beside them so that no change costs a pass over all
/// sessions: the order in which they expire, and each principal's (token
/// or account) sessions in the order they started.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    /// Key → (the number of its start among all starts, the session).
    by_key: HashMap<String, (u64, SessionRecord)>,
    /// (expiry as Unix seconds, key); a time that does not parse counts as
    /// long past.
    expiry: BTreeSet<(i64, String)>,
    /// Principal → (expiry as Unix seconds, the number of its start) of
    /// its sessions → key. The cap ends the session that expires first
    /// (of the same expiry, the one started first): the sessions that
    /// expired before a start are then always the ones the cap would have
    /// ended, so a replica that applies the start before they expire and
    /// one that applies it after (a replica started later, or from a
    /// checkpoint) keep the same live sessions, also when a replica's
    /// clock or a wait for its number gave a later start an earlier
    /// expiry. Numbers break ties: sessions started in the same second
    /// still end oldest first, the same on every replica.
    of: HashMap<String, BTreeMap<(i64, u64), String>>,
    /// Starts applied so far.
    started: u64,
}

fn unix(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at).map_or(i64::MIN, |t| t.timestamp())
}

/// Whose session it is: the account for a password sign-in, else the
/// token.
fn principal(s: &SessionRecord) -> &str {
    s.user_id.as_deref().unwrap_or(&s.token_id)
}

impl Sessions {
    /// The session of a key.
    pub fn get(&self, key: &str) -> Option<&SessionRecord> {
        self.by_key.get(key).map(|(_, s)| s)
    }

    /// Whether a key is a session (live or not yet dropped).
    pub fn contains_key(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    /// Starts a session: sessions expired by `now` leave first (the
    /// earliest expiries, no pass over the rest), then the principal's
    /// oldest while it has [`MAX_SESSIONS_PER_PRINCIPAL`].
    pub(crate) fn start(&mut self, key: &str, session: &SessionRecord, now: i64) {
        while let Some((at, k)) = self.expiry.first().cloned() {
            if at > now {
                break;
            }
            self.end(&k);
        }
        self.end(key);
        let who = principal(session).to_string();
        while self
            .of
            .get(&who)
            .is_some_and(|s| s.len() >= MAX_SESSIONS_PER_PRINCIPAL)
        {
            let Some(oldest) = self
                .of
                .get(&who)
                .and_then(|s| s.first_key_value().map(|(_, k)| k.clone()))
            else {
                break;
            };
            self.end(&oldest);
        }
        self.started += 1;
        let n = self.started;
        let expires = unix(&session.expires_at);
        self.expiry.insert((expires, key.to_string()));
        self.of
            .entry(who)
            .or_default()
            .insert((expires, n), key.to_string());
        self.by_key.insert(key.to_string(), (n, session.clone()));
    }

    /// Ends a session (nothing if there is none).
    pub(crate) fn end(&mut self, key: &str) {
        let Some((n, s)) = self.by_key.remove(key) else {
            return;
        };
        let expires = unix(&s.expires_at);
        self.expiry.remove(&(expires, key.to_string()));
        let who = principal(&s);
        if let Some(set) = self.of.get_mut(who) {
            set.remove(&(expires, n));
            if set.is_empty() {
                self.of.remove(who);
            }
        }
    }

    /// Ends every session of an account.
    pub(crate) fn end_user(&mut self, user_id: &str) {
        let keys: Vec<String> = self
            .of
            .get(user_id)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        for k in keys {
            // The index is by principal, and a token's id could in
            // principle equal an account's: only the account's own go.
            if self
                .get(&k)
                .is_some_and(|s| s.user_id.as_deref() == Some(user_id))
            {
                self.end(&k);
            }
        }
    }

    /// Whether a token or account has sessions (so that a change that
    /// would end none copies nothing).
    pub(crate) fn has_principal(&self, who: &str) -> bool {
        self.of.contains_key(who)
    }

    /// Ends every session acting as a token (it was revoked): they could
    /// not be used any more, and kept until they expired they let a
    /// user who mints and revokes tokens in a loop grow the sessions
    /// every replica holds without bound, ten per token.
    pub(crate) fn end_token(&mut self, token_id: &str) {
        let keys: Vec<String> = self
            .of
            .get(token_id)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        for k in keys {
            if self
                .get(&k)
                .is_some_and(|s| s.user_id.is_none() && s.token_id == token_id)
            {
                self.end(&k);
            }
        }
    }

    /// Marks a waiting session confirmed by its second factor.
    pub(crate) fn confirm(&mut self, key: &str) {
        if let Some((_, s)) = self.by_key.get_mut(key) {
            s.pending = false;
        }
    }

    /// The sessions not expired by `now`, in the order they started (a
    /// checkpoint keeps that order, so that the oldest still ends first).
    pub(crate) fn live(&self, now: i64) -> Vec<(&String, &SessionRecord)> {
        let mut live: Vec<(u64, &String, &SessionRecord)> = self
            .by_key
            .iter()
            .filter(|(_, (_, s))| unix(&s.expires_at) > now)
            .map(|(k, (n, s))| (*n, k, s))
            .collect();
        live.sort_unstable_by_key(|(n, _, _)| *n);
        live.into_iter().map(|(_, k, s)| (k, s)).collect()
    }
}

impl Store {
    /// What opening the state log read: the checkpoint it started from and
    /// the changes after it (start time does not grow with the history).
    pub fn state_loaded(&self) -> crate::state::Loaded {
        self.state.loaded()
    }

    /// The live sessions held (every replica holds the same).
    pub fn live_sessions(&self) -> usize {
        let now = chrono::Utc::now().timestamp();
        self.state.view().sessions.live(now).len()
    }

    /// Starts a session acting as a token; returns the cookie's value.
    pub async fn start_session(&self, token_id: &str) -> Result<String> {
        self.start_session_as(Some(token_id), None).await
    }

    /// Starts a session acting as a token or a user.
    pub(crate) async fn start_session_as(
        &self,
        token_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<String> {
        let id = crate::auth::random_hex(32);
        let now = chrono::Utc::now();
        let lifetime = chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default();
        // An account with a second factor waits for its code.
        let pending = user_id
            .and_then(|u| self.state.view().users.get(u).cloned())
            .is_some_and(|u| u.totp_secret.is_some());
        let session = SessionRecord {
            token_id: token_id.unwrap_or_default().to_string(),
            user_id: user_id.map(str::to_string),
            pending,
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            expires_at: (now + lifetime).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let key = hash_token(&id);
        self.state
            .commit(token_id.or(user_id).unwrap_or("session"), |_| {
                Ok((
                    vec![Change::SessionStarted {
                        key: key.clone(),
                        session: session.clone(),
                    }],
                    (),
                ))
            })
            .await?;
        Ok(id)
    }

    /// The live session of a cookie's value. A session this process does
    /// not know makes it read the state log first (as an unknown token
    /// does), so a session started through another replica works at once.
    pub async fn session(&self, id: &str) -> Option<SessionRecord> {
        let key = hash_token(id);
        let live = |store: &Store| {
            let view = store.state.view();
            view.sessions
                .get(&key)
                .filter(|s| !expired(&s.expires_at, chrono::Utc::now()))
                .cloned()
        };
        if let Some(s) = live(self) {
            return Some(s);
        }
        if !self.view_known_in().await {
            return None;
        }
        live(self)
    }

    /// Ends a session (signing out), for every replica.
    pub async fn end_session(&self, id: &str) -> Result<()> {
        let key = hash_token(id);
        self.state
            .commit("session", |view| {
                let changes = if view.sessions.contains_key(&key) {
                    vec![Change::SessionEnded { key: key.clone() }]
                } else {
                    Vec::new()
                };
                Ok((changes, ()))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::{Role, Store};

    /// A session started through one store is known to another on the same
    /// lake at once, and ends for both when signed out.
    #[tokio::test]
    async fn sessions_move_between_stores_and_end_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let a = Store::open(dir.path()).await.unwrap();
        let b = Store::open(dir.path()).await.unwrap();
        let (_, record) = Store::create_token(dir.path(), Role::Analyst, None, None, vec![])
            .await
            .unwrap();
        let id = a.start_session(&record.token_id).await.unwrap();
        assert_eq!(
            b.session(&id).await.map(|s| s.token_id),
            Some(record.token_id.clone())
        );
        assert!(b.session("not-a-session").await.is_none());
        b.end_session(&id).await.unwrap();
        assert!(b.session(&id).await.is_none());
        a.follow_state().await.unwrap();
        assert!(a.session(&id).await.is_none(), "signed out everywhere");
    }
}
