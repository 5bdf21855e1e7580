//! The portable backend: POSIX means only, for macOS and FreeBSD, and for Linux when
//! `TIMEOUT_RUN_BACKEND=portable` (see the parent module).
//!
//! - Signals: a handler on every catchable signal that timeout-run did not inherit as ignored
//!   (signal-hook's registry) writes the signal, its cause and its sender to a self-pipe.
//! - Waiting: `poll` on that pipe and the relay's pipes, with the time to the next deadline as
//!   its timeout on the supervisor's monotonic clock. No periodic wake-ups, except while the
//!   command has exited and other members of its process group still run (see [`spawn::reap`]).
//! - Spawning: fork and exec into a process group of its own.
//! - Containment: the process group (`killpg`); on FreeBSD also the reaper (`procctl`), which
//!   makes timeout-run the parent of every orphaned descendant and signals all of them.
//! - The census and the processes left: `ps`.

pub mod census;
pub mod contain;
pub mod events;
pub mod spawn;

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicI32};

/// The process group of the command of the current attempt, or 0 when it shares timeout-run's.
static GROUP: AtomicI32 = AtomicI32::new(0);

/// The command has exited but its process group lives: the event source wakes up at
/// [`events::GROUP_CHECK_INTERVAL`] to look again.
static WATCHING: AtomicBool = AtomicBool::new(false);

/// A pipe whose ends are both close-on-exec.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// A pipe whose ends are both close-on-exec (no `pipe2` on macOS; timeout-run is
/// single-threaded, so no fork can happen between the two calls).
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let (read, write) = nix::unistd::pipe()?;
    fcntl(&read, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    fcntl(&write, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok((read, write))
}
