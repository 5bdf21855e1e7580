//! Spawning with fork and exec into a process group of its own, with the inherited signal mask
//! and ignored dispositions handed on, and reaping with `waitpid`. POSIX only: no cgroup, and a
//! parent-death signal on FreeBSD alone (`procctl(PROC_PDEATHSIG_CTL)`). The Linux backend shares the helpers below (the environment, the exec
//! report, decoding a wait status).

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::Ordering;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::{GROUP, WATCHING};
use crate::outcome::{SpawnFailure, Status};
use crate::signal::Signal;
use crate::sys::BACKEND_ENV;
use crate::sys::spawn::{Reaped, Reaping, SpawnError, SpawnPlan, Spawned};

/// Where in the child a failure happened, reported through the status pipe.
pub(in crate::sys) const STAGE_SETUP: i32 = 1;
pub(in crate::sys) const STAGE_EXEC: i32 = 2;

/// Everything the child needs, prepared before the fork: between fork and exec the child only
/// reads these plain values and makes async-signal-safe calls (no allocation, no lock).
struct ChildPlan<'a> {
    /// Into the `Prepared` arrays that `spawn` keeps alive.
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    new_group: bool,
    stdout: Option<RawFd>,
    stderr: Option<RawFd>,
    mask: libc::sigset_t,
    stop: libc::c_int,
    sigpipe_ignored: bool,
    sigchld_ignored: bool,
    /// The signals timeout-run handles: the child resets them to their default disposition
    /// (exec would too, but a signal arriving before exec must not run timeout-run's handler
    /// in the child).
    handled: &'a [libc::c_int],
    /// timeout-run's pid, to check after asking for the parent-death signal (FreeBSD).
    #[cfg_attr(
        not(target_os = "freebsd"),
        expect(dead_code, reason = "only FreeBSD has a parent-death signal here")
    )]
    parent: libc::pid_t,
    report: RawFd,
}

/// Starts the command. Returns once it has exec'd: a failed exec is reported through a
/// close-on-exec pipe, so a returned pid always runs the program.
pub fn spawn(plan: SpawnPlan<'_>) -> Result<Spawned, SpawnError> {
    if plan.cgroup.is_some() {
        return Err(SpawnError::internal(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the portable backend has no cgroups",
        )));
    }
    let prepared = prepare(&plan)?;
    let child = ChildPlan {
        argv: prepared.argv.as_ptr(),
        envp: prepared.env.pointers.as_ptr(),
        new_group: plan.new_group,
        stdout: plan.stdout.as_ref().map(|fd| fd.as_raw_fd()),
        stderr: plan.stderr.as_ref().map(|fd| fd.as_raw_fd()),
        mask: prepared.mask,
        stop: prepared.stop,
        sigpipe_ignored: plan.inherited.sigpipe_ignored,
        sigchld_ignored: plan.inherited.sigchld_ignored,
        handled: super::events::handled(),
        parent: nix::unistd::getpid().as_raw(),
        report: prepared.report_write.as_raw_fd(),
    };
    let pid = fork(&child)?;
    // The relay's ends now belong to the child alone.
    drop(plan.stdout);
    drop(plan.stderr);
    prepared.exec_outcome(pid)?;
    // The tree's group, for telling when it is empty (see `reap`).
    GROUP.store(
        if plan.new_group { pid.as_raw() } else { 0 },
        Ordering::Relaxed,
    );
    WATCHING.store(false, Ordering::Relaxed);
    Ok(Spawned {
        pid,
        born_in_cgroup: false,
    })
}

/// Forks with every signal blocked, so that none of timeout-run's handlers runs in the child
/// before it has reset them.
fn fork(child: &ChildPlan<'_>) -> Result<Pid, SpawnError> {
    // SAFETY: sigfillset and sigprocmask on local sigset_t values.
    let saved = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        let mut saved: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &all, &mut saved);
        saved
    };
    // SAFETY: fork() in a single-threaded process; the child only runs `exec_child`, which makes
    // async-signal-safe calls on values prepared before the fork and never returns.
    let forked = unsafe { libc::fork() };
    let error = io::Error::last_os_error();
    if forked == 0 {
        exec_child(child)
    }
    // SAFETY: restoring the mask saved above.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &saved, std::ptr::null_mut()) };
    if forked > 0 {
        Ok(Pid::from_raw(forked))
    } else {
        Err(SpawnError::internal(error))
    }
}

/// The child between fork and exec. Async-signal-safe calls only, on prepared values.
fn exec_child(plan: &ChildPlan<'_>) -> ! {
    // SAFETY: every call below is async-signal-safe (signal, setpgid, procctl, getppid, kill,
    // write, dup2, sigprocmask, _exit), except that POSIX does not list execvp; the C libraries' execvp searches PATH
    // with stack buffers only and takes no lock (it is what posix_spawn runs in its child).
    // Storing to `environ` is a plain store in the child's own copy of memory. The pointers
    // come from vectors and CStrings the parent keeps alive.
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
        // Every signal is blocked (see `fork`): no handler runs while they are reset.
        for &number in plan.handled {
            libc::signal(number, libc::SIG_DFL);
        }
        if plan.new_group && libc::setpgid(0, 0) != 0 {
            fail(STAGE_SETUP);
        }
        #[cfg(target_os = "freebsd")]
        {
            // The parent-death signal (FreeBSD 11.2+); if timeout-run died before it took
            // effect, nobody would send it, so act on it now.
            let mut signal: libc::c_int = libc::SIGKILL;
            libc::procctl(
                libc::P_PID,
                0,
                libc::PROC_PDEATHSIG_CTL,
                (&raw mut signal).cast(),
            );
            if libc::getppid() != plan.parent {
                libc::kill(libc::getpid(), libc::SIGKILL);
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
        *environ_slot() = plan.envp.cast_mut().cast();
        libc::execvp(*plan.argv, plan.argv);
        fail(STAGE_EXEC)
    }
}

/// Whether the process group `group` still has a member (a member timeout-run may not signal
/// counts too).
pub(super) fn group_alive(group: i32) -> bool {
    // SAFETY: killpg with the null signal only checks that the group exists.
    group > 0 && (unsafe { libc::killpg(group, 0) } == 0 || Errno::last() == Errno::EPERM)
}

/// Where the C library keeps the process's environment (`environ`).
#[cfg(target_vendor = "apple")]
fn environ_slot() -> *mut *mut *mut libc::c_char {
    // SAFETY: _NSGetEnviron has no preconditions; executables on macOS reach `environ` through it.
    unsafe { libc::_NSGetEnviron() }
}

/// Where the C library keeps the process's environment (`environ`).
#[cfg(not(target_vendor = "apple"))]
fn environ_slot() -> *mut *mut *mut libc::c_char {
    unsafe extern "C" {
        static mut environ: *mut *mut libc::c_char;
    }
    &raw mut environ
}

/// Reaps every child that has exited, without blocking. SIGCHLD coalesces, so one notification
/// may stand for many exits: loop until nothing more is ready.
///
/// "No child left" means the tree is empty only where timeout-run is a reaper (FreeBSD), since
/// every descendant is then its child until reaped. Elsewhere the other members of the
/// command's process group are re-parented to init when their parent dies, and die without
/// telling timeout-run: the tree is empty once no child is left *and* the group is gone
/// (`killpg(pgid, 0)` fails with ESRCH). While the first holds and not the second, the event
/// source checks again at a modest interval ([`super::events`]).
///
/// `out` holds what was reaped already; with `reaped`, no child is to be reaped any more.
pub fn reap(mut out: Reaping, reaped: bool) -> Reaping {
    if !reaped {
        loop {
            match Reaped::wait(-1) {
                Ok(Some(reaped)) => out.reaped.extend(reaped),
                Ok(None) => break,
                Err(e) => {
                    out.no_children = e == Errno::ECHILD;
                    break;
                }
            }
        }
    }
    let no_child = out.no_children;
    if no_child && !super::contain::reaper_active() {
        out.no_children = !group_alive(GROUP.load(Ordering::Relaxed));
    }
    WATCHING.store(no_child && !out.no_children, Ordering::Relaxed);
    out
}

/// The last steps of the child before exec, the same on every backend: the relay's descriptors
/// become stdout and stderr, the dispositions timeout-run inherited are handed on (it ignores
/// SIGPIPE and takes SIGCHLD back for itself), the stop signal is made deliverable, and the
/// inherited mask (less the stop signal) restored. False when a descriptor could not be
/// installed.
///
/// # Safety
///
/// Only in the child between fork (or clone3) and exec: it makes async-signal-safe calls only.
pub(in crate::sys) unsafe fn hand_on(
    stdout: Option<RawFd>,
    stderr: Option<RawFd>,
    sigpipe_ignored: bool,
    sigchld_ignored: bool,
    stop: libc::c_int,
    mask: &libc::sigset_t,
) -> bool {
    let ignore_or_default = |ignored| {
        if ignored {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        }
    };
    // SAFETY: dup2, signal and sigprocmask are async-signal-safe; the descriptors and the mask
    // were prepared by the parent before the fork.
    unsafe {
        for (fd, target) in [(stdout, libc::STDOUT_FILENO), (stderr, libc::STDERR_FILENO)] {
            if let Some(fd) = fd
                && libc::dup2(fd, target) < 0
            {
                return false;
            }
        }
        libc::signal(libc::SIGPIPE, ignore_or_default(sigpipe_ignored));
        libc::signal(libc::SIGCHLD, ignore_or_default(sigchld_ignored));
        if stop > 0 && stop != libc::SIGKILL && stop != libc::SIGSTOP {
            libc::signal(stop, libc::SIG_DFL);
        }
        libc::sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut());
    }
    true
}

/// What both backends prepare before the fork, so that the child only reads plain values: the
/// strings and pointer arrays exec takes, the close-on-exec pipe through which the child reports
/// a failure (it closes empty when the exec succeeds), and the child's signal mask (the one
/// timeout-run inherited, with the stop signal unblocked).
pub(in crate::sys) struct Prepared {
    /// Owns the strings that `argv` points into.
    _strings: Vec<CString>,
    pub(in crate::sys) argv: Vec<*const libc::c_char>,
    pub(in crate::sys) env: Environment,
    report_read: OwnedFd,
    pub(in crate::sys) report_write: OwnedFd,
    pub(in crate::sys) mask: libc::sigset_t,
    pub(in crate::sys) stop: libc::c_int,
}

pub(in crate::sys) fn prepare(plan: &SpawnPlan<'_>) -> Result<Prepared, SpawnError> {
    if plan.command.is_empty() {
        return Err(SpawnError::internal(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no command",
        )));
    }
    let strings = plan
        .command
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let argv = null_terminated(&strings);
    let env = environment(&plan.env)?;
    let (report_read, report_write) = super::pipe_cloexec().map_err(SpawnError::internal)?;
    let mut mask = plan.inherited.mask;
    let stop = plan.stop_signal.raw();
    if stop > 0 {
        // SAFETY: sigdelset on a local sigset_t.
        unsafe { libc::sigdelset(&mut mask, stop) };
    }
    Ok(Prepared {
        _strings: strings,
        argv,
        env,
        report_read,
        report_write,
        mask,
        stop,
    })
}

impl Prepared {
    /// Once the child `pid` is started: waits until it has exec'd (`Ok`), or returns the failure
    /// it reported, after reaping it so that it is not mistaken for the command.
    pub(in crate::sys) fn exec_outcome(self, pid: Pid) -> Result<(), SpawnError> {
        // The parent's copy of the write end must go, or the pipe never closes.
        drop(self.report_write);
        let Some((stage, errno)) = read_report(self.report_read) else {
            return Ok(());
        };
        let _ = nix::sys::wait::waitpid(pid, None);
        let kind = match (stage, errno) {
            (STAGE_EXEC, libc::ENOENT) => SpawnFailure::NotFound,
            // GNU timeout: anything else that stops exec is "cannot invoke".
            (STAGE_EXEC, _) => SpawnFailure::NotExecutable,
            _ => SpawnFailure::Internal,
        };
        Err(SpawnError {
            kind,
            error: io::Error::from_raw_os_error(errno),
        })
    }
}

pub(in crate::sys) fn cstring(bytes: &[u8]) -> Result<CString, SpawnError> {
    CString::new(bytes).map_err(|_| {
        SpawnError::internal(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an argument or environment variable contains a NUL byte",
        ))
    })
}

/// The command's environment: timeout-run's own with `extra` set (replacing variables of the
/// same name). Only the extra variables are new strings; the rest point into timeout-run's
/// environment, which nothing modifies (timeout-run never calls setenv).
pub(in crate::sys) struct Environment {
    /// Owns the added strings that `pointers` refers to.
    _added: Vec<CString>,
    /// Null-terminated, as `execve` takes it.
    pub(in crate::sys) pointers: Vec<*const libc::c_char>,
}

pub(in crate::sys) fn environment(
    extra: &[(OsString, OsString)],
) -> Result<Environment, SpawnError> {
    let added = extra
        .iter()
        .map(|(key, value)| cstring(&[key.as_bytes(), b"=", value.as_bytes()].concat()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pointers = Vec::new();
    // SAFETY: `environ` is the C library's null-terminated array of "NAME=value" strings; it
    // and its strings stay valid and unchanged while timeout-run runs, since nothing in this
    // single-threaded program sets or unsets a variable.
    unsafe {
        let mut entry: *const *const libc::c_char = (*environ_slot()).cast();
        while !entry.is_null() && !(*entry).is_null() {
            let bytes = std::ffi::CStr::from_ptr(*entry).to_bytes();
            let replaced = extra.iter().any(|(key, _)| {
                bytes.len() > key.len()
                    && bytes.starts_with(key.as_bytes())
                    && bytes[key.len()] == b'='
            });
            // The backend choice is timeout-run's own, not the command's.
            let own = bytes.starts_with(BACKEND_ENV.as_bytes())
                && bytes.get(BACKEND_ENV.len()) == Some(&b'=');
            if !replaced && !own {
                pointers.push(*entry);
            }
            entry = entry.add(1);
        }
    }
    pointers.extend(added.iter().map(|s| s.as_ptr()));
    pointers.push(std::ptr::null());
    Ok(Environment {
        _added: added,
        pointers,
    })
}

pub(in crate::sys) fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Reads the child's failure report: `None` once the pipe closes empty (the exec succeeded).
fn read_report(fd: OwnedFd) -> Option<(i32, i32)> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(&fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    if got < buf.len() {
        return None;
    }
    let stage = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
    Some((stage, errno))
}

/// An exit or a death by signal; `None` for a stop or continue report.
pub(in crate::sys) fn decode(raw: libc::c_int) -> Option<Status> {
    if libc::WIFEXITED(raw) {
        Some(Status::Code(libc::WEXITSTATUS(raw)))
    } else if libc::WIFSIGNALED(raw) {
        Some(Status::Signal(
            Signal::from_raw(libc::WTERMSIG(raw)).unwrap_or(Signal::KILL),
        ))
    } else {
        None
    }
}
