//! Spawning the command (process group, cgroup membership, parent-death signal, inherited signal
//! state) and reaping children.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::Pid;

use crate::sys::portable::spawn::{STAGE_EXEC, STAGE_SETUP, hand_on, prepare};
use crate::sys::spawn::{Reaped, Reaping, SpawnError, SpawnPlan, Spawned};

/// Everything the child needs, prepared before the spawn: between clone (or fork) and exec the
/// child only reads these plain values and makes async-signal-safe calls (no allocation, no
/// lock).
struct ChildPlan {
    /// Into the `Prepared` arrays that `spawn` keeps alive.
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    new_group: bool,
    /// `cgroup.procs` to write "0" to, when the child was not born in its cgroup.
    join_procs: Option<RawFd>,
    parent: libc::pid_t,
    stdout: Option<RawFd>,
    stderr: Option<RawFd>,
    mask: libc::sigset_t,
    stop: libc::c_int,
    sigpipe_ignored: bool,
    sigchld_ignored: bool,
    report: RawFd,
}

/// Starts the command. Returns once it has exec'd: a failed exec is reported through a
/// close-on-exec pipe, so a returned pid always runs the program.
pub fn spawn(plan: SpawnPlan<'_>) -> Result<Spawned, SpawnError> {
    let prepared = prepare(&plan)?;
    let mut child = ChildPlan {
        argv: prepared.argv.as_ptr(),
        envp: prepared.env.pointers.as_ptr(),
        new_group: plan.new_group,
        join_procs: None,
        parent: nix::unistd::getpid().as_raw(),
        stdout: plan.stdout.as_ref().map(|fd| fd.as_raw_fd()),
        stderr: plan.stderr.as_ref().map(|fd| fd.as_raw_fd()),
        mask: prepared.mask,
        stop: prepared.stop,
        sigpipe_ignored: plan.inherited.sigpipe_ignored,
        sigchld_ignored: plan.inherited.sigchld_ignored,
        report: prepared.report_write.as_raw_fd(),
    };

    // clone3 first (born in the cgroup). Without it (Linux before
    // 5.3, 5.7 for cgroups, or a seccomp filter that refuses it): fork, and the child joins the
    // cgroup itself.
    let cgroup_dir = plan.cgroup.map(|target| target.dir);
    let (pid, born_in_cgroup) = match clone_child(cgroup_dir, &child) {
        Ok(pid) => (pid, plan.cgroup.is_some()),
        Err(e) => {
            tracing::debug!("clone3 failed ({e}); falling back to fork");
            // Without its cgroup.procs, the child cannot join: the supervisor finds it outside
            // the cgroup and falls back to the process group.
            let procs = plan.cgroup.and_then(|target| open_procs(target.dir));
            child.join_procs = procs.as_ref().map(|fd| fd.as_raw_fd());
            (fork(&child)?, false)
        }
    };
    // The relay's ends now belong to the child alone.
    drop(plan.stdout);
    drop(plan.stderr);
    prepared.exec_outcome(pid)?;
    Ok(Spawned {
        pid,
        born_in_cgroup,
    })
}

/// Opens a cgroup's `cgroup.procs` for writing, relative to the cgroup's directory.
fn open_procs(dir: BorrowedFd<'_>) -> Option<OwnedFd> {
    match nix::fcntl::openat(
        dir,
        "cgroup.procs",
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        Ok(fd) => Some(fd),
        Err(e) => {
            tracing::debug!("cannot open cgroup.procs: {e}");
            None
        }
    }
}

/// Starts the child with `clone3`, in the cgroup if one is given.
#[cfg(target_os = "linux")]
fn clone_child(cgroup: Option<BorrowedFd<'_>>, child: &ChildPlan) -> io::Result<Pid> {
    // SAFETY: the child only runs `exec_child`, which makes async-signal-safe calls on values
    // prepared before the call and never returns.
    match unsafe { super::clone::clone3(cgroup)? } {
        super::clone::Forked::Child => exec_child(child),
        super::clone::Forked::Parent(pid) => Ok(pid),
    }
}

fn fork(child: &ChildPlan) -> Result<Pid, SpawnError> {
    // SAFETY: fork() in a single-threaded process; the child only runs `exec_child`, which makes
    // async-signal-safe calls on values prepared before the fork and never returns.
    match unsafe { libc::fork() } {
        0 => exec_child(child),
        pid if pid > 0 => Ok(Pid::from_raw(pid)),
        _ => Err(SpawnError::internal(io::Error::last_os_error())),
    }
}

/// The child between fork (or clone3) and exec. Async-signal-safe calls only, on prepared
/// values; raw system calls where the C library might rely on state that a `clone3` child
/// does not have (its cached thread id, its fork handlers).
fn exec_child(plan: &ChildPlan) -> ! {
    // SAFETY: every call below is async-signal-safe (setpgid, write, prctl, getppid, kill,
    // dup2, signal, sigprocmask, _exit), except that POSIX does not list execvp(e); glibc's
    // searches PATH with stack buffers only and takes no lock (it is what posix_spawn runs in its
    // child). The pointers come from vectors and CStrings the parent keeps alive.
    unsafe {
        let fail = |stage: i32| -> ! {
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let report = [stage, errno];
            libc::write(
                plan.report,
                report.as_ptr().cast(),
                std::mem::size_of_val(&report),
            );
            libc::_exit(127)
        };
        if plan.new_group && libc::setpgid(0, 0) != 0 {
            fail(STAGE_SETUP);
        }
        if let Some(fd) = plan.join_procs {
            // Failure is detected by the parent's membership check.
            libc::write(fd, b"0".as_ptr().cast(), 1);
        }
        #[cfg(target_os = "linux")]
        {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died before prctl took effect: then nobody would send the
            // signal, so act on it now.
            if libc::getppid() != plan.parent {
                libc::kill(
                    libc::syscall(libc::SYS_getpid) as libc::pid_t,
                    libc::SIGKILL,
                );
            }
        }
        if !hand_on(
            plan.stdout,
            plan.stderr,
            plan.sigpipe_ignored,
            plan.sigchld_ignored,
            plan.stop,
            &plan.mask,
        ) {
            fail(STAGE_SETUP);
        }
        execvpe(*plan.argv, plan.argv, plan.envp);
        fail(STAGE_EXEC)
    }
}

/// `execvp` with an explicit environment: glibc's and musl's `execvpe`.
#[cfg(target_os = "linux")]
unsafe fn execvpe(
    file: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) {
    // SAFETY: forwarded from the caller.
    unsafe { libc::execvpe(file, argv, envp) };
}

/// Reaps every child that has exited, without blocking. SIGCHLD coalesces, so one notification
/// may stand for many exits: loop until nothing more is ready. (Raw `wait4`, for what each one
/// used, and because nix cannot decode a death by a real-time signal and the status would be
/// lost after reaping.)
///
/// `waitpid(-1)` looks at every child on each call, so reaping a few hundred orphans that way
/// costs time quadratic in their number (a third of a millisecond per call with 300 children).
/// Once a pass has reaped a few, the rest are waited for one by one, by pid, from timeout-run's
/// list of children, which the kernel answers without the scan. The common case (the command
/// alone) costs no read of that list.
///
/// `out` holds what was reaped already; with `reaped`, nothing more is to be done.
pub fn reap(mut out: Reaping, reaped: bool) -> Reaping {
    const BEFORE_THE_LIST: usize = 16;
    if reaped {
        return out;
    }
    loop {
        match Reaped::wait(-1) {
            Ok(Some(reaped)) => {
                out.reaped.extend(reaped);
                if out.reaped.len() == BEFORE_THE_LIST {
                    let me = std::process::id() as i32;
                    for pid in crate::sys::procfs::children_of(me, 1) {
                        if let Ok(Some(Some(reaped))) = Reaped::wait(pid) {
                            out.reaped.push(reaped);
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                out.no_children = e == Errno::ECHILD;
                break;
            }
        }
    }
    out
}
