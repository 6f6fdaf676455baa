//! The peer report as one self-contained HTML page: no scripts, fonts,
//! images or style sheets from elsewhere, German number formatting, inline
//! SVG charts, and a print style sheet for A4 so that the browser's "print
//! to PDF" gives a committee paper. Rendered with maud, like the web
//! pages, so that text is escaped by default.
//!
//! The markup is well-formed XML (every element closed, every attribute
//! quoted, all text escaped), so that tests can parse it with an XML reader.
//! Two things keep it so where maud alone would not: text goes through
//! [`Esc`] (which also escapes `'`, as the reports always have), and the
//! two `meta` elements are written closed (`<meta .../>`), which maud's
//! void elements are not. The SVG charts come from `svg.rs` as text.

use maud::{Markup, PreEscaped, html};
use vergleichsring_catalog::Direction;
use vergleichsring_engine::compare::GroupResult;
use vergleichsring_engine::report::{DomainReport, FigureReport, Report};

use crate::fmt::{Esc, de, de_number, de_opt};
use crate::svg::{self, BandRow};

/// Options of the HTML rendering.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions<'a> {
    /// A link back to the page the report was opened from (the member web
    /// page); it is not printed.
    pub back_link: Option<String>,
    /// The catalogue the report was computed with: its basic figures'
    /// definitions and sources make the appendix.
    pub catalog: Option<&'a vergleichsring_catalog::Catalog>,
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
pub fn to_html(report: &Report, options: &HtmlOptions<'_>) -> String {
    let title = format!("Vergleichsbericht {} – {}", report.year, report.member_name);
    let versions: Vec<String> = report
        .data_versions
        .iter()
        .map(|(d, v)| format!("{d} {v}"))
        .collect();
    let generated = report.generated_at.replace('T', " ").replace('Z', "");
    let page = html! {
        (PreEscaped("<!DOCTYPE html>\n"))
        html lang="de" {
            head {
                // Closed, for the XML reader; maud writes void elements open.
                (PreEscaped(r#"<meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>"#))
                title { (Esc(&title)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                @if let Some(back) = &options.back_link {
                    p class="back" { a href=(Esc(back)) { "← Zurück zur Übersicht" } }
                }
                (report_header(report))
                main {
                    @for d in &report.domains {
                        (domain_section(d))
                    }
                    (method_section(report))
                    @if let Some(catalog) = options.catalog {
                        (crate::appendix::definitions_section(report, catalog))
                    }
                }
                footer {
                    "Erstellt am " (Esc(&generated)) " (UTC) · Datenstand: "
                    (Esc(&versions.join(", "))) " · vergleichsring"
                }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

/// The title, the lead paragraph and the table of contents.
fn report_header(report: &Report) -> Markup {
    let date = report
        .generated_at
        .get(..10)
        .unwrap_or(&report.generated_at);
    html! {
        header {
            p class="kicker" { "Vergleichsring · Vergleichsbericht" }
            h1 { (Esc(&report.member_name)) }
            p class="meta" {
                "Berichtsjahr " (report.year) " · erstellt am " (Esc(&german_date(date)))
                " · Mitgliedsnummer " (Esc(&report.member_id))
            }
            p class="lead" {
                "Dieser Bericht stellt Ihre Kennzahlen den Kennzahlen der Mitglieder Ihrer Größenklasse und aller Mitglieder gegenüber. Alle Vergleichswerte sind anonym und durchlaufen die Geheimhaltungsregeln des Rings; zurückgehaltene Werte sind mit Grund gekennzeichnet. Ihr eigener Wert ist in allen Grafiken als beschriftete Raute oder als schraffierter Balken hervorgehoben."
            }
            nav aria-label="Inhalt" {
                h2 class="toc" { "Inhalt" }
                ol {
                    @for d in &report.domains {
                        li { a href={ "#d-" (slug(&d.domain)) } { (Esc(&d.label)) } }
                    }
                    li { a href="#methode" { "Methode" } }
                }
            }
        }
    }
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

fn domain_section(d: &DomainReport) -> Markup {
    let id = slug(&d.domain);
    let first = d.key_figures.first();
    let class = first
        .and_then(|k| k.size_class.as_ref())
        .map(|g| group_label(Some(g), ""))
        .or_else(|| d.size_class_label.clone())
        .unwrap_or_else(|| "keine".into());
    let all = first
        .and_then(|k| k.all.as_ref())
        .map(|g| format!("n = {}", g.n))
        .unwrap_or_else(|| "–".into());
    html! {
        section class="domain" id={ "d-" (id) } aria-labelledby={ "d-" (id) "-h" } {
            h2 id={ "d-" (id) "-h" } { (Esc(&d.label)) }
            p class="meta" {
                "Ihre Größenklasse: " (Esc(&class)) " · Vergleich mit allen Mitgliedern: " (Esc(&all))
            }
            table class="overview" {
                caption { "Übersicht der Kennzahlen" }
                thead {
                    tr {
                        th scope="col" { "Kennzahl" }
                        th scope="col" { "Einheit" }
                        th scope="col" class="num" { "Ihr Wert" }
                        th scope="col" class="num" { "Median Größenklasse" }
                        th scope="col" class="num" { "Mittlere Hälfte" }
                        th scope="col" class="num" { "Rang" }
                        th scope="col" class="num" { "Median alle" }
                    }
                }
                tbody {
                    @for k in &d.key_figures {
                        (overview_row(&id, k))
                    }
                }
            }
            @for k in &d.key_figures {
                (figure_article(&d.domain, d.size_class_label.as_deref(), k))
            }
        }
    }
}

/// A key figure's row in the domain's overview table.
fn overview_row(domain_id: &str, k: &FigureReport) -> Markup {
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
    html! {
        tr {
            th scope="row" { a href={ "#f-" (domain_id) "-" (slug(&k.id)) } { (Esc(&k.label)) } }
            td { (Esc(&k.unit)) }
            td class="num" { (de_opt(k.own)) }
            td class="num" { (de_opt(sc.and_then(|s| s.median))) }
            td class="num" { (band) }
            td class="num" { (rank) }
            td class="num" { (de_opt(all.and_then(|s| s.median))) }
        }
    }
}

fn figure_article(domain: &str, class_label: Option<&str>, k: &FigureReport) -> Markup {
    let id = format!("f-{}-{}", slug(domain), slug(&k.id));
    let unit = if k.unit.is_empty() { "Anzahl" } else { &k.unit };
    html! {
        article class="figure" id=(id) aria-labelledby={ (id) "-h" } {
            h3 id={ (id) "-h" } { (Esc(&k.label)) }
            p class="def" {
                (Esc(&k.definition)) " · Einheit: " (Esc(unit)) " · " (direction_text(k.direction))
            }
            (numbers(k))
            (charts(&id, class_label, k))
            (withheld_notes(k))
        }
    }
}

/// The figure's numbers: the own value, the groups' statistics and the
/// own position, as a definition list.
fn numbers(k: &FigureReport) -> Markup {
    let sc = k.size_class.as_ref();
    let stats = sc.and_then(|g| g.stats.as_ref());
    let own = sc.and_then(|g| g.own.as_ref());
    let all_stats = k.all.as_ref().and_then(|g| g.stats.as_ref());
    let mut items: Vec<(&str, String, &str)> = vec![
        ("Ihr Wert", with_unit(k.own, &k.unit), "own"),
        (
            "Median Größenklasse",
            with_unit(stats.and_then(|s| s.median), &k.unit),
            "",
        ),
        (
            "Mittelwert Größenklasse",
            with_unit(stats.and_then(|s| s.mean), &k.unit),
            "",
        ),
        (
            "Gesamtwert Größenklasse",
            with_unit(stats.and_then(|s| s.weighted), &k.unit),
            "",
        ),
    ];
    if let Some(q) = own.and_then(|o| o.quintile) {
        // Rule 17: members see the fifth of the group they fall in.
        items.push((
            "Position in der Größenklasse",
            format!("{q}. Fünftel (das erste ist das beste)"),
            "",
        ));
    } else {
        let rank = match (own.and_then(|o| o.rank), sc) {
            (Some(r), Some(g)) => format!("{r} von {}", g.n),
            _ => "–".into(),
        };
        let percentile = own
            .and_then(|o| o.percentile_rank)
            .map_or("–".into(), |p| format!("{} %", de_number(p, 0)));
        items.push(("Rang in der Größenklasse", rank, ""));
        items.push(("Perzentilrang", percentile, ""));
    }
    items.push((
        "Median alle Mitglieder",
        with_unit(all_stats.and_then(|s| s.median), &k.unit),
        "",
    ));
    items.push((
        "Gesamtwert alle Mitglieder",
        with_unit(all_stats.and_then(|s| s.weighted), &k.unit),
        "",
    ));
    html! {
        dl class="numbers" {
            @for (label, value, class) in &items {
                div { dt { (Esc(label)) } dd class=(class) { (Esc(value)) } }
            }
            @if let Some(n) = sc.and_then(|g| g.noise.as_ref()) {
                // Rule 17: the flags in German, with a link to their
                // explanation.
                div {
                    dt { "Unschärfe Größenklasse" }
                    dd class="noise" {
                        "Mittelwert: " (Esc(n.mean.german())) "; Median und Quartile: "
                        (Esc(n.quantiles.german())) " ("
                        a href="#unschaerfe" { "was heißt das?" }
                        ")"
                    }
                }
            }
        }
    }
}

/// The figure's charts: the band of both groups, the bars of the size
/// class, and the time series.
fn charts(id: &str, class_label: Option<&str>, k: &FigureReport) -> Markup {
    let sc = k.size_class.as_ref();
    let band = svg::band_chart(
        &format!("{id}-band"),
        &k.label,
        k.own,
        &[
            BandRow {
                label: group_label(sc, class_label.unwrap_or("Größenklasse")),
                group: sc,
            },
            BandRow {
                label: group_label(k.all.as_ref(), "Alle Mitglieder"),
                group: k.all.as_ref(),
            },
        ],
    );
    let bars = sc
        .and_then(|g| bars_of(g, k.own))
        .map(|(values, own_index)| {
            svg::bars_chart(
                &format!("{id}-bars"),
                &k.label,
                "Größenklasse",
                &values,
                own_index,
            )
        });
    let line = (!k.timeseries.is_empty())
        .then(|| svg::line_chart(&format!("{id}-line"), &k.label, &k.timeseries));
    html! {
        div class="charts" {
            (PreEscaped(band))
            @if let Some(bars) = bars { (PreEscaped(bars)) }
            @if let Some(line) = line { (PreEscaped(line)) }
        }
        @for y in &k.breaks {
            p class="meta" { "Bruch in der Zeitreihe ab " (y) ": die Definition einer Grundzahl dieser Kennzahl hat sich geändert; Werte vor und ab " (y) " sind nicht vergleichbar." }
        }
    }
}

/// Why statistics of the figure are withheld, one note per reason.
fn withheld_notes(k: &FigureReport) -> Markup {
    let mut notes: Vec<String> = Vec::new();
    for (what, g) in [
        ("Größenklasse", k.size_class.as_ref()),
        ("Alle Mitglieder", k.all.as_ref()),
    ] {
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
    html! {
        @if !notes.is_empty() {
            ul class="withheld" {
                @for n in &notes { li { (Esc(n)) } }
            }
        }
    }
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

fn method_section(report: &Report) -> Markup {
    html! {
        section class="method" id="methode" aria-labelledby="methode-h" {
            h2 id="methode-h" { "Methode" }
            h3 { "Vergleichsgruppen" }
            p { "Die Größenklasse richtet sich nach der Einwohnerzahl, die Sie für die Sparte gemeldet haben, und nach der Art der Gebietskörperschaft. Gezählt sind die Mitglieder mit Werten für das Berichtsjahr." }
            (groups_table(report))
            h3 { "Statistik" }
            p { (Esc(report.method.quantiles)) }
            p { "Der Rang zählt ab 1 für den günstigsten Wert (bei Kennzahlen ohne Wertung ab dem höchsten Wert); der Perzentilrang gibt an, welcher Anteil der Gruppe einen niedrigeren Wert hat (Gleichstände zur Hälfte)." }
            @if let Some(noise) = report.method.noise {
                h3 id="unschaerfe" { "Unschärfe" }
                p { (Esc(noise)) }
                p { "Geringe Unschärfe: der Wert wurde um weniger als 2 % verschoben; mittlere: 2 bis unter 5 %; starke: 5 % und mehr. Median, Quartile, Standardabweichung und Position tragen die Stufe nach der Gruppengröße. Ihr eigener Wert ist immer genau." }
            }
            h3 { "Geheimhaltung" }
            p { "Vergleichswerte werden nur veröffentlicht, wenn die Gruppe groß genug ist und kein einzelnes Mitglied aus ihnen erkennbar wird. Zurückgehaltene Werte sind im Bericht mit einem dieser Gründe gekennzeichnet:" }
            ul {
                @for s in &report.method.suppression { li { (Esc(s.message_de)) } }
            }
            h3 { "Datenstand und Freigaben" }
            (sources(report))
        }
    }
}

/// The comparison groups of each domain and their sizes.
fn groups_table(report: &Report) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th scope="col" { "Sparte" }
                    th scope="col" { "Gruppe" }
                    th scope="col" class="num" { "Mitglieder" }
                }
            }
            tbody {
                @for g in &report.method.groups {
                    @let label = report
                        .domains
                        .iter()
                        .find(|d| d.domain == g.domain)
                        .map_or(g.domain.as_str(), |d| d.label.as_str());
                    @let group = if g.dimension == "all" {
                        "Alle Mitglieder".to_string()
                    } else {
                        format!("Größenklasse {}", g.group)
                    };
                    tr { td { (Esc(label)) } td { (Esc(&group)) } td class="num" { (g.members) } }
                }
            }
        }
    }
}

/// Where the comparisons come from: the publications, the data state
/// asked for, and the ring's frozen releases.
fn sources(report: &Report) -> Markup {
    html! {
        @if !report.publications.is_empty() {
            // Rule 9: the comparisons come from these publications.
            p { "Die Vergleichswerte stammen aus diesen Veröffentlichungen des Rings:" }
            // The id names domain, year and number; the time is in the
            // JSON and XLSX forms.
            ul {
                @for (domain, p) in &report.publications {
                    li { (Esc(domain)) ": " strong { (Esc(&p.id)) } }
                }
            }
        }
        @if let Some(as_of) = &report.as_of {
            p {
                "Dieser Bericht zeigt den Datenstand " strong { (Esc(as_of)) }
                "; spätere Korrekturen sind nicht enthalten."
            }
        }
        @if report.releases.is_empty() {
            p { "Der Ring hat noch keinen Datenstand eingefroren." }
        } @else {
            (releases_table(report))
        }
    }
}

/// The ring's frozen releases.
fn releases_table(report: &Report) -> Markup {
    let time = |t: &str| t.get(..19).unwrap_or(t).replace('T', " ");
    html! {
        table {
            thead {
                tr {
                    th scope="col" { "Freigabe" }
                    th scope="col" { "Sparte" }
                    th scope="col" class="num" { "Jahr" }
                    th scope="col" class="num" { "Datenstand" }
                    th scope="col" { "Eingefroren am" }
                    th scope="col" { "Wieder geöffnet am" }
                }
            }
            tbody {
                @for r in &report.releases {
                    tr {
                        td { (Esc(&r.id)) }
                        td { (Esc(&r.domain)) }
                        td class="num" { (r.year) }
                        td class="num" { (Esc(&r.data_version)) }
                        td { (Esc(&time(&r.frozen_at))) }
                        td { (Esc(&r.reopened_at.as_deref().map_or("–".to_string(), time))) }
                    }
                }
            }
        }
    }
}
