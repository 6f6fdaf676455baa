//! Every built-in check of `validate` on small uploads, with the errors in
//! the order they are reported: the order and the wording are part of the
//! API (clients and the web page show them as they come).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Field, Schema};
use vergleichsring_catalog::Catalog;

use super::*;

fn library() -> Domain {
    Catalog::bundled()
        .unwrap()
        .domain("library")
        .unwrap()
        .clone()
}

fn csv(text: &str) -> Decoded {
    crate::csv_file::decode(text.as_bytes(), &crate::Limits::default()).unwrap()
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> Decoded {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    Decoded {
        batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap(),
        cell_errors: Vec::new(),
    }
}

/// The errors of a refused upload, one line each.
fn errors(decoded: &Decoded, own_member: Option<&str>) -> Vec<String> {
    let registered = |id: &str| id == "05315000";
    let submitter = Submitter {
        own_member,
        is_registered: &registered,
    };
    match validate(decoded, &library(), 2024, &submitter) {
        Err(IngestError::Rejected(errors)) => errors
            .iter()
            .map(|e| {
                format!(
                    "{:?} {:?} {:?} {}: {}",
                    e.row, e.member_id, e.column, e.rule, e.message
                )
            })
            .collect(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_bulk_upload_reports_columns_then_cells_then_rows() {
    let decoded = csv(
        "member_id;year;Einwohner im Versorgungsgebiet (31.12.);service_points;opening_hours;bogus;visits\n\
         05315000;2024;1000;2;-5;x;abc\n\
         05315000;2023;1000;;10;;5\n\
         5315000;2024;nan;1;1;;1\n\
         ;2024;1;1;1;;1\n\
         05382;2024;1;1;1;;1\n",
    );
    let expected = [
        r#"Some(2) None Some("year") year_mismatch: the row is for year 2023, but the upload goes to year 2024"#,
        r#"None None Some("bogus") unknown_column: column 'bogus' is not a basic figure of domain library; the columns are member_id and the figure ids listed in GET /api/v1/catalog"#,
        r#"None None Some("stock") missing_column: the required basic figure stock (Medienbestand (physisch)) is missing as a column"#,
        r#"None None Some("loans") missing_column: the required basic figure loans (Entleihungen physisch inkl. Verlängerungen) is missing as a column"#,
        r#"None None Some("staff_fte") missing_column: the required basic figure staff_fte (Personal) is missing as a column"#,
        r#"None None Some("expenditure_total") missing_column: the required basic figure expenditure_total (Laufende Ausgaben gesamt) is missing as a column"#,
        r#"Some(3) Some("5315000") Some("population") not_finite: 'nan' is not a finite number"#,
        r#"Some(1) Some("05315000") Some("visits") not_a_number: 'abc' is not a number"#,
        r#"Some(1) Some("05315000") Some("opening_hours") negative: opening_hours is -5; basic figures cannot be negative"#,
        r#"Some(1) Some("05315000") Some("visits") required_missing: visits (Besuche (physisch)) is required but empty"#,
        r#"Some(2) Some("05315000") Some("member_id") duplicate_member: member 05315000 already has row 1; submit one row per member"#,
        r#"Some(2) Some("05315000") Some("service_points") required_missing: service_points (Standorte inkl. Zweigstellen und Fahrbibliotheken) is required but empty"#,
        r#"Some(3) Some("5315000") Some("member_id") invalid_member_id: member id '5315000' must have 5 or 8 digits; it looks like a leading zero was lost (did you mean 05315000?): format the column as text in Excel"#,
        r#"Some(3) Some("5315000") Some("population") required_missing: population (Einwohner im Versorgungsgebiet (31.12.)) is required but empty"#,
        r#"Some(4) None Some("member_id") missing_member_id: the member_id of this row is empty"#,
        r#"Some(5) Some("05382") Some("member_id") unregistered_member: member 05382 is not registered; register it with POST /api/v1/members first"#,
    ];
    assert_eq!(errors(&decoded, None), expected);
}

#[test]
fn a_bulk_upload_without_member_ids_names_the_column() {
    let decoded = csv("population;service_points\n1;2\n");
    let got = errors(&decoded, None);
    assert_eq!(
        got.last().map(String::as_str),
        Some(
            r#"None None Some("member_id") missing_member_id: the column member_id is missing; a bulk upload must name the member of every row"#
        )
    );
}

#[test]
fn columns_of_the_wrong_type_are_reported_once() {
    let decoded = batch(vec![
        ("member_id", Arc::new(Int64Array::from(vec![5315000]))),
        ("year", Arc::new(StringArray::from(vec!["2024"]))),
        ("population", Arc::new(Float64Array::from(vec![f64::NAN]))),
        (
            "Einwohner im Versorgungsgebiet (31.12.)",
            Arc::new(Float64Array::from(vec![1.0])),
        ),
        ("visits", Arc::new(StringArray::from(vec!["1"]))),
        ("stock", Arc::new(Float64Array::from(vec![f64::INFINITY]))),
    ]);
    let expected = [
        r#"None None Some("member_id") wrong_type: column member_id has type Int64; write it as text so that leading zeros of the regional key are kept (e.g. "05315000")"#,
        r#"None None Some("year") wrong_type: column year has type Utf8; it must be a whole number"#,
        r#"None None Some("Einwohner im Versorgungsgebiet (31.12.)") duplicate_column: figure population appears in more than one column"#,
        r#"None None Some("visits") wrong_type: column visits has type Utf8; basic figures must be numbers (integer, float or decimal)"#,
        r#"None None Some("service_points") missing_column: the required basic figure service_points (Standorte inkl. Zweigstellen und Fahrbibliotheken) is missing as a column"#,
        r#"None None Some("opening_hours") missing_column: the required basic figure opening_hours (Jahresöffnungsstunden aller Standorte) is missing as a column"#,
        r#"None None Some("loans") missing_column: the required basic figure loans (Entleihungen physisch inkl. Verlängerungen) is missing as a column"#,
        r#"None None Some("staff_fte") missing_column: the required basic figure staff_fte (Personal) is missing as a column"#,
        r#"None None Some("expenditure_total") missing_column: the required basic figure expenditure_total (Laufende Ausgaben gesamt) is missing as a column"#,
        r#"Some(1) Some("05315000") Some("population") not_finite: population is NaN; only finite numbers are accepted"#,
        r#"Some(1) Some("05315000") Some("stock") not_finite: stock is inf; only finite numbers are accepted"#,
    ];
    assert_eq!(errors(&decoded, Some("05315000")), expected);
}

#[test]
fn a_member_may_not_submit_for_another() {
    let decoded = csv("member_id;population\n09162000;1\n");
    let got = errors(&decoded, Some("05315000"));
    assert!(
        got.contains(
            &r#"Some(1) Some("09162000") Some("member_id") foreign_member: your token belongs to member 05315000; it cannot submit figures of member 09162000"#
                .to_string()
        ),
        "{got:#?}"
    );
}

#[test]
fn a_member_upload_takes_the_tokens_member_and_stores_negative_zero_as_zero() {
    let header =
        "population;service_points;opening_hours;visits;stock;loans;staff_fte;expenditure_total";
    let decoded = csv(&format!("{header}\n1;2;3;4;5;6;-0;8\n\n"));
    let registered = |_: &str| false;
    let submitter = Submitter {
        own_member: Some("05315000"),
        is_registered: &registered,
    };
    let upload = validate(&decoded, &library(), 2024, &submitter).unwrap();
    assert_eq!(upload.rows.len(), 1);
    let row = &upload.rows[0];
    assert_eq!((row.row, row.member_id.as_str()), (1, "05315000"));
    let staff = library()
        .basic_figures
        .iter()
        .position(|f| f.id == "staff_fte")
        .unwrap();
    assert!(row.values[staff].is_some_and(|v| v == 0.0 && v.is_sign_positive()));
    assert_eq!(row.values.iter().filter(|v| v.is_some()).count(), 8);
}

#[test]
fn an_upload_without_rows_is_refused() {
    let decoded = csv("member_id;population\n");
    assert_eq!(
        errors(&decoded, None),
        [r#"None None None empty_upload: the file contains no data rows"#]
    );
}

#[test]
fn the_error_list_is_cut_after_the_limit() {
    let rows = "05315000;-1\n".repeat(MAX_ERRORS);
    let got = errors(&csv(&format!("member_id;population\n{rows}")), None);
    assert_eq!(got.len(), MAX_ERRORS + 1);
    assert_eq!(
        got.last().map(String::as_str),
        Some("None None None too_many_errors: more than 500 errors; the rest are not listed")
    );
}
