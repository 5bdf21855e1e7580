//! `--on-timeout CMD` (SPEC §11): a command run through `sh -c` at a timeout, before the stop
//! signal, to capture what the tree was doing (stack dumps, `ps`, ...). It runs outside the
//! command's cgroup and process group, so the stop sequence cannot kill it; it is bounded, and its
//! failure is only a warning.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::log;

/// Runs `command` and waits for it at most `bound`, killing it (and its process group) when it
/// overruns. `pid` is the command's pid and `pids` the whole tree's, passed in the environment as
/// `TIMEOUT_RUN_PID` and `TIMEOUT_RUN_PIDS`. Its output goes to timeout-run's stderr.
pub fn run(command: &OsStr, pid: i32, pids: &[i32], bound: Duration) {
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
    // SAFETY: between fork and exec the child only calls sigprocmask and signal, which are
    // async-signal-safe, on local values: timeout-run blocks every signal for its signalfd, and
    // the hook must get them back, with SIGPIPE at its default action.
    unsafe {
        sh.pre_exec(|| {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = match sh.spawn() {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!("--on-timeout: cannot run the hook: {}", log::os_reason(&e));
            return;
        }
    };
    let hook = child.id() as i32;
    tracing::info!(
        "--on-timeout: running the hook as pid {hook} (at most {})",
        crate::duration::display(bound)
    );
    if !exited_within(hook, bound) {
        tracing::warn!(
            "--on-timeout: the hook did not finish within {}: killing it",
            crate::duration::display(bound)
        );
    }
    // Whatever the hook left running in its process group (a background job) goes with it, so
    // it cannot hold up the end of the stop. The hook is not reaped yet, so its group id cannot
    // have been given to another group.
    // SAFETY: killpg on the hook's own process group (it is the leader, not yet reaped).
    unsafe { libc::killpg(hook, libc::SIGKILL) };
    match child.wait() {
        Ok(status) if status.success() => tracing::debug!("--on-timeout: the hook succeeded"),
        Ok(status) => tracing::warn!("--on-timeout: the hook failed ({status})"),
        Err(e) => tracing::warn!("--on-timeout: {}", log::os_reason(&e)),
    }
}

/// Waits until the process `pid` (a child not yet reaped) has exited, at most `bound`.
fn exited_within(pid: i32, bound: Duration) -> bool {
    let Some(fd) = crate::sys::exit_notifier(pid) else {
        // No pidfd (Linux < 5.3, other systems): poll the child's state.
        let deadline = std::time::Instant::now() + bound;
        while std::time::Instant::now() < deadline {
            // SAFETY: siginfo_t is plain data, valid when zeroed.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid with WNOWAIT only looks at the child's state.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            // SAFETY: si_pid is set by waitid when a child is ready.
            if r == 0 && unsafe { info.si_pid() } == pid {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        return false;
    };
    let mut poll = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = std::time::Instant::now() + bound;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: poll on one local pollfd.
        match unsafe { libc::poll(&mut poll, 1, ms) } {
            1 => return true,
            0 => return false,
            _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => continue,
            _ => return false,
        }
    }
}
