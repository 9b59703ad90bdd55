//! Chapter 9 — statistics: the server's counters.
//!
//! The course's agenda closes its design part with "maintaining statistics per client
//! connection": the C++ `TcpClient` carries a `conn` record whose `bytes_recvd` and
//! `bytes_sent` the DRS (or the client's own thread) adds to as data moves. We keep that idea
//! and take it to the whole server: per client, bytes and messages in and out, keep-alives,
//! since when it is connected and when it was last heard; per server, clients now and ever,
//! what became of every accepted connection, disconnects by reason, and the traffic of every
//! client it ever had.
//!
//! One rule shapes it: **counting costs no lock on the hot path**. A client's counters are
//! relaxed atomics (`Counts`) that the DRS adds to where it reads, delivers and writes:
//! nothing is summed there. The server's totals are made when someone asks
//! ([`ServerStats`](crate::info::ServerStats), `stats()`): the counters of the clients already gone, folded into one
//! [`Traffic`] when their connection was let go, plus the counters of the clients still open,
//! summed then. The folding and the sum are the `Ledger`'s: it keeps, under one lock taken
//! only when a client comes, when its connection goes and when someone asks, every open
//! client's counters beside the departed total, so that the answer is exact at any moment.
//!
//! What changes in Rust: the course folds nothing (its counters die with the `TcpClient`).
//! Here the fold happens in a `Drop`: a connection's counters are final only when the last
//! holder of the connection lets it go (a close lingers and still writes what the client was
//! owed, after the client left the DB), and `Drop` runs exactly once, which is the guarantee
//! a fold needs.
//!
//! A production server exports these as metrics (Prometheus counters, StatsD) and keeps
//! latency histograms beside them; we print them, because reading them is the lesson.

use std::collections::HashMap;
use std::fmt;
use std::ops::{AddAssign, Deref};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::client::ClientId;
use crate::error::DisconnectReason;

// ANCHOR: ledger_mod
// Folding a departed client's counters into the totals, summing the open ones, and naming a
// disconnect's kind are exercise 9: the feature swaps in the student's file.
#[cfg_attr(feature = "ex09", path = "../chapters/ex09_ledger.rs")]
mod ledger;
// ANCHOR_END: ledger_mod

// ANCHOR: counts
/// One client's counters. Written by whichever thread does the counted thing (the DRS reads
/// and delivers, any thread may send), with relaxed atomics: no counter orders anything else,
/// so none needs more, and none takes a lock.
pub(crate) struct Counts {
    /// Bytes read from the client's socket while it was a client.
    pub(crate) bytes_in: AtomicU64,
    /// Bytes the kernel accepted for the client.
    pub(crate) bytes_out: AtomicU64,
    /// Messages delivered to the application.
    pub(crate) messages_in: AtomicU64,
    /// Messages queued for the client.
    pub(crate) messages_out: AtomicU64,
    /// Keep-alive frames received (and not delivered).
    pub(crate) keepalives_in: AtomicU64,
    /// Keep-alive frames queued for the client.
    pub(crate) keepalives_out: AtomicU64,
    /// When bytes last came in, as milliseconds since `created` plus one; 0 until the first.
    /// An integer, so that the DRS can set it with a plain store.
    last_heard: AtomicU64,
    /// When the counting began (the connection was made).
    created: Instant,
}
// ANCHOR_END: counts

impl Counts {
    fn new() -> Counts {
        Counts {
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            keepalives_in: AtomicU64::new(0),
            keepalives_out: AtomicU64::new(0),
            last_heard: AtomicU64::new(0),
            created: Instant::now(),
        }
    }

    // ANCHOR: received
    /// `n` bytes came in from the client now: counted, and it was heard.
    pub(crate) fn received(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_heard.store(ms + 1, Ordering::Relaxed);
    }
    // ANCHOR_END: received

    /// How long ago bytes last came in; `None` if none ever did.
    pub(crate) fn last_heard(&self) -> Option<Duration> {
        let at = self.last_heard.load(Ordering::Relaxed).checked_sub(1)?;
        let at = self.created + Duration::from_millis(at);
        Some(at.elapsed())
    }

    /// The counters as they stand, as plain numbers.
    // Only the ledger's moves call it, and with the exercise 9 stub they are `todo!()`.
    #[cfg_attr(feature = "ex09", allow(dead_code))]
    pub(crate) fn traffic(&self) -> Traffic {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Traffic {
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            keepalives_in: get(&self.keepalives_in),
            keepalives_out: get(&self.keepalives_out),
        }
    }
}

// ANCHOR: tally
/// A connection's counters as the connection holds them (`conn.stats`): the [`Counts`], and
/// the ledger they are open in. Dropping it — when the connection itself is let go — folds
/// them into the ledger's departed total.
pub(crate) struct Tally {
    counts: Arc<Counts>,
    /// Where the counts are open, and under which id; `None` for counts no server totals.
    open_in: Option<(Arc<Ledger>, ClientId)>,
}

impl Deref for Tally {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.counts
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if let Some((ledger, id)) = self.open_in.take() {
            keep_books(|| lock(&ledger.books).fold(id));
        }
    }
}
// ANCHOR_END: tally

impl Tally {
    /// Counts that no server adds up (a connection not yet, or never, given to a ledger).
    pub(crate) fn detached() -> Tally {
        Tally {
            counts: Arc::new(Counts::new()),
            open_in: None,
        }
    }
}

// ANCHOR: traffic
/// What went through: bytes, messages and keep-alives, each way. One client's, or a server's
/// total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// Bytes the kernel accepted for clients.
    pub bytes_out: u64,
    /// Messages delivered to the application.
    pub messages_in: u64,
    /// Messages queued for clients.
    pub messages_out: u64,
    /// Keep-alive frames received.
    pub keepalives_in: u64,
    /// Keep-alive frames queued.
    pub keepalives_out: u64,
}

impl AddAssign for Traffic {
    fn add_assign(&mut self, other: Traffic) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
        self.keepalives_in += other.keepalives_in;
        self.keepalives_out += other.keepalives_out;
    }
}
// ANCHOR_END: traffic

// ANCHOR: kind
/// A [`DisconnectReason`] without its details: what disconnects are counted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisconnectKind {
    /// [`DisconnectReason::PeerClosed`].
    PeerClosed,
    /// [`DisconnectReason::Application`].
    Application,
    /// [`DisconnectReason::KeepAliveExpired`].
    KeepAliveExpired,
    /// [`DisconnectReason::Protocol`].
    Protocol,
    /// [`DisconnectReason::Io`].
    Io,
    /// [`DisconnectReason::HandlerPanicked`].
    HandlerPanicked,
    /// [`DisconnectReason::ServerShutdown`].
    ServerShutdown,
}

impl DisconnectKind {
    /// Every kind, in the order `Display` lists them; `ALL[k as usize] == k`.
    pub const ALL: [DisconnectKind; 7] = [
        DisconnectKind::PeerClosed,
        DisconnectKind::Application,
        DisconnectKind::KeepAliveExpired,
        DisconnectKind::Protocol,
        DisconnectKind::Io,
        DisconnectKind::HandlerPanicked,
        DisconnectKind::ServerShutdown,
    ];

    /// The kind's name, as `show` prints it.
    pub fn name(self) -> &'static str {
        match self {
            DisconnectKind::PeerClosed => "peer closed",
            DisconnectKind::Application => "application",
            DisconnectKind::KeepAliveExpired => "keep-alive expired",
            DisconnectKind::Protocol => "protocol error",
            DisconnectKind::Io => "I/O error",
            DisconnectKind::HandlerPanicked => "handler panicked",
            DisconnectKind::ServerShutdown => "server shutdown",
        }
    }
}
// ANCHOR_END: kind

impl fmt::Display for DisconnectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Disconnects counted by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Disconnects([u64; 7]);

impl Disconnects {
    /// How many clients went for this kind of reason.
    pub fn get(&self, kind: DisconnectKind) -> u64 {
        self.0[kind as usize]
    }

    /// How many clients went, for any reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl fmt::Display for Disconnects {
    /// `2 = 1 peer closed, 1 application, 0 …`: the total, then every kind.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} =", self.total())?;
        for (i, kind) in DisconnectKind::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep} {} {kind}", self.get(*kind))?;
        }
        Ok(())
    }
}

// ANCHOR: ledger
/// A server's counters, kept for the server's whole life (across restarts); the controller
/// holds one and bumps it where things happen.
pub(crate) struct Ledger {
    /// Connections `accept()` returned. Each then became a client, was rejected at the cap,
    /// was black-listed (the admission rules count those), or could not be set up.
    accepted: AtomicU64,
    /// Connections a connector made (chapter 11), handed to the same path as the accepted.
    connected: AtomicU64,
    /// Connections that became clients (entered the client DB).
    clients_ever: AtomicU64,
    /// Connections closed at once because the server held its maximum of clients.
    rejected: AtomicU64,
    /// Connections whose socket could not be set up (reported through `accept_error`).
    failed: AtomicU64,
    /// Clients reported disconnected, by [`DisconnectKind`].
    disconnects: [AtomicU64; 7],
    /// The traffic: departed total and open clients. Locked when a client comes, when its
    /// connection goes, and when someone asks; never while serving.
    books: Mutex<Books>,
    /// When the server was last started; `None` while stopped.
    started: Mutex<Option<Instant>>,
}

/// The traffic side of the ledger.
#[derive(Default)]
#[cfg_attr(feature = "ex09", allow(dead_code))]
struct Books {
    /// The counters of every client whose connection is gone, added up.
    departed: Traffic,
    /// The counters of every client whose connection is still held (connected, or closing).
    open: HashMap<ClientId, Arc<Counts>>,
}
// ANCHOR_END: ledger

/// Runs a piece of bookkeeping on a service thread: a bug in it costs a count, never the
/// thread that serves every client (the rule a callback's panic follows too). On a thread
/// already unwinding (a server dropped by a panic) it does nothing: a second panic there
/// would abort the process.
fn keep_books(f: impl FnOnce()) {
    if std::thread::panicking() {
        return;
    }
    let _ = panic::catch_unwind(AssertUnwindSafe(f));
}

impl Ledger {
    /// Counters at zero, for a server that has not started.
    pub(crate) fn new() -> Ledger {
        Ledger {
            accepted: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            clients_ever: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            disconnects: Default::default(),
            books: Mutex::new(Books::default()),
            started: Mutex::new(None),
        }
    }

    /// New counters for client `id`, open in this ledger until the returned tally is dropped.
    pub(crate) fn open(self: &Arc<Self>, id: ClientId) -> Tally {
        let counts = Arc::new(Counts::new());
        keep_books(|| lock(&self.books).open(id, Arc::clone(&counts)));
        Tally {
            counts,
            open_in: Some((Arc::clone(self), id)),
        }
    }

    /// The server started (uptime counts from now).
    pub(crate) fn started(&self) {
        *lock(&self.started) = Some(Instant::now());
    }

    /// The server stopped.
    pub(crate) fn stopped(&self) {
        *lock(&self.started) = None;
    }

    /// `accept()` returned a connection.
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A connector's connection was handed over.
    pub(crate) fn count_connected(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection became a client.
    pub(crate) fn count_client(&self) {
        self.clients_ever.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was rejected at the connection cap.
    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection could not be set up.
    pub(crate) fn count_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    // ANCHOR: count_disconnect
    /// A client was reported disconnected for `reason`.
    pub(crate) fn count_disconnect(&self, reason: &DisconnectReason) {
        keep_books(|| {
            let kind = DisconnectKind::of(reason);
            self.disconnects[kind as usize].fetch_add(1, Ordering::Relaxed);
        });
    }
    // ANCHOR_END: count_disconnect

    // ANCHOR: read
    /// Every server-wide counter as it stands; the traffic is the departed total plus the
    /// open clients' counters, summed now.
    pub(crate) fn read(&self) -> Reading {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut disconnects = Disconnects::default();
        for (n, counter) in disconnects.0.iter_mut().zip(&self.disconnects) {
            *n = get(counter);
        }
        let books = lock(&self.books);
        Reading {
            uptime: lock(&self.started).map(|at| at.elapsed()),
            accepted: get(&self.accepted),
            connected: get(&self.connected),
            clients_ever: get(&self.clients_ever),
            rejected: get(&self.rejected),
            failed: get(&self.failed),
            disconnects,
            traffic: books.traffic(),
            held: books.open.len(),
        }
    }
    // ANCHOR_END: read
}

/// The ledger's counters read at one moment, for `stats()` (see `ServerStats`, whose fields
/// they fill and explain).
pub(crate) struct Reading {
    pub(crate) uptime: Option<Duration>,
    pub(crate) accepted: u64,
    pub(crate) connected: u64,
    pub(crate) clients_ever: u64,
    pub(crate) rejected: u64,
    pub(crate) failed: u64,
    pub(crate) disconnects: Disconnects,
    pub(crate) traffic: Traffic,
    pub(crate) held: usize,
}

/// Locks a mutex, carrying on with the data if a panic poisoned it: every critical section
/// here leaves its data consistent (a fold removes and adds under the same lock).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
