//! Containment of the command's process tree: the command and every descendant, including those
//! that called `setsid`, changed their process group, or double-forked.
//!
//! - **cgroup** (best): the command joins a fresh cgroup v2 before it execs. Membership cannot be
//!   escaped by `setsid` or double-forking; `cgroup.procs` enumerates the tree; `cgroup.kill`
//!   ends it atomically.
//! - **group** (fallback): timeout-run is a child subreaper, so every orphaned descendant is
//!   re-parented to it; signals go to the command's process group with `killpg`, and to
//!   descendants that left the group through a walk of `/proc/<pid>/task/*/children`, each
//!   addressed through a pidfd opened and checked before signalling, so a pid that was reaped and
//!   reused is never signalled.
//! - **child** (`--foreground`): only the direct child is signalled, as GNU timeout does.
//!
//! In every mode timeout-run is (on Linux) a child subreaper, so "the tree is gone" is exactly
//! "timeout-run has no child left" (`waitpid` fails with ECHILD).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::unistd::Pid;

use crate::process::CgroupTarget;
use crate::procfs::{self, read_proc};
use crate::signal::Signal;

/// How the tree is held, for `-v` and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Cgroup,
    ProcessGroup,
    /// The command shares timeout-run's process group (the terminal's foreground group), so
    /// the group cannot be signalled as a whole: every descendant is signalled by pid.
    SharedGroup,
    Child,
}

impl Mechanism {
    /// The name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Cgroup => "cgroup",
            Mechanism::ProcessGroup => "process_group",
            Mechanism::SharedGroup => "shared_group",
            Mechanism::Child => "child",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Mechanism::Cgroup => "cgroup",
            Mechanism::ProcessGroup => "process group",
            Mechanism::SharedGroup => "descendants (shared terminal group)",
            Mechanism::Child => "direct child only",
        }
    }
}

/// A process, as `/proc/<pid>/stat` identifies it: a pid is reused, a pid with its start time
/// is not.
type Identity = (i32, u64);

/// The command's tree and how to reach it.
pub struct Tree {
    leader: Pid,
    leader_alive: bool,
    mechanism: Mechanism,
    cgroup: Option<Cgroup>,
    /// For each signal sent in this attempt, the processes that received it.
    reached: HashMap<i32, HashSet<Identity>>,
    /// The supervisor let go of the tree on purpose: it is empty, or kept.
    released: bool,
}

impl Drop for Tree {
    /// An attempt that ends in an error (the event loop failed after the spawn) must not leave
    /// the tree running: SIGKILL to all of it, then reap what can be reaped. The cgroup, if any,
    /// goes with it.
    fn drop(&mut self) {
        if self.released || self.mechanism == Mechanism::Child && !self.leader_alive {
            return;
        }
        for _ in 0..20 {
            self.kill();
            let reaping = crate::process::reap();
            if reaping.no_children {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Tree {
    /// A tree whose leader was just spawned.
    pub fn new(leader: Pid, mechanism: Mechanism, cgroup: Option<Cgroup>) -> Tree {
        Tree {
            leader,
            leader_alive: true,
            mechanism,
            cgroup,
            reached: HashMap::new(),
            released: false,
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    pub fn cgroup_path(&self) -> Option<&Path> {
        self.cgroup.as_ref().map(|c| c.dir.as_path())
    }

    /// The leader was reaped: its pid may be reused and must not be signalled any more.
    pub fn leader_reaped(&mut self) {
        self.leader_alive = false;
    }

    /// Sends `signal` to every process of the tree; returns how many were reached (`None`
    /// when a whole process group was signalled and not counted). Signal 0 sends nothing.
    pub fn signal(&mut self, signal: Signal) -> Option<usize> {
        self.send(&[signal], Scope::Everyone)
    }

    /// Sends `signal`, then SIGCONT, to every process of the tree, in one pass: each process
    /// gets the stop signal and then the SIGCONT that lets it act on it if it was stopped (the
    /// stop sequence). Returns as [`Tree::signal`].
    pub fn signal_and_continue(&mut self, signal: Signal) -> Option<usize> {
        if signal == Signal::CONT {
            return self.signal(signal);
        }
        let reached = self.send(&[signal, Signal::CONT], Scope::Everyone);
        // Whoever got the stop signal got SIGCONT too.
        let got = self.reached.get(&signal.raw()).cloned().unwrap_or_default();
        self.reached.insert(Signal::CONT.raw(), got);
        reached
    }

    /// Sends `signal` to the processes of the tree that have not received it yet in this
    /// attempt (found since: re-parented to timeout-run, or forked late). Returns how many.
    pub fn signal_newcomers(&mut self, signal: Signal) -> usize {
        self.send(&[signal], Scope::Newcomers).unwrap_or(0)
    }

    /// Sends `signal` to the processes of the tree outside timeout-run's own process group
    /// (the terminal's foreground group, which the terminal signalled itself).
    pub fn signal_outside_own_group(&mut self, signal: Signal) -> usize {
        self.send(&[signal], Scope::OutsideOwnGroup).unwrap_or(0)
    }

    /// Sends `signals`, in order, to each process of `scope`; counts the processes reached.
    fn send(&mut self, signals: &[Signal], scope: Scope) -> Option<usize> {
        // Signal 0 sends nothing.
        let signals: Vec<Signal> = signals.iter().copied().filter(|s| s.raw() != 0).collect();
        let Some(&signal) = signals.first() else {
            return Some(0);
        };
        let own_group = nix::unistd::getpgrp().as_raw();
        let reached = self.reached.entry(signal.raw()).or_default();
        if scope == Scope::Everyone {
            // Each full pass reaches everyone again (a repeated SIGKILL, a relayed USR1).
            reached.clear();
        }
        let outside = |d: &Descendant| scope != Scope::OutsideOwnGroup || d.pgid != own_group;
        match self.mechanism {
            Mechanism::Child => {
                let alive = scope == Scope::Everyone && self.leader_alive;
                let sent = alive && signals.iter().all(|s| kill(self.leader, *s));
                Some(usize::from(sent))
            }
            Mechanism::Cgroup => {
                let cgroup = self.cgroup.as_ref()?;
                // Members are known by pid alone: nothing outside the cgroup can take a pid that
                // is in it, and reading every member's stat would double the cost of a stop.
                // (Only the pass outside the terminal's group needs each one's group.)
                Some(cgroup.signal_members(&signals, reached, |pid| {
                    scope != Scope::OutsideOwnGroup || stat(pid).is_some_and(|d| outside(&d))
                }))
            }
            Mechanism::ProcessGroup => {
                let group = self.leader;
                let whole =
                    scope == Scope::Everyone && nix::sys::signal::killpg(group, None).is_ok();
                if whole {
                    for s in &signals {
                        raw_killpg(group, *s);
                    }
                }
                // Members of the group are reached by killpg; a newcomer pass or a pass outside
                // the terminal's group looks at every descendant.
                let count = signal_descendants(&signals, reached, scope == Scope::Everyone, |p| {
                    outside(p) && (!whole || p.pgid != group.as_raw())
                });
                if whole { None } else { Some(count) }
            }
            Mechanism::SharedGroup => Some(signal_descendants(
                &signals,
                reached,
                scope == Scope::Everyone,
                outside,
            )),
        }
    }

    /// SIGKILL to the whole tree.
    pub fn kill(&mut self) -> Option<usize> {
        match (self.mechanism, &self.cgroup) {
            (Mechanism::Cgroup, Some(cgroup)) if cgroup.kill_all() => {
                if cgroup.populated() {
                    return None;
                }
                // The cgroup is empty but SIGKILL is asked for again: descendants that a
                // privileged process moved out of it are still timeout-run's (subreaper).
                let reached = self.reached.entry(Signal::KILL.raw()).or_default();
                reached.clear();
                Some(signal_descendants(&[Signal::KILL], reached, true, |_| true))
            }
            _ => self.signal(Signal::KILL),
        }
    }

    /// CPU time and peak memory of the cgroup, if there is one.
    pub fn usage(&self) -> Option<CgroupUsage> {
        self.cgroup.as_ref().and_then(Cgroup::usage)
    }

    /// Every process of the tree that can be seen: the command first, parents before children.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        if self.leader_alive && self.leader.as_raw() > 0 {
            pids.push(self.leader.as_raw());
        }
        pids.extend(walk().iter().map(|d| d.pid));
        if let Some(cgroup) = &self.cgroup {
            pids.extend(cgroup.members());
        }
        let mut seen = HashSet::new();
        pids.retain(|p| seen.insert(*p));
        pids
    }

    /// The processes of the tree still visible, as `pid (name)`, for a message about what
    /// could not be stopped.
    pub fn remaining(&self) -> Vec<String> {
        let mut pids: Vec<i32> = walk().iter().map(|d| d.pid).collect();
        if let Some(cgroup) = &self.cgroup {
            pids.extend(cgroup.members());
        }
        pids.sort_unstable();
        pids.dedup();
        pids.into_iter()
            .map(|pid| match stat(pid) {
                Some(d) => format!("{pid} ({}, {})", d.name, d.state_name()),
                None => pid.to_string(),
            })
            .collect()
    }

    /// Ends containment: removes the cgroup. With `keep`, surviving members are first moved back
    /// to timeout-run's own cgroup so the directory can go, and the rest of the tree is left
    /// running.
    pub fn release(mut self, keep: bool) {
        if let Some(mut cgroup) = self.cgroup.take() {
            cgroup.keep_members = keep;
        }
        self.released = true;
    }
}

/// Which processes of the tree a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Everyone,
    Newcomers,
    OutsideOwnGroup,
}

/// Sends a signal to one pid, ignoring "no such process" (it exited in between).
fn kill(pid: Pid, signal: Signal) -> bool {
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    unsafe { libc::kill(pid.as_raw(), signal.raw()) == 0 }
}

fn raw_killpg(group: Pid, signal: Signal) -> bool {
    // SAFETY: killpg(2) with a valid signal number has no memory effects.
    unsafe { libc::killpg(group.as_raw(), signal.raw()) == 0 }
}

/// One descendant found by the walk.
type Descendant = procfs::Stat;

impl procfs::Stat {
    fn identity(&self) -> Identity {
        (self.pid, self.start)
    }
}

/// Walks timeout-run's descendants through `/proc/<pid>/task/*/children` and signals those that
/// `select` accepts and `reached` does not hold yet. Every process seen is added to `reached`
/// (signalled here, or by a `killpg` or the terminal before: `select` said no).
///
/// Each child is pinned with a pidfd before its `stat` is read, and signalled through that
/// pidfd: if the pid was reused in between, the pidfd refers to the dead process and the signal
/// goes nowhere, so an unrelated process is never signalled.
///
/// With `descend_known`, the walk goes through processes already in `reached` too (a full
/// pass); without it, only through new ones (descendants re-parented to timeout-run since the
/// last pass show up as its own children). Walks again until a walk finds nobody new, so
/// descendants re-parented (their parent died between two reads) or forked meanwhile are reached
/// too. Returns the number signalled.
fn signal_descendants(
    signals: &[Signal],
    reached: &mut HashSet<Identity>,
    descend_known: bool,
    select: impl Fn(&Descendant) -> bool,
) -> usize {
    let me = std::process::id() as i32;
    let mut count = 0;
    // Processes already seen, with their thread count: a later round, or a pass for newcomers,
    // goes past them without reading their stat again (the cost of a stop is these reads).
    let mut known: HashMap<i32, u64> = reached.iter().map(|(pid, _)| (*pid, 1)).collect();
    for _round in 0..64 {
        let mut found_new = false;
        let mut queue = vec![(me, 1)];
        let mut seen = HashSet::new();
        while let Some((parent, threads)) = queue.pop() {
            for child in procfs::children_of(parent, threads) {
                if !seen.insert(child) {
                    continue;
                }
                if let Some(&threads) = known.get(&child) {
                    if descend_known {
                        queue.push((child, threads));
                    }
                    continue;
                }
                let pidfd = pidfd_open(child);
                let Some(d) = stat(child).filter(|d| d.ppid == parent) else {
                    continue;
                };
                known.insert(child, d.threads);
                let zombie = d.state == 'Z';
                if reached.insert(d.identity()) && !zombie {
                    found_new = true;
                    if select(&d) && signals.iter().all(|s| send_pinned(pidfd.as_ref(), &d, *s)) {
                        count += 1;
                    }
                }
                // A zombie's children were given to timeout-run when it died.
                if !zombie {
                    queue.push((child, d.threads));
                }
            }
        }
        if !found_new {
            break;
        }
    }
    count
}

/// Number of timeout-run's live descendants (for the leftovers line and the report).
pub fn descendant_count() -> usize {
    walk().len()
}

/// All descendants of timeout-run, parents before children.
fn walk() -> Vec<Descendant> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let mut queue = vec![(me, 1)];
    let mut seen = HashSet::new();
    while let Some((parent, threads)) = queue.pop() {
        for child in procfs::children_of(parent, threads) {
            if !seen.insert(child) {
                continue;
            }
            if let Some(d) = stat(child).filter(|d| d.ppid == parent) {
                queue.push((child, d.threads));
                out.push(d);
            }
        }
    }
    out
}

/// What `/proc/<pid>/stat` says of a process.
fn stat(pid: i32) -> Option<Descendant> {
    procfs::stat(pid)
}

/// Signals a walked descendant through the pidfd opened before its `stat` was read. Without
/// pidfds (Linux before 5.3), with a plain kill right after checking that the pid still has the
/// start time the walk saw.
fn send_pinned(pidfd: Option<&OwnedFd>, d: &Descendant, signal: Signal) -> bool {
    match pidfd {
        Some(fd) => pidfd_send_signal(fd.as_fd(), signal),
        None => {
            stat(d.pid).is_some_and(|now| now.start == d.start)
                && kill(Pid::from_raw(d.pid), signal)
        }
    }
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1; we take ownership of it only on success.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a freshly opened descriptor owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn pidfd_send_signal(fd: BorrowedFd<'_>, signal: Signal) -> bool {
    // SAFETY: pidfd_send_signal with a null siginfo behaves like kill(2) on the pinned process.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal.raw(),
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// A cgroup v2 created for the command.
pub struct Cgroup {
    dir: PathBuf,
    parent: PathBuf,
    /// The directory itself, for `clone3(CLONE_INTO_CGROUP)`, locked (`flock`) while this run
    /// owns it.
    dir_fd: OwnedFd,
    /// On drop, move surviving members out (to timeout-run's own cgroup) instead of killing
    /// them (`--leftovers keep`).
    keep_members: bool,
}

/// The name of every cgroup timeout-run makes starts with this.
const PREFIX: &str = "timeout-run.";

/// How old an unlocked directory must be before another run removes it: its creator locks it
/// microseconds after making it, so an older unlocked one has no creator any more.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// `flock` on a directory: exclusive, waiting or not.
fn lock(fd: &OwnedFd, nonblocking: bool) -> io::Result<()> {
    let flags = libc::LOCK_EX | if nonblocking { libc::LOCK_NB } else { 0 };
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(fd.as_raw_fd(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Removes the cgroups that runs which were SIGKILLed left in `parent`, once they are empty:
/// unlocked (their creator is gone) and older than [`ABANDONED_AFTER`] (not one that a live
/// run made an instant ago and has not locked yet).
fn remove_abandoned(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(stamp) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.rsplit('.').next())
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
        else {
            continue;
        };
        let made = std::time::Duration::from_nanos(u64::try_from(stamp).unwrap_or(u64::MAX));
        if now.saturating_sub(made) < ABANDONED_AFTER {
            continue;
        }
        let dir = entry.path();
        let Ok(fd) = nix::fcntl::open(
            &dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) else {
            continue;
        };
        if lock(&fd, true).is_ok() && remove_tree(&dir) {
            tracing::debug!("removed {}, left by a run that is gone", dir.display());
        }
    }
}

/// Removes a cgroup directory and the cgroups below it (made by the command, or by a nested
/// timeout-run), deepest first. Only empty cgroups can go: false when one could not.
fn remove_tree(dir: &Path) -> bool {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    fs::remove_dir(dir).is_ok()
}

/// What a cgroup's members used.
#[derive(Debug, Clone, Copy)]
pub struct CgroupUsage {
    pub user_s: f64,
    pub system_s: f64,
    /// `memory.peak`, where the memory controller is enabled.
    pub peak_kib: Option<u64>,
}

/// Why no cgroup could be created.
#[derive(Debug)]
pub struct NoCgroup(pub String);

impl Cgroup {
    /// Creates `timeout-run.<pid>.<n>` below timeout-run's own cgroup in the v2 hierarchy,
    /// wherever it is mounted (hybrid layouts mount it at `/sys/fs/cgroup/unified`).
    pub fn create(attempt: u32) -> Result<Cgroup, NoCgroup> {
        let (mount_root, mount_point) = crate::mounts::cgroup2().map_err(NoCgroup)?;
        // Without /proc (a container that does not mount it), timeout-run cannot learn its own
        // cgroup: it then works at the root of the hierarchy it can see, which it may use only
        // when it has the rights there (root, or the root of a delegated namespace).
        let own_text = match read_proc("/proc/self/cgroup") {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => "0::/\n".to_owned(),
            Err(e) => return Err(NoCgroup(format!("cannot read /proc/self/cgroup: {e}"))),
        };
        let own = own_cgroup_path(&own_text)
            .ok_or_else(|| NoCgroup("not in a cgroup v2 hierarchy".into()))?;
        let relative = own
            .strip_prefix(mount_root.trim_end_matches('/'))
            .unwrap_or(own)
            .trim_start_matches('/');
        let parent = mount_point.join(relative);
        // Pids repeat across pid namespaces (every container's timeout-run may be PID 1), so
        // the name also carries the time; a collision is retried with a new name.
        remove_abandoned(&parent);
        let mut made = None;
        for _ in 0..8 {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let leaf = format!("{PREFIX}{}.{attempt}.{stamp:x}", std::process::id());
            let dir = parent.join(&leaf);
            match fs::create_dir(&dir) {
                Ok(()) => {
                    made = Some((leaf, dir));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(NoCgroup(format!("cannot create {}: {e}", dir.display())));
                }
            }
        }
        let (_, dir) = made.ok_or_else(|| NoCgroup("cannot find a free cgroup name".into()))?;
        // The directory is locked for as long as this run owns it: a later run that finds it
        // unlocked knows its creator is gone (the kernel drops the lock with the last
        // descriptor, also when the creator is SIGKILLed).
        let locked = nix::fcntl::open(
            &dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(io::Error::from)
        .and_then(|fd| lock(&fd, false).map(|()| fd));
        let dir_fd = match locked {
            Ok(fd) => fd,
            Err(e) => {
                let _ = fs::remove_dir(&dir);
                return Err(NoCgroup(format!("cannot open {}: {e}", dir.display())));
            }
        };
        Ok(Cgroup {
            dir,
            parent,
            dir_fd,
            keep_members: false,
        })
    }

    /// Where the command is to start.
    pub fn target(&self) -> CgroupTarget<'_> {
        CgroupTarget {
            dir: self.dir_fd.as_fd(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Current members, including those of cgroups the command created below its own.
    pub fn members(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            out.extend(read_pids(&dir.join("cgroup.procs")));
            if let Ok(entries) = fs::read_dir(&dir) {
                // The entry's type comes with the directory listing: no stat per file.
                dirs.extend(
                    entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.path()),
                );
            }
        }
        out
    }

    /// Signals every member that `select` accepts and `reached` does not hold, re-reading the
    /// list until no new member appears. Members are identified by pid alone.
    fn signal_members(
        &self,
        signals: &[Signal],
        reached: &mut HashSet<Identity>,
        select: impl Fn(i32) -> bool,
    ) -> usize {
        let mut count = 0;
        for _round in 0..64 {
            let mut found_new = false;
            for pid in self.members() {
                if !reached.insert((pid, 0)) {
                    continue;
                }
                found_new = true;
                if select(pid) && signals.iter().all(|s| kill(Pid::from_raw(pid), *s)) {
                    count += 1;
                }
            }
            if !found_new {
                break;
            }
        }
        count
    }

    /// `cgroup.kill`: SIGKILL to every member, atomically with respect to forks. False when the
    /// kernel lacks it (before 5.14).
    fn kill_all(&self) -> bool {
        fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))
            .and_then(|mut f| f.write_all(b"1"))
            .is_ok()
    }

    /// Lets go of the cgroup, moving whoever is inside out to timeout-run's own cgroup first.
    pub fn release_keeping_members(mut self) {
        self.keep_members = true;
    }

    /// `cpu.stat` (always there in cgroup v2) and `memory.peak` (with the memory controller).
    fn usage(&self) -> Option<CgroupUsage> {
        let stat = read_proc(self.dir.join("cpu.stat")).ok()?;
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        Some(CgroupUsage {
            user_s: field("user_usec ")? as f64 / 1e6,
            system_s: field("system_usec ")? as f64 / 1e6,
            peak_kib: read_proc(self.dir.join("memory.peak"))
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .map(|bytes| bytes / 1024),
        })
    }

    /// Whether a process is still in the cgroup or below it (`cgroup.events`).
    fn populated(&self) -> bool {
        read_proc(self.dir.join("cgroup.events"))
            .map(|t| t.lines().any(|l| l == "populated 1"))
            .unwrap_or(false)
    }
}

impl Drop for Cgroup {
    /// Releases the cgroup on every path, errors included: members still inside are moved out
    /// (`--leftovers keep`) or killed, then the directory and any below it are removed.
    fn drop(&mut self) {
        if self.keep_members {
            let parent_procs = self.parent.join("cgroup.procs");
            for pid in self.members() {
                if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&parent_procs) {
                    let _ = write!(f, "{pid}");
                }
            }
        } else if self.populated() {
            // Only on an error path: the supervisor empties the tree before it lets go.
            self.kill_all();
            for _ in 0..200 {
                if !self.populated() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
                // The killed processes may be timeout-run's children: reap them.
                crate::process::reap();
            }
        }
        if remove_tree(&self.dir) {
            tracing::debug!("removed {}", self.dir.display());
        } else {
            tracing::debug!("cannot remove {}", self.dir.display());
        }
    }
}

fn read_pids(path: &Path) -> Vec<i32> {
    read_proc(path)
        .map(|t| {
            t.split_ascii_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The v2 path (`0::/path`) in a `/proc/<pid>/cgroup` text.
fn own_cgroup_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// Makes timeout-run a child subreaper: orphaned descendants are re-parented to it, so it can
/// reap them and knows when the whole tree is gone.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_path_is_the_v2_line() {
        let text = "9:name=systemd:/\n4:memory:/x\n0::/user.slice/job\n";
        assert_eq!(own_cgroup_path(text), Some("/user.slice/job"));
        assert_eq!(own_cgroup_path("4:memory:/x\n"), None);
    }

    #[test]
    fn stat_of_this_process() {
        let me = std::process::id() as i32;
        let d = stat(me).unwrap();
        assert_eq!(d.pid, me);
        assert_eq!(d.ppid, nix::unistd::getppid().as_raw());
        assert_eq!(d.pgid, nix::unistd::getpgrp().as_raw());
        assert!(d.start > 0);
    }
}
