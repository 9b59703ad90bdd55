//! Chapter 4 — the client DB and its lock (the course's DBMS, `TcpClientDbManager`).
//!
//! Three kinds of threads touch the set of connected clients: the CAS adds a client when it
//! accepts one, the DRS removes one when the peer closes, and application threads remove one
//! when they disconnect it, look one up to send to it, or list them all for `show`. Without a
//! lock two of them can interleave inside the same update: the DRS removes client 7 while the
//! application is halfway through iterating the list, and the iteration reads freed memory (in
//! C++) or a list that changed under it. The course guards its DB with a reader-writer lock
//! (`pthread_rwlock_t`); we use a mutex, since every critical section is one map operation.
//!
//! What changes in Rust: the lock owns the data (`Mutex<Inner>`), so touching the DB without
//! taking the lock does not compile. The course counts references to a `TcpClient` by hand,
//! so it is freed only when neither the DB nor the DRS holds it; here each holder keeps an
//! `Arc`, and the socket closes when the last one is dropped.
//!
//! Removal is the arbiter of "exactly once": whoever removes a client from this DB is the one
//! that reports it disconnected. Two threads racing to disconnect the same client both call
//! `remove`; one gets the client, the other gets `None` and does nothing.
//!
//! The DB is generic over what it stores so it can be read and tested on its own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::client::ClientId;

// The three changes of the DB (insert under the cap, the exactly-once removal, the drain)
// are exercise 4: the feature swaps in the student's file. A `path` given here is relative
// to `src/`.
#[cfg_attr(feature = "ex04", path = "../chapters/ex04_changes.rs")]
mod changes;

// ANCHOR: db
/// The central, locked table of connected clients, by id and by peer address.
pub struct ClientDb<T> {
    /// Every access goes through this one lock; it is held only for the table operation
    /// itself, never while calling the application.
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    /// The clients, by the id the server gave them.
    by_id: HashMap<ClientId, (SocketAddr, Arc<T>)>,
    /// The second index the CLI needs: `client disconnect <ip> <port>` names the peer.
    by_peer: HashMap<SocketAddr, ClientId>,
}
// ANCHOR_END: db

/// The DB already holds its maximum number of clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbFull {
    /// The cap that was reached.
    pub max: usize,
}

impl<T> Default for ClientDb<T> {
    fn default() -> Self {
        ClientDb::new()
    }
}

impl<T> ClientDb<T> {
    /// An empty DB.
    pub fn new() -> ClientDb<T> {
        ClientDb {
            inner: Mutex::new(Inner {
                by_id: HashMap::new(),
                by_peer: HashMap::new(),
            }),
        }
    }

    // ANCHOR: lock
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // A panic elsewhere while holding the lock leaves the two maps consistent (each
        // operation below updates both before it can panic), so the data is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    // ANCHOR_END: lock

    // ANCHOR: lookups
    /// The client with this id.
    pub fn get(&self, id: ClientId) -> Option<Arc<T>> {
        self.lock().by_id.get(&id).map(|(_, v)| Arc::clone(v))
    }

    /// True while the client is stored.
    pub fn contains(&self, id: ClientId) -> bool {
        self.lock().by_id.contains_key(&id)
    }

    /// The client connected from this address and port.
    pub fn find_by_peer(&self, peer: SocketAddr) -> Option<(ClientId, Arc<T>)> {
        let db = self.lock();
        let id = *db.by_peer.get(&peer)?;
        db.by_id.get(&id).map(|(_, v)| (id, Arc::clone(v)))
    }
    // ANCHOR_END: lookups

    /// Number of stored clients.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// True when no client is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // ANCHOR: snapshot
    /// Every stored client, in id order, copied out so the caller can use them (print them,
    /// call the application about them) after the lock is released.
    pub fn snapshot(&self) -> Vec<(ClientId, Arc<T>)> {
        let db = self.lock();
        let mut all: Vec<_> = db
            .by_id
            .iter()
            .map(|(id, (_, v))| (*id, Arc::clone(v)))
            .collect();
        drop(db);
        all.sort_by_key(|(id, _)| *id);
        all
    }
    // ANCHOR_END: snapshot
}
