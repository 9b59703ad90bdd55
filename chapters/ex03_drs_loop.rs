//! Exercise 3 — the DRS loop: your version of `src/multiplexer/drs_loop.rs`.
//!
//! Build with `--features ex03` and this file replaces the loop of the data-request service
//! (the course's `TcpClientServiceManager` thread). The rest of `src/multiplexer.rs` is given
//! and stays where it is: the commands and `apply_commands`, `listen` and `sync` (which keep
//! each client's registration in the poller in step), one client's `serve` and `turn`, the
//! lingering close (`linger_ready`), `wait_for_waker`; and, in `src/multiplexer/timers.rs`,
//! the message clocks and `expire`. A child module may use its parent's private items, so
//! you reach all of them, and the fields of `Drs`, through `self`.
//!
//! You write three functions: `run_loop` (one pass after another), `next_timeout` (how long
//! a wait may block) and `serve_ready` (who gets served after a wait). Then run the chapter's
//! tests (every `tests/ch03_*.rs`):
//!
//! ```text
//! cargo test --features ex03 --test ch03_multiplexer
//! cargo test --features ex03 --test ch03_backpressure
//! cargo test --features ex03 --test ch03_scale
//! ```
//!
//! Read chapter 3 of the book first (`book/src/ch03-select-and-drs.md`): its section "The
//! code" gives the design, and its "Exercise" section has hints, each folded, to open one at
//! a time when stuck. Keep the signatures; write the bodies. Once your tests pass, compare
//! with the reference, `src/multiplexer/drs_loop.rs` (also in the book's Solutions page).

// The parameters are unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::time::Duration;

use super::{Drs, DrsHost, WAKER};
use crate::client::ClientId;
use crate::select::Readiness;

impl<H: DrsHost> Drs<H> {
    /// The DRS's passes, until a `Stop` command: wait, empty the waker, apply the commands,
    /// serve what is ready, expire what is due.
    pub(super) fn run_loop(&mut self) {
        // TODO: one pass after another, in the order the chapter's loop shows, until
        // `self.apply_commands()` says a `Stop` was among the commands. A wait may fail
        // (ENOMEM and the like), again and again: the DRS must then neither spin nor leave a
        // command, a `Stop` among them, untaken. Count the passes in `self.pass`, before the
        // turns of the pass: `serve` gives a client at most one turn per pass, by that count.
        todo!("ex03: Drs::run_loop")
    }

    /// How long the next wait may block.
    fn next_timeout(&self) -> Option<Duration> {
        // TODO: zero while a client whose messages are already read may be given a turn
        // (the kernel will not report it again); else until the earliest deadline in
        // `self.timers`, already past or not; else no limit. The fields to read are those of
        // `Drs` and of its `Listened` entries (`src/multiplexer.rs`).
        todo!("ex03: Drs::next_timeout")
    }

    /// Serves every client and lingering socket the wait reported, then every client with
    /// messages pending.
    fn serve_ready(&mut self, ready: &[(u64, Readiness)]) {
        // TODO: first what the wait reported: a token is the waker's (`WAKER`) or a client
        // id, found in the client table (a turn, `self.serve`), among the sockets still
        // lingering (`self.linger_ready`), or in neither (it left during this pass). Then,
        // unless reading is off, a turn for each client on the pending list that may have
        // one, keeping the list and each entry's `listed_pending` in step (`self.sync`).
        todo!("ex03: Drs::serve_ready")
    }
}
