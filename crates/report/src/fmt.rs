//! Text for people: German number formatting (from the catalogue's
//! `numbers`, the one home of it), and HTML escaping (the function
//! `escape`, and `Esc` for maud templates).

pub use vergleichsring_catalog::numbers::{de, de_number, de_opt, decimals_for};

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
