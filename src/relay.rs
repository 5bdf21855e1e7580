//! The output relay of `--idle-timeout`: the command's stdout and stderr go into pipes that
//! timeout-run moves, byte for byte and as soon as they are readable, to its own stdout and
//! stderr. Any byte resets the idle timer.
//!
//! Data moves with `splice(2)` (no copy through user space) and `SPLICE_F_NONBLOCK`, so a slow
//! reader on timeout-run's side never blocks the event loop: when the destination is full, the
//! stream waits for it to become writable instead of reading more. Where splice cannot write to
//! the destination (some terminals), it falls back to read/write through a buffer.
//!
//! When timeout-run's side is closed (EPIPE, EBADF), the relay closes its end of the command's
//! pipe, so the command's next write fails as it would have without timeout-run (SIGPIPE or
//! EPIPE, by its own disposition).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::PollFlags;

/// The largest chunk moved by one call.
const CHUNK: usize = 1 << 20;

/// One relayed stream.
struct Stream {
    /// Read end of the command's pipe; `None` once closed.
    source: Option<OwnedFd>,
    /// timeout-run's own descriptor (1 or 2).
    target: i32,
    /// The target was full: wait for it to become writable.
    blocked: bool,
    /// splice is not supported by the target: use read/write.
    copy: bool,
}

/// The relay of both streams.
pub struct Relay {
    streams: [Stream; 2],
    buffer: Vec<u8>,
}

/// The command's ends of the pipes, to be its stdout and stderr.
pub struct CommandEnds {
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

impl Relay {
    /// Creates the pipes. The command's ends are returned for the spawn.
    pub fn new() -> io::Result<(Relay, CommandEnds)> {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let stream = |source, target| Stream {
            source: Some(source),
            target,
            blocked: false,
            copy: false,
        };
        Ok((
            Relay {
                streams: [stream(out_r, 1), stream(err_r, 2)],
                buffer: Vec::new(),
            },
            CommandEnds {
                stdout: out_w,
                stderr: err_w,
            },
        ))
    }

    /// The descriptors to poll, with the events wanted.
    pub fn interest(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        self.streams
            .iter()
            .filter_map(|s| {
                let source = s.source.as_ref()?;
                Some(if s.blocked {
                    // SAFETY: fds 1 and 2 live as long as the process; at worst the poll
                    // reports POLLNVAL and the next write fails with EBADF, which closes the
                    // stream.
                    (
                        unsafe { BorrowedFd::borrow_raw(s.target) },
                        PollFlags::POLLOUT,
                    )
                } else {
                    (source.as_fd(), PollFlags::POLLIN)
                })
            })
            .collect()
    }

    /// Moves whatever is ready on every stream; returns the number of bytes moved.
    pub fn pump(&mut self) -> usize {
        let mut moved = 0;
        for i in 0..self.streams.len() {
            moved += self.pump_stream(i);
        }
        moved
    }

    /// Moves what is left after the command's tree is gone: never blocks.
    pub fn drain(&mut self) -> usize {
        let mut total = 0;
        loop {
            for s in &mut self.streams {
                s.blocked = false;
            }
            let moved = self.pump();
            total += moved;
            if moved == 0 {
                return total;
            }
        }
    }

    fn pump_stream(&mut self, i: usize) -> usize {
        let mut moved = 0;
        loop {
            let stream = &mut self.streams[i];
            let Some(source) = stream.source.as_ref() else {
                return moved;
            };
            let result = if stream.copy {
                copy(source.as_raw_fd(), stream.target, &mut self.buffer)
            } else {
                splice(source.as_raw_fd(), stream.target)
            };
            match result {
                Ok(0) => {
                    // Every writer closed its end.
                    stream.source = None;
                    return moved;
                }
                Ok(n) => {
                    stream.blocked = false;
                    moved += n;
                    if moved >= 4 * CHUNK {
                        // Let the loop look at signals and timers between big bursts.
                        return moved;
                    }
                }
                Err(Step::SourceEmpty) => return moved,
                Err(Step::TargetFull) => {
                    stream.blocked = true;
                    return moved;
                }
                Err(Step::NoSplice) => stream.copy = true,
                Err(Step::TargetClosed) => {
                    tracing::debug!("fd {} is closed: closing the command's pipe", stream.target);
                    stream.source = None;
                    return moved;
                }
            }
        }
    }
}

/// Why a move stopped.
enum Step {
    SourceEmpty,
    TargetFull,
    NoSplice,
    TargetClosed,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = crate::sys::pipe_cloexec()?;
    fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    // A bigger pipe means fewer wake-ups for a chatty command; best effort.
    crate::sys::grow_pipe(&r, CHUNK);
    Ok((r, w))
}

fn splice(source: i32, target: i32) -> Result<usize, Step> {
    let n = crate::sys::splice(source, target, CHUNK);
    if n >= 0 {
        return Ok(n as usize);
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => {
            // Either side may be the cause: the source is non-blocking and may be empty.
            if readable_bytes(source) == 0 {
                Err(Step::SourceEmpty)
            } else {
                Err(Step::TargetFull)
            }
        }
        Some(libc::EINTR) => Err(Step::SourceEmpty),
        Some(libc::EINVAL) => Err(Step::NoSplice),
        _ => Err(Step::TargetClosed),
    }
}

fn copy(source: i32, target: i32, buffer: &mut Vec<u8>) -> Result<usize, Step> {
    if buffer.is_empty() {
        buffer.resize(64 * 1024, 0);
    }
    // SAFETY: reading into a buffer of the given length.
    let n = unsafe { libc::read(source, buffer.as_mut_ptr().cast(), buffer.len()) };
    if n == 0 {
        return Ok(0);
    }
    if n < 0 {
        return Err(Step::SourceEmpty);
    }
    let mut written = 0usize;
    let n = n as usize;
    while written < n {
        // SAFETY: writing initialised bytes of the buffer. The target is blocking unless the
        // caller's parent made it non-blocking; a terminal rarely blocks for long.
        let w = unsafe { libc::write(target, buffer[written..n].as_ptr().cast(), n - written) };
        if w < 0 {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => {
                    poll_writable(target);
                    continue;
                }
                _ => return Err(Step::TargetClosed),
            }
        }
        written += w as usize;
    }
    Ok(n)
}

fn poll_writable(fd: i32) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll on one local pollfd.
    unsafe {
        libc::poll(&mut p, 1, -1);
    }
}

/// Bytes waiting in a pipe.
fn readable_bytes(fd: i32) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r < 0 { 0 } else { n }
}
