//! The controlling terminal: whether the command must share timeout-run's (foreground) process
//! group, and restoring the terminal's foreground group and settings at exit.
//!
//! When stdin is a terminal and timeout-run's process group is the terminal's foreground group,
//! the command stays in that group instead of getting one of its own. Otherwise it would sit in
//! a background group and stop on SIGTTIN the moment it read the terminal (GNU timeout's
//! behaviour). Sharing the group means Ctrl-C and Ctrl-Z reach the command directly from the
//! kernel, so timeout-run must not relay those (it tells them apart by si_code SI_KERNEL), and
//! the tree is signalled pid by pid, never with `killpg` (the group holds timeout-run and maybe
//! its parent shell). See docs/design.md.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::signal::Signal;

/// The terminal on stdin, when timeout-run runs in its foreground.
pub struct Terminal {
    saved: libc::termios,
    group: libc::pid_t,
}

fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the life of the process (timeout-run never closes it); if it
    // is not open, every call below fails harmlessly with EBADF.
    unsafe { BorrowedFd::borrow_raw(0) }
}

impl Terminal {
    /// `Some` when stdin is a terminal whose foreground group is timeout-run's own group.
    pub fn detect() -> Option<Terminal> {
        let fd = stdin().as_raw_fd();
        // SAFETY: isatty, tcgetpgrp, getpgrp and tcgetattr only read state into locals.
        unsafe {
            if libc::isatty(fd) != 1 {
                return None;
            }
            let group = libc::getpgrp();
            if libc::tcgetpgrp(fd) != group {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            Some(Terminal { saved, group })
        }
    }

    /// Gives the terminal back to timeout-run's group if the foreground group that the command
    /// left behind is now empty, then restores the settings timeout-run started with (a killed
    /// full-screen program leaves raw mode and no echo behind). Nothing is taken from a live
    /// group: if the user moved the job to the background, the shell keeps the terminal.
    pub fn restore(&self) {
        let fd = stdin().as_raw_fd();
        // SAFETY: terminal ioctls on fd 0 with pointers to locals, and sigprocmask on local
        // sets. SIGTTOU is blocked meanwhile (the Linux backend's event source blocks it
        // anyway), so calling them from a background group stops neither timeout-run nor the
        // rest of its process group.
        unsafe {
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
                libc::tcsetattr(fd, libc::TCSANOW, &self.saved);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
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
pub fn suspend_self(signal: Signal) {
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
}
