//! The cgroup v2 that holds the command's tree: created below timeout-run's own cgroup, locked
//! while owned, signalled through `cgroup.procs` and `cgroup.kill`, and removed (with anything
//! below it) on every path.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::unistd::Pid;

use super::kill;
use super::walk::Identity;
use crate::signal::Signal;
use crate::sys::contain::{CgroupUsage, NoCgroup};
use crate::sys::procfs::read_proc;
use crate::sys::spawn::CgroupTarget;

/// A cgroup v2 created for the command.
pub struct Cgroup {
    pub(super) dir: PathBuf,
    parent: PathBuf,
    /// timeout-run's pid namespace, as its name carries it.
    namespace: u64,
    /// The directory itself, for `clone3(CLONE_INTO_CGROUP)`, locked (`flock`) while this run
    /// owns it.
    dir_fd: Option<OwnedFd>,
    /// On drop, move surviving members out (to timeout-run's own cgroup) instead of killing
    /// them (`--leftovers keep`).
    pub(super) keep_members: bool,
    /// The supervisor saw the tree end: no need to look for members before removing it.
    pub(super) emptied: bool,
}

/// The name of every cgroup timeout-run makes starts with this.
const PREFIX: &str = "timeout-run.";

/// How old an unlocked directory must be before another run removes it: its creator locks it
/// microseconds after making it, so an older unlocked one has no creator any more.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// The same when the creator was in this pid namespace (the name says which) and its pid is not
/// a process any more (a run that was SIGKILLed a moment ago). A creator in another namespace,
/// where its pid means nothing here, gets the minute.
const CREATOR_GONE_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Which pid namespace timeout-run is in (the inode of `/proc/self/ns/pid`; 0 if unknown).
fn pid_namespace() -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino())
}

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
/// unlocked (their creator is gone) and older than [`ABANDONED_AFTER`], or than
/// [`CREATOR_GONE_AFTER`] when the creator's pid in `namespace` is not a process (not one that
/// a live run made an instant ago and has not locked yet).
fn remove_abandoned(parent: &Path, namespace: u64) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    for entry in entries.flatten() {
        let name = entry.file_name();
        // `timeout-run.PID.ATTEMPT.NAMESPACE.STAMP` (`.NAMESPACE` missing in older names): the
        // creator's pid and pid namespace, and when it made the directory.
        let Some((creator, its_namespace, stamp)) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| {
                let fields: Vec<&str> = rest.split('.').collect();
                let creator = fields.first()?.parse::<i32>().ok()?;
                let stamp = u128::from_str_radix(fields.last()?, 16).ok()?;
                let its_namespace = match fields.len() {
                    4 => u64::from_str_radix(fields[2], 16).ok(),
                    _ => None,
                };
                Some((creator, its_namespace, stamp))
            })
        else {
            continue;
        };
        let made = std::time::Duration::from_nanos(u64::try_from(stamp).unwrap_or(u64::MAX));
        let age = now.saturating_sub(made);
        let creator_gone = || {
            creator > 0
                && namespace != 0
                && its_namespace == Some(namespace)
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(creator), None)
                    == Err(nix::errno::Errno::ESRCH)
        };
        if age < ABANDONED_AFTER && !(age >= CREATOR_GONE_AFTER && creator_gone()) {
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
    // Most cgroups have nothing below them: try that first, and list the directory only when
    // the removal says it is not empty (kernfs answers EBUSY or ENOTEMPTY).
    if fs::remove_dir(dir).is_ok() {
        return true;
    }
    for sub in unlocked_subdirectories(dir) {
        remove_tree(&sub);
    }
    fs::remove_dir(dir).is_ok()
}

/// The cgroups right below `dir`, except those a live timeout-run owns (locked): a nested run's
/// cgroup is its own to stop and remove.
fn unlocked_subdirectories(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|sub| {
            nix::fcntl::open(
                sub,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .is_ok_and(|fd| lock(&fd, true).is_ok())
        })
        .collect()
}

impl Cgroup {
    /// Creates `timeout-run.<pid>.<n>` below timeout-run's own cgroup in the v2 hierarchy,
    /// wherever it is mounted (hybrid layouts mount it at `/sys/fs/cgroup/unified`).
    pub fn create(attempt: u32) -> Result<Cgroup, NoCgroup> {
        let (mount_root, mount_point) = crate::sys::cgroup2_mount::cgroup2().map_err(NoCgroup)?;
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
        // the name also carries the namespace and the time; a collision is retried with a new
        // name.
        let namespace = pid_namespace();
        let mut made = None;
        for _ in 0..8 {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let leaf = format!(
                "{PREFIX}{}.{attempt}.{namespace:x}.{stamp:x}",
                std::process::id()
            );
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
            namespace,
            dir_fd: Some(dir_fd),
            emptied: false,
            keep_members: false,
        })
    }

    /// Where the command is to start.
    pub fn target(&self) -> CgroupTarget<'_> {
        CgroupTarget {
            dir: self
                .dir_fd
                .as_ref()
                .expect("the directory is open until the cgroup is dropped")
                .as_fd(),
        }
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
    pub(super) fn signal_members(
        &self,
        signals: &[Signal],
        reached: &mut HashSet<Identity>,
        select: impl Fn(i32) -> bool,
    ) -> usize {
        // SIGKILL goes round again until no new member appears (a process forking as fast as it
        // can must not outrun it). Any other signal reaches the members there were when it was
        // sent, once: a process forked since (the command's own clean-up, started by that very
        // signal) is not signalled again, and `cgroup.kill` ends whatever is left at the end of
        // the grace period.
        let rounds = if signals.contains(&Signal::KILL) {
            64
        } else {
            1
        };
        let mut count = 0;
        for _round in 0..rounds {
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
    pub(super) fn kill_all(&self) -> bool {
        fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))
            .and_then(|mut f| f.write_all(b"1"))
            .is_ok()
    }

    /// Whether the process `pid` is in this cgroup (it writes to `cgroup.procs` between fork and
    /// exec when it could not be born there; a failed write cannot be reported back, so check).
    pub fn has_member(&self, pid: i32) -> bool {
        let Ok(text) = read_proc(format!("/proc/{pid}/cgroup")) else {
            return false;
        };
        let leaf = self.dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        own_cgroup_path(&text)
            .is_some_and(|p| p.ends_with(&format!("/{leaf}")) || p.contains(&format!("/{leaf}/")))
    }

    /// The members of this cgroup and of the cgroups below it, except those of cgroups that a
    /// live nested timeout-run owns.
    fn members_outside_live_runs(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            out.extend(read_pids(&dir.join("cgroup.procs")));
            dirs.extend(unlocked_subdirectories(&dir));
        }
        out
    }

    /// Removes the empty cgroups next to this one that runs which were SIGKILLed left behind.
    /// Called once the command runs, so the listing overlaps its start instead of delaying it.
    pub fn remove_abandoned_siblings(&self) {
        remove_abandoned(&self.parent, self.namespace);
    }

    /// Lets go of the cgroup, moving whoever is inside out to timeout-run's own cgroup first.
    pub fn release_keeping_members(mut self) {
        self.keep_members = true;
    }

    /// `cpu.stat` (always there in cgroup v2) and `memory.peak` (with the memory controller).
    pub(super) fn usage(&self) -> Option<CgroupUsage> {
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
    pub(super) fn populated(&self) -> bool {
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
            for pid in self.members_outside_live_runs() {
                if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&parent_procs) {
                    let _ = write!(f, "{pid}");
                }
            }
        } else if !self.emptied && self.populated() {
            // Only on an error path: the supervisor empties the tree before it lets go.
            self.kill_all();
            for _ in 0..200 {
                if !self.populated() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
                // The killed processes may be timeout-run's children: reap them.
                crate::sys::spawn::reap(None);
            }
        }
        // Closed (and so unlocked) before the removal: the kernel finishes taking down a
        // cgroup when its last reference goes, and an open descriptor would make that happen
        // at timeout-run's exit instead, where it waits for it.
        drop(self.dir_fd.take());
        if remove_tree(&self.dir) {
            tracing::debug!("removed {}", self.dir.display());
            // A nested run's cgroup is inside its outer run's. If that one already let go of
            // its directory (it kept its leftovers, this run among them, and could not remove
            // it), the last one out removes it.
            let outer_gone = self
                .parent
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX))
                && nix::fcntl::open(
                    &self.parent,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .is_ok_and(|fd| lock(&fd, true).is_ok());
            if outer_gone && fs::remove_dir(&self.parent).is_ok() {
                tracing::debug!(
                    "removed {}, left by the run around this one",
                    self.parent.display()
                );
            }
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
pub(super) fn own_cgroup_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
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
}
