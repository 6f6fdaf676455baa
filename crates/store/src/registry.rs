//! Small registries beside the lake, each one JSON file replaced atomically:
//! consultants' grants (`grants.json`), custom peer groups (`groups.json`),
//! explanations of warnings, and the append-only access log (`access.log`,
//! one JSON object per line). Releases of custom groups are entries of the
//! release ledger (`ledger.rs`); an old `releases.json` is left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::{read_json, write_json_atomic};
use crate::{Result, Store, StoreError};

const GRANTS: &str = "grants.json";
const GROUPS: &str = "groups.json";
const ACCESS_LOG: &str = "access.log";
const EXPLANATIONS: &str = "explanations.json";

/// A member's explanation of a warning stored with its submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The submission.
    pub submission_id: String,
    /// The member whose row the warning is on.
    pub member_id: String,
    /// The warning's rule id.
    pub rule: String,
    /// The explanation, e.g. "Neubau der Zentralbibliothek, 3 Monate geschlossen".
    pub text: String,
    /// Token id of the author.
    pub explained_by: String,
    /// When (RFC 3339).
    pub explained_at: String,
}

/// A custom peer group: a named list of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomGroup {
    /// Id, usable as `group_by`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Member ids.
    pub member_ids: Vec<String>,
}

/// One line of the access log.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Token id of the reader.
    pub token_id: String,
    /// Its role.
    pub role: String,
    /// What was read, e.g. `figures`, `comparison`, `timeseries`.
    pub action: String,
    /// Whose data.
    pub member_id: String,
    /// Domain, where one applies.
    pub domain: Option<String>,
    /// Year, where one applies.
    pub year: Option<i32>,
}

fn read_or_default<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    if path.exists() {
        read_json(path)
    } else {
        Ok(T::default())
    }
}

/// Consultant id → members that granted it access.
pub(crate) type Grants = BTreeMap<String, BTreeSet<String>>;

pub(crate) fn add_grants(root: &Path, consultant_id: &str, members: &[String]) -> Result<()> {
    let path = root.join(GRANTS);
    let mut grants: Grants = read_or_default(&path)?;
    grants
        .entry(consultant_id.to_string())
        .or_default()
        .extend(members.iter().cloned());
    write_json_atomic(&path, &grants)
}

impl Store {
    /// The members that granted a consultant access.
    pub fn grants_of(&self, consultant_id: &str) -> BTreeSet<String> {
        read_or_default::<Grants>(&self.root.join(GRANTS))
            .ok()
            .and_then(|mut g| g.remove(consultant_id))
            .unwrap_or_default()
    }

    /// A member grants a consultant access to its reports.
    pub async fn grant(&self, member_id: &str, consultant_id: &str) -> Result<()> {
        if consultant_id.trim().is_empty() {
            return Err(StoreError::Invalid(
                "consultant_id must not be empty".into(),
            ));
        }
        let _guard = self.write_lock.lock().await;
        add_grants(&self.root, consultant_id, &[member_id.to_string()])
    }

    /// A member revokes a consultant's access; `false` if there was none.
    pub async fn revoke_grant(&self, member_id: &str, consultant_id: &str) -> Result<bool> {
        let _guard = self.write_lock.lock().await;
        let path = self.root.join(GRANTS);
        let mut grants: Grants = read_or_default(&path)?;
        let removed = grants
            .get_mut(consultant_id)
            .is_some_and(|set| set.remove(member_id));
        if removed {
            write_json_atomic(&path, &grants)?;
        }
        Ok(removed)
    }

    /// The custom groups.
    pub fn groups(&self) -> Vec<CustomGroup> {
        read_or_default(&self.root.join(GROUPS)).unwrap_or_default()
    }

    /// Stores a new custom group; an existing id is a conflict.
    pub async fn add_group(&self, group: CustomGroup) -> Result<CustomGroup> {
        let _guard = self.write_lock.lock().await;
        let path = self.root.join(GROUPS);
        let mut groups: Vec<CustomGroup> = read_or_default(&path)?;
        if groups.iter().any(|g| g.id == group.id) {
            return Err(StoreError::Conflict(format!(
                "a group with id '{}' exists; groups are immutable so that published statistics stay reproducible",
                group.id
            )));
        }
        groups.push(group.clone());
        write_json_atomic(&path, &groups)?;
        Ok(group)
    }

    /// Every explanation, oldest first.
    pub fn explanations(&self) -> Vec<Explanation> {
        read_or_default(&self.root.join(EXPLANATIONS)).unwrap_or_default()
    }

    /// Stores explanations; a later one for the same warning replaces the
    /// earlier one (both stay in the file's history only through backups,
    /// since an explanation is the member's current word on it).
    pub async fn add_explanations(&self, new: Vec<Explanation>) -> Result<Vec<Explanation>> {
        let _guard = self.write_lock.lock().await;
        let path = self.root.join(EXPLANATIONS);
        let mut all: Vec<Explanation> = read_or_default(&path)?;
        for e in &new {
            all.retain(|x| {
                !(x.submission_id == e.submission_id
                    && x.member_id == e.member_id
                    && x.rule == e.rule)
            });
            all.push(e.clone());
        }
        write_json_atomic(&path, &all)?;
        Ok(new)
    }

    /// Appends a line to the access log. Failing to log is reported, not fatal
    /// for the read, so the caller decides.
    pub fn log_access(&self, entry: &AccessEntry) -> Result<()> {
        let path = self.root.join(ACCESS_LOG);
        let mut line = serde_json::to_vec(entry).map_err(|source| StoreError::Json {
            path: path.clone(),
            source,
        })?;
        line.push(b'\n');
        let mut handle = self.access_log.lock().unwrap_or_else(|e| e.into_inner());
        if handle.is_none() {
            *handle = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|source| StoreError::Io {
                        path: path.clone(),
                        source,
                    })?,
            );
        }
        let Some(f) = handle.as_mut() else {
            return Ok(());
        };
        // One write of the whole line under the lock: lines never interleave.
        let written = f.write_all(&line);
        if written.is_err() {
            // Reopen on the next entry (e.g. after the file was rotated away).
            *handle = None;
        }
        written.map_err(|source| StoreError::Io { path, source })
    }

    /// Closes the access log, so that the next entry opens `access.log`
    /// again (after log rotation moved the file away; `serve` calls this on
    /// SIGHUP).
    pub fn reopen_access_log(&self) {
        *self.access_log.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The access log, oldest first.
    pub fn access_log(&self) -> Result<Vec<AccessEntry>> {
        let path = self.root.join(ACCESS_LOG);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}
