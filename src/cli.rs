//! The command-line syntax (clap derive). Values stay raw strings here; `config` validates them, so
//! every bad value produces the same one-line message and exit status 125.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use clap::{ArgAction, Parser, ValueEnum};

const LONG_ABOUT: &str = "\
Run COMMAND with a time limit, stop its whole process tree gracefully when the limit is reached \
(stop signal, grace period, SIGKILL), relay signals to it, reap every child, and report exactly \
what happened through the exit status.

A drop-in for GNU timeout: 'timeout-run 5 cmd' is 'timeout-run --timeout 5 -- cmd'.";

const AFTER_HELP: &str = "\
DURATION: a number of seconds (10, 0.5, 1e-3, 0x0.1d) with an optional GNU suffix s, m, h, d \
(1.5m), or a humantime span (250ms, 1m30s, '2h 5m'). 0 disables the limit.
SIGNAL: a name with or without SIG in any case (TERM, SIGINT, hup), a number (15), RTMIN+N, \
RTMAX-N, or 0 (send nothing; only the SIGKILL after the grace period ends the command).

Exit status: the command's own, or 124 timed out, 125 timeout-run failed, 126 command not \
executable, 127 command not found; death by the same signal when the command was killed by a \
signal timeout-run did not send, or when timeout-run was cancelled by INT, TERM, HUP or QUIT.

Environment: TIMEOUT_RUN_DEADLINE (set for the command; a nested timeout-run honours the earlier \
deadline), TIMEOUT_RUN_LOG (log filter, overrides -v/-q).";

/// Raw command-line arguments.
#[derive(Debug, PartialEq, Parser)]
#[command(
    name = "timeout-run",
    version,
    about = "Run a command with a time limit, and stop its whole process tree gracefully",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    after_help = "See 'timeout-run --help' for durations, signals, exit statuses and environment.",
    override_usage = "timeout-run [OPTIONS] [--] COMMAND [ARG]...\n       \
                      timeout-run [OPTIONS] DURATION [--] COMMAND [ARG]...",
    max_term_width = 100
)]
pub struct Cli {
    /// Wall-clock limit for the command (0: none)
    #[arg(short = 't', long, value_name = "DURATION", allow_hyphen_values = true)]
    pub timeout: Option<String>,

    /// Absolute end time, RFC 3339 (e.g. 2026-11-22T18:00:00Z); a past time times out at once
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub deadline: Option<String>,

    /// Signal sent to the command's tree when the time is up
    #[arg(
        short = 's',
        long,
        value_name = "SIGNAL",
        default_value = "TERM",
        allow_hyphen_values = true
    )]
    pub signal: String,

    /// Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal)
    #[arg(
        short = 'g',
        long,
        value_name = "DURATION",
        default_value = "10s",
        allow_hyphen_values = true,
        visible_alias = "kill-after",
        visible_short_alias = 'k'
    )]
    pub grace: String,

    /// Never escalate to SIGKILL (GNU timeout's behaviour without -k)
    #[arg(long, conflicts_with = "grace")]
    pub no_kill: bool,

    /// Exit with the command's own status even when it timed out
    #[arg(short = 'p', long)]
    pub preserve_status: bool,

    /// Signal only the direct child and leave its descendants alone (GNU compatibility)
    #[arg(short = 'f', long)]
    pub foreground: bool,

    /// How to hold the command's process tree
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ContainArg::Auto)]
    pub contain: ContainArg,

    /// What to do with descendants still running when the command exits on its own
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = LeftoversArg::Kill)]
    pub leftovers: LeftoversArg,

    /// Stop the command if it writes nothing to stdout or stderr for this long (its output is
    /// then relayed through pipes, so it is no longer a terminal)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub idle_timeout: Option<String>,

    /// Run the command again after a failed attempt, up to N more times
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// Pause between attempts
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1s",
        allow_hyphen_values = true
    )]
    pub retry_delay: String,

    /// Which failures are retried
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = RetryOnArg::Any)]
    pub retry_on: RetryOnArg,

    /// Print a progress line on stderr at this interval
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub heartbeat: Option<String>,

    /// Write a JSON summary to PATH ('-' for stderr)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub report: Option<std::path::PathBuf>,

    /// Print lifecycle events on stderr (-vv debug, -vvv trace)
    #[arg(short = 'v', long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print nothing but fatal errors
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// [DURATION] COMMAND [ARG]...
    #[arg(
        value_name = "COMMAND",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_hint = clap::ValueHint::CommandWithArguments
    )]
    pub operands: Vec<OsString>,
}

impl Cli {
    /// Parses a command line (program name first).
    ///
    /// When the first argument is not an option (`timeout-run 10 make`, the GNU form without
    /// options), every argument is an operand: the operands are a trailing var-arg, so clap stops
    /// looking for options at the first one. That case is answered without clap, whose command
    /// definition takes about a tenth of a millisecond to build and run at start-up. The tests
    /// check that both ways agree.
    pub fn parse_from(args: Vec<OsString>) -> Result<Cli, clap::Error> {
        match args.get(1) {
            Some(first) if !first.as_bytes().starts_with(b"-") => {
                Ok(Cli::defaults_with_operands(args[1..].to_vec()))
            }
            _ => Cli::try_parse_from(args),
        }
    }

    /// What clap produces when only operands are given: every option at its default.
    fn defaults_with_operands(operands: Vec<OsString>) -> Cli {
        Cli {
            timeout: None,
            deadline: None,
            signal: "TERM".to_owned(),
            grace: "10s".to_owned(),
            no_kill: false,
            preserve_status: false,
            foreground: false,
            contain: ContainArg::Auto,
            leftovers: LeftoversArg::Kill,
            idle_timeout: None,
            retries: 0,
            retry_delay: "1s".to_owned(),
            retry_on: RetryOnArg::Any,
            heartbeat: None,
            report: None,
            verbose: 0,
            quiet: false,
            operands,
        }
    }
}

/// `--contain`: how the tree is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContainArg {
    /// A cgroup when one can be created, otherwise the process group
    Auto,
    /// A cgroup v2 of its own; fail (125) when none can be created
    Cgroup,
    /// Child subreaper, process group and a /proc walk (no cgroup)
    Group,
}

/// `--leftovers`: descendants alive after the command exits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LeftoversArg {
    /// Stop them: stop signal, grace period, SIGKILL
    Kill,
    /// Wait for them, within the deadline
    Wait,
    /// Leave them running (GNU timeout's behaviour)
    Keep,
}

/// `--retry-on`: which failed attempts are run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetryOnArg {
    /// Any failure: a time-out, a non-zero exit, a death by signal
    Any,
    /// Only time-outs (deadline or idle)
    Timeout,
    /// Only failures that are not time-outs
    Error,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("timeout-run")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn operands_only_parse_as_clap_parses_them() {
        for args in [
            &["10", "true"][..],
            &["true"],
            &["0", "sh", "-c", "exit 3"],
            &["1.5m", "--", "cmd", "-v"],
            &["5", "cmd", "--timeout", "1", "-s", "KILL", "--help", "-V"],
            &["", "x"],
            &["cmd"],
        ] {
            let argv = argv(args);
            let fast = Cli::parse_from(argv.clone()).expect("operands parse");
            let clap = Cli::try_parse_from(argv).expect("clap parses operands");
            assert_eq!(fast, clap, "{args:?}");
        }
    }

    #[test]
    fn options_still_go_through_clap() {
        let cli = Cli::parse_from(argv(&["-s", "KILL", "10", "true"])).expect("parse");
        assert_eq!(cli.signal, "KILL");
        assert!(Cli::parse_from(argv(&["--no-such-option", "10", "true"])).is_err());
        assert!(Cli::parse_from(argv(&[])).is_err());
        let dash = Cli::parse_from(argv(&["-"])).expect("'-' is an operand");
        assert_eq!(dash.operands, [OsString::from("-")]);
    }
}
