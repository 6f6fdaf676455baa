//! Materialised groups: the cache a year keeps of its groups per key
//! figure and grouping (`GroupData`, `Materialised`), filled by
//! `disclose/grouping.rs` and weighed with the year in the memory cache.

use std::collections::HashMap;
use std::sync::Arc;

use crate::disclose::dimension::Dimension;
use crate::disclose::disclosure::GroupValues;

/// One group of a (year, key figure, grouping) with its members' values:
/// everything about a group that does not depend on who asks.
#[derive(Debug)]
pub struct GroupData {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) values: GroupValues,
    /// The assignment the group comes from, and its number there: the
    /// group's members are the current rows assigned to it (found when
    /// asked, for the named peers of `visibility = named`; not kept per
    /// key figure).
    pub(crate) assignment: Arc<Assignment>,
    pub(crate) index: u32,
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
    /// Per key figure the current rows with a value, in value order
    /// (`grouping::value_order`).
    pub(crate) orders: Cache<usize, Vec<u32>>,
    /// The candidates for structural neighbours per generation of the
    /// member list (`disclose/neighbours.rs`).
    pub(crate) structures: Cache<u64, crate::disclose::neighbours::Structures>,
    /// The member ids of the current rows, shared by every group.
    pub(crate) ids: std::sync::OnceLock<Arc<Vec<String>>>,
    /// What the groups and assignments take, estimated as they are built.
    pub(crate) bytes: std::sync::atomic::AtomicUsize,
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
