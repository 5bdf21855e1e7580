//! Messages on stderr: `timeout-run: ` lines through tracing, filtered by `-v`/`-q` or by
//! `TIMEOUT_RUN_LOG` (`RUST_LOG` is deliberately not read: it belongs to the command).

use std::fmt;
use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LOG_ENV, Verbosity};
use crate::relay;

/// The target of the lines `-v` prints: exactly GNU timeout's `--verbose` lines.
pub const SIGNALS: &str = "timeout_run::signals";

/// Announces a signal sent to the command: `sending signal TERM to command 'NAME'`, as GNU
/// timeout's `--verbose` words it (`-v`), followed by `detail` in parentheses at `-vv` and above.
pub fn signal_sent(signal: &str, command: &str, detail: impl FnOnce() -> String) {
    if tracing::enabled!(Level::INFO) {
        tracing::info!(target: SIGNALS, "sending signal {signal} to command '{command}' ({})", detail());
    } else {
        tracing::info!(target: SIGNALS, "sending signal {signal} to command '{command}'");
    }
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

/// Prints one `timeout-run:` line that was asked for explicitly (the heartbeat), whatever the
/// verbosity. Never panics.
pub fn line(message: impl fmt::Display) {
    write_line(&format!("timeout-run: {message}\n"));
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
    // tracing-subscriber's registry is only built for an env filter: setting it up costs more
    // start-up than everything else timeout-run does before spawning, and a level filter needs
    // none of it.
    match std::env::var(LOG_ENV) {
        Ok(directive) if !directive.is_empty() => match parse_filter(&directive) {
            Ok(filter) => {
                let _ = tracing_subscriber::fmt()
                    .with_writer(|| OwnStderr)
                    .event_format(Prefixed)
                    .with_env_filter(filter)
                    .try_init();
            }
            Err(e) => {
                let _ = tracing::subscriber::set_global_default(Stderr { level, signals });
                tracing::warn!("ignoring {LOG_ENV}={directive:?} ({e}); using the default level");
            }
        },
        _ => {
            let _ = tracing::subscriber::set_global_default(Stderr { level, signals });
        }
    }
}

/// Parses a `TIMEOUT_RUN_LOG` directive. Beyond `EnvFilter`'s own syntax, each part must be a
/// level (`debug`) or name one of timeout-run's own targets (`timeout_run=trace`,
/// `timeout_run::signals`): `EnvFilter` would read a typo such as `degub` as a target and
/// silently turn every message off.
fn parse_filter(directive: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    for part in directive
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let target = part.split(['=', '[']).next().unwrap_or("");
        let is_level = LEVELS.contains(&part.to_ascii_lowercase().as_str());
        if !is_level && target != "timeout_run" && !target.starts_with("timeout_run::") {
            return Err(format!(
                "'{part}' is neither a level nor a timeout_run target"
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(directive).map_err(|e| e.to_string())
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

/// Writes a line to stderr in one call (lines of concurrent writers do not interleave), and
/// never panics (stderr may be closed). With `--idle-timeout`, the line is not taken for the
/// command's output ([`relay::own_write`]).
fn write_line(line: &str) {
    let _ = relay::own_write(|| std::io::stderr().lock().write_all(line.as_bytes()));
}

/// stderr for tracing-subscriber's formatter, through [`relay::own_write`].
struct OwnStderr;

impl Write for OwnStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        relay::own_write(|| std::io::stderr().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The subscriber used unless an env filter is asked for: events at or above a level go to
/// stderr. timeout-run has no spans.
struct Stderr {
    level: Level,
    /// `-v`: GNU's lines about signals sent pass whatever the level.
    signals: bool,
}

impl Subscriber for Stderr {
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(if self.signals {
            self.level.max(Level::INFO)
        } else {
            self.level
        }))
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level || (self.signals && metadata.target() == SIGNALS)
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

/// The same lines through tracing-subscriber's formatter, for the env filter.
struct Prefixed;

impl<S, N> FormatEvent<S, N> for Prefixed
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str(&format_line(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
