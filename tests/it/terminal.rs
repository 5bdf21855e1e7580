//! Terminal behaviour (SPEC §5) in a real terminal: tmux runs an interactive bash, keys are sent
//! with `send-keys` and the screen is read with `capture-pane`.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::*;

/// A private tmux server running one interactive bash, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(test: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            skip(test, "tmux is not installed");
            return None;
        }
        let socket = format!("timeout-run-test-{}-{test}", std::process::id());
        let t = Tmux { socket };
        let ok = t
            .tmux(&[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
            ])
            .arg("env PS1='$ ' TERM=xterm bash --norc --noprofile")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            skip(test, "tmux cannot start a session here");
            return None;
        }
        t.wait_for("the prompt", |s| s.contains('$'));
        Some(t)
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        crate::util::with_backend(&mut c);
        c.args(["-L", &self.socket]).args(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c.env_remove("TIMEOUT_RUN_DEADLINE");
        c
    }

    /// Types a line and presses Enter.
    fn line(&self, text: &str) {
        let _ = self.tmux(&["send-keys", "-l", text]).status();
        self.key("Enter");
    }

    /// Presses a key (`C-c`, `C-z`, `Enter`).
    fn key(&self, key: &str) {
        let _ = self.tmux(&["send-keys", key]).status();
    }

    fn screen(&self) -> String {
        let out = self
            .tmux(&["capture-pane", "-p", "-J", "-S", "-200"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (at most 10 s) until the screen satisfies `ready`; fails with the screen.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 10 s for {what}; screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }

    /// Waits for a screen line that is exactly `line` (not the echo of a typed command).
    fn wait_for_line(&self, line: &str) -> String {
        self.wait_for(line, |s| s.lines().any(|l| l.trim_end() == line))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).status();
    }
}

/// Pids of the processes named `name` whose command line contains `marker`.
fn processes_named(name: &str, marker: &str) -> Vec<i32> {
    let out = Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .collect()
}

fn helper_cmd(actions: &str) -> String {
    format!("python3 {} {actions}", helper().display())
}

#[test]
fn command_reads_the_terminal_without_sigttin() {
    let Some(t) = Tmux::start("command_reads_the_terminal_without_sigttin") else {
        return;
    };
    t.line(&format!(
        "{} 30 {}; echo status=$?",
        bin(),
        helper_cmd("ready read")
    ));
    t.wait_for_line("ready");
    t.line("hello");
    t.wait_for_text("read: hello");
    t.wait_for_text("status=0");
}

#[test]
fn command_reads_the_terminal_with_every_standard_descriptor_redirected() {
    // A password prompt on /dev/tty (ssh, sudo, gpg) while stdin, stdout and stderr go
    // elsewhere: the command is still in the foreground job, as under GNU timeout.
    let test = "command_reads_the_terminal_with_every_standard_descriptor_redirected";
    if crate::util::linux_backend_only(test, SHARES_THE_JOB) {
        return;
    }
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let dir = tempdir();
    let out = dir.path().join("out");
    t.line(&format!(
        "{} 30 sh -c 'echo ready >/dev/tty; read x </dev/tty; echo got=$x' </dev/null >{} 2>&1; \
         echo status=$?",
        bin(),
        out.display()
    ));
    t.wait_for_line("ready");
    t.line("hello");
    t.wait_for_text("status=0");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "got=hello\n");
}

/// Why a test needs the Linux backend: the command shares the shell's job only where its
/// descendants can be found outside timeout-run's group (not on macOS).
const SHARES_THE_JOB: &str =
    "the command shares the job only where its descendants can be found outside it";

/// Why a test needs the Linux backend: it signals processes outside the terminal's group.
const OUTSIDE_THE_GROUP: &str =
    "processes outside the terminal's group are found only by the /proc walk";

/// Polls `ready` every 20 ms for at most 10 s; fails with `failure()` when it never holds.
fn wait_until(mut ready: impl FnMut() -> bool, failure: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "waited 10 s: {}", failure());
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (at most 10 s) until a process named `name` with `marker` in its command line is
/// stopped (`stopped`), or is there and not stopped.
fn wait_until_stopped(name: &str, marker: &str, stopped: bool) {
    let in_state = || {
        processes_named(name, marker).into_iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, rest)| rest.trim_start().starts_with('T') == stopped)
                })
                .unwrap_or(false)
        })
    };
    wait_until(in_state, || {
        format!("no {name} {marker} (stopped: {stopped})")
    });
}

#[test]
fn a_background_read_of_the_terminal_stops_the_command_until_fg() {
    // GNU timeout's documented caveat, fixed: the command reads the terminal from the
    // background and is stopped by SIGTTIN; timeout-run is not (its deadline still runs), so the
    // shell's `fg` sends no SIGCONT, and timeout-run sends it once the job is in the foreground.
    let test = "a_background_read_of_the_terminal_stops_the_command_until_fg";
    if crate::util::linux_backend_only(test, SHARES_THE_JOB) {
        return;
    }
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let marker = format!("bgread-{}", std::process::id());
    t.line(&format!(
        "{} 30 sh -c 'read x; echo got=$x' {marker} &",
        bin()
    ));
    wait_until_stopped("sh", &marker, true);
    t.line("fg");
    // Typed input waits in the terminal for whoever reads it in the foreground job.
    t.line("world");
    t.wait_for_text("got=world");
    t.line("echo st=$?");
    t.wait_for_text("st=0");
}

#[test]
fn a_background_read_of_the_terminal_does_not_stop_the_deadline() {
    let test = "a_background_read_of_the_terminal_does_not_stop_the_deadline";
    let Some(t) = Tmux::start(test) else {
        return;
    };
    t.line(&format!("{} 1 sh -c 'read x' &", bin()));
    t.wait_for_text("[1]");
    // bash reports the job's end at its next prompt.
    let started = Instant::now();
    t.wait_for("the job's end", |s| {
        if !s.contains("Exit 124") {
            t.line("");
        }
        s.contains("Exit 124")
    });
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn ctrl_c_reaches_the_command_once_and_twice_kills_at_once() {
    let Some(t) = Tmux::start("ctrl_c_reaches_the_command_once") else {
        return;
    };
    let marker = format!("once-{}", std::process::id());
    t.line(&format!(
        "{} -g 60 60 {}",
        bin(),
        helper_cmd(&format!("log INT log USR1 print {marker} ready sleep 60"))
    ));
    t.wait_for_line("ready");
    t.key("C-c");
    t.wait_for_text("got SIGINT");
    // A relayed second copy of Ctrl-C would be sent before timeout-run relays anything it
    // receives later: relay USR1 through it and wait for that instead of sleeping.
    let timeout_run = processes_named("timeout-run", &marker);
    assert_eq!(timeout_run.len(), 1, "{timeout_run:?}");
    // SAFETY: kill(2) of the timeout-run this test started.
    unsafe { libc::kill(timeout_run[0], libc::SIGUSR1) };
    t.wait_for_text("got SIGUSR1");
    let screen = t.screen();
    assert_eq!(screen.matches("got SIGINT").count(), 1, "{screen}");
    let start = Instant::now();
    t.key("C-c");
    t.line("echo st=$?");
    t.wait_for_text("st=130");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "second Ctrl-C did not kill at once"
    );
}

#[test]
fn ctrl_c_reaches_every_process_of_the_tree_once_and_the_wait_is_explained() {
    if crate::util::linux_backend_only(
        "ctrl_c_reaches_every_process_of_the_tree_once_and_the_wait_is_explained",
        OUTSIDE_THE_GROUP,
    ) {
        return;
    }
    let Some(t) = Tmux::start("ctrl_c_reaches_every_process_of_the_tree_once") else {
        return;
    };
    let dir = tempdir();
    let script = dir.path().join("tree.py");
    // The command survives Ctrl-C; its setsid'd descendant (outside the terminal's foreground
    // group, which the terminal signals) logs Ctrl-C and exits.
    std::fs::write(
        &script,
        r#"import os, signal, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGINT, lambda *a: (os.write(1, b"daemon got SIGINT\n"), os._exit(0)))
    os.write(w, b"x")
    while True:
        time.sleep(100)
signal.signal(signal.SIGINT, lambda *a: os.write(1, b"main got SIGINT\n"))
os.read(r, 1)
os.write(1, b"ready\n")
while True:
    time.sleep(100)
"#,
    )
    .unwrap();
    t.line(&format!("{} -g 60 60 python3 {}", bin(), script.display()));
    t.wait_for_line("ready");
    t.key("C-c");
    t.wait_for_text("daemon got SIGINT");
    t.wait_for_text("main got SIGINT");
    // The tree is still running a moment later: one line says what is going on.
    let screen = t.wait_for_text("Ctrl-C again to kill it now");
    assert!(
        screen.contains("timeout-run: waiting up to ")
            && screen.matches("Ctrl-C again").count() == 1,
        "{screen}"
    );
    let screen = t.screen();
    assert_eq!(screen.matches("main got SIGINT").count(), 1, "{screen}");
    assert_eq!(screen.matches("daemon got SIGINT").count(), 1, "{screen}");
    let start = Instant::now();
    t.key("C-c");
    t.line("echo st=$?");
    t.wait_for_text("st=130");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "second Ctrl-C did not kill at once"
    );
}

#[test]
fn ctrl_c_starts_the_grace_period() {
    let Some(t) = Tmux::start("ctrl_c_starts_the_grace_period") else {
        return;
    };
    // The command ignores Ctrl-C; the grace period (0.5 s) then ends it with SIGKILL.
    t.line(&format!(
        "{} -g 0.5 60 {}; echo st=$?",
        bin(),
        helper_cmd("log INT ready sleep 60")
    ));
    t.wait_for_line("ready");
    t.key("C-c");
    t.wait_for_text("got SIGINT");
    t.line("echo after=$?");
    t.wait_for_text("after=130");
}

#[test]
fn ctrl_c_stops_a_shell_loop() {
    let Some(t) = Tmux::start("ctrl_c_stops_a_shell_loop") else {
        return;
    };
    t.line(&format!(
        "bash -c 'for i in 1 2 3; do {} 60 {}; echo iter $i; done'",
        bin(),
        helper_cmd("ready sleep 60")
    ));
    t.wait_for_line("ready");
    t.key("C-c");
    t.line("echo loop=$?");
    let screen = t.wait_for_text("loop=130");
    assert!(!screen.contains("iter 1"), "{screen}");
    assert_eq!(screen.matches("\nready").count(), 1, "{screen}");
}

#[test]
fn ctrl_z_suspends_the_job_and_fg_resumes_it() {
    let Some(t) = Tmux::start("ctrl_z_suspends_the_job_and_fg_resumes_it") else {
        return;
    };
    t.line(&format!("{} 60 {}", bin(), helper_cmd("ready read")));
    t.wait_for_line("ready");
    t.key("C-z");
    let screen = t.wait_for_text("Stopped");
    assert!(!screen.contains("Stopped (signal)"), "{screen}");
    t.line("fg");
    thread::sleep(Duration::from_millis(200));
    t.line("resumed-input");
    t.wait_for_text("read: resumed-input");
    t.line("echo st=$?");
    t.wait_for_text("st=0");
}

#[test]
fn ctrl_z_suspends_the_whole_tree_and_fg_resumes_it() {
    // A setsid'd daemon is outside the terminal's foreground group: Ctrl-Z does not reach it
    // from the terminal, timeout-run stops it, and the shell's `fg` resumes it.
    if crate::util::linux_backend_only(
        "ctrl_z_suspends_the_whole_tree_and_fg_resumes_it",
        OUTSIDE_THE_GROUP,
    ) {
        return;
    }
    let Some(t) = Tmux::start("ctrl_z_suspends_the_whole_tree_and_fg_resumes_it") else {
        return;
    };
    let marker = format!("ctrlz-daemon-{}", std::process::id());
    t.line(&format!(
        "{} 60 sh -c 'setsid sh -c \"while :; do sleep 0.05; done\" {marker} & exec {}'",
        bin(),
        helper_cmd("ready read")
    ));
    t.wait_for_line("ready");
    wait_until_stopped("sh", &marker, false);
    // Twice: each Ctrl-Z stops the daemon again.
    for round in 1..=2 {
        t.key("C-z");
        t.wait_for("the job stopped", |s| s.matches("Stopped").count() >= round);
        wait_until_stopped("sh", &marker, true);
        t.line("fg");
        wait_until_stopped("sh", &marker, false);
    }
    t.line("resumed-input");
    t.wait_for_text("read: resumed-input");
    t.line("echo st=$?");
    t.wait_for_text("st=0");
    let left = processes_named("sh", &marker);
    assert!(
        survivors(&left, Duration::from_secs(5)).is_empty(),
        "{left:?}"
    );
}

#[test]
fn ctrl_z_in_an_orphaned_group_leaves_nothing_stopped() {
    // timeout-run replaces the pane's shell (`exec`): its group is orphaned, so the kernel
    // discards the terminal's SIGTSTP and nobody will ever send SIGCONT. The daemon it stopped
    // for the Ctrl-Z must be resumed at once.
    let test = "ctrl_z_in_an_orphaned_group_leaves_nothing_stopped";
    if crate::util::linux_backend_only(test, OUTSIDE_THE_GROUP) {
        return;
    }
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let dir = tempdir();
    let log = dir.path().join("log");
    let marker = format!("orphan-daemon-{}", std::process::id());
    t.line(&format!(
        "exec {} -vvv -g 1 60 sh -c 'setsid sh -c \"while :; do sleep 0.05; done\" {marker} & \
         echo ready; exec sleep 1000' 2>{}",
        bin(),
        log.display()
    ));
    t.wait_for_line("ready");
    wait_until_stopped("sh", &marker, false);
    t.key("C-z");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(
        || read_log().contains("resumed"),
        || format!("no Ctrl-Z handled:\n{}", read_log()),
    );
    let text = read_log();
    let stop = text
        .find("sending signal STOP")
        .expect("the daemon was stopped");
    let cont = text
        .rfind("sending signal CONT")
        .expect("the daemon was resumed");
    assert!(stop < cont, "{text}");
    wait_until_stopped("sh", &marker, false);
    t.key("C-c");
    let left = processes_named("sh", &marker);
    assert!(
        survivors(&left, Duration::from_secs(5)).is_empty(),
        "{left:?}"
    );
}

#[test]
fn a_hangup_sent_to_timeout_run_alone_reaches_the_command() {
    // timeout-run leads the pane's session (`exec`): when the terminal goes away, the kernel
    // sends SIGHUP to it alone, and it must pass it on to the rest of the job.
    let test = "a_hangup_sent_to_timeout_run_alone_reaches_the_command";
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let dir = tempdir();
    let got = dir.path().join("got");
    let script = "import signal, sys, time\n\
                  signal.signal(signal.SIGHUP, lambda *a: (open(sys.argv[1], \"w\").close(), \
                  sys.exit(0)))\n\
                  print(\"ready\", flush=True)\n\
                  time.sleep(100)";
    t.line(&format!(
        "exec {} 60 python3 -c '{script}' {}",
        bin(),
        got.display()
    ));
    t.wait_for_line("ready");
    let _ = t.tmux(&["kill-server"]).status();
    wait_until(
        || got.exists(),
        || "the command never heard the hang-up".into(),
    );
}

#[test]
fn a_program_stopping_its_own_group_suspends_the_job() {
    // vim's and less's Ctrl-Z: the program puts the terminal back, then sends SIGTSTP to its
    // whole process group. The shell must see the job stopped, and `fg` resume it.
    let test = "a_program_stopping_its_own_group_suspends_the_job";
    if crate::util::linux_backend_only(test, SHARES_THE_JOB) {
        return;
    }
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let script = "import os, signal\n\
                  os.kill(0, signal.SIGTSTP)\n\
                  print(\"resumed\", flush=True)";
    t.line(&format!("{} 30 python3 -c '{script}'", bin()));
    t.wait_for_text("Stopped");
    t.line("fg");
    t.wait_for_line("resumed");
    t.line("echo st=$?");
    t.wait_for_text("st=0");
}

#[test]
fn job_control_stops_and_resumes_the_whole_job() {
    // The shell's `kill -TSTP %1` stops the job as Ctrl-Z does: the command and timeout-run,
    // so that `jobs` says Stopped, and (on the Linux backend) a setsid'd daemon of the tree,
    // whose orphaned group discards a SIGTSTP; `bg` resumes them all. (timeout-run used to
    // pass it on and go on running: the command stopped, the shell saw a running job.)
    let test = "job_control_stops_and_resumes_the_whole_job";
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let marker = format!("job-control-{}", std::process::id());
    let daemon = format!("job-control-daemon-{}", std::process::id());
    let with_daemon = !crate::util::portable_backend();
    let start_daemon = if with_daemon {
        format!("setsid sh -c \"while :; do sleep 0.05; done\" {daemon} & ")
    } else {
        String::new()
    };
    t.line(&format!(
        "{} 30 sh -c '{start_daemon}while :; do sleep 0.05; done' {marker} &",
        bin()
    ));
    let all = |stopped: bool| {
        wait_until_stopped("sh", &marker, stopped);
        if with_daemon {
            wait_until_stopped("sh", &daemon, stopped);
        }
    };
    all(false);
    t.line("kill -TSTP %1");
    all(true);
    t.line("jobs; echo listed");
    t.wait_for("the shell to see the job stopped", |s| {
        s.contains("Stopped") && s.lines().any(|l| l.trim_end() == "listed")
    });
    t.line("bg; echo resumed");
    t.wait_for_line("resumed");
    all(false);
    t.line("kill %1; wait %1; echo st=$?");
    t.wait_for_line("st=143");
    if with_daemon {
        let left = processes_named("sh", &daemon);
        assert!(
            survivors(&left, Duration::from_secs(5)).is_empty(),
            "{left:?}"
        );
    }
}

#[test]
fn one_hangup_delivered_twice_still_gets_the_grace_period() {
    // Closing the terminal: bash passes SIGHUP on to its job, then the kernel sends the
    // foreground group SIGHUP when bash exits. That is one hang-up, not a second SIGHUP that
    // means "kill now": the command gets its grace period to clean up.
    let test = "one_hangup_delivered_twice_still_gets_the_grace_period";
    let Some(t) = Tmux::start(test) else {
        return;
    };
    let dir = tempdir();
    let log = dir.path().join("log");
    let script = "import signal, sys, time\n\
                  def on_hup(*a):\n\
                  \x20   open(sys.argv[1], \"a\").write(\"got\\n\")\n\
                  \x20   time.sleep(1)\n\
                  \x20   open(sys.argv[1], \"a\").write(\"done\\n\")\n\
                  \x20   sys.exit(0)\n\
                  signal.signal(signal.SIGHUP, on_hup)\n\
                  print(\"ready\", flush=True)\n\
                  time.sleep(100)";
    t.line(&format!(
        "{} -g 5 30 python3 -c '{script}' {}",
        bin(),
        log.display()
    ));
    t.wait_for_line("ready");
    let _ = t.tmux(&["kill-server"]).status();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(
        || read_log().contains("done"),
        || format!("the cleanup was cut short: {:?}", read_log()),
    );
}

#[test]
fn terminal_settings_are_restored() {
    let Some(t) = Tmux::start("terminal_settings_are_restored") else {
        return;
    };
    let dir = tempdir();
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    t.line(&format!(
        "stty -g > {b}; {bin} -g 0.2 0.5 python3 -c 'import tty,time; tty.setraw(0); time.sleep(30)'; \
         stty -g > {a}; echo done",
        b = before.display(),
        a = after.display(),
        bin = bin()
    ));
    t.wait_for_line("done");
    let (b, a) = (
        std::fs::read_to_string(&before).unwrap(),
        std::fs::read_to_string(&after).unwrap(),
    );
    assert_eq!(b, a, "terminal settings changed");
}

#[test]
fn foreground_group_is_restored() {
    let Some(t) = Tmux::start("foreground_group_is_restored") else {
        return;
    };
    // A non-interactive shell does not take the terminal back; the inner interactive bash gives
    // it to its own job and is killed: timeout-run must hand it back, or `read` fails.
    t.line(&format!(
        "bash -c '{} -g 0.2 0.5 bash --norc -ic \"sleep 60\"; read -r x; echo got=$x'",
        bin()
    ));
    thread::sleep(Duration::from_millis(1500));
    t.line("zz");
    t.wait_for_text("got=zz");
}
