//! Chapter 2 — pausing the acceptor without harming anyone: connections the kernel already
//! completed are accepted before the listener closes, and connections whose peers already
//! left do not keep a live client out at the cap.

mod common;
use common::*;

use tcpserverlib::demo::Event;
use tcpserverlib::Config;

/// `disable-conn-accept` right after a client's connect: that client is accepted and
/// served (its echo comes back), never reset.
#[test]
fn disabling_accept_right_after_a_connect_never_resets_it() {
    let (server, events) = start(Config::default(), true);
    for round in 0..20 {
        let mut c = connect(addr(&server));
        server.set_accepting(false).unwrap();
        let id = events.expect_connected(TIMEOUT).unwrap().id;
        write(&mut c, b"ping");
        assert_eq!(read_n(&mut c, 4), b"ping", "round {round}: the echo");
        assert!(server.disconnect(id));
        let seen = events.collect_until(1, TIMEOUT, |e| matches!(e, Event::Disconnected(..)));
        assert!(
            matches!(seen.last(), Some(Event::Disconnected(..))),
            "{seen:?}"
        );
        server.set_accepting(true).unwrap();
    }
}

/// At the connection cap, clients whose peers have already closed (but whom the DRS has not
/// served yet: here it is not reading at all) are reaped before a new client is refused.
#[test]
fn departed_clients_are_reaped_before_the_cap_refuses() {
    let config = Config {
        max_clients: 5,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    server.set_listening(false).unwrap();
    let gone: Vec<_> = (0..5).map(|_| connect(addr(&server))).collect();
    let connected = events.collect_until(5, TIMEOUT, |e| matches!(e, Event::Connected(_)));
    assert_eq!(connected.len(), 5);
    drop(gone);
    let _live = connect(addr(&server));
    let seen = events.collect_until(1, TIMEOUT, |e| {
        matches!(e, Event::Connected(_) | Event::Rejected(_))
    });
    assert!(
        matches!(seen.last(), Some(Event::Connected(_))),
        "the live client was refused: {seen:?}"
    );
    let reaped = seen
        .iter()
        .filter(|e| matches!(e, Event::Disconnected(..)))
        .count();
    assert_eq!(reaped, 5, "the five departed clients were reaped: {seen:?}");
}

/// At the cap, a client whose peer reset the connection is reaped too, with the reset as
/// its reason, and the newcomer is let in.
#[test]
fn a_reset_client_is_reaped_at_the_cap() {
    let config = Config {
        max_clients: 1,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    server.set_listening(false).unwrap();
    let gone = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    server.send(id, b"never read").unwrap();
    assert_eq!(gone.peek(&mut [0u8; 1]).unwrap(), 1);
    drop(gone); // unread input: a reset
    let _live = connect(addr(&server));
    let seen = events.collect_until(1, TIMEOUT, |e| {
        matches!(e, Event::Connected(_) | Event::Rejected(_))
    });
    assert!(
        matches!(seen.last(), Some(Event::Connected(_))),
        "the live client was refused: {seen:?}"
    );
    assert!(
        matches!(
            seen.first(),
            Some(Event::Disconnected(
                gone_id,
                tcpserverlib::DisconnectReason::Io {
                    kind: std::io::ErrorKind::ConnectionReset,
                    ..
                }
            )) if *gone_id == id
        ),
        "{seen:?}"
    );
}

/// At the cap, a departed client with part of a message still buffered is not reaped: the
/// DRS owes it a verdict on that message. The newcomer is refused; once listening resumes,
/// the departed client is reported with the protocol error of its cut-short message.
#[test]
fn a_departed_client_with_a_message_in_progress_is_left_to_the_drs() {
    use tcpserverlib::demarcation::Framing;
    use tcpserverlib::DisconnectReason;
    let config = Config {
        max_clients: 1,
        framing: Framing::line(),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut gone = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    write(&mut gone, b"cut short");
    let deadline = std::time::Instant::now() + TIMEOUT;
    while server.client_info(id).map_or(0, |i| i.buffered_input) == 0 {
        assert!(std::time::Instant::now() < deadline, "never buffered");
        std::thread::sleep(std::time::Duration::from_millis(1)); // a polling interval
    }
    server.set_listening(false).unwrap();
    drop(gone);
    let _refused = connect(addr(&server));
    let seen = events.collect_until(1, TIMEOUT, |e| {
        matches!(e, Event::Connected(_) | Event::Rejected(_))
    });
    assert!(
        matches!(seen.as_slice(), [Event::Rejected(_)]),
        "the departed client was reaped: {seen:?}"
    );
    server.set_listening(true).unwrap();
    let (gone_id, reason) = events.expect_disconnected(TIMEOUT).unwrap();
    assert_eq!(gone_id, id);
    assert!(
        matches!(reason, DisconnectReason::Protocol(_)),
        "{reason:?}"
    );
}
