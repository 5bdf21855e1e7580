//! The supervisor's decisions, free of side effects: `(state, event, now) -> actions`.
//!
//! The driver (`supervisor`) turns the outside world into [`Event`]s, feeds them here with the
//! current time, carries out the returned [`Action`]s, and arms one timer for
//! [`Machine::next_wakeup`]. Because nothing here touches a process or a clock, every transition
//! is unit-tested with a fake clock.
//!
//! Phases:
//! ```text
//! Running ──deadline/idle/INT,TERM,HUP,QUIT──▶ Stopping ──grace over / same signal again──▶ Killing
//!    │   │                                          ▲                                        │
//!    │   └─deadline/idle with --on-timeout──▶ Hook ─┘ (hook ended, out of time, or a          │
//!    │                                              termination signal: then the stop signal) │
//!    └─command exits──▶ (leftovers: kill ▶ Stopping, wait ▶ Lingering, keep ▶ Done)          │
//!                  tree empty and command reaped, in any phase but Hook ──▶ Done ◀───────────┘
//! ```

use std::time::Duration;

use crate::clock::Instant;
use crate::config::Leftovers;
use crate::outcome::{Expiry, Outcome, Status, StopReason, Why};
use crate::signal::Signal;

/// The timings and policies the machine decides by.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Signal of the stop sequence.
    pub stop_signal: Signal,
    /// Grace between the stop signal and SIGKILL; `None` = never SIGKILL.
    pub grace: Option<Duration>,
    /// Policy for descendants alive after the command exits on its own.
    pub leftovers: Leftovers,
    /// Absolute deadline of this attempt.
    pub deadline: Option<Instant>,
    /// Idle (no output) limit.
    pub idle_timeout: Option<Duration>,
    /// Heartbeat interval.
    pub heartbeat: Option<Duration>,
    /// Whether the command shares timeout-run's process group, the job of the terminal's
    /// shell: terminal-generated signals (Ctrl-C, Ctrl-Z) reached it already and relaying them
    /// would deliver a second copy.
    pub shares_terminal_group: bool,
    /// How long the `--on-timeout` hook may run before the stop signal, if there is one.
    pub hook: Option<Duration>,
}

/// Something the driver must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a signal to the tree.
    Send { signal: Signal, why: Why },
    /// SIGKILL the whole tree.
    Kill { why: Why },
    /// Send a signal to the processes of the tree that have not received it in this stop
    /// sequence yet (descendants re-parented or found after the first pass).
    SendToNewcomers { signal: Signal, why: Why },
    /// Send a signal to the processes of the tree outside the terminal's foreground group,
    /// which the terminal did not signal (setsid'd daemons, background jobs).
    SendOutsideTerminalGroup { signal: Signal, why: Why },
    /// Tell the person at the terminal what is happening: the tree is still stopping, `left` of
    /// the grace period remains, and `again` (Ctrl-C) kills at once.
    Notice {
        left: Option<Duration>,
        again: Signal,
    },
    /// SIGKILL did not empty the tree within [`KILL_PATIENCE`]: stop waiting, say what is left.
    GiveUp,
    /// A timer fired: record the tree as it is and start `--on-timeout`, before the stop
    /// signal; [`Event::HookDone`] says when the hook has ended.
    AtTimeout,
    /// End what is left of the `--on-timeout` hook: it ran out of time (`overran`), or a
    /// signal cut it short.
    EndHook { overran: bool },
    /// Stop timeout-run itself by this job-control signal (Ctrl-Z at the terminal), after the
    /// tree, so the shell sees the whole job stopped.
    Suspend { signal: Signal },
    /// Print a heartbeat line.
    Heartbeat { elapsed: Duration, beat: Beat },
}

/// What a heartbeat line says besides the time elapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// The command runs; the time left before the deadline, if there is one.
    Running { remaining: Option<Duration> },
    /// The stop signal was sent; the time left before SIGKILL (never with `--no-kill`). A long
    /// grace period is no silence for a CI watchdog either.
    Stopping { kill_in: Option<Duration> },
}

/// Where the machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The command runs.
    Running,
    /// A timer fired and the `--on-timeout` hook runs: the stop signal waits for its end, at
    /// most until `until`.
    Hook { until: Instant },
    /// The command exited; waiting for its descendants (`--leftovers wait`).
    Lingering,
    /// The stop signal was sent; SIGKILL at `kill_at` (never when `None`).
    Stopping { kill_at: Option<Instant> },
    /// SIGKILL was sent; waiting for the tree to be gone, repeating SIGKILL at `retry_at`.
    Killing,
    /// Over: the outcome is known.
    Done,
}

/// Something that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The timer armed for [`Machine::next_wakeup`] fired (or may have).
    Tick,
    /// timeout-run received a signal; `from_terminal` when the kernel sent it on behalf of the
    /// terminal (si_code SI_KERNEL: Ctrl-C, Ctrl-\, Ctrl-Z).
    Signal { signal: Signal, from_terminal: bool },
    /// The command (the direct child) was reaped; `tree_empty` when no other descendant remains.
    CommandExited { status: Status, tree_empty: bool },
    /// The last descendant was reaped.
    TreeEmpty,
    /// Descendants other than the command were reaped (their children, if any, now belong to
    /// timeout-run).
    Reaped,
    /// The command wrote output (resets the idle timer).
    Output,
    /// The `--on-timeout` hook ended (or could not be started).
    HookDone,
}

/// How long SIGKILL is repeated before timeout-run stops waiting for what it cannot end
/// (a process in uninterruptible sleep, or one it cannot see).
pub const KILL_PATIENCE: Duration = Duration::from_secs(5);

/// First and longest interval between repeated SIGKILLs.
const KILL_RETRY_FIRST: Duration = Duration::from_millis(20);
const KILL_RETRY_MAX: Duration = Duration::from_millis(500);

/// How long after Ctrl-C the person at the terminal is told what is going on.
const NOTICE_AFTER: Duration = Duration::from_secs(1);

/// Repeated SIGKILLs: when the next one is due, at what interval, and since when.
#[derive(Debug, Clone, Copy)]
struct KillRetry {
    next: Instant,
    interval: Duration,
    first: Instant,
}

/// The state machine of one attempt.
#[derive(Debug, Clone)]
pub struct Machine {
    settings: Settings,
    started: Instant,
    phase: Phase,
    reason: Option<StopReason>,
    status: Option<Status>,
    tree_empty: bool,
    /// The termination signals received during the current stop (and the one that started
    /// it): receiving one of them again means "now".
    received: Vec<Signal>,
    /// The signal the stop sequence sent to the tree, for descendants found later.
    stop_sent: Option<Signal>,
    kill_retry: Option<KillRetry>,
    /// When to tell the terminal that the tree is still stopping (after Ctrl-C).
    notice_at: Option<(Instant, Signal)>,
    idle_at: Option<Instant>,
    next_heartbeat: Option<Instant>,
    escalated: bool,
}

impl Machine {
    /// A machine for a command spawned at `started`.
    pub fn new(settings: Settings, started: Instant) -> Machine {
        let idle_at = settings.idle_timeout.map(|d| started.add(d));
        let next_heartbeat = settings.heartbeat.map(|d| started.add(d));
        Machine {
            settings,
            started,
            phase: Phase::Running,
            reason: None,
            status: None,
            tree_empty: false,
            received: Vec::new(),
            stop_sent: None,
            kill_retry: None,
            notice_at: None,
            idle_at,
            next_heartbeat,
            escalated: false,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether SIGKILL was sent.
    pub fn escalated(&self) -> bool {
        self.escalated
    }

    /// Why the stop sequence ran, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.reason
    }

    /// The outcome, once `Done`.
    pub fn outcome(&self) -> Option<Outcome> {
        if self.phase != Phase::Done {
            return None;
        }
        let status = self.status?;
        Some(match self.reason {
            Some(StopReason::Expired(expiry)) => Outcome::TimedOut { expiry, status },
            Some(StopReason::Cancelled(signal)) => Outcome::Cancelled {
                signal,
                status: Some(status),
            },
            Some(StopReason::Leftovers) | None => Outcome::Finished(status),
        })
    }

    /// Whether an [`Event::Tick`] at `now` would end the command for idleness: the driver then
    /// looks once more whether it is really silent.
    pub fn idle_due(&self, now: Instant) -> bool {
        self.phase == Phase::Running && self.idle_at.is_some_and(|d| now >= d)
    }

    /// When the driver must wake the machine with [`Event::Tick`] at the latest.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let timers = match self.phase {
            Phase::Running => [self.settings.deadline, self.idle_at, self.next_heartbeat],
            Phase::Hook { until } => [Some(until), None, self.next_heartbeat],
            Phase::Lingering => [self.settings.deadline, None, self.next_heartbeat],
            Phase::Stopping { kill_at } => {
                [kill_at, self.notice_at.map(|n| n.0), self.next_heartbeat]
            }
            Phase::Killing => [self.kill_retry.map(|r| r.next), None, self.next_heartbeat],
            Phase::Done => [None, None, None],
        };
        timers.into_iter().flatten().min()
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.phase == Phase::Done {
            return actions;
        }
        match event {
            Event::Tick => self.tick(now, &mut actions),
            Event::Signal {
                signal,
                from_terminal,
            } => self.on_signal(signal, from_terminal, now, &mut actions),
            Event::CommandExited { status, tree_empty } => {
                self.status = Some(status);
                self.tree_empty = tree_empty;
                if self.phase == Phase::Running && !tree_empty {
                    match self.settings.leftovers {
                        Leftovers::Kill => {
                            self.begin_stop(StopReason::Leftovers, now, &mut actions)
                        }
                        Leftovers::Wait => self.phase = Phase::Lingering,
                        Leftovers::Keep => self.phase = Phase::Done,
                    }
                }
            }
            Event::TreeEmpty => self.tree_empty = true,
            Event::Reaped => {
                // A descendant that died may leave children that the first pass of the stop
                // signal did not see (they were its children then, and are timeout-run's now).
                if let (Phase::Stopping { .. }, Some(signal)) = (self.phase, self.stop_sent) {
                    let reason = self.reason.unwrap_or(StopReason::Leftovers);
                    actions.push(Action::SendToNewcomers {
                        signal,
                        why: Why::Stop(reason),
                    });
                }
            }
            Event::Output => {
                if let Some(idle) = self.settings.idle_timeout {
                    self.idle_at = Some(now.add(idle));
                }
            }
            Event::HookDone => {
                if let Phase::Hook { .. } = self.phase {
                    self.end_hook(now, &mut actions);
                }
            }
        }
        // While the hook runs, the end waits for it (it is bounded), even when the tree is gone.
        if self.status.is_some() && self.tree_empty && !matches!(self.phase, Phase::Hook { .. }) {
            self.phase = Phase::Done;
        }
        actions
    }

    fn tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if let Some(at) = self.next_heartbeat.filter(|at| now >= *at) {
            let interval = self.settings.heartbeat.unwrap_or(Duration::MAX);
            // Skip beats missed while suspended rather than printing them all at once.
            let missed = now.since(at).as_nanos() / interval.as_nanos().max(1);
            let skip = u32::try_from(missed.saturating_add(1)).unwrap_or(u32::MAX);
            let next = at.add(interval.saturating_mul(skip));
            self.next_heartbeat = Some(next);
            let beat = match self.phase {
                Phase::Running | Phase::Lingering => Some(Beat::Running {
                    remaining: self.settings.deadline.map(|d| d.since(now)),
                }),
                Phase::Stopping { kill_at } => Some(Beat::Stopping {
                    kill_in: kill_at.map(|k| k.since(now)),
                }),
                // SIGKILL at the latest when the hook has used all its time and then the grace.
                Phase::Hook { until } => Some(Beat::Stopping {
                    kill_in: self.settings.grace.map(|g| until.since(now) + g),
                }),
                Phase::Killing | Phase::Done => None,
            };
            if let Some(beat) = beat {
                actions.push(Action::Heartbeat {
                    elapsed: now.since(self.started),
                    beat,
                });
            }
        }
        match self.phase {
            Phase::Running | Phase::Lingering => {
                if self.settings.deadline.is_some_and(|d| now >= d) {
                    self.begin_stop(StopReason::Expired(Expiry::Deadline), now, actions);
                } else if self.phase == Phase::Running && self.idle_at.is_some_and(|d| now >= d) {
                    self.begin_stop(StopReason::Expired(Expiry::Idle), now, actions);
                }
            }
            Phase::Hook { until } if now >= until => {
                actions.push(Action::EndHook { overran: true });
                self.end_hook(now, actions);
            }
            Phase::Hook { .. } => {}
            Phase::Stopping { kill_at: Some(at) } if now >= at => {
                let reason = self.reason.unwrap_or(StopReason::Leftovers);
                self.kill(Why::GraceOver(reason), now, actions);
            }
            Phase::Stopping { kill_at } => {
                if let Some((_, again)) = self.notice_at.filter(|(at, _)| now >= *at) {
                    self.notice_at = None;
                    actions.push(Action::Notice {
                        left: kill_at.map(|k| k.since(now)),
                        again,
                    });
                }
            }
            Phase::Killing => {
                if let Some(retry) = self.kill_retry.filter(|r| now >= r.next) {
                    let reason = self.reason.unwrap_or(StopReason::Leftovers);
                    if now.since(retry.first) >= KILL_PATIENCE {
                        actions.push(Action::GiveUp);
                        // The command's status may never come (it cannot be reaped): report
                        // what was done to it.
                        self.status.get_or_insert(Status::Signal(Signal::KILL));
                        self.kill_retry = None;
                        self.phase = Phase::Done;
                    } else {
                        let interval = (retry.interval * 2).min(KILL_RETRY_MAX);
                        self.kill_retry = Some(KillRetry {
                            next: now.add(retry.interval),
                            interval,
                            first: retry.first,
                        });
                        actions.push(Action::Kill {
                            why: Why::Retry(reason),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn on_signal(
        &mut self,
        signal: Signal,
        from_terminal: bool,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        // A terminal-generated signal reached the command directly when it shares our group.
        let relay = !(from_terminal && self.settings.shares_terminal_group);
        // A SIGTSTP from a process is job control too (the shell's `kill -TSTP %1`, to the
        // job or to timeout-run alone): it suspends the whole job as Ctrl-Z does, relayed to
        // the tree, which may or may not have heard it (a second stop signal changes nothing).
        if signal == Signal::TSTP
            || (from_terminal && [Signal::TTIN, Signal::TTOU].contains(&signal))
        {
            if relay {
                actions.push(Action::Send {
                    signal,
                    why: Why::Forward,
                });
            }
            // Ctrl-Z: suspend the whole job, timeout-run included, so the shell sees it stopped
            // and `fg` resumes it. A read or write of the terminal from the background stops
            // the command that made it, not timeout-run (as GNU timeout ignores SIGTTIN and
            // SIGTTOU): the deadline still runs, and `fg` resumes the command.
            let outside = |signal| Action::SendOutsideTerminalGroup {
                signal,
                why: Why::Forward,
            };
            if signal == Signal::TSTP {
                if relay {
                    // The kernel discards a SIGTSTP sent to an orphaned process group (a
                    // setsid'd daemon's): outside the job's own group, SIGSTOP. The SIGCONT that
                    // resumes the job is relayed to the whole tree.
                    if self.settings.shares_terminal_group {
                        actions.push(outside(Signal::STOP));
                    }
                    actions.push(Action::Suspend { signal });
                } else {
                    // The terminal stopped its foreground group only: the rest of the tree (a
                    // background job, a setsid'd daemon) is stopped by timeout-run, with
                    // SIGSTOP because the kernel discards a SIGTSTP sent to an orphaned process
                    // group. When timeout-run is resumed (`fg`), or was not stopped at all (its
                    // own group is orphaned: a container's PID 1, `ssh -t host timeout-run`),
                    // they are resumed too.
                    actions.push(outside(Signal::STOP));
                    actions.push(Action::Suspend { signal });
                    actions.push(outside(Signal::CONT));
                }
            }
            return;
        }
        if signal == Signal::ALRM {
            // GNU timeout's own timer is SIGALRM, so `kill -ALRM` means "the time is up now"; during
            // a grace period it is the end of the grace, as GNU's second alarm is.
            match self.phase {
                Phase::Running | Phase::Lingering => {
                    self.begin_stop(StopReason::Expired(Expiry::Deadline), now, actions)
                }
                // The time is up for the hook too: the stop signal now.
                Phase::Hook { .. } => {
                    actions.push(Action::EndHook { overran: false });
                    self.end_hook(now, actions);
                }
                Phase::Stopping { .. } => {
                    let reason = self.reason.unwrap_or(StopReason::Expired(Expiry::Deadline));
                    self.kill(Why::GraceOver(reason), now, actions);
                }
                Phase::Killing | Phase::Done => {}
            }
            return;
        }
        if !signal.is_termination() {
            if relay {
                actions.push(Action::Send {
                    signal,
                    why: Why::Forward,
                });
            }
            return;
        }
        match self.phase {
            Phase::Running | Phase::Lingering => {
                let reason = StopReason::Cancelled(signal);
                self.reason = Some(reason);
                self.received.push(signal);
                self.stop_sent = Some(signal);
                if relay {
                    actions.push(Action::Send {
                        signal,
                        why: Why::Forward,
                    });
                } else {
                    // The terminal signalled its foreground group only: the rest of the tree
                    // hears the same Ctrl-C from timeout-run, once.
                    actions.push(Action::SendOutsideTerminalGroup {
                        signal,
                        why: Why::Forward,
                    });
                }
                if from_terminal {
                    self.notice_at = Some((now.add(NOTICE_AFTER), signal));
                }
                self.after_stop_signal(reason, now, actions);
            }
            // Someone wants the tree stopped now: the hook is cut short, the stop signal goes
            // out, and the signal is then what it is in any grace period (relayed once; the
            // same again kills).
            Phase::Hook { .. } => {
                actions.push(Action::EndHook { overran: false });
                self.end_hook(now, actions);
                if self.phase != Phase::Done {
                    self.on_signal(signal, from_terminal, now, actions);
                }
                // Ctrl-C started this grace period as it starts a cancel's: the person at the
                // terminal hears why nothing happens yet.
                if from_terminal && matches!(self.phase, Phase::Stopping { .. }) {
                    self.notice_at = Some((now.add(NOTICE_AFTER), signal));
                }
            }
            Phase::Stopping { .. } | Phase::Killing => {
                // In any grace period (a cancel's, a timeout's, the leftovers'), the first
                // termination signal is relayed; the same one again kills at once.
                let insisted = self.received.contains(&signal);
                if insisted && self.phase != Phase::Killing {
                    let reason = self.reason.unwrap_or(StopReason::Cancelled(signal));
                    self.kill(Why::Insisted(reason), now, actions);
                } else if !insisted && relay {
                    actions.push(Action::Send {
                        signal,
                        why: Why::Forward,
                    });
                } else if !insisted {
                    actions.push(Action::SendOutsideTerminalGroup {
                        signal,
                        why: Why::Forward,
                    });
                }
                if !insisted {
                    self.received.push(signal);
                }
                if self.reason == Some(StopReason::Leftovers) {
                    // The user interrupted the clean-up: report the cancellation.
                    self.reason = Some(StopReason::Cancelled(signal));
                }
            }
            Phase::Done => {}
        }
    }

    /// Starts the stop sequence: stop signal, SIGCONT, then the grace timer (or SIGKILL at once).
    /// At a timeout, the tree is recorded first, and an `--on-timeout` hook runs before the stop
    /// signal.
    fn begin_stop(&mut self, reason: StopReason, now: Instant, actions: &mut Vec<Action>) {
        self.reason = Some(reason);
        self.stop_sent = Some(self.settings.stop_signal);
        if matches!(reason, StopReason::Expired(_)) {
            actions.push(Action::AtTimeout);
            if let Some(bound) = self.settings.hook {
                self.phase = Phase::Hook {
                    until: now.add(bound),
                };
                return;
            }
        }
        self.send_stop_signal(reason, now, actions);
    }

    /// The hook is over: the stop signal, unless the tree ended meanwhile.
    fn end_hook(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let reason = self.reason.unwrap_or(StopReason::Expired(Expiry::Deadline));
        if self.status.is_some() && self.tree_empty {
            self.phase = Phase::Done;
        } else {
            self.send_stop_signal(reason, now, actions);
        }
    }

    /// The stop signal, SIGCONT, then the grace timer.
    fn send_stop_signal(&mut self, reason: StopReason, now: Instant, actions: &mut Vec<Action>) {
        actions.push(Action::Send {
            signal: self.settings.stop_signal,
            why: Why::Stop(reason),
        });
        self.after_stop_signal(reason, now, actions);
    }

    /// SIGCONT so stopped processes can act on the signal, then the grace period.
    fn after_stop_signal(&mut self, reason: StopReason, now: Instant, actions: &mut Vec<Action>) {
        actions.push(Action::Send {
            signal: Signal::CONT,
            why: Why::Stop(reason),
        });
        match self.settings.grace {
            Some(grace) if grace.is_zero() => self.kill(Why::GraceOver(reason), now, actions),
            Some(grace) => {
                self.phase = Phase::Stopping {
                    kill_at: Some(now.add(grace)),
                }
            }
            None => self.phase = Phase::Stopping { kill_at: None },
        }
    }

    /// SIGKILL, repeated with back-off until the tree is gone or [`KILL_PATIENCE`] runs out.
    fn kill(&mut self, why: Why, now: Instant, actions: &mut Vec<Action>) {
        self.escalated = true;
        self.phase = Phase::Killing;
        self.notice_at = None;
        self.kill_retry = Some(KillRetry {
            next: now.add(KILL_RETRY_FIRST),
            interval: KILL_RETRY_FIRST * 2,
            first: now,
        });
        actions.push(Action::Kill { why });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERM: Signal = Signal::TERM;
    const INT: Signal = Signal::INT;
    const CONT: Signal = Signal::CONT;

    fn at(ms: u64) -> Instant {
        Instant::from_origin(Duration::from_millis(ms))
    }

    fn settings() -> Settings {
        Settings {
            stop_signal: TERM,
            grace: Some(Duration::from_secs(2)),
            leftovers: Leftovers::Kill,
            deadline: Some(at(5_000)),
            idle_timeout: None,
            heartbeat: None,
            shares_terminal_group: false,
            hook: None,
        }
    }

    fn machine(s: Settings) -> Machine {
        Machine::new(s, at(0))
    }

    fn send(signal: Signal, why: Why) -> Action {
        Action::Send { signal, why }
    }

    fn sig(signal: Signal) -> Event {
        Event::Signal {
            signal,
            from_terminal: false,
        }
    }

    fn exited(status: Status) -> Event {
        Event::CommandExited {
            status,
            tree_empty: true,
        }
    }

    const DEADLINE: StopReason = StopReason::Expired(Expiry::Deadline);

    #[test]
    fn command_exits_before_deadline() {
        let mut m = machine(settings());
        assert_eq!(m.next_wakeup(), Some(at(5_000)));
        assert!(m.handle(exited(Status::Code(3)), at(100)).is_empty());
        assert_eq!(m.phase(), Phase::Done);
        assert_eq!(m.outcome(), Some(Outcome::Finished(Status::Code(3))));
        assert_eq!(m.next_wakeup(), None);
    }

    #[test]
    fn stop_reason_says_why_the_stop_sequence_ran() {
        let mut m = machine(settings());
        m.handle(exited(Status::Code(0)), at(10));
        assert_eq!(m.stop_reason(), None);
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        assert_eq!(m.stop_reason(), Some(DEADLINE));
        let mut m = machine(settings());
        m.handle(sig(INT), at(10));
        assert_eq!(m.stop_reason(), Some(StopReason::Cancelled(INT)));
        let mut m = machine(settings());
        m.handle(
            Event::CommandExited {
                status: Status::Code(0),
                tree_empty: false,
            },
            at(10),
        );
        assert_eq!(m.stop_reason(), Some(StopReason::Leftovers));
    }

    #[test]
    fn early_tick_does_nothing() {
        let mut m = machine(settings());
        assert!(m.handle(Event::Tick, at(4_999)).is_empty());
        assert_eq!(m.phase(), Phase::Running);
    }

    #[test]
    fn deadline_runs_the_stop_sequence_then_kills_after_grace() {
        let mut m = machine(settings());
        let actions = m.handle(Event::Tick, at(5_000));
        assert_eq!(
            actions,
            [
                Action::AtTimeout,
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE))
            ]
        );
        assert_eq!(
            m.phase(),
            Phase::Stopping {
                kill_at: Some(at(7_000))
            }
        );
        assert_eq!(m.next_wakeup(), Some(at(7_000)));
        assert!(m.handle(Event::Tick, at(6_999)).is_empty());
        let actions = m.handle(Event::Tick, at(7_000));
        assert_eq!(
            actions,
            [Action::Kill {
                why: Why::GraceOver(DEADLINE)
            }]
        );
        assert!(m.escalated());
        m.handle(exited(Status::Signal(Signal::KILL)), at(7_001));
        assert_eq!(
            m.outcome(),
            Some(Outcome::TimedOut {
                expiry: Expiry::Deadline,
                status: Status::Signal(Signal::KILL)
            })
        );
    }

    #[test]
    fn command_dying_on_the_stop_signal_ends_without_kill() {
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        m.handle(exited(Status::Signal(TERM)), at(5_001));
        assert!(!m.escalated());
        assert_eq!(
            m.outcome(),
            Some(Outcome::TimedOut {
                expiry: Expiry::Deadline,
                status: Status::Signal(TERM)
            })
        );
    }

    #[test]
    fn zero_grace_kills_right_after_the_stop_signal() {
        let mut m = machine(Settings {
            grace: Some(Duration::ZERO),
            ..settings()
        });
        let actions = m.handle(Event::Tick, at(5_000));
        assert_eq!(
            actions,
            [
                Action::AtTimeout,
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE)),
                Action::Kill {
                    why: Why::GraceOver(DEADLINE)
                }
            ]
        );
        assert_eq!(m.phase(), Phase::Killing);
    }

    #[test]
    fn no_kill_never_escalates() {
        let mut m = machine(Settings {
            grace: None,
            ..settings()
        });
        m.handle(Event::Tick, at(5_000));
        assert_eq!(m.phase(), Phase::Stopping { kill_at: None });
        assert_eq!(m.next_wakeup(), None);
        assert!(m.handle(Event::Tick, at(1_000_000)).is_empty());
    }

    #[test]
    fn termination_signal_is_forwarded_and_starts_the_grace() {
        let mut m = machine(settings());
        let actions = m.handle(sig(INT), at(1_000));
        let cancelled = StopReason::Cancelled(INT);
        assert_eq!(
            actions,
            [send(INT, Why::Forward), send(CONT, Why::Stop(cancelled))]
        );
        assert_eq!(
            m.phase(),
            Phase::Stopping {
                kill_at: Some(at(3_000))
            }
        );
        // The deadline no longer matters once cancelled.
        assert_eq!(m.next_wakeup(), Some(at(3_000)));
        m.handle(exited(Status::Code(0)), at(1_500));
        assert_eq!(
            m.outcome(),
            Some(Outcome::Cancelled {
                signal: INT,
                status: Some(Status::Code(0))
            })
        );
    }

    #[test]
    fn same_signal_again_kills_at_once() {
        let mut m = machine(settings());
        m.handle(sig(INT), at(1_000));
        let actions = m.handle(sig(INT), at(1_100));
        assert_eq!(
            actions,
            [Action::Kill {
                why: Why::Insisted(StopReason::Cancelled(INT))
            }]
        );
        assert_eq!(m.phase(), Phase::Killing);
        // A third one changes nothing.
        assert!(m.handle(sig(INT), at(1_200)).is_empty());
    }

    #[test]
    fn other_termination_signal_during_grace_is_only_forwarded() {
        let mut m = machine(settings());
        m.handle(sig(INT), at(1_000));
        assert_eq!(m.handle(sig(TERM), at(1_100)), [send(TERM, Why::Forward)]);
        assert!(matches!(m.phase(), Phase::Stopping { .. }));
    }

    #[test]
    fn termination_signal_after_timeout_is_forwarded_and_keeps_the_timeout() {
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        assert_eq!(m.handle(sig(INT), at(5_100)), [send(INT, Why::Forward)]);
        m.handle(exited(Status::Signal(INT)), at(5_200));
        assert!(matches!(m.outcome(), Some(Outcome::TimedOut { .. })));
    }

    #[test]
    fn same_termination_signal_twice_during_a_timeouts_grace_kills_and_keeps_the_timeout() {
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        assert_eq!(m.handle(sig(INT), at(5_100)), [send(INT, Why::Forward)]);
        assert_eq!(
            m.handle(sig(INT), at(5_200)),
            [Action::Kill {
                why: Why::Insisted(DEADLINE)
            }]
        );
        m.handle(exited(Status::Signal(Signal::KILL)), at(5_300));
        assert!(matches!(m.outcome(), Some(Outcome::TimedOut { .. })));
    }

    #[test]
    fn ctrl_c_twice_from_the_terminal_during_a_timeouts_grace_kills() {
        let mut m = machine(Settings {
            shares_terminal_group: true,
            ..settings()
        });
        m.handle(Event::Tick, at(5_000));
        let ctrl_c = Event::Signal {
            signal: INT,
            from_terminal: true,
        };
        // The terminal delivered the first one to its foreground group; timeout-run relays it to
        // the rest of the tree only.
        assert_eq!(
            m.handle(ctrl_c, at(5_100)),
            [Action::SendOutsideTerminalGroup {
                signal: INT,
                why: Why::Forward
            }]
        );
        assert_eq!(
            m.handle(ctrl_c, at(5_200)),
            [Action::Kill {
                why: Why::Insisted(DEADLINE)
            }]
        );
    }

    #[test]
    fn alarm_from_outside_is_a_timeout_and_then_the_end_of_the_grace() {
        let alrm = Signal::ALRM;
        let mut m = machine(settings());
        assert_eq!(
            m.handle(sig(alrm), at(100)),
            [
                Action::AtTimeout,
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE))
            ]
        );
        assert_eq!(
            m.handle(sig(alrm), at(200)),
            [Action::Kill {
                why: Why::GraceOver(DEADLINE)
            }]
        );
        m.handle(exited(Status::Signal(Signal::KILL)), at(300));
        assert!(matches!(
            m.outcome(),
            Some(Outcome::TimedOut {
                expiry: Expiry::Deadline,
                ..
            })
        ));
        // Without a deadline of its own, too.
        let mut m = machine(Settings {
            deadline: None,
            ..settings()
        });
        assert_eq!(m.handle(sig(alrm), at(100)).len(), 3);
        assert!(matches!(m.phase(), Phase::Stopping { .. }));
    }

    #[test]
    fn any_termination_signal_received_twice_kills() {
        let mut m = machine(settings());
        m.handle(sig(INT), at(1_000));
        assert_eq!(m.handle(sig(TERM), at(1_100)), [send(TERM, Why::Forward)]);
        assert_eq!(
            m.handle(sig(TERM), at(1_200)),
            [Action::Kill {
                why: Why::Insisted(StopReason::Cancelled(INT))
            }]
        );
    }

    fn with_hook() -> Machine {
        machine(Settings {
            hook: Some(Duration::from_secs(2)),
            ..settings()
        })
    }

    #[test]
    fn the_stop_signal_waits_for_the_hook_and_the_grace_starts_after_it() {
        let mut m = with_hook();
        assert_eq!(m.handle(Event::Tick, at(5_000)), [Action::AtTimeout]);
        assert_eq!(m.phase(), Phase::Hook { until: at(7_000) });
        assert_eq!(m.next_wakeup(), Some(at(7_000)));
        assert!(m.handle(Event::Output, at(5_500)).is_empty());
        assert_eq!(
            m.handle(Event::HookDone, at(6_000)),
            [
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE))
            ]
        );
        // The whole grace period, from the stop signal.
        assert_eq!(m.next_wakeup(), Some(at(8_000)));
        assert!(m.handle(Event::HookDone, at(6_100)).is_empty());
    }

    #[test]
    fn a_hook_out_of_time_is_ended_then_the_stop_signal_goes() {
        let mut m = with_hook();
        m.handle(Event::Tick, at(5_000));
        assert!(m.handle(Event::Tick, at(6_999)).is_empty());
        assert_eq!(
            m.handle(Event::Tick, at(7_000)),
            [
                Action::EndHook { overran: true },
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE))
            ]
        );
        assert_eq!(m.next_wakeup(), Some(at(9_000)));
    }

    #[test]
    fn a_signal_during_the_hook_cuts_it_short_and_counts_as_in_a_grace_period() {
        let mut m = with_hook();
        m.handle(Event::Tick, at(5_000));
        assert_eq!(
            m.handle(sig(TERM), at(5_100)),
            [
                Action::EndHook { overran: false },
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE)),
                send(TERM, Why::Forward)
            ]
        );
        // The same signal again: SIGKILL now.
        assert_eq!(
            m.handle(sig(TERM), at(5_200)),
            [Action::Kill {
                why: Why::Insisted(DEADLINE)
            }]
        );
        // Ctrl-C during the hook: the same notice as after a Ctrl-C that cancels.
        let mut m = with_hook();
        m.handle(Event::Tick, at(5_000));
        m.handle(
            Event::Signal {
                signal: INT,
                from_terminal: true,
            },
            at(5_100),
        );
        assert_eq!(m.next_wakeup(), Some(at(6_100)));
        assert_eq!(
            m.handle(Event::Tick, at(6_100)),
            [Action::Notice {
                left: Some(Duration::from_secs(1)),
                again: INT
            }]
        );
        // Other signals are relayed while the hook runs, and SIGALRM ends it.
        let mut m = with_hook();
        m.handle(Event::Tick, at(5_000));
        let usr1 = Signal::from_raw(libc::SIGUSR1).unwrap();
        assert_eq!(m.handle(sig(usr1), at(5_100)), [send(usr1, Why::Forward)]);
        assert_eq!(
            m.handle(sig(Signal::ALRM), at(5_200)),
            [
                Action::EndHook { overran: false },
                send(TERM, Why::Stop(DEADLINE)),
                send(CONT, Why::Stop(DEADLINE))
            ]
        );
    }

    #[test]
    fn a_tree_that_ends_during_the_hook_waits_for_it_and_sends_nothing() {
        let mut m = with_hook();
        m.handle(Event::Tick, at(5_000));
        assert!(m.handle(exited(Status::Code(2)), at(5_100)).is_empty());
        assert_eq!(m.phase(), Phase::Hook { until: at(7_000) });
        assert!(m.handle(Event::HookDone, at(5_200)).is_empty());
        assert_eq!(m.phase(), Phase::Done);
        assert_eq!(
            m.outcome(),
            Some(Outcome::TimedOut {
                expiry: Expiry::Deadline,
                status: Status::Code(2)
            })
        );
        // A cancel starts no hook.
        let mut m = with_hook();
        assert_eq!(
            m.handle(sig(INT), at(100)),
            [
                send(INT, Why::Forward),
                send(CONT, Why::Stop(StopReason::Cancelled(INT)))
            ]
        );
    }

    #[test]
    fn other_signals_are_forwarded_and_change_nothing() {
        let mut m = machine(settings());
        let usr1 = Signal::from_raw(libc::SIGUSR1).unwrap();
        assert_eq!(m.handle(sig(usr1), at(10)), [send(usr1, Why::Forward)]);
        assert_eq!(m.phase(), Phase::Running);
    }

    #[test]
    fn terminal_signals_are_not_relayed_to_a_shared_group() {
        let mut m = machine(Settings {
            shares_terminal_group: true,
            ..settings()
        });
        let ctrl_c = Event::Signal {
            signal: INT,
            from_terminal: true,
        };
        let cancelled = StopReason::Cancelled(INT);
        // The terminal signalled the foreground group; the rest of the tree hears it from
        // timeout-run.
        assert_eq!(
            m.handle(ctrl_c, at(10)),
            [
                Action::SendOutsideTerminalGroup {
                    signal: INT,
                    why: Why::Forward
                },
                send(CONT, Why::Stop(cancelled))
            ]
        );
        assert_eq!(
            m.handle(ctrl_c, at(20)),
            [Action::Kill {
                why: Why::Insisted(cancelled)
            }]
        );
        // A kill() from elsewhere is still relayed.
        let mut m = machine(Settings {
            shares_terminal_group: true,
            ..settings()
        });
        assert_eq!(m.handle(sig(INT), at(10))[0], send(INT, Why::Forward));
    }

    #[test]
    fn ctrl_c_is_explained_after_a_moment_if_the_tree_is_still_stopping() {
        let mut m = machine(settings());
        let ctrl_c = Event::Signal {
            signal: INT,
            from_terminal: true,
        };
        m.handle(ctrl_c, at(1_000));
        assert_eq!(m.next_wakeup(), Some(at(2_000)));
        assert!(m.handle(Event::Tick, at(1_500)).is_empty());
        assert_eq!(
            m.handle(Event::Tick, at(2_000)),
            [Action::Notice {
                left: Some(Duration::from_secs(1)),
                again: INT
            }]
        );
        // Once only.
        assert!(m.handle(Event::Tick, at(2_100)).is_empty());
        assert_eq!(m.next_wakeup(), Some(at(3_000)));
        // Not for a kill() from elsewhere.
        let mut m = machine(settings());
        m.handle(sig(INT), at(1_000));
        assert!(m.handle(Event::Tick, at(2_000)).is_empty());
    }

    #[test]
    fn sigkill_is_repeated_with_back_off_then_given_up() {
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        m.handle(Event::Tick, at(7_000));
        assert_eq!(m.phase(), Phase::Killing);
        let retry = Action::Kill {
            why: Why::Retry(DEADLINE),
        };
        let mut now = 7_000;
        let mut gaps = Vec::new();
        loop {
            let next = m.next_wakeup().expect("a retry is armed");
            let ms = next.since(at(0)).as_millis() as u64;
            gaps.push(ms - now);
            now = ms;
            let actions = m.handle(Event::Tick, at(now));
            if actions == [Action::GiveUp] {
                break;
            }
            assert_eq!(actions, [retry]);
        }
        assert_eq!(gaps[..4], [20, 40, 80, 160]);
        assert!(gaps.iter().all(|g| *g <= 500), "{gaps:?}");
        assert!(now - 7_000 >= KILL_PATIENCE.as_millis() as u64);
        assert_eq!(m.phase(), Phase::Done);
        assert!(matches!(m.outcome(), Some(Outcome::TimedOut { .. })));
    }

    #[test]
    fn kill_retries_stop_when_the_tree_is_gone() {
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        m.handle(Event::Tick, at(7_000));
        m.handle(exited(Status::Signal(Signal::KILL)), at(7_005));
        assert_eq!(m.phase(), Phase::Done);
        assert_eq!(m.next_wakeup(), None);
    }

    #[test]
    fn descendants_reaped_during_the_grace_send_the_stop_signal_to_newcomers() {
        let mut m = machine(settings());
        assert!(m.handle(Event::Reaped, at(100)).is_empty());
        m.handle(Event::Tick, at(5_000));
        assert_eq!(
            m.handle(Event::Reaped, at(5_100)),
            [Action::SendToNewcomers {
                signal: TERM,
                why: Why::Stop(DEADLINE)
            }]
        );
        // A cancellation relays the received signal, and so do newcomers.
        let mut m = machine(settings());
        m.handle(sig(INT), at(100));
        assert_eq!(
            m.handle(Event::Reaped, at(200)),
            [Action::SendToNewcomers {
                signal: INT,
                why: Why::Stop(StopReason::Cancelled(INT))
            }]
        );
    }

    #[test]
    fn terminal_signals_are_relayed_to_a_separate_group() {
        let mut m = machine(settings());
        let ctrl_c = Event::Signal {
            signal: INT,
            from_terminal: true,
        };
        assert_eq!(m.handle(ctrl_c, at(10))[0], send(INT, Why::Forward));
    }

    #[test]
    fn ctrl_z_suspends() {
        let mut m = machine(Settings {
            shares_terminal_group: true,
            ..settings()
        });
        let ctrl_z = Event::Signal {
            signal: Signal::TSTP,
            from_terminal: true,
        };
        let suspend = Action::Suspend {
            signal: Signal::TSTP,
        };
        let outside = |signal| Action::SendOutsideTerminalGroup {
            signal,
            why: Why::Forward,
        };
        assert_eq!(
            m.handle(ctrl_z, at(10)),
            [outside(Signal::STOP), suspend, outside(Signal::CONT)]
        );
        let mut m = machine(settings());
        assert_eq!(
            m.handle(ctrl_z, at(10)),
            [send(Signal::TSTP, Why::Forward), suspend]
        );
        assert_eq!(m.phase(), Phase::Running);
    }

    #[test]
    fn a_stop_signal_from_a_process_suspends_the_job() {
        // `kill -TSTP %1`: whether or not the command shares timeout-run's group (and heard
        // it), the whole tree gets it and timeout-run stops too, so the shell sees the job
        // stopped.
        let tstp = Event::Signal {
            signal: Signal::TSTP,
            from_terminal: false,
        };
        let suspend = Action::Suspend {
            signal: Signal::TSTP,
        };
        let mut m = machine(settings());
        assert_eq!(
            m.handle(tstp, at(10)),
            [send(Signal::TSTP, Why::Forward), suspend]
        );
        assert_eq!(m.phase(), Phase::Running);
        // Sharing the job's group, the processes outside it get SIGSTOP too: a setsid'd
        // daemon's orphaned group would discard the SIGTSTP.
        let mut m = machine(Settings {
            shares_terminal_group: true,
            ..settings()
        });
        let outside_stop = Action::SendOutsideTerminalGroup {
            signal: Signal::STOP,
            why: Why::Forward,
        };
        assert_eq!(
            m.handle(tstp, at(10)),
            [send(Signal::TSTP, Why::Forward), outside_stop, suspend]
        );
        assert_eq!(m.phase(), Phase::Running);
    }

    #[test]
    fn a_background_read_of_the_terminal_does_not_suspend_timeout_run() {
        for signal in [Signal::TTIN, Signal::TTOU] {
            let mut m = machine(Settings {
                shares_terminal_group: true,
                ..settings()
            });
            let read = Event::Signal {
                signal,
                from_terminal: true,
            };
            assert_eq!(m.handle(read, at(10)), []);
            assert_eq!(m.phase(), Phase::Running);
        }
    }

    #[test]
    fn leftovers_kill_stops_the_rest_of_the_tree() {
        let mut m = machine(settings());
        let actions = m.handle(
            Event::CommandExited {
                status: Status::Code(0),
                tree_empty: false,
            },
            at(100),
        );
        let why = Why::Stop(StopReason::Leftovers);
        assert_eq!(actions, [send(TERM, why), send(CONT, why)]);
        m.handle(Event::TreeEmpty, at(150));
        assert_eq!(m.outcome(), Some(Outcome::Finished(Status::Code(0))));
    }

    #[test]
    fn leftovers_wait_until_the_deadline_then_time_out() {
        let mut m = machine(Settings {
            leftovers: Leftovers::Wait,
            ..settings()
        });
        let exit = Event::CommandExited {
            status: Status::Code(0),
            tree_empty: false,
        };
        assert!(m.handle(exit, at(100)).is_empty());
        assert_eq!(m.phase(), Phase::Lingering);
        assert_eq!(
            m.handle(Event::Tick, at(5_000))[..2],
            [Action::AtTimeout, send(TERM, Why::Stop(DEADLINE))]
        );
        m.handle(Event::TreeEmpty, at(5_010));
        assert!(matches!(m.outcome(), Some(Outcome::TimedOut { .. })));
    }

    #[test]
    fn leftovers_wait_ends_when_the_tree_empties() {
        let mut m = machine(Settings {
            leftovers: Leftovers::Wait,
            ..settings()
        });
        m.handle(
            Event::CommandExited {
                status: Status::Code(4),
                tree_empty: false,
            },
            at(100),
        );
        m.handle(Event::TreeEmpty, at(200));
        assert_eq!(m.outcome(), Some(Outcome::Finished(Status::Code(4))));
    }

    #[test]
    fn leftovers_keep_finishes_at_once() {
        let mut m = machine(Settings {
            leftovers: Leftovers::Keep,
            ..settings()
        });
        m.handle(
            Event::CommandExited {
                status: Status::Code(0),
                tree_empty: false,
            },
            at(100),
        );
        assert_eq!(m.outcome(), Some(Outcome::Finished(Status::Code(0))));
    }

    #[test]
    fn ctrl_c_during_leftover_cleanup_is_a_cancellation() {
        let mut m = machine(settings());
        m.handle(
            Event::CommandExited {
                status: Status::Code(0),
                tree_empty: false,
            },
            at(100),
        );
        m.handle(sig(INT), at(200));
        m.handle(Event::TreeEmpty, at(300));
        assert!(matches!(
            m.outcome(),
            Some(Outcome::Cancelled { signal: INT, .. })
        ));
    }

    #[test]
    fn stop_sequence_waits_for_the_whole_tree() {
        let mut m = machine(settings());
        m.handle(Event::Tick, at(5_000));
        m.handle(
            Event::CommandExited {
                status: Status::Signal(TERM),
                tree_empty: false,
            },
            at(5_001),
        );
        assert!(matches!(m.phase(), Phase::Stopping { .. }));
        m.handle(Event::TreeEmpty, at(5_002));
        assert_eq!(m.phase(), Phase::Done);
    }

    #[test]
    fn idle_timeout_resets_on_output() {
        let s = Settings {
            idle_timeout: Some(Duration::from_secs(1)),
            deadline: None,
            ..settings()
        };
        let mut m = machine(s);
        assert_eq!(m.next_wakeup(), Some(at(1_000)));
        assert!(!m.idle_due(at(800)));
        m.handle(Event::Output, at(800));
        assert_eq!(m.next_wakeup(), Some(at(1_800)));
        assert!(!m.idle_due(at(1_000)));
        assert!(m.handle(Event::Tick, at(1_000)).is_empty());
        assert!(m.idle_due(at(1_800)));
        // The driver found the command busy at the deadline (a full pipe): one more period.
        m.handle(Event::Output, at(1_800));
        assert!(!m.idle_due(at(1_800)));
        assert_eq!(m.next_wakeup(), Some(at(2_800)));
        let idle = StopReason::Expired(Expiry::Idle);
        assert_eq!(
            m.handle(Event::Tick, at(2_800))[..2],
            [Action::AtTimeout, send(TERM, Why::Stop(idle))]
        );
        // Once stopping, idleness is no longer due.
        assert!(!m.idle_due(at(10_000)));
    }

    #[test]
    fn heartbeat_reports_elapsed_and_remaining() {
        let s = Settings {
            heartbeat: Some(Duration::from_secs(1)),
            ..settings()
        };
        let mut m = machine(s);
        assert_eq!(m.next_wakeup(), Some(at(1_000)));
        assert_eq!(
            m.handle(Event::Tick, at(1_000)),
            [Action::Heartbeat {
                elapsed: Duration::from_secs(1),
                beat: Beat::Running {
                    remaining: Some(Duration::from_secs(4))
                }
            }]
        );
        // Beats missed while suspended are skipped, not replayed.
        assert_eq!(m.handle(Event::Tick, at(3_500)).len(), 1);
        assert_eq!(m.next_wakeup(), Some(at(4_000)));
    }

    #[test]
    fn heartbeat_goes_on_during_the_grace_period() {
        let s = Settings {
            heartbeat: Some(Duration::from_secs(1)),
            grace: Some(Duration::from_secs(10)),
            ..settings()
        };
        let mut m = machine(s);
        m.handle(Event::Tick, at(5_000));
        assert!(matches!(m.phase(), Phase::Stopping { .. }));
        assert_eq!(
            m.handle(Event::Tick, at(6_000)),
            [Action::Heartbeat {
                elapsed: Duration::from_secs(6),
                beat: Beat::Stopping {
                    kill_in: Some(Duration::from_secs(9))
                }
            }]
        );
    }
}
