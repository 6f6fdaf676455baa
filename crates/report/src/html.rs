//! The peer report as one self-contained HTML page: no scripts, fonts,
//! images or style sheets from elsewhere, German number formatting, inline
//! SVG charts, and a print style sheet for A4 so that the browser's "print
//! to PDF" gives a committee paper.
//!
//! The markup is well-formed XML (every element closed, every attribute
//! quoted, all text escaped), so that tests can parse it with an XML reader.

use std::fmt::Write;

use vergleichsring_catalog::Direction;
use vergleichsring_engine::compare::GroupResult;
use vergleichsring_engine::report::{DomainReport, FigureReport, Report};

use crate::fmt::{de, de_number, de_opt, escape};
use crate::svg::{self, BandRow};

/// Options of the HTML rendering.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    /// A link back to the page the report was opened from (the member web
    /// page); it is not printed.
    pub back_link: Option<String>,
}

const STYLE: &str = r#"
:root { --own: #1d3f74; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 60rem; padding: 1.5rem; line-height: 1.45; }
h1 { font-size: 1.9rem; margin: 0.2rem 0 0.4rem; }
h2 { font-size: 1.45rem; border-bottom: 2px solid var(--own); padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { font-size: 1.1rem; margin: 0 0 0.3rem; }
.kicker { text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted); font-size: 0.8rem; margin: 0; }
.meta { color: var(--muted); margin: 0.2rem 0; }
.lead { max-width: 46rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; margin: 0.8rem 0; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border-bottom: 1px solid var(--line); padding: 0.25rem 0.4rem; vertical-align: top; }
th { text-align: left; background: #f3f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
article.figure { border: 1px solid var(--line); border-radius: 6px; padding: 0.9rem 1rem; margin: 1rem 0; }
.def { color: var(--muted); font-size: 0.88rem; margin: 0 0 0.5rem; }
dl.numbers { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0.3rem 1rem; margin: 0.4rem 0 0.6rem; }
dl.numbers div { min-width: 0; }
dt { font-size: 0.75rem; color: var(--muted); }
dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
dd.own { color: var(--own); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 0.4rem 1.2rem; align-items: start; }
svg.chart { display: block; max-width: 40rem; margin: 0.4rem 0; font-family: inherit; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .row-label, svg .legend { font-size: 12px; fill: var(--ink); }
svg .own-label { font-size: 12px; font-weight: 700; fill: var(--own); }
svg .note { font-size: 12px; fill: var(--muted); font-style: italic; }
.withheld { font-size: 0.85rem; color: var(--muted); margin: 0.3rem 0 0; padding-left: 1.1rem; }
nav ol { columns: 2; }
a { color: var(--own); }
.back { margin-bottom: 1rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.8rem; border-top: 1px solid var(--line); padding-top: 0.5rem; }
@page { size: A4; margin: 15mm 14mm 17mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .back, nav { display: none; }
  section.domain, section.method { break-before: page; }
  article.figure { break-inside: avoid; border-color: #999; padding: 0.5rem 0.7rem; margin: 0.6rem 0; }
  .charts { grid-template-columns: 1fr 1fr; }
  /* Two charts side by side print at about half their screen size; the
     text inside them grows so that it stays readable on paper. */
  svg .tick, svg .note { font-size: 16px; }
  svg .row-label, svg .legend, svg .own-label { font-size: 17px; }
  dl.numbers { margin: 0.2rem 0; }
  h2, h3 { break-after: avoid; }
  table { break-inside: auto; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn direction_text(d: Direction) -> &'static str {
    match d {
        Direction::Higher => "höher ist günstiger",
        Direction::Lower => "niedriger ist günstiger",
        Direction::Neutral => "keine Wertung (politische Entscheidung)",
    }
}

fn with_unit(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) if !unit.is_empty() => format!("{} {unit}", de(x)),
        _ => de_opt(v),
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The peer report as a self-contained HTML page.
pub fn to_html(report: &Report, options: &HtmlOptions) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("Vergleichsbericht {} – {}", report.year, report.member_name);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>{}</title><style>{STYLE}</style></head><body>"#,
        escape(&title)
    );
    if let Some(back) = &options.back_link {
        let _ = write!(
            out,
            r#"<p class="back"><a href="{}">← Zurück zur Übersicht</a></p>"#,
            escape(back)
        );
    }
    let date = report
        .generated_at
        .get(..10)
        .unwrap_or(&report.generated_at);
    let _ = write!(
        out,
        r#"<header><p class="kicker">Vergleichsring · Vergleichsbericht</p><h1>{}</h1><p class="meta">Berichtsjahr {} · erstellt am {} · Mitgliedsnummer {}</p>"#,
        escape(&report.member_name),
        report.year,
        escape(&german_date(date)),
        escape(&report.member_id)
    );
    out.push_str(r#"<p class="lead">Dieser Bericht stellt Ihre Kennzahlen den Kennzahlen der Mitglieder Ihrer Größenklasse und aller Mitglieder gegenüber. Alle Vergleichswerte sind anonym und durchlaufen die Geheimhaltungsregeln des Rings; zurückgehaltene Werte sind mit Grund gekennzeichnet. Ihr eigener Wert ist in allen Grafiken als beschriftete Raute oder als schraffierter Balken hervorgehoben.</p>"#);
    out.push_str(r#"<nav aria-label="Inhalt"><h2 class="toc">Inhalt</h2><ol>"#);
    for d in &report.domains {
        let _ = write!(
            out,
            r##"<li><a href="#d-{}">{}</a></li>"##,
            slug(&d.domain),
            escape(&d.label)
        );
    }
    out.push_str(r##"<li><a href="#methode">Methode</a></li></ol></nav></header><main>"##);
    for d in &report.domains {
        domain_section(&mut out, d);
    }
    method_section(&mut out, report);
    let versions: Vec<String> = report
        .data_versions
        .iter()
        .map(|(d, v)| format!("{d} {v}"))
        .collect();
    let _ = writeln!(
        out,
        r#"</main><footer>Erstellt am {} (UTC) · Datenstand: {} · vergleichsring</footer></body></html>"#,
        escape(&report.generated_at.replace('T', " ").replace('Z', "")),
        escape(&versions.join(", "))
    );
    out
}

/// `2026-11-27` → `27.11.2026`.
fn german_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{d}.{m}.{y}"),
        _ => iso.to_string(),
    }
}

fn group_label(g: Option<&GroupResult>, fallback: &str) -> String {
    match g {
        Some(g) => format!("{} (n = {})", g.label, g.n),
        None => fallback.to_string(),
    }
}

fn domain_section(out: &mut String, d: &DomainReport) {
    let id = slug(&d.domain);
    let _ = write!(
        out,
        r#"<section class="domain" id="d-{id}" aria-labelledby="d-{id}-h"><h2 id="d-{id}-h">{}</h2>"#,
        escape(&d.label)
    );
    let first = d.key_figures.first();
    let _ = write!(
        out,
        r#"<p class="meta">Ihre Größenklasse: {} · Vergleich mit allen Mitgliedern: {}</p>"#,
        escape(
            &first
                .and_then(|k| k.size_class.as_ref())
                .map(|g| group_label(Some(g), ""))
                .or_else(|| d.size_class_label.clone())
                .unwrap_or_else(|| "keine".into())
        ),
        escape(
            &first
                .and_then(|k| k.all.as_ref())
                .map(|g| format!("n = {}", g.n))
                .unwrap_or_else(|| "–".into())
        )
    );
    out.push_str(r#"<table class="overview"><caption>Übersicht der Kennzahlen</caption><thead><tr><th scope="col">Kennzahl</th><th scope="col">Einheit</th><th scope="col" class="num">Ihr Wert</th><th scope="col" class="num">Median Größenklasse</th><th scope="col" class="num">Mittlere Hälfte</th><th scope="col" class="num">Rang</th><th scope="col" class="num">Median alle</th></tr></thead><tbody>"#);
    for k in &d.key_figures {
        let sc = k.size_class.as_ref().and_then(|g| g.stats.as_ref());
        let all = k.all.as_ref().and_then(|g| g.stats.as_ref());
        let own = k.size_class.as_ref().and_then(|g| g.own.as_ref());
        let band = match sc.map(|s| (s.p25, s.p75)) {
            Some((Some(a), Some(b))) => format!("{} – {}", de(a), de(b)),
            _ => "–".into(),
        };
        let rank = match (own.and_then(|o| o.rank), k.size_class.as_ref()) {
            (Some(r), Some(g)) => format!("{r} von {}", g.n),
            _ => "–".into(),
        };
        let _ = write!(
            out,
            r##"<tr><th scope="row"><a href="#f-{id}-{}">{}</a></th><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"##,
            slug(&k.id),
            escape(&k.label),
            escape(&k.unit),
            de_opt(k.own),
            de_opt(sc.and_then(|s| s.median)),
            band,
            rank,
            de_opt(all.and_then(|s| s.median)),
        );
    }
    out.push_str("</tbody></table>");
    for k in &d.key_figures {
        figure_article(out, &d.domain, d.size_class_label.as_deref(), k);
    }
    out.push_str("</section>");
}

fn figure_article(out: &mut String, domain: &str, class_label: Option<&str>, k: &FigureReport) {
    let id = format!("f-{}-{}", slug(domain), slug(&k.id));
    let _ = write!(
        out,
        r#"<article class="figure" id="{id}" aria-labelledby="{id}-h"><h3 id="{id}-h">{}</h3><p class="def">{} · Einheit: {} · {}</p>"#,
        escape(&k.label),
        escape(&k.definition),
        escape(if k.unit.is_empty() { "Anzahl" } else { &k.unit }),
        direction_text(k.direction)
    );
    let sc = k.size_class.as_ref();
    let stats = sc.and_then(|g| g.stats.as_ref());
    let own = sc.and_then(|g| g.own.as_ref());
    let all_stats = k.all.as_ref().and_then(|g| g.stats.as_ref());
    out.push_str(r#"<dl class="numbers">"#);
    let mut item = |label: &str, value: String, class: &str| {
        let _ = write!(
            out,
            r#"<div><dt>{}</dt><dd class="{class}">{}</dd></div>"#,
            escape(label),
            escape(&value)
        );
    };
    item("Ihr Wert", with_unit(k.own, &k.unit), "own");
    item(
        "Median Größenklasse",
        with_unit(stats.and_then(|s| s.median), &k.unit),
        "",
    );
    item(
        "Mittelwert Größenklasse",
        with_unit(stats.and_then(|s| s.mean), &k.unit),
        "",
    );
    item(
        "Gesamtwert Größenklasse",
        with_unit(stats.and_then(|s| s.weighted), &k.unit),
        "",
    );
    if let Some(q) = own.and_then(|o| o.quintile) {
        // Rule 17: members see the fifth of the group they fall in.
        item(
            "Position in der Größenklasse",
            format!("{q}. Fünftel (das erste ist das beste)"),
            "",
        );
    } else {
        item(
            "Rang in der Größenklasse",
            match (own.and_then(|o| o.rank), sc) {
                (Some(r), Some(g)) => format!("{r} von {}", g.n),
                _ => "–".into(),
            },
            "",
        );
        item(
            "Perzentilrang",
            own.and_then(|o| o.percentile_rank)
                .map_or("–".into(), |p| format!("{} %", de_number(p, 0))),
            "",
        );
    }
    item(
        "Median alle Mitglieder",
        with_unit(all_stats.and_then(|s| s.median), &k.unit),
        "",
    );
    item(
        "Gesamtwert alle Mitglieder",
        with_unit(all_stats.and_then(|s| s.weighted), &k.unit),
        "",
    );
    if let Some(n) = sc.and_then(|g| g.noise.as_ref()) {
        // Rule 17: the flags in German, with a link to their explanation.
        let _ = write!(
            out,
            r##"<div><dt>Unschärfe Größenklasse</dt><dd class="noise">Mittelwert: {}; Median und Quartile: {} (<a href="#unschaerfe">was heißt das?</a>)</dd></div>"##,
            escape(n.mean.german()),
            escape(n.quantiles.german())
        );
    }
    out.push_str("</dl>");
    let class_row = group_label(sc, class_label.unwrap_or("Größenklasse"));
    out.push_str(r#"<div class="charts">"#);
    out.push_str(&svg::band_chart(
        &format!("{id}-band"),
        &k.label,
        k.own,
        &[
            BandRow {
                label: class_row,
                group: sc,
            },
            BandRow {
                label: group_label(k.all.as_ref(), "Alle Mitglieder"),
                group: k.all.as_ref(),
            },
        ],
    ));
    if let Some((values, own_index)) = sc.and_then(|g| bars_of(g, k.own)) {
        out.push_str(&svg::bars_chart(
            &format!("{id}-bars"),
            &k.label,
            "Größenklasse",
            &values,
            own_index,
        ));
    }
    if !k.timeseries.is_empty() {
        out.push_str(&svg::line_chart(
            &format!("{id}-line"),
            &k.label,
            &k.timeseries,
        ));
    }
    out.push_str("</div>");
    let mut notes: Vec<String> = Vec::new();
    for (what, g) in [("Größenklasse", sc), ("Alle Mitglieder", k.all.as_ref())] {
        if let Some(g) = g {
            if g.suppressed {
                notes.push(format!(
                    "{what}: alle Vergleichswerte zurückgehalten – {}",
                    g.message_de.unwrap_or("Geheimhaltung.")
                ));
            }
            for w in &g.withheld {
                notes.push(format!(
                    "{what}: {} zurückgehalten – {}",
                    statistic_de(w.statistic),
                    w.message_de
                ));
            }
        }
    }
    // p10 and p90 (or p25 and p75) are withheld for the same reason and
    // read the same in German; one note is enough.
    notes.dedup();
    if !notes.is_empty() {
        out.push_str(r#"<ul class="withheld">"#);
        for n in notes {
            let _ = write!(out, "<li>{}</li>", escape(&n));
        }
        out.push_str("</ul>");
    }
    out.push_str("</article>");
}

/// The bars of the sorted anonymous distribution (pseudonymous mode) or of
/// the named peers (named mode), with the index of the member's own bar.
fn bars_of(g: &GroupResult, own: Option<f64>) -> Option<(Vec<f64>, usize)> {
    let own = own?;
    let values: Vec<f64> = match (&g.distribution, &g.peers) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => {
            let mut v: Vec<f64> = p.iter().map(|p| p.value).collect();
            v.sort_by(f64::total_cmp);
            v
        }
        _ => return None,
    };
    // The distribution is rounded to three significant digits, so the own
    // bar is the one nearest to the exact own value.
    let index = values
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - own).abs().total_cmp(&(b.1 - own).abs()))?
        .0;
    Some((values, index))
}

fn statistic_de(s: &str) -> &str {
    match s {
        "mean" => "Mittelwert",
        "median" => "Median",
        "p25" | "p75" => "Quartil",
        "p10" | "p90" => "Dezil",
        "std_dev" => "Standardabweichung",
        "weighted" => "Gesamtwert",
        other => other,
    }
}

fn method_section(out: &mut String, report: &Report) {
    out.push_str(r#"<section class="method" id="methode" aria-labelledby="methode-h"><h2 id="methode-h">Methode</h2>"#);
    out.push_str("<h3>Vergleichsgruppen</h3><p>Die Größenklasse richtet sich nach der Einwohnerzahl, die Sie für die Sparte gemeldet haben, und nach der Art der Gebietskörperschaft. Gezählt sind die Mitglieder mit Werten für das Berichtsjahr.</p>");
    out.push_str(r#"<table><thead><tr><th scope="col">Sparte</th><th scope="col">Gruppe</th><th scope="col" class="num">Mitglieder</th></tr></thead><tbody>"#);
    for g in &report.method.groups {
        let label = report
            .domains
            .iter()
            .find(|d| d.domain == g.domain)
            .map_or(g.domain.as_str(), |d| d.label.as_str());
        let group = if g.dimension == "all" {
            "Alle Mitglieder".to_string()
        } else {
            format!("Größenklasse {}", g.group)
        };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
            escape(label),
            escape(&group),
            g.members
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        "<h3>Statistik</h3><p>{}</p><p>Der Rang zählt ab 1 für den günstigsten Wert (bei Kennzahlen ohne Wertung ab dem höchsten Wert); der Perzentilrang gibt an, welcher Anteil der Gruppe einen niedrigeren Wert hat (Gleichstände zur Hälfte).</p>",
        escape(report.method.quantiles)
    );
    if let Some(noise) = report.method.noise {
        let _ = write!(
            out,
            "<h3 id=\"unschaerfe\">Unschärfe</h3><p>{}</p><p>Geringe Unschärfe: der Wert wurde um weniger als 2 % verschoben; mittlere: 2 bis unter 5 %; starke: 5 % und mehr. Median, Quartile, Standardabweichung und Position tragen die Stufe nach der Gruppengröße. Ihr eigener Wert ist immer genau.</p>",
            escape(noise)
        );
    }
    out.push_str("<h3>Geheimhaltung</h3><p>Vergleichswerte werden nur veröffentlicht, wenn die Gruppe groß genug ist und kein einzelnes Mitglied aus ihnen erkennbar wird. Zurückgehaltene Werte sind im Bericht mit einem dieser Gründe gekennzeichnet:</p><ul>");
    for s in &report.method.suppression {
        let _ = write!(out, "<li>{}</li>", escape(s.message_de));
    }
    out.push_str("</ul>");
    out.push_str("<h3>Datenstand und Freigaben</h3>");
    if !report.publications.is_empty() {
        // Rule 9: the comparisons come from these publications.
        out.push_str(
            "<p>Die Vergleichswerte stammen aus diesen Veröffentlichungen des Rings:</p><ul>",
        );
        // The id names domain, year and number; the time is in the JSON
        // and XLSX forms.
        for (domain, p) in &report.publications {
            let _ = write!(
                out,
                "<li>{}: <strong>{}</strong></li>",
                escape(domain),
                escape(&p.id)
            );
        }
        out.push_str("</ul>");
    }
    if let Some(as_of) = &report.as_of {
        let _ = write!(
            out,
            "<p>Dieser Bericht zeigt den Datenstand <strong>{}</strong>; spätere Korrekturen sind nicht enthalten.</p>",
            escape(as_of)
        );
    }
    if report.releases.is_empty() {
        out.push_str("<p>Der Ring hat noch keinen Datenstand eingefroren.</p>");
    } else {
        out.push_str(r#"<table><thead><tr><th scope="col">Freigabe</th><th scope="col">Sparte</th><th scope="col" class="num">Jahr</th><th scope="col" class="num">Datenstand</th><th scope="col">Eingefroren am</th><th scope="col">Wieder geöffnet am</th></tr></thead><tbody>"#);
        for r in &report.releases {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&r.id),
                escape(&r.domain),
                r.year,
                escape(&r.data_version),
                escape(
                    &r.frozen_at
                        .get(..19)
                        .unwrap_or(&r.frozen_at)
                        .replace('T', " ")
                ),
                escape(&r.reopened_at.as_deref().map_or("–".to_string(), |t| {
                    t.get(..19).unwrap_or(t).replace('T', " ")
                }))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}
