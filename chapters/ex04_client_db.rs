//! Exercise 4 — the client DB and its lock: your version of `src/client_db.rs`.
//!
//! Run: `cargo test --features ex04 --test ch04_client_db`.
//!
//! One `Mutex` owns both indexes (by id, by peer address). Every operation takes the lock,
//! does its work on both maps, and lets go; nothing is ever called while it is held.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::client::ClientId;

/// The central, locked table of connected clients, by id and by peer address.
pub struct ClientDb<T> {
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    by_id: HashMap<ClientId, (SocketAddr, Arc<T>)>,
    by_peer: HashMap<SocketAddr, ClientId>,
}

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

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // TODO: a poisoned lock still holds consistent data here: recover it with
        // `unwrap_or_else(|p| p.into_inner())` rather than panicking.
        todo!("ex04: lock")
    }

    /// Adds a client unless the DB already holds `max` clients.
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
        // TODO: check the cap and insert under ONE lock — why would two lock() calls be wrong?
        todo!("ex04: try_insert")
    }

    /// Removes a client and returns it; `None` if it was not (or no longer) there.
    pub fn remove(&self, id: ClientId) -> Option<Arc<T>> {
        // TODO: remove from both maps. The caller that gets Some owns the disconnection.
        todo!("ex04: remove")
    }

    /// The client with this id.
    pub fn get(&self, id: ClientId) -> Option<Arc<T>> {
        todo!("ex04: get")
    }

    /// True while the client is stored.
    pub fn contains(&self, id: ClientId) -> bool {
        todo!("ex04: contains")
    }

    /// The client connected from this address and port.
    pub fn find_by_peer(&self, peer: SocketAddr) -> Option<(ClientId, Arc<T>)> {
        todo!("ex04: find_by_peer")
    }

    /// Number of stored clients.
    pub fn len(&self) -> usize {
        todo!("ex04: len")
    }

    /// True when no client is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every stored client, in id order, copied out of the lock.
    pub fn snapshot(&self) -> Vec<(ClientId, Arc<T>)> {
        // TODO: clone the Arcs under the lock, sort after releasing it.
        todo!("ex04: snapshot")
    }

    /// Removes every client and returns them in id order.
    pub fn drain(&self) -> Vec<(ClientId, Arc<T>)> {
        todo!("ex04: drain")
    }
}
