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
}

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
        })
    }
}

impl Store {
    /// The record of a valid, unrevoked token.
    pub fn authenticate(&self, token: &str) -> Option<TokenRecord> {
        let hash = hash_token(token);
        // Every stored hash is compared in constant time, so response times
        // say nothing about how much of a guessed token matched.
        let found = |cache: &TokenCache| {
            let mut hit = None;
            for t in cache.by_hash.values() {
                if constant_time_eq(t.hash.as_bytes(), hash.as_bytes()) {
                    hit = Some(t);
                }
            }
            hit.filter(|t| !t.revoked).cloned()
        };
        let stale = {
            let cache = match self.tokens.read() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            if let Some(t) = found(&cache) {
                return Some(t);
            }
            cache.modified != modified(&self.root)
        };
        if stale {
            match TokenCache::load(&self.root) {
                Ok(fresh) => {
                    let t = found(&fresh);
                    match self.tokens.write() {
                        Ok(mut c) => *c = fresh,
                        Err(p) => *p.into_inner() = fresh,
                    }
                    return t;
                }
                Err(e) => tracing::warn!(error = %e, "tokens file could not be reloaded"),
            }
        }
        None
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
        if !grants.is_empty() && role != Role::Consultant {
            return Err(StoreError::Invalid(
                "--grants applies to consultant tokens only".into(),
            ));
        }
        match role {
            Role::Member if member_id.is_none() => {
                return Err(StoreError::Invalid(
                    "a member token needs --member-id".into(),
                ));
            }
            Role::Consultant if consultant_id.is_none() => {
                return Err(StoreError::Invalid(
                    "a consultant token needs --consultant-id".into(),
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
