//! Chapter 10 — which thread serves each client: the server's DRS, or a thread of the
//! client's own. A connection carries only the number of its serving thread
//! ([`Connection::served_by`], 0 for the DRS); this table turns that number into the thread's
//! mailbox, so that a close or a write request reaches whoever serves the client now, across
//! migrations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{Command, DrsLink};
use crate::connection::Connection;

/// The mailboxes of every thread that serves clients: the DRS (number 0) and each client
/// thread (numbers from 1).
pub(crate) struct Routes {
    /// The server's DRS, which outlives every client thread.
    main: Arc<DrsLink>,
    /// The client threads that are running, by number. A thread removes itself when it
    /// leaves, so a number that is not here belongs to a thread already gone.
    dedicated: RwLock<HashMap<u64, Arc<DrsLink>>>,
    /// The number the next client thread gets: numbers are never reused, so a stale number
    /// can never reach another client's thread.
    next: AtomicU64,
    /// Set while the server stops: no client thread may be added then, or `stop` could miss
    /// it and leave it running.
    closed: AtomicBool,
}

impl Routes {
    pub(crate) fn new(main: DrsLink) -> Routes {
        Routes {
            main: Arc::new(main),
            dedicated: RwLock::new(HashMap::new()),
            next: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        }
    }

    /// The DRS's mailbox.
    pub(crate) fn main(&self) -> &Arc<DrsLink> {
        &self.main
    }

    /// The mailbox of thread `number`, if it is still running.
    pub(crate) fn get(&self, number: u64) -> Option<Arc<DrsLink>> {
        if number == 0 {
            return Some(Arc::clone(&self.main));
        }
        self.read().get(&number).cloned()
    }

    /// The mailbox of the thread serving `conn` now.
    pub(crate) fn of(&self, conn: &Connection) -> Option<Arc<DrsLink>> {
        self.get(conn.served_by.load(Ordering::SeqCst))
    }

    /// A mailbox for a new client thread, and whether that thread must read its clients
    /// (`reading` is asked under the table's lock, so a `set_reading` that runs meanwhile
    /// reaches the new thread too). `None` while the server stops.
    ///
    /// # Errors
    /// Creating the thread's waker failed (out of descriptors).
    pub(crate) fn add(
        &self,
        reading: impl FnOnce() -> bool,
    ) -> std::io::Result<Option<(Arc<DrsLink>, bool)>> {
        let mut dedicated = self.write();
        if self.closed.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let link = Arc::new(DrsLink::with_number(number)?);
        dedicated.insert(number, Arc::clone(&link));
        Ok(Some((link, reading())))
    }

    /// A client thread left: its number no longer routes anywhere.
    pub(crate) fn remove(&self, number: u64) {
        self.write().remove(&number);
    }

    /// Tells every serving thread to read (`true`) or only write (`false`).
    pub(crate) fn set_reading(&self, reading: bool) {
        let dedicated = self.write();
        self.main.set_reading(reading);
        for link in dedicated.values() {
            link.set_reading(reading);
        }
    }

    /// The server starts: client threads may be added again.
    pub(crate) fn open(&self) {
        self.closed.store(false, Ordering::SeqCst);
    }

    /// The server stops: no client thread may be added from now on, and every running one
    /// is asked to leave (the caller joins them).
    pub(crate) fn close_dedicated(&self) {
        let dedicated = self.write();
        self.closed.store(true, Ordering::SeqCst);
        for link in dedicated.values() {
            link.push(Command::Stop);
        }
    }

    /// Client threads running now.
    pub(crate) fn dedicated_count(&self) -> usize {
        self.read().len()
    }

    /// Closed sockets still lingering, over every serving thread.
    pub(crate) fn lingering(&self) -> usize {
        let dedicated = self.read();
        self.main.lingering() + dedicated.values().map(|l| l.lingering()).sum::<usize>()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<u64, Arc<DrsLink>>> {
        self.dedicated.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<u64, Arc<DrsLink>>> {
        self.dedicated.write().unwrap_or_else(|e| e.into_inner())
    }
}
