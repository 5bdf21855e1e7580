//! Reading `/proc`: one process's `stat`, its children, wait channel and command line, and
//! the small files cgroup and mount code read. Linux only.

use std::fs;
use std::io;
use std::path::Path;

/// Reads a `/proc` or cgroup file. These report a size of 0, so `fs::read_to_string` would
/// start with tiny reads, and the kernel regenerates the text up to the offset on every read:
/// page-sized reads are several times cheaper (it matters for start-up, which reads
/// `/proc/self/cgroup`, and mountinfo where statmount is unavailable).
/// One page holds the small files the tree walk reads for every process in one read, without
/// preparing a larger buffer each time.
///
/// Plain `read` calls until end of file: `read_to_string` would first ask for the file's size
/// and position (two more system calls, and /proc files report size 0 anyway).
pub fn read_proc(path: impl AsRef<Path>) -> io::Result<String> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(4096);
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.capacity());
        }
        let len = bytes.len();
        bytes.resize(bytes.capacity(), 0);
        match file.read(&mut bytes[len..]) {
            Ok(0) => {
                bytes.truncate(len);
                break;
            }
            Ok(n) => bytes.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => bytes.truncate(len),
            Err(e) => return Err(e),
        }
    }
    // A process name is whatever bytes it chose (or its first 15 bytes, which may cut a
    // character in two): never let one make a process invisible.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Pids listed in `/proc/<pid>/task/*/children`, for a process with `threads` threads: a
/// single-threaded one has one such file, read without listing the directory.
pub fn children_of(pid: i32, threads: u64) -> Vec<i32> {
    if threads == 1 {
        return read_proc(format!("/proc/{pid}/task/{pid}/children"))
            .map(|text| {
                text.split_ascii_whitespace()
                    .filter_map(|s| s.parse::<i32>().ok())
                    .collect()
            })
            .unwrap_or_default();
    }
    children(pid)
}

/// Pids listed in `/proc/<pid>/task/*/children`.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(text) = read_proc(task.path().join("children")) else {
            continue;
        };
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|s| s.parse::<i32>().ok()),
        );
    }
    out
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone)]
pub struct Stat {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    /// One-letter state (R, S, D, T, t, Z, ...).
    pub state: char,
    /// Start time in clock ticks after boot: with the pid, the process's identity.
    pub start: u64,
    /// The command name (`comm`).
    pub name: String,
    /// CPU time in user and kernel mode, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
    /// Number of threads.
    pub threads: u64,
}

impl Stat {
    /// The state as a word: running, sleeping, disk wait, stopped, zombie.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            'R' => "running",
            'S' => "sleeping",
            'D' => "disk wait",
            'T' | 't' => "stopped",
            'Z' => "zombie",
            'I' => "idle",
            _ => "other",
        }
    }
}

/// `/proc/<pid>/stat`, parsed.
pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(pid, &read_proc(format!("/proc/{pid}/stat")).ok()?)
}

/// Parses a `/proc/<pid>/stat` line. The command name is in parentheses and may contain
/// anything, spaces and parentheses included: it ends at the last ')'.
fn parse_stat(pid: i32, text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    // Fields from 3 (state) on; `field(n)` is field n of proc(5).
    let fields: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    let number = |n: usize| field(n)?.parse::<u64>().ok();
    Some(Stat {
        pid,
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        pgid: field(5)?.parse().ok()?,
        utime: number(14)?,
        stime: number(15)?,
        start: number(22)?,
        rss_pages: number(24)?,
        threads: number(20)?,
        name,
    })
}

/// A `cmdline` file's NUL-separated arguments as one line of at most `limit` bytes.
fn command_line(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut line = text.trim_end_matches('\0').replace('\0', " ");
    if line.len() > limit {
        let mut cut = limit;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

/// A process's `/proc/<pid>` directory, opened once for several reads (the census reads three
/// files per process): each read then skips looking the process up by pid again.
pub struct ProcDir(std::os::fd::OwnedFd);

impl ProcDir {
    /// Opens `/proc/<pid>`; `None` when the process is gone.
    pub fn open(pid: i32) -> Option<ProcDir> {
        use nix::fcntl::OFlag;
        nix::fcntl::open(
            format!("/proc/{pid}").as_str(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
        .map(ProcDir)
    }

    /// The bytes of the file `name` in the directory, read into `buf` (emptied first), or its
    /// first `max` bytes or more when it is longer.
    fn read(&self, name: &str, max: usize, buf: &mut Vec<u8>) -> bool {
        use nix::fcntl::OFlag;
        buf.clear();
        let Ok(fd) = nix::fcntl::openat(
            &self.0,
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) else {
            return false;
        };
        // Plain reads: `read_to_end` would first ask for the size and the position (two more
        // system calls per file, for a size /proc reports as 0). These files answer a read with
        // all they have, up to the size asked, so an answer shorter than that is the end: no
        // read is spent to hear "end of file".
        loop {
            if buf.len() == buf.capacity() {
                buf.reserve(4096);
            }
            let len = buf.len();
            let spare = buf.capacity() - len;
            // SAFETY: reading into the vector's spare capacity, then setting its length to what
            // the kernel wrote.
            let n = unsafe {
                libc::read(
                    std::os::fd::AsRawFd::as_raw_fd(&fd),
                    buf.as_mut_ptr().add(len).cast(),
                    spare,
                )
            };
            match n {
                0 => return true,
                n if n > 0 => {
                    // SAFETY: the kernel initialised `n` bytes after `len`.
                    unsafe { buf.set_len(len + n as usize) };
                    if (n as usize) < spare || buf.len() >= max {
                        return true;
                    }
                }
                _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
                _ => return false,
            }
        }
    }

    /// As [`stat`] does.
    pub fn stat(&self, pid: i32, buf: &mut Vec<u8>) -> Option<Stat> {
        self.read("stat", usize::MAX, buf)
            .then(|| parse_stat(pid, &String::from_utf8_lossy(buf)))
            .flatten()
    }

    /// What the process waits in: a kernel function name, or empty when it is running or the
    /// kernel does not say.
    pub fn wchan(&self, buf: &mut Vec<u8>) -> String {
        if !self.read("wchan", usize::MAX, buf) || buf.as_slice() == b"0" {
            return String::new();
        }
        String::from_utf8_lossy(buf).into_owned()
    }

    /// The command line, arguments separated by spaces, at most `limit` bytes (cut on a
    /// character boundary, with `...`); empty for a zombie or a kernel thread.
    pub fn cmdline(&self, limit: usize, buf: &mut Vec<u8>) -> String {
        if !self.read("cmdline", limit + 1, buf) {
            return String::new();
        }
        command_line(buf, limit)
    }
}

/// Clock ticks per second (`/proc/<pid>/stat` times), and the page size (its memory).
pub fn units() -> (u64, u64) {
    // SAFETY: sysconf has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (
        u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100),
        u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096),
    )
}

/// Whether `/proc` is there to read.
pub fn available() -> bool {
    Path::new("/proc/self/stat").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parses_names_with_parentheses_and_spaces() {
        let line = "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 3 1 0 0 20 0 1 0 \
                    987654 1000 50 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        let d = parse_stat(4242, line).unwrap();
        assert_eq!(d.name, "a) b (c)");
        assert_eq!((d.state, d.ppid, d.pgid, d.start), ('S', 17, 4242, 987654));
        assert_eq!((d.utime, d.stime, d.rss_pages), (3, 1, 50));
        assert!(parse_stat(1, "1 (x S 1 1").is_none());
    }

    #[test]
    fn command_lines_are_bounded() {
        let me = std::process::id() as i32;
        let dir = ProcDir::open(me).unwrap();
        let mut buf = Vec::new();
        let full = dir.cmdline(100_000, &mut buf);
        assert!(!full.is_empty());
        let short = dir.cmdline(5, &mut buf);
        assert!(short.len() <= 8 && short.ends_with("..."), "{short}");
    }

    /// A command line longer than one read comes whole when asked for whole, and cut at the
    /// limit when not.
    #[test]
    fn long_command_lines_take_several_reads() {
        let long = "x".repeat(10_000);
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read _", &long])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let dir = ProcDir::open(child.id() as i32).unwrap();
        let mut buf = Vec::new();
        // The child may not have exec'd yet: its command line is then this test's.
        let mut full = dir.cmdline(100_000, &mut buf);
        for _ in 0..1000 {
            if full.ends_with(&long) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            full = dir.cmdline(100_000, &mut buf);
        }
        let cut = dir.cmdline(6_000, &mut buf);
        drop(child.stdin.take());
        child.wait().unwrap();
        assert_eq!(full, format!("sh -c read _ {long}"));
        assert_eq!(cut.len(), 6_003, "{}", &cut[..40]);
        assert!(cut.starts_with("sh -c read _ xxx") && cut.ends_with("x..."));
    }
}
