//! The `--idle-timeout` output relay (SPEC §7): nothing is dropped, a slow reader is not
//! silence, `2>&1` keeps its order, the loop is never blocked by the destination, write errors
//! reach the command as they would without timeout-run, and kept processes can still write.

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
fn checksum_through(data: &Path, idle: &str, reader: &str) -> (String, String, Finished) {
    let script = format!(
        "{bin} --idle-timeout {idle} cat {data} | {reader} | sha256sum; \
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
    let (got, status, f) = checksum_through(&data, "5", "cat");
    assert_eq!(status, "0", "{f:#?}");
    assert_eq!(got, want, "{f:#?}");
}

#[test]
fn relay_checksum_slow_reader() {
    let dir = tempdir();
    let (data, want) = random_data(dir.path(), 200);
    // 16 KiB reads with a pause after each: far slower than the command writes.
    let reader = python_reader(16 * 1024, 0.0002, usize::MAX, 0.0);
    let (got, status, f) = checksum_through(&data, "2", &reader);
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
    let (got, status, f) = checksum_through(&data, "1", &reader);
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
fn relay_late_reader_gets_every_line() {
    let script = format!(
        "{} --idle-timeout 5 seq 1 2000000 | (sleep 0.5; tail -n 1); \
         echo status=${{PIPESTATUS[0]}}",
        bin()
    );
    let f = bash(&script, 30 * SEC);
    f.assert_code(0);
    assert_eq!(f.stdout, "2000000\nstatus=0\n", "{f:#?}");
}

#[test]
fn relay_keeps_the_order_of_stdout_and_stderr_into_one_pipe() {
    let dir = tempdir();
    let command = "sh -c 'i=0; while [ $i -lt 2000 ]; do echo out$i; echo err$i >&2; \
                   i=$((i+1)); done'";
    let direct = dir.path().join("direct");
    let relayed = dir.path().join("relayed");
    let script = format!(
        "{command} 2>&1 | cat > {direct}; {bin} --idle-timeout 5 {command} 2>&1 | cat > {relayed}",
        bin = bin(),
        direct = direct.display(),
        relayed = relayed.display()
    );
    bash(&script, 30 * SEC).assert_code(0);
    let direct = std::fs::read_to_string(direct).unwrap();
    let relayed = std::fs::read_to_string(relayed).unwrap();
    assert!(direct.starts_with("out0\nerr0\nout1\nerr1\n"), "{direct}");
    assert_eq!(direct.lines().count(), 4000);
    assert!(relayed == direct, "order differs:\n{relayed}");
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
    for errno in ["ENOSYS", "EPERM", "EINVAL"] {
        let script = format!(
            "seq 1 500000 | sha256sum; \
             python3 {refuse} splice:{errno} {bin} --idle-timeout 5 seq 1 500000 | sha256sum; \
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
fn relay_write_error_is_named_once_and_reaches_the_command() {
    // /dev/full is a character device, so it is relayed; its ENOSPC cannot travel through a
    // pipe: the command gets EPIPE (its SIGPIPE ignored here) and timeout-run says why.
    let writer = "import errno, os, signal, sys\n\
                  signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
                  for i in range(100000):\n\
                  \x20   try:\n\
                  \x20       os.write(1, b'x' * 4096)\n\
                  \x20   except OSError as e:\n\
                  \x20       print('errno=' + errno.errorcode[e.errno], file=sys.stderr)\n\
                  \x20       break\n";
    let c = cmd(["--idle-timeout", "5", "python3", "-c", writer]);
    let f = start_with_stdout(c, Stdio::from(std::fs::File::create("/dev/full").unwrap())).finish();
    f.assert_code(0).assert_stderr_contains("errno=EPIPE");
    let warning = "timeout-run: warning: cannot write the command's stdout: \
                   No space left on device\n";
    assert_eq!(f.stderr.matches(warning).count(), 1, "{f:#?}");
    f.assert_stderr_lacks("os error");
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
    let script = format!(
        "{{ python3 -c \"{wait_for_no_reader}\" && {bin} --idle-timeout 5 python3 -c \"{writer}\"; \
         }} | true",
        bin = bin()
    );
    let f = bash(&script, 20 * SEC);
    f.assert_stderr_contains("first write: EPIPE");
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
