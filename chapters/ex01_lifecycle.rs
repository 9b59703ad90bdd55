//! Exercise 1 — the controller's start and stop sequences: your version of
//! `src/controller/lifecycle.rs`.
//!
//! What you write: `TcpServer::start` and `TcpServer::stop`, the order in which the
//! controller brings its services up and takes them down. Everything they call is given, in
//! `src/controller.rs` (a child module may use its parent's private items): the services
//! themselves, `Shared` and its helpers. Your job is the sequence: which service first, what
//! to undo when a later one fails, what to hold locked and what not.
//!
//! Build with `--features ex01` and run the chapter's tests:
//!
//! ```text
//! cargo test --features ex01 --test ch01_controller
//! cargo test --features ex01 --test ch01_handler_panic
//! ```
//!
//! Read chapter 1 of the book first (`book/src/ch01-controller.md`, "The two halves"); the
//! reference is `src/controller/lifecycle.rs` (and the book's Solutions page). Keep the
//! signatures; write the bodies.

// The parameters and imports are unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::sync::Arc;

use super::{Connection, TcpServer};
use crate::connection::lock;
use crate::error::{DisconnectReason, ServerError};
use crate::state::{ServerFlags, StateError};

// The pieces, all reached from `let shared = &self.handle.shared;` (an `Arc<Shared>`):
//
// - the `services` gate (chapter 1, "A callback never waits …"): the running threads,
//   `services.acceptor: Option<Acceptor>` and `services.drs: Option<JoinHandle<()>>`.
//   Holding its entry is what makes `start`, `stop` and the reconfiguring calls take turns.
//   `shared.enter("start")?` waits for it (a `ServerError::Busy` when called from a
//   callback during a call that joins threads); `shared.services.enter_to_stop()` is the
//   way in for `stop`, which joins threads itself: `None` when a callback's `stop` has
//   nothing to do (the server is being stopped, or will be by the call under way).
// - `shared.flags().contains(ServerFlags::RUNNING)`; `lock(&shared.state).start()` and
//   `.stop()` (chapter 7's transitions, `Result<(), StateError>`);
//   `shared.state_error(e)` turns a `StateError` into the `ServerError` to return.
// - `shared.bind()`: the listening socket, `Result<TcpListener, ServerError>`;
//   `*lock(&shared.local_addr)`: the address bound, `Some` while running (port 0 becomes a
//   real port: `listener.local_addr().ok()`).
// - the keep-alive wheel (chapter 8): `shared.keepalive.start()` (an `io::Result`, which
//   `shared.spawn_error(e)` turns into a `ServerError`) and `shared.stop_keepalive()`.
// - the DRS (chapter 3): `shared.routes.open()` lets client threads be added (chapter 10),
//   `shared.start_drs()` starts its thread (`Result<JoinHandle<()>, ServerError>`),
//   `shared.drs().stop_thread(handle)` asks it to leave and joins it,
//   `shared.drs().clear()` drops the commands still queued for it.
// - the CAS (chapter 2): `shared.start_acceptor(listener)` (`Result<Acceptor, ServerError>`)
//   and `acceptor.stop()`.
// - the client threads (chapter 10): `shared.routes.close_dedicated()` asks them to leave
//   and forbids new ones, `shared.client_threads.join_all()` joins them.
// - the DB (chapter 4): `shared.db.drain()` empties it and returns `(ClientId, Arc<Connection>)`.
// - `shared.finish_close(&conn, DisconnectReason::ServerShutdown)` reports one client
//   disconnected to the application: it calls `Handler::disconnected`, which may call back
//   into the server.
// - `crate::linger::close_gracefully(&conns, shared.config.linger)` gives each closed client
//   what was queued for it and a FIN (chapter 8).
// - the connectors (chapter 11, the server in client mode): `shared.connectors.start(shared)`
//   starts the configured outgoing connections, whose clients are handed to the DRS like
//   accepted ones; `shared.connectors.stop()` stops and joins them.
// - the statistics (chapter 9): `shared.ledger.started()` and `shared.ledger.stopped()` mark
//   the server's running time.

impl TcpServer {
    /// Binds the address and starts the service threads (the course's steps 3–4): the CAS
    /// accepting connections and the DRS serving clients.
    ///
    /// # Errors
    /// [`ServerError::State`] if it is already running, [`ServerError::Bind`] if the address
    /// cannot be bound, [`ServerError::Spawn`] if a thread cannot be started;
    /// [`ServerError::Busy`] from inside a callback while another thread's `stop`,
    /// `set_accepting(false)` or `set_keepalive` is under way (chapter 1).
    pub fn start(&self) -> Result<(), ServerError> {
        // TODO: hold the services gate for the whole start; refuse a running server. Bind.
        // Then start the services so that each one finds, from its first moment, what it
        // hands work to: a client the CAS accepts at once goes to the DRS (and has its
        // keep-alive timer armed on the wheel). If a service cannot be started, stop the
        // ones already started before you return the error: a failed start leaves nothing
        // running. Then store the threads and the bound address, move the state, mark the
        // ledger; the connectors last, since a client they connect is handed over at once
        // and needs every other service.
        todo!("ex01: TcpServer::start")
    }

    /// Stops the server gracefully: stop accepting (the connections the kernel already
    /// completed are accepted first), stop the DRS, report every client disconnected (reason:
    /// server shutdown), give each what was queued for it and a FIN, join every thread.
    /// Returns once all of that is done (waiting at most `Config::linger` for clients that do
    /// not take their output); does nothing on a server that is not running. Called from a
    /// callback while another thread's `stop`, `set_accepting(false)` or `set_keepalive` is
    /// under way (they wait for the server's threads), it returns at once: that call stops
    /// the server.
    pub fn stop(&self) {
        // TODO: through the services gate: do nothing on a server that is not running. Stop
        // the services (the connectors too) in the order that lets no client appear, nor be
        // read or reported by a service, while you empty the DB; then move the state, mark
        // the ledger, forget the address, empty the DB and the DRS's queue. Leave the gate
        // (`drop` the entry) before you tell the application about each client: its
        // `disconnected` may call back into the server. Last, the graceful close of what the
        // DB gave you.
        todo!("ex01: TcpServer::stop")
    }
}
