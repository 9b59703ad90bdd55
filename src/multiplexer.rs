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
//! threads never touch the DRS's table: they push a `Command` onto its queue and wake it
//! (the self-pipe [`Waker`]); the DRS applies the commands itself
//! between two waits. Nor does the DRS know the controller: it asks for what it needs through
//! the narrow `DrsHost` interface, which the controller implements.
//!
//! Three rules keep one client from hurting the others, and keep every byte:
//! - **never block**: sockets are non-blocking; output waits in a per-client queue;
//! - **backpressure, not loss**: a client whose queued output passed its high-water mark is
//!   not read until it drains (its sender is then slowed by TCP itself);
//! - **fair turns**: one client's turn is bounded in bytes and in messages; complete
//!   messages left over are remembered, since the kernel will not report them again.
//!
//! A close the server initiates *lingers*: queued output is flushed, the socket half-closed,
//! and the peer's input discarded until its FIN or a deadline, so the peer gets every byte
//! it was owed and a FIN, not a reset (chapter 8).
//!
//! [`select`]: crate::select

// With the exercise stub in place the loop is `todo!()`, so what only it calls goes unused.
#![cfg_attr(feature = "ex03", allow(dead_code))]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::client::ClientId;
use crate::config::Config;
use crate::connection::{lock, Connection, OutputBudget};
use crate::demarcation::ProtocolError;
use crate::error::DisconnectReason;
use crate::select::{Interest, PollSet, Readiness, Waker};

// ANCHOR: drs_loop_mod
// The loop itself (register, wait, apply commands, serve, expire) is exercise 3: the feature
// swaps in the student's file. A module declared in `multiplexer.rs` lives in `multiplexer/`,
// but a `path` given here is relative to `src/`, as for a module declared in `lib.rs`.
#[cfg_attr(feature = "ex03", path = "../chapters/ex03_drs_loop.rs")]
mod drs_loop;
// ANCHOR_END: drs_loop_mod

/// Bytes read from one socket per `read` call (and the DRS's one read buffer).
const READ_CHUNK: usize = 64 * 1024;

// ANCHOR: host
/// What the DRS needs from the rest of the server; the controller implements it.
pub(crate) trait DrsHost: Send + Sync + 'static {
    /// One complete message from `conn`. `Err` when the client must go (its callback
    /// panicked).
    ///
    /// # Errors
    /// The reason to disconnect the client.
    fn message(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        message: &[u8],
    ) -> Result<(), DisconnectReason>;
    /// The DRS found a reason to end a client. Returns true when this call removed it from
    /// the DB and reported it (the DRS then closes the socket); false when another thread got
    /// there first (and sends its own `Close`).
    fn disconnect(self: &Arc<Self>, conn: &Arc<Connection>, reason: DisconnectReason) -> bool;
    /// Bytes came from the client: it is alive (keep-alive).
    fn heard_from(&self, conn: &Connection);
}
// ANCHOR_END: host

// ANCHOR: command
/// What other threads ask of the DRS thread.
pub(crate) enum Command {
    /// Start listening to a new client (the course's `ClientFDStartListen`).
    Listen(Arc<Connection>),
    /// The client left the DB (the course's `ClientFDStopListen`): forget it and close its
    /// socket, lingering unless the socket is broken.
    Close { conn: Arc<Connection>, linger: bool },
    /// Read from clients (`true`), or only write to them (`false`: listening disabled).
    Reading(bool),
    /// Leave the loop (server stopping).
    Stop,
}

/// The DRS's mailbox: a command queue and the waker that makes the DRS read it.
pub(crate) struct DrsLink {
    /// Commands in the order they were given; the DRS takes them all after each wake-up.
    queue: Mutex<VecDeque<Command>>,
    /// Interrupts the DRS's `poll`.
    waker: Waker,
    /// How many closed sockets the DRS is still letting go, for `show`.
    lingering: AtomicUsize,
}
// ANCHOR_END: command

impl DrsLink {
    pub(crate) fn new() -> io::Result<DrsLink> {
        Ok(DrsLink {
            queue: Mutex::new(VecDeque::new()),
            waker: Waker::new()?,
            lingering: AtomicUsize::new(0),
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

    pub(crate) fn close(&self, conn: Arc<Connection>, linger: bool) {
        self.push(Command::Close { conn, linger });
    }

    pub(crate) fn set_reading(&self, reading: bool) {
        self.push(Command::Reading(reading));
    }

    /// Output was queued for a client: the DRS's next pass polls it for writability.
    pub(crate) fn output_queued(&self) {
        self.waker.wake();
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

    /// Closed sockets still lingering (as of the DRS's last pass).
    pub(crate) fn lingering(&self) -> usize {
        self.lingering.load(Ordering::Relaxed)
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

/// The DRS's share of the server's settings.
#[derive(Clone, Debug)]
pub(crate) struct DrsSettings {
    turn_bytes: usize,
    turn_messages: usize,
    message_timeout: Option<Duration>,
    linger: Duration,
    max_lingering: usize,
}

impl DrsSettings {
    pub(crate) fn from_config(config: &Config) -> DrsSettings {
        DrsSettings {
            turn_bytes: config.turn_bytes.max(1),
            turn_messages: config.turn_messages.max(1),
            message_timeout: config.message_timeout,
            linger: config.linger,
            max_lingering: config.max_lingering,
        }
    }
}

// ANCHOR: listened
/// One client as the DRS sees it.
struct Listened {
    conn: Arc<Connection>,
    /// Its output is backed up: it is not read until the queue drains (backpressure).
    paused: bool,
    /// Complete messages are waiting in its buffer: its last turn ended on the message bound.
    pending: bool,
    /// When the message now in its buffer was started, if one is (for the message timeout).
    partial_since: Option<Instant>,
    /// A deadline for this client is in the heap.
    clock_queued: bool,
    /// The pass in which it was last served: one turn per client per pass.
    served_in: u64,
}
// ANCHOR_END: listened

/// A socket the server closed and is letting go gracefully.
struct Lingering {
    conn: Arc<Connection>,
    /// Its output is written and its write side shut down.
    flushed: bool,
    /// The peer's FIN arrived: nothing more to drain.
    eof: bool,
    /// When it is closed whatever happened.
    deadline: Instant,
}

/// How one client's turn ended.
enum TurnEnd {
    /// The socket had no more to read.
    Idle,
    /// The byte bound was reached; the socket may hold more (`poll` will say).
    More,
    /// The message bound was reached with complete messages still buffered.
    Pending,
    /// Someone else disconnected the client during the turn.
    Gone,
    /// The client must go.
    Close(DisconnectReason),
}

/// Where one registered descriptor of a pass came from.
#[derive(Clone, Copy)]
enum Slot {
    Client(ClientId),
    Lingering(usize),
}

/// The DRS thread's state.
struct Drs<H: DrsHost> {
    host: Arc<H>,
    link: Arc<DrsLink>,
    budget: Arc<OutputBudget>,
    settings: DrsSettings,
    /// The clients it listens to.
    table: HashMap<ClientId, Listened>,
    /// Closed sockets still being let go.
    lingering: Vec<Lingering>,
    /// Message-timeout deadlines, earliest first (stale entries are skipped when popped).
    deadlines: BinaryHeap<Reverse<(Instant, ClientId)>>,
    /// False while listening is disabled.
    reading: bool,
    /// Counts the loop's passes (see `Listened::served_in`).
    pass: u64,
    /// Messages delivered by the last turn (a message completed: the message clock restarts).
    delivered: usize,
    buf: Vec<u8>,
}

// ANCHOR: run
/// The DRS thread: serves clients until asked to stop. Sockets still lingering are closed
/// at once when it stops.
pub(crate) fn run<H: DrsHost>(
    host: Arc<H>,
    link: Arc<DrsLink>,
    budget: Arc<OutputBudget>,
    settings: DrsSettings,
    reading: bool,
) {
    let mut drs = Drs {
        host,
        link,
        budget,
        settings,
        table: HashMap::new(),
        lingering: Vec::new(),
        deadlines: BinaryHeap::new(),
        reading,
        pass: 0,
        delivered: 0,
        buf: vec![0u8; READ_CHUNK],
    };
    drs.run_loop();
    drs.link.lingering.store(0, Ordering::Relaxed);
    for lingering in drs.lingering.drain(..) {
        let mut buf = [0u8; 4096];
        let _ = lingering.conn.stream.shutdown(Shutdown::Write);
        let _ = discard_input(&lingering.conn, &mut buf);
    }
}
// ANCHOR_END: run

impl<H: DrsHost> Drs<H> {
    /// Waits on the waker alone, at most `timeout`: how the loop rides out a failing `poll`.
    fn wait_for_waker(&self, timeout: Duration) {
        let mut set = PollSet::new();
        set.add(self.link.waker.receiver(), Interest::READ);
        let _ = set.wait(Some(timeout));
    }

    // ANCHOR: apply_commands
    /// Applies queued commands; returns false when asked to stop.
    fn apply_commands(&mut self) -> bool {
        for command in self.link.take_all() {
            match command {
                Command::Listen(conn) => {
                    // A client disconnected before we got here is already closed: skip it.
                    if !conn.is_closed() {
                        self.table.insert(
                            conn.client.id,
                            Listened {
                                conn,
                                paused: false,
                                pending: false,
                                partial_since: None,
                                clock_queued: false,
                                served_in: 0,
                            },
                        );
                    }
                }
                Command::Close { conn, linger } => {
                    self.table.remove(&conn.client.id);
                    self.let_go(conn, linger);
                }
                Command::Reading(reading) => self.reading = reading,
                Command::Stop => return false,
            }
        }
        true
    }
    // ANCHOR_END: apply_commands

    // ANCHOR: serve
    /// Serves one client: write what it is owed, give it a turn if it may be read, write the
    /// replies that turn produced (one write for all of them), and disconnect it if it must go.
    fn serve(&mut self, id: ClientId, ready: Readiness) {
        let pass = self.pass;
        let Some(entry) = self.table.get_mut(&id) else {
            return;
        };
        if entry.served_in == pass {
            return;
        }
        entry.served_in = pass;
        let conn = Arc::clone(&entry.conn);
        let may_read = self.reading && !entry.paused;
        let was_pending = entry.pending;
        let wants_turn = ready.readable || ready.hangup || was_pending;
        self.delivered = 0;
        let mut end = match self.write_owed(&conn) {
            Err(reason) => TurnEnd::Close(reason),
            // A hang-up while paused: read anyway, to learn the reason now rather than spin.
            Ok(()) if wants_turn && (may_read || ready.hangup) => self.turn(&conn),
            // Only written to (paused, or listening disabled): messages left over from its
            // last turn are still waiting, and the socket will not report them again.
            Ok(()) if was_pending => TurnEnd::Pending,
            Ok(()) => TurnEnd::Idle,
        };
        if !matches!(end, TurnEnd::Close(_) | TurnEnd::Gone) {
            if let Err(reason) = self.write_owed(&conn) {
                end = TurnEnd::Close(reason);
            }
        }
        match end {
            TurnEnd::Close(reason) => self.disconnect(&conn, reason),
            TurnEnd::Gone => {}
            TurnEnd::Idle | TurnEnd::More | TurnEnd::Pending => {
                let pending = matches!(end, TurnEnd::Pending);
                conn.busy.store(pending, Ordering::Relaxed);
                if let Some(entry) = self.table.get_mut(&id) {
                    entry.pending = pending;
                }
                self.track_partial(id);
            }
        }
    }
    // ANCHOR_END: serve

    // ANCHOR: write_owed
    /// Writes what the client is owed; the error that ends it, if writing failed (here or
    /// earlier on another thread).
    fn write_owed(&self, conn: &Connection) -> Result<(), DisconnectReason> {
        if let Some(reason) = conn.write_error() {
            return Err(reason);
        }
        if conn.queued_output() == 0 {
            return Ok(());
        }
        conn.flush().map_err(|e| DisconnectReason::io(&e))?;
        Ok(())
    }
    // ANCHOR_END: write_owed

    // ANCHOR: turn
    /// One client's turn: deliver the messages already buffered, read more, deliver, until
    /// the socket is drained or the turn's bound (bytes or messages) is reached.
    fn turn(&mut self, conn: &Arc<Connection>) -> TurnEnd {
        let _serving = Connection::serving(conn);
        let pass_through = lock(&conn.inbox).passes_through();
        let (mut messages, mut bytes) = (0, 0);
        let end = loop {
            // Messages first: those left over from the last turn, then those just read.
            if !pass_through {
                if let Some(end) = self.deliver_buffered(conn, &mut messages) {
                    break end;
                }
            }
            if bytes >= self.settings.turn_bytes {
                break TurnEnd::More;
            }
            let room = if pass_through {
                READ_CHUNK
            } else {
                lock(&conn.inbox).free_space()
            };
            let want = room.min(READ_CHUNK).min(self.settings.turn_bytes - bytes);
            if want == 0 {
                // The capacity rule (one maximal message always fits) makes this unreachable.
                let max = lock(&conn.inbox).capacity();
                break TurnEnd::Close(DisconnectReason::Protocol(ProtocolError::MessageTooLong {
                    max,
                }));
            }
            match (&conn.stream).read(&mut self.buf[..want]) {
                Ok(0) => break TurnEnd::Close(end_of_stream(conn)),
                Ok(n) => {
                    bytes += n;
                    conn.stats.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    if pass_through {
                        messages += 1;
                        if let Some(end) = self.deliver(conn, &self.buf[..n]) {
                            break end;
                        }
                        if messages >= self.settings.turn_messages {
                            break TurnEnd::More;
                        }
                    } else {
                        lock(&conn.inbox).push(&self.buf[..n]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break TurnEnd::Idle,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break TurnEnd::Close(DisconnectReason::io(&e)),
            }
        };
        if bytes > 0 {
            self.host.heard_from(conn);
        }
        self.delivered = messages;
        end
    }
    // ANCHOR_END: turn

    /// Delivers the complete messages in the client's buffer, up to the turn's bound; how the
    /// turn must end, if it must.
    fn deliver_buffered(&self, conn: &Arc<Connection>, messages: &mut usize) -> Option<TurnEnd> {
        loop {
            if *messages >= self.settings.turn_messages {
                return Some(TurnEnd::Pending);
            }
            let next = lock(&conn.inbox).next_message();
            match next {
                Ok(Some(message)) => {
                    *messages += 1;
                    if let Some(end) = self.deliver(conn, &message) {
                        return Some(end);
                    }
                }
                Ok(None) => return None,
                Err(e) => return Some(TurnEnd::Close(DisconnectReason::Protocol(e))),
            }
        }
    }

    /// Hands one message to the application; how the turn must end, if it must.
    fn deliver(&self, conn: &Arc<Connection>, message: &[u8]) -> Option<TurnEnd> {
        if let Err(reason) = self.host.message(conn, message) {
            return Some(TurnEnd::Close(reason));
        }
        conn.is_closed().then_some(TurnEnd::Gone)
    }

    /// Starts, restarts or clears the client's message clock after a turn: it measures how
    /// long the message now at the front of the buffer has been in the making, so it
    /// restarts whenever a message completes and stops when the buffer is empty.
    fn track_partial(&mut self, id: ClientId) {
        let Some(timeout) = self.settings.message_timeout else {
            return;
        };
        let Some(entry) = self.table.get_mut(&id) else {
            return;
        };
        let buffered = lock(&entry.conn.inbox).buffered();
        if buffered == 0 {
            entry.partial_since = None;
        } else if entry.partial_since.is_none() || self.delivered > 0 {
            let now = Instant::now();
            entry.partial_since = Some(now);
            // One deadline per client in the heap: a restarted clock is re-queued when its
            // old deadline comes up, so a busy client does not push one per turn.
            if !entry.clock_queued {
                entry.clock_queued = true;
                self.deadlines.push(Reverse((now + timeout, id)));
            }
        }
    }

    /// Ends clients whose message timer ran out, and sockets whose linger deadline passed.
    fn expire(&mut self, now: Instant) {
        self.lingering.retain(|l| l.deadline > now);
        self.link
            .lingering
            .store(self.lingering.len(), Ordering::Relaxed);
        let Some(timeout) = self.settings.message_timeout else {
            return;
        };
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let reading = self.reading;
            let Some(entry) = self.table.get_mut(&id) else {
                continue;
            };
            entry.clock_queued = false;
            let Some(since) = entry.partial_since else {
                continue;
            };
            if since + timeout > now {
                // The clock restarted since this deadline was queued: queue the new one.
                entry.clock_queued = true;
                self.deadlines.push(Reverse((since + timeout, id)));
                continue;
            }
            if !reading || entry.paused || entry.pending {
                // We are the ones not reading: the client gets a fresh allowance.
                entry.partial_since = Some(now);
                entry.clock_queued = true;
                self.deadlines.push(Reverse((now + timeout, id)));
                continue;
            }
            let conn = Arc::clone(&entry.conn);
            let buffered = lock(&conn.inbox).buffered();
            let after_ms = timeout.as_millis().min(u64::MAX as u128) as u64;
            let e = ProtocolError::MessageTimeout { after_ms, buffered };
            self.disconnect(&conn, DisconnectReason::Protocol(e));
        }
    }

    // ANCHOR: disconnect
    /// Ends a client for `reason`: forget it, and if this call reported it, close its socket.
    fn disconnect(&mut self, conn: &Arc<Connection>, reason: DisconnectReason) {
        self.table.remove(&conn.client.id);
        let linger = !reason.socket_is_broken();
        if self.host.disconnect(conn, reason) {
            self.let_go(Arc::clone(conn), linger);
        }
    }
    // ANCHOR_END: disconnect

    // ANCHOR: linger
    /// Closes a client's socket: at once when it is broken, else gracefully (flush, half-close,
    /// drain until the peer's FIN or the deadline).
    fn let_go(&mut self, conn: Arc<Connection>, linger: bool) {
        conn.busy.store(false, Ordering::Relaxed);
        if !linger {
            conn.discard_output();
            return; // dropping the last handle closes the socket
        }
        if self.lingering.len() >= self.settings.max_lingering {
            let _ = conn.flush();
            let _ = conn.stream.shutdown(Shutdown::Write);
            let _ = discard_input(&conn, &mut self.buf);
            return;
        }
        let mut lingering = Lingering {
            conn,
            flushed: false,
            eof: false,
            deadline: Instant::now() + self.settings.linger,
        };
        if advance_linger(&mut lingering, &mut self.buf) {
            self.lingering.push(lingering);
        }
    }
}

/// One step of a lingering close; false when the socket is done with.
fn advance_linger(l: &mut Lingering, buf: &mut [u8]) -> bool {
    if !l.eof {
        // Drain (and drop) what the peer still sends: closing a socket with unread input
        // would send a reset, which destroys output the peer has not read yet.
        match discard_input(&l.conn, buf) {
            Drained::Open => {}
            Drained::Eof => l.eof = true,
            Drained::Broken => return false,
        }
    }
    if !l.flushed {
        match l.conn.flush() {
            Ok(true) => {
                let _ = l.conn.stream.shutdown(Shutdown::Write);
                l.flushed = true;
            }
            Ok(false) => {}
            Err(_) => return false,
        }
    }
    !(l.flushed && l.eof)
}
// ANCHOR_END: linger

// ANCHOR: end_of_stream
/// Why a client whose stream ended goes: a write error already met, a message cut short by
/// the end, or simply the peer closing.
fn end_of_stream(conn: &Connection) -> DisconnectReason {
    if let Some(reason) = conn.write_error() {
        return reason;
    }
    match lock(&conn.inbox).finish() {
        Ok(()) => DisconnectReason::PeerClosed,
        Err(e) => DisconnectReason::Protocol(e),
    }
}
// ANCHOR_END: end_of_stream

/// What draining a socket's input found.
enum Drained {
    /// Nothing more for now; the peer may still send.
    Open,
    /// The peer's FIN.
    Eof,
    /// An error: the socket is broken.
    Broken,
}

/// Reads and drops what is waiting.
fn discard_input(conn: &Connection, buf: &mut [u8]) -> Drained {
    loop {
        match (&conn.stream).read(buf) {
            Ok(0) => return Drained::Eof,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drained::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Drained::Broken,
        }
    }
}

// ANCHOR: close_gracefully
/// The last step of `stop()`: every client left is given what was queued for it (waiting at
/// most `linger` for those that do not take it), then a FIN; its pending input is drained
/// first, because closing with unread input would send a reset instead.
pub(crate) fn close_gracefully(conns: &[Arc<Connection>], linger: Duration) {
    let deadline = Instant::now() + linger;
    let mut owed: Vec<&Arc<Connection>> = conns.iter().filter(|c| c.queued_output() > 0).collect();
    while !owed.is_empty() {
        owed.retain(|c| matches!(c.flush(), Ok(false)));
        let left = deadline.saturating_duration_since(Instant::now());
        if owed.is_empty() || left.is_zero() {
            break;
        }
        let mut set = PollSet::new();
        for c in &owed {
            set.add(&c.stream, Interest::WRITE);
        }
        if set.wait(Some(left)).is_err() {
            break;
        }
    }
    let mut sink = [0u8; 4096];
    for conn in conns {
        let _ = conn.stream.shutdown(Shutdown::Write);
        while matches!((&conn.stream).read(&mut sink), Ok(n) if n > 0) {}
    }
}
// ANCHOR_END: close_gracefully
