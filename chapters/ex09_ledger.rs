//! Exercise 9 — the ledger: your version of `src/stats/ledger.rs`.
//!
//! Build with `--features ex09` and this file replaces the ledger's three moves and the
//! naming of a disconnect's kind. The rest of `src/stats.rs` is given and stays where it is:
//! `Counts` (one client's atomics) and `Counts::traffic` (them as plain numbers), `Traffic`
//! and its `+=`, `Tally` (whose `Drop` calls your `fold`), `Ledger` (whose `open` calls your
//! `open`, whose `count_disconnect` calls your `of`, and whose totals, asked for by
//! `stats()`, are your `traffic`). A child module may use its parent's private items, so you
//! reach `Books`' fields `departed` and `open` directly.
//!
//! You write four functions: `Books::open`, `Books::fold`, `Books::traffic` and
//! `DisconnectKind::of`. The idea to get right: a client's counters are in the totals exactly
//! once, whether its connection is still held (summed live, from `open`) or gone (folded into
//! `departed`). Then run the chapter's tests:
//!
//! ```text
//! cargo test --features ex09 --test ch09_stats
//! ```
//!
//! Read chapter 9 of the book first (`book/src/ch09-statistics.md`); the reference is
//! `src/stats/ledger.rs`. Keep the signatures; write the bodies.

// The parameters are unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::sync::Arc;

use super::{Books, Counts, DisconnectKind, Traffic};
use crate::client::ClientId;
use crate::error::DisconnectReason;

impl Books {
    /// Client `id`'s counters join the open ones.
    pub(super) fn open(&mut self, id: ClientId, counts: Arc<Counts>) {
        // TODO: keep `counts` in `self.open` under `id`, so that `traffic` finds them while
        // the client's connection is held.
        todo!("ex09: Books::open")
    }

    /// Client `id`'s connection is gone: its counters, final now, move from the open ones
    /// into the departed total.
    pub(super) fn fold(&mut self, id: ClientId) {
        // TODO: the client's counters must leave `self.open` and land in `self.departed`
        // (`Counts::traffic` gives them as a `Traffic`, which has `+=`), both or neither:
        // counted twice if they stay in `open`, lost if they never reach `departed`. An id
        // that is not open (already folded) changes nothing.
        todo!("ex09: Books::fold")
    }

    /// The server's traffic: the departed total plus every open client's counters.
    pub(super) fn traffic(&self) -> Traffic {
        // TODO: start from `self.departed` (a `Traffic` is `Copy`) and add each open
        // client's `Counts::traffic()`.
        todo!("ex09: Books::traffic")
    }
}

impl DisconnectKind {
    /// The kind of a reason, its details left out.
    pub fn of(reason: &DisconnectReason) -> DisconnectKind {
        // TODO: one arm per `DisconnectReason` variant (see `src/error.rs`); the variants with
        // fields (`Protocol`, `Io`, `HandlerPanicked`) match with `(_)` or `{ .. }`.
        todo!("ex09: DisconnectKind::of")
    }
}
