//! The ledger's three moves (exercise 9 replaces this file with `chapters/ex09_ledger.rs`):
//! a client's counters are opened, folded into the departed total exactly once when its
//! connection is let go, and summed with the open ones when someone asks; and a disconnect
//! is counted by its kind.

use std::sync::Arc;

use super::{Books, Counts, DisconnectKind, Traffic};
use crate::client::ClientId;
use crate::error::DisconnectReason;

impl Books {
    // ANCHOR: open
    /// Client `id`'s counters join the open ones.
    pub(super) fn open(&mut self, id: ClientId, counts: Arc<Counts>) {
        self.open.insert(id, counts);
    }
    // ANCHOR_END: open

    // ANCHOR: fold
    /// Client `id`'s connection is gone: its counters, final now, move from the open ones
    /// into the departed total. Taking them out of `open` is what makes it exactly once.
    pub(super) fn fold(&mut self, id: ClientId) {
        if let Some(counts) = self.open.remove(&id) {
            self.departed += counts.traffic();
        }
    }
    // ANCHOR_END: fold

    // ANCHOR: sum
    /// The server's traffic: the departed total plus every open client's counters.
    pub(super) fn traffic(&self) -> Traffic {
        let mut total = self.departed;
        for counts in self.open.values() {
            total += counts.traffic();
        }
        total
    }
    // ANCHOR_END: sum
}

impl DisconnectKind {
    // ANCHOR: of
    /// The kind of a reason, its details left out.
    pub fn of(reason: &DisconnectReason) -> DisconnectKind {
        match reason {
            DisconnectReason::PeerClosed => DisconnectKind::PeerClosed,
            DisconnectReason::Application => DisconnectKind::Application,
            DisconnectReason::KeepAliveExpired => DisconnectKind::KeepAliveExpired,
            DisconnectReason::Protocol(_) => DisconnectKind::Protocol,
            DisconnectReason::Io { .. } => DisconnectKind::Io,
            DisconnectReason::HandlerPanicked { .. } => DisconnectKind::HandlerPanicked,
            DisconnectReason::ServerShutdown => DisconnectKind::ServerShutdown,
        }
    }
    // ANCHOR_END: of
}
