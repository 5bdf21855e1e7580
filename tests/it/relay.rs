//! The `--idle-timeout` output relay (SPEC §7): nothing is dropped, a slow reader is not
//! silence, `2>&1` keeps its order, the loop is never blocked by the destination, write errors
//! reach the command as they would without timeout-run, and kept processes can still write.
//!
//! Pipes, FIFOs, terminals and files are written by the command itself and watched with
//! inotify; tests that must go through the relay for a pipe run timeout-run with inotify
//! refused ([`no_inotify`]), where pipes are relayed as before.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const SEC: Duration = Duration::from_secs(1);

/// `bash -c SCRIPT` under the watchdog.
fn bash(script: &str, watchdog: Duration) -> Finished {
    let mut c = Command::new("bash");
    c.args(["-c", script])
        .env_remove("TIMEOUT_RUN_DEADLINE")
        .env_remove("TIMEOUT_RUN_LOG");
    start(c).watchdog(watchdog).finish()
}

/// A shell prefix that runs timeout-run without inotify: its pipes are then relayed.
fn no_inotify() -> String {
    format!("python3 {} inotify_init1", refuse_syscalls().display())
}

/// The pipe timeout-run's stdout is, and the command's stdout (`pipe:[INODE]`), as seen by
/// `readlink` before and under `timeout-run PREFIX`.
fn stdout_pipes(prefix: &str) -> (String, String) {
    let script = format!(
        "{{ readlink /proc/$BASHPID/fd/1 >&2; \
         {prefix} {bin} --idle-timeout 5 sh -c 'x=$(readlink /proc/$$/fd/1); echo \"$x\" >&2'; \
         }} | cat",
        bin = bin()
    );
    let f = bash(&script, 20 * SEC);
    f.assert_code(0);
    let lines: Vec<&str> = f.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{f:#?}");
    (lines[0].to_owned(), lines[1].to_owned())
}

/// Writes `mib` MiB of random bytes to `dir/data`; returns the path and its SHA-256.
fn random_data(dir: &Path, mib: usize) -> (PathBuf, String) {
    let data = dir.join("data");
    let f = bash(
        &format!(
            "head -c {mib}M /dev/urandom > {0} && sha256sum < {0}",
            data.display()
        ),
        60 * SEC,
    );
    f.assert_code(0);
    let sum = f.stdout.split_whitespace().next().unwrap().to_owned();
    assert_eq!(sum.len(), 64, "{f:#?}");
    (data, sum)
}

/// `timeout-run --idle-timeout IDLE cat DATA | READER | sha256sum`: the checksum that arrived,
/// and timeout-run's exit status.
fn checksum_through(
    prefix: &str,
    data: &Path,
    idle: &str,
    reader: &str,
) -> (String, String, Finished) {
    let script = format!(
        "{prefix} {bin} --idle-timeout {idle} cat {data} | {reader} | sha256sum; \
         echo status=${{PIPESTATUS[0]}}",
        bin = bin(),
        data = data.display()
    );
    let f = bash(&script, 120 * SEC);
    let sum = f
        .stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let status = f
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("status="))
        .unwrap_or_default()
        .to_owned();
    (sum, status, f)
}

/// A python reader: copies stdin to stdout in `chunk`-byte reads, sleeping `pause` seconds
/// after each, and once `stall_after` bytes have passed, stops reading for `stall` seconds.
fn python_reader(chunk: usize, pause: f64, stall_after: usize, stall: f64) -> String {
    format!(
        "python3 -c 'import os, time\n\
         seen = 0\n\
         stalled = False\n\
         while True:\n\
         \x20   b = os.read(0, {chunk})\n\
         \x20   if not b:\n\
         \x20       break\n\
         \x20   mv = memoryview(b)\n\
         \x20   while mv:\n\
         \x20       mv = mv[os.write(1, mv):]\n\
         \x20   seen += len(b)\n\
         \x20   if {pause} > 0:\n\
         \x20       time.sleep({pause})\n\
         \x20   if not stalled and seen >= {stall_after}:\n\
         \x20       stalled = True\n\
         \x20       time.sleep({stall})\n'"
    )
}

#[test]
fn relay_checksum_fast_reader() {
    let dir = tempdir();
    let (data, want) = random_data(dir.path(), 200);
    let (got, status, f) = checksum_through("", &data, "5", "cat");
    assert_eq!(status, "0", "{f:#?}");
    assert_eq!(got, want, "{f:#?}");
}

#[test]
fn relay_checksum_slow_reader() {
    let dir = tempdir();
    let (data, want) = random_data(dir.path(), 200);
    // 16 KiB reads with a pause after each: far slower than the command writes.
    let reader = python_reader(16 * 1024, 0.0002, usize::MAX, 0.0);
    let (got, status, f) = checksum_through("", &data, "2", &reader);
    assert_eq!(status, "0", "{f:#?}");
    assert_eq!(got, want, "{f:#?}");
}

#[test]
fn relay_checksum_stalling_reader_is_not_idle() {
    let dir = tempdir();
    let (data, want) = random_data(dir.path(), 200);
    // The reader stops for 3 s, three times the idle limit, with the command's output waiting
    // for it: the command is not idle, its reader is.
    let reader = python_reader(64 * 1024, 0.0, 16 << 20, 3.0);
    let started = Instant::now();
    let (got, status, f) = checksum_through("", &data, "1", &reader);
    assert_eq!(
        status, "0",
        "idle-timed out while the reader stalled: {f:#?}"
    );
    assert_eq!(got, want, "{f:#?}");
    assert!(
        started.elapsed() >= 3 * SEC,
        "the reader did not stall: {f:#?}"
    );
}

#[test]
fn relay_checksum_fast_reader_without_inotify() {
    let dir = tempdir();
    let (data, want) = random_data(dir.path(), 200);
    let (got, status, f) = checksum_through(&no_inotify(), &data, "5", "cat");
    assert_eq!(status, "0", "{f:#?}");
    assert_eq!(got, want, "{f:#?}");
}

#[test]
fn relay_checksum_stalling_reader_without_inotify_is_not_idle() {
    let dir = tempdir();
    let (data, want) = random_data(dir.path(), 200);
    let reader = python_reader(64 * 1024, 0.0, 16 << 20, 3.0);
    let started = Instant::now();
    let (got, status, f) = checksum_through(&no_inotify(), &data, "1", &reader);
    assert_eq!(
        status, "0",
        "idle-timed out while the reader stalled: {f:#?}"
    );
    assert_eq!(got, want, "{f:#?}");
    assert!(
        started.elapsed() >= 3 * SEC,
        "the reader did not stall: {f:#?}"
    );
}

#[test]
fn relay_pipe_destination_is_the_commands_own() {
    let (outer, inner) = stdout_pipes("");
    assert!(outer.starts_with("pipe:["), "{outer}");
    assert_eq!(
        inner, outer,
        "the command's stdout is not timeout-run's pipe"
    );
    // Without inotify, the pipe is relayed.
    let (outer, inner) = stdout_pipes(&no_inotify());
    assert!(inner.starts_with("pipe:["), "{inner}");
    assert_ne!(inner, outer);
}

#[test]
fn relay_pipe_destination_stalling_reader_is_not_idle() {
    // The command writes into the pipe itself (checked on its stdout) and its reader stops for
    // 3 s, three times the idle limit, with the pipe full: the command waits for its reader.
    let reader = python_reader(64 * 1024, 0.0, 16 << 20, 3.0);
    let script = format!(
        "{{ readlink /proc/$BASHPID/fd/1 >&2; {bin} --idle-timeout 1 sh -c \
         'x=$(readlink /proc/$$/fd/1); echo \"$x\" >&2; exec head -c 64M /dev/zero'; \
         echo status=$? >&2; }} | {reader} | wc -c",
        bin = bin()
    );
    let started = Instant::now();
    let f = bash(&script, 60 * SEC);
    assert!(
        started.elapsed() >= 3 * SEC,
        "the reader did not stall: {f:#?}"
    );
    let lines: Vec<&str> = f.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{f:#?}");
    assert_eq!(lines[0], lines[1], "not written directly: {f:#?}");
    assert_eq!(
        lines[2], "status=0",
        "idle-timed out while the reader stalled: {f:#?}"
    );
    assert_eq!(f.stdout.trim(), (64u64 << 20).to_string(), "{f:#?}");
}

#[test]
fn relay_pipe_destination_splice_and_sendfile_are_output() {
    // A command that writes its pipe only with splice or sendfile, 10 times 0.2 s apart under
    // a 1 s idle limit: never idle (the kernel reports both to inotify, Linux 6.4 and later;
    // before, the pipe is relayed).
    let writer = "import os, sys, time\n\
                  src = os.open('/etc/hostname', os.O_RDONLY)\n\
                  for i in range(10):\n\
                  \x20   if sys.argv[1] == 'splice':\n\
                  \x20       os.splice(src, 1, 1, offset_src=0)\n\
                  \x20   else:\n\
                  \x20       os.sendfile(1, src, 0, 1)\n\
                  \x20   time.sleep(0.2)\n";
    for call in ["splice", "sendfile"] {
        let script = format!(
            "{bin} --idle-timeout 1 python3 -c \"{writer}\" {call} | wc -c; \
             echo status=${{PIPESTATUS[0]}}",
            bin = bin()
        );
        let f = bash(&script, 20 * SEC);
        assert_eq!(f.stdout, "10\nstatus=0\n", "{call}: {f:#?}");
    }
}

/// Runs timeout-run with a pseudo-terminal as stdout: `ctrl-s` types Ctrl-S before it starts
/// and Ctrl-Q 3 s later, reading the terminal all along; `unread` reads nothing for 3 s;
/// `silent` runs a command that prints one line and sleeps. Prints what happened.
const PTY_SCRIPT: &str = r#"
import os, select, subprocess, sys, time
binary, mode = sys.argv[1], sys.argv[2]
m, s = os.openpty()
if mode == "ctrl-s":
    os.write(m, b"\x13")
    time.sleep(0.2)
command = 'x=$(readlink /proc/$$/fd/1); echo "$x" >&2; exec head -c 1M /dev/zero'
if mode == "silent":
    command = 'x=$(readlink /proc/$$/fd/1); echo "$x" >&2; echo once; exec sleep 30'
p = subprocess.Popen([binary, "--idle-timeout", "1", "sh", "-c", command],
                     stdin=subprocess.DEVNULL, stdout=s, stderr=subprocess.PIPE)
os.close(s)
started = time.monotonic()
got = 0
def drain(until):
    global got
    while time.monotonic() < until or until == 0:
        r, _, _ = select.select([m], [], [], 0.05)
        if r:
            try:
                got += len(os.read(m, 65536))
            except OSError:
                return
        elif p.poll() is not None:
            return
if mode == "ctrl-s":
    drain(started + 3)
elif mode == "unread":
    time.sleep(3)
during = got
if mode == "ctrl-s":
    os.write(m, b"\x11")
drain(0)
print(f"status={p.wait()} during={during} bytes={got} "
      f"elapsed={time.monotonic() - started:.1f} tty={os.ttyname(m) != ''} "
      f"stdout={p.stderr.read().decode().strip()}")
"#;

#[test]
fn relay_terminal_destination_stopped_or_unread_is_not_idle() {
    for mode in ["ctrl-s", "unread"] {
        let mut c = Command::new("python3");
        c.args(["-c", PTY_SCRIPT, bin(), mode])
            .env_remove("TIMEOUT_RUN_DEADLINE")
            .env_remove("TIMEOUT_RUN_LOG");
        let f = start(c).watchdog(30 * SEC).finish();
        f.assert_code(0);
        let words: Vec<&str> = f.stdout.split_whitespace().collect();
        assert_eq!(words[0], "status=0", "{mode}: idle-timed out: {f:#?}");
        if mode == "ctrl-s" {
            assert_eq!(words[1], "during=0", "{mode}: not stopped: {f:#?}");
        }
        assert_eq!(words[2], "bytes=1048576", "{mode}: {f:#?}");
        assert!(
            words[5].starts_with("stdout=/dev/pts/"),
            "{mode}: not written directly: {f:#?}"
        );
    }
}

#[test]
fn relay_terminal_destination_silence_is_idle() {
    let mut c = Command::new("python3");
    c.args(["-c", PTY_SCRIPT, bin(), "silent"])
        .env_remove("TIMEOUT_RUN_DEADLINE")
        .env_remove("TIMEOUT_RUN_LOG");
    let f = start(c).watchdog(30 * SEC).finish();
    f.assert_code(0);
    assert!(f.stdout.starts_with("status=124 "), "{f:#?}");
}

#[test]
fn relay_pipe_destination_silence_is_idle() {
    // Silent for far longer than the limit into a pipe that a reader empties: 124. Its own
    // heartbeat lines go into the same pipe and are not the command's output.
    let script = format!(
        "{} --idle-timeout 0.5 --heartbeat 0.1 sh -c 'echo once; exec sleep 30' 2>&1 | cat; \
         echo status=${{PIPESTATUS[0]}}",
        bin()
    );
    let started = Instant::now();
    let f = bash(&script, 20 * SEC);
    assert!(f.stdout.starts_with("once\n"), "{f:#?}");
    assert!(f.stdout.ends_with("status=124\n"), "{f:#?}");
    assert!(started.elapsed() < 5 * SEC, "{f:#?}");
}

#[test]
fn relay_pipe_destination_unread_and_unchanged_is_idle() {
    // The command wrote a line and went silent; its reader never reads. The line waits in the
    // pipe, but nobody takes it and the command does not wait for the pipe: idle, at the first
    // idle deadline.
    let dir = tempdir();
    let status = dir.path().join("status");
    let script = format!(
        "start=$(date +%s%N); \
         {{ {bin} --idle-timeout 0.5 sh -c 'echo once; exec sleep 30'; \
         echo \"$? $(( ($(date +%s%N) - start) / 1000000 ))\" > {status}; }} | sleep 6",
        bin = bin(),
        status = status.display()
    );
    let f = bash(&script, 30 * SEC);
    f.assert_code(0);
    let recorded = std::fs::read_to_string(&status).unwrap();
    let mut words = recorded.split_whitespace();
    assert_eq!(words.next(), Some("124"), "{recorded} {f:#?}");
    let ms: u64 = words.next().unwrap().parse().unwrap();
    assert!(ms < 2_500, "idle timeout after {ms} ms");
}

#[test]
fn relay_pipe_destination_does_not_wake_for_every_write() {
    // 100,000 writes of 100 bytes into a pipe that `cat` empties at once: timeout-run sees
    // them through inotify, and must not wake up for each.
    if crate::util::linux_backend_only(
        "relay_pipe_destination_does_not_wake_for_every_write",
        "inotify",
    ) {
        return;
    }
    let dir = tempdir();
    let done = dir.path().join("done");
    let mut reader = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pipe = reader.stdin.take().unwrap();
    let script = format!(
        "dd if=/dev/zero bs=100 count=100000 status=none; touch {}; sleep 30",
        done.display()
    );
    let c = cmd(["--idle-timeout", "30", "30", "sh", "-c", &script]);
    let running = start_with_stdout(c, Stdio::from(pipe));
    let waiting = Instant::now();
    while !done.exists() {
        assert!(waiting.elapsed() < 15 * SEC, "the writer never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.pid())).unwrap();
    let switches: u64 = status
        .lines()
        .filter(|l| l.contains("ctxt_switches"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    running.signal(libc::SIGTERM);
    running.finish().assert_signal(libc::SIGTERM);
    let _ = reader.wait();
    assert!(
        switches < 2_000,
        "{switches} context switches for 100,000 writes"
    );
}

#[test]
fn relay_late_reader_gets_every_line() {
    for prefix in [String::new(), no_inotify()] {
        let script = format!(
            "{prefix} {} --idle-timeout 5 seq 1 2000000 | (sleep 0.5; tail -n 1); \
             echo status=${{PIPESTATUS[0]}}",
            bin()
        );
        let f = bash(&script, 30 * SEC);
        f.assert_code(0);
        assert_eq!(f.stdout, "2000000\nstatus=0\n", "{prefix}: {f:#?}");
    }
}

#[test]
fn relay_keeps_the_order_of_stdout_and_stderr_into_one_pipe() {
    let dir = tempdir();
    let command = "sh -c 'i=0; while [ $i -lt 2000 ]; do echo out$i; echo err$i >&2; \
                   i=$((i+1)); done'";
    let direct = dir.path().join("direct");
    let relayed = dir.path().join("relayed");
    // The pipe is written by the command itself, or (without inotify) relayed.
    for prefix in [String::new(), no_inotify()] {
        let script = format!(
            "{command} 2>&1 | cat > {direct}; \
             {prefix} {bin} --idle-timeout 5 {command} 2>&1 | cat > {relayed}",
            bin = bin(),
            direct = direct.display(),
            relayed = relayed.display()
        );
        bash(&script, 30 * SEC).assert_code(0);
        let direct = std::fs::read_to_string(&direct).unwrap();
        let relayed = std::fs::read_to_string(&relayed).unwrap();
        assert!(direct.starts_with("out0\nerr0\nout1\nerr1\n"), "{direct}");
        assert_eq!(direct.lines().count(), 4000);
        assert!(relayed == direct, "{prefix}: order differs:\n{relayed}");
    }
}

#[test]
fn relay_to_an_unread_socket_keeps_the_deadline() {
    let (unread, theirs) = UnixStream::pair().unwrap();
    // The idle limit would fire at 1 s if a full destination counted as silence.
    let c = cmd(["--idle-timeout", "1", "-k", "1", "2", "yes"]);
    let f = start_with_stdout(c, Stdio::from(OwnedFd::from(theirs))).finish();
    drop(unread);
    f.assert_code(124)
        .assert_slower_than(Duration::from_millis(1900))
        .assert_faster_than(6 * SEC);
}

#[test]
fn relay_to_an_unread_socket_still_serves_signals() {
    let (unread, theirs) = UnixStream::pair().unwrap();
    let c = cmd(["--idle-timeout", "30", "30", "yes"]);
    let running = start_with_stdout(c, Stdio::from(OwnedFd::from(theirs)));
    // Handshake: output queued on the socket means the relay is writing to it, and `yes` fills
    // it at once.
    let waiting = Instant::now();
    while queued(&unread) < 64 * 1024 {
        assert!(waiting.elapsed() < 10 * SEC, "nothing reached the socket");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Instant::now();
    running.signal(libc::SIGTERM);
    let f = running.finish();
    drop(unread);
    f.assert_signal(libc::SIGTERM);
    assert!(sent.elapsed() < 3 * SEC, "SIGTERM served late: {f:#?}");
}

/// Bytes waiting to be read on a socket.
fn queued(socket: &UnixStream) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(socket.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(r, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    n
}

/// A tmpfs of 64 KiB mounted on a fresh directory, unmounted on drop.
struct TinyFs(tempfile::TempDir);

impl TinyFs {
    fn mount() -> Result<TinyFs, String> {
        if !is_root() {
            return Err("not root: cannot mount a tmpfs".into());
        }
        let dir = tempdir();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(TinyFs(dir))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn relay_full_filesystem_is_enospc_for_the_command() {
    let fs = match TinyFs::mount() {
        Ok(fs) => fs,
        Err(why) => return skip("relay_full_filesystem_is_enospc_for_the_command", &why),
    };
    let full = fs.0.path().join("out");
    let command = "sh -c 'head -c 1M /dev/zero; echo status=$? >&2'";
    // The messages of both runs go to the test's stdout (`2>&1 >FILE`): the file is full.
    let script = format!(
        "{command} 2>&1 > {full}; rm {full}; {bin} --idle-timeout 5 {command} 2>&1 > {full}; \
         echo timeout-run=$?; rm {full}",
        full = full.display(),
        bin = bin()
    );
    let f = bash(&script, 30 * SEC);
    f.assert_code(0);
    let lines: Vec<&str> = f.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{f:#?}");
    assert!(lines[0].contains("No space left on device"), "{f:#?}");
    assert_eq!(lines[1], "status=1", "{f:#?}");
    assert_eq!(&lines[2..4], &lines[0..2], "{f:#?}");
    assert_eq!(lines[4], "timeout-run=0", "{f:#?}");
}

#[test]
fn relay_works_with_splice_refused() {
    if crate::util::linux_only("relay_works_with_splice_refused", "seccomp") {
        return;
    }
    // Without inotify the pipe is relayed, which splice would do.
    for errno in ["ENOSYS", "EPERM", "EINVAL"] {
        let script = format!(
            "seq 1 500000 | sha256sum; \
             python3 {refuse} splice:{errno},inotify_init1 {bin} --idle-timeout 5 seq 1 500000 \
             | sha256sum; \
             echo status=${{PIPESTATUS[0]}}",
            refuse = refuse_syscalls().display(),
            bin = bin()
        );
        let f = bash(&script, 30 * SEC);
        let lines: Vec<&str> = f.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{errno}: {f:#?}");
        assert_eq!(lines[0], lines[1], "{errno}: output lost: {f:#?}");
        assert_eq!(lines[2], "status=0", "{errno}: {f:#?}");
    }
}

#[test]
fn relay_kept_leftover_can_write_after_timeout_run_exits() {
    let dir = tempdir();
    let fifo = dir.path().join("go");
    let status = dir.path().join("status");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // The descendant waits for the test to open the FIFO (after timeout-run exited), then
    // writes to the stdout it inherited and records how that went.
    let script = format!(
        "(read go < {fifo}; echo late; echo \"late=$?\" > {status}) & echo early",
        fifo = fifo.display(),
        status = status.display()
    );
    let mut c = cmd([
        "--idle-timeout",
        "5",
        "--leftovers",
        "keep",
        "sh",
        "-c",
        &script,
    ]);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stdout.read_to_string(&mut all);
        all
    });
    let started = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if started.elapsed() > 10 * SEC {
            let _ = child.kill();
            panic!("timeout-run did not exit while its leftover waits");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(code, Some(0));
    // Opening the FIFO blocks until the leftover opens it for reading.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
    let deadline = Instant::now() + 10 * SEC;
    while !reader.is_finished() {
        assert!(
            Instant::now() < deadline,
            "stdout never reached end of file"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = reader.join().unwrap();
    let deadline = Instant::now() + 10 * SEC;
    let recorded = loop {
        if let Ok(s) = std::fs::read_to_string(&status)
            && !s.is_empty()
        {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the leftover never finished its write (killed by SIGPIPE?); stdout: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(out, "early\nlate\n");
    assert_eq!(recorded, "late=0\n");
}

#[test]
fn relay_file_destination_output_resets_the_idle_timer() {
    let dir = tempdir();
    let out = dir.path().join("out");
    // 10 lines 0.2 s apart under a 1 s idle limit, into a file: never idle.
    let script = format!(
        "{} --idle-timeout 1 sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.2; done' \
         > {}; echo status=$?",
        bin(),
        out.display()
    );
    let f = bash(&script, 20 * SEC);
    assert_eq!(f.stdout, "status=0\n", "{f:#?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 10);
}

#[test]
fn relay_file_destination_silence_is_idle() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let script = format!(
        "{} --idle-timeout 0.5 --heartbeat 0.1 sh -c 'echo once; sleep 30' > {} 2>&1; \
         echo status=$?",
        bin(),
        out.display()
    );
    let started = Instant::now();
    let f = bash(&script, 20 * SEC);
    // timeout-run's own heartbeat lines go to the same file: they are not the command's output.
    assert_eq!(f.stdout, "status=124\n", "{f:#?}");
    assert!(started.elapsed() < 10 * SEC, "{f:#?}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("once\n"), "{written}");
}

#[test]
fn relay_full_device_is_enospc_for_the_command() {
    // /dev/full refuses every write: the command writes it itself, so it gets the ENOSPC it
    // would get without timeout-run, and timeout-run has nothing to say about it.
    let writer = "import errno, os, sys\n\
                  try:\n\
                  \x20   os.write(1, b'x' * 4096)\n\
                  \x20   print('write: ok', file=sys.stderr)\n\
                  except OSError as e:\n\
                  \x20   print('write: ' + errno.errorcode[e.errno], file=sys.stderr)\n";
    let c = cmd(["--idle-timeout", "5", "python3", "-c", writer]);
    let f = start_with_stdout(c, Stdio::from(std::fs::File::create("/dev/full").unwrap())).finish();
    f.assert_code(0)
        .assert_stderr_contains("write: ENOSPC")
        .assert_stderr_lacks("timeout-run");
}

#[test]
fn relay_write_error_is_named_once_and_reaches_the_command() {
    // Run as nobody, timeout-run may not watch a full file that only root may read: it relays
    // it, and the ENOSPC cannot travel back through a pipe. The command gets EPIPE on its next
    // write (its SIGPIPE is ignored here) and timeout-run says why, once.
    let test = "relay_write_error_is_named_once_and_reaches_the_command";
    if !is_root() {
        return skip(test, "not root: cannot run timeout-run as another user");
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return skip(test, "setpriv is not installed");
    }
    let fs = match TinyFs::mount() {
        Ok(fs) => fs,
        Err(why) => return skip(test, &why),
    };
    let writer = "import errno, os, signal, sys\n\
                  signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
                  for i in range(100000):\n\
                  \x20   try:\n\
                  \x20       os.write(1, b'x' * 4096)\n\
                  \x20   except OSError as e:\n\
                  \x20       print('errno=' + errno.errorcode[e.errno], file=sys.stderr)\n\
                  \x20       break\n";
    let full = fs.0.path().join("out");
    let script = format!(
        "umask 077; setpriv --reuid=65534 --regid=65534 --clear-groups \
         {bin} --idle-timeout 5 python3 -c \"{writer}\" > {full}",
        bin = bin(),
        full = full.display()
    );
    let f = bash(&script, 30 * SEC);
    f.assert_code(0).assert_stderr_contains("errno=EPIPE");
    let warning = "timeout-run: warning: cannot write the command's stdout: \
                   No space left on device\n";
    assert_eq!(f.stderr.matches(warning).count(), 1, "{f:#?}");
    f.assert_stderr_lacks("os error");
}

#[test]
fn relay_reader_gone_fails_the_next_write() {
    // A socket is always relayed. Its reader goes away while the command writes nothing: the
    // relay closes the command's pipe at once, so the command's next write fails (SIGPIPE), as
    // it would have without timeout-run, rather than going into the relay's pipe for nothing.
    let dir = tempdir();
    let flag = dir.path().join("flag");
    let mark = dir.path().join("mark");
    let script = format!(
        "echo a; while [ ! -e {flag} ]; do sleep 0.01; done; echo b; touch {mark}",
        flag = flag.display(),
        mark = mark.display()
    );
    let (mut reader, theirs) = UnixStream::pair().unwrap();
    let mut c = cmd(["-vvv", "--idle-timeout", "30", "20", "sh", "-c", &script]);
    c.env_remove("TIMEOUT_RUN_LOG");
    let mut running = start_with_stdout(c, Stdio::from(OwnedFd::from(theirs)));
    reader
        .set_read_timeout(Some(10 * SEC))
        .expect("socket timeout");
    let mut a = [0u8; 2];
    reader.read_exact(&mut a).expect("the command's first line");
    assert_eq!(&a, b"a\n");
    drop(reader);
    running.wait_for_stderr("the command's stdout has no reader: closing its pipe");
    std::fs::write(&flag, "").unwrap();
    let f = running.finish();
    f.assert_signal(libc::SIGPIPE);
    assert!(
        !mark.exists(),
        "the write after the reader left succeeded: {f:#?}"
    );
}

#[test]
fn relay_through_a_descriptor_it_cannot_reopen() {
    // Run as nobody, timeout-run may not reopen a pipe that root created (mode 0600): it
    // relays through the descriptor it inherited, and still drops nothing for a late reader.
    let test = "relay_through_a_descriptor_it_cannot_reopen";
    if !is_root() {
        return skip(test, "not root: cannot run timeout-run as another user");
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return skip(test, "setpriv is not installed");
    }
    let script = format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups \
         {} -vvv --idle-timeout 5 seq 1 2000000 | (sleep 0.5; tail -n 1); \
         echo status=${{PIPESTATUS[0]}}",
        bin()
    );
    let f = bash(&script, 30 * SEC);
    assert_eq!(f.stdout, "2000000\nstatus=0\n", "{f:#?}");
    f.assert_stderr_contains("cannot reopen fd 1 (Permission denied)");
}

#[test]
fn relay_to_a_pipe_without_reader_fails_the_first_write() {
    // The reader of the pipe is gone before timeout-run starts: the command's very first write
    // fails with EPIPE, as without timeout-run (not the second one, after the relay found out).
    let wait_for_no_reader = "import select, sys, time\n\
                              p = select.poll()\n\
                              p.register(1, select.POLLOUT)\n\
                              end = time.monotonic() + 10\n\
                              while not any(e & select.POLLERR for _, e in p.poll(10)):\n\
                              \x20   if time.monotonic() > end:\n\
                              \x20       sys.exit('the reader never went away')\n";
    let writer = "import errno, os, signal, sys\n\
                  signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
                  try:\n\
                  \x20   os.write(1, b'x')\n\
                  \x20   print('first write: ok', file=sys.stderr)\n\
                  except OSError as e:\n\
                  \x20   print('first write: ' + errno.errorcode[e.errno], file=sys.stderr)\n";
    // Written by the command itself, or (without inotify) relayed.
    for prefix in [String::new(), no_inotify()] {
        let script = format!(
            "{{ python3 -c \"{wait_for_no_reader}\" && \
             {prefix} {bin} --idle-timeout 5 python3 -c \"{writer}\"; }} | true",
            bin = bin()
        );
        let f = bash(&script, 20 * SEC);
        f.assert_stderr_contains("first write: EPIPE");
    }
}

#[test]
fn relay_file_destination_does_not_wake_for_every_write() {
    if crate::util::linux_backend_only(
        "relay_file_destination_does_not_wake_for_every_write",
        "inotify to watch a file destination (it copies instead)",
    ) {
        return;
    }
    // 100,000 writes of 4 KiB to a file: timeout-run learns of them through inotify, but must
    // not wake up for each (it rests the watch after each write it sees).
    let dir = tempdir();
    let done = dir.path().join("done");
    let out = std::fs::File::create(dir.path().join("out")).unwrap();
    let script = format!(
        "dd if=/dev/zero bs=4k count=100000 status=none; touch {}; sleep 30",
        done.display()
    );
    let c = cmd(["--idle-timeout", "30", "30", "sh", "-c", &script]);
    let running = start_with_stdout(c, Stdio::from(out));
    let waiting = Instant::now();
    while !done.exists() {
        assert!(waiting.elapsed() < 15 * SEC, "the writer never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.pid())).unwrap();
    let switches: u64 = status
        .lines()
        .filter(|l| l.contains("ctxt_switches"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    running.signal(libc::SIGTERM);
    running.finish().assert_signal(libc::SIGTERM);
    assert!(
        switches < 2_000,
        "{switches} context switches for 100,000 writes"
    );
}
