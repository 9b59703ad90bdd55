//! Chapter 3 — the DRS loop itself: one pass after another of wait, apply the commands,
//! serve what is ready.
//!
//! This is the heart of the course's `TcpClientServiceManager` thread, kept in a file of its
//! own so that exercise 3 (`--features ex03`) can swap it for `chapters/ex03_drs_loop.rs`.
//! Everything it calls — applying commands, a client's turn, keeping registrations in step,
//! expiring timers, the lingering close — stays in the parent module,
//! [`multiplexer`](super), whose private items a child module may use.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::{Drs, DrsHost, WAKER};
use crate::client::ClientId;
use crate::select::Readiness;

impl<H: DrsHost> Drs<H> {
    // ANCHOR: run_loop
    // ANCHOR: run_loop_sig
    /// The DRS's passes, until a `Stop` command: wait, empty the waker, apply the commands,
    /// serve what is ready, expire what is due.
    pub(super) fn run_loop(&mut self) {
        // ANCHOR_END: run_loop_sig
        let mut ready: Vec<(u64, Readiness)> = Vec::new();
        loop {
            let timeout = self.next_timeout();
            if self.poller.wait(&mut ready, timeout).is_err() {
                // Only ENOMEM and the like: give the system a while to recover, on the waker
                // alone, then carry on as after a wake with nothing else reported. Draining
                // here is what keeps a wait that fails again from returning at once (a spin)
                // and the commands, a `Stop` among them, from being left untaken.
                ready.clear();
                self.wait_for_waker(Duration::from_millis(100));
                self.link.waker.drain();
            } else if ready.iter().any(|(token, _)| *token == WAKER) {
                self.link.waker.drain();
            }
            // Commands first: they may remove a client that is also reported ready below.
            if !self.apply_commands() {
                return;
            }
            self.pass += 1;
            self.serve_ready(&ready);
            self.expire(Instant::now());
        }
    }
    // ANCHOR_END: run_loop

    // ANCHOR: next_timeout
    // ANCHOR: next_timeout_sig
    /// How long the next wait may block: not at all while a client that may be read has
    /// messages pending (the kernel will not report them: they are already read), else until
    /// the nearest deadline, else for ever.
    fn next_timeout(&self) -> Option<Duration> {
        // ANCHOR_END: next_timeout_sig
        let pending = self.reading
            && self
                .pending
                .iter()
                .any(|id| self.table.get(id).is_some_and(|e| e.pending && !e.paused));
        if pending {
            return Some(Duration::ZERO);
        }
        self.timers
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
    }
    // ANCHOR_END: next_timeout

    // ANCHOR: serve_ready
    // ANCHOR: serve_ready_sig
    /// Serves every client and lingering socket the wait reported, then every client with
    /// messages pending.
    fn serve_ready(&mut self, ready: &[(u64, Readiness)]) {
        // ANCHOR_END: serve_ready_sig
        for &(token, readiness) in ready {
            let id = ClientId(token);
            if token == WAKER {
                continue;
            } else if self.table.contains_key(&id) {
                self.serve(id, readiness);
            } else if self.lingering.contains_key(&id) {
                self.linger_ready(id);
            }
        }
        if !self.reading {
            return;
        }
        for id in std::mem::take(&mut self.pending) {
            let Some(entry) = self.table.get_mut(&id) else {
                continue;
            };
            entry.listed_pending = false;
            if entry.pending && !entry.paused {
                self.serve(id, Readiness::default());
            }
            // Still pending (served, or paused, or already served this pass): listed again.
            self.sync(id);
        }
    }
    // ANCHOR_END: serve_ready
}
