//! The whole tree (SPEC §4): setsid'd and double-forked descendants, leftovers, zombies, in both
//! containment modes, and as PID 1 of a pid namespace.

use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// The containment modes this machine supports, each with the option that forces it.
fn modes(test: &str) -> Vec<&'static str> {
    let mut v = vec!["group"];
    match cgroup_unavailable() {
        None => v.push("cgroup"),
        Some(why) => skip(&format!("{test} (cgroup mode)"), &why),
    }
    v
}

/// Runs the helper with a tree of every kind under a short timeout and checks that nothing of
/// the tree is left when timeout-run exits.
fn whole_tree_is_gone_after_timeout(mode: &str, tree_actions: &[&str]) {
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let mut actions: Vec<&str> = tree_actions.to_vec();
    actions.extend(["pids", pids.to_str().unwrap(), "ready", "sleep", "30"]);
    let args = with_helper(&["--contain", mode, "-vv", "-t", "30", "-g", "2"], &actions);
    let mut r = spawn(args);
    r.wait_for_line("ready");
    let pids = read_pids(&pids);
    assert!(pids.iter().all(|p| alive(*p)), "tree not up: {pids:?}");
    // Cut the wait short with SIGTERM to timeout-run: the same stop sequence as a timeout.
    r.signal(libc::SIGTERM);
    let f = r.finish();
    f.assert_signal(libc::SIGTERM);
    let left = survivors(&pids, Duration::ZERO);
    cleanup(&left);
    assert!(
        left.is_empty(),
        "{mode}: survivors {left:?} of {pids:?}\n{f:#?}"
    );
}

#[test]
fn setsid_and_double_forked_descendants_are_stopped() {
    if crate::util::linux_backend_only(
        "setsid_and_double_forked_descendants_are_stopped",
        "setsid'd descendants are stopped only through the subreaper walk",
    ) {
        return;
    }
    for mode in modes("setsid_and_double_forked_descendants_are_stopped") {
        whole_tree_is_gone_after_timeout(mode, &["spawn", "3", "setsid", "3", "orphan", "3"]);
    }
}

#[test]
fn python_multiprocessing_pool_is_stopped() {
    for mode in modes("python_multiprocessing_pool_is_stopped") {
        whole_tree_is_gone_after_timeout(mode, &["pool", "4"]);
    }
}

#[test]
fn timeout_stops_descendants_that_ignore_the_stop_signal() {
    if crate::util::linux_backend_only(
        "timeout_stops_descendants_that_ignore_the_stop_signal",
        "setsid'd descendants are stopped only through the subreaper walk",
    ) {
        return;
    }
    for mode in modes("timeout_stops_descendants_that_ignore_the_stop_signal") {
        let dir = tempdir();
        let pids = dir.path().join("pids");
        // The setsid'd grandchildren run `sh -c 'trap "" TERM; ...'` so only SIGKILL ends them.
        let script = format!(
            "for i in 1 2 3; do setsid sh -c 'trap \"\" TERM; while :; do sleep 1; done' & done; \
             sleep 0.3; pgrep -P $$ > {p}.tmp; echo $$ >> {p}.tmp; mv {p}.tmp {p}; echo ready; wait",
            p = pids.display()
        );
        let mut r = spawn([
            "--contain",
            mode,
            "-t",
            "1",
            "-g",
            "0.5",
            "sh",
            "-c",
            &script,
        ]);
        r.wait_for_line("ready");
        let pids = read_pids(&pids);
        let f = r.finish();
        f.assert_code(124);
        let left = survivors(&pids, Duration::ZERO);
        cleanup(&left);
        assert!(left.is_empty(), "{mode}: survivors {left:?}");
    }
}

/// Runs a pipeline `timeout-run ... | cat`-like: returns how long until stdout reached EOF.
fn time_until_stdout_closes(args: &[&str]) -> (Duration, Option<i32>) {
    let mut c = cmd(args);
    c.stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    let start = std::time::Instant::now();
    let child = c.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(out.map(|o| o.status.code()));
    });
    match rx.recv_timeout(10 * SEC) {
        Ok(Ok(code)) => (start.elapsed(), code),
        _ => {
            // SAFETY: kill(2) of our own child.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            panic!("pipeline still open after 10 s: {args:?}");
        }
    }
}

#[test]
fn leftovers_are_killed_so_a_pipeline_never_hangs() {
    if crate::util::linux_backend_only(
        "leftovers_are_killed_so_a_pipeline_never_hangs",
        "a setsid'd leftover is stopped only through the subreaper walk",
    ) {
        return;
    }
    for mode in modes("leftovers_are_killed_so_a_pipeline_never_hangs") {
        let (elapsed, code) = time_until_stdout_closes(&[
            "--contain",
            mode,
            "-t",
            "30",
            "--",
            "sh",
            "-c",
            "setsid sleep 100 & echo started",
        ]);
        assert_eq!(code, Some(0));
        assert!(elapsed < 5 * SEC, "{mode}: {elapsed:?}");
    }
}

#[test]
fn leftovers_wait_waits_for_descendants() {
    let f = run([
        "--leftovers",
        "wait",
        "-t",
        "30",
        "sh",
        "-c",
        "(sleep 0.5; echo late) & echo early",
    ]);
    f.assert_code(0)
        .assert_stdout_contains("early")
        .assert_stdout_contains("late")
        .assert_slower_than(Duration::from_millis(450));
}

#[test]
fn leftovers_wait_is_bounded_by_the_deadline() {
    if crate::util::linux_backend_only(
        "leftovers_wait_is_bounded_by_the_deadline",
        "a setsid'd leftover is waited for only as the child subreaper",
    ) {
        return;
    }
    run([
        "--leftovers",
        "wait",
        "-t",
        "0.5",
        "sh",
        "-c",
        "setsid sleep 100 & exit 0",
    ])
    .assert_code(124)
    .assert_faster_than(5 * SEC);
}

#[test]
fn leftovers_keep_leaves_them_running() {
    if crate::util::linux_only("leftovers_keep_leaves_them_running", "the setsid program") {
        return;
    }
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    let script = format!("setsid sleep 100 & echo $! > {}", pidfile.display());
    run(["--leftovers", "keep", "-t", "30", "sh", "-c", &script])
        .assert_code(0)
        .assert_faster_than(5 * SEC);
    let pid = read_pids(&pidfile)[0];
    let alive_after = alive(pid);
    cleanup(&[pid]);
    assert!(alive_after, "--leftovers keep killed the leftover");
}

#[test]
fn foreground_signals_only_the_direct_child() {
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "sleep 100 & echo $! > {}; exec sleep 100",
        pidfile.display()
    );
    run(["--foreground", "-t", "0.3", "sh", "-c", &script])
        .assert_code(124)
        .assert_faster_than(5 * SEC);
    let pid = read_pids(&pidfile)[0];
    let alive_after = alive(pid);
    cleanup(&[pid]);
    assert!(alive_after, "--foreground reached a grandchild");
}

#[test]
fn orphans_are_reaped_while_running() {
    if crate::util::linux_only("orphans_are_reaped_while_running", "reads /proc") {
        return;
    }
    // 30 grandchildren that exit at once after being orphaned: timeout-run, as subreaper,
    // adopts and reaps them while the command still runs.
    let script = "for i in $(seq 30); do (sleep 0.01 &) ; done; sleep 0.5; echo ready; sleep 30";
    let mut r = spawn(["-t", "30", "sh", "-c", script]);
    r.wait_for_line("ready");
    let me = r.pid();
    let zombies = || -> usize {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter(|stat| {
                let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
                let mut f = rest.split_whitespace();
                let state = f.next().unwrap_or("");
                let ppid: i32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                state == "Z" && ppid == me
            })
            .count()
    };
    let deadline = std::time::Instant::now() + 5 * SEC;
    while zombies() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = zombies();
    r.signal(libc::SIGTERM);
    let _ = r.finish();
    assert_eq!(left, 0, "zombies of timeout-run while it runs");
}

#[test]
fn forced_cgroup_mode_fails_cleanly_without_cgroups() {
    if cgroup_unavailable().is_none() {
        // Here cgroups work; the forced mode must use one and say so.
        run(["-vv", "--contain", "cgroup", "true"])
            .assert_code(0)
            .assert_stderr_contains("contained by cgroup");
        run(["-vv", "--contain", "group", "true"])
            .assert_code(0)
            .assert_stderr_contains("contained by process group");
    } else {
        run(["--contain", "cgroup", "true"]).assert_code(125);
    }
}

#[test]
fn cgroup_is_removed_afterwards() {
    if let Some(why) = cgroup_unavailable() {
        return skip("cgroup_is_removed_afterwards", &why);
    }
    let f = run([
        "-vv",
        "--contain",
        "cgroup",
        "-t",
        "0.3",
        "sh",
        "-c",
        "setsid sleep 100 & sleep 100",
    ]);
    f.assert_code(124);
    let line = f
        .stderr
        .lines()
        .find(|l| l.contains("contained by cgroup"))
        .unwrap();
    let path = line.rsplit("cgroup ").next().unwrap().trim();
    assert!(!std::path::Path::new(path).exists(), "{path} left behind");
}

#[test]
fn cgroup_is_joined_after_fork_where_clone3_is_refused() {
    // Kernels before 5.7 (or seccomp filters) refuse clone3(CLONE_INTO_CGROUP): the child then
    // joins its cgroup between fork and exec, and the tree is held all the same.
    if let Some(why) = cgroup_unavailable() {
        return skip("cgroup_is_joined_after_fork_where_clone3_is_refused", &why);
    }
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let script = format!(
        "grep '^0::' /proc/self/cgroup; setsid sleep 100 & echo $! > {}; exit 0",
        pids.display()
    );
    let mut c = Command::new("python3");
    crate::util::with_backend(&mut c);
    c.arg(refuse_syscalls())
        .args([
            "clone3",
            bin(),
            "-vvv",
            "-g",
            "1",
            "10",
            "sh",
            "-c",
            &script,
        ])
        .env_remove("TIMEOUT_RUN_DEADLINE")
        .env_remove("TIMEOUT_RUN_LOG");
    let f = start(c).finish();
    f.assert_code(0)
        .assert_stderr_contains("clone3 failed")
        .assert_stderr_contains("falling back to fork")
        .assert_stderr_contains("contained by cgroup")
        .assert_stdout_contains("/timeout-run.");
    let started = read_pids(&pids);
    let left = survivors(&started, 2 * SEC);
    cleanup(&left);
    assert!(left.is_empty(), "survivors: {left:?}");
}

#[test]
fn cgroup_is_found_through_mountinfo_where_statmount_is_refused() {
    // Kernels before 6.8 have no listmount/statmount: the mount is found in mountinfo.
    if let Some(why) = cgroup_unavailable() {
        return skip(
            "cgroup_is_found_through_mountinfo_where_statmount_is_refused",
            &why,
        );
    }
    let mut c = Command::new("python3");
    crate::util::with_backend(&mut c);
    c.arg(refuse_syscalls())
        .args(["statmount,listmount", bin(), "-vv", "10", "sh", "-c"])
        .arg("grep '^0::' /proc/self/cgroup")
        .env_remove("TIMEOUT_RUN_DEADLINE")
        .env_remove("TIMEOUT_RUN_LOG");
    start(c)
        .finish()
        .assert_code(0)
        .assert_stderr_contains("contained by cgroup")
        .assert_stdout_contains("/timeout-run.");
}

// ---- Without a cgroup, as sure as with one (SPEC §4) -------------------------------------------

/// Processes whose command line contains `marker`, found by pgrep.
fn processes_with(marker: &str) -> Vec<i32> {
    let out = Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A unique `sleep` duration, so a test can find its own processes.
fn marker(test: u32) -> String {
    format!("1000.{test}{:06}", std::process::id())
}

#[test]
fn group_mode_reaches_setsid_descendants_whose_parent_dies_in_the_same_stop() {
    if crate::util::linux_backend_only(
        "group_mode_reaches_setsid_descendants_whose_parent_dies_in_the_same_stop",
        "a setsid'd descendant is reached only by the subreaper walk",
    ) {
        return;
    }
    // sh dies of the forwarded SIGTERM at once; its setsid'd child is re-parented to
    // timeout-run in the middle of the walk and must still get SIGTERM (not wait for SIGKILL
    // after the 10 s grace).
    let script = r#"setsid python3 -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
time.sleep(100)' & wait"#;
    for round in 0..30 {
        let mut r = spawn([
            "--contain",
            "group",
            "-g",
            "10",
            "-t",
            "60",
            "sh",
            "-c",
            script,
        ]);
        r.wait_for_line("ready");
        r.signal(libc::SIGTERM);
        let f = r.finish();
        assert!(
            f.elapsed < 5 * SEC && f.status.signal_compat() == Some(libc::SIGTERM),
            "round {round}: {f:#?}"
        );
    }
}

#[test]
fn group_mode_never_hangs_on_setsid_descendants_that_outlive_their_parent() {
    if crate::util::linux_backend_only(
        "group_mode_never_hangs_on_setsid_descendants_that_outlive_their_parent",
        "setsid'd descendants are reached only by the subreaper walk",
    ) {
        return;
    }
    for (n, count) in [(1, 20), (2, 200)] {
        let marker = marker(n);
        let script = format!(
            "trap '' TERM; i=0; while [ $i -lt {count} ]; do setsid sleep {marker} & \
             i=$((i+1)); done; wait"
        );
        let f = run(["--contain", "group", "-g", "1", "0.5", "sh", "-c", &script]);
        let left = processes_with(&format!("sleep {marker}"));
        cleanup(&left);
        f.assert_code(124).assert_faster_than(8 * SEC);
        assert!(left.is_empty(), "{count}: survivors {left:?}\n{f:#?}");
    }
}

#[test]
fn group_mode_catches_a_process_that_keeps_forking_away_from_its_parent() {
    if crate::util::linux_backend_only(
        "group_mode_catches_a_process_that_keeps_forking_away_from_its_parent",
        "a process that leaves the group is reached only by the subreaper walk",
    ) {
        return;
    }
    let marker = marker(3);
    // Each generation forks the next, which leaves the process group (setsid), and exits: the
    // live process changes pid, parent and group all the time, and ignores SIGTERM.
    let hopper = format!(
        "python3 -c 'import os, signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
         while True:\n    if os.fork(): os._exit(0)\n    os.setsid()' {marker}"
    );
    let script = format!("{hopper} & wait; sleep 100");
    let f = run([
        "--contain",
        "group",
        "-g",
        "0.3",
        "0.3",
        "sh",
        "-c",
        &script,
    ]);
    let left = processes_with(&marker);
    cleanup(&left);
    f.assert_code(124).assert_faster_than(8 * SEC);
    assert!(left.is_empty(), "survivors {left:?}\n{f:#?}");
}

#[test]
fn group_mode_stops_a_process_whose_name_is_not_utf8() {
    if crate::util::linux_backend_only(
        "group_mode_stops_a_process_whose_name_is_not_utf8",
        "a setsid'd descendant is reached only by the subreaper walk",
    ) {
        return;
    }
    // The kernel cuts a name at 15 bytes, here in the middle of a two-byte character.
    let dir = tempdir();
    let program = dir.path().join("ééééééééé");
    std::fs::copy("/bin/sleep", &program).unwrap();
    let marker = marker(4);
    let script = format!("setsid {} {marker} & wait", program.display());
    let f = run(["--contain", "group", "-g", "1", "0.3", "sh", "-c", &script]);
    let left = processes_with(&marker);
    cleanup(&left);
    f.assert_code(124).assert_faster_than(4 * SEC);
    assert!(left.is_empty(), "survivors {left:?}\n{f:#?}");
}

#[test]
fn the_commands_clean_up_children_are_not_signalled_again() {
    if crate::util::linux_only(
        "the_commands_clean_up_children_are_not_signalled_again",
        "the setsid program",
    ) {
        return;
    }
    // The command's TERM trap starts a clean-up child after the stop signal; it is part of the
    // tree but must not get the stop signal a second time (nor at all: it came later), in
    // either mode, so the clean-up finishes within the grace period.
    let script = "trap 'sh -c \"sleep 0.5; echo cleanup-finished\"; exit 0' TERM; \
                  setsid sh -c 'echo ready; exec sleep 30' & sh -c 'echo ready; exec sleep 30' & wait";
    for mode in modes("the_commands_clean_up_children_are_not_signalled_again") {
        let mut r = spawn(["--contain", mode, "-g", "5", "30", "sh", "-c", script]);
        // Both children have exec'd: a signal that lands while a shell forks can be lost in
        // the shell itself, whatever sent it.
        r.wait_for_line("ready");
        r.wait_for_line("ready");
        r.signal(libc::SIGALRM);
        let f = r.finish();
        f.assert_code(124)
            .assert_stdout_contains("cleanup-finished")
            .assert_faster_than(4 * SEC);
    }
}

#[test]
fn a_reused_pid_never_replaces_the_commands_status() {
    if crate::util::linux_only(
        "a_reused_pid_never_replaces_the_commands_status",
        "pid namespaces",
    ) {
        return;
    }
    if let Some(why) = pid_namespace_unavailable() {
        return skip("a_reused_pid_never_replaces_the_commands_status", &why);
    }
    // In a pid namespace (timeout-run is PID 1), an orphan is given the command's pid again
    // after the command was reaped (ns_last_pid), is adopted by timeout-run, and dies by
    // SIGSEGV: the status must stay the command's own 3.
    let script = format!(
        "ulimit -c 0; python3 {} $$ & exit 3",
        crate::util::reuse_pid().display()
    );
    let f = start(in_pid_namespace(&[
        "--contain",
        "group",
        "--leftovers",
        "wait",
        "-t",
        "10",
        "sh",
        "-c",
        &script,
    ]))
    .finish();
    f.assert_stdout_contains("reused")
        .assert_code(3)
        .assert_faster_than(8 * SEC);
    assert!(!f.stdout.contains("not reused"), "{f:#?}");
}

#[test]
fn a_process_group_number_taken_again_is_not_signalled() {
    if crate::util::linux_backend_only(
        "a_process_group_number_taken_again_is_not_signalled",
        "the portable backend has only the process group",
    ) {
        return;
    }
    if let Some(why) = pid_namespace_unavailable() {
        return skip("a_process_group_number_taken_again_is_not_signalled", &why);
    }
    // In a pid namespace whose init is a shell: the command (its group's leader) dies at the
    // timeout and its group is empty, while a setsid'd descendant that ignores SIGTERM holds
    // the grace period. A process outside the tree (the shell's) is then given the command's
    // pid and starts a session, so the command's group number is its group's. The SIGKILL at
    // the end of the grace period must not reach it.
    let dir = tempdir();
    let file = dir.path().join("cmd");
    let file = file.to_str().unwrap();
    let script = format!(
        "{bin} --contain group -g 2 -t 0.5 sh -c \
           'setsid sh -c \"trap \\\"\\\" TERM; sleep 100\" & echo $$ > {file}; exec sleep 100' &
         tr=$!
         while [ ! -s {file} ]; do sleep 0.01; done
         c=$(cat {file})
         python3 {reuse} --session 30 $c
         wait $tr; echo status=$?
         if kill -0 $c 2>/dev/null; then echo 'group owner alive'; else echo 'group owner killed'; fi",
        bin = bin(),
        reuse = crate::util::reuse_pid().display(),
    );
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script]);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    let f = start(c).finish();
    f.assert_stdout_contains("reused")
        .assert_stdout_contains("status=124")
        .assert_faster_than(10 * SEC);
    assert!(!f.stdout.contains("not reused"), "{f:#?}");
    f.assert_stdout_contains("group owner alive");
}

// ---- PID 1 (SPEC §5) --------------------------------------------------------------------------

fn pid_namespace_unavailable() -> Option<String> {
    if !is_root() {
        return Some("not root: cannot create a pid namespace".into());
    }
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    (!ok).then(|| "unshare --pid --fork --mount-proc does not work here".into())
}

fn in_pid_namespace(args: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    crate::util::with_backend(&mut c);
    c.args(["--pid", "--fork", "--mount-proc", bin()])
        .args(args);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c
}

#[test]
fn as_pid_1_orphans_are_reaped_and_the_tree_stopped() {
    if crate::util::linux_backend_only(
        "as_pid_1_orphans_are_reaped_and_the_tree_stopped",
        "a setsid'd orphan is stopped only through the /proc walk",
    ) {
        return;
    }
    if let Some(why) = pid_namespace_unavailable() {
        return skip("as_pid_1_orphans_are_reaped_and_the_tree_stopped", &why);
    }
    // Inside: orphans exit and must be reaped by PID 1. A zombie may exist for an instant
    // before its parent reaps it, so the census is repeated until it reads zero (bounded).
    let script = "for i in $(seq 20); do (sleep 0.01 &); done; \
                  for i in $(seq 100); do z=$(ps -eo stat= | grep -c '^Z'); \
                  [ \"$z\" = 0 ] && break; sleep 0.05; done; \
                  echo zombies=$z; echo pid=$PPID; setsid sleep 100 & sleep 100";
    let f = start(in_pid_namespace(&["-t", "8", "sh", "-c", script])).finish();
    f.assert_code(124)
        .assert_stdout_contains("zombies=0")
        .assert_stdout_contains("pid=1")
        .assert_faster_than(15 * SEC);
}

#[test]
fn as_pid_1_sigterm_starts_the_stop_sequence() {
    if crate::util::linux_only(
        "as_pid_1_sigterm_starts_the_stop_sequence",
        "pid namespaces",
    ) {
        return;
    }
    if let Some(why) = pid_namespace_unavailable() {
        return skip("as_pid_1_sigterm_starts_the_stop_sequence", &why);
    }
    let mut actions = helper_args(&["trap", "TERM", "3", "ready", "sleep", "30"]);
    actions.insert(0, "--".into());
    let mut args = vec!["-t".to_owned(), "30".into()];
    args.extend(actions);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut r = start(in_pid_namespace(&args));
    r.wait_for_line("ready");
    // unshare's child is timeout-run, PID 1 of the namespace.
    let unshare = r.pid();
    let children =
        std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).unwrap();
    let pid1: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill(2) of a process we started.
    unsafe {
        libc::kill(pid1, libc::SIGTERM);
    }
    let f = r.finish();
    f.assert_stdout_contains("got SIGTERM")
        .assert_faster_than(10 * SEC);
    // PID 1 cannot die by its own signal: it exits 128+15 instead, which unshare passes on.
    assert!(
        f.status.code() == Some(143) || f.status.signal_compat() == Some(libc::SIGTERM),
        "{f:#?}"
    );
}

trait SignalCompat {
    fn signal_compat(&self) -> Option<i32>;
}

impl SignalCompat for std::process::ExitStatus {
    fn signal_compat(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.signal()
    }
}
