//! The supervisor's single stream of events: received signals (a signalfd), one absolute timer on
//! CLOCK_BOOTTIME (a timerfd), and any extra descriptors the caller polls (output relay). Between
//! events the process sleeps in `poll(2)`: no periodic wake-ups.
//!
//! Every catchable signal is blocked and read from the signalfd, so no handler ever runs and the
//! dispositions the command inherits through exec are exactly the ones timeout-run inherited. A
//! signal inherited as ignored stays ignored: the kernel still queues it while it is blocked, so
//! its disposition is checked when it is read, and it is dropped there (timeout-run neither acts
//! on it nor relays it). Checking on arrival rather than at start-up saves querying all 64
//! dispositions on every start.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use crate::clock::{self, Instant};
use crate::signal::Signal;
use crate::sys::events::{Ready, Received};
use crate::sys::spawn::Inherited;

/// signalfd + timerfd.
pub struct EventSource {
    signals: OwnedFd,
    timer: TimerFd,
    armed: Option<Instant>,
}

impl EventSource {
    /// Blocks every catchable signal and opens the descriptors. Call before
    /// spawning, so no signal sent from then on is lost.
    pub fn install() -> io::Result<(EventSource, Inherited)> {
        // SAFETY: plain syscalls on local, zero-initialised sigset_t and sigaction values; no
        // handler is installed (only SIG_DFL for SIGCHLD).
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            let mut original: libc::sigset_t = std::mem::zeroed();
            if libc::sigprocmask(libc::SIG_BLOCK, &mask, &mut original) != 0 {
                return Err(io::Error::last_os_error());
            }
            let sigchld_ignored = disposition_is_ignore(libc::SIGCHLD);
            if sigchld_ignored {
                // With SIGCHLD ignored, children are reaped by the kernel and waitpid() fails
                // with ECHILD: reaping and exit statuses would be lost.
                libc::signal(libc::SIGCHLD, libc::SIG_DFL);
            }
            for number in 1..=max_signal() {
                // SIGPIPE is timeout-run's own (ignored, for its writes); the C library refuses
                // the two real-time signals it reserves.
                if !matches!(number, libc::SIGKILL | libc::SIGSTOP | libc::SIGPIPE) {
                    libc::sigaddset(&mut mask, number);
                }
            }
            if libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &mask, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let signals = OwnedFd::from_raw_fd(fd);
            let timer = TimerFd::new(
                nix::sys::timerfd::ClockId::CLOCK_BOOTTIME,
                TimerFlags::TFD_CLOEXEC | TimerFlags::TFD_NONBLOCK,
            )?;
            let inherited = Inherited {
                mask: original,
                sigchld_ignored,
                sigpipe_ignored: crate::startup::sigpipe_was_ignored(),
            };
            Ok((
                EventSource {
                    signals,
                    timer,
                    armed: None,
                },
                inherited,
            ))
        }
    }

    /// Arms the timer for an absolute instant on the supervisor's clock, or disarms it.
    pub fn arm(&mut self, at: Option<Instant>) -> io::Result<()> {
        if at == self.armed {
            return Ok(());
        }
        match at {
            Some(at) => {
                // An absolute expiry of zero would disarm the timer; the clock is never at zero.
                let when = at.since_origin().max(std::time::Duration::from_nanos(1));
                self.timer.set(
                    Expiration::OneShot(TimeSpec::from_duration(when)),
                    TimerSetTimeFlags::TFD_TIMER_ABSTIME,
                )?;
            }
            None => self.timer.unset()?,
        }
        self.armed = at;
        Ok(())
    }

    /// Sleeps until a signal, the timer, or one of `extra` (with its events) is ready.
    pub fn wait(&mut self, extra: &[(BorrowedFd<'_>, PollFlags)]) -> io::Result<Ready> {
        let mut fds = Vec::with_capacity(2 + extra.len());
        fds.push(PollFd::new(self.signals.as_fd(), PollFlags::POLLIN));
        fds.push(PollFd::new(self.timer.as_fd(), PollFlags::POLLIN));
        fds.extend(extra.iter().map(|(fd, events)| PollFd::new(*fd, *events)));
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        let mut out = Ready {
            signals: ready(&fds[0]),
            timer: ready(&fds[1]),
            extra: Vec::new(),
        };
        out.extra = fds[2..]
            .iter()
            .enumerate()
            .filter(|(_, fd)| ready(fd))
            .map(|(i, _)| i)
            .collect();
        if out.timer {
            // Consume the expiration count so the descriptor stops being readable.
            let mut buf = [0u8; 8];
            // SAFETY: reading 8 bytes into a local buffer from a descriptor we own.
            unsafe {
                libc::read(
                    self.timer.as_fd().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                );
            }
            self.armed = None;
        }
        Ok(out)
    }

    /// Drains the signalfd.
    pub fn read_signals(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        loop {
            // SAFETY: signalfd_siginfo is plain data; read() fills at most its size.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: the buffer is a local of exactly `size` bytes.
            let n = unsafe {
                libc::read(
                    self.signals.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n != size as isize {
                break;
            }
            let Some(signal) = Signal::from_raw(info.ssi_signo as i32) else {
                continue;
            };
            if disposition_is_ignore(signal.raw()) {
                // Inherited as ignored: it stays ignored.
                continue;
            }
            let code = info.ssi_code;
            out.push(Received {
                signal,
                // The kernel sends other signals too (timers, resource limits): only these come
                // from a terminal's line discipline.
                from_terminal: code == libc::SI_KERNEL
                    && [
                        libc::SIGINT,
                        libc::SIGQUIT,
                        libc::SIGTSTP,
                        libc::SIGTTIN,
                        libc::SIGTTOU,
                        libc::SIGHUP,
                        libc::SIGWINCH,
                    ]
                    .contains(&signal.raw()),
                sender: (code == libc::SI_USER || code == libc::SI_QUEUE)
                    .then_some(info.ssi_pid as i32),
            });
        }
        out
    }
}

/// Largest signal number on this system.
fn max_signal() -> i32 {
    libc::SIGRTMAX()
}

/// Whether `number`'s current disposition is SIG_IGN.
fn disposition_is_ignore(number: i32) -> bool {
    // SAFETY: querying a disposition (null new action) has no effect.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(number, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The clock the timer uses must be the one `Instant` reads.
const _: () = assert!(matches!(clock::CLOCK, nix::time::ClockId::CLOCK_BOOTTIME));
