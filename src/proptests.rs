//! Property tests of the parsers and the command line: no input makes them panic, and what
//! they print they read back. Run longer with `PROPTEST_CASES=100000 cargo test --release
//! proptests` (the default, 256 cases per property, is what `cargo test` runs).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use proptest::prelude::*;

use crate::cli::Cli;
use crate::clock;
use crate::config::Config;
use crate::duration;
use crate::signal::Signal;

/// Text that looks like the duration grammar: digits, points, exponents, hex, suffixes and
/// units, signs, spaces, and some arbitrary characters.
fn duration_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,25}",
        Just(".".to_owned()),
        Just("e".to_owned()),
        Just("e-".to_owned()),
        Just("0x".to_owned()),
        "[0-9a-fA-F.pP+-]{1,6}",
        prop::sample::select(vec![
            "s", "m", "h", "d", "ms", "us", "ns", "min", "sec", " ", "inf", "nan", "-", "+", "€",
        ])
        .prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

/// Text that looks like a signal name.
fn signal_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "SIG", "sig", "RTMIN", "RTMAX", "rtmin", "TERM", "KILL", "USR1", "+", "-", "CLD", "0",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..4).prop_map(|parts| parts.concat())
}

/// Arguments mixing real options, values of every kind, `--`, and arbitrary bytes.
fn argument() -> impl Strategy<Value = OsString> {
    prop_oneof![
        prop::sample::select(vec![
            "-t",
            "--timeout",
            "--deadline",
            "-s",
            "--signal",
            "-g",
            "-k",
            "--grace",
            "--kill-after",
            "--no-kill",
            "-p",
            "--preserve-status",
            "-f",
            "--foreground",
            "--verbose",
            "--leftovers",
            "kill",
            "wait",
            "keep",
            "--idle-timeout",
            "--retries",
            "--retry-delay",
            "--retry-on",
            "timeout",
            "error",
            "any",
            "--heartbeat",
            "--report",
            "-",
            "-v",
            "-vv",
            "-q",
            "--contain",
            "cgroup",
            "group",
            "auto",
            "--",
            "-h",
            "-V",
            "5",
            "0",
            "1e-100",
            "2026-11-22T18:00:00Z",
            "TERM",
            "true",
            "sleep",
        ])
        .prop_map(OsString::from),
        duration_like().prop_map(OsString::from),
        prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|b| OsString::from_vec(b.into_iter().filter(|&c| c != 0).collect())),
    ]
}

proptest! {
    #[test]
    fn duration_parse_never_panics(text in duration_like()) {
        if let Ok(d) = duration::parse(&text) {
            prop_assert!(d <= duration::MAX);
        }
    }

    #[test]
    fn duration_parse_never_panics_on_any_string(text in any::<String>()) {
        let _ = duration::parse(&text);
    }

    #[test]
    fn decimal_seconds_round_trip(secs in 0u64..(1 << 40), nanos in 0u32..1_000_000_000) {
        let d = Duration::new(secs, nanos);
        let text = format!("{secs}.{nanos:09}");
        let parsed = duration::parse(&text).expect("decimal seconds parse");
        // Through f64: exact to the nanosecond for small values, to 53 bits of precision
        // for large ones.
        let tolerance = Duration::from_secs_f64(d.as_secs_f64() * 1e-15).max(Duration::from_nanos(1));
        prop_assert!(parsed.abs_diff(d) <= tolerance, "{text} -> {parsed:?}");
        prop_assert_eq!(parsed.is_zero(), d.is_zero());
    }

    #[test]
    fn positive_values_never_become_zero(mantissa in 1u32..10, exponent in -400i32..-9) {
        let text = format!("{mantissa}e{exponent}");
        prop_assert_eq!(duration::parse(&text), Ok(Duration::from_nanos(1)));
    }

    #[test]
    fn suffixes_multiply(n in 0u32..100_000, suffix in prop::sample::select(vec![("s", 1u64), ("m", 60), ("h", 3600), ("d", 86400)])) {
        let (unit, factor) = suffix;
        prop_assert_eq!(
            duration::parse(&format!("{n}{unit}")),
            Ok(Duration::from_secs(u64::from(n) * factor))
        );
    }

    #[test]
    fn displayed_durations_read_back(millis in 0u64..(1 << 45)) {
        // display() rounds down to its smaller unit: what it prints parses back to at most the
        // value, and within that unit of it (a tenth of a second, a second, a minute, an hour).
        let d = Duration::from_millis(millis).min(duration::MAX - Duration::from_secs(1));
        let shown = duration::display(d);
        let back = duration::parse(&shown).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let unit = match d.as_secs() {
            0 => Duration::from_millis(1),
            1..10 => Duration::from_millis(100),
            10..3_600 => Duration::from_secs(1),
            3_600..86_400 => Duration::from_secs(60),
            _ => Duration::from_secs(3_600),
        };
        prop_assert!(back <= d && d - back < unit, "{:?} shown as {} reads {:?}", d, shown, back);
    }

    #[test]
    fn signal_parse_never_panics(text in signal_like()) {
        if let Ok(signal) = text.parse::<Signal>() {
            prop_assert!(signal.raw() >= 0);
        }
    }

    #[test]
    fn signal_parse_never_panics_on_any_string(text in any::<String>()) {
        let _ = text.parse::<Signal>();
    }

    #[test]
    fn signal_names_and_numbers_read_back(number in 0i32..=Signal::max_raw()) {
        let Some(signal) = Signal::from_raw(number) else {
            return Err(TestCaseError::fail(format!("{number} is a signal")));
        };
        // glibc reserves the first real-time signals for itself: they have numbers, no names,
        // and GNU timeout refuses them as it does here.
        if !signal.is_named() {
            prop_assert!(number.to_string().parse::<Signal>().is_err(), "{}", number);
            return Ok(());
        }
        prop_assert_eq!(number.to_string().parse::<Signal>(), Ok(signal));
        let canonical = signal.to_string();
        prop_assert_eq!(canonical.parse::<Signal>(), Ok(signal), "{}", canonical);
        prop_assert_eq!(canonical.to_lowercase().parse::<Signal>(), Ok(signal), "{}", canonical);
        prop_assert_eq!(signal.short_name().parse::<Signal>(), Ok(signal));
    }

    #[test]
    fn rfc3339_never_panics(text in any::<String>()) {
        let _ = clock::parse_rfc3339(&text);
    }

    #[test]
    fn rfc3339_round_trips(secs in 0u64..253_402_300_799, micros in 0u32..1_000_000) {
        let t = UNIX_EPOCH + Duration::new(secs, micros * 1000);
        prop_assert_eq!(clock::parse_rfc3339(&clock::rfc3339(t)), Some(t));
    }

    #[test]
    fn unix_seconds_round_trip(secs in 0u64..(1 << 40), nanos in 0u32..1_000_000_000) {
        let t = UNIX_EPOCH + Duration::new(secs, nanos);
        prop_assert_eq!(clock::parse_unix_seconds(&clock::unix_seconds_string(t)), Some(t));
    }

    #[test]
    fn unix_seconds_never_panics(text in any::<String>()) {
        let _ = clock::parse_unix_seconds(&text);
    }

    #[test]
    fn operands_only_parse_as_clap_parses_them(
        first in argument().prop_filter("not an option", |a| !a.as_bytes().starts_with(b"-")),
        rest in prop::collection::vec(argument(), 0..8),
    ) {
        let argv: Vec<OsString> = [OsString::from("timeout-run"), first]
            .into_iter()
            .chain(rest)
            .collect();
        let fast = Cli::parse_from(argv.clone());
        let clap = Cli::try_parse_from(argv);
        prop_assert_eq!(fast.ok(), clap.ok());
    }

    #[test]
    fn parsing_without_clap_agrees_with_clap(args in prop::collection::vec(argument(), 0..10)) {
        let argv: Vec<OsString> = std::iter::once(OsString::from("timeout-run")).chain(args).collect();
        let fast = Cli::parse_from(argv.clone());
        let clap = Cli::try_parse_from(argv);
        prop_assert_eq!(fast.ok(), clap.ok());
    }

    #[test]
    fn command_line_never_panics(args in prop::collection::vec(argument(), 0..8)) {
        let argv = std::iter::once(OsString::from("timeout-run")).chain(args);
        if let Ok(cli) = Cli::try_parse_from(argv) {
            let now = SystemTime::now();
            if let Ok(config) = Config::from_cli(cli, Some(now)) {
                prop_assert!(!config.command.is_empty());
            }
        }
    }
}
