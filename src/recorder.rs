//! The demo application: a [`Handler`] that prints each event as it happens, can echo every
//! message back, and can hand every event to a waiter ([`Events`]). The chapter binaries, the
//! `tcpserver` shell and the tests all use it.
//!
//! Demonstrations and tests wait for *events* (a client connected, a message arrived), each
//! with a timeout, and never for a fixed time: a sleep is either too short on a loaded machine
//! or too long everywhere else. A program that waits on no events (the shell, `--listen`)
//! builds its recorder with [`Recorder::printing`], which keeps nothing: a received message
//! is printed and forgotten, however long the server runs.
//!
//! Lines are printed through [`printer::event`], from the service thread that called back:
//! it only queues the line, so a slow or closed stdout never holds up a server.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientId};
use crate::controller::{Handler, ServerHandle};
use crate::error::DisconnectReason;
use crate::printer;
use crate::state::ClientFlags;

/// One event the server reported to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A client connected.
    Connected(Client),
    /// A client sent a message.
    Message(ClientId, Vec<u8>),
    /// A client was disconnected.
    Disconnected(ClientId, DisconnectReason),
    /// A connection was refused because the server was full.
    Rejected(SocketAddr),
    /// `accept()` failed (the acceptor carries on).
    AcceptError(String),
    /// A connect of the server in client mode failed (chapter 11): the target and the error.
    ConnectFailed(SocketAddr, String),
}

/// What a [`Recorder`] prints as events happen.
#[derive(Clone, Debug, Default)]
pub struct Print {
    /// Printed before every line, e.g. `[ch2]` or `[default]`; `None` prints nothing at all.
    pub prefix: Option<String>,
    /// Also print each message's content (not only connects and disconnects).
    pub messages: bool,
}

// ANCHOR: recorder
/// An application for demos and tests: optionally prints every event, optionally echoes every
/// message back to its sender, and optionally sends every event down a channel to an
/// [`Events`] waiter.
pub struct Recorder {
    /// Where events go, when someone waits for them; a `Sender` is `Sync`, so every server
    /// thread can send at once. `None` keeps nothing, so a long-running server holds no
    /// history.
    events: Option<Sender<Event>>,
    /// What to print.
    print: Print,
    /// Send every message back to the client that sent it.
    echo: bool,
}
// ANCHOR_END: recorder

impl Recorder {
    /// A recorder and the receiving end of its events.
    pub fn new(print: Print, echo: bool) -> (Recorder, Events) {
        let (tx, rx) = mpsc::channel();
        (
            Recorder {
                events: Some(tx),
                print,
                echo,
            },
            Events { rx: Mutex::new(rx) },
        )
    }

    /// A recorder that prints (and echoes) but keeps no events: for programs that wait on
    /// none, such as the shell and `--listen`.
    pub fn printing(print: Print, echo: bool) -> Recorder {
        Recorder {
            events: None,
            print,
            echo,
        }
    }

    /// A recorder that prints nothing and does not echo: what tests use.
    pub fn silent() -> (Recorder, Events) {
        Recorder::new(Print::default(), false)
    }

    fn say(&self, line: fmt::Arguments<'_>) {
        if let Some(prefix) = &self.print.prefix {
            printer::event(format!("{prefix} {line}"));
        }
    }

    fn record(&self, event: impl FnOnce() -> Event) {
        if let Some(events) = &self.events {
            // The waiter may be gone (a demo that ended); nobody needs the event then.
            let _ = events.send(event());
        }
    }
}

impl Handler for Recorder {
    fn connected(&self, server: &ServerHandle, client: &Client) {
        if self.print.prefix.is_some() {
            let active = server
                .client_info(client.id)
                .is_some_and(|info| info.flags.contains(ClientFlags::ACTIVE));
            if active {
                self.say(format_args!(
                    "client {} connected to {} (active: this server dialled it)",
                    client.id, client.peer_addr
                ));
            } else {
                self.say(format_args!(
                    "client {} connected from {}",
                    client.id, client.peer_addr
                ));
            }
        }
        self.record(|| Event::Connected(client.clone()));
    }

    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        // Checked first: the escaped text would be made even if nothing is printed.
        if self.print.messages && self.print.prefix.is_some() {
            self.say(format_args!(
                "client {} sent {}: {}",
                client.id,
                crate::wording::plural(message.len() as u64, "byte"),
                printable_prefix(message, SHOWN_BYTES)
            ));
        }
        if self.echo {
            if let Err(e) = server.send(client.id, message) {
                self.say(format_args!("echo to client {} failed: {e}", client.id));
            }
        }
        self.record(|| Event::Message(client.id, message.to_vec()));
    }

    fn disconnected(&self, _server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        self.say(format_args!(
            "client {} ({}) disconnected: {reason}",
            client.id, client.peer_addr
        ));
        self.record(|| Event::Disconnected(client.id, reason.clone()));
    }

    fn rejected(&self, _server: &ServerHandle, peer: SocketAddr, why: &str) {
        self.say(format_args!("connection from {peer} refused: {why}"));
        self.record(|| Event::Rejected(peer));
    }

    fn accept_error(&self, _server: &ServerHandle, error: &io::Error) {
        self.say(format_args!("accept() failed, backing off: {error}"));
        self.record(|| Event::AcceptError(error.to_string()));
    }

    fn connect_failed(
        &self,
        _server: &ServerHandle,
        target: SocketAddr,
        error: &io::Error,
        retry_in: Option<Duration>,
    ) {
        match retry_in {
            Some(retry) => self.say(format_args!(
                "connect to {target} failed: {error}; retrying in {} s",
                retry.as_secs_f64()
            )),
            None => self.say(format_args!(
                "connect to {target} failed: {error}; giving up"
            )),
        }
        self.record(|| Event::ConnectFailed(target, error.to_string()));
    }
}

/// Shows bytes as text where they are text: `"hello\n"` → `hello\n`, others as `\xNN`.
pub fn printable(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// How much of a message an event line shows. A line is text for a person; capping it also
/// caps what the printer's queue can hold (its lines times this, four times over when every
/// byte is escaped), however large the messages a client sends.
pub const SHOWN_BYTES: usize = 1024;

/// [`printable`] of at most the first `max` bytes, followed by how many were left out.
pub fn printable_prefix(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return printable(bytes);
    }
    let left = bytes.len() - max;
    let noun = if left == 1 { "byte" } else { "bytes" };
    format!("{}... ({left} more {noun})", printable(&bytes[..max]))
}

// ANCHOR: events
/// The waiting side of a [`Recorder`]: every `expect_*` waits for the next event up to a
/// timeout and says what it got instead when it is not the expected one.
pub struct Events {
    rx: Mutex<Receiver<Event>>,
}
// ANCHOR_END: events

/// The event an `expect_*` waited for did not come: another came first, or none in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnexpectedEvent {
    /// What was awaited, e.g. "a client to connect".
    pub expected: &'static str,
    /// What came instead; `None` when nothing came before the timeout.
    pub got: Option<Event>,
}

impl fmt::Display for UnexpectedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.got {
            Some(event) => write!(f, "expected {}, got {event:?}", self.expected),
            None => write!(
                f,
                "expected {}, got nothing within the timeout",
                self.expected
            ),
        }
    }
}

impl std::error::Error for UnexpectedEvent {}

impl Events {
    /// The next event, or `None` after `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Event> {
        self.rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recv_timeout(timeout)
            .ok()
    }

    /// Waits for the next event and requires it to be a connect.
    ///
    /// # Errors
    /// [`UnexpectedEvent`] holding what came instead, or nothing after the timeout.
    pub fn expect_connected(&self, timeout: Duration) -> Result<Client, UnexpectedEvent> {
        match self.next(timeout) {
            Some(Event::Connected(c)) => Ok(c),
            got => Err(UnexpectedEvent {
                expected: "a client to connect",
                got,
            }),
        }
    }

    /// Waits for the next event and requires it to be a message.
    ///
    /// # Errors
    /// [`UnexpectedEvent`] holding what came instead, or nothing after the timeout.
    pub fn expect_message(
        &self,
        timeout: Duration,
    ) -> Result<(ClientId, Vec<u8>), UnexpectedEvent> {
        match self.next(timeout) {
            Some(Event::Message(id, m)) => Ok((id, m)),
            got => Err(UnexpectedEvent {
                expected: "a message",
                got,
            }),
        }
    }

    /// Waits for the next event and requires it to be a disconnect.
    ///
    /// # Errors
    /// [`UnexpectedEvent`] holding what came instead, or nothing after the timeout.
    pub fn expect_disconnected(
        &self,
        timeout: Duration,
    ) -> Result<(ClientId, DisconnectReason), UnexpectedEvent> {
        match self.next(timeout) {
            Some(Event::Disconnected(id, r)) => Ok((id, r)),
            got => Err(UnexpectedEvent {
                expected: "a disconnect",
                got,
            }),
        }
    }

    /// Collects events until `pred` has been true `count` times or `timeout` passes; returns
    /// every event seen.
    pub fn collect_until(
        &self,
        count: usize,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut hits = 0;
        while hits < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(e) = self.next(left) else { break };
            if pred(&e) {
                hits += 1;
            }
            seen.push(e);
        }
        seen
    }

    /// True when no event arrives within `quiet`.
    pub fn nothing_more_within(&self, quiet: Duration) -> bool {
        self.next(quiet).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long message is shown cut short, saying how much was left out; a short one whole.
    #[test]
    fn long_messages_are_cut_short() {
        assert_eq!(printable_prefix(b"hi\n", 8), "hi\\n");
        assert_eq!(printable_prefix(b"0123456789", 4), "0123... (6 more bytes)");
    }
}
