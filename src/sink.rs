//! Writing to a destination timeout-run shares with others (its own stdout or stderr, which the
//! calling shell and the command write too) without ever blocking its event loop, and without
//! making the shared open file description non-blocking under the feet of the others:
//!
//! - a pipe, FIFO, terminal or other character device is written through a *private*,
//!   non-blocking open file description, obtained by reopening `/proc/self/fd/N` (Linux);
//! - a socket is written with `send(MSG_DONTWAIT)`, non-blocking per call;
//! - a regular file is written directly: a write there does not wait for a reader;
//! - where the destination cannot be reopened (no `/proc`, permission refused, macOS and
//!   FreeBSD), the shared descriptor is written after POLLOUT, at most `PIPE_BUF` bytes at a time,
//!   which a pipe with room takes without blocking (another writer may take the room first:
//!   docs/design.md says what that leaves).
//!
//! The output relay writes the command's output this way, and the log timeout-run's own lines.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// Where a stream is written.
pub enum Target {
    /// A private, non-blocking open file description of the destination.
    Private(OwnedFd),
    /// A socket: timeout-run's own descriptor, written with `send(MSG_DONTWAIT)`.
    Socket(RawFd),
    /// timeout-run's own descriptor, blocking: a regular file, or a destination that could not
    /// be reopened (written in `PIPE_BUF` pieces after POLLOUT).
    Shared { fd: RawFd, file: bool },
}

impl Target {
    /// The descriptor written (and polled for POLLOUT when a write found no room).
    pub fn fd(&self) -> RawFd {
        match self {
            Target::Private(fd) => fd.as_raw_fd(),
            Target::Socket(fd) | Target::Shared { fd, .. } => *fd,
        }
    }

    /// [`Target::fd`], borrowed.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Target::Private(fd) => fd.as_fd(),
            // SAFETY: timeout-run's own stdout or stderr, which it never closes.
            Target::Socket(fd) | Target::Shared { fd, .. } => unsafe {
                BorrowedFd::borrow_raw(*fd)
            },
        }
    }

    /// Writes what the destination takes of `bytes` now, without waiting: the count written,
    /// or EAGAIN when it has no room.
    pub fn write(&self, bytes: &[u8]) -> Result<usize, Errno> {
        loop {
            let n = match self {
                // SAFETY: sending initialised bytes of the caller's buffer; MSG_NOSIGNAL: a
                // closed peer is EPIPE, not a signal.
                Target::Socket(fd) => unsafe {
                    libc::send(
                        *fd,
                        bytes.as_ptr().cast(),
                        bytes.len(),
                        libc::MSG_DONTWAIT | crate::sys::fd::MSG_NOSIGNAL,
                    )
                },
                // SAFETY: writing initialised bytes of the caller's buffer to a non-blocking
                // descriptor.
                Target::Private(fd) => unsafe {
                    libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len())
                },
                // SAFETY: writing initialised bytes of the caller's buffer; a regular file
                // takes it all.
                Target::Shared { fd, file: true } => unsafe {
                    libc::write(*fd, bytes.as_ptr().cast(), bytes.len())
                },
                Target::Shared { fd, file: false } => {
                    if !writable_now(*fd) {
                        return Err(Errno::EAGAIN);
                    }
                    let piece = bytes.len().min(libc::PIPE_BUF);
                    // SAFETY: writing initialised bytes of the caller's buffer; after POLLOUT a
                    // pipe takes PIPE_BUF bytes without blocking.
                    unsafe { libc::write(*fd, bytes.as_ptr().cast(), piece) }
                }
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            match Errno::last() {
                Errno::EINTR => continue,
                e => return Err(e),
            }
        }
    }
}

/// What a destination is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Closed when timeout-run started (now /dev/null close-on-exec), or open for reading only
    /// (`2<&0`): nothing written there can arrive (reopened for writing, a pipe's read end
    /// would become a way into the command's own input). The command inherits it as it is.
    Closed,
    File,
    Socket,
    /// Pipe or FIFO.
    Pipe,
    /// Terminal or other character device.
    Device,
    /// A device that refuses every write with ENOSPC (`/dev/full`).
    Full,
}

pub struct Destination {
    pub fd: RawFd,
    pub kind: Kind,
    /// Device and inode: equal for `2>&1`.
    pub id: (libc::dev_t, libc::ino_t),
}

/// What the descriptor `fd` (1 or 2) leads to.
pub fn examine(fd: RawFd) -> Destination {
    // SAFETY: F_GETFD and F_GETFL only query the descriptor.
    let (flags, status) = unsafe {
        (
            libc::fcntl(fd, libc::F_GETFD),
            libc::fcntl(fd, libc::F_GETFL),
        )
    };
    // SAFETY: fstat fills a local, zero-initialised stat buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointer is to a local.
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    // A standard descriptor inherited open is never close-on-exec (exec would have closed it):
    // with the flag, it is the /dev/null that start-up put in place of a closed one.
    if !ok
        || flags < 0
        || flags & libc::FD_CLOEXEC != 0
        || status & libc::O_ACCMODE == libc::O_RDONLY
    {
        return Destination {
            fd,
            kind: Kind::Closed,
            id: (0, 0),
        };
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFBLK => Kind::File,
        libc::S_IFSOCK => Kind::Socket,
        libc::S_IFIFO => Kind::Pipe,
        libc::S_IFCHR if is_full_device(st.st_rdev) => Kind::Full,
        _ => Kind::Device,
    };
    Destination {
        fd,
        kind,
        id: (st.st_dev, st.st_ino),
    }
}

/// Whether a character device is the kernel's "full" device (`/dev/full`, major 1 minor 7 on
/// Linux), where every write fails with ENOSPC.
fn is_full_device(rdev: libc::dev_t) -> bool {
    cfg!(target_os = "linux") && libc::major(rdev) == 1 && libc::minor(rdev) == 7
}

/// Whether `fd` is writable right now (POLLOUT without waiting); errors count as writable, so
/// the write reports them.
pub fn writable_now(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll on one local pollfd, without waiting.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n != 0
}
