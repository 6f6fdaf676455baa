//! Rule 13's attacker against rules 14–17 (noise infusion), as a property
//! test over random rings: PROTOTYPE.

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_catalog::{Catalog, MemberKind};
use vergleichsring_engine::disclosure::{Policy, Visibility};
use vergleichsring_engine::noise::Noise;
use vergleichsring_store::{Role, Store};

use crate::helpers::{PARQUET, TestApp, parquet};

const YEAR: i32 = 2024;
const DOMAINS: [&str; 2] = ["library", "music_school"];

// ---------------------------------------------------------------------------
// A small deterministic generator (SplitMix64)
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

impl Member {
    fn land(&self) -> &str {
        &self.id[..2]
    }
}

/// Basic figures of one member in one domain, by id.
type Row = BTreeMap<&'static str, Option<f64>>;

#[derive(Debug, Clone)]
struct Ring {
    seed: u64,
    members: Vec<Member>,
    /// [domain][round][member]
    rows: Vec<[Vec<Row>; 2]>,
}

fn kind_str(k: MemberKind) -> &'static str {
    k.as_str()
}

fn library_row(rng: &mut Rng, pop: f64) -> Row {
    let small = pop < 30_000.0;
    let service_points = if small { 1.0 } else { (1.0 + (pop / 60_000.0).floor()).min(12.0) };
    let stock = (pop * rng.log_range(0.5, 3.0)).round();
    let loans = (stock * rng.log_range(1.5, 6.0)).round();
    let e_loans = if rng.chance(0.2) { None } else { Some((loans * rng.range(0.05, 0.3)).round()) };
    let visits = (pop * rng.log_range(0.5, 4.0)).round();
    let opening_hours = (service_points * rng.range(1200.0, 2600.0)).round();
    let staff = ((pop * rng.log_range(1.0, 4.0) / 10_000.0) * 2.0).round().max(1.0) / 2.0;
    let expenditure = (pop * rng.log_range(8.0, 35.0)).round();
    let staff_cost = (staff * rng.range(45_000.0, 65_000.0)).round().min(expenditure * 0.7);
    let media_cost = (expenditure * rng.range(0.08, 0.15)).round();
    let income = if rng.chance(0.1) {
        Some(0.0)
    } else {
        Some((expenditure * rng.range(0.03, 0.15)).round())
    };
    let mut r = Row::new();
    r.insert("population", Some(pop));
    r.insert("service_points", Some(service_points));
    r.insert("public_area_sqm", Some((pop * rng.log_range(10.0, 60.0) / 1000.0).round()));
    r.insert("opening_hours", Some(opening_hours));
    r.insert("active_users", Some((pop * rng.range(0.05, 0.2)).round()));
    r.insert("visits", Some(visits));
    r.insert("virtual_visits", Some((visits * rng.range(0.2, 1.0)).round()));
    r.insert("stock", Some(stock));
    r.insert("acquisitions", Some((stock * rng.range(0.05, 0.18)).round()));
    r.insert("loans", Some(loans));
    r.insert("e_loans", e_loans);
    r.insert("events", Some((pop / 1000.0 * rng.range(1.0, 5.0)).round()));
    r.insert("staff_fte", Some(staff));
    r.insert("expenditure_total", Some(expenditure));
    r.insert("expenditure_staff", Some(staff_cost));
    r.insert("expenditure_media", Some(media_cost));
    r.insert("income", income);
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
    let other = if rng.chance(0.3) { None } else { Some((expenditure * rng.range(0.0, 0.05)).round()) };
    let state = (expenditure * rng.range(0.02, 0.1)).round();
    let municipal = (expenditure - fees - other.unwrap_or(0.0) - state).max(0.0);
    let waiting = if rng.chance(0.3) { 0.0 } else { (students * rng.range(0.01, 0.2)).round() };
    let mut r = Row::new();
    r.insert("population", Some(pop));
    r.insert("population_u18", Some(pop_u18));
    r.insert("students", Some(students));
    r.insert("students_u18", Some(students_u18));
    r.insert("enrolments", Some((students * rng.range(1.0, 1.3)).round()));
    r.insert("weekly_hours", Some(weekly_hours));
    r.insert("teachers", Some(teachers));
    r.insert("teachers_employed", Some(employed));
    r.insert("teacher_fte", Some((teachers * rng.range(0.4, 0.7) * 2.0).round() / 2.0));
    r.insert("waiting_list", Some(waiting));
    r.insert("expenditure_total", Some(expenditure));
    r.insert("expenditure_teaching", Some((expenditure * rng.range(0.7, 0.9)).round()));
    r.insert("income_fees", Some(fees));
    r.insert("subsidy_municipal", Some(municipal));
    r.insert("subsidy_state", Some(state));
    r.insert("income_other", other);
    r
}

fn generate(seed: u64) -> Ring {
    let mut rng = Rng(seed);
    let all_lands = ["03", "05", "06", "08", "09", "14"];
    let mut lands: Vec<&str> = Vec::new();
    while lands.len() < 3 {
        let l = all_lands[rng.below(all_lands.len())];
        if !lands.contains(&l) {
            lands.push(l);
        }
    }
    let n = 22 + rng.below(8);
    let mut members = Vec::new();
    let mut used = std::collections::HashSet::new();
    while members.len() < n {
        let land = lands[rng.below(lands.len())];
        let roll = rng.unit();
        let (kind, id, pop) = if roll < 0.25 {
            let id = format!("{land}{:03}000", 100 + rng.below(900));
            (MemberKind::KreisfreieStadt, id, rng.log_range(100_000.0, 650_000.0))
        } else if roll < 0.75 {
            let id = format!("{land}{:06}", 100_000 + rng.below(900_000));
            (MemberKind::KreisangehoerigeGemeinde, id, rng.log_range(6_000.0, 120_000.0))
        } else {
            let id = format!("{land}{:03}", 100 + rng.below(900));
            (MemberKind::Landkreis, id, rng.log_range(90_000.0, 380_000.0))
        };
        if !used.insert(id.clone()) {
            continue;
        }
        let pop = pop.round();
        members.push(Member { id, kind, pop: [pop, pop] });
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
    // The correction round: some members correct their population only,
    // some their figures.
    let n = members.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for &i in &order[..3] {
        let f = rng.range(0.985, 1.015);
        members[i].pop[1] = (members[i].pop[0] * f).round();
    }
    for (d, _) in DOMAINS.iter().enumerate() {
        for &i in &order[..3] {
            let pop = members[i].pop[1];
            let r = &mut rows[d][1][i];
            r.insert("population", Some(pop));
            if let Some(Some(u)) = r.get("population_u18").copied() {
                r.insert("population_u18", Some((u * pop / members[i].pop[0]).round()));
            }
        }
        for &i in &order[3..6] {
            let r = &mut rows[d][1][i];
            let changes: &[(&str, f64, f64)] = match DOMAINS[d] {
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
            for (k, a, b) in changes {
                if let Some(Some(x)) = r.get(k).copied() {
                    r.insert(k, Some((x * rng.range(*a, *b)).round()));
                }
            }
        }
    }
    Ring { seed, members, rows }
}

// ---------------------------------------------------------------------------
// Driving the server
// ---------------------------------------------------------------------------

fn upload_file(ring: &Ring, d: usize, round: usize, which: &[usize]) -> bytes::Bytes {
    let rows = &ring.rows[d][round];
    let names: Vec<&'static str> = rows[0].keys().copied().collect();
    let ids: Vec<&str> = which.iter().map(|&i| ring.members[i].id.as_str()).collect();
    let cols: Vec<(&str, Vec<Option<f64>>)> = names
        .iter()
        .map(|n| (*n, which.iter().map(|&i| rows[i].get(n).copied().flatten()).collect()))
        .collect();
    parquet(Some(ids), &cols)
}

async fn publish(app: &TestApp, domain: &str) -> Option<String> {
    let a = app
        .post_json(&format!("/api/v1/publications/{domain}/{YEAR}"), Some(&app.admin), &json!({}))
        .await;
    match a.status {
        StatusCode::CREATED => a.body["id"].as_str().map(str::to_string),
        _ => None,
    }
}

async fn latest_publication(app: &TestApp, domain: &str) -> String {
    let a = app
        .get(&format!("/api/v1/publications?domain={domain}&year={YEAR}"), Some(&app.analyst))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body[0]["id"].as_str().unwrap().to_string()
}

async fn run_ring(ring: &Ring, policy: Policy) -> (TestApp, Vec<[String; 2]>) {
    let app = TestApp::spawn_with_policy(policy).await;
    let body: Vec<Value> = ring
        .members
        .iter()
        .map(|m| json!({"member_id": m.id, "name": format!("Ort {}", m.id), "kind": kind_str(m.kind)}))
        .collect();
    let a = app.post_json("/api/v1/members", Some(&app.admin), &json!(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let all: Vec<usize> = (0..ring.members.len()).collect();
    let mut pubs = Vec::new();
    for (d, domain) in DOMAINS.iter().enumerate() {
        let a = app.upload(domain, YEAR, &app.admin, PARQUET, upload_file(ring, d, 0, &all)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let _ = publish(&app, domain).await;
        let p1 = latest_publication(&app, domain).await;
        let changed: Vec<usize> = (0..ring.members.len())
            .filter(|&i| ring.rows[d][0][i] != ring.rows[d][1][i])
            .collect();
        let a = app.upload(domain, YEAR, &app.admin, PARQUET, upload_file(ring, d, 1, &changed)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let _ = publish(&app, domain).await;
        let p2 = latest_publication(&app, domain).await;
        assert_ne!(p1, p2);
        pubs.push([p1, p2]);
    }
    (app, pubs)
}

#[tokio::test]
async fn attacker_prototype_dump() {
    let ring = generate(42);
    for m in &ring.members {
        eprintln!("{} {:?} {:?}", m.id, m.kind, m.pop);
    }
    let policy = Policy { visibility: Visibility::Pseudonymous, ..Policy::default() };
    let t = std::time::Instant::now();
    let (app, pubs) = run_ring(&ring, policy).await;
    eprintln!("setup {:?} {:?}", t.elapsed(), pubs);
    let t = std::time::Instant::now();
    for dim in ["all", "size_class", "land", "kind"] {
        let a = app
            .get(
                &format!("/api/v1/comparisons/library/{YEAR}?figure=loans_per_capita&group_by={dim}&as_of={}", pubs[0][1]),
                Some(&app.analyst),
            )
            .await;
        eprintln!("{}", serde_json::to_string_pretty(&a.body).unwrap());
    }
    eprintln!("4 comparisons {:?}", t.elapsed());
    let m = &ring.members[0].id;
    let tok = app.token(Role::Member, Some(m)).await;
    let a = app.get(&format!("/api/v1/reports/{m}/{YEAR}?format=json"), Some(&tok)).await;
    eprintln!("REPORT {}", &a.text[..a.text.len().min(3000)]);
    let a = app.get(&format!("/api/v1/timeseries/library/loans_per_capita?group_by=land"), Some(&tok)).await;
    eprintln!("TS {}", &a.text[..a.text.len().min(2000)]);
    let a = app.post_json("/api/v1/query", Some(&app.analyst), &json!({"sql": "SELECT * FROM comparisons LIMIT 3"})).await;
    eprintln!("SQL {}", a.text);
    let store = Store::open(app.dir.path()).await.unwrap();
    let secret = store.noise_secret().await.unwrap();
    let _noise = Noise::new(secret, 0.05, 0.10);
    let _ = Catalog::bundled().unwrap();
    let _: HashMap<u8, u8> = HashMap::new();
}
