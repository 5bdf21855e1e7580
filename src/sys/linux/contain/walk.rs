//! Finding and signalling timeout-run's descendants through `/proc`, without a cgroup.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::unistd::Pid;

use super::kill;
use crate::signal::Signal;
use crate::sys::linux::pidfd_open;
use crate::sys::procfs;

/// A child of timeout-run outside the tree (0: none), left out of every walk with its
/// descendants.
pub static OUTSIDER: AtomicI32 = AtomicI32::new(0);

/// The children of `parent` (with `threads` threads); of timeout-run (`me`), less the one
/// outside the tree.
fn children(parent: i32, threads: u64, me: i32) -> Vec<i32> {
    let mut children = procfs::children_of(parent, threads);
    if parent == me {
        let outsider = OUTSIDER.load(Ordering::Relaxed);
        children.retain(|c| *c != outsider);
    }
    children
}

/// A process, as `/proc/<pid>/stat` identifies it: a pid is reused, a pid with its start time
/// is not.
pub type Identity = (i32, u64);

/// One descendant found by the walk.
pub type Descendant = procfs::Stat;

impl procfs::Stat {
    pub fn identity(&self) -> Identity {
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
pub fn signal_descendants(
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
            for child in children(parent, threads, me) {
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

/// All descendants of timeout-run, parents before children.
pub fn walk() -> Vec<Descendant> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let mut queue = vec![(me, 1)];
    let mut seen = HashSet::new();
    while let Some((parent, threads)) = queue.pop() {
        for child in children(parent, threads, me) {
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
pub fn stat(pid: i32) -> Option<Descendant> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
