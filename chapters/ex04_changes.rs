//! Exercise 4 — the client DB's three changes: your version of `src/client_db/changes.rs`.
//!
//! What you write: `try_insert` (the connection cap, checked and applied under one lock),
//! `remove` (the arbiter of "exactly once": `Some` to one caller, `None` to every other) and
//! `drain` (the purge at shutdown). Everything else of `src/client_db.rs` is given: the
//! `ClientDb` with its private `Inner` (the maps `by_id: ClientId → (SocketAddr, Arc<T>)`
//! and `by_peer: SocketAddr → ClientId`, which a child module may use), `lock()` (which also
//! recovers a poisoned mutex), the lookups `get`, `contains`, `find_by_peer`, `len` and
//! `snapshot`.
//!
//! Build with `--features ex04` and run the chapter's tests:
//!
//! ```text
//! cargo test --features ex04 --test ch04_client_db
//! ```
//!
//! Read chapter 4 of the book first (`book/src/ch04-client-db.md`); the reference is
//! `src/client_db/changes.rs` (and the book's Solutions page). Keep the signatures; write the
//! bodies.

// The parameters and imports are unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::net::SocketAddr;
use std::sync::Arc;

use super::{ClientDb, DbFull};
use crate::client::ClientId;

impl<T> ClientDb<T> {
    /// Adds a client unless the DB already holds `max` clients (the connection cap); the
    /// check and the insert happen under one lock, so two inserts cannot both squeeze in.
    ///
    /// # Errors
    /// [`DbFull`] when `max` clients are already stored.
    pub fn try_insert(
        &self,
        id: ClientId,
        peer: SocketAddr,
        value: Arc<T>,
        max: usize,
    ) -> Result<(), DbFull> {
        // TODO: one `self.lock()` for the check and both inserts: two calls would let another
        // thread in between, and two inserts at `max - 1` would both go in. Store the client
        // in both maps.
        todo!("ex04: ClientDb::try_insert")
    }

    /// Removes a client and returns it; `None` if it was not (or no longer) there. The one
    /// caller that gets `Some` owns the disconnection.
    pub fn remove(&self, id: ClientId) -> Option<Arc<T>> {
        // TODO: under one lock, take the client out of `by_id` (`?` returns the `None` of a
        // client already gone), then out of `by_peer` — but only if that entry still names
        // this id: a new client may have connected since from the same address and port, and
        // its entry must stay.
        todo!("ex04: ClientDb::remove")
    }

    /// Removes every client and returns them in id order (the controller's purge at shutdown).
    pub fn drain(&self) -> Vec<(ClientId, Arc<T>)> {
        // TODO: empty both maps under one lock (`HashMap::drain` hands you the entries).
        // Release the guard (`drop`) before you sort by id: nobody should wait for a sort.
        todo!("ex04: ClientDb::drain")
    }
}
