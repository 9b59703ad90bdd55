//! Chapter 4 — the three changes of the client DB: insert under the connection cap, the
//! removal that decides "exactly once", and the drain at shutdown.
//!
//! Its own file so that exercise 4 (`--features ex04`) can swap it for
//! `chapters/ex04_changes.rs`. The DB itself, its lock (`lock`, which recovers a poisoned
//! mutex), the lookups and `snapshot` stay in the parent module,
//! [`client_db`](super), whose private items (`Inner` and its two maps) a child module may
//! use.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{ClientDb, DbFull};
use crate::client::ClientId;

impl<T> ClientDb<T> {
    // ANCHOR: insert
    // ANCHOR: insert_sig
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
        // ANCHOR_END: insert_sig
        let mut db = self.lock();
        if db.by_id.len() >= max {
            return Err(DbFull { max });
        }
        db.by_peer.insert(peer, id);
        db.by_id.insert(id, (peer, value));
        Ok(())
    }
    // ANCHOR_END: insert

    // ANCHOR: remove
    // ANCHOR: remove_sig
    /// Removes a client and returns it; `None` if it was not (or no longer) there. The one
    /// caller that gets `Some` owns the disconnection.
    pub fn remove(&self, id: ClientId) -> Option<Arc<T>> {
        // ANCHOR_END: remove_sig
        let mut db = self.lock();
        let (peer, value) = db.by_id.remove(&id)?;
        if db.by_peer.get(&peer) == Some(&id) {
            db.by_peer.remove(&peer);
        }
        Some(value)
    }
    // ANCHOR_END: remove

    // ANCHOR: drain
    // ANCHOR: drain_sig
    /// Removes every client and returns them in id order (the controller's purge at shutdown).
    pub fn drain(&self) -> Vec<(ClientId, Arc<T>)> {
        // ANCHOR_END: drain_sig
        let mut db = self.lock();
        db.by_peer.clear();
        let mut all: Vec<_> = db.by_id.drain().map(|(id, (_, v))| (id, v)).collect();
        drop(db);
        all.sort_by_key(|(id, _)| *id);
        all
    }
    // ANCHOR_END: drain
}
