//! The operating-system seam. Everything that depends on the system lives below this module:
//! the event source (signals, the timer, waiting), spawning and reaping, the containment of the
//! tree, and reading the process table. The supervisor and its state machine use only the types
//! exported here, so they contain no `cfg`.
//!
//! Two backends, chosen once at start-up ([`select`]):
//!
//! - Linux (`linux/`): signalfd and a CLOCK_BOOTTIME timerfd polled together, `clone3` into a
//!   cgroup, cgroup v2 or process group + child subreaper + `/proc` walk with pidfds.
//! - portable (`portable/`, POSIX): signal handlers writing to a self-pipe (signal-hook's
//!   low-level registration) and `poll` with the deadline as its timeout, fork/exec into a
//!   process group of its own, the process group as containment, `ps` for the census; on
//!   FreeBSD the `procctl` reaper. It is the only backend on macOS and FreeBSD, and on Linux
//!   `TIMEOUT_RUN_BACKEND=portable` selects it, so that it is tested on every change.
//!
//! The modules below hold the small dispatch types (an enum over the two backends where both
//! exist) and the plain records both backends share.

use std::ffi::OsStr;
use std::sync::OnceLock;

pub mod census;
pub mod contain;
pub mod events;
pub mod fd;
pub mod spawn;

#[cfg(target_os = "linux")]
mod linux;
mod portable;

// For the Linux backend's modules, which read `/proc` and find the cgroup mount.
#[cfg(target_os = "linux")]
use linux::{cgroup2_mount, procfs};

/// The variable that selects the backend (`portable`; on Linux also `linux`, the default). It
/// is not passed on to the command.
pub const BACKEND_ENV: &str = "TIMEOUT_RUN_BACKEND";

/// The implementation of the seam in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    #[cfg(target_os = "linux")]
    Linux,
    Portable,
}

impl Backend {
    /// The system's own backend.
    #[cfg(target_os = "linux")]
    const NATIVE: Backend = Backend::Linux;
    #[cfg(not(target_os = "linux"))]
    const NATIVE: Backend = Backend::Portable;

    /// The name `-vv` and the report use.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Linux => "linux",
            Backend::Portable => "portable",
        }
    }
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Chooses the backend from the value of [`BACKEND_ENV`]: unset or empty is the system's own.
/// Call once, before anything else below this module is used.
pub fn select(value: Option<&OsStr>) -> Result<Backend, String> {
    let chosen = match value.map(|v| v.as_encoded_bytes()) {
        None | Some(b"") => Backend::NATIVE,
        Some(b"portable") => Backend::Portable,
        #[cfg(target_os = "linux")]
        Some(b"linux") => Backend::Linux,
        Some(_) => {
            return Err(format!(
                "invalid {BACKEND_ENV} '{}' (expected '{}')",
                value.unwrap_or_default().to_string_lossy(),
                if cfg!(target_os = "linux") {
                    "linux' or 'portable"
                } else {
                    "portable"
                }
            ));
        }
    };
    Ok(*BACKEND.get_or_init(|| chosen))
}

/// The backend in use ([`select`]ed, or the system's own).
pub fn backend() -> Backend {
    *BACKEND.get_or_init(|| Backend::NATIVE)
}

/// Whether descendants that left the command's process group (`setsid`) can be found: through
/// `/proc` on Linux, through the reaper on FreeBSD; never on macOS.
pub fn finds_descendants_outside_group() -> bool {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => linux::procfs::available(),
        Backend::Portable => portable::contain::HAS_REAPER,
    }
}

/// This process's children (from `/proc`, on Linux; none known elsewhere).
pub fn own_children() -> Vec<i32> {
    #[cfg(target_os = "linux")]
    {
        procfs::children_of(std::process::id() as i32, 1)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}
