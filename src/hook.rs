//! `--on-timeout CMD` (SPEC §11): a command run through `sh -c` at a timeout, before the stop
//! signal, to capture what the tree was doing (stack dumps, `ps`, ...). It runs outside the
//! command's cgroup and process group, so the stop sequence cannot kill it, and it is bounded;
//! its failure is only a warning.
//!
//! The supervisor does not wait for it: it goes on serving signals, output and the command's
//! exit while the hook runs (the state machine's `Hook` phase), and learns of its end when it
//! reaps it.
//!
//! The hook is held by a process of timeout-run's own, its keeper: a child subreaper (on Linux)
//! that starts `sh -c CMD`, so that whatever the hook starts, `setsid`'d daemons included, is
//! the keeper's descendant and never becomes part of the command's tree (nor of what the tree
//! used). When the shell exits, when timeout-run asks (SIGTERM), or when timeout-run dies (its
//! parent-death signal), the keeper kills everything it holds, reaps it, and exits with the
//! shell's status.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::outcome::Status;
use crate::report;

/// How long the keeper goes on killing what the hook left (processes that do not die at once,
/// in uninterruptible sleep).
const KEEPER_PATIENCE: Duration = Duration::from_secs(5);

/// A hook that runs (its keeper).
#[derive(Debug)]
pub struct Running {
    pid: i32,
    bound: Duration,
    over: bool,
}

/// Starts `command`, which may run at most `bound`. `pid` is the command's pid and `pids` the
/// whole tree's, passed in the environment as `TIMEOUT_RUN_PID` and `TIMEOUT_RUN_PIDS`. Its
/// output goes to timeout-run's stderr. `None` (after a warning) when it cannot be started.
pub fn start(command: &OsStr, pid: i32, pids: &[i32], bound: Duration) -> Option<Running> {
    let pids = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(command)
        .env_remove(crate::sys::BACKEND_ENV)
        .env("TIMEOUT_RUN_PID", pid.to_string())
        .env("TIMEOUT_RUN_PIDS", &pids)
        .stdin(Stdio::null())
        .process_group(0);
    // SAFETY: between fork and exec the shell only calls sigprocmask, signal and prctl, which
    // are async-signal-safe, on local values: the keeper blocks every signal, and the hook gets
    // them back, with SIGPIPE at its default action, and dies with its keeper.
    unsafe {
        sh.pre_exec(|| {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    // Said before it starts, so that the line comes before what the hook prints (unless stderr
    // is full: the line then waits in timeout-run's queue while the hook writes stderr itself).
    tracing::info!(
        "--on-timeout: running the hook (at most {})",
        crate::duration::display(bound)
    );
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: timeout-run is single-threaded here (the census's threads are joined), so the
    // child is a whole copy of the process and may go on running Rust code; it never returns.
    let keeper = unsafe { libc::fork() };
    if keeper == 0 {
        crate::log::in_forked_child();
        keep(sh, parent);
    }
    if keeper < 0 {
        let e = std::io::Error::last_os_error();
        tracing::warn!(
            "--on-timeout: cannot run the hook: {}",
            crate::log::os_reason(&e)
        );
        return None;
    }
    tracing::debug!("--on-timeout: the hook's keeper runs as pid {keeper}");
    // Not part of the tree: walks of timeout-run's descendants leave it out while it runs.
    crate::sys::contain::set_outsider(Some(keeper));
    Some(Running {
        pid: keeper,
        bound,
        over: false,
    })
}

impl Running {
    /// The keeper's pid, which is also its process group's number.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The hook exited and its keeper was reaped with `status` (the hook's own, the keeper
    /// having killed whatever the hook left).
    pub fn ended(mut self, status: Status) {
        self.finish();
        match status {
            Status::Code(0) => tracing::debug!("--on-timeout: the hook succeeded"),
            status => tracing::warn!(
                "--on-timeout: the hook failed ({})",
                report::describe_status(status)
            ),
        }
    }

    /// Ends the hook before it exited: it ran out of time (`overran`), or a signal to
    /// timeout-run wants the tree stopped now.
    pub fn end(self, overran: bool) {
        if overran {
            tracing::warn!(
                "--on-timeout: the hook did not finish within {}: killing it",
                crate::duration::display(self.bound)
            );
        } else {
            tracing::info!("--on-timeout: cut short: killing the hook");
        }
        // Dropping it ends it.
    }

    /// The keeper is gone (reaped): nothing is left to end or to leave out of the tree.
    fn finish(&mut self) {
        self.over = true;
        crate::sys::contain::set_outsider(None);
    }
}

impl Drop for Running {
    /// A hook not over yet (ended early, or an attempt that fails) is ended: its keeper kills
    /// what it holds, and is reaped.
    fn drop(&mut self) {
        if !self.over {
            end_keeper(self.pid);
            self.finish();
        }
    }
}

/// Asks the keeper `pid` (a child, not reaped) to kill what it holds and exit, then reaps it;
/// SIGKILL if it is not done within its patience.
fn end_keeper(pid: i32) {
    // SAFETY: kill on our own child, not reaped yet.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + KEEPER_PATIENCE + Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        let mut raw = 0;
        // SAFETY: waitpid writes the status into a local integer.
        match unsafe { libc::waitpid(pid, &mut raw, libc::WNOHANG) } {
            0 => std::thread::sleep(Duration::from_millis(5)),
            _ => return,
        }
    }
    // SAFETY: kill on our own child, not reaped yet.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    crate::sys::spawn::reap_blocking(pid);
}

/// A wait status as a shell gives it: the exit code, or 128 + the signal that killed it.
fn shell_status(raw: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(raw) {
        128 + libc::WTERMSIG(raw)
    } else {
        libc::WEXITSTATUS(raw)
    }
}

/// The keeper's exit status when it could not start the shell, as a shell's for a command it
/// cannot find.
const KEEPER_FAILED: i32 = 127;

/// The keeper's life (in the forked child): start the shell, wait for it or for timeout-run's
/// SIGTERM (or its parent-death signal), kill everything it holds, exit with the shell's status.
fn keep(mut sh: Command, parent: libc::pid_t) -> ! {
    let waited = [
        libc::SIGCHLD,
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
    ];
    // SAFETY: plain calls on local values in the keeper: every signal blocked first (a handler
    // inherited from the portable backend must not run here), dispositions back to default,
    // a process group of its own, and on Linux the parent-death signal and the subreaper bit.
    let set = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
        crate::sys::events::default_dispositions();
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        libc::setpgid(0, 0);
        #[cfg(target_os = "linux")]
        {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in waited {
            libc::sigaddset(&mut set, s);
        }
        set
    };
    // Nothing of timeout-run's but stderr: a pipe it holds must not stay open because of us.
    // The hook's output goes there.
    crate::sys::fd::close_all_but(&[libc::STDERR_FILENO]);
    if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
        sh.stdout(Stdio::from(fd));
    }
    // SAFETY: getppid has no preconditions; a dead parent means nobody wants the hook.
    if unsafe { libc::getppid() } != parent {
        // SAFETY: ending the keeper without running timeout-run's exit path.
        unsafe { libc::_exit(KEEPER_FAILED) };
    }
    let shell = match sh.spawn() {
        Ok(child) => child.id() as i32,
        // SAFETY: as above.
        Err(_) => unsafe { libc::_exit(KEEPER_FAILED) },
    };
    let mut status: Option<i32> = None;
    loop {
        let mut signal = 0;
        // SAFETY: waits for one of the blocked signals in `set`, written into a local.
        if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
            continue;
        }
        if signal == libc::SIGCHLD {
            // The shell first, without reaping it: its group (a job it left running) goes
            // while the shell's pid still holds the group's number.
            // SAFETY: siginfo_t is plain data, valid when zeroed.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid with WNOWAIT only looks at the shell's state, into a local.
            let peeked = unsafe {
                libc::waitid(
                    libc::P_PID,
                    shell as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            // SAFETY: waitid filled si_pid (0 when the shell has not exited).
            if peeked == 0 && unsafe { info.si_pid() } == shell {
                // SAFETY: killpg on the group of our own child, not reaped yet.
                unsafe { libc::killpg(shell, libc::SIGKILL) };
                let mut raw = 0;
                // SAFETY: waitpid writes the status into a local integer.
                if unsafe { libc::waitpid(shell, &mut raw, 0) } == shell {
                    status = Some(shell_status(raw));
                }
                break;
            }
            // Others (processes the hook left, re-parented to the keeper) as they exit; the
            // shell too, should it exit right now (its group is then left to the sweep below).
            loop {
                let mut raw = 0;
                // SAFETY: waitpid writes the status into a local integer.
                let pid = unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) };
                if pid == shell {
                    status = Some(shell_status(raw));
                }
                if pid <= 0 || pid == shell {
                    break;
                }
            }
            if status.is_some() {
                break;
            }
        } else if signal > 0 {
            // SAFETY: killpg on the group of our own child, not reaped yet.
            unsafe { libc::killpg(shell, libc::SIGKILL) };
            break;
        }
    }
    // Whatever is left: every child of the keeper, again and again, as descendants are
    // re-parented to it, until none is left.
    let deadline = std::time::Instant::now() + KEEPER_PATIENCE;
    loop {
        for child in crate::sys::own_children() {
            // SAFETY: kill on our own child: its pid is not given out again before we reap it.
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        let mut none_left = false;
        loop {
            let mut raw = 0;
            // SAFETY: waitpid writes the status into a local integer.
            let pid = unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) };
            if pid < 0 {
                none_left = true;
                break;
            }
            if pid == 0 {
                break;
            }
        }
        if none_left || std::time::Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: ending the keeper without running timeout-run's exit path.
    unsafe { libc::_exit(status.unwrap_or(KEEPER_FAILED)) }
}
