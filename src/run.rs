//! The switchboard: parse, validate, set up logging, supervise, decide the exit.

use clap::Parser;

use crate::cli::Cli;
use crate::clock;
use crate::config::{self, Config};
use crate::exit::{self, Exit};
use crate::log;
use crate::supervisor::Supervisor;

/// Runs timeout-run and returns how it must end.
pub fn main() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's default of 2 would collide with commands that exit 2.
            return if e.use_stderr() {
                Exit::Code(exit::FAILURE)
            } else {
                Exit::Code(0)
            };
        }
    };
    let (inherited, bad_inherited) = match std::env::var_os(config::DEADLINE_ENV) {
        Some(v) => match v.to_str().and_then(clock::parse_unix_seconds) {
            Some(t) => (Some(t), None),
            None => (None, Some(v)),
        },
        None => (None, None),
    };
    let config = match Config::from_cli(cli, inherited) {
        Ok(config) => config,
        Err(e) => {
            log::fatal(e);
            return Exit::Code(exit::FAILURE);
        }
    };
    log::init(config.verbosity);
    if let Some(v) = bad_inherited {
        tracing::warn!("ignoring unreadable {}={v:?}", config::DEADLINE_ENV);
    }
    supervise(&config)
}

fn supervise(config: &Config) -> Exit {
    let mut supervisor = match Supervisor::new(config) {
        Ok(s) => s,
        Err(e) => {
            log::fatal(format!("{e:#}"));
            return Exit::Code(exit::FAILURE);
        }
    };
    let result = supervisor.run(1);
    supervisor.restore_terminal();
    match result {
        Ok(attempt) => {
            let exit = exit::decide(attempt.outcome, config.preserve_status);
            tracing::info!("exiting with status {}", exit.shell_code());
            exit
        }
        Err(e) => {
            log::fatal(format!("{e:#}"));
            Exit::Code(exit::FAILURE)
        }
    }
}
