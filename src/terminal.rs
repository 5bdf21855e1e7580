//! The controlling terminal: whether the command must share timeout-run's process group, and
//! restoring the terminal's foreground group and settings at exit.
//!
//! When timeout-run has a controlling terminal (on stdin, stdout or stderr, or only reachable as
//! `/dev/tty`), the command stays in timeout-run's process group instead of getting one of its
//! own, as under GNU timeout started from an interactive shell. That group is the job the shell
//! controls: in the foreground, the command can read the terminal (a group of its own would be
//! a background group, stopped by SIGTTIN at its first read, even for a password prompt on
//! `/dev/tty` with stdin redirected); started in the background (`&`) and brought back with
//! `fg`, the command comes to the foreground with it. Where the backend cannot find the
//! descendants of a command in a shared group (macOS), it shares only when stdin is the
//! terminal and timeout-run is in its foreground. Sharing the group means Ctrl-C and Ctrl-Z reach the command directly
//! from the kernel, so timeout-run must not relay those (it tells them apart by si_code
//! SI_KERNEL), and the tree is signalled pid by pid, never with `killpg` (the group holds
//! timeout-run and maybe its parent shell). See docs/design.md.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::signal::Signal;

/// timeout-run's controlling terminal.
pub struct Terminal {
    /// Where to reach it: fd 0, 1 or 2, or `/dev/tty` (opened again each time it is needed:
    /// held open, it would keep the terminal alive for whoever waits for it to close, such as
    /// `ssh -t host 'nohup timeout-run ... &'`).
    fd: Option<RawFd>,
    /// The settings at start, when timeout-run started in the foreground (a background job
    /// may see the shell's own line-editing settings).
    saved: Option<libc::termios>,
    group: libc::pid_t,
}

/// `/dev/tty`, the caller's controlling terminal, opened without becoming one.
fn open_dev_tty() -> Option<OwnedFd> {
    const DEV_TTY: &CStr = c"/dev/tty";
    // SAFETY: open of a constant path; the result is checked before use.
    let fd = unsafe {
        libc::open(
            DEV_TTY.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    // SAFETY: a descriptor just opened, owned by nothing else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Terminal {
    /// `Some` when timeout-run has a controlling terminal.
    pub fn detect() -> Option<Terminal> {
        // SAFETY: getsid and getpgrp only query the calling process.
        let (session, group) = unsafe { (libc::getsid(0), libc::getpgrp()) };
        // SAFETY: isatty and tcgetsid only query the descriptor; tcgetsid fails unless it is
        // the controlling terminal of the caller.
        let ours = |fd: RawFd| unsafe { libc::isatty(fd) == 1 && libc::tcgetsid(fd) == session };
        let fd = [0, 1, 2].into_iter().find(|fd| ours(*fd));
        let tty = match fd {
            Some(_) => None,
            None => Some(open_dev_tty().filter(|tty| ours(tty.as_raw_fd()))?),
        };
        let any = fd.or(tty.as_ref().map(|t| t.as_raw_fd()))?;
        // SAFETY: tcgetpgrp and tcgetattr only read state into locals.
        let saved = unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            (libc::tcgetpgrp(any) == group && libc::tcgetattr(any, &mut saved) == 0)
                .then_some(saved)
        };
        Some(Terminal { fd, saved, group })
    }

    /// Whether stdin is the terminal and timeout-run started in its foreground: the command
    /// reads the terminal only if it shares timeout-run's group, whatever else is known.
    pub fn stdin_in_foreground(&self) -> bool {
        self.fd == Some(0) && self.saved.is_some()
    }

    /// Calls `f` with a descriptor of the terminal; `None` when it cannot be reached any more.
    fn with_fd<R>(&self, f: impl FnOnce(RawFd) -> R) -> Option<R> {
        match self.fd {
            Some(fd) => Some(f(fd)),
            None => open_dev_tty().map(|tty| f(tty.as_raw_fd())),
        }
    }

    /// Whether timeout-run's process group is the terminal's foreground group; `None` when the
    /// terminal is gone (hung up, or the session lost it).
    pub fn foreground(&self) -> Option<bool> {
        // SAFETY: tcgetpgrp only queries the terminal.
        let group = self.with_fd(|fd| unsafe { libc::tcgetpgrp(fd) })?;
        (group > 0).then_some(group == self.group)
    }

    /// Gives the terminal back to timeout-run's group if the foreground group that the command
    /// left behind is now empty, then restores the settings timeout-run started with (a killed
    /// full-screen program leaves raw mode and no echo behind). Nothing is taken from a live
    /// group: if the user moved the job to the background, the shell keeps the terminal.
    pub fn restore(&self) {
        let Some(saved) = &self.saved else {
            return;
        };
        // SAFETY: terminal ioctls on the terminal's descriptor with pointers to locals, and
        // sigprocmask on local sets. SIGTTOU is blocked meanwhile (the Linux backend's event
        // source blocks it anyway), so calling them from a background group stops neither
        // timeout-run nor the rest of its process group.
        self.with_fd(|fd| unsafe {
            let mut ttou: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut ttou);
            libc::sigaddset(&mut ttou, libc::SIGTTOU);
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_BLOCK, &ttou, &mut mask);
            let foreground = libc::tcgetpgrp(fd);
            if foreground > 0 && foreground != self.group && libc::killpg(foreground, 0) != 0 {
                libc::tcsetpgrp(fd, self.group);
            }
            if libc::tcgetpgrp(fd) == self.group {
                libc::tcsetattr(fd, libc::TCSANOW, saved);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        });
    }
}

/// Whether a signal timeout-run received reached its whole process group (the job, which the
/// command shares), so that it must not be relayed there again:
/// - one the terminal sent (Ctrl-C, Ctrl-Z, a background read), except a hang-up when
///   timeout-run leads the session: the kernel sends that to the session leader alone (a
///   SIGHUP from the kernel to a process that does not lead its session is the foreground
///   group's, sent when the session leader exited);
/// - a SIGTSTP from another process of the group: vim and less, on Ctrl-Z, put the terminal
///   back and stop their whole group (`kill(0, SIGTSTP)`). Not from timeout-run's parent: a
///   script that started it (`timeout-run ... & kill -TSTP $!`) is in the group too when no job
///   control puts its jobs in groups of their own, and signals timeout-run alone.
pub fn heard_by_the_group(signal: Signal, from_terminal: bool, sender: Option<i32>) -> bool {
    // SAFETY: getsid, getpid, getpgid and getpgrp only query process state.
    unsafe {
        if from_terminal {
            signal != Signal::HUP || libc::getsid(0) != libc::getpid()
        } else {
            signal == Signal::TSTP
                && sender.is_some_and(|pid| {
                    pid != libc::getpid()
                        && pid != libc::getppid()
                        && libc::getpgid(pid) == libc::getpgrp()
                })
        }
    }
}

/// Whether stderr is a terminal (a person may be reading it).
pub fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only queries the descriptor.
    unsafe { libc::isatty(libc::STDERR_FILENO) == 1 }
}

/// Stops timeout-run by `signal` (default action: stop), as a job-control stop would stop any
/// process, so the shell reports the job as it would without timeout-run. For that moment the
/// signal has its default disposition and is unblocked (the Linux backend blocks it for its
/// signalfd, the portable one has a handler on it): a pending one is delivered before kill()
/// returns. Once a SIGCONT resumes us, the mask and the disposition are put back.
///
/// Returns false, without stopping, when a SIGCONT is already waiting to be read: the job was
/// resumed (`fg`) after the stop signal was sent, and stopping now would discard that SIGCONT
/// and leave the job stopped for good. (Where SIGCONT is not blocked, nothing is ever pending.)
pub fn suspend_self(signal: Signal) -> bool {
    // SAFETY: sigpending fills a local set.
    let resumed = unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGCONT) == 1
    };
    if resumed {
        return false;
    }
    // SAFETY: sigaction, sigprocmask and kill on our own process with local values; while the
    // signal's disposition is the default one, no code runs on its delivery.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        let mut saved: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal.raw(), &default, &mut saved);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal.raw());
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, &mut mask);
        libc::kill(libc::getpid(), signal.raw());
        libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        libc::sigaction(signal.raw(), &saved, std::ptr::null_mut());
    }
    true
}
