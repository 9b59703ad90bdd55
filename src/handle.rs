//! The application's side of a server: [`ServerHandle`], what callbacks and other threads
//! use to query a server, send to its clients and disconnect them (the controller's
//! "application API" in the course), and the same calls on [`TcpServer`] itself.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::admission::MaxClientsError;
use crate::client::{Client, ClientId};
use crate::client_thread::ClientMode;
use crate::connection::{lock, Connection};
use crate::connector::{self, ConnectTarget, TargetError};
use crate::controller::{ServerHandle, TcpServer};
use crate::demarcation::Framing;
use crate::error::{ConnectError, DisconnectReason, SendError, ServerError};
use crate::info::{ClientInfo, ServerInfo, ServerStats};
use crate::state::ServerFlags;

impl ServerHandle {
    /// The server's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The address actually listened on, while running (port 0 resolved to the real port).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *lock(&self.shared.local_addr)
    }

    /// The server's state flags.
    pub fn flags(&self) -> ServerFlags {
        self.shared.flags()
    }

    /// The framing in force.
    pub fn framing(&self) -> &Framing {
        &self.shared.config.framing
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        self.shared.db.len()
    }

    /// Every connected client, in id order.
    pub fn clients(&self) -> Vec<Client> {
        let all = self.shared.db.snapshot();
        all.into_iter().map(|(_, c)| c.client.clone()).collect()
    }

    /// One client's record and counters.
    pub fn client_info(&self, id: ClientId) -> Option<ClientInfo> {
        self.shared.db.get(id).map(|c| self.shared.client_info(&c))
    }

    /// The client connected from `peer` (the CLI names clients by address and port).
    pub fn find_client(&self, peer: SocketAddr) -> Option<Client> {
        self.shared
            .db
            .find_by_peer(peer)
            .map(|(_, c)| c.client.clone())
    }

    // ANCHOR: send
    /// Frames `message` with the server's framing and queues it for the client; it is written
    /// as soon as the socket takes it, never blocking the caller or the DRS. A reply (sent
    /// from inside `message` to the client being served) waits for the end of the DRS's turn
    /// and goes out in one write with the turn's other replies.
    ///
    /// # Errors
    /// [`SendError::NoSuchClient`]; [`SendError::QueueFull`] or
    /// [`SendError::ServerQueueFull`] (clients are not reading: the message is refused whole,
    /// the client stays connected; replies are never refused); [`SendError::Frame`].
    pub fn send(&self, id: ClientId, message: &[u8]) -> Result<(), SendError> {
        let shared = &self.shared;
        let wrapping = shared
            .config
            .framing
            .wrapping(message)
            .map_err(SendError::Frame)?;
        let parts = [wrapping.header(), message, wrapping.trailer()];
        // A reply to the client being served: no look-up, no write of its own.
        let reply = Connection::with_served(id, &shared.budget, |conn| {
            conn.queue_parts(parts, true)?;
            conn.stats.messages_out.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
        if let Some(result) = reply {
            return result;
        }
        let conn = shared.db.get(id).ok_or(SendError::NoSuchClient(id))?;
        shared.queue_output(&conn, parts)?;
        conn.stats.messages_out.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    // ANCHOR_END: send

    /// Disconnects a client (the course's application-initiated disconnect): it leaves the
    /// DB, `disconnected` is called with [`DisconnectReason::Application`], and the DRS
    /// closes the socket gracefully (queued output flushed, then a FIN). Returns false when
    /// no such client is connected (for example, it just left).
    pub fn disconnect(&self, id: ClientId) -> bool {
        self.shared.close_client(id, DisconnectReason::Application)
    }

    /// Disconnects the client connected from `peer`; false if there is none.
    pub fn disconnect_peer(&self, peer: SocketAddr) -> bool {
        match self.shared.db.find_by_peer(peer) {
            Some((id, _)) => self.disconnect(id),
            None => false,
        }
    }

    // ANCHOR: migrate_api
    /// Moves a connected client between the DRS ([`ClientMode::Multiplexed`]) and a thread of
    /// its own ([`ClientMode::Threaded`]), without losing, duplicating or reordering a byte of
    /// its stream. Returns once the client is served in its new mode (at once, with the move
    /// still to come, when called from one of that client's own callbacks); a client already
    /// in that mode is left as it is.
    ///
    /// # Errors
    /// [`ServerError::Migrate`]: the server is not running, there is no such client, no
    /// thread could be started, or the thread serving it did not let go in time.
    pub fn migrate(&self, id: ClientId, to: ClientMode) -> Result<(), ServerError> {
        self.shared.migrate(id, to)
    }
    // ANCHOR_END: migrate_api

    /// Client threads running now (chapter 10): one per threaded client, while it is served
    /// or its close lingers.
    pub fn client_threads(&self) -> usize {
        self.shared.routes.dedicated_count()
    }

    /// The server and its clients, as data.
    pub fn info(&self) -> ServerInfo {
        let shared = &self.shared;
        let addr = match self.local_addr() {
            Some(a) => a.to_string(),
            None => format!("{} (not started)", lock(&shared.addr).0),
        };
        let clients = shared.db.snapshot();
        ServerInfo {
            name: shared.name.clone(),
            addr,
            flags: shared.flags(),
            framing: shared.config.framing.clone(),
            poller: shared.config.poller,
            message_timeout: shared.config.message_timeout,
            keepalive: shared.keepalive_config(),
            max_clients: shared.admission.max_clients(),
            queued_output: (shared.budget.total(), shared.budget.total_limit()),
            lingering: shared.routes.lingering(),
            clients: clients.iter().map(|(_, c)| shared.client_info(c)).collect(),
            connect_targets: self.connect_targets(),
        }
    }

    /// The course's `show tcp-server`: name, address, state flags, settings, clients.
    pub fn show(&self) -> String {
        self.info().to_string()
    }
}

/// The same queries and actions on the server itself (a `TcpServer` is not a handle: it owns
/// the server, and dropping it stops the server).
impl TcpServer {
    /// The server's name.
    pub fn name(&self) -> &str {
        self.handle.name()
    }

    /// See [`ServerHandle::local_addr`].
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.handle.local_addr()
    }

    /// See [`ServerHandle::flags`].
    pub fn flags(&self) -> ServerFlags {
        self.handle.flags()
    }

    /// See [`ServerHandle::framing`].
    pub fn framing(&self) -> &Framing {
        self.handle.framing()
    }

    /// See [`ServerHandle::client_count`].
    pub fn client_count(&self) -> usize {
        self.handle.client_count()
    }

    /// See [`ServerHandle::clients`].
    pub fn clients(&self) -> Vec<Client> {
        self.handle.clients()
    }

    /// See [`ServerHandle::client_info`].
    pub fn client_info(&self, id: ClientId) -> Option<ClientInfo> {
        self.handle.client_info(id)
    }

    /// See [`ServerHandle::find_client`].
    pub fn find_client(&self, peer: SocketAddr) -> Option<Client> {
        self.handle.find_client(peer)
    }

    /// See [`ServerHandle::send`].
    ///
    /// # Errors
    /// As [`ServerHandle::send`].
    pub fn send(&self, id: ClientId, message: &[u8]) -> Result<(), SendError> {
        self.handle.send(id, message)
    }

    /// See [`ServerHandle::disconnect`].
    pub fn disconnect(&self, id: ClientId) -> bool {
        self.handle.disconnect(id)
    }

    /// See [`ServerHandle::disconnect_peer`].
    pub fn disconnect_peer(&self, peer: SocketAddr) -> bool {
        self.handle.disconnect_peer(peer)
    }

    /// See [`ServerHandle::migrate`].
    ///
    /// # Errors
    /// As [`ServerHandle::migrate`].
    pub fn migrate(&self, id: ClientId, to: ClientMode) -> Result<(), ServerError> {
        self.handle.migrate(id, to)
    }

    /// See [`ServerHandle::client_threads`].
    pub fn client_threads(&self) -> usize {
        self.handle.client_threads()
    }

    /// See [`ServerHandle::info`].
    pub fn info(&self) -> ServerInfo {
        self.handle.info()
    }

    /// See [`ServerHandle::show`].
    pub fn show(&self) -> String {
        self.handle.show()
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
    /// [`MaxClientsError`] when `max` is 0 or above
    /// [`MAX_CLIENTS_LIMIT`](crate::admission::MAX_CLIENTS_LIMIT).
    pub fn set_max_clients(&self, max: usize) -> Result<(), MaxClientsError> {
        self.shared.admission.set_max_clients(max)
    }

    /// Black-lists `ip`: its connections are closed at accept from now on (reported to
    /// `Handler::rejected`, never as clients), and the clients connected from it now are
    /// disconnected (reason: application). Returns how many were disconnected.
    pub fn block(&self, ip: IpAddr) -> usize {
        let ip = ip.to_canonical();
        self.shared.admission.block(ip);
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
        self.shared.admission.unblock(ip)
    }

    /// The black-listed addresses, sorted.
    pub fn blocked(&self) -> Vec<IpAddr> {
        self.shared.admission.blocked()
    }

    /// How many connections were closed at accept because their address is black-listed.
    pub fn blacklisted_count(&self) -> u64 {
        self.shared.admission.blacklisted()
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

/// Chapter 9's counters.
impl ServerHandle {
    // ANCHOR: stats
    /// Every counter of the server, and of each connected client.
    pub fn stats(&self) -> ServerStats {
        let shared = &self.shared;
        let counters = shared.ledger.read();
        let clients = shared.db.snapshot();
        ServerStats {
            name: shared.name.clone(),
            uptime: counters.uptime,
            max_clients: shared.admission.max_clients(),
            accepted: counters.accepted,
            connected: counters.connected,
            clients_ever: counters.clients_ever,
            rejected: counters.rejected,
            blacklisted: shared.admission.blacklisted(),
            failed: counters.failed,
            disconnects: counters.disconnects,
            traffic: counters.traffic,
            connections_held: counters.held,
            clients: clients.iter().map(|(_, c)| shared.client_info(c)).collect(),
        }
    }
    // ANCHOR_END: stats
}

/// Chapter 9's counters, on the server itself.
impl TcpServer {
    /// See [`ServerHandle::stats`].
    pub fn stats(&self) -> ServerStats {
        self.handle.stats()
    }
}
// ANCHOR: connect_api
/// The server in client mode (chapter 11). Connect targets are configuration: they are kept
/// while the server is stopped, and their connectors run while it runs (`start` starts them,
/// `stop` wakes and joins them, and disconnects their clients with "server shutdown" as it
/// does every client).
impl ServerHandle {
    /// Connects out to `addr` (the CLI's `config tcp-server <name> connect <ip> <port>`): a
    /// connector thread tries at once, then every `Config::connect_retry` until it succeeds;
    /// the connection becomes a client flagged [`ClientFlags::ACTIVE`](crate::ClientFlags::ACTIVE), with the same
    /// callbacks as an accepted one. When it ends, it is made again after the interval if
    /// reconnecting is on. On a stopped server the target waits for `start`. Failed attempts
    /// are told to [`Handler::connect_failed`](crate::Handler::connect_failed).
    ///
    /// # Errors
    /// [`ConnectError::Resolve`]; [`ConnectError::OwnAddress`] when `addr` is where this
    /// server listens (or will listen); [`ConnectError::AlreadyConnecting`];
    /// [`ConnectError::Spawn`].
    pub fn connect(&self, addr: impl ToSocketAddrs + fmt::Debug) -> Result<(), ConnectError> {
        let shared = &self.shared;
        let target = resolve_target(&shared.name, &addr)?;
        let own = crate::connector::ConnectorHost::listening_addrs(&**shared);
        if connector::is_own_address(target, &own) {
            return Err(ConnectError::OwnAddress {
                server: shared.name.clone(),
                target,
            });
        }
        shared.connectors.add(shared, target).map_err(|e| match e {
            TargetError::Spawn(source) => ConnectError::Spawn {
                server: shared.name.clone(),
                source,
            },
            _ => ConnectError::AlreadyConnecting {
                server: shared.name.clone(),
                target,
            },
        })
    }

    /// Stops connecting to `addr` (the CLI's `no connect`): its connector is woken and
    /// joined, no attempt follows, and the client it made, if connected, is disconnected
    /// ([`DisconnectReason::Application`]).
    ///
    /// # Errors
    /// [`ConnectError::Resolve`]; [`ConnectError::NotConnecting`].
    pub fn cancel_connect(
        &self,
        addr: impl ToSocketAddrs + fmt::Debug,
    ) -> Result<(), ConnectError> {
        let shared = &self.shared;
        let target = resolve_target(&shared.name, &addr)?;
        shared
            .connectors
            .cancel(target)
            .map_err(|_| ConnectError::NotConnecting {
                server: shared.name.clone(),
                target,
            })?;
        if let Some(client) = self.active_client(target) {
            self.disconnect(client);
        }
        Ok(())
    }

    /// Every connect target and where it stands.
    pub fn connect_targets(&self) -> Vec<ConnectTarget> {
        self.shared
            .connectors
            .targets(|target| self.active_client(target))
    }

    /// Changes the retry interval while running (raised to
    /// [`MIN_CONNECT_RETRY`](connector::MIN_CONNECT_RETRY) if shorter): a connector already
    /// waiting keeps its deadline, the next wait uses the new interval.
    pub fn set_connect_retry(&self, retry: Duration) {
        self.shared.connectors.set_retry(retry);
    }

    /// Turns reconnecting on or off; it applies from the next end of an active client.
    pub fn set_reconnect(&self, reconnect: bool) {
        self.shared.connectors.set_reconnect(reconnect);
    }

    /// The retry interval and whether reconnecting is on.
    pub fn connect_settings(&self) -> (Duration, bool) {
        self.shared.connectors.settings()
    }

    /// The client this server made by connecting to `target`, if it is connected.
    fn active_client(&self, target: SocketAddr) -> Option<ClientId> {
        let (id, conn) = self.shared.db.find_by_peer(target)?;
        conn.active.is_some().then_some(id)
    }
}

fn resolve_target(
    server: &str,
    addr: &(impl ToSocketAddrs + fmt::Debug),
) -> Result<SocketAddr, ConnectError> {
    let err = |source| ConnectError::Resolve {
        server: server.to_string(),
        addr: format!("{addr:?}").trim_matches('"').to_string(),
        source,
    };
    addr.to_socket_addrs().map_err(err)?.next().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "it resolved to no address",
        ))
    })
}

/// The same on the server itself.
impl TcpServer {
    /// See [`ServerHandle::connect`].
    ///
    /// # Errors
    /// As [`ServerHandle::connect`].
    pub fn connect(&self, addr: impl ToSocketAddrs + fmt::Debug) -> Result<(), ConnectError> {
        self.handle.connect(addr)
    }

    /// See [`ServerHandle::cancel_connect`].
    ///
    /// # Errors
    /// As [`ServerHandle::cancel_connect`].
    pub fn cancel_connect(
        &self,
        addr: impl ToSocketAddrs + fmt::Debug,
    ) -> Result<(), ConnectError> {
        self.handle.cancel_connect(addr)
    }

    /// See [`ServerHandle::connect_targets`].
    pub fn connect_targets(&self) -> Vec<ConnectTarget> {
        self.handle.connect_targets()
    }

    /// See [`ServerHandle::set_connect_retry`].
    pub fn set_connect_retry(&self, retry: Duration) {
        self.handle.set_connect_retry(retry);
    }

    /// See [`ServerHandle::set_reconnect`].
    pub fn set_reconnect(&self, reconnect: bool) {
        self.handle.set_reconnect(reconnect);
    }
}
// ANCHOR_END: connect_api
