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
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::select::Waker;

// Stopping by a wake-up, the loop and its back-off are exercise 2: the feature swaps in the
// student's file. A `path` given here is relative to `src/`.
#[cfg_attr(feature = "ex02", path = "../chapters/ex02_accept_loop.rs")]
mod accept_loop;

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
                .spawn(move || accept_loop::run(listener, &stop, &waker, on_client, on_error))?
        };
        Ok(Acceptor {
            stop,
            waker,
            thread,
        })
    }
    // ANCHOR_END: start
}
