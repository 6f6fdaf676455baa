//! Rule 13's attacker against the noise of rules 14–17, over random rings
//! (property test; each case starts a real server).
//!
//! Per ring: members of all three kinds in three Länder (populations
//! public), figures of the `library` and `music_school` domains uploaded
//! and published, then a correction round (three members correct only
//! their population, three their figures) published again. The ring runs
//! in visibility `pseudonymous`, which releases what `aggregate_only`
//! releases plus the anonymous distributions; every attack runs twice,
//! once ignoring the distributions (what an `aggregate_only` ring gives)
//! and once using them. A ring, its noise secret included, follows from
//! its seed (`ATTACKER_SEED=S` repeats one; `ATTACKER_DEBUG=1` says more).
//!
//! The attackers of rule 13, each with every answer a non-admin role can
//! obtain (analyst comparisons of every key figure and dimension, custom
//! groups, both publications by `as_of`, the members' and the
//! consultant's comparisons, time series, JSON reports and the analysts'
//! SQL table; answers of other roles that differ from the analyst's are
//! kept as answers of their own) and the public facts (member list with
//! kinds and Länder, populations, and the figures two members publish
//! elsewhere):
//!
//! - `coalition`: two members of one Land who pool their true figures;
//! - `consultant`: one consultant with three grants.
//!
//! Both are also assumed to know their own perturbed figures (rule 13);
//! the test computes those from the ring's secret, as an oracle for what
//! the attackers are granted, never for the targets.
//!
//! What they compute, per (domain, key figure):
//!
//! 1. the perturbed value of single members: linear algebra over the
//!    released sums (n × mean) and, for key figures over a public
//!    denominator, the weighted ratio (Σ num / Σ den, a second row with
//!    the populations as weights), across both publications (a member
//!    whose figures did not change keeps its variable; one that corrected
//!    only its population keeps it with a known factor); then, group by
//!    group, every ordering of the unknown members among the known ones,
//!    with the type-7 quantiles as linear equations, Σv² from the standard
//!    deviation (corrected for the noise variance σ², which the attacker
//!    recovers from a partition of a released group), and the
//!    distribution, keeping what every consistent solution agrees on;
//!    quantiles that appear as order statistics in two groups name their
//!    member by intersection; the pseudonymous distributions name each
//!    member's rounded value by intersection across dimensions;
//! 2. from those, estimates of the true value (the methods of `LEGEND`):
//!    the released value as is, a sign guessed by a coin, a sign fitted to
//!    the noise flags, a sign from a grid (staff in half posts behind
//!    `loans_per_capita / loans_per_fte`), identities between key figures
//!    for key figures released as means only, and a sign from a figure a
//!    member publishes elsewhere.
//!
//! The tests: (a) without noise the attacker recovers exact values (so
//! the attack is real); (b) with the defaults no method lands within ±
//! noise_min of the truth for significantly more than half of the targets
//! (binomial tail under 1e-3 over all key figures, under 1e-5 per key
//! figure; a target is a member in a domain, because one sign serves all
//! its figures), and none is exact; (c) three channels this attacker
//! found open stay closed.
//!
//! Excluded from the targets, as the rules leave them unprotected on
//! purpose: zeros; the attackers' own members; the figures a member
//! publishes elsewhere. One member publishes all its library figures (the
//! Deutsche Bibliotheksstatistik publishes per library): every library key
//! figure of it is public, and its multipliers of the library follow from
//! its perturbed values. Another publishes only `expenditure_total` (its
//! budget): `expenditure_per_capita` is public, and the multiplier of
//! `expenditure_total` it reveals carries the member's sign of the domain,
//! so the direction of the noise on all its other library figures
//! (`docs/disclosure.md`, "Limits"): those estimates land within ±
//! noise_min every time; they are counted apart (`published_sign`) and
//! reported, not held to rule 15's "both directions equally plausible".

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_catalog::{Catalog, Domain, MemberKind};
use vergleichsring_engine::disclosure::{Policy, Visibility, round_3_significant};
use vergleichsring_engine::noise::{Noise, corrected_std_dev};
use vergleichsring_engine::summary::summarize;
use vergleichsring_store::Role;

use crate::helpers::{PARQUET, TestApp, parquet};

const YEAR: i32 = 2024;
const DOMAINS: [&str; 2] = ["library", "music_school"];
const DIMS: [&str; 4] = ["all", "size_class", "land", "kind"];

// ---------------------------------------------------------------------------
// A small deterministic generator (SplitMix64): a ring is its seed.
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }
    /// Log-uniform in [a, b].
    fn log_range(&mut self, a: f64, b: f64) -> f64 {
        (a.ln() + (b.ln() - a.ln()) * self.unit()).exp()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

// ---------------------------------------------------------------------------
// The method of rules 14–17, as the attacker knows it (all but the secret)
// ---------------------------------------------------------------------------

/// The public denominator of a key figure, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Den {
    /// Two private figures (or a private one over a private one).
    Private,
    /// Over the population.
    Pop,
    /// Over the population under 18 (official statistics).
    PopU18,
}

/// A key figure as the attacker models its noise: its value moves by
/// `(1 + s·num·u) / (1 + s·den·u)` for the member's sign `s`, from the
/// catalogue's role signs.
#[derive(Debug, Clone, Copy)]
struct Fig {
    id: &'static str,
    den: Den,
    num: f64,
    den_role: f64,
}

const fn fig(id: &'static str, den: Den, num: f64, den_role: f64) -> Fig {
    Fig {
        id,
        den,
        num,
        den_role,
    }
}

const LIBRARY: [Fig; 15] = [
    fig("media_per_capita", Den::Pop, 1.0, 0.0),
    fig("loans_per_capita", Den::Pop, -1.0, 0.0),
    fig("turnover", Den::Private, -1.0, 1.0),
    fig("visits_per_capita", Den::Pop, 1.0, 0.0),
    fig("active_user_share", Den::Pop, 1.0, 0.0),
    fig("renewal_rate", Den::Private, -1.0, 1.0),
    fig("visits_per_opening_hour", Den::Private, 1.0, -1.0),
    fig("area_per_1000", Den::Pop, 1.0, 0.0),
    fig("fte_per_10000", Den::Pop, 1.0, 0.0),
    fig("expenditure_per_capita", Den::Pop, 1.0, 0.0),
    fig("net_cost_per_capita", Den::Pop, 1.0, 0.0),
    fig("cost_per_loan", Den::Private, 1.0, -1.0),
    fig("cost_recovery", Den::Private, -1.0, 1.0),
    fig("media_spend_per_capita", Den::Pop, 1.0, 0.0),
    fig("loans_per_fte", Den::Private, -1.0, 1.0),
];

const MUSIC: [Fig; 12] = [
    fig("students_per_1000", Den::Pop, -1.0, 0.0),
    fig("u18_reach", Den::PopU18, 1.0, 0.0),
    fig("weekly_hours_per_1000", Den::Pop, -1.0, 0.0),
    fig("students_per_weekly_hour", Den::Private, -1.0, -1.0),
    fig("cost_per_weekly_hour", Den::Private, 1.0, -1.0),
    fig("cost_per_student", Den::Private, 1.0, -1.0),
    fig("fee_coverage", Den::Private, -1.0, 1.0),
    fig("municipal_subsidy_per_capita", Den::Pop, 1.0, 0.0),
    fig("net_cost_per_student", Den::Private, 1.0, -1.0),
    fig("employed_teacher_share", Den::Private, -1.0, 1.0),
    fig("teaching_cost_share", Den::Private, -1.0, 1.0),
    fig("waiting_list_per_100", Den::Private, 1.0, -1.0),
];

fn figs(d: usize) -> &'static [Fig] {
    if d == 0 { &LIBRARY } else { &MUSIC }
}

fn fig_index(d: usize, id: &str) -> usize {
    figs(d).iter().position(|f| f.id == id).unwrap()
}

/// The expected size of a multiplier, `E[u]` under the ramp density
/// `2(u − a)/(b − a)²`: `a + 2(b − a)/3`.
fn mean_u(policy: &Policy) -> f64 {
    policy.noise_min + 2.0 * (policy.noise_max - policy.noise_min) / 3.0
}

/// The attacker's model of a key figure's multiplier for sign `s`.
fn model_multiplier(f: &Fig, s: f64, u: f64) -> f64 {
    (1.0 + s * f.num * u) / (1.0 + s * f.den_role * u)
}

// ---------------------------------------------------------------------------
// The ring
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Member {
    id: String,
    kind: MemberKind,
    /// Population in the first and the second (corrected) round.
    pop: [f64; 2],
}

/// Basic figures of one member in one domain, by id.
type Row = BTreeMap<&'static str, Option<f64>>;

#[derive(Debug, Clone)]
struct Ring {
    seed: u64,
    members: Vec<Member>,
    /// `rows[domain][round][member]`.
    rows: Vec<[Vec<Row>; 2]>,
    /// Two members of one Land who pool their figures.
    coalition: [usize; 2],
    /// The members that granted the consultant access.
    grants: [usize; 3],
    /// Publishes all its library figures (Deutsche Bibliotheksstatistik).
    published_all: usize,
    /// Publishes its library `expenditure_total` (its budget).
    published_budget: usize,
    /// Custom groups an analyst defines: (id, members).
    custom: Vec<(String, Vec<usize>)>,
}

fn library_row(rng: &mut Rng, pop: f64) -> Row {
    let service_points = (1.0 + (pop / 60_000.0).floor()).min(12.0);
    let stock = (pop * rng.log_range(0.5, 3.0)).round();
    let loans = (stock * rng.log_range(1.5, 6.0)).round();
    let e_loans = (!rng.chance(0.2)).then(|| (loans * rng.range(0.05, 0.3)).round());
    let visits = (pop * rng.log_range(0.5, 4.0)).round();
    let opening_hours = (service_points * rng.range(1200.0, 2600.0)).round();
    // Staff is reported in half posts (the catalogue's release note).
    let staff = ((pop * rng.log_range(1.0, 4.0) / 10_000.0) * 2.0)
        .round()
        .max(1.0)
        / 2.0;
    let expenditure = (pop * rng.log_range(8.0, 35.0)).round();
    let staff_cost = (staff * rng.range(45_000.0, 65_000.0))
        .round()
        .min((expenditure * 0.7).round());
    let media_cost = (expenditure * rng.range(0.08, 0.15)).round();
    let income = if rng.chance(0.1) {
        0.0
    } else {
        (expenditure * rng.range(0.03, 0.15)).round()
    };
    let mut r = Row::new();
    r.insert("population", Some(pop));
    r.insert("service_points", Some(service_points));
    r.insert(
        "public_area_sqm",
        Some((pop * rng.log_range(10.0, 60.0) / 1000.0).round()),
    );
    r.insert("opening_hours", Some(opening_hours));
    r.insert("active_users", Some((pop * rng.range(0.05, 0.2)).round()));
    r.insert("visits", Some(visits));
    r.insert(
        "virtual_visits",
        Some((visits * rng.range(0.2, 1.0)).round()),
    );
    r.insert("stock", Some(stock));
    r.insert(
        "acquisitions",
        Some((stock * rng.range(0.05, 0.18)).round()),
    );
    r.insert("loans", Some(loans));
    r.insert("e_loans", e_loans);
    r.insert("events", Some((pop / 1000.0 * rng.range(1.0, 5.0)).round()));
    r.insert("staff_fte", Some(staff));
    r.insert("expenditure_total", Some(expenditure));
    r.insert("expenditure_staff", Some(staff_cost));
    r.insert("expenditure_media", Some(media_cost));
    r.insert("income", Some(income));
    r
}

fn music_row(rng: &mut Rng, pop: f64) -> Row {
    let pop_u18 = (pop * rng.range(0.15, 0.19)).round();
    let students = (pop * rng.log_range(8.0, 40.0) / 1000.0).round().max(20.0);
    let students_u18 = (students * rng.range(0.6, 0.85)).round();
    let weekly_hours = (students / rng.range(2.0, 5.0)).round().max(5.0);
    let teachers = (weekly_hours / rng.range(10.0, 20.0)).round().max(2.0);
    let employed = (teachers * rng.range(0.2, 0.8)).round();
    let expenditure = (weekly_hours * rng.range(2000.0, 3500.0)).round();
    let fees = (expenditure * rng.range(0.25, 0.6)).round();
    let other = (!rng.chance(0.3)).then(|| (expenditure * rng.range(0.0, 0.05)).round());
    let state = (expenditure * rng.range(0.02, 0.1)).round();
    let municipal = (expenditure - fees - other.unwrap_or(0.0) - state).max(0.0);
    let waiting = if rng.chance(0.3) {
        0.0
    } else {
        (students * rng.range(0.01, 0.2)).round()
    };
    let mut r = Row::new();
    r.insert("population", Some(pop));
    r.insert("population_u18", Some(pop_u18));
    r.insert("students", Some(students));
    r.insert("students_u18", Some(students_u18));
    r.insert("enrolments", Some((students * rng.range(1.0, 1.3)).round()));
    r.insert("weekly_hours", Some(weekly_hours));
    r.insert("teachers", Some(teachers));
    r.insert("teachers_employed", Some(employed));
    r.insert(
        "teacher_fte",
        Some((teachers * rng.range(0.4, 0.7) * 2.0).round() / 2.0),
    );
    r.insert("waiting_list", Some(waiting));
    r.insert("expenditure_total", Some(expenditure));
    r.insert(
        "expenditure_teaching",
        Some((expenditure * rng.range(0.7, 0.9)).round()),
    );
    r.insert("income_fees", Some(fees));
    r.insert("subsidy_municipal", Some(municipal));
    r.insert("subsidy_state", Some(state));
    r.insert("income_other", other);
    r
}

fn generate(seed: u64) -> Ring {
    let mut rng = Rng(seed);
    let mut lands = vec!["03", "05", "06", "08", "09", "14"];
    rng.shuffle(&mut lands);
    lands.truncate(3);
    let n = 22 + rng.below(9);
    let mut members = Vec::new();
    let mut used = HashSet::new();
    while members.len() < n {
        let land = lands[rng.below(lands.len())];
        let roll = rng.unit();
        let (kind, id, pop) = if roll < 0.25 {
            (
                MemberKind::KreisfreieStadt,
                format!("{land}{:03}000", 100 + rng.below(900)),
                rng.log_range(100_000.0, 650_000.0),
            )
        } else if roll < 0.75 {
            (
                MemberKind::KreisangehoerigeGemeinde,
                format!("{land}{:06}", 100_000 + rng.below(900_000)),
                rng.log_range(6_000.0, 120_000.0),
            )
        } else {
            (
                MemberKind::Landkreis,
                format!("{land}{:03}", 100 + rng.below(900)),
                rng.log_range(90_000.0, 380_000.0),
            )
        };
        if used.insert(id.clone()) {
            let pop = pop.round();
            members.push(Member {
                id,
                kind,
                pop: [pop, pop],
            });
        }
    }
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let mut rows = Vec::new();
    for domain in DOMAINS {
        let first: Vec<Row> = members
            .iter()
            .map(|m| match domain {
                "library" => library_row(&mut rng, m.pop[0]),
                _ => music_row(&mut rng, m.pop[0]),
            })
            .collect();
        rows.push([first.clone(), first]);
    }
    // The correction round: three members correct their population only,
    // three their figures (rule 10 wants at least five changes).
    let n = members.len();
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    for &i in &order[..3] {
        members[i].pop[1] = (members[i].pop[0] * rng.range(0.985, 1.015)).round();
    }
    for (d, domain) in DOMAINS.iter().enumerate() {
        for &i in &order[..3] {
            let (old, new) = (members[i].pop[0], members[i].pop[1]);
            let r = &mut rows[d][1][i];
            r.insert("population", Some(new));
            if let Some(Some(u)) = r.get("population_u18").copied() {
                r.insert("population_u18", Some((u * new / old).round()));
            }
        }
        let changes: &[(&'static str, f64, f64)] = match *domain {
            "library" => &[
                ("loans", 0.93, 1.07),
                ("visits", 0.93, 1.07),
                ("expenditure_total", 1.0, 1.07),
                ("stock", 0.97, 1.03),
            ],
            _ => &[
                ("weekly_hours", 0.93, 1.07),
                ("income_fees", 0.93, 1.07),
                ("expenditure_total", 1.0, 1.07),
                ("students", 0.97, 1.0),
            ],
        };
        for &i in &order[3..6] {
            let r = &mut rows[d][1][i];
            for (k, a, b) in changes {
                if let Some(Some(x)) = r.get(k).copied() {
                    r.insert(k, Some((x * rng.range(*a, *b)).round()));
                }
            }
        }
    }
    // Who attacks and who publishes elsewhere: a coalition of two members
    // of the Land with the most members, three grants of a consultant, one
    // library in the Bibliotheksstatistik, one budget.
    let land_of = |i: usize| members[i].id[..2].to_string();
    let big = lands
        .iter()
        .max_by_key(|l| (0..n).filter(|&i| land_of(i) == **l).count())
        .map(|l| l.to_string())
        .unwrap();
    let mut pool: Vec<usize> = (0..n).filter(|&i| land_of(i) == big).collect();
    rng.shuffle(&mut pool);
    let coalition = [pool[0], pool[1]];
    let mut rest: Vec<usize> = (0..n).filter(|i| !coalition.contains(i)).collect();
    rng.shuffle(&mut rest);
    let grants = [rest[0], rest[1], rest[2]];
    let published_all = rest[3];
    let published_budget = rest[4];
    // Custom groups: a random half and its complement, the coalition with
    // four others, the consultant's grants with three others, and the
    // coalition's Land without its Landkreise (rule 13's example).
    let mut shuffled: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut shuffled);
    let half: Vec<usize> = shuffled[..n / 2].to_vec();
    let other: Vec<usize> = shuffled[n / 2..].to_vec();
    let mut with_coalition: Vec<usize> = coalition.to_vec();
    with_coalition.extend(rest[5..9].iter().copied());
    let mut with_grants: Vec<usize> = grants.to_vec();
    with_grants.extend(rest[9..12].iter().copied());
    let towns: Vec<usize> = (0..n)
        .filter(|&i| land_of(i) == big && members[i].kind != MemberKind::Landkreis)
        .collect();
    let mut custom = vec![
        ("half".to_string(), half),
        ("other_half".to_string(), other),
        ("with_coalition".to_string(), with_coalition),
        ("with_grants".to_string(), with_grants),
    ];
    if towns.len() >= 5 {
        custom.push(("towns".to_string(), towns));
    }
    for (_, g) in &mut custom {
        g.sort_unstable();
    }
    Ring {
        seed,
        members,
        rows,
        coalition,
        grants,
        published_all,
        published_budget,
        custom,
    }
}

// ---------------------------------------------------------------------------
// Key figures, as the queries compute them
// ---------------------------------------------------------------------------

fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

fn times(k: f64, a: Option<f64>) -> Option<f64> {
    a.map(|a| k * a)
}

fn key_values(d: usize, r: &Row) -> Vec<Option<f64>> {
    let g = |k: &str| r.get(k).copied().flatten();
    let z = |k: &str| Some(g(k).unwrap_or(0.0));
    let add = |a: Option<f64>, b: Option<f64>| Some(a? + b?);
    let sub = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
    if d == 0 {
        let pop = g("population");
        let loans_all = add(g("loans"), z("e_loans"));
        vec![
            div(g("stock"), pop),
            div(loans_all, pop),
            div(g("loans"), g("stock")),
            div(g("visits"), pop),
            div(times(100.0, g("active_users")), pop),
            div(times(100.0, g("acquisitions")), g("stock")),
            div(g("visits"), g("opening_hours")),
            div(times(1000.0, g("public_area_sqm")), pop),
            div(times(10000.0, g("staff_fte")), pop),
            div(g("expenditure_total"), pop),
            div(sub(g("expenditure_total"), z("income")), pop),
            div(g("expenditure_total"), loans_all),
            div(times(100.0, g("income")), g("expenditure_total")),
            div(g("expenditure_media"), pop),
            div(loans_all, g("staff_fte")),
        ]
    } else {
        let pop = g("population");
        vec![
            div(times(1000.0, g("students")), pop),
            div(times(100.0, g("students_u18")), g("population_u18")),
            div(times(1000.0, g("weekly_hours")), pop),
            div(g("students"), g("weekly_hours")),
            div(g("expenditure_total"), g("weekly_hours")),
            div(g("expenditure_total"), g("students")),
            div(times(100.0, g("income_fees")), g("expenditure_total")),
            div(g("subsidy_municipal"), pop),
            div(
                sub(
                    sub(g("expenditure_total"), g("income_fees")),
                    z("income_other"),
                ),
                g("students"),
            ),
            div(times(100.0, g("teachers_employed")), g("teachers")),
            div(
                times(100.0, g("expenditure_teaching")),
                g("expenditure_total"),
            ),
            div(times(100.0, g("waiting_list")), g("students")),
        ]
    }
}

/// A member's basic figures multiplied by its multipliers: what the
/// service computes every released statistic from (the oracle for the
/// attackers' own perturbed figures, rule 13).
fn perturb(domain: &Domain, noise: &Noise, member: &str, r: &Row) -> Row {
    let m = noise.multipliers(domain, member);
    r.iter()
        .map(|(k, v)| {
            let i = domain
                .basic_figures
                .iter()
                .position(|b| b.id == *k)
                .unwrap();
            (*k, v.map(|v| v * m[i]))
        })
        .collect()
}

/// The public denominator of key figure `f` of member `i` in round `p`.
fn public_den(ring: &Ring, d: usize, f: usize, i: usize, p: usize) -> f64 {
    match figs(d)[f].den {
        Den::Private => 1.0,
        Den::Pop => ring.members[i].pop[p],
        Den::PopU18 => ring.rows[d][p][i]["population_u18"].unwrap(),
    }
}

// ---------------------------------------------------------------------------
// The answers
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Stats {
    mean: Option<f64>,
    median: Option<f64>,
    p25: Option<f64>,
    p75: Option<f64>,
    p10: Option<f64>,
    p90: Option<f64>,
    sd: Option<f64>,
    weighted: Option<f64>,
}

impl Stats {
    fn from_json(s: &Value) -> Stats {
        let g = |k: &str| s[k].as_f64();
        Stats {
            mean: g("mean"),
            median: g("median"),
            p25: g("p25"),
            p75: g("p75"),
            p10: g("p10"),
            p90: g("p90"),
            sd: g("std_dev"),
            weighted: g("weighted"),
        }
    }

    fn fields(&mut self) -> [&mut Option<f64>; 8] {
        [
            &mut self.mean,
            &mut self.median,
            &mut self.p25,
            &mut self.p75,
            &mut self.p10,
            &mut self.p90,
            &mut self.sd,
            &mut self.weighted,
        ]
    }

    fn quantiles(&self) -> Vec<(f64, f64)> {
        [
            (0.5, self.median),
            (0.25, self.p25),
            (0.75, self.p75),
            (0.1, self.p10),
            (0.9, self.p90),
        ]
        .into_iter()
        .filter_map(|(p, q)| Some((p, q?)))
        .collect()
    }
}

/// A noise flag: 0 low, 1 moderate, 2 high.
fn flag(v: &Value) -> Option<u8> {
    match v.as_str()? {
        "low" => Some(0),
        "moderate" => Some(1),
        "high" => Some(2),
        _ => None,
    }
}

/// One released (or withheld) group of one key figure in one publication.
#[derive(Debug, Clone)]
struct Obs {
    pubx: usize,
    key: String,
    builtin: bool,
    members: Vec<usize>,
    n: usize,
    stats: Option<Stats>,
    flags: [Option<u8>; 2],
    dist: Option<Vec<f64>>,
}

/// Everything collected: `obs[domain][figure]`.
struct Collected {
    obs: Vec<Vec<Vec<Obs>>>,
    requests: usize,
    /// Answers of other roles that differed from the analyst's.
    conflicts: usize,
}

impl Collected {
    /// Adds an observation, merging it with one of the same group.
    fn add(&mut self, d: usize, f: usize, o: Obs) {
        let list = &mut self.obs[d][f];
        if let Some(e) = list
            .iter_mut()
            .find(|e| e.pubx == o.pubx && e.key == o.key && e.members == o.members)
        {
            let mut conflict = false;
            if let (Some(es), Some(os)) = (e.stats.as_mut(), o.stats) {
                let mut os = os;
                for (a, b) in es.fields().into_iter().zip(os.fields()) {
                    match (*a, *b) {
                        (Some(x), Some(y)) if x.to_bits() != y.to_bits() => conflict = true,
                        (None, Some(y)) => *a = Some(y),
                        _ => {}
                    }
                }
            } else if e.stats.is_none() {
                e.stats = o.stats;
            }
            for k in 0..2 {
                match (e.flags[k], o.flags[k]) {
                    (Some(x), Some(y)) if x != y => conflict = true,
                    (None, Some(y)) => e.flags[k] = Some(y),
                    _ => {}
                }
            }
            if e.dist.is_none() {
                e.dist = o.dist.clone();
            } else if o.dist.is_some() && o.dist != e.dist {
                conflict = true;
            }
            if conflict {
                self.conflicts += 1;
                list.push(o);
            }
        } else {
            list.push(o);
        }
    }
}

/// The members of a built-in group as the attacker computes them from the
/// member list and the populations.
fn builtin_members(ring: &Ring, catalog: &Catalog, dim: &str, group: &str, p: usize) -> Vec<usize> {
    (0..ring.members.len())
        .filter(|&i| {
            let m = &ring.members[i];
            match dim {
                "all" => true,
                "land" => &m.id[..2] == group,
                "kind" => m.kind.as_str() == group,
                _ => catalog
                    .size_class(m.kind, m.pop[p])
                    .is_some_and(|c| c.id == group),
            }
        })
        .collect()
}

struct Cast {
    members: [String; 2],
    consultant: String,
}

struct Server {
    app: TestApp,
    pubs: Vec<[String; 2]>,
    custom_ok: Vec<String>,
    noise: Option<Noise>,
}

fn upload_file(ring: &Ring, d: usize, round: usize, which: &[usize]) -> bytes::Bytes {
    let rows = &ring.rows[d][round];
    let names: Vec<&'static str> = rows[0].keys().copied().collect();
    let ids: Vec<&str> = which.iter().map(|&i| ring.members[i].id.as_str()).collect();
    let cols: Vec<(&str, Vec<Option<f64>>)> = names
        .iter()
        .map(|n| {
            (
                *n,
                which
                    .iter()
                    .map(|&i| rows[i].get(n).copied().flatten())
                    .collect(),
            )
        })
        .collect();
    parquet(Some(ids), &cols)
}

async fn latest_publication(app: &TestApp, domain: &str) -> String {
    let a = app
        .get(
            &format!("/api/v1/publications?domain={domain}&year={YEAR}"),
            Some(&app.analyst),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body[0]["id"].as_str().unwrap().to_string()
}

/// Uploads and publishes both rounds (the ring publishes by itself once
/// five members changed; an explicit publication is asked for as well and
/// may find nothing new).
async fn start_ring(ring: &Ring, policy: Policy) -> Server {
    // The ring's secret follows from its seed, so that a seed repeats a
    // case exactly.
    let mut rng = Rng(ring.seed ^ 0x005E_C2E7);
    let mut secret = [0u8; 32];
    for b in &mut secret {
        *b = rng.next_u64() as u8;
    }
    let app = if policy.perturbs() {
        let mut app = TestApp::spawn_with_noise_secret(secret).await;
        app.restart_with_policy(policy).await;
        app
    } else {
        TestApp::spawn_with_policy(policy).await
    };
    let body: Vec<Value> = ring
        .members
        .iter()
        .map(|m| json!({"member_id": m.id, "name": format!("Ort {}", m.id), "kind": m.kind.as_str()}))
        .collect();
    let a = app
        .post_json("/api/v1/members", Some(&app.admin), &json!(body))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let all: Vec<usize> = (0..ring.members.len()).collect();
    let mut pubs = Vec::new();
    for (d, domain) in DOMAINS.iter().enumerate() {
        let mut ids = Vec::new();
        for round in 0..2 {
            let which: Vec<usize> = if round == 0 {
                all.clone()
            } else {
                all.iter()
                    .copied()
                    .filter(|&i| ring.rows[d][0][i] != ring.rows[d][1][i])
                    .collect()
            };
            let a = app
                .upload(
                    domain,
                    YEAR,
                    &app.admin,
                    PARQUET,
                    upload_file(ring, d, round, &which),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
            let p = app
                .post_json(
                    &format!("/api/v1/publications/{domain}/{YEAR}"),
                    Some(&app.admin),
                    &json!({}),
                )
                .await;
            assert!(
                p.status == StatusCode::CREATED || p.status == StatusCode::CONFLICT,
                "{}",
                p.text
            );
            ids.push(latest_publication(&app, domain).await);
        }
        assert_ne!(ids[0], ids[1], "two publications of {domain}");
        pubs.push([ids[0].clone(), ids[1].clone()]);
    }
    let mut custom_ok = Vec::new();
    for (id, members) in &ring.custom {
        let ids: Vec<&str> = members
            .iter()
            .map(|&i| ring.members[i].id.as_str())
            .collect();
        let a = app
            .post_json(
                "/api/v1/groups",
                Some(&app.analyst),
                &json!({"id": id, "name": id, "member_ids": ids}),
            )
            .await;
        if a.status == StatusCode::CREATED {
            custom_ok.push(id.clone());
        }
    }
    let noise = policy
        .perturbs()
        .then(|| Noise::new(secret, policy.noise_min, policy.noise_max));
    Server {
        app,
        pubs,
        custom_ok,
        noise,
    }
}

/// The observations of one comparison answer.
fn parse_groups(
    ring: &Ring,
    catalog: &Catalog,
    groups: &Value,
    dim: &str,
    pubx: usize,
) -> Vec<Obs> {
    let mut out = Vec::new();
    for g in groups.as_array().into_iter().flatten() {
        let Some(id) = g["group"].as_str() else {
            continue;
        };
        let builtin = DIMS.contains(&dim);
        let members = if builtin {
            builtin_members(ring, catalog, dim, id, pubx)
        } else {
            ring.custom
                .iter()
                .find(|(c, _)| c == dim)
                .map(|(_, m)| m.clone())
                .unwrap_or_default()
        };
        let stats = (!g["stats"].is_null()).then(|| Stats::from_json(&g["stats"]));
        out.push(Obs {
            pubx,
            key: format!("{dim}:{id}"),
            builtin,
            members,
            n: g["n"].as_u64().unwrap_or(0) as usize,
            stats,
            flags: [flag(&g["noise"]["mean"]), flag(&g["noise"]["weighted"])],
            dist: g["distribution"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect()),
        });
    }
    out
}

fn pub_index(server: &Server, d: usize, id: &str) -> Option<usize> {
    server.pubs[d].iter().position(|p| p == id)
}

/// Collects every answer the non-admin roles can obtain.
async fn collect(ring: &Ring, catalog: &Catalog, server: &Server, cast: &Cast) -> Collected {
    let app = &server.app;
    let mut c = Collected {
        obs: DOMAINS
            .iter()
            .enumerate()
            .map(|(d, _)| vec![Vec::new(); figs(d).len()])
            .collect(),
        requests: 0,
        conflicts: 0,
    };
    let mut dims: Vec<&str> = DIMS.to_vec();
    dims.extend(server.custom_ok.iter().map(String::as_str));
    let grant = &ring.members[ring.grants[0]].id;
    for (d, domain) in DOMAINS.iter().enumerate() {
        for (f, fg) in figs(d).iter().enumerate() {
            for (pubx, pid) in server.pubs[d].iter().enumerate() {
                for dim in &dims {
                    let path = format!(
                        "/api/v1/comparisons/{domain}/{YEAR}?figure={}&group_by={dim}&as_of={pid}",
                        fg.id
                    );
                    let mut callers: Vec<(&str, String)> =
                        vec![(app.analyst.as_str(), path.clone())];
                    if DIMS.contains(dim) {
                        for m in &cast.members {
                            callers.push((m.as_str(), path.clone()));
                        }
                        callers.push((
                            cast.consultant.as_str(),
                            format!("{path}&member_id={grant}"),
                        ));
                    }
                    for (token, path) in callers {
                        let a = app.get(&path, Some(token)).await;
                        c.requests += 1;
                        if a.status != StatusCode::OK {
                            continue;
                        }
                        assert_eq!(a.body["publication"]["id"], pid.as_str(), "{}", a.text);
                        for o in parse_groups(ring, catalog, &a.body["groups"], dim, pubx) {
                            c.add(d, f, o);
                        }
                    }
                }
            }
            // Time series (the latest publication of each year).
            for dim in DIMS {
                let a = app
                    .get(
                        &format!("/api/v1/timeseries/{domain}/{}?group_by={dim}", fg.id),
                        Some(&cast.members[0]),
                    )
                    .await;
                c.requests += 1;
                for p in a.body["points"].as_array().into_iter().flatten() {
                    let Some(pubx) = p["publication"]["id"]
                        .as_str()
                        .and_then(|id| pub_index(server, d, id))
                    else {
                        continue;
                    };
                    let mut g = p.clone();
                    if let Some(o) = g.as_object_mut() {
                        o.insert("group".into(), p["group"].clone());
                    }
                    for o in parse_groups(ring, catalog, &json!([g]), dim, pubx) {
                        c.add(d, f, o);
                    }
                }
            }
        }
    }
    // Reports: the coalition's own, the consultant's of its grants.
    let mut reports: Vec<(&str, &str)> = cast
        .members
        .iter()
        .zip(ring.coalition)
        .map(|(t, i)| (t.as_str(), ring.members[i].id.as_str()))
        .collect();
    for &g in &ring.grants {
        reports.push((cast.consultant.as_str(), ring.members[g].id.as_str()));
    }
    for (token, member) in reports {
        let a = app
            .get(
                &format!("/api/v1/reports/{member}/{YEAR}?format=json"),
                Some(token),
            )
            .await;
        c.requests += 1;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        for dom in a.body["domains"].as_array().into_iter().flatten() {
            let Some(d) = DOMAINS.iter().position(|x| dom["domain"] == *x) else {
                continue;
            };
            let Some(pubx) = a.body["publications"][DOMAINS[d]]["id"]
                .as_str()
                .and_then(|id| pub_index(server, d, id))
            else {
                continue;
            };
            for k in dom["key_figures"].as_array().into_iter().flatten() {
                let Some(f) = k["id"].as_str().map(|id| fig_index(d, id)) else {
                    continue;
                };
                for dim in ["size_class", "all"] {
                    for o in parse_groups(ring, catalog, &json!([k[dim].clone()]), dim, pubx) {
                        c.add(d, f, o);
                    }
                }
            }
        }
    }
    // The analysts' table.
    let a = app
        .post_json(
            "/api/v1/query",
            Some(&app.analyst),
            &json!({"sql": "SELECT * FROM comparisons"}),
        )
        .await;
    c.requests += 1;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let cols: Vec<&str> = a.body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for row in a.body["rows"].as_array().into_iter().flatten() {
        let get = |k: &str| {
            cols.iter()
                .position(|c| *c == k)
                .map(|i| row[i].clone())
                .unwrap_or(Value::Null)
        };
        let Some(d) = DOMAINS.iter().position(|x| get("domain") == *x) else {
            continue;
        };
        let Some(f) = get("figure").as_str().map(|id| fig_index(d, id)) else {
            continue;
        };
        let Some(pubx) = get("publication")
            .as_str()
            .and_then(|id| pub_index(server, d, id))
        else {
            continue;
        };
        let dim = get("group_by").as_str().unwrap_or("").to_string();
        let stats = if get("suppressed") == json!(true) {
            Value::Null
        } else {
            json!({"mean": get("mean"), "median": get("median"), "p25": get("p25"), "p75": get("p75"),
                   "p10": get("p10"), "p90": get("p90"), "std_dev": get("std_dev"), "weighted": get("weighted")})
        };
        let g = json!({"group": get("group"), "n": get("n"), "stats": stats,
                       "noise": {"mean": get("noise_mean"), "weighted": get("noise_weighted")}});
        for o in parse_groups(ring, catalog, &json!([g]), &dim, pubx) {
            c.add(d, f, o);
        }
    }
    c
}

// ---------------------------------------------------------------------------
// Linear algebra
// ---------------------------------------------------------------------------

/// A linear equation `Σ a_j x_j = b`, scaled so that its largest
/// coefficient is 1.
#[derive(Debug, Clone)]
struct Eq {
    a: Vec<f64>,
    b: f64,
}

impl Eq {
    fn new(a: Vec<f64>, b: f64) -> Option<Eq> {
        let m = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (m > 0.0).then(|| Eq {
            a: a.iter().map(|x| x / m).collect(),
            b: b / m,
        })
    }
}

/// Reduced row echelon form: for each column, the value it is determined
/// to (a unit vector in the row space), and whether the system is
/// consistent.
fn determined(eqs: &[Eq], ncols: usize) -> (Vec<Option<f64>>, bool) {
    let mut rows: Vec<Eq> = eqs.to_vec();
    let mut pivots: Vec<(usize, usize)> = Vec::new();
    let mut r = 0;
    for c in 0..ncols {
        let Some((best, val)) = rows
            .iter()
            .enumerate()
            .skip(r)
            .map(|(i, e)| (i, e.a[c].abs()))
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        if val < 1e-10 {
            continue;
        }
        rows.swap(r, best);
        let p = rows[r].a[c];
        let pivot = Eq {
            a: rows[r].a.iter().map(|x| x / p).collect(),
            b: rows[r].b / p,
        };
        for (i, row) in rows.iter_mut().enumerate() {
            if i != r {
                let k = row.a[c];
                if k != 0.0 {
                    for (x, y) in row.a.iter_mut().zip(&pivot.a) {
                        *x -= k * y;
                    }
                    row.b -= k * pivot.b;
                }
            }
        }
        rows[r] = pivot;
        pivots.push((r, c));
        r += 1;
    }
    let pivot_cols: HashSet<usize> = pivots.iter().map(|p| p.1).collect();
    let scale = eqs.iter().fold(1.0f64, |m, e| m.max(e.b.abs()));
    let consistent = rows[r..].iter().all(|e| e.b.abs() <= 1e-7 * scale);
    let mut out = vec![None; ncols];
    for &(row, c) in &pivots {
        let free = (0..ncols)
            .filter(|j| !pivot_cols.contains(j))
            .all(|j| rows[row].a[j].abs() < 1e-8);
        if free {
            out[c] = Some(rows[row].b);
        }
    }
    (out, consistent)
}

/// Solves a small system: the unique solution, or one solution and one
/// null vector when the rank is one short.
/// What a small system says.
enum Solved {
    Inconsistent,
    Unique(Vec<f64>),
    /// A solution and one null vector: the rank is one short.
    Line(Vec<f64>, Vec<f64>),
    Under,
}

fn small_solve(eqs: &[Eq], k: usize) -> Solved {
    let mut rows = eqs.to_vec();
    let mut pivots = Vec::new();
    let mut r = 0;
    for c in 0..k {
        let (best, val) = rows
            .iter()
            .enumerate()
            .skip(r)
            .map(|(i, e)| (i, e.a[c].abs()))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        if val < 1e-9 {
            continue;
        }
        rows.swap(r, best);
        let p = rows[r].a[c];
        let pivot = Eq {
            a: rows[r].a.iter().map(|x| x / p).collect(),
            b: rows[r].b / p,
        };
        for (i, row) in rows.iter_mut().enumerate() {
            if i != r {
                let f = row.a[c];
                for (x, y) in row.a.iter_mut().zip(&pivot.a) {
                    *x -= f * y;
                }
                row.b -= f * pivot.b;
            }
        }
        rows[r] = pivot;
        pivots.push(c);
        r += 1;
        if r == rows.len() {
            break;
        }
    }
    let scale = eqs.iter().fold(1.0f64, |m, e| m.max(e.b.abs()));
    if rows[r..].iter().any(|e| e.b.abs() > 1e-8 * scale) {
        return Solved::Inconsistent;
    }
    let free: Vec<usize> = (0..k).filter(|c| !pivots.contains(c)).collect();
    let mut x = vec![0.0; k];
    for (row, &c) in pivots.iter().enumerate() {
        x[c] = rows[row].b;
    }
    match free.len() {
        0 => Solved::Unique(x),
        1 => {
            let fc = free[0];
            let mut v = vec![0.0; k];
            v[fc] = 1.0;
            for (row, &c) in pivots.iter().enumerate() {
                v[c] = -rows[row].a[fc];
            }
            Solved::Line(x, v)
        }
        _ => Solved::Under,
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

// ---------------------------------------------------------------------------
// The attack on one key figure: perturbed values of single members
// ---------------------------------------------------------------------------

/// What the attacker learnt about one key figure: single members'
/// released (perturbed) values, exact or rounded, by (member, publication).
#[derive(Default)]
struct Learnt {
    exact: HashMap<(usize, usize), f64>,
    approx: HashMap<(usize, usize), f64>,
    /// How each exact value was found.
    how: HashMap<(usize, usize), String>,
}

struct FigureAttack<'a> {
    d: usize,
    f: usize,
    obs: &'a [Obs],
    n: usize,
    /// Public denominators per publication and member.
    den: [Vec<f64>; 2],
    /// Whether a member's value is the same variable in both publications
    /// (up to the known change of its public denominator).
    linked: Vec<bool>,
    use_dist: bool,
    noise_on: bool,
}

impl FigureAttack<'_> {
    fn var(&self, i: usize, p: usize) -> usize {
        if p == 0 || self.linked[i] {
            i
        } else {
            self.n + i
        }
    }

    /// `y(i, p) = coef · var`: the variable is the value in publication 0.
    fn coef(&self, i: usize, p: usize) -> f64 {
        if p == 0 || !self.linked[i] {
            1.0
        } else {
            self.den[0][i] / self.den[1][i]
        }
    }

    fn complete(&self, o: &Obs) -> bool {
        o.n == o.members.len() && o.n > 0
    }

    /// The linear rows of the released groups and the known values.
    fn equations(&self, known: &HashMap<(usize, usize), f64>) -> Vec<Eq> {
        let cols = 2 * self.n;
        let mut eqs = Vec::new();
        for (&(i, p), &y) in known {
            let mut a = vec![0.0; cols];
            a[self.var(i, p)] = 1.0;
            eqs.extend(Eq::new(a, y / self.coef(i, p)));
        }
        for o in self.obs {
            let Some(s) = o.stats else { continue };
            if !self.complete(o) {
                continue;
            }
            if let Some(mean) = s.mean {
                let mut a = vec![0.0; cols];
                for &i in &o.members {
                    a[self.var(i, o.pubx)] += self.coef(i, o.pubx);
                }
                eqs.extend(Eq::new(a, o.n as f64 * mean));
            }
            if let (Some(w), true) = (s.weighted, figs(self.d)[self.f].den != Den::Private) {
                let total: f64 = o.members.iter().map(|&i| self.den[o.pubx][i]).sum();
                let mut a = vec![0.0; cols];
                for &i in &o.members {
                    a[self.var(i, o.pubx)] += self.den[o.pubx][i] * self.coef(i, o.pubx) / total;
                }
                eqs.extend(Eq::new(a, w));
            }
        }
        eqs
    }

    fn linear(&self, known: &HashMap<(usize, usize), f64>) -> Vec<((usize, usize), f64)> {
        let eqs = self.equations(known);
        let (vals, consistent) = determined(&eqs, 2 * self.n);
        if !consistent {
            return Vec::new();
        }
        let mut out = Vec::new();
        for i in 0..self.n {
            for p in 0..2 {
                if let Some(w) = vals[self.var(i, p)] {
                    out.push(((i, p), w * self.coef(i, p)));
                }
            }
        }
        out
    }

    /// σ² of a publication: the released standard deviations are
    /// corrected by `Var(y) = (Var(y′) − σ²·mean′²)/(1 + σ²)`; the sums of
    /// squares of a group and of a partition of it agree, which gives σ².
    fn sigma2(&self, p: usize) -> Option<f64> {
        if !self.noise_on {
            return Some(0.0);
        }
        let usable = |o: &&Obs| {
            o.pubx == p
                && self.complete(o)
                && o.stats
                    .is_some_and(|s| s.mean.is_some() && s.sd.is_some_and(|sd| sd > 0.0))
        };
        let groups: Vec<&Obs> = self.obs.iter().filter(usable).collect();
        let parents: Vec<&&Obs> = groups.iter().filter(|o| o.key == "all:all").collect();
        for parent in parents {
            // Families of groups that partition the parent: a dimension,
            // or the two custom halves.
            let mut families: BTreeMap<String, Vec<&Obs>> = BTreeMap::new();
            for o in &groups {
                let fam = if o.builtin {
                    o.key.split(':').next().unwrap_or("").to_string()
                } else if o.key.contains("half") {
                    "halves".to_string()
                } else {
                    continue;
                };
                if fam != "all" {
                    families.entry(fam).or_default().push(o);
                }
            }
            for children in families.values() {
                let mut covered: Vec<usize> =
                    children.iter().flat_map(|o| o.members.clone()).collect();
                covered.sort_unstable();
                if covered != parent.members {
                    continue;
                }
                let term = |o: &Obs| {
                    let s = o.stats.unwrap_or_default();
                    let (c, m, n) = (s.sd.unwrap_or(0.0), s.mean.unwrap_or(0.0), o.n as f64);
                    // Σv′² = (n−1)(c²(1+σ²) + σ²m²) + n m² = A + σ² B.
                    ((n - 1.0) * c * c + n * m * m, (n - 1.0) * (c * c + m * m))
                };
                let (pa, pb) = term(parent);
                let (ca, cb) = children.iter().fold((0.0, 0.0), |(a, b), o| {
                    let (x, y) = term(o);
                    (a + x, b + y)
                });
                if (pb - cb).abs() > 0.0 {
                    let s2 = (ca - pa) / (pb - cb);
                    if s2.is_finite() && s2 >= 0.0 {
                        return Some(s2);
                    }
                }
            }
        }
        None
    }

    /// Group by group: every ordering of the unknown members among the
    /// known ones, the quantiles as linear equations, Σv² and the
    /// distribution; what all consistent solutions agree on.
    fn local(
        &self,
        o: &Obs,
        known: &HashMap<(usize, usize), f64>,
        sigma2: Option<f64>,
    ) -> Vec<((usize, usize), f64)> {
        let Some(s) = o.stats else { return Vec::new() };
        let Some(mean) = s.mean else {
            return Vec::new();
        };
        if !self.complete(o) {
            return Vec::new();
        }
        let p = o.pubx;
        let n = o.n;
        let mut kv: Vec<f64> = Vec::new();
        let mut unknown: Vec<usize> = Vec::new();
        for &i in &o.members {
            match known.get(&(i, p)) {
                Some(&y) => kv.push(y),
                None => unknown.push(i),
            }
        }
        let k = unknown.len();
        if k == 0 || k > 4 {
            return Vec::new();
        }
        let orders = binomial(n, k) * (1..=k).product::<usize>();
        if orders > 12_000 {
            return Vec::new();
        }
        kv.sort_by(f64::total_cmp);
        let fig = figs(self.d)[self.f];
        let mut base: Vec<Eq> = Vec::new();
        base.extend(Eq::new(
            vec![1.0; k],
            n as f64 * mean - kv.iter().sum::<f64>(),
        ));
        let weighted = s.weighted.filter(|_| fig.den != Den::Private);
        let dens: Vec<f64> = unknown.iter().map(|&i| self.den[p][i]).collect();
        if let Some(w) = weighted {
            let total: f64 = o.members.iter().map(|&i| self.den[p][i]).sum();
            let known_part: f64 = o
                .members
                .iter()
                .filter_map(|&i| known.get(&(i, p)).map(|y| y * self.den[p][i]))
                .sum();
            base.extend(Eq::new(dens.clone(), w * total - known_part));
        }
        // Σv² from the standard deviation, where it is known.
        let sumsq = match (s.sd, sigma2) {
            (Some(sd), Some(s2)) if sd > 0.0 || s2 == 0.0 => {
                let raw2 = sd * sd * (1.0 + s2) + s2 * mean * mean;
                Some(
                    (n as f64 - 1.0) * raw2 + n as f64 * mean * mean
                        - kv.iter().map(|v| v * v).sum::<f64>(),
                )
            }
            _ => None,
        };
        let quantiles = s.quantiles();
        let mut survivors: Vec<Vec<f64>> = Vec::new();
        let mut incomplete = false;
        let mut slots = vec![usize::MAX; n];
        for_each_placement(n, k, &mut slots, &mut |slots| {
            // slots[j] = index into `unknown`, or MAX for a known value (in
            // sorted order).
            let mut eqs = base.clone();
            for &(q, value) in &quantiles {
                let h = (n as f64 - 1.0) * q;
                let lo = h.floor() as usize;
                let fr = h - lo as f64;
                let mut a = vec![0.0; k];
                let mut rhs = value;
                let mut kpos = 0;
                for (j, &slot) in slots.iter().enumerate() {
                    let w = if j == lo {
                        1.0 - fr
                    } else if j == lo + 1 && fr > 0.0 {
                        fr
                    } else {
                        0.0
                    };
                    if slot == usize::MAX {
                        rhs -= w * kv[kpos];
                        kpos += 1;
                    } else {
                        a[slot] += w;
                    }
                }
                if a.iter().any(|x| *x != 0.0) {
                    eqs.extend(Eq::new(a, rhs));
                }
            }
            let candidates: Vec<Vec<f64>> = match (small_solve(&eqs, k), sumsq) {
                (Solved::Inconsistent, _) => Vec::new(),
                (Solved::Unique(x0), _) => vec![x0],
                (Solved::Line(x0, v), Some(q)) => {
                    // Σ(x0 + t v)² = q.
                    let a: f64 = v.iter().map(|x| x * x).sum();
                    let b: f64 = 2.0 * x0.iter().zip(&v).map(|(x, y)| x * y).sum::<f64>();
                    let c: f64 = x0.iter().map(|x| x * x).sum::<f64>() - q;
                    let disc = b * b - 4.0 * a * c;
                    if disc < 0.0 {
                        if disc > -1e-9 * b * b {
                            let t = -b / (2.0 * a);
                            vec![x0.iter().zip(&v).map(|(x, y)| x + t * y).collect()]
                        } else {
                            Vec::new()
                        }
                    } else {
                        [-1.0, 1.0]
                            .iter()
                            .map(|sg| {
                                let t = (-b + sg * disc.sqrt()) / (2.0 * a);
                                x0.iter().zip(&v).map(|(x, y)| x + t * y).collect()
                            })
                            .collect()
                    }
                }
                _ => {
                    // An ordering this group's statistics do not pin
                    // down: the search is not complete, so nothing can be
                    // concluded from the others.
                    incomplete = true;
                    Vec::new()
                }
            };
            for x in candidates {
                if self.verify(o, &s, &kv, &x, sigma2)
                    && !survivors
                        .iter()
                        .any(|y| y.iter().zip(&x).all(|(a, b)| close(*a, *b, 1e-9)))
                {
                    survivors.push(x);
                }
            }
        });
        let mut out = Vec::new();
        if survivors.is_empty() || incomplete {
            return out;
        }
        for (j, &i) in unknown.iter().enumerate() {
            let v = survivors[0][j];
            if survivors.iter().all(|x| close(x[j], v, 1e-9)) {
                out.push(((i, p), v));
            }
        }
        out
    }

    /// Whether a candidate reproduces every released statistic of the
    /// group.
    fn verify(&self, o: &Obs, s: &Stats, kv: &[f64], x: &[f64], sigma2: Option<f64>) -> bool {
        if x.iter().any(|v| !v.is_finite() || *v < -1e-12) {
            return false;
        }
        let mut all: Vec<f64> = kv.to_vec();
        all.extend_from_slice(x);
        let Some(sum) = summarize(&all) else {
            return false;
        };
        let scale = all.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let ok = |released: Option<f64>, ours: f64| {
            released.is_none_or(|r| (r - ours).abs() <= 1e-9 * scale.max(r.abs()))
        };
        if !ok(s.mean, sum.mean)
            || !ok(s.median, sum.median)
            || !ok(s.p25, sum.p25)
            || !ok(s.p75, sum.p75)
            || !ok(s.p10, sum.p10)
            || !ok(s.p90, sum.p90)
        {
            return false;
        }
        if let (Some(sd), Some(ours), Some(s2)) = (s.sd, sum.std_dev, sigma2) {
            let c = corrected_std_dev(ours, sum.mean, s2);
            if (c - sd).abs() > 1e-6 * scale.max(sd) {
                return false;
            }
        }
        if self.use_dist
            && let Some(dist) = &o.dist
        {
            let mut r: Vec<f64> = all.iter().map(|v| round_3_significant(*v)).collect();
            r.sort_by(f64::total_cmp);
            if r.len() != dist.len() || r.iter().zip(dist).any(|(a, b)| !close(*a, *b, 1e-9)) {
                return false;
            }
        }
        true
    }

    /// A quantile that is an order statistic in two groups names its
    /// member by intersection.
    fn order_statistics(&self, known: &HashMap<(usize, usize), f64>) -> Vec<((usize, usize), f64)> {
        let mut seen: HashMap<(usize, u64), Vec<&Obs>> = HashMap::new();
        for o in self.obs {
            let Some(s) = o.stats else { continue };
            if !self.complete(o) {
                continue;
            }
            for (q, v) in s.quantiles() {
                let h = (o.n as f64 - 1.0) * q;
                if h.fract() == 0.0 {
                    seen.entry((o.pubx, v.to_bits())).or_default().push(o);
                }
            }
        }
        let mut out = Vec::new();
        for ((p, bits), groups) in seen {
            if groups.len() < 2 {
                continue;
            }
            let v = f64::from_bits(bits);
            let mut cand: BTreeSet<usize> = groups[0].members.iter().copied().collect();
            for g in &groups[1..] {
                let m: BTreeSet<usize> = g.members.iter().copied().collect();
                cand = cand.intersection(&m).copied().collect();
            }
            // The oracle's and the service's arithmetic may differ in the
            // last bit.
            if cand
                .iter()
                .any(|i| known.get(&(*i, p)).is_some_and(|y| close(*y, v, 1e-8)))
            {
                continue;
            }
            cand.retain(|i| !known.contains_key(&(*i, p)));
            if cand.len() == 1
                && let Some(&i) = cand.first()
            {
                out.push(((i, p), v));
            }
        }
        out
    }

    /// The pseudonymous distributions: a member's rounded value is in the
    /// distribution of every group it belongs to.
    fn distributions(&self, known: &HashMap<(usize, usize), f64>) -> HashMap<(usize, usize), f64> {
        let mut out = HashMap::new();
        for p in 0..2 {
            let groups: Vec<&Obs> = self
                .obs
                .iter()
                .filter(|o| o.pubx == p && o.dist.is_some() && self.complete(o))
                .collect();
            let mut left: Vec<Vec<u64>> = groups
                .iter()
                .map(|o| o.dist.iter().flatten().map(|v| v.to_bits()).collect())
                .collect();
            let mut assigned: HashMap<usize, u64> = HashMap::new();
            let take = |left: &mut Vec<Vec<u64>>, i: usize, r: u64| {
                for (g, o) in groups.iter().enumerate() {
                    if o.members.contains(&i)
                        && let Some(pos) = left[g].iter().position(|x| *x == r)
                    {
                        left[g].remove(pos);
                    }
                }
            };
            for i in 0..self.n {
                if let Some(y) = known.get(&(i, p)) {
                    let r = round_3_significant(*y).to_bits();
                    assigned.insert(i, r);
                    take(&mut left, i, r);
                }
            }
            loop {
                let mut progress = false;
                for i in 0..self.n {
                    if assigned.contains_key(&i) {
                        continue;
                    }
                    let mut cand: Option<BTreeSet<u64>> = None;
                    for (g, o) in groups.iter().enumerate() {
                        if !o.members.contains(&i) {
                            continue;
                        }
                        let s: BTreeSet<u64> = left[g].iter().copied().collect();
                        cand = Some(match cand {
                            None => s,
                            Some(c) => c.intersection(&s).copied().collect(),
                        });
                    }
                    if let Some(c) = cand
                        && c.len() == 1
                        && let Some(&r) = c.first()
                    {
                        assigned.insert(i, r);
                        take(&mut left, i, r);
                        out.insert((i, p), f64::from_bits(r));
                        progress = true;
                    }
                }
                if !progress {
                    break;
                }
            }
        }
        out
    }

    fn run(&self, known: &HashMap<(usize, usize), f64>) -> Learnt {
        let mut exact = known.clone();
        let mut how: HashMap<(usize, usize), String> = HashMap::new();
        let sigma2 = [self.sigma2(0), self.sigma2(1)];
        let mut searched = vec![usize::MAX; self.obs.len()];
        for round in 0..6 {
            let mut found: Vec<((usize, usize), f64, String)> = self
                .linear(&exact)
                .into_iter()
                .map(|(k, v)| (k, v, format!("linear/{round}")))
                .collect();
            found.extend(
                self.order_statistics(&exact)
                    .into_iter()
                    .map(|(k, v)| (k, v, format!("order/{round}"))),
            );
            for (oi, o) in self.obs.iter().enumerate() {
                // A group is searched again only when more of its members
                // became known.
                let unknown = o
                    .members
                    .iter()
                    .filter(|&&i| !exact.contains_key(&(i, o.pubx)))
                    .count();
                if o.stats.is_some() && searched[oi] != unknown {
                    searched[oi] = unknown;
                    found.extend(self.local(o, &exact, sigma2[o.pubx]).into_iter().map(
                        |(k, v)| {
                            (
                                k,
                                v,
                                format!("local/{round}/{}/p{}/{:?}", o.key, o.pubx, sigma2[o.pubx]),
                            )
                        },
                    ));
                }
            }
            let mut progress = false;
            for (k, v, h) in found {
                if let std::collections::hash_map::Entry::Vacant(e) = exact.entry(k) {
                    e.insert(v);
                    how.insert(k, h.clone());
                    progress = true;
                }
                // Linked members carry over to the other publication.
                let (i, p) = k;
                if self.linked[i] {
                    let q = 1 - p;
                    let y = v / self.coef(i, p) * self.coef(i, q);
                    if let std::collections::hash_map::Entry::Vacant(e) = exact.entry((i, q)) {
                        e.insert(y);
                        how.insert((i, q), format!("link/{h}"));
                        progress = true;
                    }
                }
            }
            if !progress {
                break;
            }
        }
        let approx = if self.use_dist {
            self.distributions(&exact)
        } else {
            HashMap::new()
        };
        for k in known.keys() {
            exact.remove(k);
        }
        Learnt { exact, approx, how }
    }
}

fn binomial(n: usize, k: usize) -> usize {
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Calls `visit` with every placement of `k` distinct unknowns into `n`
/// ordered slots (the rest known, in sorted order).
fn for_each_placement(n: usize, k: usize, slots: &mut Vec<usize>, visit: &mut dyn FnMut(&[usize])) {
    fn rec(
        pos: usize,
        placed: usize,
        used: &mut Vec<bool>,
        slots: &mut Vec<usize>,
        k: usize,
        visit: &mut dyn FnMut(&[usize]),
    ) {
        let n = slots.len();
        if pos == n {
            if placed == k {
                visit(slots);
            }
            return;
        }
        // Known value here (if enough known values remain).
        if n - pos > k - placed {
            slots[pos] = usize::MAX;
            rec(pos + 1, placed, used, slots, k, visit);
        }
        if placed < k {
            for u in 0..k {
                if !used[u] {
                    used[u] = true;
                    slots[pos] = u;
                    rec(pos + 1, placed + 1, used, slots, k, visit);
                    used[u] = false;
                }
            }
        }
    }
    slots.clear();
    slots.resize(n, usize::MAX);
    let mut used = vec![false; k];
    rec(0, 0, &mut used, slots, k, visit);
}

/// Whether each member's figures stayed the same between the
/// publications, from the attacker's side: it sits in a group with the
/// same members and the very same mean in both, for every key figure over
/// private figures alone (a member that corrected only its population
/// moves only the key figures over the population, by a known factor).
fn unchanged(obs: &[Vec<Obs>], d: usize, n: usize) -> Vec<Vec<bool>> {
    let mut by_fig = vec![vec![false; n]; figs(d).len()];
    for (f, list) in obs.iter().enumerate() {
        for a in list.iter().filter(|o| o.pubx == 0) {
            let Some(ma) = a.stats.and_then(|s| s.mean) else {
                continue;
            };
            for b in list
                .iter()
                .filter(|o| o.pubx == 1 && o.key == a.key && o.members == a.members)
            {
                if b.stats
                    .and_then(|s| s.mean)
                    .is_some_and(|mb| mb.to_bits() == ma.to_bits())
                    && a.n == b.n
                {
                    for &i in &a.members {
                        by_fig[f][i] = true;
                    }
                }
            }
        }
    }
    let member: Vec<bool> = (0..n)
        .map(|i| {
            figs(d)
                .iter()
                .enumerate()
                .filter(|(_, fg)| fg.den == Den::Private)
                .all(|(f, _)| by_fig[f][i])
        })
        .collect();
    figs(d)
        .iter()
        .enumerate()
        .map(|(f, fg)| {
            if fg.den == Den::Private {
                by_fig[f].clone()
            } else {
                member.clone()
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Estimates of true values
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Estimate {
    seed: u64,
    attacker: &'static str,
    mode: &'static str,
    method: &'static str,
    d: usize,
    f: usize,
    member: usize,
    member_id: String,
    pubx: usize,
    truth: f64,
    value: f64,
}

impl Estimate {
    fn within(&self, rel: f64) -> bool {
        (self.value - self.truth).abs() <= rel * self.truth.abs()
    }
}

struct Attacker {
    name: &'static str,
    own: Vec<usize>,
}

/// Everything one attacker estimates in one ring.
// Members, publications and key figures index several parallel tables
// (truths, learnt values, signs) at once.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn attack(
    ring: &Ring,
    catalog: &Catalog,
    collected: &Collected,
    noise: Option<&Noise>,
    policy: &Policy,
    attacker: &Attacker,
    use_dist: bool,
    out: &mut Vec<Estimate>,
) -> usize {
    let n = ring.members.len();
    let mode = if use_dist {
        "pseudonymous"
    } else {
        "aggregate"
    };
    let noise_on = noise.is_some();
    let ubar = mean_u(policy);
    let mut learnt_count = 0;
    // truths[d][p][i][f]
    let truths: Vec<[Vec<Vec<Option<f64>>>; 2]> = (0..DOMAINS.len())
        .map(|d| [0, 1].map(|p| ring.rows[d][p].iter().map(|r| key_values(d, r)).collect()))
        .collect();
    // What the attacker knows: its own members' released values (true
    // values when the noise is off, perturbed ones else), and the public
    // figures of the members that publish elsewhere when the noise is off.
    let released_of = |d: usize, p: usize, i: usize| -> Vec<Option<f64>> {
        match noise {
            Some(nz) => {
                let domain = catalog.domain(DOMAINS[d]).unwrap();
                key_values(
                    d,
                    &perturb(domain, nz, &ring.members[i].id, &ring.rows[d][p][i]),
                )
            }
            None => truths[d][p][i].clone(),
        }
    };
    for d in 0..DOMAINS.len() {
        let unchanged = unchanged(&collected.obs[d], d, n);
        // learnt[f]
        let mut learnt: Vec<Learnt> = Vec::new();
        for f in 0..figs(d).len() {
            let mut known = HashMap::new();
            for &i in &attacker.own {
                for p in 0..2 {
                    if let Some(y) = released_of(d, p, i)[f] {
                        known.insert((i, p), y);
                    }
                }
            }
            if !noise_on {
                for p in 0..2 {
                    if d == 0 {
                        if let Some(y) = truths[d][p][ring.published_all][f] {
                            known.insert((ring.published_all, p), y);
                        }
                        if figs(d)[f].id == "expenditure_per_capita"
                            && let Some(y) = truths[d][p][ring.published_budget][f]
                        {
                            known.insert((ring.published_budget, p), y);
                        }
                    }
                }
            }
            let fa = FigureAttack {
                d,
                f,
                obs: &collected.obs[d][f],
                n,
                den: [0, 1].map(|p| (0..n).map(|i| public_den(ring, d, f, i, p)).collect()),
                linked: unchanged[f].clone(),
                use_dist,
                noise_on,
            };
            let t = Instant::now();
            let l = fa.run(&known);
            if std::env::var("ATTACKER_DEBUG").is_ok() && t.elapsed().as_millis() > 200 {
                eprintln!(
                    "    solve {} {mode} {} {}: {:?}",
                    attacker.name,
                    DOMAINS[d],
                    figs(d)[f].id,
                    t.elapsed()
                );
            }
            learnt_count += l.exact.len();
            // Diagnostics only: what was learnt, checked against the
            // oracle (a wrong "exact" value would be a bug of this
            // attacker); nothing here feeds an estimate.
            if std::env::var("ATTACKER_DEBUG").is_ok() {
                for (&(i, p), &y) in &l.exact {
                    let truth = released_of(d, p, i)[f];
                    if !truth.is_some_and(|t| close(t, y, 1e-6)) {
                        eprintln!(
                            "WRONG {} {mode} {} {} member {i} pub {p}: learnt {y}, released {truth:?} by {:?}",
                            attacker.name,
                            DOMAINS[d],
                            figs(d)[f].id,
                            l.how.get(&(i, p))
                        );
                    }
                }
                for (&(i, p), &y) in &l.approx {
                    let truth = released_of(d, p, i)[f];
                    if !truth.is_some_and(|t| close(t, y, 0.006)) {
                        eprintln!(
                            "WRONG-APPROX {} {mode} {} {} member {i} pub {p}: learnt {y}, released {truth:?}",
                            attacker.name,
                            DOMAINS[d],
                            figs(d)[f].id
                        );
                    }
                }
            }
            learnt.push(l);
        }
        let value = |f: usize, i: usize, p: usize| -> Option<(f64, bool)> {
            let l = &learnt[f];
            l.exact
                .get(&(i, p))
                .map(|v| (*v, true))
                .or_else(|| l.approx.get(&(i, p)).map(|v| (*v, false)))
        };
        // What the attacker knows to be true: its own members' values, and
        // the figures published elsewhere.
        let fixed_truth = |f: usize, i: usize, p: usize| -> Option<f64> {
            let public = d == 0
                && (i == ring.published_all
                    || (i == ring.published_budget && figs(d)[f].id == "expenditure_per_capita"));
            (attacker.own.contains(&i) || public)
                .then(|| truths[d][p][i][f])
                .flatten()
        };
        let t = Instant::now();
        let flag_sign = if noise_on {
            flag_signs(ring, d, &collected.obs[d], &value, &fixed_truth, policy)
        } else {
            HashMap::new()
        };
        // Diagnostics only: how many fitted signs are right.
        if std::env::var("ATTACKER_DEBUG").is_ok()
            && let Some(nz) = noise
        {
            let right = flag_sign
                .iter()
                .filter(|(i, s)| nz.member_sign(DOMAINS[d], &ring.members[**i].id) == **s)
                .count();
            eprintln!(
                "    flags {} {mode} {}: {:?}, {} signs, {right} right",
                attacker.name,
                DOMAINS[d],
                t.elapsed(),
                flag_sign.len()
            );
        }
        for i in 0..n {
            if attacker.own.contains(&i) {
                continue;
            }
            for p in 0..2 {
                // The sign of the member in this domain, where a grid or a
                // published figure gives it away.
                let mut grid_sign: Option<f64> = None;
                let mut staff_exact: Option<f64> = None;
                if d == 0 && noise_on {
                    let lpc = value(fig_index(0, "loans_per_capita"), i, p);
                    let lpf = value(fig_index(0, "loans_per_fte"), i, p);
                    if let (Some((a, ea)), Some((b, eb))) = (lpc, lpf) {
                        let staff = ring.members[i].pop[p] * a / b;
                        if std::env::var("ATTACKER_DEBUG").is_ok() {
                            eprintln!(
                                "GRID {} {mode} member {i} pub {p}: staff' {staff} ({ea} {eb}), true {:?}",
                                attacker.name, ring.rows[0][p][i]["staff_fte"]
                            );
                        }
                        let slack = if ea && eb { 1e-9 } else { 0.012 };
                        let grid = |s: f64| -> Vec<f64> {
                            let (lo, hi) = if s > 0.0 {
                                (
                                    staff / (1.0 + policy.noise_max),
                                    staff / (1.0 + policy.noise_min),
                                )
                            } else {
                                (
                                    staff / (1.0 - policy.noise_min),
                                    staff / (1.0 - policy.noise_max),
                                )
                            };
                            let (lo, hi) = (lo * (1.0 - slack), hi * (1.0 + slack));
                            let mut k = (lo * 2.0).ceil().max(1.0);
                            let mut v = Vec::new();
                            while k / 2.0 <= hi {
                                v.push(k / 2.0);
                                k += 1.0;
                            }
                            v
                        };
                        let (plus, minus) = (grid(1.0), grid(-1.0));
                        if plus.is_empty() != minus.is_empty() {
                            let (s, pts) = if plus.is_empty() {
                                (-1.0, minus)
                            } else {
                                (1.0, plus)
                            };
                            grid_sign = Some(s);
                            if pts.len() == 1 {
                                staff_exact = Some(pts[0]);
                            }
                        }
                    }
                }
                let mut published_sign: Option<f64> = None;
                if d == 0 && noise_on && i == ring.published_budget {
                    let f = fig_index(0, "expenditure_per_capita");
                    if let (Some((y, _)), Some(t)) = (value(f, i, p), truths[d][p][i][f]) {
                        published_sign = Some(if y > t { 1.0 } else { -1.0 });
                    }
                }
                for f in 0..figs(d).len() {
                    let fg = figs(d)[f];
                    let Some(truth) = truths[d][p][i][f] else {
                        continue;
                    };
                    if truth == 0.0 {
                        continue;
                    }
                    if d == 0
                        && (i == ring.published_all
                            || (i == ring.published_budget && fg.id == "expenditure_per_capita"))
                    {
                        continue;
                    }
                    let mut push = |method: &'static str, v: f64| {
                        out.push(Estimate {
                            seed: ring.seed,
                            attacker: attacker.name,
                            mode,
                            method,
                            d,
                            f,
                            member: i,
                            member_id: ring.members[i].id.clone(),
                            pubx: p,
                            truth,
                            value: v,
                        });
                    };
                    // A coin per (member, key figure): the sign the noise
                    // hides, guessed.
                    let coin =
                        if Rng(ring.seed ^ ((i as u64) << 32) ^ ((d as u64) << 16) ^ f as u64)
                            .next_u64()
                            & 1
                            == 0
                        {
                            1.0
                        } else {
                            -1.0
                        };
                    let released = value(f, i, p);
                    if let Some((y, _)) = released {
                        push("released", y);
                        if noise_on {
                            push("sign_guess", y / model_multiplier(&fg, coin, ubar));
                            if let Some(s) = grid_sign {
                                push("grid_sign", y / model_multiplier(&fg, s, ubar));
                            }
                            if let Some(s) = flag_sign.get(&i) {
                                push("flag_sign", y / model_multiplier(&fg, *s, ubar));
                            }
                            if let Some(s) = published_sign {
                                push("published_sign", y / model_multiplier(&fg, s, ubar));
                            }
                        }
                    }
                    // Key figures released as means only, from identities
                    // between key figures released in full.
                    match fg.id {
                        "fte_per_10000" => {
                            if let Some(st) = staff_exact {
                                push("grid_exact", 10000.0 * st / ring.members[i].pop[p]);
                            } else if let (Some((a, _)), Some((b, _))) = (
                                value(fig_index(0, "loans_per_capita"), i, p),
                                value(fig_index(0, "loans_per_fte"), i, p),
                            ) {
                                let y = 10000.0 * a / b;
                                let s = grid_sign.unwrap_or(coin);
                                push(
                                    "fte_identity",
                                    if noise_on {
                                        y / model_multiplier(&fg, s, ubar)
                                    } else {
                                        y
                                    },
                                );
                            }
                        }
                        "students_per_weekly_hour" => {
                            if let (Some((a, _)), Some((b, _))) = (
                                value(fig_index(1, "students_per_1000"), i, p),
                                value(fig_index(1, "weekly_hours_per_1000"), i, p),
                            ) {
                                push("identity", a / b);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    learnt_count
}

/// The standard normal distribution function (Abramowitz and Stegun
/// 7.1.26, good to 1.5e-7).
fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
    }
}

/// One noise flag as a constraint on the signs of a group's members: the
/// flag says how far the released statistic is from the true one, and the
/// true one is `fixed + Σ weight · y′ / M(s)` for members whose released
/// value `y′` the attacker learnt.
struct FlagConstraint {
    fixed: f64,
    terms: Vec<(usize, f64, bool)>,
    released: f64,
    flag: u8,
    /// `1/M(s)` and its relative half-width over `u`, for `s = +1, −1`.
    inv: [(f64, f64); 2],
}

impl FlagConstraint {
    fn log_likelihood(&self, signs: &HashMap<usize, f64>) -> f64 {
        let mut t = self.fixed;
        let mut var = 0.0;
        for &(i, wy, exact) in &self.terms {
            let (inv, hw) = self.inv[usize::from(signs.get(&i).copied().unwrap_or(1.0) < 0.0)];
            let c = wy * inv;
            t += c;
            var += (c * hw).powi(2) / 3.0 + if exact { 0.0 } else { (c * 0.003).powi(2) };
        }
        if t == 0.0 {
            return 0.0;
        }
        let r = ((self.released - t) / t).abs();
        let sd = (var.sqrt() / t.abs()).max(1e-4);
        let (lo, hi) = match self.flag {
            0 => (f64::NEG_INFINITY, 0.02),
            1 => (0.02, 0.05),
            _ => (0.05, f64::INFINITY),
        };
        let p = phi((hi - r) / sd) - phi((lo - r) / sd);
        p.max(1e-12).ln()
    }
}

/// The members' signs in a domain that the noise flags of rule 17 give
/// away: the flags of the mean and of the weighted ratio are set from the
/// true statistic, so each is a constraint on the signs of the group's
/// members whose released values the attacker learnt. Maximum likelihood
/// over all signs (coordinate ascent from several starts); a sign is
/// reported where flipping it costs more than a margin.
fn flag_signs(
    ring: &Ring,
    d: usize,
    obs: &[Vec<Obs>],
    value: &dyn Fn(usize, usize, usize) -> Option<(f64, bool)>,
    fixed_truth: &dyn Fn(usize, usize, usize) -> Option<f64>,
    policy: &Policy,
) -> HashMap<usize, f64> {
    let ubar = mean_u(policy);
    let mut cons: Vec<FlagConstraint> = Vec::new();
    for (f, list) in obs.iter().enumerate() {
        let fg = figs(d)[f];
        // Differences of a plus and a minus figure move by an amount the
        // attacker cannot model from one multiplier.
        if fg.id.starts_with("net_cost") {
            continue;
        }
        let inv = [1.0, -1.0].map(|s| {
            let m = |u: f64| 1.0 / model_multiplier(&fg, s, u);
            let mid = m(ubar);
            (
                mid,
                ((m(policy.noise_min) - m(policy.noise_max)) / 2.0 / mid).abs(),
            )
        });
        for o in list {
            let Some(st) = o.stats else { continue };
            if o.n != o.members.len() || o.n == 0 {
                continue;
            }
            let p = o.pubx;
            for k in 0..2 {
                let (Some(flag), Some(released)) =
                    (o.flags[k], if k == 0 { st.mean } else { st.weighted })
                else {
                    continue;
                };
                if k == 1 && fg.den == Den::Private {
                    continue;
                }
                let dens: Vec<f64> = o
                    .members
                    .iter()
                    .map(|&i| public_den(ring, d, f, i, p))
                    .collect();
                let total: f64 = dens.iter().sum();
                let mut fixed = 0.0;
                let mut terms = Vec::new();
                let mut complete = true;
                for (&i, den) in o.members.iter().zip(&dens) {
                    let w = if k == 0 {
                        1.0 / o.n as f64
                    } else {
                        den / total
                    };
                    if let Some(t) = fixed_truth(f, i, p) {
                        fixed += w * t;
                    } else if let Some((y, exact)) = value(f, i, p) {
                        terms.push((i, w * y, exact));
                    } else {
                        complete = false;
                        break;
                    }
                }
                if complete && !terms.is_empty() {
                    cons.push(FlagConstraint {
                        fixed,
                        terms,
                        released,
                        flag,
                        inv,
                    });
                }
            }
        }
    }
    let members: BTreeSet<usize> = cons
        .iter()
        .flat_map(|c| c.terms.iter().map(|t| t.0))
        .collect();
    if members.is_empty() {
        return HashMap::new();
    }
    let mut involving: HashMap<usize, Vec<usize>> = HashMap::new();
    for (ci, c) in cons.iter().enumerate() {
        for t in &c.terms {
            involving.entry(t.0).or_default().push(ci);
        }
    }
    let total =
        |signs: &HashMap<usize, f64>| cons.iter().map(|c| c.log_likelihood(signs)).sum::<f64>();
    let local = |signs: &HashMap<usize, f64>, i: usize| {
        involving[&i]
            .iter()
            .map(|&c| cons[c].log_likelihood(signs))
            .sum::<f64>()
    };
    let mut rng = Rng(ring.seed ^ 0xF1A6 ^ d as u64);
    let mut best: Option<(f64, HashMap<usize, f64>)> = None;
    for _ in 0..8 {
        let mut signs: HashMap<usize, f64> = members
            .iter()
            .map(|&i| (i, if rng.chance(0.5) { 1.0 } else { -1.0 }))
            .collect();
        for _ in 0..20 {
            let mut changed = false;
            for &i in &members {
                let here = local(&signs, i);
                let s = signs[&i];
                signs.insert(i, -s);
                if local(&signs, i) > here + 1e-9 {
                    changed = true;
                } else {
                    signs.insert(i, s);
                }
            }
            if !changed {
                break;
            }
        }
        let ll = total(&signs);
        if best.as_ref().is_none_or(|(b, _)| ll > *b) {
            best = Some((ll, signs));
        }
    }
    let Some((_, mut signs)) = best else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for &i in &members {
        let here = local(&signs, i);
        let s = signs[&i];
        signs.insert(i, -s);
        let flipped = local(&signs, i);
        signs.insert(i, s);
        if here - flipped > 3.0 {
            out.insert(i, s);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// One ring, and the tally over rings
// ---------------------------------------------------------------------------

struct RingResult {
    estimates: Vec<Estimate>,
    requests: usize,
    conflicts: usize,
    learnt: usize,
}

async fn attack_ring(seed: u64, policy: Policy) -> RingResult {
    let catalog = Catalog::bundled().unwrap();
    for (d, domain) in DOMAINS.iter().enumerate() {
        let dom = catalog.domain(domain).unwrap();
        let ids: Vec<&str> = dom.key_figures.iter().map(|k| k.id.as_str()).collect();
        let ours: Vec<&str> = figs(d).iter().map(|f| f.id).collect();
        assert_eq!(ids, ours, "the attacker's model of {domain}");
    }
    let ring = generate(seed);
    let server = start_ring(&ring, policy).await;
    let app = &server.app;
    // The service computes what the ring's rows say.
    for (d, domain) in DOMAINS.iter().enumerate() {
        for (i, m) in ring.members.iter().enumerate() {
            let a = app
                .get(
                    &format!("/api/v1/figures/{domain}/{YEAR}?member_id={}", m.id),
                    Some(&app.admin),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            let ours = key_values(d, &ring.rows[d][1][i]);
            for (f, fg) in figs(d).iter().enumerate() {
                let theirs = a.body["key"][fg.id].as_f64();
                match (ours[f], theirs) {
                    (Some(x), Some(y)) => assert!(
                        close(x, y, 1e-12),
                        "{domain} {} {}: {x} vs {y}",
                        m.id,
                        fg.id
                    ),
                    (x, y) => assert_eq!(x.is_some(), y.is_some(), "{domain} {} {}", m.id, fg.id),
                }
            }
        }
    }
    let cast = Cast {
        members: [
            app.token(Role::Member, Some(&ring.members[ring.coalition[0]].id))
                .await,
            app.token(Role::Member, Some(&ring.members[ring.coalition[1]].id))
                .await,
        ],
        consultant: app
            .consultant(
                "beratung",
                &ring.grants.map(|g| ring.members[g].id.as_str()),
            )
            .await,
    };
    let t = Instant::now();
    let collected = collect(&ring, &catalog, &server, &cast).await;
    let collect_time = t.elapsed();
    // The oracle of the attackers' own perturbed figures agrees with what
    // admin sees beside the true statistics.
    if let Some(noise) = &server.noise {
        for (d, domain) in DOMAINS.iter().enumerate() {
            let dom = catalog.domain(domain).unwrap();
            for (f, fg) in figs(d).iter().enumerate() {
                let a = app
                    .get(
                        &format!(
                            "/api/v1/comparisons/{domain}/{YEAR}?figure={}&group_by=all",
                            fg.id
                        ),
                        Some(&app.admin),
                    )
                    .await;
                let mean = a.body["groups"][0]["perturbed"]["stats"]["mean"]
                    .as_f64()
                    .unwrap();
                let ours: Vec<f64> = ring
                    .members
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        key_values(d, &perturb(dom, noise, &m.id, &ring.rows[d][1][i]))[f]
                    })
                    .collect();
                let ours = ours.iter().sum::<f64>() / ours.len() as f64;
                assert!(
                    close(mean, ours, 1e-9),
                    "oracle {domain} {}: {mean} vs {ours}",
                    fg.id
                );
            }
        }
    }
    let attackers = [
        Attacker {
            name: "coalition",
            own: ring.coalition.to_vec(),
        },
        Attacker {
            name: "consultant",
            own: ring.grants.to_vec(),
        },
    ];
    let mut estimates = Vec::new();
    let mut learnt = 0;
    let t = Instant::now();
    for attacker in &attackers {
        for use_dist in [false, true] {
            learnt += attack(
                &ring,
                &catalog,
                &collected,
                server.noise.as_ref(),
                &policy,
                attacker,
                use_dist,
                &mut estimates,
            );
        }
    }
    if std::env::var("ATTACKER_DEBUG").is_ok() {
        eprintln!("  collect {collect_time:?}, attack {:?}", t.elapsed());
    }
    RingResult {
        estimates,
        requests: collected.requests,
        conflicts: collected.conflicts,
        learnt,
    }
}

/// How many rings a test attacks: `default`, or `PROPTEST_CASES`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the attack on `cases` random rings under `policy` (each case a
/// real server; nothing fails inside a case, so nothing is shrunk: the
/// tally over all rings is what the tests judge).
fn attack_rings(policy: Policy, cases: u32) -> Vec<RingResult> {
    let results = Mutex::new(Vec::new());
    // ATTACKER_SEED=S repeats one ring exactly (its secret follows from
    // the seed).
    if let Some(seed) = std::env::var("ATTACKER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        return vec![rt.block_on(attack_ring(seed, policy))];
    }
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::with_cases(cases)
    });
    runner
        .run(&any::<u64>(), |seed| {
            let t = Instant::now();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let r = rt.block_on(attack_ring(seed, policy));
            eprintln!(
                "ring seed {seed}: {} answers ({} differing between roles), {} single values learnt, {} estimates, {:?}",
                r.requests,
                r.conflicts,
                r.learnt,
                r.estimates.len(),
                t.elapsed()
            );
            results.lock().unwrap().push(r);
            Ok(())
        })
        .unwrap();
    results.into_inner().unwrap()
}

/// Per (attacker/visibility, method): estimates, within `rel` of the
/// truth, exact (within 1e-9).
fn tally(
    results: &[RingResult],
    rel: f64,
) -> BTreeMap<(String, &'static str), (usize, usize, usize)> {
    let mut t: BTreeMap<(String, &'static str), (usize, usize, usize)> = BTreeMap::new();
    for e in results.iter().flat_map(|r| &r.estimates) {
        let entry = t
            .entry((format!("{}/{}", e.attacker, e.mode), e.method))
            .or_default();
        entry.0 += 1;
        entry.1 += usize::from(e.within(rel));
        entry.2 += usize::from(e.within(1e-9));
    }
    t
}

fn report(results: &[RingResult], rel: f64) -> String {
    let mut s = String::new();
    for ((who, method), (n, hit, exact)) in tally(results, rel) {
        s.push_str(&format!(
            "  {who:<24} {method:<15} {n:>5} estimates, {hit:>5} within ±{rel} ({:.3}), {exact} exact\n",
            hit as f64 / n.max(1) as f64
        ));
    }
    if std::env::var("ATTACKER_DEBUG").is_ok() {
        let mut by: BTreeMap<(String, &'static str, &'static str), (usize, usize)> =
            BTreeMap::new();
        for e in results.iter().flat_map(|r| &r.estimates) {
            let v = by
                .entry((
                    format!("{}/{}", e.attacker, e.mode),
                    e.method,
                    figs(e.d)[e.f].id,
                ))
                .or_default();
            v.0 += 1;
            v.1 += usize::from(e.within(rel));
        }
        for ((w, m, f), (n, h)) in by {
            s.push_str(&format!("    {w:<24} {m:<15} {f:<28} {n:>4} {h:>4}\n"));
        }
    }
    s
}

/// A few estimates of a method that landed, as evidence.
fn examples(results: &[RingResult], method: &str, rel: f64) -> String {
    let mut s = String::new();
    for e in results
        .iter()
        .flat_map(|r| &r.estimates)
        .filter(|e| e.method == method && e.within(rel))
        .take(4)
    {
        s.push_str(&format!(
            "    seed {} {}/{} {} {} member {} publication {}: true {:.6}, estimate {:.6}\n",
            e.seed,
            e.attacker,
            e.mode,
            DOMAINS[e.d],
            figs(e.d)[e.f].id,
            e.member_id,
            e.pubx + 1,
            e.truth,
            e.value
        ));
    }
    s
}

/// The upper tail `P(X ≥ k)` of a binomial(n, 1/2).
fn binomial_tail(n: usize, k: usize) -> f64 {
    let ln_choose = |j: usize| -> f64 {
        (1..=j)
            .map(|i| ((n - j + i) as f64 / i as f64).ln())
            .sum::<f64>()
    };
    (k..=n)
        .map(|j| (ln_choose(j) - n as f64 * std::f64::consts::LN_2).exp())
        .sum::<f64>()
        .min(1.0)
}

/// How a method fares over all rings, attackers and targets. Estimates of
/// one member in one domain hang together (a sign learnt or guessed
/// serves all its key figures, both publications repeat a value), so the
/// unit of the judgement is the target: a (ring, member, domain) on which
/// most of the method's estimates land within ± noise_min.
struct Judgement {
    estimates: usize,
    within: usize,
    exact: usize,
    targets: usize,
    targets_within: usize,
    /// `P(X ≥ targets_within)` for X ~ binomial(targets, 1/2): how likely
    /// so many hits are for an attacker that lands half the time.
    p_value: f64,
}

fn judge(results: &[RingResult], rel: f64) -> BTreeMap<&'static str, Judgement> {
    judge_by(results, rel, |e| (e.method, None))
        .into_iter()
        .map(|((m, _), j)| (m, j))
        .collect()
}

/// The same per (method, key figure): a target is then a (ring, member)
/// (members' signs are independent, so targets are too).
fn judge_by_figure(
    results: &[RingResult],
    rel: f64,
) -> BTreeMap<(&'static str, Option<&'static str>), Judgement> {
    judge_by(results, rel, |e| (e.method, Some(figs(e.d)[e.f].id)))
}

type JudgementKey = (&'static str, Option<&'static str>);

fn judge_by(
    results: &[RingResult],
    rel: f64,
    key: impl Fn(&Estimate) -> JudgementKey,
) -> BTreeMap<JudgementKey, Judgement> {
    type Targets = BTreeMap<(u64, usize, usize), (usize, usize)>;
    let mut per: BTreeMap<JudgementKey, Targets> = BTreeMap::new();
    let mut out: BTreeMap<JudgementKey, Judgement> = BTreeMap::new();
    for e in results.iter().flat_map(|r| &r.estimates) {
        let k = key(e);
        let t = per
            .entry(k)
            .or_default()
            .entry((e.seed, e.member, e.d))
            .or_default();
        t.0 += 1;
        t.1 += usize::from(e.within(rel));
        let j = out.entry(k).or_insert(Judgement {
            estimates: 0,
            within: 0,
            exact: 0,
            targets: 0,
            targets_within: 0,
            p_value: 1.0,
        });
        j.estimates += 1;
        j.within += usize::from(e.within(rel));
        j.exact += usize::from(e.within(1e-9));
    }
    for (k, targets) in per {
        if let Some(j) = out.get_mut(&k) {
            j.targets = targets.len();
            j.targets_within = targets.values().filter(|(n, h)| 2 * h > *n).count();
            j.p_value = binomial_tail(j.targets, j.targets_within);
        }
    }
    out
}

/// "More often than about half the time", judged: so many targets within
/// ± noise_min that an attacker landing half the time would reach it with
/// probability under this, per method over all key figures...
const SIGNIFICANCE: f64 = 1e-3;
/// ...and per method and key figure (some 200 such pairs are judged: a
/// stricter level keeps the chance of a false alarm small).
const SIGNIFICANCE_PER_FIGURE: f64 = 1e-5;

/// What the methods are, for failure messages.
const LEGEND: &str = "\
  released       the perturbed value of a single member, as learnt from the answers
  sign_guess     the released value divided by 1 ± E[u], the sign by a coin
  flag_sign      the same with the member's sign fitted to the noise flags of rule 17 as flags
                 set from the true mean and weighted ratio would be (maximum likelihood over all
                 members' signs, every flag of every group whose members' values are learnt)
  grid_sign      the same with the sign from staff in half posts: staff' = population ×
                 loans_per_capita' / loans_per_fte' has a half post within 1 ± [noise_min,
                 noise_max] on one side only
  grid_exact     fte_per_10000 (released as a mean only) from that half post: exact
  identity       students_per_weekly_hour, released as a mean only, from two key figures
                 released in full: students_per_1000' / weekly_hours_per_1000' (students and
                 weekly hours are both minus, so the noise cancels)
  fte_identity   fte_per_10000, released as a mean only, as 10000 × loans_per_capita' /
                 loans_per_fte', corrected by 1 ± E[u] with a coin (or the grid's sign)
  published_sign (not judged) the sign from expenditure_total that a member publishes in its
                 budget, applied to its other library key figures (docs/disclosure.md, Limits)";

/// The methods of `results` that beat rule 15 (significantly more than
/// half of the targets within ± noise_min, or any exact estimate), among
/// `methods` (all but `published_sign` if empty).
fn violations(results: &[RingResult], rel: f64, methods: &[&str]) -> Vec<String> {
    let judged = |method: &str| {
        if methods.is_empty() {
            method != "published_sign"
        } else {
            methods.contains(&method)
        }
    };
    let mut out = Vec::new();
    for (method, j) in judge(results, rel) {
        if judged(method) && (j.exact > 0 || j.p_value < SIGNIFICANCE) {
            out.push(format!(
                "{method}: {} of {} targets mostly within ±{rel} (p = {:.1e} for an attacker landing half the time); {} of {} estimates within, {} exact\n{}",
                j.targets_within,
                j.targets,
                j.p_value,
                j.within,
                j.estimates,
                j.exact,
                examples(results, method, rel)
            ));
        }
    }
    for ((method, figure), j) in judge_by_figure(results, rel) {
        if judged(method) && j.p_value < SIGNIFICANCE_PER_FIGURE {
            out.push(format!(
                "{method} on {}: {} of {} members mostly within ±{rel} (p = {:.1e}); {} of {} estimates within\n",
                figure.unwrap_or(""),
                j.targets_within,
                j.targets,
                j.p_value,
                j.within,
                j.estimates,
            ));
        }
    }
    out
}

fn judgement_report(results: &[RingResult], rel: f64) -> String {
    let mut s = String::new();
    for (method, j) in judge(results, rel) {
        s.push_str(&format!(
            "  {method:<15} {:>4} of {:>4} targets mostly within ±{rel} (p = {:.1e}), {:>5} of {:>5} estimates ({:.3}), {} exact\n",
            j.targets_within,
            j.targets,
            j.p_value,
            j.within,
            j.estimates,
            j.within as f64 / j.estimates.max(1) as f64,
            j.exact
        ));
    }
    s
}

/// Runs the given rings (fixed seeds: a ring's secret follows from its
/// seed, so these repeat exactly).
fn attack_seeds(policy: Policy, seeds: &[u64]) -> Vec<RingResult> {
    seeds
        .iter()
        .map(|&seed| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let t = Instant::now();
            let r = rt.block_on(attack_ring(seed, policy));
            eprintln!(
                "ring seed {seed}: {} estimates, {:?}",
                r.estimates.len(),
                t.elapsed()
            );
            r
        })
        .collect()
}

fn defaults() -> Policy {
    Policy {
        visibility: Visibility::Pseudonymous,
        ..Policy::default()
    }
}

/// (a) With the noise off, the attacker is real: it recovers members'
/// exact values from answers that pass rules 1–12, so the test below can
/// fail.
#[test]
fn attacker_recovers_exact_values_without_noise() {
    let policy = Policy {
        noise_min: 0.0,
        noise_max: 0.0,
        ..defaults()
    };
    let results = attack_rings(policy, cases(4));
    eprintln!(
        "noise off:\n{}{}",
        report(&results, 0.05),
        judgement_report(&results, 0.05)
    );
    let exact = results
        .iter()
        .flat_map(|r| &r.estimates)
        .filter(|e| e.method == "released" && e.within(1e-6))
        .count();
    assert!(
        exact > 0,
        "without noise the attacker recovers no exact value: the attack is not real"
    );
}

/// (b) The acceptance test of rules 14–17: with the default noise, no
/// estimate of a non-zero value lands within ± noise_min of the truth
/// more often than about half the time, and none is exact.
#[test]
fn attacker_gains_nothing_beyond_noise_min() {
    let policy = defaults();
    let results = attack_rings(policy, cases(4));
    eprintln!(
        "noise on (defaults):\n{}{}",
        report(&results, policy.noise_min),
        judgement_report(&results, policy.noise_min)
    );
    let found = violations(&results, policy.noise_min, &[]);
    assert!(
        found.is_empty(),
        "rule 15 does not hold against rule 13's attacker:\n{}\nmethods:\n{LEGEND}",
        found.join("")
    );
}

/// Three channels this attacker found open (at commit d6a3d58, where this
/// test fails on these two rings) and that are closed since, kept shut:
///
/// - noise flags set from the true mean and weighted ratio (rule 17 as
///   first built): with single members' perturbed values learnt (the
///   weighted ratio, Σv², the quantiles and the distributions give them
///   away; the audit of rule 11 counts sums only), each flag was a
///   constraint on the members' signs, and a maximum-likelihood fit over
///   all flags gave the sign of 89 of 90 targets (`flag_sign`: 0.96 of its
///   estimates within ± noise_min). Closed by 5dd056e: the flags come
///   from the perturbed values.
/// - staff in half posts behind `population × loans_per_capita /
///   loans_per_fte`: for a small library only one side of the noise held a
///   half post, which gave the member's sign for all its library figures
///   (`grid_sign`: all within) and its exact `fte_per_10000`, released as
///   a mean only (`grid_exact`: exact). Closed by 5dd056e:
///   `loans_per_fte` is released as a mean only too.
/// - `students_per_weekly_hour`, released as a mean only because students
///   and weekly hours had the same role sign, is `students_per_1000 /
///   weekly_hours_per_1000`, two key figures released in full, and the
///   noise cancelled in the ratio (`identity`: 46 of 46 targets within).
///   Closed by 9aecebe: students have a sign of their own.
#[test]
fn attacker_closed_channels_stay_closed() {
    let policy = defaults();
    let results = attack_seeds(
        policy,
        &[4_821_390_232_047_441_107, 2_747_939_150_806_340_314],
    );
    eprintln!("{}", judgement_report(&results, policy.noise_min));
    let found = violations(
        &results,
        policy.noise_min,
        &["flag_sign", "grid_sign", "grid_exact", "identity"],
    );
    assert!(found.is_empty(), "{}\nmethods:\n{LEGEND}", found.join(""));
}
