//! Time: the supervisor's clock (CLOCK_BOOTTIME on Linux, so deadlines count time the machine spent
//! suspended and ignore wall-clock changes), and wall-clock conversions for `--deadline`,
//! `TIMEOUT_RUN_DEADLINE` and the report.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::time::{ClockId, clock_gettime};

/// A reading of the supervisor's clock, as time since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

/// The clock the deadline timers run on.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const CLOCK: ClockId = ClockId::CLOCK_BOOTTIME;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const CLOCK: ClockId = ClockId::CLOCK_MONOTONIC;

impl Instant {
    /// Reads the clock.
    pub fn now() -> Instant {
        // clock_gettime on a clock the kernel always provides cannot fail.
        let ts = clock_gettime(CLOCK).unwrap_or_else(|_| nix::sys::time::TimeSpec::new(0, 0));
        Instant(Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32))
    }

    /// An instant at a given offset from the clock's origin (for tests).
    #[cfg(test)]
    pub fn from_origin(since_origin: Duration) -> Instant {
        Instant(since_origin)
    }

    /// Offset from the clock's origin, for arming an absolute timer.
    #[cfg_attr(
        not(target_os = "linux"),
        expect(
            dead_code,
            reason = "only Linux's timerfd is armed at an absolute time"
        )
    )]
    pub fn since_origin(self) -> Duration {
        self.0
    }

    /// `self + d`, saturating (durations are capped by `duration::MAX`, so this never saturates
    /// in practice).
    pub fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }

    /// Time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

/// A wall-clock time as Unix seconds with nanoseconds: `1763834400.250000000`.
pub fn unix_seconds_string(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", since.as_secs(), since.subsec_nanos())
}

/// Parses `TIMEOUT_RUN_DEADLINE`: Unix seconds, optionally with a fraction.
pub fn parse_unix_seconds(text: &str) -> Option<SystemTime> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let mut nanos = 0u32;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Formats a wall-clock time as RFC 3339 in UTC with microseconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; `t`, `z` and a space
/// separator are accepted as RFC 3339 allows.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // Second 60 is a leap second; Unix time folds it into the next second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in frac.bytes().take(digits.min(9)).enumerate() {
            nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let ob = rest.as_bytes();
            if ob.len() != 6 || ob[3] != b':' {
                return None;
            }
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            if !rest[1..3].bytes().all(|c| c.is_ascii_digit())
                || !rest[4..6].bytes().all(|c| c.is_ascii_digit())
                || oh > 23
                || om > 59
            {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
    if secs < 0 {
        return Some(UNIX_EPOCH);
    }
    UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos as u32))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> Option<u64> {
        parse_rfc3339(text).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn rfc3339_utc_and_offsets() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix("2026-11-22T18:00:00Z"), Some(1_795_370_400));
        assert_eq!(unix("2026-11-22T19:00:00+01:00"), Some(1_795_370_400));
        assert_eq!(unix("2026-11-22t17:30:00-00:30"), Some(1_795_370_400));
        assert_eq!(unix("2026-11-22 18:00:00z"), Some(1_795_370_400));
        assert_eq!(unix("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        let t = parse_rfc3339("2026-11-22T18:00:00.25Z").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().subsec_millis(), 250);
    }

    #[test]
    fn rfc3339_rejects_malformed() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T18:00:00",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T18:00:00+1:00",
            "2026-11-22T18:00:00.Z",
            "2026-11-22X18:00:00Z",
            "tomorrow",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn unix_seconds_round_trip() {
        let t = UNIX_EPOCH + Duration::new(1_795_370_400, 250_000_000);
        let s = unix_seconds_string(t);
        assert_eq!(s, "1795370400.250000000");
        assert_eq!(parse_unix_seconds(&s), Some(t));
        assert_eq!(
            parse_unix_seconds("12"),
            Some(UNIX_EPOCH + Duration::from_secs(12))
        );
        for bad in ["", "x", "-1", "1.2.3", "1e9", ".5"] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn boot_clock_moves_forward() {
        let a = Instant::now();
        let b = Instant::now();
        assert!(b >= a);
        assert_eq!(
            a.add(Duration::from_secs(1)).since(a),
            Duration::from_secs(1)
        );
        assert_eq!(a.since(a.add(Duration::from_secs(1))), Duration::ZERO);
    }
}
