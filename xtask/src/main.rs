//! `cargo xtask generate` writes the shell completions and the man page from timeout-run's clap
//! definition; `cargo xtask check` (and this crate's test, run by `cargo test --workspace`) fails
//! when a committed copy is stale. `cargo xtask dist` builds the release artifacts (see `dist`).
//!
//! The definition and the generator are compiled in from `src/cli.rs` and `src/generate.rs`,
//! the same code that `timeout-run --generate` runs, so the committed files never drift from
//! what the binary prints.

#[allow(dead_code)]
#[path = "../../src/cli.rs"]
mod cli;
mod dist;
#[path = "../../src/generate.rs"]
mod generate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every generated file, relative to the repository root, with its content.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    generate::FILES
        .iter()
        .map(|(path, what)| (PathBuf::from(path), generate::render(*what)))
        .collect()
}

/// The repository root (this crate lives in `xtask/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Says that a test did not run and why, in `cargo test`'s normal output (libtest does not capture
/// the stderr handle itself), or fails it where `.ci/run` runs (`CI=true`, as root, on Linux),
/// which provides every facility, `target/dist/` included.
#[cfg(test)]
fn skip(test: &str, why: &str) {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if std::env::var_os("CI").is_some_and(|v| v == "true") && cfg!(target_os = "linux") && root {
        panic!("{test} cannot run: {why} (CI=true as root: .ci/run must provide this)");
    }
    use std::io::Write;
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
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
        "dist" => match dist::dist(&root()) {
            Ok(artifacts) => {
                for path in artifacts {
                    println!("{}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask: dist: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask generate | check | dist");
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
