//! `cargo xtask dist`: the release artifacts, in `target/dist/`:
//!
//! - `timeout-run_<version>-1_amd64.deb`: the default build (dynamically linked with glibc),
//!   whose `Depends` names the C library version the binary really needs, read from its
//!   `GLIBC_` symbol versions;
//! - for x86-64 and aarch64, a static build (musl) that runs where no C library is installed:
//!   `timeout-run-<version>-<target>.tar.gz` (the binary, the man page, the completions, README,
//!   LICENSE) and `timeout-run-static_<version>-1_<arch>.deb`;
//! - `SHA256SUMS` for all of them.
//!
//! It needs cargo-deb, the two musl targets (added with rustup when missing), and binutils
//! (objdump, readelf), dpkg-deb, tar and sha256sum. aarch64 links with rust-lld, which ships
//! with Rust (see `.cargo/config.toml`), so no cross C toolchain is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The static builds: Rust target and Debian architecture.
pub const STATIC_TARGETS: &[(&str, &str)] = &[
    ("x86_64-unknown-linux-musl", "amd64"),
    ("aarch64-unknown-linux-musl", "arm64"),
];

/// The version shared by the workspace.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

type Result<T> = std::result::Result<T, String>;

/// Runs a command; fails with its output when it does not succeed. Returns its stdout.
fn run(command: &mut Command) -> Result<String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command with its output shown (long builds).
fn run_shown(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    eprintln!("xtask: {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// `cargo` with the release settings of the artifacts: symbols stripped.
fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root)
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols");
    c
}

/// The newest symbol version with this prefix (`GLIBC_`, `GCC_`) that an ELF file needs, from
/// `objdump -T`, as (major, minor); `None` when it needs none (a static build needs none).
pub fn newest_symbol_version(binary: &Path, prefix: &str) -> Result<Option<(u32, u32)>> {
    let text = run(Command::new("objdump").arg("-T").arg(binary))?;
    Ok(text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix(prefix))
        .filter_map(|v| {
            let mut parts = v.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().unwrap_or("0").parse().ok()?;
            Some((major, minor))
        })
        .max())
}

/// The shared libraries an ELF file asks for (`DT_NEEDED`).
pub fn needed_libraries(binary: &Path) -> Result<Vec<String>> {
    let text = run(Command::new("readelf").arg("-d").arg(binary))?;
    Ok(text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.trim_end_matches(']').to_owned()))
        .collect())
}

/// Whether an ELF file asks for a program interpreter (a dynamic loader).
pub fn has_interpreter(binary: &Path) -> Result<bool> {
    let text = run(Command::new("readelf").arg("-l").arg(binary))?;
    Ok(text.contains("INTERP"))
}

/// The `Depends` of the default build, from what the binary needs: for each shared library
/// (`DT_NEEDED`), its Debian package at the newest symbol version the binary uses from it. A
/// library not known here is refused, rather than left out.
pub fn depends_of(binary: &Path) -> Result<String> {
    let mut depends = Vec::new();
    for library in needed_libraries(binary)? {
        let (package, prefix) = match library.as_str() {
            "libc.so.6" => ("libc6", "GLIBC_"),
            "libgcc_s.so.1" => ("libgcc-s1", "GCC_"),
            other => {
                return Err(format!(
                    "{} needs {other}, which has no Debian package here",
                    binary.display()
                ));
            }
        };
        depends.push(match newest_symbol_version(binary, prefix)? {
            Some((major, minor)) => format!("{package} (>= {major}.{minor})"),
            None => package.to_owned(),
        });
    }
    Ok(depends.join(", "))
}

/// Rewrites a package's `Depends` field: cargo-deb's `$auto` depends on the machine that builds
/// (what dpkg-shlibdeps and its symbol tables say, or leaves libraries out).
fn set_depends(deb: &Path, depends: &str) -> Result<()> {
    let tree = tempdir()?;
    run(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&tree))?;
    let control = tree.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).map_err(|e| e.to_string())?;
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("Depends:"))
        .map(str::to_owned)
        .collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Architecture:"))
        .map_or(lines.len(), |i| i + 1);
    lines.insert(at, format!("Depends: {depends}"));
    std::fs::write(&control, lines.join("\n") + "\n").map_err(|e| e.to_string())?;
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&tree)
        .arg(deb))?;
    let _ = std::fs::remove_dir_all(&tree);
    Ok(())
}

/// A fresh directory under the system's temporary directory.
fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("timeout-run-dist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Builds a .deb with cargo-deb from an existing build; returns its path.
fn cargo_deb(
    root: &Path,
    out: &Path,
    target: Option<&str>,
    variant: Option<&str>,
) -> Result<PathBuf> {
    let mut c = cargo(root);
    c.args([
        "deb",
        "--no-build",
        "--no-strip",
        "--locked",
        "-p",
        "timeout-run",
        "-o",
    ])
    .arg(out);
    if let Some(target) = target {
        c.args(["--target", target]);
    }
    if let Some(variant) = variant {
        c.args(["--variant", variant]);
    }
    let printed = run(&mut c)?;
    let path = printed
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with(".deb"))
        .ok_or_else(|| format!("cargo deb printed no package path: {printed}"))?;
    Ok(PathBuf::from(path.trim()))
}

/// The file names of a static build's archive: the binary, the man page, the completions.
fn archive(root: &Path, out: &Path, target: &str, binary: &Path) -> Result<PathBuf> {
    let name = format!("timeout-run-{VERSION}-{target}");
    let staging = tempdir()?;
    let top = staging.join(&name);
    std::fs::create_dir_all(top.join("completions")).map_err(|e| e.to_string())?;
    let copy = |from: &Path, to: &Path| {
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
    };
    copy(binary, &top.join("timeout-run"))?;
    for file in ["README.md", "LICENSE", "CHANGELOG.md", "docs/timeout-run.1"] {
        let from = root.join(file);
        copy(&from, &top.join(from.file_name().unwrap_or_default()))?;
    }
    for (path, _) in crate::generate::FILES {
        if let Some(file) = path.strip_prefix("completions/") {
            copy(&root.join(path), &top.join("completions").join(file))?;
        }
    }
    let tarball = out.join(format!("{name}.tar.gz"));
    run(Command::new("tar")
        .args(["--owner=0", "--group=0", "--numeric-owner", "-czf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&staging)
        .arg(&name))?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(tarball)
}

/// Builds every artifact into `target/dist/` and returns their paths.
pub fn dist(root: &Path) -> Result<Vec<PathBuf>> {
    let out = root.join("target/dist");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    run(cargo(root).args(["deb", "--version"]))
        .map_err(|e| format!("{e}\ncargo-deb is needed: cargo install cargo-deb"))?;
    let targets: Vec<&str> = STATIC_TARGETS.iter().map(|(t, _)| *t).collect();
    if Command::new("rustup").arg("--version").output().is_ok() {
        run(Command::new("rustup")
            .args(["target", "add"])
            .args(&targets))?;
    }
    let mut artifacts = Vec::new();

    // The default build, as `cargo build --release` makes it.
    run_shown(cargo(root).args(["build", "--release", "--locked", "-p", "timeout-run"]))?;
    let binary = root.join("target/release/timeout-run");
    let depends = depends_of(&binary)?;
    let deb = cargo_deb(root, &out, None, None)?;
    set_depends(&deb, &depends)?;
    eprintln!("xtask: {} depends on {depends}", deb.display());
    artifacts.push(deb);

    // The static builds.
    for (target, _) in STATIC_TARGETS {
        run_shown(cargo(root).args([
            "build",
            "--release",
            "--locked",
            "-p",
            "timeout-run",
            "--target",
            target,
        ]))?;
        let binary = root.join("target").join(target).join("release/timeout-run");
        if has_interpreter(&binary)? || !needed_libraries(&binary)?.is_empty() {
            return Err(format!("{} is not static", binary.display()));
        }
        artifacts.push(archive(root, &out, target, &binary)?);
        artifacts.push(cargo_deb(root, &out, Some(target), Some("static"))?);
    }

    let mut names: Vec<String> = artifacts
        .iter()
        .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let sums = run(Command::new("sha256sum").args(&names).current_dir(&out))?;
    std::fs::write(out.join("SHA256SUMS"), sums).map_err(|e| e.to_string())?;
    artifacts.push(out.join("SHA256SUMS"));
    Ok(artifacts)
}

#[cfg(test)]
mod tests {
    //! Checks of the artifacts that `cargo xtask dist` left in `target/dist/` (CI builds them
    //! before the tests; elsewhere the tests say they were skipped).

    use super::*;
    use std::time::{Duration, Instant};

    fn dist_dir(test: &str) -> Option<PathBuf> {
        let dir = crate::root().join("target/dist");
        if dir.join("SHA256SUMS").exists() {
            Some(dir)
        } else {
            crate::skip(
                test,
                "no target/dist/SHA256SUMS: run `cargo xtask dist` first",
            );
            None
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "timeout-run-dist-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    fn ok(command: &mut Command) -> String {
        run(command).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Unpacks a package's files.
    fn unpack_deb(deb: &Path, name: &str) -> PathBuf {
        let dir = scratch(name);
        ok(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&dir));
        dir
    }

    fn field(deb: &Path, name: &str) -> String {
        ok(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
            .trim()
            .to_owned()
    }

    fn debs(dir: &Path) -> Vec<PathBuf> {
        let mut debs: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("target/dist")
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "deb"))
            .collect();
        debs.sort();
        debs
    }

    /// The newest `GLIBC_` version in the binary's version needs, read with `readelf -V` (not
    /// objdump, as `dist` does), so that the two derivations check each other.
    fn glibc_from_version_needs(binary: &Path) -> (u32, u32) {
        let text = ok(Command::new("readelf").arg("-V").arg(binary));
        text.split_whitespace()
            .filter_map(|w| w.strip_prefix("GLIBC_"))
            .filter_map(|v| {
                let mut parts = v.split('.');
                Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
            })
            .max()
            .expect("a glibc build needs some GLIBC_ version")
    }

    #[test]
    fn the_deb_declares_the_glibc_version_the_binary_needs() {
        let Some(dir) = dist_dir("the_deb_declares_the_glibc_version_the_binary_needs") else {
            return;
        };
        let deb = dir.join(format!("timeout-run_{VERSION}-1_amd64.deb"));
        let files = unpack_deb(&deb, "glibc");
        let binary = files.join("usr/bin/timeout-run");
        let (major, minor) = glibc_from_version_needs(&binary);
        let depends = field(&deb, "Depends");
        let clauses: Vec<&str> = depends.split(", ").collect();
        assert!(
            clauses.contains(&format!("libc6 (>= {major}.{minor})").as_str()),
            "the binary needs GLIBC_{major}.{minor}; the package says Depends: {depends}"
        );
        // Every library the binary loads is a dependency.
        for library in needed_libraries(&binary).unwrap() {
            let package = match library.as_str() {
                "libc.so.6" => "libc6",
                "libgcc_s.so.1" => "libgcc-s1",
                other => panic!("unexpected library {other}"),
            };
            assert!(
                clauses.iter().any(|c| c.split(' ').next() == Some(package)),
                "{library} is loaded but Depends is {depends}"
            );
        }
        let _ = std::fs::remove_dir_all(files);
    }

    /// The release build runs where Rust's std does: glibc 2.34 (Ubuntu 22.04, RHEL 9), even
    /// when it is built on a newer system.
    #[test]
    fn the_release_binary_needs_no_glibc_above_2_34() {
        let Some(dir) = dist_dir("the_release_binary_needs_no_glibc_above_2_34") else {
            return;
        };
        let deb = dir.join(format!("timeout-run_{VERSION}-1_amd64.deb"));
        let files = unpack_deb(&deb, "glibc-floor");
        let (major, minor) = glibc_from_version_needs(&files.join("usr/bin/timeout-run"));
        assert!(
            (major, minor) <= (2, 34),
            "the release binary needs GLIBC_{major}.{minor}"
        );
        let _ = std::fs::remove_dir_all(files);
    }

    #[test]
    fn every_deb_carries_the_license_text_and_installs_the_same_files() {
        let Some(dir) = dist_dir("every_deb_carries_the_license_text_and_installs_the_same_files")
        else {
            return;
        };
        let license = std::fs::read_to_string(crate::root().join("LICENSE")).unwrap();
        let debs = debs(&dir);
        assert_eq!(debs.len(), 1 + STATIC_TARGETS.len(), "{debs:?}");
        for (i, deb) in debs.iter().enumerate() {
            let files = unpack_deb(deb, &format!("license-{i}"));
            let copyright = files
                .join("usr/share/doc")
                .join(field(deb, "Package"))
                .join("copyright");
            let text = std::fs::read_to_string(&copyright)
                .unwrap_or_else(|e| panic!("{}: {e}", deb.display()));
            assert!(
                text.contains(license.trim()),
                "{}: the copyright file lacks the license text:\n{text}",
                deb.display()
            );
            for file in [
                "usr/bin/timeout-run",
                "usr/share/man/man1/timeout-run.1.gz",
                "usr/share/bash-completion/completions/timeout-run",
                "usr/share/zsh/vendor-completions/_timeout-run",
                "usr/share/fish/vendor_completions.d/timeout-run.fish",
            ] {
                assert!(files.join(file).exists(), "{} lacks {file}", deb.display());
            }
            let _ = std::fs::remove_dir_all(files);
        }
    }

    #[test]
    fn the_static_builds_are_static_for_their_cpu() {
        let Some(dir) = dist_dir("the_static_builds_are_static_for_their_cpu") else {
            return;
        };
        for (target, arch) in STATIC_TARGETS {
            let files = scratch(target);
            let tarball = dir.join(format!("timeout-run-{VERSION}-{target}.tar.gz"));
            ok(Command::new("tar")
                .arg("-xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&files));
            let top = files.join(format!("timeout-run-{VERSION}-{target}"));
            let binary = top.join("timeout-run");
            for file in [
                "LICENSE",
                "README.md",
                "timeout-run.1",
                "completions/_timeout-run",
            ] {
                assert!(top.join(file).exists(), "{target}: {file} missing");
            }
            let machine = ok(Command::new("readelf").arg("-h").arg(&binary));
            let cpu = if target.starts_with("x86_64") {
                "X86-64"
            } else {
                "AArch64"
            };
            assert!(machine.contains(cpu), "{target}: {machine}");
            assert!(
                !has_interpreter(&binary).unwrap(),
                "{target} needs a loader"
            );
            assert_eq!(needed_libraries(&binary).unwrap(), Vec::<String>::new());
            let deb = dir.join(format!("timeout-run-static_{VERSION}-1_{arch}.deb"));
            assert_eq!(field(&deb, "Architecture"), *arch);
            assert_eq!(
                field(&deb, "Depends"),
                "",
                "a static build depends on nothing"
            );
            assert!(field(&deb, "Conflicts").contains("timeout-run"));
            let _ = std::fs::remove_dir_all(files);
        }
    }

    /// Runs a command under a watchdog; returns its status, stdout and how long it took.
    fn bounded(mut command: Command) -> (std::process::ExitStatus, String, Duration) {
        use std::io::Read;
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let started = Instant::now();
        let mut child = command.spawn().expect("spawn");
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return (status, reader.join().unwrap(), started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("watchdog: {command:?} still running after 20 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The x86-64 static binary runs in a root that holds nothing else: no C library, no
    /// loader, no /proc, no /sys, no /dev. It runs itself as the command, times out, and
    /// reports a missing command.
    #[test]
    fn the_static_binary_runs_in_an_empty_root() {
        let test = "the_static_binary_runs_in_an_empty_root";
        let Some(dir) = dist_dir(test) else {
            return;
        };
        if !cfg!(target_arch = "x86_64") {
            crate::skip(test, "the x86-64 build runs on x86-64 only");
            return;
        }
        let target = "x86_64-unknown-linux-musl";
        let files = scratch("empty-root-unpack");
        let tarball = dir.join(format!("timeout-run-{VERSION}-{target}.tar.gz"));
        ok(Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&files));
        let root = scratch("empty-root");
        std::fs::copy(
            files.join(format!("timeout-run-{VERSION}-{target}/timeout-run")),
            root.join("timeout-run"),
        )
        .unwrap();
        let _ = std::fs::remove_dir_all(files);
        // As root, chroot; otherwise a user namespace may allow it.
        let is_root = ok(Command::new("id").arg("-u")).trim() == "0";
        let inside = |args: &[&str]| {
            // The program is found before the environment is cleared for it.
            let program = |name: &str| {
                ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                    .iter()
                    .map(|d| Path::new(d).join(name))
                    .find(|p| p.exists())
                    .unwrap_or_else(|| PathBuf::from(name))
            };
            let mut c = if is_root {
                let mut c = Command::new(program("chroot"));
                c.arg(&root);
                c
            } else {
                let mut c = Command::new(program("unshare"));
                c.args(["--user", "--map-root-user"])
                    .arg(format!("--root={}", root.display()));
                c
            };
            c.arg("/timeout-run").args(args).env_clear();
            bounded(c)
        };
        let (status, stdout, _) = inside(&["--version"]);
        if !is_root && !status.success() {
            crate::skip(test, "not root, and unshare --user --root is refused here");
            return;
        }
        assert!(status.success(), "--version: {status}");
        assert_eq!(stdout.trim(), format!("timeout-run {VERSION}"));

        let (status, stdout, _) = inside(&["5", "/timeout-run", "--version"]);
        assert_eq!(status.code(), Some(0), "running a command");
        assert_eq!(stdout.trim(), format!("timeout-run {VERSION}"));

        let (status, _, _) = inside(&["5", "/no-such-command"]);
        assert_eq!(status.code(), Some(127), "a missing command");

        // The inner run waits an hour between attempts; the outer one times out after 0.5 s.
        let (status, _, took) = inside(&[
            "-t",
            "0.5",
            "--",
            "/timeout-run",
            "--retries",
            "9",
            "--retry-delay",
            "1h",
            "--",
            "/no-such-command",
        ]);
        assert_eq!(status.code(), Some(124), "a timeout");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        let _ = std::fs::remove_dir_all(root);
    }

    /// The aarch64 build runs too, under qemu's user-mode emulation (which refuses the child
    /// subreaper: timeout-run warns and goes on). It starts the host's `sleep` and times it out.
    #[test]
    fn the_aarch64_static_binary_runs_under_emulation() {
        let test = "the_aarch64_static_binary_runs_under_emulation";
        let Some(dir) = dist_dir(test) else {
            return;
        };
        if Command::new("qemu-aarch64")
            .arg("-version")
            .output()
            .is_err()
        {
            crate::skip(test, "qemu-aarch64 (Debian's qemu-user) is not installed");
            return;
        }
        let target = "aarch64-unknown-linux-musl";
        let files = scratch("aarch64");
        let tarball = dir.join(format!("timeout-run-{VERSION}-{target}.tar.gz"));
        ok(Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&files));
        let binary = files.join(format!("timeout-run-{VERSION}-{target}/timeout-run"));
        let emulated = |args: &[&str]| {
            let mut c = Command::new("qemu-aarch64");
            c.arg(&binary).args(args);
            bounded(c)
        };
        let (status, stdout, _) = emulated(&["--version"]);
        assert!(status.success(), "--version: {status}");
        assert_eq!(stdout.trim(), format!("timeout-run {VERSION}"));
        let (status, _, took) = emulated(&["-t", "0.3", "sleep", "10"]);
        assert_eq!(status.code(), Some(124), "a timeout");
        assert!(took < Duration::from_secs(8), "took {took:?}");
        let _ = std::fs::remove_dir_all(files);
    }

    #[test]
    fn the_checksums_cover_every_artifact() {
        let Some(dir) = dist_dir("the_checksums_cover_every_artifact") else {
            return;
        };
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
        let mut listed: Vec<&str> = sums
            .lines()
            .filter_map(|l| l.split_once("  ").map(|(_, name)| name))
            .collect();
        listed.sort_unstable();
        let mut present: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
            .filter(|name| name != "SHA256SUMS")
            .collect();
        present.sort();
        assert_eq!(listed, present);
        assert_eq!(present.len(), 1 + 2 * STATIC_TARGETS.len(), "{present:?}");
        ok(Command::new("sha256sum")
            .args(["--check", "--strict", "SHA256SUMS"])
            .current_dir(&dir));
    }
}
