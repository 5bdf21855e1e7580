//! The command-line syntax (clap derive), and a short path that reads command lines in GNU
//! timeout's shape without clap (`Cli::parse_from`). Values stay raw strings here; `config`
//! validates them, so every bad value produces the same one-line message and exit status 125.

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
    /// Command lines in GNU timeout's shape (`timeout-run -s INT -k 5 10 make`: options that GNU
    /// has, each value a separate argument, then the operands) are read without clap, whose
    /// command definition takes about a tenth of a millisecond to build and run at start-up.
    /// Anything else goes to clap: other options, `--opt=value`, clustered flags, repeats,
    /// non-UTF-8 values, help and version. The tests check that whenever the short path answers,
    /// clap gives the same answer.
    pub fn parse_from(args: Vec<OsString>) -> Result<Cli, clap::Error> {
        match Cli::parse_gnu_shape(&args) {
            Some(cli) => Ok(cli),
            None => Cli::try_parse_from(args),
        }
    }

    /// The short path of [`Cli::parse_from`]; `None` leaves the command line to clap.
    fn parse_gnu_shape(args: &[OsString]) -> Option<Cli> {
        let mut cli = Cli::defaults_with_operands(Vec::new());
        let mut seen: Vec<&[u8]> = Vec::new();
        let mut i = 1;
        while let Some(arg) = args.get(i) {
            let arg = arg.as_bytes();
            if arg == b"--" {
                i += 1;
                break;
            }
            if !arg.starts_with(b"-") || arg == b"-" {
                break;
            }
            // Only the options GNU timeout has, each written alone (no `=value`, no clusters);
            // an option given twice is clap's to judge.
            let (name, takes_value): (&[u8], bool) = match arg {
                b"-t" | b"--timeout" => (b"timeout", true),
                b"-s" | b"--signal" => (b"signal", true),
                b"-k" | b"--kill-after" | b"-g" | b"--grace" => (b"grace", true),
                b"-p" | b"--preserve-status" => (b"preserve-status", false),
                b"-f" | b"--foreground" => (b"foreground", false),
                b"-v" | b"--verbose" => (b"verbose", false),
                _ => return None,
            };
            if name != b"verbose" && seen.contains(&name) {
                return None;
            }
            seen.push(name);
            let value = if takes_value {
                i += 1;
                Some(args.get(i)?.to_str()?.to_owned())
            } else {
                None
            };
            match (name, value) {
                (b"timeout", Some(v)) => cli.timeout = Some(v),
                (b"signal", Some(v)) => cli.signal = v,
                (b"grace", Some(v)) => cli.grace = v,
                (b"preserve-status", None) => cli.preserve_status = true,
                (b"foreground", None) => cli.foreground = true,
                (b"verbose", None) => cli.verbose = cli.verbose.checked_add(1)?,
                _ => return None,
            }
            i += 1;
        }
        cli.operands = args.get(i..)?.to_vec();
        (!cli.operands.is_empty()).then_some(cli)
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
    fn gnu_shaped_command_lines_parse_as_clap_parses_them() {
        for args in [
            &["10", "true"][..],
            &["true"],
            &["0", "sh", "-c", "exit 3"],
            &["1.5m", "--", "cmd", "-v"],
            &["5", "cmd", "--timeout", "1", "-s", "KILL", "--help", "-V"],
            &["", "x"],
            &["cmd"],
            &["-s", "INT", "-k", "5", "10", "make", "-j4"],
            &[
                "--signal",
                "KILL",
                "--kill-after",
                "1",
                "--preserve-status",
                "2",
                "x",
            ],
            &["-v", "-v", "-p", "-f", "-t", "3", "--", "cmd"],
            &["-g", "-1", "5", "cmd"],
            &["--", "5", "cmd"],
            &["-k", "5", "-", "cmd"],
        ] {
            let argv = argv(args);
            let fast = Cli::parse_gnu_shape(&argv).expect("short path answers");
            let clap = Cli::try_parse_from(argv).expect("clap parses it");
            assert_eq!(fast, clap, "{args:?}");
        }
    }

    #[test]
    fn everything_else_is_left_to_clap() {
        for args in [
            &[][..],
            &["--"],
            &["-s", "KILL"],
            &["-s"],
            &["-s", "INT", "-s", "KILL", "5", "x"],
            &["--signal=KILL", "5", "x"],
            &["-sKILL", "5", "x"],
            &["-vp", "5", "x"],
            &["-q", "5", "x"],
            &["--no-kill", "5", "x"],
            &["--help"],
            &["-V"],
            &["--retries", "2", "5", "x"],
        ] {
            assert!(Cli::parse_gnu_shape(&argv(args)).is_none(), "{args:?}");
        }
    }

    #[test]
    fn clap_answers_what_the_short_path_leaves() {
        let cli =
            Cli::parse_from(argv(&["--retries", "2", "-s", "KILL", "10", "true"])).expect("parse");
        assert_eq!((cli.retries, cli.signal.as_str()), (2, "KILL"));
        assert!(Cli::parse_from(argv(&["--no-such-option", "10", "true"])).is_err());
        assert!(Cli::parse_from(argv(&["-s", "INT", "-s", "KILL", "10", "true"])).is_err());
        assert!(Cli::parse_from(argv(&[])).is_err());
        let dash = Cli::parse_from(argv(&["-"])).expect("'-' is an operand");
        assert_eq!(dash.operands, [OsString::from("-")]);
    }
}
