//! The errors of the library's public API, typed, each with its `source()`: why a client was
//! disconnected ([`DisconnectReason`]), why a server could not start or change
//! ([`ServerError`]), why a message could not be queued ([`SendError`]).
//!
//! Every message names what was wrong and what was expected, so that a line printed by the
//! application is enough to act on.

use std::fmt;
use std::io;

use crate::client::ClientId;
use crate::demarcation::{FrameError, ProtocolError};
use crate::state::StateError;

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
    /// The client broke the framing rules (or took too long to finish a message); the
    /// connection cannot be trusted any more.
    Protocol(ProtocolError),
    /// Reading or writing the socket failed (for example, connection reset by peer).
    Io {
        /// The error's kind, for programs to match on.
        kind: io::ErrorKind,
        /// The error as the OS described it, for people.
        message: String,
    },
    /// An application callback about this client panicked; the client is dropped so the
    /// thread that serves everyone goes on.
    HandlerPanicked {
        /// The panic's message, when it had one.
        message: String,
    },
    /// The server was stopped (`stop()`, `abort`, Ctrl-C, or the server was dropped).
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

    /// True when the socket is broken and nothing more can be written to it: the close skips
    /// the flush and the lingering drain.
    pub(crate) fn socket_is_broken(&self) -> bool {
        matches!(self, DisconnectReason::Io { .. })
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
            DisconnectReason::HandlerPanicked { message } => {
                write!(f, "handler panicked: {message}")
            }
            DisconnectReason::ServerShutdown => f.write_str("server shutdown"),
        }
    }
}

/// What went wrong starting, stopping or reconfiguring a server.
#[derive(Debug)]
pub enum ServerError {
    /// The address given could not be turned into a socket address.
    Resolve {
        /// The server's name.
        server: String,
        /// The address as given.
        addr: String,
        /// Why it did not resolve.
        source: io::Error,
    },
    /// `bind`/`listen` failed, for example because the port is in use.
    Bind {
        /// The server's name.
        server: String,
        /// The address as given.
        addr: String,
        /// What the OS said.
        source: io::Error,
    },
    /// A service thread or its waker could not be created.
    Spawn {
        /// The server's name.
        server: String,
        /// What the OS said.
        source: io::Error,
    },
    /// The request does not fit the server's state (start twice, disable on a stopped server).
    State {
        /// The server's name.
        server: String,
        /// Which rule of the state machine (chapter 7) was broken.
        error: StateError,
    },
    /// A running server's address cannot change.
    Running {
        /// The server's name.
        server: String,
    },
    /// A call made from inside a callback was refused: another thread's call was under way
    /// that waits for the server's threads, perhaps for the one running this callback, so
    /// waiting for it could never end. Nothing was changed.
    Busy {
        /// The server's name.
        server: String,
        /// The call refused (`set_listening`, `start` …).
        call: &'static str,
        /// The call under way on another thread (`stop`, `set_accepting`, `set_keepalive`).
        under_way: &'static str,
    },
    /// A client could not be moved between the DRS and a thread of its own (chapter 10).
    Migrate {
        /// The server's name.
        server: String,
        /// The client.
        client: ClientId,
        /// Why not.
        why: MigrateError,
    },
}

// ANCHOR: migrate_error
/// Why a client was not migrated. It stays where it was, and connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MigrateError {
    /// The server is not running (or is stopping).
    NotRunning,
    /// No such client: never connected, or already gone.
    NoSuchClient,
    /// No thread could be started for it (the system's limit on threads or descriptors).
    NoThread(String),
    /// The thread serving it did not let go of it in time (a callback of its is slow).
    TimedOut,
}
// ANCHOR_END: migrate_error

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::NotRunning => f.write_str("the server is not running"),
            MigrateError::NoSuchClient => f.write_str("no such client (it may have just left)"),
            MigrateError::NoThread(e) => write!(f, "no thread could be started for it: {e}"),
            MigrateError::TimedOut => f.write_str(
                "the thread serving it did not let go of it within 5 s (a slow callback?)",
            ),
        }
    }
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
            ServerError::Busy {
                server,
                call,
                under_way,
            } => write!(
                f,
                "tcp-server \"{server}\": {call} refused inside a callback: {under_way} is under way on another thread and waits for the server's threads, perhaps for this one; call {call} from a thread of the application's, or after the callback has returned"
            ),
            ServerError::Migrate { server, client, why } => write!(
                f,
                "tcp-server \"{server}\": client {client} was not migrated: {why}"
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
            ServerError::Running { .. }
            | ServerError::Busy { .. }
            | ServerError::Migrate { .. } => None,
        }
    }
}

// ANCHOR: send_error
/// Why a message could not be queued for a client. Nothing of the message was queued, and
/// the client stays connected: the caller may retry later or disconnect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No such client (never connected, or already disconnected).
    NoSuchClient(ClientId),
    /// The client's output queue would pass its bound (`Config::max_output`): the client is
    /// not reading fast enough.
    QueueFull {
        /// The client.
        id: ClientId,
        /// Bytes already queued for it.
        queued: usize,
        /// Bytes of the refused message, framed.
        message: usize,
        /// The per-client bound.
        limit: usize,
    },
    /// Output queued for all clients together would pass the server-wide bound
    /// (`Config::max_total_output`): too many clients are not reading. A client whose queue
    /// is empty is never refused for this.
    ServerQueueFull {
        /// The client.
        id: ClientId,
        /// Bytes queued for every client together.
        total: usize,
        /// Bytes of the refused message, framed.
        message: usize,
        /// The server-wide bound.
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
            SendError::ServerQueueFull {
                id,
                total,
                message,
                limit,
            } => write!(
                f,
                "cannot queue {message} bytes for client {id}: {total} bytes are queued for all clients together, the server's bound is {limit} bytes (clients are not reading)"
            ),
            SendError::Frame(e) => write!(f, "cannot frame the message: {e}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Frame(e) => Some(e),
            _ => None,
        }
    }
}
// ANCHOR_END: send_error

// ANCHOR: connect_error
/// Why a connect target (chapter 11, the server in client mode) could not be added or
/// removed.
#[derive(Debug)]
pub enum ConnectError {
    /// The target address could not be turned into a socket address.
    Resolve {
        /// The server's name.
        server: String,
        /// The address as given.
        addr: String,
        /// Why it did not resolve.
        source: io::Error,
    },
    /// The target is the server's own listening address: the server would accept its own
    /// connection and talk to itself.
    OwnAddress {
        /// The server's name.
        server: String,
        /// The target.
        target: std::net::SocketAddr,
    },
    /// The server already connects to this target.
    AlreadyConnecting {
        /// The server's name.
        server: String,
        /// The target.
        target: std::net::SocketAddr,
    },
    /// `cancel_connect` of a target the server does not connect to.
    NotConnecting {
        /// The server's name.
        server: String,
        /// The target.
        target: std::net::SocketAddr,
    },
    /// The target's connector thread could not be started.
    Spawn {
        /// The server's name.
        server: String,
        /// What the OS said.
        source: io::Error,
    },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Resolve {
                server,
                addr,
                source,
            } => write!(
                f,
                "tcp-server \"{server}\": cannot resolve the connect target {addr:?} ({source}); expected an address such as 127.0.0.1:40001"
            ),
            ConnectError::OwnAddress { server, target } => write!(
                f,
                "tcp-server \"{server}\" listens on {target} itself; a server does not connect to its own listening address (expected another server's address)"
            ),
            ConnectError::AlreadyConnecting { server, target } => write!(
                f,
                "tcp-server \"{server}\" already connects to {target}; `no connect` removes it"
            ),
            ConnectError::NotConnecting { server, target } => write!(
                f,
                "tcp-server \"{server}\" does not connect to {target}; `show tcp-server {server}` lists its connect targets"
            ),
            ConnectError::Spawn { server, source } => write!(
                f,
                "tcp-server \"{server}\": cannot start a connector thread: {source}"
            ),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Resolve { source, .. } | ConnectError::Spawn { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}
// ANCHOR_END: connect_error
