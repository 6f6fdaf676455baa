//! Structural neighbours (the CIPFA and ONS nearest-neighbour method): each
//! member's `k` most similar members of a (domain, year) by Euclidean
//! distance over standardised structural variables, Landkreise among
//! Landkreise. The structure comes from the official municipality
//! register (`vergleichsring_catalog::register`) or, for a member the
//! register does not hold, from what admin gave it; the population is the
//! one the member reported for the year (public, never perturbed). Basic
//! figures of the domain that the ring names as variables enter with their
//! perturbed values (rule 14), so that who is whose neighbour tells no
//! more about them than any statistic does. The method and its sources:
//! `docs/neighbours.md`.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use vergleichsring_catalog::register::Register;
use vergleichsring_catalog::{Domain, MemberKind};
use vergleichsring_store::Member;

use crate::read::year::YearData;

/// The ring's settings for structural neighbours (`[neighbours]` of the
/// configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeighbourSettings {
    /// How many neighbours each member has (without itself), 5 to 50.
    pub k: usize,
    /// The variables and their weights.
    pub variables: Vec<Variable>,
    /// How many structural types the municipalities are clustered into
    /// (fewer where a type would fall below the threshold).
    pub types: usize,
    /// How many structural types the Landkreise are clustered into.
    pub county_types: usize,
}

/// One variable of the distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// `log_population`, `log_density`, `log_area`, `degurba`, or a basic
    /// figure of the domain (domains without it leave it out).
    pub name: String,
    /// For a basic figure: `none` (as reported), `log` (natural logarithm
    /// of 1 + value) or `per_1000` (per 1,000 inhabitants).
    #[serde(default)]
    pub transform: Transform,
    /// Its weight in the squared distance (more than 0).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// How a basic figure enters the distance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// As reported.
    #[default]
    None,
    /// ln(1 + value).
    Log,
    /// Per 1,000 inhabitants.
    #[serde(rename = "per_1000")]
    Per1000,
}

/// The structural variables every member has.
pub const STRUCTURAL: [&str; 4] = ["log_population", "log_density", "log_area", "degurba"];

impl Default for NeighbourSettings {
    fn default() -> Self {
        NeighbourSettings {
            k: 15,
            variables: ["log_population", "log_density", "degurba"]
                .into_iter()
                .map(|name| Variable {
                    name: name.to_string(),
                    transform: Transform::None,
                    weight: 1.0,
                })
                .collect(),
            types: 6,
            county_types: 3,
        }
    }
}

impl NeighbourSettings {
    /// The default settings, shared (for computations outside a ring:
    /// benchmarks, the offline comparison).
    pub fn shared_default() -> &'static NeighbourSettings {
        static DEFAULT: std::sync::OnceLock<NeighbourSettings> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(NeighbourSettings::default)
    }

    /// Why these settings cannot be used, if so.
    pub fn problem(&self) -> Option<String> {
        if !(5..=50).contains(&self.k) {
            return Some(format!("neighbours.k = {} must lie in 5 to 50", self.k));
        }
        if self.variables.is_empty() || self.variables.len() > 12 {
            return Some("neighbours.variables must name 1 to 12 variables".into());
        }
        for v in &self.variables {
            if !(v.weight.is_finite() && v.weight > 0.0 && v.weight <= 100.0) {
                return Some(format!(
                    "neighbours variable {}: weight {} must be more than 0 and at most 100",
                    v.name, v.weight
                ));
            }
            if STRUCTURAL.contains(&v.name.as_str()) && v.transform != Transform::None {
                return Some(format!(
                    "neighbours variable {}: a structural variable takes no transform",
                    v.name
                ));
            }
        }
        if !(1..=12).contains(&self.types) || !(1..=12).contains(&self.county_types) {
            return Some("neighbours.types and county_types must lie in 1 to 12".into());
        }
        None
    }

    /// The variables that apply in a domain: the structural ones and the
    /// basic figures it has, with the basic figure's index.
    pub(crate) fn in_domain(&self, domain: &Domain) -> Vec<(Variable, Option<usize>)> {
        self.variables
            .iter()
            .filter_map(|v| {
                if STRUCTURAL.contains(&v.name.as_str()) {
                    return Some((v.clone(), None));
                }
                let i = domain.basic_figures.iter().position(|f| f.id == v.name)?;
                Some((v.clone(), Some(i)))
            })
            .collect()
    }
}

/// Which members are compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Kreisfreie Städte and kreisangehörige Gemeinden.
    Municipality,
    /// Landkreise.
    Landkreis,
}

impl Class {
    /// The class of a kind.
    pub fn of(kind: MemberKind) -> Class {
        match kind {
            MemberKind::Landkreis => Class::Landkreis,
            _ => Class::Municipality,
        }
    }
}

/// A member's structure as the neighbours use it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberStructure {
    /// Area in km².
    pub area_km2: f64,
    /// Degree of urbanisation, 1 (dense) to 3 (thin).
    pub degurba: f64,
    /// Where it comes from: `register` or `admin`.
    pub source: &'static str,
}

/// A member's structure: admin's where given, else the register's.
pub fn structure_of(register: &Register, member: &Member) -> Option<MemberStructure> {
    if let Some(g) = member.structure {
        return Some(MemberStructure {
            area_km2: g.area_km2,
            degurba: g.degurba,
            source: "admin",
        });
    }
    // A Landkreis is looked up as a Kreis, anything else by its AGS.
    let s = register.structure(&member.member_id)?;
    Some(MemberStructure {
        area_km2: s.area_km2,
        degurba: s.degurba,
        source: "register",
    })
}

/// One member that can be a neighbour in a (domain, year).
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) member_id: String,
    pub(crate) class: Class,
    /// The variables' values (after transform), in settings order.
    pub(crate) raw: Vec<f64>,
    /// The same, standardised within the class and weighted by the
    /// square root of the weight: the squared distance is the sum of
    /// squared differences.
    pub(crate) scaled: Vec<f64>,
}

/// Why a member has no neighbours in a (domain, year).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Neither the register nor admin gives it a structure.
    NoStructure,
    /// It reported no figures for the year, or none a variable needs.
    NoFigures,
}

/// Every candidate of a (domain, year), per class standardised: built
/// once per year data and member list, and shared.
#[derive(Debug, Default)]
pub(crate) struct Structures {
    /// The variables' names, in order.
    pub(crate) variables: Vec<String>,
    /// The weights, in order.
    pub(crate) weights: Vec<f64>,
    /// Candidates in member id order.
    pub(crate) candidates: Vec<Candidate>,
    /// Members of the year left out, and why.
    pub(crate) missing: Vec<(String, Missing)>,
}

impl Structures {
    /// The candidates of a year: every current row of a registered member
    /// with a structure and every variable. Basic figures named as
    /// variables are multiplied by the member's `noise` multiplier where
    /// the ring perturbs (rule 14).
    pub(crate) fn build(
        settings: &NeighbourSettings,
        domain: &Domain,
        register: &Register,
        members: &std::collections::BTreeMap<String, Member>,
        data: &YearData,
        noise: Option<&crate::disclose::noise::Noise>,
    ) -> Structures {
        let vars = settings.in_domain(domain);
        let pop_idx = domain
            .basic_figures
            .iter()
            .position(|f| f.id == "population");
        let mut out = Structures {
            variables: vars.iter().map(|(v, _)| v.name.clone()).collect(),
            weights: vars.iter().map(|(v, _)| v.weight).collect(),
            ..Structures::default()
        };
        for (member_id, row) in data.current_rows() {
            let Some(member) = members.get(member_id) else {
                continue;
            };
            let Some(s) = structure_of(register, member) else {
                out.missing
                    .push((member_id.to_string(), Missing::NoStructure));
                continue;
            };
            let population = pop_idx.and_then(|i| row.basic.get(i));
            let raw: Option<Vec<f64>> = vars
                .iter()
                .map(|(v, fig)| {
                    let figure = fig.and_then(|i| {
                        let m = noise.map_or(1.0, |n| n.multiplier(domain, i, member_id));
                        row.basic.get(i).map(|x| x * m)
                    });
                    value(v, figure, population, &s)
                })
                .collect();
            match raw.filter(|r| r.iter().all(|x| x.is_finite())) {
                Some(raw) => out.candidates.push(Candidate {
                    member_id: member_id.to_string(),
                    class: Class::of(member.kind),
                    scaled: raw.clone(),
                    raw,
                }),
                None => out
                    .missing
                    .push((member_id.to_string(), Missing::NoFigures)),
            }
        }
        out.standardise();
        out
    }

    /// Standardises each variable within each class (mean 0, population
    /// standard deviation 1; a variable without spread counts 0) and
    /// weights it.
    fn standardise(&mut self) {
        for class in [Class::Municipality, Class::Landkreis] {
            let idx: Vec<usize> = (0..self.candidates.len())
                .filter(|&i| self.candidates[i].class == class)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let n = idx.len() as f64;
            for (v, w) in self.weights.iter().enumerate() {
                let mean = idx.iter().map(|&i| self.candidates[i].raw[v]).sum::<f64>() / n;
                let var = idx
                    .iter()
                    .map(|&i| (self.candidates[i].raw[v] - mean).powi(2))
                    .sum::<f64>()
                    / n;
                let sd = var.sqrt();
                for &i in &idx {
                    let c = &mut self.candidates[i];
                    c.scaled[v] = if sd > 0.0 {
                        (c.raw[v] - mean) / sd * w.sqrt()
                    } else {
                        0.0
                    };
                }
            }
        }
    }

    /// A candidate by member id.
    pub(crate) fn find(&self, member_id: &str) -> Option<usize> {
        self.candidates
            .binary_search_by(|c| c.member_id.as_str().cmp(member_id))
            .ok()
    }

    /// Why a member of the year is no candidate, if it is one of them.
    pub(crate) fn why_missing(&self, member_id: &str) -> Option<Missing> {
        self.missing
            .iter()
            .find(|(m, _)| m == member_id)
            .map(|(_, w)| *w)
    }

    /// The `k` nearest candidates of candidate `of` in its class, nearest
    /// first, with their squared distances: ties in distance go to the
    /// lower member id.
    pub(crate) fn nearest(&self, of: usize, k: usize) -> Vec<(usize, f64)> {
        let Some(me) = self.candidates.get(of) else {
            return Vec::new();
        };
        let mut all: Vec<(usize, f64)> = self
            .candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != of && c.class == me.class)
            .map(|(i, c)| (i, squared(&me.scaled, &c.scaled)))
            .collect();
        // Candidates are in id order: comparing indices compares ids.
        if all.len() > k {
            all.select_nth_unstable_by(k, by_distance);
            all.truncate(k);
        }
        all.sort_unstable_by(by_distance);
        all
    }

    /// Each variable's share of the squared distance between two
    /// candidates (all 0 for two identical members).
    pub(crate) fn shares(&self, a: usize, b: usize) -> Vec<f64> {
        let (Some(x), Some(y)) = (self.candidates.get(a), self.candidates.get(b)) else {
            return Vec::new();
        };
        let parts: Vec<f64> = x
            .scaled
            .iter()
            .zip(&y.scaled)
            .map(|(p, q)| (p - q).powi(2))
            .collect();
        let total: f64 = parts.iter().sum();
        parts
            .into_iter()
            .map(|p| if total > 0.0 { p / total } else { 0.0 })
            .collect()
    }

    /// The neighbours of every candidate, computed on all cores: the same
    /// answer as [`Structures::nearest`] for each, over the scaled
    /// values laid out flat per class, with one buffer per thread.
    pub(crate) fn all_nearest(&self, k: usize) -> Vec<Vec<(usize, f64)>> {
        let n = self.candidates.len();
        let dims = self.weights.len();
        // Per class its members (in id order) and their values, flat.
        let mut classes: Vec<(Class, Vec<usize>, Vec<f64>)> = Vec::new();
        for class in [Class::Municipality, Class::Landkreis] {
            let idx: Vec<usize> = (0..n)
                .filter(|&i| self.candidates[i].class == class)
                .collect();
            let flat: Vec<f64> = idx
                .iter()
                .flat_map(|&i| self.candidates[i].scaled.iter().copied())
                .collect();
            classes.push((class, idx, flat));
        }
        let threads = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = n.div_ceil(threads).max(1);
        let classes = &classes;
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .step_by(chunk)
                .map(|start| {
                    s.spawn(move || {
                        let mut buf: Vec<(usize, f64)> = Vec::new();
                        (start..(start + chunk).min(n))
                            .map(|i| {
                                let me = &self.candidates[i];
                                let Some((_, idx, flat)) =
                                    classes.iter().find(|(c, _, _)| *c == me.class)
                                else {
                                    return Vec::new();
                                };
                                buf.clear();
                                for (pos, &j) in idx.iter().enumerate() {
                                    if j == i {
                                        continue;
                                    }
                                    let other = &flat[pos * dims..(pos + 1) * dims];
                                    buf.push((j, squared(&me.scaled, other)));
                                }
                                if buf.len() > k {
                                    buf.select_nth_unstable_by(k, by_distance);
                                    buf.truncate(k);
                                }
                                buf.sort_unstable_by(by_distance);
                                buf.clone()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// What the cache holds, estimated.
    pub(crate) fn bytes(&self) -> usize {
        self.candidates
            .iter()
            .map(|c| 96 + c.member_id.len() + 16 * c.raw.len())
            .sum::<usize>()
            + self.missing.len() * 48
    }
}

/// The squared Euclidean distance.
pub(crate) fn squared(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum()
}

/// One variable's value for a member, `None` where it cannot be had;
/// `figure` is the (perturbed) value of a basic figure it names.
fn value(
    v: &Variable,
    figure: Option<f64>,
    population: Option<f64>,
    s: &MemberStructure,
) -> Option<f64> {
    // The reported population; a member must have inhabitants.
    let pop = population.filter(|p| *p >= 1.0);
    match v.name.as_str() {
        "log_population" => pop.map(f64::ln),
        "log_density" => pop.map(|p| (p / s.area_km2).ln()),
        "log_area" => Some(s.area_km2.ln()),
        "degurba" => Some(s.degurba),
        _ => {
            let x = figure?;
            match v.transform {
                Transform::None => Some(x),
                Transform::Log => Some((1.0 + x.max(0.0)).ln()),
                Transform::Per1000 => pop.map(|p| x / p * 1000.0),
            }
        }
    }
}

/// Orders candidates' (index, squared distance) pairs: nearer first, ties
/// to the lower index (candidates are in member id order).
pub(crate) fn by_distance(a: &(usize, f64), b: &(usize, f64)) -> Ordering {
    a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Candidates on a small grid, with ties, in two classes.
    fn grid() -> Structures {
        let mut s = Structures {
            variables: vec!["a".into(), "b".into()],
            weights: vec![1.0, 2.0],
            ..Structures::default()
        };
        for i in 0..60u32 {
            let raw = vec![f64::from(i % 7), f64::from(i % 5)];
            s.candidates.push(Candidate {
                member_id: format!("{i:08}"),
                class: if i % 4 == 0 {
                    Class::Landkreis
                } else {
                    Class::Municipality
                },
                scaled: raw.clone(),
                raw,
            });
        }
        s.standardise();
        s
    }

    #[test]
    fn all_at_once_is_each_one_alone() {
        let s = grid();
        let all = s.all_nearest(5);
        assert_eq!(all.len(), 60);
        for (i, near) in all.iter().enumerate() {
            assert_eq!(near, &s.nearest(i, 5), "candidate {i}");
            for (j, _) in near {
                assert_eq!(s.candidates[*j].class, s.candidates[i].class);
            }
        }
    }

    #[test]
    fn ties_go_to_the_lower_id_and_shares_add_up() {
        let s = grid();
        let near = s.nearest(1, 5);
        for w in near.windows(2) {
            assert!(w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0));
        }
        let shares: f64 = s.shares(1, near[4].0).iter().sum();
        assert!((shares - 1.0).abs() < 1e-12 || shares == 0.0);
    }

    #[test]
    fn settings_are_checked() {
        assert!(NeighbourSettings::default().problem().is_none());
        let bad = NeighbourSettings {
            k: 2,
            ..NeighbourSettings::default()
        };
        assert!(bad.problem().is_some());
        let mut bad = NeighbourSettings::default();
        bad.variables[0].weight = f64::NAN;
        assert!(bad.problem().is_some());
        let mut bad = NeighbourSettings::default();
        bad.variables[0].transform = Transform::Log;
        assert!(bad.problem().is_some());
    }
}
