//! Black-box tests of the built binary on real processes. Every run is under a watchdog; signals
//! are sent only after the helper prints "ready" (its handlers are installed by then).

mod util;

mod basics;
mod binary;
mod ci;
mod completions;
mod forensics;
mod gnu;
mod hostile;
mod ownership;
mod relay;
mod terminal;
mod tree;
mod uutils;
