//! The output relay of `--idle-timeout`: how timeout-run sees the command's output without
//! losing a byte of it or ever blocking its event loop on the destination.
//!
//! What happens depends on what timeout-run's own stdout and stderr are (`fstat` of fd 1 and 2):
//!
//! - **regular file** (or block device), **pipe, FIFO, terminal**: not relayed. The command
//!   writes to the destination itself, so its write errors are its own (ENOSPC stays ENOSPC, a
//!   closed reader is EPIPE at once), a slow reader slows it down exactly as without
//!   timeout-run, and a process kept by `--leftovers keep` goes on writing there after
//!   timeout-run exits. Output is seen through inotify (`IN_MODIFY` on the destination's inode,
//!   `/proc/self/fd/N`, which the kernel reports for every `write`, `splice`, `vmsplice`, `tee`
//!   and `sendfile` into it): no copy, no periodic wake-up. A pipe whose reader is slow is not
//!   silence: at the idle deadline, [`Relay::busy_at_idle_deadline`] looks whether the
//!   command's output still waits for its reader. Without inotify (or when the destination
//!   cannot be watched) the destination is relayed like the rest.
//! - **`/dev/full`**: not relayed and not watched: every write fails with ENOSPC, which must
//!   reach the command, and nothing written there is output.
//! - **other character devices** (`/dev/null`, ...) and pipes, FIFOs and
//!   terminals that cannot be watched: the command writes into a pipe of the relay, which moves
//!   it to the destination through a [`crate::sink::Target`]: with `splice(2)` to a *private*
//!   non-blocking open file description of it (the description timeout-run inherited is shared
//!   with the calling shell and is never made non-blocking). When splice is refused (EINVAL,
//!   ENOSYS, EPERM), the same descriptor is written with read/write. A device node is not
//!   watched: every process of the machine writes to the same `/dev/null`.
//! - **socket**: read, then `send(MSG_DONTWAIT)` (splice into a blocking socket would block),
//!   keeping what was not sent.
//! - when the destination cannot be reopened (no `/proc`, permission refused), the relay writes
//!   to timeout-run's own descriptor after POLLOUT, `PIPE_BUF` bytes at a time (see
//!   docs/design.md for the limits).
//!
//! When stdout and stderr are the same destination (`2>&1`: same device and inode), one pipe
//! carries both, so their order is kept.
//!
//! A full destination is waited for (POLLOUT) and never dropped: the command then blocks on its
//! own pipe, exactly as without timeout-run. While data waits for the destination the relay is
//! [`Relay::holding`] output, and the supervisor does not count that time as idle.
//!
//! When a write fails, or a relayed pipe or socket reports that its reader is gone (POLLERR,
//! POLLHUP), the relay closes its end of the command's pipe, so the command's next write fails
//! as it would have without timeout-run (EPIPE, or SIGPIPE by its own disposition).
//! A closed reader (EPIPE, ECONNRESET) is said nothing about; any other error is named in one
//! warning line.
//!
//! If timeout-run must exit before the relay is done (processes kept by `--leftovers keep` still
//! write; the destination is full after a stop, at the deadline or on a termination signal),
//! [`Relay::hand_over`] leaves the rest to a small process of its own, the keeper, which relays
//! until every writer is gone.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::clock::Instant;
use crate::sink::{Destination, Kind, Target, examine, writable_now};

/// The largest chunk moved by one splice, and the size asked for the relay's pipes.
const CHUNK: usize = 1 << 20;

/// The buffer of the read/write and send paths.
const COPY_BUFFER: usize = 256 * 1024;

/// Bytes moved before the loop looks at signals and timers again.
const BURST: usize = 4 * CHUNK;

/// The inotify descriptor of the watch when timeout-run's own stderr is one of the watched
/// destinations (-1 otherwise): its own lines there are not the command's output.
static OWN_WATCH: AtomicI32 = AtomicI32::new(-1);

/// Batches of writes the watch had seen when timeout-run wrote a line of its own, not yet
/// counted by [`Relay::pump`].
static SEEN_BEFORE_OWN: AtomicUsize = AtomicUsize::new(0);

/// How long the watch rests after it saw a write. The idle timer then starts again up
/// to this much after the command's last write: a bound on its error, and on the wake-ups spent
/// on a command that writes a file all the time (at most 20 a second).
const WATCH_PAUSE: Duration = Duration::from_millis(50);

/// One relayed stream: a pipe from the command to one destination.
struct Stream {
    /// `stdout`, `stderr`, or `stdout and stderr`, for messages.
    name: &'static str,
    /// Read end of the command's pipe; `None` once at end of file or closed.
    source: Option<OwnedFd>,
    target: Target,
    /// Read from the source, not yet written (read/write and send paths).
    pending: Vec<u8>,
    /// How much of `pending` was written.
    written: usize,
    /// The destination was full: wait for POLLOUT.
    blocked: bool,
    /// Use read/write (or send) rather than splice.
    copy: bool,
    /// The destination is a pipe or a socket: when its reader goes away, the command's pipe is
    /// closed at once, so that its next write fails as it would have without timeout-run, not
    /// only the one after.
    watch_hangup: bool,
}

/// A destination the command writes itself, watched with inotify.
struct Watched {
    /// timeout-run's own descriptor of it (1 or 2).
    fd: RawFd,
    kind: Kind,
    /// Bytes the pipe held unread when last looked at: when the watch was set, when output was
    /// seen, at the last idle deadline. Fewer now means its reader took some since.
    unread: i32,
}

/// The relay of the command's stdout and stderr, and the watch on the destinations it writes
/// directly.
pub struct Relay {
    streams: Vec<Stream>,
    /// inotify descriptor watching the destinations the command writes directly.
    watch: Option<OwnedFd>,
    watched: Vec<Watched>,
    /// After a write to a watched file, the watch is not polled until then: a command writing
    /// a file in small pieces would otherwise wake timeout-run for every write.
    watch_paused_until: Option<Instant>,
}

/// The command's stdout and stderr: `None` where it inherits timeout-run's own.
pub struct CommandEnds {
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// How a relayed stream reaches its destination, decided before the pipe is made.
enum Plan {
    Relay(Target),
    /// The destination is a FIFO or pipe without a reader: the command's writes must fail.
    ReaderGone,
}

impl Relay {
    /// Looks at fd 1 and 2 and sets up what each needs; returns the descriptors the command gets
    /// as stdout and stderr (`None`: its own, timeout-run's).
    pub fn new() -> io::Result<(Relay, CommandEnds)> {
        let out = examine(libc::STDOUT_FILENO);
        let err = examine(libc::STDERR_FILENO);
        let shared = out.kind != Kind::Closed && err.kind != Kind::Closed && out.id == err.id;
        let mut relay = Relay {
            streams: Vec::new(),
            watch: None,
            watched: Vec::new(),
            watch_paused_until: None,
        };
        let stdout = relay.set_up(
            &out,
            if shared {
                "stdout and stderr"
            } else {
                "stdout"
            },
        )?;
        let stderr = if shared {
            stdout.as_ref().map(|fd| fd.try_clone()).transpose()?
        } else {
            relay.set_up(&err, "stderr")?
        };
        let stderr_watched = relay
            .watched
            .iter()
            .any(|w| w.fd == err.fd || (shared && w.fd == out.fd));
        if let (true, Some(watch)) = (stderr_watched, &relay.watch) {
            OWN_WATCH.store(watch.as_raw_fd(), Ordering::Relaxed);
        }
        Ok((relay, CommandEnds { stdout, stderr }))
    }

    /// Sets up one destination; returns the command's end, if it gets one.
    fn set_up(&mut self, dest: &Destination, name: &'static str) -> io::Result<Option<OwnedFd>> {
        let plan = match dest.kind {
            Kind::Closed => return Ok(None),
            Kind::Full => {
                // Relayed, the command's writes would succeed into the relay's pipe and the
                // ENOSPC would reach nobody. Nothing written there is ever output.
                tracing::debug!(
                    "the command writes its {name} itself (a device that is always full)"
                );
                return Ok(None);
            }
            Kind::File => {
                if self.add_watch(dest, name) {
                    return Ok(None);
                }
                Plan::Relay(Target::Shared {
                    fd: dest.fd,
                    file: true,
                })
            }
            Kind::Socket => Plan::Relay(Target::Socket(dest.fd)),
            Kind::Pipe | Kind::Device
                if (dest.kind == Kind::Pipe || is_terminal(dest.fd))
                    && splice_is_reported()
                    && self.add_watch(dest, name) =>
            {
                return Ok(None);
            }
            Kind::Pipe | Kind::Device => match crate::sys::fd::reopen_private(dest.fd) {
                // An anonymous pipe reopens without a reader (only a FIFO says ENXIO): poll
                // reports POLLERR for a pipe nobody reads.
                Ok(fd) if dest.kind == Kind::Pipe && hung_up(fd.as_raw_fd()) => Plan::ReaderGone,
                Ok(fd) => Plan::Relay(Target::Private(fd)),
                Err(Errno::ENXIO) => Plan::ReaderGone,
                Err(e) => {
                    tracing::debug!(
                        "cannot reopen fd {} ({}): relaying through it as inherited",
                        dest.fd,
                        crate::log::errno_text(e as i32)
                    );
                    Plan::Relay(Target::Shared {
                        fd: dest.fd,
                        file: false,
                    })
                }
            },
        };
        let (read, write) = pipe()?;
        match plan {
            Plan::ReaderGone => drop(read),
            Plan::Relay(target) => {
                let copy = !matches!(target, Target::Private(_));
                self.streams.push(Stream {
                    name,
                    source: Some(read),
                    target,
                    pending: Vec::new(),
                    written: 0,
                    blocked: false,
                    copy,
                    watch_hangup: matches!(dest.kind, Kind::Pipe | Kind::Socket),
                })
            }
        }
        Ok(Some(write))
    }

    /// Watches the destination for writes; false when inotify is not available or refuses it.
    fn add_watch(&mut self, dest: &Destination, name: &str) -> bool {
        let fd = dest.fd;
        if self.watch.is_none() {
            self.watch = crate::sys::fd::file_watch();
        }
        let Some(watch) = &self.watch else {
            return false;
        };
        if !crate::sys::fd::watch_file(watch, fd) {
            return false;
        }
        tracing::debug!(
            "the command writes its {name} itself ({}), watched with inotify",
            match dest.kind {
                Kind::File => "file",
                Kind::Pipe => "pipe",
                _ => "terminal",
            }
        );
        self.watched.push(Watched {
            fd,
            kind: dest.kind,
            unread: unread_bytes(dest.kind, fd),
        });
        true
    }

    /// The descriptors to poll, with the events wanted.
    pub fn interest(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        let mut out: Vec<(BorrowedFd<'_>, PollFlags)> = self
            .streams
            .iter()
            .filter(|s| s.source.is_some())
            .flat_map(|s| {
                let source = s.source.as_ref().map(|fd| fd.as_fd());
                let target = s.target.as_fd();
                if s.blocked {
                    [Some((target, PollFlags::POLLOUT)), None]
                } else {
                    // No events asked of the destination: poll still reports its POLLERR or
                    // POLLHUP when its reader goes away.
                    [
                        source.map(|fd| (fd, PollFlags::POLLIN)),
                        s.watch_hangup.then_some((target, PollFlags::empty())),
                    ]
                }
            })
            .flatten()
            .collect();
        if let Some(watch) = self
            .watch
            .as_ref()
            .filter(|_| self.watch_paused_until.is_none())
        {
            out.push((watch.as_fd(), PollFlags::POLLIN));
        }
        out
    }

    /// Moves whatever can move without waiting; returns the number of bytes read from the
    /// command, plus one per batch of writes seen on a watched file: non-zero means output.
    pub fn pump(&mut self) -> usize {
        let mut seen = self.check_watch();
        for stream in &mut self.streams {
            seen += stream.pump();
        }
        seen
    }

    /// Whether output waits for a destination that does not take it yet: the command is not
    /// idle then, its reader is slow.
    pub fn holding(&self) -> bool {
        self.streams.iter().any(|s| s.source.is_some() && s.blocked)
    }

    /// Whether every relayed stream reached end of file (or was closed).
    pub fn finished(&self) -> bool {
        self.streams.iter().all(|s| s.source.is_none())
    }

    /// Stops watching: once the attempt is over, the writes mean nothing.
    pub fn stop_watching(&mut self) {
        self.forget_watch();
        self.watched.clear();
        self.watch_paused_until = None;
    }

    fn forget_watch(&mut self) {
        if let Some(watch) = self.watch.take() {
            let _ = OWN_WATCH.compare_exchange(
                watch.as_raw_fd(),
                -1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        SEEN_BEFORE_OWN.store(0, Ordering::Relaxed);
    }

    /// Called when the idle deadline is reached: whether the command is not idle after all,
    /// because writes were made that the resting watch has not counted yet, or because its
    /// output still waits for the reader of a destination it writes directly. A pipe is busy
    /// while it is full (the command is, or will be, blocked writing) or while it holds unread
    /// bytes and its reader took some since the last look (the command's last output or the
    /// last idle deadline: the output is on its way); a terminal while it takes nothing
    /// (stopped with Ctrl-S). Nothing here wakes timeout-run up: the next look is at the next
    /// idle deadline.
    pub fn busy_at_idle_deadline(&mut self) -> bool {
        if self.watched_writes() + SEEN_BEFORE_OWN.swap(0, Ordering::Relaxed) > 0 {
            self.output_seen();
            return true;
        }
        let mut busy = false;
        for w in &mut self.watched {
            match w.kind {
                Kind::Pipe => {
                    let unread = readable_bytes(w.fd);
                    let full = !writable_now(w.fd);
                    let moving = unread > 0 && unread < w.unread;
                    if full || moving {
                        tracing::debug!(
                            "fd {}: {unread} bytes wait for the reader{}: not idle",
                            w.fd,
                            if full { " (the pipe is full)" } else { "" }
                        );
                    }
                    w.unread = unread;
                    busy |= full || moving;
                }
                Kind::Device if !writable_now(w.fd) => {
                    tracing::debug!("fd {}: the terminal takes no output: not idle", w.fd);
                    busy = true;
                }
                _ => {}
            }
        }
        busy
    }

    /// Output was seen: the unread bytes of the pipes are counted from now.
    fn output_seen(&mut self) {
        for w in &mut self.watched {
            w.unread = unread_bytes(w.kind, w.fd);
        }
    }

    /// When the loop must wake up at the latest for the relay: the end of the watch's pause.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.watch_paused_until
    }

    /// Writes seen on watched files since the last look, unless the watch rests; a write seen
    /// starts a pause.
    fn check_watch(&mut self) -> usize {
        let now = Instant::now();
        if let Some(until) = self.watch_paused_until {
            if now < until {
                return 0;
            }
            self.watch_paused_until = None;
        }
        let seen = self.watched_writes() + SEEN_BEFORE_OWN.swap(0, Ordering::Relaxed);
        if seen > 0 {
            self.watch_paused_until = Some(now.add(WATCH_PAUSE));
            self.output_seen();
        }
        seen
    }

    /// Reads and counts the pending inotify events.
    fn watched_writes(&mut self) -> usize {
        match &self.watch {
            Some(watch) => drain(watch.as_raw_fd()),
            None => 0,
        }
    }

    /// Hands what is left to relay to a process of its own (the keeper), which relays until
    /// every stream is at end of file, then exits. timeout-run can then exit without dropping
    /// output or cutting off processes that still write. The keeper is not a child of
    /// timeout-run: "no child left" must keep meaning "the tree is gone".
    pub fn hand_over(mut self, subreaper: bool) {
        self.forget_watch();
        if self.finished() {
            return;
        }
        // An orphaned keeper must go to init (or a subreaper above), not to timeout-run.
        crate::sys::contain::set_subreaper(false);
        // SAFETY: timeout-run is single-threaded, so the child is a full copy of the process;
        // the intermediate child only forks again and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above.
            let keeper = unsafe { libc::fork() };
            if keeper == 0 {
                crate::log::in_forked_child();
                self.keep();
                // SAFETY: ending the keeper without running timeout-run's exit path.
                unsafe { libc::_exit(0) };
            }
            // SAFETY: ending the intermediate child at once.
            unsafe { libc::_exit(if keeper < 0 { 1 } else { 0 }) };
        }
        let mut handed = false;
        if pid > 0 {
            let mut status = 0;
            // SAFETY: waiting for our own child; the status goes to a local.
            while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 && Errno::last() == Errno::EINTR
            {
            }
            handed = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if subreaper {
            crate::sys::contain::set_subreaper(true);
        }
        if !handed {
            tracing::warn!(
                "cannot start a process to relay the rest of the command's output: it is lost"
            );
        }
    }

    /// The keeper's life: relay, waiting in poll, until every stream is done.
    fn keep(&mut self) {
        crate::sys::events::default_dispositions();
        // SAFETY: plain calls on local values: unblock every signal (the keeper installs no
        // handler, so the default actions apply) and drop descriptors it does not use.
        unsafe {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        }
        // Hold nothing but what is still relayed: a reader waiting for end of file on
        // timeout-run's stdout or stderr must get it once the keeper is done with them.
        self.streams.retain(|s| s.source.is_some());
        let mut used: Vec<RawFd> = Vec::new();
        for s in &self.streams {
            if let Some(fd) = &s.source {
                used.push(fd.as_raw_fd());
            }
            used.push(s.target.fd());
        }
        crate::sys::fd::close_all_but(&used);
        while !self.finished() {
            let interest = self.interest();
            let mut fds: Vec<PollFd<'_>> = interest
                .iter()
                .map(|(fd, events)| PollFd::new(*fd, *events))
                .collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => return,
            }
            drop(fds);
            drop(interest);
            self.pump();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.forget_watch();
    }
}

/// Writes a line of timeout-run's own to stderr with `write`: when stderr is a destination the
/// command writes directly, the writes the watch saw before are counted as the command's, and
/// the one `write` makes is not. A write of the command made at the very same moment may be
/// missed.
pub fn own_write<R>(write: impl FnOnce() -> R) -> R {
    let watch = OWN_WATCH.load(Ordering::Relaxed);
    if watch < 0 {
        return write();
    }
    SEEN_BEFORE_OWN.fetch_add(drain(watch), Ordering::Relaxed);
    let result = write();
    drain(watch);
    result
}

/// Reads the pending events of a non-blocking inotify descriptor; returns how many reads found
/// some.
fn drain(watch: RawFd) -> usize {
    let mut count = 0;
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reading into a local buffer of the given length.
        let n = unsafe { libc::read(watch, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return count;
        }
        count += 1;
    }
}

/// Whether the kernel reports `splice` into a pipe or terminal to inotify (Linux 6.4 and
/// later). Before, a command writing its pipe with splice (`pv` does) would look silent, so
/// pipes and terminals are relayed there.
fn splice_is_reported() -> bool {
    // SAFETY: uname fills a local, zero-initialised buffer.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut name) } != 0 {
        return false;
    }
    // SAFETY: uname NUL-terminates the field within the buffer.
    let release = unsafe { std::ffi::CStr::from_ptr(name.release.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    let ok = kernel_at_least(&release, (6, 4));
    if !ok {
        tracing::debug!("Linux {release} does not report splice to inotify: relaying pipes");
    }
    ok
}

/// Whether a kernel release string (`6.18.44-generic`) is at least `major.minor`.
fn kernel_at_least(release: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// Whether `fd` is a terminal.
fn is_terminal(fd: RawFd) -> bool {
    // SAFETY: isatty only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

impl Stream {
    /// Moves what can move now; returns the bytes read from the command.
    fn pump(&mut self) -> usize {
        if self.source.is_some() && self.watch_hangup && hung_up(self.target.fd()) {
            self.fail(Errno::EPIPE);
            return 0;
        }
        let mut moved = 0;
        while self.source.is_some() {
            if self.written < self.pending.len() {
                match self.write_pending() {
                    Ok(()) => {}
                    Err(Errno::EAGAIN) => {
                        self.blocked = true;
                        return moved;
                    }
                    Err(e) => {
                        self.fail(e);
                        return moved;
                    }
                }
            }
            if moved >= BURST {
                // Let the loop look at signals and timers; nothing read is left unwritten, so
                // the source's readiness is all there is to wait for.
                break;
            }
            let Some(source) = self.source.as_ref().map(|s| s.as_raw_fd()) else {
                break;
            };
            let result = if self.copy {
                self.read(source)
            } else {
                match splice(source, self.target.fd()) {
                    Err(Errno::EINVAL | Errno::ENOSYS | Errno::EPERM) => {
                        tracing::debug!(
                            "splice refused for the command's {}: using read and write",
                            self.name
                        );
                        self.copy = true;
                        continue;
                    }
                    other => other,
                }
            };
            match result {
                Ok(0) => {
                    // Every writer closed its end and the pipe is empty.
                    self.source = None;
                }
                Ok(n) => {
                    self.blocked = false;
                    moved += n;
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    // The source is empty, or (splice) the destination is full.
                    self.blocked = !self.copy && readable_bytes(source) > 0;
                    return moved;
                }
                Err(e) => self.fail(e),
            }
        }
        moved
    }

    /// Reads one buffer from the command into `pending` (which is empty).
    fn read(&mut self, source: RawFd) -> Result<usize, Errno> {
        self.pending.resize(COPY_BUFFER, 0);
        self.written = 0;
        // SAFETY: reading into our own buffer of the given length.
        let n = unsafe { libc::read(source, self.pending.as_mut_ptr().cast(), self.pending.len()) };
        if n < 0 {
            self.pending.clear();
            return Err(Errno::last());
        }
        self.pending.truncate(n as usize);
        Ok(n as usize)
    }

    /// Writes the rest of `pending`; EAGAIN when the destination is full.
    fn write_pending(&mut self) -> Result<(), Errno> {
        while self.written < self.pending.len() {
            let n = self.target.write(&self.pending[self.written..])?;
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Ok(())
    }

    /// The destination refused a write: close the command's pipe so its next write fails as it
    /// would have without timeout-run. A closed reader is the normal end of a pipeline; any
    /// other error is said once.
    fn fail(&mut self, error: Errno) {
        if !matches!(error, Errno::EPIPE | Errno::ECONNRESET) {
            tracing::warn!(
                "cannot write the command's {}: {}",
                self.name,
                crate::log::errno_text(error as i32)
            );
        } else {
            tracing::debug!(
                "the command's {} has no reader: closing its pipe",
                self.name
            );
        }
        self.source = None;
        self.pending = Vec::new();
        self.written = 0;
        self.blocked = false;
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = crate::sys::fd::pipe_cloexec()?;
    fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    // A bigger pipe means fewer wake-ups for a chatty command; best effort.
    crate::sys::fd::grow_pipe(&r, CHUNK);
    Ok((r, w))
}

fn splice(source: RawFd, target: RawFd) -> Result<usize, Errno> {
    crate::sys::fd::splice(source, target, CHUNK)
}

/// Whether the pipe or socket open for writing as `fd` has no reader left: POLLERR (a pipe
/// nobody reads, a reset connection) or POLLHUP (a peer that closed).
fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: poll on one local pollfd, without waiting.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// Bytes waiting in a watched pipe (0 for other kinds).
fn unread_bytes(kind: Kind, fd: RawFd) -> i32 {
    if kind == Kind::Pipe {
        readable_bytes(fd)
    } else {
        0
    }
}

/// Bytes waiting in a pipe.
fn readable_bytes(fd: RawFd) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r < 0 { 0 } else { n }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases_compare_by_major_and_minor() {
        assert!(kernel_at_least("6.18.44-fc-v669", (6, 4)));
        assert!(kernel_at_least("6.4.0", (6, 4)));
        assert!(kernel_at_least("7.0", (6, 4)));
        assert!(!kernel_at_least("6.3.13-arch1", (6, 4)));
        assert!(!kernel_at_least("5.14.0-427.el9.x86_64", (6, 4)));
        assert!(!kernel_at_least("4.18.0", (6, 4)));
        assert!(!kernel_at_least("garbage", (6, 4)));
    }
}
