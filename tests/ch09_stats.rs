//! Chapter 9 — statistics: the server's counters add up, exactly, for traffic the tests know.
//!
//! Every figure checked here is one the test caused: bytes and messages each way, clients
//! that came, were rejected, and went for each kind of reason. Nothing waits on time: each
//! check follows an event (a reply read, a `connected`, a `disconnected`).

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::{addr, connect, read_n, start, write, TIMEOUT};
use tcpserverlib::demo::{Event, Events, Print, Recorder};
use tcpserverlib::{
    Client, ClientId, Config, DisconnectKind, DisconnectReason, Framing, Handler, KeepAliveConfig,
    ServerHandle, TcpServer, Traffic,
};

fn line_config() -> Config {
    Config {
        framing: Framing::line(),
        ..Config::default()
    }
}

/// Connects a client and waits for the server to report it (messages of earlier clients,
/// still in the queue of events, are skipped).
fn join(server: &TcpServer, events: &Events) -> (TcpStream, ClientId) {
    let c = connect(addr(server));
    loop {
        match events.next(TIMEOUT) {
            Some(Event::Connected(client)) => return (c, client.id),
            Some(Event::Message(..)) => continue,
            other => panic!("expected a client to connect, got {other:?}"),
        }
    }
}

/// Sends `line` (with its newline) and reads its echo back.
fn round_trip(c: &mut TcpStream, line: &str) {
    let framed = format!("{line}\n");
    write(c, framed.as_bytes());
    assert_eq!(
        read_n(c, framed.len()),
        framed.as_bytes(),
        "the echo of {line:?}"
    );
}

/// Waits for client `id`'s disconnect, skipping other events; its reason.
fn gone(events: &Events, id: ClientId) -> DisconnectReason {
    loop {
        match events.next(TIMEOUT) {
            Some(Event::Disconnected(who, reason)) if who == id => return reason,
            Some(_) => continue,
            None => panic!("client {id} was never reported disconnected"),
        }
    }
}

/// Waits until the DRS has finished everything it started before: a client connects and
/// closes, and its disconnect is reported by the DRS only after the passes in progress. Needed
/// before reading `bytes_out`, which counts what the kernel took and so moves only after the
/// write that a client may already have read. Counts one client more, gone as "peer closed".
fn settle(server: &TcpServer, events: &Events) {
    let (c, id) = join(server, events);
    drop(c);
    assert_eq!(gone(events, id), DisconnectReason::PeerClosed);
}

/// The traffic of `n` echoed lines of `bytes` bytes each (newline included).
fn echoed(n: u64, bytes: u64) -> Traffic {
    Traffic {
        bytes_in: n * bytes,
        bytes_out: n * bytes,
        messages_in: n,
        messages_out: n,
        ..Traffic::default()
    }
}

/// Two clients echo known lines: the server's totals are the sum of what they sent and got
/// back, and each client's own counters are its share.
#[test]
fn bytes_and_messages_add_up_for_known_traffic() {
    let (server, events) = start(line_config(), true);
    let (mut a, a_id) = join(&server, &events);
    let (mut b, b_id) = join(&server, &events);
    for _ in 0..3 {
        round_trip(&mut a, "hello"); // 6 bytes with its newline
    }
    for _ in 0..2 {
        round_trip(&mut b, "0123456789"); // 11 bytes
    }
    settle(&server, &events);
    let stats = server.stats();
    let mut want = echoed(3, 6);
    want += echoed(2, 11);
    assert_eq!(
        stats.traffic, want,
        "server totals: 3 x 6 B and 2 x 11 B, each way"
    );
    let share = |id: ClientId| {
        let c = stats.clients.iter().find(|c| c.client.id == id).unwrap();
        (c.bytes_in, c.messages_in, c.bytes_out, c.messages_out)
    };
    assert_eq!(share(a_id), (18, 3, 18, 3), "client a's own counters");
    assert_eq!(share(b_id), (22, 2, 22, 2), "client b's own counters");
}

/// A client that leaves takes nothing of the totals with it: before it goes, while its
/// connection is let go, and after (its counters are folded in exactly once, and no longer
/// summed as a live client's).
#[test]
fn a_departed_clients_traffic_stays_in_the_totals_exactly_once() {
    let (server, events) = start(line_config(), true);
    let (mut a, a_id) = join(&server, &events);
    round_trip(&mut a, "bye"); // 4 bytes
    drop(a);
    assert_eq!(gone(&events, a_id), DisconnectReason::PeerClosed);
    assert_eq!(
        server.stats().traffic,
        echoed(1, 4),
        "right after the disconnect"
    );
    // A round trip through a new client: the DRS has finished with the old one (and let its
    // connection go) before it serves this one.
    let (mut b, _) = join(&server, &events);
    round_trip(&mut b, "hi"); // 3 bytes
    settle(&server, &events);
    let stats = server.stats();
    let mut want = echoed(1, 4);
    want += echoed(1, 3);
    assert_eq!(stats.traffic, want, "departed a + live b");
    assert_eq!(stats.clients.len(), 1);
}

/// After `stop()` every connection is let go: the totals are what every client exchanged,
/// counted once; nobody is connected and no connection is held, every client is counted as
/// gone (server shutdown), and the server reports no uptime.
#[test]
fn stats_after_stop_keep_every_count() {
    let (server, events) = start(line_config(), true);
    let (mut a, _) = join(&server, &events);
    let (mut b, _) = join(&server, &events);
    round_trip(&mut a, "one"); // 4 bytes
    round_trip(&mut b, "three"); // 6 bytes
    server.stop();
    let stats = server.stats();
    let mut want = echoed(1, 4);
    want += echoed(1, 6);
    assert_eq!(stats.traffic, want, "totals after stop");
    assert!(stats.clients.is_empty());
    assert_eq!(stats.connections_held, 0, "every connection was let go");
    assert_eq!(stats.clients_ever, 2);
    assert_eq!(stats.disconnects.get(DisconnectKind::ServerShutdown), 2);
    assert_eq!(stats.disconnects.total(), 2);
    assert_eq!(stats.uptime, None, "a stopped server has no uptime");
}

/// Output still queued when the application disconnects a client is written during the
/// lingering close, after the client left the DB: it is counted all the same, byte for byte.
#[test]
fn output_flushed_by_a_lingering_close_is_counted() {
    let (server, events) = start(Config::default(), false);
    let (mut c, id) = join(&server, &events);
    let big = vec![b'x'; 512 * 1024];
    server.send(id, &big).unwrap();
    assert!(server.disconnect(id));
    assert_eq!(gone(&events, id), DisconnectReason::Application);
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(
        got.len(),
        big.len(),
        "the client got everything it was owed"
    );
    let stats = server.stats();
    assert_eq!(stats.traffic.bytes_out, big.len() as u64);
    assert_eq!(stats.traffic.messages_out, 1);
    drop(c);
    // And still after the connection is let go (stop waits for every lingering close).
    server.stop();
    let stats = server.stats();
    assert_eq!(stats.traffic.bytes_out, big.len() as u64);
    assert_eq!(stats.connections_held, 0);
}

/// A handler that panics on "boom", else records and echoes like the demo application.
struct Fragile(Recorder);

impl Handler for Fragile {
    fn connected(&self, server: &ServerHandle, client: &Client) {
        self.0.connected(server, client);
    }
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        if message == b"boom" {
            panic!("the application choked on boom");
        }
        self.0.message(server, client, message);
    }
    fn disconnected(&self, server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        self.0.disconnected(server, client, reason);
    }
}

/// One client goes for each kind of reason, and each kind is counted once: peer closed,
/// application, protocol error, I/O error (a reset), handler panicked, server shutdown.
#[test]
fn disconnects_are_counted_by_reason() {
    let (recorder, events) = Recorder::new(Print::default(), true);
    let config = Config {
        framing: "length".parse().unwrap(),
        ..Config::default()
    };
    let server =
        TcpServer::with_config("reasons", "127.0.0.1:0", config, Fragile(recorder)).unwrap();
    server.start().unwrap();
    let counted = |kind| server.stats().disconnects.get(kind);

    let (peer, id) = join(&server, &events);
    drop(peer);
    assert_eq!(gone(&events, id), DisconnectReason::PeerClosed);
    assert_eq!(counted(DisconnectKind::PeerClosed), 1, "peer closed");

    let (_app, id) = join(&server, &events);
    server.disconnect(id);
    assert_eq!(gone(&events, id), DisconnectReason::Application);
    assert_eq!(counted(DisconnectKind::Application), 1, "application");

    let (mut bad, id) = join(&server, &events);
    write(&mut bad, &[0, 1]); // a length of 1: shorter than its own 2-byte header
    assert!(matches!(gone(&events, id), DisconnectReason::Protocol(_)));
    assert_eq!(counted(DisconnectKind::Protocol), 1, "protocol error");

    let (mut boom, id) = join(&server, &events);
    write(&mut boom, &[0, 6, b'b', b'o', b'o', b'm']);
    assert!(matches!(
        gone(&events, id),
        DisconnectReason::HandlerPanicked { .. }
    ));
    assert_eq!(
        counted(DisconnectKind::HandlerPanicked),
        1,
        "handler panicked"
    );

    let (mut reset, id) = join(&server, &events);
    write(&mut reset, &[0, 3, b'a']);
    assert_eq!(events.expect_message(TIMEOUT).unwrap(), (id, b"a".to_vec()));
    // The echo of "a" is unread here: closing now sends a reset, not a FIN.
    assert_eq!(reset.peek(&mut [0u8; 1]).unwrap(), 1);
    drop(reset);
    assert!(matches!(gone(&events, id), DisconnectReason::Io { .. }));
    assert_eq!(counted(DisconnectKind::Io), 1, "I/O error");

    let (_last, id) = join(&server, &events);
    server.stop();
    assert_eq!(gone(&events, id), DisconnectReason::ServerShutdown);
    let stats = server.stats();
    for kind in DisconnectKind::ALL {
        let want = u64::from(kind != DisconnectKind::KeepAliveExpired);
        assert_eq!(stats.disconnects.get(kind), want, "clients gone for {kind}");
    }
    assert_eq!(stats.disconnects.total(), 6);
    assert_eq!(stats.clients_ever, 6);
}

/// A client silent past its hold time is counted under "keep-alive expired".
#[test]
fn an_expired_hold_is_counted_as_such() {
    let config = Config {
        keepalive: Some(KeepAliveConfig {
            interval: None,
            hold: Duration::from_millis(150),
            tick: Duration::from_millis(10),
        }),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let (_silent, id) = join(&server, &events);
    assert_eq!(gone(&events, id), DisconnectReason::KeepAliveExpired);
    let stats = server.stats();
    assert_eq!(stats.disconnects.get(DisconnectKind::KeepAliveExpired), 1);
    assert_eq!(stats.disconnects.total(), 1);
}

/// Keep-alives are counted each way and kept in the totals: the three the client sends, and
/// every one the server sent, which the client reads to the end of the stream after `stop()`.
#[test]
fn keepalives_are_counted_both_ways() {
    let config = Config {
        framing: "length".parse().unwrap(),
        keepalive: Some(KeepAliveConfig {
            interval: Some(Duration::from_millis(20)),
            hold: Duration::from_secs(5),
            tick: Duration::from_millis(10),
        }),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let (mut c, id) = join(&server, &events);
    // Three header-only frames (keep-alives), then one message: once the message is
    // delivered, the keep-alives before it have been counted.
    write(&mut c, &[0, 2, 0, 2, 0, 2, 0, 3, b'x']);
    assert_eq!(events.expect_message(TIMEOUT).unwrap(), (id, b"x".to_vec()));
    // At least one keep-alive from the server.
    assert_eq!(read_n(&mut c, 2), [0, 2]);
    let live = server.stats();
    assert_eq!(live.traffic.keepalives_in, 3, "keep-alives in, live");
    assert!(live.traffic.keepalives_out >= 1);
    server.stop();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(
        rest.chunks(2).all(|f| f == [0, 2]),
        "only keep-alives were sent"
    );
    let stats = server.stats();
    assert_eq!(stats.traffic.keepalives_in, 3, "keep-alives in, after stop");
    assert_eq!(
        stats.traffic.keepalives_out,
        1 + rest.len() as u64 / 2,
        "keep-alives out = the frames the client read"
    );
    assert_eq!(stats.traffic.messages_in, 1);
}

/// "Last heard" is when the server last read from the client: never before its first bytes
/// (not even after a quiet spell), and after them no longer ago than the moment the client
/// sent, however long it was connected before.
#[test]
fn last_heard_follows_the_clients_bytes() {
    let (server, events) = start(line_config(), true);
    let (mut c, id) = join(&server, &events);
    assert_eq!(server.client_info(id).unwrap().last_heard, None);
    // A quiet spell first, so that "connected" and "heard" are far enough apart to tell.
    assert!(events.nothing_more_within(Duration::from_millis(50)));
    assert_eq!(server.client_info(id).unwrap().last_heard, None);
    let sent = std::time::Instant::now();
    round_trip(&mut c, "ping");
    let stats = server.stats();
    assert_eq!(stats.traffic.bytes_in, 5);
    let heard = stats.clients[0].last_heard.expect("heard");
    // The server read after `sent`; the figure is kept in whole milliseconds.
    let bound = sent.elapsed() + Duration::from_millis(1);
    assert!(
        heard <= bound,
        "heard {heard:?} ago, but the client sent only {bound:?} ago"
    );
}

/// At a cap of two clients, a third connection is accepted by the kernel, rejected by the
/// server, and counted as such; clients ever counts those that got in, across a departure.
#[test]
fn clients_ever_and_rejections_at_the_cap() {
    let config = Config {
        max_clients: 2,
        ..line_config()
    };
    let (server, events) = start(config, true);
    let (_a, _) = join(&server, &events);
    let (b, b_id) = join(&server, &events);
    let third = connect(addr(&server));
    match events.next(TIMEOUT) {
        Some(Event::Rejected(peer)) => assert_eq!(peer, third.local_addr().unwrap()),
        other => panic!("expected the third connection to be rejected, got {other:?}"),
    }
    let stats = server.stats();
    assert_eq!(
        (stats.accepted, stats.clients_ever, stats.rejected),
        (3, 2, 1),
        "accepted = clients + rejected"
    );
    assert_eq!((stats.clients.len(), stats.max_clients), (2, 2));
    drop(b);
    assert_eq!(gone(&events, b_id), DisconnectReason::PeerClosed);
    let (_d, _) = join(&server, &events);
    let stats = server.stats();
    assert_eq!(
        (stats.accepted, stats.clients_ever, stats.rejected),
        (4, 3, 1)
    );
    assert_eq!(
        stats.clients.len() as u64 + stats.disconnects.total(),
        stats.clients_ever,
        "every client ever is either connected or counted gone"
    );
    assert_eq!((stats.blacklisted, stats.failed), (0, 0));
}

/// A connection from a black-listed address is accepted by the kernel and closed at once:
/// counted as accepted and black-listed, never as a client.
#[test]
fn black_listed_connections_are_counted_apart() {
    let (server, events) = start(line_config(), false);
    server.block("127.0.0.1".parse().unwrap());
    let refused = connect(addr(&server));
    match events.next(TIMEOUT) {
        Some(Event::Rejected(peer)) => assert_eq!(peer, refused.local_addr().unwrap()),
        other => panic!("expected the black-listed connection to be rejected, got {other:?}"),
    }
    let stats = server.stats();
    assert_eq!(
        (
            stats.accepted,
            stats.blacklisted,
            stats.clients_ever,
            stats.rejected
        ),
        (1, 1, 0, 0),
        "accepted = black-listed here"
    );
}

/// Uptime is absent before the first start and after a stop, and never goes backwards while
/// the server runs; the counters outlive a restart.
#[test]
fn uptime_runs_while_started_and_counters_outlive_a_restart() {
    let (recorder, events) = Recorder::silent();
    let server = TcpServer::with_config("up", "127.0.0.1:0", line_config(), recorder).unwrap();
    assert_eq!(server.stats().uptime, None, "before the first start");
    server.start().unwrap();
    let first = server.stats().uptime.expect("running: an uptime");
    let (c, _) = join(&server, &events);
    let second = server.stats().uptime.expect("running: an uptime");
    assert!(
        second >= first,
        "uptime went back from {first:?} to {second:?}"
    );
    drop(c);
    server.stop();
    assert_eq!(server.stats().uptime, None, "after stop");
    server.start().unwrap();
    let stats = server.stats();
    assert!(stats.uptime.is_some());
    assert_eq!(stats.clients_ever, 1, "counters are kept across a restart");
}

/// A client is "never heard" until its first bytes, then heard; it is served by the DRS
/// ("multiplexed"), and `show` and the counters' display say so.
#[test]
fn last_heard_mode_and_display() {
    let (server, events) = start(line_config(), true);
    let (mut c, id) = join(&server, &events);
    let info = server.client_info(id).unwrap();
    assert_eq!(info.last_heard, None, "nothing received yet");
    assert_eq!(info.mode(), "multiplexed");
    round_trip(&mut c, "ping");
    settle(&server, &events);
    assert!(server.client_info(id).unwrap().last_heard.is_some());
    let shown = server.show();
    assert!(shown.contains("multiplexed"), "{shown}");
    assert!(
        shown.contains("I R Acc L"),
        "the course's flag letters: {shown}"
    );
    let text = server.stats().to_string();
    for words in [
        "1 connected now, 2 ever; ",
        "2 (2 became clients, 0 rejected",
        "in:           5 B, 1 messages",
        "out:          5 B, 1 messages",
        "1 = 1 peer closed, 0 application",
        "not counted",
        "heard 0.",
    ] {
        assert!(
            text.contains(words),
            "the counters never say {words:?}:\n{text}"
        );
    }
}
