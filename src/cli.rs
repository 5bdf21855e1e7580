//! The command-line syntax (clap derive). Values stay raw strings here; `config` validates them, so
//! every bad value produces the same one-line message and exit status 125.

use std::ffi::OsString;

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
#[derive(Debug, Parser)]
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
}

/// Generated files (completions, man page), rendered from this definition. A unit test compares
/// them with the committed copies; `TIMEOUT_RUN_REGENERATE=1 cargo test generated` rewrites them.
#[cfg(test)]
mod generated {
    use super::Cli;
    use clap::CommandFactory;
    use clap_complete::Shell;
    use std::path::Path;

    const MAN_EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fIN\fR
the command exited with code N
.TP
\fB124\fR
the time limit, \fB\-\-deadline\fR or \fB\-\-idle\-timeout\fR was reached (even when SIGKILL was needed); with \fB\-\-preserve\-status\fR, the command's own status instead (128+S for a death by signal S)
.TP
\fB125\fR
timeout\-run itself failed: bad option or value, unknown signal, missing command, unwritable report, internal error
.TP
\fB126\fR
the command was found but could not be executed
.TP
\fB127\fR
the command was not found
.TP
death by signal S
the command was killed by a signal S that timeout\-run did not send, or timeout\-run received INT, TERM, HUP or QUIT and stopped the command: timeout\-run dies by S, so the caller sees 128+S and a shell loop stops
.SH ENVIRONMENT
.TP
\fBTIMEOUT_RUN_DEADLINE\fR
Set for the command when a limit applies: the absolute deadline in Unix seconds with a fraction. A timeout\-run that finds it in its own environment uses the earlier of it and its own limit, so nested runs end together.
.TP
\fBTIMEOUT_RUN_LOG\fR
A tracing filter directive (e.g. \fBdebug\fR) that overrides \fB\-v\fR and \fB\-q\fR. \fBRUST_LOG\fR is not read; it reaches the command untouched.
.SH SIGNALS
INT, TERM, HUP and QUIT received by timeout\-run are relayed to the command's tree and start the grace period; the same signal again means SIGKILL at once; afterwards timeout\-run dies by that signal. Every other catchable signal (USR1, USR2, WINCH, CONT, ALRM, real\-time signals, ...) is relayed and changes nothing else. Signals that timeout\-run inherited as ignored stay ignored and are not relayed.
.PP
When stdin is a terminal and timeout\-run runs in its foreground, the command shares timeout\-run's process group: it can read the terminal, Ctrl\-C reaches it exactly once (timeout\-run does not relay the terminal's signals but still starts the grace period), and Ctrl\-Z suspends the whole job.
.PP
If timeout\-run is killed with SIGKILL, the command dies too (parent\-death signal); its descendants keep running in the orphaned cgroup or process group.
.SH EXAMPLES
.TP
\fBtimeout\-run 10m ./run\-tests.sh\fR
GNU form: stop the tests after 10 minutes (SIGTERM, then SIGKILL 10 s later), exit 124.
.TP
\fBtimeout\-run \-t 30s \-g 5s \-s INT \-\- make check\fR
Send SIGINT at the deadline and SIGKILL 5 s later.
.TP
\fBexec timeout\-run \-\-timeout 20m \-\-idle\-timeout 5m \-\-heartbeat 1m \-\-report report.json \-\- ./ci.sh\fR
A CI step: a hard limit, a limit on silence, a progress line every minute, a JSON summary.
.TP
\fBtimeout\-run \-\-retries 2 \-\-retry\-on timeout \-t 1m \-\- curl \-fsS https://example.com/health\fR
Retry a flaky check twice, only when it times out.
.TP
\fBtimeout\-run \-\-deadline 2026\-11\-22T18:00:00Z \-\- ./batch\fR
Stop at an absolute time; the batch sees it in TIMEOUT_RUN_DEADLINE.
"#;

    fn completions() -> Vec<(&'static str, Vec<u8>)> {
        [
            (Shell::Bash, "timeout-run.bash"),
            (Shell::Zsh, "_timeout-run"),
            (Shell::Fish, "timeout-run.fish"),
            (Shell::Elvish, "timeout-run.elv"),
            (Shell::PowerShell, "_timeout-run.ps1"),
        ]
        .into_iter()
        .map(|(shell, file)| {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "timeout-run", &mut out);
            (file, out)
        })
        .collect()
    }

    fn man_page() -> Vec<u8> {
        let man = clap_mangen::Man::new(Cli::command());
        let mut out = Vec::new();
        man.render_title(&mut out).unwrap();
        man.render_name_section(&mut out).unwrap();
        man.render_synopsis_section(&mut out).unwrap();
        man.render_description_section(&mut out).unwrap();
        man.render_options_section(&mut out).unwrap();
        out.extend_from_slice(MAN_EXTRA.as_bytes());
        man.render_version_section(&mut out).unwrap();
        out
    }

    #[test]
    fn generated_files_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = completions()
            .into_iter()
            .map(|(name, text)| (root.join("completions").join(name), text))
            .collect();
        files.push((root.join("docs/timeout-run.1"), man_page()));
        let regenerate = std::env::var_os("TIMEOUT_RUN_REGENERATE").is_some();
        let mut stale = Vec::new();
        for (path, text) in files {
            if regenerate {
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "stale generated files (run TIMEOUT_RUN_REGENERATE=1 cargo test generated): {stale:?}"
        );
    }
}
