//! Chapter 1 — the controller (the course's `TcpServerController`).
//!
//! The controller is the one object the application talks to. It owns the services — the
//! connection acceptor (CAS, chapter 2), the client DB (DBMS, chapter 4) and the data-request
//! service (DRS, chapter 3) — starts and stops them, and carries every request between them:
//! services never call each other, they call the controller. It also holds the application's
//! callbacks and calls them for every event: a client connected, sent a message, disconnected.
//!
//! What changes in Rust: the course's function pointers become a [`Handler`] trait whose
//! methods all have empty defaults, so an application implements only the events it cares
//! about and later chapters can add events without breaking anyone. The state shared by the
//! application's thread and the service threads lives in one `Arc<Shared>`; the service
//! threads are joined, never cancelled. [`TcpServer`] owns the server (dropping it stops it);
//! callbacks get a [`ServerHandle`] to send, disconnect and show from inside an event.
//!
//! Binding rules kept here: the handler is never called while a lock of ours is held, and a
//! client reported connected is reported disconnected exactly once (the client DB's `remove`
//! decides who reports it).

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::acceptor::Acceptor;
use crate::client::{Client, ClientId};
use crate::client_db::ClientDb;
use crate::demarcation::{Demarcator, FrameError, Framing, ProtocolError};
use crate::keepalive::{KeepAlive, KeepAliveConfig};
use crate::multiplexer::{self, DrsLink};
use crate::state::{ClientFlags, ServerFlags, ServerState, StateError};

// ANCHOR: handler
/// The application's callbacks. Every method has an empty default: implement the ones you
/// need. They run on the server's threads (the CAS for `connected`, the DRS for `message`,
/// whichever thread disconnected the client for `disconnected`), never under a lock of the
/// server's, so they may call back into the server through the [`ServerHandle`].
pub trait Handler: Send + Sync + 'static {
    /// A client connected (the course's step 7). It is already in the client DB, so the
    /// callback may send it a greeting; the DRS starts listening to it right after.
    fn connected(&self, server: &ServerHandle, client: &Client) {
        let _ = (server, client);
    }

    /// A client is gone, for `reason`. Called exactly once per connected client.
    fn disconnected(&self, server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        let _ = (server, client, reason);
    }

    /// A client sent a message (with demarcation, one whole message; without, a chunk).
    /// Once a client is disconnected nothing more of it is delivered; but when another
    /// thread disconnects it while the DRS is already calling `message`, the two callbacks
    /// can overlap (on two threads), as any two events of different threads can.
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        let _ = (server, client, message);
    }

    /// A connection was accepted and closed at once because the server holds its maximum
    /// number of clients. It was never a client: no `connected`, no `disconnected`.
    fn rejected(&self, server: &ServerHandle, peer: SocketAddr, why: &str) {
        let _ = (server, peer, why);
    }

    /// `accept()` failed. The acceptor backs off and goes on; this only informs.
    fn accept_error(&self, server: &ServerHandle, error: &io::Error) {
        let _ = (server, error);
    }
}
// ANCHOR_END: handler

/// The application that ignores every event.
impl Handler for () {}

// ANCHOR: reason
/// Why a client was disconnected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The peer closed its end: `recv()` returned 0 with no partial message pending.
    PeerClosed,
    /// The application asked for it (`disconnect`, or the CLI's `client disconnect`).
    Application,
    /// No byte arrived from the client within its keep-alive hold time.
    KeepAliveExpired,
    /// The client broke the framing rules; the connection cannot be trusted any more.
    Protocol(ProtocolError),
    /// Reading or writing the socket failed (for example, connection reset by peer).
    Io {
        /// The error's kind, for programs to match on.
        kind: io::ErrorKind,
        /// The error as the OS described it, for people.
        message: String,
    },
    /// The server was stopped (`stop()`, `abort`, or the server was dropped).
    ServerShutdown,
}
// ANCHOR_END: reason

impl DisconnectReason {
    pub(crate) fn io(error: &io::Error) -> DisconnectReason {
        DisconnectReason::Io {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::PeerClosed => f.write_str("peer closed"),
            DisconnectReason::Application => f.write_str("application"),
            DisconnectReason::KeepAliveExpired => f.write_str("keep-alive expired"),
            DisconnectReason::Protocol(e) => write!(f, "protocol error: {e}"),
            DisconnectReason::Io { message, .. } => write!(f, "I/O error: {message}"),
            DisconnectReason::ServerShutdown => f.write_str("server shutdown"),
        }
    }
}

/// What went wrong starting, stopping or reconfiguring a server.
#[derive(Debug)]
pub enum ServerError {
    /// The address given could not be turned into a socket address.
    Resolve {
        server: String,
        addr: String,
        source: io::Error,
    },
    /// `bind`/`listen` failed, for example because the port is in use.
    Bind {
        server: String,
        addr: String,
        source: io::Error,
    },
    /// A service thread or its waker could not be created.
    Spawn { server: String, source: io::Error },
    /// The request does not fit the server's state (start twice, disable on a stopped server).
    State { server: String, error: StateError },
    /// A running server's address cannot change.
    Running { server: String },
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Resolve {
                server,
                addr,
                source,
            } => write!(
                f,
                "tcp-server \"{server}\": cannot resolve {addr:?} ({source}); expected an address such as 127.0.0.1:40000, [::1]:40000 or localhost:40000"
            ),
            ServerError::Bind {
                server,
                addr,
                source,
            } => {
                let why = match source.kind() {
                    io::ErrorKind::AddrInUse => {
                        "is already in use (another server or process holds it)".to_string()
                    }
                    io::ErrorKind::AddrNotAvailable => {
                        "is not an address of this machine".to_string()
                    }
                    io::ErrorKind::PermissionDenied => {
                        "needs privileges (ports below 1024 are reserved)".to_string()
                    }
                    _ => format!("cannot be bound: {source}"),
                };
                write!(f, "cannot start tcp-server \"{server}\": {addr} {why}")
            }
            ServerError::Spawn { server, source } => {
                write!(f, "tcp-server \"{server}\": cannot start a service thread: {source}")
            }
            ServerError::State { server, error } => write!(f, "tcp-server \"{server}\": {error}"),
            ServerError::Running { server } => write!(
                f,
                "tcp-server \"{server}\" is running; abort it before changing its address"
            ),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Resolve { source, .. }
            | ServerError::Bind { source, .. }
            | ServerError::Spawn { source, .. } => Some(source),
            ServerError::State { error, .. } => Some(error),
            ServerError::Running { .. } => None,
        }
    }
}

// ANCHOR: send_error
/// Why a message could not be queued for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No such client (never connected, or already disconnected).
    NoSuchClient(ClientId),
    /// The client's output queue would exceed its bound: the client is not reading fast
    /// enough. Nothing of this message was queued; the client stays connected.
    QueueFull {
        id: ClientId,
        queued: usize,
        message: usize,
        limit: usize,
    },
    /// The message does not fit the server's framing (for example, the wrong fixed size).
    Frame(FrameError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoSuchClient(id) => write!(f, "no client {id} is connected"),
            SendError::QueueFull {
                id,
                queued,
                message,
                limit,
            } => write!(
                f,
                "client {id} is not reading: {queued} bytes already queued, {message} more would pass the output bound of {limit} bytes"
            ),
            SendError::Frame(e) => write!(f, "cannot frame the message: {e}"),
        }
    }
}

impl std::error::Error for SendError {}
// ANCHOR_END: send_error

// ANCHOR: config
/// The server's settings; `Config::default()` is what `TcpServer::new` uses.
#[derive(Clone, Debug)]
pub struct Config {
    /// Length of the kernel's queue of connections not yet accepted (default 4096; Linux caps
    /// it at `net.core.somaxconn`). std's `bind` asks for 128: a burst of connects larger
    /// than the queue, while the acceptor is busy, loses SYNs, and each lost SYN costs that
    /// client a one-second retransmission (`cargo run --release --bin bench_connect`).
    pub backlog: u32,
    /// The connection cap: a connection beyond it is closed at once (see
    /// [`Handler::rejected`]).
    pub max_clients: usize,
    /// Per-client bound on output waiting for the client to read it (bytes). A send that
    /// would pass it fails with [`SendError::QueueFull`].
    pub max_output: usize,
    /// Capacity of each client's receive circular buffer (bytes); raised if the framing's
    /// maximum message needs more.
    pub read_buffer: usize,
    /// How each client's byte stream is cut into messages (chapter 6).
    pub framing: Framing,
    /// Keep-alive (chapter 8); `None` disables it.
    pub keepalive: Option<KeepAliveConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backlog: 4096,
            max_clients: 10_000,
            max_output: 1024 * 1024,
            read_buffer: 4096,
            framing: Framing::None,
            keepalive: None,
        }
    }
}
// ANCHOR_END: config

// ANCHOR: connection
/// One connected client as the server holds it: the course's `TcpClient` object with its
/// socket. Shared (`Arc`) by the client DB and the DRS's own table; the socket is closed when
/// the last holder lets go.
pub(crate) struct Connection {
    /// The record handed to the application.
    pub(crate) client: Client,
    /// The socket, non-blocking: the DRS must never wait on one client.
    pub(crate) stream: TcpStream,
    /// Bytes received and not yet a whole message. Only the DRS thread touches it; the lock
    /// is there because the DRS thread is replaced when listening is disabled and re-enabled.
    pub(crate) inbox: Mutex<Demarcator>,
    /// Bytes queued for the client and not yet accepted by the kernel.
    pub(crate) outbox: Mutex<VecDeque<u8>>,
    /// Set once, by whoever removed the client from the DB; after it, nothing more of this
    /// client is delivered to the application.
    pub(crate) closed: AtomicBool,
    /// Keeps `connected` before `disconnected`: a client disconnected while the CAS is still
    /// announcing it (another thread found it in the DB) has its report held here, and the
    /// CAS makes it once `connected` has returned. Never held while calling the application.
    pub(crate) announce: Mutex<Announce>,
    /// Counters for `show`.
    pub(crate) stats: Stats,
    /// The client's hold timer (chapter 8), when keep-alive is on.
    pub(crate) keepalive: Mutex<Option<crate::wheel_timer::TimerHandle>>,
    /// The timer that sends the server's own keep-alives to this client.
    pub(crate) keepalive_sender: Mutex<Option<crate::wheel_timer::TimerHandle>>,
}
// ANCHOR_END: connection

/// Where a client is in being announced to the application.
pub(crate) enum Announce {
    /// In the DB, `connected` not yet returned.
    Pending,
    /// `connected` returned: a disconnect is reported at once.
    Announced,
    /// Disconnected while pending: the CAS reports it after `connected`.
    ClosedEarly(DisconnectReason),
}

/// Per-client counters, updated without a lock.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) keepalives_in: AtomicU64,
    pub(crate) keepalives_out: AtomicU64,
}

/// A snapshot of one client for `show` and for programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client record.
    pub client: Client,
    /// Bytes received from the client.
    pub bytes_in: u64,
    /// Bytes the kernel accepted for the client.
    pub bytes_out: u64,
    /// Messages delivered to the application.
    pub messages_in: u64,
    /// Messages queued for the client.
    pub messages_out: u64,
    /// Bytes queued and not yet written (never above `Config::max_output`).
    pub queued_output: usize,
    /// Bytes received and waiting for the rest of their message.
    pub buffered_input: usize,
    /// Keep-alive frames sent to the client.
    pub keepalives_out: u64,
    /// Keep-alive frames (empty messages) received from the client.
    pub keepalives_in: u64,
    /// Time left before the keep-alive hold timer expires, when keep-alive is on.
    pub hold_remaining: Option<Duration>,
    /// The client's state flags (chapter 7).
    pub flags: ClientFlags,
}

impl Connection {
    // ANCHOR: flush
    /// Writes as much queued output as the kernel takes without blocking. Returns true when
    /// the queue is empty afterwards.
    pub(crate) fn flush(&self) -> io::Result<bool> {
        let mut out = lock(&self.outbox);
        while !out.is_empty() {
            let (front, _) = out.as_slices();
            match (&self.stream).write(front) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.drain(..n);
                    self.stats.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
    // ANCHOR_END: flush

    pub(crate) fn queued_output(&self) -> usize {
        lock(&self.outbox).len()
    }
}

/// Locks a mutex, carrying on with the data if a panicking thread poisoned it: every critical
/// section here leaves its data consistent, so poisoning carries no information for us.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The service threads of a running server.
#[derive(Default)]
struct Services {
    acceptor: Option<Acceptor>,
    drs: Option<JoinHandle<()>>,
}

// ANCHOR: shared
/// Everything the application's threads and the service threads share.
pub(crate) struct Shared {
    /// The server's name, as the CLI addresses it.
    pub(crate) name: String,
    /// The addresses `start` binds (the first that works), as given and resolved.
    addr: Mutex<(String, Vec<SocketAddr>)>,
    /// Settings, fixed for the server's life.
    pub(crate) config: Config,
    /// The application.
    pub(crate) handler: Box<dyn Handler>,
    /// The central client DB (chapter 4).
    pub(crate) db: ClientDb<Connection>,
    /// The DRS's command queue and waker: how other threads talk to the DRS thread.
    pub(crate) drs: DrsLink,
    /// The server's state flags (chapter 7).
    state: Mutex<ServerState>,
    /// The threads, taken out by whoever stops them. Also serialises start/stop/reconfigure.
    services: Mutex<Services>,
    /// The address actually bound, once started (port 0 becomes a real port).
    local_addr: Mutex<Option<SocketAddr>>,
    /// Next client id.
    next_id: AtomicU64,
    /// Keep-alive timers (chapter 8), when enabled.
    pub(crate) keepalive: Option<KeepAlive>,
}
// ANCHOR_END: shared

/// A running (or startable) TCP server: the controller. Dropping it stops it.
pub struct TcpServer {
    handle: ServerHandle,
}

/// What callbacks (and any other thread) use to act on a server: send, disconnect, show.
#[derive(Clone)]
pub struct ServerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl TcpServer {
    /// A server named `name` that will listen on `addr`, with default settings.
    ///
    /// # Errors
    /// [`ServerError::Resolve`] when `addr` does not resolve.
    pub fn new(
        name: &str,
        addr: impl ToSocketAddrs + fmt::Debug,
        handler: impl Handler,
    ) -> Result<TcpServer, ServerError> {
        TcpServer::with_config(name, addr, Config::default(), handler)
    }

    // ANCHOR: with_config
    /// A server with explicit settings.
    ///
    /// # Errors
    /// [`ServerError::Resolve`] when `addr` does not resolve; [`ServerError::Spawn`] when the
    /// DRS's waker cannot be created (out of descriptors).
    pub fn with_config(
        name: &str,
        addr: impl ToSocketAddrs + fmt::Debug,
        config: Config,
        handler: impl Handler,
    ) -> Result<TcpServer, ServerError> {
        let resolved = resolve(name, &addr)?;
        let spawn_err = |source| ServerError::Spawn {
            server: name.to_string(),
            source,
        };
        let drs = DrsLink::new().map_err(spawn_err)?;
        let keepalive = config.keepalive.clone().map(KeepAlive::new);
        let shared = Shared {
            name: name.to_string(),
            addr: Mutex::new((display_addr(&addr), resolved)),
            config,
            handler: Box::new(handler),
            db: ClientDb::new(),
            drs,
            state: Mutex::new(ServerState::new()),
            services: Mutex::new(Services::default()),
            local_addr: Mutex::new(None),
            next_id: AtomicU64::new(1),
            keepalive,
        };
        Ok(TcpServer {
            handle: ServerHandle {
                shared: Arc::new(shared),
            },
        })
    }
    // ANCHOR_END: with_config

    /// A handle for other threads.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Changes the address a stopped server will listen on (the CLI's
    /// `config tcp-server <name> <ip> <port>`).
    ///
    /// # Errors
    /// [`ServerError::Running`] on a running server; [`ServerError::Resolve`].
    pub fn set_address(&self, addr: impl ToSocketAddrs + fmt::Debug) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        let _services = lock(&shared.services);
        if shared.flags().contains(ServerFlags::RUNNING) {
            return Err(ServerError::Running {
                server: shared.name.clone(),
            });
        }
        let resolved = resolve(&shared.name, &addr)?;
        *lock(&shared.addr) = (display_addr(&addr), resolved);
        Ok(())
    }

    // ANCHOR: start
    /// Binds the address and starts the service threads (the course's steps 3–4): the CAS
    /// accepting connections and the DRS serving clients.
    ///
    /// # Errors
    /// [`ServerError::State`] if it is already running, [`ServerError::Bind`] if the address
    /// cannot be bound, [`ServerError::Spawn`] if a thread cannot be started.
    pub fn start(&self) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        let mut services = lock(&shared.services);
        if shared.flags().contains(ServerFlags::RUNNING) {
            return Err(shared.state_error(StateError::AlreadyRunning));
        }
        let listener = shared.bind()?;
        let bound = listener.local_addr().ok();
        // The wheel first: the first client accepted must find it turning.
        if let Some(ka) = &shared.keepalive {
            ka.start().map_err(|source| ServerError::Spawn {
                server: shared.name.clone(),
                source,
            })?;
        }
        let acceptor = match shared.start_acceptor(listener) {
            Ok(acceptor) => acceptor,
            Err(e) => {
                shared.stop_keepalive();
                return Err(e);
            }
        };
        let drs = match shared.start_drs() {
            Ok(drs) => drs,
            Err(e) => {
                acceptor.stop();
                shared.stop_keepalive();
                return Err(e);
            }
        };
        services.acceptor = Some(acceptor);
        services.drs = Some(drs);
        *lock(&shared.local_addr) = bound;
        lock(&shared.state)
            .start()
            .map_err(|e| shared.state_error(e))?;
        Ok(())
    }
    // ANCHOR_END: start

    // ANCHOR: stop
    /// Stops the server gracefully: stop accepting, stop the DRS, report every client
    /// disconnected (reason: server shutdown), close every socket, join every thread. Returns
    /// once all of that is done; does nothing on a server that is not running.
    pub fn stop(&self) {
        let shared = &self.handle.shared;
        let mut services = lock(&shared.services);
        if !shared.flags().contains(ServerFlags::RUNNING) {
            return;
        }
        // The CAS first, so no new client appears while we empty the DB.
        if let Some(acceptor) = services.acceptor.take() {
            acceptor.stop();
        }
        if let Some(drs) = services.drs.take() {
            shared.drs.stop_thread(drs);
        }
        shared.stop_keepalive();
        let _ = lock(&shared.state).stop();
        *lock(&shared.local_addr) = None;
        let leftovers = shared.db.drain();
        shared.drs.clear();
        drop(services);
        // No lock of ours is held from here on: the callbacks may call back into the server.
        for (_, conn) in leftovers {
            shared.finish_close(&conn, DisconnectReason::ServerShutdown);
        }
    }
    // ANCHOR_END: stop

    /// Stops (`false`) or resumes (`true`) accepting new connections; connected clients are
    /// not affected. While stopped the port is closed, so connects are refused.
    ///
    /// # Errors
    /// [`ServerError::State`] on a server that is not running; [`ServerError::Bind`] if the
    /// port was taken meanwhile.
    pub fn set_accepting(&self, accepting: bool) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        let mut services = lock(&shared.services);
        let changed = lock(&shared.state)
            .set_accepting(accepting)
            .map_err(|e| shared.state_error(e))?;
        if !changed {
            return Ok(());
        }
        if accepting {
            match shared.bind().and_then(|l| shared.start_acceptor(l)) {
                Ok(acceptor) => services.acceptor = Some(acceptor),
                Err(e) => {
                    let _ = lock(&shared.state).set_accepting(false);
                    return Err(e);
                }
            }
        } else if let Some(acceptor) = services.acceptor.take() {
            acceptor.stop();
        }
        Ok(())
    }

    /// Stops (`false`) or resumes (`true`) listening to clients: the DRS thread is stopped
    /// and later restarted from the central DB. Clients stay connected; what they send
    /// meanwhile waits in the kernel and is delivered on resume.
    ///
    /// # Errors
    /// [`ServerError::State`] on a server that is not running; [`ServerError::Spawn`].
    pub fn set_listening(&self, listening: bool) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        let mut services = lock(&shared.services);
        let changed = lock(&shared.state)
            .set_listening(listening)
            .map_err(|e| shared.state_error(e))?;
        if !changed {
            return Ok(());
        }
        if listening {
            match shared.start_drs() {
                Ok(drs) => services.drs = Some(drs),
                Err(e) => {
                    let _ = lock(&shared.state).set_listening(false);
                    return Err(e);
                }
            }
        } else if let Some(drs) = services.drs.take() {
            shared.drs.stop_thread(drs);
        }
        Ok(())
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::ops::Deref for TcpServer {
    type Target = ServerHandle;
    fn deref(&self) -> &ServerHandle {
        &self.handle
    }
}

impl fmt::Display for TcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.handle.show())
    }
}

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
        self.shared.db.get(id).map(|c| self.shared.info(&c))
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
    /// as soon as the socket takes it, never blocking the caller or the DRS.
    ///
    /// # Errors
    /// [`SendError::NoSuchClient`], [`SendError::QueueFull`] (the client is not reading; the
    /// message is dropped whole, the client stays connected), [`SendError::Frame`].
    pub fn send(&self, id: ClientId, message: &[u8]) -> Result<(), SendError> {
        let conn = self.shared.db.get(id).ok_or(SendError::NoSuchClient(id))?;
        let framed = self
            .shared
            .config
            .framing
            .encode(message)
            .map_err(SendError::Frame)?;
        self.shared.queue_output(&conn, &framed)?;
        conn.stats.messages_out.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    // ANCHOR_END: send

    /// Disconnects a client (the course's application-initiated disconnect). Queued output is
    /// written if the socket takes it at once; then the socket is shut down, the DRS forgets
    /// the client, and `disconnected` is called with [`DisconnectReason::Application`].
    /// Returns false when no such client is connected (for example, it just left).
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

    // ANCHOR: show
    /// The course's `show tcp-server`: name, address, state flags, settings, clients.
    pub fn show(&self) -> String {
        let shared = &self.shared;
        let mut out = String::new();
        let addr = match self.local_addr() {
            Some(a) => a.to_string(),
            None => format!("{} (not started)", lock(&shared.addr).0),
        };
        let _ = writeln!(out, "tcp-server \"{}\" on {}", shared.name, addr);
        let _ = writeln!(out, "  state:     {}", shared.flags());
        let _ = writeln!(out, "  framing:   {}", shared.config.framing);
        if let Some(ka) = &shared.config.keepalive {
            let _ = writeln!(out, "  keepalive: {ka}");
        }
        let clients = shared.db.snapshot();
        let _ = writeln!(
            out,
            "  clients:   {} connected (max {})",
            clients.len(),
            shared.config.max_clients
        );
        for (_, conn) in clients {
            let info = shared.info(&conn);
            let _ = write!(
                out,
                "    {}  [{}]  in {} B/{} msg  out {} B/{} msg  queued {} B",
                info.client,
                info.flags,
                info.bytes_in,
                info.messages_in,
                info.bytes_out,
                info.messages_out,
                info.queued_output
            );
            if let Some(left) = info.hold_remaining {
                let _ = write!(out, "  hold {:.1}s", left.as_secs_f64());
            }
            out.push('\n');
        }
        out
    }
    // ANCHOR_END: show
}

impl Shared {
    pub(crate) fn handle(self: &Arc<Self>) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(self),
        }
    }

    pub(crate) fn flags(&self) -> ServerFlags {
        lock(&self.state).flags()
    }

    fn stop_keepalive(&self) {
        if let Some(ka) = &self.keepalive {
            ka.stop();
        }
    }

    fn state_error(&self, error: StateError) -> ServerError {
        ServerError::State {
            server: self.name.clone(),
            error,
        }
    }

    // ANCHOR: bind
    /// Binds the configured address; on a running server (resuming accepting), the address
    /// it already had, so that port 0 does not become a different port.
    fn bind(&self) -> Result<TcpListener, ServerError> {
        let (mut given, mut addrs) = lock(&self.addr).clone();
        if let Some(bound) = *lock(&self.local_addr) {
            given = bound.to_string();
            addrs = vec![bound];
        }
        let listener = TcpListener::bind(&addrs[..]).map_err(|source| ServerError::Bind {
            server: self.name.clone(),
            addr: given.clone(),
            source,
        })?;
        crate::sys::set_listen_backlog(&listener, self.config.backlog).map_err(|source| {
            ServerError::Bind {
                server: self.name.clone(),
                addr: given,
                source,
            }
        })?;
        Ok(listener)
    }

    fn start_acceptor(self: &Arc<Self>, listener: TcpListener) -> Result<Acceptor, ServerError> {
        let shared = Arc::clone(self);
        let on_error = Arc::clone(self);
        Acceptor::start(
            &self.name,
            listener,
            move |stream, peer| shared.process_new_client(stream, peer),
            move |error| on_error.handler.accept_error(&on_error.handle(), error),
        )
        .map_err(|source| ServerError::Spawn {
            server: self.name.clone(),
            source,
        })
    }
    // ANCHOR_END: bind

    fn start_drs(self: &Arc<Self>) -> Result<JoinHandle<()>, ServerError> {
        let shared = Arc::clone(self);
        thread::Builder::new()
            .name(format!("drs-{}", self.name))
            .spawn(move || multiplexer::run(shared))
            .map_err(|source| ServerError::Spawn {
                server: self.name.clone(),
                source,
            })
    }

    // ANCHOR: process_new_client
    /// The CAS hands every accepted connection here (the course's `ProcessNewClient`): store
    /// it in the DB, tell the application, ask the DRS to listen to it.
    fn process_new_client(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let handle = self.handle();
        let conn = match self.new_connection(stream, peer) {
            Ok(conn) => Arc::new(conn),
            Err(e) => {
                self.handler.accept_error(&handle, &e);
                return;
            }
        };
        let id = conn.client.id;
        if let Err(full) = self
            .db
            .try_insert(id, peer, Arc::clone(&conn), self.config.max_clients)
        {
            drop(conn); // closes the socket
            let why = format!(
                "the server already holds its maximum of {} clients",
                full.max
            );
            self.handler.rejected(&handle, peer, &why);
            return;
        }
        if let Some(ka) = &self.keepalive {
            ka.arm(self, &conn);
        }
        self.handler.connected(&handle, &conn.client);
        let early = std::mem::replace(&mut *lock(&conn.announce), Announce::Announced);
        if let Announce::ClosedEarly(reason) = early {
            self.handler.disconnected(&handle, &conn.client, &reason);
            return;
        }
        self.drs.start_listen(conn);
    }
    // ANCHOR_END: process_new_client

    fn new_connection(&self, stream: TcpStream, peer: SocketAddr) -> io::Result<Connection> {
        stream.set_nonblocking(true)?;
        // Messages here are small and interactive: send them now rather than wait to fill a
        // segment (Nagle), which would add up to 40 ms to every echo.
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let id = ClientId(self.next_id.fetch_add(1, Ordering::Relaxed));
        Ok(Connection {
            client: Client::new(id, peer, local),
            stream,
            inbox: Mutex::new(Demarcator::new(
                self.config.framing.clone(),
                self.config.read_buffer,
            )),
            outbox: Mutex::new(VecDeque::new()),
            closed: AtomicBool::new(false),
            announce: Mutex::new(Announce::Pending),
            stats: Stats::default(),
            keepalive: Mutex::new(None),
            keepalive_sender: Mutex::new(None),
        })
    }

    // ANCHOR: queue_output
    /// Queues already-framed bytes for a client and writes what the socket takes at once.
    pub(crate) fn queue_output(&self, conn: &Connection, framed: &[u8]) -> Result<(), SendError> {
        let mut out = lock(&conn.outbox);
        if out.len() + framed.len() > self.config.max_output {
            return Err(SendError::QueueFull {
                id: conn.client.id,
                queued: out.len(),
                message: framed.len(),
                limit: self.config.max_output,
            });
        }
        let was_empty = out.is_empty();
        out.extend(framed);
        drop(out);
        if was_empty {
            // Try now: most of the time the kernel takes it all and the DRS never hears of it.
            // Errors are left for the DRS, which owns disconnecting on I/O errors.
            if !matches!(conn.flush(), Ok(true)) {
                self.drs.want_write(conn.client.id);
            }
        }
        Ok(())
    }
    // ANCHOR_END: queue_output

    // ANCHOR: close_client
    /// Disconnects a client for `reason`, if it is still connected. Whoever wins the removal
    /// from the DB reports it; every other caller gets false. Safe from any thread, including
    /// the DRS and the application's callbacks.
    pub(crate) fn close_client(self: &Arc<Self>, id: ClientId, reason: DisconnectReason) -> bool {
        let Some(conn) = self.db.remove(id) else {
            return false;
        };
        self.drs.stop_listen(id);
        self.finish_close(&conn, reason);
        true
    }

    /// The part of a disconnect after the client left the DB: flush, close, tell.
    fn finish_close(self: &Arc<Self>, conn: &Connection, reason: DisconnectReason) {
        conn.closed.store(true, Ordering::SeqCst);
        if let Some(ka) = &self.keepalive {
            ka.disarm(conn);
        }
        // Best effort: whatever the kernel takes now still reaches the client before the FIN.
        if !matches!(reason, DisconnectReason::Io { .. }) {
            let _ = conn.flush();
        }
        let _ = conn.stream.shutdown(Shutdown::Both);
        {
            let mut announce = lock(&conn.announce);
            if matches!(*announce, Announce::Pending) {
                // The CAS is still inside `connected`: it reports this once that returns.
                *announce = Announce::ClosedEarly(reason);
                return;
            }
        }
        self.handler
            .disconnected(&self.handle(), &conn.client, &reason);
    }
    // ANCHOR_END: close_client

    // ANCHOR: deliver
    /// Delivers one message to the application, unless the client was closed meanwhile.
    pub(crate) fn deliver(self: &Arc<Self>, conn: &Connection, message: &[u8]) {
        if conn.closed.load(Ordering::SeqCst) {
            return;
        }
        if message.is_empty() && self.keepalive.is_some() {
            // An empty message (a header-only frame, an empty line) is a keep-alive: it has
            // already refreshed the hold timer; the application does not see it.
            conn.stats.keepalives_in.fetch_add(1, Ordering::Relaxed);
            return;
        }
        conn.stats.messages_in.fetch_add(1, Ordering::Relaxed);
        self.handler.message(&self.handle(), &conn.client, message);
    }
    // ANCHOR_END: deliver

    fn info(&self, conn: &Connection) -> ClientInfo {
        let s = &conn.stats;
        ClientInfo {
            client: conn.client.clone(),
            bytes_in: s.bytes_in.load(Ordering::Relaxed),
            bytes_out: s.bytes_out.load(Ordering::Relaxed),
            messages_in: s.messages_in.load(Ordering::Relaxed),
            messages_out: s.messages_out.load(Ordering::Relaxed),
            queued_output: conn.queued_output(),
            buffered_input: lock(&conn.inbox).buffered(),
            keepalives_out: s.keepalives_out.load(Ordering::Relaxed),
            keepalives_in: s.keepalives_in.load(Ordering::Relaxed),
            hold_remaining: self.keepalive.as_ref().and_then(|ka| ka.remaining(conn)),
            flags: self.client_flags(conn),
        }
    }

    /// The client's flags, derived from where it stands rather than stored twice.
    fn client_flags(&self, conn: &Connection) -> ClientFlags {
        let mut flags = ClientFlags::empty();
        if !self.flags().contains(ServerFlags::NOT_LISTENING) {
            flags.insert(ClientFlags::LISTENED);
        }
        if lock(&conn.keepalive).is_some() {
            flags.insert(ClientFlags::KEEPALIVE_ARMED);
        }
        if conn.closed.load(Ordering::SeqCst) {
            flags.insert(ClientFlags::CLOSING);
        }
        flags
    }
}

fn resolve(
    name: &str,
    addr: &(impl ToSocketAddrs + fmt::Debug),
) -> Result<Vec<SocketAddr>, ServerError> {
    let err = |source| ServerError::Resolve {
        server: name.to_string(),
        addr: display_addr(addr),
        source,
    };
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map_err(err)?.collect();
    if addrs.is_empty() {
        return Err(err(io::Error::new(
            io::ErrorKind::NotFound,
            "it resolved to no address",
        )));
    }
    Ok(addrs)
}

/// How an address given by the application is shown in messages: `"127.0.0.1:40000"` and
/// `("localhost", 40000)` both without Rust's debug quoting where it can be avoided.
fn display_addr(addr: &impl fmt::Debug) -> String {
    let s = format!("{addr:?}");
    s.trim_matches('"').to_string()
}
