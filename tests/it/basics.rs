//! The core supervisor: command line, exit statuses, stop sequence, signals received, spawn.

use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// A shell (and its `sleep`) that ignore SIGTERM. The shell installs this within microseconds of
/// starting, well before any timeout of these tests (1 s or more) can fire.
const IGNORE_TERM: &str = "trap '' TERM; sleep 30";

/// A shell that exits with `code` on `signal` (its `sleep` runs in the background so the trap
/// runs at once).
fn trap(signal: &str, code: i32) -> String {
    format!("trap 'exit {code}' {signal}; sleep 30 & wait")
}

// ---- exit statuses (SPEC §6), one test per row -------------------------------------------

#[test]
fn exit_code_of_the_command_passes_through() {
    for code in [0, 1, 2, 3, 124, 125, 126, 127, 255] {
        run(["5", "sh", "-c", &format!("exit {code}")]).assert_code(code);
    }
}

#[test]
fn timeout_exits_124() {
    run(["0.2", "sleep", "10"])
        .assert_code(124)
        .assert_slower_than(Duration::from_millis(200))
        .assert_faster_than(3 * SEC);
}

#[test]
fn timeout_needing_sigkill_still_exits_124() {
    run(["-v", "-t", "1", "-g", "0.3", "sh", "-c", IGNORE_TERM])
        .assert_code(124)
        .assert_slower_than(Duration::from_millis(1300))
        .assert_faster_than(5 * SEC)
        .assert_stderr_contains("sending signal KILL");
}

#[test]
fn preserve_status_reports_the_command_status() {
    run(["-p", "0.2", "sleep", "10"]).assert_code(128 + libc::SIGTERM);
    run(["-p", "-t", "1", "-g", "0.2", "sh", "-c", IGNORE_TERM]).assert_code(128 + libc::SIGKILL);
    run(["--preserve-status", "-t", "1", "sh", "-c", &trap("TERM", 7)]).assert_code(7);
}

#[test]
fn command_killed_by_a_foreign_signal_is_re_raised() {
    run(["5", "sh", "-c", "kill -USR1 $$"]).assert_signal(libc::SIGUSR1);
}

#[test]
fn a_core_dumping_signal_is_re_raised_without_a_core_of_timeout_runs_own() {
    // Core dumps allowed (a limit of 0 would make the check below vacuous), in a directory of
    // our own for the `core` files the kernel may write.
    let dir = tempdir();
    let in_dir = |script: &str| {
        let mut c = std::process::Command::new("sh");
        crate::util::with_backend(&mut c);
        c.current_dir(dir.path()).args([
            "-c",
            &format!("ulimit -c unlimited || exit 99; {script}"),
            bin(),
        ]);
        start(c).finish()
    };
    // Control: here a process killed by SIGSEGV does dump core.
    let control = in_dir("exec sh -c 'kill -SEGV $$'");
    if !control.status.core_dumped_compat() {
        return skip(
            "a_core_dumping_signal_is_re_raised_without_a_core_of_timeout_runs_own",
            &format!("no core dumps on this machine ({control:?})"),
        );
    }
    // The command dumps its core; timeout-run says so, as GNU does, and dies by SIGSEGV too,
    // without dumping its own.
    let f = in_dir(r#"exec "$0" 5 sh -c 'kill -SEGV $$'"#);
    f.assert_signal(libc::SIGSEGV);
    assert!(!f.status.core_dumped_compat(), "{f:#?}");
    assert_eq!(
        f.stderr, "timeout-run: the monitored command dumped core\n",
        "{f:#?}"
    );
    // -q silences it.
    let f = in_dir(r#"exec "$0" -q 5 sh -c 'kill -SEGV $$'"#);
    f.assert_signal(libc::SIGSEGV);
    assert_eq!(f.stderr, "", "{f:#?}");
    // A death by signal without a core says nothing.
    let f = in_dir(r#"exec "$0" 5 sh -c 'kill -USR1 $$'"#);
    f.assert_signal(libc::SIGUSR1);
    assert_eq!(f.stderr, "", "{f:#?}");
}

#[test]
fn command_killed_by_a_realtime_signal_is_re_raised() {
    let Some(rtmin) = crate::util::rtmin() else {
        return skip(
            "command_killed_by_a_realtime_signal_is_re_raised",
            "no real-time signals",
        );
    };
    let rt = rtmin + 3;
    run(["5", "sh", "-c", &format!("kill -{rt} $$")]).assert_signal(rt);
}

#[test]
fn command_not_found_is_127() {
    let f = run(["5", "no-such-command-anywhere"]);
    f.assert_code(127)
        .assert_stderr_contains("'no-such-command-anywhere'")
        .assert_stderr_contains("No such file or directory");
    run(["no-such-command-anywhere"]).assert_code(127);
}

#[test]
fn command_not_executable_is_126() {
    let dir = tempdir();
    let path = dir.path().join("not-executable");
    std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
    let f = run(["5".as_ref(), path.as_os_str()]);
    f.assert_code(126)
        .assert_stderr_contains("Permission denied");
    run(["5".as_ref(), dir.path().as_os_str()]).assert_code(126);
}

// ---- validation (SPEC §3.1): one line, exit 125, nothing run --------------------------------

#[test]
fn bad_values_exit_125_with_a_usage_error_and_run_nothing() {
    let dir = tempdir();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let cases: &[(&[&str], &str)] = &[
        (&["-t", "xyz"], "invalid time interval 'xyz'"),
        (&["-t", "10€"], "invalid time interval '10€'"),
        (&["-t", "'1"], "invalid time interval ''1'"),
        (&["-t", "-1"], "invalid time interval '-1'"),
        (&["-t", ""], "invalid time interval ''"),
        (&["-t", "nan"], "invalid time interval 'nan'"),
        (&["-g", "soon"], "invalid time interval 'soon'"),
        (&["-s", "FOO"], "'FOO': invalid signal"),
        (&["-s", "99"], "'99': invalid signal"),
        (&["--deadline", "tomorrow"], "invalid deadline 'tomorrow'"),
        (&["xyz"], "invalid time interval 'xyz'"),
    ];
    for (options, message) in cases {
        let mut args: Vec<&str> = options.to_vec();
        args.extend(["sh", "-c", &touch]);
        let f = run(&args);
        f.assert_code(125);
        // One line naming the value, then where to find help, as GNU prints a usage error.
        let lines: Vec<&str> = f.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{options:?}: {f:#?}");
        assert!(
            lines[0].starts_with(&format!("timeout-run: {message}")),
            "{options:?}: {f:#?}"
        );
        assert_eq!(
            lines[1], "Try 'timeout-run --help' for more information.",
            "{options:?}: {f:#?}"
        );
        assert!(!marker.exists(), "{options:?} ran the command");
    }
}

#[test]
fn usage_errors_exit_125_with_clap_help() {
    let f = run(["--no-such-option", "true"]);
    f.assert_code(125)
        .assert_stderr_contains("--no-such-option");
    run::<[&str; 0], &str>([]).assert_code(125);
    run(["5"])
        .assert_code(125)
        .assert_stderr_contains("missing command");
    run(["-v", "-q", "true"]).assert_code(125);
}

#[test]
fn help_and_version_exit_0() {
    let f = run(["--help"]);
    f.assert_code(0)
        .assert_stdout_contains("Exit status")
        .assert_stdout_contains("DURATION");
    run(["-h"]).assert_code(0).assert_stdout_contains("Usage");
    run(["--version"])
        .assert_code(0)
        .assert_stdout_contains(env!("CARGO_PKG_VERSION"));
}

// ---- command line (SPEC §1) ---------------------------------------------------------------

#[test]
fn gnu_operand_forms() {
    run(["0.2", "sleep", "5"]).assert_code(124);
    run(["--", "0.2", "sleep", "5"]).assert_code(124);
    run(["-t", "0.2", "--", "sleep", "5"]).assert_code(124);
    run(["1.5m", "true"]).assert_code(0);
    run(["0x0.1", "sleep", "5"])
        .assert_code(124)
        .assert_faster_than(3 * SEC);
    // 0 disables the limit.
    run(["0", "sh", "-c", "exit 4"]).assert_code(4);
}

#[test]
fn options_after_the_command_belong_to_the_command() {
    let f = run([
        "5",
        "sh",
        "-c",
        "echo \"$@\"",
        "x",
        "-s",
        "KILL",
        "-v",
        "--timeout",
        "1",
    ]);
    f.assert_code(0)
        .assert_stdout_contains("-s KILL -v --timeout 1");
    assert!(f.stderr.is_empty(), "{f:#?}");
}

#[test]
fn arguments_reach_the_command_byte_for_byte() {
    use std::ffi::OsStr;
    let weird = OsStr::from_bytes(b"a\xff\xfeb c\n\x01");
    let mut c = cmd(["5".as_ref(), "printf".as_ref(), "%s".as_ref(), weird]);
    c.stdout(std::process::Stdio::piped());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, weird.as_bytes());
}

#[test]
fn huge_and_tiny_durations() {
    run(["9223372036854775808d", "true"]).assert_code(0);
    run(["-t", "inf", "true"]).assert_code(0);
    // A tiny positive timeout fires at once, it never means "no timeout".
    run(["1e-100", "sleep", "5"])
        .assert_code(124)
        .assert_faster_than(3 * SEC);
    // Even for a command that ends at once: its time ran out before it started (GNU's timer
    // fires first too). Likewise a deadline in the past.
    for _ in 0..5 {
        run(["1e-100", "true"]).assert_code(124);
        run(["--deadline", "2020-01-01T00:00:00Z", "true"]).assert_code(124);
    }
}

// ---- stop sequence (SPEC §3.4) --------------------------------------------------------------

#[test]
fn zero_grace_kills_right_after_the_stop_signal() {
    run(["-v", "-t", "1", "-g", "0", "sh", "-c", IGNORE_TERM])
        .assert_code(124)
        .assert_faster_than(4 * SEC)
        .assert_stderr_contains("sending signal TERM")
        .assert_stderr_contains("sending signal KILL");
}

#[test]
fn no_kill_never_escalates() {
    // The command ignores TERM and ends on its own 2 s later: with --no-kill it is waited for.
    let script = "trap '' TERM; sleep 2; exit 3";
    run(["-v", "-t", "0.5", "--no-kill", "sh", "-c", script])
        .assert_code(124)
        .assert_slower_than(Duration::from_millis(1900))
        .assert_stderr_lacks("sending signal KILL");
}

#[test]
fn stop_signal_is_configurable() {
    run(["-p", "-s", "USR1", "-t", "1", "sh", "-c", &trap("USR1", 9)]).assert_code(9);
    run(["-p", "-s", "KILL", "0.2", "sleep", "10"]).assert_code(137);
    run(["-p", "-s", "sigint", "0.2", "sleep", "10"]).assert_code(130);
}

#[test]
fn signal_zero_sends_nothing_and_only_sigkill_ends_the_command() {
    let script = trap("TERM", 3);
    run([
        "-v", "-p", "-s", "0", "-t", "0.5", "-g", "0.5", "sh", "-c", &script,
    ])
    .assert_code(137)
    .assert_slower_than(Duration::from_millis(1000))
    .assert_stderr_contains("sending signal KILL");
}

#[test]
fn stopped_command_gets_sigcont_so_it_can_act_on_the_stop_signal() {
    // The shell stops itself; the stop sequence's SIGCONT lets it run its TERM trap.
    let script = "trap 'exit 5' TERM; kill -STOP $$; sleep 30";
    run(["-p", "-t", "1", "-g", "10", "sh", "-c", script])
        .assert_code(5)
        .assert_faster_than(5 * SEC);
}

#[test]
fn verbose_is_silent_about_signals_gnu_would_not_send() {
    // A relayed USR1 and the descendants a command left behind when it exited: GNU timeout
    // sends neither, so `-v` says nothing; `-vv` tells both.
    let script = "trap '' USR1; sleep 100 & trap 'exit 0' USR1; echo ready; \
                  while :; do sleep 0.05; done";
    for (flag, lines) in [("-v", 0), ("-vv", 2)] {
        let mut r = spawn([flag, "10", "sh", "-c", script]);
        r.wait_for_line("ready");
        r.signal(libc::SIGUSR1);
        let f = r.finish();
        f.assert_code(0);
        assert_eq!(f.stderr.matches("sending signal").count(), lines, "{f:#?}");
    }
}

#[test]
fn verbose_quotes_the_command_name_as_gnu_does() {
    // A quote, a newline and a non-ASCII letter in the name, in the C locale: one line, as
    // GNU timeout's `quote` writes it.
    let dir = tempdir();
    let name = "it's\n\u{e9}";
    std::os::unix::fs::symlink(which("sleep"), dir.path().join(name)).unwrap();
    let mut c = cmd(["-v", "0.2", &format!("./{name}"), "10"]);
    c.current_dir(dir.path()).env("LC_ALL", "C");
    let f = start(c).finish();
    f.assert_code(124);
    assert_eq!(
        f.stderr, "timeout-run: sending signal TERM to command './it\\'s\\n\\303\\251'\n",
        "{f:#?}"
    );
}

/// The path of a program found in PATH.
fn which(program: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not in PATH"))
}

#[test]
fn verbose_prints_exactly_gnus_lines_one_per_signal_sent() {
    let f = run(["-v", "0.2", "sleep", "10"]);
    f.assert_code(124);
    assert_eq!(
        f.stderr, "timeout-run: sending signal TERM to command 'sleep'\n",
        "{f:#?}"
    );
    let f = run(["-v", "-t", "0.3", "-g", "0.3", "sh", "-c", IGNORE_TERM]);
    f.assert_code(124);
    assert_eq!(
        f.stderr,
        "timeout-run: sending signal TERM to command 'sh'\n\
         timeout-run: sending signal KILL to command 'sh'\n",
        "{f:#?}"
    );
    // CONT as the stop signal is announced (only the SIGCONT after another stop signal is not):
    // it resumes a command that stopped itself.
    let f = run([
        "-v",
        "-s",
        "CONT",
        "0.2",
        "sh",
        "-c",
        "kill -STOP $$; echo resumed",
    ]);
    f.assert_code(124).assert_stdout_contains("resumed");
    assert_eq!(
        f.stderr, "timeout-run: sending signal CONT to command 'sh'\n",
        "{f:#?}"
    );
    // No signal sent, nothing said.
    let f = run(["-v", "5", "sh", "-c", "exit 3"]);
    f.assert_code(3);
    assert_eq!(f.stderr, "", "{f:#?}");
}

#[test]
fn very_verbose_adds_the_lifecycle() {
    let f = run(["-vv", "0.2", "sleep", "10"]);
    f.assert_code(124)
        .assert_stderr_contains("timeout-run: sending signal TERM to command 'sleep' (SIGTERM")
        .assert_stderr_contains("timed out")
        .assert_stderr_contains("running 'sleep' as pid")
        .assert_stderr_contains("exiting with status 124")
        .assert_stderr_lacks("debug: ");
    for line in f.stderr.lines() {
        assert!(line.starts_with("timeout-run: "), "{line}");
    }
    run(["-vvv", "0.2", "sleep", "10"]).assert_stderr_contains("timeout-run: debug: ");
}

#[test]
fn alarm_from_outside_means_the_time_is_up() {
    // GNU timeout's timer is SIGALRM; `kill -ALRM` forces a timeout (and GNU's tests use it).
    let args = with_helper(&["-v", "-t", "30", "-g", "30"], &["ready", "sleep", "30"]);
    let mut r = spawn(args);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    let f = r.finish();
    f.assert_code(124).assert_faster_than(10 * SEC);
    assert!(f.stderr.contains("sending signal TERM"), "{f:#?}");
}

#[test]
fn an_alarm_inherited_from_the_parent_is_a_timeout_too() {
    // alarm() survives exec: the kernel sends SIGALRM (si_code SI_KERNEL, like a terminal's
    // signals) and GNU timeout treats it as its own timer.
    let f = run([
        "python3",
        "-c",
        "import os, signal, sys; signal.alarm(1); os.execvp(sys.argv[1], sys.argv[1:])",
        bin(),
        "30",
        "sleep",
        "10",
    ]);
    f.assert_code(124).assert_faster_than(5 * SEC);
}

#[test]
fn same_signal_twice_during_a_timeouts_grace_kills_at_once() {
    // The timeout is forced with SIGALRM once the helper is ready, so a slow start cannot race
    // it.
    let args = with_helper(
        &["-t", "30", "-g", "30"],
        &["log", "TERM", "log", "INT", "ready", "sleep", "30"],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    r.wait_for_line("got SIGTERM");
    r.signal(libc::SIGINT);
    r.wait_for_line("got SIGINT");
    r.signal(libc::SIGINT);
    r.finish().assert_code(124).assert_faster_than(10 * SEC);
}

#[test]
fn default_verbosity_is_silent_and_quiet_is_silent() {
    assert!(run(["0.2", "sleep", "10"]).stderr.is_empty());
    assert!(run(["-q", "0.2", "sleep", "10"]).stderr.is_empty());
}

#[test]
fn timeout_run_log_overrides_verbosity_and_rust_log_reaches_the_command() {
    let mut c = cmd(["5", "sh", "-c", "echo RUST_LOG=$RUST_LOG"]);
    c.env("TIMEOUT_RUN_LOG", "debug").env("RUST_LOG", "trace");
    let f = start(c).finish();
    f.assert_code(0)
        .assert_stderr_contains("debug: ")
        .assert_stdout_contains("RUST_LOG=trace");
    assert!(!f.stderr.contains("trace: "), "{f:#?}");
}

// ---- signals received (SPEC §5) -------------------------------------------------------------

#[test]
fn termination_signal_is_forwarded_and_timeout_run_dies_by_it() {
    for (sig, name) in [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGQUIT, "SIGQUIT"),
    ] {
        // -v: a failure then shows whether the signal was relayed, and to how many processes.
        let args = with_helper(
            &["-v", "-t", "30"],
            &["trap", name, "3", "ready", "sleep", "30"],
        );
        let mut r = spawn(args);
        r.wait_for_line("ready");
        r.signal(sig);
        let f = r.finish();
        f.assert_signal(sig)
            .assert_stdout_contains(&format!("got {name}"));
    }
}

#[test]
fn same_signal_twice_kills_at_once() {
    let args = with_helper(
        &["-t", "30", "-g", "30"],
        &["log", "INT", "ready", "sleep", "30"],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    r.signal(libc::SIGINT);
    r.wait_for_line("got SIGINT");
    r.signal(libc::SIGINT);
    r.finish()
        .assert_signal(libc::SIGINT)
        .assert_faster_than(10 * SEC);
}

#[test]
fn grace_after_a_received_signal_ends_in_sigkill() {
    let args = with_helper(
        &["-v", "-t", "30", "-g", "0.3"],
        &["log", "TERM", "ready", "sleep", "30"],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    r.signal(libc::SIGTERM);
    r.finish()
        .assert_signal(libc::SIGTERM)
        .assert_faster_than(10 * SEC)
        .assert_stderr_contains("sending signal KILL");
}

#[test]
fn other_signals_are_forwarded_once_and_change_nothing() {
    let args = with_helper(
        &["-t", "30"],
        &[
            "log", "USR1", "log", "USR2", "log", "WINCH", "log", "RTMIN", "trap", "HUP", "4",
            "ready", "sleep", "30",
        ],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    let realtime = crate::util::rtmin().map(|rt| (rt, "got SIGRTMIN"));
    for (sig, line) in [
        (libc::SIGUSR1, "got SIGUSR1"),
        (libc::SIGUSR2, "got SIGUSR2"),
        (libc::SIGWINCH, "got SIGWINCH"),
    ]
    .into_iter()
    .chain(realtime)
    {
        r.signal(sig);
        r.wait_for_line(line);
    }
    r.signal(libc::SIGHUP);
    let f = r.finish();
    f.assert_signal(libc::SIGHUP);
    assert_eq!(f.stdout.matches("got SIGUSR1").count(), 1, "{f:#?}");
}

#[test]
fn realtime_signals_are_forwarded() {
    let Some(rtmin) = crate::util::rtmin() else {
        return skip("realtime_signals_are_forwarded", "no real-time signals");
    };
    let rt = rtmin + 1;
    let args = with_helper(
        &["-t", "30"],
        &["trap", &rt.to_string(), "6", "ready", "sleep", "30"],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    r.signal(rt);
    r.finish().assert_code(6);
}

#[test]
fn sigcont_and_sigstop_of_the_tree_are_survived() {
    // The command is stopped by SIGSTOP from outside: timeout-run does not take that for an
    // exit; SIGCONT to timeout-run is relayed, resumes it, and ends nothing.
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let args = with_helper(
        &["-t", "30"],
        &[
            "log",
            "CONT",
            "pids",
            pids.to_str().unwrap(),
            "ready",
            "sleep",
            "0.5",
            "exit",
            "2",
        ],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    let command = read_pids(&pids)[0];
    // SAFETY: kill(2) of the helper this test started.
    unsafe { libc::kill(command, libc::SIGSTOP) };
    wait_until_stopped(command);
    r.signal(libc::SIGCONT);
    r.finish()
        .assert_code(2)
        .assert_stdout_contains("got SIGCONT");
}

/// Waits (bounded) until `/proc/<pid>/stat` shows the process stopped.
fn wait_until_stopped(pid: i32) {
    let deadline = std::time::Instant::now() + 10 * SEC;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        if state == Some("T") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} never stopped: {stat}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---- spawn (SPEC §3.2) ----------------------------------------------------------------------

#[test]
fn command_runs_in_its_own_process_group() {
    let f = run(["5", "sh", "-c", "ps -o pgid= -p $$; echo self=$$"]);
    let lines: Vec<&str> = f.stdout.lines().collect();
    assert_eq!(
        lines[0].trim(),
        lines[1].trim_start_matches("self="),
        "{f:#?}"
    );
}

#[test]
fn ignored_dispositions_and_blocked_mask_are_inherited() {
    if crate::util::linux_only(
        "ignored_dispositions_and_blocked_mask_are_inherited",
        "reads /proc/self/status",
    ) {
        return;
    }
    // What the command sees is exactly what it would see without timeout-run: the same ignored
    // and blocked sets, both ways (nothing missing, nothing added), except the stop signal,
    // which is deliverable. `blocked` names the signals the parent blocks, `ignored` those it
    // ignores.
    let bit = |sig: i32| 1u64 << (sig - 1);
    for (blocked, ignored, stop) in [
        (vec![libc::SIGUSR2], "HUP", "TERM"),
        (vec![libc::SIGUSR2, libc::SIGTERM], "HUP INT", "TERM"),
        (vec![libc::SIGUSR1], "", "USR1"),
    ] {
        let status = "grep -E '^Sig(Ign|Blk)' /proc/self/status";
        let script = format!(
            "trap '' {ignored}; {status} | sed s/^/direct-/; exec {} -s {stop} 5 {status}",
            bin()
        );
        let set: Vec<String> = blocked
            .iter()
            .map(|s| format!("signal.Signals({s})"))
            .collect();
        let f = run([
            "5",
            "python3",
            "-c",
            &format!(
                "import signal,subprocess; signal.pthread_sigmask(signal.SIG_BLOCK, {{{}}}); \
                 subprocess.run(['sh', '-c', {script:?}])",
                set.join(", ")
            ),
        ]);
        let mask = |prefix: &str| {
            let line = f
                .stdout
                .lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix}: {f:#?}"));
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        let stop_bit = bit(stop.parse::<i32>().unwrap_or(match stop {
            "TERM" => libc::SIGTERM,
            _ => libc::SIGUSR1,
        }));
        let what = format!("blocked {blocked:?}, ignored {ignored:?}, stop {stop}: {f:#?}");
        // The parent's sets are what the test asked for.
        for s in &blocked {
            assert_ne!(mask("direct-SigBlk") & bit(*s), 0, "{what}");
        }
        if ignored.contains("HUP") {
            assert_ne!(mask("direct-SigIgn") & bit(libc::SIGHUP), 0, "{what}");
        }
        assert_eq!(mask("SigBlk"), mask("direct-SigBlk") & !stop_bit, "{what}");
        assert_eq!(mask("SigIgn"), mask("direct-SigIgn") & !stop_bit, "{what}");
    }
}

#[test]
fn sigpipe_disposition_passes_through_unchanged() {
    if crate::util::linux_only(
        "sigpipe_disposition_passes_through_unchanged",
        "reads /proc/self/status",
    ) {
        return;
    }
    let bit = 1u64 << (libc::SIGPIPE - 1);
    let ign = |prefix: &str| {
        let f = run([
            "5",
            "sh",
            "-c",
            &format!("{prefix} exec {} 5 grep SigIgn /proc/self/status", bin()),
        ]);
        let l = f.stdout.lines().next().expect("SigIgn line").to_owned();
        u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap() & bit
    };
    assert_eq!(ign(""), 0);
    assert_ne!(ign("trap '' PIPE;"), 0);
}

#[test]
fn ignored_termination_signals_stay_ignored_and_are_not_relayed() {
    // A background job of a non-interactive shell starts with INT and QUIT ignored.
    let dir = tempdir();
    let out = dir.path().join("out");
    let script = format!(
        "{bin} 30 python3 {h} log INT ready sleep 1 exit 0 > {o} & sleep 0.5; kill -INT $!; wait $!; echo status=$? >> {o}",
        bin = bin(),
        h = helper().display(),
        o = out.display()
    );
    run(["30", "sh", "-c", &script]).assert_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("got SIGINT"), "{text}");
    assert!(text.contains("status=0"), "{text}");
}

#[test]
fn stop_signal_inherited_as_ignored_is_reset_for_the_command() {
    let script = format!("trap '' TERM; exec {} -v -g 20 0.2 sleep 10", bin());
    run(["30", "sh", "-c", &script])
        .assert_code(124)
        .assert_faster_than(5 * SEC)
        .assert_stderr_lacks("sending signal KILL");
}

#[test]
fn sigchld_ignored_by_the_parent_does_not_break_reaping() {
    let script = format!(
        "trap '' CHLD; {b} 5 sh -c 'exit 7'; echo a=$?; {b} 0.2 sleep 5; echo b=$?",
        b = bin()
    );
    let f = run(["30", "sh", "-c", &script]);
    f.assert_stdout_contains("a=7")
        .assert_stdout_contains("b=124");
}

#[test]
fn deadline_is_exported_to_the_command() {
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let f = run(["100", "sh", "-c", "echo $TIMEOUT_RUN_DEADLINE"]);
    let value: f64 = f.stdout.trim().parse().unwrap_or_else(|_| panic!("{f:#?}"));
    assert!(
        value >= before + 99.0 && value <= before + 102.0,
        "{value} vs {before}"
    );
    let f = run(["sh", "-c", "echo x${TIMEOUT_RUN_DEADLINE}x"]);
    f.assert_stdout_contains("xx");
}

#[test]
fn nested_timeout_run_honours_the_outer_deadline() {
    // The inner run stops its command a grace period (0.5 s) before the outer deadline, so
    // the script sees the inner 124 and ends on its own before the outer limit fires.
    let inner = format!("{} -t 1h -g 0.5 sleep 100; echo inner=$?", bin());
    let f = run(["-t", "2", "-g", "10", "sh", "-c", &inner]);
    f.assert_code(0)
        .assert_stdout_contains("inner=124")
        .assert_slower_than(Duration::from_millis(1400))
        .assert_faster_than(Duration::from_millis(1950));
    let mut c = cmd(["-t", "1h", "sleep", "100"]);
    let soon = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 0.3;
    c.env("TIMEOUT_RUN_DEADLINE", format!("{soon:.6}"));
    start(c)
        .finish()
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

#[test]
fn parent_death_kills_the_command() {
    if crate::util::linux_backend_only(
        "parent_death_kills_the_command",
        "a parent-death signal (macOS has none)",
    ) {
        return;
    }
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let args = with_helper(
        &["30"],
        &["pids", pids.to_str().unwrap(), "ready", "sleep", "30"],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    let command = read_pids(&pids)[0];
    assert!(alive(command));
    r.signal(libc::SIGKILL);
    let _ = r.finish();
    let left = survivors(&[command], 5 * SEC);
    cleanup(&left);
    assert!(left.is_empty(), "command survived timeout-run's SIGKILL");
}

// ---- the timing is tight, not lucky ---------------------------------------------------------

#[test]
fn timeout_fires_on_time() {
    let f = run(["0.3", "sleep", "10"]);
    // The upper bound only catches gross errors; latency is measured by the benchmark.
    f.assert_code(124)
        .assert_slower_than(Duration::from_millis(300))
        .assert_faster_than(3 * SEC);
}

trait CoreDumped {
    fn core_dumped_compat(&self) -> bool;
}

impl CoreDumped for std::process::ExitStatus {
    fn core_dumped_compat(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.core_dumped()
    }
}

#[test]
fn the_backend_is_chosen_by_timeout_run_backend_and_not_passed_on() {
    for backend in ["portable", ""] {
        let mut c = cmd(["5", "sh", "-c", "echo backend=${TIMEOUT_RUN_BACKEND-unset}"]);
        c.env("TIMEOUT_RUN_BACKEND", backend);
        start(c)
            .finish()
            .assert_code(0)
            .assert_stdout_contains("backend=unset");
    }
    // Also when a warning about TIMEOUT_RUN_LOG is the first line written.
    for log in [None, Some("bogus")] {
        let mut c = cmd(["-vvv", "5", "true"]);
        c.env("TIMEOUT_RUN_BACKEND", "portable");
        if let Some(log) = log {
            c.env("TIMEOUT_RUN_LOG", log);
        }
        start(c)
            .finish()
            .assert_code(0)
            .assert_stderr_contains("portable backend");
    }
    let mut c = cmd(["5", "true"]);
    c.env("TIMEOUT_RUN_BACKEND", "bsd");
    start(c)
        .finish()
        .assert_code(125)
        .assert_stderr_contains("timeout-run: invalid TIMEOUT_RUN_BACKEND 'bsd'");
}
