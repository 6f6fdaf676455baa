//! Materialised groups: which group each member of a year belongs to per
//! dimension, and the groups' values per key figure, built once per year
//! (and member list) and shared by every request; disclosure control runs
//! per request on top (`compare.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use vergleichsring_catalog::{Catalog, Domain};
use vergleichsring_store::Member;

use crate::disclose::dimension::{Dimension, GroupBy, group_ref, order_key};
use crate::disclose::disclosure::{GroupValues, Policy};
use crate::read::snapshot::Snapshot;
pub(crate) use crate::read::year::cached;
use crate::read::year::{Assignment, GroupData, YearData};

/// Assigns every current member of a year to its group of `by`.
pub(crate) fn assign(input: &CompareInput<'_>, data: &YearData, by: &GroupBy) -> Assignment {
    if *by == GroupBy::Dimension(Dimension::StructureType) {
        return structure_types(input, data);
    }
    let pop_idx = input
        .domain
        .basic_figures
        .iter()
        .position(|f| f.id == "population");
    // The groups in the order they are first met; a dimension has a few
    // dozen at most, so a scan finds one faster than hashing its id.
    let mut found: Vec<(&str, &str)> = Vec::new();
    let mut last = 0;
    let mut raw: Vec<Option<u32>> = Vec::with_capacity(data.len());
    // The current rows and the member list are both in member id order:
    // walk them side by side instead of searching the list per row.
    let mut members = input.members.iter().peekable();
    for (member_id, row) in data.current_rows() {
        while members
            .peek()
            .is_some_and(|(id, _)| id.as_str() < member_id)
        {
            members.next();
        }
        let member = members
            .peek()
            .filter(|(id, _)| id.as_str() == member_id)
            .map(|(_, m)| *m);
        let group = member.and_then(|member| {
            let population = pop_idx.and_then(|i| row.basic.get(i));
            group_ref(input.catalog, by, member, population)
        });
        raw.push(group.map(|(gid, label)| {
            // Members in id order come Land by Land: the last row's group
            // is the likeliest.
            let at = if found.get(last).is_some_and(|(f, _)| *f == gid) {
                last
            } else {
                found
                    .iter()
                    .position(|(f, _)| *f == gid)
                    .unwrap_or_else(|| {
                        found.push((gid, label));
                        found.len() - 1
                    })
            };
            last = at;
            u32::try_from(at).unwrap_or(u32::MAX)
        }));
    }
    // The API lists groups by `order_key`: renumber them in that order.
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by_cached_key(|&g| order_key(input.catalog, by, found[g].0));
    let mut renumbered = vec![0u32; found.len()];
    for (new, &old) in order.iter().enumerate() {
        renumbered[old] = u32::try_from(new).unwrap_or(u32::MAX);
    }
    Assignment {
        groups: order
            .iter()
            .map(|&g| (found[g].0.to_string(), found[g].1.to_string()))
            .collect(),
        of_row: raw
            .into_iter()
            .map(|g| g.and_then(|g| renumbered.get(g as usize).copied()))
            .collect(),
    }
}

/// The structural types of a year's current rows. Basic figures the ring
/// names as variables enter perturbed (the ring's multipliers), so that
/// every audience's types are the same.
pub(crate) fn structure_types(input: &CompareInput<'_>, data: &YearData) -> Assignment {
    // The same candidates the neighbours of this year data use.
    let m = &data.materialised;
    let s = cached(&m.structures, input.members_generation, || {
        let s = crate::disclose::neighbours::Structures::build(
            input.neighbours,
            input.domain,
            &input.catalog.register,
            input.members,
            data,
            input.noise,
        );
        m.bytes
            .fetch_add(s.bytes(), std::sync::atomic::Ordering::Relaxed);
        s
    });
    crate::disclose::types::assignment(
        &s,
        input.neighbours.types,
        input.neighbours.county_types,
        // A type at least twice a neighbour group: finer types and the
        // overlapping neighbour groups together would cut members out
        // (the audit then refuses the neighbour groups).
        input.policy.threshold.max(2 * (input.neighbours.k + 1)),
        data.current_rows().map(|(m, _)| m),
    )
}

/// The current rows with a value of `figure`, ordered by that value: sorted
/// once per key figure, every grouping of the figure takes its groups'
/// values in order from it.
pub(crate) fn value_order(data: &YearData, figure: usize) -> Vec<u32> {
    let column = data.key_columns().figure(figure);
    let mut pairs: Vec<(f64, u32)> = column
        .values
        .iter()
        .zip(column.present)
        .enumerate()
        .filter(|(_, (v, present))| **present && !v.is_nan())
        .map(|(i, (v, _))| (*v, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    pairs.into_iter().map(|(_, i)| i).collect()
}

/// Groups the current values of `figure` by an assignment, in the order
/// the API lists groups. `order` is [`value_order`] of the figure; `ids`
/// the year's member ids (in current-row order).
pub(crate) fn build_groups(
    data: &YearData,
    assignment: &Arc<Assignment>,
    figure: usize,
    order: &[u32],
    ids: &Arc<Vec<String>>,
) -> Vec<GroupData> {
    let column = data.key_columns().figure(figure);
    // A group holds at most the members assigned to it: room for them at
    // once, instead of growing each vector step by step.
    let mut sizes = vec![0usize; assignment.groups.len()];
    for g in assignment.of_row.iter().flatten() {
        if let Some(n) = sizes.get_mut(*g as usize) {
            *n += 1;
        }
    }
    let mut groups: Vec<GroupData> = assignment
        .groups
        .iter()
        .zip(&sizes)
        .enumerate()
        .map(|(index, ((id, label), &n))| GroupData {
            id: id.clone(),
            label: label.clone(),
            values: GroupValues {
                values: Vec::with_capacity(n),
                nums: Vec::with_capacity(n),
                dens: Vec::with_capacity(n),
            },
            assignment: assignment.clone(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            ids: ids.clone(),
        })
        .collect();
    // Members, numerators and denominators in member id order (the sums of
    // the weighted ratio add up in that order, as they always have).
    for (i, g) in assignment.of_row.iter().enumerate() {
        let (Some(g), Some(_)) = (g, column.value(i)) else {
            continue;
        };
        let Some(entry) = groups.get_mut(*g as usize) else {
            continue;
        };
        let num = column.nums.get(i).copied().filter(|x| !x.is_nan());
        let den = column.dens.get(i).copied().filter(|x| !x.is_nan());
        if let (Some(n), Some(d)) = (num, den) {
            entry.values.nums.push(n);
            entry.values.dens.push(d);
        }
    }
    // The values in value order, so that every group's come out sorted and
    // the statistics of every request find them in order.
    for &i in order {
        let i = i as usize;
        let (Some(Some(g)), Some(v)) = (assignment.of_row.get(i), column.value(i)) else {
            continue;
        };
        if let Some(entry) = groups.get_mut(*g as usize) {
            entry.values.values.push(v);
        }
    }
    groups
}

/// The member ids of a year's current rows, in order.
pub(crate) fn member_ids(data: &YearData) -> Vec<String> {
    data.current_rows().map(|(m, _)| m.to_string()).collect()
}

/// What the member ids take in memory, estimated.
pub(crate) fn ids_bytes(ids: &[String]) -> usize {
    ids.iter().map(|m| m.capacity() + 40).sum()
}

impl Assignment {
    /// What it takes in memory, estimated.
    pub(crate) fn bytes(&self) -> usize {
        let groups: usize = self
            .groups
            .iter()
            .map(|(id, label)| id.capacity() + label.capacity() + 64)
            .sum();
        groups + self.of_row.len() * std::mem::size_of::<Option<u32>>()
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
    /// The ring's multipliers, when it perturbs: the standard deviation
    /// is corrected for their variance.
    pub noise: Option<&'a crate::disclose::noise::Noise>,
    /// The ring's settings for structural neighbours and types.
    pub neighbours: &'a crate::disclose::neighbours::NeighbourSettings,
}

/// The groups of `figure` in `data` by `by`: materialised once per year,
/// key figure, dimension and member list for built-in dimensions, built
/// per request for custom groups.
pub(crate) fn groups_of(
    input: &CompareInput<'_>,
    data: &YearData,
    figure: usize,
    by: &GroupBy,
) -> Arc<Vec<GroupData>> {
    match by {
        GroupBy::Dimension(d) => {
            let m = &data.materialised;
            // What is built here is weighed into the year's size, so that
            // the memory cache (`memory.rs`) accounts for it.
            let grown = |n: usize| m.bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            cached(&m.groups, (figure, *d, input.members_generation), || {
                let a = assignment_of(input, data, *d);
                let (order, ids) = shared_parts(data, figure);
                let groups = build_groups(data, &a, figure, &order, &ids);
                grown(crate::disclose::grouping::groups_bytes(&groups));
                groups
            })
        }
        // Neighbours are resolved into a custom group before; unresolved
        // they group nobody.
        GroupBy::Custom(_) | GroupBy::Neighbours(_) => {
            let (order, ids) = shared_parts(data, figure);
            let a = Arc::new(assign(input, data, by));
            Arc::new(build_groups(data, &a, figure, &order, &ids))
        }
    }
}

/// The assignment of a year's current rows to the groups of a built-in
/// dimension, built once per year, dimension and member list.
pub(crate) fn assignment_of(
    input: &CompareInput<'_>,
    data: &YearData,
    d: Dimension,
) -> Arc<Assignment> {
    let m = &data.materialised;
    cached(&m.assignments, (d, input.members_generation), || {
        let a = assign(input, data, &GroupBy::Dimension(d));
        m.bytes
            .fetch_add(a.bytes(), std::sync::atomic::Ordering::Relaxed);
        a
    })
}

/// What every grouping of a key figure shares, built once per year: the
/// rows in value order and the member ids.
pub(crate) fn shared_parts(data: &YearData, figure: usize) -> (Arc<Vec<u32>>, Arc<Vec<String>>) {
    let m = &data.materialised;
    let grown = |n: usize| m.bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    let order = cached(&m.orders, figure, || {
        let order = crate::disclose::grouping::value_order(data, figure);
        grown(order.capacity() * std::mem::size_of::<u32>());
        order
    });
    let ids = m
        .ids
        .get_or_init(|| {
            let ids = crate::disclose::grouping::member_ids(data);
            grown(crate::disclose::grouping::ids_bytes(&ids));
            Arc::new(ids)
        })
        .clone();
    (order, ids)
}
