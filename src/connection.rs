//! One connected client at run time: the course's `TcpClient` with its socket, its receive
//! side (the demarcator, chapter 6), its queue of output not yet taken by the kernel, its
//! counters, and where it stands in being announced to the application.
//!
//! Three threads touch a connection: the DRS reads and writes it, the application queues
//! output for it (`send`), the CAS creates it. What they share is either atomic or behind a
//! short lock that is never held while the application is called.
//!
//! Output is where a server loses data or memory if it is careless. Every queue here is
//! bounded, and the bounds are *backpressure*, not loss: the DRS stops reading a client whose
//! queue passed its high-water mark (so TCP slows the sender down), and only a `send` that
//! is not a reply can be refused, whole, with an error. [`OutputBudget`] keeps the count for
//! the whole server so that many slow clients together stay bounded too.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::client::{Client, ClientId};
use crate::connector::ActiveLink;
use crate::error::{DisconnectReason, SendError};
use crate::stats::Tally;
use crate::wheel_timer::TimerHandle;

/// A queue that grew past this keeps its memory only while it is in use: once empty, it is
/// given back, so an idle client costs no output buffer.
const KEEP_OUTBOX_CAPACITY: usize = 16 * 1024;

// ANCHOR: connection
/// One connected client as the server holds it. Shared (`Arc`) by the client DB and the
/// DRS's own table; the socket is closed when the last holder lets go.
pub(crate) struct Connection {
    /// The record handed to the application.
    pub(crate) client: Client,
    /// The socket, non-blocking: the DRS must never wait on one client.
    pub(crate) stream: TcpStream,
    /// How many bytes the DRS holds for this client (received, not yet delivered), as of
    /// its last turn: for `show`. The bytes themselves live in the DRS's table.
    pub(crate) buffered: AtomicUsize,
    /// Bytes queued for the client and not yet accepted by the kernel.
    outbox: Mutex<VecDeque<u8>>,
    /// The outbox's length, readable without its lock (for backpressure decisions and `show`).
    queued: AtomicUsize,
    /// The server-wide count of queued output this connection adds to.
    budget: Arc<OutputBudget>,
    /// The first error met while writing from a thread other than the DRS; the DRS turns it
    /// into the disconnect reason, so a reset seen by a write is not later misreported as
    /// "peer closed" by a read that finds the connection already torn down.
    write_error: Mutex<Option<DisconnectReason>>,
    /// Set with `write_error`, so that the DRS's check on every turn takes no lock.
    has_write_error: AtomicBool,
    /// Set once, by whoever removed the client from the DB; after it, nothing more of this
    /// client is delivered to the application.
    pub(crate) closed: AtomicBool,
    /// Set by the DRS while it holds work for this client that the socket no longer shows
    /// (complete messages left over from a turn): the CAS must not reap it as dead.
    busy: Mutex<bool>,
    /// Signalled when `busy` clears, for a CAS that waits to reap a dead client.
    busy_done: Condvar,
    /// Set by the DRS while it does not read this client because its output is backed up.
    pub(crate) paused: AtomicBool,
    /// Whether `connected` has been reported yet; see [`Announce`].
    pub(crate) announce: Mutex<Announce>,
    /// Its counters (chapter 9), lock-free; the server's ledger totals them.
    pub(crate) stats: Tally,
    /// The client's hold timer (chapter 8), when keep-alive is on.
    pub(crate) keepalive: Mutex<Option<TimerHandle>>,
    /// The timer that sends the server's own keep-alives to this client.
    pub(crate) keepalive_sender: Mutex<Option<TimerHandle>>,
    /// Which thread serves the client (chapter 10): 0 for the DRS, else the number of a
    /// thread of its own. A number, not a handle, so that a connection knows nothing of the
    /// DRS; the serving thread changes it when it hands the client over.
    pub(crate) served_by: AtomicU64,
    /// Set when the server dialled this connection itself (chapter 11): how its end reaches
    /// the connector that will make it again. Its presence is the `ACTIVE` flag.
    pub(crate) active: Option<ActiveLink>,
}
// ANCHOR_END: connection

/// Where a client is in being announced to the application.
pub(crate) enum Announce {
    /// In the DB, `connected` not yet returned.
    Pending,
    /// `connected` returned: a disconnect is reported at once.
    Announced,
    /// Disconnected while pending: the CAS reports it after `connected`.
    ClosedEarly(DisconnectReason),
}

// Only the DRS loop reads the marks, and with the exercise 3 stub that loop is `todo!()`.
#[cfg_attr(feature = "ex03", allow(dead_code))]
// ANCHOR: budget
/// The output bounds of one server and the count they are checked against.
pub(crate) struct OutputBudget {
    high_water: usize,
    low_water: usize,
    per_client: usize,
    total_limit: usize,
    /// Bytes queued for all clients together.
    total: AtomicUsize,
}
// ANCHOR_END: budget

#[cfg_attr(feature = "ex03", allow(dead_code))]
impl OutputBudget {
    /// The bounds as `Config` names them: `output_high_water`, `output_low_water`,
    /// `max_output`, `max_total_output`.
    pub(crate) fn new(
        high_water: usize,
        low_water: usize,
        per_client: usize,
        total_limit: usize,
    ) -> OutputBudget {
        OutputBudget {
            high_water: high_water.max(1),
            low_water: low_water.min(high_water),
            per_client,
            total_limit: total_limit.max(1),
            total: AtomicUsize::new(0),
        }
    }

    /// Bytes queued for every client together.
    pub(crate) fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// The server-wide bound.
    pub(crate) fn total_limit(&self) -> usize {
        self.total_limit
    }

    // ANCHOR: should_pause
    /// Should a client with `queued` bytes waiting be left unread? With hysteresis: a client
    /// pauses at the high-water mark and resumes at the low-water mark, so it is not switched
    /// on and off for every segment. While the server-wide bound is passed, every client with
    /// output waiting pauses too (the largest queues among them), until the total is back
    /// under seven eighths of the bound or its own queue is empty: only clients with nothing
    /// queued are read, each for one turn, so the total passes the bound by at most one
    /// turn's replies per client. An empty queue never pauses anyone.
    pub(crate) fn should_pause(&self, queued: usize, paused_now: bool) -> bool {
        if queued == 0 {
            return false;
        }
        let total = self.total();
        if paused_now {
            queued > self.low_water || total >= self.total_limit / 8 * 7
        } else {
            queued >= self.high_water || total >= self.total_limit
        }
    }
    // ANCHOR_END: should_pause
}

// ANCHOR: serving
thread_local! {
    /// The connection whose messages this thread is delivering right now (the DRS during a
    /// turn): a `send` to it is a reply, which is queued without a write of
    /// its own (the DRS writes once after the turn) and never refused.
    static SERVING: RefCell<Option<Arc<Connection>>> = const { RefCell::new(None) };
}
// ANCHOR_END: serving

impl Connection {
    pub(crate) fn new(client: Client, stream: TcpStream, budget: Arc<OutputBudget>) -> Connection {
        Connection {
            client,
            stream,
            buffered: AtomicUsize::new(0),
            outbox: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
            budget,
            write_error: Mutex::new(None),
            has_write_error: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            busy: Mutex::new(false),
            busy_done: Condvar::new(),
            paused: AtomicBool::new(false),
            announce: Mutex::new(Announce::Pending),
            stats: Tally::detached(),
            keepalive: Mutex::new(None),
            keepalive_sender: Mutex::new(None),
            served_by: AtomicU64::new(0),
            active: None,
        }
    }

    /// Marks this thread as delivering `conn`'s messages until the guard is dropped.
    pub(crate) fn serving(conn: &Arc<Connection>) -> ServingGuard {
        SERVING.with_borrow_mut(|s| *s = Some(Arc::clone(conn)));
        ServingGuard
    }

    /// True on the thread that is delivering this connection's messages right now.
    pub(crate) fn is_being_served_here(self: &Arc<Self>) -> bool {
        SERVING.with_borrow(|s| s.as_ref().is_some_and(|c| Arc::ptr_eq(c, self)))
    }

    // ANCHOR: with_served
    /// Calls `f` with the connection this thread is delivering messages of, if it is client
    /// `id` of the server whose output budget is `budget`: a reply reaches its connection
    /// without a look-up in the client DB.
    pub(crate) fn with_served<R>(
        id: ClientId,
        budget: &Arc<OutputBudget>,
        f: impl FnOnce(&Connection) -> R,
    ) -> Option<R> {
        SERVING.with_borrow(|s| match s {
            Some(conn) if conn.client.id == id && Arc::ptr_eq(&conn.budget, budget) => {
                Some(f(conn))
            }
            _ => None,
        })
    }
    // ANCHOR_END: with_served

    // ANCHOR: queue
    /// Queues already-framed bytes. A `reply` (to the client being served, from inside its
    /// `message`) is never refused; other sends are refused whole when they would pass the
    /// client's bound, or the server's while the client already has output waiting. Returns
    /// true when the queue was empty before, so the caller knows a write may be tried at once.
    pub(crate) fn queue(&self, framed: &[u8], reply: bool) -> Result<bool, SendError> {
        self.queue_parts([framed, &[], &[]], reply)
    }

    /// [`queue`](Self::queue) for a frame given in parts (header, payload, delimiter), so
    /// that it goes into the queue without being assembled anywhere else first.
    pub(crate) fn queue_parts(&self, parts: [&[u8]; 3], reply: bool) -> Result<bool, SendError> {
        let size: usize = parts.iter().map(|p| p.len()).sum();
        let mut out = lock(&self.outbox);
        let queued = out.len();
        if !reply {
            if queued + size > self.budget.per_client {
                return Err(SendError::QueueFull {
                    id: self.client.id,
                    queued,
                    message: size,
                    limit: self.budget.per_client,
                });
            }
            let total = self.budget.total();
            if queued > 0 && total + size > self.budget.total_limit {
                return Err(SendError::ServerQueueFull {
                    id: self.client.id,
                    total,
                    message: size,
                    limit: self.budget.total_limit,
                });
            }
        }
        for part in parts {
            out.extend(part);
        }
        self.account(queued, out.len());
        Ok(queued == 0)
    }
    // ANCHOR_END: queue

    /// Keeps `queued` and the server-wide counts in step with the outbox's length.
    fn account(&self, before: usize, after: usize) {
        self.queued.store(after, Ordering::Relaxed);
        if after > before {
            self.budget
                .total
                .fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.budget
                .total
                .fetch_sub(before - after, Ordering::Relaxed);
        }
    }

    // ANCHOR: flush
    /// Writes as much queued output as the kernel takes without blocking: both halves of the
    /// queue in one `writev`. Returns true when the queue is empty afterwards.
    ///
    /// # Errors
    /// The socket's error (for example, connection reset by peer), remembered: whichever
    /// thread writes next gets the same error, not the "broken pipe" that a write after the
    /// reset would meet.
    pub(crate) fn flush(&self) -> io::Result<bool> {
        let mut out = lock(&self.outbox);
        if let Some(DisconnectReason::Io { kind, message }) = self.write_error() {
            return Err(io::Error::new(kind, message));
        }
        let before = out.len();
        let result = loop {
            if out.is_empty() {
                break Ok(true);
            }
            let (front, back) = out.as_slices();
            let bufs = [IoSlice::new(front), IoSlice::new(back)];
            match (&self.stream).write_vectored(&bufs) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.drain(..n);
                    self.stats.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Recorded before the queue's lock is let go, so no other writer can meet
                    // the aftermath first and report that instead.
                    self.record_error(&e);
                    break Err(e);
                }
            }
        };
        if out.is_empty() && out.capacity() > KEEP_OUTBOX_CAPACITY {
            *out = VecDeque::new();
        }
        self.account(before, out.len());
        result
    }
    // ANCHOR_END: flush

    /// Forgets queued output (the socket is broken): the server-wide count gives it back.
    pub(crate) fn discard_output(&self) {
        let mut out = lock(&self.outbox);
        let before = out.len();
        *out = VecDeque::new();
        self.account(before, 0);
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued_output(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Remembers a socket error (the first one wins): it is the reason the client goes,
    /// whoever meets the consequences next.
    pub(crate) fn record_error(&self, error: &io::Error) {
        lock(&self.write_error).get_or_insert_with(|| DisconnectReason::io(error));
        self.has_write_error.store(true, Ordering::Release);
    }

    /// The write error recorded by another thread, if any, as a disconnect reason.
    pub(crate) fn write_error(&self) -> Option<DisconnectReason> {
        if !self.has_write_error.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.write_error).clone()
    }

    /// The write error, once a write in progress on another thread has finished: a read that
    /// found the stream ended may come right after a write that met the reset and has not
    /// recorded it yet (a write records its error before it lets go of the queue).
    pub(crate) fn settled_write_error(&self) -> Option<DisconnectReason> {
        let _writers_done = lock(&self.outbox);
        self.write_error()
    }

    /// Marks whether the DRS holds work for this client that its socket no longer shows.
    pub(crate) fn set_busy(&self, busy: bool) {
        *lock(&self.busy) = busy;
        if !busy {
            self.busy_done.notify_all();
        }
    }

    /// Waits, at most `timeout`, until the DRS holds no work for this client, then runs `f`
    /// while keeping the DRS from starting a turn with it; `None` if the DRS stayed busy.
    pub(crate) fn when_idle<R>(
        &self,
        timeout: std::time::Duration,
        f: impl FnOnce() -> R,
    ) -> Option<R> {
        let busy = lock(&self.busy);
        let (busy, _) = self
            .busy_done
            .wait_timeout_while(busy, timeout, |busy| *busy)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *busy {
            return None;
        }
        let result = f();
        drop(busy);
        Some(result)
    }

    /// True once the client left the DB.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Clears the thread's "serving" mark when a turn ends, even if a callback panicked.
pub(crate) struct ServingGuard;

impl Drop for ServingGuard {
    fn drop(&mut self) {
        SERVING.with_borrow_mut(|s| *s = None);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Whatever is still queued leaves the server-wide count with the connection.
        self.discard_output();
    }
}

/// Locks a mutex, carrying on with the data if a panicking thread poisoned it: every critical
/// section here leaves its data consistent, so poisoning carries no information for us.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
