//! The event loop: spawns the command, turns signals, child exits and timers into
//! [`machine::Event`]s, and carries out the [`machine::Action`]s. All signalling and reaping
//! happen on this one thread, so a reaped pid is never signalled.

use std::ffi::OsString;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use nix::unistd::Pid;

use crate::clock::{self, Instant};
use crate::config::{Config, Contain, DEADLINE_ENV, Leftovers};
use crate::duration;
use crate::events::{EventSource, Inherited};
use crate::exit::{Expiry, Outcome, Status};
use crate::log;
use crate::machine::{Action, Event, Machine, Phase, Settings, StopReason, Why};
use crate::process::{self, SpawnPlan};
use crate::relay::Relay;
use crate::signal::Signal;
use crate::terminal::Terminal;
use crate::tree::{self, Cgroup, Mechanism, Tree};

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
}

/// Owns the signal and timer descriptors, and the terminal state, across attempts.
pub struct Supervisor<'a> {
    config: &'a Config,
    events: EventSource,
    inherited: Inherited,
    terminal: Option<Terminal>,
}

impl<'a> Supervisor<'a> {
    /// Blocks signals, becomes a subreaper, looks at the terminal. Call before anything else
    /// can send a signal that matters.
    pub fn new(config: &'a Config) -> Result<Supervisor<'a>> {
        let (events, inherited) =
            EventSource::install().context("cannot set up signal handling")?;
        if !config.foreground
            && let Err(e) = tree::become_subreaper()
        {
            tracing::warn!("cannot become a child subreaper ({e}): orphans may escape");
        }
        let terminal = Terminal::detect();
        Ok(Supervisor {
            config,
            events,
            inherited,
            terminal,
        })
    }

    /// Restores the terminal's foreground group and settings, if timeout-run started in its
    /// foreground.
    pub fn restore_terminal(&self) {
        if let Some(terminal) = &self.terminal {
            terminal.restore();
        }
    }

    /// Runs the command once.
    pub fn run(&mut self, number: u32) -> Result<Attempt> {
        let config = self.config;
        let started_at = SystemTime::now();
        let start = Instant::now();
        let deadline = attempt_deadline(config, start, started_at);
        let limit = deadline.map(|d| d.since(start));
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        if let Some(limit) = limit {
            let wall = started_at.checked_add(limit).unwrap_or(started_at);
            env.push((DEADLINE_ENV.into(), clock::unix_seconds_string(wall).into()));
        }

        let shares_terminal_group = self.terminal.is_some() || config.foreground;
        let cgroup = self.make_cgroup(number)?;
        let name = config.command_name();
        let (mut relay, ends) = match config.idle_timeout {
            Some(_) => {
                let (relay, ends) = Relay::new().context("cannot create the output pipes")?;
                (Some(relay), Some(ends))
            }
            None => (None, None),
        };
        let (stdout, stderr) = match ends {
            Some(e) => (e.stdout, e.stderr),
            None => (None, None),
        };
        let plan = SpawnPlan {
            command: &config.command,
            new_group: !shares_terminal_group,
            cgroup: cgroup.as_ref().map(|c| c.target()),
            stop_signal: config.stop_signal,
            inherited: self.inherited,
            env,
            stdout,
            stderr,
        };
        let mut attempt = Attempt {
            number,
            outcome: Outcome::SpawnFailed(crate::exit::SpawnFailure::Internal),
            pid: None,
            started_at,
            ended_at: started_at,
            duration: Duration::ZERO,
            limit,
            signals_sent: Vec::new(),
            escalated: false,
            leftovers_killed: 0,
            mechanism: None,
        };
        let spawned = match process::spawn(plan) {
            Ok(spawned) => spawned,
            Err(e) => {
                tracing::error!("failed to run command '{name}': {}", e.reason());
                if let Some(c) = cgroup {
                    let mut t = Tree::new(Pid::from_raw(0), Mechanism::Cgroup, Some(c));
                    t.release(false);
                }
                attempt.outcome = Outcome::SpawnFailed(e.kind);
                attempt.ended_at = SystemTime::now();
                return Ok(attempt);
            }
        };
        let pid = spawned.pid;
        attempt.pid = Some(pid.as_raw());

        let (mechanism, cgroup) = match cgroup {
            Some(c) if spawned.born_in_cgroup || joined(&c, pid) => (Mechanism::Cgroup, Some(c)),
            Some(c) => {
                let mut t = Tree::new(pid, Mechanism::Cgroup, Some(c));
                t.release(true);
                if config.contain == Contain::Cgroup {
                    // The child already runs: kill it before failing.
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                    bail!("--contain cgroup: the command could not join its cgroup");
                }
                tracing::debug!("the command could not join its cgroup; using its process group");
                (fallback_mechanism(config, shares_terminal_group), None)
            }
            None => (fallback_mechanism(config, shares_terminal_group), None),
        };
        attempt.mechanism = Some(mechanism);
        let mut tree = Tree::new(pid, mechanism, cgroup);
        let where_ = match tree.cgroup_path() {
            Some(path) => format!("cgroup {}", path.display()),
            None => mechanism.describe().to_owned(),
        };
        tracing::info!("attempt {number}: running '{name}' as pid {pid}, contained by {where_}");
        if let Some(limit) = limit {
            tracing::info!("deadline in {}", duration::display(limit));
        }

        let settings = Settings {
            stop_signal: config.stop_signal,
            grace: config.grace,
            leftovers: config.leftovers,
            deadline,
            idle_timeout: config.idle_timeout,
            heartbeat: config.heartbeat,
            shares_terminal_group,
        };
        let mut machine = Machine::new(settings, start);
        let mut leader_status: Option<Status> = None;
        let mut leftovers_at_exit = 0usize;
        let mut tree_gone = false;

        while machine.phase() != Phase::Done {
            let relay_wakeup = relay.as_ref().and_then(|r| r.next_wakeup());
            self.events
                .arm(earliest(machine.next_wakeup(), relay_wakeup))?;
            let ready = match &relay {
                Some(r) => self.events.wait(&r.interest())?,
                None => self.events.wait(&[])?,
            };
            let now = Instant::now();
            let mut queue: Vec<Event> = Vec::new();
            if let Some(r) = relay.as_mut() {
                // The timer may end the pause of the watch on files.
                let moved = (!ready.extra.is_empty() || ready.timer) && r.pump() > 0;
                // While the destination does not take what the command wrote, the command is
                // not idle: its reader is slow.
                if moved || r.holding() {
                    queue.push(Event::Output);
                }
            }
            let mut chld = false;
            if ready.signals {
                for received in self.events.read_signals() {
                    if received.signal == Signal::CHLD {
                        chld = true;
                        continue;
                    }
                    tracing::debug!(
                        "received {}{}",
                        received.signal,
                        match (received.from_terminal, received.sender) {
                            (true, _) => " from the terminal".to_owned(),
                            (false, Some(p)) => format!(" from pid {p}"),
                            (false, None) => String::new(),
                        }
                    );
                    queue.push(Event::Signal {
                        signal: received.signal,
                        from_terminal: received.from_terminal,
                    });
                }
            }
            if chld {
                let reaping = process::reap();
                tree_gone |= reaping.no_children;
                for r in &reaping.reaped {
                    if r.pid == pid {
                        tree.leader_reaped();
                        leader_status = Some(r.status);
                        tracing::info!(
                            "command '{name}' (pid {pid}) {}",
                            describe_status(r.status)
                        );
                        if !reaping.no_children && machine.phase() == Phase::Running {
                            leftovers_at_exit = tree::descendant_count();
                        }
                        queue.push(Event::CommandExited {
                            status: r.status,
                            tree_empty: reaping.no_children,
                        });
                    } else {
                        tracing::debug!("reaped pid {} ({})", r.pid, describe_status(r.status));
                    }
                }
                if reaping.no_children
                    && leader_status.is_some()
                    && !reaping.reaped.iter().any(|r| r.pid == pid)
                {
                    queue.push(Event::TreeEmpty);
                }
            }
            queue.push(Event::Tick);
            for event in queue {
                let phase_before = machine.phase();
                let actions = machine.handle(event, now);
                if matches!(
                    event,
                    Event::CommandExited {
                        tree_empty: false,
                        ..
                    }
                ) && phase_before == Phase::Running
                {
                    match config.leftovers {
                        Leftovers::Kill => {
                            attempt.leftovers_killed = leftovers_at_exit;
                            tracing::info!(
                                "{leftovers_at_exit} leftover process(es) still running: stopping them"
                            );
                        }
                        Leftovers::Wait => tracing::info!(
                            "{leftovers_at_exit} leftover process(es) still running: waiting for them"
                        ),
                        Leftovers::Keep => tracing::info!(
                            "{leftovers_at_exit} leftover process(es) still running: leaving them"
                        ),
                    }
                }
                for action in actions {
                    self.execute(action, &mut tree, &mut attempt, start, &name);
                    if let (Action::Heartbeat { .. }, Some(r)) = (action, relay.as_mut()) {
                        // The line went to stderr, which may be a watched file.
                        r.forget_own_writes();
                    }
                }
            }
        }

        let keep = config.leftovers == Leftovers::Keep && machine.stop_reason().is_none();
        tree.release(keep);
        if let Some(r) = relay {
            // After a stop, timeout-run exits as soon as the tree is gone: the rest of the
            // output is not waited for, but it is not dropped either.
            let stopped = machine.stop_reason().is_some();
            self.finish_relay(r, deadline, stopped, keep && !tree_gone)?;
        }
        attempt.escalated = machine.escalated();
        attempt.outcome = machine
            .outcome()
            .context("the supervisor ended without an outcome")?;
        attempt.ended_at = SystemTime::now();
        attempt.duration = Instant::now().since(start);
        Ok(attempt)
    }

    /// Sleeps `delay` between attempts. A termination signal ends the wait at once and is
    /// returned (the caller then ends as cancelled); other signals have nobody to go to.
    pub fn delay(&mut self, delay: Duration) -> Result<Option<Signal>> {
        let until = Instant::now().add(delay);
        loop {
            if Instant::now() >= until {
                return Ok(None);
            }
            self.events.arm(Some(until))?;
            let ready = self.events.wait(&[])?;
            if ready.signals {
                for received in self.events.read_signals() {
                    if received.signal == Signal::CHLD {
                        // Leftovers kept from the last attempt, or adopted orphans.
                        process::reap();
                    } else if received.signal.is_termination() {
                        return Ok(Some(received.signal));
                    }
                }
            }
        }
    }

    /// Delivers what the relay still holds before the attempt ends, serving signals meanwhile.
    /// timeout-run waits only for a destination that is full after the command ended on its
    /// own, and at most until the deadline or a termination signal. Otherwise a keeper process
    /// takes the rest over: after a stop (timeout-run exits as soon as the tree is gone), while
    /// processes kept by `--leftovers keep` still write (`writers_remain`), or when the pipe is
    /// still open but empty (a process outside the tree holds it: a pipeline must not hang on
    /// it).
    fn finish_relay(
        &mut self,
        mut relay: Relay,
        deadline: Option<Instant>,
        stopped: bool,
        writers_remain: bool,
    ) -> Result<()> {
        let subreaper = !self.config.foreground;
        relay.stop_watching();
        loop {
            let moved = relay.pump();
            if relay.finished() {
                return Ok(());
            }
            if moved > 0 {
                continue;
            }
            if writers_remain
                || stopped
                || !relay.holding()
                || deadline.is_some_and(|d| Instant::now() >= d)
            {
                tracing::debug!("handing the rest of the command's output to a keeper process");
                relay.hand_over(subreaper);
                return Ok(());
            }
            self.events.arm(deadline)?;
            let ready = self.events.wait(&relay.interest())?;
            if ready.signals {
                for received in self.events.read_signals() {
                    if received.signal == Signal::CHLD {
                        process::reap();
                    } else if received.signal.is_termination() {
                        tracing::debug!(
                            "received {} while relaying the last output",
                            received.signal
                        );
                        relay.hand_over(subreaper);
                        return Ok(());
                    }
                }
            }
        }
    }

    fn make_cgroup(&self, number: u32) -> Result<Option<Cgroup>> {
        let config = self.config;
        if config.foreground || config.contain == Contain::Group {
            return Ok(None);
        }
        match Cgroup::create(number) {
            Ok(c) => Ok(Some(c)),
            Err(e) if config.contain == Contain::Cgroup => bail!("--contain cgroup: {}", e.0),
            Err(e) => {
                tracing::debug!("no cgroup ({}); using the process group", e.0);
                Ok(None)
            }
        }
    }

    fn execute(
        &mut self,
        action: Action,
        tree: &mut Tree,
        attempt: &mut Attempt,
        start: Instant,
        name: &str,
    ) {
        let target = if tree.mechanism() == Mechanism::Child {
            "child"
        } else {
            "tree"
        };
        let at = Instant::now().since(start);
        match action {
            Action::Send { signal, why } => {
                let reached = tree.signal(signal);
                let is_cont_of_stop = signal == Signal::CONT && matches!(why, Why::Stop(_));
                let line = format!(
                    "sending signal {} to command '{name}' ({signal} to the {}{}; {})",
                    signal.short_name(),
                    tree.mechanism().describe(),
                    count(reached),
                    explain(why, self.config)
                );
                if is_cont_of_stop {
                    tracing::debug!("{line}");
                } else {
                    tracing::info!("{line}");
                }
                attempt.signals_sent.push(SentSignal {
                    signal,
                    target,
                    reason: reason(why),
                    at,
                });
            }
            Action::Kill { why } => {
                let reached = tree.kill();
                tracing::info!(
                    "sending signal KILL to command '{name}' (SIGKILL to the {}{}; {})",
                    tree.mechanism().describe(),
                    count(reached),
                    explain(why, self.config)
                );
                attempt.signals_sent.push(SentSignal {
                    signal: Signal::KILL,
                    target,
                    reason: reason(why),
                    at,
                });
            }
            Action::Suspend { signal } => {
                tracing::debug!(
                    "suspended from the terminal by {signal}: stopping timeout-run too"
                );
                suspend_self(signal);
                tracing::debug!("resumed");
            }
            Action::Heartbeat { elapsed, remaining } => {
                let left = remaining
                    .map(|r| format!(" ({} left)", duration::display(r)))
                    .unwrap_or_default();
                log::line(format!(
                    "still running after {}{left}",
                    duration::display(elapsed)
                ));
            }
        }
    }
}

/// Stops timeout-run by `signal` (default action: stop), as a job-control stop would stop any
/// process, so the shell reports the job as it would without timeout-run. The signal is blocked
/// for the signalfd; unblocking it with one pending delivers it before kill() returns, and it is
/// blocked again once a SIGCONT resumes us.
fn suspend_self(signal: Signal) {
    // SAFETY: sigprocmask and kill on our own process with a local signal set; the signal's
    // disposition is the default one (timeout-run installs no handlers), so no code runs.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal.raw());
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), signal.raw());
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The absolute deadline of an attempt on the supervisor's clock: the earliest of `--timeout`
/// from now, `--deadline` and an inherited `TIMEOUT_RUN_DEADLINE`.
fn attempt_deadline(config: &Config, now: Instant, wall_now: SystemTime) -> Option<Instant> {
    let relative = config.timeout.map(|t| now.add(t));
    let absolute = config.deadline.map(|d| {
        let remaining = d.duration_since(wall_now).unwrap_or(Duration::ZERO);
        now.add(remaining)
    });
    match (relative, absolute) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn fallback_mechanism(config: &Config, shares_terminal_group: bool) -> Mechanism {
    if config.foreground {
        Mechanism::Child
    } else if shares_terminal_group {
        Mechanism::SharedGroup
    } else {
        Mechanism::ProcessGroup
    }
}

/// Whether the child joined the cgroup (it writes to `cgroup.procs` between fork and exec; a
/// failed write cannot be reported back, so check).
fn joined(cgroup: &Cgroup, pid: Pid) -> bool {
    let Ok(text) = tree::read_proc(format!("/proc/{pid}/cgroup")) else {
        return false;
    };
    let leaf = cgroup
        .dir()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .is_some_and(|p| p.ends_with(&format!("/{leaf}")) || p.contains(&format!("/{leaf}/")))
}

fn count(reached: Option<usize>) -> String {
    match reached {
        Some(1) => ", 1 process".to_owned(),
        Some(n) => format!(", {n} processes"),
        None => String::new(),
    }
}

fn describe_status(status: Status) -> String {
    match status {
        Status::Code(code) => format!("exited with status {code}"),
        Status::Signal(signal) => format!("was killed by {signal}"),
    }
}

fn explain(why: Why, config: &Config) -> String {
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
            duration::display(config.grace.unwrap_or_default())
        ),
        Why::Insisted(r) => format!("{}, received again", stop(r)),
    }
}

fn reason(why: Why) -> &'static str {
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
    }
}
