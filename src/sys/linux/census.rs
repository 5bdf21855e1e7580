//! The tree at a timeout, read from `/proc` (see the parent module's `census`).
//!
//! Three files per process (`stat`, `cmdline`, `wchan`) cost the kernel about 30 µs when it has
//! not been asked about that process before (it makes the `/proc` entries on the first lookup),
//! and the census delays the stop signal: a big tree is split between threads, one per CPU, so
//! that 300 processes do not take 300 times that on one CPU.

use crate::clock::Instant;
use crate::sys::census::Process;
use crate::sys::procfs;

/// The longest command line recorded, in bytes.
const COMMAND_LIMIT: usize = 512;

/// Fewer processes than this per thread are not worth starting a thread for (about 30 µs).
const PER_THREAD: usize = 48;

/// At most this many threads read `/proc` at once.
const MAX_THREADS: usize = 8;

/// Records the processes `pids` (the tree, parents before children where known), in order.
pub fn take(pids: &[i32]) -> Vec<Process> {
    let units = Units::now();
    let threads = (pids.len() / PER_THREAD).clamp(1, cpus().min(MAX_THREADS));
    if threads == 1 {
        return record(pids, &units);
    }
    let chunk = pids.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = pids.chunks(chunk);
        let first = parts.next().unwrap_or_default();
        // The other chunks on threads; one that cannot be started is done here instead.
        let started: Vec<_> = parts
            .map(|part| {
                let units = &units;
                let thread = std::thread::Builder::new()
                    .name("census".into())
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || record(part, units));
                (part, thread)
            })
            .collect();
        let mut out = record(first, &units);
        for (part, thread) in started {
            match thread.map(|t| t.join()) {
                Ok(Ok(found)) => out.extend(found),
                _ => out.extend(record(part, &units)),
            }
        }
        out
    })
}

/// What turns `/proc` figures into seconds and KiB, and the moment the ages are taken at.
struct Units {
    ticks: u64,
    page: u64,
    now: f64,
}

impl Units {
    fn now() -> Units {
        let (ticks, page) = procfs::units();
        Units {
            ticks,
            page,
            now: Instant::now().since_origin().as_secs_f64(),
        }
    }
}

/// The processes of `pids` still there.
fn record(pids: &[i32], units: &Units) -> Vec<Process> {
    let mut buf = Vec::with_capacity(4096);
    pids.iter()
        .filter_map(|&pid| {
            let dir = procfs::ProcDir::open(pid)?;
            let stat = dir.stat(pid, &mut buf)?;
            let command = match dir.cmdline(COMMAND_LIMIT, &mut buf) {
                line if line.is_empty() => format!("[{}]", stat.name),
                line => line,
            };
            // A running process waits in nothing.
            let wchan = if stat.state == 'R' {
                String::new()
            } else {
                dir.wchan(&mut buf)
            };
            Some(Process {
                pid,
                ppid: stat.ppid,
                state: stat.state_name(),
                wchan,
                cpu_s: (stat.utime + stat.stime) as f64 / units.ticks as f64,
                rss_kib: stat.rss_pages * units.page / 1024,
                age_s: (units.now - stat.start as f64 / units.ticks as f64).max(0.0),
                command,
            })
        })
        .collect()
}

/// The CPUs timeout-run may run on (its affinity mask), at least 1.
fn cpus() -> usize {
    // SAFETY: sched_getaffinity writes at most `size_of::<cpu_set_t>()` bytes into the local
    // set; CPU_COUNT reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return 1;
        }
        usize::try_from(libc::CPU_COUNT(&set)).unwrap_or(1).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A census split between threads keeps the order it was given and misses nobody.
    #[test]
    fn a_big_census_keeps_the_order_of_its_pids() {
        let me = std::process::id() as i32;
        // Two processes that stay (this one, and pid 1), in turn, with gone pids in between.
        let pids: Vec<i32> = (0..300)
            .map(|i| match i % 3 {
                0 => -i,
                1 => me,
                _ => 1,
            })
            .collect();
        let found: Vec<i32> = take(&pids).iter().map(|p| p.pid).collect();
        let expected: Vec<i32> = pids.iter().copied().filter(|p| *p > 0).collect();
        assert_eq!(found, expected);
    }
}
