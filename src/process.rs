//! Spawning the command (process group, cgroup membership, parent-death signal, inherited signal
//! state) and reaping children.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::events::Inherited;
use crate::exit::{SpawnFailure, Status};
use crate::signal::Signal;

/// How to start the command.
pub struct SpawnPlan<'a> {
    /// Program and arguments.
    pub command: &'a [OsString],
    /// Put the command in a process group of its own (not when it must share the terminal's
    /// foreground group with timeout-run).
    pub new_group: bool,
    /// `cgroup.procs` of the cgroup the command must join before it execs.
    pub cgroup_procs: Option<BorrowedFd<'a>>,
    /// Reset to the default disposition and unblocked in the command.
    pub stop_signal: Signal,
    /// Signal state to hand on.
    pub inherited: Inherited,
    /// Extra environment.
    pub env: Vec<(OsString, OsString)>,
    /// Replacement stdout/stderr (the idle-timeout relay's pipes).
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// Why the command could not be started, with the OS reason.
#[derive(Debug)]
pub struct SpawnError {
    pub kind: SpawnFailure,
    pub error: io::Error,
}

impl SpawnError {
    /// The OS reason without Rust's "(os error N)" suffix, as GNU prints it.
    pub fn reason(&self) -> String {
        match self.error.raw_os_error() {
            Some(code) => Errno::from_raw(code).desc().to_owned(),
            None => self.error.to_string(),
        }
    }
}

/// Starts the command. Returns its pid once it has exec'd (std reports exec failures through a
/// close-on-exec pipe, so a returned pid always runs the program).
pub fn spawn(plan: SpawnPlan<'_>) -> Result<Pid, SpawnError> {
    let mut cmd = Command::new(&plan.command[0]);
    cmd.args(&plan.command[1..]);
    cmd.envs(plan.env.iter().map(|(k, v)| (k, v)));
    if plan.new_group {
        cmd.process_group(0);
    }
    if let Some(fd) = plan.stdout {
        cmd.stdout(Stdio::from(fd));
    }
    if let Some(fd) = plan.stderr {
        cmd.stderr(Stdio::from(fd));
    }

    // Everything the child needs is copied into plain values before fork: the closure below runs
    // between fork and exec, where only async-signal-safe calls are allowed.
    let parent = nix::unistd::getpid().as_raw();
    let cgroup_fd = plan.cgroup_procs.map(|fd| fd.as_raw_fd());
    let mut mask = plan.inherited.mask;
    let stop = plan.stop_signal.raw();
    let sigchld_ignored = plan.inherited.sigchld_ignored;
    let sigpipe_ignored = plan.inherited.sigpipe_ignored;
    // SAFETY: sigdelset on a local sigset_t.
    unsafe {
        if stop > 0 {
            libc::sigdelset(&mut mask, stop);
        }
    }
    // SAFETY: the closure calls only async-signal-safe functions (write, prctl, getppid, raise,
    // signal, sigprocmask) on values captured by copy, allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = cgroup_fd {
                // Writing "0" moves the writer; the parent checks membership afterwards.
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent may have died before prctl took effect: then nobody would send
                // the signal, so act on it now.
                if libc::getppid() != parent {
                    libc::raise(libc::SIGKILL);
                }
            }
            // std reset SIGPIPE to default and emptied the mask; restore what timeout-run
            // inherited, but leave the stop signal deliverable.
            if sigpipe_ignored {
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            }
            if sigchld_ignored {
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            }
            if stop > 0 && stop != libc::SIGKILL && stop != libc::SIGSTOP {
                libc::signal(stop, libc::SIG_DFL);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
            Ok(())
        });
    }
    match cmd.spawn() {
        Ok(child) => Ok(Pid::from_raw(child.id() as i32)),
        Err(error) => {
            let kind = match error.raw_os_error() {
                Some(libc::ENOENT) => SpawnFailure::NotFound,
                // Resource exhaustion in timeout-run itself (pipes, fork), not in the command.
                Some(libc::EMFILE | libc::ENFILE | libc::EAGAIN | libc::ENOMEM) => {
                    SpawnFailure::Internal
                }
                // GNU timeout: anything else that stops exec is "cannot invoke".
                _ => SpawnFailure::NotExecutable,
            };
            Err(SpawnError { kind, error })
        }
    }
}

/// One reaped child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    pub pid: Pid,
    pub status: Status,
}

/// What one pass of reaping found.
#[derive(Debug, Default)]
pub struct Reaping {
    pub reaped: Vec<Reaped>,
    /// No child is left at all.
    pub no_children: bool,
}

/// Reaps every child that has exited, without blocking. SIGCHLD coalesces, so one notification
/// may stand for many exits: loop until nothing more is ready. (Raw `waitpid`, because nix cannot
/// decode a death by a real-time signal and the status would be lost after reaping.)
pub fn reap() -> Reaping {
    let mut out = Reaping::default();
    loop {
        let mut raw = 0;
        // SAFETY: waitpid writes the status into a local integer.
        let pid = unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) };
        if pid > 0 {
            let status = if libc::WIFEXITED(raw) {
                Status::Code(libc::WEXITSTATUS(raw))
            } else if libc::WIFSIGNALED(raw) {
                Status::Signal(Signal::from_raw(libc::WTERMSIG(raw)).unwrap_or(Signal::KILL))
            } else {
                continue;
            };
            out.reaped.push(Reaped {
                pid: Pid::from_raw(pid),
                status,
            });
            continue;
        }
        if pid == 0 {
            break;
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::ECHILD => out.no_children = true,
            _ => {}
        }
        break;
    }
    out
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
