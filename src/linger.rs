//! Chapter 8 — the lingering close: how a server closes a connection without destroying
//! what it still owes the peer.
//!
//! Closing a socket whose receive queue still holds unread bytes makes the kernel send a
//! reset, not a FIN, and a reset makes the peer's kernel throw away whatever it had received
//! and not yet handed to the peer's application: the last replies are lost. So a close the
//! server initiates goes in steps: write what is queued, half-close (`shutdown(Write)`: the
//! FIN), read and drop whatever the peer still sends until its own FIN, then close — never
//! waiting past a deadline. The DRS drives these steps for the sockets it closes
//! (`multiplexer`); `stop()` drives them for every client left at shutdown.

use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::select::{Interest, PollSet};

/// Bytes drained per read.
const DRAIN_CHUNK: usize = 64 * 1024;

/// A socket the server closed and is letting go gracefully.
pub(crate) struct Lingering {
    pub(crate) conn: Arc<Connection>,
    /// What the poller waits for on its socket now.
    pub(crate) registered: Interest,
    /// Its output is written and its write side shut down.
    pub(crate) flushed: bool,
    /// The peer's FIN arrived: nothing more to drain.
    pub(crate) eof: bool,
    /// When it is closed whatever happened.
    pub(crate) deadline: Instant,
}

impl Lingering {
    /// Drain until the FIN, write until flushed.
    pub(crate) fn interest(&self) -> Interest {
        Interest {
            read: !self.eof,
            write: !self.flushed,
        }
    }
}

// ANCHOR: advance_linger
/// One step of a lingering close; false when the socket is done with.
pub(crate) fn advance_linger(l: &mut Lingering, buf: &mut [u8]) -> bool {
    step(l, buf).is_some() && !(l.flushed && l.eof)
}

/// Drains what the peer sent, then writes what it is owed (and the FIN once all is out).
/// `None` when the socket is broken; else whether any input was drained.
fn step(l: &mut Lingering, buf: &mut [u8]) -> Option<bool> {
    let mut read_some = false;
    if !l.eof {
        // Drain (and drop) what the peer still sends: closing a socket with unread input
        // would send a reset, which destroys output the peer has not read yet.
        match discard_input(&l.conn, buf) {
            Drained::Open { read_some: some } => read_some = some,
            Drained::Eof => l.eof = true,
            Drained::Broken => return None,
        }
    }
    if !l.flushed {
        match l.conn.flush() {
            Ok(true) => {
                let _ = l.conn.stream.shutdown(Shutdown::Write);
                l.flushed = true;
            }
            Ok(false) => {}
            Err(_) => return None,
        }
    }
    Some(read_some)
}
// ANCHOR_END: advance_linger

/// What draining a socket's input found.
pub(crate) enum Drained {
    /// Nothing more for now; the peer may still send. `read_some`: bytes were dropped.
    Open { read_some: bool },
    /// The peer's FIN.
    Eof,
    /// An error: the socket is broken.
    Broken,
}

/// Reads and drops what is waiting.
pub(crate) fn discard_input(conn: &Connection, buf: &mut [u8]) -> Drained {
    let mut read_some = false;
    loop {
        match (&conn.stream).read(buf) {
            Ok(0) => return Drained::Eof,
            Ok(_) => read_some = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drained::Open { read_some },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Drained::Broken,
        }
    }
}

// ANCHOR: close_gracefully
/// The last step of `stop()`: every client left is given what was queued for it, then a
/// FIN, and what it sends meanwhile is drained, because closing with unread input would send
/// a reset that destroys output the peer has not read yet. A client that is still sending
/// is waited for until its own FIN; the others are closed as soon as their output is out.
/// Nobody is waited for past `linger`.
pub(crate) fn close_gracefully(conns: &[Arc<Connection>], linger: Duration) {
    let deadline = Instant::now() + linger;
    let mut buf = vec![0u8; DRAIN_CHUNK];
    let mut closing: Vec<(Lingering, bool)> = conns
        .iter()
        .map(|conn| {
            let l = Lingering {
                conn: Arc::clone(conn),
                registered: Interest::default(),
                flushed: false,
                eof: false,
                deadline,
            };
            (l, false)
        })
        .collect();
    loop {
        closing.retain_mut(|(l, sending)| match step(l, &mut buf) {
            None => false,
            Some(read_some) => {
                *sending |= read_some;
                // Done once all is written and the peer either closed or never sent.
                !(l.flushed && (l.eof || !*sending))
            }
        });
        let left = deadline.saturating_duration_since(Instant::now());
        if closing.is_empty() || left.is_zero() {
            return;
        }
        let mut set = PollSet::new();
        for (l, _) in &closing {
            set.add(&l.conn.stream, l.interest());
        }
        if set.wait(Some(left)).is_err() {
            return;
        }
    }
}
// ANCHOR_END: close_gracefully
