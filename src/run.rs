//! The switchboard: parse, validate, set up logging, supervise (with retries), report, decide
//! the exit.

use std::ffi::OsString;
use std::time::SystemTime;

use crate::cli::{Cli, NoRun};
use crate::clock;
use crate::config::{self, Config, RetryOn};
use crate::duration;
use crate::exit::{self, Exit};
use crate::generate;
use crate::log;
use crate::outcome::Attempt;
use crate::outcome::{Outcome, SpawnFailure, Status};
use crate::report::{self, Destination};
use crate::supervisor::Supervisor;

/// Runs timeout-run on its command line (program name first) and returns how it must end.
pub fn main(args: Vec<OsString>) -> Exit {
    let cli = match Cli::parse_from(args) {
        Ok(cli) => cli,
        Err(NoRun::Print(text)) => return print_stdout(text.as_bytes()),
        Err(NoRun::Usage(message)) => {
            log::usage_error(message);
            return Exit::Code(exit::FAILURE);
        }
    };
    if let Some(what) = cli.generate {
        return print_stdout(&generate::render(what));
    }
    let (inherited, bad_inherited) = match std::env::var_os(config::DEADLINE_ENV) {
        Some(v) => match v.to_str().and_then(clock::parse_unix_seconds) {
            Some(t) => (Some(t), None),
            None => (None, Some(v)),
        },
        None => (None, None),
    };
    // A bad value is a usage error, worded and followed by `Try ...` as GNU timeout does.
    let config = match Config::from_cli(cli, inherited) {
        Ok(config) => config,
        Err(e) => {
            log::usage_error(e);
            return Exit::Code(exit::FAILURE);
        }
    };
    // The backend first: the logger's first line (a bad TIMEOUT_RUN_LOG) opens stderr through it.
    let backend = crate::sys::select(std::env::var_os(crate::sys::BACKEND_ENV).as_deref());
    log::init(config.verbosity);
    match backend {
        Ok(backend) => tracing::debug!("{} backend", backend.name()),
        Err(e) => {
            log::fatal(e);
            return Exit::Code(exit::FAILURE);
        }
    }
    if let Some(v) = bad_inherited {
        tracing::warn!("ignoring unreadable {}={v:?}", config::DEADLINE_ENV);
    }
    // The report's destination is opened before anything runs: a bad path is a usage error.
    let destination = match config.report.as_deref().map(Destination::open).transpose() {
        Ok(d) => d,
        Err(e) => {
            let path = config
                .report
                .as_deref()
                .unwrap_or(std::path::Path::new("-"));
            log::fatal(format!("cannot write report '{}': {e}", path.display()));
            return Exit::Code(exit::FAILURE);
        }
    };
    let started_at = SystemTime::now();
    let (attempts, outcome) = supervise(&config);
    let exit = exit::decide(outcome, config.preserve_status);
    tracing::info!("exiting with status {}", exit.shell_code());
    if let Some(destination) = destination {
        destination.write(&report::build(
            &config, &attempts, outcome, exit, started_at,
        ));
    }
    exit
}

/// Prints `--help`, `--version` or `--generate`'s text; a failed write (`>/dev/full`, a closed
/// stdout) is an error, as in GNU. A reader gone (`| head -1`) ends timeout-run by SIGPIPE, as it
/// ends GNU's, unless SIGPIPE was ignored when it started.
fn print_stdout(text: &[u8]) -> Exit {
    use std::io::Write;
    let written = if crate::startup::stdout_was_closed() {
        Err(std::io::Error::from_raw_os_error(libc::EBADF))
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text).and_then(|()| stdout.flush())
    };
    match written {
        Ok(()) => Exit::Code(0),
        Err(e)
            if e.raw_os_error() == Some(libc::EPIPE) && !crate::startup::sigpipe_was_ignored() =>
        {
            Exit::Raise(crate::signal::Signal::PIPE)
        }
        Err(e) => {
            log::fatal(format!("write error: {}", log::os_reason(&e)));
            Exit::Code(exit::FAILURE)
        }
    }
}

/// Runs the attempts; returns them and the final outcome.
fn supervise(config: &Config) -> (Vec<Attempt>, Outcome) {
    let internal = Outcome::SpawnFailed(SpawnFailure::Internal);
    let mut supervisor = match Supervisor::new(config) {
        Ok(s) => s,
        Err(e) => {
            log::fatal(format!("{e:#}"));
            return (Vec::new(), internal);
        }
    };
    let total = config.retries.saturating_add(1);
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut outcome = internal;
    for number in 1..=total {
        match supervisor.run(number) {
            Ok(attempt) => {
                outcome = attempt.outcome;
                attempts.push(attempt);
            }
            Err(e) => {
                log::fatal(format!("{e:#}"));
                outcome = internal;
                break;
            }
        }
        let deadline_passed = config.deadline.is_some_and(|d| d <= SystemTime::now());
        if number == total || !should_retry(config.retry_on, outcome) || deadline_passed {
            break;
        }
        tracing::warn!(
            "attempt {number} of {total} {}; retrying in {}",
            describe(outcome),
            duration::display(config.retry_delay)
        );
        match supervisor.delay(config.retry_delay) {
            Ok(None) => {}
            Ok(Some(signal)) => {
                tracing::info!("received {signal} between attempts: stopping");
                outcome = Outcome::Cancelled {
                    signal,
                    status: None,
                };
                break;
            }
            Err(e) => {
                log::fatal(format!("{e:#}"));
                break;
            }
        }
    }
    supervisor.restore_terminal();
    (attempts, outcome)
}

/// Whether a finished attempt is run again under `--retry-on`.
fn should_retry(retry_on: RetryOn, outcome: Outcome) -> bool {
    let timed_out = match outcome {
        Outcome::Finished(Status::Code(0)) | Outcome::Cancelled { .. } => return false,
        Outcome::TimedOut { .. } => true,
        Outcome::Finished(_) | Outcome::SpawnFailed(_) => false,
    };
    match retry_on {
        RetryOn::Any => true,
        RetryOn::Timeout => timed_out,
        RetryOn::Error => !timed_out,
    }
}

fn describe(outcome: Outcome) -> String {
    match outcome {
        Outcome::Finished(Status::Code(code)) => format!("exited with status {code}"),
        Outcome::Finished(Status::Signal(s)) => format!("was killed by {s}"),
        Outcome::TimedOut { .. } => "timed out".to_owned(),
        Outcome::Cancelled { signal, .. } => format!("was cancelled by {signal}"),
        Outcome::SpawnFailed(_) => "could not start".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Expiry;
    use crate::signal::Signal;

    #[test]
    fn retry_policy() {
        let ok = Outcome::Finished(Status::Code(0));
        let failed = Outcome::Finished(Status::Code(1));
        let killed = Outcome::Finished(Status::Signal(Signal::KILL));
        let timed_out = Outcome::TimedOut {
            expiry: Expiry::Deadline,
            status: Status::Code(0),
        };
        let idle = Outcome::TimedOut {
            expiry: Expiry::Idle,
            status: Status::Code(0),
        };
        let cancelled = Outcome::Cancelled {
            signal: Signal::INT,
            status: None,
        };
        let missing = Outcome::SpawnFailed(SpawnFailure::NotFound);
        for (outcome, any, timeout, error) in [
            (ok, false, false, false),
            (failed, true, false, true),
            (killed, true, false, true),
            (timed_out, true, true, false),
            (idle, true, true, false),
            (cancelled, false, false, false),
            (missing, true, false, true),
        ] {
            assert_eq!(should_retry(RetryOn::Any, outcome), any, "{outcome:?}");
            assert_eq!(
                should_retry(RetryOn::Timeout, outcome),
                timeout,
                "{outcome:?}"
            );
            assert_eq!(should_retry(RetryOn::Error, outcome), error, "{outcome:?}");
        }
    }
}
