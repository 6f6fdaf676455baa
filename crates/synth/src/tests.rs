//! Tests of determinism, the hard rules, the typical ranges and the Parquet files.

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, Float64Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use vergleichsring_catalog::{Catalog, LAENDER, land_of, validate_member_id};

use super::*;

/// The values of one row by figure id.
type Row = HashMap<String, Option<f64>>;

fn rows(batch: &RecordBatch) -> Vec<Row> {
    let schema = batch.schema();
    let columns: Vec<(String, &Float64Array)> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .skip(1)
        .map(|(f, c)| (f.name().clone(), c.as_any().downcast_ref().unwrap()))
        .collect();
    (0..batch.num_rows())
        .map(|i| {
            columns
                .iter()
                .map(|(name, c)| (name.clone(), (!c.is_null(i)).then(|| c.value(i))))
                .collect()
        })
        .collect()
}

fn get(row: &Row, id: &str) -> Option<f64> {
    *row.get(id).unwrap_or_else(|| panic!("no figure {id}"))
}

/// A hard rule `lhs <= rhs`, skipped like in the catalogue when an input is null.
fn le(lhs: Option<f64>, rhs: Option<f64>) -> bool {
    match (lhs, rhs) {
        (Some(l), Some(r)) => l <= r,
        _ => true,
    }
}

fn sum(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

fn scale(k: f64, a: Option<f64>) -> Option<f64> {
    a.map(|a| k * a)
}

#[test]
fn deterministic_for_a_seed() {
    let a = generate(40, 2021..=2023, 11).unwrap();
    let b = generate(40, 2021..=2023, 11).unwrap();
    let c = generate(40, 2021..=2023, 12).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.members, c.members);
    assert_ne!(a.figures[0].batch, c.figures[0].batch);
    // More years leave the years already generated unchanged.
    let longer = generate(40, 2019..=2024, 11).unwrap();
    let library_2022 = |g: &Generated| {
        g.figures
            .iter()
            .find(|f| f.domain == "library" && f.year == 2022)
            .unwrap()
            .batch
            .clone()
    };
    assert_eq!(library_2022(&a), library_2022(&longer));
}

#[test]
fn columns_match_the_catalogue() {
    let catalog = Catalog::bundled().unwrap();
    let g = generate(3, 2024..=2024, 1).unwrap();
    assert_eq!(g.figures.len(), 5);
    for (f, id) in g.figures.iter().zip(DOMAIN_IDS) {
        assert_eq!(f.domain, id);
        let domain = catalog.domain(id).unwrap();
        let names: Vec<String> = f
            .batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let expected: Vec<String> = std::iter::once("member_id".to_string())
            .chain(domain.basic_figures.iter().map(|b| b.id.clone()))
            .collect();
        assert_eq!(names, expected);
        let spec = DOMAINS.iter().find(|d| d.id == id).unwrap();
        for b in &domain.basic_figures {
            assert_eq!(
                spec.required.contains(&b.id.as_str()),
                b.required,
                "{id}.{}",
                b.id
            );
        }
    }
}

#[test]
fn members_are_valid_and_spread_over_all_laender() {
    let g = generate(400, 2024..=2024, 7).unwrap();
    assert_eq!(g.members.len(), 400);
    let ids: HashSet<&str> = g.members.iter().map(|m| m.member_id.as_str()).collect();
    let names: HashSet<&str> = g.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(ids.len(), 400);
    assert_eq!(names.len(), 400);
    for m in &g.members {
        validate_member_id(&m.member_id, Some(m.kind)).unwrap();
    }
    let laender: HashSet<&str> = g
        .members
        .iter()
        .filter_map(|m| land_of(&m.member_id))
        .collect();
    assert_eq!(laender.len(), LAENDER.len());
    let count = |k: MemberKind| g.members.iter().filter(|m| m.kind == k).count();
    assert_eq!(count(MemberKind::KreisfreieStadt), 24);
    assert_eq!(count(MemberKind::Landkreis), 48);
    let library = rows(&g.figures[0].batch);
    for row in &library[..3] {
        let population = get(row, "population").unwrap();
        assert!(
            (590_000.0..=1_510_000.0).contains(&population),
            "{population}"
        );
    }
    // Small rings still get all 16 Länder.
    let small = generate(16, 2024..=2024, 3).unwrap();
    let laender: HashSet<&str> = small
        .members
        .iter()
        .filter_map(|m| land_of(&m.member_id))
        .collect();
    assert_eq!(laender.len(), 16);
}

#[test]
fn every_row_passes_the_hard_rules() {
    let g = generate(400, 2020..=2024, 7).unwrap();
    assert_eq!(g.figures.len(), 25);
    let catalog = Catalog::bundled().unwrap();
    for f in &g.figures {
        let ids = f
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        // Every member runs the first three services; the others some
        // members, in the ring's order.
        let running: Vec<&str> = (0..ids.len()).map(|i| ids.value(i)).collect();
        let all: Vec<&str> = g.members.iter().map(|m| m.member_id.as_str()).collect();
        if ["library", "museum", "music_school"].contains(&f.domain.as_str()) {
            assert_eq!(running, all);
        } else {
            let mut rest = all.iter();
            assert!(
                running.iter().all(|id| rest.any(|m| m == id)),
                "{}",
                f.domain
            );
        }
        let domain = catalog.domain(&f.domain).unwrap();
        for row in rows(&f.batch) {
            for b in &domain.basic_figures {
                match get(&row, &b.id) {
                    Some(v) => assert!(v.is_finite() && v >= 0.0, "{}.{} = {v}", f.domain, b.id),
                    None => assert!(!b.required, "{}.{} is null", f.domain, b.id),
                }
            }
            let r = |id: &str| get(&row, id);
            let ok = match f.domain.as_str() {
                "library" => [
                    le(r("loans"), scale(50.0, r("stock"))),
                    le(r("acquisitions"), r("stock")),
                    le(r("active_users"), r("population")),
                    le(r("opening_hours"), scale(8784.0, r("service_points"))),
                    le(
                        sum(r("expenditure_staff"), r("expenditure_media")),
                        r("expenditure_total"),
                    ),
                    le(Some(1.0), r("population")),
                ]
                .to_vec(),
                "adult_education" => [
                    le(Some(1.0), r("population")),
                    le(scale(3.0, r("courses")), r("teaching_hours")),
                    le(r("courses"), r("enrolments")),
                    le(r("teaching_hours_languages"), r("teaching_hours")),
                    le(r("staff_pedagogical_fte"), r("staff_fte")),
                    le(
                        sum(r("expenditure_staff"), r("expenditure_fees_teachers")),
                        r("expenditure_total"),
                    ),
                ]
                .to_vec(),
                "theatre" => [
                    le(Some(1.0), r("population")),
                    le(r("expenditure_staff"), r("expenditure_total")),
                    le(r("income_tickets"), r("income_own")),
                    le(
                        r("seats_offered"),
                        r("seats").zip(r("performances")).map(|(s, p)| s * p),
                    ),
                    le(r("visits"), scale(1.2, r("seats_offered"))),
                    r("visits") == Some(0.0) || r("performances").is_some_and(|p| p > 0.0),
                    le(r("performances"), scale(3.0 * 366.0, r("venues"))),
                    r("visits_touring").is_none_or(|v| v == 0.0)
                        || r("performances_touring").is_none_or(|p| p > 0.0),
                ]
                .to_vec(),
                "music_school" => [
                    le(r("students_u18"), r("students")),
                    le(r("students"), r("enrolments")),
                    le(r("teachers_employed"), r("teachers")),
                    le(r("expenditure_teaching"), r("expenditure_total")),
                    le(r("students"), r("population")),
                ]
                .to_vec(),
                _ => [
                    r("visits_paying").is_some() == r("visits_free").is_some(),
                    sum(r("visits_paying"), r("visits_free"))
                        .is_none_or(|s| Some(s) == r("visits")),
                    le(r("opening_days"), Some(366.0)),
                    le(r("opening_hours"), scale(24.0, r("opening_days"))),
                    le(r("objects_digitised"), r("objects")),
                    le(r("expenditure_staff"), r("expenditure_total")),
                    r("opening_days") == Some(0.0) || r("visits").is_some_and(|v| v > 0.0),
                ]
                .to_vec(),
            };
            assert!(
                ok.iter().all(|&b| b),
                "{} {}: {ok:?} {row:?}",
                f.domain,
                f.year
            );
        }
    }
}

#[test]
fn optional_figures_are_sometimes_null_and_few_rows_warn() {
    // Across the library's change of 2025: a figure is null in the years
    // it is not asked.
    let g = generate(400, 2023..=2025, 7).unwrap();
    let catalog = vergleichsring_catalog::Catalog::bundled().unwrap();
    let (mut rows_total, mut warnings, mut balanced, mut budgets) = (0, 0, 0, 0);
    for f in &g.figures {
        let spec = DOMAINS.iter().find(|d| d.id == f.domain).unwrap();
        for (i, id) in spec.figures.iter().enumerate() {
            let n = f.batch.num_rows();
            let share = f.batch.column(i + 1).null_count() as f64 / n as f64;
            let asked = catalog
                .domain(&f.domain)
                .and_then(|d| d.basic_figure(id))
                .is_some_and(|b| b.asked_in(f.year));
            let expected = if !asked {
                1.0..=1.0
            } else if spec.required.contains(id) {
                0.0..=0.0
            } else if n < 100 {
                // A few dozen theatres: the share of a habit varies more.
                0.0..=0.45
            } else {
                0.02..=0.3
            };
            assert!(expected.contains(&share), "{}.{id}: {share}", f.domain);
        }
        for row in rows(&f.batch) {
            let r = |id: &str| get(&row, id);
            rows_total += 1;
            let warns = match f.domain.as_str() {
                "library" => {
                    !le(r("loans"), scale(15.0, r("stock")))
                        || !le(r("active_users"), scale(0.4, r("population")))
                }
                "music_school" => {
                    let parts = [
                        r("income_fees"),
                        r("subsidy_municipal"),
                        r("subsidy_state"),
                        r("income_other"),
                        Some(r("subsidy_district").unwrap_or(0.0)),
                    ];
                    if let (Some(parts), Some(total)) = (
                        parts.into_iter().collect::<Option<Vec<f64>>>(),
                        r("expenditure_total"),
                    ) {
                        budgets += 1;
                        balanced +=
                            usize::from((parts.iter().sum::<f64>() - total).abs() <= 0.01 * total);
                    }
                    !le(r("students"), scale(0.06, r("population")))
                }
                "adult_education" => !le(r("enrolments"), scale(25.0, r("courses"))),
                "theatre" => !le(r("visits"), r("seats_offered")),
                _ => !le(r("opening_hours"), scale(14.0, r("opening_days"))),
            };
            warnings += usize::from(warns);
        }
    }
    let share = warnings as f64 / rows_total as f64;
    assert!((0.002..=0.03).contains(&share), "warning share {share}");
    assert!(
        balanced as f64 >= 0.95 * budgets as f64,
        "{balanced} of {budgets} balanced"
    );
}

/// Median of a key figure over the rows where it can be computed.
fn median(batch: &RecordBatch, key: impl Fn(&dyn Fn(&str) -> Option<f64>) -> Option<f64>) -> f64 {
    let mut values: Vec<f64> = rows(batch)
        .iter()
        .filter_map(|row| key(&|id| get(row, id)))
        .collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A key figure over one row, given a lookup of its basic figures.
type Key = fn(&dyn Fn(&str) -> Option<f64>) -> Option<f64>;

/// Key figures with the typical range their 2024 median must fall in.
#[rustfmt::skip]
const TYPICAL: [(&str, &str, Key, f64, f64); 36] = [
    ("library", "media_per_capita", |r| Some(r("stock")? / r("population")?), 1.0, 1.8),
    ("library", "loans_per_capita", |r| Some((r("loans")? + r("e_loans").unwrap_or(0.0)) / r("population")?), 2.0, 8.0),
    ("library", "turnover", |r| Some(r("loans")? / r("stock")?), 1.5, 6.0),
    ("library", "visits_per_capita", |r| Some(r("visits")? / r("population")?), 0.5, 4.0),
    ("library", "active_user_share", |r| Some(100.0 * r("active_users")? / r("population")?), 5.0, 20.0),
    ("library", "renewal_rate", |r| Some(100.0 * r("acquisitions")? / r("stock")?), 5.0, 18.0),
    ("library", "visits_per_opening_hour", |r| Some(r("visits")? / r("opening_hours")?), 20.0, 150.0),
    ("library", "area_per_1000", |r| Some(1000.0 * r("public_area_sqm")? / r("population")?), 10.0, 60.0),
    ("library", "fte_per_10000", |r| Some(10000.0 * r("staff_fte")? / r("population")?), 1.0, 4.0),
    ("library", "expenditure_per_capita", |r| Some(r("expenditure_total")? / r("population")?), 8.0, 35.0),
    ("library", "cost_recovery", |r| Some(100.0 * r("income")? / r("expenditure_total")?), 3.0, 15.0),
    ("library", "media_spend_per_capita", |r| Some(r("expenditure_media")? / r("population")?), 0.8, 4.0),
    ("music_school", "students_per_1000", |r| Some(1000.0 * r("students")? / r("population")?), 8.0, 40.0),
    ("music_school", "u18_reach", |r| Some(100.0 * r("students_u18")? / r("population_u18")?), 3.0, 20.0),
    ("music_school", "students_per_weekly_hour", |r| Some(r("students")? / r("weekly_hours")?), 2.0, 5.0),
    ("music_school", "cost_per_weekly_hour", |r| Some(r("expenditure_total")? / r("weekly_hours")?), 2000.0, 3500.0),
    ("music_school", "fee_coverage", |r| Some(100.0 * r("income_fees")? / r("expenditure_total")?), 25.0, 60.0),
    ("music_school", "municipal_subsidy_per_capita", |r| Some(r("subsidy_municipal")? / r("population")?), 3.0, 15.0),
    ("museum", "visits_per_1000", |r| Some(1000.0 * r("visits")? / r("population")?), 50.0, 3000.0),
    ("museum", "visits_per_opening_day", |r| Some(r("visits")? / r("opening_days")?), 5.0, 1000.0),
    ("museum", "net_cost_per_visit", |r| Some((r("expenditure_total")? - r("income_admission")? - r("income_other").unwrap_or(0.0)) / r("visits")?), 10.0, 150.0),
    ("museum", "admission_per_paying_visit", |r| Some(r("income_admission")? / r("visits_paying")?), 2.0, 12.0),
    ("museum", "staff_cost_share", |r| Some(100.0 * r("expenditure_staff")? / r("expenditure_total")?), 40.0, 75.0),
    ("museum", "visits_per_fte", |r| Some(r("visits")? / r("staff_fte")?), 1000.0, 20000.0),
    ("adult_education", "teaching_hours_per_1000", |r| Some(1000.0 * r("teaching_hours")? / r("population")?), 80.0, 400.0),
    ("adult_education", "enrolments_per_1000", |r| Some(1000.0 * r("enrolments")? / r("population")?), 30.0, 130.0),
    ("adult_education", "hours_per_course", |r| Some(r("teaching_hours")? / r("courses")?), 18.0, 45.0),
    ("adult_education", "language_share", |r| Some(100.0 * r("teaching_hours_languages")? / r("teaching_hours")?), 25.0, 70.0),
    ("adult_education", "cost_recovery", |r| Some(100.0 * r("income_fees")? / r("expenditure_total")?), 15.0, 70.0),
    ("adult_education", "expenditure_per_hour", |r| Some(r("expenditure_total")? / r("teaching_hours")?), 50.0, 150.0),
    ("theatre", "utilisation", |r| Some(100.0 * r("visits")? / r("seats_offered")?), 65.0, 90.0),
    ("theatre", "visits_per_performance", |r| Some(r("visits")? / r("performances")?), 90.0, 700.0),
    ("theatre", "subsidy_per_visit", |r| Some((r("subsidy_municipal")? + r("subsidy_state")? + r("subsidy_other_public").unwrap_or(0.0)) / r("visits")?), 70.0, 250.0),
    ("theatre", "expenditure_per_visit", |r| Some(r("expenditure_total")? / r("visits")?), 90.0, 300.0),
    ("theatre", "own_income_ratio", |r| Some(100.0 * r("income_own")? / r("expenditure_total")?), 10.0, 25.0),
    ("theatre", "staff_cost_share", |r| Some(100.0 * r("expenditure_staff")? / r("expenditure_total")?), 65.0, 80.0),
];

#[test]
fn key_figure_medians_are_typical() {
    let g = generate(400, 2024..=2024, 7).unwrap();
    let batch = |d: &str| &g.figures.iter().find(|f| f.domain == d).unwrap().batch;
    for (domain, key, f, lo, hi) in TYPICAL {
        let m = median(batch(domain), |r| f(r));
        println!("{domain}.{key}: {m:.2}");
        assert!(
            (lo..=hi).contains(&m),
            "{domain}.{key} median {m} outside {lo}..{hi}"
        );
    }
}

#[test]
fn parquet_files_round_trip() {
    let g = generate(20, 2023..=2024, 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested");
    let paths = write_parquet_dir(&g, &out).unwrap();
    assert_eq!(paths.len(), 1 + 5 * 2);
    assert!(paths.contains(&out.join("music_school_2024.parquet")));
    for (path, expected) in paths[1..].iter().zip(&g.figures) {
        let file = std::fs::File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches, vec![expected.batch.clone()]);
    }
    let file = std::fs::File::open(&paths[0]).unwrap();
    let members: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kinds = members[0].column_by_name("kind").unwrap();
    let kinds = kinds.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(kinds.value(0), "kreisfreie_stadt");
    assert_eq!(members[0].num_rows(), 20);
    let bytes = to_parquet_bytes(&g.figures[0].batch).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn small_rings_and_the_size_limit() {
    for n in [0, 1, 2, 5, 16, 17] {
        let g = generate(n, 2024..=2024, 1).unwrap();
        assert_eq!(g.members.len(), n);
        assert!(g.figures.iter().all(|f| f.batch.num_rows() <= n));
        assert!(g.figures[..3].iter().all(|f| f.batch.num_rows() == n));
    }
    assert!(matches!(
        generate(MAX_MEMBERS + 1, 2024..=2024, 1),
        Err(SynthError::TooManyMembers(_))
    ));
}

/// About four in five members of a ring like the demo's run a
/// Volkshochschule, one in eight a theatre (about 140 public theatres for
/// 11,000 municipalities nationally, nearly all in the larger cities the
/// ring over-represents).
#[test]
fn some_members_run_a_volkshochschule_or_a_theatre() {
    let g = generate(400, 2024..=2024, 7).unwrap();
    let rows = |d: &str| {
        g.figures
            .iter()
            .find(|f| f.domain == d)
            .map_or(0, |f| f.batch.num_rows())
    };
    let (vhs, theatres) = (rows("adult_education"), rows("theatre"));
    println!("{vhs} Volkshochschulen, {theatres} theatres");
    assert!((200..=340).contains(&vhs), "{vhs}");
    assert!((25..=90).contains(&theatres), "{theatres}");
}
