//! What `show tcp-server` prints, as data: [`ClientInfo`] for one client, [`ServerInfo`] for
//! a server and its clients, [`ServerStats`] for every counter (chapter 9). The controller fills them in; their `Display` is the course's
//! `show` output, so a program and a person read the same figures.

use std::fmt;
use std::time::Duration;

use crate::client::Client;
use crate::connector::ConnectTarget;
use crate::demarcation::Framing;
use crate::keepalive::KeepAliveConfig;
use crate::poller::PollerKind;
use crate::state::{ClientFlags, ServerFlags};
use crate::stats::{Disconnects, Traffic};

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
    /// Bytes queued and not yet written.
    pub queued_output: usize,
    /// Bytes received and waiting for the rest of their message (or for their turn).
    pub buffered_input: usize,
    /// The DRS is not reading this client until its queued output drains (backpressure).
    pub reading_paused: bool,
    /// Keep-alive frames sent to the client.
    pub keepalives_out: u64,
    /// Keep-alive frames (empty messages) received from the client.
    pub keepalives_in: u64,
    /// How long the client has been connected, as of the snapshot.
    pub connected_for: Duration,
    /// How long ago bytes last came in from the client; `None` if none ever did.
    pub last_heard: Option<Duration>,
    /// Time left before the keep-alive hold timer expires, when keep-alive is on.
    pub hold_remaining: Option<Duration>,
    /// The client's state flags (chapter 7).
    pub flags: ClientFlags,
}

/// A snapshot of one server: what `show tcp-server <name>` prints.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    /// The server's name.
    pub name: String,
    /// The address listened on, or the configured one followed by "(not started)".
    pub addr: String,
    /// Its state flags.
    pub flags: ServerFlags,
    /// The framing in force.
    pub framing: Framing,
    /// What the DRS waits in.
    pub poller: PollerKind,
    /// The message timeout, when on.
    pub message_timeout: Option<Duration>,
    /// Keep-alive settings, when on.
    pub keepalive: Option<KeepAliveConfig>,
    /// The connection cap.
    pub max_clients: usize,
    /// Output queued for all clients together, and the server-wide bound.
    pub queued_output: (usize, usize),
    /// Sockets closed by the server and still lingering (flushing, draining).
    pub lingering: usize,
    /// Every connected client, in id order.
    pub clients: Vec<ClientInfo>,
    /// Where the server connects to (chapter 11) and how each connect stands.
    pub connect_targets: Vec<ConnectTarget>,
}

// ANCHOR: show
impl fmt::Display for ServerInfo {
    /// The course's `show tcp-server`: name, address, state flags, settings, clients.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tcp-server \"{}\" on {}", self.name, self.addr)?;
        writeln!(
            f,
            "  state:     {}  (course: {})",
            self.flags,
            course_letters(self.flags)
        )?;
        writeln!(f, "  framing:   {}", self.framing)?;
        writeln!(f, "  poller:    {}", self.poller)?;
        if let Some(t) = self.message_timeout {
            writeln!(f, "  message timeout: {} ms", t.as_millis())?;
        }
        if let Some(ka) = &self.keepalive {
            writeln!(f, "  keepalive: {ka}")?;
        }
        let paused = self.clients.iter().filter(|c| c.reading_paused).count();
        writeln!(
            f,
            "  output:    {} B queued in all (bound {} B), {paused} client{} paused",
            self.queued_output.0,
            self.queued_output.1,
            if paused == 1 { "" } else { "s" }
        )?;
        writeln!(
            f,
            "  clients:   {} connected (max {}), {} closing",
            self.clients.len(),
            self.max_clients,
            self.lingering
        )?;
        for info in &self.clients {
            writeln!(f, "    {info}")?;
        }
        for target in &self.connect_targets {
            writeln!(f, "  connect:   {target}")?;
        }
        Ok(())
    }
}
// ANCHOR_END: show

impl ClientInfo {
    // ANCHOR: mode
    /// How the client is served: `multiplexed` (by the DRS) or `threaded` (by a thread of its
    /// own, chapter 10), with `active` beside it when the server opened the connection itself
    /// (chapter 11).
    pub fn mode(&self) -> &'static str {
        let threaded = self.flags.contains(ClientFlags::MULTI_THREADED);
        match (threaded, self.flags.contains(ClientFlags::ACTIVE)) {
            (false, false) => "multiplexed",
            (true, false) => "threaded",
            (false, true) => "multiplexed active",
            (true, true) => "threaded active",
        }
    }
    // ANCHOR_END: mode
}

/// The course's `show` letters for a server's flags: `I R Acc L` (initialized, running,
/// accepting, listening), each negated as `Not-…` when off, and `M` when new clients get a
/// thread of their own.
pub fn course_letters(flags: ServerFlags) -> String {
    let pick = |on: bool, yes: &str, no: &str| if on { yes.to_string() } else { no.to_string() };
    let mut letters = [
        pick(flags.contains(ServerFlags::INITIALIZED), "I", "Not-I"),
        pick(flags.contains(ServerFlags::RUNNING), "R", "Not-R"),
        pick(flags.contains(ServerFlags::NOT_ACCEPTING), "Not-Acc", "Acc"),
        pick(flags.contains(ServerFlags::NOT_LISTENING), "Not-L", "L"),
    ]
    .join(" ");
    if flags.contains(ServerFlags::MULTI_THREADED_CLIENTS) {
        letters.push_str(" M");
    }
    letters
}

impl fmt::Display for ClientInfo {
    /// One line of `show`: the client, its flags, its counters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {}  [{}]  in {} B/{} msg  out {} B/{} msg  queued {} B",
            self.client,
            self.mode(),
            self.flags,
            self.bytes_in,
            self.messages_in,
            self.bytes_out,
            self.messages_out,
            self.queued_output
        )?;
        if self.reading_paused {
            f.write_str("  (reading paused: output backed up)")?;
        }
        if let Some(left) = self.hold_remaining {
            write!(f, "  hold {:.1}s", left.as_secs_f64())?;
        }
        Ok(())
    }
}

// ANCHOR: server_stats
/// Every counter of one server, as `show tcp-server <name> stats` prints it.
///
/// Connections refused while accepting is disabled are not here: the listening socket is
/// closed then (chapter 7), so the kernel refuses them and the server never sees them.
#[derive(Clone, Debug)]
pub struct ServerStats {
    /// The server's name.
    pub name: String,
    /// Time since the server was last started; `None` while it is stopped.
    pub uptime: Option<Duration>,
    /// The connection cap.
    pub max_clients: usize,
    /// Connections `accept()` returned. With [`connected`](Self::connected) they make
    /// `clients_ever + rejected + blacklisted + failed`, once the connections being handed
    /// over as the counters are read have been.
    pub accepted: u64,
    /// Connections the server made itself, as a client (chapter 11): they go through the
    /// same admission as the accepted ones.
    pub connected: u64,
    /// Connections that became clients.
    pub clients_ever: u64,
    /// Connections closed at once because the server held `max_clients` clients.
    pub rejected: u64,
    /// Connections closed at once because their address is black-listed.
    pub blacklisted: u64,
    /// Connections whose socket could not be set up.
    pub failed: u64,
    /// Clients gone, by kind of reason; `clients_ever` is their total plus the clients now.
    pub disconnects: Disconnects,
    /// The traffic of every client the server ever had, the departed and the connected.
    pub traffic: Traffic,
    /// Connections the server still holds: the clients now, and those whose close is still
    /// in progress (flushing what they were owed, lingering). None after `stop()`: what this
    /// counts is memory and descriptors not yet given back.
    pub connections_held: usize,
    /// Every connected client, in id order.
    pub clients: Vec<ClientInfo>,
}
// ANCHOR_END: server_stats

/// `1.2 s`.
fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl fmt::Display for ServerStats {
    /// The full counters, one subject a line, then one line per client.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let up = match self.uptime {
            Some(d) => format!("up {}", secs(d)),
            None => "stopped".to_string(),
        };
        writeln!(f, "tcp-server \"{}\" counters ({up})", self.name)?;
        writeln!(
            f,
            "  clients:      {} connected now, {} ever; {} connections held",
            self.clients.len(),
            self.clients_ever,
            self.connections_held
        )?;
        // Connections made as a client only show on a server that made some (chapter 11).
        let connected = match self.connected {
            0 => String::new(),
            n => format!(", connected as a client: {n}"),
        };
        writeln!(
            f,
            "  accepted:     {}{connected} ({} became clients, {} rejected at the cap of {}, {} black-listed, {} failed set-up)",
            self.accepted,
            self.clients_ever,
            self.rejected,
            self.max_clients,
            self.blacklisted,
            self.failed
        )?;
        writeln!(
            f,
            "  refused while not accepting: not counted (the port is closed then; the kernel refuses them)"
        )?;
        writeln!(f, "  disconnects:  {}", self.disconnects)?;
        let t = &self.traffic;
        writeln!(
            f,
            "  in:           {} B, {} messages, {} keep-alives",
            t.bytes_in, t.messages_in, t.keepalives_in
        )?;
        writeln!(
            f,
            "  out:          {} B, {} messages, {} keep-alives",
            t.bytes_out, t.messages_out, t.keepalives_out
        )?;
        for c in &self.clients {
            let heard = match c.last_heard {
                Some(d) => format!("{} ago", secs(d)),
                None => "never".to_string(),
            };
            writeln!(
                f,
                "    {} {}  {}  connected {} ago, heard {heard}  in {} B/{} msg/{} ka  out {} B/{} msg/{} ka  queued {} B",
                c.client.id,
                c.client.peer_addr,
                c.mode(),
                secs(c.connected_for),
                c.bytes_in,
                c.messages_in,
                c.keepalives_in,
                c.bytes_out,
                c.messages_out,
                c.keepalives_out,
                c.queued_output
            )?;
        }
        Ok(())
    }
}
