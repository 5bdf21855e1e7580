//! Soak: loops the race-prone cases for a while and requires zero failures, zero leaked
//! processes and zero zombies. `cargo test --workspace` runs it for a few seconds; for a real
//! soak:
//!
//! ```sh
//! TIMEOUT_RUN_SOAK_SECONDS=600 cargo test --release --test soak -- --nocapture
//! ```
//!
//! `TIMEOUT_RUN_SOAK_CASES=storm,hopper` runs only the cases whose names contain one of the
//! given words (the names are printed in the summary).
//!
//! Cases, round-robin until the time is up:
//! - the command exits exactly at the deadline (status 0 or 124, nothing else);
//! - a termination or relayed signal arrives while timeout-run is starting the command;
//! - a storm of relayed signals, then SIGTERM;
//! - hundreds of orphans reparented to timeout-run, all reaped while it runs;
//! - a cancellation arriving around the deadline, during the grace period;
//! - process-group containment (`--contain group`), as an unprivileged user where the machine
//!   allows it: a parent that dies of the forwarded SIGTERM while its setsid'd child is
//!   re-parented to timeout-run (must end at once, not after the grace); storms of setsid'd
//!   children that ignore SIGTERM; a process that keeps forking away from its parent; an orphan
//!   given the command's pid again in a pid namespace (the command's status must stand);
//! - the `--idle-timeout` relay: a few MiB through a reader that pauses (compared by checksum),
//!   and stdout and stderr into one pipe (`2>&1`: the lines must keep their order);
//! - Ctrl-C without a terminal: SIGINT twice during the grace of a command that ignores SIGINT,
//!   and twice during a timeout's grace;
//! - error injection: a descriptor limit of 4 to 24 and refused system calls (pipe2, clone3 and
//!   clone, poll and ppoll): timeout-run either works (0) or says why (125), and leaves nothing.
//!
//! Every process a case starts carries a unique marker in its arguments; after each run, no
//! process with that marker may be left. While each run lasts, a watcher samples timeout-run's
//! children: a zombie that stays unreaped for a second fails the run. After each run, no
//! `timeout-run.<pid>.*` cgroup of it may be left below the test's own cgroup.
//!
//! A failing run does not stop the soak: every failure is counted, the first of each case is
//! printed in full, and the test fails at the end.

#[path = "../it/util.rs"]
mod util;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use util::*;

const SEC: Duration = Duration::from_secs(1);

/// A zombie child of timeout-run left unreaped this long fails the run (a zombie exists for an
/// instant before it is reaped; on a loaded machine that instant can stretch).
const ZOMBIE_LINGER: Duration = Duration::from_secs(1);

/// A cheap pseudo-random source (the timing jitter is what matters, not the quality).
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter(seed | 1)
    }

    fn next(&mut self) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }
}

/// Busy-waits `micros` (sleeping would round up to the scheduler's granularity).
fn spin(micros: u64) {
    let until = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Live processes whose command line contains `marker`.
fn with_marker(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(marker)
        {
            out.push(pid);
        }
    }
    out
}

fn assert_no_leak(case: &str, marker: &str, f: &dyn std::fmt::Debug) {
    let left = with_marker(marker);
    if !left.is_empty() {
        cleanup(&left);
        panic!("{case}: leaked processes {left:?} (marker {marker}): {f:#?}");
    }
}

fn signal_of(f: &Finished) -> Option<i32> {
    f.status.signal()
}

// ---- Watching a run: zombies while it runs, cgroups after it -----------------------------------

/// State and start time (in clock ticks since boot) from `/proc/PID/stat`.
fn state_and_start(pid: i32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 22 of the file is the 20th after the command name.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Children of every thread of `pid` (zombies included: they stay on their parent's list until
/// they are reaped).
fn children(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    Some(out)
}

/// What the zombie watcher saw during one run.
#[derive(Debug, Default, Clone, Copy)]
struct ZombieCount {
    /// Distinct zombies seen (each reaped soon after, or the run failed).
    seen: u64,
    /// The longest time one of them stayed unreaped, as sampled.
    longest: Duration,
}

/// Samples timeout-run's children every few milliseconds while it runs.
struct Watch {
    pid: i32,
    since: SystemTime,
    stop: Arc<AtomicBool>,
    sampler: Option<thread::JoinHandle<ZombieCount>>,
}

impl Watch {
    /// Watches timeout-run, `pid`, started no earlier than `since`.
    fn start(pid: i32, since: SystemTime) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let sampler = thread::spawn(move || {
            let mut count = ZombieCount::default();
            // The watched process itself, so that a later process given its pid is not watched.
            let Some((_, own_start)) = state_and_start(pid) else {
                return count;
            };
            let mut first_seen: HashMap<(i32, u64), Instant> = HashMap::new();
            while !stopped.load(Ordering::Relaxed) {
                let now = Instant::now();
                let Some(kids) = children(pid) else { break };
                if state_and_start(pid)
                    .is_none_or(|(state, start)| start != own_start || state == 'Z' || state == 'X')
                {
                    break;
                }
                let mut current = HashSet::new();
                for kid in kids {
                    if let Some(('Z', start)) = state_and_start(kid) {
                        let key = (kid, start);
                        current.insert(key);
                        let first = *first_seen.entry(key).or_insert_with(|| {
                            count.seen += 1;
                            now
                        });
                        count.longest = count.longest.max(now - first);
                    }
                }
                first_seen.retain(|key, _| current.contains(key));
                thread::sleep(Duration::from_millis(10));
            }
            count
        });
        Watch {
            pid,
            since,
            stop,
            sampler: Some(sampler),
        }
    }

    /// Ends the watch after timeout-run exited: fails on a zombie left unreaped too long or on
    /// a cgroup of this run left behind.
    fn check(mut self, case: &str, stats: &mut Stats, f: &dyn std::fmt::Debug) {
        self.stop.store(true, Ordering::Relaxed);
        let count = self
            .sampler
            .take()
            .and_then(|s| s.join().ok())
            .unwrap_or_default();
        stats.zombies_seen += count.seen;
        stats.zombie_longest = stats.zombie_longest.max(count.longest);
        assert!(
            count.longest < ZOMBIE_LINGER,
            "{case}: a zombie child of timeout-run stayed unreaped for {:?}: {f:#?}",
            count.longest
        );
        let left = cgroups_left(self.pid, self.since);
        assert!(
            left.is_empty(),
            "{case}: cgroups left behind {left:?}: {f:#?}"
        );
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The test's own cgroup directory in the v2 hierarchy, where timeout-run makes its own.
fn own_cgroup_dir() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (root, mount_point) = info.lines().find_map(|line| {
        let (fields, fs) = line.split_once(" - ")?;
        if !fs.starts_with("cgroup2 ") {
            return None;
        }
        let mut f = fields.split_whitespace().skip(3);
        Some((f.next()?.to_owned(), f.next()?.to_owned()))
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let relative = own
        .strip_prefix(root.trim_end_matches('/'))
        .unwrap_or(own)
        .trim_start_matches('/');
    Some(Path::new(&mount_point).join(relative))
}

/// `timeout-run.<pid>.<attempt>.<time>` directories below the test's cgroup made by timeout-run
/// `pid` since `since` (the time in the name tells them from another run's that had the pid).
fn cgroups_left(pid: i32, since: SystemTime) -> Vec<PathBuf> {
    let Some(dir) = own_cgroup_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let since = since
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let prefix = format!("timeout-run.{pid}.");
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                return false;
            };
            name.strip_prefix(&prefix)
                .and_then(|rest| rest.rsplit('.').next())
                .and_then(|stamp| u128::from_str_radix(stamp, 16).ok())
                .is_some_and(|stamp| stamp >= since)
        })
        .map(|e| e.path())
        .collect()
}

/// Starts a configured timeout-run under the watchdog and the watch.
fn start_watched(command: Command) -> (Running, Watch) {
    let since = SystemTime::now();
    let r = start(command);
    let watch = Watch::start(r.pid(), since);
    (r, watch)
}

/// `timeout-run ARGS...`, watched.
fn spawn_watched(args: &[&str]) -> (Running, Watch) {
    start_watched(cmd(args))
}

/// Waits (bounded) until timeout-run has taken `signal` off its pending set, so that the next
/// one is not merged with it.
fn wait_until_taken(pid: i32, signal: i32) {
    let bit = 1u64 << (signal - 1);
    let deadline = Instant::now() + 5 * SEC;
    while Instant::now() < deadline {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return;
        };
        let pending = status
            .lines()
            .filter(|l| l.starts_with("ShdPnd:") || l.starts_with("SigPnd:"))
            .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
            .fold(0, |a, b| a | b);
        if pending & bit == 0 {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("signal {signal} still pending for timeout-run after 5s");
}

/// Sends `signal` to timeout-run, waits until it has taken it, lets `micros` go by, sends it
/// again, and waits for the end: what it did, and how long after the first signal it ended.
fn signal_twice(r: Running, signal: i32, micros: u64) -> (Finished, Duration) {
    let sent = Instant::now();
    r.signal(signal);
    wait_until_taken(r.pid(), signal);
    spin(micros);
    r.signal(signal);
    let f = r.finish();
    (f, sent.elapsed())
}

// ---- Running as another user ---------------------------------------------------------------

/// How the group-mode cases run timeout-run: as `nobody` through setpriv when the soak runs as
/// root and that works, else as the soak's own user.
struct Unprivileged {
    bin: PathBuf,
    /// A copy of the binary that `nobody` can run, when the original is not reachable.
    _copy: Option<tempfile::TempDir>,
}

const SETPRIV: [&str; 4] = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];

/// A PATH without the directories only root can enter.
const PLAIN_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Whether `nobody` can run `bin` and python3 (the group-mode cases need nothing else).
fn nobody_can_use(bin: &Path) -> Result<(), String> {
    let out = Command::new("setpriv")
        .args(SETPRIV)
        .args([
            "sh",
            "-c",
            "python3 -c pass || exit 1; exec \"$0\" --version",
        ])
        .arg(bin)
        .env("PATH", PLAIN_PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("setpriv: {e}"))?;
    if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("timeout-run") {
        Ok(())
    } else {
        Err(format!(
            "setpriv as nobody: {}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Sets up the unprivileged runs; `Err` says why the group-mode cases run as root.
fn unprivileged() -> Result<Option<Unprivileged>, String> {
    if !is_root() {
        return Ok(None);
    }
    let bin = PathBuf::from(bin());
    let first = match nobody_can_use(&bin) {
        Ok(()) => return Ok(Some(Unprivileged { bin, _copy: None })),
        Err(why) => why,
    };
    // The build tree may not be reachable by nobody: copy the binary where it is.
    let dir = tempdir();
    let mode = |path: &Path| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", path.display()))
    };
    mode(dir.path())?;
    let copy = dir.path().join("timeout-run");
    std::fs::copy(&bin, &copy).map_err(|e| format!("copy {}: {e}", bin.display()))?;
    mode(&copy)?;
    nobody_can_use(&copy).map_err(|why| format!("{first}; with a copy in /tmp: {why}"))?;
    Ok(Some(Unprivileged {
        bin: copy,
        _copy: Some(dir),
    }))
}

/// Whether `unshare --pid --fork --mount-proc` works here, with the reason when not.
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

// ---- The soak's state ----------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    zombies_seen: u64,
    zombie_longest: Duration,
    pid_reused: u32,
}

struct Soak {
    n: u64,
    j: Jitter,
    orphan_count: u32,
    user: Option<Unprivileged>,
    pid_namespace: bool,
    stats: Stats,
}

impl Soak {
    /// `timeout-run ARGS...` for a group-mode case, as nobody where that was set up.
    fn group_command(&self, args: &[&str]) -> Command {
        match &self.user {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args(SETPRIV).arg(&user.bin).args(args);
                c.env_remove("TIMEOUT_RUN_DEADLINE")
                    .env_remove("TIMEOUT_RUN_LOG")
                    .env("PATH", PLAIN_PATH)
                    .current_dir("/");
                c
            }
            None => cmd(args),
        }
    }
}

// ---- The original cases --------------------------------------------------------------------

/// The command exits exactly when the deadline fires.
fn exit_at_deadline(s: &mut Soak) -> Duration {
    let marker = format!("0.05{:07}", s.n);
    let (r, w) = spawn_watched(&["-g", "1", "0.05", "sleep", marker.as_str()]);
    let f = r.finish();
    w.check("exit at deadline", &mut s.stats, &f);
    assert!(
        matches!(f.status.code(), Some(0 | 124)),
        "exit at deadline: {f:#?}"
    );
    assert_no_leak("exit at deadline", &marker, &f);
    f.elapsed
}

/// A signal arrives while timeout-run starts up and spawns.
fn signal_during_spawn(s: &mut Soak) -> Duration {
    let marker = format!("30.{:07}", s.n);
    let signal = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1][s.j.below(4) as usize];
    let (r, w) = spawn_watched(&["-g", "1", "60", "sleep", marker.as_str()]);
    spin(s.j.below(3000));
    r.signal(signal);
    let f = r.finish();
    w.check("signal during spawn", &mut s.stats, &f);
    // Whether it arrived before timeout-run blocked signals (default action) or after (relayed
    // to the command, or the stop sequence), timeout-run ends by that very signal.
    assert_eq!(signal_of(&f), Some(signal), "signal during spawn: {f:#?}");
    assert!(f.elapsed < 5 * SEC, "{f:#?}");
    assert_no_leak("signal during spawn", &marker, &f);
    f.elapsed
}

/// Thousands of relayed signals, then SIGTERM.
fn signal_storm(s: &mut Soak) -> Duration {
    let marker = format!("30.{:07}", s.n);
    // Without real-time signals (macOS), SIGURG stands in for the fourth kind.
    let rt = util::rtmin().map_or(libc::SIGURG, |rt| rt + 1);
    let script = format!("trap '' USR1 USR2 WINCH {rt}; echo ready; exec sleep {marker}");
    let (mut r, w) = spawn_watched(&["-g", "1", "60", "sh", "-c", &script]);
    r.wait_for_line("ready");
    let storm = [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        rt,
        libc::SIGCONT,
    ];
    for _ in 0..2000 {
        r.signal(storm[s.j.below(storm.len() as u64) as usize]);
    }
    r.signal(libc::SIGTERM);
    let f = r.finish();
    w.check("signal storm", &mut s.stats, &f);
    assert_eq!(signal_of(&f), Some(libc::SIGTERM), "signal storm: {f:#?}");
    assert!(f.elapsed < 5 * SEC, "{f:#?}");
    assert_no_leak("signal storm", &marker, &f);
    f.elapsed
}

/// Orphans come back to timeout-run (a subreaper) and are reaped while it runs.
fn orphans(s: &mut Soak) -> Duration {
    let marker = format!("0.00{:07}", s.n);
    let count = s.orphan_count;
    // The census repeats until it reads zero (a zombie exists for an instant before timeout-run
    // reaps it), bounded; $PPID is timeout-run.
    let script = format!(
        "for i in $(seq {count}); do (sleep {marker} &); done; \
         for i in $(seq 200); do z=$(ps -o stat= --ppid $PPID | grep -c '^Z'); \
         [ \"$z\" = 0 ] && break; sleep 0.02; done; echo zombies=$z"
    );
    let (r, w) = spawn_watched(&["30", "sh", "-c", &script]);
    let f = r.finish();
    w.check("orphans", &mut s.stats, &f);
    f.assert_code(0).assert_stdout_contains("zombies=0");
    assert_no_leak("orphans", &marker, &f);
    f.elapsed
}

/// A cancellation around the deadline, while the command traps the stop signal.
fn cancel_during_grace(s: &mut Soak) -> Duration {
    let marker = format!("30.{:07}", s.n);
    let script = format!("trap 'echo got-term' TERM; echo ready; sleep {marker} & wait; wait");
    let (mut r, w) = spawn_watched(&["-g", "0.1", "0.05", "sh", "-c", &script]);
    r.wait_for_line("ready");
    spin(s.j.below(150_000));
    let signal = [libc::SIGTERM, libc::SIGINT][s.j.below(2) as usize];
    r.signal(signal);
    let f = r.finish();
    w.check("cancel during grace", &mut s.stats, &f);
    // Before the deadline it is a cancellation (death by the signal); after it, the time-out
    // stands (124). Either way the grace period ends it quickly.
    assert!(
        f.status.code() == Some(124) || signal_of(&f) == Some(signal),
        "cancel during grace: {f:#?}"
    );
    assert!(f.elapsed < 5 * SEC, "{f:#?}");
    assert_no_leak("cancel during grace", &marker, &f);
    f.elapsed
}

// ---- Process-group containment ---------------------------------------------------------------

/// sh dies of the forwarded SIGTERM at once, and its setsid'd child (which exits on SIGTERM) is
/// re-parented to timeout-run in the middle of the stop: it must get SIGTERM too, so the run
/// ends at once rather than at the SIGKILL after the 10 s grace.
fn group_parent_dies_first(s: &mut Soak) -> Duration {
    let marker = format!("soak-parent-first-{}", s.n);
    let script = format!(
        r#"setsid python3 -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
time.sleep(100)' {marker} & wait"#
    );
    let c = s.group_command(&[
        "--contain",
        "group",
        "-g",
        "10",
        "-t",
        "60",
        "sh",
        "-c",
        &script,
    ]);
    let (mut r, w) = start_watched(c);
    r.wait_for_line("ready");
    spin(s.j.below(2000));
    let sent = Instant::now();
    r.signal(libc::SIGTERM);
    let f = r.finish();
    let stop = sent.elapsed();
    w.check("group: parent dies first", &mut s.stats, &f);
    assert_no_leak("group: parent dies first", &marker, &f);
    assert_eq!(signal_of(&f), Some(libc::SIGTERM), "{f:#?}");
    assert!(
        stop < 5 * SEC,
        "group: parent dies first: {stop:?} from SIGTERM to exit (grace 10s): {f:#?}"
    );
    stop
}

/// A shell that ignores SIGTERM starts 20 to 200 `setsid sleep`: the timeout must end them all
/// within a few seconds (grace 1 s).
fn group_setsid_storm(s: &mut Soak) -> Duration {
    let marker = format!("1000.{:07}", s.n);
    let count = s.j.between(20, 200);
    let script = format!(
        "trap '' TERM; i=0; while [ $i -lt {count} ]; do setsid sleep {marker} & \
         i=$((i+1)); done; wait"
    );
    let c = s.group_command(&["--contain", "group", "-g", "1", "0.5", "sh", "-c", &script]);
    let (r, w) = start_watched(c);
    let f = r.finish();
    w.check("group: setsid storm", &mut s.stats, &f);
    assert_no_leak(&format!("group: setsid storm of {count}"), &marker, &f);
    assert_eq!(
        f.status.code(),
        Some(124),
        "setsid storm of {count}: {f:#?}"
    );
    assert!(f.elapsed < 8 * SEC, "setsid storm of {count}: {f:#?}");
    f.elapsed
}

/// Each generation forks the next, which leaves the process group (setsid), and exits: the live
/// process changes pid, parent and group all the time, and ignores SIGTERM.
fn group_pid_hopper(s: &mut Soak) -> Duration {
    let marker = format!("soak-hopper-{}", s.n);
    let hopper = format!(
        "python3 -c 'import os, signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
         while True:\n    if os.fork(): os._exit(0)\n    os.setsid()' {marker}"
    );
    let script = format!("{hopper} & wait; sleep 100");
    let c = s.group_command(&[
        "--contain",
        "group",
        "-g",
        "0.3",
        "0.3",
        "sh",
        "-c",
        &script,
    ]);
    let (r, w) = start_watched(c);
    let f = r.finish();
    w.check("group: pid hopper", &mut s.stats, &f);
    assert_no_leak("group: pid hopper", &marker, &f);
    assert_eq!(f.status.code(), Some(124), "pid hopper: {f:#?}");
    assert!(f.elapsed < 8 * SEC, "pid hopper: {f:#?}");
    f.elapsed
}

/// In a pid namespace (timeout-run is PID 1), an orphan is given the command's pid again after
/// the command exited 3 and was reaped, is adopted by timeout-run, and dies by SIGSEGV: the
/// status must stay 3.
fn group_pid_reuse(s: &mut Soak) -> Duration {
    if !s.pid_namespace {
        return Duration::ZERO;
    }
    let marker = format!("soak-reuse-{}", s.n);
    let script = format!(
        "ulimit -c 0; python3 {} $$ {marker} & exit 3",
        util::reuse_pid().display()
    );
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", bin()])
        .args([
            "--contain",
            "group",
            "--leftovers",
            "wait",
            "-t",
            "10",
            "sh",
            "-c",
            &script,
        ])
        .env_remove("TIMEOUT_RUN_DEADLINE")
        .env_remove("TIMEOUT_RUN_LOG");
    let since = SystemTime::now();
    let r = start(c);
    // unshare's only child is timeout-run, PID 1 of the namespace: watch that one.
    let unshare = r.pid();
    let deadline = Instant::now() + 5 * SEC;
    let pid1 = loop {
        if let Some(&pid) = children(unshare).unwrap_or_default().first() {
            break Some(pid);
        }
        if Instant::now() >= deadline || !alive(unshare) {
            break None;
        }
        thread::sleep(Duration::from_millis(1));
    };
    let w = pid1.map(|pid| Watch::start(pid, since));
    let f = r.finish();
    if let Some(w) = w {
        w.check("group: pid reuse", &mut s.stats, &f);
    }
    assert_no_leak("group: pid reuse", &marker, &f);
    f.assert_code(3).assert_faster_than(8 * SEC);
    assert!(
        f.stdout.contains("reused") && !f.stdout.contains("not reused"),
        "pid reuse: the pid was not given out again: {f:#?}"
    );
    s.stats.pid_reused += 1;
    f.elapsed
}

// ---- The relay (--idle-timeout) --------------------------------------------------------------

/// A finished run whose output was read as bytes.
#[allow(
    dead_code,
    reason = "the fields are read in failure reports, through Debug"
)]
#[derive(Debug)]
struct Relayed {
    status: ExitStatus,
    elapsed: Duration,
    /// Bytes read from timeout-run's stdout (and stderr, when merged).
    len: usize,
    stderr: String,
}

/// FNV-1a, 64 bits.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Runs `timeout-run ARGS...` with its stdout (and, with `merged`, its stderr: `2>&1`) going
/// into one pipe that a reader drains in chunks of random size with random pauses. Returns the
/// run and the bytes read.
fn run_relayed(args: &[&str], merged: bool, seed: u64) -> (Relayed, Vec<u8>, Watch) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    let mut c = cmd(args);
    c.stdin(Stdio::null()).process_group(0);
    if merged {
        c.stderr(writer.try_clone().expect("dup"));
    } else {
        c.stderr(Stdio::piped());
    }
    c.stdout(writer);
    // Computed before the fork: the child only calls signal(2).
    let last = util::rtmin().unwrap_or(32);
    // SAFETY: signal(2) with SIG_DFL is async-signal-safe and touches no memory (as in
    // util::start: the binary starts with default dispositions).
    unsafe {
        c.pre_exec(move || {
            for number in 1..last {
                if number != libc::SIGKILL && number != libc::SIGSTOP {
                    libc::signal(number, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
    let since = SystemTime::now();
    let started = Instant::now();
    let mut child = c.spawn().expect("spawn timeout-run");
    // The Command holds the parent's copies of the pipe's write end: close them, so that the
    // reader sees the end when timeout-run and its tree are gone.
    drop(c);
    let pid = child.id() as i32;
    let watch = Watch::start(pid, since);
    let err = child.stderr.take().map(|mut e| {
        thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    let out = thread::spawn(move || {
        let mut j = Jitter(seed | 1);
        let mut reader = reader;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let want = j.between(1, buf.len() as u64) as usize;
            match reader.read(&mut buf[..want]) {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            // A slow reader: the pipe fills and the relay must wait for it.
            if j.below(6) == 0 {
                thread::sleep(Duration::from_millis(j.between(1, 30)));
            }
        }
    });
    let kill_all = |child: &mut std::process::Child| {
        // SAFETY: kill(2) of the process group this run created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            kill_all(&mut child);
            panic!("watchdog: timeout-run {args:?} still running after {WATCHDOG:?}");
        }
        thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    let drain = Instant::now() + 2 * SEC;
    while !out.is_finished() && Instant::now() < drain {
        thread::sleep(Duration::from_millis(2));
    }
    assert!(
        out.is_finished(),
        "the output pipe is still open 2s after timeout-run exited ({args:?})"
    );
    let bytes = out.join().expect("reader");
    let stderr = err
        .map(|e| e.join().unwrap_or_default())
        .unwrap_or_default();
    (
        Relayed {
            status,
            elapsed,
            len: bytes.len(),
            stderr,
        },
        bytes,
        watch,
    )
}

/// A few MiB through the relay to a reader that pauses: every byte, in order.
fn relay_slow_reader(s: &mut Soak) -> Duration {
    let marker = format!("soak-relay-{}", s.n);
    let dir = tempdir();
    let path = dir.path().join(&marker);
    let size = s.j.between(1 << 20, 4 << 20) as usize;
    let mut data = Vec::with_capacity(size + 8);
    while data.len() < size {
        data.extend_from_slice(&s.j.next().to_le_bytes());
    }
    data.truncate(size);
    std::fs::write(&path, &data).expect("write the data");
    let path = path.to_str().unwrap();
    let seed = s.j.next();
    let (f, got, w) = run_relayed(
        &["--idle-timeout", "5", "-t", "30", "cat", path],
        false,
        seed,
    );
    w.check("relay: slow reader", &mut s.stats, &f);
    assert_no_leak("relay: slow reader", &marker, &f);
    assert_eq!(f.status.code(), Some(0), "relay: slow reader: {f:#?}");
    assert!(
        got.len() == data.len() && checksum(&got) == checksum(&data),
        "relay: slow reader: sent {} bytes (checksum {:016x}), read {} (checksum {:016x}), \
         first difference at byte {:?}: {f:#?}",
        data.len(),
        checksum(&data),
        got.len(),
        checksum(&got),
        got.iter().zip(&data).position(|(a, b)| a != b)
    );
    assert!(f.elapsed < 15 * SEC, "relay: slow reader: {f:#?}");
    f.elapsed
}

/// Numbered lines written alternately (in a random pattern) to stdout and stderr, relayed into
/// one pipe (`2>&1`): they must arrive in the order written.
fn relay_merged_order(s: &mut Soak) -> Duration {
    let marker = format!("soak-order-{}", s.n);
    let lines = s.j.between(2_000, 20_000);
    let pattern = s.j.next();
    let script = "import os, sys\n\
        n, pattern = int(sys.argv[1]), int(sys.argv[2])\n\
        for i in range(n):\n    \
            os.write(1 + ((pattern >> (i % 64)) & 1), b'%d\\n' % i)\n";
    let (lines_s, pattern_s) = (lines.to_string(), pattern.to_string());
    let seed = s.j.next();
    let (f, got, w) = run_relayed(
        &[
            "--idle-timeout",
            "5",
            "-t",
            "30",
            "python3",
            "-c",
            script,
            &lines_s,
            &pattern_s,
            &marker,
        ],
        true,
        seed,
    );
    w.check("relay: 2>&1 order", &mut s.stats, &f);
    assert_no_leak("relay: 2>&1 order", &marker, &f);
    assert_eq!(f.status.code(), Some(0), "relay: 2>&1 order: {f:#?}");
    let text = String::from_utf8_lossy(&got);
    let read: Vec<&str> = text.lines().collect();
    let expected: Vec<String> = (0..lines).map(|i| i.to_string()).collect();
    if let Some(at) = (0..expected.len()).find(|&i| read.get(i) != Some(&expected[i].as_str())) {
        let from = at.saturating_sub(3);
        panic!(
            "relay: 2>&1 order: {lines} lines written alternately to stdout and stderr \
             (pattern {pattern:#x}); line {at} reads {:?}, expected {:?} (lines {from}..: {:?}); \
             {} lines read: {f:#?}",
            read.get(at),
            expected[at],
            &read[from.min(read.len())..(at + 4).min(read.len())],
            read.len()
        );
    }
    assert_eq!(read.len(), expected.len(), "relay: 2>&1 order: {f:#?}");
    assert!(f.elapsed < 15 * SEC, "relay: 2>&1 order: {f:#?}");
    f.elapsed
}

// ---- Ctrl-C without a terminal -------------------------------------------------------------

/// SIGINT during the grace of a command that ignores it, then SIGINT again: SIGKILL at once, and
/// timeout-run dies by SIGINT.
fn interrupt_twice(s: &mut Soak) -> Duration {
    let marker = format!("soak-int-twice-{}", s.n);
    let helper = helper().display().to_string();
    let (mut r, w) = spawn_watched(&[
        "-g", "30", "-t", "60", "--", "python3", &helper, "ignore", "INT", "ready", "sleep", "60",
        "print", &marker,
    ]);
    r.wait_for_line("ready");
    let (f, stop) = signal_twice(r, libc::SIGINT, s.j.below(100_000));
    w.check("ctrl-c: twice in a cancel's grace", &mut s.stats, &f);
    assert_no_leak("ctrl-c: twice in a cancel's grace", &marker, &f);
    assert_eq!(signal_of(&f), Some(libc::SIGINT), "{f:#?}");
    assert!(
        stop < 5 * SEC,
        "ctrl-c twice: {stop:?} from the first SIGINT to exit (grace 30s): {f:#?}"
    );
    stop
}

/// SIGINT twice during the grace that follows a timeout: SIGKILL at once, and the timeout stands
/// (124). The command is a shell (it starts in a few milliseconds, well within the 0.5 s timeout)
/// that ignores SIGINT, logs SIGTERM, and waits for a `sleep` that ignores both.
fn interrupt_twice_after_timeout(s: &mut Soak) -> Duration {
    let marker = format!("1000.{:07}", s.n);
    let script = format!(
        "trap '' INT TERM; sleep {marker} & trap 'echo got-term' TERM; echo ready; \
         while :; do wait; done"
    );
    let (mut r, w) = spawn_watched(&["-g", "30", "-t", "0.5", "sh", "-c", &script]);
    r.wait_for_line("got-term");
    let (f, stop) = signal_twice(r, libc::SIGINT, s.j.below(100_000));
    w.check("ctrl-c: twice in a timeout's grace", &mut s.stats, &f);
    assert_no_leak("ctrl-c: twice in a timeout's grace", &marker, &f);
    assert_eq!(f.status.code(), Some(124), "{f:#?}");
    assert!(
        stop < 5 * SEC,
        "ctrl-c twice after a timeout: {stop:?} from the first SIGINT to exit (grace 30s): \
         {f:#?}"
    );
    stop
}

/// SIGTERM twice while the `--on-timeout` hook runs, at a jittered moment: the first cuts the
/// hook short (and the job it left) and starts the grace, the second kills at once; the timeout
/// stands (124). The command ignores SIGTERM and has a setsid'd child that does too.
fn hook_cut_short(s: &mut Soak) -> Duration {
    let marker = format!("1000.{:07}", s.n);
    let hook = format!("echo hook-started >&2; sleep {marker} & sleep {marker}");
    let script =
        format!("trap '' TERM; setsid sleep {marker} & echo ready; while :; do sleep 0.05; done");
    let (mut r, w) = spawn_watched(&[
        "-g",
        "30",
        "--on-timeout",
        &hook,
        "0.3",
        "sh",
        "-c",
        &script,
    ]);
    r.wait_for_line("ready");
    r.wait_for_stderr("hook-started");
    spin(s.j.below(50_000));
    let (f, stop) = signal_twice(r, libc::SIGTERM, s.j.below(50_000));
    w.check("hook: cut short", &mut s.stats, &f);
    assert_no_leak("hook: cut short", &marker, &f);
    assert_eq!(f.status.code(), Some(124), "{f:#?}");
    assert!(
        stop < 5 * SEC,
        "hook cut short: {stop:?} from the first SIGTERM to exit (grace 30s): {f:#?}"
    );
    stop
}

// ---- Error injection -------------------------------------------------------------------------

/// Few descriptors or refused system calls: timeout-run works (0) or fails cleanly (125), and
/// leaves nothing behind either way.
fn error_injection(s: &mut Soak) -> Duration {
    let marker = format!("1000.{:07}", s.n);
    let mut options: Vec<&str> = vec!["-t", "5", "-g", "1"];
    if s.j.below(2) == 0 {
        options.extend(["--idle-timeout", "5"]);
    }
    if s.j.below(2) == 0 {
        options.extend(["--contain", "group"]);
    }
    let what;
    let c = if s.j.below(2) == 0 {
        // dash runs `setsid sleep &` with 4 descriptors; timeout-run may not.
        let limit = s.j.between(4, 24);
        what = format!("ulimit -n {limit}");
        let mut c = Command::new("sh");
        c.args([
            "-c",
            &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
            bin(),
        ])
        .args(&options)
        .args(["sh", "-c", &format!("setsid sleep {marker} & exit 0")]);
        c
    } else {
        let refused = ["pipe2", "clone3,clone", "poll,ppoll"][s.j.below(3) as usize];
        what = format!("refused {refused}");
        // The command inherits the filter: it forks only if it can, and exits 0 either way.
        let forker = "import os, sys\ntry:\n    if os.fork() == 0:\n        os.setsid()\n        \
                      os.execvp('sleep', ['sleep', sys.argv[1]])\nexcept OSError:\n    pass\n";
        let mut c = Command::new("python3");
        c.arg(refuse_syscalls())
            .args([refused, bin()])
            .args(&options)
            .args(["python3", "-c", forker, &marker]);
        c
    };
    let mut c = c;
    c.env_remove("TIMEOUT_RUN_DEADLINE")
        .env_remove("TIMEOUT_RUN_LOG");
    let (r, w) = start_watched(c);
    let f = r.finish();
    let case = format!("error injection ({what}, {})", options.join(" "));
    w.check(&case, &mut s.stats, &f);
    assert_no_leak(&case, &marker, &f);
    match f.status.code() {
        Some(0) => {}
        Some(125) => assert!(
            f.stderr.lines().any(|l| l.starts_with("timeout-run: ")),
            "{case}: 125 without a reason: {f:#?}"
        ),
        _ => panic!("{case}: neither 0 nor 125: {f:#?}"),
    }
    assert!(f.elapsed < 8 * SEC, "{case}: {f:#?}");
    f.elapsed
}

// ---- The loop ----------------------------------------------------------------------------------

type CaseFn = fn(&mut Soak) -> Duration;

struct Case {
    name: &'static str,
    run: CaseFn,
    runs: u32,
    failures: u32,
    first_failure: Option<String>,
    times: Vec<Duration>,
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[test]
fn soak() {
    let seconds: u64 = std::env::var("TIMEOUT_RUN_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let only: Vec<String> = std::env::var("TIMEOUT_RUN_SOAK_CASES")
        .ok()
        .map(|s| s.split(',').map(|w| w.trim().to_owned()).collect())
        .unwrap_or_default();

    let user = match unprivileged() {
        Ok(user) => user,
        Err(why) => {
            skip("soak group-mode cases as nobody (they run as root)", &why);
            None
        }
    };
    let group_as = match (&user, is_root()) {
        (Some(u), _) => format!("as nobody (setpriv), binary {}", u.bin.display()),
        (None, true) => "as root".to_owned(),
        // SAFETY: geteuid has no side effects.
        (None, false) => format!("as uid {}", unsafe { libc::geteuid() }),
    };
    let namespace = pid_namespace_unavailable();
    if let Some(why) = &namespace {
        skip("soak case group: pid reuse", why);
    }
    let containment = match cgroup_unavailable() {
        None => "cgroup".to_owned(),
        Some(why) => format!("process group ({why})"),
    };

    let mut s = Soak {
        n: 0,
        j: Jitter::new(),
        orphan_count: if seconds > 60 { 2000 } else { 300 },
        user,
        pid_namespace: namespace.is_none(),
        stats: Stats::default(),
    };
    let all: [(&str, CaseFn); 15] = [
        ("exit at deadline", exit_at_deadline),
        ("signal during spawn", signal_during_spawn),
        ("signal storm", signal_storm),
        ("orphans", orphans),
        ("cancel during grace", cancel_during_grace),
        ("group: parent dies first", group_parent_dies_first),
        ("group: setsid storm", group_setsid_storm),
        ("group: pid hopper", group_pid_hopper),
        ("group: pid reuse", group_pid_reuse),
        ("relay: slow reader", relay_slow_reader),
        ("relay: 2>&1 order", relay_merged_order),
        ("ctrl-c: twice in a cancel's grace", interrupt_twice),
        (
            "ctrl-c: twice in a timeout's grace",
            interrupt_twice_after_timeout,
        ),
        ("hook: cut short", hook_cut_short),
        ("error injection", error_injection),
    ];
    let mut cases: Vec<Case> = all
        .into_iter()
        .filter(|(name, _)| only.is_empty() || only.iter().any(|w| name.contains(w.as_str())))
        .filter(|(name, _)| s.pid_namespace || *name != "group: pid reuse")
        .map(|(name, run)| Case {
            name,
            run,
            runs: 0,
            failures: 0,
            first_failure: None,
            times: Vec::new(),
        })
        .collect();
    assert!(!cases.is_empty(), "no case matches {only:?}");

    // Failures are collected, not fatal at once: silence the default report of each panic (the
    // first of each case is printed below).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let began = Instant::now();
    let until = began + Duration::from_secs(seconds);
    let mut round = 0usize;
    while Instant::now() < until || round < cases.len() {
        let count = cases.len();
        let case = &mut cases[round % count];
        let result = catch_unwind(AssertUnwindSafe(|| (case.run)(&mut s)));
        case.runs += 1;
        match result {
            Ok(time) => case.times.push(time),
            Err(payload) => {
                case.failures += 1;
                let text = panic_text(payload.as_ref());
                if case.first_failure.is_none() {
                    eprintln!("soak: {} FAILED (run {}): {text}", case.name, s.n);
                    case.first_failure = Some(text);
                }
            }
        }
        s.n += 1;
        round += 1;
    }
    std::panic::set_hook(default_hook);

    let total = began.elapsed();
    eprintln!(
        "soak: {} runs in {:.0?} (budget {seconds}s); default containment as root: \
         {containment}; group-mode cases {group_as}",
        s.n, total
    );
    eprintln!(
        "soak: {:<36} {:>5} {:>8} {:>10} {:>10}",
        "case", "runs", "failed", "median", "max"
    );
    for case in &mut cases {
        case.times.sort();
        let median = case.times.get(case.times.len() / 2).copied();
        let max = case.times.last().copied();
        let show = |d: Option<Duration>| d.map(|d| format!("{d:.2?}")).unwrap_or("-".into());
        eprintln!(
            "soak: {:<36} {:>5} {:>8} {:>10} {:>10}",
            case.name,
            case.runs,
            case.failures,
            show(median),
            show(max)
        );
    }
    eprintln!(
        "soak: zombies of timeout-run seen while running: {} (longest unreaped {:.0?}, limit \
         {ZOMBIE_LINGER:?}); orphans per orphan run {}; pid given out again in {} pid-reuse runs",
        s.stats.zombies_seen, s.stats.zombie_longest, s.orphan_count, s.stats.pid_reused
    );
    let failed: Vec<&Case> = cases.iter().filter(|c| c.failures > 0).collect();
    if !failed.is_empty() {
        let mut text = String::new();
        for c in &failed {
            text.push_str(&format!(
                "\n- {} failed {} of {} runs; first failure: {}",
                c.name,
                c.failures,
                c.runs,
                c.first_failure.as_deref().unwrap_or("")
            ));
        }
        panic!("soak: failures{text}");
    }
    eprintln!("soak: no failure, no leak, no lingering zombie, no cgroup left");
}
