//! Tokens: issued once, stored only as SHA-256 hashes in `tokens.json`.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::{read_json, write_json_atomic};
use crate::{Result, Store, StoreError};

pub(crate) const FILE: &str = "tokens.json";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The ring operator's administrator.
    Admin,
    /// An analyst of the ring operator.
    Analyst,
    /// An external consultant engaged by members.
    Consultant,
    /// A member municipality.
    Member,
}

impl Role {
    /// Parses the command-line and API name of a role.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "consultant" => Some(Role::Consultant),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// The name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Consultant => "consultant",
            Role::Member => "member",
        }
    }
}

/// A stored token: its hash and what it grants, never the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id of the token (a prefix of its hash), for logs and revocation.
    pub token_id: String,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// The role.
    pub role: Role,
    /// The member a member token belongs to.
    #[serde(default)]
    pub member_id: Option<String>,
    /// The consultant a consultant token belongs to.
    #[serde(default)]
    pub consultant_id: Option<String>,
    /// When the token was created (RFC 3339).
    pub created_at: String,
    /// Revoked tokens authenticate nothing.
    #[serde(default)]
    pub revoked: bool,
    /// What the token is for, for people reading the token list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// When the token stops working (RFC 3339); none: it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl TokenRecord {
    /// Whether the token has expired at `now`. An expiry that does not
    /// parse counts as expired: a token must not outlive a damaged date.
    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|e| chrono::DateTime::parse_from_rfc3339(e).map_or(true, |e| e <= now))
    }
}

/// What a new token grants: the role, whose it is, and optionally a label,
/// an expiry and (for a consultant) grants.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The role.
    pub role: Role,
    /// The member of a member token.
    pub member_id: Option<String>,
    /// The consultant of a consultant token.
    pub consultant_id: Option<String>,
    /// Members whose figures a consultant may read (consultant tokens).
    pub grants: Vec<String>,
    /// What the token is for.
    pub label: Option<String>,
    /// When it stops working.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads a token's expiry as given on the command line or over HTTP: an
/// RFC 3339 time in the future. The error says which of the two it is not.
pub fn parse_expiry(text: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| format!("{text:?} is not an RFC 3339 time such as 2027-12-31T23:59:59Z"))?
        .with_timezone(&chrono::Utc);
    if at <= chrono::Utc::now() {
        return Err(format!("{text} is not in the future"));
    }
    Ok(at)
}

/// How often a token found in memory is checked against the tokens file
/// again: a token revoked by another process (another replica on the same
/// directory, or the command line) is refused within this time.
pub const TOKEN_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// SHA-256 of a token, hex-encoded.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tokens file as last read, with its modification time so that tokens
/// created by `vergleichsring token create` beside a running server are seen.
pub(crate) struct TokenCache {
    by_hash: HashMap<String, TokenRecord>,
    modified: Option<(SystemTime, u64)>,
    /// When the file was last compared with `modified`.
    checked: std::time::Instant,
}

/// Modification time and length of the tokens file: the length changes with
/// every token added even when two writes fall into one tick of the clock
/// (seen here: 4 ms ticks on the test machine's file system).
fn modified(root: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(root.join(FILE))
        .and_then(|m| Ok((m.modified()?, m.len())))
        .ok()
}

impl TokenCache {
    pub(crate) fn load(root: &Path) -> Result<TokenCache> {
        let modified = modified(root);
        let list: Vec<TokenRecord> = read_json(&root.join(FILE))?;
        Ok(TokenCache {
            by_hash: list.into_iter().map(|t| (t.hash.clone(), t)).collect(),
            modified,
            checked: std::time::Instant::now(),
        })
    }
}

impl Store {
    /// The record of a valid token: known, not revoked, not expired. A
    /// token found in memory is checked against the tokens file at most
    /// [`TOKEN_RECHECK`] later, so a revocation by another process holds
    /// within that time.
    pub fn authenticate(&self, token: &str) -> Option<TokenRecord> {
        let hash = hash_token(token);
        let now = chrono::Utc::now();
        // Every stored hash is compared in constant time, so response times
        // say nothing about how much of a guessed token matched.
        let found = |cache: &TokenCache| {
            let mut hit = None;
            for t in cache.by_hash.values() {
                if constant_time_eq(t.hash.as_bytes(), hash.as_bytes()) {
                    hit = Some(t);
                }
            }
            hit.filter(|t| !t.revoked && !t.is_expired(now)).cloned()
        };
        let (stale, fresh_enough) = {
            let cache = match self.tokens.read() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            let fresh_enough = cache.checked.elapsed() < TOKEN_RECHECK;
            if let Some(t) = found(&cache).filter(|_| fresh_enough) {
                self.note_use(&t.token_id, now);
                return Some(t);
            }
            (cache.modified != modified(&self.root), fresh_enough)
        };
        if stale {
            match TokenCache::load(&self.root) {
                Ok(fresh) => {
                    let t = found(&fresh);
                    match self.tokens.write() {
                        Ok(mut c) => *c = fresh,
                        Err(p) => *p.into_inner() = fresh,
                    }
                    if let Some(t) = &t {
                        self.note_use(&t.token_id, now);
                    }
                    return t;
                }
                Err(e) => tracing::warn!(error = %e, "tokens file could not be reloaded"),
            }
        } else if !fresh_enough {
            // The file is as it was: what memory holds stands for another
            // while. (An unknown token with a fresh check ends below,
            // without taking the lock.)
            let mut cache = match self.tokens.write() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            cache.checked = std::time::Instant::now();
            if let Some(t) = found(&cache) {
                self.note_use(&t.token_id, now);
                return Some(t);
            }
        }
        None
    }

    /// Remembers when a token was last used (in this process).
    fn note_use(&self, token_id: &str, now: chrono::DateTime<chrono::Utc>) {
        let secs = now.timestamp();
        let mut used = self.token_use.lock().unwrap_or_else(|e| e.into_inner());
        // Every request passes here: no allocation once a token is known.
        match used.get_mut(token_id) {
            Some(t) => *t = secs,
            None => {
                used.insert(token_id.to_string(), secs);
            }
        }
    }

    /// Every token's record (hashes included; the API leaves them out),
    /// oldest first, with when this process last saw it used.
    pub fn tokens(&self) -> Result<Vec<(TokenRecord, Option<String>)>> {
        let list: Vec<TokenRecord> = read_json(&self.root.join(FILE))?;
        let used = self.token_use.lock().unwrap_or_else(|e| e.into_inner());
        Ok(list
            .into_iter()
            .map(|t| {
                let last = used
                    .get(&t.token_id)
                    .and_then(|s| chrono::DateTime::from_timestamp(*s, 0))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                (t, last)
            })
            .collect())
    }

    /// Creates a token (as `vergleichsring token create` does) from a
    /// running server, and takes it into memory at once. The token itself
    /// is returned once and never stored.
    pub async fn issue_token(&self, new: NewToken) -> Result<(String, TokenRecord)> {
        let _guard = self.write_lock.lock().await;
        let made = Store::create_token_with(&self.root, new)?;
        let fresh = TokenCache::load(&self.root)?;
        match self.tokens.write() {
            Ok(mut c) => *c = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(made)
    }

    /// Revokes a token by its id; `false` if no such token exists.
    pub async fn revoke_token(&self, token_id: &str) -> Result<bool> {
        let _guard = self.write_lock.lock().await;
        let path = self.root.join(FILE);
        let mut list: Vec<TokenRecord> = read_json(&path)?;
        let mut found = false;
        for t in list.iter_mut().filter(|t| t.token_id == token_id) {
            t.revoked = true;
            found = true;
        }
        if found {
            write_json_atomic(&path, &list)?;
            let fresh = TokenCache::load(&self.root)?;
            match self.tokens.write() {
                Ok(mut c) => *c = fresh,
                Err(p) => *p.into_inner() = fresh,
            }
        }
        Ok(found)
    }

    /// Creates a token in a data directory and returns it with its record. The
    /// token itself is returned once and never stored.
    pub fn create_token(
        root: &Path,
        role: Role,
        member_id: Option<String>,
        consultant_id: Option<String>,
        grants: Vec<String>,
    ) -> Result<(String, TokenRecord)> {
        Store::create_token_with(
            root,
            NewToken {
                role,
                member_id,
                consultant_id,
                grants,
                label: None,
                expires_at: None,
            },
        )
    }

    /// Creates a token with a label and an expiry in a data directory (see
    /// [`Store::create_token`]).
    pub fn create_token_with(root: &Path, new: NewToken) -> Result<(String, TokenRecord)> {
        let NewToken {
            role,
            member_id,
            consultant_id,
            grants,
            label,
            expires_at,
        } = new;
        if label.as_ref().is_some_and(|l| l.chars().count() > 200) {
            return Err(StoreError::Invalid("label: at most 200 characters".into()));
        }
        if !grants.is_empty() && role != Role::Consultant {
            return Err(StoreError::Invalid(
                "grants apply to consultant tokens only (grants; --grants on the command line)"
                    .into(),
            ));
        }
        match role {
            Role::Member if member_id.is_none() => {
                return Err(StoreError::Invalid(
                    "a member token needs a member id (member_id; --member-id on the command line)"
                        .into(),
                ));
            }
            Role::Consultant if consultant_id.is_none() => {
                return Err(StoreError::Invalid(
                    "a consultant token needs a consultant id (consultant_id; --consultant-id on the command line)".into(),
                ));
            }
            _ => {}
        }
        if let Some(m) = &member_id {
            let members = crate::members::load(root)?;
            if !members.contains_key(m) {
                return Err(StoreError::Invalid(format!("member {m} is not registered")));
            }
        }
        let bytes: [u8; 24] = rand::random();
        let token = format!(
            "vr_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let hash = hash_token(&token);
        let record = TokenRecord {
            token_id: hash[..12].to_string(),
            hash,
            role,
            member_id: if role == Role::Member {
                member_id
            } else {
                None
            },
            consultant_id: if role == Role::Consultant {
                consultant_id
            } else {
                None
            },
            created_at: chrono::Utc::now().to_rfc3339(),
            revoked: false,
            label,
            expires_at: expires_at.map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        };
        if let Some(c) = &record.consultant_id
            && !grants.is_empty()
        {
            crate::registry::add_grants(root, c, &grants)?;
        }
        let path = root.join(FILE);
        let mut list: Vec<TokenRecord> = read_json(&path)?;
        list.push(record.clone());
        write_json_atomic(&path, &list)?;
        Ok((token, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_revocation_by_another_process_holds_within_the_recheck() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        // Two stores on one directory: two replicas, or a server and the
        // command line.
        let a = Store::open(dir.path()).await.unwrap();
        let b = Store::open(dir.path()).await.unwrap();
        let (token, record) = a
            .issue_token(NewToken {
                role: Role::Analyst,
                member_id: None,
                consultant_id: None,
                grants: vec![],
                label: Some("replica test".into()),
                expires_at: None,
            })
            .await
            .unwrap();
        assert!(b.authenticate(&token).is_some(), "b sees a new token");
        assert!(a.revoke_token(&record.token_id).await.unwrap());
        assert!(a.authenticate(&token).is_none(), "a refuses at once");
        tokio::time::sleep(TOKEN_RECHECK + std::time::Duration::from_millis(100)).await;
        assert!(
            b.authenticate(&token).is_none(),
            "b refuses within the bound"
        );
        let listed = b.tokens().unwrap();
        assert!(
            listed
                .iter()
                .any(|(t, _)| t.token_id == record.token_id && t.revoked)
        );
    }

    #[test]
    fn an_expiry_that_does_not_parse_counts_as_expired() {
        let mut t = TokenRecord {
            token_id: "x".into(),
            hash: "h".into(),
            role: Role::Analyst,
            member_id: None,
            consultant_id: None,
            created_at: String::new(),
            revoked: false,
            label: None,
            expires_at: None,
        };
        let now = chrono::Utc::now();
        assert!(!t.is_expired(now));
        t.expires_at = Some("2099-01-01T00:00:00Z".into());
        assert!(!t.is_expired(now));
        t.expires_at = Some("2001-01-01T00:00:00Z".into());
        assert!(t.is_expired(now));
        t.expires_at = Some("soon".into());
        assert!(t.is_expired(now));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
