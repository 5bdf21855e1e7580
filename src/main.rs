//! timeout-run: run a command with a time limit and stop its whole process tree gracefully.

mod cli;
mod clock;
mod config;
mod duration;
mod events;
mod exit;
mod log;
mod machine;
mod process;
mod relay;
mod report;
mod run;
mod signal;
mod supervisor;
mod terminal;
mod tree;

fn main() {
    exit::terminate(run::main())
}
