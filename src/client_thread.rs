//! Chapter 10 — multi-threaded clients (the course's `TcpClient::StartThread` and
//! `ClientThreadFunction`, and the controller's `ProcessClientMigrationToMultiThreaded` /
//! `ProcessClientMigrationToMultiplex`).
//!
//! A client may be served by the DRS, with every other client (*multiplexed*), or by a
//! thread of its own (*threaded*). The course's client thread sits in a blocking `recv` on
//! its socket; a thread blocked there can only be stopped by cancelling it or closing the
//! socket under it, which is why the course cannot move a client back to the DRS without
//! tearing something down. Ours is a small DRS of its own: it waits in a `poll` on its
//! client's socket and on a waker of its own, so it can be asked to stop, or to hand its
//! client back, between two turns — and it serves its client with the same code as the DRS
//! (framing, backpressure, fair turns, lingering close, the same callbacks and reasons).
//!
//! This module keeps the controller's side: starting client threads and joining them. The
//! hand-over itself is the DRS's business (`multiplexer::handover`).

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crate::connection::{lock, OutputBudget};
use crate::multiplexer::{self, DrsHost, DrsLink, DrsSettings, Routes};
use crate::poller::{Poller, PollerKind};

// ANCHOR: client_mode
/// How a client is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientMode {
    /// By the DRS, in one `poll`/`epoll` with every other multiplexed client.
    Multiplexed,
    /// By a thread of its own.
    Threaded,
}
// ANCHOR_END: client_mode

impl fmt::Display for ClientMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientMode::Multiplexed => "multiplexed",
            ClientMode::Threaded => "threaded",
        })
    }
}

/// A word that names no [`ClientMode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseModeError(pub String);

impl fmt::Display for ParseModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown client mode \"{}\": expected threaded or multiplexed",
            self.0
        )
    }
}

impl std::error::Error for ParseModeError {}

impl FromStr for ClientMode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<ClientMode, ParseModeError> {
        match s {
            "threaded" | "multi-threaded" => Ok(ClientMode::Threaded),
            "multiplexed" | "multiplex" => Ok(ClientMode::Multiplexed),
            other => Err(ParseModeError(other.chars().take(40).collect())),
        }
    }
}

/// The client threads of one server, so that `stop` can join every one of them.
#[derive(Default)]
pub(crate) struct ClientThreads {
    /// Threads started and not yet joined. A thread whose client left ends by itself; its
    /// handle is joined the next time a thread starts, or at `stop`.
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl ClientThreads {
    // ANCHOR: spawn
    /// Starts a client thread: a DRS of its own, waiting in a `poll` on its waker (and, once
    /// it is handed one, its client). Its mailbox, or `None` while the server stops.
    /// `reading` says whether clients are listened to now (asked under the routes' lock).
    ///
    /// # Errors
    /// The waker, the poll set or the thread could not be made (out of descriptors or
    /// threads).
    pub(crate) fn spawn<H: DrsHost>(
        &self,
        name: &str,
        host: Arc<H>,
        routes: &Arc<Routes>,
        budget: &Arc<OutputBudget>,
        settings: DrsSettings,
        reading: impl FnOnce() -> bool,
    ) -> io::Result<Option<Arc<DrsLink>>> {
        let mut handles = lock(&self.handles);
        handles.retain(|h| !h.is_finished());
        let Some((link, reading)) = routes.add(reading)? else {
            return Ok(None);
        };
        let number = link.number();
        let started = link
            .new_poller(PollerKind::Poll)
            .and_then(|poller: Poller| {
                let (link, routes, budget) =
                    (Arc::clone(&link), Arc::clone(routes), Arc::clone(budget));
                thread::Builder::new()
                    .name(format!("client-{name}-{number}"))
                    .spawn(move || {
                        multiplexer::run(host, link, routes, budget, settings, poller, reading)
                    })
            });
        match started {
            Ok(handle) => {
                handles.push(handle);
                Ok(Some(link))
            }
            Err(e) => {
                routes.remove(number);
                Err(e)
            }
        }
    }
    // ANCHOR_END: spawn

    /// Joins every client thread (the caller asked them to leave), except the calling one:
    /// a thread cannot wait for itself (a callback stopping the server); it leaves as soon
    /// as that callback returns.
    pub(crate) fn join_all(&self) {
        let handles = std::mem::take(&mut *lock(&self.handles));
        let me = thread::current().id();
        for handle in handles {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }
}
