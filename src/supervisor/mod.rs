//! The event loop: spawns the command, turns signals, child exits and timers into
//! [`machine::Event`]s, and carries out the [`machine::Action`]s. All signalling and reaping
//! happen on this one thread, so a reaped pid is never signalled.

pub mod machine;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use nix::poll::PollFlags;

use crate::clock::{self, Instant};
use crate::config::{Config, Contain, DEADLINE_ENV, Leftovers, Verbosity};
use crate::duration;
use crate::log;
use crate::outcome::Rusage;
use crate::outcome::{Attempt, Outcome, Resources, SentSignal, Status, Why};
use crate::relay::Relay;
use crate::report;
use crate::signal::Signal;
use crate::sys::census;
use crate::sys::contain::{self, Cgroup, Mechanism, Tree};
use crate::sys::events::{EventSource, Ready};
use crate::sys::spawn::Inherited;
use crate::sys::spawn::{self, SpawnPlan};
use crate::terminal::{self, Terminal};
use machine::{Action, Beat, Event, Machine, Phase, Settings};

/// Owns the signal and timer descriptors, and the terminal state, across attempts.
pub struct Supervisor<'a> {
    config: &'a Config,
    events: EventSource,
    inherited: Inherited,
    terminal: Option<Terminal>,
    /// The `--on-timeout` hook while it runs.
    hook: Option<crate::hook::Running>,
}

impl<'a> Supervisor<'a> {
    /// Blocks signals, becomes a subreaper, looks at the terminal. Call before anything else
    /// can send a signal that matters.
    pub fn new(config: &'a Config) -> Result<Supervisor<'a>> {
        let (events, inherited) =
            EventSource::install().context("cannot set up signal handling")?;
        if !config.foreground
            && let Err(e) = contain::become_subreaper()
        {
            tracing::warn!("cannot become a child subreaper ({e}): orphans may escape");
        }
        let terminal = Terminal::detect();
        Ok(Supervisor {
            config,
            events,
            inherited,
            terminal,
            hook: None,
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

        // With a terminal, the command stays in the shell's job, timeout-run's group, unless the
        // backend could then not find its descendants (macOS): there, only when it must read
        // the terminal from the foreground.
        let shares_terminal_group = config.foreground
            || self.terminal.as_ref().is_some_and(|t| {
                t.stdin_in_foreground() || crate::sys::finds_descendants_outside_group()
            });
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
            outcome: Outcome::SpawnFailed(crate::outcome::SpawnFailure::Internal),
            pid: None,
            started_at,
            ended_at: started_at,
            duration: Duration::ZERO,
            limit,
            signals_sent: Vec::new(),
            escalated: false,
            leftovers_killed: 0,
            mechanism: None,
            tree_at_timeout: None,
            resources: None,
            rusage: Rusage::default(),
        };
        let spawned = match spawn::spawn(plan) {
            Ok(spawned) => spawned,
            Err(e) => {
                log::fatal(format!("failed to run command '{name}': {}", e.reason()));
                // The cgroup is empty: dropping it removes it.
                drop(cgroup);
                attempt.outcome = Outcome::SpawnFailed(e.kind);
                attempt.ended_at = SystemTime::now();
                attempt.resources =
                    Some(resources(None, attempt.rusage, Instant::now().since(start)));
                return Ok(attempt);
            }
        };
        // A limit that ran out before the command had even started (`1e-9`, a past `--deadline`)
        // fired while it ran: it is handled before anything else the first wakeup brings, so a
        // command as quick as `true` still times out, as GNU's timer makes it.
        let mut overdue_at_spawn = deadline.is_some_and(|d| d <= Instant::now());
        let pid = spawned.pid;
        attempt.pid = Some(pid.as_raw());

        let (mechanism, cgroup) = match cgroup {
            Some(c) if spawned.born_in_cgroup || c.has_member(pid.as_raw()) => {
                (Mechanism::Cgroup, Some(c))
            }
            Some(c) => {
                c.release_keeping_members();
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
        tree.remove_abandoned_cgroups();
        let where_ = match tree.cgroup_path() {
            Some(path) => format!("cgroup {}", path.display()),
            None => mechanism.describe().to_owned(),
        };
        tracing::info!("attempt {number}: running '{name}' as pid {pid}, contained by {where_}");
        if mechanism != Mechanism::Cgroup
            && mechanism != Mechanism::Child
            && tracing::enabled!(tracing::Level::INFO)
            && !crate::sys::finds_descendants_outside_group()
        {
            let why = if crate::sys::backend() == crate::sys::Backend::Portable {
                "the portable backend"
            } else {
                "no /proc"
            };
            tracing::info!(
                "{why}: descendants that left the command's process group (setsid) cannot be \
                 found, and will not be stopped"
            );
        }
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
            hook: config.on_timeout.as_ref().map(|_| hook_bound(config)),
        };
        let mut machine = Machine::new(settings, start);
        let mut leader_status: Option<Status> = None;
        let mut leftovers_at_exit = 0usize;
        let mut tree_gone = false;
        // A read or write of the terminal from the background stopped part of the job. The
        // shell's `fg` sends no SIGCONT to a job that still runs (timeout-run does, waiting for
        // its deadline): timeout-run sends it when the job is in the foreground again, looking
        // at growing intervals until then, or until a SIGCONT or the terminal's end makes the
        // look pointless.
        let mut terminal_look: Option<Duration> = None;
        // Whether the SIGHUP received came from the terminal.
        let mut hangup_from_terminal: Option<bool> = None;

        while machine.phase() != Phase::Done {
            let relay_wakeup = relay.as_ref().and_then(|r| r.next_wakeup());
            let terminal_look_at = terminal_look.map(|d| Instant::now().add(d));
            self.events.arm(earliest(
                earliest(machine.next_wakeup(), relay_wakeup),
                terminal_look_at,
            ))?;
            let ready = match &relay {
                Some(r) => self.wait(&r.interest())?,
                None => self.wait(&[])?,
            };
            let now = Instant::now();
            let mut queue: VecDeque<Event> = VecDeque::new();
            if std::mem::take(&mut overdue_at_spawn) {
                queue.push_back(Event::Tick);
            }
            if let Some(r) = relay.as_mut() {
                // The timer may end the pause of the watch on files.
                let moved = (!ready.extra.is_empty() || ready.timer) && r.pump() > 0;
                // While the destination does not take what the command wrote, the command is
                // not idle: its reader is slow.
                if moved || r.holding() || (machine.idle_due(now) && r.busy_at_idle_deadline()) {
                    queue.push_back(Event::Output);
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
                    let from_terminal = terminal::heard_by_the_group(
                        received.signal,
                        received.from_terminal,
                        received.sender,
                    );
                    // One hang-up comes twice: from the shell passing it on to its jobs, and
                    // from the kernel when the shell, the session leader, exits. The second
                    // copy is the same hang-up, not a second SIGHUP that insists.
                    if received.signal == Signal::HUP {
                        if hangup_from_terminal.is_some_and(|t| t != from_terminal) {
                            tracing::debug!(
                                "received SIGHUP again, from the other side of one hang-up"
                            );
                            continue;
                        }
                        hangup_from_terminal = Some(from_terminal);
                    }
                    if received.signal == Signal::CONT {
                        terminal_look = None;
                    } else if from_terminal
                        && shares_terminal_group
                        && [Signal::TTIN, Signal::TTOU].contains(&received.signal)
                    {
                        terminal_look = Some(TERMINAL_LOOK_FIRST);
                    }
                    queue.push_back(Event::Signal {
                        signal: received.signal,
                        from_terminal,
                    });
                }
            }
            if chld {
                let reaping = spawn::reap(self.hook.as_ref().map(crate::hook::Running::pid));
                let hook_done = reaping.group_ended.is_some();
                if let Some(hook) = reaping.group_ended
                    && let Some(running) = self.hook.take()
                {
                    running.ended(hook.status);
                }
                tree_gone |= reaping.no_children;
                let mut others = false;
                let mut leader_now = false;
                for r in &reaping.reaped {
                    attempt.rusage.add(r.usage);
                    // The command is reaped once; a later child with the same pid is another
                    // process that was given the pid again (an orphan after many forks).
                    if r.pid == pid && leader_status.is_none() {
                        leader_now = true;
                        tree.leader_reaped();
                        leader_status = Some(r.status);
                        tracing::info!(
                            "command '{name}' (pid {pid}) {}",
                            report::describe_status(r.status)
                        );
                        if r.core_dumped && config.verbosity != Verbosity::Quiet {
                            // GNU timeout's words, without a `warning:` tag, as it prints them.
                            log::line("the monitored command dumped core");
                        }
                        let tree_empty = reaping.no_children || tree.cgroup_is_empty();
                        if !tree_empty && machine.phase() == Phase::Running {
                            leftovers_at_exit = contain::descendant_count();
                        }
                        queue.push_back(Event::CommandExited {
                            status: r.status,
                            tree_empty,
                        });
                    } else {
                        others = true;
                        tracing::debug!(
                            "reaped pid {} ({})",
                            r.pid,
                            report::describe_status(r.status)
                        );
                    }
                }
                if others || leader_now {
                    queue.push_back(Event::Reaped);
                }
                // A cgroup is gone when nobody is in it, even if timeout-run has other children
                // (the hook's keeper, processes kept from an earlier attempt).
                if leader_status.is_some()
                    && !leader_now
                    && (reaping.no_children || tree.cgroup_is_empty())
                {
                    queue.push_back(Event::TreeEmpty);
                }
                // After the tree's news: a tree that ended while the hook ran gets no stop
                // signal.
                if hook_done {
                    queue.push_back(Event::HookDone);
                }
            }
            queue.push_back(Event::Tick);
            while let Some(event) = queue.pop_front() {
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
                let mut actions = actions.into_iter().peekable();
                while let Some(action) = actions.next() {
                    // A stop signal and the SIGCONT that follows it go out in one pass over the
                    // tree: each process gets both, one right after the other.
                    let paired = match (action, actions.peek()) {
                        (
                            Action::Send { why, .. },
                            Some(Action::Send {
                                signal: Signal::CONT,
                                why: Why::Stop(reason),
                            }),
                        ) if matches!(why, Why::Stop(r) if r == *reason) || why == Why::Forward => {
                            Some(*reason)
                        }
                        _ => None,
                    };
                    let follows = self.execute(
                        action,
                        paired.is_some(),
                        &mut tree,
                        &mut attempt,
                        start,
                        &name,
                    );
                    queue.extend(follows);
                    if let Some(reason) = paired {
                        actions.next();
                        attempt.signals_sent.push(SentSignal {
                            signal: Signal::CONT,
                            target: if tree.mechanism() == Mechanism::Child {
                                "child"
                            } else {
                                "tree"
                            },
                            reason: report::reason(Why::Stop(reason)),
                            at: Instant::now().since(start),
                        });
                    }
                }
            }
            if let Some(interval) = terminal_look.filter(|_| machine.phase() != Phase::Done) {
                match self.terminal.as_ref().and_then(Terminal::foreground) {
                    Some(true) => {
                        terminal_look = None;
                        tracing::debug!(
                            "in the foreground again: continuing what a read or write of the \
                             terminal stopped in the background"
                        );
                        let resume = Action::Send {
                            signal: Signal::CONT,
                            why: Why::Forward,
                        };
                        self.execute(resume, false, &mut tree, &mut attempt, start, &name);
                    }
                    Some(false) => {
                        terminal_look = Some((interval * 2).min(TERMINAL_LOOK_MAX));
                    }
                    None => terminal_look = None,
                }
            }
        }

        let wall = Instant::now().since(start);
        // Reading the cgroup's figures costs a tenth of a millisecond: only for someone who
        // will see them.
        let wanted = config.report.is_some() || tracing::enabled!(tracing::Level::INFO);
        let resources = resources(wanted.then_some(&tree), attempt.rusage, wall);
        tracing::info!(
            "attempt {number} used {} user + {} system CPU{} ({})",
            duration::display(Duration::from_secs_f64(resources.user_s)),
            duration::display(Duration::from_secs_f64(resources.system_s)),
            resources
                .peak_rss_kib
                .map(|k| format!(", peak memory {}", census::memory(k)))
                .unwrap_or_default(),
            resources.cpu_source
        );
        attempt.resources = Some(resources);
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

    /// Sleeps until a signal, the timer or one of `extra` is ready. Meanwhile timeout-run's own
    /// lines that stderr did not take at once are written as it makes room.
    fn wait(&mut self, extra: &[(BorrowedFd<'_>, PollFlags)]) -> io::Result<Ready> {
        let Some(stderr) = log::waiting() else {
            return self.events.wait(extra);
        };
        let mut all = extra.to_vec();
        all.push((stderr, PollFlags::POLLOUT));
        let mut ready = self.events.wait(&all)?;
        if let Some(at) = ready.extra.iter().position(|&i| i == extra.len()) {
            ready.extra.remove(at);
            log::write_waiting();
        }
        Ok(ready)
    }

    /// Sleeps `delay` between attempts. A termination signal ends the wait at once and is
    /// returned (the caller then ends as cancelled); SIGTSTP suspends timeout-run, as it
    /// suspends the whole job during an attempt; other signals have nobody to go to.
    pub fn delay(&mut self, delay: Duration) -> Result<Option<Signal>> {
        let until = Instant::now().add(delay);
        loop {
            if Instant::now() >= until {
                return Ok(None);
            }
            self.events.arm(Some(until))?;
            let ready = self.wait(&[])?;
            if ready.signals {
                for received in self.events.read_signals() {
                    if received.signal == Signal::CHLD {
                        // Leftovers kept from the last attempt, or adopted orphans.
                        spawn::reap(None);
                    } else if received.signal.is_termination() {
                        return Ok(Some(received.signal));
                    } else if received.signal == Signal::TSTP {
                        terminal::suspend_self(received.signal);
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
            let ready = self.wait(&relay.interest())?;
            if ready.signals {
                for received in self.events.read_signals() {
                    if received.signal == Signal::CHLD {
                        spawn::reap(None);
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

    /// Carries out one action; with `and_continue`, a `Send` is followed by SIGCONT in the same
    /// pass over the tree.
    ///
    /// Returns an event that follows from it (the hook could not be started: it is over).
    fn execute(
        &mut self,
        action: Action,
        and_continue: bool,
        tree: &mut Tree,
        attempt: &mut Attempt,
        start: Instant,
        name: &str,
    ) -> Option<Event> {
        let target = if tree.mechanism() == Mechanism::Child {
            "child"
        } else {
            "tree"
        };
        let at = Instant::now().since(start);
        match action {
            Action::Send { signal, why } => {
                let reached = if and_continue {
                    tree.signal_and_continue(signal)
                } else {
                    tree.signal(signal)
                };
                let detail = || {
                    format!(
                        "{signal} to the {}{}; {}",
                        tree.mechanism().describe(),
                        report::count(reached),
                        report::explain(why, self.config.grace)
                    )
                };
                if signal == Signal::CONT
                    && self.config.stop_signal != Signal::CONT
                    && matches!(why, Why::Stop(_))
                {
                    // GNU does not announce the SIGCONT that follows its stop signal either
                    // (but does announce CONT when it is the stop signal).
                    tracing::debug!("sending signal CONT to command '{name}' ({})", detail());
                } else {
                    let gnu = why.announced_by_gnu(signal);
                    log::signal_sent(&signal.verbose_name(), name, gnu, detail);
                }
                attempt.signals_sent.push(SentSignal {
                    signal,
                    target,
                    reason: report::reason(why),
                    at,
                });
            }
            Action::Kill { why } => {
                let reached = tree.kill();
                let detail = || {
                    format!(
                        "SIGKILL to the {}{}; {}",
                        tree.mechanism().describe(),
                        report::count(reached),
                        report::explain(why, self.config.grace)
                    )
                };
                if matches!(why, Why::Retry(_)) {
                    // GNU announces one SIGKILL; the repetitions are detail.
                    tracing::debug!("sending signal KILL to command '{name}' ({})", detail());
                } else {
                    log::signal_sent("KILL", name, why.announced_by_gnu(Signal::KILL), detail);
                }
                attempt.signals_sent.push(SentSignal {
                    signal: Signal::KILL,
                    target,
                    reason: report::reason(why),
                    at,
                });
            }
            Action::SendToNewcomers { signal, why } => {
                let reached = tree.signal_newcomers(signal);
                if reached > 0 {
                    tracing::debug!(
                        "{signal} to {} found since the first pass ({})",
                        report::plural(reached, "process", "processes"),
                        report::explain(why, self.config.grace)
                    );
                    // Once in the report for a run of such passes (a tree that forks all
                    // through its grace period would add one entry a reaping).
                    let reason = report::reason(why);
                    let same = attempt.signals_sent.last().is_some_and(|last| {
                        last.signal == signal && last.reason == reason && last.target == target
                    });
                    if !same {
                        attempt.signals_sent.push(SentSignal {
                            signal,
                            target,
                            reason,
                            at,
                        });
                    }
                }
            }
            Action::SendOutsideTerminalGroup { signal, why } => {
                let reached = tree.signal_outside_own_group(signal);
                if reached > 0 {
                    let gnu = why.announced_by_gnu(signal);
                    log::signal_sent(&signal.verbose_name(), name, gnu, || {
                        format!(
                            "{signal} to {} outside the terminal's foreground group, which the \
                             terminal signalled itself",
                            report::plural(reached, "process", "processes")
                        )
                    });
                    attempt.signals_sent.push(SentSignal {
                        signal,
                        target,
                        reason: report::reason(why),
                        at,
                    });
                }
            }
            Action::Notice { left, again } => {
                if terminal::stderr_is_terminal() && self.config.verbosity != Verbosity::Quiet {
                    let key = if again == Signal::QUIT {
                        "Ctrl-\\"
                    } else {
                        "Ctrl-C"
                    };
                    let wait = match left {
                        Some(left) => format!("up to {}", duration::display(left)),
                        None => "with no time limit (--no-kill)".to_owned(),
                    };
                    log::line(format!(
                        "waiting {wait} for '{name}' to stop; {key} again to kill it now"
                    ));
                }
            }
            Action::GiveUp => {
                let left = tree.remaining();
                let what = if left.is_empty() {
                    "processes it cannot see (no /proc?)".to_owned()
                } else {
                    left.join(", ")
                };
                tracing::warn!(
                    "the tree of '{name}' did not end within {} of SIGKILL; giving up on {what}",
                    duration::display(machine::KILL_PATIENCE)
                );
            }
            Action::AtTimeout => {
                let pids = tree.pids();
                // Reading every process costs a few /proc reads each: only for someone who
                // will see it.
                let wanted = self.config.report.is_some()
                    || self.config.on_timeout.is_some()
                    || tracing::enabled!(tracing::Level::INFO);
                if wanted {
                    let started = tracing::enabled!(tracing::Level::DEBUG)
                        .then(|| (Instant::now(), census::cpu_time()));
                    let processes = census::take(&pids);
                    // Its cost delays the stop signal: said, for whoever measures it (the CPU
                    // time too, shared between threads, which a busy machine does not show).
                    if let Some((at, cpu)) = started {
                        tracing::debug!(
                            "read {} in {:.2}ms (CPU time {:.2}ms)",
                            report::plural(processes.len(), "process", "processes"),
                            Instant::now().since(at).as_secs_f64() * 1000.0,
                            (census::cpu_time() - cpu).as_secs_f64() * 1000.0
                        );
                    }
                    if tracing::enabled!(tracing::Level::INFO) {
                        tracing::info!(
                            "the tree of '{name}' at the timeout ({}):",
                            report::plural(processes.len(), "process", "processes")
                        );
                        for line in census::render(&processes) {
                            tracing::info!("  {line}");
                        }
                    }
                    attempt.tree_at_timeout = Some(processes);
                }
                if let Some(hook) = &self.config.on_timeout {
                    let bound = hook_bound(self.config);
                    // The command's pid only while it is alive: once reaped, it may be another
                    // process's.
                    let leader = if tree.leader_alive() {
                        attempt.pid.unwrap_or(0)
                    } else {
                        0
                    };
                    match crate::hook::start(hook, leader, &pids, bound) {
                        Some(running) => self.hook = Some(running),
                        None => return Some(Event::HookDone),
                    }
                }
            }
            Action::EndHook { overran } => {
                if let Some(running) = self.hook.take() {
                    running.end(overran);
                }
            }
            Action::Suspend { signal } => {
                tracing::debug!("the job is suspended by {signal}: stopping timeout-run too");
                if terminal::suspend_self(signal) {
                    tracing::debug!("resumed");
                } else {
                    tracing::debug!("resumed already (SIGCONT is waiting): not stopping");
                }
            }
            Action::Heartbeat { elapsed, beat } => {
                let state = match beat {
                    Beat::Running { remaining } => remaining
                        .filter(|r| !r.is_zero())
                        .map(|r| format!(" ({} left)", duration::display(r)))
                        .unwrap_or_default(),
                    Beat::Stopping { kill_in: Some(k) } if !k.is_zero() => {
                        format!(", stopping (SIGKILL in {})", duration::display(k))
                    }
                    Beat::Stopping { .. } => ", stopping".to_owned(),
                };
                log::heartbeat(format!(
                    "still running after {}{state}",
                    duration::display(elapsed)
                ));
            }
        }
        None
    }
}

/// How often timeout-run looks whether its job is in the terminal's foreground again, while a
/// read or write of the terminal from the background keeps part of it stopped: after 100 ms,
/// then at doubling intervals up to 1 s (`fg` resumes the command within that).
const TERMINAL_LOOK_FIRST: Duration = Duration::from_millis(100);
const TERMINAL_LOOK_MAX: Duration = Duration::from_secs(1);

/// How long `--on-timeout` may run: the grace period, at least 1 s (10 s with `--no-kill`).
pub fn hook_bound(config: &Config) -> Duration {
    config
        .grace
        .unwrap_or(Duration::from_secs(10))
        .max(Duration::from_secs(1))
}

/// What the tree used in this attempt: from the cgroup where there is one, else from the
/// resource usage of the descendants reaped in this attempt (`reaped`).
fn resources(tree: Option<&Tree>, reaped: Rusage, wall: Duration) -> Resources {
    let from_cgroup = tree.and_then(Tree::usage);
    let (user_s, system_s, cpu_source) = match from_cgroup {
        Some(u) => (u.user_s, u.system_s, "cgroup"),
        None => (reaped.user_s, reaped.system_s, "rusage"),
    };
    let (peak_rss_kib, memory_source) = match from_cgroup.and_then(|u| u.peak_kib) {
        Some(peak) => (Some(peak), "cgroup"),
        None => (
            u64::try_from(reaped.max_rss_kib).ok().filter(|k| *k > 0),
            "rusage",
        ),
    };
    Resources {
        wall_s: wall.as_secs_f64(),
        user_s,
        system_s,
        peak_rss_kib,
        cpu_source,
        memory_source,
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
