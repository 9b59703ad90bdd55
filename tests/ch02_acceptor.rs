//! Chapter 2 — the connection acceptor service (CAS): its own thread, accept errors survived,
//! a prompt stop without thread cancellation, bursts drained.
//! Exercise: `cargo test --features ex02 --test ch02_acceptor`.

mod common;
use common::*;

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tcpserverlib::acceptor::Acceptor;
use tcpserverlib::demo::Event;

/// Every connection is accepted and handed over with its peer address.
#[test]
fn accepts_and_hands_over() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let acceptor = Acceptor::start(
        "t",
        listener,
        move |s, peer| tx.send((s, peer)).unwrap(),
        |_| {},
    )
    .unwrap();
    let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for c in &clients {
        let (_stream, peer) = rx.recv_timeout(TIMEOUT).unwrap();
        assert!(clients.iter().any(|c| c.local_addr().unwrap() == peer));
        let _ = c;
    }
    acceptor.stop();
}

/// An accept() error that concerns the whole process is reported to `on_error`, not taken
/// for an empty queue, and the CAS backs off between attempts instead of retrying at once;
/// it still stops promptly when asked. (A listening socket shut down for reading makes
/// every accept() fail with EINVAL while `poll` keeps reporting it, as a full descriptor
/// table makes every accept() fail with EMFILE while the connection stays queued.)
#[cfg(target_os = "linux")]
#[test]
fn accept_errors_are_reported_and_backed_off() {
    use std::net::Shutdown;
    use std::os::fd::OwnedFd;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let socket = TcpStream::from(OwnedFd::from(listener));
    socket.shutdown(Shutdown::Read).unwrap();
    let listener = TcpListener::from(OwnedFd::from(socket));
    let (tx, rx) = mpsc::channel();
    let acceptor = Acceptor::start(
        "t",
        listener,
        |_, _| {},
        move |e| {
            let _ = tx.send(e.kind());
        },
    )
    .unwrap();
    let first = rx.recv_timeout(TIMEOUT).expect(
        "expected accept()'s error (EINVAL) reported to on_error; none came: was it taken \
         for an empty queue?",
    );
    assert_ne!(first, io::ErrorKind::WouldBlock);
    let window = Duration::from_millis(300);
    let begun = Instant::now();
    let mut errors = 1;
    while rx
        .recv_timeout(window.saturating_sub(begun.elapsed()))
        .is_ok()
    {
        errors += 1;
        if begun.elapsed() >= window || errors >= 1000 {
            break;
        }
    }
    assert!(
        errors < 50,
        "{errors} accept errors within {window:?}: expected the CAS to back off between \
         attempts (10 ms, doubling up to 1 s), not to retry at once"
    );
    let t = Instant::now();
    acceptor.stop();
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "stop() while backing off took {:?}: the back-off must wait on the waker",
        t.elapsed()
    );
}

/// stop() wakes the thread out of its wait and joins it well under 100 ms, and the port is
/// closed when it returns.
#[test]
fn stop_is_prompt() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = Acceptor::start("t", listener, |_, _| {}, |_| {}).unwrap();
    let t = Instant::now();
    acceptor.stop();
    let took = t.elapsed();
    assert!(took < Duration::from_millis(100), "stop took {took:?}");
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

/// A burst of connections made before the thread looks is drained in one wake-up, and every
/// one of them is handed over.
#[test]
fn drains_a_burst() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clients: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let (tx, rx) = mpsc::channel();
    let acceptor =
        Acceptor::start("t", listener, move |_, peer| tx.send(peer).unwrap(), |_| {}).unwrap();
    for _ in 0..clients.len() {
        rx.recv_timeout(TIMEOUT).unwrap();
    }
    acceptor.stop();
}

/// The server reports each new client to the application with its address, and a
/// connection over the cap is refused with the application told.
#[test]
fn connection_cap() {
    let config = tcpserverlib::Config {
        max_clients: 2,
        ..Default::default()
    };
    let (server, events) = start(config, false);
    let a = connect(addr(&server));
    let b = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    events.expect_connected(TIMEOUT).unwrap();
    let mut c = connect(addr(&server));
    match events.next(TIMEOUT) {
        Some(Event::Rejected(peer)) => assert_eq!(peer, c.local_addr().unwrap()),
        other => panic!("expected the third connection to be rejected, got {other:?}"),
    }
    assert!(
        read_to_eof(&mut c).is_empty(),
        "the refused socket is closed at once"
    );
    assert_eq!(server.client_count(), 2);
    drop((a, b));
}

/// The acceptor thread is named after its server, so it can be told apart in a debugger.
#[test]
fn thread_is_named() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let acceptor = Acceptor::start(
        "alpha",
        listener,
        move |_, _| {
            tx.send(std::thread::current().name().map(String::from))
                .unwrap()
        },
        |_| {},
    )
    .unwrap();
    let _c = TcpStream::connect(addr).unwrap();
    assert_eq!(
        rx.recv_timeout(TIMEOUT).unwrap().as_deref(),
        Some("cas-alpha")
    );
    acceptor.stop();
}
