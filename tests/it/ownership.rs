//! Nothing of timeout-run's outlives it (SPEC §4): on every path where it exits, errors
//! included, its cgroup directory is removed and no process of the tree is left; cgroups the
//! command made below its own go too; directories left by a SIGKILLed run are removed by a later
//! run that can prove their creator is gone.
//!
//! Each test runs timeout-run from a cgroup of its own (a fresh directory in the hierarchy), so
//! that what is left below it is exactly what that run left.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// The cgroup v2 mount point and this process's cgroup path below it.
fn own_cgroup_dir() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (root, mount) = info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if !right.starts_with("cgroup2 ") {
            return None;
        }
        let fields: Vec<&str> = left.split(' ').collect();
        Some((fields.get(3)?.to_string(), fields.get(4)?.to_string()))
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let relative = path
        .strip_prefix(root.trim_end_matches('/'))
        .unwrap_or(path);
    Some(Path::new(&mount).join(relative.trim_start_matches('/')))
}

/// A cgroup made for one test, removed (with anything below) when dropped.
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(test: &str) -> Option<TestCgroup> {
        if cgroup_unavailable().is_some() {
            return None;
        }
        let dir = own_cgroup_dir()?.join(format!("test-{test}-{}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(TestCgroup(dir))
    }

    /// `sh -c SCRIPT` run from inside this cgroup (`$0` is timeout-run).
    fn run(&self, script: &str) -> Finished {
        let inside = format!(
            "echo $$ > {}/cgroup.procs || exit 99\n{script}",
            self.0.display()
        );
        let mut c = Command::new("sh");
        crate::util::with_backend(&mut c);
        c.args(["-c", &inside, bin()]);
        c.env_remove("TIMEOUT_RUN_DEADLINE");
        c.env_remove("TIMEOUT_RUN_LOG");
        start(c).finish()
    }

    /// The directories below this cgroup, at any depth.
    fn left(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(entry.path());
                    walk(&entry.path(), out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &mut out);
        out
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let mut dirs = self.left();
        dirs.reverse();
        for d in dirs {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Processes whose command line contains `marker`.
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

fn marker(n: u32) -> String {
    format!("30.{n}{:06}", std::process::id())
}

/// Asserts that a run left no directory below `cg` and no process with `marker`.
fn assert_nothing_left(cg: &TestCgroup, marker: &str, what: &str, f: &Finished) {
    let procs = survivors(&processes_with(marker), Duration::from_secs(2));
    cleanup(&procs);
    let dirs = cg.left();
    assert!(
        dirs.is_empty() && procs.is_empty(),
        "{what}: left directories {dirs:?} and processes {procs:?}\n{f:#?}"
    );
}

#[test]
fn descriptor_limits_at_every_setup_step_leave_nothing_behind() {
    let Some(cg) = TestCgroup::new("fd-sweep") else {
        return skip(
            "descriptor_limits_at_every_setup_step_leave_nothing_behind",
            "needs root and a writable cgroup v2 hierarchy",
        );
    };
    let mut failed = 0;
    for limit in 4..=24 {
        let marker = marker(limit);
        let script = format!(
            r#"ulimit -n {limit} && exec "$0" --idle-timeout 5 -t 5 sh -c 'sleep {marker} & exit 0'"#
        );
        let f = cg.run(&script);
        let code = f.status.code();
        assert!(matches!(code, Some(0 | 125)), "limit {limit}: {f:#?}");
        if code == Some(125) {
            failed += 1;
            assert!(f.stderr.starts_with("timeout-run: "), "{f:#?}");
        }
        assert_nothing_left(&cg, &marker, &format!("limit {limit}"), &f);
    }
    assert!(failed > 0, "no limit made a setup step fail");
}

#[test]
fn a_failing_system_call_at_any_step_leaves_nothing_behind() {
    if crate::util::linux_only(
        "a_failing_system_call_at_any_step_leaves_nothing_behind",
        "seccomp",
    ) {
        return;
    }
    let Some(cg) = TestCgroup::new("inject") else {
        return skip(
            "a_failing_system_call_at_any_step_leaves_nothing_behind",
            "needs root and a writable cgroup v2 hierarchy",
        );
    };
    let refuse = refuse_syscalls();
    // Each refused call breaks one step: the status pipe or the relay's pipes (pipe2), the
    // spawn itself (clone3 and clone), the event loop after the command runs (poll, ppoll).
    for (n, calls) in [
        (1, "pipe2"),
        (2, "clone3,clone"),
        (3, "poll,ppoll"),
        (4, "pidfd_open"),
    ] {
        let marker = marker(100 + n);
        let script = format!(
            r#"exec python3 {} {calls} "$0" --idle-timeout 5 -t 5 sh -c 'sleep {marker} & sleep {marker}'"#,
            refuse.display()
        );
        let f = cg.run(&script);
        assert_nothing_left(&cg, &marker, calls, &f);
        if calls == "pidfd_open" {
            // Not needed to run: the walk falls back to kill().
            continue;
        }
        f.assert_code(125);
    }
}

#[test]
fn cgroups_the_command_makes_below_its_own_are_removed_too() {
    let Some(cg) = TestCgroup::new("sub") else {
        return skip(
            "cgroups_the_command_makes_below_its_own_are_removed_too",
            "needs root and a writable cgroup v2 hierarchy",
        );
    };
    let marker = marker(200);
    // The command finds its cgroup, makes one below it and moves a child there.
    let script = format!(
        r#""$0" -t 0.5 -g 1 sh -c '
            mount=$(awk "\$9 == \"cgroup2\" {{ print \$5; exit }}" /proc/self/mountinfo)
            own=$(sed -n "s/^0:://p" /proc/self/cgroup)
            mkdir "$mount$own/sub" || exit 98
            sleep {marker} & echo $! > "$mount$own/sub/cgroup.procs"
            wait'
        echo "code=$?""#
    );
    let f = cg.run(&script);
    f.assert_code(0).assert_stdout_contains("code=124");
    assert_nothing_left(&cg, &marker, "sub-cgroup", &f);
}

#[test]
fn a_nested_run_killed_by_the_outer_one_leaves_nothing_behind() {
    let Some(cg) = TestCgroup::new("nested") else {
        return skip(
            "a_nested_run_killed_by_the_outer_one_leaves_nothing_behind",
            "needs root and a writable cgroup v2 hierarchy",
        );
    };
    let marker = marker(300);
    // -s KILL: the inner timeout-run is SIGKILLed with the rest of the tree and cannot clean
    // up its own cgroup, which is below the outer one's.
    let script =
        format!(r#""$0" -s KILL 0.5 "$0" 100 sh -c 'sleep {marker} & wait'; echo "code=$?""#);
    let f = cg.run(&script);
    f.assert_code(0).assert_stdout_contains("code=124");
    assert_nothing_left(&cg, &marker, "nested", &f);
}

#[test]
fn directories_of_runs_that_are_gone_are_removed_by_a_later_run() {
    let Some(cg) = TestCgroup::new("abandoned") else {
        return skip(
            "directories_of_runs_that_are_gone_are_removed_by_a_later_run",
            "needs root and a writable cgroup v2 hierarchy",
        );
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let name = |age: Duration, n: u32| {
        let stamp = (now - age).as_nanos();
        cg.0.join(format!("timeout-run.{}.{n}.{stamp:x}", 40000 + n))
    };
    let gone = name(Duration::from_secs(600), 1);
    // Made an instant ago by a run that is alive (here, this test) and has not locked it yet.
    let young = cg.0.join(format!(
        "timeout-run.{}.2.{:x}",
        std::process::id(),
        now.as_nanos()
    ));
    let locked = name(Duration::from_secs(600), 3);
    // A second old, made in this pid namespace: one's creator is gone (pid_max is never a
    // pid), another one's lives (this test). A third, the same as the first but made in another
    // pid namespace (or named as before namespaces were), where its pid means nothing here.
    let stamp = (now - Duration::from_secs(1)).as_nanos();
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    let pid_max = pid_max.trim();
    let ns = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self/ns/pid").unwrap().ino()
    };
    let creator_gone =
        cg.0.join(format!("timeout-run.{pid_max}.4.{ns:x}.{stamp:x}"));
    let creator_alive = cg.0.join(format!(
        "timeout-run.{}.5.{ns:x}.{stamp:x}",
        std::process::id()
    ));
    let other_namespace =
        cg.0.join(format!("timeout-run.{pid_max}.6.{:x}.{stamp:x}", ns + 1));
    let unnamed_namespace = cg.0.join(format!("timeout-run.{pid_max}.7.{stamp:x}"));
    for d in [
        &gone,
        &young,
        &locked,
        &creator_gone,
        &creator_alive,
        &other_namespace,
        &unnamed_namespace,
    ] {
        std::fs::create_dir(d).unwrap();
    }
    // A live owner holds the lock of `locked` while the later run starts.
    let holder = format!(
        "import fcntl, os, sys, time\n\
         fd = os.open({:?}, os.O_RDONLY | os.O_DIRECTORY)\n\
         fcntl.flock(fd, fcntl.LOCK_EX)\n\
         print('ready', flush=True)\n\
         sys.stdin.read()",
        locked.display().to_string()
    );
    let mut holder = std::process::Command::new("python3")
        .args(["-c", &holder])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    let f = cg.run(r#""$0" 5 true"#);
    drop(holder.stdin.take());
    let _ = holder.wait();
    f.assert_code(0);
    assert!(!gone.exists(), "an abandoned directory was kept\n{f:#?}");
    assert!(
        !creator_gone.exists(),
        "a directory whose creator is gone was kept\n{f:#?}"
    );
    assert!(
        creator_alive.exists(),
        "a recent directory whose creator's pid lives was removed"
    );
    assert!(
        other_namespace.exists() && unnamed_namespace.exists(),
        "a recent directory made in another pid namespace was removed"
    );
    for d in [&creator_alive, &other_namespace, &unnamed_namespace] {
        let _ = std::fs::remove_dir(d);
    }
    assert!(
        young.exists(),
        "a directory made an instant ago was removed"
    );
    assert!(
        locked.exists(),
        "a directory whose owner is alive was removed"
    );
}

#[test]
fn an_outer_run_keeping_leftovers_leaves_a_live_nested_runs_cgroup_alone() {
    let Some(cg) = TestCgroup::new("keep-nested") else {
        return skip(
            "an_outer_run_keeping_leftovers_leaves_a_live_nested_runs_cgroup_alone",
            "needs root and a writable cgroup v2 hierarchy",
        );
    };
    let marker = marker(400);
    // The outer command exits at once, keeping the inner timeout-run, which must still stop
    // its own tree at its deadline.
    let script = format!(
        r#""$0" --leftovers keep 5 sh -c '"$0" -k 1 1 sh -c "sleep {marker} & wait" & exit 0' "$0"
           echo "code=$?""#
    );
    let f = cg.run(&script);
    f.assert_code(0).assert_stdout_contains("code=0");
    // Wait (bounded) for the inner run to end its tree.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !processes_with(&marker).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_nothing_left(&cg, &marker, "nested keep", &f);
}
