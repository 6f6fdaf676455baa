//! Structural neighbours in a publication: the candidates of the year a
//! view reads (kept with the year's materialised groups), and a member's
//! neighbour group as the custom group every answer discloses it as, so
//! that it passes the same door as any custom group (rules 6, 11, 16).

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
                data.perturbed().map(|t| &t.year),
            );
            m.bytes.fetch_add(s.bytes(), Ordering::Relaxed);
            s
        })
    }

    /// The neighbour group of member `of` in the year a view reads: the
    /// member and its `k` nearest, or why it has none (`Refused` with the
    /// reason `no_figures` or `no_structure`).
    pub(crate) fn neighbour_group(
        &self,
        domain: &Domain,
        view: &View,
        year: i32,
        of: &str,
    ) -> Result<CustomGroup> {
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
        let name = view
            .members
            .get(of)
            .map_or(of, |m| m.name.as_str())
            .to_string();
        Ok(CustomGroup {
            id: format!("{PREFIX}{of}"),
            name: format!("Strukturnachbarn von {name}"),
            member_ids,
        })
    }
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
