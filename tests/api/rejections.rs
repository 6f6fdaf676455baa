//! Every rejection case of an upload: its status, its error list, and that
//! the stored data stay exactly as they were.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;
use vergleichsring_store::Role;

use crate::helpers::{Col, PARQUET, TestApp, batch_bytes, library_row, parquet};

const M1: &str = "05315000";
const M2: &str = "05111000";

/// The library file of `library_row` with a change applied to its columns.
fn variant(
    ids: Option<Vec<&str>>,
    change: impl FnOnce(&mut Vec<(String, Vec<Option<f64>>)>),
) -> Bytes {
    let mut cols: Vec<(String, Vec<Option<f64>>)> = library_row(100_000.0, 1.0)
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                vec![Some(v); ids.as_ref().map_or(1, |i| i.len())],
            )
        })
        .collect();
    change(&mut cols);
    let cols: Vec<Col<'_>> = cols.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    parquet(ids, &cols)
}

fn set(cols: &mut [(String, Vec<Option<f64>>)], name: &str, v: Option<f64>) {
    for c in cols.iter_mut().filter(|c| c.0 == name) {
        c.1[0] = v;
    }
}

fn string_loans() -> Bytes {
    let row = library_row(100_000.0, 1.0);
    let mut fields = vec![];
    let mut arrays: Vec<ArrayRef> = vec![];
    for (n, v) in row {
        if n == "loans" {
            fields.push(Field::new(n, DataType::Utf8, true));
            arrays.push(Arc::new(StringArray::from(vec!["viele"])));
        } else {
            fields.push(Field::new(n, DataType::Float64, true));
            arrays.push(Arc::new(Float64Array::from(vec![v])));
        }
    }
    batch_bytes(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap())
}

fn rules_of(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["rule"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// (name, token, content type, body, status, expected rule, expected column).
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Bytes,
    StatusCode,
    &'a str,
    Option<&'a str>,
);

#[tokio::test]
async fn every_bad_upload_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.register(&[
        (M1, "Stadt Köln", "kreisfreie_stadt"),
        (M2, "Stadt Düsseldorf", "kreisfreie_stadt"),
    ])
    .await;
    let member = app.token(Role::Member, Some(M1)).await;
    let ok = app
        .upload("library", 2024, &member, PARQUET, variant(None, |_| {}))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let version = app.data_version("library", 2024).await;
    let figures = app
        .get("/api/v1/figures/library/2024", Some(&member))
        .await
        .body;
    let admin = app.admin.clone();

    // (name, token, content type, body, status, expected rule, expected column)
    let cases: Vec<Case<'_>> = vec![
        (
            "unknown column",
            &member,
            PARQUET,
            variant(None, |c| c.push(("books".into(), vec![Some(1.0)]))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_column",
            Some("books"),
        ),
        (
            "missing required column",
            &member,
            PARQUET,
            variant(None, |c| c.retain(|c| c.0 != "loans")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_column",
            Some("loans"),
        ),
        (
            "wrong type",
            &member,
            PARQUET,
            string_loans(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_type",
            Some("loans"),
        ),
        (
            "NaN",
            &member,
            PARQUET,
            variant(None, |c| set(c, "visits", Some(f64::NAN))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_finite",
            Some("visits"),
        ),
        (
            "infinity",
            &member,
            PARQUET,
            variant(None, |c| set(c, "stock", Some(f64::INFINITY))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_finite",
            Some("stock"),
        ),
        (
            "negative",
            &member,
            PARQUET,
            variant(None, |c| set(c, "staff_fte", Some(-1.0))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative",
            Some("staff_fte"),
        ),
        (
            "required null",
            &member,
            PARQUET,
            variant(None, |c| set(c, "visits", None)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required_missing",
            Some("visits"),
        ),
        (
            "plausibility error",
            &member,
            PARQUET,
            variant(None, |c| set(c, "loans", Some(1e9))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "loans_max_50x_stock",
            Some("loans,stock"),
        ),
        (
            "another member",
            &member,
            PARQUET,
            variant(Some(vec![M2]), |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "foreign_member",
            Some("member_id"),
        ),
        (
            "unregistered member",
            &admin,
            PARQUET,
            variant(Some(vec!["05999000"]), |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unregistered_member",
            Some("member_id"),
        ),
        (
            "invalid member id",
            &admin,
            PARQUET,
            variant(Some(vec!["Köln"]), |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_member_id",
            Some("member_id"),
        ),
        (
            "duplicate member",
            &admin,
            PARQUET,
            variant(Some(vec![M1, M1]), |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate_member",
            Some("member_id"),
        ),
        (
            "bulk without member_id",
            &admin,
            PARQUET,
            variant(None, |_| {}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_member_id",
            Some("member_id"),
        ),
        (
            "not parquet",
            &member,
            PARQUET,
            Bytes::from_static(b"member_id;population\n05315000;1\n"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_file",
            None,
        ),
        (
            "truncated parquet",
            &member,
            PARQUET,
            {
                let b = variant(None, |_| {});
                b.slice(0..b.len() / 2)
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_file",
            None,
        ),
        (
            "empty body",
            &member,
            PARQUET,
            Bytes::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_upload",
            None,
        ),
    ];
    for (name, token, ct, body, status, rule, column) in cases {
        let a = app.upload("library", 2024, token, ct, body).await;
        assert_eq!(a.status, status, "{name}: {}", a.text);
        assert_eq!(a.body["error"], "validation_failed", "{name}");
        let rules = rules_of(&a.body);
        assert!(
            rules.iter().any(|r| r == rule),
            "{name}: expected {rule}, got {rules:?}"
        );
        let e = a.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["rule"] == rule)
            .unwrap();
        assert!(!e["message"].as_str().unwrap().is_empty(), "{name}");
        if let Some(col) = column {
            assert_eq!(e["column"], col, "{name}");
        }
        for key in ["row", "member_id", "column", "rule", "message"] {
            assert!(e.get(key).is_some(), "{name}: error lacks {key}");
        }
    }
    // Row-level errors name their row and member.
    let a = app
        .upload(
            "library",
            2024,
            &admin,
            PARQUET,
            variant(Some(vec![M1, M1]), |_| {}),
        )
        .await;
    let dup = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "duplicate_member")
        .unwrap()
        .clone();
    assert_eq!(dup["row"], 2);
    assert_eq!(dup["member_id"], M1);

    let a = app
        .upload(
            "library",
            2024,
            &member,
            "application/json",
            Bytes::from_static(b"{}"),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.text);
    assert_eq!(a.body["error"], "unsupported_format");
    let big = Bytes::from(vec![0u8; 3 * 1024 * 1024]);
    let a = app.upload("library", 2024, &member, PARQUET, big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert_eq!(a.body["error"], "body_too_large");
    let a = app
        .upload("zoo", 2024, &member, PARQUET, variant(None, |_| {}))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .upload("library", 1066, &member, PARQUET, variant(None, |_| {}))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    assert_eq!(app.data_version("library", 2024).await, version);
    let after = app
        .get("/api/v1/figures/library/2024", Some(&member))
        .await
        .body;
    assert_eq!(after, figures);
    let subs = app
        .get("/api/v1/submissions/library/2024", Some(&admin))
        .await
        .body;
    assert_eq!(subs.as_array().unwrap().len(), 1);
}
