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
use serde_json::{Value, json};
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
fn hits(a: &[(usize, f64)], b: &[(usize, f64)], f: impl Fn(f64, f64) -> f64, truth: impl Fn(usize) -> f64) -> (usize, usize, Vec<String>) {
    let mut seen = Vec::new();
    let mut hit = 0;
    for (pos, x) in a {
        let Some((_, y)) = b.iter().find(|(p, _)| p == pos) else { continue };
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
#[tokio::test]
#[ignore = "finding: theatre municipal_subsidy_share (mean_only) = municipal_subsidy_per_capita / public_subsidy_per_capita, both full: isolated quantiles give a member's municipal share within ±5 % every time"]
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
#[ignore = "finding: adult_education cost_recovery × expenditure_per_hour = fees per teaching hour, both inputs role minus: isolated quantiles give it within ±5 % every time"]
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
