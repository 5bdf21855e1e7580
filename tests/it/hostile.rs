//! Hostile environments: closed standard descriptors, descriptor exhaustion, no `/proc`, a
//! read-only or absent cgroup hierarchy, huge argument lists, non-UTF-8 names.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// `sh -c SCRIPT` with `$0` = the binary under test, under the watchdog.
fn shell(script: &str) -> Finished {
    let mut c = Command::new("sh");
    crate::util::with_backend(&mut c);
    c.args(["-c", script, bin()]);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c.env_remove("TIMEOUT_RUN_LOG");
    start(c).finish()
}

#[test]
fn closed_stdout_and_stderr_stay_closed_for_the_command() {
    if crate::util::linux_only(
        "closed_stdout_and_stderr_stay_closed_for_the_command",
        "reads /proc/self/fd",
    ) {
        return;
    }
    // The command sees exactly what it would see without timeout-run: closed descriptors.
    let f = shell(r#""$0" -vv 5 sh -c 'test -e /proc/$$/fd/2; echo "err=$?"' 2>&-"#);
    f.assert_code(0).assert_stdout_contains("err=1");
    let f = shell(r#""$0" 5 sh -c 'test -e /proc/$$/fd/1; echo "out=$?" >&2' >&-"#);
    f.assert_code(0).assert_stderr_contains("out=1");
}

#[test]
fn closed_stderr_does_not_redirect_messages_into_other_files() {
    // With stderr closed, the next descriptor timeout-run opens would be 2; its messages must
    // not land in that file (a cgroup file, the report, a pipe).
    let dir = tempdir();
    let report = dir.path().join("report.json");
    let script = format!(
        r#""$0" -vv --report '{}' 0.2 sh -c 'sleep 5' 2>&-; echo "code=$?""#,
        report.display()
    );
    let f = shell(&script);
    f.assert_code(0).assert_stdout_contains("code=124");
    let text = std::fs::read_to_string(&report).expect("report written");
    assert!(
        !text.contains("timeout-run:"),
        "messages leaked into the report: {text}"
    );
    assert!(text.trim_start().starts_with('{'), "{text}");
}

#[test]
fn timeout_with_closed_stdio_still_stops_the_tree() {
    if crate::util::linux_backend_only(
        "timeout_with_closed_stdio_still_stops_the_tree",
        "a setsid'd descendant is outside the process group, stopped only through the subreaper walk",
    ) {
        return;
    }
    let dir = tempdir();
    let pids = dir.path().join("pids");
    let script = format!(
        r#""$0" -g 0.5 0.3 sh -c 'setsid sleep 30 & echo $! > {0}; sleep 30 & echo $! >> {0}; wait' \
              <&- >&- 2>&-; echo "code=$?""#,
        pids.display()
    );
    let f = shell(&script);
    f.assert_code(0)
        .assert_stdout_contains("code=124")
        .assert_faster_than(10 * SEC);
    let started = read_pids(&pids);
    assert!(!started.is_empty());
    let left = survivors(&started, 2 * SEC);
    cleanup(&left);
    assert!(left.is_empty(), "survivors: {left:?}");
}

#[test]
fn descriptor_exhaustion_is_an_internal_error_with_a_message() {
    // For every limit from "nothing left" upwards, timeout-run either runs the command or
    // fails with 125 and one message: never a panic, never another status.
    let mut saw_failure = false;
    let mut saw_success = false;
    // Below 4 the dynamic loader itself cannot open the C library.
    for limit in 4..=12 {
        let script = format!(r#"ulimit -n {limit} && exec "$0" 5 sh -c 'exit 7'"#);
        let f = shell(&script);
        match f.code() {
            7 => saw_success = true,
            125 => {
                saw_failure = true;
                assert!(
                    f.stderr.starts_with("timeout-run: "),
                    "limit {limit}: {f:#?}"
                );
                assert!(!f.stderr.contains("panick"), "limit {limit}: {f:#?}");
            }
            _ => panic!("limit {limit}: unexpected status: {f:#?}"),
        }
    }
    assert!(
        saw_failure && saw_success,
        "the range should cover both outcomes"
    );
}

#[test]
fn the_command_inherits_no_descriptor_of_timeout_run() {
    if crate::util::linux_only(
        "the_command_inherits_no_descriptor_of_timeout_run",
        "reads /proc/self/fd",
    ) {
        return;
    }
    // Every descriptor timeout-run opens is close-on-exec: `ls` sees what it sees without
    // timeout-run (what the test runner passed on, and its own directory handle), in every
    // containment mode.
    let mut direct = Command::new("ls");
    direct.args(["-1", "/proc/self/fd"]);
    let expected = start(direct).finish();
    for contain in ["auto", "group"] {
        let f = run(["--contain", contain, "5", "ls", "-1", "/proc/self/fd"]);
        f.assert_code(0);
        assert_eq!(f.stdout, expected.stdout, "{contain}: {f:#?}");
    }
}

/// `unshare --mount` with a private propagation, running SCRIPT as root; None when impossible.
fn in_mount_namespace(script: &str) -> Option<Finished> {
    if !is_root() {
        return None;
    }
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !probe {
        return None;
    }
    let mut c = Command::new("unshare");
    crate::util::with_backend(&mut c);
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        bin(),
    ]);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c.env_remove("TIMEOUT_RUN_LOG");
    Some(start(c).finish())
}

#[test]
fn without_proc_the_process_group_is_still_stopped() {
    if crate::util::linux_only(
        "without_proc_the_process_group_is_still_stopped",
        "mount namespaces",
    ) {
        return;
    }
    let dir = tempdir();
    let pids = dir.path().join("pids");
    // Inside: /proc unmounted, so no tree walk; the process group and the subreaper remain.
    let script = format!(
        r#"umount -l /proc || exit 99
           "$0" -vv --contain group -g 0.5 0.3 sh -c 'sleep 30 & echo $! > {0}; (sleep 30 & echo $! >> {0}); wait'
           echo "code=$?""#,
        pids.display()
    );
    let Some(f) = in_mount_namespace(&script) else {
        return skip(
            "without_proc_the_process_group_is_still_stopped",
            "needs root and unshare --mount",
        );
    };
    f.assert_code(0)
        .assert_stdout_contains("code=124")
        .assert_stderr_contains("process group")
        .assert_stderr_contains(": descendants that left the command's process group")
        .assert_faster_than(10 * SEC);
    let started = read_pids(&pids);
    assert!(!started.is_empty(), "{f:#?}");
    let left = survivors(&started, 2 * SEC);
    cleanup(&left);
    assert!(left.is_empty(), "survivors: {left:?}");
}

#[test]
fn without_proc_a_cgroup_still_holds_the_whole_tree() {
    if let Some(why) = cgroup_unavailable() {
        return skip("without_proc_a_cgroup_still_holds_the_whole_tree", &why);
    }
    let dir = tempdir();
    let pids = dir.path().join("pids");
    // /proc hidden under a tmpfs: the cgroup2 mount is still found (statmount, or mountinfo
    // read before) and the cgroup enumerates and kills setsid'd descendants.
    let script = format!(
        r#"mount -t tmpfs none /proc || exit 99
           "$0" -vv --contain cgroup -g 0.5 0.3 sh -c 'setsid sleep 30 & echo $! > {0}; wait'
           echo "code=$?""#,
        pids.display()
    );
    let Some(f) = in_mount_namespace(&script) else {
        return skip(
            "without_proc_a_cgroup_still_holds_the_whole_tree",
            "needs root and unshare --mount",
        );
    };
    f.assert_code(0)
        .assert_stdout_contains("code=124")
        .assert_stderr_contains("contained by cgroup")
        .assert_faster_than(10 * SEC);
    let started = read_pids(&pids);
    assert!(!started.is_empty(), "{f:#?}");
    let left = survivors(&started, 2 * SEC);
    cleanup(&left);
    assert!(left.is_empty(), "survivors: {left:?}");
}

/// The cgroup v2 mount point, from mountinfo.
fn cgroup2_mount() -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        right
            .starts_with("cgroup2 ")
            .then(|| left.split(' ').nth(4).map(str::to_owned))?
    })
}

#[test]
fn read_only_or_absent_cgroup_hierarchy_falls_back_to_the_process_group() {
    if crate::util::linux_only(
        "read_only_or_absent_cgroup_hierarchy_falls_back_to_the_process_group",
        "mount namespaces",
    ) {
        return;
    }
    if let Some(why) = cgroup_unavailable() {
        return skip(
            "read_only_or_absent_cgroup_hierarchy_falls_back_to_the_process_group",
            &why,
        );
    }
    let Some(mount) = cgroup2_mount() else {
        return skip(
            "read_only_or_absent_cgroup_hierarchy_falls_back_to_the_process_group",
            "no cgroup2 mount",
        );
    };
    for (how, setup) in [
        (
            "read-only",
            format!("mount -o remount,bind,ro '{mount}' '{mount}'"),
        ),
        ("absent", format!("umount -l '{mount}'")),
    ] {
        let script = format!(
            r#"{setup} || exit 99
               "$0" -vv 0.2 sleep 5; echo "auto=$?"
               "$0" --contain cgroup 0.2 sleep 5; echo "forced=$?""#
        );
        let Some(f) = in_mount_namespace(&script) else {
            return skip(
                "read_only_or_absent_cgroup_hierarchy_falls_back_to_the_process_group",
                "needs root and unshare --mount",
            );
        };
        f.assert_code(0)
            .assert_stdout_contains("auto=124")
            .assert_stdout_contains("forced=125")
            .assert_stderr_contains("process group")
            .assert_stderr_contains("--contain cgroup: ")
            .assert_stderr_lacks("warning");
        eprintln!("{how}: ok");
    }
}

#[test]
fn a_huge_argument_list_reaches_the_command_intact() {
    // About 1 MiB of arguments (half the usual limit), counted and checksummed by the command.
    let args: Vec<String> = (0..100_000).map(|i| format!("arg-{i:05}")).collect();
    let mut all = vec![
        "5".to_owned(),
        "sh".into(),
        "-c".into(),
        r#"echo "count=$#"; printf '%s\n' "$@" | cksum"#.into(),
        "sh".into(),
    ];
    all.extend(args.iter().cloned());
    let f = run(&all);
    f.assert_code(0).assert_stdout_contains("count=100000");
    let expected = Command::new("sh")
        .args(["-c", r#"printf '%s\n' "$@" | cksum"#, "sh"])
        .args(&args)
        .output()
        .expect("sh");
    assert!(
        f.stdout
            .contains(String::from_utf8_lossy(&expected.stdout).trim()),
        "{f:#?}"
    );
}

#[test]
fn a_script_without_interpreter_line_runs_through_sh_with_a_huge_argument_list() {
    // exec fails with ENOEXEC and execvp's fallback runs /bin/sh SCRIPT ARG...: the child builds
    // that argument array on its stack (800 KB here), which must fit whatever the spawn method.
    let dir = tempdir();
    let script = dir.path().join("no-interpreter-line");
    std::fs::write(
        &script,
        "echo \"count=$#\"; echo \"last=$(eval echo \\${$#})\"\n",
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut all = vec!["5".to_owned(), script.display().to_string()];
    all.extend((0..100_000).map(|i| format!("arg-{i:05}")));
    run(&all)
        .assert_code(0)
        .assert_stdout_contains("count=100000")
        .assert_stdout_contains("last=arg-99999");
}

#[test]
fn without_clone3_the_command_is_forked_and_every_failure_still_reported() {
    if crate::util::linux_backend_only(
        "without_clone3_the_command_is_forked_and_every_failure_still_reported",
        "clone3 and its fork fallback are Linux's",
    ) {
        return;
    }
    // Kernels before 5.3 and some seccomp filters refuse clone3: timeout-run forks instead.
    let refused = |args: &[&str]| {
        let mut c = Command::new("python3");
        crate::util::with_backend(&mut c);
        c.arg(refuse_syscalls())
            .args(["clone3", bin()])
            .args(["-vvv", "--contain", "group"])
            .args(args)
            .env_remove("TIMEOUT_RUN_DEADLINE")
            .env_remove("TIMEOUT_RUN_LOG");
        start(c).finish()
    };
    refused(&[
        "5",
        "sh",
        "-c",
        "echo \"deadline=$TIMEOUT_RUN_DEADLINE\"; exit 7",
    ])
    .assert_code(7)
    .assert_stderr_contains("falling back to fork")
    .assert_stdout_contains("deadline=1");
    refused(&["5", "/nonexistent/command"]).assert_code(127);
    refused(&["5", "/dev/null"]).assert_code(126);
    refused(&["0.2", "sleep", "10"]).assert_code(124);
}

#[test]
fn non_utf8_command_names_arguments_and_environment() {
    let dir = tempdir();
    let name = OsStr::from_bytes(b"prog-\xff\xfe");
    let path = dir.path().join(name);
    std::fs::write(
        &path,
        "#!/bin/sh\nprintf '%s|' \"$@\"; printf '%s' \"$WEIRD\"; exit 3\n",
    )
    .expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let report = dir.path().join(OsStr::from_bytes(b"report-\xff.json"));
    let mut c = cmd([OsStr::new("-vv"), OsStr::new("--report")]);
    c.arg(&report)
        .arg("5")
        .arg(&path)
        .arg(OsStr::from_bytes(b"a\xffb"))
        .env("WEIRD", OsStr::from_bytes(b"v\xfe"))
        .env("TIMEOUT_RUN_DEADLINE", OsStr::from_bytes(b"\xff"));
    let r = start(c);
    let f = r.finish();
    f.assert_code(3)
        .assert_stderr_contains("prog-\u{fffd}\u{fffd}")
        .assert_stderr_contains("ignoring unreadable TIMEOUT_RUN_DEADLINE");
    let text = std::fs::read(&report).expect("report");
    let json: serde_json::Value = serde_json::from_slice(&text).expect("valid JSON");
    assert_eq!(json["exit_code"], 3);
    assert!(
        json["command"][1]
            .as_str()
            .is_some_and(|s| s.contains('\u{fffd}')),
        "{json}"
    );
}

#[test]
fn non_utf8_bytes_reach_the_command_byte_for_byte() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let mut c = cmd(["5", "sh", "-c", r#"printf '%s' "$1$WEIRD" > "$2""#, "sh"]);
    c.arg(OsStr::from_bytes(b"\xff"))
        .arg(&out)
        .env("WEIRD", OsStr::from_bytes(b"\xfe\x80"));
    start(c).finish().assert_code(0);
    assert_eq!(std::fs::read(&out).expect("out"), b"\xff\xfe\x80");
}

/// A stderr that its reader leaves full (a pipe, or a socket, nobody reads) holds up nothing:
/// the heartbeat and `-v` lines wait for room, the deadline stops the command on time, and
/// every line arrives once stderr is read, before the report written there. (Written at once, the
/// first heartbeat line blocked timeout-run until stderr was read, and the deadline with it.)
#[test]
fn a_stderr_nobody_reads_never_holds_up_the_deadline() {
    let (read, write) = std::io::pipe().expect("pipe");
    full_stderr_holds_up_nothing("a pipe", read, write.into());
    let (read, write) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    full_stderr_holds_up_nothing("a socket", read, write.into());
}

/// Runs a timeout of 1s with stderr on `write`, filled up first; `read` is read only once the
/// command is gone.
fn full_stderr_holds_up_nothing(
    what: &str,
    mut read: impl std::io::Read + Send + 'static,
    write: std::os::fd::OwnedFd,
) {
    use std::os::unix::process::ExitStatusExt;

    fill(&write);
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 100", pidfile.display());
    let c = cmd([
        "-v",
        "--heartbeat",
        "0.1",
        "--report",
        "-",
        "1",
        "sh",
        "-c",
        &script,
    ]);
    let mut child = spawn_with_stderr(c, write);
    let started = std::time::Instant::now();
    let pids = read_pids(&pidfile);
    let left = survivors(&pids, 5 * SEC);
    let waited = started.elapsed();
    // Read stderr, then expect the exit; kill everything if the exit does not come.
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = read.read_to_end(&mut all);
        // Without the filler that made the pipe full (only 'x's before the first line).
        String::from_utf8_lossy(&all)
            .trim_start_matches('x')
            .to_owned()
    });
    let status = exit_within(&mut child, 10 * SEC);
    cleanup(&pids);
    let text = reader.join().expect("reader");
    assert!(
        left.is_empty(),
        "{what}: the command still ran {waited:?} after a 1s timeout: its stderr was full"
    );
    let status = status.expect("timeout-run did not exit once its stderr was read");
    assert_eq!(
        (status.code(), status.signal()),
        (Some(124), None),
        "{what}:\n{text}"
    );
    // Every line, once, in order, and the report (to stderr too) after them.
    let at = |needle: &str| text.find(needle);
    let (beat, sent, report) = (
        at("timeout-run: still running after"),
        at("timeout-run: sending signal TERM to command 'sh'"),
        at("\"schema_version\""),
    );
    assert!(
        beat.is_some() && beat < sent && sent < report,
        "{what}: lines lost or out of order:\n{text}"
    );
    assert_eq!(text.matches("sending signal").count(), 1, "{what}:\n{text}");
}

/// A stderr open for reading only (`2<&0`, the read end of the command's input pipe) is not
/// written, by timeout-run's lines or by the relay: reopened for writing, it became a way into
/// the command's own input, which then carried timeout-run's lines and never ended.
#[test]
fn a_stderr_open_for_reading_only_is_left_alone() {
    for options in ["-v --heartbeat 0.1", "-v --heartbeat 0.1 --idle-timeout 5"] {
        let f = shell(&format!(
            r#"printf 'INPUT\n' | "$0" {options} 5 sh -c 'sleep 0.5; cat' 2<&0"#
        ));
        f.assert_code(0);
        assert_eq!(f.stdout, "INPUT\n", "{options}: {f:#?}");
    }
}

/// timeout-run's own lines and the command's share a pipe that a slow reader drains: no line
/// of either is cut by the other (timeout-run writes whole lines, at most `PIPE_BUF` bytes at a
/// time, which a pipe takes whole or not at all).
#[test]
fn own_lines_are_never_cut_by_the_commands_on_a_shared_pipe() {
    use std::io::Read;

    let (mut read, write) = std::io::pipe().expect("pipe");
    let writer = "import os, time\n\
                  end = time.time() + 1.5\n\
                  i = 0\n\
                  while time.time() < end:\n\
                  \x20   os.write(2, b'CMD%08d %s\\n' % (i, b'x' * 100))\n\
                  \x20   i += 1";
    let c = cmd([
        "--heartbeat",
        "0.001",
        "-g",
        "1",
        "3",
        "python3",
        "-c",
        writer,
    ]);
    let mut child = spawn_with_stderr(c, write);
    // A slow reader: 512 bytes every 10 ms, so the pipe is full most of the time.
    let mut all = Vec::new();
    let mut buf = [0u8; 512];
    let deadline = std::time::Instant::now() + 20 * SEC;
    while std::time::Instant::now() < deadline {
        match read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) of the process group this test started, in case it still runs.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let status = child.wait().expect("wait");
    let text = String::from_utf8_lossy(&all);
    let cut: Vec<&str> = text
        .lines()
        .filter(|l| {
            let command = l.len() == 112 && l.starts_with("CMD") && l.ends_with('x');
            let own = l.starts_with("timeout-run: ") && !l.contains("CMD");
            !command && !own
        })
        .collect();
    assert!(
        cut.is_empty(),
        "lines cut by other lines: {:?}",
        &cut[..cut.len().min(5)]
    );
    assert!(
        text.contains("timeout-run: still running after"),
        "{status:?}"
    );
}

/// With lines still waiting for a full stderr at exit, a termination signal ends timeout-run
/// as it ends a process blocked in `write`: by that signal (the signals it blocked for its
/// event loop used to keep it waiting for the reader).
#[test]
fn a_termination_signal_ends_the_wait_for_a_full_stderr_at_exit() {
    use std::os::unix::process::ExitStatusExt;

    let (read, write) = std::io::pipe().expect("pipe");
    fill(&write);
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 100", pidfile.display());
    let c = cmd(["-v", "0.3", "sh", "-c", &script]);
    let mut child = spawn_with_stderr(c, write);
    let pids = read_pids(&pidfile);
    let left = survivors(&pids, 5 * SEC);
    cleanup(&pids);
    assert!(left.is_empty(), "the command outlived its deadline");
    // The command is gone and reaped (timeout-run has no child left): timeout-run waits to
    // write its `-v` line, with nothing else to do.
    let pid = child.id() as i32;
    let children = format!("/proc/{pid}/task/{pid}/children");
    let reaped = std::time::Instant::now() + 5 * SEC;
    while std::fs::read_to_string(&children).is_ok_and(|c| !c.trim().is_empty())
        && std::time::Instant::now() < reaped
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) of the timeout-run this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = exit_within(&mut child, 5 * SEC);
    drop(read);
    let status = status.expect("SIGTERM did not end timeout-run waiting for its stderr");
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

/// A script without job control starts timeout-run in its own process group, and
/// `kill -TSTP $pid` then comes from a process of that group: the command is stopped with
/// timeout-run (with `-f` too, where it shares the group), not timeout-run alone.
#[test]
fn a_stop_signal_from_the_parent_script_stops_the_command_too() {
    if crate::util::linux_only(
        "a_stop_signal_from_the_parent_script_stops_the_command_too",
        "reads /proc/PID/stat",
    ) {
        return;
    }
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    for options in ["", "-f"] {
        let _ = std::fs::remove_file(&pidfile);
        let f = shell(&format!(
            r#""$0" {options} 10 sh -c 'echo $$ > {p}; while :; do sleep 0.05; done' &
pid=$!
while [ ! -s {p} ]; do sleep 0.01; done
child=$(cat {p})
kill -TSTP $pid
i=0
while [ "$(cut -d' ' -f3 /proc/$child/stat)" != T ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done
echo "command $(cut -d' ' -f3 /proc/$child/stat)"
kill -CONT $pid
kill -TERM $pid
wait $pid
echo "status $?""#,
            p = pidfile.display()
        ));
        assert!(f.stdout.contains("command T"), "{options}: {f:#?}");
        assert!(f.stdout.contains("status 143"), "{options}: {f:#?}");
    }
}

/// Fills the pipe or socket `write` leads to (written non-blocking until it takes no more),
/// and leaves it blocking again, as a shell hands it over.
fn fill(write: &impl std::os::fd::AsFd) {
    use std::os::fd::AsRawFd;
    let fd = write.as_fd().as_raw_fd();
    // SAFETY: fcntl and write on the caller's descriptor, from a local buffer.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        let chunk = [b'x'; 4096];
        while libc::write(fd, chunk.as_ptr().cast(), chunk.len()) > 0 {}
        libc::fcntl(fd, libc::F_SETFL, flags);
    }
}

/// The exit status of `child` (the leader of its own process group) if it exits within
/// `limit`; otherwise its whole group is killed and `None` returned.
fn exit_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: kill(2) of the process group the test started.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts timeout-run with stderr on `stderr` (and stdin, stdout on /dev/null), in a process
/// group of its own. The test's copy of `stderr` is closed: it stays open in timeout-run's tree
/// only, so a reader sees its end.
fn spawn_with_stderr(
    mut c: std::process::Command,
    stderr: impl Into<std::process::Stdio>,
) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0);
    c.spawn().expect("spawn timeout-run")
}
