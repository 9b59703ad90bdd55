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
