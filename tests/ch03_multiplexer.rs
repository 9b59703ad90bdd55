//! Chapter 3 — one DRS thread serves every client: echo, disconnects both ways, slow readers,
//! races between peer closes, application disconnects and stop().
//! Exercise: `cargo test --features ex03 --test ch03_multiplexer`.

mod common;
use common::*;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use tcpserverlib::demo::Event;
use tcpserverlib::SendError;
use tcpserverlib::{ClientId, Config, DisconnectReason};

/// Every client gets back exactly what it sent, and nothing of the others'.
#[test]
fn echo_to_its_own_sender_only() {
    let (server, events) = start(Config::default(), true);
    let mut clients: Vec<TcpStream> = (0..3).map(|_| connect(addr(&server))).collect();
    for _ in 0..3 {
        events.expect_connected(TIMEOUT).unwrap();
    }
    for round in 0..5 {
        for (i, c) in clients.iter_mut().enumerate() {
            write(c, format!("client {i} round {round}\n").as_bytes());
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let expected = format!("client {i} round {round}\n");
            assert_eq!(read_n(c, expected.len()), expected.as_bytes());
        }
    }
}

/// A peer that closes is reported once as "peer closed"; the others keep being served.
#[test]
fn peer_close_is_reported_once() {
    let (server, events) = start(Config::default(), true);
    let first = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let mut second = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    drop(first);
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::PeerClosed)
    );
    write(&mut second, b"still here");
    assert_eq!(read_n(&mut second, 10), b"still here");
    assert_eq!(server.client_count(), 1);
    assert!(events
        .collect_until(1, SHORT, |e| matches!(e, Event::Disconnected(..)))
        .iter()
        .all(|e| !matches!(e, Event::Disconnected(..))));
}

/// The application disconnects a client by id or by address: reason "application", the
/// client sees end of stream, and a second disconnect of the same client is refused.
#[test]
fn application_disconnect() {
    let (server, events) = start_default();
    let mut a = connect(addr(&server));
    let ida = events.expect_connected(TIMEOUT).unwrap().id;
    let mut b = connect(addr(&server));
    let idb = events.expect_connected(TIMEOUT).unwrap().id;
    assert!(server.disconnect(ida));
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (ida, DisconnectReason::Application)
    );
    assert!(read_to_eof(&mut a).is_empty());
    assert!(!server.disconnect(ida), "already gone");
    assert!(server.disconnect_peer(b.local_addr().unwrap()));
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (idb, DisconnectReason::Application)
    );
    assert!(read_to_eof(&mut b).is_empty());
    assert_eq!(server.client_count(), 0);
}

/// A message queued just before a disconnect still reaches the client before the close.
#[test]
fn goodbye_then_disconnect() {
    let (server, events) = start_default();
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    server.send(id, b"goodbye\n").unwrap();
    server.disconnect(id);
    assert_eq!(read_to_eof(&mut c), b"goodbye\n");
}

/// A client that never reads fills its output queue up to the bound and no further; sends
/// beyond it fail with QueueFull while other clients keep exchanging messages.
#[test]
fn a_stalled_reader_does_not_stall_the_others() {
    let config = Config {
        max_output: 64 * 1024,
        ..Default::default()
    };
    let (server, events) = start(config, true);
    let stalled = connect(addr(&server));
    let stalled_id = events.expect_connected(TIMEOUT).unwrap().id;
    let mut healthy = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();

    // Fill the kernel's buffers and then our queue for the stalled client.
    let chunk = vec![b'x'; 16 * 1024];
    let mut full = None;
    for _ in 0..10_000 {
        match server.send(stalled_id, &chunk) {
            Ok(()) => {}
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    match full {
        Some(SendError::QueueFull { limit, .. }) => assert_eq!(limit, 64 * 1024),
        other => panic!("expected QueueFull, got {other:?}"),
    }
    let info = server.client_info(stalled_id).unwrap();
    assert!(info.queued_output <= 64 * 1024, "{info:?}");

    for i in 0..200 {
        let line = format!("message {i}\n");
        write(&mut healthy, line.as_bytes());
        assert_eq!(read_n(&mut healthy, line.len()), line.as_bytes());
    }
    assert!(server.client_info(stalled_id).unwrap().queued_output <= 64 * 1024);
    drop(stalled);
}

/// Replies sent from inside the message callback arrive (no deadlock on re-entry).
#[test]
fn reply_from_the_callback() {
    let (server, events) = start(Config::default(), true);
    let mut c = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    let big = vec![7u8; 1_000_000];
    let reader = {
        let mut c = c.try_clone().unwrap();
        thread::spawn(move || {
            let mut got = vec![0u8; 1_000_000];
            c.read_exact(&mut got).map(|_| got)
        })
    };
    c.write_all(&big).unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), big);
    drop(server);
}

/// Peer closes, application disconnects and stop() race over hundreds of clients: every
/// client reported connected is reported disconnected exactly once.
#[test]
fn disconnect_races_report_each_client_once() {
    let (server, events) = start_default();
    let server = Arc::new(server);
    let n = 300;
    let clients: Vec<TcpStream> = (0..n).map(|_| connect(addr(&server))).collect();
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(events.expect_connected(TIMEOUT).unwrap().id);
    }
    // Even clients close themselves; odd ones stay open until the server has stopped, so
    // they race only the application's disconnects and stop().
    let closer = thread::spawn(move || {
        let mut keep = Vec::new();
        for (i, c) in clients.into_iter().enumerate() {
            if i % 2 == 0 {
                drop(c);
            } else {
                keep.push(c);
            }
        }
        keep
    });
    let app = {
        let server = Arc::clone(&server);
        let ids = ids.clone();
        thread::spawn(move || {
            for id in ids.iter().rev() {
                server.disconnect(*id);
            }
        })
    };
    server.stop();
    let still_open = closer.join().unwrap();
    app.join().unwrap();
    let mut seen: HashMap<ClientId, DisconnectReason> = HashMap::new();
    for e in events.collect_until(n, TIMEOUT, |e| matches!(e, Event::Disconnected(..))) {
        if let Event::Disconnected(id, reason) = e {
            assert!(
                seen.insert(id, reason).is_none(),
                "client {id} reported twice"
            );
        }
    }
    assert_eq!(seen.len(), n, "every client reported");
    assert!(events.nothing_more_within(SHORT));
    assert_eq!(server.client_count(), 0);
    drop(still_open);
}

/// stop() with 500 connected clients returns within a second, every client told.
#[test]
fn stop_with_500_clients() {
    let (server, events) = start_default();
    let clients: Vec<TcpStream> = (0..500).map(|_| connect(addr(&server))).collect();
    for _ in 0..500 {
        events.expect_connected(TIMEOUT).unwrap();
    }
    let t = Instant::now();
    server.stop();
    let took = t.elapsed();
    println!("stop() with 500 clients took {took:?}");
    assert!(
        took < std::time::Duration::from_secs(1),
        "stop took {took:?}"
    );
    let gone = events.collect_until(500, TIMEOUT, |e| {
        matches!(e, Event::Disconnected(_, DisconnectReason::ServerShutdown))
    });
    assert_eq!(gone.len(), 500);
    drop(clients);
}

/// Dropping a running server stops it: every client is told "server shutdown" and sees the
/// connection close.
#[test]
fn dropping_the_server_stops_it() {
    let (server, events) = start_default();
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    drop(server);
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::ServerShutdown)
    );
    assert!(read_to_eof(&mut c).is_empty());
}

/// The application may stop the server from inside its own message callback (on the DRS
/// thread): no deadlock, no panic, every client told.
#[test]
fn stop_from_inside_a_callback() {
    use std::sync::OnceLock;
    use tcpserverlib::{Client, Handler, ServerHandle, TcpServer};

    struct StopOnMessage {
        server: Arc<OnceLock<Arc<TcpServer>>>,
        done: std::sync::Mutex<std::sync::mpsc::Sender<DisconnectReason>>,
    }
    impl Handler for StopOnMessage {
        fn message(&self, _: &ServerHandle, _: &Client, _: &[u8]) {
            if let Some(server) = self.server.get() {
                server.stop();
            }
        }
        fn disconnected(&self, _: &ServerHandle, _: &Client, reason: &DisconnectReason) {
            let _ = self.done.lock().unwrap().send(reason.clone());
        }
    }
    let cell = Arc::new(OnceLock::new());
    let (tx, rx) = std::sync::mpsc::channel();
    let handler = StopOnMessage {
        server: Arc::clone(&cell),
        done: std::sync::Mutex::new(tx),
    };
    let server = Arc::new(TcpServer::new("self-stop", "127.0.0.1:0", handler).unwrap());
    server.start().unwrap();
    let _ = cell.set(Arc::clone(&server));
    let mut c = connect(addr(&server));
    write(&mut c, b"stop please");
    assert_eq!(
        rx.recv_timeout(TIMEOUT).unwrap(),
        DisconnectReason::ServerShutdown
    );
    assert!(read_to_eof(&mut c).is_empty());
    assert_eq!(server.client_count(), 0);
}

/// A client disconnected while it is being announced (here, by the `connected` callback
/// itself) is reported disconnected after its `connected`, and exactly once.
#[test]
fn disconnect_during_connected_keeps_the_order() {
    use std::sync::Mutex;
    use tcpserverlib::{Client, Handler, ServerHandle, TcpServer};

    struct RejectInConnected(Mutex<std::sync::mpsc::Sender<String>>);
    impl Handler for RejectInConnected {
        fn connected(&self, server: &ServerHandle, client: &Client) {
            assert!(server.disconnect(client.id));
            let _ = self
                .0
                .lock()
                .unwrap()
                .send(format!("connected {}", client.id));
        }
        fn disconnected(&self, _: &ServerHandle, client: &Client, reason: &DisconnectReason) {
            let _ = self
                .0
                .lock()
                .unwrap()
                .send(format!("disconnected {} {reason}", client.id));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let server = TcpServer::new("t", "127.0.0.1:0", RejectInConnected(Mutex::new(tx))).unwrap();
    server.start().unwrap();
    let mut c = connect(addr(&server));
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), "connected #1");
    assert_eq!(
        rx.recv_timeout(TIMEOUT).unwrap(),
        "disconnected #1 application"
    );
    assert!(read_to_eof(&mut c).is_empty());
    server.stop();
    assert!(rx.recv_timeout(SHORT).is_err(), "reported once");
}

/// Once the application disconnects a client from inside `message`, nothing more of it is
/// delivered, not even the messages that arrived in the same segment.
#[test]
fn nothing_is_delivered_after_a_disconnect_from_message() {
    use std::sync::Mutex;
    use tcpserverlib::demarcation::Framing;
    use tcpserverlib::{Client, Handler, ServerHandle, TcpServer};

    struct QuitOnQuit(Mutex<std::sync::mpsc::Sender<String>>);
    impl Handler for QuitOnQuit {
        fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
            let _ = self
                .0
                .lock()
                .unwrap()
                .send(format!("message {}", String::from_utf8_lossy(message)));
            if message == b"quit" {
                assert!(server.disconnect(client.id));
            }
        }
        fn disconnected(&self, _: &ServerHandle, _: &Client, reason: &DisconnectReason) {
            let _ = self
                .0
                .lock()
                .unwrap()
                .send(format!("disconnected {reason}"));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    let server =
        TcpServer::with_config("t", "127.0.0.1:0", config, QuitOnQuit(Mutex::new(tx))).unwrap();
    server.start().unwrap();
    let mut c = connect(addr(&server));
    write(&mut c, b"quit\nafter\nand more\n"); // one segment: read in one turn
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), "message quit");
    assert_eq!(
        rx.recv_timeout(TIMEOUT).unwrap(),
        "disconnected application"
    );
    // The socket is closed only after the turn that read the segment has ended.
    assert!(read_to_eof(&mut c).is_empty());
    let after: Vec<String> = rx.try_iter().collect();
    assert!(
        after.is_empty(),
        "delivered after the disconnect: {after:?}"
    );
}
