//! Chapter 3 — the data-request service (the course's DRS, `TcpClientServiceManager`).
//!
//! One thread serves every connected client. It waits on all their sockets at once — in
//! `poll` (chapter 3's [`select`]) or `epoll` (Linux), behind a [`Poller`] where each client is
//! registered once — and when any is ready it reads what arrived, cuts it into messages
//! (chapter 6) and hands each to the application, straight from its read buffer; it also
//! writes output queued for clients whose sockets can take it, a turn's replies in one write. Like the course's DRS it keeps its own table of the
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
//! [`Poller`]: crate::poller::Poller

// With the exercise stub in place the loop is `todo!()`, so what only it calls goes unused.
#![cfg_attr(feature = "ex03", allow(dead_code))]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crate::client::ClientId;
use crate::config::Config;
use crate::connection::{lock, Connection, OutputBudget};
use crate::demarcation::{Demarcator, Framing, ProtocolError};
use crate::error::DisconnectReason;
use crate::linger::{advance_linger, discard_input, Lingering};
use crate::poller::{Poller, PollerKind};
use crate::select::{Interest, PollSet, Readiness, Waker};

// ANCHOR: drs_loop_mod
// The loop itself (wait, apply commands, serve, expire) is exercise 3: the feature
// swaps in the student's file. A module declared in `multiplexer.rs` lives in `multiplexer/`,
// but a `path` given here is relative to `src/`, as for a module declared in `lib.rs`.
#[cfg_attr(feature = "ex03", path = "../chapters/ex03_drs_loop.rs")]
mod drs_loop;
// The DRS's deadlines: message clocks and linger ends.
mod timers;
// Chapter 10: which thread serves each client, and handing a client from one to another
// (exercise 10 swaps in the student's handover).
#[cfg_attr(feature = "ex10", path = "../chapters/ex10_handover.rs")]
mod handover;
mod routes;
pub(crate) use routes::Routes;
// ANCHOR_END: drs_loop_mod

/// Bytes read from one socket per `read` call (and the DRS's one read buffer).
const READ_CHUNK: usize = 64 * 1024;

/// The waker's token in the poller; client ids, the other tokens, start at 1.
const WAKER: u64 = 0;

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
    /// Another thread queued output for the client that the socket did not take at once:
    /// poll it for writability.
    WantWrite(Arc<Connection>),
    /// Hand the client to the thread behind `to` (chapter 10, migration); `done` hears
    /// whether it was handed over.
    Release {
        conn: Arc<Connection>,
        to: Arc<DrsLink>,
        done: Option<mpsc::Sender<bool>>,
    },
    /// Take over a client another thread let go of (`None`: it was gone before it could be).
    Adopt(Option<Box<Handover>>),
    /// Read from clients (`true`), or only write to them (`false`: listening disabled).
    Reading(bool),
    /// Leave the loop (server stopping).
    Stop,
}

/// The DRS's mailbox: a command queue and the waker that makes the DRS read it.
pub(crate) struct DrsLink {
    /// Commands in the order they were given; the DRS takes them all after each wake-up.
    queue: Mutex<VecDeque<Command>>,
    /// Interrupts the DRS's wait.
    waker: Waker,
    /// How many closed sockets the DRS is still letting go, for `show`.
    lingering: AtomicUsize,
    /// 0 for the server's DRS; a client thread's own number otherwise (what a connection's
    /// `served_by` holds while this thread serves it).
    number: u64,
    /// The thread reading this mailbox, once it runs: a request made on that very thread
    /// must not wait for the thread to answer it.
    thread: OnceLock<ThreadId>,
}
// ANCHOR_END: command

// ANCHOR: handover
/// Everything a serving thread holds for a client, handed to the next one on a migration.
// With the exercise 10 stub in place nothing builds or reads one yet.
#[cfg_attr(feature = "ex10", allow(dead_code))]
pub(crate) struct Handover {
    conn: Arc<Connection>,
    /// The receive side with the bytes read and not yet delivered: what makes the move
    /// lossless. (Always there between two turns, which is when a client is handed over.)
    inbox: Option<Demarcator>,
    paused: bool,
    pending: bool,
    partial_since: Option<Instant>,
}
// ANCHOR_END: handover

impl DrsLink {
    /// The server's DRS's mailbox.
    pub(crate) fn new() -> io::Result<DrsLink> {
        DrsLink::with_number(0)
    }

    fn with_number(number: u64) -> io::Result<DrsLink> {
        Ok(DrsLink {
            queue: Mutex::new(VecDeque::new()),
            waker: Waker::new()?,
            lingering: AtomicUsize::new(0),
            number,
            thread: OnceLock::new(),
        })
    }

    /// The number a connection's `served_by` holds while this thread serves it.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// True when called on the thread that reads this mailbox.
    pub(crate) fn is_current_thread(&self) -> bool {
        self.thread.get() == Some(&std::thread::current().id())
    }

    // ANCHOR: push
    pub(crate) fn push(&self, command: Command) {
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

    /// Output was queued for a client and not all written: the DRS polls it for writability.
    pub(crate) fn output_queued(&self, conn: Arc<Connection>) {
        self.push(Command::WantWrite(conn));
    }

    /// Asks this thread to hand `conn` to the thread behind `to`.
    pub(crate) fn release(
        &self,
        conn: Arc<Connection>,
        to: Arc<DrsLink>,
        done: Option<mpsc::Sender<bool>>,
    ) {
        self.push(Command::Release { conn, to, done });
    }

    /// A poller of `kind` with the waker already registered: what the DRS thread waits on.
    /// Made before the thread starts, so that failing to make it is an error of `start`.
    ///
    /// # Errors
    /// What creating the poller or registering the waker reports.
    pub(crate) fn new_poller(&self, kind: PollerKind) -> io::Result<Poller> {
        let mut poller = Poller::new(kind)?;
        poller.add(self.waker.receiver(), WAKER, Interest::READ)?;
        Ok(poller)
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
    framing: Framing,
    read_buffer: usize,
    turn_bytes: usize,
    turn_messages: usize,
    message_timeout: Option<Duration>,
    linger: Duration,
    max_lingering: usize,
}

impl DrsSettings {
    pub(crate) fn from_config(config: &Config) -> DrsSettings {
        DrsSettings {
            framing: config.framing.clone(),
            read_buffer: config.read_buffer,
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
    /// What the poller waits for on its socket now; changed only when what we want changes.
    registered: Interest,
    /// Its output is backed up: it is not read until the queue drains (backpressure).
    paused: bool,
    /// Complete messages are waiting in its buffer: its last turn ended on the message bound.
    pending: bool,
    /// It is on the DRS's list of clients with messages pending.
    listed_pending: bool,
    /// When the message now in its buffer was started, if one is (for the message timeout).
    partial_since: Option<Instant>,
    /// A deadline for this client is in the heap.
    clock_queued: bool,
    /// The pass in which it was last served: one turn per client per pass.
    served_in: u64,
    /// Its receive side (chapter 6): bytes read and not yet delivered. Only the DRS touches
    /// it, so it needs no lock; it is out of the table only during the client's turn.
    inbox: Option<Demarcator>,
}
// ANCHOR_END: listened

impl Listened {
    /// A client just listened to (or adopted: the caller sets what was handed over).
    fn new(conn: Arc<Connection>, inbox: Demarcator) -> Listened {
        Listened {
            conn,
            registered: Interest::default(),
            paused: false,
            pending: false,
            listed_pending: false,
            partial_since: None,
            clock_queued: false,
            served_in: 0,
            inbox: Some(inbox),
        }
    }
}

/// How one client's turn ended.
enum TurnEnd {
    /// The socket had no more to read.
    Idle,
    /// The byte bound was reached; the socket may hold more (the poller will say: it is
    /// level-triggered).
    More,
    /// The message bound was reached with complete messages still buffered.
    Pending,
    /// Someone else disconnected the client during the turn.
    Gone,
    /// The client must go.
    Close(DisconnectReason),
}

/// A deadline the DRS keeps, in one heap: a client's message clock, or the end of a
/// lingering close. Entries that no longer apply are skipped when they come up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Message(ClientId),
    Linger(ClientId),
}

/// The DRS thread's state.
struct Drs<H: DrsHost> {
    host: Arc<H>,
    link: Arc<DrsLink>,
    /// Every serving thread's mailbox: where a request for a client that moved on goes.
    routes: Arc<Routes>,
    budget: Arc<OutputBudget>,
    settings: DrsSettings,
    /// Every socket the DRS waits on, registered once under its client's id.
    poller: Poller,
    /// The clients it listens to.
    table: HashMap<ClientId, Listened>,
    /// Closed sockets still being let go, under the id their client had.
    lingering: HashMap<ClientId, Lingering>,
    /// Clients whose last turn left complete messages: served next pass without waiting.
    pending: Vec<ClientId>,
    /// Deadlines, earliest first.
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
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
    routes: Arc<Routes>,
    budget: Arc<OutputBudget>,
    settings: DrsSettings,
    poller: Poller,
    reading: bool,
) {
    let _ = link.thread.set(std::thread::current().id());
    let mut drs = Drs {
        host,
        link,
        routes,
        budget,
        settings,
        poller,
        table: HashMap::new(),
        lingering: HashMap::new(),
        pending: Vec::new(),
        timers: BinaryHeap::new(),
        reading,
        pass: 0,
        delivered: 0,
        buf: vec![0u8; READ_CHUNK],
    };
    drs.run_loop();
    drs.link.lingering.store(0, Ordering::Relaxed);
    for (_, lingering) in drs.lingering.drain() {
        let mut buf = [0u8; 4096];
        let _ = lingering.conn.stream.shutdown(Shutdown::Write);
        let _ = discard_input(&lingering.conn, &mut buf);
    }
    if drs.link.number != 0 {
        drs.routes.remove(drs.link.number);
    }
}
// ANCHOR_END: run

impl<H: DrsHost> Drs<H> {
    /// Waits on the waker alone, at most `timeout`: how the loop rides out a failing wait.
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
                Command::Listen(conn) => self.listen(conn),
                Command::Close { conn, linger } => {
                    let registered = self.table.remove(&conn.client.id).is_some();
                    if registered {
                        self.let_go(conn, linger, true);
                        continue;
                    }
                    if let Err(Command::Close { conn, linger }) =
                        self.forward(Command::Close { conn, linger })
                    {
                        self.let_go(conn, linger, false);
                    }
                }
                Command::WantWrite(conn) => {
                    let id = conn.client.id;
                    if self.table.contains_key(&id) {
                        self.sync(id);
                    } else {
                        let _ = self.forward(Command::WantWrite(conn));
                    }
                }
                Command::Release { conn, to, done } => self.release(conn, to, done),
                Command::Adopt(handover) => self.adopt(handover),
                Command::Reading(reading) => {
                    self.reading = reading;
                    let ids: Vec<ClientId> = self.table.keys().copied().collect();
                    for id in ids {
                        self.sync(id);
                    }
                }
                Command::Stop => return false,
            }
        }
        true
    }
    // ANCHOR_END: apply_commands

    // ANCHOR: forward
    /// Sends a request about a client this thread does not hold to the thread that serves it
    /// now (it moved on, chapter 10). `Err` gives the request back when the client is served
    /// here after all (it is not listened to yet, or already let go) or its thread is gone.
    fn forward(&self, command: Command) -> Result<(), Command> {
        let conn = match &command {
            Command::Close { conn, .. }
            | Command::WantWrite(conn)
            | Command::Release { conn, .. } => conn,
            _ => return Err(command),
        };
        let number = conn.served_by.load(Ordering::SeqCst);
        match self.routes.get(number) {
            Some(link) if number != self.link.number => {
                link.push(command);
                Ok(())
            }
            _ => Err(command),
        }
    }
    // ANCHOR_END: forward

    /// A client thread whose client is gone (and whose lingering close is over) has nothing
    /// left to serve: it asks itself to leave. The server's DRS stays for new clients.
    fn leave_if_done(&self) {
        if self.link.number != 0 && self.table.is_empty() && self.lingering.is_empty() {
            self.link.push(Command::Stop);
        }
    }

    // ANCHOR: listen
    /// Starts listening to a new client: one registration, kept until it leaves.
    fn listen(&mut self, conn: Arc<Connection>) {
        // A client disconnected before we got here is already closed: skip it.
        if conn.is_closed() {
            return;
        }
        let inbox = self.new_inbox();
        self.register(Listened::new(conn, inbox));
    }

    /// Registers a client with the poller and enters it in the table; false (and the client
    /// ended) when the kernel refuses to watch it.
    fn register(&mut self, mut entry: Listened) -> bool {
        let id = entry.conn.client.id;
        let interest = Interest {
            read: self.reading && !entry.paused && !entry.pending,
            write: entry.conn.queued_output() > 0,
        };
        if let Err(e) = self.poller.add(&entry.conn.stream, id.0, interest) {
            // The kernel refused to watch it (out of memory, epoll's watch limit): a client we
            // cannot serve is a client we must end now, rather than leave unheard.
            if self.host.disconnect(&entry.conn, DisconnectReason::io(&e)) {
                entry.conn.discard_output();
            }
            self.leave_if_done();
            return false;
        }
        entry.registered = interest;
        self.table.insert(id, entry);
        true
    }

    /// An empty receive side for a client, in the server's framing.
    fn new_inbox(&self) -> Demarcator {
        Demarcator::new(self.settings.framing.clone(), self.settings.read_buffer)
    }

    /// Brings a client's registration in step with what we want of it now: read unless
    /// paused, pending or listening is disabled; write while output is queued. Called after
    /// anything that may change that, so that nothing is re-registered for nothing.
    fn sync(&mut self, id: ClientId) {
        let Some(entry) = self.table.get_mut(&id) else {
            return;
        };
        let queued = entry.conn.queued_output();
        entry.paused = self.budget.should_pause(queued, entry.paused);
        entry.conn.paused.store(entry.paused, Ordering::Relaxed);
        let want = Interest {
            read: self.reading && !entry.paused && !entry.pending,
            write: queued > 0,
        };
        if want != entry.registered && self.poller.modify(&entry.conn.stream, id.0, want).is_ok() {
            entry.registered = want;
        }
        if entry.pending && !entry.listed_pending {
            entry.listed_pending = true;
            self.pending.push(id);
        }
    }
    // ANCHOR_END: listen

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
        // Fresh, because the server-wide bound may have been passed since it was last synced.
        entry.paused = self.budget.should_pause(conn.queued_output(), entry.paused);
        let may_read = self.reading && !entry.paused;
        let was_pending = entry.pending;
        let wants_turn = ready.readable || ready.hangup || was_pending;
        // Out of the table for the turn, so that the turn can lend its messages to the
        // application while `self` is in use.
        let mut inbox = entry.inbox.take();
        self.delivered = 0;
        let mut end = match (self.write_owed(&conn), &mut inbox) {
            (Err(reason), _) => TurnEnd::Close(reason),
            // A hang-up while paused: read anyway, to learn the reason now rather than spin.
            (Ok(()), Some(inbox)) if wants_turn && (may_read || ready.hangup) => {
                self.turn(&conn, inbox)
            }
            // Only written to (paused, or listening disabled): messages left over from its
            // last turn are still waiting, and the socket will not report them again.
            (Ok(()), _) if was_pending => TurnEnd::Pending,
            _ => TurnEnd::Idle,
        };
        if let (Some(entry), Some(inbox)) = (self.table.get_mut(&id), inbox) {
            conn.buffered.store(inbox.buffered(), Ordering::Relaxed);
            entry.inbox = Some(inbox);
        }
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
                conn.set_busy(pending);
                if let Some(entry) = self.table.get_mut(&id) {
                    entry.pending = pending;
                }
                self.track_partial(id);
                self.sync(id);
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
    fn turn(&mut self, conn: &Arc<Connection>, inbox: &mut Demarcator) -> TurnEnd {
        let _serving = Connection::serving(conn);
        conn.set_busy(true);
        let pass_through = inbox.passes_through();
        let (mut messages, mut bytes) = (0, 0);
        let end = loop {
            // Messages first: those left over from the last turn, then those just read.
            if !pass_through {
                if let Some(end) = self.deliver_buffered(conn, inbox, &mut messages) {
                    break end;
                }
            }
            if bytes >= self.settings.turn_bytes {
                break TurnEnd::More;
            }
            // While nothing is buffered a read may bring up to one buffer's worth: whatever
            // is left of it after cutting out the whole messages then fits in the buffer.
            let room = if pass_through {
                READ_CHUNK
            } else if inbox.buffered() == 0 {
                inbox.capacity()
            } else {
                inbox.free_space()
            };
            let want = room.min(READ_CHUNK).min(self.settings.turn_bytes - bytes);
            if want == 0 {
                // The capacity rule (one maximal message always fits) makes this unreachable.
                let max = inbox.capacity();
                break TurnEnd::Close(DisconnectReason::Protocol(ProtocolError::MessageTooLong {
                    max,
                }));
            }
            match (&conn.stream).read(&mut self.buf[..want]) {
                Ok(0) => break TurnEnd::Close(end_of_stream(conn, inbox)),
                Ok(n) => {
                    bytes += n;
                    conn.stats.received(n);
                    // Less than asked for: the socket is drained for now. The turn ends after
                    // these bytes, saving a read that would only say "would block" (the poller
                    // is level-triggered: anything arriving later is reported).
                    let drained = n < want;
                    if pass_through {
                        messages += 1;
                        if let Some(end) = self.deliver(conn, &self.buf[..n]) {
                            break end;
                        }
                        if messages >= self.settings.turn_messages {
                            break TurnEnd::More;
                        }
                    } else if inbox.buffered() == 0 {
                        if let Some(end) = self.deliver_read(conn, inbox, n, &mut messages) {
                            break end;
                        }
                    } else {
                        inbox.push(&self.buf[..n]);
                    }
                    if drained {
                        if !pass_through {
                            if let Some(end) = self.deliver_buffered(conn, inbox, &mut messages) {
                                break end;
                            }
                        }
                        break TurnEnd::Idle;
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

    // ANCHOR: deliver_read
    /// Delivers the whole messages of a read (of `n` bytes, made while nothing was buffered)
    /// straight from the read buffer, with no copy; what is left — the start of a message, or
    /// messages past the turn's bound — goes into the client's buffer.
    fn deliver_read(
        &self,
        conn: &Arc<Connection>,
        inbox: &mut Demarcator,
        n: usize,
        messages: &mut usize,
    ) -> Option<TurnEnd> {
        let mut at = 0;
        while *messages < self.settings.turn_messages {
            match inbox.cut(&self.buf[at..n]) {
                Ok(Some(found)) => {
                    *messages += 1;
                    let start = at + found.start;
                    at += found.total;
                    if let Some(end) = self.deliver(conn, &self.buf[start..start + found.len]) {
                        return Some(end);
                    }
                }
                Ok(None) => break,
                Err(e) => return Some(TurnEnd::Close(DisconnectReason::Protocol(e))),
            }
        }
        inbox.push(&self.buf[at..n]);
        None
    }
    // ANCHOR_END: deliver_read
    // ANCHOR_END: turn

    // ANCHOR: deliver_buffered
    /// Delivers the complete messages in the client's buffer, up to the turn's bound; how the
    /// turn must end, if it must.
    fn deliver_buffered(
        &self,
        conn: &Arc<Connection>,
        inbox: &mut Demarcator,
        messages: &mut usize,
    ) -> Option<TurnEnd> {
        loop {
            if *messages >= self.settings.turn_messages {
                return Some(TurnEnd::Pending);
            }
            match inbox.next_message() {
                Ok(Some(message)) => {
                    *messages += 1;
                    if let Some(end) = self.deliver(conn, message) {
                        return Some(end);
                    }
                }
                Ok(None) => return None,
                Err(e) => return Some(TurnEnd::Close(DisconnectReason::Protocol(e))),
            }
        }
    }
    // ANCHOR_END: deliver_buffered

    /// Hands one message to the application; how the turn must end, if it must.
    fn deliver(&self, conn: &Arc<Connection>, message: &[u8]) -> Option<TurnEnd> {
        if let Err(reason) = self.host.message(conn, message) {
            return Some(TurnEnd::Close(reason));
        }
        conn.is_closed().then_some(TurnEnd::Gone)
    }

    // ANCHOR: disconnect
    /// Ends a client for `reason`: forget it, and if this call reported it, close its socket.
    /// If another thread reported it first, its `Close` command closes the socket.
    fn disconnect(&mut self, conn: &Arc<Connection>, reason: DisconnectReason) {
        let registered = self.table.remove(&conn.client.id).is_some();
        let linger = !reason.socket_is_broken();
        if self.host.disconnect(conn, reason) {
            self.let_go(Arc::clone(conn), linger, registered);
        } else if registered {
            let _ = self.poller.remove(&conn.stream, conn.client.id.0);
        }
    }
    // ANCHOR_END: disconnect

    // ANCHOR: linger
    /// Closes a client's socket: at once when it is broken, else gracefully (flush, half-close,
    /// drain until the peer's FIN or the deadline). `registered`: the socket is still in the
    /// poller (as a client); it is deregistered before it is closed.
    fn let_go(&mut self, conn: Arc<Connection>, linger: bool, registered: bool) {
        conn.set_busy(false);
        let id = conn.client.id;
        let mut lingering = Lingering {
            conn,
            registered: Interest::default(),
            flushed: false,
            eof: false,
            deadline: Instant::now() + self.settings.linger,
        };
        let keep = if !linger {
            lingering.conn.discard_output();
            false
        } else if self.lingering.len() >= self.settings.max_lingering {
            // Too many already: one last try, then close without waiting.
            let _ = advance_linger(&mut lingering, &mut self.buf);
            false
        } else {
            advance_linger(&mut lingering, &mut self.buf)
        };
        let want = lingering.interest();
        let watched = keep
            && if registered {
                self.poller.modify(&lingering.conn.stream, id.0, want)
            } else {
                self.poller.add(&lingering.conn.stream, id.0, want)
            }
            .is_ok();
        if !watched {
            if registered {
                let _ = self.poller.remove(&lingering.conn.stream, id.0);
            }
            self.leave_if_done();
            return; // dropping the last handle closes the socket
        }
        lingering.registered = want;
        self.timers
            .push(Reverse((lingering.deadline, Timer::Linger(id))));
        self.lingering.insert(id, lingering);
        self.publish_lingering();
    }

    /// A lingering socket is ready: take the next step, and stop watching it once done.
    fn linger_ready(&mut self, id: ClientId) {
        let Some(l) = self.lingering.get_mut(&id) else {
            return;
        };
        if !advance_linger(l, &mut self.buf) {
            self.end_linger(id);
            return;
        }
        let want = l.interest();
        if want != l.registered && self.poller.modify(&l.conn.stream, id.0, want).is_ok() {
            l.registered = want;
        }
    }

    /// Stops watching a lingering socket and closes it.
    fn end_linger(&mut self, id: ClientId) {
        if let Some(l) = self.lingering.remove(&id) {
            let _ = self.poller.remove(&l.conn.stream, id.0);
            // Counted before the socket (and what it still held) is let go, so that `show`
            // never reports a lingering close whose output is already given back.
            self.publish_lingering();
        }
        self.leave_if_done();
    }

    /// Tells `show` how many closes are lingering.
    fn publish_lingering(&self) {
        self.link
            .lingering
            .store(self.lingering.len(), Ordering::Relaxed);
    }
}

// ANCHOR_END: linger

/// Tells a waiting `migrate` (if any) whether the client was handed over (chapter 10).
#[cfg_attr(feature = "ex10", allow(dead_code))]
fn reply(done: Option<mpsc::Sender<bool>>, moved: bool) {
    if let Some(done) = done {
        let _ = done.send(moved);
    }
}

// ANCHOR: end_of_stream
/// Why a client whose stream ended goes: a write error already met, a message cut short by
/// the end, or simply the peer closing.
fn end_of_stream(conn: &Connection, inbox: &Demarcator) -> DisconnectReason {
    if let Some(reason) = conn.settled_write_error() {
        return reason;
    }
    match inbox.finish() {
        Ok(()) => DisconnectReason::PeerClosed,
        Err(e) => DisconnectReason::Protocol(e),
    }
}
// ANCHOR_END: end_of_stream
