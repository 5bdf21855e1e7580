//! Containment with POSIX means: the command's process group, reached at once by `killpg`.
//!
//! - On FreeBSD timeout-run is also a reaper (`procctl(PROC_REAP_ACQUIRE)`): every orphaned
//!   descendant, `setsid`'d ones included, is re-parented to it, `PROC_REAP_KILL` signals all
//!   of its descendants at once, and "the tree is gone" is "no child is left", as with Linux's
//!   child subreaper.
//! - On macOS (and on Linux with this backend) there is no reaper: descendants that left the
//!   command's process group (`setsid`, `setpgid`) are neither signalled nor waited for, and
//!   the tree is gone when the command has been reaped and its group is empty.
//! - Sharing the terminal's foreground group with timeout-run, the group cannot be signalled as
//!   a whole (it holds timeout-run and perhaps the shell): without a reaper only the command
//!   itself is signalled; the terminal signals the rest of the group itself.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::unistd::Pid;

use super::census;
use super::spawn::group_alive;
use crate::signal::Signal;
use crate::sys::contain::Mechanism;

/// Whether this system has a reaper the portable backend uses (FreeBSD's `procctl`).
pub const HAS_REAPER: bool = cfg!(target_os = "freebsd");

static REAPER: AtomicBool = AtomicBool::new(false);

/// Whether timeout-run became a reaper ([`become_subreaper`]).
pub fn reaper_active() -> bool {
    REAPER.load(Ordering::Relaxed)
}

/// The command's tree and how to reach it.
pub struct Tree {
    leader: Pid,
    leader_alive: bool,
    mechanism: Mechanism,
    /// The supervisor let go of the tree on purpose: it is empty, or kept.
    released: bool,
}

impl Drop for Tree {
    /// An attempt that ends in an error (the event loop failed after the spawn) must not leave
    /// the tree running: SIGKILL to all of it, then reap what can be reaped.
    fn drop(&mut self) {
        if self.released || self.mechanism == Mechanism::Child && !self.leader_alive {
            return;
        }
        for _ in 0..20 {
            self.kill();
            if crate::sys::spawn::reap(None).no_children {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Tree {
    /// A tree whose leader was just spawned.
    pub fn new(leader: Pid, mechanism: Mechanism) -> Tree {
        Tree {
            leader,
            leader_alive: true,
            mechanism,
            released: false,
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether the command itself has not been reaped yet.
    pub fn leader_alive(&self) -> bool {
        self.leader_alive
    }

    /// The leader was reaped: its pid may be reused and must not be signalled any more.
    pub fn leader_reaped(&mut self) {
        self.leader_alive = false;
    }

    /// The command's own process group, when it has one.
    fn group(&self) -> Option<Pid> {
        (self.mechanism == Mechanism::ProcessGroup).then_some(self.leader)
    }

    /// Sends `signal` to every process of the tree; returns how many were reached (`None`
    /// when a whole process group was signalled and not counted). Signal 0 sends nothing.
    pub fn signal(&mut self, signal: Signal) -> Option<usize> {
        self.send(&[signal])
    }

    /// Sends `signal`, then SIGCONT, to every process of the tree.
    pub fn signal_and_continue(&mut self, signal: Signal) -> Option<usize> {
        if signal == Signal::CONT {
            return self.signal(signal);
        }
        self.send(&[signal, Signal::CONT])
    }

    /// Processes found since the first pass: without a walk of the process table nobody is
    /// found later (on FreeBSD every pass reaches every descendant).
    pub fn signal_newcomers(&mut self, _signal: Signal) -> usize {
        0
    }

    /// The processes of the tree outside timeout-run's own process group cannot be told apart
    /// without a walk of the process table: nothing is sent.
    pub fn signal_outside_own_group(&mut self, _signal: Signal) -> usize {
        0
    }

    fn send(&mut self, signals: &[Signal]) -> Option<usize> {
        let signals: Vec<Signal> = signals.iter().copied().filter(|s| s.raw() != 0).collect();
        if signals.is_empty() {
            return Some(0);
        }
        if self.mechanism != Mechanism::Child && reaper_active() {
            // Every descendant, wherever its group or session, in one call per signal.
            return signals.iter().map(|s| reaper_kill(*s)).max();
        }
        match self.group() {
            Some(group) if group_alive(group.as_raw()) => {
                for s in &signals {
                    // SAFETY: killpg(2) with a valid signal number has no memory effects.
                    unsafe { libc::killpg(group.as_raw(), s.raw()) };
                }
                None
            }
            _ => {
                let sent = self.leader_alive
                    && signals.iter().all(|s| {
                        // SAFETY: kill(2) with a valid signal number has no memory effects.
                        unsafe { libc::kill(self.leader.as_raw(), s.raw()) == 0 }
                    });
                Some(usize::from(sent))
            }
        }
    }

    /// SIGKILL to the whole tree.
    pub fn kill(&mut self) -> Option<usize> {
        self.signal(Signal::KILL)
    }

    /// Every process of the tree `ps` shows: the command first.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        if self.leader_alive {
            pids.push(self.leader.as_raw());
        }
        let rows = census::table();
        pids.extend(
            census::tree(&rows, self.group().map_or(0, Pid::as_raw))
                .iter()
                .map(|r| r.pid)
                .filter(|p| *p != self.leader.as_raw()),
        );
        pids
    }

    /// The processes of the tree still visible, as `pid (name, state)`.
    pub fn remaining(&self) -> Vec<String> {
        let rows = census::table();
        census::tree(&rows, self.group().map_or(0, Pid::as_raw))
            .iter()
            .map(|r| format!("{} ({}, {})", r.pid, r.command, r.state_name()))
            .collect()
    }

    /// Ends containment; the tree is left as it is.
    pub fn release(mut self, _keep: bool) {
        self.released = true;
    }
}

/// Number of processes of the command's group and timeout-run's descendants still there (for
/// the leftovers line and the report).
pub fn descendant_count() -> usize {
    let group = super::GROUP.load(Ordering::Relaxed);
    let rows = census::table();
    census::tree(&rows, group)
        .iter()
        .filter(|r| r.state_name() != "zombie")
        .count()
}

/// Makes timeout-run a reaper where the system has one (FreeBSD); elsewhere there is nothing
/// to become, and the process group is the containment.
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(target_os = "freebsd")]
    {
        // SAFETY: procctl on our own pid with no data argument.
        let r = unsafe {
            libc::procctl(
                libc::P_PID,
                libc::getpid() as libc::id_t,
                libc::PROC_REAP_ACQUIRE,
                std::ptr::null_mut(),
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        REAPER.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// Turns the reaper on or off where there is one (FreeBSD); nothing elsewhere.
pub fn set_reaper(on: bool) {
    #[cfg(target_os = "freebsd")]
    {
        let command = if on {
            libc::PROC_REAP_ACQUIRE
        } else {
            libc::PROC_REAP_RELEASE
        };
        // SAFETY: procctl on our own pid with no data argument.
        let r = unsafe {
            libc::procctl(
                libc::P_PID,
                libc::getpid() as libc::id_t,
                command,
                std::ptr::null_mut(),
            )
        };
        if r == 0 {
            REAPER.store(on, Ordering::Relaxed);
        }
    }
    #[cfg(not(target_os = "freebsd"))]
    let _ = on;
}

/// `struct procctl_reaper_kill` of FreeBSD's `<sys/procctl.h>`.
#[cfg(target_os = "freebsd")]
#[repr(C)]
struct ReaperKill {
    rk_sig: libc::c_int,
    rk_flags: libc::c_uint,
    rk_subtree: libc::pid_t,
    rk_killed: libc::c_uint,
    rk_fpid: libc::pid_t,
    rk_pad: [libc::c_uint; 15],
}

/// `signal` to every descendant of timeout-run (`PROC_REAP_KILL`); returns how many.
#[cfg(target_os = "freebsd")]
fn reaper_kill(signal: Signal) -> usize {
    let mut request = ReaperKill {
        rk_sig: signal.raw(),
        rk_flags: 0,
        rk_subtree: 0,
        rk_killed: 0,
        rk_fpid: 0,
        rk_pad: [0; 15],
    };
    // SAFETY: procctl on our own pid with a pointer to a local of the layout the kernel reads.
    unsafe {
        libc::procctl(
            libc::P_PID,
            libc::getpid() as libc::id_t,
            libc::PROC_REAP_KILL,
            (&raw mut request).cast(),
        )
    };
    request.rk_killed as usize
}

/// Without a reaper nothing is sent this way ([`reaper_active`] is false).
#[cfg(not(target_os = "freebsd"))]
fn reaper_kill(_signal: Signal) -> usize {
    0
}
