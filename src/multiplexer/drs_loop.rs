//! Chapter 3 — the DRS loop itself: one pass after another of build the poll set, wait, apply
//! the commands, serve what is ready.
//!
//! This is the heart of the course's `TcpClientServiceManager` thread, kept in a file of its
//! own so that exercise 3 (`--features ex03`) can swap it for `chapters/ex03_drs_loop.rs`.
//! Everything it calls — applying commands, a client's turn, expiring timers, the lingering
//! close — stays in the parent module, [`multiplexer`](super), whose private items a child
//! module may use.

use std::cmp::Reverse;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{advance_linger, Drs, DrsHost, Slot};
use crate::client::ClientId;
use crate::select::{Interest, PollSet, Readiness};

impl<H: DrsHost> Drs<H> {
    // ANCHOR: run_loop
    /// The DRS's passes, until a `Stop` command: fill the poll set, wait, empty the waker,
    /// apply the commands, serve what is ready, expire what is due.
    pub(super) fn run_loop(&mut self) {
        let mut set = PollSet::new();
        let mut slots = Vec::new();
        loop {
            let timeout = self.register(&mut set, &mut slots);
            if set.wait(timeout).is_err() {
                // Only ENOMEM and the like: let the system recover, and stay wakeable meanwhile.
                self.wait_for_waker(Duration::from_millis(100));
                continue;
            }
            if set.readiness(0).readable {
                self.link.waker.drain();
            }
            // Commands first: they may remove a client that is also reported ready below.
            if !self.apply_commands() {
                return;
            }
            self.pass += 1;
            self.serve_ready(&set, &slots);
            self.expire(Instant::now());
        }
    }
    // ANCHOR_END: run_loop

    // ANCHOR: register
    /// Fills the poll set for the next wait (waker first) and returns the wait's timeout:
    /// zero when some client has messages pending, else the nearest deadline.
    fn register(&mut self, set: &mut PollSet, slots: &mut Vec<Slot>) -> Option<Duration> {
        set.clear();
        slots.clear();
        set.add(self.link.waker.receiver(), Interest::READ);
        let mut pending = false;
        for (id, entry) in &mut self.table {
            entry.paused = self
                .budget
                .should_pause(entry.conn.queued_output(), entry.paused);
            entry.conn.paused.store(entry.paused, Ordering::Relaxed);
            let read = self.reading && !entry.paused;
            pending |= read && entry.pending;
            let interest = Interest {
                read: read && !entry.pending,
                write: entry.conn.queued_output() > 0,
            };
            if interest.read || interest.write {
                set.add(&entry.conn.stream, interest);
                slots.push(Slot::Client(*id));
            }
        }
        for (i, l) in self.lingering.iter().enumerate() {
            let interest = Interest {
                read: !l.eof,
                write: !l.flushed,
            };
            set.add(&l.conn.stream, interest);
            slots.push(Slot::Lingering(i));
        }
        if pending {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        let linger = self.lingering.iter().map(|l| l.deadline).min();
        let message = self.deadlines.peek().map(|Reverse((at, _))| *at);
        [linger, message]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(now))
    }
    // ANCHOR_END: register

    // ANCHOR: serve_ready
    /// Serves every client and lingering socket the last wait reported, and every client
    /// with messages pending.
    fn serve_ready(&mut self, set: &PollSet, slots: &[Slot]) {
        // Backwards, so that removing lingering socket `i` (a swap with the last) never moves
        // one this pass has yet to look at.
        for (i, slot) in slots.iter().enumerate().rev() {
            let ready = set.readiness(i + 1);
            match *slot {
                Slot::Client(id) if ready.any() => self.serve(id, ready),
                Slot::Client(_) => {}
                Slot::Lingering(index) if ready.any() => {
                    if !advance_linger(&mut self.lingering[index], &mut self.buf) {
                        self.lingering.swap_remove(index);
                    }
                }
                Slot::Lingering(_) => {}
            }
        }
        if !self.reading {
            return;
        }
        let pending: Vec<ClientId> = self
            .table
            .iter()
            .filter(|(_, e)| e.pending && !e.paused)
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            self.serve(id, Readiness::default());
        }
    }
    // ANCHOR_END: serve_ready
}
