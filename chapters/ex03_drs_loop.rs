//! Exercise 3 — the DRS loop: your version of `src/multiplexer/drs_loop.rs`.
//!
//! Build with `--features ex03` and this file replaces the loop of the data-request service
//! (the course's `TcpClientServiceManager` thread). The rest of `src/multiplexer.rs` is given
//! and stays where it is: the commands and `apply_commands`, `listen` and `sync` (which keep
//! each client's registration in the poller in step), one client's `serve` and `turn`,
//! `expire`, the lingering close (`linger_ready`). A child module may use its parent's
//! private items, so you reach all of them, and the fields of `Drs`, through `self`.
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
//! Read chapter 3 of the book first (`book/src/ch03-select-and-drs.md`); the reference is
//! `src/multiplexer/drs_loop.rs` (and the book's Solutions page). Keep the signatures; write
//! the bodies.

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
        // TODO: one `Vec<(u64, Readiness)>` for the thread's whole life, refilled by each
        // wait. Then loop:
        // 1. `self.poller.wait(&mut ready, self.next_timeout())`. On an error (ENOMEM and
        //    the like) call `self.wait_for_waker(Duration::from_millis(100))` and go round
        //    again: never spin, never stop listening to the waker.
        // 2. If the token `WAKER` is among the ready ones, `self.link.waker.drain()`.
        // 3. `self.apply_commands()`; when it returns false (a `Stop`), return.
        // 4. `self.pass += 1` (one turn per client per pass), `self.serve_ready(&ready)`,
        //    then `self.expire(std::time::Instant::now())`.
        todo!("ex03: Drs::run_loop")
    }

    /// How long the next wait may block.
    fn next_timeout(&self) -> Option<Duration> {
        // TODO:
        // - Zero while reading is on (`self.reading`) and some client on `self.pending` may
        //   be served: its entry in `self.table` is still `pending` and not `paused`. Its
        //   messages are already read, so the kernel will never report it ready again.
        // - Otherwise until the earliest deadline: `self.timers` is a min-heap of
        //   `Reverse((Instant, Timer))`; `peek` it (a pattern `Reverse((at, _))` takes the
        //   instant out) and turn the instant into a duration from now
        //   (`saturating_duration_since`: a deadline already past is zero, not a panic).
        // - No deadline: `None`, wait for ever (the waker ends the wait when needed).
        todo!("ex03: Drs::next_timeout")
    }

    /// Serves every client and lingering socket the wait reported, then every client with
    /// messages pending.
    fn serve_ready(&mut self, ready: &[(u64, Readiness)]) {
        // TODO:
        // - For each `(token, readiness)`: skip `WAKER`; a token is a client id
        //   (`ClientId(token)`). In `self.table`: `self.serve(id, readiness)`. Else in
        //   `self.lingering`: `self.linger_ready(id)`. Else it left this pass: ignore it.
        // - Then, if reading is on, take the list `self.pending` (`std::mem::take`) and for
        //   each id still in the table: clear its `listed_pending`, serve it (with
        //   `Readiness::default()`) if it is still `pending` and not `paused`, and call
        //   `self.sync(id)`, which lists it again if it is still pending.
        todo!("ex03: Drs::serve_ready")
    }
}
