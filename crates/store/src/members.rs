//! Member master data, kept in the state log (`state.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use vergleichsring_catalog::{MemberKind, validate_member_id};

use crate::state::Change;
use crate::{Result, Store, StoreError};

/// A member municipality or county.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Official regional key (8 digits, or 5 for a county).
    pub member_id: String,
    /// Name, e.g. "Stadt Köln".
    pub name: String,
    /// Kind, which decides the size classes.
    pub kind: MemberKind,
    /// Structural figures admin gave a member the municipality register
    /// does not hold (a merger newer than the extract); they take the
    /// register's place for the structural neighbours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<GivenStructure>,
}

/// A member's structure given by admin (see [`Member::structure`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenStructure {
    /// Area in km², more than 0.
    pub area_km2: f64,
    /// Degree of urbanisation, 1 (dense) to 3 (thin); a Kreis's mix may
    /// lie between.
    pub degurba: f64,
}

impl GivenStructure {
    /// Why these figures cannot be a member's structure, if so.
    pub fn problem(&self) -> Option<String> {
        if !(self.area_km2.is_finite() && self.area_km2 > 0.0 && self.area_km2 <= 1.0e6) {
            return Some(format!(
                "structure.area_km2 {} must be more than 0 and at most 1000000",
                self.area_km2
            ));
        }
        if !(1.0..=3.0).contains(&self.degurba) {
            return Some(format!(
                "structure.degurba {} must lie between 1 (dense) and 3 (thin)",
                self.degurba
            ));
        }
        None
    }
}

impl Store {
    /// Reads changes other processes made to the state (replicas on one
    /// lake): members, tokens, grants, groups, releases, sessions. Returns
    /// whether the member list changed.
    pub async fn follow_state(&self) -> Result<bool> {
        self.state.follow().await?;
        Ok(self.note_members())
    }

    /// Counts a new generation if the member list changed since last seen.
    pub(crate) fn note_members(&self) -> bool {
        let now = self.state.view().members.clone();
        let mut seen = self.members_seen.lock().unwrap_or_else(|e| e.into_inner());
        let changed = seen.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &now));
        if changed {
            *seen = Some(now);
            self.members_generation.fetch_add(1, Ordering::AcqRel);
        }
        changed
    }

    /// All members, by id.
    pub fn members(&self) -> Vec<Member> {
        self.members_map().values().cloned().collect()
    }

    /// All members by id, shared: no copy per request.
    pub fn members_map(&self) -> Arc<BTreeMap<String, Member>> {
        self.state.view().members.clone()
    }

    /// A number that changes whenever members are registered or changed,
    /// so that what was derived from the member list can be kept until then.
    pub fn members_generation(&self) -> u64 {
        self.members_generation.load(Ordering::Acquire)
    }

    /// One member.
    pub fn member(&self, member_id: &str) -> Option<Member> {
        self.state.view().members.get(member_id).cloned()
    }

    /// The first year a member is no longer in the ring, if it left.
    pub fn left_from(&self, member_id: &str) -> Option<i32> {
        self.state.view().left.get(member_id).copied()
    }

    /// Members that left the ring, with the first year they are not in.
    pub fn members_left(&self) -> Arc<BTreeMap<String, i32>> {
        self.state.view().left.clone()
    }

    /// Registers members, or updates name and kind of known ids. All or none:
    /// every entry is checked, then all are one change of the state.
    pub async fn upsert_members(&self, new: Vec<Member>) -> Result<Vec<Member>> {
        self.upsert_members_by("cli", new).await
    }

    /// [`Store::upsert_members`] recording who made the change.
    pub async fn upsert_members_by(&self, by: &str, new: Vec<Member>) -> Result<Vec<Member>> {
        for m in &new {
            validate_member_id(&m.member_id, Some(m.kind)).map_err(StoreError::Invalid)?;
            if m.name.trim().is_empty() {
                return Err(StoreError::Invalid(format!(
                    "member {}: the name must not be empty",
                    m.member_id
                )));
            }
            if let Some(problem) = m.structure.as_ref().and_then(GivenStructure::problem) {
                return Err(StoreError::Invalid(format!(
                    "member {}: {problem}",
                    m.member_id
                )));
            }
        }
        let saved = self
            .state
            .commit(by, |view| {
                // A structure given before stays when an entry names none.
                let mut saved = new.clone();
                for m in saved.iter_mut().filter(|m| m.structure.is_none()) {
                    m.structure = view.members.get(&m.member_id).and_then(|o| o.structure);
                }
                // Nothing to write if every member is already as given.
                let changed: Vec<Member> = saved
                    .iter()
                    .filter(|m| view.members.get(&m.member_id) != Some(m))
                    .cloned()
                    .collect();
                let changes = if changed.is_empty() {
                    Vec::new()
                } else {
                    vec![Change::Members { members: changed }]
                };
                Ok((changes, saved))
            })
            .await?;
        self.note_members();
        Ok(saved)
    }

    /// Records that a member leaves the ring from `from_year` on. Its
    /// figures and tokens stay; uploads for that year and later are
    /// refused. Leaving again moves the year.
    pub async fn member_leaves(&self, by: &str, member_id: &str, from_year: i32) -> Result<()> {
        self.state
            .commit(by, |view| {
                if !view.members.contains_key(member_id) {
                    return Err(StoreError::NotFound(format!(
                        "member {member_id} is not registered"
                    )));
                }
                Ok((
                    vec![Change::MemberLeft {
                        member_id: member_id.to_string(),
                        from_year,
                    }],
                    (),
                ))
            })
            .await?;
        self.note_members();
        Ok(())
    }
}
