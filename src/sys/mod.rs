//! The operating-system seam. Everything that depends on the system lives below this module:
//! the event source (signals, the timer, waiting), spawning and reaping, the containment of the
//! tree, and reading the process table. The supervisor and its state machine use only the types
//! exported here, so an implementation for another system is added here without touching them.
//!
//! Linux (`linux/`): signalfd and a CLOCK_BOOTTIME timerfd polled together, `clone3` into a
//! cgroup, cgroup v2 or process group + child subreaper + `/proc` walk with pidfds.

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
pub use linux::{census, cgroup2_mount, contain, events, procfs, spawn};
