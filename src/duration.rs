//! The duration grammar shared by `--timeout`, `--grace`, `--idle-timeout`, `--retry-delay`,
//! `--heartbeat` and the GNU operand form.
//!
//! Accepted, in order of precedence:
//! 1. a number as GNU `timeout` reads it (decimal, exponent, hexadecimal float, `inf`), optionally
//!    followed by one GNU suffix `s`, `m`, `h` or `d`: `10`, `0.5`, `1e-3`, `0x0.1d`, `1.5m`;
//! 2. anything humantime understands: `250ms`, `1m30s`, `2h 5m`.
//!
//! Values too large to represent saturate to [`MAX`] ("no practical limit"); a positive value too
//! small to represent becomes one nanosecond, so it never turns into zero ("no timeout").

use std::fmt;
use std::time::Duration;

/// The longest duration timeout-run handles: about 34,000 years. Larger values saturate here so
/// that adding them to a clock reading can never overflow.
pub const MAX: Duration = Duration::from_secs(1 << 40);

/// A value that is not a duration. Displays as GNU's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDuration(pub String);

impl fmt::Display for InvalidDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid time interval '{}'", self.0)
    }
}

impl std::error::Error for InvalidDuration {}

/// Parses a duration by the grammar above.
pub fn parse(text: &str) -> Result<Duration, InvalidDuration> {
    let invalid = || InvalidDuration(text.to_owned());
    if text.is_empty() {
        return Err(invalid());
    }
    if let Some(seconds) = parse_gnu(text) {
        return from_secs_f64(seconds).ok_or_else(invalid);
    }
    // humantime accepts things GNU does not ("1 s" with inner spaces, "2h 5m") and rejects
    // signs, so anything it returns is a valid non-negative duration.
    match humantime::parse_duration(text) {
        Ok(d) => Ok(d.min(MAX)),
        Err(_) => Err(invalid()),
    }
}

/// Formats a duration for messages: `1m 30s`, `250ms`, `0s`; sub-millisecond precision is dropped
/// above one second so lines stay short.
pub fn display(d: Duration) -> String {
    if d >= MAX {
        return "forever".to_owned();
    }
    let rounded = if d >= Duration::from_secs(1) {
        Duration::from_millis(d.as_millis() as u64)
    } else {
        d
    };
    if rounded.is_zero() {
        return "0s".to_owned();
    }
    humantime::format_duration(rounded).to_string()
}

/// GNU's form: a floating-point number (as `strtod` reads it) and an optional one-letter unit.
/// Returns seconds, or `None` when the text is not of this form.
fn parse_gnu(text: &str) -> Option<f64> {
    let (number, multiplier) = match text.as_bytes()[text.len() - 1] {
        b's' => (&text[..text.len() - 1], 1.0),
        b'm' => (&text[..text.len() - 1], 60.0),
        b'h' => (&text[..text.len() - 1], 3600.0),
        b'd' => (&text[..text.len() - 1], 86400.0),
        _ => (text, 1.0),
    };
    let value = parse_number(number)?;
    Some(value * multiplier)
}

/// A number as C's `strtod` reads it, without leading white space: optional sign, then decimal
/// (with optional exponent), hexadecimal float (`0x1.8p3`), `inf`/`infinity` or `nan`.
fn parse_number(text: &str) -> Option<f64> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        parse_hex_float(hex)?
    } else {
        let lower = unsigned.to_ascii_lowercase();
        match lower.as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            // Rust's float grammar is strtod's decimal grammar, minus the special words handled
            // above; reject what Rust accepts beyond it.
            _ if lower.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                && lower
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"._e+-".contains(&b))
                && lower.bytes().any(|b| b.is_ascii_digit())
                && !lower.contains('_') =>
            {
                unsigned.parse::<f64>().ok()?
            }
            _ => return None,
        }
    };
    // A value below the smallest f64 (`1e-400`, `0x1p-2000`) reads as 0, which would mean "no
    // timeout": keep it positive, as written.
    let mantissa = unsigned.split(['e', 'E', 'p', 'P']).next().unwrap_or("");
    let digits = mantissa
        .strip_prefix("0x")
        .or_else(|| mantissa.strip_prefix("0X"))
        .unwrap_or(mantissa);
    let magnitude =
        if magnitude == 0.0 && digits.bytes().any(|b| b.is_ascii_hexdigit() && b != b'0') {
            f64::MIN_POSITIVE
        } else {
            magnitude
        };
    Some(if negative { -magnitude } else { magnitude })
}

/// The part of a C hexadecimal float after `0x`: hex digits with an optional point, then an
/// optional binary exponent `p[+-]N`.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = match text.find(['p', 'P']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

/// Seconds as a `Duration`, by the saturation rules of the module doc. `None` for negative or NaN.
fn from_secs_f64(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    if seconds == 0.0 {
        return Some(Duration::ZERO);
    }
    let d = Duration::try_from_secs_f64(seconds).unwrap_or(MAX).min(MAX);
    Some(if d.is_zero() {
        Duration::from_nanos(1)
    } else {
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(ok("10"), Duration::from_secs(10));
        assert_eq!(ok("0.5"), Duration::from_millis(500));
        assert_eq!(ok(".5"), Duration::from_millis(500));
        assert_eq!(ok("5."), Duration::from_secs(5));
        assert_eq!(ok("+3"), Duration::from_secs(3));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0"), Duration::ZERO);
    }

    #[test]
    fn exponent_and_hex_float() {
        assert_eq!(ok("1e-3"), Duration::from_millis(1));
        assert_eq!(ok("1E2"), Duration::from_secs(100));
        assert_eq!(ok("0x10"), Duration::from_secs(16));
        assert_eq!(ok("0x0.8"), Duration::from_millis(500));
        assert_eq!(ok("0x1p3"), Duration::from_secs(8));
        // 0x0.1 days = 1/16 day = 5400 s
        assert_eq!(ok("0x0.1d"), Duration::from_secs(5400));
    }

    #[test]
    fn gnu_suffixes_may_be_fractional() {
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("1.5m"), Duration::from_secs(90));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("0.5d"), Duration::from_secs(43200));
    }

    #[test]
    fn humantime_forms() {
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("2h 5m"), Duration::from_secs(7500));
        assert_eq!(ok("3us"), Duration::from_micros(3));
    }

    #[test]
    fn huge_values_saturate() {
        assert_eq!(ok("9223372036854775808d"), MAX);
        assert_eq!(ok("1e300"), MAX);
        assert_eq!(ok("inf"), MAX);
        assert_eq!(ok("infinity"), MAX);
        assert_eq!(ok("100000000000000h"), MAX);
    }

    #[test]
    fn tiny_positive_values_never_become_zero() {
        assert_eq!(ok("1e-100"), Duration::from_nanos(1));
        for underflow in [
            "1e-324",
            "1e-400",
            "0.5e-99999",
            "0x1p-2000",
            "0x0.01p-1100s",
        ] {
            assert_eq!(ok(underflow), Duration::from_nanos(1), "{underflow}");
        }
        assert_eq!(ok("0e-400"), Duration::ZERO);
        assert_eq!(ok("0x0p-2000"), Duration::ZERO);
        assert_eq!(ok("1e-10s"), Duration::from_nanos(1));
    }

    #[test]
    fn invalid_values_are_rejected_with_gnu_wording() {
        for bad in [
            "", "xyz", "10€", "'1", "-1", "-0.5", "nan", "NaN", "1x", "s", "1ss", "--1", "0x",
            "0xg", "1_000", " 1", "1 ", "-1s", "1.2.3",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid time interval '{bad}'"));
        }
    }

    #[test]
    fn display_is_short() {
        assert_eq!(display(Duration::from_secs(90)), "1m 30s");
        assert_eq!(display(Duration::from_millis(250)), "250ms");
        assert_eq!(display(Duration::ZERO), "0s");
        assert_eq!(display(MAX), "forever");
        assert_eq!(display(Duration::from_nanos(1_500_000_123)), "1s 500ms");
    }
}
