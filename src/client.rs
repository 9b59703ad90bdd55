//! Chapter 1 — the client record (the course's `TcpClient`).
//!
//! Every accepted connection becomes one client: who it is (an id the server hands out, the
//! peer's address and port), which of our addresses it reached, and since when. The course's
//! `TcpClient` also holds the socket and a pointer back to its controller; we keep those in
//! the server's private connection object, so that what the application is handed is plain
//! data it can copy, print and keep without holding a socket open.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

// ANCHOR: client
/// Identifies one client of one server for as long as the server lives; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// What the server knows about one connected client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// Handed out by the server in connection order, starting at 1.
    pub id: ClientId,
    /// The client's address and port: the course's `ip_addr` and `port_no`, and the key the
    /// CLI uses to name a client (`client disconnect <ip> <port>`).
    pub peer_addr: SocketAddr,
    /// Our end of the connection; with several addresses or servers it tells which was hit.
    pub local_addr: SocketAddr,
    /// Wall-clock time of the accept, for display.
    pub connected_at: SystemTime,
    /// Monotonic time of the accept, to measure how long it has been connected.
    pub connected_since: Instant,
}
// ANCHOR_END: client

impl Client {
    /// A record for a connection accepted just now.
    pub fn new(id: ClientId, peer_addr: SocketAddr, local_addr: SocketAddr) -> Client {
        Client {
            id,
            peer_addr,
            local_addr,
            connected_at: SystemTime::now(),
            connected_since: Instant::now(),
        }
    }

    /// How long the client has been connected.
    pub fn connected_for(&self) -> Duration {
        self.connected_since.elapsed()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

// ANCHOR: display
impl fmt::Display for Client {
    /// One line, as `show tcp-server` lists clients: `#3 127.0.0.1:53012 (connected 12s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (connected {}s)",
            self.id,
            self.peer_addr,
            self.connected_for().as_secs()
        )
    }
}
// ANCHOR_END: display
