//! `--on-timeout CMD` (SPEC §11): a command run through `sh -c` at a timeout, before the stop
//! signal, to capture what the tree was doing (stack dumps, `ps`, ...). It runs outside the
//! command's cgroup and process group, so the stop sequence cannot kill it, and it is bounded;
//! its failure is only a warning.
//!
//! The supervisor does not wait for it: it goes on serving signals, output and the command's
//! exit while the hook runs (the state machine's `Hook` phase), and learns of its end when it
//! reaps it, as a child whose process group ends with it.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::outcome::Status;
use crate::{log, report};

/// A hook that runs. Dropped before it ended (an attempt that fails), it is killed.
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
    let stderr = || {
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    };
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(command)
        .env_remove(crate::sys::BACKEND_ENV)
        .env("TIMEOUT_RUN_PID", pid.to_string())
        .env("TIMEOUT_RUN_PIDS", &pids)
        .stdin(Stdio::null())
        .stdout(stderr())
        .stderr(stderr())
        .process_group(0);
    #[cfg(target_os = "linux")]
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the child only calls sigprocmask, signal, prctl, getppid and
    // _exit, which are async-signal-safe, on local values: timeout-run blocks every signal for
    // its signalfd, and the hook must get them back, with SIGPIPE at its default action.
    unsafe {
        sh.pre_exec(move || {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            // Nothing of timeout-run's outlives it: a SIGKILLed timeout-run takes the hook
            // along, as it takes the command.
            #[cfg(target_os = "linux")]
            {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                // Dead before that took effect: nobody will send it.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            Ok(())
        });
    }
    // Said before it starts, so that the line comes before what the hook prints.
    tracing::info!(
        "--on-timeout: running the hook (at most {})",
        crate::duration::display(bound)
    );
    // The hook's exit comes as a SIGCHLD: the supervisor reaps it (the `Child` is not waited
    // for).
    match sh.spawn() {
        Ok(child) => {
            let hook = child.id() as i32;
            tracing::debug!("--on-timeout: the hook runs as pid {hook}");
            Some(Running {
                pid: hook,
                bound,
                over: false,
            })
        }
        Err(e) => {
            tracing::warn!("--on-timeout: cannot run the hook: {}", log::os_reason(&e));
            None
        }
    }
}

impl Running {
    /// The hook's pid, which is also its process group's number.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The hook exited and was reaped with `status` (whatever it left in its process group was
    /// killed just before, while its pid still held the group's number).
    pub fn ended(mut self, status: Status) {
        self.over = true;
        match status {
            Status::Code(0) => tracing::debug!("--on-timeout: the hook succeeded"),
            status => tracing::warn!(
                "--on-timeout: the hook failed ({})",
                report::describe_status(status)
            ),
        }
    }

    /// Ends the hook before it exited: it ran out of time (`overran`), or a signal to
    /// timeout-run wants the tree stopped now. SIGKILL to its process group, then it is reaped.
    pub fn end(mut self, overran: bool) {
        if overran {
            tracing::warn!(
                "--on-timeout: the hook did not finish within {}: killing it",
                crate::duration::display(self.bound)
            );
        } else {
            tracing::info!("--on-timeout: cut short: killing the hook");
        }
        self.over = true;
        if let Some(status) = kill_and_reap(self.pid) {
            tracing::debug!("--on-timeout: the hook {}", report::describe_status(status));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.over {
            kill_and_reap(self.pid);
        }
    }
}

/// SIGKILL to the process group `pid` leads, then reaps `pid`: the group's number cannot have
/// been given to anyone else while its leader is not reaped.
fn kill_and_reap(pid: i32) -> Option<Status> {
    // SAFETY: killpg on a group whose leader is our child, not reaped yet.
    unsafe { libc::killpg(pid, libc::SIGKILL) };
    crate::sys::spawn::reap_blocking(pid)
}
