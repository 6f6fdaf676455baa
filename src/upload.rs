//! `vergleichsring upload`: send a file to a running service and print the
//! validation result as a table a person can act on.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;
use vergleichsring_ingest::Format;

/// The outcome of an upload on the command line.
pub enum Outcome {
    /// Stored (201).
    Accepted,
    /// Refused by validation or the server.
    Refused,
}

/// Uploads `file` and prints the result; `Refused` when the server said no.
pub async fn run(
    url: &str,
    token: &str,
    domain: &str,
    year: i32,
    file: &Path,
) -> anyhow::Result<Outcome> {
    let name = file.display().to_string();
    let format = Format::from_extension(&name)
        .with_context(|| format!("{name}: the file name must end in .parquet, .csv or .xlsx"))?;
    let body = std::fs::read(file).with_context(|| format!("reading {name}"))?;
    let endpoint = format!(
        "{}/api/v1/submissions/{domain}/{year}",
        url.trim_end_matches('/').trim_end_matches("/api/v1")
    );
    let resp = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token)
        .header("Content-Type", format.content_type())
        .body(body)
        .send()
        .await
        .with_context(|| format!("sending {name} to {endpoint}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.as_u16() == 201 {
        println!(
            "Accepted: submission {} with {} row(s) for {domain} {year}, data version {}.",
            json["submission_id"].as_str().unwrap_or("?"),
            json["rows"],
            json["data_version"].as_str().unwrap_or("?")
        );
        let warnings = json["warnings"].as_array().cloned().unwrap_or_default();
        if warnings.is_empty() {
            println!("No warnings.");
        } else {
            println!(
                "{} warning(s), stored with the submission; explain them in the web page or with POST /api/v1/submissions/{{id}}/explanations:",
                warnings.len()
            );
            print_table(
                &["row", "member", "figure", "rule", "message"],
                &warnings,
                &["row", "member_id", "figure", "rule", "message_de"],
            );
        }
        return Ok(Outcome::Accepted);
    }
    let message = json["message"].as_str().unwrap_or(text.as_str());
    if status.as_u16() == 422 && json["errors"].is_array() {
        println!("Refused: {message}");
        let errors = json["errors"].as_array().cloned().unwrap_or_default();
        print_table(
            &["row", "member", "column", "rule", "message"],
            &errors,
            &["row", "member_id", "column", "rule", "message"],
        );
        return Ok(Outcome::Refused);
    }
    if status.is_client_error() {
        println!("Refused ({status}): {message}");
        return Ok(Outcome::Refused);
    }
    bail!("the server answered {status}: {message}")
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows of JSON objects as an aligned text table.
fn print_table(header: &[&str], rows: &[Value], keys: &[&str]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| keys.iter().map(|k| cell(&r[*k])).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
                .min(if i + 1 == header.len() {
                    usize::MAX
                } else {
                    40
                })
        })
        .collect();
    let line = |values: Vec<String>| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    println!("{}", line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for c in cells {
        println!("{}", line(c));
    }
}
