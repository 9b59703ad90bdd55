//! `cargo run --bin ch3`: the data-request service (the course's DRS).
//!
//! An echo server with four clients, each sending lines: every message is received on the one
//! DRS thread (`drs-ch3`), which waits on all the clients at once, and every client gets back
//! only its own lines. Then the course's two disconnect stories: a client closes (the DRS reads
//! zero bytes: "peer closed") and the application disconnects another ("application"); the
//! others carry on. `-- --listen ADDR` keeps a chapter-3 echo server running for `nc` instead.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use tcpserverlib::demo::{self, Events, Failure, Print, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Client, ClientId, DisconnectReason, Handler, ServerHandle, TcpServer};

const CH: &str = "[ch3]";
const CLIENTS: usize = 4;

/// Messages received per thread name.
type Tally = Arc<Mutex<BTreeMap<String, usize>>>;

/// The demo's application: an echoing [`Recorder`] that also counts which thread delivered
/// each message.
struct WhoServes {
    recorder: Recorder,
    threads: Tally,
}

impl Handler for WhoServes {
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        let name = thread::current().name().unwrap_or("<unnamed>").to_string();
        *self
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name)
            .or_default() += 1;
        self.recorder.message(server, client, message);
    }
    fn connected(&self, server: &ServerHandle, client: &Client) {
        self.recorder.connected(server, client);
    }
    fn disconnected(&self, server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        self.recorder.disconnected(server, client, reason);
    }
    fn rejected(&self, server: &ServerHandle, peer: SocketAddr, why: &str) {
        self.recorder.rejected(server, peer, why);
    }
    fn accept_error(&self, server: &ServerHandle, error: &io::Error) {
        self.recorder.accept_error(server, error);
    }
}

/// One client of the demo: its id at the server and its socket.
struct Peer {
    id: ClientId,
    stream: TcpStream,
}

fn main() -> ExitCode {
    demo::chapter_main("ch3", tcpserverlib::Config::default(), true, story)
}

/// The scripted demonstration.
fn story() -> Result<(), Failure> {
    let print = Print {
        prefix: Some(format!("{CH}   callback:")),
        messages: true,
    };
    let (recorder, events) = Recorder::new(print, true);
    let threads = Tally::default();
    let app = WhoServes {
        recorder,
        threads: Arc::clone(&threads),
    };
    let server = TcpServer::new("ch3", "127.0.0.1:0", app).map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let addr = server
        .local_addr()
        .ok_or("a started server has no address")?;
    say!("{CH} An echo server listens on {addr}; {CLIENTS} clients connect:");
    let mut peers = connect_all(addr, &events)?;

    say!("{CH} Every client sends a line, all at once; the DRS waits on all of them at once (select, here poll or epoll) and reads whichever is ready:");
    exchange(&mut peers, &events, 1)?;
    say!("{CH} And a second line each:");
    exchange(&mut peers, &events, 2)?;
    let tally = threads.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let total: usize = tally.values().sum();
    let names: Vec<String> = tally.iter().map(|(t, n)| format!("{t} ({n})")).collect();
    say!(
        "{CH} All {total} messages were received on {} thread: {}.",
        if tally.len() == 1 {
            "one"
        } else {
            "more than one"
        },
        names.join(", ")
    );
    if tally.len() != 1 || !tally.contains_key("drs-ch3") {
        return Err("every message should be received on the DRS thread drs-ch3".into());
    }

    say!("{CH} Client-initiated disconnect: client {} closes its socket; the DRS's recv() returns 0:", peers[0].id);
    let closing = peers.remove(0);
    let closed_id = closing.id;
    drop(closing.stream);
    expect_gone(&events, closed_id, &DisconnectReason::PeerClosed)?;
    say!("{CH} The others keep working:");
    exchange(&mut peers, &events, 3)?;

    let mut dropped = peers.remove(0);
    say!(
        "{CH} Application-initiated disconnect: server.disconnect({}) (the CLI's `run tcp-server ch3 client disconnect {} {}`):",
        dropped.id,
        dropped.stream.local_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
        dropped.stream.local_addr().map(|a| a.port()).unwrap_or_default()
    );
    if !server.disconnect(dropped.id) {
        return Err(format!("server.disconnect({}) found no such client", dropped.id).into());
    }
    expect_gone(&events, dropped.id, &DisconnectReason::Application)?;
    let mut rest = Vec::new();
    match dropped.stream.read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => say!(
            "{CH}   client {}'s socket reads end of stream: the server closed it.",
            dropped.id
        ),
        Ok(_) => {
            return Err(format!(
                "client {} read {rest:?} after being disconnected",
                dropped.id
            )
            .into())
        }
        Err(e) => {
            return Err(format!(
                "client {} could not read its end of stream: {e}",
                dropped.id
            )
            .into())
        }
    }
    say!("{CH} The others still keep working:");
    exchange(&mut peers, &events, 4)?;

    demo::print_show(CH, &server.handle());
    say!("{CH} stop(): the remaining clients are reported gone for server shutdown:");
    server.stop();
    for _ in 0..peers.len() {
        let (id, reason) = events.expect_disconnected(TIMEOUT)?;
        if reason != DisconnectReason::ServerShutdown {
            return Err(
                format!("client {id} was reported gone for {reason}, not server shutdown").into(),
            );
        }
    }
    say!(
        "{CH} done: {CLIENTS} clients served by one DRS thread; one left by closing (peer closed), one was disconnected (application), {} at stop (server shutdown).",
        peers.len()
    );
    Ok(())
}

/// Connects the clients and learns each one's id from its connected event.
fn connect_all(addr: SocketAddr, events: &Events) -> Result<Vec<Peer>, Failure> {
    let streams: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}")))
        .collect::<Result<_, _>>()?;
    let mut ids = HashMap::new();
    for _ in 0..CLIENTS {
        let client = events.expect_connected(TIMEOUT)?;
        ids.insert(client.peer_addr, client.id);
    }
    let mut peers = Vec::new();
    for stream in streams {
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        let id = *ids
            .get(&local)
            .ok_or_else(|| format!("no connected event for our client {local}"))?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        peers.push(Peer { id, stream });
    }
    peers.sort_by_key(|p| p.id);
    Ok(peers)
}

/// Each peer sends one line at once; waits until the server has received every byte of every
/// line (without demarcation a line may come in pieces), then checks each echo.
fn exchange(peers: &mut [Peer], events: &Events, round: usize) -> Result<(), Failure> {
    let mut sent = HashMap::new();
    for peer in peers.iter_mut() {
        let line = format!("hello from {}, line {round}\n", peer.id).into_bytes();
        peer.stream
            .write_all(&line)
            .map_err(|e| format!("client {} cannot send: {e}", peer.id))?;
        sent.insert(peer.id, line);
    }
    let mut received: HashMap<ClientId, Vec<u8>> = HashMap::new();
    while received.len() < sent.len() || received.iter().any(|(id, got)| got.len() < sent[id].len())
    {
        let (id, bytes) = events.expect_message(TIMEOUT)?;
        let got = received.entry(id).or_default();
        got.extend_from_slice(&bytes);
        match sent.get(&id) {
            Some(line) if line.starts_with(got) => {}
            _ => {
                return Err(format!(
                    "client {id} was delivered {:?}, which it never sent",
                    demo::printable(got)
                )
                .into())
            }
        }
    }
    for peer in peers.iter_mut() {
        let line = &sent[&peer.id];
        let mut echo = vec![0; line.len()];
        peer.stream
            .read_exact(&mut echo)
            .map_err(|e| format!("client {} got no echo: {e}", peer.id))?;
        if &echo != line {
            return Err(format!(
                "client {} got back {:?}, not its own line",
                peer.id,
                demo::printable(&echo)
            )
            .into());
        }
        say!(
            "{CH}   client {} sent {:?} and got back exactly its own line",
            peer.id,
            String::from_utf8_lossy(line).trim_end()
        );
    }
    Ok(())
}

/// Waits for `id` to be reported disconnected for `reason`.
fn expect_gone(events: &Events, id: ClientId, reason: &DisconnectReason) -> Result<(), Failure> {
    match events.expect_disconnected(TIMEOUT)? {
        (got, r) if got == id && &r == reason => {
            say!("{CH}   client {id} reported disconnected once, reason \"{r}\"; it left the client DB and the DRS's table.");
            Ok(())
        }
        other => Err(format!("expected client {id} to leave for {reason}, got {other:?}").into()),
    }
}
