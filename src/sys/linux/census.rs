//! The tree at a timeout, read from `/proc` (see the parent module's `census`).

use crate::clock::Instant;
use crate::sys::census::Process;
use crate::sys::procfs;

/// The longest command line recorded, in bytes.
const COMMAND_LIMIT: usize = 512;

/// Records the processes `pids` (the tree, parents before children where known).
pub fn take(pids: &[i32]) -> Vec<Process> {
    let (ticks, page) = procfs::units();
    let now = Instant::now().since_origin().as_secs_f64();
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
                cpu_s: (stat.utime + stat.stime) as f64 / ticks as f64,
                rss_kib: stat.rss_pages * page / 1024,
                age_s: (now - stat.start as f64 / ticks as f64).max(0.0),
                command,
            })
        })
        .collect()
}
