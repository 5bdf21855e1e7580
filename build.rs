//! Links the unwinder statically on GNU/Linux.
//!
//! std names `libgcc_s.so` for unwinding, and loading that extra shared library (plus its CPU
//! feature probing constructor) is about a tenth of timeout-run's start-up. With `panic =
//! "abort"` the unwinder only serves backtraces, so the static `libgcc_eh.a` (the archive
//! `gcc -static-libgcc` uses) does the job. Its symbols are resolved before std's `-lgcc_s`
//! is reached, so the linker's `--as-needed` drops that library. Where the compiler driver does
//! not know `libgcc_eh.a` nothing changes.

use std::env;
use std::path::Path;
use std::process::Command;

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
