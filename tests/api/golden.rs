//! Golden tests of every `queries/*.sql` on the small fixtures in
//! `fixtures/golden/`: the whole output must match the checked-in `.out`
//! file (set UPDATE_GOLDEN=1 to rewrite it after a deliberate change and
//! review the diff), and a few values are checked by hand.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use arrow::util::pretty::pretty_format_batches;
use vergleichsring_catalog::Catalog;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden")
}

async fn run(domain_id: &str) -> Vec<RecordBatch> {
    let catalog = Catalog::bundled().unwrap();
    let domain = catalog.domain(domain_id).unwrap();
    let mut fields = vec![
        Field::new("member_id", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
    ];
    fields.extend(
        domain
            .basic_figures
            .iter()
            .map(|f| Field::new(&f.id, DataType::Float64, true)),
    );
    let schema = Arc::new(Schema::new(fields));
    let file = std::fs::File::open(fixtures().join(format!("{domain_id}.csv"))).unwrap();
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(file)
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let basic = arrow::compute::concat_batches(&schema, &batches).unwrap();
    vergleichsring_engine::run_key_figure_sql(domain, basic)
        .await
        .unwrap()
}

fn value(batches: &[RecordBatch], row: usize, column: &str) -> Option<f64> {
    let a = batches[0]
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Float64Type>();
    (!a.is_null(row)).then(|| a.value(row))
}

async fn golden(domain_id: &str) -> Vec<RecordBatch> {
    let batches = run(domain_id).await;
    let text = pretty_format_batches(&batches).unwrap().to_string();
    let path = fixtures().join(format!("{domain_id}.out"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text,
        expected,
        "{domain_id}: output differs from {}",
        path.display()
    );
    batches
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9 * (1.0 + b.abs()))
}

#[tokio::test]
async fn library_key_figures() {
    let b = golden("library").await;
    assert!(close(value(&b, 0, "loans_per_capita"), 4.5));
    assert!(close(
        value(&b, 0, "cost_per_loan"),
        2_000_000.0 / 450_000.0
    ));
    assert!(close(value(&b, 0, "net_cost_per_capita"), 19.0));
    assert!(close(value(&b, 0, "area_per_1000"), 25.0));
    // Missing e_loans and income count as 0 where the formula says coalesce ...
    assert!(close(value(&b, 1, "loans_per_capita"), 4.2));
    assert!(close(value(&b, 1, "net_cost_per_capita"), 18.0));
    // ... and make the key figure null where it does not.
    assert_eq!(value(&b, 1, "active_user_share"), None);
    assert_eq!(value(&b, 1, "cost_recovery"), None);
    // A zero denominator makes the key figure null, never infinite.
    for k in [
        "media_per_capita",
        "turnover",
        "loans_per_fte",
        "cost_per_loan",
    ] {
        assert_eq!(value(&b, 2, k), None, "{k}");
    }
    assert!(close(value(&b, 0, "loans_per_capita__num"), 450_000.0));
    assert!(close(value(&b, 0, "active_user_share__num"), 1_200_000.0));
}

#[tokio::test]
async fn museum_key_figures() {
    let b = golden("museum").await;
    assert!(close(value(&b, 0, "visits_per_1000"), 800.0));
    assert!(close(
        value(&b, 0, "net_cost_per_visit"),
        2_100_000.0 / 80_000.0
    ));
    assert!(close(value(&b, 0, "cost_recovery"), 12.5));
    assert!(close(value(&b, 1, "net_cost_per_visit"), 28.0));
    assert_eq!(value(&b, 1, "free_visit_share"), None);
    assert_eq!(value(&b, 2, "visits_per_opening_day"), None);
}

#[tokio::test]
async fn music_school_key_figures() {
    let b = golden("music_school").await;
    assert!(close(value(&b, 0, "students_per_1000"), 20.0));
    assert!(close(value(&b, 0, "net_cost_per_student"), 460.0));
    assert!(close(value(&b, 0, "fee_coverage"), 40.0));
    assert!(close(
        value(&b, 1, "net_cost_per_student"),
        400_000.0 / 900.0
    ));
    assert_eq!(value(&b, 1, "u18_reach"), None);
    assert_eq!(value(&b, 2, "cost_per_weekly_hour"), None);
}

#[tokio::test]
async fn adult_education_key_figures() {
    let b = golden("adult_education").await;
    for (k, v) in [
        ("teaching_hours_per_1000", 180.0),
        ("enrolments_per_1000", 63.0),
        ("hours_per_course", 30.0),
        ("enrolments_per_course", 10.5),
        ("language_share", 45.0),
        ("participations_per_single_event", 30.0),
        ("cost_recovery", 35.0),
        ("expenditure_per_hour", 100.0),
        ("public_subsidy_per_hour", 40.0),
        ("municipal_subsidy_per_capita", 5.4),
        ("hours_per_pedagogical_fte", 18_000.0 / 5.5),
        ("staff_cost_share", 40.0),
    ] {
        assert!(close(value(&b, 0, k), v), "{k}: {:?}", value(&b, 0, k));
    }
    // Subsidies not reported count as none in the subsidy per hour ...
    assert!(close(value(&b, 1, "public_subsidy_per_hour"), 0.0));
    // ... but leave the municipal subsidy per inhabitant unknown.
    assert_eq!(value(&b, 1, "municipal_subsidy_per_capita"), None);
    assert!(close(value(&b, 1, "hours_per_course"), 30.0));
    for k in ["hours_per_course", "expenditure_per_hour", "cost_recovery"] {
        assert_eq!(value(&b, 2, k), None, "{k}");
    }
}

#[tokio::test]
async fn theatre_key_figures() {
    let b = golden("theatre").await;
    for (k, v) in [
        ("utilisation", 75.0),
        ("visits_per_performance", 300.0),
        ("visits_per_1000", 1200.0),
        ("seats_per_1000", 10.0),
        ("subsidy_per_visit", 125.0),
        ("expenditure_per_visit", 150.0),
        ("own_income_ratio", 100.0 * 3.0 / 18.0),
        ("staff_cost_share", 75.0),
        ("municipal_subsidy_per_capita", 90.0),
        ("public_subsidy_per_capita", 150.0),
        ("municipal_subsidy_share", 60.0),
        ("visits_per_fte", 600.0),
    ] {
        assert!(close(value(&b, 0, k), v), "{k}: {:?}", value(&b, 0, k));
    }
    // Other public money not reported counts as none ...
    assert!(close(value(&b, 1, "subsidy_per_visit"), 102.0));
    assert!(close(
        value(&b, 1, "municipal_subsidy_share"),
        100.0 * 3.6 / 5.1
    ));
    // ... offered seats not reported leave the utilisation unknown.
    assert_eq!(value(&b, 1, "utilisation"), None);
    for k in ["utilisation", "subsidy_per_visit", "own_income_ratio"] {
        assert_eq!(value(&b, 2, k), None, "{k}");
    }
}

/// A key figure over one row, written out independently of the SQL.
type Formula = (
    &'static str,
    fn(&dyn Fn(&str) -> Option<f64>) -> Option<f64>,
);

/// A ratio, unknown where the denominator is zero (as the SQL's NULLIF).
fn ratio(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    let (n, d) = (num?, den?);
    (d != 0.0).then(|| n / d)
}

#[rustfmt::skip]
const ADULT_EDUCATION: [Formula; 12] = [
    ("teaching_hours_per_1000", |r| ratio(r("teaching_hours").map(|v| 1000.0 * v), r("population"))),
    ("enrolments_per_1000", |r| ratio(r("enrolments").map(|v| 1000.0 * v), r("population"))),
    ("hours_per_course", |r| ratio(r("teaching_hours"), r("courses"))),
    ("enrolments_per_course", |r| ratio(r("enrolments"), r("courses"))),
    ("language_share", |r| ratio(r("teaching_hours_languages").map(|v| 100.0 * v), r("teaching_hours"))),
    ("participations_per_single_event", |r| ratio(r("single_event_participations"), r("single_events"))),
    ("cost_recovery", |r| ratio(r("income_fees").map(|v| 100.0 * v), r("expenditure_total"))),
    ("expenditure_per_hour", |r| ratio(r("expenditure_total"), r("teaching_hours"))),
    ("public_subsidy_per_hour", |r| ratio(Some(r("subsidy_municipal").unwrap_or(0.0) + r("subsidy_state").unwrap_or(0.0)), r("teaching_hours"))),
    ("municipal_subsidy_per_capita", |r| ratio(r("subsidy_municipal"), r("population"))),
    ("hours_per_pedagogical_fte", |r| ratio(r("teaching_hours"), r("staff_pedagogical_fte"))),
    ("staff_cost_share", |r| ratio(r("expenditure_staff").map(|v| 100.0 * v), r("expenditure_total"))),
];

/// The theatre's public money: municipal and Land allocations, other
/// public money where reported.
fn public_money(r: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    Some(r("subsidy_municipal")? + r("subsidy_state")? + r("subsidy_other_public").unwrap_or(0.0))
}

#[rustfmt::skip]
const THEATRE: [Formula; 12] = [
    ("utilisation", |r| ratio(r("visits").map(|v| 100.0 * v), r("seats_offered"))),
    ("visits_per_performance", |r| ratio(r("visits"), r("performances"))),
    ("visits_per_1000", |r| ratio(r("visits").map(|v| 1000.0 * v), r("population"))),
    ("seats_per_1000", |r| ratio(r("seats").map(|v| 1000.0 * v), r("population"))),
    ("subsidy_per_visit", |r| ratio(public_money(r), r("visits"))),
    ("expenditure_per_visit", |r| ratio(r("expenditure_total"), r("visits"))),
    ("own_income_ratio", |r| ratio(r("income_own").map(|v| 100.0 * v), r("expenditure_total"))),
    ("staff_cost_share", |r| ratio(r("expenditure_staff").map(|v| 100.0 * v), r("expenditure_total"))),
    ("municipal_subsidy_per_capita", |r| ratio(r("subsidy_municipal"), r("population"))),
    ("public_subsidy_per_capita", |r| ratio(public_money(r), r("population"))),
    ("municipal_subsidy_share", |r| ratio(r("subsidy_municipal").map(|v| 100.0 * v), public_money(r))),
    ("visits_per_fte", |r| ratio(r("visits"), r("staff_fte"))),
];

/// Every key figure of the two newest domains, computed by the domain's
/// SQL over a generated ring of 400 members (with its unreported figures),
/// equals the formula written out above, member by member.
#[tokio::test]
async fn the_newest_domains_match_an_independent_computation() {
    let g = vergleichsring_synth::generate(400, 2023..=2024, 7).unwrap();
    let catalog = Catalog::bundled().unwrap();
    for (domain_id, formulas) in [("adult_education", ADULT_EDUCATION), ("theatre", THEATRE)] {
        let domain = catalog.domain(domain_id).unwrap();
        let ids: Vec<&str> = domain.key_figures.iter().map(|k| k.id.as_str()).collect();
        let named: Vec<&str> = formulas.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, named, "{domain_id}: every key figure, in order");
        let mut compared = 0;
        for f in g.figures.iter().filter(|f| f.domain == domain_id) {
            let n = f.batch.num_rows();
            let mut columns = f.batch.columns().to_vec();
            columns.insert(1, Arc::new(arrow::array::Int32Array::from(vec![f.year; n])));
            let mut fields: Vec<Field> = f
                .batch
                .schema()
                .fields()
                .iter()
                .map(|x| x.as_ref().clone())
                .collect();
            fields.insert(1, Field::new("year", DataType::Int32, false));
            let basic = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
            let out = vergleichsring_engine::run_key_figure_sql(domain, basic.clone())
                .await
                .unwrap();
            let out = arrow::compute::concat_batches(&out[0].schema(), &out).unwrap();
            for row in 0..n {
                let get = |id: &str| {
                    let a = basic
                        .column_by_name(id)
                        .unwrap()
                        .as_primitive::<Float64Type>();
                    (!a.is_null(row)).then(|| a.value(row))
                };
                for (id, formula) in &formulas {
                    let a = out
                        .column_by_name(id)
                        .unwrap()
                        .as_primitive::<Float64Type>();
                    let sql = (!a.is_null(row)).then(|| a.value(row));
                    let expected = formula(&get);
                    match (sql, expected) {
                        (Some(s), Some(e)) => assert!(
                            (s - e).abs() <= 1e-12 * e.abs().max(1.0),
                            "{domain_id}.{id} row {row}: {s} vs {e}"
                        ),
                        (s, e) => assert_eq!(s, e, "{domain_id}.{id} row {row}"),
                    }
                    compared += usize::from(sql.is_some());
                }
            }
        }
        assert!(compared > 500, "{domain_id}: {compared} values compared");
    }
}
