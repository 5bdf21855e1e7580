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
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(d.min(MAX));
    }
    // As GNU does: a number written with the locale's decimal point (`1,5` in a French locale).
    // Only asked for when everything else failed, so the common path never loads a locale.
    if let Some(seconds) = locale_decimal_point().and_then(|point| parse_localized(text, point)) {
        return from_secs_f64(seconds).ok_or_else(invalid);
    }
    Err(invalid())
}

/// GNU's form with `point` as the decimal point instead of `.` (which is then not accepted).
fn parse_localized(text: &str, point: char) -> Option<f64> {
    if point == '.' || !text.contains(point) || text.contains('.') {
        return None;
    }
    parse_gnu(&text.replacen(point, ".", 1))
}

/// Formats a duration for messages as a person would write it: `4m 59s`, `2.5s`, `250ms`,
/// `1h 5m`, `2d 3h`; at most two units, the smaller one rounded down. [`MAX`] reads `no limit`.
pub fn display(d: Duration) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    if d >= MAX {
        return "no limit".to_owned();
    }
    let secs = d.as_secs();
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit} {small}{small_unit}")
        }
    };
    if secs >= DAY {
        two(secs / DAY, "d", secs % DAY / HOUR, "h")
    } else if secs >= HOUR {
        two(secs / HOUR, "h", secs % HOUR / MINUTE, "m")
    } else if secs >= MINUTE {
        two(secs / MINUTE, "m", secs % MINUTE, "s")
    } else if secs >= 10 {
        format!("{secs}s")
    } else if secs >= 1 {
        // One decimal, rounded down: 2.5s, 9.9s, 3s.
        let tenths = d.as_millis() / 100;
        if tenths.is_multiple_of(10) {
            format!("{secs}s")
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        }
    } else if d.as_millis() >= 1 {
        format!("{}ms", d.as_millis())
    } else if d.as_micros() >= 1 {
        format!("{}us", d.as_micros())
    } else if d.is_zero() {
        "0s".to_owned()
    } else {
        format!("{}ns", d.as_nanos())
    }
}

/// GNU's form, as `timeout` reads it with `strtod`: leading white space, a floating-point
/// number, then nothing or one unit letter `s`, `m`, `h`, `d`. The number is read greedily, so
/// a hexadecimal float takes every hex digit: in `0x0.1d` the `d` is a digit, not "days".
/// Returns seconds, or `None` when the text is not of this form.
fn parse_gnu(text: &str) -> Option<f64> {
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (value, used) = scan_number(trimmed)?;
    let multiplier = match &trimmed[used..] {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    Some(value * multiplier)
}

/// The longest prefix of `text` that C's `strtod` reads as a number (without leading white
/// space), and its length: optional sign, then a decimal number with optional exponent, a
/// hexadecimal float (`0x1.8p3`), `inf`/`infinity` or `nan`.
fn scan_number(text: &str) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = match bytes.first()? {
        b'+' => {
            i = 1;
            false
        }
        b'-' => {
            i = 1;
            true
        }
        _ => false,
    };
    let rest = &text[i..];
    let lower = rest.get(..8.min(rest.len()))?.to_ascii_lowercase();
    let (magnitude, used) = if lower.starts_with("infinity") {
        (f64::INFINITY, 8)
    } else if lower.starts_with("inf") {
        (f64::INFINITY, 3)
    } else if lower.starts_with("nan") {
        (f64::NAN, 3)
    } else if (lower.starts_with("0x")) && hex_digits(&rest[2..]) > 0 {
        scan_hex(&rest[2..]).map(|(v, n)| (v, n + 2))?
    } else {
        scan_decimal(rest)?
    };
    let magnitude = if negative { -magnitude } else { magnitude };
    Some((magnitude, i + used))
}

/// How many hex digits (with at most one point among them) `text` starts with.
fn hex_digits(text: &str) -> usize {
    let (int, frac) = split_digits(text, |b| b.is_ascii_hexdigit());
    int + frac
}

/// Lengths of the digit run before a point and of the one after it (0 when there is no point).
fn split_digits(text: &str, digit: impl Fn(u8) -> bool) -> (usize, usize) {
    let bytes = text.as_bytes();
    let int = bytes.iter().take_while(|b| digit(**b)).count();
    let frac = if bytes.get(int) == Some(&b'.') {
        bytes[int + 1..].iter().take_while(|b| digit(**b)).count()
    } else {
        0
    };
    (int, frac)
}

/// `[digits][.digits][e[+-]digits]` with at least one digit in the mantissa.
fn scan_decimal(text: &str) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let (int, frac) = split_digits(text, |b| b.is_ascii_digit());
    if int + frac == 0 {
        return None;
    }
    let mut used = int;
    if bytes.get(int) == Some(&b'.') {
        used += 1 + frac;
    }
    let mantissa_end = used;
    used += exponent_len(&bytes[used..], b'e');
    let value: f64 = text[..used].parse().ok()?;
    // A value below the smallest f64 (`1e-400`) reads as 0, which would mean "no timeout":
    // keep it positive, as written.
    let nonzero = text[..mantissa_end]
        .bytes()
        .any(|b| b.is_ascii_digit() && b != b'0');
    Some((keep_positive(value, nonzero), used))
}

/// The part of a C hexadecimal float after `0x`: hex digits with an optional point, then an
/// optional binary exponent `p[+-]N`.
fn scan_hex(text: &str) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let (int, frac) = split_digits(text, |b| b.is_ascii_hexdigit());
    let mut value = 0f64;
    for b in &bytes[..int] {
        value = value * 16.0 + f64::from(char::from(*b).to_digit(16)?);
    }
    let mut used = int;
    if bytes.get(int) == Some(&b'.') {
        let mut scale = 1.0 / 16.0;
        for b in &bytes[int + 1..int + 1 + frac] {
            value += f64::from(char::from(*b).to_digit(16)?) * scale;
            scale /= 16.0;
        }
        used += 1 + frac;
    }
    let nonzero = text[..used]
        .bytes()
        .any(|b| b.is_ascii_hexdigit() && b != b'0');
    let exp_len = exponent_len(&bytes[used..], b'p');
    if exp_len > 0 {
        let exponent: i64 = text[used + 1..used + exp_len].parse().ok()?;
        let exponent = i32::try_from(exponent.clamp(-100_000, 100_000)).ok()?;
        value *= 2f64.powi(exponent);
        used += exp_len;
    }
    Some((keep_positive(value, nonzero), used))
}

/// Length of an exponent part (`e-3`, `p+4`) at the start of `bytes`, or 0 when there is none
/// (strtod then stops before the letter).
fn exponent_len(bytes: &[u8], letter: u8) -> usize {
    if bytes
        .first()
        .is_none_or(|b| b.to_ascii_lowercase() != letter)
    {
        return 0;
    }
    let sign = usize::from(matches!(bytes.get(1), Some(b'+' | b'-')));
    let digits = bytes[1 + sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 { 0 } else { 1 + sign + digits }
}

/// An underflow to zero of a number whose digits are not all zero becomes the smallest positive
/// value.
fn keep_positive(value: f64, nonzero_digits: bool) -> f64 {
    if value == 0.0 && nonzero_digits {
        f64::MIN_POSITIVE
    } else {
        value
    }
}

/// The decimal point of the user's numeric locale (`LC_ALL`, `LC_NUMERIC`, `LANG`), when that
/// locale is installed.
fn locale_decimal_point() -> Option<char> {
    // SAFETY: timeout-run is single-threaded when it parses its arguments; setlocale with an
    // empty name selects the environment's locale, and localeconv returns a pointer to static
    // data that stays valid until the next setlocale, which is restored to "C" after copying.
    unsafe {
        libc::setlocale(libc::LC_NUMERIC, c"".as_ptr()).as_ref()?;
        let conv = libc::localeconv();
        let point = conv
            .as_ref()
            .and_then(|c| c.decimal_point.as_ref())
            .map(|p| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned());
        libc::setlocale(libc::LC_NUMERIC, c"C".as_ptr());
        point?.chars().next()
    }
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
        // strtod takes every hex digit: the `d` is a digit (0x0.1D = 29/256 s), not "days".
        assert_eq!(ok("0x0.1d"), Duration::from_nanos(113_281_250));
        assert_eq!(ok("0x1d"), Duration::from_secs(29));
        assert_eq!(ok("0x0.18"), Duration::from_nanos(93_750_000));
        // After the digits, a unit letter that is not a hex digit is still a unit.
        assert_eq!(ok("0x1h"), Duration::from_secs(3600));
        assert_eq!(ok("0x1m"), Duration::from_secs(60));
        assert_eq!(ok("0x1p1s"), Duration::from_secs(2));
        // An exponent then a unit.
        assert_eq!(ok("1e1m"), Duration::from_secs(600));
        assert_eq!(ok("1e+1s"), Duration::from_secs(10));
    }

    #[test]
    fn the_locales_decimal_point_replaces_the_dot() {
        assert_eq!(parse_localized("1,5", ','), Some(1.5));
        assert_eq!(parse_localized("1,5m", ','), Some(90.0));
        assert_eq!(parse_localized("1.5", ','), None);
        assert_eq!(parse_localized("1,5.0", ','), None);
        assert_eq!(parse_localized("1,5", '.'), None);
        assert_eq!(parse_localized("1,2,3", ','), None);
    }

    #[test]
    fn leading_white_space_is_skipped_as_strtod_does() {
        assert_eq!(ok(" 1"), Duration::from_secs(1));
        assert_eq!(ok("\t2m"), Duration::from_secs(120));
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
            "0xg", "1_000", "1 ", "-1s", "1.2.3", "1e", "0x.", "1,5", " ",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("invalid time interval '{bad}'"));
        }
    }

    #[test]
    fn display_reads_like_a_person_wrote_it() {
        let ms = Duration::from_millis;
        assert_eq!(display(Duration::from_secs(90)), "1m 30s");
        assert_eq!(display(ms(299_886)), "4m 59s");
        assert_eq!(display(Duration::from_secs(60)), "1m");
        assert_eq!(display(ms(2_500)), "2.5s");
        assert_eq!(display(ms(2_999)), "2.9s");
        assert_eq!(display(ms(3_000)), "3s");
        assert_eq!(display(ms(10_400)), "10s");
        assert_eq!(display(ms(250)), "250ms");
        assert_eq!(display(Duration::from_nanos(499_886_731)), "499ms");
        assert_eq!(display(Duration::from_micros(3)), "3us");
        assert_eq!(display(Duration::ZERO), "0s");
        assert_eq!(display(Duration::from_secs(3_900)), "1h 5m");
        assert_eq!(display(Duration::from_secs(7_200)), "2h");
        assert_eq!(
            display(Duration::from_secs(2 * 86_400 + 3 * 3_600 + 5)),
            "2d 3h"
        );
        assert_eq!(display(MAX), "no limit");
        assert_eq!(display(Duration::from_nanos(1_500_000_123)), "1.5s");
    }
}
