//! Text for people: German number formatting, and HTML escaping (the
//! function `escape`, and `Esc` for maud templates).

/// Formats a number the German way: `.` groups thousands, `,` separates the
/// decimals (`1.234,5`). Negative numbers keep an ASCII minus so that the
/// text can be copied into a spreadsheet.
pub fn de_number(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "–".to_string();
    }
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    // Rounding can turn a tiny negative number into zero; "-0" would read
    // as a sign error in a committee paper.
    let negative = x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push(',');
        out.push_str(f);
    }
    out
}

/// The number of decimals a value of this size is shown with: two below
/// 10, one above, so that ratios like 0,87 and amounts like 1.234,5 both
/// read naturally.
pub fn decimals_for(x: f64) -> usize {
    if x.abs() < 10.0 { 2 } else { 1 }
}

/// A value in German format with the decimals of its size.
pub fn de(x: f64) -> String {
    de_number(x, decimals_for(x))
}

/// An optional value; a missing one is a dash.
pub fn de_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), de)
}

/// Text in a maud template, escaped as [`escape`] escapes: maud's own
/// escaping leaves `'` as it is, and the reports have always written it
/// as `&#39;`.
pub struct Esc<'a>(pub &'a str);

impl maud::Render for Esc<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&escape(self.0));
    }
}

/// Escapes text for HTML and XML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn german_numbers() {
        assert_eq!(de_number(1234.5, 1), "1.234,5");
        assert_eq!(de_number(1234567.891, 2), "1.234.567,89");
        assert_eq!(de_number(-12.0, 0), "-12");
        assert_eq!(de_number(-0.001, 1), "0,0");
        assert_eq!(de_number(999.96, 1), "1.000,0");
        assert_eq!(de(0.873), "0,87");
        assert_eq!(de(42.0), "42,0");
        assert_eq!(de_opt(None), "–");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    proptest! {
        /// Reading the German text back (dropping `.`, `,` → `.`) gives the
        /// value rounded to the shown decimals.
        #[test]
        fn round_trips(x in -1.0e9f64..1.0e9, d in 0usize..4) {
            let text = de_number(x, d);
            let back: f64 = text.replace('.', "").replace(',', ".").parse().unwrap();
            let expected: f64 = format!("{:.*}", d, x).parse().unwrap();
            prop_assert!((back - expected).abs() < 1e-9, "{x} → {text}");
            let int = text.trim_start_matches('-').split(',').next().unwrap();
            for group in int.split('.').skip(1) {
                prop_assert_eq!(group.len(), 3);
            }
        }
    }
}
