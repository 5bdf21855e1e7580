//! Signals and the timer with POSIX means: a handler (registered through signal-hook's
//! registry) writes each signal's number, cause and sender to a non-blocking self-pipe, and the
//! supervisor sleeps in `poll` on that pipe with the time to its next deadline as the timeout.
//!
//! A handler is installed only for a signal that timeout-run did not inherit as ignored: such a
//! signal stays ignored (never acted on, never relayed), and the command inherits it ignored.
//! Exec resets the handlers of the command to the default disposition.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::WATCHING;
use crate::clock::Instant;
use crate::signal::Signal;
use crate::sys::events::{Ready, Received};
use crate::sys::spawn::Inherited;

/// How often the process group is looked at while the command has exited and other members
/// of its group still run: they die without telling timeout-run, which is not their parent.
pub const GROUP_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// The signals timeout-run has a handler for.
static HANDLED: OnceLock<Vec<libc::c_int>> = OnceLock::new();

/// The signals timeout-run has a handler for (empty before [`EventSource::install`]).
pub fn handled() -> &'static [libc::c_int] {
    HANDLED.get().map(Vec::as_slice).unwrap_or(&[])
}

/// Every handled signal back to its default action (in a process that goes on alone).
pub fn default_dispositions() {
    for &number in handled() {
        // SAFETY: signal(2) with SIG_DFL on a valid signal number.
        unsafe { libc::signal(number, libc::SIG_DFL) };
    }
}

/// The self-pipe's read end and the armed deadline.
pub struct EventSource {
    read: OwnedFd,
    armed: Option<Instant>,
    /// A group check is due: reported as a SIGCHLD, so the supervisor reaps and looks again.
    check_group: bool,
}

/// One record on the self-pipe: signal number, `si_code`, sender's pid.
type Record = [libc::c_int; 3];

impl EventSource {
    /// Installs the handlers and opens the self-pipe. Call before spawning, so no signal sent
    /// from then on is lost.
    pub fn install() -> io::Result<(EventSource, Inherited)> {
        // SAFETY: sigprocmask with an empty set only reads the mask into a local.
        let original = unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            let mut original: libc::sigset_t = std::mem::zeroed();
            if libc::sigprocmask(libc::SIG_BLOCK, &empty, &mut original) != 0 {
                return Err(io::Error::last_os_error());
            }
            original
        };
        let sigchld_ignored = disposition_is_ignore(libc::SIGCHLD);
        let (read, write) = super::pipe_cloexec()?;
        for fd in [&read, &write] {
            fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        }
        // The write end lives as long as the process: the handlers use it until exit.
        let write = std::mem::ManuallyDrop::new(write).as_raw_fd();
        let mut handled = Vec::new();
        for number in 1..=max_signal() {
            if matches!(number, libc::SIGKILL | libc::SIGSTOP | libc::SIGPIPE)
                || signal_hook_registry::FORBIDDEN.contains(&number)
            {
                continue;
            }
            if number == libc::SIGCHLD && sigchld_ignored {
                // With SIGCHLD ignored, children are reaped by the kernel and waitpid() fails
                // with ECHILD: reaping and exit statuses would be lost. The command gets it
                // back ignored.
            } else if disposition_is_ignore(number) {
                // Inherited as ignored: it stays ignored.
                continue;
            }
            // SAFETY: the action is async-signal-safe: it reads the siginfo it is given and
            // makes one write(2) of a small record to a non-blocking pipe (atomic below
            // PIPE_BUF; dropped if the pipe is full, as coalescing signals are anyway). The
            // registry saves and restores errno around it.
            let registered = unsafe {
                signal_hook_registry::register_sigaction(number, move |info: &libc::siginfo_t| {
                    let record: Record = [number, info.si_code, sender(info)];
                    libc::write(write, record.as_ptr().cast(), std::mem::size_of::<Record>());
                })
            };
            match registered {
                Ok(_) => handled.push(number),
                // Some systems refuse a few numbers (reserved real-time signals).
                Err(e) => tracing::trace!("no handler for signal {number}: {e}"),
            }
        }
        // Handled signals must be deliverable to timeout-run; the command gets the original
        // mask back.
        // SAFETY: sigemptyset, sigaddset and sigprocmask on a local sigset_t.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &number in &handled {
                libc::sigaddset(&mut set, number);
            }
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
        let _ = HANDLED.set(handled);
        let inherited = Inherited {
            mask: original,
            sigchld_ignored,
            sigpipe_ignored: crate::startup::sigpipe_was_ignored(),
        };
        Ok((
            EventSource {
                read,
                armed: None,
                check_group: false,
            },
            inherited,
        ))
    }

    /// Arms the deadline for an absolute instant on the supervisor's clock, or disarms it.
    pub fn arm(&mut self, at: Option<Instant>) -> io::Result<()> {
        self.armed = at;
        Ok(())
    }

    /// Sleeps until a signal, the deadline, or one of `extra` (with its events) is ready.
    pub fn wait(&mut self, extra: &[(BorrowedFd<'_>, PollFlags)]) -> io::Result<Ready> {
        let mut fds = Vec::with_capacity(1 + extra.len());
        fds.push(PollFd::new(self.read.as_fd(), PollFlags::POLLIN));
        fds.extend(extra.iter().map(|(fd, events)| PollFd::new(*fd, *events)));
        let mut out = Ready::default();
        loop {
            let now = Instant::now();
            let until_deadline = self.armed.map(|at| at.since(now));
            if until_deadline == Some(Duration::ZERO) {
                out.timer = true;
                self.armed = None;
                break;
            }
            let watching = WATCHING.load(Ordering::Relaxed);
            let sleep = match (until_deadline, watching) {
                (Some(d), true) => Some(d.min(GROUP_CHECK_INTERVAL)),
                (Some(d), false) => Some(d),
                (None, true) => Some(GROUP_CHECK_INTERVAL),
                (None, false) => None,
            };
            match poll(&mut fds, poll_timeout(sleep)) {
                Ok(0) if watching && self.armed.is_none_or(|at| Instant::now() < at) => {
                    self.check_group = true;
                    break;
                }
                // The deadline, or a poll timeout capped below it: look again.
                Ok(0) => continue,
                Ok(_) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        out.signals = ready(&fds[0]) || self.check_group;
        out.extra = fds[1..]
            .iter()
            .enumerate()
            .filter(|(_, fd)| ready(fd))
            .map(|(i, _)| i)
            .collect();
        if self.armed.is_some_and(|at| Instant::now() >= at) {
            out.timer = true;
            self.armed = None;
        }
        Ok(out)
    }

    /// Drains the self-pipe.
    pub fn read_signals(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        if std::mem::take(&mut self.check_group) {
            out.push(Received {
                signal: Signal::CHLD,
                from_terminal: false,
                sender: None,
            });
        }
        loop {
            let mut record: Record = [0; 3];
            let size = std::mem::size_of::<Record>();
            // SAFETY: the buffer is a local of exactly `size` bytes.
            let n = unsafe { libc::read(self.read.as_raw_fd(), record.as_mut_ptr().cast(), size) };
            if n != size as isize {
                break;
            }
            let [number, code, pid] = record;
            let Some(signal) = Signal::from_raw(number) else {
                continue;
            };
            let from_terminal = from_kernel(code, pid);
            out.push(Received {
                signal,
                from_terminal,
                sender: (!from_terminal && pid > 0).then_some(pid),
            });
        }
        out
    }
}

/// A poll timeout that does not wake before `sleep` has passed (milliseconds, rounded up).
fn poll_timeout(sleep: Option<Duration>) -> PollTimeout {
    match sleep {
        None => PollTimeout::NONE,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            // Longer than poll can say (24 days): wake up then and look again.
            PollTimeout::try_from(i32::try_from(ms).unwrap_or(i32::MAX)).unwrap_or(PollTimeout::MAX)
        }
    }
}

/// The sender's pid, where the signal carries one.
fn sender(info: &libc::siginfo_t) -> libc::c_int {
    if info.si_code == si_code::USER || info.si_code == si_code::QUEUE {
        // SAFETY: for signals sent by kill() or sigqueue(), si_pid is set.
        unsafe { info.si_pid() }
    } else {
        0
    }
}

/// Whether the kernel sent the signal itself (on a terminal's behalf: Ctrl-C, Ctrl-\, Ctrl-Z)
/// rather than a process through kill(). macOS has no SI_KERNEL: there a terminal's signal
/// carries neither SI_USER nor SI_QUEUE, and no sender.
fn from_kernel(code: libc::c_int, pid: libc::c_int) -> bool {
    match si_code::KERNEL {
        Some(kernel) => code == kernel,
        None => code != si_code::USER && code != si_code::QUEUE && pid == 0,
    }
}

/// `si_code` values (the C library's `SI_*`).
#[cfg(target_os = "linux")]
mod si_code {
    pub const USER: libc::c_int = libc::SI_USER;
    pub const QUEUE: libc::c_int = libc::SI_QUEUE;
    pub const KERNEL: Option<libc::c_int> = Some(libc::SI_KERNEL);
}

/// `si_code` values, from `<sys/signal.h>` of FreeBSD and macOS (the libc crate lacks them).
#[cfg(not(target_os = "linux"))]
mod si_code {
    pub const USER: libc::c_int = 0x10001;
    pub const QUEUE: libc::c_int = 0x10002;
    pub const KERNEL: Option<libc::c_int> = if cfg!(target_os = "freebsd") {
        Some(0x10006)
    } else {
        None
    };
}

/// Largest signal number on this system.
fn max_signal() -> libc::c_int {
    Signal::max_raw()
}

/// Whether `number`'s current disposition is SIG_IGN.
fn disposition_is_ignore(number: libc::c_int) -> bool {
    // SAFETY: querying a disposition (null new action) has no effect.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(number, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}
