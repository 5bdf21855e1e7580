//! The completion scripts in real shells (SPEC §1): bash (with bash-completion), zsh and fish run
//! in tmux with nothing but the committed script and a probe command loaded; a test types a
//! command line, presses Tab, and reads back the line under the cursor. Also: `--generate`
//! prints exactly the committed files.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::*;

/// The repository root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A probe command whose own completion offers `zebra-sub` and `yak-sub`. The working directory
/// holds files that a file completion would offer instead (`tr-probe-cfile`, `zebra-file`,
/// `WIN-file`), so a line completes as expected only through the right completion.
const PROBE: &str = "tr-probe-cmd";

/// What every shell must complete: (typed, the line after Tab).
const CASES: &[(&str, &str)] = &[
    // Signal names after -s and --signal.
    ("timeout-run -s WIN", "timeout-run -s WINCH"),
    ("timeout-run --signal WIN", "timeout-run --signal WINCH"),
    (
        "timeout-run -s USR2 5 tr-probe-c",
        "timeout-run -s USR2 5 tr-probe-cmd",
    ),
    // The command operand, in every form.
    ("timeout-run tr-probe-c", "timeout-run tr-probe-cmd"),
    ("timeout-run 5 tr-probe-c", "timeout-run 5 tr-probe-cmd"),
    (
        "timeout-run 5 -- tr-probe-c",
        "timeout-run 5 -- tr-probe-cmd",
    ),
    (
        "timeout-run -- 5 tr-probe-c",
        "timeout-run -- 5 tr-probe-cmd",
    ),
    (
        "timeout-run -k 2 10 tr-probe-c",
        "timeout-run -k 2 10 tr-probe-cmd",
    ),
    (
        "timeout-run --timeout=5 -- tr-probe-c",
        "timeout-run --timeout=5 -- tr-probe-cmd",
    ),
    (
        "timeout-run -t 5 tr-probe-c",
        "timeout-run -t 5 tr-probe-cmd",
    ),
    // The command's own arguments, with the command's own completion.
    (
        "timeout-run tr-probe-cmd zeb",
        "timeout-run tr-probe-cmd zebra-sub",
    ),
    (
        "timeout-run 5 tr-probe-cmd zeb",
        "timeout-run 5 tr-probe-cmd zebra-sub",
    ),
    (
        "timeout-run 5 -- tr-probe-cmd zeb",
        "timeout-run 5 -- tr-probe-cmd zebra-sub",
    ),
    (
        "timeout-run -k 2 10 tr-probe-cmd zeb",
        "timeout-run -k 2 10 tr-probe-cmd zebra-sub",
    ),
    (
        "timeout-run --timeout=5 -- tr-probe-cmd zeb",
        "timeout-run --timeout=5 -- tr-probe-cmd zebra-sub",
    ),
    (
        "timeout-run -t 5 tr-probe-cmd zeb",
        "timeout-run -t 5 tr-probe-cmd zebra-sub",
    ),
    // Options and their values stay timeout-run's own.
    ("timeout-run --preserve-st", "timeout-run --preserve-status"),
    ("timeout-run --leftovers ke", "timeout-run --leftovers keep"),
];

/// What elvish must complete (clap_complete's elvish script knows the options only; the values,
/// signal names above all, are added by timeout-run's generator).
const ELVISH_CASES: &[(&str, &str)] = &[
    ("timeout-run -s WIN", "timeout-run -s WINCH"),
    ("timeout-run --signal WIN", "timeout-run --signal WINCH"),
    ("timeout-run --leftovers ke", "timeout-run --leftovers keep"),
    ("timeout-run --contain cg", "timeout-run --contain cgroup"),
    ("timeout-run --preserve-st", "timeout-run --preserve-status"),
];

/// A private tmux server running one interactive shell in a scratch directory; killed on drop.
struct Session {
    socket: String,
    /// The keys that empty the line and the screen.
    clear: &'static [&'static str],
    _dir: tempfile::TempDir,
}

impl Session {
    /// Starts `shell` in tmux, set up by `rc` (which receives the scratch directory), or skips.
    fn start(
        test: &str,
        needs: &[&str],
        clear: &'static [&'static str],
        rc: impl Fn(&Path) -> String,
    ) -> Option<Session> {
        if Command::new("tmux").arg("-V").output().is_err() {
            skip(test, "tmux is not installed");
            return None;
        }
        for need in needs {
            let found = if need.starts_with('/') {
                Path::new(need).exists()
            } else {
                Command::new(need)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            };
            if !found {
                skip(test, &format!("{need} is not installed"));
                return None;
            }
        }
        let dir = tempdir();
        let bin = dir.path().join("bin");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let probe = bin.join(PROBE);
        std::fs::write(&probe, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&probe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        for file in [
            "tr-probe-cfile",
            "zebra-file",
            "WIN-file",
            "--leftovers-file",
        ] {
            std::fs::write(work.join(file), "").unwrap();
        }
        let launch = rc(dir.path());
        let socket = format!("timeout-run-completion-{}-{test}", std::process::id());
        let session = Session {
            socket,
            clear,
            _dir: dir,
        };
        let ok = session
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
            .arg(launch)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            skip(test, "tmux cannot start a session here");
            return None;
        }
        Some(session)
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).args(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c
    }

    fn keys(&self, keys: &[&str]) {
        let _ = self.tmux(&[&["send-keys"], keys].concat()).status();
    }

    fn screen(&self) -> String {
        let out = self
            .tmux(&["capture-pane", "-p"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The line the cursor is on, without trailing blanks.
    fn cursor_line(&self) -> String {
        let out = self
            .tmux(&["display-message", "-p", "#{cursor_y}"])
            .output()
            .expect("display-message");
        let y: usize = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        let screen = self.screen();
        screen.lines().nth(y).unwrap_or("").trim_end().to_owned()
    }

    /// Waits (at most `within`) until the cursor line is `want`; returns what it was otherwise.
    fn wait_line(&self, want: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let line = self.cursor_line();
            if line == want {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(line);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `typed` at an empty prompt, presses Tab, and checks the line becomes `want`.
    fn complete(&self, typed: &str, want: &str) -> Result<(), String> {
        for key in self.clear {
            self.keys(&[key]);
        }
        self.wait_line(">", Duration::from_secs(10))
            .map_err(|line| format!("no empty prompt: {line:?}\n{}", self.screen()))?;
        self.keys(&["-l", typed]);
        self.wait_line(&format!("> {typed}"), Duration::from_secs(10))
            .map_err(|line| format!("typed line not shown: {line:?}\n{}", self.screen()))?;
        self.keys(&["Tab"]);
        // Completion is quick once the shell has the line: a short bound keeps a broken script
        // from costing minutes.
        self.wait_line(&format!("> {want}"), Duration::from_secs(4))
            .map_err(|line| {
                format!(
                    "{typed:?} + Tab gave {line:?}, not {want:?}\n{}",
                    self.screen()
                )
            })
    }

    /// Runs every case; fails with all the lines that did not complete.
    fn check_all(&self, shell: &str, cases: &[(&str, &str)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(typed, want)| self.complete(typed, want).err())
            .collect();
        assert!(
            failures.is_empty(),
            "{shell}: {} of {} completions failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).status();
    }
}

fn completion_file(name: &str) -> PathBuf {
    root().join("completions").join(name)
}

/// `sh -c` quoting for a path.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn bash_completes_signals_commands_and_their_arguments() {
    let bash_completion = "/usr/share/bash-completion/bash_completion";
    let Some(session) = Session::start(
        "bash_completes_signals_commands_and_their_arguments",
        &["bash", bash_completion],
        &["C-u", "C-l"],
        |dir| {
            let rc = dir.join("bashrc");
            std::fs::write(
                &rc,
                format!(
                    "PS1='> '\nPATH={bin}:$PATH\nsource {bash_completion}\nsource {script}\n\
                 complete -W 'zebra-sub yak-sub' {PROBE}\ncd {work}\n",
                    bin = quoted(&dir.join("bin")),
                    script = quoted(&completion_file("timeout-run.bash")),
                    work = quoted(&dir.join("work")),
                ),
            )
            .unwrap();
            format!(
                "env HOME={home} INPUTRC=/dev/null TERM=xterm bash --noprofile --rcfile {rc} -i",
                home = quoted(dir),
                rc = quoted(&rc)
            )
        },
    ) else {
        return;
    };
    session.check_all("bash", CASES);
}

#[test]
fn zsh_completes_signals_commands_and_their_arguments() {
    let Some(session) = Session::start(
        "zsh_completes_signals_commands_and_their_arguments",
        &["zsh"],
        &["C-u", "C-l"],
        |dir| {
            let functions = dir.join("functions");
            std::fs::create_dir_all(&functions).unwrap();
            std::fs::copy(
                completion_file("_timeout-run"),
                functions.join("_timeout-run"),
            )
            .unwrap();
            std::fs::write(
                dir.join(".zshrc"),
                format!(
                    "PS1='> '\npath=({bin} $path)\nfpath=({functions} $fpath)\n\
                 autoload -Uz compinit && compinit -u -D\n\
                 _tr_probe() {{ compadd zebra-sub yak-sub }}\ncompdef _tr_probe {PROBE}\n\
                 cd {work}\n",
                    bin = quoted(&dir.join("bin")),
                    functions = quoted(&functions),
                    work = quoted(&dir.join("work")),
                ),
            )
            .unwrap();
            format!(
                "env HOME={home} ZDOTDIR={home} TERM=xterm zsh -i",
                home = quoted(dir)
            )
        },
    ) else {
        return;
    };
    session.check_all("zsh", CASES);
}

#[test]
fn fish_completes_signals_commands_and_their_arguments() {
    let Some(session) = Session::start(
        "fish_completes_signals_commands_and_their_arguments",
        &["fish"],
        &["C-u", "C-l"],
        |dir| {
            let init = dir.join("init.fish");
            std::fs::write(
                &init,
                format!(
                    "function fish_prompt; echo -n '> '; end\nfunction fish_right_prompt; end\n\
                 set -g fish_greeting ''\nset -g fish_autosuggestion_enabled 0\n\
                 set -gx PATH {bin} $PATH\nsource {script}\n\
                 complete -c {PROBE} -x -a 'zebra-sub yak-sub'\ncd {work}\n",
                    bin = quoted(&dir.join("bin")),
                    script = quoted(&completion_file("timeout-run.fish")),
                    work = quoted(&dir.join("work")),
                ),
            )
            .unwrap();
            format!(
                "env HOME={home} XDG_CONFIG_HOME={home} XDG_DATA_HOME={home} TERM=xterm \
             fish --no-config --init-command 'source {init}'",
                home = quoted(dir),
                init = init.display()
            )
        },
    ) else {
        return;
    };
    session.check_all("fish", CASES);
}

#[test]
fn elvish_completes_options_values_and_signals() {
    let Some(session) = Session::start(
        "elvish_completes_options_values_and_signals",
        &["elvish"],
        // Ctrl-L opens elvish's location mode.
        &["C-u"],
        |dir| {
            let rc = dir.join("config/elvish/rc.elv");
            std::fs::create_dir_all(rc.parent().unwrap()).unwrap();
            std::fs::write(
                &rc,
                format!(
                    "set edit:prompt = {{ put '> ' }}\nset edit:rprompt = {{ }}\n\
                 eval (slurp < {script})\ncd {work}\n",
                    script = quoted(&completion_file("timeout-run.elv")),
                    work = quoted(&dir.join("work")),
                ),
            )
            .unwrap();
            format!(
                "env HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home} TERM=xterm elvish",
                home = quoted(dir)
            )
        },
    ) else {
        return;
    };
    session.check_all("elvish", ELVISH_CASES);
}

/// `timeout-run --generate WHAT` prints exactly the committed file (which the xtask test keeps
/// current), so `cargo install` users get what the packages install.
#[test]
fn generate_prints_the_committed_files() {
    for (what, file) in [
        ("man", "docs/timeout-run.1"),
        ("bash", "completions/timeout-run.bash"),
        ("zsh", "completions/_timeout-run"),
        ("fish", "completions/timeout-run.fish"),
        ("elvish", "completions/timeout-run.elv"),
        ("powershell", "completions/_timeout-run.ps1"),
    ] {
        let (status, stdout) = output(cmd(["--generate", what]));
        assert_eq!(status.code(), Some(0), "--generate {what}");
        let committed = std::fs::read(root().join(file)).expect(file);
        assert!(
            stdout == committed,
            "--generate {what} differs from {file} (run `cargo xtask generate`)"
        );
    }
}

/// Runs a command to completion under the watchdog; returns its status and exact stdout.
fn output(mut command: Command) -> (std::process::ExitStatus, Vec<u8>) {
    use std::io::Read;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + WATCHDOG;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("watchdog: {command:?} still running after {WATCHDOG:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    (status, reader.join().expect("reader"))
}
