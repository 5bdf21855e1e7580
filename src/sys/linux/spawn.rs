//! Spawning the command (process group, cgroup membership, parent-death signal, inherited signal
//! state) and reaping children.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::Pid;

use crate::outcome::{SpawnFailure, Status};
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
    fn internal(error: io::Error) -> SpawnError {
        SpawnError {
            kind: SpawnFailure::Internal,
            error,
        }
    }

    /// The OS reason without Rust's "(os error N)" suffix, as GNU prints it.
    pub fn reason(&self) -> String {
        match self.error.raw_os_error() {
            Some(code) => Errno::from_raw(code).desc().to_owned(),
            None => self.error.to_string(),
        }
    }
}

/// Where in the child a failure happened, reported through the status pipe.
const STAGE_SETUP: i32 = 1;
const STAGE_EXEC: i32 = 2;

/// Everything the child needs, prepared before the spawn: between clone (or fork) and exec the
/// child only reads these plain values and makes async-signal-safe calls (no allocation, no
/// lock).
struct ChildPlan {
    argv: Vec<*const libc::c_char>,
    /// Into the `Environment` that `spawn` keeps alive.
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
    if plan.command.is_empty() {
        return Err(SpawnError::internal(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no command",
        )));
    }
    // The strings the pointer arrays point into live until the function returns.
    let argv_strings = plan
        .command
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let env = environment(&plan.env)?;
    let argv = null_terminated(&argv_strings);

    let (report_read, report_write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| SpawnError::internal(e.into()))?;

    let mut mask = plan.inherited.mask;
    let stop = plan.stop_signal.raw();
    if stop > 0 {
        // SAFETY: sigdelset on a local sigset_t.
        unsafe { libc::sigdelset(&mut mask, stop) };
    }
    let mut child = ChildPlan {
        argv,
        envp: env.pointers.as_ptr(),
        new_group: plan.new_group,
        join_procs: None,
        parent: nix::unistd::getpid().as_raw(),
        stdout: plan.stdout.as_ref().map(|fd| fd.as_raw_fd()),
        stderr: plan.stderr.as_ref().map(|fd| fd.as_raw_fd()),
        mask,
        stop,
        sigpipe_ignored: plan.inherited.sigpipe_ignored,
        sigchld_ignored: plan.inherited.sigchld_ignored,
        report: report_write.as_raw_fd(),
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
    drop(report_write);
    // The relay's ends now belong to the child alone.
    drop(plan.stdout);
    drop(plan.stderr);

    match read_report(report_read) {
        None => Ok(Spawned {
            pid,
            born_in_cgroup,
        }),
        Some((stage, errno)) => {
            // The child has _exit()ed: reap it now, so it is not mistaken for the command.
            let _ = nix::sys::wait::waitpid(pid, None);
            let error = io::Error::from_raw_os_error(errno);
            let kind = match (stage, errno) {
                (STAGE_EXEC, libc::ENOENT) => SpawnFailure::NotFound,
                // GNU timeout: anything else that stops exec is "cannot invoke".
                (STAGE_EXEC, _) => SpawnFailure::NotExecutable,
                _ => SpawnFailure::Internal,
            };
            Err(SpawnError { kind, error })
        }
    }
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

fn cstring(bytes: &[u8]) -> Result<CString, SpawnError> {
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
struct Environment {
    /// Owns the added strings that `pointers` refers to.
    _added: Vec<CString>,
    /// Null-terminated, as `execve` takes it.
    pointers: Vec<*const libc::c_char>,
}

fn environment(extra: &[(OsString, OsString)]) -> Result<Environment, SpawnError> {
    unsafe extern "C" {
        static environ: *const *const libc::c_char;
    }
    let added = extra
        .iter()
        .map(|(key, value)| cstring(&[key.as_bytes(), b"=", value.as_bytes()].concat()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pointers = Vec::new();
    // SAFETY: `environ` is the C library's null-terminated array of "NAME=value" strings; it
    // and its strings stay valid and unchanged while timeout-run runs, since nothing in this
    // single-threaded program sets or unsets a variable.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let bytes = std::ffi::CStr::from_ptr(*entry).to_bytes();
            let replaced = extra.iter().any(|(key, _)| {
                bytes.len() > key.len()
                    && bytes.starts_with(key.as_bytes())
                    && bytes[key.len()] == b'='
            });
            if !replaced {
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

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
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

#[cfg(not(target_os = "linux"))]
fn clone_child(_cgroup: Option<BorrowedFd<'_>>, _child: &ChildPlan) -> io::Result<Pid> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
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
        if let Some(fd) = plan.stdout
            && libc::dup2(fd, libc::STDOUT_FILENO) < 0
        {
            fail(STAGE_SETUP);
        }
        if let Some(fd) = plan.stderr
            && libc::dup2(fd, libc::STDERR_FILENO) < 0
        {
            fail(STAGE_SETUP);
        }
        // Hand on the dispositions timeout-run inherited (it ignores SIGPIPE and takes SIGCHLD
        // back for itself), with the stop signal deliverable.
        let ignore_or_default = |ignored| {
            if ignored {
                libc::SIG_IGN
            } else {
                libc::SIG_DFL
            }
        };
        libc::signal(libc::SIGPIPE, ignore_or_default(plan.sigpipe_ignored));
        libc::signal(libc::SIGCHLD, ignore_or_default(plan.sigchld_ignored));
        if plan.stop > 0 && plan.stop != libc::SIGKILL && plan.stop != libc::SIGSTOP {
            libc::signal(plan.stop, libc::SIG_DFL);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &plan.mask, std::ptr::null_mut());
        execvpe(plan.argv[0], plan.argv.as_ptr(), plan.envp);
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

/// `execvp` with an explicit environment, for systems without `execvpe`: replaces `environ`,
/// which is a plain store in the forked child's own copy of memory.
#[cfg(not(target_os = "linux"))]
unsafe fn execvpe(
    file: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) {
    unsafe extern "C" {
        static mut environ: *const *const libc::c_char;
    }
    // SAFETY: see above; the caller passes valid null-terminated arrays.
    unsafe {
        environ = envp;
        libc::execvp(file, argv);
    }
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
///
/// `waitpid(-1)` looks at every child on each call, so reaping a few hundred orphans that way
/// costs time quadratic in their number (a third of a millisecond per call with 300 children);
/// with many children they are first waited for one by one, by pid, which the kernel answers
/// without the scan.
pub fn reap() -> Reaping {
    let mut out = Reaping::default();
    let me = std::process::id() as i32;
    let children = crate::sys::procfs::children_of(me, 1);
    if children.len() > 16 {
        for pid in children {
            if let Some(reaped) = wait_one(pid) {
                out.reaped.push(reaped);
            }
        }
    }
    loop {
        let mut raw = 0;
        // SAFETY: waitpid writes the status into a local integer.
        let pid = unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) };
        if pid > 0 {
            if let Some(status) = decode(raw) {
                out.reaped.push(Reaped {
                    pid: Pid::from_raw(pid),
                    status,
                });
            }
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

/// Reaps the child `pid` if it has exited.
fn wait_one(pid: i32) -> Option<Reaped> {
    let mut raw = 0;
    loop {
        // SAFETY: waitpid writes the status into a local integer.
        let got = unsafe { libc::waitpid(pid, &mut raw, libc::WNOHANG) };
        if got == pid {
            return decode(raw).map(|status| Reaped {
                pid: Pid::from_raw(pid),
                status,
            });
        }
        if got < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return None;
    }
}

/// An exit or a death by signal; `None` for a stop or continue report.
fn decode(raw: libc::c_int) -> Option<Status> {
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
