//! Exercise 2 — the CAS's loop, stopped by a wake-up, with its back-off: your version of
//! `src/acceptor/accept_loop.rs`.
//!
//! What you write: `Acceptor::stop` (ask, wake, join), the thread's loop `run`, the drain
//! `accept_all` and the back-off `next_backoff`. Everything else of `src/acceptor.rs` is
//! given: the `Acceptor` struct (fields `stop: Arc<AtomicBool>`, `waker: Arc<Waker>`,
//! `thread: JoinHandle<()>`, which a child module may use), `Acceptor::start` (which makes
//! the listener non-blocking, names the thread `cas-<server>` and calls your `run` on it),
//! and the bounds `FIRST_BACKOFF` and `MAX_BACKOFF`. From the `select` module you use
//! `PollSet` (`clear`, `add` returning an index, `wait`, `readiness`) and `Waker`
//! (`receiver`, `wake`, `drain`).
//!
//! Build with `--features ex02` and run the chapter's tests:
//!
//! ```text
//! cargo test --features ex02 --test ch02_acceptor
//! cargo test --features ex02 --test ch02_accept_pause
//! ```
//!
//! Read chapter 2 of the book first (`book/src/ch02-acceptor.md`); the reference is
//! `src/acceptor/accept_loop.rs` (and the book's Solutions page). Keep the signatures; write
//! the bodies.

// The parameters and imports are unused until you write the bodies.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use super::{Acceptor, FIRST_BACKOFF, MAX_BACKOFF};
use crate::select::{Interest, PollSet, Waker};

impl Acceptor {
    /// Asks the thread to stop, wakes it, and joins it. Before it leaves, the thread accepts
    /// every connection the kernel already completed (handing each to `on_client`), so no
    /// client whose `connect()` succeeded is reset. The listening socket is closed when the
    /// thread returns, so the port is free again as soon as this returns.
    pub fn stop(self) {
        // TODO: three steps, and their order matters (the chapter says why): the flag, the
        // wake-up, the join. One exception: when `stop` runs on the CAS thread itself (an
        // application callback called it), that thread cannot join itself — compare
        // `self.thread.thread().id()` with `thread::current().id()` and skip the join; the
        // thread leaves when the callback returns and it sees the flag.
        todo!("ex02: Acceptor::stop")
    }
}

/// The CAS thread's loop.
pub(super) fn run(
    listener: TcpListener,
    stop: &AtomicBool,
    waker: &Waker,
    mut on_client: impl FnMut(TcpStream, SocketAddr),
    mut on_error: impl FnMut(&io::Error),
) {
    // TODO: round after round, wait for the listener and the waker together, until the stop
    // flag is seen. After every wake-up, the waker is drained and the flag read before
    // anything is accepted; on the way out, what the kernel already completed is accepted.
    // While an error makes the loop back off, it neither waits for the listener (a
    // connection left queued would wake it at once, round after round) nor stops hearing
    // the waker; a failed wait is an error like another.
    todo!("ex02: run")
}

/// Accepts every pending connection; returns the back-off to apply, if an error needs one.
fn accept_all(
    listener: &TcpListener,
    on_client: &mut impl FnMut(TcpStream, SocketAddr),
    on_error: &mut impl FnMut(&io::Error),
    backoff: Option<Duration>,
) -> Option<Duration> {
    // TODO: `listener.accept()` in a loop. The listener is non-blocking, so the queue is
    // empty when it answers `io::ErrorKind::WouldBlock`: no back-off. `Interrupted`: try
    // again. `ConnectionAborted` concerns one peer that gave up: tell `on_error`, go on.
    // Any other error (EMFILE, ENOMEM…) concerns the whole process: tell `on_error` and
    // return the next back-off.
    todo!("ex02: accept_all")
}

/// The pause after `previous` (none yet: the first): doubling, never past [`MAX_BACKOFF`].
fn next_backoff(previous: Option<Duration>) -> Duration {
    // TODO: `FIRST_BACKOFF` the first time, then twice the previous, capped.
    todo!("ex02: next_backoff")
}
