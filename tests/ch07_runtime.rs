//! Chapter 7 — runtime control through the state flags: stop and resume accepting, stop and
//! resume listening to clients, with nothing lost.

mod common;
use common::*;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;

use tcpserverlib::demarcation::Framing;
use tcpserverlib::demo::Event;
use tcpserverlib::state::ServerFlags;
use tcpserverlib::Config;

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = ((payload.len() + 2) as u16).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// With listening disabled a client sends 100 messages; none is delivered until listening
/// resumes, then all 100 arrive, in order. The client stays connected throughout.
#[test]
fn nothing_is_lost_while_not_listening() {
    let config = Config {
        framing: "length".parse::<Framing>().unwrap(),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    server.set_listening(false).unwrap();
    assert!(server.flags().contains(ServerFlags::NOT_LISTENING));
    assert!(server.show().contains("NOT_LISTENING"));
    for i in 0..100 {
        c.write_all(&frame(format!("message {i}").as_bytes()))
            .unwrap();
    }
    assert!(
        events.nothing_more_within(SHORT),
        "no delivery while not listening"
    );
    assert_eq!(server.client_count(), 1);
    server.set_listening(true).unwrap();
    for i in 0..100 {
        let (from, m) = events.expect_message(TIMEOUT).unwrap();
        assert_eq!(from, id);
        assert_eq!(m, format!("message {i}").as_bytes());
    }
    assert!(!server.flags().contains(ServerFlags::NOT_LISTENING));
}

/// With accepting disabled a new connection is refused and connected clients are served;
/// re-enabled, a new connection succeeds.
#[test]
fn accepting_off_and_on() {
    let (server, events) = start(Config::default(), true);
    let addr = addr(&server);
    let mut old = connect(addr);
    events.expect_connected(TIMEOUT).unwrap();
    server.set_accepting(false).unwrap();
    assert!(server.flags().contains(ServerFlags::NOT_ACCEPTING));
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    old.write_all(b"still served").unwrap();
    assert_eq!(read_n(&mut old, 12), b"still served");
    server.set_accepting(true).unwrap();
    let _new = connect(addr);
    let seen = events.collect_until(1, TIMEOUT, |e| matches!(e, Event::Connected(_)));
    assert!(
        matches!(seen.last(), Some(Event::Connected(_))),
        "the new client is accepted: {seen:?}"
    );
}

/// Illegal transitions are refused with a clear error, and setting a flag twice is harmless.
#[test]
fn illegal_transitions() {
    let server = tcpserverlib::TcpServer::new("idle", "127.0.0.1:0", ()).unwrap();
    let err = server.set_accepting(false).unwrap_err().to_string();
    assert!(err.contains("\"idle\""), "{err}");
    server.start().unwrap();
    server.set_listening(false).unwrap();
    server.set_listening(false).unwrap();
    server.set_listening(true).unwrap();
    server.stop();
    assert!(server.set_listening(false).is_err());
}

/// Messages left over from a turn (the turn's message bound) wait while listening is
/// disabled, even when the client's socket wakes the DRS to write what it is owed; they are
/// delivered, in order, once listening resumes.
#[test]
fn leftover_messages_wait_while_not_listening() {
    use std::io::Read;
    use std::sync::{mpsc, Mutex};
    use std::time::Duration;
    use tcpserverlib::{Client, Handler, ServerHandle, TcpServer};

    /// Records messages; holds the DRS inside "pause" until the test says go.
    struct Gate {
        messages: Mutex<mpsc::Sender<Vec<u8>>>,
        go: Mutex<mpsc::Receiver<()>>,
    }
    impl Handler for Gate {
        fn message(&self, _: &ServerHandle, _: &Client, message: &[u8]) {
            let _ = self.messages.lock().unwrap().send(message.to_vec());
            if message == b"pause" {
                let _ = self.go.lock().unwrap().recv_timeout(TIMEOUT);
            }
        }
    }
    let (messages_tx, messages) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let config = Config {
        framing: Framing::line(),
        turn_messages: 1,
        max_output: 64 * 1024 * 1024,
        ..Config::default()
    };
    let gate = Gate {
        messages: Mutex::new(messages_tx),
        go: Mutex::new(go_rx),
    };
    let server = TcpServer::with_config("gate", "127.0.0.1:0", config, gate).unwrap();
    server.start().unwrap();
    let mut other = connect(addr(&server));
    let mut c = connect(addr(&server));
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + TIMEOUT;
        while server.client_count() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1)); // a polling interval
        }
        assert_eq!(server.client_count(), n);
    };
    wait_for(2);
    let id = server.find_client(c.local_addr().unwrap()).unwrap().id;
    let other_id = server.find_client(other.local_addr().unwrap()).unwrap().id;
    c.write_all(b"pause\nsecond\nthird\n").unwrap(); // one segment, one read
    assert_eq!(messages.recv_timeout(TIMEOUT).unwrap(), b"pause");
    server.set_listening(false).unwrap();
    go.send(()).unwrap(); // the turn ends on its message bound: two messages left over
                          // Make the DRS owe the client output it cannot write at once, then let it write.
    let chunk = vec![b'o'; 8 * 1024];
    let mut sent = 0;
    while server.client_info(id).unwrap().queued_output == 0 {
        server.send(id, &chunk).unwrap();
        sent += chunk.len() + 1; // and its delimiter
        assert!(sent < 64 * 1024 * 1024, "nothing ever queued");
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0;
    while received < sent {
        let n = c.read(&mut buf).expect("output within the timeout");
        assert!(n > 0);
        received += n;
    }
    // A later pass of the DRS (it closes the other client) proves the writes' passes are over.
    assert!(server.disconnect(other_id));
    assert_eq!(read_to_eof(&mut other), b"");
    let early: Vec<Vec<u8>> = messages.try_iter().collect();
    assert!(early.is_empty(), "delivered while not listening: {early:?}");
    server.set_listening(true).unwrap();
    assert_eq!(messages.recv_timeout(TIMEOUT).unwrap(), b"second");
    assert_eq!(messages.recv_timeout(TIMEOUT).unwrap(), b"third");
}

/// A client's flags follow the server's state: LISTENED while the server listens, not while
/// listening is disabled.
#[test]
fn client_flags_follow_listening() {
    use tcpserverlib::ClientFlags;
    let (server, events) = start(Config::default(), false);
    let _c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let flags = || server.client_info(id).unwrap().flags;
    assert!(flags().contains(ClientFlags::LISTENED), "{}", flags());
    assert!(!flags().contains(ClientFlags::CLOSING), "{}", flags());
    server.set_listening(false).unwrap();
    assert!(!flags().contains(ClientFlags::LISTENED), "{}", flags());
    server.set_listening(true).unwrap();
    assert!(flags().contains(ClientFlags::LISTENED), "{}", flags());
}
