//! Chapter 2 — the CAS's loop: wait on the listener and the waker, accept every pending
//! connection, leave when asked, back off after a resource error; and `stop`, which asks.
//!
//! Its own file so that exercise 2 (`--features ex02`) can swap it for
//! `chapters/ex02_accept_loop.rs`. The `Acceptor` struct, `start` and the back-off bounds
//! stay in the parent module, [`acceptor`](super), whose private items (the fields of
//! `Acceptor`) a child module may use.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use super::{Acceptor, FIRST_BACKOFF, MAX_BACKOFF};
use crate::select::{Interest, PollSet, Waker};

impl Acceptor {
    // ANCHOR: stop
    // ANCHOR: stop_sig
    /// Asks the thread to stop, wakes it, and joins it. Before it leaves, the thread accepts
    /// every connection the kernel already completed (handing each to `on_client`), so no
    /// client whose `connect()` succeeded is reset. The listening socket is closed when the
    /// thread returns, so the port is free again as soon as this returns.
    pub fn stop(self) {
        // ANCHOR_END: stop_sig
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
        // From inside its own callback the thread cannot wait for itself; it leaves as soon
        // as the callback returns and sees the flag.
        if self.thread.thread().id() != thread::current().id() {
            // The thread never panics on its own; if a callback panicked, it is already gone.
            let _ = self.thread.join();
        }
    }
    // ANCHOR_END: stop
}

// ANCHOR: run
// ANCHOR: run_sig
/// The CAS thread's loop.
pub(super) fn run(
    listener: TcpListener,
    stop: &AtomicBool,
    waker: &Waker,
    mut on_client: impl FnMut(TcpStream, SocketAddr),
    mut on_error: impl FnMut(&io::Error),
) {
    // ANCHOR_END: run_sig
    let mut set = PollSet::new();
    let mut backoff: Option<Duration> = None;
    loop {
        set.clear();
        let wake = set.add(waker.receiver(), Interest::READ);
        // While backing off, wait on the waker alone, so a queued connection cannot spin us.
        if backoff.is_none() {
            set.add(&listener, Interest::READ);
        }
        if let Err(e) = set.wait(backoff) {
            on_error(&e);
            backoff = Some(next_backoff(backoff));
            continue;
        }
        if set.readiness(wake).readable {
            waker.drain();
        }
        if stop.load(Ordering::SeqCst) {
            // Connections the kernel already completed have been told "connected" by their
            // `connect()`; closing the listener now would reset them. Accept them first.
            if backoff.is_none() {
                accept_all(&listener, &mut on_client, &mut on_error, None);
            }
            return;
        }
        backoff = accept_all(&listener, &mut on_client, &mut on_error, backoff);
    }
}
// ANCHOR_END: run

// ANCHOR: accept_all
// ANCHOR: accept_all_sig
/// Accepts every pending connection; returns the back-off to apply, if an error needs one.
fn accept_all(
    listener: &TcpListener,
    on_client: &mut impl FnMut(TcpStream, SocketAddr),
    on_error: &mut impl FnMut(&io::Error),
    backoff: Option<Duration>,
) -> Option<Duration> {
    // ANCHOR_END: accept_all_sig
    loop {
        match listener.accept() {
            Ok((stream, peer)) => on_client(stream, peer),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The peer gave up between SYN and accept: its problem, not ours; carry on.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => on_error(&e),
            Err(e) => {
                on_error(&e);
                return Some(next_backoff(backoff));
            }
        }
    }
}
// ANCHOR_END: accept_all

// ANCHOR: next_backoff
// ANCHOR: next_backoff_sig
/// The pause after `previous` (none yet: the first): doubling, never past [`MAX_BACKOFF`].
fn next_backoff(previous: Option<Duration>) -> Duration {
    // ANCHOR_END: next_backoff_sig
    match previous {
        None => FIRST_BACKOFF,
        Some(d) => (d * 2).min(MAX_BACKOFF),
    }
}
// ANCHOR_END: next_backoff
