//! The tree as it was at a timeout (SPEC §11): for each process its pid, parent, state, what it
//! waits in, CPU time, resident memory, age and command line, for the report and for `-vv`.
//! Taken once, at the timeout, before the stop signal; nothing is read before. The Linux
//! backend reads `/proc`, the portable one runs `ps`.

use serde::Serialize;

use super::{Backend, backend, portable};

/// One process of the tree at the timeout.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    /// `running`, `sleeping`, `disk wait`, `stopped`, `zombie`, ...
    pub state: &'static str,
    /// The kernel function it waits in (empty when running or unknown).
    pub wchan: String,
    /// User plus system CPU time, in seconds.
    pub cpu_s: f64,
    /// Resident memory, in KiB.
    pub rss_kib: u64,
    /// Seconds since it started.
    pub age_s: f64,
    /// Its command line (bounded), or `[name]` when it has none (a zombie).
    pub command: String,
}

/// Records the processes `pids` (the tree, parents before children where known).
pub fn take(pids: &[i32]) -> Vec<Process> {
    match backend() {
        #[cfg(target_os = "linux")]
        Backend::Linux => super::linux::census::take(pids),
        Backend::Portable => portable::census::take(pids),
    }
}

/// The CPU time timeout-run has used so far, all its threads together (zero if unknown).
pub fn cpu_time() -> std::time::Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(std::time::Duration::ZERO, |u| {
        let micros = |t: nix::sys::time::TimeVal| {
            std::time::Duration::from_secs(t.tv_sec().max(0) as u64)
                + std::time::Duration::from_micros(t.tv_usec().max(0) as u64)
        };
        micros(u.user_time()) + micros(u.system_time())
    })
}

/// The processes as an indented tree, one line each, children under their parent:
/// `4242 sleeping in do_wait, cpu 0.01s, 3.2 MiB, up 5.0s: sh -c make`.
pub fn render(processes: &[Process]) -> Vec<String> {
    let is_root = |p: &Process| !processes.iter().any(|q| q.pid == p.ppid);
    let mut lines = Vec::new();
    let mut stack: Vec<(&Process, usize)> = processes
        .iter()
        .filter(|p| is_root(p))
        .rev()
        .map(|p| (p, 0))
        .collect();
    let mut shown = std::collections::HashSet::new();
    while let Some((p, depth)) = stack.pop() {
        if !shown.insert(p.pid) {
            continue;
        }
        lines.push(format!("{}{}", "  ".repeat(depth), describe(p)));
        stack.extend(
            processes
                .iter()
                .filter(|c| c.ppid == p.pid && c.pid != p.pid)
                .rev()
                .map(|c| (c, depth + 1)),
        );
    }
    lines
}

fn describe(p: &Process) -> String {
    let wait = if p.wchan.is_empty() {
        String::new()
    } else {
        format!(" in {}", p.wchan)
    };
    format!(
        "{} {}{wait}, cpu {}, {}, up {}: {}",
        p.pid,
        p.state,
        crate::duration::display(std::time::Duration::from_secs_f64(p.cpu_s)),
        memory(p.rss_kib),
        crate::duration::display(std::time::Duration::from_secs_f64(p.age_s)),
        p.command
    )
}

/// `812 KiB`, `3.2 MiB`, `1.5 GiB`.
pub fn memory(kib: u64) -> String {
    match kib {
        0..1024 => format!("{kib} KiB"),
        1024..1_048_576 => format!("{:.1} MiB", kib as f64 / 1024.0),
        _ => format!("{:.1} GiB", kib as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: i32, ppid: i32) -> Process {
        Process {
            pid,
            ppid,
            state: "sleeping",
            wchan: "do_wait".into(),
            cpu_s: 0.25,
            rss_kib: 2048,
            age_s: 5.0,
            command: format!("cmd{pid}"),
        }
    }

    #[test]
    fn children_are_indented_under_their_parent() {
        let list = [
            process(10, 1),
            process(12, 10),
            process(13, 12),
            process(11, 10),
        ];
        assert_eq!(
            render(&list),
            [
                "10 sleeping in do_wait, cpu 250ms, 2.0 MiB, up 5s: cmd10",
                "  12 sleeping in do_wait, cpu 250ms, 2.0 MiB, up 5s: cmd12",
                "    13 sleeping in do_wait, cpu 250ms, 2.0 MiB, up 5s: cmd13",
                "  11 sleeping in do_wait, cpu 250ms, 2.0 MiB, up 5s: cmd11",
            ]
        );
    }

    #[test]
    fn a_live_process_is_recorded() {
        let me = std::process::id() as i32;
        let list = take(&[me, -5]);
        assert_eq!(list.len(), 1);
        let p = &list[0];
        assert_eq!(p.pid, me);
        assert!(
            p.rss_kib > 0 && p.age_s >= 0.0 && !p.command.is_empty(),
            "{p:?}"
        );
    }

    #[test]
    fn memory_reads_like_a_person_wrote_it() {
        assert_eq!(memory(812), "812 KiB");
        assert_eq!(memory(3277), "3.2 MiB");
        assert_eq!(memory(1_572_864), "1.5 GiB");
    }
}
