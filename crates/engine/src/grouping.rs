//! Materialised groups: which group each member of a year belongs to per
//! dimension, and the groups' values per key figure, built once per year
//! (and member list) and shared by every request; disclosure control runs
//! per request on top (`compare.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use vergleichsring_catalog::{Catalog, Domain};
use vergleichsring_store::Member;

use crate::dimension::{GroupBy, group_of, order_key};
use crate::disclosure::{GroupValues, Policy};
use crate::snapshot::Snapshot;
pub(crate) use crate::year::cached;
use crate::year::{Assignment, GroupData, YearData};

/// Assigns every current member of a year to its group of `by`.
pub(crate) fn assign(input: &CompareInput<'_>, data: &YearData, by: &GroupBy) -> Assignment {
    let pop_idx = input
        .domain
        .basic_figures
        .iter()
        .position(|f| f.id == "population");
    let mut order: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut ids = Vec::with_capacity(data.len());
    let mut raw: Vec<Option<String>> = Vec::with_capacity(data.len());
    for (member_id, row) in data.current_rows() {
        ids.push(member_id.to_string());
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
    for (i, key) in data.aligned_keys().iter().enumerate() {
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

impl Assignment {
    /// What it takes in memory, estimated (the member ids are counted
    /// here, the groups share them).
    pub(crate) fn bytes(&self) -> usize {
        let ids: usize = self.ids.iter().map(|m| m.capacity() + 40).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(id, label)| id.capacity() + label.capacity() + 64)
            .sum();
        ids + groups + self.of_row.len() * std::mem::size_of::<Option<u32>>()
    }
}

/// What a key figure's groups take in memory, estimated.
pub(crate) fn groups_bytes(groups: &[GroupData]) -> usize {
    groups
        .iter()
        .map(|g| {
            std::mem::size_of::<GroupData>()
                + g.id.capacity()
                + g.label.capacity()
                + (g.values.values.capacity() + g.values.nums.capacity() + g.values.dens.capacity())
                    * std::mem::size_of::<f64>()
                + g.members.capacity() * std::mem::size_of::<(u32, f64)>()
                + 64
        })
        .sum()
}

/// Everything needed to compute one comparison.
pub struct CompareInput<'a> {
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// The domain.
    pub domain: &'a Domain,
    /// The domain's data.
    pub snapshot: &'a Snapshot,
    /// Registered members by id.
    pub members: &'a BTreeMap<String, Member>,
    /// Disclosure thresholds.
    pub policy: &'a Policy,
    /// The generation of the member list (see `Store::members_generation`):
    /// materialised groups are kept per generation, because a member's kind
    /// decides its groups.
    pub members_generation: u64,
}
