//! Member master data, kept in `members.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use vergleichsring_catalog::{MemberKind, validate_member_id};

use crate::files::{read_json, write_json_atomic};
use crate::{Result, Store, StoreError};

pub(crate) const FILE: &str = "members.json";

/// A member municipality or county.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// Official regional key (8 digits, or 5 for a county).
    #[schema(example = "05315000")]
    pub member_id: String,
    /// Name, e.g. "Stadt Köln".
    pub name: String,
    /// Kind, which decides the size classes.
    pub kind: MemberKind,
}

pub(crate) fn load(root: &Path) -> Result<BTreeMap<String, Member>> {
    let list: Vec<Member> = read_json(&root.join(FILE))?;
    Ok(list.into_iter().map(|m| (m.member_id.clone(), m)).collect())
}

impl Store {
    /// Reads `members.json` again if another process changed it (replicas
    /// over one data directory). Returns whether the list changed.
    pub fn reload_members(&self) -> Result<bool> {
        let path = self.root.join(FILE);
        let now = crate::files::modified(&path);
        let mut seen = match self.members_modified.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if *seen == now {
            return Ok(false);
        }
        let fresh = load(&self.root)?;
        *seen = now;
        let mut members = match self.members.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if **members == fresh {
            return Ok(false);
        }
        *members = Arc::new(fresh);
        self.members_generation.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }

    /// All members, by id.
    pub fn members(&self) -> Vec<Member> {
        self.members_map().values().cloned().collect()
    }

    /// All members by id, shared: no copy per request.
    pub fn members_map(&self) -> Arc<BTreeMap<String, Member>> {
        match self.members.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A number that changes whenever members are registered or changed,
    /// so that what was derived from the member list can be kept until then.
    pub fn members_generation(&self) -> u64 {
        self.members_generation.load(Ordering::Acquire)
    }

    /// One member.
    pub fn member(&self, member_id: &str) -> Option<Member> {
        match self.members.read() {
            Ok(m) => m.get(member_id).cloned(),
            Err(poisoned) => poisoned.into_inner().get(member_id).cloned(),
        }
    }

    /// Registers members, or updates name and kind of known ids. All or none:
    /// every entry is checked before the file is replaced.
    pub async fn upsert_members(&self, new: Vec<Member>) -> Result<Vec<Member>> {
        for m in &new {
            validate_member_id(&m.member_id, Some(m.kind)).map_err(StoreError::Invalid)?;
            if m.name.trim().is_empty() {
                return Err(StoreError::Invalid(format!(
                    "member {}: the name must not be empty",
                    m.member_id
                )));
            }
        }
        let _guard = self.write_lock.lock().await;
        let mut next: BTreeMap<String, Member> = self.members_map().as_ref().clone();
        for m in &new {
            next.insert(m.member_id.clone(), m.clone());
        }
        let list: Vec<&Member> = next.values().collect();
        write_json_atomic(&self.root.join(FILE), &list)?;
        match self.members.write() {
            Ok(mut m) => *m = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
        self.members_generation.fetch_add(1, Ordering::AcqRel);
        Ok(new)
    }
}
