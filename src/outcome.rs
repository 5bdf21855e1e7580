//! The plain records of what happened: how the command ended, why a signal was sent, what one
//! attempt did. The supervisor produces them; the exit policy (`exit`) and the report read them.

use std::time::{Duration, SystemTime};

use crate::signal::Signal;
use crate::sys::census;
use crate::sys::contain::Mechanism;

/// How the command's process ended, as `waitpid` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(Signal),
}

impl Status {
    /// The status a shell reports for it: the code, or 128 + the signal number.
    pub fn shell_code(self) -> u8 {
        match self {
            Status::Code(code) => (code & 0xff) as u8,
            Status::Signal(sig) => (128 + sig.raw()).min(255) as u8,
        }
    }
}

/// Why spawning failed, as far as the exit status cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnFailure {
    /// No such command (ENOENT): 127.
    NotFound,
    /// Found but not executable (EACCES, ENOEXEC, ...): 126.
    NotExecutable,
    /// The supervisor could not start it for a reason of its own (fd exhaustion, fork failed): 125.
    Internal,
}

/// What timer ended the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `--timeout`, `--deadline` or an inherited deadline.
    Deadline,
    /// `--idle-timeout`.
    Idle,
}

/// How a run ended: the input of the exit policy and of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command ended on its own (exited, or was killed by a signal timeout-run did not send).
    Finished(Status),
    /// A timer fired and the stop sequence ended the tree.
    TimedOut { expiry: Expiry, status: Status },
    /// timeout-run received a termination signal and stopped the tree.
    /// (No status when the signal came between attempts, with no command running.)
    Cancelled {
        signal: Signal,
        status: Option<Status>,
    },
    /// The command never ran.
    SpawnFailed(SpawnFailure),
}

/// Why the stop sequence runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A timer fired.
    Expired(Expiry),
    /// timeout-run received this termination signal.
    Cancelled(Signal),
    /// The command exited; its descendants are being stopped (`--leftovers kill`).
    Leftovers,
}

/// Why a signal is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The stop sequence's signal, or its SIGCONT.
    Stop(StopReason),
    /// Relaying a signal timeout-run received.
    Forward,
    /// The grace period ended.
    GraceOver(StopReason),
    /// The same termination signal arrived twice: SIGKILL now.
    Insisted(StopReason),
    /// SIGKILL again: part of the tree was still there after the last one.
    Retry(StopReason),
}

impl Why {
    /// Whether GNU timeout would have sent `signal` for this reason, and said so with `-v`: upon
    /// a timeout, or passing on a termination signal it received. It stops no descendants of a
    /// command that exited, and relays nothing else.
    pub fn announced_by_gnu(self, signal: crate::signal::Signal) -> bool {
        match self {
            Why::Stop(r) | Why::GraceOver(r) | Why::Insisted(r) | Why::Retry(r) => {
                r != StopReason::Leftovers
            }
            Why::Forward => signal.is_termination(),
        }
    }
}

/// A signal timeout-run sent, for the report.
#[derive(Debug, Clone)]
pub struct SentSignal {
    pub signal: Signal,
    /// `tree` or `child`.
    pub target: &'static str,
    /// `timeout`, `idle_timeout`, `cancelled`, `leftovers`, `forwarded`, `grace_expired`,
    /// `repeated_signal`.
    pub reason: &'static str,
    /// Seconds since the attempt started.
    pub at: Duration,
}

/// What one run of the command did.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    pub outcome: Outcome,
    pub pid: Option<i32>,
    pub started_at: SystemTime,
    pub ended_at: SystemTime,
    pub duration: Duration,
    /// The relative limit in force for this attempt (from the earliest deadline).
    pub limit: Option<Duration>,
    pub signals_sent: Vec<SentSignal>,
    pub escalated: bool,
    /// Descendants still alive when the command exited on its own, that were then stopped.
    pub leftovers_killed: usize,
    pub mechanism: Option<Mechanism>,
    /// The tree as it was when a timer fired, before the stop signal.
    pub tree_at_timeout: Option<Vec<census::Process>>,
    /// What the tree used.
    pub resources: Option<Resources>,
    /// What the processes of the tree that timeout-run reaped used (an `--on-timeout` hook is
    /// not part of it).
    pub rusage: Rusage,
}

/// What reaped processes used, as `wait4` reports each one (its own use and that of the
/// descendants it waited for): CPU time added up, the largest resident memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Rusage {
    pub user_s: f64,
    pub system_s: f64,
    pub max_rss_kib: i64,
}

impl Rusage {
    /// The use of both together.
    pub fn add(&mut self, other: Rusage) {
        self.user_s += other.user_s;
        self.system_s += other.system_s;
        self.max_rss_kib = self.max_rss_kib.max(other.max_rss_kib);
    }
}

/// CPU time and peak memory of the whole tree during one attempt.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Resources {
    pub wall_s: f64,
    pub user_s: f64,
    pub system_s: f64,
    /// Peak resident memory, KiB: of the whole cgroup where its memory controller is enabled,
    /// otherwise of the largest process reaped so far.
    pub peak_rss_kib: Option<u64>,
    /// `cgroup` (the cgroup's `cpu.stat`) or `rusage` (the reaped descendants).
    pub cpu_source: &'static str,
    /// `cgroup` (`memory.peak`) or `rusage`.
    pub memory_source: &'static str,
}
