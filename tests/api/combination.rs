//! Answers in combination (rule 11) over random small rings: property test.
//!
//! Each case builds a small ring on a fresh data directory, drives the real
//! [`Engine`] through admin uploads, publications and custom groups, collects
//! everything a non-admin caller can read (every publication, every built-in
//! dimension, every custom group, as analyst, who sees the most) and hands the
//! released sums to an auditor of its own: exact Gaussian elimination over the
//! rationals, independent of the service's audit crate. Neither the outside
//! caller nor any member knowing its own values may determine a single value
//! or the total of a withheld group (unless the rows released before that
//! group's publication already determined it). A brute force over every small
//! set of members' values checks the same from another side.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use vergleichsring_catalog::{Catalog, MemberKind};
use vergleichsring_engine::compare::{Comparison, GroupResult};
use vergleichsring_engine::disclosure::{Audience, Policy};
use vergleichsring_engine::publication::Trigger;
use vergleichsring_engine::{Engine, EngineError, StatsRequest, SubmitRequest};
use vergleichsring_store::{CustomGroup, Member, Store};

use crate::helpers::{PARQUET, library_bulk_file, library_row};

const THRESHOLD: usize = 5;
const DOMAIN: &str = "library";
const YEAR: i32 = 2024;
const FIGURE: &str = "loans_per_capita";
const DIMS: [&str; 4] = ["all", "size_class", "land", "kind"];
/// GK5, GK4 and GK3 for municipalities.
const POPULATIONS: [f64; 3] = [30_000.0, 60_000.0, 120_000.0];

// ---------------------------------------------------------------------------
// Exact arithmetic
// ---------------------------------------------------------------------------

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A rational number, normalised: `d > 0`, `gcd(n, d) == 1`. Overflow
/// panics (it would be a bug of the test, not of the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Q {
    n: i128,
    d: i128,
}

impl Q {
    const ZERO: Q = Q { n: 0, d: 1 };
    const ONE: Q = Q { n: 1, d: 1 };

    fn new(n: i128, d: i128) -> Q {
        assert!(d != 0, "division by zero in the auditor");
        let g = gcd(n, d).max(1);
        let s = if d < 0 { -1 } else { 1 };
        Q {
            n: s * n / g,
            d: s * d / g,
        }
    }

    fn is_zero(self) -> bool {
        self.n == 0
    }

    fn mul(self, o: Q) -> Q {
        let g1 = gcd(self.n, o.d).max(1);
        let g2 = gcd(o.n, self.d).max(1);
        let n = (self.n / g1)
            .checked_mul(o.n / g2)
            .expect("auditor overflow (mul)");
        let d = (self.d / g2)
            .checked_mul(o.d / g1)
            .expect("auditor overflow (mul)");
        Q::new(n, d)
    }

    fn sub(self, o: Q) -> Q {
        let g = gcd(self.d, o.d).max(1);
        let l = (self.d / g)
            .checked_mul(o.d)
            .expect("auditor overflow (sub)");
        let a = self
            .n
            .checked_mul(l / self.d)
            .expect("auditor overflow (sub)");
        let b = o.n.checked_mul(l / o.d).expect("auditor overflow (sub)");
        Q::new(a.checked_sub(b).expect("auditor overflow (sub)"), l)
    }

    fn div(self, o: Q) -> Q {
        assert!(!o.is_zero(), "division by zero in the auditor");
        self.mul(Q::new(o.d, o.n))
    }
}

/// The row space of released sums, kept in reduced row echelon form: every
/// pivot column is 1 in its row and 0 in all others.
struct Span {
    cols: usize,
    rows: Vec<Vec<Q>>,
    pivots: Vec<usize>,
}

impl Span {
    fn new(cols: usize) -> Span {
        Span {
            cols,
            rows: Vec::new(),
            pivots: Vec::new(),
        }
    }

    fn indicator(cols: usize, set: &[usize]) -> Vec<Q> {
        let mut v = vec![Q::ZERO; cols];
        for &i in set {
            v[i] = Q::ONE;
        }
        v
    }

    fn reduce(&self, mut v: Vec<Q>) -> Vec<Q> {
        for (row, &p) in self.rows.iter().zip(&self.pivots) {
            let f = v[p];
            if f.is_zero() {
                continue;
            }
            for (x, r) in v.iter_mut().zip(row) {
                if !r.is_zero() {
                    *x = x.sub(f.mul(*r));
                }
            }
        }
        v
    }

    fn add(&mut self, v: Vec<Q>) {
        let mut v = self.reduce(v);
        let Some(p) = v.iter().position(|x| !x.is_zero()) else {
            return;
        };
        let lead = v[p];
        for x in &mut v {
            *x = x.div(lead);
        }
        for row in &mut self.rows {
            let f = row[p];
            if f.is_zero() {
                continue;
            }
            for (x, r) in row.iter_mut().zip(&v) {
                if !r.is_zero() {
                    *x = x.sub(f.mul(*r));
                }
            }
        }
        self.rows.push(v);
        self.pivots.push(p);
    }

    fn add_set(&mut self, set: &[usize]) {
        self.add(Span::indicator(self.cols, set));
    }

    fn rank(&self) -> usize {
        self.rows.len()
    }

    /// Whether the sum over `set` is determined: rank([rows]) ==
    /// rank([rows; 1_set]), i.e. the indicator reduces to zero.
    fn determines(&self, set: &[usize]) -> bool {
        self.reduce(Span::indicator(self.cols, set))
            .iter()
            .all(|x| x.is_zero())
    }

    /// A basis of the null space {z : A z = 0}, each vector scaled to
    /// integers. A set's sum is determined iff it is orthogonal to all of
    /// them.
    fn null_space(&self) -> Vec<Vec<i128>> {
        let pivots: HashSet<usize> = self.pivots.iter().copied().collect();
        (0..self.cols)
            .filter(|c| !pivots.contains(c))
            .map(|free| {
                let mut z = vec![Q::ZERO; self.cols];
                z[free] = Q::ONE;
                for (row, &p) in self.rows.iter().zip(&self.pivots) {
                    z[p] = Q::ZERO.sub(row[free]);
                }
                let lcm = z.iter().fold(1i128, |l, q| {
                    (l / gcd(l, q.d))
                        .checked_mul(q.d)
                        .expect("auditor overflow (lcm)")
                });
                z.iter()
                    .map(|q| q.n.checked_mul(lcm / q.d).expect("auditor overflow"))
                    .collect()
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The released system and its auditor
// ---------------------------------------------------------------------------

/// One released or withheld group: the variables of its members with a
/// value, and when it entered the record (index into the timeline).
#[derive(Debug, Clone)]
struct Row {
    pos: usize,
    vars: Vec<usize>,
    label: String,
}

/// Everything released to non-admin callers for one key figure of one
/// (domain, year), as this test sees it.
#[derive(Debug, Default)]
struct System {
    /// Variable index by (member, value bits).
    index: HashMap<(usize, u64), usize>,
    /// Per variable: owning member and a readable name.
    owner: Vec<usize>,
    names: Vec<String>,
    /// Publications and custom-group releases in the order they happened.
    timeline: Vec<String>,
    released: Vec<Row>,
    protected: Vec<Row>,
    /// Per publication: its timeline position and its current variables.
    publications: Vec<(usize, Vec<usize>)>,
}

impl System {
    fn var(&mut self, member: usize, id: &str, bits: u64) -> usize {
        let next = self.owner.len();
        *self.index.entry((member, bits)).or_insert_with(|| {
            self.owner.push(member);
            self.names
                .push(format!("{id}={:.6}#{next}", f64::from_bits(bits)));
            next
        })
    }

    fn describe(&self) -> String {
        let mut s = String::from("timeline:\n");
        for (i, t) in self.timeline.iter().enumerate() {
            let _ = writeln!(s, "  [{i}] {t}");
        }
        let show = |vars: &[usize]| {
            vars.iter()
                .map(|&v| self.names[v].clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str("released sums:\n");
        for r in &self.released {
            let _ = writeln!(s, "  [{}] {}: {{{}}}", r.pos, r.label, show(&r.vars));
        }
        s.push_str("withheld groups:\n");
        for r in &self.protected {
            let _ = writeln!(s, "  [{}] {}: {{{}}}", r.pos, r.label, show(&r.vars));
        }
        s
    }

    fn set_names(&self, vars: &[usize]) -> String {
        vars.iter()
            .map(|&v| self.names[v].clone())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The auditor: for the outside caller and for every member knowing its
    /// own variables, nothing disclosed. `Err` names the caller, what is
    /// determined, and the released rows.
    fn audit(&self, members: &[String]) -> Result<AuditStats, String> {
        let nv = self.owner.len();
        let mut stats = AuditStats::default();
        let callers = std::iter::once(None).chain((0..members.len()).map(Some));
        for caller in callers {
            let who = caller.map_or_else(
                || "the outside caller".to_string(),
                |m| format!("member {}", members[m]),
            );
            let known: BTreeSet<usize> =
                (0..nv).filter(|&v| Some(self.owner[v]) == caller).collect();
            let span_of = |pos: Option<usize>| {
                let mut s = Span::new(nv);
                for r in &self.released {
                    if pos.is_none_or(|p| r.pos < p) {
                        s.add_set(&r.vars);
                    }
                }
                for &k in &known {
                    s.add_set(&[k]);
                }
                s
            };
            let full = span_of(None);
            stats.max_rank = stats.max_rank.max(full.rank());
            let null = full.null_space();
            let null_determines = |set: &[usize]| {
                null.iter()
                    .all(|z| set.iter().map(|&i| z[i]).sum::<i128>() == 0)
            };
            // Single values.
            for u in (0..nv).filter(|u| !known.contains(u)) {
                let by_rank = full.determines(&[u]);
                if by_rank != null_determines(&[u]) {
                    return Err(format!(
                        "auditor inconsistent for {who} on {}",
                        self.names[u]
                    ));
                }
                if by_rank {
                    return Err(format!(
                        "{who} can determine the single value {}\n{}",
                        self.names[u],
                        self.describe()
                    ));
                }
            }
            // Withheld groups, with the exemption for what was public before.
            let mut before: HashMap<usize, Span> = HashMap::new();
            let mut exempt = vec![false; self.protected.len()];
            for (i, p) in self.protected.iter().enumerate() {
                let by_rank = full.determines(&p.vars);
                if by_rank != null_determines(&p.vars) {
                    return Err(format!(
                        "auditor inconsistent for {who} on withheld {}",
                        p.label
                    ));
                }
                if !by_rank {
                    continue;
                }
                let earlier = before.entry(p.pos).or_insert_with(|| span_of(Some(p.pos)));
                if earlier.determines(&p.vars) {
                    exempt[i] = true;
                    stats.exempt += 1;
                    continue;
                }
                return Err(format!(
                    "{who} can determine the total of the withheld group {} = {{{}}}, which the rows released before it did not determine\n{}",
                    p.label,
                    self.set_names(&p.vars),
                    self.describe()
                ));
            }
            // Brute force: every set of fewer than `threshold` current values
            // of a publication.
            for (pos, current) in &self.publications {
                let mut err = None;
                subsets(current, THRESHOLD - 1, &mut |s: &[usize]| {
                    if s.iter().all(|v| known.contains(v)) || !null_determines(s) {
                        return true;
                    }
                    stats.small_sets += 1;
                    let unknown: Vec<usize> =
                        s.iter().copied().filter(|v| !known.contains(v)).collect();
                    if unknown.len() < 2 {
                        err = Some(format!(
                            "brute force: {who} can determine the sum of {{{}}} (publication at [{pos}]), i.e. the single value {}\n{}",
                            self.set_names(s),
                            self.set_names(&unknown),
                            self.describe()
                        ));
                        return false;
                    }
                    if let Some((_, p)) = self
                        .protected
                        .iter()
                        .enumerate()
                        .find(|(i, p)| !exempt[*i] && p.vars == s)
                    {
                        err = Some(format!(
                            "brute force: {who} can determine the withheld group {} = {{{}}}\n{}",
                            p.label,
                            self.set_names(s),
                            self.describe()
                        ));
                        return false;
                    }
                    true
                });
                if let Some(e) = err {
                    return Err(e);
                }
            }
        }
        Ok(stats)
    }
}

/// What the auditor saw, for the deterministic test's sanity checks.
#[derive(Debug, Default)]
struct AuditStats {
    max_rank: usize,
    exempt: usize,
    small_sets: usize,
}

/// Calls `f` with every subset (sorted as `items`) of 1 to `max` items,
/// until it returns false.
fn subsets(items: &[usize], max: usize, f: &mut impl FnMut(&[usize]) -> bool) {
    fn go(
        items: &[usize],
        start: usize,
        max: usize,
        cur: &mut Vec<usize>,
        f: &mut impl FnMut(&[usize]) -> bool,
    ) -> bool {
        for (i, &item) in items.iter().enumerate().skip(start) {
            cur.push(item);
            if !f(cur) {
                return false;
            }
            if cur.len() < max && !go(items, i + 1, max, cur, f) {
                return false;
            }
            cur.pop();
        }
        true
    }
    go(items, 0, max, &mut Vec::new(), f);
}

// ---------------------------------------------------------------------------
// The ring and its events
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct MemberSpec {
    /// Land 06 (else 05).
    land06: bool,
    /// Kreisfreie Stadt (else kreisangehörige Gemeinde).
    city: bool,
    /// Index into `POPULATIONS`.
    size: usize,
}

/// One upload row: (member, population class if not its usual one, scale index).
type UploadRow = (usize, Option<usize>, u32);

#[derive(Debug, Clone)]
enum Event {
    /// Admin bulk upload, then (maybe) an attempt to publish.
    Upload { rows: Vec<UploadRow>, publish: bool },
    /// An extra attempt to publish.
    Publish,
    /// A custom group is defined.
    Group(Vec<usize>),
    /// Three custom groups from a permutation of the members: p, q and
    /// p ∪ q ∪ {x} (p and q disjoint, five each), when the ring has 11.
    Triple(Vec<usize>),
    /// A custom group close to a built-in one: the members whose Land (0),
    /// kind (1) or usual size class (2) is `value`, with `toggle` added or
    /// taken out.
    Near {
        dim: u8,
        value: usize,
        toggle: usize,
    },
    /// Every custom group is asked for in the latest publication.
    Ask,
}

#[derive(Debug, Clone)]
struct RingSpec {
    members: Vec<MemberSpec>,
    /// Few distinct scales (ties) or many.
    ties: bool,
    events: Vec<Event>,
    /// The member whose own answers are checked against the analyst's.
    caller: usize,
}

fn scale(ties: bool, k: u32) -> f64 {
    if ties {
        [1.0, 1.5, 2.0][(k % 3) as usize]
    } else {
        1.0 + f64::from(k % 300) / 37.0
    }
}

fn upload_rows(n: usize, p: f64) -> impl Strategy<Value = Vec<UploadRow>> {
    proptest::collection::vec(
        proptest::option::weighted(p, (proptest::option::weighted(0.2, 0usize..3), 0u32..300)),
        n,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|(size, k)| (i, size, k)))
            .collect()
    })
}

fn ring_spec() -> impl Strategy<Value = RingSpec> {
    (6usize..=14).prop_flat_map(|n| {
        let member = (any::<bool>(), any::<bool>(), 0usize..3)
            .prop_map(|(land06, city, size)| MemberSpec { land06, city, size });
        let group = proptest::sample::subsequence((0..n).collect::<Vec<_>>(), THRESHOLD..=n);
        let event = prop_oneof![
            4 => (upload_rows(n, 0.55), proptest::bool::weighted(0.8))
                .prop_map(|(rows, publish)| Event::Upload { rows, publish }),
            2 => Just(Event::Publish),
            1 => group.clone().prop_map(Event::Group),
            1 => Just((0..n).collect::<Vec<_>>()).prop_shuffle().prop_map(Event::Triple),
            1 => (0u8..3, 0usize..3, 0..n)
                .prop_map(|(dim, value, toggle)| Event::Near { dim, value, toggle }),
            1 => Just(Event::Ask),
        ];
        (
            proptest::collection::vec(member, n),
            any::<bool>(),
            upload_rows(n, 0.9),
            proptest::collection::vec(group, 0..=2),
            proptest::collection::vec(event, 2..=6),
            0..n,
        )
            .prop_map(|(members, ties, first, groups, rest, caller)| {
                let mut events: Vec<Event> = groups.into_iter().map(Event::Group).collect();
                events.push(Event::Upload {
                    rows: first,
                    publish: true,
                });
                events.extend(rest);
                RingSpec {
                    members,
                    ties,
                    events,
                    caller,
                }
            })
    })
}

// ---------------------------------------------------------------------------
// Driving the engine
// ---------------------------------------------------------------------------

fn fail(what: &str, e: impl std::fmt::Debug) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e:?}"))
}

/// A publication as the model knows it: per member, its population and the
/// bits of its value (None: no row).
struct Pub {
    id: String,
    rows: Vec<Option<(f64, u64)>>,
}

struct Case {
    engine: Engine,
    catalog: Catalog,
    ids: Vec<String>,
    kinds: Vec<MemberKind>,
    ties: bool,
    base: Vec<usize>,
    /// The model's current figures: (population, scale).
    current: Vec<Option<(f64, f64)>>,
    /// The model at the last publication.
    published: Vec<Option<(f64, f64)>>,
    pubs: Vec<Pub>,
    groups: Vec<(String, Vec<usize>)>,
    /// (publication, custom group) whose sum of the figure is released.
    custom_released: HashSet<(usize, String)>,
    /// Analyst answers per (publication, group_by); None: refused.
    analyst: HashMap<(usize, String), Option<Comparison>>,
    sys: System,
    _dir: tempfile::TempDir,
}

impl Case {
    async fn new(spec: &RingSpec) -> Result<Case, TestCaseError> {
        let dir = tempfile::tempdir()?;
        Store::init(dir.path()).map_err(|e| fail("init", e))?;
        let store = Arc::new(Store::open(dir.path()).await.map_err(|e| fail("open", e))?);
        let ids: Vec<String> = spec
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let land = if m.land06 { "06" } else { "05" };
                format!("{land}{:03}000", i + 1)
            })
            .collect();
        let kinds: Vec<MemberKind> = spec
            .members
            .iter()
            .map(|m| {
                if m.city {
                    MemberKind::KreisfreieStadt
                } else {
                    MemberKind::KreisangehoerigeGemeinde
                }
            })
            .collect();
        store
            .upsert_members(
                ids.iter()
                    .zip(&kinds)
                    .map(|(id, kind)| Member {
                        member_id: id.clone(),
                        name: format!("Gemeinde {id}"),
                        kind: *kind,
                        structure: None,
                    })
                    .collect(),
            )
            .await
            .map_err(|e| fail("members", e))?;
        // The audit of sums (rules 9–12) on true values: it must hold by
        // itself in a ring that perturbs nothing, and it is the second
        // line of defence behind the perturbation (rule 15), whose own
        // attacker is `attacker.rs`.
        let engine = Engine::new(
            store,
            Policy {
                auto_publish: false,
                noise_min: 0.0,
                noise_max: 0.0,
                ..Policy::default()
            },
        )
        .await
        .map_err(|e| fail("engine", e))?;
        let n = ids.len();
        Ok(Case {
            engine,
            catalog: Catalog::bundled().map_err(|e| fail("catalog", e))?,
            ids,
            kinds,
            ties: spec.ties,
            base: spec.members.iter().map(|m| m.size).collect(),
            current: vec![None; n],
            published: vec![None; n],
            pubs: Vec::new(),
            groups: Vec::new(),
            custom_released: HashSet::new(),
            analyst: HashMap::new(),
            sys: System::default(),
            _dir: dir,
        })
    }

    async fn run(&mut self, spec: &RingSpec) -> Result<(), TestCaseError> {
        for event in &spec.events {
            match event {
                Event::Upload { rows, publish } => {
                    self.upload(rows).await?;
                    if *publish {
                        self.publish().await?;
                    }
                }
                Event::Publish => self.publish().await?,
                Event::Group(members) => self.define(members.clone()).await?,
                Event::Triple(perm) => {
                    self.define(perm[..5].to_vec()).await?;
                    if perm.len() >= 11 {
                        self.define(perm[5..10].to_vec()).await?;
                        self.define(perm[..11].to_vec()).await?;
                    }
                }
                Event::Near { dim, value, toggle } => {
                    let members: Vec<usize> = (0..self.ids.len())
                        .filter(|&m| {
                            let v = match dim {
                                0 => usize::from(self.ids[m].starts_with("06")),
                                1 => usize::from(self.kinds[m] == MemberKind::KreisfreieStadt),
                                _ => self.base[m],
                            };
                            (v == *value) != (m == *toggle)
                        })
                        .collect();
                    if members.len() >= THRESHOLD {
                        self.define(members).await?;
                    }
                }
                Event::Ask => {
                    for g in 0..self.groups.len() {
                        let gid = self.groups[g].0.clone();
                        let res = self.ask(&gid, Audience::Analyst, None, None).await;
                        match res {
                            Err(EngineError::NotPublished { .. }) if self.pubs.is_empty() => {}
                            res => {
                                let p =
                                    self.pubs.len().checked_sub(1).ok_or_else(|| {
                                        fail("answer before any publication", &gid)
                                    })?;
                                self.take_analyst(p, &gid, res)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    async fn define(&mut self, members: Vec<usize>) -> Result<(), TestCaseError> {
        let id = format!("grp{}", self.groups.len());
        self.engine
            .create_group(CustomGroup {
                id: id.clone(),
                name: format!("Gruppe {id}"),
                member_ids: members.iter().map(|&m| self.ids[m].clone()).collect(),
            })
            .await
            .map_err(|e| fail("create_group", e))?;
        self.groups.push((id, members));
        Ok(())
    }

    async fn upload(&mut self, rows: &[UploadRow]) -> Result<(), TestCaseError> {
        if rows.is_empty() {
            return Ok(());
        }
        let values: Vec<(usize, f64, f64)> = rows
            .iter()
            .map(|&(m, size, k)| {
                (
                    m,
                    POPULATIONS[size.unwrap_or(self.base[m])],
                    scale(self.ties, k),
                )
            })
            .collect();
        let file: Vec<(&str, f64, f64)> = values
            .iter()
            .map(|&(m, pop, s)| (self.ids[m].as_str(), pop, s))
            .collect();
        let outcome = self
            .engine
            .submit(SubmitRequest {
                domain: DOMAIN.into(),
                year: YEAR,
                content_type: PARQUET.into(),
                body: library_bulk_file(&file),
                token_id: "admin".into(),
                own_member: None,
            })
            .await
            .map_err(|e| fail("upload", e))?;
        prop_assert!(
            outcome.publication.is_none(),
            "published without auto_publish"
        );
        for (m, pop, s) in values {
            self.current[m] = Some((pop, s));
        }
        Ok(())
    }

    /// The value of the figure as the catalogue defines it:
    /// (loans + coalesce(e_loans, 0)) / population.
    fn value(pop: f64, scale: f64) -> f64 {
        let loans = library_row(pop, scale)
            .into_iter()
            .find(|(n, _)| *n == "loans")
            .map(|(_, v)| v)
            .unwrap_or(f64::NAN);
        (loans + 0.0) / pop
    }

    async fn publish(&mut self) -> Result<(), TestCaseError> {
        // Rule 10: a member counts as changed when anything of it differs
        // (every key figure follows from population and scale here).
        let changed = self
            .current
            .iter()
            .zip(&self.published)
            .filter(|(a, b)| a != b)
            .count();
        let has_rows = self.current.iter().any(Option::is_some);
        let res = self
            .engine
            .publish(DOMAIN, YEAR, Trigger::Admin, "admin")
            .await;
        let p = match res {
            Ok(p) => p,
            Err(EngineError::Conflict(_)) if !has_rows => return Ok(()),
            Err(EngineError::NothingChanged { .. }) if changed == 0 => return Ok(()),
            Err(EngineError::TooFewChanges { changed: c, .. })
                if c == changed && changed < THRESHOLD =>
            {
                return Ok(());
            }
            other => {
                return Err(fail(
                    &format!("publish with {changed} changed members"),
                    other,
                ));
            }
        };
        prop_assert!(
            changed >= THRESHOLD && has_rows,
            "published {} with only {changed} changed members",
            p.id
        );
        prop_assert_eq!(p.changed_members, changed);
        // The values, read independently through the admin's live figures.
        let mut rows = Vec::with_capacity(self.ids.len());
        for (m, cur) in self.current.iter().enumerate() {
            let Some((pop, s)) = *cur else {
                rows.push(None);
                continue;
            };
            let f = self
                .engine
                .figures(DOMAIN, YEAR, &self.ids[m], None)
                .await
                .map_err(|e| fail("figures", e))?;
            let admin = f.key.get(FIGURE).copied().flatten();
            let mine = Case::value(pop, s);
            prop_assert_eq!(
                admin.map(f64::to_bits),
                Some(mine.to_bits()),
                "value of {} ({} vs {})",
                &self.ids[m],
                admin.unwrap_or(f64::NAN),
                mine
            );
            rows.push(Some((pop, mine.to_bits())));
        }
        let pos = self.sys.timeline.len();
        self.sys.timeline.push(format!("publication {}", p.id));
        let current: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter_map(|(m, r)| r.map(|(_, bits)| self.sys.var(m, &self.ids[m], bits)))
            .collect();
        self.sys.publications.push((pos, current));
        self.pubs.push(Pub { id: p.id, rows });
        self.published = self.current.clone();
        Ok(())
    }

    async fn ask(
        &self,
        group_by: &str,
        audience: Audience,
        member: Option<&str>,
        publication: Option<usize>,
    ) -> Result<Comparison, EngineError> {
        let as_of = match publication {
            Some(p) => Some(
                self.engine
                    .resolve_as_of(&self.pubs[p].id, Some(DOMAIN))
                    .await?,
            ),
            None => None,
        };
        self.engine
            .comparison(
                &StatsRequest {
                    domain: DOMAIN,
                    figure: FIGURE,
                    group_by,
                    audience,
                    member,
                    of: None,
                    as_of: as_of.as_ref(),
                },
                YEAR,
            )
            .await
    }

    /// The members of each group of `group_by` with a value in publication `p`.
    fn expected(&self, p: usize, group_by: &str) -> BTreeMap<String, Vec<usize>> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (m, row) in self.pubs[p].rows.iter().enumerate() {
            let Some((pop, _)) = row else { continue };
            let g = match group_by {
                "all" => Some("all".to_string()),
                "size_class" => self
                    .catalog
                    .size_class(self.kinds[m], *pop)
                    .map(|c| c.id.clone()),
                "land" => Some(self.ids[m][0..2].to_string()),
                "kind" => Some(self.kinds[m].as_str().to_string()),
                custom => self
                    .groups
                    .iter()
                    .find(|(id, _)| id == custom)
                    .filter(|(_, ms)| ms.contains(&m))
                    .map(|(id, _)| id.clone()),
            };
            if let Some(g) = g {
                out.entry(g).or_default().push(m);
            }
        }
        out
    }

    fn vars_of(&mut self, p: usize, members: &[usize]) -> Vec<usize> {
        let mut v: Vec<usize> = members
            .iter()
            .filter_map(|&m| {
                let (_, bits) = self.pubs[p].rows[m]?;
                Some(self.sys.var(m, &self.ids[m], bits))
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// Checks an analyst answer against the model and records what it
    /// releases and withholds.
    fn take_analyst(
        &mut self,
        p: usize,
        group_by: &str,
        res: Result<Comparison, EngineError>,
    ) -> Result<(), TestCaseError> {
        let custom = !DIMS.contains(&group_by);
        let key = (p, group_by.to_string());
        let c = match res {
            Ok(c) => c,
            Err(EngineError::Refused { .. }) if custom => {
                self.analyst.entry(key).or_insert(None);
                return Ok(());
            }
            Err(e) => {
                return Err(fail(
                    &format!("analyst {group_by} in {}", self.pubs[p].id),
                    e,
                ));
            }
        };
        prop_assert_eq!(
            c.publication.as_ref().map(|r| r.id.as_str()),
            Some(self.pubs[p].id.as_str())
        );
        let expected = self.expected(p, group_by);
        let got: BTreeSet<&str> = c.groups.iter().map(|g| g.group.as_str()).collect();
        let want: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
        prop_assert_eq!(got, want, "groups of {} in {}", group_by, &self.pubs[p].id);
        for g in &c.groups {
            let members = &expected[&g.group];
            prop_assert_eq!(g.n, members.len(), "n of {}:{}", group_by, &g.group);
            let label = format!("{group_by}:{} of {}", g.group, self.pubs[p].id);
            let vars = self.vars_of(p, members);
            if g.suppressed {
                if !custom && g.n > 0 {
                    self.sys.protected.push(Row {
                        pos: self.sys.publications[p].0,
                        vars,
                        label,
                    });
                }
                continue;
            }
            let sum: f64 = vars.iter().map(|&v| self.value_of(v)).sum();
            let mean = g.stats.as_ref().and_then(|s| s.mean);
            prop_assert!(
                mean.is_some_and(|m| (m * g.n as f64 - sum).abs() <= 1e-9 * sum.abs().max(1.0)),
                "mean of {} is {:?}, the model's sum {} over {}",
                label,
                mean,
                sum,
                g.n
            );
            let pos = if custom {
                if !self.custom_released.insert(key.clone()) {
                    continue;
                }
                self.sys.timeline.push(format!("custom release {label}"));
                self.sys.timeline.len() - 1
            } else {
                if self.analyst.contains_key(&key) {
                    continue;
                }
                self.sys.publications[p].0
            };
            self.sys.released.push(Row { pos, vars, label });
        }
        self.analyst.insert(key, Some(c));
        Ok(())
    }

    fn value_of(&self, v: usize) -> f64 {
        let (&(_, bits), _) = self
            .sys
            .index
            .iter()
            .find(|(_, i)| **i == v)
            .expect("variable");
        f64::from_bits(bits)
    }

    /// Asks everything of every publication, as analyst, then as the
    /// chosen member; and the latest state without `as_of`.
    async fn collect(&mut self, caller: usize) -> Result<(), TestCaseError> {
        let bys: Vec<String> = DIMS
            .iter()
            .map(|d| d.to_string())
            .chain(self.groups.iter().map(|(id, _)| id.clone()))
            .collect();
        for p in 0..self.pubs.len() {
            for by in &bys {
                let res = self.ask(by, Audience::Analyst, None, Some(p)).await;
                self.take_analyst(p, by, res)?;
            }
            let id = self.ids[caller].clone();
            for by in &bys {
                let res = self.ask(by, Audience::Member, Some(&id), Some(p)).await;
                self.check_member(p, by, caller, res)?;
            }
        }
        // The latest state is the latest publication.
        if let Some(last) = self.pubs.len().checked_sub(1) {
            for d in DIMS {
                let c = self
                    .ask(d, Audience::Analyst, None, None)
                    .await
                    .map_err(|e| fail("latest", e))?;
                let Some(Some(pubd)) = self.analyst.get(&(last, d.to_string())) else {
                    return Err(fail("no analyst answer", d));
                };
                prop_assert_eq!(summary(&c.groups), summary(&pubd.groups), "latest {}", d);
            }
        } else {
            let res = self.ask("all", Audience::Analyst, None, None).await;
            prop_assert!(
                matches!(res, Err(EngineError::NotPublished { .. })),
                "answer without a publication: {:?}",
                res.map(|c| summary(&c.groups))
            );
        }
        Ok(())
    }

    /// A member sees no group released that the analyst does not see
    /// released, and its own value is the published one.
    fn check_member(
        &self,
        p: usize,
        by: &str,
        m: usize,
        res: Result<Comparison, EngineError>,
    ) -> Result<(), TestCaseError> {
        let c = match res {
            Ok(c) => c,
            Err(EngineError::GiveToGet { .. }) if self.current[m].is_none() => return Ok(()),
            Err(EngineError::Refused { .. }) if !DIMS.contains(&by) => return Ok(()),
            Err(e) => return Err(fail(&format!("member answer {by}"), e)),
        };
        let analyst = self.analyst.get(&(p, by.to_string())).cloned().flatten();
        for g in &c.groups {
            if let Some(own) = &g.own {
                let want = self.pubs[p].rows[m].map(|(_, bits)| bits);
                prop_assert_eq!(
                    own.value.map(f64::to_bits),
                    want,
                    "own value of {} in {}",
                    &self.ids[m],
                    &self.pubs[p].id
                );
            }
            if g.suppressed {
                continue;
            }
            let seen = analyst
                .as_ref()
                .and_then(|a| a.groups.iter().find(|x| x.group == g.group))
                .filter(|x| !x.suppressed);
            prop_assert!(
                seen.is_some_and(|x| x.n == g.n
                    && match (
                        x.stats.as_ref().and_then(|s| s.mean),
                        g.stats.as_ref().and_then(|s| s.mean)
                    ) {
                        (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                        _ => false,
                    }),
                "member {} sees {}:{} released in {} (n {}), the analyst does not",
                &self.ids[m],
                by,
                &g.group,
                &self.pubs[p].id,
                g.n
            );
        }
        Ok(())
    }
}

fn summary(groups: &[GroupResult]) -> Vec<(String, usize, bool, Option<u64>)> {
    groups
        .iter()
        .map(|g| {
            (
                g.group.clone(),
                g.n,
                g.suppressed,
                g.stats.as_ref().and_then(|s| s.mean).map(f64::to_bits),
            )
        })
        .collect()
}

/// Runs one ring through the engine and audits everything released.
async fn run_case(spec: &RingSpec) -> Result<(Case, AuditStats), TestCaseError> {
    let mut case = Case::new(spec).await?;
    case.run(spec).await?;
    case.collect(spec.caller).await?;
    let stats = case.sys.audit(&case.ids).map_err(TestCaseError::fail)?;
    Ok((case, stats))
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES runs more for a longer search.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40),
        max_shrink_iters: 128,
        ..ProptestConfig::default()
    })]

    #[test]
    fn combination_discloses_nothing(spec in ring_spec()) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(run_case(&spec))?;
    }
}

/// A fixed ring: 8 members, a publication, 5 members change, another
/// publication, a custom group asked for in both.
#[tokio::test]
async fn combination_fixed_ring_discloses_nothing() {
    let m = |land06, city, size| MemberSpec { land06, city, size };
    let spec = RingSpec {
        members: vec![
            m(false, true, 2),
            m(false, true, 2),
            m(false, false, 1),
            m(false, false, 1),
            m(false, true, 0),
            m(true, false, 0),
            m(true, true, 2),
            m(true, false, 1),
        ],
        ties: false,
        events: vec![
            Event::Group(vec![0, 1, 2, 3, 5, 6]),
            Event::Upload {
                rows: (0..8).map(|i| (i, None, 10 + 17 * i as u32)).collect(),
                publish: true,
            },
            Event::Ask,
            Event::Upload {
                rows: vec![
                    (0, None, 200),
                    (2, None, 7),
                    (4, None, 150),
                    (5, None, 99),
                    (7, None, 31),
                ],
                publish: true,
            },
            Event::Ask,
        ],
        caller: 2,
    };
    let (case, stats) = match run_case(&spec).await {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(case.pubs.len(), 2, "both publications are made");
    assert!(
        !case.sys.released.is_empty() && stats.max_rank > 0,
        "something is released:\n{}",
        case.sys.describe()
    );
}

/// Custom groups p, q and p ∪ q ∪ {x} over 11 members, asked for in two
/// publications: x's value must not follow from the three.
#[tokio::test]
async fn combination_custom_triple_discloses_nothing() {
    let members = (0..11)
        .map(|i| MemberSpec {
            land06: i % 4 == 0,
            city: i % 3 != 0,
            size: i % 2 * 2,
        })
        .collect();
    let spec = RingSpec {
        members,
        ties: false,
        events: vec![
            Event::Triple(vec![3, 1, 4, 0, 5, 9, 2, 6, 8, 7, 10]),
            Event::Upload {
                rows: (0..11).map(|i| (i, None, 5 + 23 * i as u32)).collect(),
                publish: true,
            },
            Event::Ask,
            Event::Upload {
                rows: vec![
                    (1, None, 1),
                    (3, None, 2),
                    (5, None, 3),
                    (7, None, 4),
                    (9, None, 5),
                ],
                publish: true,
            },
            Event::Ask,
        ],
        caller: 10,
    };
    let (case, _) = match run_case(&spec).await {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(case.pubs.len(), 2, "both publications are made");
    assert_eq!(case.groups.len(), 3);
}

/// The auditor itself finds a differenced value, a member's own-value
/// attack, a recovered withheld group, and exempts what was public before.
#[test]
fn combination_auditor_finds_disclosures() {
    let ids: Vec<String> = (1..=7).map(|i| format!("05{i:03}000")).collect();
    let build = |released: &[(usize, &[usize])], protected: &[(usize, &[usize])]| {
        let mut sys = System::default();
        let vars: Vec<usize> = (0..7).map(|m| sys.var(m, &ids[m], m as u64)).collect();
        sys.timeline = vec!["p1".into(), "p2".into()];
        sys.publications = vec![(0, vars.clone()), (1, vars.clone())];
        for (pos, set) in released {
            sys.released.push(Row {
                pos: *pos,
                vars: set.iter().map(|&m| vars[m]).collect(),
                label: format!("r{pos}"),
            });
        }
        for (pos, set) in protected {
            sys.protected.push(Row {
                pos: *pos,
                vars: set.iter().map(|&m| vars[m]).collect(),
                label: format!("w{pos}"),
            });
        }
        sys.audit(&ids)
    };
    let all: &[usize] = &[0, 1, 2, 3, 4, 5];
    // Nothing but the total.
    assert!(build(&[(0, all)], &[]).is_ok());
    // A parent minus its released child: the outsider learns member 5.
    let e = build(&[(0, all), (1, &[0, 1, 2, 3, 4])], &[]).unwrap_err();
    assert!(
        e.contains("the outside caller can determine the single value 05006000"),
        "{e}"
    );
    // Two groups differing in members 5 and 6: member 5 learns member 6.
    let e = build(&[(0, all), (1, &[0, 1, 2, 3, 4, 6])], &[]).unwrap_err();
    assert!(
        e.contains("member 05006000 can determine the single value 05007000"),
        "{e}"
    );
    // A withheld triple recovered by subtraction.
    let rows: &[(usize, &[usize])] = &[(0, all), (0, &[3, 4, 5])];
    let e = build(rows, &[(0, &[0, 1, 2])]).unwrap_err();
    assert!(
        e.contains("the outside caller can determine the total of the withheld group w0"),
        "{e}"
    );
    // The same triple withheld in a later publication, when the earlier
    // rows had made it public already: exempt.
    let stats = build(rows, &[(1, &[0, 1, 2])]).unwrap();
    assert!(stats.exempt > 0 && stats.small_sets > 0, "{stats:?}");
}
