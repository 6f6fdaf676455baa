//! Structural neighbours in a publication: the candidates of the year a
//! view reads (kept with the year's materialised groups), and a member's
//! neighbour group as the custom group every answer discloses it as, so
//! that it passes the same door as any custom group (rules 6, 11, 16).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use vergleichsring_catalog::Domain;
use vergleichsring_store::CustomGroup;

use super::{Publications, View};
use crate::disclose::neighbours::{Missing, Structures};
use crate::error::{EngineError, Result};
use crate::read::year::cached;

/// The prefix of a neighbour group's id: a colon, which no custom group id
/// may hold, so that no analyst's group can take a neighbour group's
/// place in the ledger.
pub(crate) const PREFIX: &str = "neighbours:";

impl Publications<'_> {
    /// The neighbour candidates of the year a view reads.
    pub(crate) fn structures(&self, domain: &Domain, view: &View, year: i32) -> Arc<Structures> {
        let Some(data) = view.snapshot.year(year) else {
            return Arc::new(Structures::default());
        };
        let m = &data.materialised;
        cached(&m.structures, view.members.generation, || {
            let s = Structures::build(
                &self.core.neighbours,
                domain,
                &self.core.catalog().register,
                &view.members.map,
                data,
                self.core.noise.as_deref(),
            );
            m.bytes.fetch_add(s.bytes(), Ordering::Relaxed);
            s
        })
    }

    /// The neighbour group of member `of` in the year a view reads: the
    /// member and its `k` nearest, or why it has none (`Refused` with the
    /// reason `no_figures` or `no_structure`); with the member whose
    /// released group stands in for it, if one does.
    ///
    /// Two structural neighbours' groups differ by a few members, which
    /// rule 6 forbids once one of them is released. So where a neighbour
    /// group released in the publication holds `of` and differs from its
    /// own by fewer than the threshold, that group is `of`'s group: it
    /// releases nothing new (the same sums), and `of` still compares with
    /// members all but the same as its nearest.
    pub(crate) fn neighbour_group(
        &self,
        domain: &Domain,
        view: &View,
        year: i32,
        of: &str,
    ) -> Result<(CustomGroup, Option<String>)> {
        let s = self.structures(domain, view, year);
        let at = s
            .find(of)
            .ok_or_else(|| no_neighbours(&s, domain, year, of, self))?;
        let mut member_ids: Vec<String> = std::iter::once(at)
            .chain(
                s.nearest(at, self.core.neighbours.k)
                    .into_iter()
                    .map(|(i, _)| i),
            )
            .filter_map(|i| s.candidates.get(i).map(|c| c.member_id.clone()))
            .collect();
        member_ids.sort();
        let mut shared = None;
        if let Some(p) = &view.publication {
            let entries = self.core.ledgers.entries_of(&domain.id, year)?;
            if let Some((by, members)) =
                stand_in(&entries, p, of, &member_ids, view.policy.threshold)
            {
                member_ids = members;
                shared = Some(by);
            }
        }
        let name = view
            .members
            .get(of)
            .map_or(of, |m| m.name.as_str())
            .to_string();
        Ok((
            CustomGroup {
                id: format!("{PREFIX}{of}"),
                name: format!("Strukturnachbarn von {name}"),
                member_ids,
            },
            shared,
        ))
    }
}

/// The released group that stands in for `of`'s own neighbours `own`: the
/// one holding `of` that differs from them by fewer than `threshold`
/// members (fewest first): another member's neighbour group released in
/// the publication, or a built-in group of it (a structural type, a size
/// class). Named by the member or the `dimension:group`.
fn stand_in(
    entries: &[Arc<vergleichsring_store::LedgerEntry>],
    p: &vergleichsring_store::Publication,
    of: &str,
    own: &[String],
    threshold: usize,
) -> Option<(String, Vec<String>)> {
    let own_set: BTreeSet<&String> = own.iter().collect();
    let mut candidates: Vec<(String, Vec<String>)> = super::custom_disclosures(entries)
        .filter(|c| c.publication == p.id && c.group_id.starts_with(PREFIX))
        .filter(|c| c.member_ids.iter().any(|m| m == of))
        .map(|c| {
            (
                c.group_id.trim_start_matches(PREFIX).to_string(),
                c.member_ids.clone(),
            )
        })
        .collect();
    if let Some((_, state)) = super::publications(entries).find(|(_, s)| s.publication == *p)
        && let Ok(at) = state.member_ids.binary_search(&of.to_string())
    {
        let disclosed: BTreeSet<(&str, &str)> = state
            .figures
            .iter()
            .flat_map(|f| f.disclosed.iter().map(|(d, g)| (d.as_str(), g.as_str())))
            .collect();
        for (dim, groups) in &state.groups {
            let Some(Some(mine)) = groups.get(at) else {
                continue;
            };
            if !disclosed.contains(&(dim.as_str(), mine.as_str())) {
                continue;
            }
            // Two sets differ by at least the difference of their sizes:
            // only groups about as large as the neighbours are listed.
            let size = groups.iter().filter(|g| g.as_ref() == Some(mine)).count();
            if size.abs_diff(own.len()) >= threshold {
                continue;
            }
            let members = state
                .member_ids
                .iter()
                .zip(groups)
                .filter(|(_, g)| g.as_ref() == Some(mine))
                .map(|(m, _)| m.clone())
                .collect();
            candidates.push((format!("{dim}:{mine}"), members));
        }
    }
    candidates
        .into_iter()
        .map(|(by, members)| {
            let theirs: BTreeSet<&String> = members.iter().collect();
            (own_set.symmetric_difference(&theirs).count(), by, members)
        })
        .filter(|(d, _, _)| *d > 0 && *d < threshold)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
        .map(|(_, by, members)| (by, members))
}

/// Why `of` has no neighbours in a year.
fn no_neighbours(
    s: &Structures,
    domain: &Domain,
    year: i32,
    of: &str,
    p: &Publications<'_>,
) -> EngineError {
    let register = &p.core.catalog().register;
    let (reason, message) = match s.why_missing(of) {
        Some(Missing::NoStructure) => (
            "no_structure",
            format!(
                "member {of} is not in the municipality register (Destatis GV-ISys, {}) and admin has given it no structure; admin can give it one by registering it again with \"structure\": {{\"area_km2\": ..., \"degurba\": ...}} (POST /api/v1/members)",
                register.year
            ),
        ),
        Some(Missing::NoFigures) => (
            "no_figures",
            format!(
                "member {of} lacks a figure the neighbours of {} are found by (population or a configured basic figure) in {year}",
                domain.id
            ),
        ),
        None => (
            "no_figures",
            format!(
                "member {of} has no figures for {} {year} in the state read: neighbours are found among the members with figures",
                domain.id
            ),
        ),
    };
    EngineError::Refused {
        code: "no_neighbours",
        reason,
        message,
    }
}
