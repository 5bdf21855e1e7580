//! Spawning the command and reaping children: the plain records both backends share, and the
//! dispatch to the backend in use.

use std::ffi::OsString;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

use super::{Backend, backend, portable};
use crate::outcome::{Rusage, SpawnFailure, Status};
use crate::signal::Signal;

/// What timeout-run inherited from its parent that the command must inherit too.
#[derive(Clone, Copy)]
pub struct Inherited {
    /// The signal mask at start-up.
    pub mask: libc::sigset_t,
    /// SIGCHLD was ignored (`trap '' CHLD`); timeout-run resets it to reap, the command gets it
    /// back ignored.
    pub sigchld_ignored: bool,
    /// SIGPIPE was ignored before the Rust runtime set it to ignored for its own use.
    pub sigpipe_ignored: bool,
}

/// How to start the command.
pub struct SpawnPlan<'a> {
    /// Program and arguments.
    pub command: &'a [OsString],
    /// Put the command in a process group of its own (not when it must share the terminal's
    /// foreground group with timeout-run).
    pub new_group: bool,
    /// The cgroup the command must start in, if any.
    pub cgroup: Option<CgroupTarget<'a>>,
    /// Reset to the default disposition and unblocked in the command.
    pub stop_signal: Signal,
    /// Signal state to hand on.
    pub inherited: Inherited,
    /// Extra environment (replaces variables of the same name).
    pub env: Vec<(OsString, OsString)>,
    /// Replacement stdout/stderr (the idle-timeout relay's pipes).
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// The cgroup directory the command starts in. There are two ways in: born in it
/// (`clone3(CLONE_INTO_CGROUP)`, Linux 5.7+, atomic and cheap), or moved into it between fork
/// and exec by writing "0" to its `cgroup.procs` (which makes the kernel wait for an RCU grace
/// period: a few hundred microseconds of start-up).
#[derive(Clone, Copy)]
#[cfg_attr(
    not(target_os = "linux"),
    expect(dead_code, reason = "only Linux has cgroups")
)]
pub struct CgroupTarget<'a> {
    pub dir: BorrowedFd<'a>,
}

/// A started command.
#[derive(Debug, Clone, Copy)]
pub struct Spawned {
    pub pid: Pid,
    /// The kernel placed it in the cgroup at birth, so membership needs no check.
    pub born_in_cgroup: bool,
}

/// Why the command could not be started, with the OS reason.
#[derive(Debug)]
pub struct SpawnError {
    pub kind: SpawnFailure,
    pub error: io::Error,
}

impl SpawnError {
    pub(in crate::sys) fn internal(error: io::Error) -> SpawnError {
        SpawnError {
            kind: SpawnFailure::Internal,
            error,
        }
    }

    /// The OS reason without Rust's "(os error N)" suffix, as GNU prints it.
    pub fn reason(&self) -> String {
        match self.error.raw_os_error() {
            Some(code) => crate::log::errno_text(code),
            None => self.error.to_string(),
        }
    }
}

/// One reaped child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reaped {
    pub pid: Pid,
    pub status: Status,
    /// It died by a signal and the kernel wrote its core.
    pub core_dumped: bool,
    /// What it and the descendants it waited for used.
    pub usage: Rusage,
}

impl Reaped {
    /// A child's `wait4` status and resource use; `None` for a stop or continue report.
    pub(in crate::sys) fn from_wait(
        pid: i32,
        raw: libc::c_int,
        usage: &libc::rusage,
    ) -> Option<Reaped> {
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        // `c_long` is i64 here, i32 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        let max_rss = i64::from(usage.ru_maxrss);
        Some(Reaped {
            pid: Pid::from_raw(pid),
            status: portable::spawn::decode(raw)?,
            core_dumped: libc::WIFSIGNALED(raw) && libc::WCOREDUMP(raw),
            usage: Rusage {
                user_s: secs(usage.ru_utime),
                system_s: secs(usage.ru_stime),
                // KiB on Linux and FreeBSD, bytes on macOS.
                max_rss_kib: if cfg!(target_os = "macos") {
                    max_rss / 1024
                } else {
                    max_rss
                },
            },
        })
    }

    /// Reaps the child `pid` (`-1`: any child) if one has exited: `Ok(None)` when none has,
    /// `Ok(Some(None))` for a report that is not an end (a stop or a continue).
    pub(in crate::sys) fn wait(pid: i32) -> Result<Option<Option<Reaped>>, Errno> {
        let mut raw = 0;
        // SAFETY: rusage is plain data, valid when zeroed.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: wait4 writes the status and the resource use into locals.
            let got = unsafe { libc::wait4(pid, &mut raw, libc::WNOHANG, &mut usage) };
            match got {
                0 => return Ok(None),
                got if got > 0 => return Ok(Some(Reaped::from_wait(got, raw, &usage))),
                _ if Errno::last() == Errno::EINTR => continue,
                _ => return Err(Errno::last()),
            }
        }
    }
}

/// What one pass of reaping found.
#[derive(Debug, Default)]
pub struct Reaping {
    pub reaped: Vec<Reaped>,
    /// No child is left at all.
    pub no_children: bool,
    /// The child whose process group was to end with it, if it was reaped (see [`reap`]).
    pub group_ended: Option<Reaped>,
}

/// Starts the command. Returns once it has exec'd: a failed exec is reported through a
/// close-on-exec pipe, so a returned pid always runs the program.
pub fn spawn(plan: SpawnPlan<'_>) -> Result<Spawned, SpawnError> {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => super::linux::spawn::spawn(plan),
        Backend::Portable => portable::spawn::spawn(plan),
    }
}

/// Reaps every child that has exited, without blocking.
/// Reaps every child that has exited, without blocking. `ends_its_group`: a child that leads a
/// process group of its own (the `--on-timeout` hook), whose group gets SIGKILL when it has
/// exited, before it is reaped, while its pid still holds the group's number; it is reported
/// apart, in [`Reaping::group_ended`].
pub fn reap(ends_its_group: Option<i32>) -> Reaping {
    let mut out = Reaping::default();
    // Once that way, or the plain way (which could reap the leader first).
    let reaped = match ends_its_group {
        Some(leader) => {
            reap_around(leader, &mut out);
            true
        }
        None => false,
    };
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => super::linux::spawn::reap(out, reaped),
        Backend::Portable => portable::spawn::reap(out, reaped),
    }
}

/// Reaps exited children one by one, looking first at which one is ready (without reaping it),
/// so that `leader`'s group is killed before `leader` is reaped. Slower than the plain loop
/// (two system calls a child): only while such a child runs.
fn reap_around(leader: i32, out: &mut Reaping) {
    loop {
        // SAFETY: siginfo_t is plain data, valid when zeroed.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid with WNOWAIT only reports which child is ready, into a local.
        let r = unsafe {
            libc::waitid(
                libc::P_ALL,
                0,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if r < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                Errno::ECHILD => out.no_children = true,
                _ => {}
            }
            return;
        }
        // SAFETY: waitid filled si_pid (0 when no child is ready).
        let pid = unsafe { info.si_pid() };
        if pid <= 0 {
            return;
        }
        if pid == leader {
            // SAFETY: killpg on the group of a child that is not reaped yet.
            unsafe { libc::killpg(leader, libc::SIGKILL) };
        }
        match Reaped::wait(pid) {
            Ok(Some(Some(reaped))) if pid == leader => out.group_ended = Some(reaped),
            Ok(Some(Some(reaped))) => out.reaped.push(reaped),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// Waits for the child `pid` to exit and reaps it; its status, `None` if it cannot be waited
/// for.
pub fn reap_blocking(pid: i32) -> Option<Status> {
    let mut raw = 0;
    loop {
        // SAFETY: waitpid writes the status into a local integer.
        let got = unsafe { libc::waitpid(pid, &mut raw, 0) };
        if got == pid {
            return portable::spawn::decode(raw);
        }
        if got < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_error_reason_has_no_rust_suffix() {
        let e = SpawnError {
            kind: SpawnFailure::NotFound,
            error: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(e.reason(), "No such file or directory");
    }
}
