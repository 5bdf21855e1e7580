//! The command-line syntax (clap derive), with clap's errors reworded as GNU's getopt words them.
//! Values stay raw strings here; `config` validates them, so every bad value produces the same
//! one-line message and exit status 125.

use std::ffi::{OsStr, OsString};

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use clap::{ArgAction, Parser, ValueEnum};

const LONG_ABOUT: &str = "\
Run COMMAND with a time limit, stop its whole process tree gracefully when the limit is reached \
(stop signal, grace period, SIGKILL), relay signals to it, reap every child, and report exactly \
what happened through the exit status.

A drop-in for GNU timeout: 'timeout-run 5 cmd' is 'timeout-run --timeout 5 -- cmd'.";

const AFTER_HELP: &str = "\
DURATION: a number of seconds as C's strtod reads it (10, 0.5, 1e-3, or a hexadecimal float: \
0x1.8p1 is 3 s, and 0x0.1d is 0x0.1D s, about 0.113 s, since every hex digit belongs to the \
number), with an optional GNU suffix s, m, h, d (1.5m), or a humantime span (250ms, 1m30s, \
'2h 5m'). The locale's decimal point is accepted too (1,5 in a French locale). 0 disables the \
limit.
SIGNAL: a name with or without SIG in any case (TERM, SIGINT, hup), a number (15), RTMIN+N, \
RTMAX-N, or 0 (send nothing; only the SIGKILL after the grace period ends the command).

Exit status: the command's own, or 124 timed out, 125 timeout-run failed, 126 command not \
executable, 127 command not found; death by the same signal when the command was killed by a \
signal timeout-run did not send, or when timeout-run was cancelled by INT, TERM, HUP or QUIT.

Environment: TIMEOUT_RUN_DEADLINE (set for the command; a nested timeout-run honours the earlier \
deadline), TIMEOUT_RUN_LOG (log filter, overrides -v/-q), TIMEOUT_RUN_BACKEND=portable (on \
Linux, the backend of macOS and FreeBSD; not passed to the command).

Platforms: Linux holds the tree in a cgroup, or with a child subreaper and a /proc walk, and the \
command dies with a SIGKILLed timeout-run (parent-death signal). macOS and FreeBSD hold the \
command's process group: on macOS, descendants that leave it (setsid) are neither stopped nor \
waited for, and the command outlives a SIGKILLed timeout-run; FreeBSD's reaper reaches them and \
its parent-death signal ends the command. No cgroups (--contain cgroup fails) outside Linux.";

/// Raw command-line arguments. Options left out are `None`, and `config` gives them their
/// defaults, named in their help: clap's own defaults cost a sixth of timeout-run's start-up
/// instructions in the static build (each is parsed and stored at every start).
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
    max_term_width = 100,
    // As getopt_long: a repeated option takes its last value, and a long option may be
    // abbreviated to any unambiguous prefix.
    args_override_self = true,
    infer_long_args = true
)]
pub struct Cli {
    /// Wall-clock limit for the command (0: none)
    #[arg(short = 't', long, value_name = "DURATION", allow_hyphen_values = true)]
    pub timeout: Option<String>,

    /// Absolute end time, RFC 3339 (e.g. 2026-11-22T18:00:00Z); a past time times out at once
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub deadline: Option<String>,

    /// Signal sent to the command's tree when the time is up [default: TERM]
    #[arg(
        short = 's',
        long,
        value_name = "SIGNAL",
        allow_hyphen_values = true,
        value_parser = SignalHint,
        hide_possible_values = true
    )]
    pub signal: Option<String>,

    /// Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal)
    /// [default: 10s]
    #[arg(
        short = 'g',
        long,
        value_name = "DURATION",
        allow_hyphen_values = true,
        visible_alias = "kill-after",
        visible_short_alias = 'k'
    )]
    pub grace: Option<String>,

    /// Never escalate to SIGKILL (GNU timeout's behaviour without -k)
    #[arg(long, conflicts_with = "grace")]
    pub no_kill: bool,

    /// Exit with the command's own status even when it timed out
    #[arg(short = 'p', long)]
    pub preserve_status: bool,

    /// Signal only the direct child and leave its descendants alone (GNU compatibility)
    #[arg(short = 'f', long)]
    pub foreground: bool,

    /// How to hold the command's process tree [default: auto]
    #[arg(long, value_enum, value_name = "MODE")]
    pub contain: Option<ContainArg>,

    /// What to do with descendants still alive when the command exits on its own [default: kill]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub leftovers: Option<LeftoversArg>,

    /// Stop the command if it writes nothing to stdout or stderr for this long (a file, pipe or
    /// terminal is watched, not relayed: other writers to it count as output; a socket or a
    /// device such as /dev/null is relayed through a pipe)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub idle_timeout: Option<String>,

    /// Run the command again after a failed attempt, up to N more times [default: 0]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub retries: Option<u32>,

    /// Pause between attempts [default: 1s]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub retry_delay: Option<String>,

    /// Which failures are retried [default: any]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub retry_on: Option<RetryOnArg>,

    /// Print a progress line on stderr at this interval
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub heartbeat: Option<String>,

    /// At a timeout, before the stop signal, run CMD through 'sh -c' (TIMEOUT_RUN_PID and
    /// TIMEOUT_RUN_PIDS name the tree; its output goes to stderr), for stack dumps
    #[arg(
        long,
        value_name = "CMD",
        value_hint = clap::ValueHint::CommandString,
        allow_hyphen_values = true
    )]
    pub on_timeout: Option<OsString>,

    /// Write a JSON summary to PATH ('-' for stderr)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub report: Option<std::path::PathBuf>,

    /// Print GNU timeout's line for each signal sent (-vv: every lifecycle event, -vvv: debug,
    /// -vvvv: trace)
    #[arg(short = 'v', long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print nothing but fatal errors
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print the man page or a shell's completion script on stdout, and exit
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        exclusive = true,
        hide_short_help = true,
        long_help = "Print the man page or a shell's completion script on stdout, and exit \
                     (the same files that packages install; see the README for where they go)"
    )]
    pub generate: Option<GenerateArg>,

    /// The command to run and its arguments; in the GNU form, the time limit comes first
    #[arg(
        value_name = OPERANDS,
        required_unless_present = "generate",
        num_args = 1..,
        trailing_var_arg = true,
        value_hint = clap::ValueHint::CommandWithArguments
    )]
    pub operands: Vec<OsString>,
}

/// How help and the man page name the operands. clap puts an optional operand's name in
/// brackets (`[NAME]...`), so this one reads `[DURATION] COMMAND [ARG]...` there.
const OPERANDS: &str = "DURATION] COMMAND [ARG";

/// The signals that the shell completions offer after `-s`, by name and by number (Linux
/// numbering). A hint only: `-s` takes any string, and `config` decides what names a signal.
pub const SIGNALS: &[(&str, &str)] = &[
    ("HUP", "1"),
    ("INT", "2"),
    ("QUIT", "3"),
    ("ILL", "4"),
    ("TRAP", "5"),
    ("ABRT", "6"),
    ("BUS", "7"),
    ("FPE", "8"),
    ("KILL", "9"),
    ("USR1", "10"),
    ("SEGV", "11"),
    ("USR2", "12"),
    ("PIPE", "13"),
    ("ALRM", "14"),
    ("TERM", "15"),
    ("STKFLT", "16"),
    ("CHLD", "17"),
    ("CONT", "18"),
    ("STOP", "19"),
    ("TSTP", "20"),
    ("TTIN", "21"),
    ("TTOU", "22"),
    ("URG", "23"),
    ("XCPU", "24"),
    ("XFSZ", "25"),
    ("VTALRM", "26"),
    ("PROF", "27"),
    ("WINCH", "28"),
    ("IO", "29"),
    ("PWR", "30"),
    ("SYS", "31"),
    // Their numbers depend on the C library.
    ("RTMIN", ""),
    ("RTMAX", ""),
];

/// `-s`'s value parser: any UTF-8 string, as `String` would take it, with the signal names as
/// possible values so that the generated completions offer them. clap never rejects a value
/// here; an unknown signal is `config`'s `invalid signal` error like any other bad value.
#[derive(Debug, Clone, Copy)]
pub struct SignalHint;

impl TypedValueParser for SignalHint {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let names = SIGNALS.iter().map(|(name, number)| {
            PossibleValue::new(*name).help(match *number {
                "" => format!("SIG{name}"),
                _ => format!("SIG{name} ({number})"),
            })
        });
        let numbers = SIGNALS
            .iter()
            .filter(|(_, number)| !number.is_empty())
            .map(|(name, number)| PossibleValue::new(*number).help(format!("SIG{name}")));
        Some(Box::new(names.chain(numbers)))
    }
}

/// Why a command line does not lead to a run: help or version was asked for, or it is wrong.
#[derive(Debug)]
pub enum NoRun {
    /// `--help` or `--version`: this text goes to stdout.
    Print(String),
    /// A usage error, worded as GNU's getopt words them (without the program name).
    Usage(String),
}

impl Cli {
    /// Parses a command line (program name first) with clap, and turns clap's errors into
    /// GNU-shaped usage errors.
    pub fn parse_from(args: Vec<OsString>) -> Result<Cli, NoRun> {
        Cli::try_parse_from(&args).map_err(|e| gnu_error(&e, &args))
    }
}

/// The GNU wording of a clap error: `invalid option -- 'x'`, `unrecognized option '--bogus'`,
/// `option '--signal' requires an argument`, `missing command`, ...
fn gnu_error(e: &clap::Error, args: &[OsString]) -> NoRun {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    // clap names an argument as `--signal <SIGNAL>`: keep the option alone.
    let option = |kind: ContextKind| {
        context(kind)
            .map(|a| a.split_whitespace().next().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    let message = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return NoRun::Print(e.render().to_string());
        }
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg).unwrap_or_default();
            match arg.strip_prefix("--") {
                // `-v-`: clap names the short option `-` as `--`.
                Some(given) if !given.is_empty() => {
                    let name = given.split('=').next().unwrap_or(given);
                    let matches = long_options_starting_with(name);
                    if matches.len() > 1 {
                        let possibilities: Vec<String> =
                            matches.iter().map(|m| format!("'--{m}'")).collect();
                        // As typed, with its `=VALUE` (clap's context drops it).
                        let typed = args
                            .iter()
                            .filter_map(|a| a.to_str())
                            .find(|a| {
                                a.strip_prefix(arg.as_str())
                                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
                            })
                            .unwrap_or(&arg);
                        format!(
                            "option '{typed}' is ambiguous; possibilities: {}",
                            possibilities.join(" ")
                        )
                    } else {
                        format!("unrecognized option '{arg}'")
                    }
                }
                _ => {
                    let short = arg.strip_prefix('-').unwrap_or(&arg);
                    format!("invalid option -- '{short}'")
                }
            }
        }
        ErrorKind::MissingRequiredArgument
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "missing command".to_owned(),
        ErrorKind::InvalidValue if matches!(e.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if v.is_empty()) => {
            missing_argument(args).unwrap_or_else(|| {
                format!(
                    "option '{}' requires an argument",
                    option(ContextKind::InvalidArg)
                )
            })
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => format!(
            "invalid argument '{}' for '{}'",
            context(ContextKind::InvalidValue).unwrap_or_default(),
            option(ContextKind::InvalidArg)
        ),
        // `--help=x`, `--verbose=1`: clap names the option (`--verbose...` for a counted one).
        ErrorKind::TooManyValues
            if context(ContextKind::InvalidArg).is_some_and(|a| a.starts_with("--")) =>
        {
            format!(
                "option '{}' doesn't allow an argument",
                option(ContextKind::InvalidArg).trim_end_matches("...")
            )
        }
        ErrorKind::ArgumentConflict if context(ContextKind::PriorArg).is_none() => format!(
            "option '{}' must be used alone",
            option(ContextKind::InvalidArg)
        ),
        ErrorKind::ArgumentConflict => format!(
            "options '{}' and '{}' cannot be used together",
            option(ContextKind::InvalidArg),
            option(ContextKind::PriorArg)
        ),
        _ => {
            // Anything else: clap's first line, without its `error: ` tag.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid command line");
            first.strip_prefix("error: ").unwrap_or(first).to_owned()
        }
    };
    NoRun::Usage(message)
}

/// getopt's words for an option that ends the command line without its value, named as typed:
/// `option requires an argument -- 'k'` for a short one (alone or last in a cluster such as
/// `-vk`), `option '--kill-after' requires an argument` for a long one or its abbreviation.
fn missing_argument(args: &[OsString]) -> Option<String> {
    let last = args.last()?.to_str()?;
    if let Some(long) = last.strip_prefix("--") {
        let matches = long_options_starting_with(long);
        let full = matches
            .iter()
            .find(|m| *m == long)
            .or_else(|| matches.first().filter(|_| matches.len() == 1))?;
        return Some(format!("option '--{full}' requires an argument"));
    }
    let short = last.strip_prefix('-')?.chars().last()?;
    Some(format!("option requires an argument -- '{short}'"))
}

/// The long options (and their aliases) that `prefix` abbreviates, in the order of `--help`:
/// clap refuses an abbreviation of more than one, which getopt calls ambiguous.
fn long_options_starting_with(prefix: &str) -> Vec<String> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    command.build();
    let mut names: Vec<String> = Vec::new();
    for arg in command.get_arguments() {
        let longs = arg.get_long().into_iter();
        let aliases = arg.get_all_aliases().into_iter().flatten();
        for name in longs.chain(aliases) {
            if name.starts_with(prefix) && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// `--generate`: what to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateArg {
    /// The man page (roff)
    Man,
    /// bash completion (needs the bash-completion package to complete the command's arguments)
    Bash,
    /// zsh completion
    Zsh,
    /// fish completion
    Fish,
    /// elvish completion
    Elvish,
    /// PowerShell completion
    Powershell,
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

    fn usage(args: &[&str]) -> String {
        match Cli::parse_from(argv(args)) {
            Err(NoRun::Usage(message)) => message,
            other => panic!("{args:?}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn usage_errors_are_worded_as_gnu_words_them() {
        assert_eq!(usage(&["-/", "5", "x"]), "invalid option -- '/'");
        assert_eq!(
            usage(&["--bogus", "5", "x"]),
            "unrecognized option '--bogus'"
        );
        assert_eq!(usage(&[]), "missing command");
        assert_eq!(usage(&["-s"]), "option requires an argument -- 's'");
        assert_eq!(usage(&["-vk"]), "option requires an argument -- 'k'");
        assert_eq!(usage(&["--sig"]), "option '--signal' requires an argument");
        assert_eq!(
            usage(&["--kill"]),
            "option '--kill-after' requires an argument"
        );
        assert_eq!(usage(&["--grace"]), "option '--grace' requires an argument");
        assert_eq!(usage(&["-v-", "1", "x"]), "invalid option -- '-'");
        assert_eq!(
            usage(&["--fore=yes", "1", "x"]),
            "option '--foreground' doesn't allow an argument"
        );
        assert_eq!(
            usage(&["--verbose=1", "1", "x"]),
            "option '--verbose' doesn't allow an argument"
        );
        assert_eq!(
            usage(&["--contain", "box", "x"]),
            "invalid argument 'box' for '--contain'"
        );
        assert_eq!(
            usage(&["--retries", "two", "x"]),
            "invalid argument 'two' for '--retries'"
        );
        assert_eq!(
            usage(&["--no-kill", "-k", "1", "x"]),
            "options '--no-kill' and '--grace' cannot be used together"
        );
        // As getopt_long: an abbreviation of several options names them.
        assert_eq!(
            usage(&["--ver"]),
            "option '--ver' is ambiguous; possibilities: '--verbose' '--version'"
        );
        assert_eq!(
            usage(&["--re=1", "5", "x"]),
            "option '--re=1' is ambiguous; possibilities: '--retries' '--retry-delay' \
             '--retry-on' '--report'"
        );
    }

    #[test]
    fn generate_is_used_alone() {
        let cli = Cli::parse_from(argv(&["--generate", "zsh"])).expect("parse");
        assert_eq!(cli.generate, Some(GenerateArg::Zsh));
        assert_eq!(
            usage(&["--generate", "bash", "5", "x"]),
            "option '--generate' must be used alone"
        );
        assert_eq!(
            usage(&["--generate", "tcsh"]),
            "invalid argument 'tcsh' for '--generate'"
        );
    }

    #[test]
    fn signal_hints_never_reject_a_value() {
        // An unknown name is config's error (invalid signal), not clap's.
        let cli = Cli::parse_from(argv(&["-s", "NOPE", "5", "x"])).expect("parse");
        assert_eq!(cli.signal.as_deref(), Some("NOPE"));
        let cli = Cli::parse_from(argv(&["-s", "rtmin+3", "5", "x"])).expect("parse");
        assert_eq!(cli.signal.as_deref(), Some("rtmin+3"));
    }

    #[test]
    fn help_names_the_operands_once() {
        let help = |flag: &str| match Cli::parse_from(argv(&[flag])) {
            Err(NoRun::Print(help)) => help,
            other => panic!("{flag}: {other:?}"),
        };
        let long = help("--help");
        assert!(long.contains("\n  [DURATION] COMMAND [ARG]...\n"), "{long}");
        assert!(!long.contains("<COMMAND>"), "{long}");
        assert!(long.contains("--generate <WHAT>"), "{long}");
        let short = help("-h");
        assert!(
            short.contains("\n  [DURATION] COMMAND [ARG]...  "),
            "{short}"
        );
        assert!(!short.contains("--generate"), "only in --help: {short}");
    }

    #[test]
    fn repeated_options_take_the_last_value_as_getopt_does() {
        let cli = Cli::parse_from(argv(&["-s", "INT", "-s", "KILL", "5", "x"])).expect("parse");
        assert_eq!(cli.signal.as_deref(), Some("KILL"));
    }

    #[test]
    fn unambiguous_long_option_prefixes_are_accepted() {
        let cli = Cli::parse_from(argv(&["--sig", "INT", "--kill", "3", "--pres", "5", "x"]))
            .expect("parse");
        assert_eq!(
            (
                cli.signal.as_deref(),
                cli.grace.as_deref(),
                cli.preserve_status
            ),
            (Some("INT"), Some("3"), true)
        );
        assert_eq!(usage(&["--ver", "5", "x"]), usage(&["--ver", "5", "x"]));
    }

    #[test]
    fn help_and_version_are_printed() {
        assert!(
            matches!(Cli::parse_from(argv(&["--help"])), Err(NoRun::Print(t)) if t.contains("Usage"))
        );
        assert!(
            matches!(Cli::parse_from(argv(&["-V"])), Err(NoRun::Print(t)) if t.contains("timeout-run"))
        );
    }

    #[test]
    fn options_after_the_first_operand_belong_to_the_command() {
        let cli = Cli::parse_from(argv(&[
            "5",
            "cmd",
            "--timeout",
            "1",
            "-s",
            "KILL",
            "--help",
        ]))
        .expect("parse");
        assert_eq!(cli.signal, None);
        assert_eq!(cli.operands.len(), 7);
        let dash = Cli::parse_from(argv(&["-"])).expect("'-' is an operand");
        assert_eq!(dash.operands, [OsString::from("-")]);
    }
}
