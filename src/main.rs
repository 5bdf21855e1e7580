//! timeout-run: run a command with a time limit and stop its whole process tree gracefully.

// The C `main` below is the entry point: see `startup` for why std's runtime set-up is skipped.
#![cfg_attr(not(test), no_main)]

mod cli;
mod clock;
mod config;
mod duration;
mod exit;
mod generate;
mod hook;
mod log;
mod outcome;
#[cfg(test)]
mod proptests;
mod relay;
mod report;
mod run;
mod signal;
mod sink;
mod startup;
mod supervisor;
mod sys;
mod terminal;

/// The C entry point. Without std's runtime set-up, std still works (`std::process::exit`
/// flushes); the arguments are taken from `argv` here rather than from `std::env::args_os`,
/// which some C libraries only fill in through that set-up.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    use std::os::unix::ffi::OsStrExt;
    let count = usize::try_from(argc).unwrap_or(0);
    let args = (0..count)
        .map(|i| {
            // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings in `argv`.
            let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(arg.to_bytes()).to_owned()
        })
        .collect();
    run_and_exit(args)
}

/// The unit-test harness brings its own entry point and runtime.
#[cfg(test)]
fn main() {
    run_and_exit(std::env::args_os().collect())
}

fn run_and_exit(args: Vec<std::ffi::OsString>) -> ! {
    startup::prepare();
    exit::terminate(run::main(args))
}
