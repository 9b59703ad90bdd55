//! Exercise 3 — `select()` with std alone: your version of `src/select.rs`.
//!
//! Run: `cargo test --features ex03 --test ch03_multiplexer` (and the chapters before it,
//! which all need a working `poll`).
//!
//! You write the crate's only `unsafe`: the call into `poll(2)`. Each `unsafe` block gets a
//! `// SAFETY:` comment saying why it is sound.
#![allow(unused_variables, unused_imports, dead_code)]

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// One entry of the array `poll(2)` reads and fills in; the layout is fixed by POSIX.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct PollFd {
    fd: RawFd,
    events: i16,
    revents: i16,
}

const POLLIN: i16 = 0x001;
const POLLOUT: i16 = 0x004;
const POLLERR: i16 = 0x008;
const POLLHUP: i16 = 0x010;
const POLLNVAL: i16 = 0x020;

#[cfg(target_os = "linux")]
type NfdsT = std::os::raw::c_ulong;
#[cfg(not(target_os = "linux"))]
type NfdsT = std::os::raw::c_uint;

extern "C" {
    fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: std::os::raw::c_int) -> std::os::raw::c_int;
    fn listen(socket: RawFd, backlog: std::os::raw::c_int) -> std::os::raw::c_int;
}

/// What a caller wants to hear about for one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// Wake when there is something to read (or the peer hung up).
    pub read: bool,
    /// Wake when a write would not block.
    pub write: bool,
}

impl Interest {
    /// Readable only.
    pub const READ: Interest = Interest {
        read: true,
        write: false,
    };
    /// Readable and writable.
    pub const READ_WRITE: Interest = Interest {
        read: true,
        write: true,
    };
    /// Writable only.
    pub const WRITE: Interest = Interest {
        read: false,
        write: true,
    };
}

/// What `poll` reported for one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A read will not block.
    pub readable: bool,
    /// A write will not block.
    pub writable: bool,
    /// The peer hung up or the socket is in error.
    pub hangup: bool,
}

impl Readiness {
    /// True when anything at all was reported.
    pub fn any(self) -> bool {
        self.readable || self.writable || self.hangup
    }
}

/// A set of descriptors to wait on.
#[derive(Default)]
pub struct PollSet {
    fds: Vec<PollFd>,
}

impl PollSet {
    /// An empty set.
    pub fn new() -> PollSet {
        PollSet::default()
    }

    /// Forgets every descriptor.
    pub fn clear(&mut self) {
        self.fds.clear();
    }

    /// Adds a descriptor with what to wait for; returns its index.
    pub fn add(&mut self, fd: &impl AsRawFd, interest: Interest) -> usize {
        // TODO: translate the interest into POLLIN / POLLOUT bits, push a PollFd, return
        // its index.
        todo!("ex03: PollSet::add")
    }

    /// Number of registered descriptors.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// True when no descriptor is registered.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Blocks until a descriptor is ready or `timeout` passes; returns how many are ready.
    ///
    /// # Errors
    /// Whatever `poll(2)` reports other than `EINTR`.
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        // TODO: convert the timeout to milliseconds (None → -1; round *up*, or a 0.5 ms
        // timeout becomes a busy 0 ms poll).
        // TODO: call poll(2) in an unsafe block with a SAFETY comment; retry on
        // ErrorKind::Interrupted (a signal arrived), return other errors.
        todo!("ex03: PollSet::wait")
    }

    /// What the last wait reported for the descriptor added as `index`.
    pub fn readiness(&self, index: usize) -> Readiness {
        // TODO: read the revents bits; POLLHUP, POLLERR and POLLNVAL all count as hangup.
        todo!("ex03: PollSet::readiness")
    }
}

/// Interrupts a thread blocked in [`PollSet::wait`]: the self-pipe trick.
pub struct Waker {
    sender: UnixStream,
    receiver: UnixStream,
}

impl Waker {
    /// Creates a waker.
    ///
    /// # Errors
    /// When the socket pair cannot be created.
    pub fn new() -> io::Result<Waker> {
        // TODO: UnixStream::pair(), both ends non-blocking (why must wake() never block?).
        todo!("ex03: Waker::new")
    }

    /// Wakes the waiting thread.
    pub fn wake(&self) {
        // TODO: write one byte; WouldBlock means a wake-up is already pending.
        todo!("ex03: Waker::wake")
    }

    /// Empties the pipe after a wake-up.
    pub fn drain(&self) {
        // TODO: read until WouldBlock.
        todo!("ex03: Waker::drain")
    }

    /// The descriptor to register for reading.
    pub fn receiver(&self) -> &UnixStream {
        &self.receiver
    }
}

/// Sets the length of a listening socket's queue of connections not yet accepted.
///
/// # Errors
/// What `listen(2)` reports.
pub fn set_listen_backlog(listener: &std::net::TcpListener, backlog: u32) -> io::Result<()> {
    // TODO: call listen(2) again on the listening descriptor (unsafe, with a SAFETY comment).
    todo!("ex03: set_listen_backlog")
}
