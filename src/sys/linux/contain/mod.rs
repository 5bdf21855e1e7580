//! Containment of the command's process tree: the command and every descendant, including those
//! that called `setsid`, changed their process group, or double-forked.
//!
//! - **cgroup** (best): the command joins a fresh cgroup v2 before it execs. Membership cannot be
//!   escaped by `setsid` or double-forking; `cgroup.procs` enumerates the tree; `cgroup.kill`
//!   ends it atomically.
//! - **group** (fallback): timeout-run is a child subreaper, so every orphaned descendant is
//!   re-parented to it; signals go to the command's process group with `killpg` (while the
//!   command is not reaped, so the group's number cannot belong to anyone else), and to
//!   descendants that left the group through a walk of `/proc/<pid>/task/*/children`, each
//!   addressed through a pidfd opened and checked before signalling, so a pid that was reaped and
//!   reused is never signalled.
//! - **child** (`--foreground`): only the direct child is signalled, as GNU timeout does.
//!
//! In every mode timeout-run is (on Linux) a child subreaper, so "the tree is gone" is exactly
//! "timeout-run has no child left" (`waitpid` fails with ECHILD).

mod cgroup;
mod walk;

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use nix::unistd::Pid;

use crate::signal::Signal;

use crate::sys::contain::{CgroupUsage, Mechanism};
pub use cgroup::Cgroup;
use walk::{Descendant, Identity, signal_descendants, stat, walk};

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
            let reaping = crate::sys::spawn::reap(None);
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

    /// Whether the command itself has not been reaped yet.
    pub fn leader_alive(&self) -> bool {
        self.leader_alive
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
    /// With SIGCONT after the signal, as in the first pass, so a stopped newcomer can act on it.
    /// In a cgroup there are no newcomers to find: nothing leaves it, and its members were all
    /// reached by pid (a process forked since, for instance by the command's own clean-up, is
    /// not signalled).
    pub fn signal_newcomers(&mut self, signal: Signal) -> usize {
        if self.mechanism == Mechanism::Cgroup {
            return 0;
        }
        let signals = if signal == Signal::CONT {
            vec![signal]
        } else {
            vec![signal, Signal::CONT]
        };
        self.send(&signals, Scope::Newcomers).unwrap_or(0)
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
        if scope == Scope::Everyone
            || (scope == Scope::OutsideOwnGroup && [Signal::STOP, Signal::CONT].contains(&signal))
        {
            // Each full pass reaches everyone again (a repeated SIGKILL, a relayed USR1), and
            // so does each Ctrl-Z (its SIGSTOP) and what resumes from it.
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
                // The group's number is the command's pid, which nobody else can take while the
                // command is not reaped. Once it is, an emptied group's number can go to an
                // unrelated process that calls setsid, and `killpg` would reach it: the group is
                // then reached member by member through the walk (each one pinned by a pidfd),
                // except without /proc, where `killpg` is all there is.
                let pinned = self.leader_alive || !procfs_available();
                let whole = scope == Scope::Everyone
                    && pinned
                    && nix::sys::signal::killpg(group, None).is_ok();
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
            // The tree is the cgroup: what is outside it (an `--on-timeout` hook's orphans,
            // processes kept from an earlier attempt) is not killed.
            (Mechanism::Cgroup, Some(cgroup)) if cgroup.kill_all() => None,
            _ => self.signal(Signal::KILL),
        }
    }

    /// Whether the tree is a cgroup that no process is in any more (so it is gone, whatever
    /// other children timeout-run still has).
    pub fn cgroup_is_empty(&self) -> bool {
        self.cgroup.as_ref().is_some_and(|c| !c.populated())
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
        match &self.cgroup {
            Some(cgroup) => pids.extend(cgroup.members()),
            None => pids.extend(walk().iter().map(|d| d.pid)),
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
            cgroup.emptied = !keep;
        }
        self.released = true;
    }

    /// Removes the empty cgroups that SIGKILLed runs left next to this tree's.
    pub fn remove_abandoned_cgroups(&self) {
        if let Some(cgroup) = &self.cgroup {
            cgroup.remove_abandoned_siblings();
        }
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
pub(crate) fn kill(pid: Pid, signal: Signal) -> bool {
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    unsafe { libc::kill(pid.as_raw(), signal.raw()) == 0 }
}

fn raw_killpg(group: Pid, signal: Signal) -> bool {
    // SAFETY: killpg(2) with a valid signal number has no memory effects.
    unsafe { libc::killpg(group.as_raw(), signal.raw()) == 0 }
}

/// Leaves the child `pid` (and so its descendants) out of the walks, or none.
pub fn set_outsider(pid: Option<i32>) {
    walk::OUTSIDER.store(pid.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

/// Whether `/proc` can be read (looked at once).
fn procfs_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(crate::sys::procfs::available)
}

/// Number of timeout-run's live descendants (for the leftovers line and the report).
pub fn descendant_count() -> usize {
    walk().len()
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
