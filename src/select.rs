//! Chapter 3 — `select()`: waiting on many sockets at once, with std alone.
//!
//! The course's DRS thread blocks in `select()` over an `fd_set` of every connected client and
//! wakes as soon as any of them has data. `select()` carries two limits a real server trips
//! over: an `fd_set` holds at most `FD_SETSIZE` (1024) descriptors, and the set is rebuilt on
//! every call. We call `poll(2)` instead: same idea (one blocking call, many sockets, readiness
//! bits back), an array of any length, and readable / writable / hang-up reported separately.
//!
//! What changes in Rust: std has no `poll`, so we declare the C function ourselves with
//! `extern "C"` (in [`sys`], the one module that holds every `unsafe` block) and
//! hand it the raw descriptors std exposes through `AsRawFd`. This module is safe code over it.
//!
//! The [`Waker`] answers the question the course answers with `pthread_cancel`: how does
//! another thread get a thread out of its blocking wait? It writes one byte into a socket pair
//! whose other end is in the waited-on set, and the wait returns.
//!
//! A production server would use `epoll` (Linux) or `kqueue` (BSD, macOS) through `mio`, whose
//! cost does not grow with the number of idle sockets.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::sys::{self, PollFd, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};

/// What a caller wants to hear about for one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// Wake when there is something to read (or the peer hung up).
    pub read: bool,
    /// Wake when a write would not block.
    pub write: bool,
}

impl Interest {
    /// Readable only: the usual case for a client socket with nothing queued to send.
    pub const READ: Interest = Interest {
        read: true,
        write: false,
    };
    /// Readable and writable: a client socket with output waiting.
    pub const READ_WRITE: Interest = Interest {
        read: true,
        write: true,
    };
    /// Writable only: a client we are not reading from but still owe output.
    pub const WRITE: Interest = Interest {
        read: false,
        write: true,
    };
}

/// What `poll` reported for one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A read will not block (there is data, or end of stream).
    pub readable: bool,
    /// A write will not block.
    pub writable: bool,
    /// The peer hung up or the socket is in error: reading will tell which.
    pub hangup: bool,
}

impl Readiness {
    /// True when anything at all was reported.
    pub fn any(self) -> bool {
        self.readable || self.writable || self.hangup
    }
}

// ANCHOR: poll_set
/// A set of descriptors to wait on, rebuilt or updated by its owner between waits.
///
/// Unlike an `fd_set` it has no size limit: it is a plain growable array.
#[derive(Default)]
pub struct PollSet {
    /// The array handed to `poll(2)`; entry `i` belongs to whatever the caller registered `i`th.
    fds: Vec<PollFd>,
}

impl PollSet {
    /// An empty set.
    pub fn new() -> PollSet {
        PollSet::default()
    }

    /// Forgets every descriptor (keeping the allocation for the next round).
    pub fn clear(&mut self) {
        self.fds.clear();
    }

    /// Adds a descriptor with what to wait for; returns its index for [`PollSet::readiness`].
    pub fn add(&mut self, fd: &impl AsRawFd, interest: Interest) -> usize {
        self.fds.push(PollFd {
            fd: fd.as_raw_fd(),
            events: poll_events(interest),
            revents: 0,
        });
        self.fds.len() - 1
    }

    /// Number of registered descriptors.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// True when no descriptor is registered.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Blocks until at least one descriptor is ready or `timeout` passes (`None`: no
    /// timeout); returns how many are ready. A signal interrupting the wait is retried.
    ///
    /// # Errors
    /// Whatever `poll(2)` reports other than `EINTR` (for example `ENOMEM`).
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let timeout_ms = timeout_ms(timeout);
        for entry in &mut self.fds {
            entry.revents = 0;
        }
        sys::poll_fds(&mut self.fds, timeout_ms)
    }

    /// What the last [`PollSet::wait`] reported for the descriptor added as `index`.
    pub fn readiness(&self, index: usize) -> Readiness {
        let Some(entry) = self.fds.get(index) else {
            return Readiness::default();
        };
        readiness_of(entry.revents)
    }
}

/// A wait's timeout in the milliseconds `poll(2)` and `epoll_wait(2)` take: -1 for none,
/// rounded up so that a 0.5 ms timeout does not become a busy 0 ms poll.
pub(crate) fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(t) => t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
    }
}

/// What `poll(2)` reported in one entry's `revents`.
pub(crate) fn readiness_of(revents: i16) -> Readiness {
    Readiness {
        readable: revents & POLLIN != 0,
        writable: revents & POLLOUT != 0,
        hangup: revents & (POLLHUP | POLLERR | POLLNVAL) != 0,
    }
}

/// The `events` bits of a `pollfd` for an interest.
pub(crate) fn poll_events(interest: Interest) -> i16 {
    let mut events = 0;
    if interest.read {
        events |= POLLIN;
    }
    if interest.write {
        events |= POLLOUT;
    }
    events
}
// ANCHOR_END: poll_set

// ANCHOR: waker
/// Interrupts a thread blocked in [`PollSet::wait`]: the self-pipe trick, built from std's
/// `UnixStream::pair`.
///
/// The waiting thread registers [`Waker::receiver`] for reading; any thread calls
/// [`Waker::wake`], which writes a byte and so makes the wait return. The waiting thread then
/// calls [`Waker::drain`] and looks at whatever command queue it was woken for.
pub struct Waker {
    /// The end other threads write to. Non-blocking: when the pipe is already full, a wake is
    /// already pending and the extra byte is not needed.
    sender: UnixStream,
    /// The end the waiting thread polls and drains.
    receiver: UnixStream,
}

impl Waker {
    /// Creates a waker.
    ///
    /// # Errors
    /// When the socket pair cannot be created (out of descriptors).
    pub fn new() -> io::Result<Waker> {
        let (sender, receiver) = UnixStream::pair()?;
        sender.set_nonblocking(true)?;
        receiver.set_nonblocking(true)?;
        Ok(Waker { sender, receiver })
    }

    /// Wakes the waiting thread (or makes its next wait return at once).
    pub fn wake(&self) {
        // WouldBlock means the pipe is full, so a wake-up is already pending: nothing is lost.
        let _ = (&self.sender).write(&[1]);
    }

    /// Empties the pipe after a wake-up, so the next wait blocks again.
    pub fn drain(&self) {
        let mut sink = [0u8; 64];
        while let Ok(n) = (&self.receiver).read(&mut sink) {
            if n < sink.len() {
                break;
            }
        }
    }

    /// The descriptor to register for reading in the waiting thread's [`PollSet`].
    pub fn receiver(&self) -> &UnixStream {
        &self.receiver
    }
}
// ANCHOR_END: waker

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::Instant;

    /// A socket with data waiting is reported readable, and one with nothing is not.
    #[test]
    fn readiness_on_a_socket_pair() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut set = PollSet::new();
        let ia = set.add(&a, Interest::READ);
        let ib = set.add(&b, Interest::READ);
        (&b).write_all(b"x").unwrap();
        assert_eq!(set.wait(Some(Duration::from_secs(5))).unwrap(), 1);
        assert!(set.readiness(ia).readable);
        assert!(!set.readiness(ib).readable);
    }

    /// A wait with a short timeout and nothing ready returns zero.
    #[test]
    fn timeout_with_nothing_ready() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut set = PollSet::new();
        set.add(&a, Interest::READ);
        assert_eq!(set.wait(Some(Duration::from_millis(1))).unwrap(), 0);
    }

    /// Another thread's wake() ends a wait that has no timeout.
    #[test]
    fn wake_from_another_thread() {
        let waker = Arc::new(Waker::new().unwrap());
        let w2 = Arc::clone(&waker);
        let t = std::thread::spawn(move || w2.wake());
        let mut set = PollSet::new();
        let i = set.add(waker.receiver(), Interest::READ);
        assert_eq!(set.wait(None).unwrap(), 1);
        assert!(set.readiness(i).readable);
        waker.drain();
        t.join().unwrap();
        set.clear();
        set.add(waker.receiver(), Interest::READ);
        assert_eq!(
            set.wait(Some(Duration::ZERO)).unwrap(),
            0,
            "drain emptied the pipe"
        );
    }

    /// Many wakes before a wait fill the pipe without blocking the wakers.
    #[test]
    fn wakes_never_block() {
        let waker = Waker::new().unwrap();
        let start = Instant::now();
        for _ in 0..1_000_000 {
            waker.wake();
        }
        assert!(start.elapsed() < Duration::from_secs(30));
        waker.drain();
    }

    /// poll has no FD_SETSIZE: a descriptor numbered above 1024 is waited on like any other.
    #[test]
    fn more_than_1024_descriptors() {
        crate::sys::raise_fd_limit().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut keep = Vec::new();
        for _ in 0..600 {
            let c = TcpStream::connect(addr).unwrap();
            let (s, _) = listener.accept().unwrap();
            keep.push((c, s));
        }
        let mut set = PollSet::new();
        for (c, s) in &keep {
            set.add(c, Interest::READ);
            set.add(s, Interest::READ);
        }
        assert!(set.len() > 1024);
        let highest = keep.iter().map(|(_, s)| s.as_raw_fd()).max().unwrap();
        assert!(
            highest > 1024,
            "highest descriptor {highest} should exceed FD_SETSIZE"
        );
        (&keep[599].1).write_all(b"!").unwrap();
        assert_eq!(set.wait(Some(Duration::from_secs(5))).unwrap(), 1);
        assert!(set.readiness(set.len() - 2).readable);
    }
}
