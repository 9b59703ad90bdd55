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
//! `client disconnect`); `ServerHandle::block` returns how many it disconnected.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

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

    /// Changes the cap.
    ///
    /// # Errors
    /// [`MaxClientsError`] when `max` is 0 or above [`MAX_CLIENTS_LIMIT`].
    pub(crate) fn set_max_clients(&self, max: usize) -> Result<(), MaxClientsError> {
        if !(1..=MAX_CLIENTS_LIMIT).contains(&max) {
            return Err(MaxClientsError { asked: max });
        }
        self.max_clients.store(max, Ordering::Relaxed);
        Ok(())
    }

    /// Adds `ip` to the black-list.
    pub(crate) fn block(&self, ip: IpAddr) {
        self.write().insert(ip.to_canonical());
    }

    /// Takes `ip` off the black-list; false if it was not on it.
    pub(crate) fn unblock(&self, ip: IpAddr) -> bool {
        self.write().remove(&ip.to_canonical())
    }

    /// The black-listed addresses, sorted.
    pub(crate) fn blocked(&self) -> Vec<IpAddr> {
        let set = self.blocked.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<IpAddr> = set.iter().copied().collect();
        all.sort();
        all
    }

    /// Connections refused so far for being black-listed.
    pub(crate) fn blacklisted(&self) -> u64 {
        self.blacklisted.load(Ordering::Relaxed)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashSet<IpAddr>> {
        self.blocked.write().unwrap_or_else(PoisonError::into_inner)
    }
}
