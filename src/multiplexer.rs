//! Chapter 3 — the data-request service (the course's DRS, `TcpClientServiceManager`).
//!
//! One thread serves every connected client. It waits in `poll` (our [`select`] module) on
//! all their sockets at once, and when any is ready it reads what arrived, cuts it into
//! messages (chapter 6) and hands each to the application; it also writes output queued for
//! clients whose sockets can take it. Like the course's DRS it keeps its own table of the
//! clients it listens to, a second copy beside the central DB, so that its hot loop never
//! takes the DB's lock.
//!
//! What changes in Rust: the course changes the DRS's set by cancelling the thread, updating
//! its `fd_set` from the CAS thread, and starting it again — for every new client. Here other
//! threads never touch the DRS's table: they push a [`Command`] onto its queue and wake it
//! (the self-pipe [`Waker`](crate::select::Waker)); the DRS applies the commands itself
//! between two waits. The DRS also never blocks on a socket: sockets are non-blocking, output
//! waits in a bounded per-client queue, and a client whose socket is full is polled for
//! writability instead.
//!
//! [`select`]: crate::select

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::client::ClientId;
use crate::controller::{lock, Connection, DisconnectReason, Shared};
use crate::select::{Interest, PollSet, Waker};

/// Bytes read from one socket per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// Reads per client per wake-up: enough to drain a busy client, few enough that one client
/// flooding us cannot starve the others of their turn.
const READS_PER_WAKE: usize = 4;

// ANCHOR: command
/// What other threads ask of the DRS thread.
pub(crate) enum Command {
    /// Start listening to a new client (the course's `ClientFDStartListen`).
    Listen(Arc<Connection>),
    /// Stop listening to a client that left the DB (the course's `ClientFDStopListen`).
    Forget(ClientId),
    /// The client has output the caller could not write at once: poll it for writability.
    WantWrite(ClientId),
    /// Leave the loop (server stopping, or listening disabled).
    Stop,
}

/// The DRS's mailbox: a command queue and the waker that makes the DRS read it.
pub(crate) struct DrsLink {
    /// Commands in the order they were given; the DRS takes them all after each wake-up.
    queue: Mutex<VecDeque<Command>>,
    /// Interrupts the DRS's `poll`.
    waker: Waker,
}
// ANCHOR_END: command

impl DrsLink {
    pub(crate) fn new() -> io::Result<DrsLink> {
        Ok(DrsLink {
            queue: Mutex::new(VecDeque::new()),
            waker: Waker::new()?,
        })
    }

    // ANCHOR: push
    fn push(&self, command: Command) {
        lock(&self.queue).push_back(command);
        self.waker.wake();
    }
    // ANCHOR_END: push

    // ANCHOR: link_api
    pub(crate) fn start_listen(&self, conn: Arc<Connection>) {
        self.push(Command::Listen(conn));
    }

    pub(crate) fn stop_listen(&self, id: ClientId) {
        self.push(Command::Forget(id));
    }

    pub(crate) fn want_write(&self, id: ClientId) {
        self.push(Command::WantWrite(id));
    }
    // ANCHOR_END: link_api

    /// Asks the DRS thread to leave and joins it.
    pub(crate) fn stop_thread(&self, thread: JoinHandle<()>) {
        self.push(Command::Stop);
        // Asked from inside one of its own callbacks (the application stopping the server on
        // a message): the thread cannot wait for itself; it leaves when the callback returns.
        if thread.thread().id() != std::thread::current().id() {
            let _ = thread.join();
        }
    }

    /// Drops every pending command (the server stopped; the DB is empty).
    pub(crate) fn clear(&self) {
        lock(&self.queue).clear();
        self.waker.drain();
    }

    fn take_all(&self) -> VecDeque<Command> {
        std::mem::take(&mut *lock(&self.queue))
    }
}

// ANCHOR: listened
/// One client as the DRS sees it.
struct Listened {
    conn: Arc<Connection>,
    /// Output is waiting: also poll for writability.
    want_write: bool,
}
// ANCHOR_END: listened

// ANCHOR: run
/// The DRS thread's loop: wait on every client and the waker, apply commands, serve the
/// ready clients.
pub(crate) fn run(shared: Arc<Shared>) {
    // A (re)started DRS picks up every client from the central DB (chapter 7).
    let mut table: HashMap<ClientId, Listened> = HashMap::new();
    for (id, conn) in shared.db.snapshot() {
        listen(&mut table, id, conn);
    }
    let mut set = PollSet::new();
    let mut order: Vec<ClientId> = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        set.clear();
        order.clear();
        let wake = set.add(shared.drs.waker.receiver(), Interest::READ);
        for (id, entry) in &table {
            let interest = if entry.want_write {
                Interest::READ_WRITE
            } else {
                Interest::READ
            };
            set.add(&entry.conn.stream, interest);
            order.push(*id);
        }
        if set.wait(None).is_err() {
            // Only ENOMEM and the like: nothing to do but let the system recover, and stay
            // wakeable meanwhile.
            wait_for_waker(&shared, Duration::from_millis(100));
            continue;
        }
        if set.readiness(wake).readable {
            shared.drs.waker.drain();
        }
        // Commands first: they may remove a client that is also reported ready below.
        if !apply_commands(&shared, &mut table) {
            return;
        }
        for (i, id) in order.iter().enumerate() {
            let ready = set.readiness(i + 1);
            if ready.any() {
                serve(&shared, &mut table, *id, ready, &mut buf);
            }
        }
    }
}
// ANCHOR_END: run

fn wait_for_waker(shared: &Shared, timeout: Duration) {
    let mut set = PollSet::new();
    set.add(shared.drs.waker.receiver(), Interest::READ);
    let _ = set.wait(Some(timeout));
}

fn listen(table: &mut HashMap<ClientId, Listened>, id: ClientId, conn: Arc<Connection>) {
    let want_write = conn.queued_output() > 0;
    table.entry(id).or_insert(Listened { conn, want_write });
}

// ANCHOR: apply_commands
/// Applies queued commands; returns false when asked to stop.
fn apply_commands(shared: &Shared, table: &mut HashMap<ClientId, Listened>) -> bool {
    for command in shared.drs.take_all() {
        match command {
            Command::Listen(conn) => {
                let id = conn.client.id;
                // A client disconnected before we got here has left the DB: skip it.
                if shared.db.contains(id) {
                    listen(table, id, conn);
                }
            }
            Command::Forget(id) => {
                table.remove(&id);
            }
            Command::WantWrite(id) => {
                if let Some(entry) = table.get_mut(&id) {
                    entry.want_write = true;
                }
            }
            Command::Stop => return false,
        }
    }
    true
}
// ANCHOR_END: apply_commands

// ANCHOR: serve
/// Serves one ready client: flush its output if writable, read if readable; disconnect it if
/// the peer closed or the connection failed.
fn serve(
    shared: &Arc<Shared>,
    table: &mut HashMap<ClientId, Listened>,
    id: ClientId,
    ready: crate::select::Readiness,
    buf: &mut [u8],
) {
    let Some(entry) = table.get_mut(&id) else {
        return;
    };
    let conn = Arc::clone(&entry.conn);
    let mut outcome = None;
    if ready.writable {
        match conn.flush() {
            Ok(drained) => entry.want_write = !drained,
            Err(e) => outcome = Some(DisconnectReason::io(&e)),
        }
    }
    if outcome.is_none() && (ready.readable || ready.hangup) {
        outcome = read_ready(shared, &conn, buf);
    }
    if let Some(reason) = outcome {
        table.remove(&id);
        // False when another thread disconnected it first; then that thread reported it.
        shared.close_client(id, reason);
    }
}
// ANCHOR_END: serve

// ANCHOR: read_ready
/// Reads what the client sent, cuts it into messages, and delivers them — with no lock held,
/// so the application may reply from inside its callback. Returns why the client must go, if
/// it must.
fn read_ready(shared: &Arc<Shared>, conn: &Connection, buf: &mut [u8]) -> Option<DisconnectReason> {
    let mut messages = Vec::new();
    let mut outcome = None;
    {
        let mut inbox = lock(&conn.inbox);
        for _ in 0..READS_PER_WAKE {
            match (&conn.stream).read(buf) {
                Ok(0) => {
                    // End of stream: fine between messages, a protocol error inside one.
                    outcome = Some(match inbox.finish() {
                        Ok(()) => DisconnectReason::PeerClosed,
                        Err(e) => DisconnectReason::Protocol(e),
                    });
                    break;
                }
                Ok(n) => {
                    conn.stats.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    if let Err(e) = inbox.feed(&buf[..n], &mut messages) {
                        outcome = Some(DisconnectReason::Protocol(e));
                        break;
                    }
                    if n < buf.len() {
                        break; // the socket is drained; save a WouldBlock round trip
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    outcome = Some(DisconnectReason::io(&e));
                    break;
                }
            }
        }
    }
    if let Some(ka) = &shared.keepalive {
        ka.refresh(conn);
    }
    // Every complete message is delivered, even those before a protocol error.
    for message in &messages {
        shared.deliver(conn, message);
    }
    outcome
}
// ANCHOR_END: read_ready
