//! Chapter 11 — the server in client mode (the course's `CreateActiveClient`,
//! `TryClientConnect` and `connect_retry_fn` in TcpClient.cpp).
//!
//! A server sometimes has to open a connection itself: to a peer server, a database, the next
//! node of a cluster. The course calls such a connection an *active client*: once connected,
//! it is a client like any other (in the client DB, listened to by the DRS, reported through
//! the same callbacks), only the server dialled it. When the connect fails, the course starts
//! a thread that sleeps ten seconds and tries again until it succeeds.
//!
//! We keep that shape: one *connector* per target address, on a thread of its own, so a
//! connect that takes its time never holds up the shell, the CAS, the DRS or the timer. Its
//! loop (in `connector/retry_loop.rs`) is: try; on failure tell the application and wait for
//! the retry interval; on success hand the stream to the controller, which admits it as it
//! admits an accepted client, then wait until that client is gone; then, if reconnecting is
//! on, start again after the interval.
//!
//! What changes in Rust: the course's thread sleeps, and is cancelled by nobody; ours waits on
//! a condition variable with a timeout, so `cancel` and `stop` wake it at once and join it.
//! The end of the client is signalled to the connector by an `ActiveLink` the connection
//! carries: the controller's disconnect path marks it, and dropping it (a connection that
//! never became a client) marks it too, so the connector cannot wait for an end that never
//! comes. The connector knows nothing of the controller: it asks for the little it needs
//! through `ConnectorHost`.
//!
//! A server never connects to its own listening address (the course's code would, and
//! asserts), and a TCP *self-connect* (a connect to a free port of the ephemeral range can
//! pick that very port as its source and connect to itself) is dropped and retried.

// With the exercise 11 stub, the loop that calls the primitives is `todo!()`.
#![cfg_attr(feature = "ex11", allow(dead_code))]

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::client::ClientId;

// ANCHOR: retry_loop_mod
// The connector's loop (try, back off, hand over, wait for the end, reconnect) is
// exercise 11: the feature swaps in the student's file (a `path` here is relative to `src/`).
#[cfg_attr(feature = "ex11", path = "../chapters/ex11_retry_loop.rs")]
mod retry_loop;
// ANCHOR_END: retry_loop_mod

/// The shortest retry interval the library accepts: below it a target that refuses at once
/// (nothing listening on loopback) would make its connector spin.
pub const MIN_CONNECT_RETRY: Duration = Duration::from_millis(10);

/// How long one connect attempt may wait for the peer's answer. A refused connect returns at
/// once; this bounds the case of a peer that never answers (a dropped SYN), which is also how
/// long a `stop` or `cancel` may have to wait for an attempt in flight. It allows one SYN
/// retransmission (the kernel's first comes after one second).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

// ANCHOR: host
/// What a connector needs from whoever owns it. The controller implements it; the connector
/// never imports the controller.
pub(crate) trait ConnectorHost: Send + Sync + 'static {
    /// A connection to `target` is up: make it a client, as an accepted one, carrying
    /// `active` so that its end reaches the connector.
    fn hand_over(self: &Arc<Self>, stream: TcpStream, target: SocketAddr, active: ActiveLink);

    /// A connect attempt to `target` failed; the next comes in `retry_in` (none: no more).
    fn connect_failed(
        self: &Arc<Self>,
        target: SocketAddr,
        error: &io::Error,
        retry_in: Option<Duration>,
    );

    /// The addresses the server listens on (or will, once started): never a target.
    fn listening_addrs(&self) -> Vec<SocketAddr>;
}
// ANCHOR_END: host

/// Where one connect target stands, for `show` and for programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectState {
    /// The server is not running: the target waits for `start`.
    Idle,
    /// An attempt is in flight.
    Connecting,
    /// Connected; the client's id once the server lists it.
    Connected(Option<ClientId>),
    /// The last attempt failed; the next is due in this long.
    Retrying(Duration),
    /// The connection ended and reconnecting is off: nothing more happens until the next
    /// `start` (or a new `connect`).
    Finished,
}

/// One target of the server in client mode, as `show tcp-server` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTarget {
    /// Where the server connects to.
    pub addr: SocketAddr,
    /// What its connector is doing.
    pub state: ConnectState,
    /// Failed attempts since the connector last started.
    pub failures: u64,
}

impl fmt::Display for ConnectTarget {
    /// `127.0.0.1:5000  connected as client #3`, `127.0.0.1:5000  retrying in 0.4 s (2 failed)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  ", self.addr)?;
        match &self.state {
            ConnectState::Idle => f.write_str("waiting for the server to start")?,
            ConnectState::Connecting => f.write_str("connecting")?,
            ConnectState::Connected(Some(id)) => write!(f, "connected as client {id}")?,
            ConnectState::Connected(None) => f.write_str("connected")?,
            ConnectState::Retrying(left) => write!(f, "retrying in {:.1} s", left.as_secs_f64())?,
            ConnectState::Finished => f.write_str("disconnected (reconnect is off)")?,
        }
        if self.failures > 0 {
            write!(f, " ({} failed)", self.failures)?;
        }
        Ok(())
    }
}

/// What a connector is doing, as it records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Connected,
    Retrying(Instant),
    Finished,
}

// ANCHOR: link
/// One connector's shared state: what it is doing, and how the others ask it to stop or tell
/// it that its client ended. The thread waits on `changed`; every change notifies it.
pub(crate) struct Link {
    state: Mutex<LinkState>,
    changed: Condvar,
    /// The interval and the reconnect switch, shared by every connector of the server.
    settings: Arc<Mutex<Settings>>,
}

struct LinkState {
    /// Set by `cancel` and `stop`; read after every wake-up.
    stop: bool,
    phase: Phase,
    /// Bumped at every hand-over: the generation of the latest active client.
    handed: u64,
    /// The latest generation whose client has ended.
    ended: u64,
    failures: u64,
}
// ANCHOR_END: link

/// The connectors' settings (from `Config::connect_retry` and `Config::reconnect`, changeable
/// while running).
#[derive(Clone, Copy, Debug)]
struct Settings {
    retry: Duration,
    reconnect: bool,
}

// ANCHOR: active_link
/// Carried by an active client's connection: marks the end of that client for its connector,
/// when the controller reports it disconnected, or when the connection is dropped without
/// ever becoming a client (refused at the connection cap).
pub(crate) struct ActiveLink {
    link: Arc<Link>,
    generation: u64,
}

impl ActiveLink {
    /// The client is gone: wake its connector. Idempotent.
    pub(crate) fn ended(&self) {
        let mut st = lock(&self.link.state);
        if st.ended < self.generation {
            st.ended = self.generation;
            self.link.changed.notify_all();
        }
    }
}

impl Drop for ActiveLink {
    fn drop(&mut self) {
        self.ended();
    }
}
// ANCHOR_END: active_link

// ANCHOR: primitives
impl Link {
    fn new(settings: Arc<Mutex<Settings>>) -> Link {
        Link {
            state: Mutex::new(LinkState {
                stop: false,
                phase: Phase::Connecting,
                handed: 0,
                ended: 0,
                failures: 0,
            }),
            changed: Condvar::new(),
            settings,
        }
    }

    /// True once `cancel` or `stop` asked this connector to leave.
    pub(crate) fn stopping(&self) -> bool {
        lock(&self.state).stop
    }

    /// The retry interval in force.
    pub(crate) fn retry_interval(&self) -> Duration {
        lock(&self.settings).retry
    }

    /// Whether a connection that ended is to be made again.
    pub(crate) fn reconnects(&self) -> bool {
        lock(&self.settings).reconnect
    }

    /// Records that an attempt is in flight.
    pub(crate) fn connecting(&self) {
        lock(&self.state).phase = Phase::Connecting;
    }

    /// Records a failed attempt; the next is due after `retry`.
    pub(crate) fn failed(&self, retry: Duration) {
        let mut st = lock(&self.state);
        st.failures += 1;
        st.phase = Phase::Retrying(Instant::now() + retry);
    }

    /// Records that the next attempt is due after `retry` (a reconnect, not a failure).
    pub(crate) fn waiting(&self, retry: Duration) {
        lock(&self.state).phase = Phase::Retrying(Instant::now() + retry);
    }

    /// Records that the connection ended for good (reconnecting is off).
    pub(crate) fn finished(&self) {
        lock(&self.state).phase = Phase::Finished;
    }

    /// A new active client's end marker, for the hand-over of the connection just made.
    pub(crate) fn hand_over_link(self: &Arc<Self>) -> ActiveLink {
        let mut st = lock(&self.state);
        st.handed += 1;
        st.phase = Phase::Connected;
        ActiveLink {
            link: Arc::clone(self),
            generation: st.handed,
        }
    }

    /// Waits up to `timeout`, or until asked to stop; true when asked to stop.
    pub(crate) fn wait_retry(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.state);
        while !st.stop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self
                .changed
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        st.stop
    }

    /// Waits until the client handed over last has ended, or until asked to stop; true when
    /// asked to stop. Bounded by nothing else: an active client may live for days.
    pub(crate) fn wait_end(&self) -> bool {
        let mut st = lock(&self.state);
        while !st.stop && st.ended < st.handed {
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.stop
    }

    fn ask_to_stop(&self) {
        lock(&self.state).stop = true;
        self.changed.notify_all();
    }
}
// ANCHOR_END: primitives

// ANCHOR: attempt
/// One connect attempt to `target`, bounded by [`CONNECT_TIMEOUT`]. Refused when `target` is
/// one of `own` (the server's listening addresses); a self-connected socket is closed and
/// counts as a failure.
///
/// # Errors
/// The connect's error, or `AddrInUse`/`ConnectionRefused` naming what was refused.
pub(crate) fn attempt(target: SocketAddr, own: &[SocketAddr]) -> io::Result<TcpStream> {
    if is_own_address(target, own) {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{target} is this server's own listening address"),
        ));
    }
    let stream = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)?;
    if is_self_connect(stream.local_addr()?, stream.peer_addr()?) {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!(
                "the connect to {target} reached itself (TCP self-connect: nothing listens there)"
            ),
        ));
    }
    Ok(stream)
}
// ANCHOR_END: attempt

/// A socket connected to itself: a connect to a free port of the ephemeral range may pick
/// that very port as its source, and TCP's simultaneous open then connects it to itself.
pub(crate) fn is_self_connect(local: SocketAddr, peer: SocketAddr) -> bool {
    local == peer
}

/// Would a connect to `target` reach one of the listening addresses `own`? A listener on a
/// specific address is hit by that address; one on the unspecified address (`0.0.0.0`, `::`)
/// by any address of this machine on its port. An address is this machine's when a socket
/// can be bound to it (std has no list of interfaces; `bind` asks the kernel the same
/// question). A listener on port 0 has no port yet: nothing is its address.
pub(crate) fn is_own_address(target: SocketAddr, own: &[SocketAddr]) -> bool {
    own.iter().any(|listen| {
        if listen.port() == 0 || listen.port() != target.port() {
            return false;
        }
        let (l, t) = (canonical(listen.ip()), canonical(target.ip()));
        if l.is_unspecified() {
            t.is_unspecified() || t.is_loopback() || is_local(t)
        } else {
            l == t || t.is_unspecified()
        }
    })
}

/// `::ffff:127.0.0.1` is `127.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn is_local(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// One target and its running connector.
struct Target {
    link: Arc<Link>,
    /// Joined by `cancel` and `stop`; none while the server is stopped.
    thread: Option<JoinHandle<()>>,
}

/// Why a target cannot be added or removed (the caller turns it into the public error).
#[derive(Debug)]
pub(crate) enum TargetError {
    /// `add` of a target already configured.
    Duplicate,
    /// `cancel` of a target not configured.
    Unknown,
    /// The connector's thread could not be started (the target is not kept).
    Spawn(io::Error),
}

// ANCHOR: connectors
/// Every connect target of one server, and its connector threads. The targets are
/// configuration: they are kept while the server is stopped, and their connectors run while
/// it runs.
pub(crate) struct Connectors {
    /// The server's name, for thread names.
    server: String,
    targets: Mutex<Registry>,
    settings: Arc<Mutex<Settings>>,
}

struct Registry {
    /// Whether connectors run now (between `start` and `stop`).
    running: bool,
    /// Sorted, so `show` lists targets in a stable order.
    targets: BTreeMap<SocketAddr, Target>,
}
// ANCHOR_END: connectors

impl Connectors {
    /// No targets; `retry` is clamped to [`MIN_CONNECT_RETRY`].
    pub(crate) fn new(server: &str, retry: Duration, reconnect: bool) -> Connectors {
        Connectors {
            server: server.to_string(),
            targets: Mutex::new(Registry {
                running: false,
                targets: BTreeMap::new(),
            }),
            settings: Arc::new(Mutex::new(Settings {
                retry: retry.max(MIN_CONNECT_RETRY),
                reconnect,
            })),
        }
    }

    /// Adds a target; on a running server its connector starts at once.
    ///
    /// # Errors
    /// [`TargetError::Duplicate`], [`TargetError::Spawn`].
    pub(crate) fn add<H: ConnectorHost>(
        &self,
        host: &Arc<H>,
        target: SocketAddr,
    ) -> Result<(), TargetError> {
        let mut reg = lock(&self.targets);
        if reg.targets.contains_key(&target) {
            return Err(TargetError::Duplicate);
        }
        let link = Arc::new(Link::new(Arc::clone(&self.settings)));
        let thread = if reg.running {
            Some(
                self.spawn(host, &link, target)
                    .map_err(TargetError::Spawn)?,
            )
        } else {
            None
        };
        reg.targets.insert(target, Target { link, thread });
        Ok(())
    }

    /// Removes a target: its connector is woken and joined (after an attempt in flight, at
    /// most [`CONNECT_TIMEOUT`]).
    ///
    /// # Errors
    /// [`TargetError::Unknown`].
    pub(crate) fn cancel(&self, target: SocketAddr) -> Result<(), TargetError> {
        let removed = lock(&self.targets).targets.remove(&target);
        let target = removed.ok_or(TargetError::Unknown)?;
        // Joined without the lock: the thread may be in a callback that calls back into us.
        stop_and_join(vec![target]);
        Ok(())
    }

    /// Starts a connector for every target (the server's `start`). A thread that cannot be
    /// started is reported through `connect_failed` without a retry.
    pub(crate) fn start<H: ConnectorHost>(&self, host: &Arc<H>) {
        let mut reg = lock(&self.targets);
        reg.running = true;
        let mut failed = Vec::new();
        for (addr, target) in reg.targets.iter_mut() {
            // A fresh link: the last run's stop flag and counts stay with the last run.
            target.link = Arc::new(Link::new(Arc::clone(&self.settings)));
            match self.spawn(host, &target.link, *addr) {
                Ok(t) => target.thread = Some(t),
                Err(e) => failed.push((*addr, e)),
            }
        }
        drop(reg);
        for (addr, e) in failed {
            host.connect_failed(addr, &e, None);
        }
    }

    /// Wakes and joins every connector (the server's `stop`); the targets are kept.
    pub(crate) fn stop(&self) {
        let mut reg = lock(&self.targets);
        reg.running = false;
        let running: Vec<Target> = reg
            .targets
            .values_mut()
            .filter_map(|t| {
                t.thread.take().map(|thread| Target {
                    link: Arc::clone(&t.link),
                    thread: Some(thread),
                })
            })
            .collect();
        drop(reg);
        stop_and_join(running);
    }

    /// Changes the retry interval (clamped to [`MIN_CONNECT_RETRY`]); a connector already
    /// waiting keeps its deadline, the next wait uses the new interval.
    pub(crate) fn set_retry(&self, retry: Duration) {
        lock(&self.settings).retry = retry.max(MIN_CONNECT_RETRY);
    }

    /// Turns reconnecting on or off, from the next end of an active client.
    pub(crate) fn set_reconnect(&self, reconnect: bool) {
        lock(&self.settings).reconnect = reconnect;
    }

    /// The retry interval and the reconnect switch in force.
    pub(crate) fn settings(&self) -> (Duration, bool) {
        let s = *lock(&self.settings);
        (s.retry, s.reconnect)
    }

    /// Every target and its state; `client_of` finds the client connected to a target.
    pub(crate) fn targets(
        &self,
        client_of: impl Fn(SocketAddr) -> Option<ClientId>,
    ) -> Vec<ConnectTarget> {
        let reg = lock(&self.targets);
        let now = Instant::now();
        reg.targets
            .iter()
            .map(|(addr, target)| {
                let st = lock(&target.link.state);
                let state = match (reg.running && target.thread.is_some(), st.phase) {
                    (false, Phase::Finished) => ConnectState::Finished,
                    (false, _) => ConnectState::Idle,
                    (true, Phase::Connecting) => ConnectState::Connecting,
                    (true, Phase::Connected) => ConnectState::Connected(client_of(*addr)),
                    (true, Phase::Retrying(at)) => {
                        ConnectState::Retrying(at.saturating_duration_since(now))
                    }
                    (true, Phase::Finished) => ConnectState::Finished,
                };
                ConnectTarget {
                    addr: *addr,
                    state,
                    failures: st.failures,
                }
            })
            .collect()
    }

    fn spawn<H: ConnectorHost>(
        &self,
        host: &Arc<H>,
        link: &Arc<Link>,
        target: SocketAddr,
    ) -> io::Result<JoinHandle<()>> {
        let host = Arc::clone(host);
        let link = Arc::clone(link);
        thread::Builder::new()
            .name(format!("connect-{}", self.server))
            .spawn(move || retry_loop::run(&host, &link, target))
    }
}

/// A lock that a panicking thread left poisoned is still good here: every change under these
/// locks is one assignment, never left half done. (Not `connection::lock`: the connection
/// carries an `ActiveLink`, and the two modules must not import each other.)
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn stop_and_join(targets: Vec<Target>) {
    for target in &targets {
        target.link.ask_to_stop();
    }
    for target in targets {
        let Some(thread) = target.thread else {
            continue;
        };
        // From inside a callback on the connector's own thread it cannot wait for itself; it
        // leaves as soon as the callback returns and sees the flag.
        if thread.thread().id() != thread::current().id() {
            // A connector never panics on its own; if a callback panicked, it is gone already.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A listener on a specific address is its own target on that address and port only; on
    /// the unspecified address, loopback on its port is it too; port 0 is nobody's address.
    #[test]
    fn own_address_is_recognised() {
        let own = [addr("127.0.0.1:4000")];
        assert!(is_own_address(addr("127.0.0.1:4000"), &own));
        assert!(!is_own_address(addr("127.0.0.1:4001"), &own));
        assert!(!is_own_address(addr("127.0.0.2:4000"), &own));
        assert!(is_own_address(addr("[::ffff:127.0.0.1]:4000"), &own));
        let any = [addr("0.0.0.0:4000")];
        assert!(is_own_address(addr("127.0.0.1:4000"), &any));
        assert!(is_own_address(addr("0.0.0.0:4000"), &any));
        assert!(!is_own_address(addr("127.0.0.1:4001"), &any));
        let any6 = [addr("[::]:4000")];
        assert!(is_own_address(addr("[::1]:4000"), &any6));
        assert!(is_own_address(addr("127.0.0.1:4000"), &any6));
        // 192.0.2.1 (TEST-NET-1) is no address of this machine.
        assert!(!is_own_address(addr("192.0.2.1:4000"), &any));
        assert!(!is_own_address(addr("127.0.0.1:0"), &[addr("127.0.0.1:0")]));
    }

    /// A socket whose local address is its peer is a self-connect; any other is not.
    #[test]
    fn self_connect_is_recognised() {
        assert!(is_self_connect(
            addr("127.0.0.1:40001"),
            addr("127.0.0.1:40001")
        ));
        assert!(!is_self_connect(
            addr("127.0.0.1:40001"),
            addr("127.0.0.1:40002")
        ));
    }

    /// The state lines of `show` name what the connector does.
    #[test]
    fn target_lines_read_well() {
        let line = |state, failures| {
            ConnectTarget {
                addr: addr("127.0.0.1:5000"),
                state,
                failures,
            }
            .to_string()
        };
        assert_eq!(
            line(ConnectState::Connected(Some(ClientId(3))), 0),
            "127.0.0.1:5000  connected as client #3"
        );
        assert_eq!(
            line(ConnectState::Retrying(Duration::from_millis(400)), 2),
            "127.0.0.1:5000  retrying in 0.4 s (2 failed)"
        );
    }

    /// An end marker dropped without a disconnect (a connection refused at the cap) still
    /// ends the wait of its connector; an earlier generation's end does not.
    #[test]
    fn a_dropped_link_ends_the_wait() {
        let link = Arc::new(Link::new(Arc::new(Mutex::new(Settings {
            retry: MIN_CONNECT_RETRY,
            reconnect: true,
        }))));
        let first = link.hand_over_link();
        first.ended();
        let second = link.hand_over_link();
        first.ended();
        let (ended, handed) = {
            let st = lock(&link.state);
            (st.ended, st.handed)
        };
        assert!(
            ended < handed,
            "an earlier client's end is not the latest's"
        );
        drop(second);
        assert!(!link.wait_end());
    }
}
