//! Materialised groups: which group each member of a year belongs to per
//! dimension, and the groups' values per key figure, built once per year
//! (and member list) and shared by every request; disclosure control runs
//! per request on top (`compare.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::compare::{CompareInput, Dimension, GroupBy, group_of, order_key};
use crate::disclosure::GroupValues;
use crate::snapshot::{KeyRow, YearData};

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

/// The key figures of a year's current rows, in member id order.
pub(crate) fn align(data: &YearData) -> Vec<Option<KeyRow>> {
    let mut keys = data.key.iter().peekable();
    data.current
        .keys()
        .map(|member_id| {
            while keys.peek().is_some_and(|(m, _)| *m < member_id) {
                keys.next();
            }
            keys.peek()
                .filter(|(m, _)| *m == member_id)
                .map(|(_, k)| (*k).clone())
        })
        .collect()
}

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

/// Assigns every current member of a year to its group of `by`.
pub(crate) fn assign(input: &CompareInput<'_>, data: &YearData, by: &GroupBy) -> Assignment {
    let pop_idx = input
        .domain
        .basic_figures
        .iter()
        .position(|f| f.id == "population");
    let mut order: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut ids = Vec::with_capacity(data.current.len());
    let mut raw: Vec<Option<String>> = Vec::with_capacity(data.current.len());
    for (member_id, row) in data.current_rows() {
        ids.push(member_id.clone());
        let group = input.members.get(member_id).and_then(|member| {
            let population = pop_idx.and_then(|i| row.basic.get(i));
            group_of(input.catalog, by, member, population)
        });
        raw.push(group.map(|(gid, label)| {
            order
                .entry(order_key(input.catalog, by, &gid))
                .or_insert(label);
            gid
        }));
    }
    let mut groups = Vec::with_capacity(order.len());
    let mut index: HashMap<String, u32> = HashMap::new();
    for (i, ((_, gid), label)) in order.into_iter().enumerate() {
        index.insert(gid.clone(), u32::try_from(i).unwrap_or(u32::MAX));
        groups.push((gid, label));
    }
    let of_row = raw
        .into_iter()
        .map(|g| g.and_then(|gid| index.get(&gid).copied()))
        .collect();
    Assignment {
        groups,
        of_row,
        ids: Arc::new(ids),
    }
}

/// Groups the current values of `figure` by an assignment, in the order
/// the API lists groups.
pub(crate) fn build_groups(
    data: &YearData,
    assignment: &Assignment,
    figure: usize,
) -> Vec<GroupData> {
    let mut groups: Vec<GroupData> = assignment
        .groups
        .iter()
        .map(|(id, label)| GroupData {
            id: id.clone(),
            label: label.clone(),
            values: GroupValues::default(),
            members: Vec::new(),
            ids: assignment.ids.clone(),
        })
        .collect();
    let aligned = cached(&data.materialised.aligned, (), || align(data));
    for (i, key) in aligned.iter().enumerate() {
        let (Some(Some(g)), Some(k)) = (assignment.of_row.get(i), key) else {
            continue;
        };
        let Some(entry) = groups.get_mut(*g as usize) else {
            continue;
        };
        if let Some(v) = k.values.get(figure) {
            entry.values.values.push(v);
            entry
                .members
                .push((u32::try_from(i).unwrap_or(u32::MAX), v));
            if let (Some(n), Some(d)) = (k.nums.get(figure), k.dens.get(figure)) {
                entry.values.nums.push(n);
                entry.values.dens.push(d);
            }
        }
    }
    // Sorted once here, the statistics of every request find the values in
    // order (the order of values carries no meaning).
    for g in &mut groups {
        g.values.values.sort_by(f64::total_cmp);
    }
    groups
}
