//! `cargo run --bin ch4`: the client DB and its lock (the course's DBMS).
//!
//! The course names three kinds of threads that change the central DB: the CAS adds new
//! clients, the DRS removes clients that closed, and the application removes the clients it
//! disconnects (and reads the DB to list them). Here all three act at once: 50 clients connect
//! while a third of them close again, and an application thread lists the DB on every new
//! client and disconnects every 5th. The books are kept from the events and must balance:
//! connected = disconnected + still in the DB, and no client reported twice.
//! `-- --listen ADDR` keeps a chapter-4 server running for `nc` instead.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use tcpserverlib::demo::{self, Event, Events, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Client, ClientId, DisconnectReason, Handler, ServerHandle, TcpServer};

const CH: &str = "[ch4]";
/// Clients that connect during the demonstration.
const CLIENTS: usize = 50;
/// Every client whose connection index is a multiple of 3 (plus 2) closes at once.
const CLOSE_EVERY: usize = 3;
/// The application disconnects every client whose id is a multiple of this.
const DISCONNECT_EVERY: u64 = 5;

/// The application's own books, kept from the callbacks (under the application's lock, not
/// the server's).
#[derive(Default)]
struct Ledger {
    connected: HashSet<ClientId>,
    disconnected: HashMap<ClientId, DisconnectReason>,
    /// Clients reported connected, or disconnected, more than once: must stay empty.
    twice: Vec<ClientId>,
}

type SharedLedger = Arc<Mutex<Ledger>>;

fn books(ledger: &SharedLedger) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

/// The demo's application: a [`Recorder`] plus the ledger, and the queue through which the
/// application thread hears of each new client.
struct Bookkeeper {
    recorder: Recorder,
    ledger: SharedLedger,
    new_clients: Mutex<Sender<Client>>,
}

impl Handler for Bookkeeper {
    fn connected(&self, server: &ServerHandle, client: &Client) {
        if !books(&self.ledger).connected.insert(client.id) {
            books(&self.ledger).twice.push(client.id);
        }
        let _ = self
            .new_clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(client.clone());
        self.recorder.connected(server, client);
    }
    fn disconnected(&self, server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        {
            let mut books = books(&self.ledger);
            if books
                .disconnected
                .insert(client.id, reason.clone())
                .is_some()
            {
                books.twice.push(client.id);
            }
        }
        self.recorder.disconnected(server, client, reason);
    }
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        self.recorder.message(server, client, message);
    }
    fn rejected(&self, server: &ServerHandle, peer: SocketAddr, why: &str) {
        self.recorder.rejected(server, peer, why);
    }
    fn accept_error(&self, server: &ServerHandle, error: &io::Error) {
        self.recorder.accept_error(server, error);
    }
}

/// What the application thread saw and did.
#[derive(Default)]
struct AppReport {
    /// Times it listed the DB.
    lists: usize,
    /// Smallest and largest number of clients listed.
    min_listed: usize,
    max_listed: usize,
    /// Clients it asked to disconnect, and those still there when it asked (`disconnect`
    /// returned true).
    asked: Vec<ClientId>,
    won: Vec<Client>,
    /// Inconsistencies seen in a listing: must stay empty.
    problems: Vec<String>,
}

fn main() -> ExitCode {
    demo::chapter_main("ch4", tcpserverlib::Config::default(), false, story)
}

/// The scripted demonstration.
fn story() -> Result<(), Failure> {
    let (recorder, events) = Recorder::silent();
    let ledger = SharedLedger::default();
    let (tx, new_clients) = mpsc::channel();
    let app = Bookkeeper {
        recorder,
        ledger: Arc::clone(&ledger),
        new_clients: Mutex::new(tx),
    };
    let server = TcpServer::new("ch4", "127.0.0.1:0", app).map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let addr = server
        .local_addr()
        .ok_or("a started server has no address")?;
    say!("{CH} tcp-server \"ch4\" on {addr}. Three threads now change its client DB at once:");
    say!("{CH}   - a connector makes {CLIENTS} connections: the CAS adds each one to the DB;");
    say!("{CH}   - a closer closes every {CLOSE_EVERY}rd of them at once: the DRS reads 0 bytes and removes it;");
    say!("{CH}   - the application thread lists the DB (clients(), client_count()) on every new client and disconnects every client whose id is a multiple of {DISCONNECT_EVERY}.");

    let (to_closer, streams) = mpsc::channel();
    let connector = thread::Builder::new()
        .name("connector".into())
        .spawn(move || connect_all(addr, &to_closer))
        .map_err(|e| e.to_string())?;
    let closer = thread::Builder::new()
        .name("closer".into())
        .spawn(move || close_some(&streams))
        .map_err(|e| e.to_string())?;
    let application = {
        let server = server.handle();
        let ledger = Arc::clone(&ledger);
        thread::Builder::new()
            .name("application".into())
            .spawn(move || application(&server, &new_clients, &ledger))
            .map_err(|e| e.to_string())?
    };
    joined("connector", connector)?;
    let (kept, closed) = joined("closer", closer)?;
    let report = joined("application", application)?;

    // The clients still connected are the kept sockets the application did not disconnect.
    let won: HashSet<SocketAddr> = report.won.iter().map(|c| c.peer_addr).collect();
    let mut remaining = HashSet::new();
    for stream in &kept {
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        if !won.contains(&local) {
            remaining.insert(local);
        }
    }
    let tally = wait_for(&events, CLIENTS, CLIENTS - remaining.len())?;
    say!(
        "{CH} Done acting: {} connects made, {closed} sockets closed by their clients, the application listed the DB {} times (between {} and {} clients)",
        CLIENTS, report.lists, report.min_listed, report.max_listed
    );
    say!(
        "{CH}   and asked to disconnect {} clients: {} were still there (reason application), {} had already left by their own close.",
        report.asked.len(),
        report.won.len(),
        report.asked.len() - report.won.len()
    );
    for problem in &report.problems {
        say!("{CH}   inconsistency: {problem}");
    }
    let listed: HashSet<SocketAddr> = server.clients().iter().map(|c| c.peer_addr).collect();
    let count = server.client_count();
    say!(
        "{CH} Tally from the events: {} connected = {} disconnected ({} peer closed, {} application) + {count} still in the DB.",
        tally.connected,
        tally.disconnected(),
        tally.reason("peer closed"),
        tally.reason("application"),
    );
    let twice = books(&ledger).twice.clone();
    let consistent = tally.connected == CLIENTS
        && tally.connected == tally.disconnected() + count
        && listed == remaining
        && twice.is_empty()
        && report.problems.is_empty();
    if !consistent {
        return Err(format!(
            "the books do not balance: {} connected, {} disconnected, {count} in the DB (expected {}), reported twice: {twice:?}",
            tally.connected,
            tally.disconnected(),
            remaining.len()
        ).into());
    }
    say!("{CH}   It balances, no client was reported twice, and the DB lists exactly the {count} sockets still open.");
    say!("{CH}   This is what the client DB's one lock makes safe: an insert (CAS), a remove (DRS or application) and a");
    say!("{CH}   listing (application) never interleave inside an update, and whoever wins remove() reports the disconnect.");

    say!("{CH} stop(): the last {count} clients are reported gone for server shutdown.");
    server.stop();
    let last = wait_for(&events, 0, count)?;
    let books = books(&ledger);
    let all_once = books.connected.len() == CLIENTS
        && books.disconnected.len() == CLIENTS
        && books.twice.is_empty()
        && server.client_count() == 0;
    if !all_once || last.reason("server shutdown") != count {
        return Err(format!(
            "after stop: {} connected, {} disconnected, {} still in the DB, reported twice: {:?}",
            books.connected.len(),
            books.disconnected.len(),
            server.client_count(),
            books.twice
        )
        .into());
    }
    drop(kept);
    say!(
        "{CH} Final tally: {CLIENTS} connected, {CLIENTS} disconnected exactly once ({} peer closed, {} application, {} server shutdown), 0 in the DB.",
        tally.reason("peer closed"),
        tally.reason("application"),
        last.reason("server shutdown")
    );
    Ok(())
}

/// Joins a demo thread: its own error, or a word that it panicked.
fn joined<T>(name: &str, thread: thread::JoinHandle<Result<T, Failure>>) -> Result<T, Failure> {
    thread
        .join()
        .map_err(|_| format!("the {name} thread panicked"))?
}

/// The connector: makes every connection and passes each socket to the closer, in order.
fn connect_all(addr: SocketAddr, to_closer: &Sender<TcpStream>) -> Result<(), Failure> {
    for _ in 0..CLIENTS {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
        to_closer
            .send(stream)
            .map_err(|_| "the closer thread is gone".to_string())?;
    }
    Ok(())
}

/// The closer: closes every `CLOSE_EVERY`th socket as soon as it is made; returns the others
/// (kept open) and how many it closed.
fn close_some(streams: &Receiver<TcpStream>) -> Result<(Vec<TcpStream>, usize), Failure> {
    let mut kept = Vec::new();
    let mut closed = 0;
    for i in 0..CLIENTS {
        let stream = streams
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("connection {i} was never made"))?;
        if i % CLOSE_EVERY == CLOSE_EVERY - 1 {
            drop(stream);
            closed += 1;
        } else {
            kept.push(stream);
        }
    }
    Ok((kept, closed))
}

/// The application thread: on every new client, lists the DB and checks the listing; the
/// clients whose id is a multiple of `DISCONNECT_EVERY` it disconnects.
fn application(
    server: &ServerHandle,
    new_clients: &Receiver<Client>,
    ledger: &SharedLedger,
) -> Result<AppReport, Failure> {
    let mut report = AppReport {
        min_listed: usize::MAX,
        ..AppReport::default()
    };
    for _ in 0..CLIENTS {
        let client = new_clients
            .recv_timeout(TIMEOUT)
            .map_err(|_| "the application heard of fewer clients than were connected")?;
        // Reported gone before the listing started, so it left the DB before: it must not
        // be listed.
        let gone: HashSet<ClientId> = books(ledger).disconnected.keys().copied().collect();
        let listed = server.clients();
        // A second look under the lock: it may differ from the listing, which is a
        // snapshot taken a moment earlier.
        let count = server.client_count();
        report.lists += 1;
        report.min_listed = report.min_listed.min(listed.len()).min(count);
        report.max_listed = report.max_listed.max(listed.len()).max(count);
        if listed.windows(2).any(|w| w[0].id >= w[1].id) {
            report
                .problems
                .push("a listing was out of order or held a client twice".into());
        }
        if let Some(c) = listed.iter().find(|c| gone.contains(&c.id)) {
            report.problems.push(format!(
                "client {} was listed after it was reported gone",
                c.id
            ));
        }
        if client.id.0 % DISCONNECT_EVERY == 0 {
            report.asked.push(client.id);
            if server.disconnect(client.id) {
                report.won.push(client);
            }
        }
    }
    Ok(report)
}

/// Counts of the events waited for.
#[derive(Default)]
struct Tally {
    connected: usize,
    reasons: HashMap<String, usize>,
}

impl Tally {
    fn disconnected(&self) -> usize {
        self.reasons.values().sum()
    }
    fn reason(&self, reason: &str) -> usize {
        self.reasons.get(reason).copied().unwrap_or(0)
    }
}

/// Takes events until `connects` connects and `disconnects` disconnects have been seen, each
/// within the timeout.
fn wait_for(events: &Events, connects: usize, disconnects: usize) -> Result<Tally, Failure> {
    let mut tally = Tally::default();
    while tally.connected < connects || tally.disconnected() < disconnects {
        match events.next(TIMEOUT) {
            Some(Event::Connected(_)) => tally.connected += 1,
            Some(Event::Disconnected(_, reason)) => {
                *tally.reasons.entry(reason.to_string()).or_default() += 1;
            }
            Some(other) => return Err(format!("unexpected event {other:?}").into()),
            None => {
                return Err(format!(
                    "waited {TIMEOUT:?} for an event: {} of {connects} connects and {} of {disconnects} disconnects seen",
                    tally.connected,
                    tally.disconnected()
                ).into())
            }
        }
    }
    Ok(tally)
}
