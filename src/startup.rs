//! What timeout-run does to its own process before anything else.
//!
//! timeout-run has no Rust runtime start-up (`main.rs` is the C entry point): std's would ignore
//! SIGPIPE before we could see what the parent gave us, and would read `/proc/self/maps` to
//! guard the main thread's stack, which costs a measurable share of timeout-run's start-up.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::exit;
use crate::log;

static SIGPIPE_IGNORED_AT_START: AtomicBool = AtomicBool::new(false);
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Whether SIGPIPE was ignored when timeout-run started (the command inherits it that way).
pub fn sigpipe_was_ignored() -> bool {
    SIGPIPE_IGNORED_AT_START.load(Ordering::Relaxed)
}

/// Whether timeout-run started with its stdout closed (`>&-`): it now holds `/dev/null`, where
/// `--help` must not pretend to have been printed.
pub fn stdout_was_closed() -> bool {
    STDOUT_CLOSED_AT_START.load(Ordering::Relaxed)
}

/// Records the inherited SIGPIPE disposition, then ignores SIGPIPE (a closed pipe on stderr or
/// on the relay's output is an error to handle, not a reason to die). Occupies closed standard
/// descriptors. Makes a panic an internal error (125) with a message.
pub fn prepare() {
    // SAFETY: querying and setting SIGPIPE's disposition to SIG_IGN; no handler is involved.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0 {
            SIGPIPE_IGNORED_AT_START.store(old.sa_sigaction == libc::SIG_IGN, Ordering::Relaxed);
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    occupy_closed_stdio();
    std::panic::set_hook(Box::new(|info| {
        log::fatal(format_args!("internal error: {info}"));
        log::finish();
        std::process::exit(i32::from(exit::FAILURE));
    }));
}

/// A standard descriptor that timeout-run inherited closed would be reused by the next file it
/// opens (a cgroup file, a pipe) and its messages would land there. Each closed one is filled
/// with `/dev/null`, close-on-exec, so timeout-run's writes vanish and the command still
/// inherits it closed, exactly as without timeout-run.
fn occupy_closed_stdio() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only queries the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
            continue;
        }
        if fd == libc::STDOUT_FILENO {
            STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
        }
        // open() returns the lowest free descriptor, which is `fd` or lower: lower ones are
        // open (checked first), so it is `fd`, unless the open fails.
        // SAFETY: open() with a static NUL-terminated path.
        let got = unsafe {
            libc::open(
                c"/dev/null".as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NOCTTY,
            )
        };
        if got >= 0 && got != fd {
            // SAFETY: closing a descriptor we just opened and own.
            unsafe { libc::close(got) };
        }
    }
}
