//! Signed-in sessions of the member web page, in the state log: a session
//! started through one replica is known to every other, and signing out
//! ends it everywhere. The cookie's value is never stored, only its
//! SHA-256; the session acts as a token by its id, never the token itself.

use crate::state::{Change, SessionRecord, expired};
use crate::{Result, Store, hash_token};

/// A session ends this long after sign-in.
pub const SESSION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(8 * 3600);

impl Store {
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
        let id = crate::users::random_hex(32);
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
