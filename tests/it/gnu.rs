//! GNU coreutils' checks of `timeout`, ported as black-box tests of timeout-run.
//!
//! Each test names the upstream file and the check it ports (coreutils `tests/timeout/*`,
//! `tests/env/env-signal-handler.sh`, `tests/misc/invalid-opt.pl`, `tests/misc/getopt_vs_usage.sh`,
//! `tests/help/help-version.sh`, `tests/misc/sleep.sh`, ...). Messages are GNU's with
//! `timeout-run:` where GNU prints `timeout:`. Where timeout-run differs from GNU on purpose
//! (SPEC: 124 after a SIGKILL that followed the grace period, a default grace of 10 s, `-h`), the
//! test asserts timeout-run's documented behaviour and says so.
//!
//! GNU's helpers are replaced by equivalents: `returns_ N` by an exit-status assertion,
//! `env --ignore-signal` by `sh -c 'trap "" SIG; exec ...'` or a python3 wrapper, Perl's
//! `sigprocmask` by the same wrapper, `retry_delay_` by a readiness line on stdout.

use std::process::Command;
use std::time::Duration;

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// GNU's second line after a usage error.
const TRY: &str = "Try 'timeout-run --help' for more information.";

/// `sh -c SCRIPT` with `$0` = the binary under test, under the watchdog.
fn shell(script: &str) -> Finished {
    let mut c = Command::new("sh");
    crate::util::with_backend(&mut c);
    c.args(["-c", script, bin()]);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c.env_remove("TIMEOUT_RUN_LOG");
    start(c).finish()
}

/// A program that ignores the signals in its first argument and blocks those in its second
/// (comma-separated names without SIG), then executes the rest of its arguments: what GNU's
/// tests get from `env --ignore-signal`, `trap '' SIG` and Perl's `sigprocmask`. SIGPIPE and
/// SIGXFSZ, which python3 ignores for itself, are set back to default first.
const DISPOSITIONS: &str = "\
import os, signal, sys
names = lambda text: [getattr(signal, 'SIG' + n) for n in text.split(',') if n]
for s in (signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(s, signal.SIG_DFL)
for s in names(sys.argv[1]):
    signal.signal(s, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, names(sys.argv[2]))
os.execvp(sys.argv[3], sys.argv[3:])
";

/// `timeout-run ARGS...` started with IGNORE ignored and BLOCK blocked (see [`DISPOSITIONS`]).
fn with_dispositions(ignore: &[&str], block: &[&str], args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    crate::util::with_backend(&mut c);
    c.args([
        "-c",
        DISPOSITIONS,
        &ignore.join(","),
        &block.join(","),
        bin(),
    ]);
    c.args(args);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c.env_remove("TIMEOUT_RUN_LOG");
    c
}

/// The signal set of a `/proc/PID/status` field (`SigBlk`, `SigIgn`) in TEXT.
fn mask(text: &str, field: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} line in {text:?}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

fn bit(signal: i32) -> u64 {
    1u64 << (signal - 1)
}

/// stderr is exactly WANT.
fn assert_stderr_is(f: &Finished, want: &str) {
    assert_eq!(f.stderr, want, "{f:#?}");
}

/// A GNU-shaped usage error: `timeout-run: MESSAGE`, then the `Try ...` line, nothing else,
/// nothing on stdout, status 125.
fn assert_usage_error(f: &Finished, message: &str) {
    f.assert_code(125);
    assert_stderr_is(f, &format!("timeout-run: {message}\n{TRY}\n"));
    assert!(f.stdout.is_empty(), "{f:#?}");
}

/// A bad value: status 125, and `timeout-run: MESSAGE` as the first line of stderr; GNU follows
/// it with the `Try ...` line, SPEC §3.1 asks for one line: either is accepted, nothing else.
fn assert_value_error(f: &Finished, message: &str) {
    f.assert_code(125);
    let line = format!("timeout-run: {message}\n");
    assert!(
        f.stderr == line || f.stderr == format!("{line}{TRY}\n"),
        "expected {line:?} (optionally followed by {TRY:?}): {f:#?}"
    );
}

// ---- tests/timeout/timeout.sh ---------------------------------------------------------------

#[test]
fn gnu_timeout_sh_status_of_a_command_that_ends_in_time() {
    // timeout.sh "no timeout": timeout 10 true
    run(["10", "true"]).assert_code(0);
    // timeout.sh "no timeout (suffix check)": timeout 1d true
    run(["1d", "true"]).assert_code(0);
    // timeout.sh "disabled timeout": timeout 0 true
    run(["0", "true"]).assert_code(0);
    // timeout.sh "exit status propagation": returns_ 2 timeout 10 sh -c 'exit 2'
    run(["10", "sh", "-c", "exit 2"]).assert_code(2);
}

#[test]
fn gnu_timeout_sh_timeout_exits_124() {
    // timeout.sh "timeout": returns_ 124 timeout .1 sleep 10
    run([".1", "sleep", "10"])
        .assert_code(124)
        .assert_slower_than(Duration::from_millis(100))
        .assert_faster_than(5 * SEC);
}

#[test]
fn gnu_timeout_sh_preserve_status_on_timeout() {
    // timeout.sh "exit status propagation even on timeout": timeout --preserve-status .1 sleep 10
    // is not 124 but 128+TERM.
    run(["--preserve-status", ".1", "sleep", "10"]).assert_code(128 + libc::SIGTERM);
}

#[test]
fn gnu_timeout_sh_kill_delay_after_a_null_signal() {
    // timeout.sh "kill delay": timeout -s0 -k1 .1 sleep 10. GNU exits 137 (128+KILL); timeout-run
    // exits 124 after a SIGKILL that followed its grace period (SPEC §6, a documented
    // difference), and with --preserve-status it is the command's own status, 137.
    run(["-s0", "-k1", ".1", "sleep", "10"])
        .assert_code(124)
        .assert_slower_than(Duration::from_millis(1100))
        .assert_faster_than(6 * SEC);
    // timeout.sh "Ensure a consistent exit status with --foreground":
    // timeout --foreground -s0 -k1 .1 sleep 10 (GNU: 137, timeout-run: 124 as above).
    run(["--foreground", "-s0", "-k1", ".1", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(6 * SEC);
    // The same check with --preserve-status: the command's own status, 128+KILL.
    run(["--preserve-status", "-s0", "-k1", ".1", "sleep", "10"])
        .assert_code(128 + libc::SIGKILL)
        .assert_faster_than(6 * SEC);
}

#[test]
fn gnu_timeout_sh_immune_to_the_parents_ignored_sigchld() {
    // timeout.sh "Ensure 'timeout' is immune to parent's SIGCHLD handler":
    // (trap '' CHLD; exec timeout 10 true)
    let f = shell(r#"trap '' CHLD; exec "$0" 10 true"#);
    f.assert_code(0);
}

#[test]
fn gnu_timeout_sh_not_confused_by_a_child_it_started_with() {
    // timeout.sh "Don't be confused when starting off with a child (Bug#9098)":
    // out=$(sleep .1 & exec timeout .5 sh -c 'sleep 2; echo foo'): the shell's `sleep .1` becomes
    // timeout's child; its exit is not the command's.
    let f = shell(
        r#"out=$(sleep .1 & exec "$0" .5 sh -c 'sleep 2; echo foo'); echo "out=[$out] status=$?""#,
    );
    f.assert_code(0).assert_faster_than(5 * SEC);
    assert_eq!(f.stdout, "out=[] status=124\n", "{f:#?}");
}

#[test]
fn gnu_timeout_sh_verbose_output() {
    // timeout.sh "Verify --verbose output": for -v and --verbose,
    // timeout $opt -s0 -k .1 .1 sleep 10 prints exactly these two lines (GNU names signal 0
    // EXIT); nothing else (SPEC §7: -v prints exactly GNU's lines).
    for opt in ["-v", "--verbose"] {
        let f = run([opt, "-s0", "-k", ".1", ".1", "sleep", "10"]);
        // GNU's status here is 137; timeout-run's is 124 (SPEC §6).
        f.assert_code(124);
        assert_stderr_is(
            &f,
            "timeout-run: sending signal EXIT to command 'sleep'\n\
             timeout-run: sending signal KILL to command 'sleep'\n",
        );
    }
}

// ---- tests/timeout/timeout-parameters.sh ----------------------------------------------------

#[test]
fn gnu_timeout_parameters_invalid_durations_are_125() {
    let cases: &[(&[&str], &str)] = &[
        // timeout-parameters.sh "invalid timeouts": returns_ 125 timeout invalid sleep 0
        (&["invalid", "sleep", "0"], "invalid"),
        // timeout-parameters.sh "invalid timeouts": returns_ 125 timeout ' -0.1' sleep 0
        (&[" -0.1", "sleep", "0"], " -0.1"),
        // timeout-parameters.sh "invalid timeouts": returns_ 125 timeout ' -1e-10000' sleep 0
        (&[" -1e-10000", "sleep", "0"], " -1e-10000"),
        // timeout-parameters.sh "invalid kill delay":
        // returns_ 125 timeout --kill-after=invalid 1 sleep 0
        (&["--kill-after=invalid", "1", "sleep", "0"], "invalid"),
        // timeout-parameters.sh "invalid timeout suffix": returns_ 125 timeout 42D sleep 0
        (&["42D", "sleep", "0"], "42D"),
    ];
    for (args, value) in cases {
        let f = run(*args);
        assert_value_error(&f, &format!("invalid time interval '{value}'"));
    }
}

#[test]
fn gnu_timeout_parameters_fractional_durations() {
    // timeout-parameters.sh "floating point notation": timeout 10.34 sleep 0
    run(["10.34", "sleep", "0"]).assert_code(0);
    // timeout-parameters.sh "nanoseconds potentially supported": timeout 9.999999999 sleep 0
    run(["9.999999999", "sleep", "0"]).assert_code(0);
}

#[test]
fn gnu_timeout_parameters_underflow_rounds_up() {
    // timeout-parameters.sh "round underflow up to 1 ns": returns_ 124 timeout 1e-10000 sleep 10
    run(["1e-10000", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

#[test]
fn gnu_timeout_parameters_invalid_signal_is_125() {
    // timeout-parameters.sh "invalid signal spec":
    // returns_ 125 timeout --signal=invalid 1 sleep 0, with GNU's usage error.
    let f = run(["--signal=invalid", "1", "sleep", "0"]);
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        "timeout-run: 'invalid': invalid signal\nTry 'timeout-run --help' for more information.\n",
        "{f:#?}"
    );
}

#[test]
fn gnu_timeout_parameters_command_not_executable_is_126() {
    // timeout-parameters.sh "invalid command":
    // returns_ 126 env . && { returns_ 126 timeout 10 . || fail=1; }
    let mut env = Command::new("env");
    env.arg(".");
    let env = start(env).finish();
    if env.status.code() != Some(126) {
        return skip(
            "gnu_timeout_parameters_command_not_executable_is_126",
            "`env .` does not exit 126 here",
        );
    }
    let f = run(["10", "."]);
    f.assert_code(126).assert_stderr_lacks("(os error");
}

#[test]
fn gnu_timeout_parameters_no_such_command_is_127() {
    // timeout-parameters.sh "no such command": returns_ 127 timeout 10 no_such
    let f = run(["10", "no_such"]);
    f.assert_code(127)
        .assert_stderr_contains("'no_such'")
        .assert_stderr_contains("No such file or directory")
        .assert_stderr_lacks("(os error");
    // An empty name is a command too, one that cannot be found, as GNU reports it.
    let f = run(["10", ""]);
    f.assert_code(127)
        .assert_stderr_contains("failed to run command '': No such file or directory");
}

// ---- tests/timeout/timeout-large-parameters.sh ----------------------------------------------

/// getlimits_'s values, as GNU's tests spell them.
const UINT_OFLOW: &str = "4294967296";
const TIME_T_OFLOW: &str = "9223372036854775808";
const LDBL_MAX: &str = "1.18973149535723176502e+4932";

#[test]
fn gnu_timeout_large_parameters_saturate() {
    // timeout-large-parameters.sh sanity check: timeout $TIME_T_OFLOW sleep 3 must not time
    // out at once (a kernel time_t overflow fires the timer immediately).
    run([TIME_T_OFLOW, "sleep", "0.5"])
        .assert_code(0)
        .assert_slower_than(Duration::from_millis(500));
    // timeout-large-parameters.sh "timeout overflow": timeout $UINT_OFLOW sleep 0
    run([UINT_OFLOW, "sleep", "0"]).assert_code(0);
    // timeout-large-parameters.sh "timeout overflow": timeout ${TIME_T_OFLOW}d sleep 0
    run([&format!("{TIME_T_OFLOW}d"), "sleep", "0"]).assert_code(0);
    // timeout-large-parameters.sh "floating point notation": timeout 2.34e+5d sleep 0
    run(["2.34e+5d", "sleep", "0"]).assert_code(0);
    // timeout-large-parameters.sh "floating point overflow": timeout $LDBL_MAX sleep 0
    run([LDBL_MAX, "sleep", "0"]).assert_code(0);
}

#[test]
fn gnu_timeout_large_parameters_negative_overflow_is_invalid() {
    // timeout-large-parameters.sh "floating point overflow":
    // returns_ 125 timeout -- -$LDBL_MAX sleep 0
    let value = format!("-{LDBL_MAX}");
    let f = run(["--", &value, "sleep", "0"]);
    assert_value_error(&f, &format!("invalid time interval '{value}'"));
}

#[test]
fn gnu_timeout_large_parameters_underflow_times_out_at_once() {
    // timeout-large-parameters.sh "Ensure underflow times out immediately":
    // returns_ 124 timeout 1e-5000 sleep 10
    run(["1e-5000", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

// ---- tests/timeout/timeout-group.sh ---------------------------------------------------------

/// timeout-group.sh's timeout.cmd: traps INT, says it is running, then sleeps in one-second steps.
/// It also ignores ALRM (see the cascade test).
const GROUP_CMD: &str = "trap '' ALRM; trap 'echo got INT; exit' INT; echo ready; \
                         n=20; while [ $n -gt 0 ]; do sleep 1; n=$((n - 1)); done";

#[test]
fn gnu_timeout_group_interrupt_to_the_group_reaches_a_foreground_command() {
    // timeout-group.sh, first check: a SIGINT sent to a separate process group holding
    // `timeout --foreground 25 ./timeout.cmd 20` (a simulated Ctrl-C) makes timeout.cmd run its
    // INT trap at once. Upstream's group.sh also has `trap '' INT` and runs timeout in the
    // background, so timeout inherits INT ignored; under SPEC §3.2 an inherited ignored INT stays
    // ignored and the command inherits it (a shell cannot trap it then), which is tested by the
    // next test. Here timeout-run starts with INT at its default, as from an interactive shell;
    // start() puts it in a process group of its own, the "separate group" of the upstream test.
    let mut r = spawn(["--foreground", "25", "sh", "-c", GROUP_CMD]);
    r.wait_for_line("ready");
    // SAFETY: kill(2) of the process group start() created for this run.
    unsafe {
        libc::kill(-r.pid(), libc::SIGINT);
    }
    let f = r.finish();
    f.assert_stdout_contains("got INT")
        .assert_faster_than(10 * SEC);
    // Cancelled by INT: timeout-run ends itself by INT (SPEC §5, §6).
    f.assert_signal(libc::SIGINT);
}

#[test]
fn gnu_timeout_group_interrupt_inherited_as_ignored_stays_ignored() {
    if crate::util::linux_only(
        "gnu_timeout_group_interrupt_inherited_as_ignored_stays_ignored",
        "reads /proc/self/status",
    ) {
        return;
    }
    // timeout-group.sh, first check, as SPEC §3.2 reads upstream's set-up (group.sh runs
    // `trap '' INT` and starts timeout in the background, so timeout inherits INT and QUIT
    // ignored): the simulated Ctrl-C (and Ctrl-\) to the group is not acted on, not relayed, the
    // command inherits both signals ignored, and the run ends by its own timeout.
    let mut r = start(with_dispositions(
        &["INT", "QUIT"],
        &[],
        &[
            "-v",
            "1.5",
            "sh",
            "-c",
            "grep ^SigIgn: /proc/$$/status; echo ready; sleep 30",
        ],
    ));
    r.wait_for_line("ready");
    for signal in [libc::SIGINT, libc::SIGQUIT] {
        // SAFETY: kill(2) of the process group start() created, and of timeout-run itself.
        unsafe {
            libc::kill(-r.pid(), signal);
        }
        r.signal(signal);
    }
    let f = r.finish();
    f.assert_code(124)
        .assert_slower_than(Duration::from_millis(1500))
        .assert_faster_than(10 * SEC);
    assert_stderr_is(&f, "timeout-run: sending signal TERM to command 'sh'\n");
    let ignored = mask(&f.stdout, "SigIgn");
    assert_ne!(ignored & bit(libc::SIGINT), 0, "INT not ignored: {f:#?}");
    assert_ne!(ignored & bit(libc::SIGQUIT), 0, "QUIT not ignored: {f:#?}");
}

#[test]
fn gnu_timeout_group_cascaded_timeouts() {
    // timeout-group.sh "Ensure cascaded timeouts work": timeout -sALRM 30 timeout -sINT 25
    // ./timeout.cmd 20, then `kill -ALRM` to the outer timeout: it acts as on its own timer
    // (124), its ALRM reaches the inner timeout, which times out too and sends INT to
    // timeout.cmd, well before its 20 s. timeout-run sends its stop signal to the whole tree
    // (SPEC §3.4), where GNU signals only its own process group, so the outer ALRM reaches
    // timeout.cmd too: timeout.cmd ignores ALRM so that only the inner INT decides.
    let mut r = spawn(["-sALRM", "30", bin(), "-sINT", "25", "sh", "-c", GROUP_CMD]);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    let f = r.finish();
    f.assert_code(124)
        .assert_stdout_contains("got INT")
        .assert_faster_than(10 * SEC);
}

#[test]
fn gnu_timeout_group_sigalrm_from_outside_is_a_timeout() {
    // timeout-group.sh: `kill -ALRM $pid` "trigger the alarm of the first timeout command"
    // (SPEC §5: SIGALRM from outside means the time is up now: normal stop sequence, 124).
    let mut r = spawn(["-v", "30", "sh", "-c", "echo ready; exec sleep 30"]);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    let f = r.finish();
    f.assert_code(124).assert_faster_than(10 * SEC);
    assert_stderr_is(&f, "timeout-run: sending signal TERM to command 'sh'\n");
}

// ---- tests/timeout/timeout-blocked.pl -------------------------------------------------------

#[test]
fn gnu_timeout_blocked_alarm_blocked_by_the_parent() {
    // timeout-blocked.pl "block-alrm": with SIGALRM blocked by the parent (Perl sigprocmask),
    // `timeout .1 sleep 10` exits 124.
    start(with_dispositions(&[], &["ALRM"], &[".1", "sleep", "10"]))
        .finish()
        .assert_code(124)
        .assert_faster_than(5 * SEC);
    // The same set-up, the timeout forced by `kill -ALRM` as GNU's tests do (SPEC §5).
    let mut r = start(with_dispositions(
        &[],
        &["ALRM"],
        &["-v", "30", "sh", "-c", "echo ready; exec sleep 30"],
    ));
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    let f = r.finish();
    f.assert_code(124).assert_faster_than(10 * SEC);
    assert_stderr_is(&f, "timeout-run: sending signal TERM to command 'sh'\n");
}

#[test]
fn gnu_timeout_blocked_mask_reaches_the_command_except_the_stop_signal() {
    if crate::util::linux_only(
        "gnu_timeout_blocked_mask_reaches_the_command_except_the_stop_signal",
        "reads /proc/self/status",
    ) {
        return;
    }
    // timeout-blocked.pl, carried to the command (SPEC §3.2: a blocked mask stays blocked for
    // the command, except the stop signal): ALRM, USR1 and TERM blocked by the parent; the
    // command sees ALRM and USR1 blocked and TERM (the stop signal) unblocked.
    let f = start(with_dispositions(
        &[],
        &["ALRM", "USR1", "TERM"],
        &["5", "grep", "^SigBlk:", "/proc/self/status"],
    ))
    .finish();
    f.assert_code(0);
    let blocked = mask(&f.stdout, "SigBlk");
    assert_ne!(blocked & bit(libc::SIGALRM), 0, "ALRM unblocked: {f:#?}");
    assert_ne!(blocked & bit(libc::SIGUSR1), 0, "USR1 unblocked: {f:#?}");
    assert_eq!(
        blocked & bit(libc::SIGTERM),
        0,
        "TERM still blocked: {f:#?}"
    );
    // And so the timeout works without the SIGKILL that a blocked TERM would need (the default
    // grace is 10 s).
    start(with_dispositions(&[], &["TERM"], &["0.2", "sleep", "10"]))
        .finish()
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

// ---- tests/timeout/init-parent.sh -----------------------------------------------------------

#[test]
fn gnu_init_parent_timeout_as_pid_1() {
    if crate::util::linux_only("gnu_init_parent_timeout_as_pid_1", "pid namespaces") {
        return;
    }
    // init-parent.sh: newpids timeout 10 sleep 2 succeeds, and
    // returns_ 124 newpids timeout .1 sleep 10 (coreutils 9.10 exited at once when its parent
    // was the init process), with newpids = unshare --pid --fork --map-root-user.
    let mut prefix: Option<Vec<&str>> = None;
    for candidate in [
        vec!["--pid", "--fork", "--map-root-user"],
        vec!["--pid", "--fork"],
    ] {
        let mut c = Command::new("unshare");
        crate::util::with_backend(&mut c);
        c.args(&candidate).arg("true");
        if start(c).finish().status.code() == Some(0) {
            prefix = Some(candidate);
            break;
        }
    }
    let Some(prefix) = prefix else {
        return skip(
            "gnu_init_parent_timeout_as_pid_1",
            "unshare --pid --fork fails here",
        );
    };
    let newpids = |args: &[&str]| {
        let mut c = Command::new("unshare");
        crate::util::with_backend(&mut c);
        c.args(&prefix).arg(bin()).args(args);
        c.env_remove("TIMEOUT_RUN_DEADLINE");
        c.env_remove("TIMEOUT_RUN_LOG");
        start(c).finish()
    };
    newpids(&["10", "sleep", "1"])
        .assert_code(0)
        .assert_slower_than(SEC);
    newpids(&[".1", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

// ---- tests/env/env-signal-handler.sh --------------------------------------------------------

#[test]
fn gnu_env_signal_handler_verbose_lines() {
    // env-signal-handler.sh "Baseline test - ignore signal handler":
    // timeout --verbose --kill-after=.1 --signal=INT .1 env sleep 10 prints exactly
    // "timeout: sending signal INT to command 'env'" (sleep dies of INT).
    let f = run([
        "--verbose",
        "--kill-after=.1",
        "--signal=INT",
        ".1",
        "env",
        "sleep",
        "10",
    ]);
    f.assert_code(124);
    assert_stderr_is(&f, "timeout-run: sending signal INT to command 'env'\n");

    // env-signal-handler.sh "env test - ignore signal handler": with
    // `env --ignore-signal=INT sleep 10` as the command, INT does nothing and KILL follows.
    // The equivalent here is a shell that ignores INT and execs sleep; it does that within
    // microseconds, well before the 1 s timeout (upstream retries with growing delays instead).
    let f = run([
        "--verbose",
        "--kill-after=.1",
        "--signal=INT",
        "1",
        "sh",
        "-c",
        "trap '' INT; exec sleep 10",
    ]);
    // GNU's status is 137; timeout-run's is 124 (SPEC §6).
    f.assert_code(124)
        .assert_slower_than(Duration::from_millis(1100))
        .assert_faster_than(6 * SEC);
    assert_stderr_is(
        &f,
        "timeout-run: sending signal INT to command 'sh'\n\
         timeout-run: sending signal KILL to command 'sh'\n",
    );
}

// ---- tests/misc/invalid-opt.pl and usage errors ---------------------------------------------

#[test]
fn gnu_invalid_opt() {
    // invalid-opt.pl: `timeout -/` exits 125 with "timeout: invalid option -- '/'" and
    // "Try 'timeout --help' for more information.", nothing on stdout.
    assert_usage_error(&run(["-/"]), "invalid option -- '/'");
}

#[test]
fn gnu_usage_errors_read_as_getopt_words_them() {
    // getopt's wording for an unknown long option (SPEC §7), exit 125 as in invalid-opt.pl.
    assert_usage_error(&run(["--bogus", "true"]), "unrecognized option '--bogus'");
    // GNU timeout.c: fewer than two operands is a usage error (125). timeout-run names it
    // (SPEC §7), whether the duration is an operand or an option.
    assert_usage_error(&run(["5"]), "missing command");
    assert_usage_error(&run(["-t", "5"]), "missing command");
    // No operand at all: 125, GNU-shaped, no clap blocks.
    let f = run::<[&str; 0], &str>([]);
    f.assert_code(125);
    assert!(f.stderr.ends_with(&format!("{TRY}\n")), "{f:#?}");
    for line in f.stderr.lines() {
        assert!(
            line.starts_with("timeout-run: ") || line == TRY,
            "{line:?}: {f:#?}"
        );
    }
}

#[test]
fn gnu_double_dash_after_the_duration() {
    // GNU runs a command named `--` for `timeout 1 -- true` (127). SPEC §1's synopsis,
    // `timeout-run [OPTIONS] DURATION [--] COMMAND [ARG]...`, makes a `--` right after the
    // duration a separator: the command is `true`.
    run(["1", "--", "true"]).assert_code(0);
    // And a `--` before the duration leaves it the GNU duration (SPEC §1; GNU's own tests use
    // `timeout -- -$LDBL_MAX ...`).
    run(["--", "0.2", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

// ---- tests/misc/getopt_vs_usage.sh, tests/misc/option-aliases.sh ----------------------------

#[test]
fn gnu_getopt_vs_usage_help_names_every_gnu_option() {
    // getopt_vs_usage.sh: every short option that has a long form, and every long option, is
    // mentioned in --help (" -k", "--kill-after", ...). GNU timeout's options, which a drop-in
    // must take, plus timeout-run's -h and -V.
    let f = run(["--help"]);
    f.assert_code(0);
    for opt in [
        " -k",
        "--kill-after",
        " -s",
        "--signal",
        " -v",
        "--verbose",
        "--foreground",
        "--preserve-status",
        "--help",
        "--version",
        " -h",
        " -V",
    ] {
        f.assert_stdout_contains(opt);
    }
    // Each of GNU's long options, spelled as GNU's users write them, is accepted.
    run([
        "--kill-after=1",
        "--signal=TERM",
        "--verbose",
        "--foreground",
        "--preserve-status",
        "5",
        "true",
    ])
    .assert_code(0);
}

#[test]
fn gnu_option_aliases_are_accepted() {
    // option-aliases.sh: `$cmd $aliases --version` succeeds for options that have several long
    // names. GNU timeout has none; timeout-run's --grace has the alias --kill-after.
    for opt in ["--grace", "--kill-after"] {
        run([opt, "1", "--version"])
            .assert_code(0)
            .assert_stdout_contains(env!("CARGO_PKG_VERSION"));
    }
}

// ---- tests/help/help-version.sh -------------------------------------------------------------

#[test]
fn gnu_help_version() {
    // help-version.sh: `timeout --help` and `timeout --version` exit 0.
    run(["--help"]).assert_code(0);
    // timeout-run's extra short help option (SPEC §1).
    run(["-h"]).assert_code(0);
    // help-version.sh: the --version line ends with the package version.
    let f = run(["--version"]);
    f.assert_code(0);
    let first = f.stdout.lines().next().unwrap_or("");
    assert_eq!(
        first.rsplit(' ').next(),
        Some(env!("CARGO_PKG_VERSION")),
        "{f:#?}"
    );
    // help-version.sh "timeout_setup () { args=--version; }": env timeout --version < in > out.
    let f = shell(r#""$0" --version < /dev/null > /dev/null; echo "rc=$?""#);
    f.assert_stdout_contains("rc=0");
}

#[test]
fn gnu_help_version_to_a_full_disk_is_125() {
    // help-version.sh "Make sure they fail upon 'file system full' error":
    // returns_ 125 env timeout --help >/dev/full, the same for --version
    // (expected_failure_status_timeout=125).
    if !std::path::Path::new("/dev/full").exists() {
        return skip("gnu_help_version_to_a_full_disk_is_125", "no /dev/full");
    }
    for opt in ["--help", "--version", "-h"] {
        let f = shell(&format!(r#""$0" {opt} > /dev/full; echo "rc=$?""#));
        f.assert_stdout_contains("rc=125");
        // The error reads as the C library words it (SPEC §7).
        assert_eq!(f.stderr.lines().count(), 1, "{opt}: {f:#?}");
        assert!(f.stderr.starts_with("timeout-run: "), "{opt}: {f:#?}");
        f.assert_stderr_contains("No space left on device")
            .assert_stderr_lacks("(os error")
            .assert_stderr_lacks("panicked");
    }
}

#[test]
fn gnu_help_to_a_closed_stdout_or_a_gone_reader() {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    // As GNU timeout: a closed stdout is a write error (125, the C library's words), and a
    // reader that is gone ends timeout-run by SIGPIPE (unless SIGPIPE was ignored: then 125).
    let f = shell(r#""$0" --help >&-; echo "rc=$?""#);
    f.assert_stdout_contains("rc=125");
    assert_eq!(
        f.stderr, "timeout-run: write error: Bad file descriptor\n",
        "{f:#?}"
    );
    // A pipe whose reader is gone before timeout-run writes.
    let gone_reader = || {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors; the read end is closed at once.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
        }
        // SAFETY: the write end was just created and is owned by nothing else.
        std::process::Stdio::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[1]) })
    };
    // std starts children with SIGPIPE at its default.
    let status = Command::new(bin())
        .arg("--help")
        .stdout(gone_reader())
        .status()
        .expect("runs");
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
    let out = Command::new("sh")
        .args(["-c", r#"trap '' PIPE; exec "$0" --help"#, bin()])
        .stdout(gone_reader())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "timeout-run: write error: Broken pipe\n"
    );
}

// ---- tests/misc/sleep.sh (its timeout invocations and the shared duration grammar) ---------

#[test]
fn gnu_sleep_sh_status_of_the_command_passes_through() {
    // sleep.sh "invalid timeouts": returns_ 1 timeout 10 sleep invalid: the command's failure
    // status comes through timeout.
    run(["10", "sleep", "invalid"]).assert_code(1);
    run(["10", "sleep"]).assert_code(1);
}

#[test]
fn gnu_sleep_sh_long_sleeps_time_out() {
    // sleep.sh: returns_ 124 timeout 0.1 sleep 1d 2h 3m 4s; ... sleep inf; ... sleep $LDBL_MAX
    for args in [
        &["0.1", "sleep", "1d", "2h", "3m", "4s"][..],
        &["0.1", "sleep", "inf"],
        &["0.1", "sleep", LDBL_MAX],
    ] {
        run(args).assert_code(124).assert_faster_than(5 * SEC);
    }
}

#[test]
fn gnu_sleep_sh_hex_durations_take_every_hex_digit() {
    // sleep.sh "subsecond actual sleep": 0x.002p1 and 0x0.01d ("d is part of hex, not a day
    // suffix"), the number grammar timeout shares (SPEC §2). As timeout durations: 0x.002p1 is
    // about 1 ms, 0x0.01d about 7 ms (0x0.01 days would be 337 s).
    for value in ["0x.002p1", "0x0.01d"] {
        run([value, "sleep", "10"])
            .assert_code(124)
            .assert_faster_than(5 * SEC);
    }
    // And as the command's own durations, through timeout: timeout 10 sleep 0x0.01d.
    run(["10", "sleep", "0x0.01d"])
        .assert_code(0)
        .assert_faster_than(5 * SEC);
}

/// The installed name of the fr_FR UTF-8 locale, if any.
fn french_locale() -> Option<String> {
    let mut c = Command::new("locale");
    c.arg("-a");
    let f = start(c).finish();
    f.stdout
        .lines()
        .find(|l| {
            let l = l.to_ascii_lowercase().replace('-', "");
            l == "fr_fr.utf8"
        })
        .map(str::to_owned)
}

#[test]
fn gnu_sleep_sh_locale_decimal_point() {
    // sleep.sh "Test locale decimal handling for printf, sleep, timeout":
    // LC_ALL=$LOCALE_FR_UTF8 timeout 1,001 sleep 0,001 (SPEC §2: a value that does not parse
    // with '.' is read with the locale's decimal point, from LC_ALL, LC_NUMERIC or LANG).
    // Without that locale, a comma is no decimal point: 125.
    let mut c = cmd(["1,5", "true"]);
    c.env("LC_ALL", "C");
    assert_value_error(&start(c).finish(), "invalid time interval '1,5'");

    let Some(locale) = french_locale() else {
        return skip(
            "gnu_sleep_sh_locale_decimal_point",
            "no fr_FR UTF-8 locale installed (locale -a)",
        );
    };
    for variable in ["LC_ALL", "LC_NUMERIC", "LANG"] {
        let french = |args: &[&str]| {
            let mut c = cmd(args);
            for v in ["LC_ALL", "LC_NUMERIC", "LANG"] {
                c.env_remove(v);
            }
            c.env(variable, &locale);
            start(c).finish()
        };
        french(&["1,5", "true"]).assert_code(0);
        french(&["0,2", "sleep", "10"])
            .assert_code(124)
            .assert_slower_than(Duration::from_millis(200))
            .assert_faster_than(5 * SEC);
    }
}

// ---- command names in -v lines --------------------------------------------------------------

#[test]
fn gnu_verbose_quotes_the_command_name_as_given() {
    // timeout.sh "Verify --verbose output" names the command as it was given ('sleep');
    // a path stays a path.
    let f = run(["-v", ".1", "/bin/sleep", "10"]);
    f.assert_code(124);
    assert_stderr_is(
        &f,
        "timeout-run: sending signal TERM to command '/bin/sleep'\n",
    );
}
