//! Chapter 3 — 2 000 clients at once (twice select()'s old FD_SETSIZE of 1024), all served by
//! one DRS thread; afterwards every descriptor and thread of the server is gone.
//! (One test alone in its own process, so descriptor and thread counts are its own.)

mod common;
use common::*;

use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use tcpserverlib::demo::Event;
use tcpserverlib::Config;

#[test]
fn two_thousand_clients_then_nothing_left() {
    // 4 000 descriptors in this process: more than the usual soft limit of 1024.
    tcpserverlib::raise_fd_limit().expect("raise the soft descriptor limit");
    let fds_before = open_fds();
    let threads_before = threads();
    let (server, events) = start(Config::default(), true);
    let addr = addr(&server);

    let t = Instant::now();
    let mut clients: Vec<TcpStream> = (0..2000).map(|_| connect(addr)).collect();
    let connected = events.collect_until(2000, TIMEOUT, |e| matches!(e, Event::Connected(_)));
    let connect_time = t.elapsed();
    assert_eq!(
        connected
            .iter()
            .filter(|e| matches!(e, Event::Connected(_)))
            .count(),
        2000
    );
    println!("2000 clients connected and reported in {connect_time:?}");

    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(format!("{i:06}").as_bytes()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(read_n(c, 6), format!("{i:06}").as_bytes());
    }
    println!("2000 echoes done in {:?}", t.elapsed());

    server.stop();
    drop(server);
    drop(clients);
    drop(events);
    assert_eq!(
        open_fds(),
        fds_before,
        "descriptors back to where they were"
    );
    assert_eq!(threads(), threads_before, "threads back to where they were");
}
