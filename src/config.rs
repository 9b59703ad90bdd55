//! The server's settings ([`Config`]), as a server is created. Two of them can change while it
//! runs: the connection cap (`TcpServer::set_max_clients`) and keep-alive
//! (`TcpServer::set_keepalive`); the rest are fixed for the server's life.
//!
//! Every bound the server keeps is here, with the reason for its default: how many clients,
//! how much output may wait for slow readers (per client and for the whole server), how much
//! work one client gets per DRS turn, how long a close may linger. A production server tunes
//! them; the defaults suit both the course's demos and a few thousand real clients.

use std::time::Duration;

use crate::demarcation::Framing;
use crate::keepalive::KeepAliveConfig;
use crate::poller::PollerKind;

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
    /// `Handler::rejected`). Connections whose peer has already gone are reaped before a new
    /// one is refused. The initial value: `TcpServer::set_max_clients` changes it.
    pub max_clients: usize,
    /// Backpressure: when a client's queued output reaches this many bytes, the DRS stops
    /// reading from it (TCP's flow control then slows the sender) until the queue drains to
    /// [`output_low_water`](Self::output_low_water). Nothing the client sent is dropped.
    pub output_high_water: usize,
    /// Backpressure: the queue length at which a paused client is read again.
    pub output_low_water: usize,
    /// Per-client bound on queued output for sends that are not replies: a `send` from
    /// another thread (or about another client) that would pass it fails with
    /// `SendError::QueueFull`. A reply queued from inside `message` to the client being
    /// served is never refused: backpressure already bounds it.
    pub max_output: usize,
    /// Server-wide bound on queued output, all clients together. Past it, reading pauses for
    /// every client with output waiting (the largest queues among them) until the total is
    /// back under seven eighths of it, so the total passes it by at most one turn's replies
    /// per client; sends that are not replies fail with `SendError::ServerQueueFull` unless
    /// the client's queue is empty.
    pub max_total_output: usize,
    /// Capacity of each client's receive circular buffer (bytes); raised if the framing's
    /// maximum message needs more.
    pub read_buffer: usize,
    /// Fair turns: the most bytes the DRS reads from one client before it serves the next.
    pub turn_bytes: usize,
    /// Fair turns: the most messages the DRS delivers from one client before it serves the
    /// next; what is left waits for the client's next turn.
    pub turn_messages: usize,
    /// A message started and not completed within this time is a protocol error
    /// ("message timeout"): it stops a peer from holding a buffer by trickling a header byte
    /// by byte. `None` (the library's default) never times out; `tcpserver` uses 30 s.
    pub message_timeout: Option<Duration>,
    /// How long a close the server initiates may linger: queued output is flushed, the
    /// socket half-closed, and the peer's input discarded until its FIN or this deadline.
    pub linger: Duration,
    /// The most sockets lingering at once; past it, a close does not linger.
    pub max_lingering: usize,
    /// How each client's byte stream is cut into messages (chapter 6).
    pub framing: Framing,
    /// Which kernel call the DRS waits in: `epoll` on Linux (cost grows with the ready
    /// clients), `poll` elsewhere and on request (portable; cost grows with all clients).
    pub poller: PollerKind,
    /// Keep-alive (chapter 8); `None` disables it. The initial value:
    /// `TcpServer::set_keepalive` changes it, on a running server too.
    pub keepalive: Option<KeepAliveConfig>,
    /// The server in client mode (chapter 11): how long a connector waits after a failed
    /// connect (and after its connection ended) before it tries again. 10 s, the course's
    /// interval: long enough that a peer that is down is not flooded with SYNs, short enough
    /// that a peer that is back is found soon. Fractions are allowed (tests use 100 ms);
    /// below `connector::MIN_CONNECT_RETRY` it is raised to it. `TcpServer::set_connect_retry`
    /// changes it while running.
    pub connect_retry: Duration,
    /// Whether a connection the server made is made again after it ends (after
    /// `connect_retry`). On by default, as in the course: a server that dials a peer usually
    /// needs that peer for as long as it runs.
    pub reconnect: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backlog: 4096,
            max_clients: 10_000,
            // 128 KiB waiting per client is several round trips of a fast reader; 200 clients
            // that never read then hold ~40 MiB, well under the server-wide bound.
            output_high_water: 128 * 1024,
            output_low_water: 32 * 1024,
            max_output: 1024 * 1024,
            max_total_output: 64 * 1024 * 1024,
            read_buffer: 4096,
            turn_bytes: 64 * 1024,
            turn_messages: 64,
            message_timeout: None,
            linger: Duration::from_secs(2),
            max_lingering: 1024,
            framing: Framing::None,
            poller: PollerKind::default(),
            keepalive: None,
            connect_retry: Duration::from_secs(10),
            reconnect: true,
        }
    }
}
// ANCHOR_END: config
