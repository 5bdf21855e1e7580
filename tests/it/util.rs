//! Test support: run timeout-run under a watchdog, read its output line by line for readiness
//! handshakes, and dump everything when an assertion fails.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_timeout-run")
}

/// The misbehaving helper program (tests/helper.py).
pub fn helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helper.py")
}

/// `tests/reuse-pid.py`: gives an orphan the pid of a reaped process, in a pid namespace.
pub fn reuse_pid() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reuse-pid.py")
}

/// `tests/refuse-syscalls.py`: runs a program with some system calls refused by seccomp.
pub fn refuse_syscalls() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/refuse-syscalls.py")
}

/// Default watchdog: no test run may take longer than this.
pub const WATCHDOG: Duration = Duration::from_secs(20);

/// `timeout-run ARGS...` ready to be configured and started.
pub fn cmd<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(bin());
    c.args(args);
    c.env_remove("TIMEOUT_RUN_DEADLINE");
    c.env_remove("TIMEOUT_RUN_LOG");
    with_backend(&mut c);
    c
}

/// The first real-time signal, where the system has them (not macOS, nor FreeBSD through the
/// libc crate).
pub fn rtmin() -> Option<i32> {
    #[cfg(target_os = "linux")]
    return Some(libc::SIGRTMIN());
    #[cfg(not(target_os = "linux"))]
    None
}

/// The backend under test: `TIMEOUT_RUN_TEST_BACKEND=portable` runs every timeout-run of the
/// suite with `TIMEOUT_RUN_BACKEND=portable` (on Linux; elsewhere it is the only one).
pub fn portable_backend() -> bool {
    !cfg!(target_os = "linux")
        || std::env::var_os("TIMEOUT_RUN_TEST_BACKEND").is_some_and(|v| v == "portable")
}

/// Sets the backend under test on a command that starts timeout-run, directly or through a
/// shell, a terminal or a namespace tool (they pass the environment on).
pub fn with_backend(c: &mut Command) -> &mut Command {
    if cfg!(target_os = "linux") && portable_backend() {
        c.env("TIMEOUT_RUN_BACKEND", "portable");
    }
    c
}

/// For a test that needs Linux itself whatever the backend (`/proc`, `unshare`, seccomp,
/// glibc, the `setsid` program): prints why it is skipped and returns true elsewhere.
pub fn linux_only(test: &str, why: &str) -> bool {
    if !cfg!(target_os = "linux") {
        skip(test, &format!("Linux only: {why}"));
        return true;
    }
    false
}

/// For a test of what only the Linux backend offers (cgroups, the child subreaper and its
/// walk of `/proc`, setsid'd descendants, the parent-death signal, clone3): prints why it is
/// skipped and returns true on the portable backend.
pub fn linux_backend_only(test: &str, why: &str) -> bool {
    if portable_backend() {
        skip(test, &format!("Linux backend only: {why}"));
        return true;
    }
    false
}

/// A running timeout-run with its stdout delivered line by line and stderr collected.
pub struct Running {
    pub child: Child,
    readers: Vec<thread::JoinHandle<()>>,
    lines: Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    started: Instant,
    watchdog: Duration,
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// The exit code; panics (with the output) when it died by a signal.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("expected an exit code, got {self:#?}"))
    }

    /// The signal it died by; panics when it exited.
    pub fn signal(&self) -> i32 {
        self.status
            .signal()
            .unwrap_or_else(|| panic!("expected a death by signal, got {self:#?}"))
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.status.code(), Some(code), "{self:#?}");
        self
    }

    pub fn assert_signal(&self, signal: i32) -> &Self {
        assert_eq!(self.status.signal(), Some(signal), "{self:#?}");
        self
    }

    pub fn assert_faster_than(&self, limit: Duration) -> &Self {
        assert!(
            self.elapsed < limit,
            "took {:?} (limit {limit:?}): {self:#?}",
            self.elapsed
        );
        self
    }

    pub fn assert_slower_than(&self, limit: Duration) -> &Self {
        assert!(
            self.elapsed >= limit,
            "took only {:?} (min {limit:?}): {self:#?}",
            self.elapsed
        );
        self
    }

    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }

    pub fn assert_stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}: {self:#?}"
        );
        self
    }

    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}: {self:#?}"
        );
        self
    }
}

/// Starts a configured command with piped stdout/stderr, in its own process group so the
/// watchdog can kill everything it started.
pub fn start(command: Command) -> Running {
    start_with_stdout(command, Stdio::piped())
}

/// Like [`start`], with stdout going to `stdout` (only a pipe is read line by line).
pub fn start_with_stdout(mut command: Command, stdout: Stdio) -> Running {
    command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .process_group(0);
    // Whatever the test runner inherited (a non-interactive shell starts background jobs with
    // SIGINT and SIGQUIT ignored, nohup ignores SIGHUP), the binary under test starts with
    // default dispositions, as from an interactive shell; tests of inherited ignored signals
    // set them up explicitly.
    // SAFETY: signal(2) with SIG_DFL is async-signal-safe and touches no memory.
    unsafe {
        command.pre_exec(|| {
            for number in 1..rtmin().unwrap_or(32) {
                if number != libc::SIGKILL && number != libc::SIGSTOP {
                    libc::signal(number, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
    // Timed from before the spawn: timeout-run may run (and its timer start) before this
    // thread gets the CPU back.
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn timeout-run");
    let (tx, lines) = channel();
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let out = child.stdout.take();
    let all = Arc::clone(&stdout);
    let out_reader = thread::spawn(move || {
        let Some(out) = out else { return };
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            all.lock().unwrap().push_str(&format!("{line}\n"));
            let _ = tx.send(line);
        }
    });
    let mut err = child.stderr.take().expect("stderr");
    let all = Arc::clone(&stderr);
    let err_reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Running {
        child,
        readers: vec![out_reader, err_reader],
        lines,
        stdout,
        stderr,
        started,
        watchdog: WATCHDOG,
    }
}

/// Starts `timeout-run ARGS...`.
pub fn spawn<I, S>(args: I) -> Running
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    start(cmd(args))
}

/// Runs `timeout-run ARGS...` to completion under the watchdog.
pub fn run<I, S>(args: I) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    spawn(args).finish()
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for a stdout line equal to `want` (a readiness handshake); panics on timeout.
    pub fn wait_for_line(&mut self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == want => return,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    self.kill_all();
                    panic!(
                        "no line {want:?} within 10s\nstdout: {}\nstderr: {}",
                        self.stdout.lock().unwrap(),
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// Waits until timeout-run's stderr contains `want` (a readiness handshake); panics on
    /// timeout.
    pub fn wait_for_stderr(&mut self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.stderr.lock().unwrap().contains(want) {
            if Instant::now() >= deadline {
                self.kill_all();
                panic!(
                    "no {want:?} on stderr within 10s\nstdout: {}\nstderr: {}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Replaces the default watchdog, for runs that move a lot of data.
    pub fn watchdog(mut self, limit: Duration) -> Self {
        self.watchdog = limit;
        self
    }

    /// Sends a signal to timeout-run.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child, which is not reaped yet.
        unsafe {
            libc::kill(self.pid(), signal);
        }
    }

    /// SIGKILL to timeout-run's process group (what the command holds dies with timeout-run
    /// through its parent-death signal, a cgroup's with it), then reaps timeout-run.
    fn kill_all(&mut self) {
        // SAFETY: kill(2) of the process group we created for this run.
        unsafe {
            libc::kill(-self.pid(), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for timeout-run to exit, at most the watchdog's time; on expiry kills its group and
    /// fails with everything it printed.
    pub fn finish(mut self) -> Finished {
        let deadline = self.started + self.watchdog;
        loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => {
                    let elapsed = self.started.elapsed();
                    // Let the reader threads drain the pipes (they end when the pipes close,
                    // which may be later if a leftover holds them: bounded).
                    let drain = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < drain && self.readers.iter().any(|r| !r.is_finished()) {
                        thread::sleep(Duration::from_millis(2));
                    }
                    return Finished {
                        status,
                        stdout: self.stdout.lock().unwrap().clone(),
                        stderr: self.stderr.lock().unwrap().clone(),
                        elapsed,
                    };
                }
                None if Instant::now() >= deadline => {
                    self.kill_all();
                    panic!(
                        "watchdog: still running after {:?}\nstdout: {}\nstderr: {}",
                        self.watchdog,
                        self.stdout.lock().unwrap(),
                        self.stderr.lock().unwrap()
                    );
                }
                None => thread::sleep(Duration::from_millis(2)),
            }
        }
    }
}

impl Drop for Running {
    /// A test that fails before `finish` (a readiness line that never came) leaves nothing
    /// running either.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_all();
        }
    }
}

/// Helper program arguments: `python3 tests/helper.py ACTIONS...`.
pub fn helper_args(actions: &[&str]) -> Vec<String> {
    let mut v = vec!["python3".to_owned(), helper().display().to_string()];
    v.extend(actions.iter().map(|s| (*s).to_owned()));
    v
}

/// `timeout-run OPTIONS... -- python3 helper.py ACTIONS...`
pub fn with_helper(options: &[&str], actions: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = options.iter().map(|s| (*s).to_owned()).collect();
    v.push("--".to_owned());
    v.extend(helper_args(actions));
    v
}

/// Whether a pid is alive (not gone, not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start())
                .unwrap_or("");
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Reads a pid file written by the helper's `pids` action.
pub fn read_pids(path: &Path) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        }
        assert!(Instant::now() < deadline, "no pid file {}", path.display());
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (bounded) until none of `pids` is alive; returns the survivors.
pub fn survivors(pids: &[i32], within: Duration) -> Vec<i32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Kills pids a failed test left behind.
pub fn cleanup(pids: &[i32]) {
    for p in pids {
        // SAFETY: kill(2); the pids came from our own helper's pid file.
        unsafe {
            libc::kill(*p, libc::SIGKILL);
        }
    }
}

/// Whether we are root (cgroup and namespace tests need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no side effects.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a writable cgroup v2 hierarchy is available, with the reason when not.
pub fn cgroup_unavailable() -> Option<String> {
    if portable_backend() {
        return Some("the portable backend has no cgroups".into());
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    if !info.lines().any(|l| l.contains(" - cgroup2 ")) {
        return Some("no cgroup v2 hierarchy mounted".into());
    }
    if !is_root() {
        return Some("not root: cannot create a cgroup".into());
    }
    let probe = run(["--contain", "cgroup", "true"]);
    if probe.status.code() != Some(0) {
        return Some(format!(
            "cgroup creation fails here: {}",
            probe.stderr.trim()
        ));
    }
    None
}

/// Says that a test did not run and why, or fails it where nothing may be missing.
///
/// libtest has no "skipped at run time" result and captures what `eprintln!` prints from a
/// test that passes, so the line is written to the stderr handle itself, which libtest does not
/// capture: `cargo test` shows `SKIPPED <test>: <reason>` among its results. `.ci/run` runs with
/// `CI=true`, as root, on Linux, with the Linux backend, and installs every facility, so there a
/// skip is a failure. Elsewhere (an unprivileged CI runner, macOS, FreeBSD, the portable
/// backend's pass, where some tests do not apply) it is only reported.
pub fn skip(test: &str, why: &str) {
    let everything_provided = std::env::var_os("CI").is_some_and(|v| v == "true")
        && cfg!(target_os = "linux")
        && !portable_backend()
        && is_root();
    if everything_provided {
        panic!("{test} cannot run: {why} (CI=true as root: .ci/run must provide this)");
    }
    // One write, so that the line is not split by libtest's own lines.
    use std::io::Write;
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
