//! Structural neighbours (issue 30) through the real server: every
//! member's neighbours against an independent computation, the register's
//! structure for real keys, members outside the register, who sees what,
//! and the neighbour group as a comparison group.

use std::collections::BTreeMap;

use arrow::array::{Array, Float64Array, StringArray};
use reqwest::StatusCode;
use serde_json::{Value, json};
use vergleichsring_store::Role;

use crate::helpers::*;

/// A generated (domain, year)'s figures.
fn figures<'g>(
    g: &'g vergleichsring_synth::Generated,
    domain: &str,
    year: i32,
) -> &'g arrow::array::RecordBatch {
    &g.figures
        .iter()
        .find(|f| f.domain == domain && f.year == year)
        .unwrap()
        .batch
}

/// A number column of a generated batch.
fn numbers(batch: &arrow::array::RecordBatch, name: &str) -> Float64Array {
    batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .clone()
}

/// The member ids of a generated batch.
fn member_ids(batch: &arrow::array::RecordBatch) -> StringArray {
    batch
        .column_by_name("member_id")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone()
}

/// The default `k`.
const K: usize = 15;

/// A member as the oracle sees it: (member id, is a Landkreis, population,
/// area, degree of urbanisation).
type Row = (String, bool, f64, f64, f64);

/// The rows of a generated ring's (domain, year): every member with a
/// population, its structure as registered.
fn rows(g: &vergleichsring_synth::Generated, domain: &str, year: i32) -> Vec<Row> {
    let batch = figures(g, domain, year);
    let (ids, pop) = (member_ids(batch), numbers(batch, "population"));
    let by_id: BTreeMap<&str, &vergleichsring_synth::MemberSpec> = g
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m))
        .collect();
    let mut out: Vec<Row> = (0..ids.len())
        .filter(|&i| !pop.is_null(i) && pop.value(i) >= 1.0)
        .map(|i| {
            let m = by_id[ids.value(i)];
            (
                m.member_id.clone(),
                m.kind == vergleichsring_catalog::MemberKind::Landkreis,
                pop.value(i),
                m.area_km2,
                m.degurba,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The oracle: written from docs/neighbours.md, not from the engine's
/// code. Variables ln(population), ln(population / area), degree of
/// urbanisation, each standardised (population standard deviation) over
/// the members of the same class, weight 1; all pairwise distances, sorted
/// by (distance, member id); the first k.
fn oracle(rows: &[Row], k: usize) -> BTreeMap<String, Vec<(String, f64)>> {
    let mut out = BTreeMap::new();
    for class in [false, true] {
        let members: Vec<&Row> = rows.iter().filter(|r| r.1 == class).collect();
        let raw: Vec<[f64; 3]> = members
            .iter()
            .map(|r| [r.2.ln(), (r.2 / r.3).ln(), r.4])
            .collect();
        let n = raw.len() as f64;
        let mut z = raw.clone();
        for v in 0..3 {
            let mean = raw.iter().map(|x| x[v]).sum::<f64>() / n;
            let sd = (raw.iter().map(|x| (x[v] - mean).powi(2)).sum::<f64>() / n).sqrt();
            for (zi, xi) in z.iter_mut().zip(&raw) {
                zi[v] = if sd > 0.0 { (xi[v] - mean) / sd } else { 0.0 };
            }
        }
        for (i, me) in members.iter().enumerate() {
            let mut d: Vec<(String, f64)> = members
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, other)| {
                    let d2: f64 = (0..3).map(|v| (z[i][v] - z[j][v]).powi(2)).sum();
                    (other.0.clone(), d2.sqrt())
                })
                .collect();
            d.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then(a.0.cmp(&b.0)));
            d.truncate(k);
            out.insert(me.0.clone(), d);
        }
    }
    out
}

/// Compares the server's list of a member's neighbours with the oracle's:
/// the same members in the same order and distances, except that two
/// neighbours at the same distance (to rounding) may change places, and a
/// tie at the k-th place may bring another member of that distance.
fn assert_same(member: &str, got: &[(String, f64)], want: &[(String, f64)]) {
    assert_eq!(got.len(), want.len(), "{member}: number of neighbours");
    for (i, ((gi, gd), (wi, wd))) in got.iter().zip(want).enumerate() {
        assert!(
            (gd - wd).abs() <= 1e-9 * wd.max(1.0),
            "{member}: neighbour {i} at {gd}, the oracle's at {wd}"
        );
        if gi != wi {
            let tied = want
                .iter()
                .chain(got)
                .filter(|(_, d)| (d - gd).abs() <= 1e-9)
                .count();
            assert!(
                tied > 2,
                "{member}: neighbour {i} is {gi}, the oracle's {wi}"
            );
        }
    }
}

#[tokio::test]
async fn every_members_neighbours_match_an_independent_computation() {
    let app = TestApp::spawn().await;
    let g = app.load_ring(400, 2024..=2024, 30).await;
    let want = oracle(&rows(&g, "library", 2024), K);
    // Every member's at once (admin: the live state).
    let all = app
        .get("/api/v1/neighbours/library/2024", Some(&app.admin))
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let mut got: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for p in all.body.as_array().unwrap() {
        got.entry(p["member_id"].as_str().unwrap().to_string())
            .or_default()
            .push((
                p["neighbour_id"].as_str().unwrap().to_string(),
                p["distance"].as_f64().unwrap(),
            ));
    }
    assert_eq!(
        got.len(),
        want.len(),
        "every member with figures has neighbours"
    );
    assert_eq!(got.len(), 400);
    for (m, w) in &want {
        assert_same(m, &got[m], w);
    }
    // One member's answer names the same neighbours, each with its
    // variables' shares of the distance, which add up to 1.
    let analyst = app.token(Role::Analyst, None).await;
    for m in want.keys().step_by(37) {
        let a = app
            .get(
                &format!("/api/v1/neighbours/library/2024?of={m}"),
                Some(&analyst),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let named: Vec<(String, f64)> = a.body["neighbours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                let shares: f64 = n["shares"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_f64().unwrap())
                    .sum();
                assert!(
                    (shares - 1.0).abs() < 1e-9,
                    "{m}: shares add up to {shares}"
                );
                (
                    n["member_id"].as_str().unwrap().to_string(),
                    n["distance"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_same(m, &named, &want[m]);
        assert_eq!(a.body["group"], format!("neighbours:{m}"));
        assert!(a.body["attribution"].as_str().unwrap().contains("Destatis"));
    }
}

/// Landkreise are only ever neighbours of Landkreise.
#[tokio::test]
async fn landkreise_are_neighbours_of_landkreise_only() {
    let app = TestApp::spawn().await;
    let g = app.load_ring(400, 2024..=2024, 31).await;
    let county: BTreeMap<&str, bool> = g
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.as_str(),
                m.kind == vergleichsring_catalog::MemberKind::Landkreis,
            )
        })
        .collect();
    let all = app
        .get("/api/v1/neighbours/museum/2024", Some(&app.admin))
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let pairs = all.body.as_array().unwrap();
    assert!(pairs.len() > 100);
    for p in pairs {
        let (a, b) = (
            p["member_id"].as_str().unwrap(),
            p["neighbour_id"].as_str().unwrap(),
        );
        assert_eq!(county[a], county[b], "{a} and {b}");
    }
}

/// Real keys take their structure from the register; a key it does not
/// hold gets a clear answer until admin gives the member a structure.
#[tokio::test]
async fn the_register_gives_real_members_their_structure() {
    let app = TestApp::spawn().await;
    // Twelve real towns of NRW and one merger the 2019 register lacks.
    let real = [
        "05111000", "05112000", "05113000", "05114000", "05116000", "05117000", "05119000",
        "05120000", "05122000", "05124000", "05314000", "05315000",
    ];
    let mut members: Vec<(&str, &str, &str)> = real
        .iter()
        .map(|id| (*id, "Stadt", "kreisfreie_stadt"))
        .collect();
    members.push(("05999000", "Neustadt (fusioniert)", "kreisfreie_stadt"));
    app.register(&members).await;
    let mut rows: Vec<(&str, f64, f64)> = real
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, 100_000.0 + 10_000.0 * i as f64, 1.0 + i as f64 / 10.0))
        .collect();
    rows.push(("05999000", 150_000.0, 1.2));
    app.library_bulk(2024, &rows).await;
    let a = app
        .get(
            "/api/v1/neighbours/library/2024?of=05315000",
            Some(&app.admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let n = a.body["neighbours"].as_array().unwrap();
    assert_eq!(n.len(), 11, "every other real town: fewer than k");
    // Köln: dense (DEGURBA 1), 405 km² in the register.
    let own = &a.body["profile"]["variables"];
    let degurba = own
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variable"] == "degurba")
        .unwrap();
    assert_eq!(degurba["own"], 1.0);
    let density = own
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variable"] == "log_density")
        .unwrap()["own"]
        .as_f64()
        .unwrap();
    let koeln = vergleichsring_catalog::register::Register::bundled()
        .municipality("05315000")
        .unwrap()
        .area_km2;
    let population = rows[11].1;
    assert!((density - population / koeln).abs() < 0.006, "{density}");
    // The merger: a clear answer, then admin's structure.
    let missing = app
        .get(
            "/api/v1/neighbours/library/2024?of=05999000",
            Some(&app.admin),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.text
    );
    assert_eq!(missing.body["error"], "no_neighbours");
    assert_eq!(missing.body["reason"], "no_structure");
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("register")
    );
    let bad = app
        .post_json(
            "/api/v1/members",
            Some(&app.admin),
            &json!([{"member_id": "05999000", "name": "Neustadt", "kind": "kreisfreie_stadt",
                "structure": {"area_km2": -3.0, "degurba": 1.0}}]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains("area_km2"), "{}", bad.text);
    let given = app
        .post_json(
            "/api/v1/members",
            Some(&app.admin),
            &json!([{"member_id": "05999000", "name": "Neustadt", "kind": "kreisfreie_stadt",
                "structure": {"area_km2": 120.5, "degurba": 1.0}}]),
        )
        .await;
    assert_eq!(given.status, StatusCode::CREATED, "{}", given.text);
    // Registering again without a structure keeps it.
    app.register(&[("05999000", "Neustadt", "kreisfreie_stadt")])
        .await;
    let found = app
        .get(
            "/api/v1/neighbours/library/2024?of=05999000",
            Some(&app.admin),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body["neighbours"].as_array().unwrap().len(), 12);
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["member_id"].as_str().unwrap().to_string())
        .collect()
}

/// Who sees what: a member its own neighbours' profile (names only in
/// `named` mode), an analyst any member's by name, a consultant its
/// grants'; the neighbour group compares like a custom group.
#[tokio::test]
async fn members_see_a_profile_and_compare_with_their_neighbours() {
    let app = TestApp::spawn().await;
    let g = app.load_ring(120, 2024..=2024, 32).await;
    let me = g.members[10].member_id.clone();
    let other = g.members[11].member_id.clone();
    let member = app.token(Role::Member, Some(&me)).await;
    let a = app
        .get("/api/v1/neighbours/library/2024", Some(&member))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.body["neighbours"].is_null(), "aggregate_only: no names");
    let profile = &a.body["profile"];
    assert_eq!(profile["n"], K);
    assert!(!profile["laender"].as_array().unwrap().is_empty());
    for v in profile["variables"].as_array().unwrap() {
        assert!(v["min"].as_f64().unwrap() <= v["max"].as_f64().unwrap());
    }
    let theirs = app
        .get(
            &format!("/api/v1/neighbours/library/2024?of={other}"),
            Some(&member),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{}", theirs.text);
    // An analyst names the member and sees names.
    let analyst = app.token(Role::Analyst, None).await;
    let named = app
        .get(
            &format!("/api/v1/neighbours/library/2024?of={me}"),
            Some(&analyst),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.text);
    let neighbours = ids(&named.body["neighbours"]);
    assert_eq!(neighbours.len(), K);
    for n in &neighbours {
        assert!(
            !a.text.contains(n.as_str()),
            "the member's answer names {n}"
        );
    }
    // The member's comparison over its neighbours: itself and its k
    // neighbours, statistics from the same publication.
    let c = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=neighbours",
            Some(&member),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let group = &c.body["groups"][0];
    assert_eq!(group["group"], format!("neighbours:{me}"));
    assert_eq!(group["n"], K + 1);
    assert!(group["own"].is_object(), "{group}");
    // An analyst must say whose neighbours.
    let no_of = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=neighbours",
            Some(&analyst),
        )
        .await;
    assert_eq!(no_of.status, StatusCode::BAD_REQUEST, "{}", no_of.text);
    let with_of = app
        .get(
            &format!("/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=neighbours&of={me}"),
            Some(&analyst),
        )
        .await;
    assert_eq!(with_of.status, StatusCode::OK, "{}", with_of.text);
    assert_eq!(with_of.body["groups"][0]["stats"], group["stats"]);
    // A consultant for the member; not for another.
    let consultant = app.consultant("c-30", &[&me]).await;
    let via = app
        .get(
            &format!("/api/v1/neighbours/library/2024?of={me}"),
            Some(&consultant),
        )
        .await;
    assert_eq!(via.status, StatusCode::OK, "{}", via.text);
    assert!(via.body["neighbours"].is_null());
    let not = app
        .get(
            &format!("/api/v1/neighbours/library/2024?of={other}"),
            Some(&consultant),
        )
        .await;
    assert_eq!(not.status, StatusCode::FORBIDDEN, "{}", not.text);
    // A member's time series over its neighbours.
    let ts = app
        .get(
            "/api/v1/timeseries/library/loans_per_capita?group_by=neighbours",
            Some(&member),
        )
        .await;
    assert_eq!(ts.status, StatusCode::OK, "{}", ts.text);
    assert_eq!(ts.body["points"][0]["group"], format!("neighbours:{me}"));
}

/// `reference import` checks an extract whole and refuses a damaged one
/// naming its line, writing nothing; a good one, with the year it
/// describes, takes the bundled register's place at the next start.
#[tokio::test]
async fn an_imported_register_takes_the_bundled_ones_place() {
    let bundled = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/catalog/reference/gemeinden_gv_isys.csv"
    ))
    .unwrap();
    let app = TestApp::spawn_with(|dir| {
        let files = tempfile::tempdir().unwrap();
        let data = dir.to_str().unwrap();
        let damaged = files.path().join("damaged.csv");
        let mut lines: Vec<&str> = bundled.lines().take(3).collect();
        lines.push("0531500;Köln;05;3;05315;0;405;1;0;0;1;;0;0;01;d");
        std::fs::write(&damaged, lines.join("\n")).unwrap();
        let (ok, out) = crate::maintenance::run(&[
            "reference",
            "import",
            damaged.to_str().unwrap(),
            "--year",
            "2023",
            "--data-dir",
            data,
        ]);
        assert!(!ok, "{out}");
        assert!(out.contains("line 4"), "{out}");
        assert!(!dir.join("catalog/reference/gemeinden_gv_isys.csv").exists());
        // Köln with twice its area.
        let newer = files.path().join("newer.csv");
        std::fs::write(
            &newer,
            bundled.replace(";053150000;405.01;", ";053150000;810.02;"),
        )
        .unwrap();
        let (ok, out) = crate::maintenance::run(&[
            "reference",
            "import",
            newer.to_str().unwrap(),
            "--year",
            "2023",
            "--data-dir",
            data,
        ]);
        assert!(ok, "{out}");
        assert!(
            out.contains("11004 municipalities (208 uninhabited)"),
            "{out}"
        );
    })
    .await;
    let towns = [
        "05111000", "05112000", "05113000", "05114000", "05116000", "05315000",
    ];
    let members: Vec<(&str, &str, &str)> = towns
        .iter()
        .map(|id| (*id, "Stadt", "kreisfreie_stadt"))
        .collect();
    app.register(&members).await;
    let rows: Vec<(&str, f64, f64)> = towns
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, 200_000.0 + 1000.0 * i as f64, 1.0))
        .collect();
    app.library_bulk(2024, &rows).await;
    let a = app
        .get(
            "/api/v1/neighbours/library/2024?of=05315000",
            Some(&app.admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["register_year"], 2023);
    let density = a.body["profile"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variable"] == "log_density")
        .unwrap()["own"]
        .as_f64()
        .unwrap();
    assert!((density - 205_000.0 / 810.02).abs() < 0.006, "{density}");
}

/// Rule 13's attacker with neighbour groups: an analyst asks the
/// neighbour comparison of every member (and every built-in dimension),
/// learns each released group's members from the neighbours answer, and
/// solves the released sums (n × mean) for every member's value it
/// determines. Each value so found is a perturbed one, at least
/// `noise_min` from the truth (rule 15).
#[tokio::test]
async fn differenced_neighbour_groups_never_give_a_value_within_the_protection_interval() {
    let app = TestApp::spawn().await;
    let g = app.load_ring(60, 2024..=2024, 33).await;
    let batch = figures(&g, "library", 2024);
    let col = |name: &str| numbers(batch, name);
    let ids = member_ids(batch);
    let (loans, pop) = (col("loans"), col("population"));
    let truth: BTreeMap<String, f64> = (0..ids.len())
        .map(|i| (ids.value(i).to_string(), loans.value(i) / pop.value(i)))
        .collect();
    let index: BTreeMap<&str, usize> = truth
        .keys()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let analyst = app.token(Role::Analyst, None).await;
    // Rows: (member indices, sum).
    let mut rows: Vec<(Vec<usize>, f64)> = Vec::new();
    let mut released = 0;
    for m in truth.keys() {
        let c = app
            .get(
                &format!("/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=neighbours&of={m}"),
                Some(&analyst),
            )
            .await;
        let Some(mean) = c.body["groups"][0]["stats"]["mean"].as_f64() else {
            continue;
        };
        let n = c.body["groups"][0]["n"].as_f64().unwrap();
        let who = app
            .get(
                &format!("/api/v1/neighbours/library/2024?of={m}"),
                Some(&analyst),
            )
            .await;
        let mut members: Vec<usize> = ids_of(&who.body["neighbours"])
            .iter()
            .map(|x| index[x.as_str()])
            .collect();
        members.push(index[m.as_str()]);
        assert_eq!(
            members.len() as f64,
            n,
            "{m}: the group is the listed neighbours and itself"
        );
        rows.push((members, n * mean));
        released += 1;
    }
    assert!(
        released * 2 >= truth.len(),
        "only {released} of {} neighbour groups released",
        truth.len()
    );
    // The whole ring's sum too (its members are public).
    let all = app
        .get(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=all",
            Some(&analyst),
        )
        .await;
    if let (Some(mean), Some(n)) = (
        all.body["groups"][0]["stats"]["mean"].as_f64(),
        all.body["groups"][0]["n"].as_f64(),
    ) && n as usize == truth.len()
    {
        rows.push(((0..truth.len()).collect(), n * mean));
    }
    // Gaussian elimination on the rows; a row left with one member
    // determines that member's (perturbed) value.
    let width = truth.len();
    let mut m: Vec<Vec<f64>> = rows
        .iter()
        .map(|(who, sum)| {
            let mut r = vec![0.0; width + 1];
            for &i in who {
                r[i] = 1.0;
            }
            r[width] = *sum;
            r
        })
        .collect();
    let mut pivot_row = 0;
    for col in 0..width {
        let Some(p) = (pivot_row..m.len()).find(|&r| m[r][col].abs() > 1e-9) else {
            continue;
        };
        m.swap(pivot_row, p);
        let pv = m[pivot_row][col];
        for x in m[pivot_row].iter_mut() {
            *x /= pv;
        }
        for r in 0..m.len() {
            if r != pivot_row && m[r][col].abs() > 1e-12 {
                let factor = m[r][col];
                let prow = m[pivot_row].clone();
                for (x, y) in m[r].iter_mut().zip(&prow) {
                    *x -= factor * y;
                }
            }
        }
        pivot_row += 1;
    }
    let names: Vec<&String> = truth.keys().collect();
    let mut determined = 0;
    for r in &m[..pivot_row] {
        let support: Vec<usize> = (0..width).filter(|&i| r[i].abs() > 1e-9).collect();
        if let [i] = support[..] {
            determined += 1;
            let value = r[width] / r[i];
            let t = truth[names[i]];
            assert!(
                (value - t).abs() >= 0.05 * t * 0.999,
                "{}: {value} within 5 % of the true {t}",
                names[i]
            );
        }
    }
    println!(
        "{released} neighbour groups released, {determined} members' values determined, each outside the interval"
    );
}

fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|n| n["member_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A neighbour comparison is kept by its `ETag` like a built-in one: once
/// its group is recorded, asked again it is the same answer, 304 with the
/// tag; another member's neighbour group is another answer.
#[tokio::test]
async fn a_neighbour_comparison_is_tagged_and_kept() {
    let app = TestApp::spawn().await;
    let g = app.load_ring(120, 2024..=2024, 34).await;
    let (a, b) = (&g.members[20].member_id, &g.members[60].member_id);
    let analyst = app.token(Role::Analyst, None).await;
    let path = |of: &str| {
        app.url(&format!(
            "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=neighbours&of={of}"
        ))
    };
    let get = |url: String, tag: Option<String>| {
        let mut r = app.client.get(url).bearer_auth(&analyst);
        if let Some(t) = tag {
            r = r.header("If-None-Match", t);
        }
        r.send()
    };
    // The first answer records the group; from the second on it is kept.
    let first = get(path(a), None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = get(path(a), None).await.unwrap();
    let tag = second.headers()["etag"].to_str().unwrap().to_string();
    let body = second.text().await.unwrap();
    let third = get(path(a), None).await.unwrap();
    assert_eq!(third.headers()["etag"].to_str().unwrap(), tag);
    assert_eq!(third.text().await.unwrap(), body);
    let not_modified = get(path(a), Some(tag.clone())).await.unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    let other = get(path(b), Some(tag)).await.unwrap();
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another member's group is another answer"
    );
    assert!(
        other
            .text()
            .await
            .unwrap()
            .contains(&format!("neighbours:{b}"))
    );
}

/// The page "Warum ist X mein Nachbar": an analyst sees each neighbour
/// with its distance and shares, a member (aggregate_only) the profile
/// without any neighbour's name, and the register's attribution.
#[tokio::test]
async fn the_neighbours_page_explains_the_group() {
    use crate::web::WebClient;
    let app = TestApp::spawn().await;
    let g = app.load_ring(120, 2024..=2024, 35).await;
    let me = g.members[12].member_id.clone();
    let analyst = app.token(Role::Analyst, None).await;
    let api = app
        .get(
            &format!("/api/v1/neighbours/library/2024?of={me}"),
            Some(&analyst),
        )
        .await;
    let names: Vec<String> = api.body["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    let mut web = crate::web::signed_in_user(
        &app,
        json!({"email": "ana@ring.example", "name": "Ana Lyse", "role": "analyst"}),
    )
    .await;
    let page = web
        .get(&format!("/web/nachbarn/library/2024?von={me}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Strukturnachbarn von"));
    for n in &names {
        assert!(page.text.contains(n.as_str()), "{n} missing");
    }
    assert!(page.text.contains("Anteil Einwohner je km²"));
    assert!(page.text.contains("Destatis"));
    let member = app.token(Role::Member, Some(&me)).await;
    let mut web = WebClient::new(&app);
    web.sign_in(&member).await;
    let own = web.get("/web/nachbarn/library/2024").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert!(own.text.contains("Profil der Gruppe"));
    for n in &names {
        assert!(
            !own.text.contains(n.as_str()),
            "the member's page names {n}"
        );
    }
    let other = web
        .get(&format!(
            "/web/nachbarn/library/2024?von={}",
            g.members[13].member_id
        ))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

/// In a ring that agreed on `named`, a member sees its neighbours by
/// name; a consultant too (it reads on the member's behalf).
#[tokio::test]
async fn named_rings_show_members_their_neighbours_by_name() {
    use vergleichsring_engine::disclosure::{Policy, Visibility};
    let app = TestApp::spawn_with_policy(Policy {
        visibility: Visibility::Named,
        ..Policy::default()
    })
    .await;
    let g = app.load_ring(80, 2024..=2024, 36).await;
    let me = &g.members[7].member_id;
    let member = app.token(Role::Member, Some(me)).await;
    let a = app
        .get("/api/v1/neighbours/library/2024", Some(&member))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let named = a.body["neighbours"].as_array().unwrap();
    assert_eq!(named.len(), K);
    assert!(
        named
            .iter()
            .all(|n| n["name"].as_str().is_some_and(|s| !s.is_empty()))
    );
}

/// The structural types: a partition of each class into types of at
/// least twice a neighbour group, with German descriptions, the same
/// after a restart (a fixed seed), and released like any built-in group.
#[tokio::test]
async fn structural_types_partition_the_ring_the_same_way_every_time() {
    let mut app = TestApp::spawn().await;
    let g = app.load_ring(400, 2024..=2024, 37).await;
    let path = "/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=structure_type";
    let a = app.get(path, Some(&app.admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let groups = a.body["groups"].as_array().unwrap();
    let municipal: Vec<&Value> = groups
        .iter()
        .filter(|g| g["group"].as_str().unwrap().starts_with("typ_"))
        .collect();
    let county: Vec<&Value> = groups
        .iter()
        .filter(|g| g["group"].as_str().unwrap().starts_with("kreistyp_"))
        .collect();
    assert!(municipal.len() >= 2 && municipal.len() <= 6, "{}", a.text);
    assert!(!county.is_empty() && county.len() <= 3, "{}", a.text);
    let landkreise = g
        .members
        .iter()
        .filter(|m| m.kind == vergleichsring_catalog::MemberKind::Landkreis)
        .count();
    let n = |gs: &[&Value]| gs.iter().map(|g| g["n"].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        n(&municipal) as usize,
        400 - landkreise,
        "every municipality has a type"
    );
    assert_eq!(n(&county) as usize, landkreise);
    for grp in groups {
        assert!(grp["n"].as_u64().unwrap() >= 2 * (K as u64 + 1), "{grp}");
        let label = grp["label"].as_str().unwrap();
        assert!(
            label.starts_with("Typ ") || label.starts_with("Kreistyp "),
            "{label}"
        );
        assert!(label.contains("Einw."), "{label}");
    }
    // An analyst reads them from the publication.
    let analyst = app.token(Role::Analyst, None).await;
    let published = app.get(path, Some(&analyst)).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    assert!(
        published.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| !g["suppressed"].as_bool().unwrap())
    );
    // The catalogue lists the dimension.
    let catalog = app.get("/api/v1/catalog", None).await;
    assert!(catalog.text.contains("structure_type"));
    // A fixed seed: the same types after a restart.
    app.restart().await;
    let again = app.get(path, Some(&app.admin)).await;
    let labels = |v: &Value| {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["group"].to_string(),
                    g["label"].to_string(),
                    g["n"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(&again.body), labels(&a.body));
}

/// A ring may add a domain's basic figure to the distance (through the
/// real binary's configuration). It enters perturbed, and a domain
/// without it leaves it out. Checked against the oracle's method with
/// the figure per 1,000 inhabitants from the perturbed values.
#[tokio::test]
async fn a_configured_basic_figure_enters_the_distance_perturbed() {
    let app = TestApp::spawn_binary(
        "[neighbours]\nk = 5\nvariables = [{ name = \"log_population\" }, { name = \"stock\", transform = \"per_1000\", weight = 2.0 }]\n",
        &[],
    )
    .await;
    let g = app.load_ring(60, 2024..=2024, 38).await;
    let noise = app.noise().await;
    let batch = figures(&g, "library", 2024);
    let col = |name: &str| numbers(batch, name);
    let ids = member_ids(batch);
    let (pop, stock) = (col("population"), col("stock"));
    let county: BTreeMap<&str, bool> = g
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.as_str(),
                m.kind == vergleichsring_catalog::MemberKind::Landkreis,
            )
        })
        .collect();
    // (id, class, [ln population, perturbed stock per 1,000]).
    let raw: Vec<(String, bool, [f64; 2])> = (0..ids.len())
        .map(|i| {
            let id = ids.value(i);
            let m = multiplier(&noise, "library", id, "stock");
            (
                id.to_string(),
                county[id],
                [
                    pop.value(i).ln(),
                    stock.value(i) * m / pop.value(i) * 1000.0,
                ],
            )
        })
        .collect();
    let weights = [1.0f64, 2.0];
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for class in [false, true] {
        let members: Vec<&(String, bool, [f64; 2])> = raw.iter().filter(|r| r.1 == class).collect();
        let n = members.len() as f64;
        let mut z: Vec<[f64; 2]> = members.iter().map(|r| r.2).collect();
        for v in 0..2 {
            let mean = members.iter().map(|r| r.2[v]).sum::<f64>() / n;
            let sd = (members.iter().map(|r| (r.2[v] - mean).powi(2)).sum::<f64>() / n).sqrt();
            for (zi, r) in z.iter_mut().zip(&members) {
                zi[v] = (r.2[v] - mean) / sd * weights[v].sqrt();
            }
        }
        for (i, me) in members.iter().enumerate() {
            let mut d: Vec<(f64, &String)> = members
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, o)| {
                    (
                        ((z[i][0] - z[j][0]).powi(2) + (z[i][1] - z[j][1]).powi(2)).sqrt(),
                        &o.0,
                    )
                })
                .collect();
            d.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(b.1)));
            want.insert(
                me.0.clone(),
                d.iter().take(5).map(|(_, id)| (*id).clone()).collect(),
            );
        }
    }
    for (m, w) in want.iter().step_by(7) {
        let a = app
            .get(
                &format!("/api/v1/neighbours/library/2024?of={m}"),
                Some(&app.admin),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.body["variables"], json!(["log_population", "stock"]));
        assert_eq!(&ids_of(&a.body["neighbours"]), w, "{m}");
    }
    // The museum has no `stock`: the population alone.
    let some = member_ids(figures(&g, "museum", 2024)).value(0).to_string();
    let a = app
        .get(
            &format!("/api/v1/neighbours/museum/2024?of={some}"),
            Some(&app.admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["variables"], json!(["log_population"]));
}
