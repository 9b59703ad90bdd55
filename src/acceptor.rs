//! Chapter 2 — the connection acceptor service (the course's CAS, `TcpNewConnectionAcceptor`).
//!
//! One thread whose only job is `accept()`: it waits for new connections on the listening
//! socket and hands each one to the controller (the course's new-client steps 5–8). Keeping
//! accept on its own thread means a burst of connections never delays the clients already
//! being served, and serving clients never delays an accept.
//!
//! What changes in Rust: the course stops this thread with `pthread_cancel`, which Rust does
//! not have (and which, in C++, can cancel a thread halfway through updating shared state).
//! Our thread waits in `poll` on two descriptors: the listening socket and a [`Waker`]. To
//! stop it, the controller sets a flag and wakes it; the thread sees the flag, returns, and is
//! joined. Nothing sleeps and nothing spins.
//!
//! The listener is non-blocking, and each time it is readable the thread accepts until the
//! kernel says `WouldBlock`: a burst of connections is drained in one wake-up instead of one
//! `poll` per connection.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::select::{Interest, PollSet, Waker};

// ANCHOR: backoff
/// How long accepting pauses after a resource error (too many open files, out of memory),
/// doubling on each repeat up to [`MAX_BACKOFF`]. Retrying at once would spin: the
/// connection stays queued, so the listener stays readable.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest pause between accept attempts after repeated resource errors.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
// ANCHOR_END: backoff

// ANCHOR: acceptor
/// The running CAS thread, and how to stop it.
pub struct Acceptor {
    /// Set to ask the thread to leave; read after every wake-up.
    stop: Arc<AtomicBool>,
    /// Wakes the thread out of `poll` when the controller asks it to stop: Rust has no
    /// `pthread_cancel`, so the thread is asked, and leaves on its own.
    waker: Arc<Waker>,
    /// Joined by `stop`.
    thread: JoinHandle<()>,
}
// ANCHOR_END: acceptor

impl Acceptor {
    // ANCHOR: start
    /// Starts the CAS thread `cas-<server>` on `listener`. Each accepted connection goes to
    /// `on_client`; each accept error goes to `on_error`, after which accepting resumes.
    ///
    /// # Errors
    /// When the listener cannot be made non-blocking, or the waker or thread cannot be made.
    pub fn start(
        server: &str,
        listener: TcpListener,
        on_client: impl FnMut(TcpStream, SocketAddr) + Send + 'static,
        on_error: impl FnMut(&io::Error) + Send + 'static,
    ) -> io::Result<Acceptor> {
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(Waker::new()?);
        let thread = {
            let stop = Arc::clone(&stop);
            let waker = Arc::clone(&waker);
            thread::Builder::new()
                .name(format!("cas-{server}"))
                .spawn(move || run(listener, &stop, &waker, on_client, on_error))?
        };
        Ok(Acceptor {
            stop,
            waker,
            thread,
        })
    }
    // ANCHOR_END: start

    // ANCHOR: stop
    /// Asks the thread to stop, wakes it, and joins it. Before it leaves, the thread accepts
    /// every connection the kernel already completed (handing each to `on_client`), so no
    /// client whose `connect()` succeeded is reset. The listening socket is closed when the
    /// thread returns, so the port is free again as soon as this returns.
    pub fn stop(self) {
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
/// The CAS thread's loop.
fn run(
    listener: TcpListener,
    stop: &AtomicBool,
    waker: &Waker,
    mut on_client: impl FnMut(TcpStream, SocketAddr),
    mut on_error: impl FnMut(&io::Error),
) {
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

/// Accepts every pending connection; returns the back-off to apply, if an error needs one.
fn accept_all(
    listener: &TcpListener,
    on_client: &mut impl FnMut(TcpStream, SocketAddr),
    on_error: &mut impl FnMut(&io::Error),
    backoff: Option<Duration>,
) -> Option<Duration> {
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
// ANCHOR_END: run

// ANCHOR: next_backoff
fn next_backoff(previous: Option<Duration>) -> Duration {
    match previous {
        None => FIRST_BACKOFF,
        Some(d) => (d * 2).min(MAX_BACKOFF),
    }
}
// ANCHOR_END: next_backoff
