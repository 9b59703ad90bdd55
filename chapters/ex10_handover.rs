//! Exercise 10 — migration: your version of `src/multiplexer/handover.rs`.
//!
//! Build with `--features ex10` and this file replaces the hand-over of a client from one
//! serving thread to another (the DRS to a thread of the client's own, or back). Everything
//! around it is given: the controller's `migrate` (which starts the new thread, sends the
//! `Release` command to the thread that serves the client now, and waits for `done`), the
//! commands, `forward`, `register`, `sync`, `resume_clock`, `leave_if_done`, and the whole
//! DRS. A child module may use its parent's private items: you reach them through `self`.
//!
//! You write two functions, one for each side of the move:
//! - `release`, run by the thread that serves the client now, between two of its turns;
//! - `adopt`, run by the thread that takes the client over.
//!
//! The rule that makes the move lossless: only one thread ever reads the client. Bytes
//! already read and not yet delivered are in the client's demarcator (`inbox`): it travels
//! in the `Handover`. Bytes not read yet stay in the kernel, in order, for the new thread.
//!
//! Then run the chapter's tests (`tests/ch10_threaded.rs`):
//!
//! ```text
//! cargo test --features ex10 --test ch10_threaded
//! ```
//!
//! Read chapter 10 of the book first (`book/src/ch10-threaded-clients.md`). The comments say
//! what each function must achieve, not how; the chapter's "Exercise" section has hints,
//! each folded, to open one at a time when stuck. Keep the signatures; write the bodies.
//! Once your tests pass, compare with the reference, `src/multiplexer/handover.rs` (also in
//! the book's Solutions page).

// The parameters are unused until you write the bodies.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use super::{reply, Command, Drs, DrsHost, DrsLink, Handover, Listened};
use crate::connection::Connection;

impl<H: DrsHost> Drs<H> {
    /// Lets go of `conn` and hands it to the thread behind `to`. Tells `done` whether it was
    /// handed over (false: it was already gone). A client this thread no longer serves (it
    /// moved on meanwhile) is followed: the request goes to whoever serves it now.
    pub(super) fn release(
        &mut self,
        conn: Arc<Connection>,
        to: Arc<DrsLink>,
        done: Option<mpsc::Sender<bool>>,
    ) {
        // TODO: a move to this very thread is no move. A client not in `self.table` has
        // moved on (follow it: the request goes to whoever serves it now) or is gone (then
        // the thread behind `to` must still be told, or it waits for ever). Otherwise this
        // thread stops watching the socket, hands everything it held for the client to
        // `to`, and only then says, in `conn.served_by`, who serves it now. Answer `done`;
        // a client thread that gave away its only client leaves.
        todo!("exercise 10: release the client")
    }

    /// Takes over a client another thread let go of: watch its socket from now on, with
    /// everything the other thread held for it. `None`: the client was gone before it could
    /// be handed over.
    pub(super) fn adopt(&mut self, handover: Option<Box<Handover>>) {
        // TODO: nothing to adopt, or a client closed meanwhile (its `Close` follows the
        // hand-over here): nothing to watch. Otherwise the client's entry is rebuilt from the
        // hand-over, with its inbox, its pause, its pending messages and its message clock,
        // and only then does this thread start watching its socket.
        todo!("exercise 10: adopt the client")
    }
}
