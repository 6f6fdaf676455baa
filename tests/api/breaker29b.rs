//! Breaker 29b: attacks on the protections of the new domains
//! `adult_education` (Volkshochschulen) and `theatre`, by a helper who saw
//! none of the tests of these domains. Findings are marked
//! `ignore = "finding: ..."` (they fail today); the others held.
//!
//! The isolation used below: an analyst's type-7 quantiles of a group of
//! n members are single (perturbed) member values wherever (n − 1)·p is a
//! whole number (n = 21: p10, p25, median, p75 and p90 are the 3rd, 6th,
//! 11th, 16th and 19th value). Rule 15 accepts that, because every such
//! value is off by at least `noise_min`. But two key figures whose private
//! inputs carry the same role sign divide into a ratio in which the noise
//! almost cancels (rule 14 says so of the inputs of one key figure, not of
//! two), so one member's pair of quantiles gives that ratio nearly exactly.

use reqwest::StatusCode;
use serde_json::json;
use vergleichsring_store::Role;

use crate::helpers::{Col, PARQUET, TestApp, parquet};

const QUANTILES: [(&str, f64); 5] = [
    ("p10", 0.10),
    ("p25", 0.25),
    ("median", 0.50),
    ("p75", 0.75),
    ("p90", 0.90),
];

/// Members `05001000`, `05002000`, … (kreisfreie Städte in NRW).
fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("05{i:03}000")).collect()
}

async fn register(app: &TestApp, ids: &[String]) {
    let members: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
}

/// Uploads rows (one `Vec` of (figure, value) per member) as admin bulk.
async fn bulk(app: &TestApp, domain: &str, year: i32, ids: &[String], rows: &[Vec<(&str, f64)>]) {
    let names: Vec<&str> = rows[0].iter().map(|(n, _)| *n).collect();
    let cols: Vec<Col<'_>> = names
        .iter()
        .enumerate()
        .map(|(c, n)| (*n, rows.iter().map(|r| Some(r[c].1)).collect()))
        .collect();
    let file = parquet(Some(ids.iter().map(String::as_str).collect()), &cols);
    let a = app.upload(domain, year, &app.admin, PARQUET, file).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

/// The analyst's quantiles of group `all` that are single member values:
/// (0-based position in ascending order, value).
async fn single_values(app: &TestApp, domain: &str, figure: &str, n: usize) -> Vec<(usize, f64)> {
    let path = format!("/api/v1/comparisons/{domain}/2024?figure={figure}&group_by=all");
    let a = app.get(&path, Some(&app.analyst)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let stats = &a.body["groups"][0]["stats"];
    QUANTILES
        .iter()
        .filter_map(|(name, p)| {
            let h = (n - 1) as f64 * p;
            let v = stats[*name].as_f64()?;
            (h.fract() == 0.0).then_some((h as usize, v))
        })
        .collect()
}

/// Pairs the single values of two figures at the same position, combines
/// them with `f` and counts how often the result lies within ±5 % of the
/// truth of the member at that position.
fn hits(
    a: &[(usize, f64)],
    b: &[(usize, f64)],
    f: impl Fn(f64, f64) -> f64,
    truth: impl Fn(usize) -> f64,
) -> (usize, usize, Vec<String>) {
    let mut seen = Vec::new();
    let mut hit = 0;
    for (pos, x) in a {
        let Some((_, y)) = b.iter().find(|(p, _)| p == pos) else {
            continue;
        };
        let (guess, t) = (f(*x, *y), truth(*pos));
        hit += usize::from((guess / t - 1.0).abs() < 0.05);
        seen.push(format!("rank {}: guess {guess:.4} truth {t:.4}", pos + 1));
    }
    (hit, seen.len(), seen)
}

/// A theatre ring of 21 towns of 150,000: member i has municipal
/// allocations 0.5 M × 1.25^i (spaced wider than any two multipliers can
/// bridge, so the order of the per-capita figures is the true one) and
/// Land allocations r_i = 0.2 + 0.05·i times that: the municipal share
/// 100 / (1 + r_i) runs from 83 % down to 45 %.
fn theatre_rows(n: usize) -> Vec<Vec<(&'static str, f64)>> {
    (0..n)
        .map(|i| {
            let mun = 500_000.0 * 1.25f64.powi(i as i32);
            let state = (0.2 + 0.05 * i as f64) * mun;
            let spend = (mun + state) / 0.8;
            vec![
                ("population", 150_000.0),
                ("seats", 800.0 + 10.0 * i as f64),
                ("performances", 400.0 + i as f64),
                ("visits", 150_000.0 + 1000.0 * i as f64),
                ("staff_fte", 200.0 + i as f64),
                ("expenditure_total", spend),
                ("expenditure_staff", 0.7 * spend),
                ("income_own", 0.2 * spend),
                ("subsidy_municipal", mun),
                ("subsidy_state", state),
            ]
        })
        .collect()
}

fn theatre_share(i: usize) -> f64 {
    100.0 / (1.2 + 0.05 * i as f64)
}

async fn theatre_ring(app: &TestApp, n: usize) -> Vec<String> {
    let ids = ids(n);
    register(app, &ids).await;
    bulk(app, "theatre", 2024, &ids, &theatre_rows(n)).await;
    ids
}

/// `municipal_subsidy_share` is released as a group mean only (its
/// release note: municipal and Land allocations have the same role, so
/// the share would be almost unperturbed; without Land money it sits at
/// the bound 100 %). Yet it is exactly 100 × municipal_subsidy_per_capita
/// / public_subsidy_per_capita member by member, on perturbed data too,
/// and both are released in full. Observed (secret [29; 32]): all five
/// isolated members' shares within ±5 % (ranks 3, 6, 11, 16, 19: guesses
/// 76.80, 68.72, 59.18, 51.52, 46.87 against 76.92, 68.97, 58.82, 51.28,
/// 47.62); the error is bounded by |u_mun − u_state| / 2 ≈ 2.5 % for every
/// secret. Fix: release one of the two per-capita figures as a mean only
/// too (or let the Land allocation not share the municipal one's role,
/// with public_subsidy_per_capita then mean-only).
///
/// Fixed: `municipal_subsidy_per_capita` is released as a mean only too,
/// and the engine's catalogue test now checks that no mean-only key figure
/// follows from two released in full.
#[tokio::test]
async fn breaker29b_theatre_mean_only_share_from_two_per_capita_quantiles() {
    let app = TestApp::spawn_with_noise_secret([29; 32]).await;
    let n = 21;
    theatre_ring(&app, n).await;
    let mun = single_values(&app, "theatre", "municipal_subsidy_per_capita", n).await;
    let public = single_values(&app, "theatre", "public_subsidy_per_capita", n).await;
    let (hit, tried, seen) = hits(&mun, &public, |m, p| 100.0 * m / p, theatre_share);
    eprintln!("theatre municipal share: {hit} of {tried}: {seen:?}");
    assert!(
        hit * 5 <= tried * 3,
        "a mean-only share recovered within ±5 % for {hit} of {tried} members: {seen:?}"
    );
}

/// A Volkshochschule ring of 9 towns: expenditure per teaching hour
/// 20 × 1.5^i EUR and a cost recovery of 3 × 1.5^i %, so fees per
/// teaching hour are 0.6 × 2.25^i EUR (spacing wider than two multipliers
/// of a two-sided ratio can bridge, 1.22²).
fn vhs_rows(n: usize) -> Vec<Vec<(&'static str, f64)>> {
    (0..n)
        .map(|i| {
            let hours = 20_000.0;
            let spend = 20.0 * 1.5f64.powi(i as i32) * hours;
            let fees = 0.03 * 1.5f64.powi(i as i32) * spend;
            vec![
                ("population", 150_000.0),
                ("courses", hours / 30.0),
                ("teaching_hours", hours),
                ("enrolments", hours / 3.0),
                ("staff_fte", 5.0),
                ("income_fees", fees),
                ("expenditure_total", spend),
            ]
        })
        .collect()
}

/// cost_recovery (fees⁻ / expenditure⁺) × expenditure_per_hour
/// (expenditure⁺ / hours⁻) = 100 × fees / hours: both private inputs have
/// the role minus, so the fee income per teaching hour of a member comes
/// out within (1 ± u_fees)/(1 ± u_hours), at most about ±5 %, whatever
/// the secret. Observed (secret [29; 32]): p25, median and p75 give the
/// 3rd, 5th and 7th member's fees per hour as 3.107, 15.32 and 78.04 EUR
/// against the true 3.038, 15.38 and 77.85 (all three within ±5 %).
/// Fix: give `income_fees` the role plus (then cost_recovery is a ratio
/// of two plus figures: release it mean-only or make the fees `free`), or
/// release one of the two figures as a mean only.
#[tokio::test]
#[ignore = "finding: adult_education cost_recovery × expenditure_per_hour = fees per teaching hour, both inputs role minus: isolated quantiles give it within ±5 % every time (one of 40 such pairs over all five domains, see the engine's ignored pair test)"]
async fn breaker29b_vhs_fees_per_hour_from_cost_recovery_and_cost_per_hour() {
    let app = TestApp::spawn_with_noise_secret([29; 32]).await;
    let n = 9;
    let ids = ids(n);
    register(&app, &ids).await;
    bulk(&app, "adult_education", 2024, &ids, &vhs_rows(n)).await;
    let rec = single_values(&app, "adult_education", "cost_recovery", n).await;
    let eph = single_values(&app, "adult_education", "expenditure_per_hour", n).await;
    let truth = |i: usize| 0.6 * 2.25f64.powi(i as i32);
    let (hit, tried, seen) = hits(&rec, &eph, |r, e| r * e / 100.0, truth);
    eprintln!("vhs fees per hour: {hit} of {tried}: {seen:?}");
    assert!(tried >= 3, "the quantiles were released: {seen:?}");
    assert!(
        hit * 3 <= tried * 2,
        "fees per teaching hour recovered within ±5 % for {hit} of {tried} members: {seen:?}"
    );
}

/// One Volkshochschule row of a town of 150,000 (no optional figure).
fn vhs_row() -> Vec<(&'static str, f64)> {
    vhs_rows(3).remove(2)
}

/// The rule `expenditure_staff + expenditure_fees_teachers <=
/// expenditure_total` is NULL (so does not apply) when the optional fees
/// are not reported, and no other rule bounds the staff expenditure: a
/// VHS stores staff costs of twice its total expenditure, a staff cost
/// share of 200 %, and it enters every mean. Observed: 201 Created with
/// no error; `staff_cost_share` 200. Fix: a rule `expenditure_staff <=
/// expenditure_total` of its own (as the theatre has), or `coalesce(…, 0)`
/// on both parts.
///
/// Fixed: the rule `expenditure_staff_max_total` of its own.
#[tokio::test]
async fn breaker29b_vhs_staff_cost_above_total_when_fees_are_empty() {
    let app = TestApp::spawn().await;
    let id = ids(1);
    register(&app, &id).await;
    let member = app.token(Role::Member, Some(&id[0])).await;
    let mut row = vhs_row();
    let total = row
        .iter()
        .find(|(n, _)| *n == "expenditure_total")
        .unwrap()
        .1;
    row.push(("expenditure_staff", 2.0 * total));
    let cols: Vec<Col<'_>> = row.iter().map(|(n, v)| (*n, vec![Some(*v)])).collect();
    let a = app
        .upload(
            "adult_education",
            2024,
            &member,
            PARQUET,
            parquet(None, &cols),
        )
        .await;
    if a.status == StatusCode::CREATED {
        let f = app
            .get(
                &format!("/api/v1/figures/adult_education/2024?member_id={}", id[0]),
                Some(&member),
            )
            .await;
        panic!(
            "stored: staff_cost_share {}",
            f.body["key"]["staff_cost_share"]
        );
    }
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
}

/// Finite but huge figures (1e306 teaching hours, 1e307 spending: every
/// `1000 ×` and every sum overflows to infinity inside the key figures,
/// the audit and the statistics) are either refused or served without a
/// 5xx in every answer a caller can ask for.
#[tokio::test]
async fn breaker29b_huge_figures_never_break_an_answer() {
    let app = TestApp::spawn().await;
    let ids = ids(7);
    register(&app, &ids).await;
    let mut rows = vhs_rows(7);
    for (name, v) in rows[6].iter_mut() {
        match *name {
            "teaching_hours" | "enrolments" => *v = 1e306,
            "expenditure_total" | "income_fees" => *v = 1e307,
            _ => {}
        }
    }
    let names: Vec<&str> = rows[0].iter().map(|(n, _)| *n).collect();
    let cols: Vec<Col<'_>> = names
        .iter()
        .enumerate()
        .map(|(c, n)| (*n, rows.iter().map(|r| Some(r[c].1)).collect()))
        .collect();
    let file = parquet(Some(ids.iter().map(String::as_str).collect()), &cols);
    let up = app
        .upload("adult_education", 2024, &app.admin, PARQUET, file)
        .await;
    assert!(
        up.status.is_success() || up.status.is_client_error(),
        "{}",
        up.text
    );
    eprintln!("huge upload: {} {}", up.status, up.text);
    let member = app.token(Role::Member, Some(&ids[6])).await;
    let catalog = app.get("/api/v1/catalog", None).await;
    let domain = catalog.body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "adult_education")
        .unwrap()
        .clone();
    for k in domain["key_figures"].as_array().unwrap() {
        let fig = k["id"].as_str().unwrap();
        for token in [&app.admin, &app.analyst, &member] {
            for by in ["all", "size_class"] {
                let p =
                    format!("/api/v1/comparisons/adult_education/2024?figure={fig}&group_by={by}");
                let a = app.get(&p, Some(token)).await;
                assert!(!a.status.is_server_error(), "{p}: {}", a.text);
            }
        }
    }
    for format in ["json", "csv", "xlsx", "html"] {
        let p = format!("/api/v1/reports/{}/2024?format={format}", ids[6]);
        let a = app.get(&p, Some(&member)).await;
        assert!(!a.status.is_server_error(), "{p}: {}", a.text);
    }
    let q = app
        .post_json(
            "/api/v1/query",
            Some(&app.analyst),
            &json!({"sql": "SELECT figure, mean, median, std_dev, weighted FROM comparisons WHERE domain = 'adult_education'"}),
        )
        .await;
    assert!(!q.status.is_server_error(), "{}", q.text);
}

/// Text uploads of theatre figures with NaN, infinity, a negative count,
/// and a Land allocation written as `1e400`: refused with 422,
/// nothing stored.
#[tokio::test]
async fn breaker29b_hostile_theatre_csv_values_are_refused() {
    let app = TestApp::spawn().await;
    let id = ids(1);
    register(&app, &id).await;
    let member = app.token(Role::Member, Some(&id[0])).await;
    let row = theatre_rows(1).remove(0);
    let header: Vec<&str> = row.iter().map(|(n, _)| *n).collect();
    for (figure, bad) in [
        ("visits", "NaN"),
        ("seats", "inf"),
        ("performances", "-3"),
        ("subsidy_state", "1e400"),
        ("staff_fte", "-Infinity"),
    ] {
        let values: Vec<String> = row
            .iter()
            .map(|(n, v)| {
                if *n == figure {
                    bad.to_string()
                } else {
                    v.to_string()
                }
            })
            .collect();
        let csv = format!("{}\n{}\n", header.join(","), values.join(","));
        let a = app
            .upload("theatre", 2024, &member, "text/csv", csv.into())
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{figure}={bad}: {}",
            a.text
        );
    }
    let subs = app
        .get("/api/v1/submissions/theatre/2024", Some(&member))
        .await;
    assert_eq!(subs.body, json!([]), "{}", subs.text);
}

/// The mean-only figures of the new domains give a non-admin caller the
/// group mean and nothing else, in every channel: comparisons (no
/// quantile, spread, weighted ratio, distribution or quintile, for the
/// member too), its time series, and the analysts' SQL table.
#[tokio::test]
async fn breaker29b_mean_only_figures_release_only_the_mean_everywhere() {
    let app = TestApp::spawn().await;
    let n = 21;
    let ids = theatre_ring(&app, n).await;
    let vhs: Vec<String> = ids[..9].to_vec();
    bulk(&app, "adult_education", 2024, &vhs, &vhs_rows(9)).await;
    let member = app.token(Role::Member, Some(&ids[4])).await;
    let hidden = [
        "median", "p25", "p75", "p10", "p90", "std_dev", "weighted", "min", "max",
    ];
    for (domain, fig) in [
        ("theatre", "municipal_subsidy_share"),
        ("adult_education", "enrolments_per_course"),
        ("adult_education", "hours_per_pedagogical_fte"),
    ] {
        for token in [&app.analyst, &member] {
            for by in ["all", "size_class", "land", "kind"] {
                let p = format!("/api/v1/comparisons/{domain}/2024?figure={fig}&group_by={by}");
                let a = app.get(&p, Some(token)).await;
                assert_eq!(a.status, StatusCode::OK, "{p}: {}", a.text);
                for g in a.body["groups"].as_array().unwrap() {
                    for s in hidden {
                        assert!(g["stats"][s].is_null(), "{p} {s}: {g}");
                    }
                    assert!(g["distribution"].is_null(), "{p}: {g}");
                    assert!(g["own"]["quintile"].is_null(), "{p}: {g}");
                }
            }
        }
        let p = format!("/api/v1/timeseries/{domain}/{fig}?group_by=all");
        let t = app.get(&p, Some(&member)).await;
        assert_eq!(t.status, StatusCode::OK, "{p}: {}", t.text);
        for point in t.body["points"].as_array().unwrap() {
            for s in hidden {
                assert!(point["stats"][s].is_null(), "{p} {s}: {point}");
            }
        }
    }
    let q = app
        .post_json(
            "/api/v1/query",
            Some(&app.analyst),
            &json!({"sql": "SELECT sum(CASE WHEN median IS NOT NULL OR p25 IS NOT NULL OR p75 IS NOT NULL OR p10 IS NOT NULL OR p90 IS NOT NULL OR std_dev IS NOT NULL OR weighted IS NOT NULL THEN 1 ELSE 0 END), count(mean) FROM comparisons WHERE figure IN ('municipal_subsidy_share', 'enrolments_per_course', 'hours_per_pedagogical_fte')"}),
        )
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    assert_eq!(q.body["rows"][0][0], 0, "{}", q.text);
    assert!(q.body["rows"][0][1].as_u64().unwrap() > 0, "{}", q.text);
}
