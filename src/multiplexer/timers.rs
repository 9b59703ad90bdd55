//! The DRS's deadlines, kept in one heap: each client's message clock (a message started and
//! not finished in time is a protocol error, "message timeout") and the end of each lingering
//! close. A child module of the DRS: it works on the DRS's own state.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Instant;

use super::{Drs, DrsHost, Listened, Timer};
use crate::client::ClientId;
use crate::demarcation::{Demarcator, ProtocolError};
use crate::error::DisconnectReason;

impl<H: DrsHost> Drs<H> {
    /// Starts, restarts or clears the client's message clock after a turn: it measures how
    /// long the message now at the front of the buffer has been in the making, so it
    /// restarts whenever a message completes and stops when the buffer is empty.
    pub(super) fn track_partial(&mut self, id: ClientId) {
        let Some(timeout) = self.settings.message_timeout else {
            return;
        };
        let Some(entry) = self.table.get_mut(&id) else {
            return;
        };
        let buffered = entry.inbox.as_ref().map_or(0, Demarcator::buffered);
        if buffered == 0 {
            entry.partial_since = None;
        } else if entry.partial_since.is_none() || self.delivered > 0 {
            let now = Instant::now();
            entry.partial_since = Some(now);
            // One deadline per client in the heap: a restarted clock is re-queued when its
            // old deadline comes up, so a busy client does not push one per turn.
            if !entry.clock_queued {
                entry.clock_queued = true;
                self.timers
                    .push(Reverse((now + timeout, Timer::Message(id))));
            }
        }
    }

    /// Queues the deadline of a message clock that was running on another thread (the client
    /// was just handed over, chapter 10).
    #[cfg_attr(feature = "ex10", allow(dead_code))]
    pub(super) fn resume_clock(&mut self, id: ClientId) {
        let Some(timeout) = self.settings.message_timeout else {
            return;
        };
        let Some(entry) = self.table.get_mut(&id) else {
            return;
        };
        if let (Some(since), false) = (entry.partial_since, entry.clock_queued) {
            entry.clock_queued = true;
            self.timers
                .push(Reverse((since + timeout, Timer::Message(id))));
        }
    }

    /// Ends clients whose message clock ran out, and sockets whose linger deadline passed.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, timer))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Linger(id) => {
                    if self.lingering.get(&id).is_some_and(|l| l.deadline <= now) {
                        self.end_linger(id);
                    }
                }
                Timer::Message(id) => self.message_clock_ran_out(id, now),
            }
        }
    }

    /// A message deadline came up: end the client if its message really took too long.
    fn message_clock_ran_out(&mut self, id: ClientId, now: Instant) {
        let Some(timeout) = self.settings.message_timeout else {
            return;
        };
        let reading = self.reading;
        let Some(entry) = self.table.get_mut(&id) else {
            return;
        };
        entry.clock_queued = false;
        let Some(since) = entry.partial_since else {
            return;
        };
        let mut requeue = |at: Instant, entry: &mut Listened| {
            entry.clock_queued = true;
            self.timers.push(Reverse((at, Timer::Message(id))));
        };
        if since + timeout > now {
            // The clock restarted since this deadline was queued: queue the new one.
            requeue(since + timeout, entry);
            return;
        }
        if !reading || entry.paused || entry.pending {
            // We are the ones not reading: the client gets a fresh allowance.
            entry.partial_since = Some(now);
            requeue(now + timeout, entry);
            return;
        }
        let conn = Arc::clone(&entry.conn);
        let buffered = entry.inbox.as_ref().map_or(0, Demarcator::buffered);
        let after_ms = timeout.as_millis().min(u64::MAX as u128) as u64;
        let e = ProtocolError::MessageTimeout { after_ms, buffered };
        self.disconnect(&conn, DisconnectReason::Protocol(e));
    }
}
