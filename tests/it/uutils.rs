//! uutils coreutils' checks of `timeout` (`tests/by-util/test_timeout.rs`), ported as black-box
//! tests of timeout-run. Each test names the upstream test it ports. uutils runs its child
//! commands through its multicall binary; here they are the system's `sleep`, `true`, `echo`.
//! Messages are GNU's with `timeout-run:` for `timeout:`; where timeout-run differs from GNU and
//! uutils on purpose (SPEC §6: 124 whenever the deadline fired, also when SIGKILL ended the
//! command), the test asserts timeout-run's documented behaviour and says so. The Windows-only
//! tests are not ported.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::Duration;

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// GNU's second line after a usage error.
const TRY: &str = "Try 'timeout-run --help' for more information.";

/// `sh -c SCRIPT` with `$0` = the binary under test, under the watchdog (util's line reader
/// adds a newline to every line and stops at bytes that are not UTF-8, so byte-exact output is
/// checked through the shell).
fn shell(script: &str) -> Finished {
    let mut c = Command::new("sh");
    crate::util::with_backend(&mut c);
    c.args(["-c", script, bin()]);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c.env_remove("TIMEOUT_RUN_LOG");
    start(c).finish()
}

/// uutils' `no_output()`: nothing on stdout or stderr.
fn assert_no_output(f: &Finished) {
    assert!(f.stdout.is_empty() && f.stderr.is_empty(), "{f:#?}");
}

/// uutils' `usage_error(MESSAGE)` for a bad value: status 125, `timeout-run: MESSAGE`, then the
/// `Try ...` line, and nothing else.
fn assert_value_error(f: &Finished, message: &str) {
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        format!("timeout-run: {message}\n{TRY}\n"),
        "{f:#?}"
    );
}

#[test]
fn uutils_invalid_arg() {
    // test_invalid_arg: --definitely-invalid fails with 125 (and reads as getopt words it,
    // SPEC §7).
    let f = run(["--definitely-invalid"]);
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        format!("timeout-run: unrecognized option '--definitely-invalid'\n{TRY}\n"),
        "{f:#?}"
    );
}

#[test]
fn uutils_subcommand_return_code() {
    // test_subcommand_return_code: `1 true` succeeds, `1 false` fails with 1.
    run(["1", "true"]).assert_code(0);
    run(["1", "false"]).assert_code(1);
}

#[test]
fn uutils_invalid_time_interval() {
    // test_invalid_time_interval, cases alphabetic ("xyz") and single_quote ("'1"):
    // `INPUT sleep 0` is a usage error naming the value.
    for input in ["xyz", "'1"] {
        let f = run([input, "sleep", "0"]);
        assert_value_error(&f, &format!("invalid time interval '{input}'"));
    }
}

#[test]
fn uutils_invalid_kill_after() {
    // test_invalid_kill_after: -k xyz 1 sleep 0.
    let f = run(["-k", "xyz", "1", "sleep", "0"]);
    assert_value_error(&f, "invalid time interval 'xyz'");
}

#[test]
fn uutils_command_with_args() {
    // test_command_with_args: 1700 echo -n abcd prints exactly "abcd" (no newline: the shell
    // around it shows where the output ends).
    let f = shell(r#"printf '[%s]' "$("$0" 1700 echo -n abcd; echo .)""#);
    f.assert_code(0);
    assert_eq!(f.stdout, "[abcd.]\n", "{f:#?}");
    assert!(f.stderr.is_empty(), "{f:#?}");
}

#[test]
fn uutils_command_with_non_utf8_args() {
    // test_command_with_non_utf8_args: 1700 echo a\xffb prints exactly the bytes a, 0xff, b and
    // a newline.
    let f = shell(r#""$0" 1700 echo "$(printf 'a\377b')" | od -An -tx1"#);
    f.assert_code(0);
    assert_eq!(f.stdout.trim(), "61 ff 62 0a", "{f:#?}");
    // And the command receives the argument as it was given.
    let arg = OsStr::from_bytes(b"a\xffb");
    let args: Vec<&OsStr> = vec![
        "1700".as_ref(),
        "sh".as_ref(),
        "-c".as_ref(),
        r#"[ "$1" = "$(printf 'a\377b')" ] && echo same"#.as_ref(),
        "sh".as_ref(),
        arg,
    ];
    let f = run(args);
    f.assert_code(0);
    assert_eq!(f.stdout, "same\n", "{f:#?}");
}

#[test]
fn uutils_verbose() {
    // test_verbose: for -v and --verbose, `.1 sleep 1` fails, prints nothing on stdout and
    // "sending signal TERM to command" on stderr; `-s0 -k.1 .1 sleep 1` prints a line for the
    // null signal and one for KILL. SPEC §7: exactly GNU's lines (GNU names signal 0 EXIT,
    // uutils "0"), nothing else.
    for flag in ["-v", "--verbose"] {
        let f = run([flag, ".1", "sleep", "1"]);
        f.assert_code(124);
        assert!(f.stdout.is_empty(), "{f:#?}");
        assert_eq!(
            f.stderr, "timeout-run: sending signal TERM to command 'sleep'\n",
            "{f:#?}"
        );
        let f = run([flag, "-s0", "-k.1", ".1", "sleep", "1"]);
        // uutils and GNU: 137; timeout-run: 124 (SPEC §6).
        f.assert_code(124);
        assert!(f.stdout.is_empty(), "{f:#?}");
        assert_eq!(
            f.stderr,
            "timeout-run: sending signal EXIT to command 'sleep'\n\
             timeout-run: sending signal KILL to command 'sleep'\n",
            "{f:#?}"
        );
    }
}

#[test]
fn uutils_zero_timeout() {
    // test_zero_timeout: `-v 0 sleep .1` succeeds with no output at all (no signal was sent, so
    // -v prints nothing).
    let f = run(["-v", "0", "sleep", ".1"]);
    f.assert_code(0);
    assert_no_output(&f);
    // test_zero_timeout: `-v 0 -s0 -k0 sleep .1`. uutils takes options after the duration; GNU
    // (getopt with '+') and timeout-run (SPEC §1: options, then DURATION, then the command)
    // take `-s0` as the command there, so the options come first here.
    let f = run(["-v", "-s0", "-k0", "0", "sleep", ".1"]);
    f.assert_code(0);
    assert_no_output(&f);
}

#[test]
fn uutils_command_empty_args() {
    // test_command_empty_args: `"" ""` fails with "timeout: invalid time interval ''".
    let f = run(["", ""]);
    f.assert_code(125)
        .assert_stderr_contains("timeout-run: invalid time interval ''");
}

#[test]
fn uutils_foreground() {
    // test_foreground: -f and --foreground, `.1 sleep 10`: 124, no output.
    for flag in ["-f", "--foreground"] {
        let f = run([flag, ".1", "sleep", "10"]);
        f.assert_code(124).assert_faster_than(5 * SEC);
        assert_no_output(&f);
    }
}

#[test]
fn uutils_preserve_status() {
    // test_preserve_status: -p and --preserve-status, `.1 sleep 10`: 128+TERM, no output.
    for flag in ["-p", "--preserve-status"] {
        let f = run([flag, ".1", "sleep", "10"]);
        f.assert_code(128 + libc::SIGTERM);
        assert_no_output(&f);
    }
}

#[test]
fn uutils_kill_after_preserves_timeout_exit_without_preserve_status() {
    // test_kill_after_preserves_timeout_exit_without_preserve_status: -k 1 1 sleep 10: 124.
    let f = run(["-k", "1", "1", "sleep", "10"]);
    f.assert_code(124).assert_faster_than(5 * SEC);
    assert_no_output(&f);
}

#[test]
fn uutils_kill_signal_reports_signal_exit_code() {
    // test_kill_signal_reports_signal_exit_code: with KILL as the timeout signal, uutils and GNU
    // report 128+9 (GNU's own process group, itself included, gets the KILL). timeout-run
    // survives its own stop signal and reports the timeout: 124 (SPEC §6, "whether or not
    // SIGKILL was needed"); with --preserve-status the command's 128+9.
    for options in [
        &["-s", "KILL", ".05"][..],
        &["--signal=9", ".05"],
        &["-s", "SIGKILL", "--kill-after=3", ".05"],
        &["--foreground", "-s", "KILL", ".05"],
    ] {
        let mut args = options.to_vec();
        args.extend(["sleep", "20"]);
        let f = run(&args);
        f.assert_code(124).assert_faster_than(5 * SEC);
        assert_no_output(&f);
        let mut args = vec!["--preserve-status"];
        args.extend(options);
        args.extend(["sleep", "20"]);
        run(&args).assert_code(128 + libc::SIGKILL);
    }
    // test_kill_signal_reports_signal_exit_code: other signals keep reporting 124.
    let f = run(["-s", "HUP", ".05", "sleep", "20"]);
    f.assert_code(124);
    assert_no_output(&f);
}

#[test]
fn uutils_preserve_status_even_when_send_signal() {
    // test_preserve_status_even_when_send_signal: the timeout signal CONT (any spelling) neither
    // kills nor stops `sleep 1`, which then exits 0: with --preserve-status, 0.
    for spelling in ["CONT", "cOnT", "SIGcont"] {
        let f = run(["-s", spelling, "--preserve-status", ".1", "sleep", "1"]);
        f.assert_code(0).assert_faster_than(6 * SEC);
        assert_no_output(&f);
    }
}

#[test]
fn uutils_dont_overflow() {
    // test_dont_overflow: 9223372036854775808d as the timeout and as the kill delay.
    let f = run(["9223372036854775808d", "sleep", "0"]);
    f.assert_code(0);
    assert_no_output(&f);
    let f = run(["-k", "9223372036854775808d", "10", "sleep", "0"]);
    f.assert_code(0);
    assert_no_output(&f);
}

#[test]
fn uutils_dont_underflow() {
    // test_dont_underflow: .0000000001, 1e-100 and 1e-18172487393827593258 are all immediate
    // timeouts, never "no timeout" (SPEC §2).
    for value in [".0000000001", "1e-100", "1e-18172487393827593258"] {
        let f = run([value, "sleep", "1"]);
        f.assert_code(124).assert_faster_than(5 * SEC);
        assert_no_output(&f);
    }
}

#[test]
fn uutils_negative_interval() {
    // test_negative_interval: `-- -1 sleep 0` is a usage error "invalid time interval '-1'".
    let f = run(["--", "-1", "sleep", "0"]);
    assert_value_error(&f, "invalid time interval '-1'");
}

#[test]
fn uutils_invalid_signal() {
    // test_invalid_signal: `-s invalid 1 sleep 0` is the usage error "'invalid': invalid signal".
    let f = run(["-s", "invalid", "1", "sleep", "0"]);
    assert_value_error(&f, "'invalid': invalid signal");
}

#[test]
fn uutils_invalid_multi_byte_characters() {
    // test_invalid_multi_byte_characters: `10€ sleep 0`.
    let f = run(["10€", "sleep", "0"]);
    assert_value_error(&f, "invalid time interval '10€'");
}

#[test]
fn uutils_kill_after_long() {
    // test_kill_after_long: --kill-after=1 1 sleep 0 succeeds with no output.
    let f = run(["--kill-after=1", "1", "sleep", "0"]);
    f.assert_code(0);
    assert_no_output(&f);
}

#[test]
fn uutils_kill_subprocess() {
    // test_kill_subprocess: `1 sh -c "trap 'echo inside_trap' TERM; sleep 5"`: 124 and the
    // trap ran.
    run(["1", "sh", "-c", "trap 'echo inside_trap' TERM; sleep 5"])
        .assert_code(124)
        .assert_stdout_contains("inside_trap")
        .assert_faster_than(5 * SEC);
}

#[test]
fn uutils_hex_timeout_ending_with_d() {
    // test_hex_timeout_ending_with_d: 0x0.1d is 0x0.1D seconds (about 0.113 s), not 0x0.1 days:
    // 124 within the second uutils allows (bounded more loosely here against a loaded machine;
    // 0x0.1 days would be 5400 s).
    let f = run(["0x0.1d", "sleep", "10"]);
    f.assert_code(124)
        .assert_slower_than(Duration::from_millis(100))
        .assert_faster_than(3 * SEC);
    assert_no_output(&f);
}

#[test]
fn uutils_terminate_child_on_receiving_terminate() {
    // test_terminate_child_on_receiving_terminate: SIGTERM to timeout reaches the child's trap
    // ("child received TERM"); uutils sees 143. timeout-run ends itself by the same signal
    // (SPEC §5), which is 143 to a shell. Upstream's child is a shell that traps TERM around a
    // foreground `sleep 5`, signalled after a 100 ms delay: a shell runs its trap only once that
    // sleep ends, and a signal that arrives while it forks the sleep can be taken by the child's
    // inherited handler. The helper program handles the signal at once and says when its
    // handler is installed.
    let mut r = spawn(with_helper(
        &["30"],
        &["trap", "TERM", "0", "ready", "sleep", "30"],
    ));
    r.wait_for_line("ready");
    r.signal(libc::SIGTERM);
    r.finish()
        .assert_signal(libc::SIGTERM)
        .assert_stdout_contains("got SIGTERM")
        .assert_faster_than(5 * SEC);
}

#[test]
fn uutils_command_not_found() {
    // test_command_not_found: 127.
    run(["1", "/this/command/definitely/does/not/exist"])
        .assert_code(127)
        .assert_stderr_lacks("(os error");
}

#[test]
fn uutils_non_utf8_command_not_found() {
    // test_non_utf8_command_not_found: a missing command with a non-UTF-8 name: 127, no stdout.
    let dir = tempdir();
    let mut name = dir.path().as_os_str().to_owned();
    name.push("/");
    name.push(OsStr::from_bytes(b"absent-\xff"));
    let f = run([OsString::from("1"), name]);
    f.assert_code(127);
    assert!(f.stdout.is_empty(), "{f:#?}");
}

#[test]
fn uutils_non_utf8_command_path() {
    // test_non_utf8_command_path: a command in a directory whose name is not UTF-8 runs.
    let dir = tempdir();
    let sub = dir.path().join(OsStr::from_bytes(b"dir-\xff"));
    std::fs::create_dir(&sub).unwrap();
    let link = sub.join("echo");
    std::os::unix::fs::symlink("/bin/echo", &link).unwrap();
    let f = run([
        OsString::from("10"),
        link.into_os_string(),
        OsString::from("ran"),
    ]);
    f.assert_code(0);
    assert_eq!(f.stdout, "ran\n", "{f:#?}");
}

#[test]
fn uutils_command_cannot_invoke() {
    // test_command_cannot_invoke: `1 /` (a directory): 126.
    run(["1", "/"]).assert_code(126);
}

#[test]
fn uutils_sigchld_ignored_by_parent() {
    // test_sigchld_ignored_by_parent: 10 sh -c "trap '' CHLD; exec timeout 1 true" succeeds.
    run([
        "10",
        "sh",
        "-c",
        &format!("trap '' CHLD; exec {} 1 true", bin()),
    ])
    .assert_code(0);
}

#[test]
fn uutils_with_background_child() {
    // test_with_background_child: .5 sh -c "sleep .1 & sleep 2": 124, no stdout.
    let f = run([".5", "sh", "-c", "sleep .1 & sleep 2"]);
    f.assert_code(124).assert_faster_than(5 * SEC);
    assert!(f.stdout.is_empty(), "{f:#?}");
}

#[test]
fn uutils_forward_sigint_to_child() {
    // test_forward_sigint_to_child: SIGINT to timeout reaches the child's trap ("got_int",
    // exit 42). timeout-run then ends itself by SIGINT (SPEC §5). The child is the helper
    // program, for the reason given in the test above.
    let mut r = spawn(with_helper(
        &["30"],
        &["trap", "INT", "42", "ready", "sleep", "30"],
    ));
    r.wait_for_line("ready");
    r.signal(libc::SIGINT);
    r.finish()
        .assert_signal(libc::SIGINT)
        .assert_stdout_contains("got SIGINT")
        .assert_faster_than(5 * SEC);
}

#[test]
fn uutils_foreground_signal0_kill_after() {
    // test_foreground_signal0_kill_after: --foreground -s0 -k.1 .1 sleep 10: uutils and GNU
    // 137; timeout-run 124 after the SIGKILL that followed the grace period (SPEC §6).
    run(["--foreground", "-s0", "-k.1", ".1", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

#[test]
fn uutils_realtime_signal_names() {
    // test_realtime_signal_names: RTMAX, RTMIN and SIGRTMAX are signal names, and -v names them
    // as GNU does ("sending signal RTMAX to command").
    for (name, shown) in [
        ("RTMAX", "RTMAX"),
        ("RTMIN", "RTMIN"),
        ("SIGRTMAX", "RTMAX"),
    ] {
        let f = run(["-v", "-s", name, ".1", "sleep", "1"]);
        f.assert_code(124);
        assert_eq!(
            f.stderr,
            format!("timeout-run: sending signal {shown} to command 'sleep'\n"),
            "{name}: {f:#?}"
        );
    }
}
