//! Raw arguments -> validated `Config`: plain domain types, checked once, before anything runs.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::time::{Duration, SystemTime};

use std::path::PathBuf;

use crate::cli::{Cli, ContainArg, LeftoversArg, RetryOnArg};
use crate::clock;
use crate::duration::{self, InvalidDuration};
use crate::signal::{InvalidSignal, Signal};

/// The environment variable that carries the absolute deadline to the command, and from an outer
/// timeout-run to an inner one.
pub const DEADLINE_ENV: &str = "TIMEOUT_RUN_DEADLINE";

/// The environment variable with a log filter: levels and `target=level` parts, as
/// `tracing_subscriber::EnvFilter` reads them.
pub const LOG_ENV: &str = "TIMEOUT_RUN_LOG";

/// Everything the supervisor needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The command and its arguments, byte for byte; never empty.
    pub command: Vec<OsString>,
    /// Relative limit for each attempt; `None` = no limit.
    pub timeout: Option<Duration>,
    /// Absolute end time from `--deadline` or an inherited `TIMEOUT_RUN_DEADLINE`, the earlier.
    pub deadline: Option<SystemTime>,
    /// Signal sent to the tree when a timer fires.
    pub stop_signal: Signal,
    /// Time between the stop signal and SIGKILL; `None` = never SIGKILL (`--no-kill`).
    pub grace: Option<Duration>,
    /// Report the command's own status even after a timeout.
    pub preserve_status: bool,
    /// GNU `--foreground`: signal only the direct child, leave its tree alone.
    pub foreground: bool,
    /// How to hold the tree.
    pub contain: Contain,
    /// Descendants alive after the command exits on its own.
    pub leftovers: Leftovers,
    /// Stop the command after this long without output; `None` = no idle limit.
    pub idle_timeout: Option<Duration>,
    /// Extra attempts after a failed one.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
    /// Which failures are retried.
    pub retry_on: RetryOn,
    /// Progress line interval; `None` = no heartbeat.
    pub heartbeat: Option<Duration>,
    /// Run through `sh -c` at a timeout, before the stop signal (`--on-timeout`).
    pub on_timeout: Option<OsString>,
    /// Where the JSON report goes (`-` = stderr).
    pub report: Option<PathBuf>,
    /// How much timeout-run says on stderr.
    pub verbosity: Verbosity,
}

/// Which failed attempts are run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOn {
    /// Every failure.
    Any,
    /// Time-outs only.
    Timeout,
    /// Failures other than time-outs.
    Error,
}

/// How the command's tree is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contain {
    /// A cgroup when possible, otherwise the process group.
    Auto,
    /// A cgroup or nothing (exit 125).
    Cgroup,
    /// Process group, subreaper and /proc walk.
    Group,
}

/// What happens to descendants still running when the command exits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftovers {
    /// The stop sequence.
    Kill,
    /// Wait for them, within the deadline.
    Wait,
    /// Leave them running.
    Keep,
}

/// Log level chosen by `-v`/`-q` (overridden by `TIMEOUT_RUN_LOG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: fatal errors only.
    Quiet,
    /// Default: warnings.
    Normal,
    /// `-v`: exactly GNU timeout's `--verbose` lines, one per signal sent.
    Signals,
    /// `-vv`: one line per lifecycle event.
    Lifecycle,
    /// `-vvv`.
    Debug,
    /// `-vvvv`.
    Trace,
}

/// A value on the command line (or in the environment) that timeout-run cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Duration(InvalidDuration),
    Signal(InvalidSignal),
    Deadline(String),
    MissingCommand,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Duration(e) => e.fmt(f),
            ConfigError::Signal(e) => e.fmt(f),
            ConfigError::Deadline(text) => write!(
                f,
                "invalid deadline '{text}' (expected RFC 3339, e.g. 2026-11-22T18:00:00Z)"
            ),
            ConfigError::MissingCommand => f.write_str("missing command"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<InvalidDuration> for ConfigError {
    fn from(e: InvalidDuration) -> Self {
        ConfigError::Duration(e)
    }
}

impl From<InvalidSignal> for ConfigError {
    fn from(e: InvalidSignal) -> Self {
        ConfigError::Signal(e)
    }
}

impl Config {
    /// Validates the raw arguments. `inherited_deadline` is the value of `TIMEOUT_RUN_DEADLINE`
    /// in timeout-run's environment, if any; an unreadable one is ignored (and reported by the
    /// caller), since refusing to run over a foreign variable would be worse.
    pub fn from_cli(
        cli: Cli,
        inherited_deadline: Option<SystemTime>,
    ) -> Result<Config, ConfigError> {
        let mut operands = cli.operands;
        let mut timeout = cli.timeout.as_deref().map(duration::parse).transpose()?;
        let own_deadline = cli
            .deadline
            .as_deref()
            .map(|text| {
                clock::parse_rfc3339(text).ok_or_else(|| ConfigError::Deadline(text.into()))
            })
            .transpose()?;

        // GNU form: `timeout-run DURATION COMMAND...` when no limit was given as an option.
        if cli.timeout.is_none() && cli.deadline.is_none() && !operands.is_empty() {
            let first = operands[0].to_str().map(duration::parse);
            match first {
                Some(Ok(d)) => {
                    if operands.len() == 1 {
                        // GNU timeout says "missing operand" here; running a command named
                        // "5" would hide the mistake.
                        return Err(ConfigError::MissingCommand);
                    }
                    timeout = Some(d);
                    operands.remove(0);
                    // `timeout-run 5 -- cmd`: clap kept the `--` that follows the duration.
                    // (GNU would run a command named `--`; see the README's compatibility
                    // notes.)
                    if operands.len() > 1 && operands[0] == "--" {
                        operands.remove(0);
                    }
                }
                // `timeout-run xyz cmd`: GNU timeout reads xyz as a duration and fails with 125.
                // Keep that, unless xyz is a command that exists (`timeout-run ls -l`). A name
                // that is not UTF-8 is no duration either.
                _ if operands.len() > 1 && !command_exists(&operands[0]) => {
                    return Err(ConfigError::Duration(InvalidDuration(display_os(
                        &operands[0],
                    ))));
                }
                _ => {}
            }
        }
        // An empty command name is a command that cannot be found (127), as in GNU.
        if operands.is_empty() {
            return Err(ConfigError::MissingCommand);
        }

        let stop_signal: Signal = cli.signal.as_deref().unwrap_or("TERM").parse()?;
        let grace = if cli.no_kill {
            None
        } else {
            Some(duration::parse(cli.grace.as_deref().unwrap_or("10s"))?)
        };
        // A nested timeout-run plans to have ended its whole stop sequence by the outer
        // deadline, so the script around it can still act on its 124: it stops its command a
        // grace period early. (At most half of the time left, so that a long default grace
        // under a short outer limit does not time the command out before it starts.)
        // With `--on-timeout`, the hook runs before the stop signal and counts too.
        let hook = cli
            .on_timeout
            .as_ref()
            .map(|_| {
                grace
                    .unwrap_or(Duration::from_secs(10))
                    .max(Duration::from_secs(1))
            })
            .unwrap_or(Duration::ZERO);
        let inherited_deadline = inherited_deadline.map(|outer| {
            let left = outer
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            outer - (grace.unwrap_or(Duration::ZERO) + hook).min(left / 2)
        });
        let deadline = match (own_deadline, inherited_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let optional = |v: &Option<String>| -> Result<Option<Duration>, ConfigError> {
            Ok(v.as_deref()
                .map(duration::parse)
                .transpose()?
                .filter(|d| !d.is_zero()))
        };
        let idle_timeout = optional(&cli.idle_timeout)?;
        // A heartbeat more often than every millisecond would be a flood, not a sign of life.
        let heartbeat = optional(&cli.heartbeat)?.map(|d| d.max(Duration::from_millis(1)));
        let retry_delay = duration::parse(cli.retry_delay.as_deref().unwrap_or("1s"))?;
        let verbosity = match (cli.quiet, cli.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Signals,
            (false, 2) => Verbosity::Lifecycle,
            (false, 3) => Verbosity::Debug,
            (false, _) => Verbosity::Trace,
        };
        Ok(Config {
            command: operands,
            timeout: timeout.filter(|d| !d.is_zero()),
            deadline,
            stop_signal,
            grace,
            preserve_status: cli.preserve_status,
            foreground: cli.foreground,
            contain: match cli.contain {
                None | Some(ContainArg::Auto) => Contain::Auto,
                Some(ContainArg::Cgroup) => Contain::Cgroup,
                Some(ContainArg::Group) => Contain::Group,
            },
            // --foreground leaves the tree alone, as GNU timeout does.
            leftovers: match cli.leftovers {
                _ if cli.foreground => Leftovers::Keep,
                None | Some(LeftoversArg::Kill) => Leftovers::Kill,
                Some(LeftoversArg::Wait) => Leftovers::Wait,
                Some(LeftoversArg::Keep) => Leftovers::Keep,
            },
            idle_timeout,
            retries: cli.retries.unwrap_or(0),
            retry_delay,
            retry_on: match cli.retry_on {
                None | Some(RetryOnArg::Any) => RetryOn::Any,
                Some(RetryOnArg::Timeout) => RetryOn::Timeout,
                Some(RetryOnArg::Error) => RetryOn::Error,
            },
            heartbeat,
            on_timeout: cli.on_timeout.filter(|c| !c.is_empty()),
            report: cli.report,
            verbosity,
        })
    }

    /// The command's name for messages: its first word, lossily decoded.
    pub fn command_name(&self) -> String {
        display_os(&self.command[0])
    }
}

/// Whether `name` names a file that exec could find: a path that exists, or a file of that
/// name in a `PATH` directory.
fn command_exists(name: &OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if name.as_bytes().contains(&b'/') {
        return std::path::Path::new(name).exists();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
}

/// Lossy display of an OS string for messages.
pub fn display_os(s: &OsStr) -> String {
    s.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("timeout-run").chain(args.iter().copied()))
            .expect("clap accepts the syntax");
        Config::from_cli(cli, None)
    }

    fn command(cfg: &Config) -> Vec<&str> {
        cfg.command.iter().map(|s| s.to_str().unwrap()).collect()
    }

    /// The options left out get the defaults that `--help` names.
    #[test]
    fn defaults_are_the_ones_the_help_names() {
        let cfg = parse(&["5", "x"]).unwrap();
        assert_eq!(cfg.stop_signal, Signal::TERM);
        assert_eq!(cfg.grace, Some(Duration::from_secs(10)));
        assert_eq!(cfg.contain, Contain::Auto);
        assert_eq!(cfg.leftovers, Leftovers::Kill);
        assert_eq!(cfg.retries, 0);
        assert_eq!(cfg.retry_delay, Duration::from_secs(1));
        assert_eq!(cfg.retry_on, RetryOn::Any);
        let help = match Cli::parse_from(vec!["timeout-run".into(), "--help".into()]) {
            Err(crate::cli::NoRun::Print(help)) => {
                help.split_whitespace().collect::<Vec<_>>().join(" ")
            }
            other => panic!("{other:?}"),
        };
        for (option, default) in [
            ("the time is up", "TERM"),
            ("after the stop signal)", "10s"),
            ("process tree", "auto"),
            ("on its own", "kill"),
            ("N more times", "0"),
            ("between attempts", "1s"),
            ("are retried", "any"),
        ] {
            assert!(
                help.contains(&format!("{option} [default: {default}]")),
                "{option}: {help}"
            );
        }
    }

    #[test]
    fn gnu_operand_form() {
        let cfg = parse(&["5", "sleep", "10"]).unwrap();
        assert_eq!(cfg.timeout, Some(Duration::from_secs(5)));
        assert_eq!(command(&cfg), ["sleep", "10"]);
    }

    #[test]
    fn duration_after_double_dash_is_still_the_gnu_duration() {
        let cfg = parse(&["--", "5", "cmd"]).unwrap();
        assert_eq!(cfg.timeout, Some(Duration::from_secs(5)));
        assert_eq!(command(&cfg), ["cmd"]);
    }

    #[test]
    fn double_dash_after_the_gnu_duration() {
        let cfg = parse(&["5", "--", "cmd", "--"]).unwrap();
        assert_eq!(cfg.timeout, Some(Duration::from_secs(5)));
        assert_eq!(command(&cfg), ["cmd", "--"]);
    }

    #[test]
    fn explicit_timeout_makes_the_first_operand_the_command() {
        let cfg = parse(&["-t", "1", "5", "x"]).unwrap();
        assert_eq!(cfg.timeout, Some(Duration::from_secs(1)));
        assert_eq!(command(&cfg), ["5", "x"]);
    }

    #[test]
    fn options_after_the_command_belong_to_it() {
        let cfg = parse(&["2", "ls", "-s", "KILL", "-v"]).unwrap();
        assert_eq!(command(&cfg), ["ls", "-s", "KILL", "-v"]);
        assert_eq!(cfg.stop_signal, Signal::TERM);
        assert_eq!(cfg.verbosity, Verbosity::Normal);
    }

    #[test]
    fn zero_means_no_timeout() {
        assert_eq!(parse(&["0", "true"]).unwrap().timeout, None);
        assert_eq!(parse(&["-t", "0", "true"]).unwrap().timeout, None);
    }

    #[test]
    fn no_duration_means_the_first_operand_is_the_command() {
        let cfg = parse(&["sleep", "1"]).unwrap();
        assert_eq!(cfg.timeout, None);
        assert_eq!(command(&cfg), ["sleep", "1"]);
    }

    #[test]
    fn unparsable_first_operand_is_a_bad_duration_unless_it_is_a_command() {
        let err = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(err(&["xyz", "true"]), "invalid time interval 'xyz'");
        assert_eq!(err(&["10€", "true"]), "invalid time interval '10€'");
        let not_utf8 = Cli::try_parse_from([
            OsStr::new("timeout-run"),
            std::os::unix::ffi::OsStrExt::from_bytes(b"\xff1"),
            OsStr::new("true"),
        ])
        .unwrap();
        assert_eq!(
            Config::from_cli(not_utf8, None).unwrap_err().to_string(),
            "invalid time interval '\u{fffd}1'"
        );
        assert_eq!(command(&parse(&["ls", "-l"]).unwrap()), ["ls", "-l"]);
        assert_eq!(
            command(&parse(&["/bin/sh", "-c", ":"]).unwrap()),
            ["/bin/sh", "-c", ":"]
        );
        // A lone operand is always the command.
        assert_eq!(command(&parse(&["xyz"]).unwrap()), ["xyz"]);
    }

    #[test]
    fn lone_duration_is_a_missing_command() {
        assert_eq!(parse(&["5"]).unwrap_err(), ConfigError::MissingCommand);
        // An empty name is a command, one that is not found.
        assert_eq!(command(&parse(&["-t", "5", ""]).unwrap()), [""]);
    }

    #[test]
    fn grace_and_kill_after() {
        assert_eq!(
            parse(&["true"]).unwrap().grace,
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse(&["-k", "2", "true"]).unwrap().grace,
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse(&["--kill-after=3", "true"]).unwrap().grace,
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse(&["-g", "0", "true"]).unwrap().grace,
            Some(Duration::ZERO)
        );
        assert_eq!(parse(&["--no-kill", "true"]).unwrap().grace, None);
    }

    #[test]
    fn bad_values_name_themselves() {
        let err = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(err(&["-t", "xyz", "true"]), "invalid time interval 'xyz'");
        assert_eq!(err(&["-k", "-1", "true"]), "invalid time interval '-1'");
        assert_eq!(err(&["-s", "FOO", "true"]), "'FOO': invalid signal");
        assert!(err(&["--deadline", "soon", "true"]).starts_with("invalid deadline 'soon'"));
    }

    #[test]
    fn earliest_deadline_wins() {
        let early = clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
        let late = clock::parse_rfc3339("2031-01-01T00:00:00Z").unwrap();
        let cli = Cli::try_parse_from(["t", "--deadline", "2031-01-01T00:00:00Z", "true"]).unwrap();
        // The inherited deadline, less the default grace of 10 s.
        assert_eq!(
            Config::from_cli(cli, Some(early)).unwrap().deadline,
            Some(early - Duration::from_secs(10))
        );
        let cli = Cli::try_parse_from(["t", "--deadline", "2030-01-01T00:00:00Z", "true"]).unwrap();
        assert_eq!(
            Config::from_cli(cli, Some(late)).unwrap().deadline,
            Some(early)
        );
    }

    #[test]
    fn a_nested_run_ends_its_stop_sequence_before_the_outer_deadline() {
        let outer = SystemTime::now() + Duration::from_secs(100);
        let cli = Cli::try_parse_from(["t", "-g", "5", "1h", "make"]).unwrap();
        let inner = Config::from_cli(cli, Some(outer))
            .unwrap()
            .deadline
            .unwrap();
        assert_eq!(outer.duration_since(inner).unwrap(), Duration::from_secs(5));
        // Never more than half of what is left.
        let cli = Cli::try_parse_from(["t", "-g", "500", "1h", "make"]).unwrap();
        let inner = Config::from_cli(cli, Some(outer))
            .unwrap()
            .deadline
            .unwrap();
        let reserved = outer.duration_since(inner).unwrap();
        assert!(reserved <= Duration::from_secs(50) && reserved > Duration::from_secs(49));
        // --no-kill has no grace to reserve.
        let cli = Cli::try_parse_from(["t", "--no-kill", "1h", "make"]).unwrap();
        assert_eq!(
            Config::from_cli(cli, Some(outer)).unwrap().deadline,
            Some(outer)
        );
    }

    #[test]
    fn verbosity_levels() {
        assert_eq!(parse(&["-q", "true"]).unwrap().verbosity, Verbosity::Quiet);
        assert_eq!(
            parse(&["-v", "true"]).unwrap().verbosity,
            Verbosity::Signals
        );
        assert_eq!(
            parse(&["-vv", "true"]).unwrap().verbosity,
            Verbosity::Lifecycle
        );
        assert_eq!(
            parse(&["-vvv", "true"]).unwrap().verbosity,
            Verbosity::Debug
        );
        assert_eq!(
            parse(&["-v", "-v", "-v", "-v", "true"]).unwrap().verbosity,
            Verbosity::Trace
        );
    }

    #[test]
    fn foreground_keeps_leftovers() {
        assert_eq!(parse(&["-f", "true"]).unwrap().leftovers, Leftovers::Keep);
        assert_eq!(parse(&["true"]).unwrap().leftovers, Leftovers::Kill);
    }
}
