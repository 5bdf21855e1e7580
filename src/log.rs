//! Messages on stderr: `timeout-run: ` lines through tracing, filtered by `-v`/`-q` or by
//! `TIMEOUT_RUN_LOG` (`RUST_LOG` is deliberately not read: it belongs to the command).

use std::fmt;
use std::io::Write;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;

use crate::config::{LOG_ENV, Verbosity};
use crate::relay;
use crate::sink::{self, Kind, Target};

/// The target of the lines `-v` prints: exactly GNU timeout's `--verbose` lines.
pub const SIGNALS: &str = "timeout_run::signals";

/// Announces a signal sent to the command: `sending signal TERM to command 'NAME'`, as GNU
/// timeout's `--verbose` words it (`-v`), followed by `detail` in parentheses at `-vv` and above.
///
/// Only what GNU would announce (`gnu`: a signal sent upon a timeout, or a termination signal
/// passed on) has a `-v` line; the rest (descendants left behind by a command that exited,
/// relayed USR1, WINCH...) is told at `-vv` only, so that `-v` prints exactly GNU's lines.
pub fn signal_sent(signal: &str, command: &str, gnu: bool, detail: impl FnOnce() -> String) {
    if !gnu {
        if tracing::enabled!(Level::INFO) {
            let command = quote(command, utf8_locale());
            tracing::info!(
                "sending signal {signal} to command {command} ({})",
                detail()
            );
        }
        return;
    }
    if !tracing::enabled!(target: SIGNALS, Level::INFO) {
        return;
    }
    let command = quote(command, utf8_locale());
    if tracing::enabled!(Level::INFO) {
        tracing::info!(target: SIGNALS, "sending signal {signal} to command {command} ({})", detail());
    } else {
        tracing::info!(target: SIGNALS, "sending signal {signal} to command {command}");
    }
}

/// `text` in single quotes as GNU's `quote` writes it: a quote or backslash is preceded by a
/// backslash, control characters are C escapes (`\n`, `\t`) or octal, and so is every byte of
/// a character beyond ASCII unless the locale's character set is UTF-8. (GNU's curly quotes of
/// UTF-8 locales are left out: messages always use ASCII quotes.)
pub fn quote(text: &str, utf8: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_ascii_graphic() || c == ' ' || (utf8 && !c.is_ascii() && !c.is_control()) => {
                out.push(c);
            }
            c => {
                let mut bytes = [0u8; 4];
                for b in c.encode_utf8(&mut bytes).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
        }
    }
    out.push('\'');
    out
}

/// Whether the character set of the user's locale (`LC_ALL`, `LC_CTYPE`, `LANG`, the first set)
/// is UTF-8.
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
}

/// Prints one fatal line, before or without the logger. Never panics (stderr may be closed).
pub fn fatal(message: impl fmt::Display) {
    let message = without_os_error_codes(&message.to_string());
    write_line(&format!("timeout-run: {message}\n"));
}

/// Removes Rust's ` (os error N)` suffixes from a message: system errors read as the C library
/// words them (`No such file or directory`), as GNU tools print them.
pub fn without_os_error_codes(message: &str) -> String {
    const MARK: &str = " (os error ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after.as_bytes().get(digits) == Some(&b')') {
            out.push_str(&rest[..at]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..at + MARK.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Prints a usage error as GNU tools do: the message, then where to find help.
pub fn usage_error(message: impl fmt::Display) {
    let _ = write!(
        std::io::stderr().lock(),
        "timeout-run: {message}\nTry 'timeout-run --help' for more information.\n"
    );
}

/// An I/O error as the C library words it (`No space left on device`), without Rust's
/// `(os error N)` suffix.
pub fn os_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => errno_text(code),
        None => e.to_string(),
    }
}

/// The C library's words for an errno (`strerror`: `Bad file descriptor`), which std's error
/// text carries before its ` (os error N)`; nix's own table words some differently.
pub fn errno_text(code: i32) -> String {
    without_os_error_codes(&std::io::Error::from_raw_os_error(code).to_string())
}

/// Prints one `timeout-run:` line that was asked for explicitly, whatever the verbosity. Never
/// panics.
pub fn line(message: impl fmt::Display) {
    write_line(&format!("timeout-run: {message}\n"));
}

/// Prints a heartbeat line, whatever the verbosity. While stderr takes nothing, heartbeats
/// queue up to a quarter of the room only: they never crowd out the lines that say what
/// happened.
pub fn heartbeat(message: impl fmt::Display) {
    queue_line(&format!("timeout-run: {message}\n"), PENDING_LIMIT / 4);
}

/// Installs the stderr logger. `TIMEOUT_RUN_LOG` overrides the verbosity; a bad directive is
/// reported and ignored.
pub fn init(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet => Level::ERROR,
        Verbosity::Normal | Verbosity::Signals => Level::WARN,
        Verbosity::Lifecycle => Level::INFO,
        Verbosity::Debug => Level::DEBUG,
        Verbosity::Trace => Level::TRACE,
    };
    let signals = verbosity >= Verbosity::Signals;
    let by_verbosity = Filter::Verbosity { level, signals };
    match std::env::var(LOG_ENV) {
        Ok(directive) if !directive.is_empty() => match parse_filter(&directive) {
            Ok(targets) => {
                let _ = tracing::subscriber::set_global_default(Stderr(Filter::Directive(targets)));
            }
            Err(e) => {
                let _ = tracing::subscriber::set_global_default(Stderr(by_verbosity));
                tracing::warn!("ignoring {LOG_ENV}={directive:?} ({e}); using the default level");
            }
        },
        _ => {
            let _ = tracing::subscriber::set_global_default(Stderr(by_verbosity));
        }
    }
}

/// Parses a `TIMEOUT_RUN_LOG` directive: comma-separated parts, each a level (`debug`) or one
/// of timeout-run's own targets with an optional level (`timeout_run=trace`,
/// `timeout_run::signals`), as tracing-subscriber's `EnvFilter` reads them. Anything else is
/// refused: a typo such as `degub` would be read as a target and silently turn every message
/// off, and timeout-run has no spans or fields to filter on.
fn parse_filter(directive: &str) -> Result<Targets, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let parts: Vec<&str> = directive
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    for part in &parts {
        let target = part.split('=').next().unwrap_or("");
        let is_level = LEVELS.contains(&part.to_ascii_lowercase().as_str());
        let is_ours = target == "timeout_run" || target.starts_with("timeout_run::");
        if !is_level && !is_ours {
            return Err(format!(
                "'{part}' is neither a level nor a timeout_run target"
            ));
        }
        if target.contains(['[', '{', ' ']) {
            return Err(format!(
                "'{part}': timeout-run has no spans or fields to filter on"
            ));
        }
    }
    parts.join(",").parse().map_err(|e| format!("{e}"))
}

/// The whole line for one event: `timeout-run: message`, with `warning: ` or a level tag
/// where it helps, and any fields other than the message as ` name=value`.
fn format_line(event: &Event<'_>) -> String {
    let tag = match *event.metadata().level() {
        Level::WARN => "warning: ",
        Level::DEBUG => "debug: ",
        Level::TRACE => "trace: ",
        _ => "",
    };
    let mut fields = Fields(format!("timeout-run: {tag}"));
    event.record(&mut fields);
    let mut line = without_os_error_codes(&fields.0);
    line.push('\n');
    line
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        let _ = if field.name() == "message" {
            write!(self.0, "{value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

/// Writes a line to stderr, whole (lines of concurrent writers to a pipe do not interleave), and
/// never panics (stderr may be closed). With `--idle-timeout`, the line is not taken for the
/// command's output ([`relay::own_write`]).
///
/// It never blocks either: what stderr does not take at once (a pipe that its reader leaves
/// full, a terminal stopped with Ctrl-S) waits in [`PENDING`], after the lines before it, and the
/// event loop writes it when stderr has room ([`waiting`], [`write_waiting`]), so a full stderr
/// cannot hold up the deadline, a signal or the stop sequence. What is left at exit is written
/// then, waiting for the reader as any program does ([`finish`]).
fn write_line(line: &str) {
    queue_line(line, PENDING_LIMIT);
}

/// [`write_line`], dropping (and counting) the line if the queue would hold more than `limit`.
fn queue_line(line: &str, limit: usize) {
    if DIRECT.load(Ordering::Relaxed) {
        write_direct(line.as_bytes());
        return;
    }
    let Some(target) = target() else {
        return;
    };
    // Busy only when a line is written while one is (a panic inside): write it directly.
    let Ok(mut pending) = PENDING.try_lock() else {
        write_direct(line.as_bytes());
        return;
    };
    if pending.bytes.len() + line.len() > limit {
        pending.dropped += 1;
        return;
    }
    pending.bytes.extend_from_slice(line.as_bytes());
    pending.write_out(target);
}

/// Writes to stderr as inherited, blocking.
fn write_direct(bytes: &[u8]) {
    let _ = relay::own_write(|| std::io::stderr().lock().write_all(bytes));
}

/// The most bytes of lines kept while stderr takes nothing; lines beyond are counted, and
/// the count is said once stderr takes lines again.
const PENDING_LIMIT: usize = 256 * 1024;

/// Lines stderr has not taken yet.
struct Pending {
    bytes: Vec<u8>,
    /// Lines dropped because `bytes` was at its limit.
    dropped: usize,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    bytes: Vec::new(),
    dropped: 0,
});

/// How lines reach stderr, found when the first one is written (nothing at start-up).
static TARGET: OnceLock<Option<Target>> = OnceLock::new();

/// In a process of timeout-run's own that it forked (a keeper), lines go straight to stderr:
/// the lines pending in the copy of [`PENDING`] are the parent's to write, and the descriptor
/// in [`TARGET`] may be closed there.
static DIRECT: AtomicBool = AtomicBool::new(false);

fn target() -> Option<&'static Target> {
    TARGET
        .get_or_init(|| {
            let dest = sink::examine(libc::STDERR_FILENO);
            Some(match dest.kind {
                // The /dev/null in place of a stderr inherited closed.
                Kind::Closed => return None,
                Kind::File | Kind::Full => Target::Shared {
                    fd: dest.fd,
                    file: true,
                },
                Kind::Socket => Target::Socket(dest.fd),
                Kind::Pipe | Kind::Device => match crate::sys::fd::reopen_private(dest.fd) {
                    Ok(fd) => Target::Private(fd),
                    Err(_) => Target::Shared {
                        fd: dest.fd,
                        file: false,
                    },
                },
            })
        })
        .as_ref()
}

impl Pending {
    /// Writes what stderr takes now. A write error (no reader left) drops what is pending:
    /// nobody will read it.
    ///
    /// Whole lines at a time, at most `PIPE_BUF` bytes in one write (a longer line alone): a
    /// pipe takes that much whole or not at all, so the command's own writes to the same pipe
    /// never land inside one of timeout-run's lines. (A stream socket may still take part of
    /// a line when its buffer fills.)
    fn write_out(&mut self, target: &Target) {
        loop {
            while !self.bytes.is_empty() {
                let bytes = &self.bytes[..whole_lines(&self.bytes, libc::PIPE_BUF)];
                match relay::own_write(|| target.write(bytes)) {
                    Ok(0) | Err(Errno::EAGAIN) => return,
                    Ok(n) => drop(self.bytes.drain(..n)),
                    Err(_) => {
                        self.bytes = Vec::new();
                        self.dropped = 0;
                        return;
                    }
                }
            }
            let dropped = std::mem::take(&mut self.dropped);
            if dropped == 0 || !tracing::enabled!(Level::WARN) {
                return;
            }
            let note = format!(
                "timeout-run: warning: {dropped} line{} dropped: stderr took nothing for too long\n",
                if dropped == 1 { "" } else { "s" }
            );
            self.bytes.extend_from_slice(note.as_bytes());
        }
    }
}

/// The length of the longest run of whole lines at the start of `bytes` that fits in `limit`;
/// the first line alone when it is longer (its end, or all of `bytes` if it has none).
fn whole_lines(bytes: &[u8], limit: usize) -> usize {
    let within = &bytes[..bytes.len().min(limit)];
    match within.iter().rposition(|&b| b == b'\n') {
        Some(end) => end + 1,
        None => bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |end| end + 1),
    }
}

/// The descriptor to wait on for room (POLLOUT) while lines are pending.
pub fn waiting() -> Option<BorrowedFd<'static>> {
    if DIRECT.load(Ordering::Relaxed) {
        return None;
    }
    let target = TARGET.get()?.as_ref()?;
    let pending = PENDING.try_lock().ok()?;
    (!pending.bytes.is_empty()).then(|| target.as_fd())
}

/// Writes what stderr takes of the pending lines (after [`waiting`]'s descriptor was ready).
pub fn write_waiting() {
    if DIRECT.load(Ordering::Relaxed) {
        return;
    }
    if let (Some(Some(target)), Ok(mut pending)) = (TARGET.get(), PENDING.try_lock()) {
        pending.write_out(target);
    }
}

/// Before exit (or before the report goes to stderr): writes the pending lines, waiting for
/// room as long as it takes (or until stderr fails). Meanwhile a termination signal ends
/// timeout-run by its default action, as it would end a process blocked in `write`: the
/// signals it blocks (or catches) for its event loop are given back their default action, except
/// where it inherited them ignored.
pub fn finish() {
    if DIRECT.load(Ordering::Relaxed) {
        return;
    }
    let (Some(Some(target)), Ok(mut pending)) = (TARGET.get(), PENDING.try_lock()) else {
        return;
    };
    let mut interruptible = false;
    loop {
        pending.write_out(target);
        if pending.bytes.is_empty() {
            return;
        }
        if !std::mem::replace(&mut interruptible, true) {
            crate::sys::events::default_termination();
        }
        let mut fds = [PollFd::new(target.as_fd(), PollFlags::POLLOUT)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Before timeout-run ends itself by a signal: writes what stderr takes now, and no more. A
/// process that a signal ends loses what it has not written; waiting for the reader would
/// hold up the end that signal asked for.
pub fn finish_now() {
    write_waiting();
}

/// Writes the report to stderr after the pending lines (it is the last thing written), through
/// the queue, so that it never splits a line of the command's either; then [`finish`].
pub fn write_report(text: &str) {
    if !DIRECT.load(Ordering::Relaxed)
        && let (Some(_), Ok(mut pending)) = (target(), PENDING.try_lock())
    {
        pending.bytes.extend_from_slice(text.as_bytes());
    } else {
        write_direct(text.as_bytes());
    }
    finish();
}

/// In a child forked to go on alone (a keeper): its lines go straight to stderr.
pub fn in_forked_child() {
    DIRECT.store(true, Ordering::Relaxed);
}

/// What reaches stderr.
enum Filter {
    /// `-q`, `-v`...: events at or above a level.
    Verbosity {
        level: Level,
        /// `-v`: GNU's lines about signals sent pass whatever the level.
        signals: bool,
    },
    /// `TIMEOUT_RUN_LOG`.
    Directive(Targets),
}

/// The subscriber: each enabled event is one line on stderr. timeout-run has no spans.
struct Stderr(Filter);

impl Subscriber for Stderr {
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match &self.0 {
            Filter::Verbosity { level, signals } => LevelFilter::from_level(if *signals {
                (*level).max(Level::INFO)
            } else {
                *level
            }),
            Filter::Directive(targets) => targets
                .iter()
                .map(|(_, level)| level)
                .chain(targets.default_level())
                .max()
                .unwrap_or(LevelFilter::OFF),
        })
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        match &self.0 {
            Filter::Verbosity { level, signals } => {
                metadata.level() <= level || (*signals && metadata.target() == SIGNALS)
            }
            Filter::Directive(targets) => targets.would_enable(metadata.target(), metadata.level()),
        }
    }

    fn event(&self, event: &Event<'_>) {
        write_line(&format_line(event));
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_whole_within_the_limit() {
        assert_eq!(whole_lines(b"ab\ncd\nef\n", 7), 6);
        assert_eq!(whole_lines(b"ab\ncd\nef\n", 9), 9);
        assert_eq!(whole_lines(b"ab\ncd\nef\n", 5), 3);
        // A line longer than the limit goes alone, whole.
        assert_eq!(whole_lines(b"abcdef\ngh\n", 3), 7);
        assert_eq!(whole_lines(b"abcdef", 3), 6);
    }

    #[test]
    fn errors_read_as_the_c_library_words_them() {
        assert_eq!(errno_text(libc::EBADF), "Bad file descriptor");
        assert_eq!(errno_text(libc::ENOENT), "No such file or directory");
        assert_eq!(errno_text(libc::ELOOP), "Too many levels of symbolic links");
    }

    #[test]
    fn log_directives_that_would_hide_everything_are_refused() {
        assert!(parse_filter("degub").is_err());
        assert!(parse_filter("debug,other_crate=info").is_err());
        assert!(parse_filter("timeout_run=[").is_err());
        for good in [
            "debug",
            "TRACE",
            "timeout_run=debug",
            "warn,timeout_run::signals=info",
        ] {
            assert!(parse_filter(good).is_ok(), "{good}");
        }
        assert!(parse_filter("timeout_run::x[{pid}]=debug").is_err());
    }

    #[test]
    fn log_directives_filter_by_level_and_target_prefix() {
        let f = parse_filter(" warn , timeout_run::signals=info").unwrap();
        assert!(f.would_enable("timeout_run::signals", &Level::INFO));
        assert!(!f.would_enable("timeout_run::signals", &Level::DEBUG));
        assert!(!f.would_enable("timeout_run::supervisor", &Level::INFO));
        assert!(f.would_enable("timeout_run::supervisor", &Level::WARN));
        let f = parse_filter("timeout_run::supervisor").unwrap();
        assert!(f.would_enable("timeout_run::supervisor", &Level::TRACE));
        assert!(!f.would_enable("timeout_run::relay", &Level::ERROR));
        let f = parse_filter("DEBUG").unwrap();
        assert!(f.would_enable("timeout_run::relay", &Level::DEBUG));
        assert!(!f.would_enable("timeout_run::relay", &Level::TRACE));
    }

    #[test]
    fn names_are_quoted_as_gnu_quotes_them() {
        assert_eq!(quote("sleep", false), "'sleep'");
        assert_eq!(quote("./it's", false), "'./it\\'s'");
        assert_eq!(quote("a\\b", false), "'a\\\\b'");
        assert_eq!(quote("nl\nx\ttab", false), "'nl\\nx\\ttab'");
        assert_eq!(quote("\u{1}\u{7f}", false), "'\\001\\177'");
        assert_eq!(quote("./\u{e9}", false), "'./\\303\\251'");
        assert_eq!(quote("./\u{e9}", true), "'./\u{e9}'");
        assert_eq!(quote("a b", true), "'a b'");
    }

    #[test]
    fn os_error_codes_are_removed() {
        assert_eq!(
            without_os_error_codes("cannot open x: No such file or directory (os error 2)"),
            "cannot open x: No such file or directory"
        );
        assert_eq!(
            without_os_error_codes("a (os error 24): b (os error 1)"),
            "a: b"
        );
        assert_eq!(
            without_os_error_codes("kept (os error x)"),
            "kept (os error x)"
        );
    }
}
