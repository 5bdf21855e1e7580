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

/// Prints one fatal line, before or without the logger. Never panics (stderr may be closed).
pub fn fatal(message: impl fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "timeout-run: {message}");
}

/// Prints one `timeout-run:` line that was asked for explicitly (the heartbeat), whatever the
/// verbosity. Never panics.
pub fn line(message: impl fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "timeout-run: {message}");
}

/// Installs the stderr logger. `TIMEOUT_RUN_LOG` overrides the verbosity; a bad directive is
/// reported and ignored.
pub fn init(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet => Level::ERROR,
        Verbosity::Normal => Level::WARN,
        Verbosity::Verbose => Level::INFO,
        Verbosity::Debug => Level::DEBUG,
        Verbosity::Trace => Level::TRACE,
    };
    // tracing-subscriber's registry is only built for an env filter: setting it up costs more
    // start-up than everything else timeout-run does before spawning, and a level filter needs
    // none of it.
    match std::env::var(LOG_ENV) {
        Ok(directive) if !directive.is_empty() => {
            match tracing_subscriber::EnvFilter::try_new(&directive) {
                Ok(filter) => {
                    let _ = tracing_subscriber::fmt()
                        .with_writer(std::io::stderr)
                        .event_format(Prefixed)
                        .with_env_filter(filter)
                        .try_init();
                }
                Err(e) => {
                    let _ = tracing::subscriber::set_global_default(Stderr { level });
                    tracing::warn!("ignoring {LOG_ENV}={directive:?}: {e}");
                }
            }
        }
        _ => {
            let _ = tracing::subscriber::set_global_default(Stderr { level });
        }
    }
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
    fields.0.push('\n');
    fields.0
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
/// never panics (stderr may be closed).
fn write_line(line: &str) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The subscriber used unless an env filter is asked for: events at or above a level go to
/// stderr. timeout-run has no spans.
struct Stderr {
    level: Level,
}

impl Subscriber for Stderr {
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.level))
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level
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
