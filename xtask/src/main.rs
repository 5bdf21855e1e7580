//! `cargo xtask generate` writes the shell completions and the man page from timeout-run's clap
//! definition; `cargo xtask check` (and this crate's test, run by `cargo test --workspace`) fails
//! when a committed copy is stale.
//!
//! The definition is compiled in from `src/cli.rs`, which depends on clap alone, so the generator
//! never drifts from the binary and the binary ships no generator code.

#[allow(dead_code)]
#[path = "../../src/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// Hand-written man page sections (exit status, environment, signals, examples) that clap has no
/// place for; they go between OPTIONS and VERSION.
const MAN_EXTRA: &str = include_str!("man-extra.roff");

/// Every generated file, relative to the repository root, with its content.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = [
        (Shell::Bash, "timeout-run.bash"),
        (Shell::Zsh, "_timeout-run"),
        (Shell::Fish, "timeout-run.fish"),
        (Shell::Elvish, "timeout-run.elv"),
        (Shell::PowerShell, "_timeout-run.ps1"),
    ]
    .into_iter()
    .map(|(shell, file)| {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cli::Cli::command(), "timeout-run", &mut out);
        out.extend_from_slice(command_completion(shell).as_bytes());
        (Path::new("completions").join(file), out)
    })
    .collect();
    files.push((PathBuf::from("docs/timeout-run.1"), man_page()));
    files
}

/// The options that take a value in the next word (`-t 5`, `--signal INT`), long and short.
fn options_with_values() -> Vec<String> {
    let command = cli::Cli::command();
    let mut out = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_positional() || !arg.get_action().takes_values() {
            continue;
        }
        if let Some(shorts) = arg.get_short_and_visible_aliases() {
            out.extend(shorts.into_iter().map(|c| format!("-{c}")));
        }
        if let Some(longs) = arg.get_long_and_visible_aliases() {
            out.extend(longs.into_iter().map(|l| format!("--{l}")));
        }
    }
    out
}

/// The options whose presence means the first operand is the command, not a GNU duration.
fn limit_options() -> Vec<String> {
    let command = cli::Cli::command();
    let mut out = Vec::new();
    for arg in command.get_arguments() {
        if !matches!(arg.get_id().as_str(), "timeout" | "deadline") {
            continue;
        }
        if let Some(c) = arg.get_short() {
            out.push(format!("-{c}"));
        }
        if let Some(l) = arg.get_long() {
            out.push(format!("--{l}"));
        }
    }
    out
}

/// clap_complete leaves the command operand to file completion in bash and fish (zsh already
/// completes it as a command): this addition completes the command, and then its own arguments
/// with the command's completion, as `sudo` or `timeout` do. The command starts at the first
/// operand, or at the second when the first is a GNU duration (no `-t`/`--deadline`).
fn command_completion(shell: Shell) -> String {
    let with_values = options_with_values().join(" ");
    let limits = limit_options().join(" ");
    match shell {
        Shell::Bash => format!(
            r#"
# The command and its arguments: completed as commands (bash-completion's _command_offset).
_timeout_run_with_command() {{
    local i=1 word limit= with_values=" {with_values} " limits=" {limits} "
    while [[ $i -lt $COMP_CWORD ]]; do
        word=${{COMP_WORDS[i]}}
        case $word in
            --) i=$((i + 1)); break ;;
            --*=*) [[ $limits == *" ${{word%%=*}} "* ]] && limit=1 ;;
            -?*)
                [[ $limits == *" $word "* ]] && limit=1
                [[ $with_values == *" $word "* ]] && i=$((i + 1))
                ;;
            *) break ;;
        esac
        i=$((i + 1))
    done
    if [[ -z $limit && $i -lt $COMP_CWORD && ${{COMP_WORDS[i]}} == [0-9.]* ]]; then
        i=$((i + 1))
    fi
    if [[ $i -ge $COMP_CWORD && ${{COMP_WORDS[COMP_CWORD]}} == -* ]] || [[ $i -gt $COMP_CWORD ]]; then
        _timeout__run "$@"
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$i"
    elif [[ $i -eq $COMP_CWORD ]]; then
        COMPREPLY=($(compgen -c -- "${{COMP_WORDS[COMP_CWORD]}}"))
    else
        COMPREPLY=($(compgen -f -- "${{COMP_WORDS[COMP_CWORD]}}"))
    fi
}}
complete -F _timeout_run_with_command -o bashdefault -o default timeout-run
"#
        ),
        Shell::Fish => format!(
            r#"
# The command and its arguments: completed as commands.
function __timeout_run_complete_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l with_values {with_values}
    set -l limits {limits}
    set -l limit 0
    # Skip the options (and their values) before the first operand.
    while set -q tokens[1]
        set -l token $tokens[1]
        if test "$token" = --
            set -e tokens[1]
            break
        else if not string match -q -- '-*' $token
            break
        end
        set -e tokens[1]
        if contains -- (string split -m1 = -- $token)[1] $limits
            set limit 1
        end
        if contains -- $token $with_values
            set -e tokens[1]
        end
    end
    # GNU form: a first operand (already typed) that looks like a duration is the limit.
    set -l skip 1
    if test $limit = 0; and set -q tokens[1]; and string match -qr -- '^[0-9.]' $tokens[1]
        set skip 2
    end
    __fish_complete_subcommand --fcs-skip=$skip $with_values
end
complete -c timeout-run -n 'not string match -q -- "-*" (commandline -ct)' -x -a '(__timeout_run_complete_command)'
"#
        ),
        _ => String::new(),
    }
}

fn man_page() -> Vec<u8> {
    let man = clap_mangen::Man::new(cli::Cli::command());
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    out.extend_from_slice(MAN_EXTRA.as_bytes());
    let _ = man.render_version_section(&mut out);
    out
}

/// The repository root (this crate lives in `xtask/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Generated files whose committed copy differs.
fn stale() -> Vec<PathBuf> {
    let root = root();
    generated()
        .into_iter()
        .filter(|(path, text)| std::fs::read(root.join(path)).ok().as_deref() != Some(text))
        .map(|(path, _)| path)
        .collect()
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "generate" => {
            let root = root();
            for (path, text) in generated() {
                if let Err(e) = std::fs::write(root.join(&path), text) {
                    eprintln!("xtask: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        "check" => {
            let stale = stale();
            for path in &stale {
                eprintln!(
                    "xtask: stale: {} (run `cargo xtask generate`)",
                    path.display()
                );
            }
            if stale.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: cargo xtask generate | check");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_files_are_current() {
        let stale = super::stale();
        assert!(
            stale.is_empty(),
            "stale generated files (run `cargo xtask generate`): {stale:?}"
        );
    }

    #[test]
    fn man_page_has_the_required_sections() {
        let man = String::from_utf8(super::man_page()).expect("UTF-8");
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "SIGNALS",
            "EXAMPLES",
            "OPTIONS",
        ] {
            assert!(man.contains(section), "{section}");
        }
    }

    /// Runs the generated bash completion for a command line (the last word is being completed)
    /// and returns the candidates.
    fn bash_complete(words: &[&str]) -> Vec<String> {
        let script = r#"source "$1"; shift
               COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
               # As bash calls it: the command, the current word, the previous word.
               _timeout_run_with_command timeout-run "${COMP_WORDS[COMP_CWORD]}" \
                   "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
               printf '%s\n' "${COMPREPLY[@]}""#;
        let out = std::process::Command::new("bash")
            .args(["-c", script, "bash"])
            .arg(super::root().join("completions/timeout-run.bash"))
            .args(words)
            .output()
            .expect("bash runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn bash_completes_the_command_operand_as_a_command() {
        for words in [
            &["timeout-run", "slee"][..],
            &["timeout-run", "5", "slee"],
            &["timeout-run", "-t", "5", "slee"],
            &["timeout-run", "--signal", "INT", "1m", "slee"],
            &["timeout-run", "-v", "--", "5", "slee"],
        ] {
            let got = bash_complete(words);
            assert!(got.iter().any(|c| c == "sleep"), "{words:?}: {got:?}");
        }
        // Options and their values still complete as timeout-run's own.
        assert!(bash_complete(&["timeout-run", "--sig"]).contains(&"--signal".to_owned()));
        assert_eq!(
            bash_complete(&["timeout-run", "--leftovers", ""]),
            ["kill", "wait", "keep"]
        );
    }

    #[test]
    fn the_published_package_holds_only_what_it_needs() {
        let out = std::process::Command::new(env!("CARGO"))
            .args([
                "package",
                "--list",
                "--allow-dirty",
                "--package",
                "timeout-run",
            ])
            .current_dir(super::root())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = String::from_utf8_lossy(&out.stdout);
        let allowed = |f: &str| {
            [
                "src/",
                "docs/",
                "completions/",
                "build.rs",
                "README.md",
                "LICENSE",
                "CHANGELOG.md",
                "Cargo.toml",
                "Cargo.toml.orig",
                "Cargo.lock",
                ".cargo_vcs_info.json",
            ]
            .iter()
            .any(|a| {
                if a.ends_with('/') {
                    f.starts_with(a)
                } else {
                    f == *a
                }
            })
        };
        let stray: Vec<&str> = listed.lines().filter(|f| !allowed(f)).collect();
        assert!(stray.is_empty(), "stray files in the package: {stray:?}");
        for needed in [
            "src/main.rs",
            "LICENSE",
            "docs/timeout-run.1",
            "completions/_timeout-run",
        ] {
            assert!(listed.lines().any(|f| f == needed), "{needed} missing");
        }
    }
}
