//! Charts as inline SVG, drawn on the server so that a report needs no
//! script and prints as it shows. Every chart has a `<title>` and a
//! `<desc>` that says in words what it shows, and nothing is told by colour
//! alone: the member's own value is a labelled diamond or a hatched,
//! labelled bar; the median is dashed with square markers, the member's
//! line solid with round markers.
//!
//! Elements carry classes (`bar`, `bar own`, `point own`, `point median`)
//! so that tests can count what was drawn.

use std::fmt::Write;

use vergleichsring_engine::compare::{GroupResult, Point};

use crate::fmt::{de, escape};

const WIDTH: f64 = 640.0;
const LEFT: f64 = 12.0;
const RIGHT: f64 = 24.0;
const OWN: &str = "#1d3f74";
const GREY: &str = "#9aa3ad";
const BAND: &str = "#d5dde6";

/// A linear map from values to x or y pixels.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Scale {
    /// A scale over the values with 5 % room on each side; a single value
    /// gets a range around it.
    fn over(values: impl IntoIterator<Item = f64>, from: f64, to: f64) -> Option<Scale> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            return None;
        }
        if hi - lo < 1e-9 {
            let pad = if lo.abs() > 1e-9 { lo.abs() * 0.1 } else { 1.0 };
            lo -= pad;
            hi += pad;
        }
        let pad = (hi - lo) * 0.05;
        // Ratios that cannot be negative should not get a negative axis.
        let lo = if lo >= 0.0 {
            (lo - pad).max(0.0)
        } else {
            lo - pad
        };
        Some(Scale {
            lo,
            hi: hi + pad,
            from,
            to,
        })
    }

    fn map(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    /// About `n` round tick values inside the scale.
    fn ticks(&self, n: usize) -> Vec<f64> {
        let span = self.hi - self.lo;
        let raw = span / n.max(1) as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let mut out = Vec::new();
        let mut t = (self.lo / step).ceil() * step;
        while t <= self.hi + 1e-9 && out.len() < 20 {
            out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
            t += step;
        }
        out
    }
}

fn open(out: &mut String, id: &str, height: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(title),
        escape(desc)
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
        escape(s)
    );
}

fn x_axis(out: &mut String, scale: &Scale, y: f64) {
    let _ = write!(
        out,
        r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{GREY}" stroke-width="1"/>"#,
        scale.from, scale.to
    );
    for t in scale.ticks(5) {
        let x = scale.map(t);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="{GREY}" stroke-width="1"/>"#,
            y + 4.0
        );
        text(out, x, y + 16.0, "middle", "tick", &de(t));
    }
}

/// Closes a chart that has no values, with a note saying so.
fn nothing_to_draw(mut out: String, height: f64) -> String {
    text(
        &mut out,
        WIDTH / 2.0,
        height / 2.0,
        "middle",
        "note",
        "Keine Werte zum Zeichnen",
    );
    out.push_str("</svg>");
    out
}

fn diamond(out: &mut String, x: f64, y: f64, r: f64) {
    let _ = write!(
        out,
        r#"<path class="own-marker" d="M{x:.1} {:.1} L{:.1} {y:.1} L{x:.1} {:.1} L{:.1} {y:.1} Z" fill="{OWN}" stroke="white" stroke-width="1.5"/>"#,
        y - r,
        x + r,
        y + r,
        x - r
    );
}

/// One row of a band chart: a peer group and its disclosed statistics.
pub struct BandRow<'a> {
    /// What the row is, e.g. "Größenklasse GK4".
    pub label: String,
    /// The group after disclosure control.
    pub group: Option<&'a GroupResult>,
}

/// A band chart: per group the middle half (p25–p75) as a box, p10–p90 as
/// whiskers where disclosed, the median as a thick line, and the member's
/// own value as a labelled diamond on every row.
pub fn band_chart(id: &str, figure: &str, own: Option<f64>, rows: &[BandRow<'_>]) -> String {
    let stats: Vec<_> = rows
        .iter()
        .filter_map(|r| r.group.and_then(|g| g.stats.as_ref()))
        .collect();
    let values = stats
        .iter()
        .flat_map(|s| [s.p10, s.p25, s.median, s.p75, s.p90])
        .flatten()
        .chain(own);
    let desc = band_desc(own, rows);
    // Each row's label stands above its band, so that long size-class
    // names never run into the chart.
    let row_h = 54.0;
    let top = 26.0;
    let height = top + row_h * rows.len() as f64 + 34.0;
    let mut out = String::new();
    open(
        &mut out,
        id,
        height,
        &format!("{figure}: Ihr Wert im Vergleich"),
        desc.trim_end(),
    );
    let Some(scale) = Scale::over(values, LEFT, WIDTH - RIGHT) else {
        return nothing_to_draw(out, height);
    };
    for (i, r) in rows.iter().enumerate() {
        let cy = top + row_h * i as f64 + row_h / 2.0 + 6.0;
        band_row(&mut out, &scale, r, cy);
        if let Some(v) = own {
            diamond(&mut out, scale.map(v), cy, 8.0);
        }
    }
    if let Some(v) = own {
        // The label is kept inside the chart even for extreme values.
        let x = scale.map(v).clamp(LEFT + 60.0, WIDTH - RIGHT - 60.0);
        text(
            &mut out,
            x,
            top - 10.0,
            "middle",
            "own-label",
            &format!("◆ Ihr Wert {}", de(v)),
        );
    }
    x_axis(&mut out, &scale, top + row_h * rows.len() as f64 + 8.0);
    out.push_str("</svg>");
    out
}

/// The words of a band chart: the own value and each group's median and
/// middle half.
fn band_desc(own: Option<f64>, rows: &[BandRow<'_>]) -> String {
    let mut desc = match own {
        Some(v) => format!("Ihr Wert: {}. ", de(v)),
        None => "Kein eigener Wert. ".to_string(),
    };
    for r in rows {
        let _ = write!(desc, "{}: ", r.label);
        match r.group.and_then(|g| g.stats.as_ref().map(|s| (g, s))) {
            Some((_, s)) => {
                let _ = write!(
                    desc,
                    "Median {}, mittlere Hälfte {} bis {}. ",
                    crate::fmt::de_opt(s.median),
                    crate::fmt::de_opt(s.p25),
                    crate::fmt::de_opt(s.p75)
                );
            }
            None => desc.push_str("zurückgehalten. "),
        }
    }
    desc
}

/// One row of a band chart at height `cy`: its label, whiskers, band and
/// median, or why they are withheld.
fn band_row(out: &mut String, scale: &Scale, r: &BandRow<'_>, cy: f64) {
    text(out, LEFT, cy - 17.0, "start", "row-label", &r.label);
    match r.group.and_then(|g| g.stats.as_ref()) {
        Some(s) => {
            if let (Some(a), Some(b)) = (s.p10, s.p90) {
                let _ = write!(
                    out,
                    r#"<line class="whisker" x1="{:.1}" y1="{cy:.1}" x2="{:.1}" y2="{cy:.1}" stroke="{GREY}" stroke-width="2"/>"#,
                    scale.map(a),
                    scale.map(b)
                );
            }
            if let (Some(a), Some(b)) = (s.p25, s.p75) {
                let _ = write!(
                    out,
                    r#"<rect class="band" x="{:.1}" y="{:.1}" width="{:.1}" height="20" fill="{BAND}" stroke="{GREY}"/>"#,
                    scale.map(a),
                    cy - 10.0,
                    (scale.map(b) - scale.map(a)).max(1.0)
                );
            }
            if let Some(m) = s.median {
                let x = scale.map(m);
                let _ = write!(
                    out,
                    r##"<line class="median" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333" stroke-width="3"/>"##,
                    cy - 13.0,
                    cy + 13.0
                );
            }
        }
        None => {
            let reason = r
                .group
                .and_then(|g| g.message_de)
                .unwrap_or("Keine Vergleichswerte.");
            text(
                out,
                LEFT,
                cy + 4.0,
                "start",
                "note",
                &format!("Vergleichswerte zurückgehalten: {reason}"),
            );
        }
    }
}

/// Horizontal grid lines with their values, from `left` to `right`.
fn y_grid(out: &mut String, y: &Scale, left: f64, right: f64) {
    for t in y.ticks(4) {
        let ty = y.map(t);
        let _ = write!(
            out,
            r##"<line x1="{left}" y1="{ty:.1}" x2="{right}" y2="{ty:.1}" stroke="#e3e7ec" stroke-width="1"/>"##
        );
        text(out, left - 6.0, ty + 4.0, "end", "tick", &de(t));
    }
}

/// Sorted anonymous bars (pseudonymous mode): one bar per member of the
/// group, the member's own bar hatched, dark and labelled.
pub fn bars_chart(id: &str, figure: &str, group_label: &str, values: &[f64], own: usize) -> String {
    let height = 190.0;
    let (top, bottom) = (24.0, height - 26.0);
    let mut out = String::new();
    open(
        &mut out,
        id,
        height,
        &format!("{figure}: Verteilung in der {group_label}"),
        &format!(
            "{} Mitglieder aufsteigend sortiert, ohne Namen, auf drei Stellen gerundet; Ihr Balken ist schraffiert und beschriftet (Platz {} von {}).",
            values.len(),
            own + 1,
            values.len()
        ),
    );
    let _ = write!(
        out,
        r#"<defs><pattern id="{id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="{OWN}"/><line x1="0" y1="0" x2="0" y2="6" stroke="white" stroke-width="2"/></pattern></defs>"#
    );
    let y = Scale::over(values.iter().copied().chain([0.0]), bottom, top);
    let Some(y) = y else {
        out.push_str("</svg>");
        return out;
    };
    let (left, right) = (56.0, WIDTH - RIGHT);
    let slot = (right - left) / values.len().max(1) as f64;
    let w = (slot * 0.8).max(1.0);
    y_grid(&mut out, &y, left, right);
    for (i, v) in values.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - w) / 2.0;
        let (y0, y1) = (y.map(0.0_f64.max(y.lo)), y.map(*v));
        let (yt, h) = (y1.min(y0), (y0 - y1).abs().max(0.5));
        if i == own {
            let _ = write!(
                out,
                r#"<rect class="bar own" x="{x:.1}" y="{yt:.1}" width="{w:.1}" height="{h:.1}" fill="url(#{id}-hatch)" stroke="{OWN}"><title>Ihr Wert: {}</title></rect>"#,
                de(*v)
            );
            // Near either end the label runs inwards, off the axis.
            let (lx, anchor) = if i < 2 {
                (x, "start")
            } else if i + 2 >= values.len() {
                (x + w, "end")
            } else {
                (x + w / 2.0, "middle")
            };
            text(&mut out, lx, yt - 6.0, anchor, "own-label", "▼ Ihr Wert");
        } else {
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x:.1}" y="{yt:.1}" width="{w:.1}" height="{h:.1}" fill="{GREY}"/>"#
            );
        }
    }
    let _ = write!(
        out,
        r#"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{GREY}" stroke-width="1"/>"#
    );
    text(
        &mut out,
        (left + right) / 2.0,
        height - 6.0,
        "middle",
        "tick",
        "Mitglieder der Gruppe, aufsteigend sortiert",
    );
    out.push_str("</svg>");
    out
}

/// A line chart over the years: the member's own value (solid, round
/// markers) against the group median (dashed, square markers) and the
/// p25–p75 band.
pub fn line_chart(id: &str, figure: &str, points: &[Point]) -> String {
    let height = 220.0;
    let (top, bottom) = (34.0, height - 30.0);
    let (left, right) = (56.0, WIDTH - RIGHT);
    let desc = line_desc(points);
    let mut out = String::new();
    open(
        &mut out,
        id,
        height,
        &format!("{figure}: Entwicklung über {} Jahre", points.len()),
        desc.trim_end(),
    );
    let values = points.iter().flat_map(|p| {
        let s = p.stats.as_ref();
        [
            p.own,
            s.and_then(|s| s.median),
            s.and_then(|s| s.p25),
            s.and_then(|s| s.p75),
        ]
        .into_iter()
        .flatten()
    });
    let (Some(y), Some(first), Some(last)) = (
        Scale::over(values, bottom, top),
        points.first(),
        points.last(),
    ) else {
        return nothing_to_draw(out, height);
    };
    let span = (last.year - first.year).max(1) as f64;
    let x = |year: i32| left + 20.0 + (year - first.year) as f64 / span * (right - left - 40.0);
    y_grid(&mut out, &y, left, right);
    line_band(&mut out, points, &x, &y);
    line_series(&mut out, points, &x, &y);
    for p in points {
        text(
            &mut out,
            x(p.year),
            bottom + 18.0,
            "middle",
            "tick",
            &p.year.to_string(),
        );
    }
    line_legend(&mut out, left);
    out.push_str("</svg>");
    out
}

/// The words of a line chart: per year the own value and the median.
fn line_desc(points: &[Point]) -> String {
    let mut desc = String::new();
    for p in points {
        let stats = p.stats.as_ref();
        let _ = write!(
            desc,
            "{}: Ihr Wert {}, Median {}. ",
            p.year,
            crate::fmt::de_opt(p.own),
            match stats.and_then(|s| s.median) {
                Some(m) => de(m),
                None if p.suppressed => "zurückgehalten".to_string(),
                None => "–".to_string(),
            }
        );
    }
    desc
}

/// The p25–p75 band of a line chart.
fn line_band(out: &mut String, points: &[Point], x: &dyn Fn(i32) -> f64, y: &Scale) {
    // The band is drawn per run of consecutive years with both quartiles,
    // so that a withheld year leaves a visible gap instead of a bridge.
    let band: Vec<Option<(i32, f64, f64)>> = points
        .iter()
        .map(|p| {
            let s = p.stats.as_ref()?;
            Some((p.year, s.p25?, s.p75?))
        })
        .collect();
    for run in band.split(Option::is_none) {
        let run: Vec<_> = run.iter().flatten().collect();
        if run.len() < 2 {
            continue;
        }
        let mut d = String::new();
        for (i, (yr, _, hi)) in run.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1} {:.1} ",
                if i == 0 { "M" } else { "L" },
                x(*yr),
                y.map(*hi)
            );
        }
        for (yr, lo, _) in run.iter().rev() {
            let _ = write!(d, "L{:.1} {:.1} ", x(*yr), y.map(*lo));
        }
        let _ = write!(
            out,
            r#"<path class="band" d="{}Z" fill="{BAND}" stroke="none"/>"#,
            d
        );
    }
}

/// The median's and the member's lines with their markers.
fn line_series(out: &mut String, points: &[Point], x: &dyn Fn(i32) -> f64, y: &Scale) {
    let series = |pick: &dyn Fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter_map(|p| pick(p).map(|v| (x(p.year), y.map(v))))
            .collect()
    };
    let median = series(&|p| p.stats.as_ref().and_then(|s| s.median));
    let own = series(&|p| p.own);
    let polyline = |pts: &[(f64, f64)], style: &str| -> String {
        if pts.len() < 2 {
            return String::new();
        }
        let coords: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        format!(
            r#"<polyline points="{}" fill="none" {style}/>"#,
            coords.join(" ")
        )
    };
    out.push_str(&polyline(
        &median,
        r##"stroke="#333" stroke-width="2" stroke-dasharray="6 4" class="line median""##,
    ));
    for (a, b) in &median {
        let _ = write!(
            out,
            r##"<rect class="point median" x="{:.1}" y="{:.1}" width="8" height="8" fill="white" stroke="#333" stroke-width="2"/>"##,
            a - 4.0,
            b - 4.0
        );
    }
    out.push_str(&polyline(
        &own,
        &format!(r#"stroke="{OWN}" stroke-width="3" class="line own""#),
    ));
    for (a, b) in &own {
        let _ = write!(
            out,
            r#"<circle class="point own" cx="{a:.1}" cy="{b:.1}" r="5" fill="{OWN}" stroke="white" stroke-width="1.5"/>"#
        );
    }
}

/// The legend of a line chart, which names each line by its shape.
fn line_legend(out: &mut String, left: f64) {
    // The legend names each line by its shape, not by its colour.
    let _ = write!(
        out,
        r#"<circle cx="{left}" cy="14" r="5" fill="{OWN}"/><line x1="{:.1}" y1="14" x2="{:.1}" y2="14" stroke="{OWN}" stroke-width="3"/>"#,
        left - 10.0,
        left + 10.0
    );
    text(out, left + 16.0, 18.0, "start", "legend", "Ihr Wert");
    let _ = write!(
        out,
        r##"<line x1="{:.1}" y1="14" x2="{:.1}" y2="14" stroke="#333" stroke-width="2" stroke-dasharray="6 4"/><rect x="{:.1}" y="10" width="8" height="8" fill="white" stroke="#333" stroke-width="2"/>"##,
        left + 96.0,
        left + 126.0,
        left + 107.0
    );
    text(
        out,
        left + 134.0,
        18.0,
        "start",
        "legend",
        "Median Größenklasse",
    );
    let _ = write!(
        out,
        r#"<rect x="{:.1}" y="8" width="24" height="12" fill="{BAND}"/>"#,
        left + 322.0
    );
    text(
        out,
        left + 352.0,
        18.0,
        "start",
        "legend",
        "mittlere Hälfte",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        let s = Scale::over([3.2, 17.9], 0.0, 100.0).unwrap();
        let t = s.ticks(5);
        assert!(t.len() >= 3, "{t:?}");
        for v in &t {
            assert!(*v >= s.lo - 1e-9 && *v <= s.hi + 1e-9);
            assert!(((v / 2.5).round() * 2.5 - v).abs() < 1e-9, "{v}");
        }
        assert!(Scale::over([f64::NAN], 0.0, 1.0).is_none());
        let one = Scale::over([5.0], 0.0, 100.0).unwrap();
        assert!(one.lo < 5.0 && one.hi > 5.0);
    }

    #[test]
    fn bars_mark_exactly_one_own_bar() {
        let svg = bars_chart("c1", "Besuche", "Größenklasse", &[1.0, 2.0, 3.0, 4.0], 2);
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3);
        assert_eq!(svg.matches(r#"class="bar own""#).count(), 1);
        assert!(svg.contains("<title id=\"c1-t\">"));
    }
}
