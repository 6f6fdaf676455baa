//! The audit's view of a ledger (variables and disclosed sums per key
//! figure) and the audit of a new publication with secondary suppression.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use vergleichsring_audit::Var;
use vergleichsring_store::{
    LedgerEntry, LedgerRecord, PublishedFigure, PublishedState, WithheldGroup,
};

use super::publications;
use crate::disclose::disclosure::Reason;

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
                    // Rule 16: a figure the custom group was not
                    // disclosed for is withheld, and its total protected
                    // like a suppressed built-in group's.
                    for f in &state.figures {
                        let row = all.custom_vars(ix, f, c.member_ids.iter().map(String::as_str));
                        if row.is_empty() {
                            continue;
                        }
                        let sys = all.figures.entry(f.figure.clone()).or_default();
                        if c.figures.contains(&f.figure) {
                            sys.disclosed.push(row);
                        } else {
                            sys.protected.push(row);
                        }
                    }
                }
            }
        }
        all
    }
}

/// Who knows more than one member's values (rule 13): a consultant knows
/// those of every member that granted it access, and two members may tell
/// each other theirs. The audit runs once per *view*: a map of member
/// indices (of [`Systems::members`]) to the caller that knows them, in
/// which each coalition of the view is one caller.
///
/// The cost is bounded: one view per consultant with two or more grants,
/// and the pairs of members that share a small released built-in group
/// (at most twice the threshold: where two known values leave too few
/// unknown ones) packed into at most [`MAX_PAIR_VIEWS`] views of disjoint
/// pairs (a greedy colouring of the pairs). Pairs beyond them, and pairs
/// that share only large groups, are left to the perturbation (rule 14),
/// which protects against any coalition.
#[derive(Default)]
pub(super) struct Coalitions {
    pub(super) views: Vec<HashMap<u32, u32>>,
    /// Candidate pairs left out by the bound.
    pub(super) dropped: usize,
}

/// The most views of member pairs audited per publication or custom group.
pub(super) const MAX_PAIR_VIEWS: usize = 6;

impl Coalitions {
    /// The coalitions of a publication's members: consultants' grants
    /// and pairs in small released built-in groups.
    pub(super) fn of(
        members: &HashMap<String, u32>,
        state: &PublishedState,
        grants: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        threshold: usize,
    ) -> Coalitions {
        let mut out = Coalitions::default();
        for granted in grants.values() {
            let mut idx: Vec<u32> = granted
                .iter()
                .filter_map(|m| members.get(m).copied())
                .collect();
            idx.sort_unstable();
            if let Some(&first) = idx.first()
                && idx.len() > 1
            {
                out.views.push(idx.iter().map(|&m| (m, first)).collect());
            }
        }
        // Members of each small built-in group (by dimension and group).
        let limit = 2 * threshold.max(1);
        let mut pairs: BTreeSet<(u32, u32)> = BTreeSet::new();
        for of in state.groups.values() {
            let mut by_group: HashMap<&str, Vec<u32>> = HashMap::new();
            for (i, g) in of.iter().enumerate() {
                if let (Some(g), Some(id)) = (g, state.member_ids.get(i))
                    && let Some(&m) = members.get(id)
                {
                    by_group.entry(g.as_str()).or_default().push(m);
                }
            }
            for group in by_group.values().filter(|g| g.len() <= limit) {
                for (k, a) in group.iter().enumerate() {
                    for b in &group[k + 1..] {
                        pairs.insert(((*a).min(*b), (*a).max(*b)));
                    }
                }
            }
        }
        // Greedy colouring: each pair into the first view in which neither
        // member is taken yet.
        let mut pair_views: Vec<(HashMap<u32, u32>, std::collections::HashSet<u32>)> = Vec::new();
        for (a, b) in pairs {
            let free = pair_views
                .iter()
                .position(|(_, used)| !used.contains(&a) && !used.contains(&b));
            let at = match free {
                Some(at) => at,
                None if pair_views.len() < MAX_PAIR_VIEWS => {
                    pair_views.push(Default::default());
                    pair_views.len() - 1
                }
                None => {
                    out.dropped += 1;
                    continue;
                }
            };
            let Some(view) = pair_views.get_mut(at) else {
                continue;
            };
            view.0.insert(a, a);
            view.0.insert(b, a);
            view.1.insert(a);
            view.1.insert(b);
        }
        out.views.extend(pair_views.into_iter().map(|(v, _)| v));
        out
    }

    /// The owner maps of the variables to audit with: each member alone
    /// first, then each view.
    pub(super) fn owners(&self, owner: &[u32]) -> Vec<Vec<u32>> {
        std::iter::once(owner.to_vec())
            .chain(self.views.iter().map(|view| {
                owner
                    .iter()
                    .map(|m| view.get(m).copied().unwrap_or(*m))
                    .collect()
            }))
            .collect()
    }
}

/// Secondary suppression under every view of who knows what: the first
/// view (each member alone) decides as before; the coalitions' views
/// withhold further candidates until a whole round over the views
/// withholds nothing. A finding from rows released before alone stops
/// with every candidate withheld for the first view (as before); for a
/// coalition it is logged, since withholding now cannot take back what
/// earlier publications gave it.
fn suppress_for_all(
    figure: &str,
    owners: &[Vec<u32>],
    sys: &System,
    candidates: &[Vec<Var>],
    candidate_protected: &[Vec<Var>],
) -> BTreeSet<usize> {
    let mut withheld: BTreeSet<usize> = BTreeSet::new();
    loop {
        let mut grew = false;
        for (k, owner) in owners.iter().enumerate() {
            let remaining: Vec<usize> = (0..candidates.len())
                .filter(|i| !withheld.contains(i))
                .collect();
            let rows: Vec<Vec<Var>> = remaining.iter().map(|&i| candidates[i].clone()).collect();
            let mut protected: Vec<Vec<Var>> = candidate_protected.to_vec();
            protected.extend(withheld.iter().map(|&i| candidates[i].clone()));
            match vergleichsring_audit::secondary_suppression(
                owner,
                &sys.disclosed,
                &sys.protected,
                &rows,
                &protected,
            ) {
                Ok(idx) => {
                    for i in idx {
                        if let Some(&c) = remaining.get(i) {
                            grew |= withheld.insert(c);
                        }
                    }
                }
                Err(finding) if k == 0 => {
                    tracing::warn!(
                        figure,
                        ?finding,
                        "the audit withholds every group of a key figure"
                    );
                    return (0..candidates.len()).collect();
                }
                Err(finding) => {
                    tracing::warn!(
                        figure,
                        ?finding,
                        "earlier publications already disclose a value to a coalition (rule 13); the perturbation protects it"
                    );
                }
            }
        }
        if !grew || owners.len() == 1 {
            return withheld;
        }
    }
}

/// The audit of a new publication (rule 11) with secondary suppression:
/// per key figure, the groups it would release are checked together with
/// everything the ledger disclosed before, for each member alone and for
/// the coalitions of rule 13 (`grants`: every consultant's); groups are
/// withheld, smallest first, until nothing is determined. Returns how
/// many were withheld.
pub(super) fn audit_publication(
    entries: &[Arc<LedgerEntry>],
    state: &mut PublishedState,
    grants: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    threshold: usize,
) -> usize {
    let mut suppressed = 0;
    let figures = std::mem::take(&mut state.figures);
    let mut out = Vec::with_capacity(figures.len());
    let mut all = Systems::of_ledger(entries);
    let ix = all.index(state);
    let coalitions = Coalitions::of(&all.members, state, grants, threshold);
    if coalitions.dropped > 0 {
        tracing::debug!(
            pairs = coalitions.dropped,
            "member pairs beyond the audit's bound are left to the perturbation"
        );
    }
    for mut f in figures {
        let rows = all.rows(&ix, &f);
        let sys = all.figures.entry(f.figure.clone()).or_default();
        let candidates: Vec<Vec<Var>> = rows.disclosed.iter().map(|(_, v)| v.clone()).collect();
        let candidate_protected: Vec<Vec<Var>> =
            rows.withheld.iter().map(|(_, v)| v.clone()).collect();
        let owners = coalitions.owners(&sys.owner);
        let withhold = suppress_for_all(&f.figure, &owners, sys, &candidates, &candidate_protected);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn system(vars: u32) -> System {
        System {
            vars: HashMap::new(),
            owner: (0..vars).collect(),
            disclosed: Vec::new(),
            protected: Vec::new(),
        }
    }

    #[test]
    fn a_coalition_of_two_is_audited_where_each_alone_learns_nothing() {
        // Members 0, 1, 2 own one value each; one group sums all three.
        // Each member alone learns only the sum of the other two; members
        // 0 and 1 together learn member 2's value.
        let sys = system(3);
        let candidates = vec![vec![0, 1, 2]];
        let alone = Coalitions::default();
        assert!(
            suppress_for_all("f", &alone.owners(&sys.owner), &sys, &candidates, &[]).is_empty()
        );
        let pair = Coalitions {
            views: vec![HashMap::from([(0, 0), (1, 0)])],
            dropped: 0,
        };
        let withheld = suppress_for_all("f", &pair.owners(&sys.owner), &sys, &candidates, &[]);
        assert_eq!(withheld, BTreeSet::from([0]));
    }

    #[test]
    fn a_consultant_with_grants_is_one_caller_and_pairs_are_bounded() {
        let members: HashMap<String, u32> = (0..40u32).map(|i| (format!("m{i:02}"), i)).collect();
        let grants = std::collections::BTreeMap::from([
            (
                "kpmg".to_string(),
                ["m03", "m07", "m11"].map(String::from).into(),
            ),
            ("solo".to_string(), ["m05"].map(String::from).into()),
        ]);
        // One small group of 6 (15 pairs) and one of 30 (too large to
        // count pairs in).
        let groups: Vec<Option<String>> = (0..40)
            .map(|i| Some(if i < 6 { "small" } else { "large" }.to_string()))
            .collect();
        let state = PublishedState {
            publication: vergleichsring_store::Publication {
                id: String::new(),
                domain: String::new(),
                year: 2024,
                data_version: String::new(),
                published_at: String::new(),
                published_by: String::new(),
                trigger: String::new(),
                changed_members: 0,
                suppressed_by_audit: 0,
                disclosure: serde_json::Value::Null,
            },
            members: Vec::new(),
            member_ids: (0..40).map(|i| format!("m{i:02}")).collect(),
            groups: std::collections::BTreeMap::from([("size_class".to_string(), groups)]),
            figures: Vec::new(),
        };
        let c = Coalitions::of(&members, &state, &grants, 5);
        // The consultant with three grants is one view; the one with a
        // single grant is a member's knowledge already.
        assert_eq!(c.views[0].len(), 3);
        assert!(c.views[0].values().all(|&v| v == 3));
        // 15 pairs of 6 members need 5 disjoint views (a 1-factorisation
        // of K6); greedy packing may need one more, never more than the
        // bound, and every pair is in one view or counted as dropped.
        let pair_views = &c.views[1..];
        assert!(pair_views.len() <= MAX_PAIR_VIEWS);
        let covered: usize = pair_views.iter().map(|v| v.len() / 2).sum();
        assert_eq!(covered + c.dropped, 15);
        // The owner maps: each member alone first.
        let owners = c.owners(&[3, 7, 11, 20]);
        assert_eq!(owners[0], vec![3, 7, 11, 20]);
        assert_eq!(owners[1], vec![3, 3, 3, 20]);
    }
}
