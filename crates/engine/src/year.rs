//! A year of a domain as the engine keeps it: the stored rows, the current
//! row per member, their key figures, and the cache of materialised groups
//! that `grouping.rs` fills. Types only, so that the snapshot that holds
//! years and the grouping that reads them need not import each other.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::dimension::Dimension;
use crate::disclosure::GroupValues;

/// Numbers of which some may be missing, kept as `f64` with NaN for a
/// missing one: half the memory of `Vec<Option<f64>>`, which matters with a
/// row per member, domain and year at national scale. Stored numbers are
/// always finite (the ingest refuses others), so NaN is free to mean "none".
#[derive(Debug, Clone, Default)]
pub struct Values(Box<[f64]>);

impl Values {
    /// The `i`-th number, if present.
    pub fn get(&self, i: usize) -> Option<f64> {
        self.0.get(i).copied().filter(|v| !v.is_nan())
    }

    /// How many numbers (present or not).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every number, present or not.
    pub fn iter(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.0.iter().map(|v| (!v.is_nan()).then_some(*v))
    }

    /// As options.
    pub fn to_vec(&self) -> Vec<Option<f64>> {
        self.iter().collect()
    }
}

impl FromIterator<Option<f64>> for Values {
    fn from_iter<I: IntoIterator<Item = Option<f64>>>(iter: I) -> Self {
        Values(
            iter.into_iter()
                .map(|v| v.filter(|x| !x.is_nan()).unwrap_or(f64::NAN))
                .collect(),
        )
    }
}

impl From<Vec<Option<f64>>> for Values {
    fn from(v: Vec<Option<f64>>) -> Self {
        v.into_iter().collect()
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// What all rows of one submission share, kept once per submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionMeta {
    /// Delta version of the commit that added it.
    pub version: u64,
    /// The submission.
    pub submission_id: String,
    /// Commit time, RFC 3339.
    pub submitted_at: String,
    /// Token id of the submitter.
    pub submitted_by: String,
    /// SHA-256 of the archived upload the rows came from (absent in rows
    /// stored before uploads were archived).
    pub upload_sha256: Option<String>,
    /// The upload's format.
    pub upload_format: Option<String>,
}

/// One stored row of a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    /// The submission it belongs to.
    pub meta: Arc<SubmissionMeta>,
    /// Row in the uploaded file.
    pub row: u32,
    /// The member.
    pub member_id: String,
    /// The year.
    pub year: i32,
    /// Warnings stored with the row (JSON array).
    pub warnings: serde_json::Value,
    /// Basic figures in catalogue order.
    pub basic: Values,
}

/// A (year, member id) key.
pub type MemberYear = (i32, String);

/// Key figures of one member and year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRow {
    /// Values in catalogue order.
    pub values: Values,
    /// Numerators of the weighted ratio.
    pub nums: Values,
    /// Denominators of the weighted ratio.
    pub dens: Values,
}

/// One year of a domain: its stored rows, the current row per member and
/// the key figures of the current rows. Rows are shared (`Arc`) between
/// snapshots, so that refreshing a year after an upload copies pointers,
/// not figures.
#[derive(Debug, Default)]
pub struct YearData {
    /// Every stored row of the year, oldest first (by version, then row).
    pub history: Vec<Arc<StoredRow>>,
    /// Index into `history` of the current row per member.
    pub current: BTreeMap<String, usize>,
    /// Key figures of the current rows per member (ordered like `current`,
    /// so that both can be walked side by side).
    pub key: BTreeMap<String, KeyRow>,
    /// Groups of key-figure values, computed on first use
    /// (`grouping.rs`); a refresh of the year starts with an empty cache.
    pub(crate) materialised: Materialised,
}

impl YearData {
    /// The current rows, by member id.
    pub fn current_rows(&self) -> impl Iterator<Item = (&String, &StoredRow)> {
        self.current
            .iter()
            .filter_map(|(m, &i)| self.history.get(i).map(|r| (m, r.as_ref())))
    }

    pub(crate) fn push(&mut self, row: Arc<StoredRow>) {
        // Rows arrive ordered by version, so a later row replaces an
        // earlier one as the member's current row.
        self.current
            .insert(row.member_id.clone(), self.history.len());
        self.history.push(row);
    }
}

/// One group of a (year, key figure, grouping) with its members' values:
/// everything about a group that does not depend on who asks.
#[derive(Debug)]
pub struct GroupData {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) values: GroupValues,
    /// (index into the year's member ids, value) of every member with a value.
    pub(crate) members: Vec<(u32, f64)>,
    pub(crate) ids: Arc<Vec<String>>,
}

/// Which group each current member of a year belongs to for one grouping:
/// computed once per (year data, dimension, member list) and shared by all
/// key figures.
#[derive(Debug)]
pub(crate) struct Assignment {
    /// The groups in the order the API lists them: (id, label).
    pub(crate) groups: Vec<(String, String)>,
    /// Per current row (in member id order) its group, if any.
    pub(crate) of_row: Vec<Option<u32>>,
    /// The member ids in the same order.
    pub(crate) ids: Arc<Vec<String>>,
}

/// The materialised comparisons of one year of a domain: per (key figure,
/// dimension, generation of the member list) the groups with their values,
/// built on first use and kept until the year's data change (an upload for
/// the year builds a new `YearData` with an empty cache). Disclosure control
/// runs per request on top, because it depends on the requester.
#[derive(Debug, Default)]
pub struct Materialised {
    pub(crate) groups: Cache<MaterialisedKey, Vec<GroupData>>,
    pub(crate) assignments: Cache<(Dimension, u64), Assignment>,
    /// The key figures in the order of `current` (one entry per current
    /// row), so that grouping a key figure is one pass over a vector.
    pub(crate) aligned: Cache<(), Vec<Option<KeyRow>>>,
}

/// Cells by key, each filled once.
pub(crate) type Cache<K, V> = std::sync::Mutex<HashMap<K, Arc<std::sync::OnceLock<Arc<V>>>>>;

/// (key figure index, dimension, generation of the member list).
pub(crate) type MaterialisedKey = (usize, Dimension, u64);

/// A value from a cache, built by the first caller that needs it; callers
/// that come while it is being built wait for it instead of building it
/// again (after an upload, many requests ask for the same year at once).
/// The map's lock is held only to find the cell.
pub(crate) fn cached<K: std::hash::Hash + Eq, V>(
    map: &Cache<K, V>,
    key: K,
    build: impl FnOnce() -> V,
) -> Arc<V> {
    let cell = map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone();
    cell.get_or_init(|| Arc::new(build())).clone()
}

impl Materialised {
    /// The number of materialised (key figure, dimension) entries.
    pub fn len(&self) -> usize {
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is materialised yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
