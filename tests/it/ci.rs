//! CI features (SPEC §1, §8): idle timeout and its relay, retries, absolute deadlines, heartbeat,
//! and the JSON report on every path.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

fn report_of(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("report written");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// Every key the SPEC requires, with its type.
fn assert_schema(r: &Value) {
    let keys = [
        "schema_version",
        "command",
        "pid",
        "started_at",
        "ended_at",
        "duration_s",
        "timeout_s",
        "outcome",
        "timed_out",
        "exit_code",
        "command_status",
        "signals_sent",
        "escalated",
        "leftovers_killed",
        "attempts",
        "rusage",
        "resources",
        "tree_at_timeout",
        "runs",
    ];
    for key in keys {
        assert!(r.get(key).is_some(), "missing {key}: {r:#}");
    }
    assert_eq!(r["schema_version"], 1);
    assert!(r["command"].is_array());
    assert!(r["duration_s"].is_number());
    assert!(r["timed_out"].is_boolean());
    assert!(r["exit_code"].is_u64());
    assert!(r["signals_sent"].is_array());
    for key in ["user_s", "system_s", "max_rss_kib"] {
        assert!(r["rusage"][key].is_number(), "rusage.{key}: {r:#}");
    }
    // Totals on every path where an attempt ran.
    if r["attempts"].as_u64() != Some(0) {
        for key in ["wall_s", "user_s", "system_s"] {
            assert!(r["resources"][key].is_number(), "resources.{key}: {r:#}");
        }
        assert!(r["resources"]["cpu_source"].is_string(), "{r:#}");
    }
    assert_eq!(
        r["tree_at_timeout"].is_array(),
        r["timed_out"] == true,
        "tree_at_timeout exactly on a timeout: {r:#}"
    );
    for key in ["started_at", "ended_at"] {
        let t = r[key].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{key}={t}");
    }
    assert_eq!(
        r["runs"].as_array().unwrap().len() as u64,
        r["attempts"].as_u64().unwrap()
    );
}

// ---- idle timeout ---------------------------------------------------------------------------

#[test]
fn idle_timeout_fires_when_the_command_is_silent() {
    let dir = tempdir();
    let report = dir.path().join("r.json");
    let f = run([
        "--report",
        report.to_str().unwrap(),
        "--idle-timeout",
        "0.5",
        "sh",
        "-c",
        "echo early; sleep 30",
    ]);
    f.assert_code(124)
        .assert_stdout_contains("early")
        .assert_faster_than(10 * SEC);
    let r = report_of(&report);
    assert_schema(&r);
    assert_eq!(r["outcome"], "idle_timeout");
    assert_eq!(r["timed_out"], true);
}

#[test]
fn output_resets_the_idle_timer() {
    // 10 lines 0.2 s apart (2 s in all) under a 1 s idle limit: never idle, so it ends on its own.
    let script = "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.2; done; echo >&2 done";
    let f = run(["--idle-timeout", "1", "sh", "-c", script]);
    f.assert_code(0)
        .assert_stdout_contains("line 10")
        .assert_stderr_contains("done")
        .assert_slower_than(Duration::from_millis(1900));
}

#[test]
fn stderr_output_also_resets_the_idle_timer() {
    let script = "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick >&2; sleep 0.2; done";
    run(["--idle-timeout", "1", "sh", "-c", script]).assert_code(0);
}

#[test]
fn relay_is_byte_for_byte() {
    let mut c = cmd([
        "--idle-timeout",
        "10",
        "sh",
        "-c",
        "printf 'a\\000b\\377c'; printf 'err\\001' >&2; printf 'tail'",
    ]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"a\0b\xffctail");
    assert_eq!(out.stderr, b"err\x01");
}

#[test]
fn relay_moves_large_output_completely() {
    let bytes = 64 * 1024 * 1024 + 7;
    let mut args = vec![
        "--idle-timeout".to_owned(),
        "10".to_owned(),
        "--".to_owned(),
    ];
    args.extend(helper_args(&["flood", &bytes.to_string()]));
    let mut c = cmd(&args);
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let n = std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(n, bytes as u64);
}

#[test]
fn closed_stdout_is_handled_as_the_command_would() {
    // `yes | head -1`: the reader goes away; yes must die of SIGPIPE as it would without
    // timeout-run, and timeout-run passes that on. It must neither hang nor panic.
    let script = format!(
        "{} --idle-timeout 10 yes | head -1; echo status=${{PIPESTATUS[0]}}",
        bin()
    );
    let mut c = Command::new("bash");
    crate::util::with_backend(&mut c);
    c.args(["-c", &script]);
    let f = start(c).finish();
    f.assert_code(0)
        .assert_stdout_contains("status=141")
        .assert_faster_than(10 * SEC);
    assert!(!f.stderr.contains("panicked"), "{f:#?}");
}

// ---- retries --------------------------------------------------------------------------------

#[test]
fn retries_run_again_and_report_the_last_status() {
    let dir = tempdir();
    let report = dir.path().join("r.json");
    let f = run([
        "--report",
        report.to_str().unwrap(),
        "--retries",
        "2",
        "--retry-delay",
        "0.1",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    f.assert_code(3)
        .assert_stderr_contains("attempt 1 of 3")
        .assert_stderr_contains("attempt 2 of 3");
    assert_eq!(f.stdout.matches("run").count(), 3, "{f:#?}");
    let r = report_of(&report);
    assert_schema(&r);
    assert_eq!(r["attempts"], 3);
    assert_eq!(r["runs"][2]["attempt"], 3);
    assert_eq!(r["command_status"]["code"], 3);
}

#[test]
fn retries_stop_at_the_first_success() {
    let dir = tempdir();
    let counter = dir.path().join("n");
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; [ $n -ge 2 ]",
        c = counter.display()
    );
    run(["--retries", "5", "--retry-delay", "0", "sh", "-c", &script]).assert_code(0);
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "2");
}

#[test]
fn retry_on_selects_the_failures() {
    let f = run([
        "--retries",
        "2",
        "--retry-delay",
        "0",
        "--retry-on",
        "timeout",
        "sh",
        "-c",
        "echo x; exit 1",
    ]);
    f.assert_code(1);
    assert_eq!(f.stdout.matches('x').count(), 1);
    let f = run([
        "--retries",
        "1",
        "--retry-delay",
        "0",
        "--retry-on",
        "timeout",
        "-t",
        "0.2",
        "sh",
        "-c",
        "echo x; sleep 5",
    ]);
    f.assert_code(124);
    assert_eq!(f.stdout.matches('x').count(), 2);
    let f = run([
        "--retries",
        "1",
        "--retry-delay",
        "0",
        "--retry-on",
        "error",
        "-t",
        "0.2",
        "sh",
        "-c",
        "echo x; sleep 5",
    ]);
    f.assert_code(124);
    assert_eq!(f.stdout.matches('x').count(), 1);
}

#[test]
fn each_attempt_gets_the_full_timeout_and_a_clean_slate() {
    if crate::util::linux_backend_only(
        "each_attempt_gets_the_full_timeout_and_a_clean_slate",
        "a setsid'd sleeper is outside the process group, found only by the subreaper walk",
    ) {
        return;
    }
    let dir = tempdir();
    let pids = dir.path().join("pids");
    // Each attempt leaves a setsid'd sleeper and times out; the next attempt checks that the
    // previous one's sleeper is gone.
    let script = format!(
        "if [ -s {p} ]; then kill -0 $(tail -1 {p}) 2>/dev/null && echo LEFTOVER-ALIVE; fi; \
         setsid sleep 100 & echo $! >> {p}; sleep 100",
        p = pids.display()
    );
    let f = run([
        "--retries",
        "1",
        "--retry-delay",
        "0",
        "-t",
        "0.5",
        "sh",
        "-c",
        &script,
    ]);
    f.assert_code(124)
        .assert_slower_than(Duration::from_millis(1000));
    assert!(!f.stdout.contains("LEFTOVER-ALIVE"), "{f:#?}");
}

#[test]
fn ctrl_c_during_the_retry_delay_ends_everything() {
    let dir = tempdir();
    let report = dir.path().join("r.json");
    let mut r = spawn([
        "--report",
        report.to_str().unwrap(),
        "--retries",
        "5",
        "--retry-delay",
        "60",
        "sh",
        "-c",
        "echo ready; exit 1",
    ]);
    r.wait_for_line("ready");
    // The attempt ends at once; the signal lands in the delay (or, at worst, in the attempt's
    // last instant, which ends the same way).
    std::thread::sleep(Duration::from_millis(200));
    r.signal(libc::SIGINT);
    let f = r.finish();
    f.assert_signal(libc::SIGINT).assert_faster_than(10 * SEC);
    let rep = report_of(&report);
    assert_schema(&rep);
    assert_eq!(rep["outcome"], "cancelled");
    assert_eq!(rep["exit_code"], 130);
}

// ---- deadlines --------------------------------------------------------------------------------

fn rfc3339_in(secs: f64) -> String {
    let t = SystemTime::now() + Duration::from_secs_f64(secs.max(0.0));
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    // Let the shell's `date` format it: UTC, with fraction.
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}.{:03}", since.as_secs(), since.subsec_millis()),
            "+%Y-%m-%dT%H:%M:%S.%3NZ",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn deadline_in_the_past_times_out_at_once() {
    run(["--deadline", "2001-01-01T00:00:00Z", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(3 * SEC);
}

#[test]
fn deadline_and_timeout_the_earlier_wins() {
    let soon = rfc3339_in(0.5);
    run(["--deadline", &soon, "-t", "1h", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
    let later = rfc3339_in(3600.0);
    run(["--deadline", &later, "-t", "0.3", "sleep", "10"])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
}

#[test]
fn deadline_with_an_offset() {
    run(["--deadline", "2001-01-01T01:00:00+01:00", "sleep", "10"]).assert_code(124);
}

// ---- heartbeat --------------------------------------------------------------------------------

#[test]
fn heartbeat_prints_progress_lines() {
    let f = run(["--heartbeat", "0.2", "-t", "30", "sleep", "0.9"]);
    f.assert_code(0)
        .assert_stderr_contains("timeout-run: still running after ");
    assert!(f.stderr.contains("left)"), "{f:#?}");
    assert!(f.stderr.lines().count() >= 2, "{f:#?}");
    let f = run(["--heartbeat", "0.2", "sleep", "0.5"]);
    f.assert_stderr_contains("still running after")
        .assert_stderr_lacks("left)");
    // A long grace period is no silence either.
    let f = run([
        "--heartbeat",
        "0.2",
        "-t",
        "0.3",
        "-g",
        "1.5",
        "sh",
        "-c",
        "trap '' TERM; sleep 10",
    ]);
    f.assert_code(124)
        .assert_stderr_contains(", stopping (SIGKILL in ");
}

// ---- report on every path -------------------------------------------------------------------

#[test]
fn report_on_success_timeout_spawn_failure_and_signal_death() {
    let dir = tempdir();
    let path = dir.path().join("r.json");
    let p = path.to_str().unwrap();

    run(["--report", p, "sh", "-c", "exit 0"]).assert_code(0);
    let r = report_of(&path);
    assert_schema(&r);
    assert_eq!(r["outcome"], "exited");
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["command"], serde_json::json!(["sh", "-c", "exit 0"]));
    assert_eq!(r["timeout_s"], Value::Null);

    run(["--report", p, "-t", "0.2", "sleep", "10"]).assert_code(124);
    let r = report_of(&path);
    assert_schema(&r);
    assert_eq!(r["outcome"], "timed_out");
    assert_eq!(r["command_status"]["signal"], "SIGTERM");
    assert_eq!(r["signals_sent"][0]["signal"], "SIGTERM");
    assert_eq!(r["signals_sent"][0]["reason"], "timeout");
    assert!((r["timeout_s"].as_f64().unwrap() - 0.2).abs() < 0.01);

    run(["--report", p, "no-such-command-anywhere"]).assert_code(127);
    let r = report_of(&path);
    assert_schema(&r);
    assert_eq!(r["outcome"], "spawn_failed");
    assert_eq!(r["exit_code"], 127);
    assert_eq!(r["command_status"], Value::Null);

    let f = run(["--report", p, "sh", "-c", "kill -USR1 $$"]);
    assert_eq!(f.status.signal(), Some(libc::SIGUSR1));
    let r = report_of(&path);
    assert_eq!(r["outcome"], "signaled");
    assert_eq!(r["exit_code"], 128 + libc::SIGUSR1);

    run([
        "--report",
        p,
        "-t",
        "1",
        "-g",
        "0.2",
        "sh",
        "-c",
        "trap '' TERM; sleep 30",
    ])
    .assert_code(124);
    let r = report_of(&path);
    assert_eq!(r["escalated"], true);
    assert_eq!(
        r["signals_sent"][r["signals_sent"].as_array().unwrap().len() - 1]["signal"],
        "SIGKILL"
    );
}

#[test]
fn report_on_cancellation() {
    let dir = tempdir();
    let path = dir.path().join("r.json");
    let mut r = spawn(with_helper(
        &["--report", path.to_str().unwrap()],
        &["trap", "INT", "3", "ready", "sleep", "30"],
    ));
    r.wait_for_line("ready");
    r.signal(libc::SIGINT);
    r.finish().assert_signal(libc::SIGINT);
    let rep = report_of(&path);
    assert_schema(&rep);
    assert_eq!(rep["outcome"], "cancelled");
    assert_eq!(rep["command_status"]["code"], 3);
    assert_eq!(rep["signals_sent"][0]["reason"], "forwarded");
}

#[test]
fn report_counts_leftovers() {
    if crate::util::linux_backend_only(
        "report_counts_leftovers",
        "setsid'd leftovers are outside the process group, counted only by the /proc walk",
    ) {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("r.json");
    run([
        "--report",
        path.to_str().unwrap(),
        "sh",
        "-c",
        "setsid sleep 100 & setsid sleep 100 & exit 0",
    ])
    .assert_code(0);
    let r = report_of(&path);
    assert_eq!(r["leftovers_killed"], 2);
    assert_eq!(r["signals_sent"][0]["reason"], "leftovers");
}

#[test]
fn a_tree_that_forks_through_its_grace_period_is_reported_once_per_signal() {
    if crate::util::linux_backend_only(
        "a_tree_that_forks_through_its_grace_period_is_reported_once_per_signal",
        "setsid'd descendants are found through the /proc walk",
    ) {
        return;
    }
    // Double-forked processes keep coming back to timeout-run (which reaps them) and being
    // replaced during the grace period: each reaping sends the stop signal to the newcomers,
    // and the report says so once, not once a reaping.
    let dir = tempdir();
    let report = dir.path().join("r.json");
    let script = "trap '' TERM; setsid sh -c \"trap '' TERM; \
                  while :; do (trap '' TERM; sleep 0.03 &); sleep 0.01; done\" & wait";
    let f = run([
        "--contain",
        "group",
        "--report",
        report.to_str().unwrap(),
        "-g",
        "1",
        "0.3",
        "sh",
        "-c",
        script,
    ]);
    f.assert_code(124);
    let r = report_of(&report);
    let sent = r["signals_sent"].as_array().unwrap();
    assert!(sent.len() <= 6, "{r:#}");
    assert_eq!(sent.last().unwrap()["signal"], "SIGKILL", "{r:#}");
}

#[test]
fn report_to_stderr() {
    let f = run(["--report", "-", "true"]);
    f.assert_code(0);
    let start = f.stderr.find('{').expect("JSON on stderr");
    let r: Value = serde_json::from_str(&f.stderr[start..]).unwrap();
    assert_schema(&r);
}

#[test]
fn unwritable_report_path_is_125_and_runs_nothing() {
    let dir = tempdir();
    let marker = dir.path().join("ran");
    let f = run([
        "--report",
        "/nonexistent-dir/r.json",
        "sh",
        "-c",
        &format!("touch {}", marker.display()),
    ]);
    f.assert_code(125)
        .assert_stderr_contains("cannot write report");
    assert!(!marker.exists());
}
