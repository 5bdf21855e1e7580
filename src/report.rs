//! The JSON report of `--report` (schema in docs/report.md). The destination is opened before
//! anything runs, so an unwritable path fails with 125 before the command starts; the object is
//! written once, at the end, on every path.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::clock;
use crate::config::{Config, display_os};
use crate::exit::Exit;
use crate::outcome::{Attempt, Resources, Rusage, SentSignal};
use crate::outcome::{Expiry, Outcome, Status, StopReason, Why};
use crate::sys::census;

/// Where the report goes.
pub enum Destination {
    Stderr,
    File(PathBuf, File),
}

impl Destination {
    /// Opens (creates or truncates) the report file; `-` is stderr.
    pub fn open(path: &Path) -> io::Result<Destination> {
        if path.as_os_str() == "-" {
            return Ok(Destination::Stderr);
        }
        let file = File::create(path)?;
        Ok(Destination::File(path.to_owned(), file))
    }

    /// Writes the report as one JSON object followed by a newline.
    pub fn write(self, report: &Report) {
        let mut text = match serde_json::to_string_pretty(report) {
            Ok(text) => text,
            Err(e) => {
                crate::log::fatal(format!("cannot encode the report: {e}"));
                return;
            }
        };
        text.push('\n');
        let result = match self {
            Destination::Stderr => {
                crate::log::write_report(&text);
                Ok(())
            }
            Destination::File(path, mut file) => file
                .write_all(text.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        };
        if let Err(e) = result {
            crate::log::fatal(format!("cannot write the report: {e}"));
        }
    }
}

/// The report object (schema_version 1).
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub command: Vec<String>,
    pub pid: Option<i32>,
    pub started_at: String,
    pub ended_at: String,
    pub duration_s: f64,
    pub timeout_s: Option<f64>,
    pub outcome: &'static str,
    pub timed_out: bool,
    pub exit_code: u8,
    pub command_status: Option<CommandStatus>,
    pub signals_sent: Vec<SignalRecord>,
    pub escalated: bool,
    pub leftovers_killed: usize,
    pub attempts: usize,
    pub containment: Option<&'static str>,
    pub rusage: Rusage,
    /// CPU and peak memory of the tree, all attempts together.
    pub resources: Option<Resources>,
    /// The tree when the last timeout fired, before the stop signal (null without a timeout).
    pub tree_at_timeout: Option<Vec<census::Process>>,
    /// One entry per attempt, in order.
    pub runs: Vec<Run>,
}

/// `{"code": N}` or `{"signal": "SIGKILL"}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    Code(i32),
    Signal(String),
}

#[derive(Debug, Serialize)]
pub struct SignalRecord {
    pub signal: String,
    pub target: &'static str,
    pub reason: &'static str,
    pub at_s: f64,
}

/// One attempt.
#[derive(Debug, Serialize)]
pub struct Run {
    pub attempt: u32,
    pub pid: Option<i32>,
    pub started_at: String,
    pub ended_at: String,
    pub duration_s: f64,
    pub timeout_s: Option<f64>,
    pub outcome: &'static str,
    pub command_status: Option<CommandStatus>,
    pub signals_sent: Vec<SignalRecord>,
    pub escalated: bool,
    pub leftovers_killed: usize,
    pub resources: Option<Resources>,
    pub tree_at_timeout: Option<Vec<census::Process>>,
}

/// The `outcome` word of an outcome.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Finished(Status::Code(_)) => "exited",
        Outcome::Finished(Status::Signal(_)) => "signaled",
        Outcome::TimedOut {
            expiry: Expiry::Deadline,
            ..
        } => "timed_out",
        Outcome::TimedOut {
            expiry: Expiry::Idle,
            ..
        } => "idle_timeout",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::SpawnFailed(_) => "spawn_failed",
    }
}

fn command_status(outcome: Outcome) -> Option<CommandStatus> {
    let status = match outcome {
        Outcome::Finished(s) => s,
        Outcome::TimedOut { status, .. } => status,
        Outcome::Cancelled { status, .. } => status?,
        Outcome::SpawnFailed(_) => return None,
    };
    Some(match status {
        Status::Code(code) => CommandStatus::Code(code),
        Status::Signal(signal) => CommandStatus::Signal(signal.to_string()),
    })
}

fn signals(sent: &[SentSignal]) -> Vec<SignalRecord> {
    sent.iter()
        .map(|s| SignalRecord {
            signal: s.signal.to_string(),
            target: s.target,
            reason: s.reason,
            at_s: s.at.as_secs_f64(),
        })
        .collect()
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// Builds the report of a whole run: every attempt, the final outcome (which may differ from the
/// last attempt's when a cancellation came during a retry delay) and timeout-run's exit.
pub fn build(
    config: &Config,
    attempts: &[Attempt],
    outcome: Outcome,
    exit: Exit,
    started_at: SystemTime,
) -> Report {
    let last = attempts.last();
    let ended_at = SystemTime::now();
    Report {
        schema_version: 1,
        command: config.command.iter().map(|a| display_os(a)).collect(),
        pid: last.and_then(|a| a.pid),
        started_at: clock::rfc3339(started_at),
        ended_at: clock::rfc3339(ended_at),
        duration_s: ended_at
            .duration_since(started_at)
            .unwrap_or_default()
            .as_secs_f64(),
        timeout_s: secs(last.and_then(|a| a.limit)),
        outcome: outcome_name(outcome),
        timed_out: matches!(outcome, Outcome::TimedOut { .. }),
        exit_code: exit.shell_code(),
        command_status: command_status(outcome),
        signals_sent: attempts
            .iter()
            .flat_map(|a| signals(&a.signals_sent))
            .collect(),
        escalated: attempts.iter().any(|a| a.escalated),
        leftovers_killed: attempts.iter().map(|a| a.leftovers_killed).sum(),
        attempts: attempts.len(),
        containment: last.and_then(|a| a.mechanism).map(|m| m.name()),
        rusage: attempts.iter().fold(Rusage::default(), |mut all, a| {
            all.add(a.rusage);
            all
        }),
        resources: total(attempts),
        tree_at_timeout: attempts
            .iter()
            .rev()
            .find_map(|a| a.tree_at_timeout.clone()),
        runs: attempts
            .iter()
            .map(|a| Run {
                attempt: a.number,
                pid: a.pid,
                started_at: clock::rfc3339(a.started_at),
                ended_at: clock::rfc3339(a.ended_at),
                duration_s: a.duration.as_secs_f64(),
                timeout_s: secs(a.limit),
                outcome: outcome_name(a.outcome),
                command_status: command_status(a.outcome),
                signals_sent: signals(&a.signals_sent),
                escalated: a.escalated,
                leftovers_killed: a.leftovers_killed,
                resources: a.resources,
                tree_at_timeout: a.tree_at_timeout.clone(),
            })
            .collect(),
    }
}

/// The attempts' resources together: times added up, the highest peak.
fn total(attempts: &[Attempt]) -> Option<Resources> {
    attempts
        .iter()
        .filter_map(|a| a.resources)
        .reduce(|a, b| Resources {
            wall_s: a.wall_s + b.wall_s,
            user_s: a.user_s + b.user_s,
            system_s: a.system_s + b.system_s,
            peak_rss_kib: a.peak_rss_kib.max(b.peak_rss_kib),
            cpu_source: if a.cpu_source == b.cpu_source {
                a.cpu_source
            } else {
                "mixed"
            },
            memory_source: if a.memory_source == b.memory_source {
                a.memory_source
            } else {
                "mixed"
            },
        })
}

// ---- The wording of messages about signals and statuses -------------------------------------

/// `3 processes`, `1 process`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `, 3 processes` after a mechanism, or nothing when the count is unknown (a whole group).
pub fn count(reached: Option<usize>) -> String {
    match reached {
        Some(1) => ", 1 process".to_owned(),
        Some(n) => format!(", {n} processes"),
        None => String::new(),
    }
}

/// `exited with status 3`, `was killed by SIGTERM`.
pub fn describe_status(status: Status) -> String {
    match status {
        Status::Code(code) => format!("exited with status {code}"),
        Status::Signal(signal) => format!("was killed by {signal}"),
    }
}

/// Why a signal was sent, for `-vv`.
pub fn explain(why: Why, grace: Option<Duration>) -> String {
    let stop = |reason: StopReason| match reason {
        StopReason::Expired(Expiry::Deadline) => "timed out".to_owned(),
        StopReason::Expired(Expiry::Idle) => "no output for too long".to_owned(),
        StopReason::Cancelled(s) => format!("timeout-run received {s}"),
        StopReason::Leftovers => "leftovers after the command exited".to_owned(),
    };
    match why {
        Why::Stop(r) => stop(r),
        Why::Forward => "relaying a signal timeout-run received".to_owned(),
        Why::GraceOver(r) => format!(
            "{}; grace period of {} over",
            stop(r),
            crate::duration::display(grace.unwrap_or_default())
        ),
        Why::Insisted(r) => format!("{}, received again", stop(r)),
        Why::Retry(r) => format!("{}; part of the tree was still there", stop(r)),
    }
}

/// Why a signal was sent, as the report's `reason` names it.
pub fn reason(why: Why) -> &'static str {
    let stop = |r: StopReason| match r {
        StopReason::Expired(Expiry::Deadline) => "timeout",
        StopReason::Expired(Expiry::Idle) => "idle_timeout",
        StopReason::Cancelled(_) => "cancelled",
        StopReason::Leftovers => "leftovers",
    };
    match why {
        Why::Stop(r) => stop(r),
        Why::Forward => "forwarded",
        Why::GraceOver(_) => "grace_expired",
        Why::Insisted(_) => "repeated_signal",
        Why::Retry(_) => "kill_retry",
    }
}
