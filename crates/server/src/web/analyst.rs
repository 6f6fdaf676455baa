//! The analyst's workspace (analyst and admin accounts): the explorer (a
//! domain, year, key figure and dimension or custom group → the groups'
//! member-free statistics as a table and a band chart) and the SQL console
//! (a query, its result as a table, or as CSV, XLSX or Parquet). Both go
//! through the same door as the API: `Engine::stats_answer` with the
//! account's audience, `Engine::query` with the SQL checks, the query rate
//! limit and slots counted before the work.

use maud::{Markup, html};
use vergleichsring_catalog::numbers::de_opt;
use vergleichsring_engine::StatsQuery;
use vergleichsring_engine::compare::{Comparison, GroupResult, Timeseries};
use vergleichsring_engine::export::TableFormat;

use super::*;

/// The dimensions the explorer offers: built-in ones and custom groups.
fn dimensions(state: &AppState) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        ("all", "alle Mitglieder"),
        ("size_class", "Größenklasse"),
        ("land", "Land"),
        ("kind", "Art"),
        ("structure_type", "Strukturtyp"),
    ]
    .map(|(id, label)| (id.to_string(), label.to_string()))
    .to_vec();
    all.extend(
        state
            .store
            .groups()
            .into_iter()
            .map(|g| (g.id.clone(), format!("Gruppe: {}", g.name))),
    );
    all
}

/// `GET /web/analyse[?bereich=D&jahr=Y&kennzahl=K&gruppierung=G]`.
#[utoipa::path(
    get,
    path = "/web/analyse",
    operation_id = "web_explorer",
    tag = "web",
    summary = "The explorer (analyst)",
    description = "For an analyst's or admin's account: choose a domain, year, key figure and dimension or custom group; the page shows each group's statistics after disclosure control (as `GET /api/v1/comparisons/{domain}/{year}` gives them to the account's role) as a table and a band chart, and each group's mean over the years up to the chosen one (as `GET /api/v1/timeseries/...` gives them, with the years the series breaks), with a link to the SQL console.",
    params(crate::contract::WebExplorerQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAnalystPage,
        (status = 404, description = "Unknown domain, key figure, dimension or year.", body = String, content_type = "text/html"),
        (status = 409, description = "The (domain, year) has no publication yet.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn explorer(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<contract::WebExplorerQuery>,
    SignedIn(AnalystAccount(account)): SignedIn<AnalystAccount>,
) -> Result<Response, WebError> {
    let catalog = state.engine.catalog();
    let domain = match q.bereich.as_deref() {
        Some(d) => state.engine.domain(d)?,
        None => catalog
            .domains
            .first()
            .ok_or_else(|| WebError::bad_request("Der Katalog hat keine Sparte."))?,
    };
    let year = q.jahr.unwrap_or(pages::this_year() - 1);
    let figure = q
        .kennzahl
        .clone()
        .or_else(|| domain.key_figures.first().map(|k| k.id.clone()))
        .unwrap_or_default();
    let group_by = q.gruppierung.clone().unwrap_or_else(|| "size_class".into());
    let (comparison, series) = if q.bereich.is_some() {
        let query = || StatsQuery {
            domain: &domain.id,
            figure: &figure,
            group_by: &group_by,
            audience: account.caller.audience(),
            member: None,
            of: None,
            as_of: None,
        };
        let comparison = state
            .engine
            .stats_answer(query())
            .await?
            .comparison(year)
            .await?;
        let answer = state.engine.stats_answer(query()).await?;
        let series = kept_series(
            &state,
            &account,
            answer,
            (&domain.id, &figure, &group_by, year),
        )
        .await?;
        (Some(comparison), Some(series))
    } else {
        (None, None)
    };
    let choice = Choice {
        domain: &domain.id,
        year,
        figure: &figure,
        group_by: &group_by,
    };
    let page = explorer_page(
        &state,
        &account,
        &choice,
        comparison.as_ref(),
        series.as_deref(),
    );
    Ok(html_page(page.into_string()))
}

/// The explorer's time series: the years up to the chosen one, through
/// the same door as the API, rendered and kept like the API's answers
/// (keyed by what the series depends on, the role and the request): five
/// years of a national ring take half a second to compute, and
/// publications change rarely.
async fn kept_series(
    state: &AppState,
    account: &Account,
    answer: vergleichsring_engine::StatsAnswer<'_, '_>,
    (domain, figure, group_by, year): (&str, &str, &str, i32),
) -> Result<String, WebError> {
    let year_text = year.to_string();
    let key = answer.state().map(|depends_on| {
        crate::cache::etag(
            depends_on,
            &[
                "web-explorer-series",
                domain,
                figure,
                group_by,
                account.caller.role.as_str(),
                &year_text,
            ],
        )
    });
    if let Some((_, body)) = key.as_deref().and_then(|k| state.responses.get(k)) {
        return Ok(String::from_utf8_lossy(&body).into_owned());
    }
    let ts = answer.timeseries(None, Some(year)).await?;
    let html = series_section(&ts).into_string();
    if let Some(k) = &key {
        state
            .responses
            .put(k, "text/html; charset=utf-8", html.clone().into());
    }
    Ok(html)
}

/// What the explorer was asked.
struct Choice<'a> {
    domain: &'a str,
    year: i32,
    figure: &'a str,
    group_by: &'a str,
}

fn explorer_page(
    state: &AppState,
    account: &Account,
    c: &Choice<'_>,
    comparison: Option<&Comparison>,
    series: Option<&str>,
) -> Markup {
    let catalog = state.engine.catalog();
    let now = pages::this_year();
    layout::layout(
        "Analyse",
        Some((&account.name, &account.csrf)),
        html! {
            p { a href="/web" { "Zurück zur Übersicht" } " · " a href="/web/analyse/sql" { "SQL-Konsole" } " · " a href="/web/analyse/gruppe" { "Eigene Vergleichsgruppe bilden" } }
            h1 { "Analyse" }
            form method="get" action="/web/analyse" class="row" {
                div { label for="bereich" { "Sparte" }
                    select id="bereich" name="bereich" { @for d in &catalog.domains { option value=(d.id) selected[d.id == c.domain] { (d.label) } } } }
                div { label for="jahr" { "Jahr" }
                    select id="jahr" name="jahr" { @for y in (now - 10..=now).rev() { option value=(y) selected[y == c.year] { (y) } } } }
                div { label for="kennzahl" { "Kennzahl" }
                    select id="kennzahl" name="kennzahl" {
                        @for d in &catalog.domains { optgroup label=(d.label) {
                            @for k in &d.key_figures { option value=(k.id) selected[k.id == c.figure && d.id == c.domain] { (k.label) } }
                        } }
                    } }
                div { label for="gruppierung" { "Gruppierung" }
                    select id="gruppierung" name="gruppierung" { @for (id, label) in dimensions(state) { option value=(id) selected[id == c.group_by] { (label) } } } }
                button type="submit" { "Anzeigen" }
            }
            @if let Some(cmp) = comparison { (comparison_section(state, cmp)) }
            // Rendered by `series_section`, which escapes what it writes.
            @if let Some(html) = series { (maud::PreEscaped(html)) }
        },
    )
}

fn comparison_section(state: &AppState, cmp: &Comparison) -> Markup {
    let figure = state
        .engine
        .catalog()
        .domain(&cmp.domain)
        .and_then(|d| d.key_figures.iter().find(|k| k.id == cmp.figure))
        .map_or(cmp.figure.clone(), |k| {
            if k.unit.trim().is_empty() {
                k.label.clone()
            } else {
                format!("{} ({})", k.label, k.unit)
            }
        });
    let rows: Vec<vergleichsring_report::svg::BandRow<'_>> = cmp
        .groups
        .iter()
        .map(|g| vergleichsring_report::svg::BandRow {
            label: g.label.clone(),
            group: Some(g),
        })
        .collect();
    let chart = vergleichsring_report::svg::band_chart("explorer", &figure, None, &rows);
    html! {
        section aria-labelledby="ergebnis" {
            h2 id="ergebnis" { (figure) ", " (cmp.year) }
            p class="muted" { "Datenversion " (cmp.data_version)
                @if let Some(p) = &cmp.publication { ", Veröffentlichung " (p.id) } }
            // Safe unescaped: the chart is built by the report crate, which
            // escapes every label it writes into the SVG.
            figure { (maud::PreEscaped(chart)) }
            table {
                (layout::table_head(&["Gruppe", "n", "Mittelwert", "Median", "25 %", "75 %", "gewichtet", "Hinweis"]))
                tbody { @for g in &cmp.groups { (group_row(g)) } }
            }
        }
    }
}

/// The time series: each group's mean by year, as published, with the
/// years from which the key figure counts something else.
fn series_section(ts: &Timeseries) -> Markup {
    let mut groups: Vec<&str> = ts
        .points
        .iter()
        .filter_map(|p| p.group.as_deref())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let mut years: Vec<i32> = ts.points.iter().map(|p| p.year).collect();
    years.sort_unstable();
    years.dedup();
    let mean = |year: i32, group: &str| {
        ts.points
            .iter()
            .find(|p| p.year == year && p.group.as_deref() == Some(group))
            .map_or_else(
                || "–".to_string(),
                |p| match p.stats.as_ref().and_then(|s| s.mean) {
                    Some(m) if !p.suppressed => de_opt(Some(m)),
                    _ => "zurückgehalten".to_string(),
                },
            )
    };
    let mut head = vec!["Jahr"];
    head.extend(groups.iter().copied());
    html! {
        section aria-labelledby="zeitreihe" {
            h2 id="zeitreihe" { "Zeitreihe der Mittelwerte" }
            @for y in &ts.breaks {
                p class="notice" { "Bruch ab " (y) ": die Definition der Kennzahl oder einer ihrer Grundzahlen hat sich geändert; Werte vor und ab " (y) " sind nicht vergleichbar." }
            }
            @if years.is_empty() {
                p { "Noch keine veröffentlichten Jahre." }
            } @else {
                table {
                    (layout::table_head(&head))
                    tbody {
                        @for y in &years {
                            tr {
                                th scope="row" { (y) @if ts.breaks.contains(y) { " (Bruch)" } }
                                @for g in &groups { td class="num" { (mean(*y, g)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn group_row(g: &GroupResult) -> Markup {
    let s = g.stats.as_ref();
    html! {
        tr {
            td { (g.label) }
            td class="num" { (g.n) }
            td class="num" { (de_opt(s.and_then(|s| s.mean))) }
            td class="num" { (de_opt(s.and_then(|s| s.median))) }
            td class="num" { (de_opt(s.and_then(|s| s.p25))) }
            td class="num" { (de_opt(s.and_then(|s| s.p75))) }
            td class="num" { (de_opt(s.and_then(|s| s.weighted))) }
            td { @if g.suppressed { (g.message_de.unwrap_or("zurückgehalten")) } }
        }
    }
}

/// `GET /web/analyse/sql`: the SQL console.
#[utoipa::path(
    get,
    path = "/web/analyse/sql",
    operation_id = "web_sql",
    tag = "web",
    summary = "The SQL console (analyst)",
    description = "For an analyst's or admin's account: a form for a query over the tables `POST /api/v1/query` offers, with what the allow-list permits.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        crate::contract::responses::NotAnalystPage,
    )
)]
pub(super) async fn sql_console(
    SignedIn(AnalystAccount(account)): SignedIn<AnalystAccount>,
) -> Result<Response, WebError> {
    let page = sql_page(
        &account,
        "SELECT domain, year, figure, \"group\", n, median FROM comparisons WHERE NOT suppressed LIMIT 20",
        None,
        None,
    );
    Ok(html_page(page.into_string()))
}

fn sql_page(
    account: &Account,
    sql: &str,
    result: Option<&serde_json::Value>,
    error: Option<&str>,
) -> Markup {
    let columns: Vec<&str> = result
        .and_then(|r| r["columns"].as_array())
        .map(|c| c.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let rows = result.and_then(|r| r["rows"].as_array());
    layout::layout(
        "SQL-Konsole",
        Some((&account.name, &account.csrf)),
        html! {
            p { a href="/web/analyse" { "Zur Analyse" } }
            h1 { "SQL-Konsole" }
            p { "Eine Abfrage ist ein einzelnes SELECT über die Tabelle " code { "comparisons" } ": jede veröffentlichte Gruppe jeder Kennzahl, Dimension und jedes Jahres nach der Geheimhaltungsprüfung (Spalten wie " code { "domain, year, figure, group_by, \"group\", n, suppressed, mean, median" } "). Einzelwerte von Mitgliedern enthält sie nicht; erlaubt sind nur die Funktionen der Freigabeliste. Eine abgewiesene Abfrage nennt den Grund." }
            @if let Some(e) = error { p class="error" role="alert" { "Abgewiesen: " (e) } }
            form method="post" action="/web/analyse/sql" {
                input type="hidden" name="csrf" value=(account.csrf);
                label for="sql" { "Abfrage" }
                textarea id="sql" name="sql" rows="6" { (sql) }
                label for="format" { "Ergebnis" }
                select id="format" name="format" {
                    option value="html" { "als Tabelle" }
                    option value="csv" { "CSV herunterladen (Semikolon, für Excel)" }
                    option value="xlsx" { "Excel herunterladen" }
                    option value="parquet" { "Parquet herunterladen" }
                }
                div class="row" { button type="submit" { "Ausführen" } }
            }
            @if let Some(rows) = rows {
                section aria-labelledby="ergebnis" {
                    h2 id="ergebnis" { (rows.len()) " Zeilen" @if rows.len() > 500 { ", die ersten 500 gezeigt" } }
                    table {
                        (layout::table_head(&columns))
                        tbody { @for r in rows.iter().take(500) { tr { @for v in r.as_array().into_iter().flatten() {
                            @match v {
                                serde_json::Value::Number(n) => td class="num" { (de_opt(n.as_f64())) },
                                serde_json::Value::Null => td {},
                                serde_json::Value::String(s) => td { (s) },
                                other => td { (other.to_string()) },
                            }
                        } } } }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct SqlForm {
    csrf: String,
    sql: String,
    /// `html` (a table on the page), `csv`, `xlsx` or `parquet`.
    format: String,
}

impl CsrfField for SqlForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /web/analyse/sql`: runs a query.
#[utoipa::path(
    post,
    path = "/web/analyse/sql",
    operation_id = "web_run_sql",
    tag = "web",
    summary = "Run a query (analyst)",
    description = "Runs the query as `POST /api/v1/query` does (the same checks, rate limit and slots, counted before the work) and shows the result as a table (`format=html`) or sends it as CSV, XLSX or Parquet. A refused query shows the reason beside the form.",
    request_body(content = inline(SqlForm), content_type = "application/x-www-form-urlencoded"),
    security(("session" = [])),
    responses(
        (status = 200, description = "The result, or the download.", body = String, content_type = "text/html"),
        (status = 400, description = "A refused query: the form with the reason.", body = String, content_type = "text/html"),
        crate::contract::responses::NotSignedIn,
        (status = 403, description = "Neither an analyst's nor an admin's account, a wrong CSRF token, or a post from another site.", body = String, content_type = "text/html"),
        crate::contract::responses::NotAForm,
        (status = 429, description = "Too many queries in the last minute, or none free for 5 s.", body = String, content_type = "text/html"),
    )
)]
pub(super) async fn run_sql(
    State(state): State<AppState>,
    CsrfForm {
        who: AnalystAccount(account),
        form,
    }: CsrfForm<AnalystAccount, SqlForm>,
) -> Result<Response, WebError> {
    state.rates.queries.check(account.caller.rate_key())?;
    let _slot = state.rates.query_slot().await?;
    let engine_format = match form.format.as_str() {
        "parquet" => TableFormat::Parquet,
        // A spreadsheet opens the CSV, so it goes through the same table
        // as the XLSX: cells a spreadsheet would run as formulas are
        // neutralised there, and the CSV is German (semicolons) so that
        // German Excel splits it into cells.
        "html" | "csv" | "xlsx" => TableFormat::Json,
        _ => {
            return Err(WebError::bad_request(
                "Das Format ist html, csv, xlsx oder parquet.",
            ));
        }
    };
    let bytes = match state.engine.query(&form.sql, engine_format).await {
        Ok(b) => b,
        Err(
            e @ (EngineError::BadRequest(_)
            | EngineError::Refused { .. }
            | EngineError::DataFusion(_)),
        ) => {
            let reason = ApiError::from(e).message;
            let page = sql_page(&account, &form.sql, None, Some(&reason));
            return Ok((StatusCode::BAD_REQUEST, html_page(page.into_string())).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let download = |media: &str, ext: &str, body: bytes::Bytes| {
        (
            [
                (CONTENT_TYPE, media.to_string()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"abfrage.{ext}\""),
                ),
            ],
            body,
        )
            .into_response()
    };
    match form.format.as_str() {
        "parquet" => Ok(download(engine_format.content_type(), "parquet", bytes)),
        other => {
            let result: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| WebError::from(EngineError::Internal(e.to_string())))?;
            if other == "xlsx" || other == "csv" {
                let table = crate::render::json_table("Abfrage", &result);
                let (media, body) = crate::render::table_in(
                    &table,
                    other == "xlsx",
                    vergleichsring_report::Dialect::De,
                )?;
                return Ok(download(media, other, body));
            }
            Ok(html_page(
                sql_page(&account, &form.sql, Some(&result), None).into_string(),
            ))
        }
    }
}
