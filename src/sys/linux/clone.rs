//! The `clone3` system call, as the command is started with it: fork-style (the child gets a
//! copy of timeout-run's memory), born in its cgroup (`CLONE_INTO_CGROUP`, Linux 5.7), with every
//! handled signal reset to its default action (`CLONE_CLEAR_SIGHAND`, Linux 5.5).
//!
//! Being born in the cgroup makes containment atomic: no instruction of the command runs outside
//! it, and the kernel does not wait for an RCU grace period as it does when a process moves in
//! by writing to `cgroup.procs`.
//!
//! The C library does not know about a child made this way (its fork handlers do not run), so
//! the child may only make raw system calls and async-signal-safe calls on data prepared before
//! the call, then exec or `_exit`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::unistd::Pid;

/// `struct clone_args` of `<linux/sched.h>` (the size that has the `cgroup` field).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of the call this is.
pub enum Forked {
    /// In the new process.
    Child,
    /// In timeout-run, with the child's pid.
    Parent(Pid),
}

/// Forks with `clone3`, the child placed in the cgroup `cgroup` if given. An error means no
/// child was made (old kernel, or a seccomp filter refusing the call): the caller falls back to
/// `fork`.
///
/// # Safety
///
/// As for `fork`: in the child, only async-signal-safe calls on memory prepared before this
/// call, ending in exec or `_exit`.
pub unsafe fn clone3(cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    let mut args = CloneArgs {
        flags: CLONE_CLEAR_SIGHAND,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(dir) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = dir.as_raw_fd() as u64;
    }
    // SAFETY: clone3 without CLONE_VM is a fork: the child runs on a copy of this stack and
    // returns here with 0; `args` is a valid `clone_args` of the size passed. The caller keeps
    // the child to async-signal-safe calls.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        0 => Ok(Forked::Child),
        pid if pid > 0 => Ok(Forked::Parent(Pid::from_raw(pid as libc::pid_t))),
        _ => Err(io::Error::last_os_error()),
    }
}
