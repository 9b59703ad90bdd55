//! Chapter 1 — the controller's two halves: `start` brings the services up in an order
//! that lets the first client find everything it needs, `stop` takes them down in an order
//! that loses no client and reports each one once.
//!
//! Its own file so that exercise 1 (`--features ex01`) can swap it for
//! `chapters/ex01_lifecycle.rs`. What the sequences call stays in the parent module,
//! [`controller`](super), whose private items (the fields of `Shared`, `bind`,
//! `start_acceptor`, `start_drs`, `finish_close` …) a child module may use.

use std::sync::Arc;

use super::{Connection, TcpServer};
use crate::connection::lock;
use crate::error::{DisconnectReason, ServerError};
use crate::state::{ServerFlags, StateError};

impl TcpServer {
    // ANCHOR: start
    // ANCHOR: start_sig
    /// Binds the address and starts the service threads (the course's steps 3–4): the CAS
    /// accepting connections and the DRS serving clients.
    ///
    /// # Errors
    /// [`ServerError::State`] if it is already running, [`ServerError::Bind`] if the address
    /// cannot be bound, [`ServerError::Spawn`] if a thread cannot be started;
    /// [`ServerError::Busy`] from inside a callback while another thread's `stop`,
    /// `set_accepting(false)` or `set_keepalive` is under way (chapter 1).
    pub fn start(&self) -> Result<(), ServerError> {
        // ANCHOR_END: start_sig
        let shared = &self.handle.shared;
        let mut services = shared.enter("start")?;
        if shared.flags().contains(ServerFlags::RUNNING) {
            return Err(shared.state_error(StateError::AlreadyRunning));
        }
        let listener = shared.bind()?;
        let bound = listener.local_addr().ok();
        // The wheel first: the first client accepted must find it turning.
        shared
            .keepalive
            .start()
            .map_err(|source| shared.spawn_error(source))?;
        // The DRS before the CAS: a client accepted at once must find the DRS to hand it to.
        shared.routes.open();
        let drs = match shared.start_drs() {
            Ok(drs) => drs,
            Err(e) => {
                shared.stop_keepalive();
                return Err(e);
            }
        };
        let acceptor = match shared.start_acceptor(listener) {
            Ok(acceptor) => acceptor,
            Err(e) => {
                shared.drs().stop_thread(drs);
                shared.drs().clear();
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
        shared.ledger.started();
        // Last: an active client handed over at once must find every service running.
        shared.connectors.start(shared);
        Ok(())
    }
    // ANCHOR_END: start

    // ANCHOR: stop
    // ANCHOR: stop_sig
    /// Stops the server gracefully: stop accepting (the connections the kernel already
    /// completed are accepted first), stop the DRS, report every client disconnected (reason:
    /// server shutdown), give each what was queued for it and a FIN, join every thread.
    /// Returns once all of that is done (waiting at most `Config::linger` for clients that do
    /// not take their output); does nothing on a server that is not running. Called from a
    /// callback while another thread's `stop`, `set_accepting(false)` or `set_keepalive` is
    /// under way (they wait for the server's threads), it returns at once: that call stops
    /// the server.
    pub fn stop(&self) {
        // ANCHOR_END: stop_sig
        let shared = &self.handle.shared;
        // From a callback while a joining call holds the gate: the server is being stopped,
        // or will be by that call.
        let Some(mut services) = shared.services.enter_to_stop() else {
            return;
        };
        if !shared.flags().contains(ServerFlags::RUNNING) {
            return;
        }
        // The connectors and the CAS first, so no new client appears while we empty the DB.
        shared.connectors.stop();
        if let Some(acceptor) = services.acceptor.take() {
            acceptor.stop();
        }
        if let Some(drs) = services.drs.take() {
            shared.drs().stop_thread(drs);
        }
        // Then every client thread: none may start from here on (no new client, no
        // migration), and each leaves between two turns.
        shared.routes.close_dedicated();
        shared.client_threads.join_all();
        shared.stop_keepalive();
        let _ = lock(&shared.state).stop();
        shared.ledger.stopped();
        *lock(&shared.local_addr) = None;
        let leftovers: Vec<Arc<Connection>> =
            shared.db.drain().into_iter().map(|(_, c)| c).collect();
        shared.drs().clear();
        drop(services);
        // No lock of ours is held from here on: the callbacks may call back into the server.
        for conn in &leftovers {
            shared.finish_close(conn, DisconnectReason::ServerShutdown);
        }
        crate::linger::close_gracefully(&leftovers, shared.config.linger);
    }
    // ANCHOR_END: stop
}
