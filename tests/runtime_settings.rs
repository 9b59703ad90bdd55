//! Settings a running server takes without a restart: the connection cap, the black-list and
//! keep-alive (the shell's `max-clients`, `black-list` and `ka-interval`).

mod common;

use std::io::Read;
use std::net::IpAddr;
use std::time::Duration;

use common::{addr, connect, start, start_default, write, SHORT, TIMEOUT};
use tcpserverlib::demo::Event;
use tcpserverlib::{Config, DisconnectReason, Framing, KeepAliveConfig};

const LOOPBACK: &str = "127.0.0.1";

fn loopback() -> IpAddr {
    LOOPBACK.parse().unwrap()
}

/// Lowering the cap on a running server keeps the clients it has and refuses the next one;
/// raising it admits new ones again. Bounds are checked.
#[test]
fn max_clients_changes_on_a_running_server() {
    let (server, events) = start_default();
    let _a = connect(addr(&server));
    let _b = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    events.expect_connected(TIMEOUT).unwrap();
    server.set_max_clients(2).unwrap();
    assert_eq!(server.max_clients(), 2);
    let _c = connect(addr(&server));
    assert!(matches!(events.next(TIMEOUT), Some(Event::Rejected(_))));
    server.set_max_clients(3).unwrap();
    let _d = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(server.client_count(), 3);
    assert!(server.set_max_clients(0).is_err());
    let e = server.set_max_clients(2_000_000).unwrap_err();
    assert!(e.to_string().contains("expected 1 to 1000000"), "{e}");
    assert_eq!(server.info().max_clients, 3);
}

/// A black-listed address is closed at accept: never a client, told to `rejected` as
/// black-listed, counted; black-listing disconnects the clients already connected from it
/// (reason: application); unblocking admits it again.
#[test]
fn a_blacklisted_address_is_refused_at_accept() {
    let (server, events) = start_default();
    let mut old = connect(addr(&server));
    let first = events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(server.block(loopback()), 1);
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (first.id, DisconnectReason::Application)
    );
    assert_eq!(
        old.read(&mut [0u8; 1]).unwrap(),
        0,
        "the old client reads its end"
    );
    assert_eq!(server.blocked(), vec![loopback()]);

    let mut refused = connect(addr(&server));
    match events.next(TIMEOUT) {
        Some(Event::Rejected(peer)) => assert_eq!(peer, refused.local_addr().unwrap()),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(matches!(refused.read(&mut [0u8; 1]), Ok(0) | Err(_)));
    assert_eq!(server.blacklisted_count(), 1);
    assert_eq!(server.client_count(), 0);
    assert!(
        events.nothing_more_within(SHORT),
        "no connected for a refused peer"
    );

    assert!(server.unblock(loopback()));
    assert!(!server.unblock(loopback()));
    let _back = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(server.blacklisted_count(), 1);
}

/// The reason given to `rejected` says the address is black-listed.
#[test]
fn the_rejection_says_why() {
    use std::sync::mpsc;
    use std::sync::Mutex;
    use tcpserverlib::{Handler, ServerHandle, TcpServer};

    struct Why(Mutex<mpsc::Sender<String>>);
    impl Handler for Why {
        fn rejected(&self, _: &ServerHandle, _: std::net::SocketAddr, why: &str) {
            let _ = self.0.lock().unwrap().send(why.to_string());
        }
    }
    let (tx, rx) = mpsc::channel();
    let server = TcpServer::new("why", "127.0.0.1:0", Why(Mutex::new(tx))).unwrap();
    server.start().unwrap();
    server.block("::ffff:127.0.0.1".parse().unwrap());
    let _c = connect(addr(&server));
    let why = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(why, "127.0.0.1 is black-listed");
}

/// Keep-alive turned on for a running server created without it: clients already
/// connected are armed at once, and one that stays silent is dropped after its hold time;
/// turned off again, a silent client stays.
#[test]
fn keepalive_turns_on_and_off_on_a_running_server() {
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let _silent = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    assert_eq!(server.keepalive(), None);
    server
        .set_keepalive(Some(KeepAliveConfig::with_interval(Duration::from_millis(
            100,
        ))))
        .unwrap();
    assert!(server.info().keepalive.is_some());
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::KeepAliveExpired)
    );

    server.set_keepalive(None).unwrap();
    let _quiet = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    let stays = events.nothing_more_within(Duration::from_millis(400));
    assert!(stays, "with keep-alive off a silent client stays");
}

/// A new interval reaches a client already connected: with a long interval it would sit
/// idle, after the change to a short one it receives the server's keep-alives (empty
/// lines) and, since it answers nothing, is dropped after the new hold time.
#[test]
fn a_new_interval_reaches_connected_clients() {
    let config = Config {
        framing: Framing::line(),
        keepalive: Some(KeepAliveConfig::with_interval(Duration::from_secs(3600))),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut client = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    write(&mut client, b"hello\n");
    events.expect_message(TIMEOUT).unwrap();
    server
        .set_keepalive(Some(KeepAliveConfig::with_interval(Duration::from_millis(
            100,
        ))))
        .unwrap();
    let mut byte = [0u8; 1];
    client.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"\n", "a keep-alive is an empty line");
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::KeepAliveExpired)
    );
}

/// Keep-alive set on a stopped server applies when it starts; stopping and starting again
/// keeps it.
#[test]
fn keepalive_set_before_start_applies_at_start() {
    let (server, events) = start_default();
    server.stop();
    server
        .set_keepalive(Some(KeepAliveConfig::with_interval(Duration::from_millis(
            100,
        ))))
        .unwrap();
    server.start().unwrap();
    let _silent = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::KeepAliveExpired)
    );
}

/// `KeepAliveConfig::with_interval` never overflows, whatever the interval.
#[test]
fn with_interval_saturates() {
    let ka = KeepAliveConfig::with_interval(Duration::MAX);
    assert_eq!(ka.hold, Duration::MAX);
}

/// Black-listing reaches a client served by a thread of its own (multi-threaded mode) as
/// it reaches one of the DRS: disconnected once, reason application.
#[test]
fn black_listing_reaches_threaded_clients() {
    let (server, events) = start_default();
    server.set_multi_threaded(true);
    let mut client = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    assert_eq!(server.block(loopback()), 1);
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::Application)
    );
    assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0);
    assert!(events.nothing_more_within(SHORT));
}
