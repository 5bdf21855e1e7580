//! Signal names and numbers: parsing (`TERM`, `SIGTERM`, `term`, `15`, `RTMIN+2`), canonical display
//! (`SIGTERM`, `SIGRTMIN+2`), and the short name GNU `timeout` prints (`TERM`).

use std::fmt;

/// A signal number, including real-time signals and `0` (the null signal, which sends nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

/// The classic signals by their name without the `SIG` prefix.
const NAMED: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("POLL", libc::SIGPOLL),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// A signal name or number that names no signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSignal(pub String);

impl fmt::Display for InvalidSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As GNU words it.
        write!(f, "'{}': invalid signal", self.0)
    }
}

impl std::error::Error for InvalidSignal {}

/// Lowest real-time signal usable by applications (the C library reserves the first few).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn rtmin() -> i32 {
    libc::SIGRTMIN()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn rtmax() -> i32 {
    libc::SIGRTMAX()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn rtmin() -> i32 {
    0
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn rtmax() -> i32 {
    -1
}

/// Largest valid signal number on this system.
fn max_signal() -> i32 {
    rtmax().max(libc::SIGSYS).max(libc::SIGUSR2)
}

impl Signal {
    /// Largest valid signal number on this system.
    pub fn max_raw() -> i32 {
        max_signal()
    }

    pub const HUP: Signal = Signal(libc::SIGHUP);
    pub const INT: Signal = Signal(libc::SIGINT);
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    pub const TERM: Signal = Signal(libc::SIGTERM);
    pub const KILL: Signal = Signal(libc::SIGKILL);
    pub const CONT: Signal = Signal(libc::SIGCONT);
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    pub const TSTP: Signal = Signal(libc::SIGTSTP);
    pub const TTIN: Signal = Signal(libc::SIGTTIN);
    pub const TTOU: Signal = Signal(libc::SIGTTOU);
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    pub const ALRM: Signal = Signal(libc::SIGALRM);
    pub const PIPE: Signal = Signal(libc::SIGPIPE);

    /// Wraps a raw number; `None` when the system has no such signal.
    pub fn from_raw(number: i32) -> Option<Signal> {
        (0..=max_signal())
            .contains(&number)
            .then_some(Signal(number))
    }

    /// The raw number, for syscalls.
    pub fn raw(self) -> i32 {
        self.0
    }

    /// The termination signals of SPEC §5: forwarded, then the grace period, then re-raised.
    pub fn is_termination(self) -> bool {
        [Signal::INT, Signal::TERM, Signal::HUP, Signal::QUIT].contains(&self)
    }

    /// The name without the `SIG` prefix, as GNU `timeout --verbose` prints it: `TERM`, `RTMIN+2`,
    /// `0` for the null signal, the number for anything nameless.
    pub fn short_name(self) -> String {
        if let Some((name, _)) = NAMED
            .iter()
            .find(|(name, n)| *n == self.0 && !matches!(*name, "IOT" | "CLD" | "POLL"))
        {
            return (*name).to_owned();
        }
        let (lo, hi) = (rtmin(), rtmax());
        if self.0 >= lo && self.0 <= hi && lo > 0 {
            let from_min = self.0 - lo;
            let from_max = hi - self.0;
            return match (from_min, from_max) {
                (0, _) => "RTMIN".to_owned(),
                (_, 0) => "RTMAX".to_owned(),
                (n, m) if n <= m => format!("RTMIN+{n}"),
                (_, m) => format!("RTMAX-{m}"),
            };
        }
        self.0.to_string()
    }
}

impl Signal {
    /// The name GNU timeout's `--verbose` line gives: [`Signal::short_name`], except that the null
    /// signal is `EXIT` and Linux's SIGIO is `POLL`, as gnulib's `sig2str` names them.
    pub fn verbose_name(self) -> String {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.0 == libc::SIGPOLL {
            return "POLL".to_owned();
        }
        if self.0 == 0 {
            "EXIT".to_owned()
        } else {
            self.short_name()
        }
    }

    /// Whether the signal has a name (`0` is `EXIT`): the numbers between the last named signal
    /// and RTMIN, which the C library keeps for itself, have none.
    pub(crate) fn is_named(self) -> bool {
        self.0 == 0
            || NAMED.iter().any(|(_, n)| *n == self.0)
            || (rtmin() > 0 && (rtmin()..=rtmax()).contains(&self.0))
    }
}

/// Canonical display: `SIGTERM`, `SIGRTMIN+2`, and `0` for the null signal.
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.short_name();
        if short.starts_with(|c: char| c.is_ascii_digit()) {
            f.write_str(&short)
        } else {
            write!(f, "SIG{short}")
        }
    }
}

impl std::str::FromStr for Signal {
    type Err = InvalidSignal;

    /// Accepts a number that names a signal, or a name with or without `SIG`, in any case
    /// (`EXIT` is 0), as GNU timeout does.
    fn from_str(text: &str) -> Result<Signal, InvalidSignal> {
        let invalid = || InvalidSignal(text.to_owned());
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse::<i32>()
                .ok()
                .and_then(Signal::from_raw)
                .filter(|s| s.is_named())
                .ok_or_else(invalid);
        }
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        if name == "EXIT" {
            return Ok(Signal(0));
        }
        if let Some((_, n)) = NAMED.iter().find(|(known, _)| *known == name) {
            return Ok(Signal(*n));
        }
        parse_realtime(name).ok_or_else(invalid)
    }
}

/// `RTMIN`, `RTMAX`, `RTMIN+N`, `RTMAX-N`, within the real-time range. The offset is read as C's
/// `strtol` reads it, as gnulib's `str2sig` does: blanks, a sign, digits (`RTMIN1`, `RTMAX+0`,
/// `RTMIN -0` are accepted too), and it must stay within the range.
fn parse_realtime(name: &str) -> Option<Signal> {
    let (lo, hi) = (rtmin(), rtmax());
    if lo <= 0 {
        return None;
    }
    let offset = |rest: &str| -> Option<i64> {
        if rest.is_empty() {
            return Some(0);
        }
        let rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
        let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Too many digits for the range either way.
        let magnitude: i64 = digits.parse().unwrap_or(i64::MAX);
        Some(if rest.starts_with('-') {
            -magnitude
        } else {
            magnitude
        })
    };
    let span = i64::from(hi - lo);
    let number = if let Some(rest) = name.strip_prefix("RTMIN") {
        let n = offset(rest)?;
        (0..=span).contains(&n).then(|| i64::from(lo) + n)?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        let n = offset(rest)?;
        (-span..=0).contains(&n).then(|| i64::from(hi) + n)?
    } else {
        return None;
    };
    i32::try_from(number).ok().map(Signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(text: &str) -> Signal {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn every_spelling_of_term() {
        for text in ["TERM", "SIGTERM", "term", "SIGterm", "sigTERM", "15"] {
            assert_eq!(sig(text), Signal::TERM, "{text}");
        }
    }

    #[test]
    fn null_signal_is_allowed() {
        assert_eq!(sig("0").raw(), 0);
        assert_eq!(sig("0").to_string(), "0");
    }

    #[test]
    fn verbose_names_are_gnus() {
        assert_eq!(Signal::TERM.verbose_name(), "TERM");
        assert_eq!(sig("0").verbose_name(), "EXIT");
    }

    #[test]
    fn canonical_names() {
        assert_eq!(Signal::TERM.to_string(), "SIGTERM");
        assert_eq!(Signal::KILL.to_string(), "SIGKILL");
        assert_eq!(sig("9").to_string(), "SIGKILL");
        assert_eq!(sig("cld").to_string(), "SIGCHLD");
        assert_eq!(sig("iot").to_string(), "SIGABRT");
        assert_eq!(Signal::TERM.short_name(), "TERM");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn realtime_signals() {
        let lo = libc::SIGRTMIN();
        let hi = libc::SIGRTMAX();
        assert_eq!(sig("RTMIN").raw(), lo);
        assert_eq!(sig("SIGRTMIN+2").raw(), lo + 2);
        assert_eq!(sig("rtmax").raw(), hi);
        assert_eq!(sig("RTMAX-1").raw(), hi - 1);
        assert_eq!(sig("RTMIN+2").to_string(), "SIGRTMIN+2");
        assert_eq!(sig("RTMAX-1").to_string(), "SIGRTMAX-1");
        assert_eq!(Signal::from_raw(lo).unwrap().to_string(), "SIGRTMIN");
        assert_eq!(sig(&hi.to_string()).to_string(), "SIGRTMAX");
        let span = hi - lo;
        assert!(format!("RTMIN+{}", span + 1).parse::<Signal>().is_err());
        assert!(format!("RTMAX-{}", span + 1).parse::<Signal>().is_err());
        // The offset as strtol reads it, as GNU does.
        assert_eq!(sig("RTMIN1").raw(), lo + 1);
        assert_eq!(sig("RTMIN0").raw(), lo);
        assert_eq!(sig("RTMIN +1").raw(), lo + 1);
        assert_eq!(sig("RTMAX+0").raw(), hi);
        assert_eq!(sig("RTMAX-0").raw(), hi);
        assert_eq!(sig("RTMIN-0").raw(), lo);
        // The numbers the C library keeps below RTMIN have no name: not a signal to send.
        for reserved in libc::SIGSYS + 1..lo {
            assert!(
                reserved.to_string().parse::<Signal>().is_err(),
                "{reserved}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn gnu_names_sigio_poll_in_verbose_lines() {
        assert_eq!(sig("IO").verbose_name(), "POLL");
        assert_eq!(sig("POLL").verbose_name(), "POLL");
    }

    #[test]
    fn exit_is_the_null_signal() {
        assert_eq!(sig("EXIT").raw(), 0);
        assert_eq!(sig("sigexit").raw(), 0);
        assert_eq!(sig("EXIT").verbose_name(), "EXIT");
    }

    #[test]
    fn unknown_signals_are_rejected() {
        for bad in [
            "", "FOO", "SIG", "SIGFOO", "99999", "-1", "+15", "RTMIN+", "RTMAX-", "RTMIN-1",
            "RTMAX+1", "RTMINX", " TERM", "1.5", "65", "RTMIN ", "RTMIN+ 1", "RTMAX--1",
        ] {
            let err = bad.parse::<Signal>().expect_err(bad);
            assert_eq!(err.to_string(), format!("'{bad}': invalid signal"));
        }
    }

    #[test]
    fn termination_signals() {
        for s in [Signal::INT, Signal::TERM, Signal::HUP, Signal::QUIT] {
            assert!(s.is_termination());
        }
        assert!(!Signal::KILL.is_termination());
        assert!(!sig("USR1").is_termination());
    }

    /// The names and numbers the shell completions offer after `-s` are signals here, with
    /// those numbers.
    #[cfg(target_os = "linux")]
    #[test]
    fn completion_hints_name_signals() {
        for (name, number) in crate::cli::SIGNALS {
            let by_name = sig(name);
            if !number.is_empty() {
                assert_eq!(by_name, sig(number), "{name} {number}");
            }
        }
    }
}
