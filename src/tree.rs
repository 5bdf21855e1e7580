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

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::unistd::Pid;

use crate::process::CgroupTarget;
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

/// The command's tree and how to reach it.
pub struct Tree {
    leader: Pid,
    leader_alive: bool,
    mechanism: Mechanism,
    cgroup: Option<Cgroup>,
}

impl Tree {
    /// A tree whose leader was just spawned.
    pub fn new(leader: Pid, mechanism: Mechanism, cgroup: Option<Cgroup>) -> Tree {
        Tree {
            leader,
            leader_alive: true,
            mechanism,
            cgroup,
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
        if signal.raw() == 0 {
            return Some(0);
        }
        match self.mechanism {
            Mechanism::Child => Some(usize::from(self.leader_alive && kill(self.leader, signal))),
            Mechanism::Cgroup => {
                let cgroup = self.cgroup.as_ref()?;
                let mut reached = cgroup.signal_members(signal);
                // Descendants that were moved out of the cgroup by a privileged process are
                // still ours through the subreaper.
                reached += signal_descendants(signal, |p| !cgroup.contains(p));
                Some(reached)
            }
            Mechanism::ProcessGroup => {
                let group = self.leader;
                let whole = nix::sys::signal::killpg(group, None).is_ok();
                if whole {
                    raw_killpg(group, signal);
                }
                let outside = signal_descendants(signal, |p| p.pgid != group.as_raw());
                if whole { None } else { Some(outside) }
            }
            Mechanism::SharedGroup => Some(signal_descendants(signal, |_| true)),
        }
    }

    /// SIGKILL to the whole tree.
    pub fn kill(&mut self) -> Option<usize> {
        match (self.mechanism, &self.cgroup) {
            (Mechanism::Cgroup, Some(cgroup)) if cgroup.kill_all() => {
                Some(signal_descendants(Signal::KILL, |_| true))
            }
            _ => self.signal(Signal::KILL),
        }
    }

    /// Ends containment: removes the cgroup. With `keep`, surviving members are first moved back
    /// to timeout-run's own cgroup so the directory can go.
    pub fn release(&mut self, keep: bool) {
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.remove(keep);
        }
    }
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
#[derive(Debug, Clone, Copy)]
struct Descendant {
    pid: i32,
    ppid: i32,
    pgid: i32,
}

/// Walks timeout-run's descendants through `/proc/<pid>/task/*/children` and signals those that
/// `select` accepts, each through a pidfd whose parent was verified after opening it. Repeats
/// until a walk finds nobody new, so children forked meanwhile are reached too. Returns the
/// number signalled.
fn signal_descendants(signal: Signal, select: impl Fn(&Descendant) -> bool) -> usize {
    let mut done: HashSet<i32> = HashSet::new();
    for _round in 0..16 {
        let mut fresh = 0;
        for d in walk() {
            if done.contains(&d.pid) || !select(&d) {
                continue;
            }
            done.insert(d.pid);
            if signal_checked(d, signal) {
                fresh += 1;
            }
        }
        if fresh == 0 {
            break;
        }
    }
    done.len()
}

/// Number of timeout-run's live descendants (for the leftovers line and the report).
pub fn descendant_count() -> usize {
    walk().len()
}

/// All descendants of timeout-run, parents before children.
fn walk() -> Vec<Descendant> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let mut queue = vec![me];
    let mut seen = HashSet::new();
    while let Some(parent) = queue.pop() {
        for child in children_of(parent) {
            if !seen.insert(child) {
                continue;
            }
            if let Some(d) = stat(child).filter(|d| d.ppid == parent) {
                out.push(d);
                queue.push(child);
            }
        }
    }
    out
}

/// Pids listed in `/proc/<pid>/task/*/children`.
fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(text) = read_proc(task.path().join("children")) else {
            continue;
        };
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|s| s.parse::<i32>().ok()),
        );
    }
    out
}

/// pid, ppid and pgid from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<Descendant> {
    let text = read_proc(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything: parse after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(Descendant { pid, ppid, pgid })
}

/// Signals a walked descendant only if it is still the same process: a pidfd pins the process,
/// then its parent is checked again (a reused pid would have another parent).
fn signal_checked(d: Descendant, signal: Signal) -> bool {
    match pidfd_open(d.pid) {
        Some(fd) => {
            if stat(d.pid).is_none_or(|now| now.ppid != d.ppid) {
                return false;
            }
            pidfd_send_signal(fd.as_fd(), signal)
        }
        // No pidfd support (kernel < 5.3): the plain kill, right after the check.
        None => kill(Pid::from_raw(d.pid), signal),
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
    /// The path as `/proc/<pid>/cgroup` shows it, for membership checks.
    name: String,
    parent: PathBuf,
    /// The directory itself, for `clone3(CLONE_INTO_CGROUP)`.
    dir_fd: OwnedFd,
}

/// Why no cgroup could be created.
#[derive(Debug)]
pub struct NoCgroup(pub String);

impl Cgroup {
    /// Creates `timeout-run.<pid>.<n>` below timeout-run's own cgroup in the v2 hierarchy,
    /// wherever it is mounted (hybrid layouts mount it at `/sys/fs/cgroup/unified`).
    pub fn create(attempt: u32) -> Result<Cgroup, NoCgroup> {
        let (mount_root, mount_point) = crate::mounts::cgroup2().map_err(NoCgroup)?;
        let own = read_proc("/proc/self/cgroup")
            .map_err(|e| NoCgroup(format!("cannot read /proc/self/cgroup: {e}")))?;
        let own =
            own_cgroup_path(&own).ok_or_else(|| NoCgroup("not in a cgroup v2 hierarchy".into()))?;
        let relative = own
            .strip_prefix(mount_root.trim_end_matches('/'))
            .unwrap_or(own)
            .trim_start_matches('/');
        let parent = mount_point.join(relative);
        // Pids repeat across pid namespaces (every container's timeout-run may be PID 1), so
        // the name also carries the time; a collision is retried with a new name.
        let mut made = None;
        for _ in 0..8 {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let leaf = format!("timeout-run.{}.{attempt}.{stamp:x}", std::process::id());
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
        let (leaf, dir) = made.ok_or_else(|| NoCgroup("cannot find a free cgroup name".into()))?;
        let name = format!("{}/{leaf}", own.trim_end_matches('/'));
        let dir_fd = match nix::fcntl::open(
            &dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = fs::remove_dir(&dir);
                return Err(NoCgroup(format!("cannot open {}: {e}", dir.display())));
            }
        };
        Ok(Cgroup {
            dir,
            name,
            parent,
            dir_fd,
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
                dirs.extend(
                    entries
                        .flatten()
                        .filter(|e| e.path().is_dir())
                        .map(|e| e.path()),
                );
            }
        }
        out
    }

    /// Whether a process is in this cgroup or below it.
    fn contains(&self, d: &Descendant) -> bool {
        let Ok(text) = read_proc(format!("/proc/{}/cgroup", d.pid)) else {
            return false;
        };
        own_cgroup_path(&text).is_some_and(|p| {
            p == self.name
                || p.strip_prefix(self.name.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    }

    /// Signals every member, re-reading the list until no new member appears.
    fn signal_members(&self, signal: Signal) -> usize {
        let mut done: HashSet<i32> = HashSet::new();
        for _round in 0..16 {
            let fresh: Vec<i32> = self
                .members()
                .into_iter()
                .filter(|p| !done.contains(p))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for pid in fresh {
                done.insert(pid);
                kill(Pid::from_raw(pid), signal);
            }
        }
        done.len()
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

    fn remove(self, keep: bool) {
        if keep {
            let parent_procs = self.parent.join("cgroup.procs");
            for pid in self.members() {
                if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&parent_procs) {
                    let _ = write!(f, "{pid}");
                }
            }
        }
        drop(self.dir_fd);
        if let Err(e) = fs::remove_dir(&self.dir) {
            tracing::debug!("cannot remove {}: {e}", self.dir.display());
        } else {
            tracing::debug!("removed {}", self.dir.display());
        }
    }
}

/// Reads a `/proc` or cgroup file. These report a size of 0, so `fs::read_to_string` would
/// start with tiny reads, and the kernel regenerates the text up to the offset on every read:
/// page-sized reads are several times cheaper (it matters for start-up, which reads
/// `/proc/self/cgroup`, and mountinfo where statmount is unavailable).
/// One page holds the small files the tree walk reads for every process in one read, without
/// preparing a larger buffer each time.
///
/// Plain `read` calls until end of file: `read_to_string` would first ask for the file's size
/// and position (two more system calls, and /proc files report size 0 anyway).
pub fn read_proc(path: impl AsRef<Path>) -> io::Result<String> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(4096);
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.capacity());
        }
        let len = bytes.len();
        bytes.resize(bytes.capacity(), 0);
        match file.read(&mut bytes[len..]) {
            Ok(0) => {
                bytes.truncate(len);
                break;
            }
            Ok(n) => bytes.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => bytes.truncate(len),
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
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
    fn stat_parses_names_with_parentheses_and_spaces() {
        let me = std::process::id() as i32;
        let d = stat(me).unwrap();
        assert_eq!(d.pid, me);
        assert_eq!(d.ppid, nix::unistd::getppid().as_raw());
        assert_eq!(d.pgid, nix::unistd::getpgrp().as_raw());
    }
}
