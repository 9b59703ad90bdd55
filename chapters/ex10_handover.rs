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
//! Read chapter 10 of the book first (`book/src/ch10-threaded-clients.md`); the reference is
//! `src/multiplexer/handover.rs`. Keep the signatures; write the bodies.

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
        // TODO:
        // 1. Asked to move it to this very thread (`Arc::ptr_eq(&to, &self.link)`): nothing
        //    to do; `reply(done, …)` whether the client is in `self.table`.
        // 2. Take its entry out of `self.table` (key: `conn.client.id`). Not there: it moved
        //    on, or it is gone. Try `self.forward(Command::Release { conn, to, done })`; if
        //    that gives the command back (`Err`), the client is gone: push
        //    `Command::Adopt(None)` to `to` (a thread started for it must not wait for ever)
        //    and `reply(done, false)`.
        // 3. Stop watching its socket: `self.poller.remove(&entry.conn.stream, id.0)`.
        // 4. Build a `Handover` from the entry (its `conn`, `inbox`, `paused`, `pending`,
        //    `partial_since`) and push `Command::Adopt(Some(Box::new(handover)))` to `to`.
        // 5. Only then store `to.number` in `conn.served_by` (`Ordering::SeqCst`): a request
        //    sent to the new thread after that must queue behind the hand-over, and one sent
        //    here before it is forwarded (step 2, on its way through `apply_commands`).
        // 6. `reply(done, true)`, and `self.leave_if_done()` (a client thread that gave its
        //    only client back leaves).
        todo!("exercise 10: release the client")
    }

    /// Takes over a client another thread let go of: watch its socket from now on, with
    /// everything the other thread held for it. `None`: the client was gone before it could
    /// be handed over.
    pub(super) fn adopt(&mut self, handover: Option<Box<Handover>>) {
        // TODO:
        // 1. `None`: `self.leave_if_done()` and return (a thread started for nothing leaves).
        // 2. A client closed meanwhile (`conn.is_closed()`): return; its `Close` command
        //    follows the hand-over to this thread and closes the socket.
        // 3. Build its entry: `Listened::new(conn, inbox)` with the handed-over inbox (or
        //    `self.new_inbox()` if there is none), then set `paused`, `pending` and
        //    `partial_since` from the hand-over (struct update syntax `..` works).
        // 4. `self.register(entry)`: registers the socket with this thread's poller (read
        //    and write interest as the entry needs) and enters it in `self.table`; false if
        //    the kernel refused (the client is then already ended).
        // 5. Registered: the message clock and the list of clients with pending messages
        //    are each thread's own: `self.resume_clock(id)`, then `self.sync(id)`.
        todo!("exercise 10: adopt the client")
    }
}
