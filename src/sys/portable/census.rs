//! The process table through `ps` (POSIX, on every system the portable backend runs on): for
//! the tree at a timeout, the processes left after SIGKILL, and the leftovers' count. `ps` runs
//! only at those moments, never while timeout-run waits.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use crate::sys::census::Process;

/// The longest command line recorded, in bytes.
const COMMAND_LIMIT: usize = 512;

/// One line of `ps`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    /// `ps`'s state letters (`S`, `R+`, `Ss`, `Z`, `U`, ...).
    pub stat: String,
    pub wchan: String,
    pub cpu_s: f64,
    pub rss_kib: u64,
    pub age_s: f64,
    pub command: String,
}

impl Row {
    /// The state as a word, as the Linux backend words it.
    pub fn state_name(&self) -> &'static str {
        match self.stat.chars().next() {
            Some('R') => "running",
            Some('S') => "sleeping",
            // `U` is macOS's uninterruptible wait.
            Some('D' | 'U') => "disk wait",
            Some('T' | 't') => "stopped",
            Some('Z') => "zombie",
            Some('I') => "idle",
            _ => "other",
        }
    }
}

/// Every process, as `ps -A` lists them, less the `ps` that listed them. Empty when `ps`
/// cannot run.
pub fn table() -> Vec<Row> {
    // A column is as wide as its header at least: the wait channel's header widens it, where
    // procps would cut kernel function names to six characters (the header line it then prints
    // does not parse as a row and is skipped).
    let child = Command::new("ps")
        .args([
            "-A",
            "-o",
            "pid=,ppid=,pgid=,stat=,wchan=WAIT_CHANNEL____________________,time=,rss=,etime=,args=",
        ])
        .env("LC_ALL", "C")
        .env_remove(crate::sys::BACKEND_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        tracing::debug!("cannot run ps: the tree cannot be listed");
        return Vec::new();
    };
    let ps = child.id() as i32;
    let Ok(output) = child.wait_with_output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(parse_row)
        .filter(|row| row.pid != ps)
        .collect()
}

/// The processes of the tree: the members of `group` (0: none) and every descendant of
/// timeout-run, parents before children where the order of `ps` allows.
pub fn tree(rows: &[Row], group: i32) -> Vec<&Row> {
    let me = std::process::id() as i32;
    let mut inside: HashSet<i32> = HashSet::new();
    inside.insert(me);
    // Parents usually have lower pids, but pids wrap: repeat until nothing new.
    loop {
        let before = inside.len();
        for row in rows {
            if inside.contains(&row.ppid) || group > 0 && row.pgid == group {
                inside.insert(row.pid);
            }
        }
        if inside.len() == before {
            break;
        }
    }
    rows.iter()
        .filter(|r| r.pid != me && inside.contains(&r.pid))
        .collect()
}

/// Records the processes `pids` as `ps` shows them.
pub fn take(pids: &[i32]) -> Vec<Process> {
    let rows = table();
    pids.iter()
        .filter_map(|pid| rows.iter().find(|r| r.pid == *pid))
        .map(|r| Process {
            pid: r.pid,
            ppid: r.ppid,
            state: r.state_name(),
            wchan: if r.wchan == "-" {
                String::new()
            } else {
                r.wchan.clone()
            },
            cpu_s: r.cpu_s,
            rss_kib: r.rss_kib,
            age_s: r.age_s,
            command: bounded(&r.command),
        })
        .collect()
}

fn bounded(command: &str) -> String {
    if command.len() <= COMMAND_LIMIT {
        return command.to_owned();
    }
    let mut cut = COMMAND_LIMIT;
    while !command.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &command[..cut])
}

/// One line of `ps -o pid=,ppid=,pgid=,stat=,wchan=,time=,rss=,etime=,args=`.
fn parse_row(line: &str) -> Option<Row> {
    let mut rest = line.trim_start();
    let mut field = || {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        rest = tail.trim_start();
        Some(word).filter(|w| !w.is_empty())
    };
    let pid = field()?.parse().ok()?;
    let ppid = field()?.parse().ok()?;
    let pgid = field()?.parse().ok()?;
    let stat = field()?.to_owned();
    let wchan = field()?.to_owned();
    let cpu_s = seconds(field()?)?;
    let rss_kib = field()?.parse().ok()?;
    let age_s = seconds(field()?)?;
    Some(Row {
        pid,
        ppid,
        pgid,
        stat,
        wchan,
        cpu_s,
        rss_kib,
        age_s,
        command: rest.trim_end().to_owned(),
    })
}

/// `ps`'s times: `[[DD-]HH:]MM:SS[.ss]`.
fn seconds(text: &str) -> Option<f64> {
    let (days, clock) = match text.split_once('-') {
        Some((d, c)) => (d.parse::<f64>().ok()?, c),
        None => (0.0, text),
    };
    let mut total = 0.0;
    for part in clock.split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(days * 86_400.0 + total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_as_procps_and_bsd_ps_print_them() {
        let r =
            parse_row("  4242     1  4242 S+   do_wait  00:00:01  3200    01:02 sh -c make all")
                .unwrap();
        assert_eq!((r.pid, r.ppid, r.pgid), (4242, 1, 4242));
        assert_eq!((r.stat.as_str(), r.wchan.as_str()), ("S+", "do_wait"));
        assert_eq!((r.cpu_s, r.rss_kib, r.age_s), (1.0, 3200, 62.0));
        assert_eq!(r.command, "sh -c make all");
        assert_eq!(r.state_name(), "sleeping");
        let bsd = parse_row("99 98 97 Us - 0:00.25 10 1-02:03:04 /bin/sleep 5").unwrap();
        assert_eq!((bsd.cpu_s, bsd.age_s), (0.25, 93_784.0));
        assert_eq!(bsd.state_name(), "disk wait");
        assert!(parse_row("12 x").is_none());
    }

    #[test]
    fn the_table_lists_this_process_and_not_ps() {
        let rows = table();
        if rows.is_empty() {
            return; // no ps on this machine
        }
        let me = std::process::id() as i32;
        assert!(rows.iter().any(|r| r.pid == me));
        assert!(
            !rows
                .iter()
                .any(|r| r.ppid == me && r.command.starts_with("ps "))
        );
    }
}
