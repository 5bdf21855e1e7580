//! Descriptors where systems differ: pipes, `splice`, a private reopening of a destination,
//! watching a file for writes, closing every descriptor but a few. What only Linux offers is
//! used by the Linux backend alone, so that the portable backend takes on Linux the paths it
//! takes on macOS and FreeBSD (copying, writing to the shared descriptor, no file watch).

use std::io;
use std::os::fd::{OwnedFd, RawFd};

use nix::errno::Errno;

use super::{Backend, backend, portable};

/// A pipe whose ends are both close-on-exec.
pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    portable::pipe_cloexec()
}

/// Makes a pipe hold at least `size` bytes where the system allows it (Linux); best effort.
pub fn grow_pipe(pipe: &OwnedFd, size: usize) {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::fcntl::fcntl(pipe, nix::fcntl::FcntlArg::F_SETPIPE_SZ(size as i32));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (pipe, size);
}

/// `splice(2)` of at most `len` bytes between two streams without blocking, on the Linux
/// backend; elsewhere EINVAL, which callers take as "copy instead".
pub fn splice(source: RawFd, target: RawFd, len: usize) -> Result<usize, Errno> {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => {
            // SAFETY: splice between two descriptors with null offsets (both are streams).
            let n = unsafe {
                libc::splice(
                    source,
                    std::ptr::null_mut(),
                    target,
                    std::ptr::null_mut(),
                    len,
                    libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
                )
            };
            if n < 0 {
                Err(Errno::last())
            } else {
                Ok(n as usize)
            }
        }
        Backend::Portable => {
            let _ = (source, target, len);
            Err(Errno::EINVAL)
        }
    }
}

/// A private, non-blocking open file description of the destination open as `fd`: reopening
/// `/proc/self/fd/N` on the Linux backend. Elsewhere ENOSYS (`/dev/fd/N` on macOS and FreeBSD
/// duplicates the descriptor instead, sharing its description).
pub fn reopen_private(fd: RawFd) -> Result<OwnedFd, Errno> {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => {
            use std::os::fd::FromRawFd;
            let path = format!("/proc/self/fd/{fd}\0");
            // SAFETY: a NUL-terminated path; the result is checked and owned from here on.
            let raw = unsafe {
                libc::open(
                    path.as_ptr().cast(),
                    libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
                )
            };
            if raw < 0 {
                return Err(Errno::last());
            }
            // SAFETY: just opened, owned by nobody else.
            Ok(unsafe { OwnedFd::from_raw_fd(raw) })
        }
        Backend::Portable => {
            let _ = fd;
            Err(Errno::ENOSYS)
        }
    }
}

/// A descriptor that becomes readable when a watched file is written (inotify), on the Linux
/// backend; `None` elsewhere.
pub fn file_watch() -> Option<OwnedFd> {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => {
            use std::os::fd::FromRawFd;
            // SAFETY: inotify_init1 with flags only; the result is checked.
            let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            if raw < 0 {
                tracing::debug!(
                    "no inotify ({})",
                    crate::log::errno_text(Errno::last() as i32)
                );
                return None;
            }
            // SAFETY: a descriptor just returned to us, owned from here on.
            Some(unsafe { OwnedFd::from_raw_fd(raw) })
        }
        Backend::Portable => None,
    }
}

/// Adds the file open as `fd` to a [`file_watch`]; false when it cannot be watched.
pub fn watch_file(watch: &OwnedFd, fd: RawFd) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let path = format!("/proc/self/fd/{fd}\0");
        // SAFETY: a NUL-terminated path; the descriptor is ours.
        let wd = unsafe {
            libc::inotify_add_watch(watch.as_raw_fd(), path.as_ptr().cast(), libc::IN_MODIFY)
        };
        if wd < 0 {
            tracing::debug!(
                "cannot watch fd {fd} ({})",
                crate::log::errno_text(Errno::last() as i32)
            );
            return false;
        }
        true
    }
    #[cfg(not(target_os = "linux"))]
    {
        // No file watch exists outside Linux (see `file_watch`).
        let _ = (watch, fd);
        false
    }
}

/// `send` flags that make a closed peer an EPIPE rather than a SIGPIPE, where the system has
/// one (not macOS, where timeout-run's own SIGPIPE is ignored anyway).
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub const MSG_NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub const MSG_NOSIGNAL: libc::c_int = 0;

/// Closes every descriptor but `keep` (in a process of timeout-run's own that is about to
/// relay alone).
pub fn close_all_but(keep: &[RawFd]) {
    let mut keep = keep.to_vec();
    keep.sort_unstable();
    keep.dedup();
    #[cfg(target_os = "linux")]
    {
        let mut from: u32 = 0;
        for fd in keep {
            let fd = fd as u32;
            if fd > from {
                // SAFETY: close_range on descriptors nobody else in this process uses.
                unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0) };
            }
            from = fd + 1;
        }
        // SAFETY: as above.
        unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0) };
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: sysconf has no preconditions.
        let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
        let limit = RawFd::try_from(limit)
            .unwrap_or(RawFd::MAX)
            .clamp(256, 1 << 16);
        for fd in (0..limit).filter(|fd| keep.binary_search(fd).is_err()) {
            // SAFETY: closing descriptors nobody else in this process uses.
            unsafe { libc::close(fd) };
        }
    }
}
