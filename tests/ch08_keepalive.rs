//! Chapter 8 — keep-alive: a silent client is dropped after its hold time and not before; a
//! chatty one stays; the server sends its own keep-alives.

mod common;
use common::*;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::demarcation::Framing;
use tcpserverlib::{
    Client, ClientId, Config, DisconnectReason, Handler, KeepAliveConfig, ServerHandle, TcpServer,
};

/// Long enough that connecting the 200 clients of the first test, on a loaded machine, takes
/// well under one hold time (the talkers only start once all are connected).
const HOLD: Duration = Duration::from_millis(1000);

/// Records when each client was connected and disconnected, as the server saw it.
struct Clock {
    tx: Mutex<Sender<(ClientId, Option<DisconnectReason>, Instant)>>,
}

impl Handler for Clock {
    fn connected(&self, _: &ServerHandle, client: &Client) {
        let _ = self
            .tx
            .lock()
            .unwrap()
            .send((client.id, None, Instant::now()));
    }
    fn disconnected(&self, _: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        let _ = self
            .tx
            .lock()
            .unwrap()
            .send((client.id, Some(reason.clone()), Instant::now()));
    }
}

fn keepalive_config(interval: Option<Duration>) -> Config {
    Config {
        framing: "length".parse::<Framing>().unwrap(),
        keepalive: Some(KeepAliveConfig {
            interval,
            hold: HOLD,
            tick: Duration::from_millis(5),
        }),
        ..Config::default()
    }
}

const KEEPALIVE_FRAME: [u8; 2] = [0, 2];

/// Hundreds of clients stop their keep-alives at random moments: each is dropped once, with
/// reason "keep-alive expired", no earlier than its hold time after its last keep-alive and
/// within a generous margin after it; clients that keep talking are never dropped.
#[test]
fn silent_clients_are_dropped_after_their_hold_time() {
    let (tx, rx) = mpsc::channel();
    let clock = Clock { tx: Mutex::new(tx) };
    let server =
        TcpServer::with_config("ka", "127.0.0.1:0", keepalive_config(None), clock).unwrap();
    server.start().unwrap();
    let n = 200;
    let mut silent: Vec<(TcpStream, ClientId, Instant)> = Vec::new();
    let mut chatty: Vec<TcpStream> = Vec::new();
    for i in 0..n {
        let before_connect = Instant::now();
        let c = connect(addr(&server));
        let (id, reason, _) = rx.recv_timeout(TIMEOUT).unwrap();
        assert!(reason.is_none());
        if i % 4 == 0 {
            chatty.push(c);
        } else {
            silent.push((c, id, before_connect));
        }
    }
    // Every 4th client is chatty: it sends a keep-alive every 50 ms until the test ends.
    let stop = Arc::new(AtomicBool::new(false));
    let talker = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let start = Instant::now();
            let mut round = 0;
            while !stop.load(Ordering::SeqCst) {
                for c in &mut chatty {
                    c.write_all(&KEEPALIVE_FRAME).unwrap();
                }
                round += 1;
                // Pacing the load, not synchronising: the server's timers run on their own.
                thread::sleep(
                    (start + Duration::from_millis(50 * round))
                        .saturating_duration_since(Instant::now()),
                );
            }
            chatty.len()
        })
    };
    // Silent client i sends `i % 7` keep-alives 50 ms apart, then falls silent.
    let mut quiet_since: HashMap<ClientId, Instant> =
        silent.iter().map(|(_, id, t)| (*id, *t)).collect();
    let start = Instant::now();
    for round in 0..6u32 {
        thread::sleep(
            (start + Duration::from_millis(50 * u64::from(round)))
                .saturating_duration_since(Instant::now()),
        );
        for (i, (c, id, _)) in silent.iter_mut().enumerate() {
            if round < (i % 7) as u32 {
                let before = Instant::now();
                c.write_all(&KEEPALIVE_FRAME).unwrap();
                quiet_since.insert(*id, before);
            }
        }
    }
    let mut dropped: HashMap<ClientId, Instant> = HashMap::new();
    while dropped.len() < silent.len() {
        let (id, reason, at) = rx
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("only {} of {} dropped", dropped.len(), silent.len()));
        assert_eq!(
            reason,
            Some(DisconnectReason::KeepAliveExpired),
            "client {id}"
        );
        assert!(
            quiet_since.contains_key(&id),
            "chatty client {id} was dropped"
        );
        assert!(
            dropped.insert(id, at).is_none(),
            "client {id} dropped twice"
        );
    }
    for (id, at) in &dropped {
        // The lower bound is exact: the hold timer restarts on reception, after our send.
        let after = at.duration_since(quiet_since[id]);
        assert!(
            after >= HOLD,
            "client {id} dropped {after:?} after it fell silent"
        );
        assert!(
            after < HOLD + Duration::from_secs(3),
            "client {id} dropped late: {after:?}"
        );
    }
    assert!(
        rx.recv_timeout(SHORT).is_err(),
        "no chatty client is dropped"
    );
    assert_eq!(server.client_count(), n - silent.len());
    stop.store(true, Ordering::SeqCst);
    assert_eq!(talker.join().unwrap(), n - silent.len());
}

/// The server sends its own keep-alive (a header-only frame) every interval; `show` lists
/// the remaining hold time and the counters move.
#[test]
fn the_server_sends_keepalives() {
    let (recorder, events) = tcpserverlib::demo::Recorder::silent();
    let config = keepalive_config(Some(Duration::from_millis(50)));
    let server = TcpServer::with_config("ka", "127.0.0.1:0", config, recorder).unwrap();
    server.start().unwrap();
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    // Four received: the server counts a keep-alive just after writing it, so by the time
    // the fourth arrives the first three are surely counted.
    for _ in 0..4 {
        assert_eq!(read_n(&mut c, 2), KEEPALIVE_FRAME);
        c.write_all(&KEEPALIVE_FRAME).unwrap();
    }
    let info = server.client_info(id).unwrap();
    assert!(info.keepalives_out >= 3, "{info:?}");
    assert!(info.hold_remaining.is_some_and(|h| h <= HOLD), "{info:?}");
    assert!(server.show().contains("hold"), "{}", server.show());
    assert!(
        events.nothing_more_within(SHORT),
        "keep-alives are not application messages"
    );
}

/// A peer that half-closes (shuts down its write side) is treated as done: its complete
/// messages are delivered and answered, the answers reach it before our FIN, and it is
/// reported "peer closed".
#[test]
fn half_close_ends_the_conversation_after_the_replies() {
    let config = Config {
        framing: "line".parse::<Framing>().unwrap(),
        ..Config::default()
    };
    let (server, events) = start(config, true);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    c.write_all(b"first\nsecond\n").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut c), b"first\nsecond\n");
    let seen = events.collect_until(1, TIMEOUT, |e| {
        matches!(e, tcpserverlib::demo::Event::Disconnected(..))
    });
    assert_eq!(
        seen.last(),
        Some(&tcpserverlib::demo::Event::Disconnected(
            id,
            DisconnectReason::PeerClosed
        ))
    );
}

/// An empty message is a keep-alive only when keep-alive is on: without it, an empty line is
/// an ordinary (empty) message and reaches the application like any other.
#[test]
fn without_keepalive_an_empty_message_is_delivered() {
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    c.write_all(b"\nafter\n").unwrap();
    assert_eq!(events.expect_message(TIMEOUT).unwrap(), (id, Vec::new()));
    assert_eq!(
        events.expect_message(TIMEOUT).unwrap(),
        (id, b"after".to_vec())
    );
    assert_eq!(server.client_info(id).unwrap().keepalives_in, 0);
}

/// Silence proves nothing while the server is not listening: a client that sends nothing
/// through several hold times with listening disabled is not dropped for keep-alive.
#[test]
fn no_keepalive_expiry_while_not_listening() {
    let config = Config {
        keepalive: Some(KeepAliveConfig {
            interval: None,
            hold: Duration::from_millis(150),
            tick: Duration::from_millis(5),
        }),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let _silent = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    server.set_listening(false).unwrap();
    // The peer this test plays stays silent for three hold times and more.
    assert!(
        events.nothing_more_within(Duration::from_millis(500)),
        "an event while not listening"
    );
    assert!(server.client_info(id).is_some(), "still connected");
}
