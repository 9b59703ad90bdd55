//! Chapter 11 — the server in client mode: a server that connects out, retries while nothing
//! listens, treats the connection as a client like any other, reconnects when it ends, and
//! stops trying when told. Real sockets on 127.0.0.1; the retry interval is 100 ms.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use tcpserverlib::demo::{Event, Events, Print, Recorder};
use tcpserverlib::{
    ClientFlags, ClientId, Config, ConnectError, ConnectState, DisconnectReason, TcpServer,
};

/// Reached only when something is broken (kept short: with the exercise's stub every test
/// waits this long once, and fails).
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long "nothing more happens" is watched for: several retry intervals.
const QUIET: Duration = Duration::from_millis(400);
const RETRY: Duration = Duration::from_millis(100);

/// Server A, the one that connects out, with its events.
fn dialler(name: &str) -> (TcpServer, Events) {
    let (recorder, events) = Recorder::new(Print::default(), false);
    let config = Config {
        connect_retry: RETRY,
        ..Config::default()
    };
    let server = TcpServer::with_config(name, "127.0.0.1:0", config, recorder).unwrap();
    server.start().unwrap();
    (server, events)
}

/// A free loopback port: bound, then let go.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Server B, the peer, configured on `addr` and not started.
fn peer(addr: SocketAddr) -> (TcpServer, Events) {
    let (recorder, events) = Recorder::new(Print::default(), false);
    (TcpServer::new("peer", addr, recorder).unwrap(), events)
}

/// Waits for `n` failed connects to `target`, skipping nothing else.
fn expect_failures(events: &Events, target: SocketAddr, n: usize) {
    let seen = events.collect_until(n, TIMEOUT, |e| matches!(e, Event::ConnectFailed(..)));
    let failures = seen
        .iter()
        .filter(|e| matches!(e, Event::ConnectFailed(t, _) if *t == target))
        .count();
    assert_eq!(
        failures, n,
        "expected {n} failed connects to {target}, saw {seen:?}"
    );
    assert_eq!(
        seen.len(),
        n,
        "only failed connects were expected: {seen:?}"
    );
}

/// Waits for the dialler's next connect, skipping failures reported before it.
fn expect_active_connect(events: &Events, target: SocketAddr) -> ClientId {
    let seen = events.collect_until(1, TIMEOUT, |e| matches!(e, Event::Connected(_)));
    match seen.last() {
        Some(Event::Connected(client)) => {
            assert_eq!(
                client.peer_addr, target,
                "the client is the connection to the target"
            );
            client.id
        }
        _ => panic!("expected a connect to {target}, saw {seen:?}"),
    }
}

/// A dialler (set up by `before_connect`) connected to a started peer, and the client id of
/// that connection at each end.
struct Pair {
    a: TcpServer,
    a_events: Events,
    b: TcpServer,
    b_events: Events,
    target: SocketAddr,
    at_a: ClientId,
    at_b: ClientId,
}

fn connected_pair(name: &str, before_connect: impl FnOnce(&TcpServer)) -> Pair {
    let target = free_port();
    let (b, b_events) = peer(target);
    b.start().unwrap();
    let (a, a_events) = dialler(name);
    before_connect(&a);
    a.connect(target).unwrap();
    let at_a = expect_active_connect(&a_events, target);
    let at_b = b_events.expect_connected(TIMEOUT).unwrap().id;
    Pair {
        a,
        a_events,
        b,
        b_events,
        target,
        at_a,
        at_b,
    }
}

/// With nothing listening on the target, the connector retries at the interval (each
/// failure reported through `connect_failed`), and connects once a listener appears: the
/// connection is a client of the dialler flagged ACTIVE, and a client of the peer.
#[test]
fn retries_until_a_listener_appears() {
    let (a, a_events) = dialler("a1");
    let target = free_port();
    a.connect(target).unwrap();
    expect_failures(&a_events, target, 2);
    assert!(
        matches!(
            a.connect_targets()[0].state,
            ConnectState::Retrying(_) | ConnectState::Connecting
        ),
        "{:?}",
        a.connect_targets()
    );
    assert!(
        a.connect_targets()[0].failures >= 2,
        "{:?}",
        a.connect_targets()
    );
    let (b, b_events) = peer(target);
    b.start().unwrap();
    let id = expect_active_connect(&a_events, target);
    let from = b_events.expect_connected(TIMEOUT).unwrap();
    let info = a.client_info(id).expect("the active client is in the DB");
    assert!(info.flags.contains(ClientFlags::ACTIVE), "{}", info.flags);
    assert!(info.flags.contains(ClientFlags::LISTENED), "{}", info.flags);
    assert_eq!(info.client.local_addr, from.peer_addr);
    assert_eq!(
        a.connect_targets()[0].state,
        ConnectState::Connected(Some(id))
    );
    assert!(a.show().contains("connected as client"), "{}", a.show());
}

/// The active client is a client like any other: messages flow both ways through the same
/// callbacks and `send`, and an accepted client of the same server is not flagged ACTIVE.
#[test]
fn messages_flow_both_ways() {
    let Pair {
        a,
        a_events,
        b,
        b_events,
        at_a: id,
        at_b,
        ..
    } = connected_pair("a2", |_| {});
    a.send(id, b"hello from a").unwrap();
    assert_eq!(
        b_events.expect_message(TIMEOUT).unwrap(),
        (at_b, b"hello from a".to_vec())
    );
    b.send(at_b, b"hello from b").unwrap();
    assert_eq!(
        a_events.expect_message(TIMEOUT).unwrap(),
        (id, b"hello from b".to_vec())
    );
    let accepted = std::net::TcpStream::connect(a.local_addr().unwrap()).unwrap();
    let other = a_events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(other.peer_addr, accepted.local_addr().unwrap());
    let flags = a.client_info(other.id).unwrap().flags;
    assert!(!flags.contains(ClientFlags::ACTIVE), "{flags}");
    // While its connection lives, a connector makes no other (four retry intervals watched).
    assert!(
        b_events.nothing_more_within(QUIET),
        "a second connection to the same target while the first is up"
    );
    assert_eq!(b.client_count(), 1);
    // A's statistics tell the connection it made from the one it accepted; B only accepted.
    let (a_stats, b_stats) = (a.stats(), b.stats());
    assert_eq!(
        (a_stats.accepted, a_stats.connected, a_stats.clients_ever),
        (1, 1, 2),
        "A: expected 1 accepted and 1 connected as a client, both clients:\n{a_stats}"
    );
    assert_eq!(
        (b_stats.accepted, b_stats.connected),
        (1, 0),
        "B: expected 1 accepted, none connected:\n{b_stats}"
    );
    assert!(
        a_stats
            .to_string()
            .contains("accepted:     1, connected as a client: 1 (2 became"),
        "{a_stats}"
    );
}

/// When the peer goes away the active client is reported disconnected once (peer closed);
/// the connector retries while nothing listens, and reconnects when the peer is back.
#[test]
fn reconnects_when_the_peer_returns() {
    let Pair {
        a,
        a_events,
        b,
        target,
        at_a: first,
        ..
    } = connected_pair("a3", |_| {});
    b.stop();
    assert_eq!(
        a_events.expect_disconnected(TIMEOUT).unwrap(),
        (first, DisconnectReason::PeerClosed)
    );
    expect_failures(&a_events, target, 2);
    b.start().unwrap();
    let second = expect_active_connect(&a_events, target);
    assert_ne!(first, second, "a new connection is a new client");
    assert_eq!(a.client_count(), 1);
}

/// With reconnecting off, a connection that ends is not made again: no attempt follows, and
/// the target shows it is finished.
#[test]
fn no_reconnect_leaves_it_ended() {
    let Pair {
        a,
        a_events,
        b,
        b_events,
        at_a: id,
        at_b,
        ..
    } = connected_pair("a4", |a| a.set_reconnect(false));
    b.disconnect(at_b);
    assert_eq!(
        a_events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::PeerClosed)
    );
    assert!(a_events.nothing_more_within(QUIET));
    assert!(b_events
        .collect_until(1, QUIET, |e| matches!(e, Event::Connected(_)))
        .iter()
        .all(|e| !matches!(e, Event::Connected(_))));
    assert_eq!(a.connect_targets()[0].state, ConnectState::Finished);
}

/// A reconnect waits the interval too, so a peer that accepts and closes at once is not
/// dialled in a loop: with a 20 s interval, no second connect follows the first's end soon.
#[test]
fn a_reconnect_waits_the_interval() {
    let Pair {
        a,
        a_events,
        b,
        b_events,
        at_a: id,
        at_b,
        ..
    } = connected_pair("a9", |a| a.set_connect_retry(Duration::from_secs(20)));
    b.disconnect(at_b);
    assert_eq!(
        a_events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::PeerClosed)
    );
    b_events.expect_disconnected(TIMEOUT).unwrap();
    assert!(
        b_events.nothing_more_within(QUIET),
        "the reconnect came before the interval"
    );
    assert!(
        matches!(a.connect_targets()[0].state, ConnectState::Retrying(left) if left > Duration::from_secs(1)),
        "the reconnect is due in about 20 s: {:?}",
        a.connect_targets()
    );
}

/// `cancel_connect` stops the retries at once: no attempt after it returns, the target is
/// gone, and a second cancel says it is not configured.
#[test]
fn cancel_stops_retrying() {
    let (a, a_events) = dialler("a5");
    let target = free_port();
    a.connect(target).unwrap();
    expect_failures(&a_events, target, 2);
    let asked = Instant::now();
    a.cancel_connect(target).unwrap();
    assert!(asked.elapsed() < TIMEOUT);
    assert!(
        a_events.nothing_more_within(QUIET),
        "no attempt may follow a cancel"
    );
    assert!(a.connect_targets().is_empty());
    assert!(matches!(
        a.cancel_connect(target),
        Err(ConnectError::NotConnecting { .. })
    ));
}

/// Cancelling a target that is connected disconnects its client (application) and does not
/// reconnect.
#[test]
fn cancel_disconnects_the_active_client() {
    // `b` kept alive to the end: a peer dropped now would close the connection itself.
    let Pair {
        a,
        a_events,
        b: _b,
        b_events,
        target,
        at_a: id,
        ..
    } = connected_pair("a6", |_| {});
    a.cancel_connect(target).unwrap();
    assert_eq!(
        a_events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::Application)
    );
    b_events.expect_disconnected(TIMEOUT).unwrap();
    assert!(a_events.nothing_more_within(QUIET));
}

/// A target is configuration: `stop` disconnects the active client (server shutdown) and
/// keeps the target; the next `start` connects again. A second `connect` of the same target
/// is refused.
#[test]
fn stop_keeps_targets_and_start_reconnects() {
    let target = free_port();
    let (b, b_events) = peer(target);
    b.start().unwrap();
    let (a, a_events) = dialler("a7");
    a.connect(target).unwrap();
    assert!(matches!(
        a.connect(target),
        Err(ConnectError::AlreadyConnecting { .. })
    ));
    let first = expect_active_connect(&a_events, target);
    b_events.expect_connected(TIMEOUT).unwrap();
    a.stop();
    assert_eq!(
        a_events.expect_disconnected(TIMEOUT).unwrap(),
        (first, DisconnectReason::ServerShutdown)
    );
    assert_eq!(a.connect_targets()[0].state, ConnectState::Idle);
    assert!(a_events.nothing_more_within(QUIET));
    a.start().unwrap();
    expect_active_connect(&a_events, target);
}

/// The retry interval and the reconnect switch read back as configured and as changed;
/// an interval below the minimum is raised to it.
#[test]
fn connect_settings_read_back() {
    let (a, _events) = dialler("a10");
    assert_eq!(
        a.handle().connect_settings(),
        (RETRY, true),
        "as configured"
    );
    a.handle().set_connect_retry(Duration::from_secs(3));
    a.handle().set_reconnect(false);
    assert_eq!(
        a.handle().connect_settings(),
        (Duration::from_secs(3), false),
        "as changed"
    );
    a.handle().set_connect_retry(Duration::ZERO);
    assert_eq!(
        a.handle().connect_settings().0,
        tcpserverlib::connector::MIN_CONNECT_RETRY,
        "a zero interval is raised to the minimum"
    );
}

/// A server never connects to its own listening address, running or not yet started.
#[test]
fn own_address_is_refused() {
    let (a, _events) = dialler("a8");
    let own = a.local_addr().unwrap();
    assert!(matches!(
        a.connect(own),
        Err(ConnectError::OwnAddress { target, .. }) if target == own
    ));
    let port = free_port();
    let stopped = TcpServer::new("a8b", port, ()).unwrap();
    let err = stopped.connect(port).unwrap_err();
    assert!(err.to_string().contains("own listening address"), "{err}");
    assert!(a.connect_targets().is_empty());
}

/// `stop()` wakes and joins every connector thread, even one waiting out a long retry
/// interval: afterwards no `connect-…` thread of the server is left; `start` starts them
/// again.
#[cfg(target_os = "linux")]
#[test]
fn stop_joins_connector_threads() {
    // Thread names are cut to 15 bytes by Linux: "connect-" + at most 7.
    const NAME: &str = "joinc11";
    let connectors = || -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.trim_end() == format!("connect-{NAME}"))
            .count()
    };
    // A new thread names itself, and a joined one leaves /proc, a moment after `spawn` or
    // `join` returned: poll, with a polling interval, not a wait for an event.
    let eventually = |want: usize| {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if connectors() == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    };
    let (recorder, events) = Recorder::new(Print::default(), false);
    let config = Config {
        connect_retry: Duration::from_secs(20),
        ..Config::default()
    };
    let a = TcpServer::with_config(NAME, "127.0.0.1:0", config, recorder).unwrap();
    a.connect(free_port()).unwrap();
    a.connect(free_port()).unwrap();
    assert_eq!(connectors(), 0, "no connector runs on a stopped server");
    for _ in 0..2 {
        a.start().unwrap();
        expect_failures_any(&events, 2);
        assert!(
            events.nothing_more_within(QUIET),
            "with a 20 s interval, no second attempt comes this soon"
        );
        for target in a.connect_targets() {
            assert!(
                matches!(target.state, ConnectState::Retrying(left) if left > Duration::from_secs(1)),
                "a failure 20 s from its next attempt shows it: {target}"
            );
        }
        assert!(eventually(2), "{} connector threads", connectors());
        let asked = Instant::now();
        a.stop();
        // Not a measure of speed: a connector that sleeps instead of waiting to be woken
        // would hold `stop` for the whole interval.
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "stop waited out the 20 s retry interval instead of waking the connectors"
        );
        assert!(
            eventually(0),
            "left behind: {} connector threads",
            connectors()
        );
    }
}

/// Waits for `n` failed connects to any target.
fn expect_failures_any(events: &Events, n: usize) {
    let seen = events.collect_until(n, TIMEOUT, |e| matches!(e, Event::ConnectFailed(..)));
    assert_eq!(seen.len(), n, "expected {n} failed connects, saw {seen:?}");
}
