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
        (Path::new("completions").join(file), out)
    })
    .collect();
    files.push((PathBuf::from("docs/timeout-run.1"), man_page()));
    files
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
}
