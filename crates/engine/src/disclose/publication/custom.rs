//! Custom groups in a publication: rule 6 against every group disclosed for
//! the year, rules 1 and 4, the audit, and the ledger entry, in one step.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use vergleichsring_catalog::Domain;
use vergleichsring_store::{
    Append, CustomDisclosure, CustomGroup, LedgerEntry, LedgerRecord, PublishedState,
};

use super::Publications;
use super::{Systems, View, custom_disclosures, lock, now, publications};
use crate::disclose::differencing;
use crate::disclose::disclosure::{Audience, Policy};
use crate::error::{EngineError, Result};

/// The outcome of checking a custom group: its members with figures and the
/// key figures it is disclosed for, or why not.
pub(super) type CustomVerdict =
    std::result::Result<(BTreeSet<String>, Vec<String>), differencing::Refusal>;

/// Rule 6 against the built-in groups a publication disclosed: the
/// symmetric difference of the custom group with each, from counts
/// (|E Δ B| = |E| + |B| − 2 |E ∩ B|), must be 0 or at least the threshold.
pub(super) fn differs_from_builtin(
    policy: &Policy,
    group_id: &str,
    effective: &BTreeSet<String>,
    s: &PublishedState,
) -> Option<differencing::Refusal> {
    let t = policy.threshold;
    let disclosed: HashSet<(&str, &str)> = s
        .figures
        .iter()
        .flat_map(|f| f.disclosed.iter().map(|(d, g)| (d.as_str(), g.as_str())))
        .collect();
    let inside: Vec<usize> = effective
        .iter()
        .filter_map(|m| s.member_ids.binary_search(m).ok())
        .collect();
    for (dim, of) in &s.groups {
        let mut sizes: HashMap<&str, (usize, usize)> = HashMap::new();
        for g in of.iter().flatten() {
            sizes.entry(g.as_str()).or_default().0 += 1;
        }
        for g in inside
            .iter()
            .filter_map(|&i| of.get(i).and_then(Option::as_deref))
        {
            sizes.entry(g).or_default().1 += 1;
        }
        for (g, (size, common)) in sizes {
            if !disclosed.contains(&(dim.as_str(), g)) {
                continue;
            }
            let diff = effective.len() + size - 2 * common;
            if diff != 0 && diff < t {
                return Some(differencing::Refusal {
                    reason: "differencing",
                    message: format!(
                        "group {group_id} differs from the published group {dim}:{g} of {} by {diff} member(s); the difference must be 0 or at least {t}, or the published statistics could be subtracted to reveal those members",
                        s.publication.id
                    ),
                });
            }
        }
    }
    None
}

impl Publications<'_> {
    /// A custom group in a publication (rules 6 and 11): disclosed if it
    /// was disclosed in it before; else checked against every group
    /// disclosed for the (domain, year) and audited with every key figure,
    /// and recorded in the ledger if it passes, in one step.
    pub(crate) async fn disclose_custom(
        &self,
        domain: &Domain,
        view: &View,
        group: &CustomGroup,
        year: i32,
    ) -> Result<Result<(), differencing::Refusal>> {
        let Some(publication) = &view.publication else {
            // Admin reads are not releases.
            return Ok(Ok(()));
        };
        // Disclosed before in this publication with the same members: a
        // neighbour group's members move with the settings and the
        // register, and a group with other members is audited anew.
        let done = |entries: &[Arc<LedgerEntry>]| {
            let Some(state) = publications(entries)
                .map(|(_, s)| s)
                .find(|s| s.publication == *publication)
            else {
                return false;
            };
            custom_disclosures(entries)
                .filter(|c| c.publication == publication.id && c.group_id == group.id)
                .any(|c| {
                    group
                        .member_ids
                        .iter()
                        .filter(|m| state.member_ids.binary_search(m).is_ok())
                        .eq(c.member_ids.iter())
                })
        };
        if done(&self.core.ledgers.entries_of(&domain.id, year)?) {
            return Ok(Ok(()));
        }
        let _writer = self.core.ledgers.writer(&domain.id).lock().await;
        loop {
            let entries = self.core.ledgers.entries_of(&domain.id, year)?;
            if done(&entries) {
                return Ok(Ok(()));
            }
            let key = (publication.id.clone(), group.id.clone(), entries.len());
            if let Some(r) = lock(&self.core.ledgers.refused).get(&key) {
                return Ok(Err(r.clone()));
            }
            let verdict = self.check_custom(domain, view, group, year, &entries)?;
            let (effective, figures) = match verdict {
                Ok(disclosed) => disclosed,
                Err(r) => {
                    lock(&self.core.ledgers.refused).insert(key, r.clone());
                    return Ok(Err(r));
                }
            };
            let entry = LedgerEntry {
                seq: entries.len() as u64 + 1,
                recorded_at: now(),
                record: LedgerRecord::CustomGroup(CustomDisclosure {
                    publication: publication.id.clone(),
                    group_id: group.id.clone(),
                    member_ids: effective.into_iter().collect(),
                    figures,
                }),
            };
            match self.core.ledgers.append(&domain.id, year, &entry).await? {
                Append::Done => return Ok(Ok(())),
                Append::Taken => continue,
            }
        }
    }

    /// What [`Publications::disclose_custom`] would answer for a group now,
    /// without recording anything: rules 6 and 11 against every group
    /// disclosed for the (domain, year). For the analysts' group builder;
    /// without a publication there is nothing to check against.
    pub(crate) fn preview_custom(
        &self,
        domain: &Domain,
        view: &View,
        group: &CustomGroup,
        year: i32,
    ) -> Result<Result<(), differencing::Refusal>> {
        if view.publication.is_none() {
            return Ok(Ok(()));
        }
        let entries = self.core.ledgers.entries_of(&domain.id, year)?;
        Ok(self
            .check_custom(domain, view, group, year, &entries)?
            .map(|_| ()))
    }

    /// The audit's view of a ledger (kept while its length stays).
    pub(super) fn systems(
        &self,
        domain: &str,
        year: i32,
        entries: &[Arc<LedgerEntry>],
    ) -> Arc<Systems> {
        let key = (domain.to_string(), year);
        if let Some((len, s)) = lock(&self.core.ledgers.systems).get(&key)
            && *len == entries.len()
        {
            return s.clone();
        }
        let built = Arc::new(Systems::of_ledger(entries));
        lock(&self.core.ledgers.systems).insert(key, (entries.len(), built.clone()));
        built
    }

    /// Rule 6 (pairwise differences with every group disclosed for the
    /// year, in any publication, and with the group in other years) and
    /// rule 11 (the exact audit, every key figure) for a custom group.
    pub(super) fn check_custom(
        &self,
        domain: &Domain,
        view: &View,
        group: &CustomGroup,
        year: i32,
        entries: &[Arc<LedgerEntry>],
    ) -> Result<CustomVerdict> {
        let Some(state) = publications(entries)
            .map(|(_, s)| s)
            .find(|s| Some(&s.publication) == view.publication.as_ref())
        else {
            return Err(EngineError::Internal(
                "publication not in its ledger".into(),
            ));
        };
        // A selection too small to ever be released is refused from its
        // size alone: counting its members with figures would tell, for a
        // selection of one, whether that member reported for the year.
        let chosen: BTreeSet<&String> = group.member_ids.iter().collect();
        let t = view.policy.threshold;
        if chosen.len() < t {
            return Ok(Err(differencing::Refusal {
                reason: "below_threshold",
                message: format!(
                    "group {} has {} members; at least {t} are needed",
                    group.id,
                    chosen.len()
                ),
            }));
        }
        let effective: BTreeSet<String> = group
            .member_ids
            .iter()
            .filter(|m| state.member_ids.binary_search(m).is_ok())
            .cloned()
            .collect();
        let disclosed = self.disclosed_before(domain, group, year, entries)?;
        if let Err(r) = differencing::check_differences(
            &view.policy,
            &group.id,
            year,
            &effective,
            &disclosed,
            &[],
        ) {
            return Ok(Err(r));
        }
        // The built-in groups disclosed in any publication of the year.
        for (_, s) in publications(entries) {
            if let Some(r) = differs_from_builtin(&view.policy, &group.id, &effective, s) {
                return Ok(Err(r));
            }
        }
        Ok(self
            .audited_figures(domain, view, group, year, entries, state, &effective)?
            .map(|figures| (effective, figures)))
    }

    /// The custom groups disclosed before that rule 6 compares a group
    /// with: any custom group in this year (the same group in another
    /// publication counts as another group), and this group in other
    /// years.
    fn disclosed_before(
        &self,
        domain: &Domain,
        group: &CustomGroup,
        year: i32,
        entries: &[Arc<LedgerEntry>],
    ) -> Result<Vec<differencing::DisclosedGroup>> {
        let mut disclosed: Vec<differencing::DisclosedGroup> = custom_disclosures(entries)
            .map(|c| differencing::DisclosedGroup {
                group_id: format!("{}@{}", c.group_id, c.publication),
                year,
                member_ids: c.member_ids.iter().cloned().collect(),
            })
            .collect();
        for y in self.core.ledgers.years(&domain.id)? {
            if y == year {
                continue;
            }
            let other = self.core.ledgers.entries_of(&domain.id, y)?;
            disclosed.extend(
                custom_disclosures(&other)
                    .filter(|c| c.group_id == group.id)
                    .map(|c| differencing::DisclosedGroup {
                        group_id: group.id.clone(),
                        year: y,
                        member_ids: c.member_ids.iter().cloned().collect(),
                    }),
            );
        }
        Ok(disclosed)
    }

    /// Rule 11 for a custom group with `effective` members: the key
    /// figures whose sums it may add to the ledger, or the refusal of the
    /// first one the exact audit finds would determine a value.
    #[allow(clippy::too_many_arguments)]
    fn audited_figures(
        &self,
        domain: &Domain,
        view: &View,
        group: &CustomGroup,
        year: i32,
        entries: &[Arc<LedgerEntry>],
        state: &PublishedState,
        effective: &BTreeSet<String>,
    ) -> Result<std::result::Result<Vec<String>, differencing::Refusal>> {
        let mut figures = Vec::new();
        let systems = self.systems(&domain.id, year, entries);
        let coalitions = super::audit::Coalitions::of(
            &systems.members,
            state,
            &self.core.store.all_grants(),
            view.policy.threshold,
        );
        let position: HashMap<&str, usize> = state
            .member_ids
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        for f in &state.figures {
            // Only figures whose statistics rules 1 and 4 release for the
            // group (for analysts, who see the most) add a sum to the ledger.
            let values: Vec<f64> = effective
                .iter()
                .filter_map(|m| position.get(m.as_str()))
                .filter_map(|&i| f.values.get(i).copied().flatten())
                .map(f64::from_bits)
                .collect();
            if !crate::disclose::disclosure::passes_size_and_variety(
                &view.policy,
                Audience::Analyst,
                &values,
                None,
            ) {
                continue;
            }
            let Some(row) = systems.lookup(&position, f, effective.iter().map(String::as_str))
            else {
                return Err(EngineError::Internal(format!(
                    "a member of {} has no variable in the ledger of {} {year}",
                    group.id, domain.id
                )));
            };
            if row.is_empty() {
                continue;
            }
            let Some(sys) = systems.figures.get(&f.figure) else {
                continue;
            };
            if let Some(finding) = refused_by_audit(&coalitions, sys, &row) {
                tracing::info!(group = %group.id, figure = %f.figure, ?finding, "custom group refused by the audit");
                return Ok(Err(differencing::Refusal {
                    reason: "differencing",
                    message: format!(
                        "group {} would, together with the statistics already published for {} {year}, determine a single member's value or a withheld group's total of {}; it is not disclosed",
                        group.id, domain.id, f.figure
                    ),
                }));
            }
            figures.push(f.figure.clone());
        }
        Ok(Ok(figures))
    }
}

/// What the audit finds when a custom group's sum `row` is added to a key
/// figure's ledger, for each member alone and for the coalitions of rule
/// 13. Usually nothing at all is determined (one audit). Otherwise the new
/// row is tried as the one candidate of a secondary suppression: withheld
/// totals that the ledger already determines are public knowledge and do
/// not count against it, exactly as at publication.
fn refused_by_audit(
    coalitions: &super::audit::Coalitions,
    sys: &super::audit::System,
    row: &[vergleichsring_audit::Var],
) -> Option<vergleichsring_audit::Finding> {
    coalitions.owners(&sys.owner).iter().find_map(|owner| {
        vergleichsring_audit::check_addition(owner, &sys.disclosed, &sys.protected, row).and_then(
            |finding| match vergleichsring_audit::secondary_suppression(
                owner,
                &sys.disclosed,
                &sys.protected,
                std::slice::from_ref(&row.to_vec()),
                &[],
            ) {
                Ok(withheld) if withheld.is_empty() => None,
                Ok(_) => Some(finding),
                Err(f) => Some(f),
            },
        )
    })
}
