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
