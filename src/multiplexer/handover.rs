//! Chapter 10 — migration: handing a live client from one serving thread to another (the
//! DRS to a thread of the client's own, or back) without losing, duplicating or reordering a
//! byte.
//!
//! The whole trick is that only one thread ever reads a client. The thread that serves it
//! now lets go of it *between two turns* (never in the middle of one): it stops watching the
//! socket and hands over, in one [`Handover`], everything it holds for the client — above
//! all the demarcator with the bytes already read and not yet delivered. Bytes still in the
//! kernel stay there, in order, until the new thread reads them. The new thread starts
//! watching the socket only once it holds the handover, so the two never read at once.
//!
//! This file is exercise 10 (`--features ex10` swaps in `chapters/ex10_handover.rs`).

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use super::{reply, Command, Drs, DrsHost, DrsLink, Handover, Listened};
use crate::connection::Connection;

impl<H: DrsHost> Drs<H> {
    // ANCHOR: release
    /// Lets go of `conn` and hands it to the thread behind `to`. Tells `done` whether it was
    /// handed over (false: it was already gone). A client this thread no longer serves (it
    /// moved on meanwhile) is followed: the request goes to whoever serves it now.
    pub(super) fn release(
        &mut self,
        conn: Arc<Connection>,
        to: Arc<DrsLink>,
        done: Option<mpsc::Sender<bool>>,
    ) {
        let id = conn.client.id;
        if Arc::ptr_eq(&to, &self.link) {
            // Already here: nothing to move.
            reply(done, self.table.contains_key(&id));
            return;
        }
        let Some(entry) = self.table.remove(&id) else {
            let release = Command::Release { conn, to, done };
            if let Err(Command::Release { to, done, .. }) = self.forward(release) {
                // Gone (or never listened): a thread made for it has nothing to wait for.
                to.push(Command::Adopt(None));
                reply(done, false);
            }
            return;
        };
        // Stop watching first: from here on no event of this socket reaches this thread.
        let _ = self.poller.remove(&entry.conn.stream, id.0);
        let handover = Handover {
            conn: entry.conn,
            inbox: entry.inbox,
            paused: entry.paused,
            pending: entry.pending,
            partial_since: entry.partial_since,
        };
        // The handover is queued before the client's number changes: whoever reads the new
        // number and sends to the new thread is queued behind it, and whoever read the old
        // number finds, here, that the client moved and is forwarded (`forward`).
        to.push(Command::Adopt(Some(Box::new(handover))));
        conn.served_by.store(to.number, Ordering::SeqCst);
        reply(done, true);
        self.leave_if_done();
    }
    // ANCHOR_END: release

    // ANCHOR: adopt
    /// Takes over a client another thread let go of: watch its socket from now on, with
    /// everything the other thread held for it. `None`: the client was gone before it could
    /// be handed over.
    pub(super) fn adopt(&mut self, handover: Option<Box<Handover>>) {
        let Some(h) = handover else {
            self.leave_if_done();
            return;
        };
        if h.conn.is_closed() {
            // Disconnected in between: its `Close` follows the handover here.
            return;
        }
        let id = h.conn.client.id;
        let inbox = h.inbox.unwrap_or_else(|| self.new_inbox());
        let entry = Listened {
            partial_since: h.partial_since,
            paused: h.paused,
            pending: h.pending,
            ..Listened::new(h.conn, inbox)
        };
        if self.register(entry) {
            // The message clock and the list of clients with messages pending belong to each
            // thread: this one starts its own.
            self.resume_clock(id);
            self.sync(id);
        }
    }
    // ANCHOR_END: adopt
}
