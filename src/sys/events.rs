//! The supervisor's single stream of events: received signals, one absolute timer on the
//! supervisor's clock, and any extra descriptors the caller polls (the output relay). Between
//! events the process sleeps in `poll(2)`.

use std::io;
use std::os::fd::BorrowedFd;

use nix::poll::PollFlags;

use super::{Backend, backend, portable};
use crate::clock::Instant;
use crate::signal::Signal;
use crate::sys::spawn::Inherited;

/// A signal timeout-run received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signal: Signal,
    /// Sent by the kernel on a terminal's behalf (Ctrl-C, Ctrl-\, Ctrl-Z), not by kill().
    pub from_terminal: bool,
    /// Sender's pid, when a process sent it.
    pub sender: Option<i32>,
}

/// Which sources are ready after a wait.
#[derive(Debug, Default)]
pub struct Ready {
    pub signals: bool,
    pub timer: bool,
    /// Indexes into the `extra` slice given to [`EventSource::wait`].
    pub extra: Vec<usize>,
}

/// The event source of the backend in use.
pub enum EventSource {
    #[cfg(target_os = "linux")]
    Linux(super::linux::events::EventSource),
    Portable(portable::events::EventSource),
}

macro_rules! each {
    ($value:expr, $inner:ident => $body:expr) => {
        match $value {
            #[cfg(target_os = "linux")]
            EventSource::Linux($inner) => $body,
            EventSource::Portable($inner) => $body,
        }
    };
}

impl EventSource {
    /// Takes over every catchable signal and prepares the timer. Call before spawning, so no
    /// signal sent from then on is lost. Returns what the command must inherit.
    pub fn install() -> io::Result<(EventSource, Inherited)> {
        Ok(match backend() {
            #[cfg(target_os = "linux")]
            Backend::Linux => {
                let (source, inherited) = super::linux::events::EventSource::install()?;
                (EventSource::Linux(source), inherited)
            }
            Backend::Portable => {
                let (source, inherited) = portable::events::EventSource::install()?;
                (EventSource::Portable(source), inherited)
            }
        })
    }

    /// Arms the timer for an absolute instant on the supervisor's clock, or disarms it.
    pub fn arm(&mut self, at: Option<Instant>) -> io::Result<()> {
        each!(self, source => source.arm(at))
    }

    /// Sleeps until a signal, the timer, or one of `extra` (with its events) is ready.
    pub fn wait(&mut self, extra: &[(BorrowedFd<'_>, PollFlags)]) -> io::Result<Ready> {
        each!(self, source => source.wait(extra))
    }

    /// The signals received since the last call.
    pub fn read_signals(&mut self) -> Vec<Received> {
        each!(self, source => source.read_signals())
    }
}

/// In a process of timeout-run's own that goes on alone (the relay's keeper): every signal
/// back to its default action, as the Linux backend never changed them.
pub fn default_dispositions() {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => {}
        Backend::Portable => portable::events::default_dispositions(),
    }
}

/// Gives INT, TERM, HUP and QUIT back their default action (ending timeout-run), except where
/// it inherited them ignored, and unblocks them: for a last wait with nothing left to serve (its
/// own lines at exit, which a full stderr holds up), during which such a signal ends it as it
/// would end any process.
pub fn default_termination() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: sigaction and sigprocmask with local values; SIG_DFL runs no code.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut current) != 0
                || current.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &default, std::ptr::null_mut());
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}
