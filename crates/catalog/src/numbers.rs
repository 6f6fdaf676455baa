//! Numbers as German readers write them: `.` groups thousands, `,`
//! separates the decimals (`117.286`, `1.234,5`). One home for every text
//! that shows a number to people: warnings, mails, pages and reports.

/// Formats a number with `decimals` places the German way (`1.234,5`).
/// Negative numbers keep an ASCII minus so that the text can be copied
/// into a spreadsheet; a value that is not finite is a dash.
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

/// The number of decimals a statistic of this size is shown with: two
/// below 10, one above, so that ratios like 0,87 and amounts like 1.234,5
/// both read naturally.
pub fn decimals_for(x: f64) -> usize {
    if x.abs() < 10.0 { 2 } else { 1 }
}

/// A statistic in German format with the decimals of its size.
pub fn de(x: f64) -> String {
    de_number(x, decimals_for(x))
}

/// An optional statistic; a missing one is a dash.
pub fn de_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), de)
}

/// A figure as it was entered, in German format, with exactly the
/// decimals it has: `117286` → `117.286`, `1234.5` → `1.234,5`,
/// `12.3456789` → `12,3456789`. For the values a member typed, which must
/// read back as typed: the shortest text that reads back as the same
/// number, never rounded.
pub fn de_exact(x: f64) -> String {
    if !x.is_finite() {
        return "–".to_string();
    }
    // Rust writes the shortest round-trip text, never with an exponent.
    let shortest = format!("{}", x.abs());
    let (int, frac) = match shortest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (shortest.as_str(), None),
    };
    let mut out = String::with_capacity(shortest.len() + int.len() / 3 + 1);
    if x < 0.0 && shortest.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push(',');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn figures_read_back_as_typed() {
        assert_eq!(de_exact(117286.0), "117.286");
        assert_eq!(de_exact(163757.0), "163.757");
        assert_eq!(de_exact(1234.5), "1.234,5");
        assert_eq!(de_exact(0.25), "0,25");
        assert_eq!(de_exact(-1500.75), "-1.500,75");
        assert_eq!(de_exact(12.3456789), "12,3456789");
        assert_eq!(de_exact(0.0000004), "0,0000004");
        assert_eq!(de_exact(1e15), "1.000.000.000.000.000");
        assert_eq!(de_exact(f64::NAN), "–");
    }

    proptest::proptest! {
        /// Whatever the value, the German text read back the German way
        /// (dots dropped, comma as the point) is exactly the value.
        #[test]
        fn exact_reads_back(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let text = de_exact(x);
            let back: f64 = text.replace('.', "").replace(',', ".").parse().unwrap_or(f64::NAN);
            proptest::prop_assert_eq!(back, x, "{} → {}", x, text);
        }
    }
}
