//! Saying what hung (SPEC §11): the tree as it was at the timeout, in the report and at `-vv`;
//! the `--on-timeout` hook; resource totals.

use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// Whether a `sleep MARKER` (a process the test started through the hook) is still running.
fn sleeping(marker: &str) -> bool {
    let found = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep {marker}")])
        .output()
        .expect("pgrep");
    !found.stdout.is_empty()
}

fn report_of(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("report written");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

#[test]
fn the_tree_at_the_timeout_is_in_the_report_and_at_vv() {
    if crate::util::linux_only(
        "the_tree_at_the_timeout_is_in_the_report_and_at_vv",
        "the setsid program",
    ) {
        return;
    }
    let dir = tempdir();
    let report = dir.path().join("r.json");
    // A shell waiting for its children, a setsid'd daemon sleeping, and a reader blocked on a
    // pipe that nothing writes to.
    let script = "setsid sleep 100 & sleep 100 | cat & wait";
    let f = run([
        "-vv",
        "--report",
        report.to_str().unwrap(),
        "-g",
        "1",
        "0.5",
        "sh",
        "-c",
        script,
    ]);
    f.assert_code(124);
    let r = report_of(&report);
    let tree = r["tree_at_timeout"]
        .as_array()
        .expect("tree_at_timeout")
        .clone();
    let find = |command: &str| {
        tree.iter()
            .find(|p| p["command"] == command)
            .unwrap_or_else(|| panic!("{command} not in {tree:#?}"))
            .clone()
    };
    let shell = find(&format!("sh -c {script}"));
    let cat = find("cat");
    let sleeps: Vec<&Value> = tree
        .iter()
        .filter(|p| p["command"] == "sleep 100")
        .collect();
    assert_eq!(sleeps.len(), 2, "{tree:#?}");
    assert_eq!(shell["pid"], r["pid"]);
    assert_eq!(shell["state"], "sleeping");
    assert_eq!(cat["state"], "sleeping");
    assert!(
        cat["wchan"].as_str().unwrap().contains("pipe"),
        "the blocked reader waits in a pipe: {cat:#}"
    );
    for p in &tree {
        for key in ["pid", "ppid", "cpu_s", "rss_kib", "age_s"] {
            assert!(p[key].is_number(), "{key}: {p:#}");
        }
        let age = p["age_s"].as_f64().unwrap();
        // `ps`, which the portable backend reads, gives ages in whole seconds.
        let youngest = if crate::util::portable_backend() {
            0.0
        } else {
            0.3
        };
        assert!((youngest..5.0).contains(&age), "age {age}: {p:#}");
        assert!(p["rss_kib"].as_u64().unwrap() > 0, "{p:#}");
    }
    // The daemon left the shell's session but is still in the tree, under the shell.
    assert!(
        sleeps.iter().all(|s| s["ppid"] == shell["pid"]),
        "{tree:#?}"
    );
    // -vv prints the same tree, indented, before the stop signal.
    let at = f
        .stderr
        .find("at the timeout (4 processes):")
        .expect("tree at -vv");
    let term = f.stderr.find("sending signal TERM").expect("TERM line");
    assert!(at < term, "{f:#?}");
    assert!(
        f.stderr.contains("timeout-run:     "),
        "indented children: {f:#?}"
    );
    assert!(f.stderr.contains(": cat\n"), "{f:#?}");
}

#[test]
fn the_hook_runs_before_the_stop_signal_with_the_trees_pids() {
    let dir = tempdir();
    let out = dir.path().join("hook");
    let hook = format!(
        "kill -0 $TIMEOUT_RUN_PID && echo alive=$TIMEOUT_RUN_PID > {0}; \
         echo pids=$TIMEOUT_RUN_PIDS >> {0}; echo hook output",
        out.display()
    );
    // The timeout is forced with SIGALRM once the helper is ready, so a slow start cannot race
    // it.
    let args = with_helper(
        &["--on-timeout", &hook, "-g", "5", "30"],
        &["trap", "TERM", "3", "spawn", "2", "ready", "sleep", "30"],
    );
    let mut r = spawn(args);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    let f = r.finish();
    f.assert_code(124)
        .assert_stdout_contains("got SIGTERM")
        .assert_stderr_contains("hook output");
    let text = std::fs::read_to_string(&out).expect("the hook ran");
    let pid: i32 = text
        .lines()
        .find_map(|l| l.strip_prefix("alive="))
        .expect("the command was alive when the hook ran (before TERM)")
        .parse()
        .unwrap();
    let pids: Vec<i32> = text
        .lines()
        .find_map(|l| l.strip_prefix("pids="))
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.first(), Some(&pid), "{text}");
    assert_eq!(pids.len(), 3, "the command and its two children: {text}");
}

#[test]
fn an_overrunning_hook_is_killed_and_a_failing_one_changes_nothing() {
    let marker = format!("100.{}", std::process::id());
    let hook = format!("sleep {marker}");
    let f = run(["--on-timeout", &hook, "-g", "1", "0.3", "sleep", "30"]);
    f.assert_code(124)
        .assert_faster_than(6 * SEC)
        .assert_stderr_contains("did not finish within 1s");
    assert!(!sleeping(&marker), "the hook's sleep survived");
    let f = run(["--on-timeout", "exit 3", "0.3", "sleep", "30"]);
    f.assert_code(124).assert_stderr_contains("the hook failed");
    let f = run(["-p", "--on-timeout", "exit 3", "0.3", "sleep", "30"]);
    f.assert_code(128 + libc::SIGTERM);
}

#[test]
fn resource_totals_are_reported_on_every_path() {
    let dir = tempdir();
    for (args, outcome) in [
        (
            &[
                "5",
                "sh",
                "-c",
                "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
            ][..],
            "exited",
        ),
        (&["0.3", "sleep", "5"], "timed_out"),
        (&["5", "no-such-command-here"], "spawn_failed"),
    ] {
        let report = dir.path().join("r.json");
        let mut all = vec!["--report", report.to_str().unwrap()];
        all.extend(args);
        let f = run(all);
        let r = report_of(&report);
        assert_eq!(r["outcome"], outcome, "{f:#?}");
        let res = &r["resources"];
        assert!(res["wall_s"].as_f64().is_some(), "{r:#}");
        if outcome == "exited" {
            let cpu = res["user_s"].as_f64().unwrap() + res["system_s"].as_f64().unwrap();
            assert!(cpu > 0.0, "a busy loop used CPU: {r:#}");
            assert!(res["peak_rss_kib"].as_u64().unwrap() > 0, "{r:#}");
        }
        assert_eq!(r["runs"][0]["resources"], *res, "{r:#}");
    }
    // -vv says it too.
    run(["-vv", "5", "true"]).assert_stderr_contains("attempt 1 used ");
}

#[test]
fn what_the_hook_uses_is_not_counted_as_the_trees() {
    // The hook fills 100 MiB and spins for 0.3 s; the command, a sleep, uses next to nothing.
    let dir = tempdir();
    let report = dir.path().join("r.json");
    let hook = "python3 -c 'import time\nb = bytearray(100 << 20)\nt = time.time()\n\
                while time.time() - t < 0.3: pass'";
    for mode in ["group", "auto"] {
        let f = run([
            "--contain",
            mode,
            "--report",
            report.to_str().unwrap(),
            "--on-timeout",
            hook,
            "-g",
            "5",
            "0.3",
            "sleep",
            "30",
        ]);
        f.assert_code(124);
        let r = report_of(&report);
        let rusage = &r["rusage"];
        assert!(
            rusage["max_rss_kib"].as_i64().unwrap() < 50_000,
            "{mode}: {r:#}"
        );
        let cpu = rusage["user_s"].as_f64().unwrap() + rusage["system_s"].as_f64().unwrap();
        assert!(cpu < 0.2, "{mode}: {r:#}");
        let peak = r["resources"]["peak_rss_kib"].as_u64().unwrap_or(0);
        assert!(peak < 50_000, "{mode}: {r:#}");
        let cpu = r["resources"]["user_s"].as_f64().unwrap()
            + r["resources"]["system_s"].as_f64().unwrap();
        assert!(cpu < 0.2, "{mode}: {r:#}");
    }
}

#[test]
fn a_hooks_background_job_does_not_hold_up_the_stop() {
    // The hook leaves a job running; it is not part of the tree, and neither waits for it nor
    // makes timeout-run escalate.
    let marker = format!("15.{}", std::process::id());
    let hook = format!("sleep {marker} &");
    let f = run([
        "-v",
        "--no-kill",
        "--on-timeout",
        &hook,
        "0.3",
        "sleep",
        "100",
    ]);
    f.assert_code(124).assert_faster_than(4 * SEC);
    let f = run([
        "-v",
        "-k",
        "3",
        "--on-timeout",
        &hook,
        "0.3",
        "sleep",
        "100",
    ]);
    f.assert_code(124)
        .assert_faster_than(3 * SEC)
        .assert_stderr_lacks("signal KILL");
    assert!(!sleeping(&marker), "the hook's job survived");
}

#[test]
fn the_command_gets_its_whole_grace_after_the_hook() {
    // The hook takes 1 s; the command's clean-up takes 1.5 s of a 2 s grace.
    let script = "trap 'sleep 1.5; echo cleaned; exit 0' TERM; echo ready; sleep 30 & wait";
    let mut r = spawn([
        "--on-timeout",
        "sleep 1",
        "-g",
        "2",
        "30",
        "sh",
        "-c",
        script,
    ]);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    let f = r.finish();
    f.assert_code(124)
        .assert_stdout_contains("cleaned")
        .assert_faster_than(8 * SEC);
}

#[test]
fn signals_are_served_while_the_hook_runs() {
    // The hook would take 20 s and the command ignores SIGTERM. A SIGTERM to timeout-run cuts
    // the hook short and starts the grace period; the same again kills at once. A SIGUSR1 in
    // between reaches the command while the hook runs.
    let script = "trap '' TERM; trap 'echo got USR1' USR1; echo ready; \
                  while :; do sleep 0.05; done";
    let marker = format!("20.{}", std::process::id());
    let hook = format!("echo hook started; sleep {marker}");
    let mut r = spawn([
        "-vv",
        "--on-timeout",
        &hook,
        "-g",
        "30",
        "30",
        "sh",
        "-c",
        script,
    ]);
    r.wait_for_line("ready");
    r.signal(libc::SIGALRM);
    r.wait_for_stderr("hook started");
    r.signal(libc::SIGUSR1);
    r.wait_for_line("got USR1");
    r.signal(libc::SIGTERM);
    r.wait_for_stderr("cut short");
    r.signal(libc::SIGTERM);
    let f = r.finish();
    f.assert_code(124).assert_faster_than(10 * SEC);
    assert!(!sleeping(&marker), "the hook survived");
}

#[test]
fn a_tree_that_ends_during_the_hook_gets_no_stop_signal() {
    // The hook kills the command (as `kill -QUIT` ends a Go program): nothing is left to stop,
    // so no signal is sent, and the status is still 124.
    let dir = tempdir();
    for mode in ["group", "auto"] {
        let report = dir.path().join(format!("{mode}.json"));
        let f = run([
            "-v",
            "--contain",
            mode,
            "--report",
            report.to_str().unwrap(),
            "--on-timeout",
            "kill -KILL $TIMEOUT_RUN_PID; sleep 0.3",
            "0.2",
            "sleep",
            "30",
        ]);
        f.assert_code(124)
            .assert_stderr_lacks("sending signal")
            .assert_faster_than(5 * SEC);
        let r = report_of(&report);
        assert_eq!(r["signals_sent"], serde_json::json!([]), "{mode}: {r:#}");
        assert_eq!(r["command_status"]["signal"], "SIGKILL", "{mode}: {r:#}");
    }
}

#[test]
fn the_hook_dies_with_a_sigkilled_timeout_run() {
    if crate::util::linux_only(
        "the_hook_dies_with_a_sigkilled_timeout_run",
        "the parent-death signal",
    ) {
        return;
    }
    let marker = format!("40.{}", std::process::id());
    // The hook itself, as the command itself, dies with timeout-run (what it starts, as what
    // the command starts, does not get a parent-death signal).
    let hook = format!("echo hook-started >&2; exec sleep {marker}");
    let mut r = spawn(["--on-timeout", &hook, "-g", "30", "0.2", "sleep", "30"]);
    r.wait_for_stderr("hook-started");
    r.signal(libc::SIGKILL);
    r.finish().assert_signal(libc::SIGKILL);
    let alive = || sleeping(&marker);
    let deadline = std::time::Instant::now() + 2 * SEC;
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(), "the hook outlived timeout-run");
}

#[test]
fn what_the_hook_starts_is_never_part_of_the_tree() {
    // The hook leaves daemons that called setsid, one of them ignoring SIGTERM, and a job
    // that fills memory: none of them is stopped as the tree, counted as the tree's, holds the
    // grace period or stderr open, or outlives timeout-run.
    let marker = format!("30.{}", std::process::id());
    let hook = format!(
        "setsid sleep {marker} & (trap '' TERM; setsid sleep {marker} &); \
         (python3 -c 'b = bytearray(100 << 20)' &); sleep 0.5"
    );
    let dir = tempdir();
    let report = dir.path().join("r.json");
    for mode in ["group", "auto"] {
        let f = run([
            "--contain",
            mode,
            "--report",
            report.to_str().unwrap(),
            "--on-timeout",
            &hook,
            "-g",
            "5",
            "0.3",
            "sleep",
            "30",
        ]);
        f.assert_code(124).assert_faster_than(4 * SEC);
        let r = report_of(&report);
        assert_eq!(r["escalated"], false, "{mode}: {r:#}");
        assert!(
            r["rusage"]["max_rss_kib"].as_i64().unwrap() < 50_000,
            "{mode}: {r:#}"
        );
        assert!(!sleeping(&marker), "{mode}: the hook's daemons survived");
    }
}

/// A big tree (more than one reader's share) is recorded whole: every process once, each under
/// its parent, the command first.
#[test]
fn a_big_tree_is_recorded_whole() {
    if crate::util::linux_only("a_big_tree_is_recorded_whole", "the setsid program") {
        return;
    }
    let dir = tempdir();
    let report = dir.path().join("r.json");
    // 150 sleeps, 30 of them setsid'd, then a readiness line; SIGALRM is the timeout.
    let script = "for i in $(seq 120); do sleep 100 & done; \
                  for i in $(seq 30); do setsid sleep 100 & done; echo ready; wait";
    let mut running = spawn([
        "--report",
        report.to_str().unwrap(),
        "-g",
        "1",
        "60",
        "sh",
        "-c",
        script,
    ]);
    running.wait_for_line("ready");
    running.signal(libc::SIGALRM);
    running.finish().assert_code(124);
    let r = report_of(&report);
    let tree = r["tree_at_timeout"].as_array().expect("tree_at_timeout");
    assert_eq!(tree.len(), 151, "{tree:#?}");
    assert_eq!(tree[0]["pid"], r["pid"]);
    let mut pids: Vec<i64> = tree.iter().map(|p| p["pid"].as_i64().unwrap()).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 151, "a process recorded twice: {tree:#?}");
    // Each child of the shell (a few may not have exec'd `sleep` yet when the time is up).
    assert!(
        tree[1..].iter().all(|p| p["ppid"] == r["pid"]),
        "every other process is the shell's child: {tree:#?}"
    );
}
