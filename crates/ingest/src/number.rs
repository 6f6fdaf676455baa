//! Reading a text cell of a CSV or XLSX upload as a number. Numbers as
//! spreadsheets write them: `1234.5`, `1,234.5`, `1.234,5`,
//! `1234,5`, `1 234,5`, `1e5`. Which character is the decimal separator
//! depends on the file (German Excel writes a decimal comma); a grouping
//! separator is accepted only in groups of three digits, so `1.5` is never
//! read as fifteen. `N` (known to exist, value unknown) is no value.

/// The decimal separator of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decimal {
    /// `1234.5`, with `,` grouping.
    Point,
    /// `1234,5`, with `.` grouping (German).
    Comma,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `int` is digits, optionally grouped by `sep` in groups of three.
fn grouped(int: &str, sep: char) -> Option<String> {
    if all_digits(int) {
        return Some(int.to_string());
    }
    let parts: Vec<&str> = int.split(sep).collect();
    let first_ok = parts.first().is_some_and(|p| all_digits(p) && p.len() <= 3);
    let rest_ok = parts[1..].iter().all(|p| p.len() == 3 && all_digits(p));
    (parts.len() > 1 && first_ok && rest_ok).then(|| parts.concat())
}

/// Whether a cell says "exists, but the value is not known": `N`, as the
/// Deutsche Bibliotheksstatistik writes it (`0` says "does not exist").
/// Such a cell is stored as no value, like an empty one.
pub fn is_unknown(text: &str) -> bool {
    text.trim().eq_ignore_ascii_case("n")
}

/// Parses a number a person typed into a form: German first (`1.234,5`,
/// `1234,5`, `1.234`), then with a decimal point (`1234.5`), as a text
/// cell of a spreadsheet is read. `None` for anything else.
pub fn parse_typed(text: &str) -> Option<f64> {
    parse(text, Decimal::Comma).or_else(|| parse(text, Decimal::Point))
}

/// Parses a cell; `None` for anything that is not a plain number.
pub(crate) fn parse(cell: &str, decimal: Decimal) -> Option<f64> {
    let s: String = cell
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, s.strip_prefix('+').unwrap_or(&s)),
    };
    if body.is_empty() {
        return None;
    }
    // Scientific notation, always with a decimal point.
    if let Some((mantissa, exp)) = body.split_once(['e', 'E']) {
        let exp_ok = all_digits(exp.trim_start_matches(['+', '-']));
        let m = mantissa.replace(',', ".");
        let m_ok = m
            .split_once('.')
            .map_or(all_digits(&m), |(a, b)| all_digits(a) && all_digits(b));
        if !(exp_ok && m_ok) {
            return None;
        }
        return format!("{m}e{exp}").parse::<f64>().ok().map(|v| sign * v);
    }
    let (dec, group) = match decimal {
        Decimal::Point => ('.', ','),
        Decimal::Comma => (',', '.'),
    };
    let (int, frac) = match body.rsplit_once(dec) {
        Some((i, f)) if all_digits(f) => (i, Some(f)),
        Some(_) => return None,
        None => (body, None),
    };
    let int_digits = if int.is_empty() && frac.is_some() {
        "0".to_string()
    } else {
        match grouped(int, group) {
            Some(d) => d,
            // In German files a single point with other than three digits
            // after it is a decimal point written the English way.
            None if decimal == Decimal::Comma && frac.is_none() => {
                let (i, f) = int.split_once('.')?;
                if all_digits(i) && all_digits(f) && f.len() != 3 {
                    return format!("{i}.{f}").parse::<f64>().ok().map(|v| sign * v);
                }
                return None;
            }
            None => return None,
        }
    };
    let text = match frac {
        Some(f) => format!("{int_digits}.{f}"),
        None => int_digits,
    };
    text.parse::<f64>().ok().map(|v| sign * v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn german_and_english_numbers() {
        use Decimal::*;
        assert_eq!(parse("1234,5", Comma), Some(1234.5));
        assert_eq!(parse("1.234,5", Comma), Some(1234.5));
        assert_eq!(parse("1.234.567", Comma), Some(1_234_567.0));
        assert_eq!(parse("1.234", Comma), Some(1234.0));
        assert_eq!(parse("1.5", Comma), Some(1.5));
        assert_eq!(parse(" 1 234,50 ", Comma), Some(1234.5));
        assert_eq!(parse("-3,25", Comma), Some(-3.25));
        assert_eq!(parse("1,234.5", Point), Some(1234.5));
        assert_eq!(parse("1234.5", Point), Some(1234.5));
        assert_eq!(parse("1,234", Point), Some(1234.0));
        assert_eq!(parse("1e5", Point), Some(100_000.0));
        assert_eq!(parse("2,5E3", Comma), Some(2500.0));
        assert_eq!(parse(",5", Comma), Some(0.5));
        for bad in [
            "", "-", "abc", "1,2,3", "12.34.5", "1..2", "NaN", "inf", "1,23.4", "12,34", "1.2.3,4",
        ] {
            assert_eq!(
                parse(bad, if bad == "12,34" { Point } else { Comma }),
                None,
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn formatted_numbers_read_back(int in 0u64..10_000_000_000, cents in 0u32..100) {
            let v = int as f64 + f64::from(cents) / 100.0;
            let plain = format!("{int}.{cents:02}");
            prop_assert_eq!(parse(&plain, Decimal::Point), Some(v));
            prop_assert_eq!(parse(&plain.replace('.', ","), Decimal::Comma), Some(v));
            // German grouping: 1.234.567,89
            let digits = int.to_string();
            let mut groups = Vec::new();
            let mut end = digits.len();
            while end > 3 {
                groups.push(&digits[end - 3..end]);
                end -= 3;
            }
            groups.push(&digits[..end]);
            groups.reverse();
            let german = format!("{},{cents:02}", groups.join("."));
            prop_assert_eq!(parse(&german, Decimal::Comma), Some(v));
            let english = format!("{}.{cents:02}", groups.join(","));
            prop_assert_eq!(parse(&english, Decimal::Point), Some(v));
        }
    }
}
