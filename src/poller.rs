//! Beyond `select`: the DRS's registration set, kept between waits, with two backends.
//!
//! Chapter 3's `PollSet` is rebuilt before every wait, and `poll(2)` then scans every
//! descriptor in it: with 10 000 idle clients and one busy one, each wake-up costs 10 000
//! entries copied into the kernel, 10 000 checked, 10 000 looked at again by us. A [`Poller`]
//! fixes what can be fixed on our side — clients are registered once, changed only when what
//! we want of them changes, and a wait hands back the ready ones only, by *token* (a client
//! id) — and picks the kernel call:
//! - [`PollerKind::Poll`]: portable (Linux, macOS). The array stays between waits, but
//!   `poll(2)` still scans all of it: cost grows with idle clients.
//! - [`PollerKind::Epoll`] (Linux, the default there): the kernel keeps the interest list
//!   (`epoll_ctl` once per change) and `epoll_wait` returns the ready descriptors only: cost
//!   grows with the ready ones.
//!
//! Both are *level-triggered*: a descriptor that still has data is reported again at the
//! next wait. The DRS relies on it: a turn is bounded, and a paused client is not read at
//! all, so bytes are often left in a socket on purpose; with edge triggering (reported once,
//! when new data arrives) those bytes would never be reported again.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::str::FromStr;
use std::time::Duration;

use crate::select::{poll_events, readiness_of, timeout_ms, Interest, Readiness};
use crate::sys::{self, PollFd};

// ANCHOR: kind
/// Which kernel call waits for the DRS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollerKind {
    /// `poll(2)`: portable; each wait costs time proportional to all registered clients.
    Poll,
    /// `epoll(7)` (Linux only): each wait costs time proportional to the ready clients.
    Epoll,
}
// ANCHOR_END: kind

/// The environment variable that overrides the default backend (`poll` or `epoll`): how CI
/// runs the whole test suite against each backend without a second copy of every test.
pub const POLLER_ENV: &str = "TCPSERVERLIB_POLLER";

impl Default for PollerKind {
    /// Epoll where it exists (Linux), poll elsewhere; `TCPSERVERLIB_POLLER=poll|epoll`
    /// overrides it (an unknown value is ignored).
    fn default() -> PollerKind {
        if let Some(kind) = std::env::var(POLLER_ENV).ok().and_then(|v| v.parse().ok()) {
            return kind;
        }
        if cfg!(target_os = "linux") {
            PollerKind::Epoll
        } else {
            PollerKind::Poll
        }
    }
}

impl fmt::Display for PollerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PollerKind::Poll => "poll",
            PollerKind::Epoll => "epoll",
        })
    }
}

/// `--poller` named neither `poll` nor `epoll`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePollerError(pub String);

impl fmt::Display for ParsePollerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown poller {:?}; expected poll or epoll", self.0)
    }
}

impl std::error::Error for ParsePollerError {}

impl FromStr for PollerKind {
    type Err = ParsePollerError;
    fn from_str(s: &str) -> Result<PollerKind, ParsePollerError> {
        match s {
            "poll" => Ok(PollerKind::Poll),
            "epoll" => Ok(PollerKind::Epoll),
            other => Err(ParsePollerError(other.to_string())),
        }
    }
}

// ANCHOR: poller
/// A set of descriptors, each registered once under a token with what to wait for; a wait
/// returns the tokens that are ready.
pub struct Poller {
    backend: Backend,
}

enum Backend {
    Poll(PollList),
    #[cfg(target_os = "linux")]
    Epoll(EpollSet),
}
// ANCHOR_END: poller

// ANCHOR: poller_api
impl Poller {
    /// A poller of the given kind.
    ///
    /// # Errors
    /// [`io::ErrorKind::Unsupported`] for epoll outside Linux; what `epoll_create1` reports
    /// (out of descriptors).
    pub fn new(kind: PollerKind) -> io::Result<Poller> {
        let backend = match kind {
            PollerKind::Poll => Backend::Poll(PollList::default()),
            #[cfg(target_os = "linux")]
            PollerKind::Epoll => Backend::Epoll(EpollSet::new()?),
            #[cfg(not(target_os = "linux"))]
            PollerKind::Epoll => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "epoll exists on Linux only; use the poll backend",
                ))
            }
        };
        Ok(Poller { backend })
    }

    /// Registers `fd` under `token` (a token is registered at most once).
    ///
    /// # Errors
    /// What the kernel reports (epoll).
    pub fn add(&mut self, fd: &impl AsRawFd, token: u64, interest: Interest) -> io::Result<()> {
        match &mut self.backend {
            Backend::Poll(list) => {
                list.add(fd.as_raw_fd(), token, interest);
                Ok(())
            }
            #[cfg(target_os = "linux")]
            Backend::Epoll(set) => set.ctl(sys::epoll::CTL_ADD, fd.as_raw_fd(), token, interest),
        }
    }

    /// Changes what is waited for on a registered descriptor.
    ///
    /// # Errors
    /// What the kernel reports (epoll).
    pub fn modify(&mut self, fd: &impl AsRawFd, token: u64, interest: Interest) -> io::Result<()> {
        match &mut self.backend {
            Backend::Poll(list) => {
                list.modify(token, interest);
                Ok(())
            }
            #[cfg(target_os = "linux")]
            Backend::Epoll(set) => set.ctl(sys::epoll::CTL_MOD, fd.as_raw_fd(), token, interest),
        }
    }

    /// Forgets a descriptor. Call it before the socket is closed: epoll tracks the open file,
    /// not the number, and a registration outlives a close while any duplicate is open.
    ///
    /// # Errors
    /// What the kernel reports (epoll).
    pub fn remove(&mut self, fd: &impl AsRawFd, token: u64) -> io::Result<()> {
        match &mut self.backend {
            Backend::Poll(list) => {
                list.remove(token);
                Ok(())
            }
            #[cfg(target_os = "linux")]
            Backend::Epoll(set) => set.ctl(
                sys::epoll::CTL_DEL,
                fd.as_raw_fd(),
                token,
                Interest::default(),
            ),
        }
    }

    /// Waits until a registered descriptor is ready or `timeout` passes (`None`: no
    /// timeout), and replaces `ready` with the tokens that are ready and what each is.
    ///
    /// # Errors
    /// What `poll(2)`/`epoll_wait(2)` report other than `EINTR`.
    pub fn wait(
        &mut self,
        ready: &mut Vec<(u64, Readiness)>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        ready.clear();
        match &mut self.backend {
            Backend::Poll(list) => list.wait(ready, timeout),
            #[cfg(target_os = "linux")]
            Backend::Epoll(set) => set.wait(ready, timeout),
        }
    }
}
// ANCHOR_END: poller_api

// ANCHOR: poll_list
/// The portable backend: the `pollfd` array kept between waits, with an index from token to
/// entry so that a change or a removal costs O(1) (a removal moves the last entry into the
/// hole).
#[derive(Default)]
struct PollList {
    fds: Vec<PollFd>,
    tokens: Vec<u64>,
    index: HashMap<u64, usize>,
}

impl PollList {
    fn add(&mut self, fd: RawFd, token: u64, interest: Interest) {
        self.index.insert(token, self.fds.len());
        self.fds.push(PollFd {
            fd,
            events: poll_events(interest),
            revents: 0,
        });
        self.tokens.push(token);
    }

    fn modify(&mut self, token: u64, interest: Interest) {
        if let Some(&i) = self.index.get(&token) {
            self.fds[i].events = poll_events(interest);
        }
    }

    fn remove(&mut self, token: u64) {
        let Some(i) = self.index.remove(&token) else {
            return;
        };
        self.fds.swap_remove(i);
        self.tokens.swap_remove(i);
        if let Some(&moved) = self.tokens.get(i) {
            self.index.insert(moved, i);
        }
    }

    fn wait(
        &mut self,
        ready: &mut Vec<(u64, Readiness)>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        for entry in &mut self.fds {
            entry.revents = 0;
        }
        let n = sys::poll_fds(&mut self.fds, timeout_ms(timeout))?;
        if n == 0 {
            return Ok(());
        }
        for (entry, token) in self.fds.iter().zip(&self.tokens) {
            if entry.revents != 0 {
                ready.push((*token, readiness_of(entry.revents)));
            }
        }
        Ok(())
    }
}
// ANCHOR_END: poll_list

// ANCHOR: epoll_set
/// The Linux backend: the kernel holds the interest list; a wait returns the ready entries.
#[cfg(target_os = "linux")]
struct EpollSet {
    epfd: std::os::fd::OwnedFd,
    /// Where `epoll_wait` writes; grows when a wait fills it, so a burst is taken in one call.
    events: Vec<sys::epoll::EpollEvent>,
}

#[cfg(target_os = "linux")]
impl EpollSet {
    fn new() -> io::Result<EpollSet> {
        Ok(EpollSet {
            epfd: sys::epoll::create()?,
            events: vec![sys::epoll::EpollEvent::default(); 256],
        })
    }

    fn ctl(&mut self, op: i32, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        use sys::epoll::{EPOLLIN, EPOLLOUT};
        let mut events = 0;
        if interest.read {
            events |= EPOLLIN;
        }
        if interest.write {
            events |= EPOLLOUT;
        }
        sys::epoll::ctl(&self.epfd, op, fd, events, token)
    }

    fn wait(
        &mut self,
        ready: &mut Vec<(u64, Readiness)>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        use sys::epoll::{EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT};
        let n = sys::epoll::wait(&self.epfd, &mut self.events, timeout_ms(timeout))?;
        for event in &self.events[..n] {
            // Copied out: fields of a packed struct cannot be borrowed.
            let (bits, token) = (event.events, event.data);
            let readiness = Readiness {
                readable: bits & EPOLLIN != 0,
                writable: bits & EPOLLOUT != 0,
                hangup: bits & (EPOLLHUP | EPOLLERR) != 0,
            };
            ready.push((token, readiness));
        }
        if n == self.events.len() {
            let grown = self.events.len() * 2;
            self.events.resize(grown, sys::epoll::EpollEvent::default());
        }
        Ok(())
    }
}
// ANCHOR_END: epoll_set

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    fn kinds() -> Vec<PollerKind> {
        if cfg!(target_os = "linux") {
            vec![PollerKind::Poll, PollerKind::Epoll]
        } else {
            vec![PollerKind::Poll]
        }
    }

    /// Each backend reports exactly the ready descriptors, by token, follows a change of
    /// interest, and forgets a removed one.
    #[test]
    fn both_backends_report_ready_tokens() {
        for kind in kinds() {
            let mut poller = Poller::new(kind).unwrap();
            let (a, a_peer) = UnixStream::pair().unwrap();
            let (b, mut b_peer) = UnixStream::pair().unwrap();
            let (c, _c_peer) = UnixStream::pair().unwrap();
            poller.add(&a, 1, Interest::READ).unwrap();
            poller.add(&b, 2, Interest::READ).unwrap();
            poller.add(&c, 3, Interest::READ).unwrap();
            b_peer.write_all(b"x").unwrap();
            let mut ready = Vec::new();
            poller
                .wait(&mut ready, Some(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(ready.len(), 1, "{kind}: {ready:?}");
            assert_eq!(ready[0].0, 2, "{kind}");
            assert!(ready[0].1.readable, "{kind}");
            // Level-triggered: still unread, so reported again.
            poller.wait(&mut ready, Some(Duration::ZERO)).unwrap();
            assert_eq!(ready.iter().map(|r| r.0).collect::<Vec<_>>(), [2], "{kind}");
            // No read interest: not reported; write interest on `a`: reported writable.
            poller.modify(&b, 2, Interest::default()).unwrap();
            poller.modify(&a, 1, Interest::WRITE).unwrap();
            poller.wait(&mut ready, Some(Duration::ZERO)).unwrap();
            assert_eq!(ready.len(), 1, "{kind}: {ready:?}");
            assert_eq!(ready[0].0, 1, "{kind}");
            assert!(ready[0].1.writable, "{kind}");
            poller.remove(&a, 1).unwrap();
            poller.wait(&mut ready, Some(Duration::ZERO)).unwrap();
            assert!(ready.is_empty(), "{kind}: {ready:?}");
            drop(a_peer);
            // Removal in the middle keeps the others right (poll's swap_remove).
            poller.modify(&b, 2, Interest::READ).unwrap();
            poller.wait(&mut ready, Some(Duration::ZERO)).unwrap();
            assert_eq!(ready.iter().map(|r| r.0).collect::<Vec<_>>(), [2], "{kind}");
        }
    }

    #[test]
    fn poller_kind_parses_and_displays() {
        assert_eq!("poll".parse::<PollerKind>(), Ok(PollerKind::Poll));
        assert_eq!("epoll".parse::<PollerKind>(), Ok(PollerKind::Epoll));
        let e = "kqueue".parse::<PollerKind>().unwrap_err();
        assert!(e.to_string().contains("expected poll or epoll"), "{e}");
        assert_eq!(PollerKind::Epoll.to_string(), "epoll");
    }
}
