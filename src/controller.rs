//! Chapter 1 — the controller (the course's `TcpServerController`).
//!
//! The controller is the one object the application talks to. It owns the services — the
//! connection acceptor (CAS, chapter 2), the client DB (DBMS, chapter 4), the data-request
//! service (DRS, chapter 3) and the keep-alive timers (chapter 8) — starts and stops them,
//! and carries every request between them: services never call each other, and never call
//! the controller by name either. Each service declares the narrow interface it needs (the
//! acceptor takes two closures, the DRS a `DrsHost`, keep-alive a `KeepAliveHost`) and
//! the controller implements it. It also holds the application's callbacks and calls them
//! for every event: a client connected, sent a message, disconnected.
//!
//! What changes in Rust: the course's function pointers become a [`Handler`] trait whose
//! methods all have empty defaults, so an application implements only the events it cares
//! about and later chapters can add events without breaking anyone. The state shared by the
//! application's thread and the service threads lives in one `Arc<Shared>`; the service
//! threads are joined, never cancelled. [`TcpServer`] owns the server (dropping it stops it);
//! callbacks get a [`ServerHandle`] to send, disconnect and show from inside an event.
//!
//! Binding rules kept here: the handler is never called while a lock of ours is held; a
//! client reported connected is reported disconnected exactly once (the client DB's `remove`
//! decides who reports it); a panicking callback costs at most its client.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crate::acceptor::Acceptor;
use crate::admission::Admission;
use crate::client::{Client, ClientId};
use crate::client_db::ClientDb;
use crate::client_thread::{ClientMode, ClientThreads};
use crate::config::Config;
use crate::connection::{lock, Announce, Connection, OutputBudget};
use crate::connector::{ActiveLink, ConnectorHost, Connectors};
use crate::error::{DisconnectReason, MigrateError, SendError, ServerError};
use crate::info::ClientInfo;
use crate::keepalive::{KeepAlive, KeepAliveConfig, KeepAliveHost};
use crate::multiplexer::{self, DrsHost, DrsLink, DrsSettings, Routes};
use crate::select::{Interest, PollSet};
use crate::state::{ClientFlags, ServerFlags, ServerState, StateError};
use crate::stats::Ledger;

// `start` and `stop`, the order in which the services are started and stopped, are
// exercise 1: the feature swaps in the student's file. A `path` given here is relative to
// `src/`.
#[cfg_attr(feature = "ex01", path = "../chapters/ex01_lifecycle.rs")]
mod lifecycle;

mod gate;
use gate::{Busy, Gate};

/// How long the CAS waits, at the connection cap, for the DRS to finish a turn with a client
/// whose peer is gone before it judges that client itself: a turn on a dead socket is one
/// read, so this is only reached when an application callback is slow.
const REAP_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// How long a migration waits for the serving thread to hand the client over: one turn of
/// that thread, so this is only reached when an application callback is slow.
const MIGRATE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

// ANCHOR: handler
/// The application's callbacks. Every method has an empty default: implement the ones you
/// need. They run on the server's threads (the CAS for `connected`, the DRS for `message`,
/// whichever thread disconnected the client for `disconnected`), never under a lock of the
/// server's, so they may call back into the server through the [`ServerHandle`].
///
/// A callback that panics does not take the server down: the panic is caught, and the client
/// the event was about is disconnected with [`DisconnectReason::HandlerPanicked`] (a panic in
/// `disconnected`, `rejected` or `accept_error` is only swallowed: there is nothing left to
/// end). The DRS thread, which serves every client, goes on.
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

    /// A client sent a message (with demarcation, one whole message; without, a chunk). A
    /// reply sent from here to this client with [`ServerHandle::send`] is written once the
    /// turn ends, together with the other replies, and is never refused for lack of room.
    /// Once a client is disconnected nothing more of it is delivered; but when another
    /// thread disconnects it while the DRS is already calling `message`, the two callbacks
    /// can overlap (on two threads), as any two events of different threads can.
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        let _ = (server, client, message);
    }

    /// A connection was accepted and closed at once: the server holds its maximum number of
    /// clients, or the peer's address is black-listed (`why` says which). It was never a
    /// client: no `connected`, no `disconnected`.
    fn rejected(&self, server: &ServerHandle, peer: SocketAddr, why: &str) {
        let _ = (server, peer, why);
    }

    /// `accept()` failed. The acceptor backs off and goes on; this only informs.
    fn accept_error(&self, server: &ServerHandle, error: &io::Error) {
        let _ = (server, error);
    }

    /// A connect of the server in client mode to `target` failed (chapter 11); the next
    /// attempt comes in `retry_in` (`None`: no more, the connector could not be started).
    /// Called on the target's connector thread, which also calls `connected` for the client
    /// the connect makes (a client flagged [`ClientFlags::ACTIVE`]).
    fn connect_failed(
        &self,
        server: &ServerHandle,
        target: SocketAddr,
        error: &io::Error,
        retry_in: Option<std::time::Duration>,
    ) {
        let _ = (server, target, error, retry_in);
    }
}
// ANCHOR_END: handler

/// The application that ignores every event.
impl Handler for () {}

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
    pub(crate) addr: Mutex<(String, Vec<SocketAddr>)>,
    /// Settings as created; the connection cap and keep-alive, which can change while the
    /// server runs, live in `admission` and `keepalive`.
    pub(crate) config: Config,
    /// The application.
    handler: Box<dyn Handler>,
    /// The central client DB (chapter 4).
    pub(crate) db: ClientDb<Connection>,
    /// The mailboxes (command queue and waker) of the DRS and of every client thread: how
    /// other threads talk to whoever serves a client.
    pub(crate) routes: Arc<Routes>,
    /// The client threads (chapter 10), joined by `stop`.
    client_threads: ClientThreads,
    /// Output queued for all clients together, and its bounds.
    pub(crate) budget: Arc<OutputBudget>,
    /// The server's state flags (chapter 7).
    state: Mutex<ServerState>,
    /// The threads, taken out by whoever stops them, behind the gate through which start,
    /// stop and the reconfiguring calls take turns.
    services: Gate<Services>,
    /// The address actually bound, once started (port 0 becomes a real port).
    pub(crate) local_addr: Mutex<Option<SocketAddr>>,
    /// Next client id.
    next_id: AtomicU64,
    /// The server in client mode (chapter 11): its connect targets and their connectors.
    pub(crate) connectors: Connectors,
    /// Keep-alive timers (chapter 8); their settings can change while the server runs.
    keepalive: KeepAlive,
    /// Who may become a client: the connection cap and the black-list, both changeable
    /// while the server runs.
    pub(crate) admission: Admission,
    /// The server's counters (chapter 9).
    pub(crate) ledger: Arc<Ledger>,
}
// ANCHOR_END: shared

/// A running (or startable) TCP server: the controller. Dropping it stops it.
pub struct TcpServer {
    pub(crate) handle: ServerHandle,
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
        let drs = DrsLink::new().map_err(|source| ServerError::Spawn {
            server: name.to_string(),
            source,
        })?;
        let keepalive = KeepAlive::new(config.keepalive.clone());
        let admission = Admission::new(config.max_clients);
        let shared = Shared {
            name: name.to_string(),
            addr: Mutex::new((display_addr(&addr), resolved)),
            budget: Arc::new(OutputBudget::new(
                config.output_high_water,
                config.output_low_water,
                config.max_output,
                config.max_total_output,
            )),
            connectors: Connectors::new(name, config.connect_retry, config.reconnect),
            config,
            handler: Box::new(handler),
            db: ClientDb::new(),
            routes: Arc::new(Routes::new(drs)),
            client_threads: ClientThreads::default(),
            state: Mutex::new(ServerState::new()),
            services: Gate::default(),
            local_addr: Mutex::new(None),
            next_id: AtomicU64::new(1),
            keepalive,
            admission,
            ledger: Arc::new(Ledger::new()),
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
    /// [`ServerError::Busy`] from inside a callback while another thread's `stop`,
    /// `set_accepting(false)` or `set_keepalive` is under way (chapter 1).
    pub fn set_address(&self, addr: impl ToSocketAddrs + fmt::Debug) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        let _services = shared.enter("set_address")?;
        if shared.flags().contains(ServerFlags::RUNNING) {
            return Err(ServerError::Running {
                server: shared.name.clone(),
            });
        }
        let resolved = resolve(&shared.name, &addr)?;
        *lock(&shared.addr) = (display_addr(&addr), resolved);
        Ok(())
    }

    /// Stops (`false`) or resumes (`true`) accepting new connections; connected clients are
    /// not affected. Before the port closes, every connection the kernel already completed is
    /// accepted (its `connect()` succeeded: it must not be reset); while stopped, connects
    /// are refused. A `stop` that a callback asks for while accepting is being turned off
    /// is done before this returns.
    ///
    /// # Errors
    /// [`ServerError::State`] on a server that is not running; [`ServerError::Bind`] if the
    /// port was taken meanwhile.
    /// [`ServerError::Busy`] from inside a callback while another thread's `stop`,
    /// `set_accepting(false)` or `set_keepalive` is under way (chapter 1).
    pub fn set_accepting(&self, accepting: bool) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        if accepting {
            let mut services = shared.enter("set_accepting")?;
            if shared.accepting_changed(true)? {
                match shared.bind().and_then(|l| shared.start_acceptor(l)) {
                    Ok(acceptor) => services.acceptor = Some(acceptor),
                    Err(e) => {
                        let _ = lock(&shared.state).set_accepting(false);
                        return Err(e);
                    }
                }
            }
            return Ok(());
        }
        // Turning it off joins the CAS, which may be inside a `connected` callback.
        let mut services = shared.enter_joining("set_accepting")?;
        let changed = shared.accepting_changed(false);
        if matches!(changed, Ok(true)) {
            if let Some(acceptor) = services.acceptor.take() {
                acceptor.stop();
            }
        }
        if services.leave() {
            self.stop();
        }
        changed.map(|_| ())
    }

    /// Stops (`false`) or resumes (`true`) listening to clients: the DRS stops reading from
    /// them (it still writes what they are owed, and finishes closes). Clients stay
    /// connected; what they send meanwhile waits in the kernel and is delivered on resume.
    ///
    /// # Errors
    /// [`ServerError::State`] on a server that is not running.
    /// [`ServerError::Busy`] from inside a callback while another thread's `stop`,
    /// `set_accepting(false)` or `set_keepalive` is under way (chapter 1).
    pub fn set_listening(&self, listening: bool) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        let _services = shared.enter("set_listening")?;
        let changed = lock(&shared.state)
            .set_listening(listening)
            .map_err(|e| shared.state_error(e))?;
        if changed {
            shared.routes.set_reading(listening);
        }
        Ok(())
    }

    // ANCHOR: set_multi_threaded
    /// Gives every client accepted from now on a thread of its own (`true`, the course's
    /// `multi-threaded-mode`), or hands new clients to the DRS again (`false`). Clients
    /// already connected stay where they are; [`ServerHandle::migrate`] moves one.
    pub fn set_multi_threaded(&self, threaded: bool) {
        let _ = lock(&self.handle.shared.state).set_multi_threaded_clients(threaded);
    }
    // ANCHOR_END: set_multi_threaded
}

impl TcpServer {
    // ANCHOR: set_keepalive
    /// Changes the keep-alive settings (`None`: off), on a running server too: turning it on
    /// for a server created without it, off, or to another interval. Every connected client
    /// moves to the new settings at once with a full new hold time, as if heard from at that
    /// moment; new clients get them from their arrival. A `stop` that a callback asks for
    /// meanwhile is done before this returns.
    ///
    /// # Errors
    /// [`ServerError::Spawn`] when the timer thread for the new settings cannot be started;
    /// the old settings then stay in force.
    /// [`ServerError::Busy`] from inside a callback while another thread's `stop`,
    /// `set_accepting(false)` or `set_keepalive` is under way (chapter 1).
    pub fn set_keepalive(&self, config: Option<KeepAliveConfig>) -> Result<(), ServerError> {
        let shared = &self.handle.shared;
        // Serialised with start and stop, so the wheel follows the server's state. It joins
        // the old wheel's thread, which may be inside a `disconnected` callback.
        let services = shared.enter_joining("set_keepalive")?;
        let clients = || shared.db.snapshot().into_iter().map(|(_, c)| c).collect();
        let reconfigured = shared
            .keepalive
            .reconfigure(shared, config, clients, shared.sends_keepalives())
            .map_err(|source| shared.spawn_error(source));
        if services.leave() {
            self.stop();
        }
        reconfigured
    }
    // ANCHOR_END: set_keepalive

    /// The keep-alive settings in force; `None` when it is off.
    pub fn keepalive(&self) -> Option<KeepAliveConfig> {
        self.handle.shared.keepalive.config()
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        // In an exercise build, `stop` runs the student's code, perhaps still a `todo!()`: a
        // panic there while a failed test unwinds would abort the whole test run instead of
        // failing that one test. Only then is the server left to the end of the process.
        #[cfg(any(feature = "ex01", feature = "ex02", feature = "ex04", feature = "ex07"))]
        if thread::panicking() {
            return;
        }
        self.stop();
    }
}

impl fmt::Display for TcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle.info().fmt(f)
    }
}

impl Shared {
    fn handle(self: &Arc<Self>) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(self),
        }
    }

    pub(crate) fn flags(&self) -> ServerFlags {
        lock(&self.state).flags()
    }

    /// True when the framing has an empty message, which the server then sends as its
    /// keep-alive.
    fn sends_keepalives(&self) -> bool {
        matches!(self.config.framing.encode(&[]), Ok(frame) if !frame.is_empty())
    }

    pub(crate) fn keepalive_config(&self) -> Option<KeepAliveConfig> {
        self.keepalive.config()
    }

    /// The DRS's mailbox.
    pub(crate) fn drs(&self) -> &Arc<DrsLink> {
        self.routes.main()
    }

    fn stop_keepalive(&self) {
        self.keepalive.stop();
    }

    /// Enters the gate for `call`, which joins no thread.
    fn enter(&self, call: &'static str) -> Result<gate::Entry<'_, Services>, ServerError> {
        self.services
            .enter(call)
            .map_err(|busy| self.busy_error(call, busy))
    }

    /// Enters the gate for `call`, which joins threads that may be running callbacks.
    fn enter_joining(&self, call: &'static str) -> Result<gate::Entry<'_, Services>, ServerError> {
        self.services
            .enter_joining(call)
            .map_err(|busy| self.busy_error(call, busy))
    }

    /// Moves the accepting flag; true when it changed.
    fn accepting_changed(&self, accepting: bool) -> Result<bool, ServerError> {
        lock(&self.state)
            .set_accepting(accepting)
            .map_err(|e| self.state_error(e))
    }

    fn busy_error(&self, call: &'static str, busy: Busy) -> ServerError {
        ServerError::Busy {
            server: self.name.clone(),
            call,
            under_way: busy.under_way,
        }
    }

    fn state_error(&self, error: StateError) -> ServerError {
        ServerError::State {
            server: self.name.clone(),
            error,
        }
    }

    fn spawn_error(&self, source: io::Error) -> ServerError {
        ServerError::Spawn {
            server: self.name.clone(),
            source,
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
        let bind_error = |source| ServerError::Bind {
            server: self.name.clone(),
            addr: given.clone(),
            source,
        };
        let listener = TcpListener::bind(&addrs[..]).map_err(bind_error)?;
        crate::sys::set_listen_backlog(&listener, self.config.backlog).map_err(bind_error)?;
        Ok(listener)
    }

    fn start_acceptor(self: &Arc<Self>, listener: TcpListener) -> Result<Acceptor, ServerError> {
        let shared = Arc::clone(self);
        let on_error = Arc::clone(self);
        Acceptor::start(
            &self.name,
            listener,
            move |stream, peer| shared.process_new_client(stream, peer, None),
            move |error| {
                let handle = on_error.handle();
                let _ = call(|| on_error.handler.accept_error(&handle, error));
            },
        )
        .map_err(|source| self.spawn_error(source))
    }
    // ANCHOR_END: bind

    fn start_drs(self: &Arc<Self>) -> Result<JoinHandle<()>, ServerError> {
        let host = Arc::clone(self);
        let link = Arc::clone(self.drs());
        let routes = Arc::clone(&self.routes);
        let budget = Arc::clone(&self.budget);
        let settings = DrsSettings::from_config(&self.config);
        let reading = !self.flags().contains(ServerFlags::NOT_LISTENING);
        let poller = self
            .drs()
            .new_poller(self.config.poller)
            .map_err(|source| self.spawn_error(source))?;
        thread::Builder::new()
            .name(format!("drs-{}", self.name))
            .spawn(move || multiplexer::run(host, link, routes, budget, settings, poller, reading))
            .map_err(|source| self.spawn_error(source))
    }

    // ANCHOR: process_new_client
    /// The CAS hands every accepted connection here (the course's `ProcessNewClient`): store
    /// it in the DB, tell the application, ask the DRS to listen to it. A connector hands
    /// over the same way the connections it made (`active`, chapter 11).
    fn process_new_client(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        active: Option<ActiveLink>,
    ) {
        let handle = self.handle();
        if active.is_some() {
            self.ledger.count_connected();
        } else {
            self.ledger.count_accepted();
        }
        if self.admission.refuses(peer.ip()) {
            drop(stream);
            let why = format!("{} is black-listed", peer.ip());
            let _ = call(|| self.handler.rejected(&handle, peer, &why));
            return;
        }
        let conn = match self.new_connection(stream, peer, active) {
            Ok(conn) => Arc::new(conn),
            Err(e) => {
                self.ledger.count_failed();
                let _ = call(|| self.handler.accept_error(&handle, &e));
                return;
            }
        };
        let id = conn.client.id;
        self.assign_thread(&conn);
        let max = self.admission.max_clients();
        if self.db.len() >= max {
            // Under connect/close churn, peers that already left may not have been noticed
            // yet: they must not keep a live client out.
            self.reap_departed();
        }
        if let Err(full) = self.db.try_insert(id, peer, Arc::clone(&conn), max) {
            // A thread started for it has nothing to wait for.
            if let Some(link) = self.routes.get(conn.served_by.load(Ordering::SeqCst)) {
                if link.number() != 0 {
                    link.push(multiplexer::Command::Adopt(None));
                }
            }
            drop(conn); // closes the socket
            self.ledger.count_rejected();
            let why = format!(
                "the server already holds its maximum of {} clients",
                full.max
            );
            let _ = call(|| self.handler.rejected(&handle, peer, &why));
            return;
        }
        self.ledger.count_client();
        self.keepalive.arm(self, &conn, self.sends_keepalives());
        let panicked = call(|| self.handler.connected(&handle, &conn.client)).err();
        let mut announce = lock(&conn.announce);
        let early = std::mem::replace(&mut *announce, Announce::Announced);
        if let Announce::ClosedEarly(reason) = early {
            drop(announce);
            let _ = call(|| self.handler.disconnected(&handle, &conn.client, &reason));
            return;
        }
        if let Some(message) = panicked {
            drop(announce);
            self.close_client(id, DisconnectReason::HandlerPanicked { message });
            return;
        }
        // Only now: no message may be delivered before `connected` has returned. A greeting
        // sent from `connected` that the socket did not take at once waits in the queue, and
        // the serving thread writes it as soon as it lists the client. Queued under the
        // announce lock, so that a migration (which checks it) is queued behind it.
        if let Some(link) = self.routes.of(&conn) {
            link.start_listen(conn.clone());
        }
        drop(announce);
    }
    // ANCHOR_END: process_new_client

    /// In multi-threaded mode, a thread of its own for a new client; else (or when no
    /// thread can be had: the client is then served by the DRS) nothing.
    fn assign_thread(self: &Arc<Self>, conn: &Connection) {
        if !self.flags().contains(ServerFlags::MULTI_THREADED_CLIENTS) {
            return;
        }
        if let Ok(Some(link)) = self.spawn_client_thread() {
            conn.served_by.store(link.number(), Ordering::SeqCst);
        }
    }

    fn spawn_client_thread(self: &Arc<Self>) -> io::Result<Option<Arc<DrsLink>>> {
        self.client_threads.spawn(
            &self.name,
            Arc::clone(self),
            &self.routes,
            &self.budget,
            DrsSettings::from_config(&self.config),
            || !self.flags().contains(ServerFlags::NOT_LISTENING),
        )
    }

    // ANCHOR: migrate
    /// Moves client `id` to be served `to` the given mode: asks the thread serving it now to
    /// hand it over between two turns, and waits until it has (unless asked on that very
    /// thread, from one of its callbacks: the hand-over then happens when it returns).
    pub(crate) fn migrate(
        self: &Arc<Self>,
        id: ClientId,
        to: ClientMode,
    ) -> Result<(), ServerError> {
        let error = |why| ServerError::Migrate {
            server: self.name.clone(),
            client: id,
            why,
        };
        if !self.flags().contains(ServerFlags::RUNNING) {
            return Err(error(MigrateError::NotRunning));
        }
        let conn = self.db.get(id).ok_or(error(MigrateError::NoSuchClient))?;
        let threaded = conn.served_by.load(Ordering::SeqCst) != 0;
        if threaded == (to == ClientMode::Threaded) {
            return Ok(());
        }
        let target = match to {
            ClientMode::Multiplexed => Arc::clone(self.drs()),
            ClientMode::Threaded => match self.spawn_client_thread() {
                Ok(Some(link)) => link,
                Ok(None) => return Err(error(MigrateError::NotRunning)),
                Err(e) => return Err(error(MigrateError::NoThread(e.to_string()))),
            },
        };
        let (done, answer) = std::sync::mpsc::channel();
        let announce = lock(&conn.announce);
        let source = match (&*announce, self.routes.of(&conn)) {
            (Announce::Announced, Some(source)) => source,
            (Announce::Pending, _) => {
                // `connected` has not returned, so no thread listens to it yet: it is enough
                // to change which one will (the listen request is queued under this lock).
                let old = conn.served_by.swap(target.number(), Ordering::SeqCst);
                if let Some(unused) = self.routes.get(old).filter(|l| l.number() != 0) {
                    unused.push(multiplexer::Command::Adopt(None));
                }
                return Ok(());
            }
            _ => {
                drop(announce);
                target.push(multiplexer::Command::Adopt(None));
                return Err(error(MigrateError::NoSuchClient));
            }
        };
        let here = source.is_current_thread();
        source.release(Arc::clone(&conn), target, (!here).then_some(done));
        drop(announce);
        if here {
            return Ok(());
        }
        match answer.recv_timeout(MIGRATE_WAIT) {
            Ok(true) => Ok(()),
            Ok(false) => Err(error(MigrateError::NoSuchClient)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(error(MigrateError::TimedOut)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(error(MigrateError::NotRunning))
            }
        }
    }
    // ANCHOR_END: migrate

    /// Disconnects clients whose peer has gone (end of stream or error) but whom the DRS has
    /// not served yet: a zero-timeout `poll` over the DB, then a `peek` of each readable one.
    /// A client with anything still to deliver is left to the DRS.
    fn reap_departed(self: &Arc<Self>) {
        let clients = self.db.snapshot();
        let mut set = PollSet::new();
        for (_, conn) in &clients {
            set.add(&conn.stream, Interest::READ);
        }
        if set.wait(Some(std::time::Duration::ZERO)).is_err() {
            return;
        }
        for (i, (id, conn)) in clients.iter().enumerate() {
            let ready = set.readiness(i);
            if !(ready.readable || ready.hangup) {
                continue;
            }
            // The DRS may be at this very client (its peer's end woke it too): let it finish
            // that turn, briefly, rather than refuse a newcomer for a client already leaving;
            // and keep it out while we look, so that we two judge the same socket state.
            let verdict = conn.when_idle(REAP_WAIT, || {
                if conn.buffered.load(Ordering::Relaxed) > 0 {
                    return None; // the DRS holds part of a message: it will judge the end
                }
                match conn.stream.peek(&mut [0u8; 1]) {
                    Ok(0) => Some(DisconnectReason::PeerClosed),
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                        // The kernel reports a socket's error once: whoever reads next (the
                        // DRS) would find a plain end of stream. Remembered, it stays the
                        // reason.
                        conn.record_error(&e);
                        Some(DisconnectReason::io(&e))
                    }
                    _ => None, // data waiting: alive, or at least owed a delivery
                }
            });
            if let Some(Some(reason)) = verdict {
                self.close_client(*id, reason);
            }
        }
    }

    fn new_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        active: Option<ActiveLink>,
    ) -> io::Result<Connection> {
        stream.set_nonblocking(true)?;
        // Messages here are small and interactive: send them now rather than wait to fill a
        // segment (Nagle), which would add up to 40 ms to every echo. Replies are batched by
        // the DRS itself, one write per client per turn.
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let id = ClientId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut conn = Connection::new(
            Client::new(id, peer, local),
            stream,
            Arc::clone(&self.budget),
        );
        conn.stats = self.ledger.open(id);
        conn.active = active;
        Ok(conn)
    }

    // ANCHOR: queue_output
    /// Queues already-framed bytes for a client. A reply waits for the DRS's write at the end
    /// of the turn; other output is written at once if the queue was empty (most of the time
    /// the kernel takes it all and the DRS never hears of it), else the DRS is woken to poll
    /// the socket for writability.
    pub(crate) fn queue_output(
        &self,
        conn: &Arc<Connection>,
        parts: [&[u8]; 3],
    ) -> Result<(), SendError> {
        let reply = conn.is_being_served_here();
        let was_empty = conn.queue_parts(parts, reply)?;
        if reply {
            return Ok(());
        }
        if was_empty {
            // An error is recorded by `flush` itself; the DRS, which owns disconnecting,
            // reports it as the reason once woken below.
            if let Ok(true) = conn.flush() {
                return Ok(());
            }
        }
        if let Some(link) = self.routes.of(conn) {
            link.output_queued(Arc::clone(conn));
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
        // The serving thread lets the socket go: flush, half-close, drain, close (or at once
        // if broken).
        if let Some(link) = self.routes.of(&conn) {
            link.close(Arc::clone(&conn), !reason.socket_is_broken());
        }
        self.finish_close(&conn, reason);
        true
    }

    /// The part of a disconnect after the client left the DB: mark it, cancel its timers,
    /// tell the application (now, or once `connected` has returned).
    fn finish_close(self: &Arc<Self>, conn: &Connection, reason: DisconnectReason) {
        conn.closed.store(true, Ordering::SeqCst);
        self.ledger.count_disconnect(&reason);
        if let Some(active) = &conn.active {
            active.ended();
        }
        self.keepalive.disarm(conn);
        {
            let mut announce = lock(&conn.announce);
            if matches!(*announce, Announce::Pending) {
                // The CAS is still inside `connected`: it reports this once that returns.
                *announce = Announce::ClosedEarly(reason);
                return;
            }
        }
        let handle = self.handle();
        let _ = call(|| self.handler.disconnected(&handle, &conn.client, &reason));
    }
    // ANCHOR_END: close_client

    pub(crate) fn client_info(&self, conn: &Connection) -> ClientInfo {
        let s = &conn.stats;
        ClientInfo {
            client: conn.client.clone(),
            bytes_in: s.bytes_in.load(Ordering::Relaxed),
            bytes_out: s.bytes_out.load(Ordering::Relaxed),
            messages_in: s.messages_in.load(Ordering::Relaxed),
            messages_out: s.messages_out.load(Ordering::Relaxed),
            queued_output: conn.queued_output(),
            buffered_input: conn.buffered.load(Ordering::Relaxed),
            reading_paused: conn.paused.load(Ordering::Relaxed),
            keepalives_out: s.keepalives_out.load(Ordering::Relaxed),
            keepalives_in: s.keepalives_in.load(Ordering::Relaxed),
            connected_for: conn.client.connected_for(),
            last_heard: s.last_heard(),
            hold_remaining: self.keepalive.remaining(conn),
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
        if conn.is_closed() {
            flags.insert(ClientFlags::CLOSING);
        }
        if conn.served_by.load(Ordering::Relaxed) != 0 {
            flags.insert(ClientFlags::MULTI_THREADED);
        }
        if conn.active.is_some() {
            flags.insert(ClientFlags::ACTIVE);
        }
        flags
    }
}

// ANCHOR: deliver
impl DrsHost for Shared {
    /// Delivers one message to the application, unless the client was closed meanwhile.
    fn message(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        message: &[u8],
    ) -> Result<(), DisconnectReason> {
        if conn.is_closed() {
            return Ok(());
        }
        if message.is_empty() && self.keepalive.is_on() {
            // An empty message (a header-only frame, an empty line) is a keep-alive: it has
            // already refreshed the hold timer; the application does not see it.
            conn.stats.keepalives_in.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        conn.stats.messages_in.fetch_add(1, Ordering::Relaxed);
        let handle = self.handle();
        call(|| self.handler.message(&handle, &conn.client, message))
            .map_err(|message| DisconnectReason::HandlerPanicked { message })
    }

    fn disconnect(self: &Arc<Self>, conn: &Arc<Connection>, reason: DisconnectReason) -> bool {
        if self.db.remove(conn.client.id).is_none() {
            return false;
        }
        self.finish_close(conn, reason);
        true
    }

    fn heard_from(&self, conn: &Connection) {
        self.keepalive.refresh(conn);
    }
}
// ANCHOR_END: deliver

// ANCHOR: keepalive_host
impl KeepAliveHost for Shared {
    fn hold_expired(self: &Arc<Self>, id: ClientId) {
        let Some(conn) = self.db.get(id) else {
            return;
        };
        let listening = !self.flags().contains(ServerFlags::NOT_LISTENING);
        if !listening || conn.paused.load(Ordering::Relaxed) {
            // We are the ones not reading, so silence proves nothing: another hold time.
            self.heard_from(&conn);
            return;
        }
        self.close_client(id, DisconnectReason::KeepAliveExpired);
    }

    fn send_keepalive(self: &Arc<Self>, id: ClientId) {
        let Some(conn) = self.db.get(id) else {
            return;
        };
        let Ok(frame) = self.config.framing.encode(&[]) else {
            return;
        };
        if conn.queue(&frame, false).is_ok() {
            conn.stats.keepalives_out.fetch_add(1, Ordering::Relaxed);
            if let Some(link) = self.routes.of(&conn) {
                link.output_queued(conn);
            }
        }
    }
}
// ANCHOR_END: keepalive_host

// ANCHOR: connector_host
impl ConnectorHost for Shared {
    fn hand_over(self: &Arc<Self>, stream: TcpStream, target: SocketAddr, active: ActiveLink) {
        self.process_new_client(stream, target, Some(active));
    }

    fn connect_failed(
        self: &Arc<Self>,
        target: SocketAddr,
        error: &io::Error,
        retry_in: Option<std::time::Duration>,
    ) {
        let handle = self.handle();
        let _ = call(|| {
            self.handler
                .connect_failed(&handle, target, error, retry_in)
        });
    }

    fn listening_addrs(&self) -> Vec<SocketAddr> {
        match *lock(&self.local_addr) {
            Some(bound) => vec![bound],
            None => lock(&self.addr).1.clone(),
        }
    }
}
// ANCHOR_END: connector_host

// ANCHOR: call
/// Calls an application callback, catching a panic: the panic's message, if it panicked.
/// (The default panic hook has already printed it to stderr.)
fn call(callback: impl FnOnce()) -> Result<(), String> {
    panic::catch_unwind(AssertUnwindSafe(|| gate::as_callback(callback))).map_err(|payload| {
        if let Some(s) = payload.downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic without a message".to_string()
        }
    })
}
// ANCHOR_END: call

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
