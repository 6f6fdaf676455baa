//! "Why is X my neighbour": a member's structural neighbours in a (domain,
//! year) with each one's distance and the share each variable contributes
//! to it, or, where members do not see each other by name, the neighbour
//! group's structural profile; and every member's neighbours at once for
//! analysts and admin. Read from the same state as the comparisons: the
//! latest publication for everyone but admin.

use std::collections::BTreeSet;

use serde::Serialize;
use vergleichsring_catalog::register::ATTRIBUTION;

use crate::base::{Core, check_year};
use crate::disclose::disclosure::{Audience, Visibility};
use crate::disclose::neighbours::Structures;
use crate::error::{EngineError, Result};
use crate::out::compare::PublicationRef;
use crate::read::records::Records;

/// One neighbour, named.
#[derive(Debug, Clone, Serialize)]
pub struct Neighbour {
    /// Its regional key.
    pub member_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Distance over the standardised, weighted variables.
    pub distance: f64,
    /// Per variable (in `variables` order) its share of the squared
    /// distance; the shares add up to 1 (all 0 for an identical member).
    pub shares: Vec<f64>,
    /// Per variable its value (population and density as inhabitants and
    /// inhabitants per km², not as logarithms).
    pub values: Vec<f64>,
}

/// One variable across a neighbour group: its range and the member's own
/// value.
#[derive(Debug, Clone, Serialize)]
pub struct VariableRange {
    /// The variable.
    pub variable: String,
    /// Its weight.
    pub weight: f64,
    /// The member's own value.
    pub own: f64,
    /// The lowest among the neighbours, rounded down to two significant
    /// digits (an exact end would name a neighbour by its public figure).
    pub min: f64,
    /// The highest among the neighbours, rounded up to two significant
    /// digits.
    pub max: f64,
    /// Its mean share of the squared distances to the neighbours: how much
    /// the neighbours differ from the member in it (in tenths where names
    /// are not shown).
    pub mean_share: f64,
}

/// A neighbour group described without names.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Neighbours (without the member).
    pub n: usize,
    /// The largest distance among them (null where names are not shown:
    /// it would name the farthest neighbour).
    pub max_distance: f64,
    /// Each variable's range.
    pub variables: Vec<VariableRange>,
    /// The Länder represented (two-digit codes).
    pub laender: Vec<String>,
    /// The kinds represented.
    pub kinds: Vec<String>,
}

/// A member's structural neighbours in a (domain, year).
#[derive(Debug, Clone, Serialize)]
pub struct Neighbours {
    /// Domain id.
    pub domain: String,
    /// Year.
    pub year: i32,
    /// The member whose neighbours these are.
    pub member_id: String,
    /// The group id of its neighbour group in comparisons.
    pub group: String,
    /// Whether a released group stands in for the member's own nearest
    /// (rule 6 forbids releasing two groups that differ by a few
    /// members): the neighbours listed are that group's.
    pub stand_in: bool,
    /// Which group stands in: a built-in `dimension:group`, or the member
    /// whose neighbour group it is (that only where names are shown).
    pub shared_with: Option<String>,
    /// How many neighbours each member has.
    pub k: usize,
    /// The variables, in order.
    pub variables: Vec<String>,
    /// The publication read (none for admin's live state).
    pub publication: Option<PublicationRef>,
    /// The group's structural profile, for everyone.
    pub profile: Profile,
    /// The neighbours by name, nearest first: for admin, analysts, and
    /// members and consultants of a ring in `named` mode; otherwise null.
    pub neighbours: Option<Vec<Neighbour>>,
    /// The year of the municipality register the structure comes from.
    pub register_year: i32,
    /// The register's licence requires this attribution.
    pub attribution: &'static str,
}

/// One row of every member's neighbours.
#[derive(Debug, Clone, Serialize)]
pub struct NeighbourPair {
    /// The member.
    pub member_id: String,
    /// 1 for its nearest neighbour.
    pub rank: usize,
    /// The neighbour.
    pub neighbour_id: String,
    /// Their distance.
    pub distance: f64,
}

/// A variable's value as people read it: logarithms back to inhabitants.
fn readable(variable: &str, v: f64) -> f64 {
    if variable.starts_with("log_") {
        // To hundredths: exp(ln x) is x only to rounding.
        (v.exp() * 100.0).round() / 100.0
    } else {
        v
    }
}

/// The neighbour answers of a core.
pub(crate) struct NeighbourAnswers<'e> {
    core: &'e Core,
}

impl<'e> NeighbourAnswers<'e> {
    pub(crate) fn new(core: &'e Core) -> Self {
        NeighbourAnswers { core }
    }

    /// Member `of`'s neighbours in a (domain, year), as `audience` may see
    /// them. A member (or a consultant for it) sees a year only once it
    /// has submitted for it (give to get).
    pub(crate) async fn of(
        &self,
        domain: &str,
        year: i32,
        of: &str,
        audience: Audience,
    ) -> Result<Neighbours> {
        check_year(year)?;
        let d = self.core.domain(domain)?;
        if !self.core.store.members_map().contains_key(of) {
            return Err(EngineError::NotFound(format!(
                "member {of} is not registered"
            )));
        }
        if matches!(audience, Audience::Member | Audience::Consultant)
            && !Records::new(self.core, d).has_submitted(year, of).await?
        {
            return Err(EngineError::GiveToGet {
                member_id: of.to_string(),
                domain: domain.to_string(),
                year,
            });
        }
        let publishing = self.core.publishing();
        let view = publishing
            .view(d, year, audience, None)
            .await?
            .ok_or_else(|| EngineError::NotPublished {
                domain: d.id.clone(),
                year,
            })?;
        let (group, shared_with) = publishing.neighbour_group(d, &view, year, of)?;
        let s = publishing.structures(d, &view, year);
        let at = s.find(of).ok_or_else(|| {
            EngineError::Internal(format!("neighbour {of} lost between two lookups"))
        })?;
        // The members of the group the comparisons use (its own nearest,
        // or the released group standing in for them), nearest first.
        let mut near: Vec<(usize, f64)> = group
            .member_ids
            .iter()
            .filter(|m| m.as_str() != of)
            .filter_map(|m| s.find(m))
            .filter_map(|i| {
                let me = s.candidates.get(at)?;
                let c = s.candidates.get(i)?;
                Some((
                    i,
                    crate::disclose::neighbours::squared(&me.scaled, &c.scaled),
                ))
            })
            .collect();
        near.sort_by(crate::disclose::neighbours::by_distance);
        let named = match audience {
            Audience::Admin | Audience::Analyst => true,
            Audience::Member | Audience::Consultant => view.policy.visibility == Visibility::Named,
        };
        let rows = named_rows(&s, at, &near, &view.members);
        Ok(Neighbours {
            domain: d.id.clone(),
            year,
            member_id: of.to_string(),
            group: group.id,
            stand_in: shared_with.is_some(),
            // Another member's group names that member: only to those who
            // see names; a built-in group (`dimension:group`) names none.
            shared_with: shared_with.filter(|s| named || s.contains(':')),
            k: self.core.neighbours.k,
            variables: s.variables.clone(),
            publication: view.reference(),
            profile: profile(&s, at, &rows, named),
            neighbours: named.then_some(rows),
            register_year: self.core.catalog().register.year,
            attribution: ATTRIBUTION,
        })
    }

    /// Every member's neighbours in a (domain, year), for analysts and
    /// admin: one row per (member, neighbour), nearest first.
    pub(crate) async fn all(
        &self,
        domain: &str,
        year: i32,
        audience: Audience,
    ) -> Result<Vec<NeighbourPair>> {
        check_year(year)?;
        let d = self.core.domain(domain)?;
        let publishing = self.core.publishing();
        let view = publishing
            .view(d, year, audience, None)
            .await?
            .ok_or_else(|| EngineError::NotPublished {
                domain: d.id.clone(),
                year,
            })?;
        let s = publishing.structures(d, &view, year);
        let all = s.all_nearest(self.core.neighbours.k);
        Ok(all
            .into_iter()
            .enumerate()
            .flat_map(|(i, near)| {
                let s = &s;
                near.into_iter()
                    .enumerate()
                    .filter_map(move |(r, (j, d2))| {
                        Some(NeighbourPair {
                            member_id: s.candidates.get(i)?.member_id.clone(),
                            rank: r + 1,
                            neighbour_id: s.candidates.get(j)?.member_id.clone(),
                            distance: d2.sqrt(),
                        })
                    })
            })
            .collect())
    }
}

/// The neighbours `near` of candidate `at`, named from `members`.
fn named_rows(
    s: &Structures,
    at: usize,
    near: &[(usize, f64)],
    members: &std::collections::BTreeMap<String, vergleichsring_store::Member>,
) -> Vec<Neighbour> {
    near.iter()
        .filter_map(|&(i, d2)| {
            let c = s.candidates.get(i)?;
            let m = members.get(&c.member_id)?;
            Some(Neighbour {
                member_id: c.member_id.clone(),
                name: m.name.clone(),
                kind: m.kind.as_str().to_string(),
                distance: d2.sqrt(),
                shares: s.shares(at, i),
                values: s
                    .variables
                    .iter()
                    .zip(&c.raw)
                    .map(|(v, x)| readable(v, *x))
                    .collect(),
            })
        })
        .collect()
}

/// `x` to two significant digits, rounded by `round` (floor or ceil).
fn two_digits(x: f64, round: fn(f64) -> f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let unit = 10f64.powi(x.abs().log10().floor() as i32 - 1);
    round(x / unit) * unit
}

/// The structural profile of candidate `at`'s neighbours `rows`. Where
/// the caller sees no names, nothing in it is a single neighbour's exact
/// figure: the largest distance (computable from public structure for
/// every member) is left out and the mean shares are rounded to tenths.
fn profile(s: &Structures, at: usize, rows: &[Neighbour], named: bool) -> Profile {
    let own = s.candidates.get(at);
    let variables = s
        .variables
        .iter()
        .enumerate()
        .map(|(v, name)| {
            let values = rows.iter().filter_map(|r| r.values.get(v).copied());
            let min = values.clone().fold(f64::INFINITY, f64::min);
            let max = values.fold(f64::NEG_INFINITY, f64::max);
            let mean_share =
                rows.iter().filter_map(|r| r.shares.get(v)).sum::<f64>() / rows.len().max(1) as f64;
            let mean_share = if named {
                mean_share
            } else {
                (mean_share * 10.0).round() / 10.0
            };
            VariableRange {
                variable: name.clone(),
                weight: s.weights.get(v).copied().unwrap_or(1.0),
                own: own
                    .and_then(|c| c.raw.get(v))
                    .map_or(f64::NAN, |x| readable(name, *x)),
                min: if rows.is_empty() {
                    f64::NAN
                } else {
                    two_digits(min, f64::floor)
                },
                max: if rows.is_empty() {
                    f64::NAN
                } else {
                    two_digits(max, f64::ceil)
                },
                mean_share,
            }
        })
        .collect();
    let laender: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.member_id.get(0..2).map(str::to_string))
        .collect();
    let kinds: BTreeSet<String> = rows.iter().map(|r| r.kind.clone()).collect();
    Profile {
        n: rows.len(),
        max_distance: if named {
            rows.iter().map(|r| r.distance).fold(0.0, f64::max)
        } else {
            f64::NAN
        },
        variables,
        laender: laender.into_iter().collect(),
        kinds: kinds.into_iter().collect(),
    }
}
