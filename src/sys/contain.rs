//! Containment of the command's process tree: the command and every descendant. The Linux
//! backend holds it in a cgroup v2, or in a process group with a child subreaper and a `/proc`
//! walk; the portable backend in a process group (with FreeBSD's reaper). See each backend.

use std::io;
use std::path::Path;

use nix::unistd::Pid;

use super::{Backend, backend, portable};
use crate::signal::Signal;
use crate::sys::spawn::CgroupTarget;

/// How the tree is held, for `-v` and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Cgroup,
    ProcessGroup,
    /// The command shares timeout-run's process group (the job of the terminal's shell), so
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

/// A cgroup v2 of the command's own (Linux backend only).
pub struct Cgroup(CgroupInner);

#[cfg(target_os = "linux")]
type CgroupInner = super::linux::contain::Cgroup;

/// No cgroups outside Linux: no value of this type exists. (It has a `Drop`, as the Linux
/// one has, so that code dropping a cgroup reads the same everywhere.)
#[cfg(not(target_os = "linux"))]
struct CgroupInner(Never);

#[cfg(not(target_os = "linux"))]
enum Never {}

#[cfg(not(target_os = "linux"))]
impl Drop for CgroupInner {
    fn drop(&mut self) {
        match self.0 {}
    }
}

impl Cgroup {
    /// Creates the attempt's cgroup, where the backend has cgroups.
    pub fn create(attempt: u32) -> Result<Cgroup, NoCgroup> {
        match backend() {
            #[cfg(target_os = "linux")]
            Backend::Linux => super::linux::contain::Cgroup::create(attempt)
                .map(Cgroup)
                .map_err(|e| NoCgroup(e.0)),
            Backend::Portable => {
                let _ = attempt;
                Err(NoCgroup(
                    "the portable backend has no cgroups (it holds the process group)".into(),
                ))
            }
        }
    }

    /// Where the command must start.
    pub fn target(&self) -> CgroupTarget<'_> {
        #[cfg(target_os = "linux")]
        return self.0.target();
        #[cfg(not(target_os = "linux"))]
        match self.0.0 {}
    }

    /// Whether `pid` is in the cgroup.
    pub fn has_member(&self, pid: i32) -> bool {
        #[cfg(target_os = "linux")]
        return self.0.has_member(pid);
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            match self.0.0 {}
        }
    }

    /// Gives the cgroup up, leaving its members where they are.
    pub fn release_keeping_members(self) {
        #[cfg(target_os = "linux")]
        self.0.release_keeping_members();
        #[cfg(not(target_os = "linux"))]
        match self.0.0 {}
    }
}

/// The command's tree, held by the backend in use.
pub enum Tree {
    #[cfg(target_os = "linux")]
    Linux(super::linux::contain::Tree),
    Portable(portable::contain::Tree),
}

macro_rules! each {
    ($value:expr, $inner:ident => $body:expr) => {
        match $value {
            #[cfg(target_os = "linux")]
            Tree::Linux($inner) => $body,
            Tree::Portable($inner) => $body,
        }
    };
}

impl Tree {
    /// A tree whose leader was just spawned (in `cgroup`, on the Linux backend).
    pub fn new(leader: Pid, mechanism: Mechanism, cgroup: Option<Cgroup>) -> Tree {
        match backend() {
            #[cfg(target_os = "linux")]
            Backend::Linux => Tree::Linux(super::linux::contain::Tree::new(
                leader,
                mechanism,
                cgroup.map(|c| c.0),
            )),
            Backend::Portable => {
                // The portable backend never makes one.
                drop(cgroup);
                Tree::Portable(portable::contain::Tree::new(leader, mechanism))
            }
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        each!(self, tree => tree.mechanism())
    }

    /// The cgroup's directory, if the tree is in one.
    pub fn cgroup_path(&self) -> Option<&Path> {
        match self {
            #[cfg(target_os = "linux")]
            Tree::Linux(tree) => tree.cgroup_path(),
            Tree::Portable(_) => None,
        }
    }

    /// Whether the command itself has not been reaped yet.
    pub fn leader_alive(&self) -> bool {
        each!(self, tree => tree.leader_alive())
    }

    /// The leader was reaped: its pid may be reused and must not be signalled any more.
    pub fn leader_reaped(&mut self) {
        each!(self, tree => tree.leader_reaped())
    }

    /// Whether the tree is a cgroup that no process is in any more (so it is gone, whatever
    /// other children timeout-run still has).
    pub fn cgroup_is_empty(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Tree::Linux(tree) => tree.cgroup_is_empty(),
            Tree::Portable(_) => false,
        }
    }

    /// Removes the empty cgroups that SIGKILLed runs left next to this tree's.
    pub fn remove_abandoned_cgroups(&self) {
        match self {
            #[cfg(target_os = "linux")]
            Tree::Linux(tree) => tree.remove_abandoned_cgroups(),
            Tree::Portable(_) => {}
        }
    }

    /// Sends `signal` to every process of the tree; returns how many were reached (`None`
    /// when a whole process group was signalled and not counted). Signal 0 sends nothing.
    pub fn signal(&mut self, signal: Signal) -> Option<usize> {
        each!(self, tree => tree.signal(signal))
    }

    /// Sends `signal`, then SIGCONT, to every process of the tree, in one pass.
    pub fn signal_and_continue(&mut self, signal: Signal) -> Option<usize> {
        each!(self, tree => tree.signal_and_continue(signal))
    }

    /// Sends `signal` to the processes of the tree that have not received it yet in this
    /// attempt. Returns how many.
    pub fn signal_newcomers(&mut self, signal: Signal) -> usize {
        each!(self, tree => tree.signal_newcomers(signal))
    }

    /// Sends `signal` to the processes of the tree outside timeout-run's own process group.
    pub fn signal_outside_own_group(&mut self, signal: Signal) -> usize {
        each!(self, tree => tree.signal_outside_own_group(signal))
    }

    /// SIGKILL to the whole tree.
    pub fn kill(&mut self) -> Option<usize> {
        each!(self, tree => tree.kill())
    }

    /// CPU time and peak memory of the cgroup, if there is one.
    pub fn usage(&self) -> Option<CgroupUsage> {
        match self {
            #[cfg(target_os = "linux")]
            Tree::Linux(tree) => tree.usage(),
            Tree::Portable(_) => None,
        }
    }

    /// Every process of the tree that can be seen: the command first.
    pub fn pids(&self) -> Vec<i32> {
        each!(self, tree => tree.pids())
    }

    /// The processes of the tree still visible, for a message about what could not be stopped.
    pub fn remaining(&self) -> Vec<String> {
        each!(self, tree => tree.remaining())
    }

    /// Ends containment (see each backend); with `keep`, what is left keeps running.
    pub fn release(self, keep: bool) {
        each!(self, tree => tree.release(keep))
    }
}

/// A child of timeout-run that is not part of the tree (the `--on-timeout` hook, with whatever
/// it starts), or `None`: walks of timeout-run's descendants leave it out. The process group
/// and the cgroup never hold it. (FreeBSD's reaper signals every descendant, the hook too.)
pub fn set_outsider(pid: Option<i32>) {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => super::linux::contain::set_outsider(pid),
        Backend::Portable => {
            let _ = pid;
        }
    }
}

/// Number of timeout-run's live descendants (for the leftovers line and the report).
pub fn descendant_count() -> usize {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => super::linux::contain::descendant_count(),
        Backend::Portable => portable::contain::descendant_count(),
    }
}

/// Makes timeout-run the parent of its orphaned descendants: Linux's child subreaper,
/// FreeBSD's reaper; nothing on macOS, and nothing with the portable backend on Linux.
pub fn become_subreaper() -> io::Result<()> {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => super::linux::contain::become_subreaper(),
        Backend::Portable => portable::contain::become_subreaper(),
    }
}

/// Turns being the parent of orphaned descendants on or off (the relay's keeper must go to
/// init when it is orphaned, not to timeout-run).
pub fn set_subreaper(on: bool) {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => {
            // SAFETY: prctl with integer arguments only.
            unsafe {
                libc::prctl(
                    libc::PR_SET_CHILD_SUBREAPER,
                    libc::c_ulong::from(on),
                    0,
                    0,
                    0,
                );
            }
        }
        Backend::Portable => portable::contain::set_reaper(on),
    }
}
