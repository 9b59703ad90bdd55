//! Helpers shared by the chapter binaries (`cargo run --bin chN`), the `tcpserver` shell and
//! the tests: an application ([`Recorder`]) that prints each event as it happens and hands it
//! to whoever waits for it, and the `--listen ADDR` mode every chapter binary offers.
//!
//! Demonstrations and tests wait for *events* (a client connected, a message arrived), each
//! with a timeout, and never for a fixed time: a sleep is either too short on a loaded machine
//! or too long everywhere else.

use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientId};
use crate::config::Config;
use crate::controller::{Handler, ServerHandle, TcpServer};
use crate::error::DisconnectReason;

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
/// message back to its sender, and sends every event down a channel to an [`Events`] waiter.
pub struct Recorder {
    /// Where events go; a `Sender` is `Sync`, so every server thread can send at once.
    events: Sender<Event>,
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
                events: tx,
                print,
                echo,
            },
            Events { rx: Mutex::new(rx) },
        )
    }

    /// A recorder that prints nothing and does not echo: what tests use.
    pub fn silent() -> (Recorder, Events) {
        Recorder::new(Print::default(), false)
    }

    fn say(&self, line: std::fmt::Arguments<'_>) {
        if let Some(prefix) = &self.print.prefix {
            println!("{prefix} {line}");
        }
    }
}

impl Handler for Recorder {
    fn connected(&self, _server: &ServerHandle, client: &Client) {
        self.say(format_args!(
            "client {} connected from {}",
            client.id, client.peer_addr
        ));
        let _ = self.events.send(Event::Connected(client.clone()));
    }

    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        if self.print.messages {
            self.say(format_args!(
                "client {} sent {} bytes: {}",
                client.id,
                message.len(),
                printable(message)
            ));
        }
        if self.echo {
            if let Err(e) = server.send(client.id, message) {
                self.say(format_args!("echo to client {} failed: {e}", client.id));
            }
        }
        let _ = self
            .events
            .send(Event::Message(client.id, message.to_vec()));
    }

    fn disconnected(&self, _server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        self.say(format_args!(
            "client {} ({}) disconnected: {reason}",
            client.id, client.peer_addr
        ));
        let _ = self
            .events
            .send(Event::Disconnected(client.id, reason.clone()));
    }

    fn rejected(&self, _server: &ServerHandle, peer: SocketAddr, why: &str) {
        self.say(format_args!("connection from {peer} refused: {why}"));
        let _ = self.events.send(Event::Rejected(peer));
    }

    fn accept_error(&self, _server: &ServerHandle, error: &io::Error) {
        self.say(format_args!("accept() failed, backing off: {error}"));
        let _ = self.events.send(Event::AcceptError(error.to_string()));
    }
}

/// Prints `show tcp-server <name>` under a chapter's prefix, each line marked `|`.
pub fn print_show(prefix: &str, server: &ServerHandle) {
    println!("{prefix}   show tcp-server {}:", server.name());
    for line in server.show().lines() {
        println!("{prefix}   | {line}");
    }
}

/// Shows bytes as text where they are text: `"hello\n"` → `hello\n`, others as `\xNN`.
pub fn printable(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

// ANCHOR: events
/// The waiting side of a [`Recorder`]: every `expect_*` waits for the next event up to a
/// timeout and says what it got instead when it is not the expected one.
pub struct Events {
    rx: Mutex<Receiver<Event>>,
}
// ANCHOR_END: events

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
    /// A description of what came instead, or of the timeout.
    pub fn expect_connected(&self, timeout: Duration) -> Result<Client, String> {
        match self.next(timeout) {
            Some(Event::Connected(c)) => Ok(c),
            other => Err(format!("expected a client to connect, got {other:?}")),
        }
    }

    /// Waits for the next event and requires it to be a message.
    ///
    /// # Errors
    /// A description of what came instead, or of the timeout.
    pub fn expect_message(&self, timeout: Duration) -> Result<(ClientId, Vec<u8>), String> {
        match self.next(timeout) {
            Some(Event::Message(id, m)) => Ok((id, m)),
            other => Err(format!("expected a message, got {other:?}")),
        }
    }

    /// Waits for the next event and requires it to be a disconnect.
    ///
    /// # Errors
    /// A description of what came instead, or of the timeout.
    pub fn expect_disconnected(
        &self,
        timeout: Duration,
    ) -> Result<(ClientId, DisconnectReason), String> {
        match self.next(timeout) {
            Some(Event::Disconnected(id, r)) => Ok((id, r)),
            other => Err(format!("expected a disconnect, got {other:?}")),
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

// ANCHOR: listen_mode
/// What a chapter binary was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// No arguments: the scripted demonstration.
    Story,
    /// `--listen ADDR`: keep the chapter's server up on ADDR.
    Listen(String),
    /// `--help`: print the usage.
    Help,
}

/// Reads a chapter binary's arguments.
///
/// # Errors
/// A usage message naming the bad argument.
pub fn mode(chapter: &str) -> Result<Mode, String> {
    let mut args = std::env::args().skip(1);
    let mut mode = Mode::Story;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(addr) => mode = Mode::Listen(addr),
                None => return Err(usage(chapter, "--listen needs an address")),
            },
            "-h" | "--help" => return Ok(Mode::Help),
            other => return Err(usage(chapter, &format!("unknown argument {other:?}"))),
        }
    }
    Ok(mode)
}

fn usage(chapter: &str, problem: &str) -> String {
    let mut s = String::new();
    if !problem.is_empty() {
        s.push_str(&format!("{chapter}: {problem}\n"));
    }
    s.push_str(&format!(
        "usage: cargo run --bin {chapter} [-- --listen ADDR]\n  without arguments: a scripted demonstration that exits by itself\n  --listen ADDR: keep this chapter's server on ADDR (e.g. 127.0.0.1:40100) for nc/telnet until stdin closes"
    ));
    s
}

/// Keeps `server` running until stdin closes (Ctrl-D) or Ctrl-C; typing `show` prints the
/// server, anything else is ignored.
pub fn serve_until_stdin_closes(server: &TcpServer, prefix: &str) {
    println!(
        "{prefix} listening on {}; connect with `nc {}`; type `show` to see the server, Ctrl-D to stop",
        server.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        server
            .local_addr()
            .map(|a| format!("{} {}", a.ip(), a.port()))
            .unwrap_or_default()
    );
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "show" {
            print!("{}", server.show());
        }
    }
    server.stop();
    println!("{prefix} stdin closed: server stopped");
}
// ANCHOR_END: listen_mode

// ANCHOR: chapter_main
/// The whole `main` of a chapter binary: without arguments, run `script` (the scripted
/// demonstration) and exit 0, or print its error and exit 1; with `--listen ADDR`, serve
/// `listen_config` on ADDR (echoing messages if `echo`) until stdin closes.
pub fn chapter_main(
    chapter: &str,
    listen_config: Config,
    echo: bool,
    script: impl FnOnce() -> Result<(), String>,
) -> ExitCode {
    let prefix = format!("[{chapter}]");
    match mode(chapter) {
        Ok(Mode::Help) => {
            println!("{}", usage(chapter, ""));
            ExitCode::SUCCESS
        }
        Ok(Mode::Listen(addr)) => {
            let print = Print {
                prefix: Some(prefix.clone()),
                messages: true,
            };
            let (recorder, _events) = Recorder::new(print, echo);
            let started = TcpServer::with_config(chapter, addr.as_str(), listen_config, recorder)
                .and_then(|s| s.start().map(|_| s));
            match started {
                Ok(server) => {
                    serve_until_stdin_closes(&server, &prefix);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{prefix} error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(Mode::Story) => match script() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{prefix} error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(usage) => {
            eprintln!("{usage}");
            ExitCode::from(2)
        }
    }
}
// ANCHOR_END: chapter_main

/// The standard timeout of demonstrations: generous, because it is only reached on failure.
pub const TIMEOUT: Duration = Duration::from_secs(10);
