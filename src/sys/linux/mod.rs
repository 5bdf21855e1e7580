//! The Linux backend (see the parent module for the seam).

pub mod census;
pub mod cgroup2_mount;
mod clone;
pub mod contain;
pub mod events;
pub mod procfs;
pub mod spawn;

use std::os::fd::{FromRawFd, OwnedFd};

/// A pidfd for `pid` (Linux 5.3+), readable once the process has exited.
pub fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
