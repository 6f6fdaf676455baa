//! The parts of the web page's HTML: the error page, the style, the
//! layout, and the forms and tables the pages are built from.

use super::*;

/// An error shown as a page.
pub struct WebError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl WebError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
        }
    }

    pub(super) fn forbidden(message: impl Into<String>) -> WebError {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(super) fn bad_request(message: impl Into<String>) -> WebError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        let message = match e.code {
            "give_to_get" => "Vergleiche und Berichte gibt es erst, wenn Sie selbst Zahlen für dieses Jahr eingereicht haben (Geben und Nehmen).".to_string(),
            "unauthorized" => "Bitte melden Sie sich erneut an.".to_string(),
            "not_published" => "Für dieses Jahr gibt es noch keine Veröffentlichung. Vergleiche und Berichte erscheinen, sobald genug Mitglieder ihre Zahlen gemeldet haben oder der Ring das Jahr veröffentlicht; Ihre eigenen Zahlen sind schon gespeichert.".to_string(),
            "not_found" => format!("Nicht gefunden ({}).", e.message),
            "internal_error" => "Der Server konnte die Anfrage nicht beantworten. Bitte versuchen Sie es später erneut; der Betreiber findet Einzelheiten im Protokoll.".to_string(),
            _ => format!("Die Anfrage wurde abgewiesen: {}", e.message),
        };
        WebError::new(e.status, message)
    }
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"<h1>Das hat nicht geklappt</h1><p class="error" role="alert">{}</p><p><a href="/web">Zurück zur Übersicht</a></p>"#,
            escape(&self.message)
        );
        (self.status, html_page(layout("Fehler", None, &body))).into_response()
    }
}

pub(super) const STYLE: &str = r#"
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #1f2328; margin: 0; background: #f6f7f9; line-height: 1.45; }
header.bar { background: #1d3f74; color: white; padding: 0.8rem 1.5rem; display: flex; justify-content: space-between; align-items: center; flex-wrap: wrap; gap: 0.5rem; }
header.bar a, header.bar button { color: white; }
header.bar .brand { font-weight: 700; letter-spacing: 0.02em; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem; }
section { background: white; border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.8rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.6rem; }
label { display: block; font-weight: 600; margin: 0.6rem 0 0.2rem; }
input, select, textarea { font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #8c959f; border-radius: 4px; }
input[type=password], input[type=text] { width: 100%; max-width: 32rem; }
textarea { width: 100%; min-height: 2.6rem; }
button { font: inherit; background: #1d3f74; color: white; border: 0; border-radius: 4px; padding: 0.45rem 1rem; cursor: pointer; }
button.link { background: none; border: 1px solid white; padding: 0.25rem 0.7rem; }
.row { display: flex; gap: 1rem; flex-wrap: wrap; align-items: end; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; border-bottom: 1px solid #d0d7de; padding: 0.35rem 0.4rem; vertical-align: top; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { border-left: 6px solid #1a7f37; }
.error { color: #a40e26; font-weight: 600; }
.notice { border-left: 6px solid #9a6700; }
.refused { border-left: 6px solid #a40e26; }
.muted { color: #57606a; font-size: 0.9rem; }
.tag { display: inline-block; border: 1px solid #57606a; border-radius: 3px; padding: 0 0.3rem; font-size: 0.8rem; }
:focus-visible { outline: 3px solid #bf8700; outline-offset: 2px; }
"#;

pub(super) fn layout(title: &str, who: Option<(&str, &str)>, body: &str) -> String {
    let mut out = format!(
        r#"<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>{} – Vergleichsring</title><style>{STYLE}</style></head><body><header class="bar"><span class="brand">Vergleichsring</span>"#,
        escape(title)
    );
    if let Some((name, csrf)) = who {
        let _ = write!(
            out,
            r#"<form method="post" action="/web/abmelden" class="row"><span>{}</span><input type="hidden" name="csrf" value="{}"/><button type="submit" class="link">Abmelden</button></form>"#,
            escape(name),
            escape(csrf)
        );
    }
    let _ = writeln!(out, "</header><main>{body}</main></body></html>");
    out
}

pub(super) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

pub(super) fn login_page(headers: &HeaderMap, error: Option<&str>, status: StatusCode) -> Response {
    let nonce = random_hex();
    let mut body = String::from(
        r#"<section><h1>Anmelden</h1><p>Melden Sie sich mit dem Zugangsschlüssel Ihrer Kommune an. Sie erhalten ihn vom Betreiber des Vergleichsrings; er beginnt mit <code>vr_</code>.</p>"#,
    );
    if let Some(e) = error {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, escape(e));
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/web/anmelden"><input type="hidden" name="nonce" value="{nonce}"/><label for="token">Zugangsschlüssel</label><input type="password" id="token" name="token" autocomplete="current-password" required="required"/><p><button type="submit">Anmelden</button></p></form></section>"#
    );
    let mut response = (status, html_page(layout("Anmelden", None, &body))).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(headers, LOGIN_COOKIE, &nonce, 3600)) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

pub(super) fn this_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}

pub(super) fn domain_label<'a>(state: &'a AppState, id: &'a str) -> &'a str {
    state
        .engine
        .catalog()
        .domains
        .iter()
        .find(|d| d.id == id)
        .map_or(id, |d| d.label.as_str())
}

pub(super) fn upload_form(
    state: &AppState,
    member: &Member,
    domain: Option<&str>,
    year: Option<i32>,
) -> String {
    let mut out = String::from(
        r#"<section id="hochladen"><h2>Zahlen hochladen</h2><form method="post" action="/web/hochladen" enctype="multipart/form-data">"#,
    );
    let _ = write!(
        out,
        r#"<input type="hidden" name="csrf" value="{}"/><div class="row"><div><label for="domain">Sparte</label><select id="domain" name="domain">"#,
        escape(&member.csrf)
    );
    for d in &state.engine.catalog().domains {
        let _ = write!(
            out,
            r#"<option value="{}"{}>{}</option>"#,
            escape(&d.id),
            if domain == Some(d.id.as_str()) {
                r#" selected="selected""#
            } else {
                ""
            },
            escape(&d.label)
        );
    }
    out.push_str(r#"</select></div><div><label for="year">Berichtsjahr</label><select id="year" name="year">"#);
    let latest = this_year() - 1;
    let chosen = year.unwrap_or(latest);
    for y in (latest - 9..=latest).rev() {
        let _ = write!(
            out,
            r#"<option value="{y}"{}>{y}</option>"#,
            if y == chosen {
                r#" selected="selected""#
            } else {
                ""
            }
        );
    }
    out.push_str(r#"</select></div><div><label for="file">Datei</label><input type="file" id="file" name="file" accept=".csv,.xlsx,.parquet" required="required"/></div><div><button type="submit">Hochladen und prüfen</button></div></div></form>"#);
    out.push_str(r#"<p class="muted">CSV (Semikolon oder Komma, auch aus Excel gespeichert), Excel-Arbeitsmappe (.xlsx) oder Parquet. Erste Zeile: Spaltennamen (Kennungen oder deutsche Bezeichnungen); eine Zeile mit Ihrer Mitgliedsnummer in der Spalte <code>member_id</code>. Eine fehlerhafte Datei wird nicht gespeichert.</p>"#);
    out.push_str("<details><summary>Welche Spalten erwartet werden</summary>");
    for d in &state.engine.catalog().domains {
        let _ = write!(
            out,
            r#"<h3>{}</h3><table><thead><tr><th scope="col">Spalte</th><th scope="col">Bezeichnung</th><th scope="col">Einheit</th><th scope="col">Pflicht</th></tr></thead><tbody>"#,
            escape(&d.label)
        );
        for f in &d.basic_figures {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.id),
                escape(&f.label),
                escape(&f.unit),
                if f.required { "ja" } else { "nein" }
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</details></section>");
    out
}

/// The German label of a basic figure (or of each in a list like
/// `loans, visits`), else the id.
pub(super) fn figure_label(state: &AppState, domain: &str, figure: &str) -> String {
    let d = state
        .engine
        .catalog()
        .domains
        .iter()
        .find(|d| d.id == domain);
    figure
        .split(',')
        .map(|f| {
            let f = f.trim();
            d.and_then(|d| d.basic_figure(f))
                .map_or_else(|| f.to_string(), |b| b.label.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The German message of a rule when the catalogue has one.
pub(super) fn rule_message_de(state: &AppState, domain: &str, e: &RowError) -> String {
    let catalog = state.engine.catalog();
    let from_domain = catalog
        .domains
        .iter()
        .filter(|d| d.id == domain)
        .flat_map(|d| {
            d.rules
                .iter()
                .map(|r| (r.id.as_str(), r.message_de.as_str()))
                .chain(
                    d.yoy_rules
                        .iter()
                        .map(|r| (r.id.as_str(), r.message_de.as_str())),
                )
        })
        .find(|(id, _)| *id == e.rule)
        .map(|(_, m)| m.to_string());
    let builtin = || {
        vergleichsring_catalog::BUILTIN_CHECKS
            .iter()
            .find(|c| c.id == e.rule)
            .map(|c| c.message_de.to_string())
    };
    match from_domain.or_else(builtin) {
        // The specific English sentence names the value; the German rule
        // text says what the rule is.
        Some(de) => format!("{de} ({})", e.message),
        None => e.message.clone(),
    }
}

pub(super) fn explain_form(member: &Member, submission_id: &str, rule: &str) -> String {
    format!(
        r#"<form method="post" action="/web/erklaeren"><input type="hidden" name="csrf" value="{}"/><input type="hidden" name="submission_id" value="{}"/><input type="hidden" name="rule" value="{}"/><label for="x-{}">Erklärung</label><textarea id="x-{}" name="text" required="required" maxlength="2000"></textarea><button type="submit">Erklärung speichern</button></form>"#,
        escape(&member.csrf),
        escape(submission_id),
        escape(rule),
        escape(&format!("{submission_id}-{rule}")),
        escape(&format!("{submission_id}-{rule}")),
    )
}

pub(super) async fn overview(
    state: &AppState,
    member: &Member,
    params: &HashMap<String, String>,
) -> Result<Response, WebError> {
    let mut body = format!(
        r#"<h1>{}</h1><p class="muted">Mitgliedsnummer {}</p>"#,
        escape(&member.name),
        escape(&member.member_id)
    );
    if params.contains_key("erklaert") {
        body.push_str(r#"<section class="ok" role="status"><p>Ihre Erklärung wurde gespeichert.</p></section>"#);
    }
    body.push_str(&upload_form(state, member, None, None));

    let open = state
        .engine
        .warnings(None, None, Some(&member.member_id), true)
        .await?;
    let _ = write!(
        body,
        r#"<section id="hinweise"><h2>Offene Hinweise ({})</h2>"#,
        open.len()
    );
    if open.is_empty() {
        body.push_str("<p>Zu Ihren aktuellen Zahlen gibt es keine unerklärten Hinweise.</p>");
    } else {
        body.push_str(r#"<p class="muted">Hinweise halten eine Datei nicht auf. Bitte erklären Sie auffällige Werte kurz (z. B. „Umbau, drei Monate geschlossen“), damit der Ring sie einordnen kann.</p><table><thead><tr><th scope="col">Sparte</th><th scope="col">Jahr</th><th scope="col">Feld</th><th scope="col">Hinweis</th><th scope="col">Erklärung</th></tr></thead><tbody>"#);
        for w in &open {
            let _ = write!(
                body,
                r#"<tr class="warning"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(domain_label(state, &w.domain)),
                w.year,
                escape(&figure_label(state, &w.domain, &w.figure)),
                escape(&w.message_de),
                explain_form(member, &w.submission_id, &w.rule)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");

    // Submissions of the last ten years, newest first, and the years with
    // figures, for which a report exists.
    let mut rows = String::new();
    let mut years = std::collections::BTreeSet::new();
    let latest = this_year();
    for y in (latest - 10..=latest).rev() {
        for d in &state.engine.catalog().domains {
            let list = state
                .engine
                .submissions(&d.id, y, Some(&member.member_id))
                .await?;
            for s in list {
                let current = s.current_for.contains(&member.member_id);
                if current {
                    years.insert(y);
                }
                let _ = write!(
                    rows,
                    r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                    escape(&d.label),
                    y,
                    escape(
                        &s.submitted_at
                            .replace('T', " ")
                            .chars()
                            .take(16)
                            .collect::<String>()
                    ),
                    escape(&s.format.clone().unwrap_or_else(|| "–".into())),
                    s.warnings.len(),
                    if current {
                        r#"<span class="tag">aktuell</span>"#
                    } else {
                        "ersetzt"
                    }
                );
            }
        }
    }
    body.push_str(r#"<section id="berichte"><h2>Ihre Berichte</h2>"#);
    if years.is_empty() {
        body.push_str(
            "<p>Berichte gibt es für jedes Jahr, für das Sie Zahlen eingereicht haben.</p>",
        );
    } else {
        body.push_str("<ul>");
        for y in years.iter().rev() {
            let _ = write!(
                body,
                r#"<li><a href="/web/bericht/{y}">Vergleichsbericht {y}</a> · <a href="/web/bericht/{y}?format=xlsx">Excel</a> · <a href="/web/bericht/{y}?format=csv">CSV</a></li>"#
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
    body.push_str(r#"<section id="einreichungen"><h2>Ihre Einreichungen</h2>"#);
    if rows.is_empty() {
        body.push_str("<p>Noch keine Einreichungen.</p>");
    } else {
        let _ = write!(
            body,
            r#"<table><thead><tr><th scope="col">Sparte</th><th scope="col">Jahr</th><th scope="col">Eingereicht (UTC)</th><th scope="col">Format</th><th scope="col">Hinweise</th><th scope="col">Stand</th></tr></thead><tbody>{rows}</tbody></table>"#
        );
    }
    body.push_str("</section>");
    Ok(html_page(layout(
        "Übersicht",
        Some((&member.name, &member.csrf)),
        &body,
    )))
}
