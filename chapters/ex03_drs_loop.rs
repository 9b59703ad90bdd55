//! Exercise 3 — the DRS loop: your version of `src/multiplexer/drs_loop.rs`.
//!
//! Build with `--features ex03` and this file replaces the loop of the data-request service
//! (the course's `TcpClientServiceManager` thread). The rest of `src/multiplexer.rs` is given
//! and stays where it is: the commands and `apply_commands`, one client's `serve` and `turn`,
//! `expire`, the lingering close (`advance_linger`). A child module may use its parent's
//! private items, so you reach all of them, and the fields of `Drs`, through `self`.
//!
//! You write three functions: `run_loop` (one pass after another), `register` (which sockets
//! to wait on, for what, and for how long) and `serve_ready` (who gets served after a wait).
//! Then run the chapter's tests (every `tests/ch03_*.rs`):
//!
//! ```text
//! cargo test --features ex03 --test ch03_multiplexer
//! cargo test --features ex03 --test ch03_scale
//! ```
//!
//! Read chapter 3 of the book first (`book/src/ch03-select-and-drs.md`); the reference is
//! `src/multiplexer/drs_loop.rs`. Keep the signatures; write the bodies.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]
// `slots` is a Vec in the reference (it is pushed to); the stub keeps that signature.
#![allow(clippy::ptr_arg)]

use std::time::Duration;

use super::{Drs, DrsHost, Slot};
use crate::select::PollSet;

impl<H: DrsHost> Drs<H> {
    /// The DRS's passes, until a `Stop` command: fill the poll set, wait, empty the waker,
    /// apply the commands, serve what is ready, expire what is due.
    pub(super) fn run_loop(&mut self) {
        // TODO: one `PollSet` and one `Vec<Slot>` for the thread's whole life (`register`
        // clears them each pass, keeping their memory). Then loop:
        // 1. `let timeout = self.register(&mut set, &mut slots);`
        // 2. `set.wait(timeout)`; on an error (ENOMEM and the like) do not spin and do not
        //    leave: `self.wait_for_waker(Duration::from_millis(100))`, then the next pass.
        // 3. If the waker (index 0) is readable, `self.link.waker.drain()`, or the next wait
        //    returns at once.
        // 4. `self.apply_commands()` *before* serving: a `Close` may remove a client that the
        //    wait also reported ready. It returns false on `Stop`: return.
        // 5. `self.pass += 1` (a client is served once per pass: `Listened::served_in`),
        //    `self.serve_ready(&set, &slots)`, then `self.expire(Instant::now())`.
        todo!("ex03: Drs::run_loop")
    }

    /// Fills the poll set for the next wait (waker first) and returns the wait's timeout:
    /// zero when some client has messages pending, else the nearest deadline.
    fn register(&mut self, set: &mut PollSet, slots: &mut Vec<Slot>) -> Option<Duration> {
        // TODO: clear both; add `self.link.waker.receiver()` with `Interest::READ` first, so
        // its readiness is index 0 and slot `i` is index `i + 1`.
        // TODO: for each `(id, entry)` of `self.table`:
        // - backpressure: `entry.paused = self.budget.should_pause(queued, entry.paused)`
        //   with `queued = entry.conn.queued_output()`, and publish it for `show`:
        //   `entry.conn.paused.store(entry.paused, Ordering::Relaxed)`;
        // - it may be read when `self.reading && !entry.paused`;
        // - interest: read if it may be read and has no messages pending (`entry.pending`:
        //   its bytes are already in its buffer, the socket would not report them); write if
        //   output is queued. Neither: leave it out. Otherwise `set.add(&entry.conn.stream,
        //   interest)` and `slots.push(Slot::Client(*id))`.
        // TODO: every socket of `self.lingering`: read until its FIN (`!l.eof`), write until
        // flushed (`!l.flushed`); `slots.push(Slot::Lingering(i))` with its index.
        // TODO: the timeout. A client that may be read and has messages pending: `Some(ZERO)`
        // (its next turn must not wait for new bytes). Else the earliest of the lingering
        // deadlines (`l.deadline`) and the first message deadline (`self.deadlines.peek()`,
        // a min-heap of `Reverse((at, id))`), as a duration from now; none: `None` (wait
        // until something happens).
        todo!("ex03: Drs::register")
    }

    /// Serves every client and lingering socket the last wait reported, and every client
    /// with messages pending.
    fn serve_ready(&mut self, set: &PollSet, slots: &[Slot]) {
        // TODO: for each slot, `let ready = set.readiness(i + 1)` (index 0 is the waker);
        // skip it unless `ready.any()`.
        // - `Slot::Client(id)`: `self.serve(id, ready)`.
        // - `Slot::Lingering(index)`: `advance_linger(&mut self.lingering[index], &mut
        //   self.buf)`; false means the socket is done: `self.lingering.swap_remove(index)`.
        //   A swap_remove moves the last socket into `index`: walk the slots backwards
        //   (`.iter().enumerate().rev()`) so no index you have yet to visit changes.
        // TODO: then, unless listening is disabled (`!self.reading`), give a turn to every
        // client with messages pending that is not paused: `self.serve(id,
        // Readiness::default())`. Collect their ids first: `serve` needs `&mut self`.
        todo!("ex03: Drs::serve_ready")
    }
}
