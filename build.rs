//! Two start-up savings on GNU/Linux, each applied only where the toolchain supports it.
//!
//! The unwinder is linked statically.
//! std names `libgcc_s.so` for unwinding, and loading that extra shared library (plus its CPU
//! feature probing constructor) is about a tenth of timeout-run's start-up. With `panic =
//! "abort"` the unwinder only serves backtraces, so the static `libgcc_eh.a` (the archive
//! `gcc -static-libgcc` uses) does the job. Its symbols are resolved before std's `-lgcc_s`
//! is reached, so the linker's `--as-needed` drops that library. Where the compiler driver does
//! not know `libgcc_eh.a` nothing changes.
//!
//! Relative relocations are packed (`-z pack-relative-relocs`, DT_RELR: binutils 2.38 and glibc
//! 2.36 or later): the dynamic loader then reads a few hundred bytes of bitmaps instead of 50 KB
//! of relocation entries before `main`. A test program decides: it must link with the option and
//! then run, so the option is only used where this machine's linker and C library both support
//! it. A DT_RELR binary records a dependency on the C library's `GLIBC_ABI_DT_RELR` version, so
//! an older C library refuses it cleanly rather than misreading it.

use std::env;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let abi = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let host = env::var("HOST").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    // Cross builds would need the target's compiler driver: keep the default there.
    if os != "linux" || abi != "gnu" || host != target {
        return;
    }
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    link_unwinder_statically(&cc);
    pack_relative_relocations(&cc);
}

fn link_unwinder_statically(cc: &str) {
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let archive = Path::new(&printed);
    // An unknown file is printed back as the bare name.
    if !out.status.success() || !archive.is_absolute() || !archive.is_file() {
        return;
    }
    if let Some(dir) = archive.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}

fn pack_relative_relocations(cc: &str) {
    const FLAG: &str = "-Wl,-z,pack-relative-relocs";
    let Some(out_dir) = env::var_os("OUT_DIR") else {
        return;
    };
    let probe = Path::new(&out_dir).join("relr-probe");
    let Ok(mut child) = Command::new(cc)
        .args(["-x", "c", "-", "-o"])
        .arg(&probe)
        .arg(FLAG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"int main(void) { return 0; }\n");
    }
    let linked = child.wait().is_ok_and(|status| status.success());
    let runs = linked
        && Command::new(&probe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    if runs {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}
