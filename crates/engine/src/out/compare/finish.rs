//! Finishing the groups of one comparison after their verdicts: the
//! requester's position, the noise flags, the anonymous distribution or
//! the named peers, and admin's view of the perturbed statistics.

use super::{Building, GroupResult, Own, Peer, PerturbedGroup};
use crate::disclose::dimension::{Dimension, GroupBy, group_of};
use crate::disclose::disclosure::{Audience, Reason, Visibility, round_3_significant, verdict};
use crate::disclose::grouping::CompareInput;
use crate::disclose::noise::quintile;
use crate::disclose::summary::{percentile_rank, rank};
use crate::out::compare::noisy::finish_perturbed;
use crate::read::snapshot::YearData;
use crate::read::year::GroupData;

/// The requester's group and value in a comparison.
pub(super) struct Position {
    /// Its group: only a registered member with a current row that the
    /// grouping places in a group has one.
    pub(super) group: Option<String>,
    /// Its true value.
    pub(super) value: Option<f64>,
    /// Its value as it stands among the released values: the perturbed
    /// one when the peers' are perturbed.
    pub(super) released: Option<f64>,
}

/// Where `own` stands in a comparison; `perturbed` is the released
/// (perturbed) year when the peers' values are perturbed.
pub(super) fn own_position(
    input: &CompareInput<'_>,
    year: i32,
    figure: usize,
    by: &GroupBy,
    own: Option<&str>,
    perturbed: Option<&YearData>,
) -> Position {
    let pop_idx = input
        .domain
        .basic_figures
        .iter()
        .position(|f| f.id == "population");
    let group: Option<String> = own.and_then(|m| {
        let member = input.members.get(m)?;
        // A structural type is found among the whole year's members.
        if *by == GroupBy::Dimension(Dimension::StructureType) {
            let data = perturbed.or_else(|| input.snapshot.year(year))?;
            let a = crate::disclose::grouping::assignment_of(input, data, Dimension::StructureType);
            let g = a.of_row.get(data.position(m)?).copied().flatten()?;
            return a.groups.get(g as usize).map(|(id, _)| id.clone());
        }
        let row = input.snapshot.current_row(year, m)?;
        let population = pop_idx.and_then(|i| row.basic.get(i));
        group_of(input.catalog, by, member, population).map(|(gid, _)| gid)
    });
    let value: Option<f64> = group.as_ref().and_then(|_| {
        own.and_then(|m| input.snapshot.key_of(year, m))
            .and_then(|k| k.values.get(figure))
    });
    let released = match perturbed {
        Some(released) => group.as_ref().and_then(|_| {
            own.and_then(|m| released.key_of(m))
                .and_then(|k| k.values.get(figure))
        }),
        None => value,
    };
    Position {
        group,
        value,
        released,
    }
}

/// What every group of one comparison is finished with, after the
/// verdicts: the noise flags, the own position, the distribution or the
/// named peers, and admin's view of the perturbed statistics.
pub(super) struct Finishing<'a> {
    pub(super) input: &'a CompareInput<'a>,
    pub(super) data: &'a YearData,
    pub(super) figure: usize,
    pub(super) by: &'a GroupBy,
    pub(super) audience: Audience,
    /// Whether the statistics come from the perturbed twin.
    pub(super) perturb: bool,
    /// Whether the key figure is released as a group mean only (rule 15).
    pub(super) mean_only: bool,
    /// The variance of the figure's noise.
    pub(super) sigma2: f64,
    pub(super) own: Option<&'a str>,
    pub(super) position: Position,
    /// The requester's released value where it counts (a member's own
    /// group).
    pub(super) known: Option<f64>,
    /// Admin only: the groups of the perturbed twin.
    pub(super) shadow: Option<std::sync::Arc<Vec<GroupData>>>,
}

impl Finishing<'_> {
    /// The movement the noise is expected to give a group's mean and
    /// weighted ratio, from its released (perturbed) values only.
    fn expected(&self, g: &crate::disclose::disclosure::GroupValues) -> (f64, f64) {
        self.input.noise.map_or((0.0, 0.0), |n| {
            n.expected_movement(self.input.domain, self.figure, &g.values, &g.nums, &g.dens)
        })
    }

    /// One group of the answer.
    pub(super) fn finish(&self, b: Building<'_>) -> GroupResult {
        let mut r = b.verdict;
        // Rule 15: a key figure whose values sit on a grid, at a bound
        // or at zero goes out as a group mean only.
        let mean_only_here = self.mean_only && self.perturb;
        let disclosed = r.stats.is_some();
        let peers = r.n - usize::from(b.holds_own && self.known.is_some());
        let noise = match (&mut r.stats, self.perturb) {
            (Some(stats), true) => Some(finish_perturbed(
                stats,
                &mut r.withheld,
                self.expected(&b.g.values),
                self.sigma2,
                peers,
                mean_only_here,
            )),
            _ => None,
        };
        let own = self.own(b.g, b.holds_own, disclosed, disclosed && !mean_only_here);
        let distribution = self.distribution(b.g, disclosed && !mean_only_here);
        GroupResult {
            group: b.g.id.clone(),
            label: b.g.label.clone(),
            n: r.n,
            suppressed: r.stats.is_none(),
            reason: r.reason.map(Reason::code),
            message: r.reason.map(Reason::message_en),
            message_de: r.reason.map(Reason::message_de),
            stats: r.stats,
            withheld: r.withheld,
            own,
            distribution,
            peers: self.named_peers(b.g),
            noise,
            perturbed: self.shadow_group(b.g),
        }
    }

    /// The requester's position in its own group: the quintile among
    /// perturbed peers (rule 17, built-in groups only) or the exact rank.
    fn own(&self, g: &GroupData, holds_own: bool, disclosed: bool, position: bool) -> Option<Own> {
        let member_id = self.own.filter(|_| holds_own)?.to_string();
        let direction = self.input.domain.key_figures[self.figure].direction;
        let value = self.position.value;
        Some(if self.perturb {
            Own {
                member_id,
                value,
                rank: None,
                percentile_rank: None,
                coarse: true,
                quintile: self
                    .position
                    .released
                    .filter(|_| position && matches!(self.by, GroupBy::Dimension(_)))
                    .and_then(|v| {
                        quintile(rank(&g.values.values, v, direction), g.values.values.len())
                    }),
            }
        } else {
            Own {
                member_id,
                value,
                rank: value
                    .filter(|_| disclosed)
                    .map(|v| rank(&g.values.values, v, direction)),
                percentile_rank: value
                    .filter(|_| disclosed)
                    .and_then(|v| percentile_rank(&g.values.values, v)),
                quintile: None,
                coarse: false,
            }
        })
    }

    /// Admin only: the group as non-admin callers see it, from the
    /// perturbed figures.
    fn shadow_group(&self, g: &GroupData) -> Option<PerturbedGroup> {
        let pg = self.shadow.as_ref()?.iter().find(|p| p.id == g.id)?;
        let mut v = verdict(self.input.policy, Audience::Analyst, &pg.values, None);
        let noise = v.stats.as_mut().map(|stats| {
            finish_perturbed(
                stats,
                &mut v.withheld,
                self.expected(&pg.values),
                self.sigma2,
                v.n,
                self.mean_only,
            )
        });
        Some(PerturbedGroup {
            suppressed: v.stats.is_none(),
            reason: v.reason.map(Reason::code),
            stats: v.stats,
            withheld: v.withheld,
            noise,
        })
    }

    /// Rule 8: the anonymous distribution only for built-in groups (two
    /// custom groups' distributions differing by one member would show
    /// that member's value), never for consultants; `shown` when the
    /// group's statistics go out in full.
    fn distribution(&self, g: &GroupData, shown: bool) -> Option<Vec<f64>> {
        let sees_values = matches!(
            self.audience,
            Audience::Member | Audience::Analyst | Audience::Admin
        );
        (shown
            && sees_values
            && matches!(self.by, GroupBy::Dimension(_))
            && self.input.policy.visibility == Visibility::Pseudonymous)
            .then(|| {
                let mut v: Vec<f64> = g
                    .values
                    .values
                    .iter()
                    .map(|x| round_3_significant(*x))
                    .collect();
                v.sort_by(f64::total_cmp);
                v
            })
    }

    /// Rule 8: names with values only for members among themselves (and
    /// admin), never for analysts or consultants.
    fn named_peers(&self, g: &GroupData) -> Option<Vec<Peer>> {
        (matches!(self.audience, Audience::Member | Audience::Admin)
            && self.input.policy.visibility == Visibility::Named)
            .then(|| {
                let column = self.data.key_columns().figure(self.figure);
                let mut p: Vec<Peer> = g
                    .assignment
                    .of_row
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| **a == Some(g.index))
                    .filter_map(|(i, _)| Some((g.ids.get(i)?, column.value(i)?)))
                    .map(|(id, v)| Peer {
                        member_id: id.clone(),
                        name: self
                            .input
                            .members
                            .get(id)
                            .map(|m| m.name.clone())
                            .unwrap_or_default(),
                        value: v,
                    })
                    .collect();
                p.sort_by(|a, b| b.value.total_cmp(&a.value));
                p
            })
    }
}
