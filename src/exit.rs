//! The exit-status policy (SPEC §6): the only place that knows 124, 125, 126, 127, and when
//! timeout-run re-raises a signal instead of exiting.

use crate::outcome::{Outcome, SpawnFailure, Status};
use crate::signal::Signal;

/// A timer (deadline or idle timeout) ended the command.
pub const TIMED_OUT: u8 = 124;
/// timeout-run itself failed: bad option, bad value, internal error.
pub const FAILURE: u8 = 125;
/// The command was found but could not be executed.
pub const NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
pub const NOT_FOUND: u8 = 127;

/// What timeout-run does last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `exit(code)`.
    Code(u8),
    /// Die by this signal, so the caller sees a death by signal (a shell then stops its loop).
    Raise(Signal),
}

/// The policy table of SPEC §6.
pub fn decide(outcome: Outcome, preserve_status: bool) -> Exit {
    match outcome {
        Outcome::Finished(Status::Code(code)) => Exit::Code((code & 0xff) as u8),
        Outcome::Finished(Status::Signal(signal)) => Exit::Raise(signal),
        Outcome::TimedOut { status, .. } if preserve_status => Exit::Code(status.shell_code()),
        Outcome::TimedOut { .. } => Exit::Code(TIMED_OUT),
        Outcome::Cancelled { signal, .. } => Exit::Raise(signal),
        Outcome::SpawnFailed(SpawnFailure::NotFound) => Exit::Code(NOT_FOUND),
        Outcome::SpawnFailed(SpawnFailure::NotExecutable) => Exit::Code(NOT_EXECUTABLE),
        Outcome::SpawnFailed(SpawnFailure::Internal) => Exit::Code(FAILURE),
    }
}

impl Exit {
    /// The status the caller observes, as a shell would print it in `$?`.
    pub fn shell_code(self) -> u8 {
        match self {
            Exit::Code(code) => code,
            Exit::Raise(signal) => Status::Signal(signal).shell_code(),
        }
    }
}

/// Ends the process with `exit`, after timeout-run's own lines that stderr has not taken yet
/// ([`crate::log::finish`]; by a signal, only what stderr takes at once); nothing else is
/// flushed but what `std::process::exit` flushes.
pub fn terminate(exit: Exit) -> ! {
    if let Exit::Raise(signal) = exit {
        crate::log::finish_now();
        raise_default(signal);
    }
    crate::log::finish();
    std::process::exit(i32::from(exit.shell_code()))
}

/// Dies by `signal` with its default action. Core dumps are disabled first (the command dumped
/// core already; timeout-run's own core is noise). Returns only when the signal did not kill, as
/// for PID 1, whose default-action signals the kernel discards; the caller then exits 128+S.
fn raise_default(signal: Signal) {
    use nix::sys::resource::{Resource, setrlimit};
    use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, sigprocmask};

    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    let Ok(sig) = nix::sys::signal::Signal::try_from(signal.raw()) else {
        // A real-time signal: nix's enum lacks them, so use libc directly.
        // SAFETY: resetting a disposition to SIG_DFL and raising are plain syscalls with no
        // memory effects; no handler runs.
        unsafe {
            libc::signal(signal.raw(), libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal.raw());
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal.raw());
        }
        return;
    };
    // SAFETY: SIG_DFL installs no handler, so no async-signal-safety concern arises.
    let _ = unsafe { nix::sys::signal::signal(sig, SigHandler::SigDfl) };
    let mut set = SigSet::empty();
    set.add(sig);
    let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    let _ = nix::sys::signal::raise(sig);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Expiry;

    const TERM: Signal = Signal::TERM;
    const KILL: Signal = Signal::KILL;

    fn both(outcome: Outcome) -> (Exit, Exit) {
        (decide(outcome, false), decide(outcome, true))
    }

    #[test]
    fn command_exit_code_passes_through() {
        for code in [0, 1, 2, 124, 125, 126, 127, 255] {
            let out = Outcome::Finished(Status::Code(code));
            assert_eq!(both(out), (Exit::Code(code as u8), Exit::Code(code as u8)));
        }
    }

    #[test]
    fn command_killed_by_foreign_signal_is_re_raised() {
        let out = Outcome::Finished(Status::Signal(Signal::from_raw(libc::SIGSEGV).unwrap()));
        let seg = Signal::from_raw(libc::SIGSEGV).unwrap();
        assert_eq!(both(out), (Exit::Raise(seg), Exit::Raise(seg)));
    }

    #[test]
    fn timeout_is_124_even_after_sigkill() {
        for status in [Status::Signal(TERM), Status::Signal(KILL), Status::Code(0)] {
            let out = Outcome::TimedOut {
                expiry: Expiry::Deadline,
                status,
            };
            assert_eq!(decide(out, false), Exit::Code(TIMED_OUT));
            let idle = Outcome::TimedOut {
                expiry: Expiry::Idle,
                status,
            };
            assert_eq!(decide(idle, false), Exit::Code(TIMED_OUT));
        }
    }

    #[test]
    fn preserve_status_reports_the_command_status() {
        let out = |status| Outcome::TimedOut {
            expiry: Expiry::Deadline,
            status,
        };
        assert_eq!(decide(out(Status::Signal(TERM)), true), Exit::Code(143));
        assert_eq!(decide(out(Status::Signal(KILL)), true), Exit::Code(137));
        assert_eq!(decide(out(Status::Code(3)), true), Exit::Code(3));
    }

    #[test]
    fn cancellation_re_raises_the_received_signal() {
        for signal in [Signal::INT, Signal::TERM, Signal::HUP, Signal::QUIT] {
            for status in [None, Some(Status::Code(0)), Some(Status::Signal(KILL))] {
                let out = Outcome::Cancelled { signal, status };
                assert_eq!(both(out), (Exit::Raise(signal), Exit::Raise(signal)));
            }
        }
    }

    #[test]
    fn spawn_failures() {
        let f = |k| decide(Outcome::SpawnFailed(k), false);
        assert_eq!(f(SpawnFailure::NotFound), Exit::Code(127));
        assert_eq!(f(SpawnFailure::NotExecutable), Exit::Code(126));
        assert_eq!(f(SpawnFailure::Internal), Exit::Code(125));
    }

    #[test]
    fn shell_codes() {
        assert_eq!(Exit::Raise(Signal::INT).shell_code(), 130);
        assert_eq!(Status::Code(256 + 3).shell_code(), 3);
    }
}
