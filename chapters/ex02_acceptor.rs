//! Exercise 2 — the connection acceptor service (CAS). Your version of `src/acceptor.rs`.
//!
//! Run: `cargo test --features ex02 --test ch02_acceptor` and
//! `cargo test --features ex02 --test ch02_accept_pause`.
//!
//! The CAS is a thread that waits in `poll` on the listening socket and on a `Waker`, accepts
//! every pending connection when woken, and leaves when asked. No `pthread_cancel` in Rust:
//! `stop` sets a flag, wakes the thread, and joins it.
#![allow(unused_variables, unused_imports, dead_code)]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::select::{Interest, PollSet, Waker};

/// How long accepting pauses after a resource error, doubling up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest pause between accept attempts after repeated resource errors.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The running CAS thread, and how to stop it.
pub struct Acceptor {
    /// Set to ask the thread to leave; read after every wake-up.
    stop: Arc<AtomicBool>,
    /// Wakes the thread out of `poll` when the controller asks it to stop.
    waker: Arc<Waker>,
    /// Joined by `stop`.
    thread: JoinHandle<()>,
}

impl Acceptor {
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
        // TODO: make the listener non-blocking (why? see the loop below).
        // TODO: create the stop flag and the waker, shared with the thread through Arc.
        // TODO: spawn a thread named `cas-<server>` (std::thread::Builder) running the loop:
        //   - put the waker's receiver and the listener in a PollSet, wait with no timeout;
        //   - after every wake-up: drain the waker; if the stop flag is set, first accept
        //     every connection the kernel already completed (their connect() succeeded:
        //     closing the listener on them would reset them), then return;
        //   - accept in a loop until WouldBlock, handing each connection to on_client;
        //   - on an error other than WouldBlock/Interrupted: tell on_error; for resource
        //     errors (EMFILE…) wait on the waker alone for a back-off, so a connection left
        //     in the queue cannot make the loop spin.
        todo!("ex02: Acceptor::start")
    }

    /// Asks the thread to stop, wakes it, and joins it.
    pub fn stop(self) {
        // TODO: set the flag, wake, join. Order matters: why must the flag be set first?
        todo!("ex02: Acceptor::stop")
    }
}
