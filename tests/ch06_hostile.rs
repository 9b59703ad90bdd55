//! Chapter 6 — hostile input over real sockets: each offending client is disconnected with
//! its own reason after every complete message it sent before was delivered, while a
//! well-behaved client on the same server keeps exchanging messages throughout.

mod common;
use common::*;

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use tcpserverlib::demarcation::{ByteOrder, Framing, ProtocolError};
use tcpserverlib::demo::{Event, Events};
use tcpserverlib::{ClientId, Config, DisconnectReason, TcpServer};

const MAX: usize = 1024;

fn length_server() -> (TcpServer, Events) {
    let config = Config {
        framing: Framing::LengthPrefixed {
            order: ByteOrder::Big,
            max_len: MAX,
        },
        ..Config::default()
    };
    start(config, true)
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = ((payload.len() + 2) as u16).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// A well-behaved client that echoes frames until told to stop; returns how many it did.
fn keep_talking(server: &TcpServer, stop: Arc<AtomicBool>) -> thread::JoinHandle<usize> {
    let mut c = connect(addr(server));
    thread::spawn(move || {
        let mut done = 0;
        while !stop.load(Ordering::SeqCst) {
            let f = frame(format!("ping {done}").as_bytes());
            c.write_all(&f).unwrap();
            assert_eq!(read_n(&mut c, f.len()), f, "the good client's echo");
            done += 1;
        }
        done
    })
}

/// Collects the events of one client until its disconnect: (its messages, its reason).
fn outcome_of(events: &Events, id: ClientId) -> (Vec<Vec<u8>>, DisconnectReason) {
    let mut messages = Vec::new();
    loop {
        match events.next(TIMEOUT) {
            Some(Event::Message(from, m)) if from == id => messages.push(m),
            Some(Event::Disconnected(from, reason)) if from == id => return (messages, reason),
            Some(_) => {}
            None => panic!("client {id} was never disconnected"),
        }
    }
}

fn next_connected(events: &Events) -> ClientId {
    loop {
        match events.next(TIMEOUT) {
            Some(Event::Connected(c)) => return c.id,
            Some(_) => {}
            None => panic!("no client connected"),
        }
    }
}

/// Every hostile input ends its own client with its own reason; nothing else is harmed.
#[test]
fn hostile_clients_are_cut_off_one_by_one() {
    let (server, events) = length_server();
    let stop = Arc::new(AtomicBool::new(false));
    let good = keep_talking(&server, Arc::clone(&stop));
    next_connected(&events);

    // 1. A header announcing more than the maximum.
    let mut c = connect(addr(&server));
    let id = next_connected(&events);
    let mut bytes = frame(b"one");
    bytes.extend(frame(b"two"));
    bytes.extend(65535u16.to_be_bytes());
    bytes.extend([0u8; 100]);
    c.write_all(&bytes).unwrap();
    let (messages, reason) = outcome_of(&events, id);
    assert_eq!(messages, vec![b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::FrameTooLarge {
            len: 65535,
            max: MAX
        })
    );
    assert!(reason.to_string().contains("65535"), "{reason}");

    // 2. A header announcing less than the header itself.
    let mut c = connect(addr(&server));
    let id = next_connected(&events);
    let mut bytes = frame(b"before");
    bytes.extend(1u16.to_be_bytes());
    c.write_all(&bytes).unwrap();
    let (messages, reason) = outcome_of(&events, id);
    assert_eq!(messages, vec![b"before".to_vec()]);
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::FrameTooSmall { len: 1 })
    );

    // 3. The stream ends in the middle of a frame.
    let mut c = connect(addr(&server));
    let id = next_connected(&events);
    let mut bytes = frame(b"whole");
    bytes.extend(&frame(b"cut short")[..5]);
    c.write_all(&bytes).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let (messages, reason) = outcome_of(&events, id);
    assert_eq!(messages, vec![b"whole".to_vec()]);
    assert!(
        matches!(
            reason,
            DisconnectReason::Protocol(ProtocolError::TruncatedAtEof { .. })
        ),
        "{reason:?}"
    );

    // 4. A reset in the middle of a frame: closing a socket with unread input sends RST.
    let mut c = connect(addr(&server));
    let id = next_connected(&events);
    let mut bytes = frame(b"echoed but never read");
    bytes.extend(&frame(b"half")[..3]);
    c.write_all(&bytes).unwrap();
    let (first, _) = loop {
        match events.next(TIMEOUT) {
            Some(Event::Message(from, m)) if from == id => break (m, ()),
            Some(_) => {}
            None => panic!("no message"),
        }
    };
    assert_eq!(first, b"echoed but never read");
    // Wait until the echo is back in our receive buffer, unread, then close: the kernel
    // answers with RST instead of FIN.
    let mut probe = [0u8; 1];
    c.peek(&mut probe).unwrap();
    drop(c);
    let (messages, reason) = outcome_of(&events, id);
    assert!(
        messages.is_empty(),
        "nothing after the half frame: {messages:?}"
    );
    assert!(
        matches!(
            reason,
            DisconnectReason::Io { .. }
                | DisconnectReason::Protocol(ProtocolError::TruncatedAtEof { .. })
        ),
        "a reset mid-frame is an I/O error (or a truncation if the FIN won): {reason:?}"
    );

    assert_eq!(server.client_count(), 1, "only the good client is left");
    stop.store(true, Ordering::SeqCst);
    let exchanges = good.join().unwrap();
    assert!(
        exchanges > 0,
        "the good client exchanged messages throughout"
    );
}

/// A flood of bytes with no delimiter ends that client as "message too long", after its
/// earlier lines were delivered; another client's lines keep flowing.
#[test]
fn a_flood_without_delimiter() {
    let config = Config {
        framing: Framing::Delimited {
            delimiter: b"\n".to_vec(),
            max_len: MAX,
        },
        ..Config::default()
    };
    let (server, events) = start(config, true);
    let mut good = connect(addr(&server));
    next_connected(&events);
    let mut flood = connect(addr(&server));
    let id = next_connected(&events);
    flood.write_all(b"hello\r\nworld\n").unwrap();
    let junk = vec![b'x'; 64 * 1024];
    // The server cuts us off part-way: later writes may fail, which is the point.
    for _ in 0..16 {
        if flood.write_all(&junk).is_err() {
            break;
        }
    }
    let (messages, reason) = outcome_of(&events, id);
    assert_eq!(messages, vec![b"hello".to_vec(), b"world".to_vec()]);
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::MessageTooLong { max: MAX })
    );
    good.write_all(b"still fine\n").unwrap();
    assert_eq!(read_n(&mut good, 11), b"still fine\n");
}

/// The course's packed struct — a 2-byte little-endian total length (10) and two 32-bit
/// integers — sent twice in one write to a `length-le` server arrives as exactly two
/// messages, each the struct's 8-byte body with both values intact.
#[test]
fn the_courses_packed_struct() {
    let config = Config {
        framing: "length-le".parse().unwrap(),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = next_connected(&events);
    let mut both = Vec::new();
    for (a, b) in [(7i32, -42i32), (123_456, 1)] {
        both.extend(10u16.to_le_bytes());
        both.extend(a.to_le_bytes());
        both.extend(b.to_le_bytes());
    }
    assert_eq!(both.len(), 20);
    c.write_all(&both).unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let (from, m) = events.expect_message(TIMEOUT).unwrap();
        assert_eq!(from, id);
        assert_eq!(m.len(), 8, "a 10-byte frame carries an 8-byte body");
        let a = i32::from_le_bytes(m[0..4].try_into().unwrap());
        let b = i32::from_le_bytes(m[4..8].try_into().unwrap());
        got.push((a, b));
    }
    assert_eq!(got, vec![(7, -42), (123_456, 1)]);
    assert!(events.nothing_more_within(SHORT));
}
