//! Tokens: issued once, stored only as SHA-256 hashes in the state log.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::{Change, View};
use crate::{LakeLocation, Result, Store, StoreError};

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
    /// The account a personal token belongs to: it works only while the
    /// account is enabled. None for a service token made by admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
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

/// SHA-256 of a token, hex-encoded.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Bytes as lower-case hex, in one allocation (a token is hashed on every
/// request, where a `format!` per byte showed in the load test).
fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// `bytes` random bytes, hex-encoded (ids, codes, session cookies, the web
/// page's nonces): the one source of random secrets of the workspace.
pub fn random_hex(bytes: usize) -> String {
    // Eight random bytes a draw, written as hex in one allocation: every
    // request's id is made here, and a `format!` per byte cost the
    // service about a tenth of its throughput on /health.
    let mut raw = Vec::with_capacity(bytes + 8);
    while raw.len() < bytes {
        raw.extend_from_slice(&rand::random::<u64>().to_le_bytes());
    }
    raw.truncate(bytes);
    to_hex(&raw)
}

/// Compares two byte strings in time that depends only on their lengths:
/// the one comparison of secrets of the workspace (token hashes, password
/// hashes, CSRF tokens, nonces).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The valid token of a hash in a view: known, not revoked, not expired.
/// Every stored hash is compared in constant time, so response times say
/// nothing about how much of a guessed token matched.
fn valid(view: &View, hash: &str, now: chrono::DateTime<chrono::Utc>) -> Option<TokenRecord> {
    let mut hit = None;
    for t in view.tokens.values() {
        if constant_time_eq(t.hash.as_bytes(), hash.as_bytes()) {
            hit = Some(t);
        }
    }
    hit.filter(|t| usable(view, t, now)).cloned()
}

/// Whether a token works: not revoked, not expired, and a personal token's
/// account enabled.
fn usable(view: &View, t: &TokenRecord, now: chrono::DateTime<chrono::Utc>) -> bool {
    !t.revoked
        && !t.is_expired(now)
        && t.owner
            .as_ref()
            .is_none_or(|u| view.users.get(u).is_some_and(|u| !u.disabled))
}

impl Store {
    /// The record of a valid token: known, not revoked, not expired. A
    /// token this process does not know makes it read the state log first
    /// (waiters share one read), so a token issued through another replica
    /// works at once. A revocation through another replica holds once this
    /// process follows the log (every `lake.refresh_millis`).
    pub async fn authenticate(&self, token: &str) -> Option<TokenRecord> {
        let hash = hash_token(token);
        let now = chrono::Utc::now();
        if let Some(t) = valid(&self.state.view(), &hash, now) {
            self.note_use(&t.token_id, now);
            return Some(t);
        }
        if !self.view_known_in().await {
            return None;
        }
        let t = valid(&self.state.view(), &hash, now)?;
        self.note_use(&t.token_id, now);
        Some(t)
    }

    /// After something was not found (a custom group, say): reads the
    /// state log so that every change written before now is known. Returns
    /// whether it could (and the lookup is worth repeating).
    pub async fn state_may_be_behind(&self) -> bool {
        self.view_known_in().await
    }

    /// After a miss: makes sure every change written before now is read.
    /// Returns whether the state could be read (and is worth asking again).
    pub(crate) async fn view_known_in(&self) -> bool {
        let asked = std::time::Instant::now();
        match self.state.follow_since(asked).await {
            Ok(_) => {
                self.note_members();
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "the state log could not be read");
                false
            }
        }
    }

    /// The record of a token by its id, if it is valid (for web sessions,
    /// which store the token id, never the token).
    pub fn valid_token_by_id(&self, token_id: &str) -> Option<TokenRecord> {
        let now = chrono::Utc::now();
        let view = self.state.view();
        let t = view.tokens.values().find(|t| t.token_id == token_id)?;
        usable(&view, t, now).then(|| t.clone())
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
        let view = self.state.view();
        let by_id: std::collections::HashMap<&str, &TokenRecord> = view
            .tokens
            .values()
            .map(|t| (t.token_id.as_str(), t))
            .collect();
        let used = self.token_use.lock().unwrap_or_else(|e| e.into_inner());
        Ok(view
            .token_order
            .iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .map(|t| {
                let last = used
                    .get(&t.token_id)
                    .and_then(|s| chrono::DateTime::from_timestamp(*s, 0))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                ((*t).clone(), last)
            })
            .collect())
    }

    /// Creates a token from a running server; every replica knows it at
    /// once. The token itself is returned once and never stored.
    pub async fn issue_token(&self, by: &str, new: NewToken) -> Result<(String, TokenRecord)> {
        write_token(&self.state, by, new).await
    }

    /// Revokes a token by its id; `false` if no such token exists.
    pub async fn revoke_token(&self, by: &str, token_id: &str) -> Result<bool> {
        self.state
            .commit(by, |view| {
                let known = view.tokens.values().any(|t| t.token_id == token_id);
                let changes = if known {
                    vec![Change::TokenRevoked {
                        token_id: token_id.to_string(),
                    }]
                } else {
                    Vec::new()
                };
                Ok((changes, known))
            })
            .await
    }

    /// Creates a token in the data directory `root` with its lake under
    /// it (tests and the demo) and returns it with its record. The token
    /// itself is returned once and never stored.
    pub async fn create_token(
        root: &Path,
        role: Role,
        member_id: Option<String>,
        consultant_id: Option<String>,
        grants: Vec<String>,
    ) -> Result<(String, TokenRecord)> {
        Store::create_token_with(
            root,
            &LakeLocation::default(),
            NewToken {
                role,
                member_id,
                consultant_id,
                grants,
                label: None,
                expires_at: None,
            },
        )
        .await
    }

    /// Creates a token with a label and an expiry (`vergleichsring token
    /// create`), in the lake of a data directory, beside running servers
    /// or without one.
    pub async fn create_token_with(
        root: &Path,
        lake: &LakeLocation,
        new: NewToken,
    ) -> Result<(String, TokenRecord)> {
        let log = crate::state::StateLog::open(crate::state::objects(root, lake).await?).await?;
        if log.view().migrated.is_none()
            && let Some(file) = crate::migrate::legacy_file(root)
        {
            return Err(StoreError::NotMigrated(format!(
                "{} {} {}` first ({file} is one of them)",
                root.display(),
                crate::NOT_MIGRATED,
                root.display()
            )));
        }
        write_token(&log, "cli", new).await
    }
}

/// Makes a token and writes it into the state log, refused if its member
/// is not registered (checked against the latest state).
async fn write_token(
    log: &crate::state::StateLog,
    by: &str,
    new: NewToken,
) -> Result<(String, TokenRecord)> {
    let (token, record, changes) = new_token(new)?;
    let record = log
        .commit(by, |view| {
            if let Some(m) = &record.member_id
                && !view.members.contains_key(m)
            {
                return Err(StoreError::Invalid(format!("member {m} is not registered")));
            }
            Ok((changes.clone(), record.clone()))
        })
        .await?;
    Ok((token, record))
}

/// Checks what a new token grants and makes it: the token, its record and
/// the changes that store it (the record, and a consultant's grants).
pub(crate) fn new_token(new: NewToken) -> Result<(String, TokenRecord, Vec<Change>)> {
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
            "grants apply to consultant tokens only (grants; --grants on the command line)".into(),
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
        owner: None,
    };
    let mut changes = vec![Change::Token {
        record: record.clone(),
    }];
    if let Some(c) = &record.consultant_id
        && !grants.is_empty()
    {
        changes.push(Change::Granted {
            consultant_id: c.clone(),
            member_ids: grants,
        });
    }
    Ok((token, record, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex is what `format!("{:02x}")` writes, and random hex has the
    /// asked length for every count of bytes, also past a draw of eight.
    #[test]
    fn hex_is_lower_case_and_random_hex_has_its_length() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(to_hex(&bytes), expected);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        for n in [0, 1, 7, 8, 9, 16, 24, 32] {
            let h = random_hex(n);
            assert_eq!(h.len(), 2 * n);
            assert!(
                h.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        assert_ne!(random_hex(16), random_hex(16));
    }

    #[tokio::test]
    async fn a_revocation_by_another_process_holds_once_it_follows() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        // Two stores on one directory: two replicas, or a server and the
        // command line.
        let a = Store::open(dir.path()).await.unwrap();
        let b = Store::open(dir.path()).await.unwrap();
        let (token, record) = a
            .issue_token(
                "test",
                NewToken {
                    role: Role::Analyst,
                    member_id: None,
                    consultant_id: None,
                    grants: vec![],
                    label: Some("replica test".into()),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        assert!(
            b.authenticate(&token).await.is_some(),
            "b knows a new token at once"
        );
        assert!(a.revoke_token("test", &record.token_id).await.unwrap());
        assert!(a.authenticate(&token).await.is_none(), "a refuses at once");
        b.follow_state().await.unwrap();
        assert!(
            b.authenticate(&token).await.is_none(),
            "b refuses once it follows the log"
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
            owner: None,
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
