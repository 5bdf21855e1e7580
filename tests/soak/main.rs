//! Soak: loops the race-prone cases for a while and requires zero failures, zero leaked
//! processes and zero zombies. `cargo test --workspace` runs it for a few seconds; for a real
//! soak:
//!
//! ```sh
//! TIMEOUT_RUN_SOAK_SECONDS=600 cargo test --release --test soak -- --nocapture
//! ```
//!
//! Cases, round-robin until the time is up:
//! - the command exits exactly at the deadline (status 0 or 124, nothing else);
//! - a termination or relayed signal arrives while timeout-run is starting the command;
//! - a storm of relayed signals, then SIGTERM;
//! - hundreds of orphans reparented to timeout-run, all reaped while it runs;
//! - a cancellation arriving around the deadline, during the grace period.
//!
//! Every process a case starts carries a unique marker in its arguments; after each run, no
//! process with that marker may be left.

#[path = "../it/util.rs"]
mod util;

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use util::*;

/// A cheap pseudo-random source (the timing jitter is what matters, not the quality).
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Busy-waits `micros` (sleeping would round up to the scheduler's granularity).
fn spin(micros: u64) {
    let until = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Live processes whose command line contains `marker`.
fn with_marker(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(marker)
        {
            out.push(pid);
        }
    }
    out
}

fn assert_no_leak(case: &str, marker: &str, f: &Finished) {
    let left = with_marker(marker);
    if !left.is_empty() {
        cleanup(&left);
        panic!("{case}: leaked processes {left:?} (marker {marker}): {f:#?}");
    }
}

fn signal_of(f: &Finished) -> Option<i32> {
    f.status.signal()
}

/// The command exits exactly when the deadline fires.
fn exit_at_deadline(n: u64, _j: &mut Jitter) {
    let marker = format!("0.05{n:07}");
    let f = run(["-g", "1", "0.05", "sleep", marker.as_str()]);
    assert!(
        matches!(f.status.code(), Some(0 | 124)),
        "exit at deadline: {f:#?}"
    );
    assert_no_leak("exit at deadline", &marker, &f);
}

/// A signal arrives while timeout-run starts up and spawns.
fn signal_during_spawn(n: u64, j: &mut Jitter) {
    let marker = format!("30.{n:07}");
    let signal = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1][j.below(4) as usize];
    let r = spawn(["-g", "1", "60", "sleep", marker.as_str()]);
    spin(j.below(3000));
    r.signal(signal);
    let f = r.finish();
    // Whether it arrived before timeout-run blocked signals (default action) or after (relayed
    // to the command, or the stop sequence), timeout-run ends by that very signal.
    assert_eq!(signal_of(&f), Some(signal), "signal during spawn: {f:#?}");
    assert!(f.elapsed < Duration::from_secs(5), "{f:#?}");
    assert_no_leak("signal during spawn", &marker, &f);
}

/// Thousands of relayed signals, then SIGTERM.
fn signal_storm(n: u64, j: &mut Jitter) {
    let marker = format!("30.{n:07}");
    // Without real-time signals (macOS), SIGURG stands in for the fourth kind.
    let rt = util::rtmin().map_or(libc::SIGURG, |rt| rt + 1);
    let script = format!("trap '' USR1 USR2 WINCH {rt}; echo ready; exec sleep {marker}");
    let mut r = spawn(["-g", "1", "60", "sh", "-c", &script]);
    r.wait_for_line("ready");
    let storm = [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        rt,
        libc::SIGCONT,
    ];
    for _ in 0..2000 {
        r.signal(storm[j.below(storm.len() as u64) as usize]);
    }
    r.signal(libc::SIGTERM);
    let f = r.finish();
    assert_eq!(signal_of(&f), Some(libc::SIGTERM), "signal storm: {f:#?}");
    assert!(f.elapsed < Duration::from_secs(5), "{f:#?}");
    assert_no_leak("signal storm", &marker, &f);
}

/// Orphans come back to timeout-run (a subreaper) and are reaped while it runs.
fn orphans(n: u64, _j: &mut Jitter, count: u32) {
    let marker = format!("0.00{n:07}");
    // The census repeats until it reads zero (a zombie exists for an instant before timeout-run
    // reaps it), bounded; $PPID is timeout-run.
    let script = format!(
        "for i in $(seq {count}); do (sleep {marker} &); done; \
         for i in $(seq 200); do z=$(ps -o stat= --ppid $PPID | grep -c '^Z'); \
         [ \"$z\" = 0 ] && break; sleep 0.02; done; echo zombies=$z"
    );
    let f = run(["30", "sh", "-c", &script]);
    f.assert_code(0).assert_stdout_contains("zombies=0");
    assert_no_leak("orphans", &marker, &f);
}

/// A cancellation around the deadline, while the command traps the stop signal.
fn cancel_during_grace(n: u64, j: &mut Jitter) {
    let marker = format!("30.{n:07}");
    let script = format!("trap 'echo got-term' TERM; echo ready; sleep {marker} & wait; wait");
    let mut r = spawn(["-g", "0.1", "0.05", "sh", "-c", &script]);
    r.wait_for_line("ready");
    spin(j.below(150_000));
    let signal = [libc::SIGTERM, libc::SIGINT][j.below(2) as usize];
    r.signal(signal);
    let f = r.finish();
    // Before the deadline it is a cancellation (death by the signal); after it, the time-out
    // stands (124). Either way the grace period ends it quickly.
    assert!(
        f.status.code() == Some(124) || signal_of(&f) == Some(signal),
        "cancel during grace: {f:#?}"
    );
    assert!(f.elapsed < Duration::from_secs(5), "{f:#?}");
    assert_no_leak("cancel during grace", &marker, &f);
}

#[test]
fn soak() {
    let seconds: u64 = std::env::var("TIMEOUT_RUN_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let orphan_count = if seconds > 60 { 2000 } else { 300 };
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut j = Jitter::new();
    let mut n = 0u64;
    let mut runs = [0u32; 5];
    while Instant::now() < until || n < 5 {
        let case = (n % 5) as usize;
        match case {
            0 => exit_at_deadline(n, &mut j),
            1 => signal_during_spawn(n, &mut j),
            2 => signal_storm(n, &mut j),
            3 => orphans(n, &mut j, orphan_count),
            _ => cancel_during_grace(n, &mut j),
        }
        runs[case] += 1;
        n += 1;
    }
    eprintln!(
        "soak: {n} runs in {seconds}s (exit at deadline {}, signal during spawn {}, signal \
         storm {}, orphans x{orphan_count} {}, cancel during grace {}): no failure, no leak, \
         no zombie",
        runs[0], runs[1], runs[2], runs[3], runs[4]
    );
}
