//! Chapter 2 (with the CLI) — who may become a client: the connection cap and the black-list,
//! both changeable while the server runs (the course's `config tcp-server <name> max-clients <N>` and
//! `config tcp-server <name> [no] black-list <ip>`, from its `TcpCmdCodes.h`).
//!
//! The controller asks its `Admission` once per accepted connection, on the CAS thread, before
//! the connection becomes a client: a black-listed peer is closed there and never reported
//! connected. Nothing here is on the DRS's path, so a read lock per accept is all the
//! black-list costs; the cap is one atomic load.
//!
//! Black-listing an address also disconnects the clients already connected from it: an
//! operator who blocks an address wants it gone, not merely kept from coming back. That is
//! our reading of the course's intent (its command sits under `client`, next to
//! `client disconnect`); [`ServerHandle::block`] returns how many it disconnected.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::controller::{ServerHandle, TcpServer};

/// The largest connection cap `set_max_clients` accepts: far above what one process can
/// hold open, low enough that a typing slip (an extra zero or two) is caught.
pub const MAX_CLIENTS_LIMIT: usize = 1_000_000;

/// The connection cap and the black-list of one server.
pub(crate) struct Admission {
    /// The connection cap in force; starts at `Config::max_clients`.
    max_clients: AtomicUsize,
    /// Addresses whose connections are closed at accept. Kept in canonical form, so that an
    /// IPv4 peer seen on a dual-stack socket (`::ffff:10.0.0.1`) matches `10.0.0.1`.
    blocked: RwLock<HashSet<IpAddr>>,
    /// Connections closed at accept because their address is black-listed.
    blacklisted: AtomicU64,
}

/// A connection cap out of bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxClientsError {
    /// The cap asked for.
    pub asked: usize,
}

impl fmt::Display for MaxClientsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a maximum of {} clients is out of bounds; expected 1 to {MAX_CLIENTS_LIMIT}",
            self.asked
        )
    }
}

impl std::error::Error for MaxClientsError {}

impl Admission {
    pub(crate) fn new(max_clients: usize) -> Admission {
        Admission {
            max_clients: AtomicUsize::new(max_clients),
            blocked: RwLock::new(HashSet::new()),
            blacklisted: AtomicU64::new(0),
        }
    }

    /// The connection cap in force.
    pub(crate) fn max_clients(&self) -> usize {
        self.max_clients.load(Ordering::Relaxed)
    }

    /// True (and counted) when connections from `ip` are refused.
    pub(crate) fn refuses(&self, ip: IpAddr) -> bool {
        let blocked = self
            .blocked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&ip.to_canonical());
        if blocked {
            self.blacklisted.fetch_add(1, Ordering::Relaxed);
        }
        blocked
    }

    fn edit<R>(&self, f: impl FnOnce(&mut HashSet<IpAddr>) -> R) -> R {
        f(&mut self.blocked.write().unwrap_or_else(PoisonError::into_inner))
    }
}

// ANCHOR: admission_api
impl ServerHandle {
    /// The connection cap in force.
    pub fn max_clients(&self) -> usize {
        self.shared.admission.max_clients()
    }

    /// Changes the connection cap, on a running server too. Clients already connected stay
    /// when the cap drops below their number; new connections are refused until they are
    /// fewer than the cap.
    ///
    /// # Errors
    /// [`MaxClientsError`] when `max` is 0 or above [`MAX_CLIENTS_LIMIT`].
    pub fn set_max_clients(&self, max: usize) -> Result<(), MaxClientsError> {
        if !(1..=MAX_CLIENTS_LIMIT).contains(&max) {
            return Err(MaxClientsError { asked: max });
        }
        self.shared
            .admission
            .max_clients
            .store(max, Ordering::Relaxed);
        Ok(())
    }

    /// Black-lists `ip`: its connections are closed at accept from now on (reported to
    /// `Handler::rejected`, never as clients), and the clients connected from it now are
    /// disconnected (reason: application). Returns how many were disconnected.
    pub fn block(&self, ip: IpAddr) -> usize {
        let ip = ip.to_canonical();
        self.shared.admission.edit(|set| set.insert(ip));
        let from_ip: Vec<_> = self
            .shared
            .db
            .snapshot()
            .into_iter()
            .filter(|(_, c)| c.client.peer_addr.ip().to_canonical() == ip)
            .map(|(id, _)| id)
            .collect();
        from_ip
            .into_iter()
            .filter(|id| self.disconnect(*id))
            .count()
    }

    /// Takes `ip` off the black-list; false if it was not on it.
    pub fn unblock(&self, ip: IpAddr) -> bool {
        self.shared
            .admission
            .edit(|set| set.remove(&ip.to_canonical()))
    }

    /// The black-listed addresses, sorted.
    pub fn blocked(&self) -> Vec<IpAddr> {
        let mut all: Vec<IpAddr> = self
            .shared
            .admission
            .edit(|set| set.iter().copied().collect());
        all.sort();
        all
    }

    /// How many connections were closed at accept because their address is black-listed.
    pub fn blacklisted_count(&self) -> u64 {
        self.shared.admission.blacklisted.load(Ordering::Relaxed)
    }
}
// ANCHOR_END: admission_api

/// The same calls on the server itself.
impl TcpServer {
    /// See [`ServerHandle::max_clients`].
    pub fn max_clients(&self) -> usize {
        self.handle.max_clients()
    }

    /// See [`ServerHandle::set_max_clients`].
    ///
    /// # Errors
    /// As [`ServerHandle::set_max_clients`].
    pub fn set_max_clients(&self, max: usize) -> Result<(), MaxClientsError> {
        self.handle.set_max_clients(max)
    }

    /// See [`ServerHandle::block`].
    pub fn block(&self, ip: IpAddr) -> usize {
        self.handle.block(ip)
    }

    /// See [`ServerHandle::unblock`].
    pub fn unblock(&self, ip: IpAddr) -> bool {
        self.handle.unblock(ip)
    }

    /// See [`ServerHandle::blocked`].
    pub fn blocked(&self) -> Vec<IpAddr> {
        self.handle.blocked()
    }

    /// See [`ServerHandle::blacklisted_count`].
    pub fn blacklisted_count(&self) -> u64 {
        self.handle.blacklisted_count()
    }
}
