//! The audit's view of a ledger (variables and disclosed sums per key
//! figure) and the audit of a new publication with secondary suppression.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use vergleichsring_audit::Var;
use vergleichsring_store::{
    LedgerEntry, LedgerRecord, PublishedFigure, PublishedState, WithheldGroup,
};

use super::publications;
use crate::disclosure::Reason;

/// The variables and disclosed sums of every key figure over a ledger, as
/// the audit takes them: a variable is one member's value of one key
/// figure, the same in every publication while its bits are the same.
/// Built in one pass over the ledger; kept per (domain, year, ledger
/// length) for custom groups (`Ledgers::systems`).
#[derive(Default, Clone)]
pub(super) struct Systems {
    /// Members by id, one index for all key figures.
    pub(super) members: HashMap<String, u32>,
    /// Per key figure id.
    pub(super) figures: HashMap<String, System>,
}

/// The variables and disclosed sums of one key figure.
#[derive(Default, Clone)]
pub(super) struct System {
    pub(super) vars: HashMap<(u32, u64), Var>,
    pub(super) owner: Vec<u32>,
    pub(super) disclosed: Vec<Vec<Var>>,
    pub(super) protected: Vec<Vec<Var>>,
}

/// The rows of one publication's key figure: (dimension, group) → the
/// variables of its members with a value.
pub(super) struct FigureRows {
    pub(super) disclosed: Vec<((String, String), Vec<Var>)>,
    pub(super) withheld: Vec<((String, String), Vec<Var>)>,
}

impl System {
    fn var(&mut self, member: u32, bits: u64) -> Var {
        let next = u32::try_from(self.owner.len()).unwrap_or(u32::MAX);
        let owner = &mut self.owner;
        *self.vars.entry((member, bits)).or_insert_with(|| {
            owner.push(member);
            next
        })
    }
}

/// A publication's members in the index of a [`Systems`], and its members
/// by built-in group.
pub(super) struct Indexed<'s> {
    pub(super) members: Vec<u32>,
    pub(super) position: HashMap<&'s str, usize>,
    pub(super) by_group: HashMap<(&'s str, &'s str), Vec<usize>>,
}

impl Systems {
    fn index<'s>(&mut self, state: &'s PublishedState) -> Indexed<'s> {
        let members = state
            .member_ids
            .iter()
            .map(|m| {
                let next = u32::try_from(self.members.len()).unwrap_or(u32::MAX);
                *self.members.entry(m.clone()).or_insert(next)
            })
            .collect();
        let position = state
            .member_ids
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        let mut by_group: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (dim, of) in &state.groups {
            for (i, g) in of.iter().enumerate() {
                if let Some(g) = g {
                    by_group
                        .entry((dim.as_str(), g.as_str()))
                        .or_default()
                        .push(i);
                }
            }
        }
        Indexed {
            members,
            position,
            by_group,
        }
    }

    /// The variables of members (by position in the publication) in a key
    /// figure, sorted.
    fn vars(
        &mut self,
        ix: &Indexed<'_>,
        figure: &PublishedFigure,
        positions: impl Iterator<Item = usize>,
    ) -> Vec<Var> {
        let sys = self.figures.entry(figure.figure.clone()).or_default();
        let mut out: Vec<Var> = positions
            .filter_map(|i| {
                let bits = figure.values.get(i).copied().flatten()?;
                Some(sys.var(*ix.members.get(i)?, bits))
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The rows of a publication's key figure.
    fn rows(&mut self, ix: &Indexed<'_>, figure: &PublishedFigure) -> FigureRows {
        let row = |this: &mut Systems, dim: &str, group: &str| {
            let members = ix
                .by_group
                .get(&(dim, group))
                .into_iter()
                .flatten()
                .copied();
            this.vars(ix, figure, members)
        };
        let disclosed = figure
            .disclosed
            .iter()
            .map(|(d, g)| ((d.clone(), g.clone()), row(self, d, g)))
            .collect();
        let withheld = figure
            .withheld
            .iter()
            .map(|w| {
                (
                    (w.dimension.clone(), w.group.clone()),
                    row(self, &w.dimension, &w.group),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        FigureRows {
            disclosed,
            withheld,
        }
    }

    /// The variables of a custom group's members in a publication's key
    /// figure.
    fn custom_vars<'a>(
        &mut self,
        ix: &Indexed<'_>,
        figure: &PublishedFigure,
        members: impl Iterator<Item = &'a str>,
    ) -> Vec<Var> {
        let positions: Vec<usize> = members
            .filter_map(|m| ix.position.get(m).copied())
            .collect();
        self.vars(ix, figure, positions.into_iter())
    }

    /// The variables of a custom group's members in a publication's key
    /// figure, looked up without adding any (`None` if one is missing).
    pub(super) fn lookup<'a>(
        &self,
        position: &HashMap<&str, usize>,
        figure: &PublishedFigure,
        members: impl Iterator<Item = &'a str>,
    ) -> Option<Vec<Var>> {
        let sys = self.figures.get(&figure.figure)?;
        let mut out = Vec::new();
        for m in members {
            let Some(i) = position.get(m) else {
                continue;
            };
            let Some(bits) = figure.values.get(*i).copied().flatten() else {
                continue;
            };
            out.push(*sys.vars.get(&(*self.members.get(m)?, bits))?);
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// Everything a ledger has disclosed and withheld, every key figure.
    pub(super) fn of_ledger(entries: &[Arc<LedgerEntry>]) -> Systems {
        let mut all = Systems::default();
        let states: HashMap<&str, &PublishedState> = publications(entries)
            .map(|(_, s)| (s.publication.id.as_str(), s))
            .collect();
        let mut indexed: HashMap<&str, Indexed<'_>> = HashMap::new();
        for e in entries {
            match &e.record {
                LedgerRecord::Publication(state) => {
                    let ix = all.index(state);
                    for f in &state.figures {
                        let rows = all.rows(&ix, f);
                        let sys = all.figures.entry(f.figure.clone()).or_default();
                        sys.disclosed
                            .extend(rows.disclosed.into_iter().map(|(_, v)| v));
                        sys.protected
                            .extend(rows.withheld.into_iter().map(|(_, v)| v));
                    }
                    indexed.insert(state.publication.id.as_str(), ix);
                }
                LedgerRecord::CustomGroup(c) => {
                    let (Some(state), Some(ix)) = (
                        states.get(c.publication.as_str()),
                        indexed.get(c.publication.as_str()),
                    ) else {
                        continue;
                    };
                    for f in state
                        .figures
                        .iter()
                        .filter(|f| c.figures.contains(&f.figure))
                    {
                        let row = all.custom_vars(ix, f, c.member_ids.iter().map(String::as_str));
                        if !row.is_empty() {
                            all.figures
                                .entry(f.figure.clone())
                                .or_default()
                                .disclosed
                                .push(row);
                        }
                    }
                }
            }
        }
        all
    }
}

/// The audit of a new publication (rule 11) with secondary suppression:
/// per key figure, the groups it would release are checked together with
/// everything the ledger disclosed before; groups are withheld, smallest
/// first, until nothing is determined. Returns how many were withheld.
pub(super) fn audit_publication(entries: &[Arc<LedgerEntry>], state: &mut PublishedState) -> usize {
    let mut suppressed = 0;
    let figures = std::mem::take(&mut state.figures);
    let mut out = Vec::with_capacity(figures.len());
    let mut all = Systems::of_ledger(entries);
    let ix = all.index(state);
    for mut f in figures {
        let rows = all.rows(&ix, &f);
        let sys = all.figures.entry(f.figure.clone()).or_default();
        let candidates: Vec<Vec<Var>> = rows.disclosed.iter().map(|(_, v)| v.clone()).collect();
        let candidate_protected: Vec<Vec<Var>> =
            rows.withheld.iter().map(|(_, v)| v.clone()).collect();
        let withhold: BTreeSet<usize> = match vergleichsring_audit::secondary_suppression(
            &sys.owner,
            &sys.disclosed,
            &sys.protected,
            &candidates,
            &candidate_protected,
        ) {
            Ok(idx) => idx.into_iter().collect(),
            Err(finding) => {
                tracing::warn!(figure = %f.figure, ?finding, "the audit withholds every group of a key figure");
                (0..candidates.len()).collect()
            }
        };
        if !withhold.is_empty() {
            let mut kept = Vec::new();
            for (i, ((dim, group), _)) in rows.disclosed.into_iter().enumerate() {
                if withhold.contains(&i) {
                    suppressed += 1;
                    f.withheld.push(WithheldGroup {
                        dimension: dim,
                        group,
                        reason: Reason::Audit.code().to_string(),
                    });
                } else {
                    kept.push((dim, group));
                }
            }
            f.disclosed = kept;
        }
        out.push(f);
    }
    state.figures = out;
    suppressed
}
