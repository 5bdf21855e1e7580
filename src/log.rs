//! Messages on stderr: `timeout-run: ` lines through tracing, filtered by `-v`/`-q` or by
//! `TIMEOUT_RUN_LOG` (`RUST_LOG` is deliberately not read: it belongs to the command).

use std::fmt;
use std::io::Write;

use tracing::{Event, Level, Subscriber};
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
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .event_format(Prefixed);
    // The env filter is only built when asked for: the plain level filter keeps start-up cheap.
    match std::env::var(LOG_ENV) {
        Ok(directive) if !directive.is_empty() => {
            match tracing_subscriber::EnvFilter::try_new(&directive) {
                Ok(filter) => {
                    let _ = builder.with_env_filter(filter).try_init();
                }
                Err(e) => {
                    let _ = builder.with_max_level(level).try_init();
                    tracing::warn!("ignoring {LOG_ENV}={directive:?}: {e}");
                }
            }
        }
        _ => {
            let _ = builder.with_max_level(level).try_init();
        }
    }
}

/// `timeout-run: message`, with `warning: ` or a level tag where it helps.
struct Prefixed;

impl<S, N> FormatEvent<S, N> for Prefixed
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let tag = match *event.metadata().level() {
            Level::WARN => "warning: ",
            Level::DEBUG => "debug: ",
            Level::TRACE => "trace: ",
            _ => "",
        };
        write!(writer, "timeout-run: {tag}")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
