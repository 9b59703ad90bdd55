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
