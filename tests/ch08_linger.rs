//! Chapter 8 — closes that tell the truth and keep what was owed: every close the server
//! initiates flushes what was queued, half-closes, drains the peer's input until its FIN or
//! a deadline, and only then closes, so the peer reads every byte and then end of stream,
//! never a reset; an error met while writing is the reason reported.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;

use tcpserverlib::demarcation::Framing;
use tcpserverlib::{Config, DisconnectReason, ProtocolError};

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = ((payload.len() + 2) as u16).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// Reads until end of stream, failing the test on a reset (which would destroy data).
fn read_all_then_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .unwrap_or_else(|e| panic!("after {} bytes: {e} (expected end of stream)", all.len()));
    all
}

/// 64 KiB of good frames, then a bad header and junk: the client gets the echo of every
/// good frame, then end of stream (not a reset), and the reason is the protocol error.
#[test]
fn a_bad_header_after_good_frames_gets_every_echo_then_eof() {
    let config = Config {
        framing: Framing::length(),
        ..Config::default()
    };
    let (server, events) = start(config, true);
    let mut c = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    let mut good = Vec::new();
    for i in 0..(64 * 1024 / 66) {
        good.extend(frame(&[i as u8; 64]));
    }
    let mut all = good.clone();
    all.extend([0, 1]); // announces 1 byte: less than the header itself
    all.extend(vec![0xAB; 64 * 1024]);
    let mut writer = c.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let _ = writer.write_all(&all);
    });
    let echoed = read_all_then_eof(&mut c);
    assert_eq!(echoed.len(), good.len(), "every good frame comes back");
    assert!(echoed == good);
    sender.join().unwrap();
    let reason = loop {
        match events.next(TIMEOUT) {
            Some(tcpserverlib::demo::Event::Disconnected(_, r)) => break r,
            Some(_) => continue,
            None => panic!("no disconnect"),
        }
    };
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::FrameTooSmall { len: 1 })
    );
}

/// A peer that resets right after sending is reported as that reset ("connection reset"),
/// whichever of the server's read or its echo's write meets it first.
#[test]
fn send_then_reset_is_an_io_error() {
    let (server, events) = start(Config::default(), true);
    for _ in 0..20 {
        let mut c = connect(addr(&server));
        let id = events.expect_connected(TIMEOUT).unwrap().id;
        write(&mut c, b"a");
        assert_eq!(events.expect_message(TIMEOUT).unwrap(), (id, b"a".to_vec()));
        // The echo of "a" is now unread here: closing sends a reset, right after "b".
        let mut peek = [0u8; 1];
        assert_eq!(c.peek(&mut peek).unwrap(), 1);
        write(&mut c, b"b");
        drop(c);
        let reason = loop {
            match events.next(TIMEOUT) {
                Some(tcpserverlib::demo::Event::Disconnected(gone, r)) if gone == id => break r,
                Some(_) => continue,
                None => panic!("no disconnect"),
            }
        };
        assert!(
            matches!(
                reason,
                DisconnectReason::Io {
                    kind: std::io::ErrorKind::ConnectionReset,
                    ..
                }
            ),
            "a reset is reported as the reset, not {reason:?}"
        );
    }
}

/// A write that meets a reset (here a send from the application's thread, while the DRS is
/// not reading) is remembered: the reason is that very error, "connection reset", not the
/// "peer closed" that a later read of the torn-down socket would suggest, nor the "broken
/// pipe" that a later write would meet.
#[test]
fn a_reset_met_by_a_send_is_the_reason() {
    let (server, events) = start(Config::default(), false);
    let c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    server.set_listening(false).unwrap();
    server.send(id, b"never read").unwrap();
    let mut peek = [0u8; 1];
    assert_eq!(c.peek(&mut peek).unwrap(), 1);
    drop(c); // unread input: a reset
    let _ = server.send(id, b"meets the reset");
    server.set_listening(true).unwrap();
    let (gone, reason) = events.expect_disconnected(TIMEOUT).unwrap();
    assert_eq!(gone, id);
    assert!(
        matches!(
            reason,
            DisconnectReason::Io {
                kind: std::io::ErrorKind::ConnectionReset,
                ..
            }
        ),
        "a reset is reported as the reset, not {reason:?}"
    );
}

/// `stop()` with clients connected: each is told "server shutdown", gets what was queued
/// for it, then end of stream — even one that had sent input the server never read.
#[test]
fn stop_delivers_what_was_queued_then_eof() {
    const SIZE: usize = 2 * 1024 * 1024;
    let config = Config {
        max_output: SIZE,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut clients = Vec::new();
    for _ in 0..3 {
        let c = connect(addr(&server));
        let id = events.expect_connected(TIMEOUT).unwrap().id;
        clients.push((c, id));
    }
    server.set_listening(false).unwrap();
    let payload: Vec<u8> = (0..SIZE).map(|i| (i % 13) as u8).collect();
    for (c, id) in &mut clients {
        write(c, b"unread input");
        server.send(*id, &payload).unwrap();
    }
    let readers: Vec<_> = clients
        .into_iter()
        .map(|(mut c, _)| thread::spawn(move || read_all_then_eof(&mut c)))
        .collect();
    server.stop();
    for r in readers {
        assert!(r.join().unwrap() == payload);
    }
    let reasons = events.collect_until(3, TIMEOUT, |e| {
        matches!(
            e,
            tcpserverlib::demo::Event::Disconnected(_, DisconnectReason::ServerShutdown)
        )
    });
    assert_eq!(reasons.len(), 3);
}

/// A closed client that has not sent its FIN yet lingers, and `show` counts it as closing;
/// its FIN ends the lingering (long before the linger deadline).
#[test]
fn a_lingering_close_shows_until_the_peer_fin() {
    let config = Config {
        linger: 6 * TIMEOUT,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    assert!(server.disconnect(id));
    let closing = |n: usize| {
        let deadline = std::time::Instant::now() + TIMEOUT;
        while std::time::Instant::now() < deadline {
            if server.info().lingering == n {
                return true;
            }
            thread::sleep(std::time::Duration::from_millis(1)); // a polling interval
        }
        false
    };
    assert!(closing(1), "lingering:\n{}", server.show());
    assert!(server.show().contains("1 closing"), "{}", server.show());
    assert_eq!(read_all_then_eof(&mut c), b"");
    drop(c); // our FIN
    assert!(closing(0), "still lingering:\n{}", server.show());
}

/// Output still queued for a client whose connection breaks is given back: once the reset
/// is reported, the server-wide count of queued output is back to zero.
#[test]
fn a_broken_connection_gives_its_queued_output_back() {
    let config = Config {
        max_output: 32 * 1024 * 1024,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let chunk = vec![b'x'; 256 * 1024];
    let mut sent = 0;
    while server.info().queued_output.0 == 0 {
        server.send(id, &chunk).unwrap();
        sent += chunk.len();
        assert!(
            sent < 32 * 1024 * 1024,
            "nothing ever queued:\n{}",
            server.show()
        );
    }
    drop(c); // unread input: a reset
    let (gone, reason) = events.expect_disconnected(TIMEOUT).unwrap();
    assert_eq!(gone, id);
    assert!(matches!(reason, DisconnectReason::Io { .. }), "{reason:?}");
    let deadline = std::time::Instant::now() + TIMEOUT;
    while server.info().queued_output.0 != 0 && std::time::Instant::now() < deadline {
        thread::sleep(std::time::Duration::from_millis(1)); // a polling interval
    }
    assert_eq!(server.info().queued_output.0, 0, "{}", server.show());
}

/// A lingering close whose peer never takes its output ends at the linger deadline, and the
/// output it still held is given back to the server-wide count.
#[test]
fn a_close_that_outlives_its_linger_gives_its_queued_output_back() {
    let config = Config {
        max_output: 32 * 1024 * 1024,
        linger: std::time::Duration::from_millis(100),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let _never_reads = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let chunk = vec![b'x'; 256 * 1024];
    let mut sent = 0;
    while server.info().queued_output.0 == 0 {
        server.send(id, &chunk).unwrap();
        sent += chunk.len();
        assert!(
            sent < 32 * 1024 * 1024,
            "nothing ever queued:\n{}",
            server.show()
        );
    }
    assert!(server.disconnect(id));
    let deadline = std::time::Instant::now() + TIMEOUT;
    while server.info().queued_output.0 != 0 && std::time::Instant::now() < deadline {
        thread::sleep(std::time::Duration::from_millis(1)); // a polling interval
    }
    let info = server.info();
    assert_eq!((info.queued_output.0, info.lingering), (0, 0), "{info}");
}

/// `stop()` keeps writing to a client that is owed more than the kernel's buffers hold, as
/// the client reads it: here the client starts reading only once it was told "server
/// shutdown", that is once `stop()` is past the DRS, and still gets every byte, then end of
/// stream; `stop()` returns as soon as all is written, not at the linger deadline.
#[test]
fn stop_keeps_writing_while_the_client_reads() {
    const SIZE: usize = 24 * 1024 * 1024;
    let config = Config {
        max_output: SIZE,
        linger: 6 * TIMEOUT,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let payload: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    server.send(id, &payload).unwrap();
    let (done, stopped) = std::sync::mpsc::channel();
    thread::spawn(move || {
        server.stop();
        let _ = done.send(());
    });
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::ServerShutdown)
    );
    let got = read_all_then_eof(&mut c);
    assert_eq!(got.len(), SIZE);
    assert!(got == payload);
    stopped
        .recv_timeout(TIMEOUT)
        .expect("stop() returns once everything is written");
}

/// `stop()` waits at most `linger` for a client that does not read what it is owed, then
/// closes it all the same.
#[test]
fn stop_gives_up_on_a_client_that_never_reads() {
    let config = Config {
        max_output: 32 * 1024 * 1024,
        linger: std::time::Duration::from_millis(100),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let _never_reads = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let chunk = vec![b'x'; 256 * 1024];
    let mut sent = 0;
    // More than the kernel's buffers can ever take: the queue cannot drain.
    while server.info().queued_output.0 < 8 * 1024 * 1024 {
        server.send(id, &chunk).unwrap();
        sent += chunk.len();
        assert!(
            sent < 32 * 1024 * 1024,
            "nothing ever queued:\n{}",
            server.show()
        );
    }
    let (done, stopped) = std::sync::mpsc::channel();
    thread::spawn(move || {
        server.stop();
        let _ = done.send(());
    });
    stopped
        .recv_timeout(TIMEOUT)
        .expect("stop() returns once the linger has passed");
}

/// The passive close of chapter 8, by the hold timer: a client that goes silent is dropped
/// with reason "keep-alive expired", and that close lingers like the others, so the reply
/// queued for it arrives in full, then end of stream, never a reset.
#[test]
fn a_hold_timer_expiry_delivers_what_was_queued_then_eof() {
    let config = Config {
        framing: Framing::length(),
        keepalive: Some(tcpserverlib::KeepAliveConfig {
            interval: None,
            hold: std::time::Duration::from_millis(300),
            tick: std::time::Duration::from_millis(5),
        }),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let reply = b"the reply to your last request";
    server.send(id, reply).unwrap();
    // Silent from now on: the hold timer, on the server's wheel, ends the connection.
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::KeepAliveExpired),
        "a silent client is dropped by its hold timer"
    );
    let got = read_all_then_eof(&mut c);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&frame(reply)),
        "the queued reply (framed by the server), then end of stream"
    );
}
