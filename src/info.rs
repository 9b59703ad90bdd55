//! What `show tcp-server` prints, as data: [`ClientInfo`] for one client, [`ServerInfo`] for
//! a server and its clients. The controller fills them in; their `Display` is the course's
//! `show` output, so a program and a person read the same figures.

use std::fmt;
use std::time::Duration;

use crate::client::Client;
use crate::connector::ConnectTarget;
use crate::demarcation::Framing;
use crate::keepalive::KeepAliveConfig;
use crate::poller::PollerKind;
use crate::state::{ClientFlags, ServerFlags};

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
        writeln!(f, "  state:     {}", self.flags)?;
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

impl fmt::Display for ClientInfo {
    /// One line of `show`: the client, its flags, its counters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  [{}]  in {} B/{} msg  out {} B/{} msg  queued {} B",
            self.client,
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
