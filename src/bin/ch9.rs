//! Chapter 9 — statistics. Three clients send lines of known sizes, a fourth is rejected at
//! the connection cap, one leaves; `show` and `show … stats` print the counters, and the
//! story reads them back through `stats()` and checks that they add up, before and after
//! `stop()`. `cargo run --bin ch9`, or `-- --listen 127.0.0.1:40100` for a line-framed echo
//! server whose counters `stats` prints.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

use tcpserverlib::demo::{self, Event, Events, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Config, DisconnectKind, Framing, ServerStats, TcpServer, Traffic};

fn say(line: &str) {
    say!("[ch9] {line}");
}

/// The lines each client sends, each echoed back.
const SCRIPT: [(&str, usize); 3] = [("hello", 2), ("statistics", 1), ("abc", 3)];

/// Connects a client; waits until the server reports it.
fn connect(server: &TcpServer, events: &Events) -> Result<TcpStream, Failure> {
    let addr = server.local_addr().ok_or("no address")?;
    let c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(TIMEOUT))?;
    loop {
        match events.next(TIMEOUT) {
            Some(Event::Connected(_)) => return Ok(c),
            // The earlier clients' messages, already echoed.
            Some(Event::Message(..)) => continue,
            other => return Err(format!("expected a client to connect, got {other:?}").into()),
        }
    }
}

/// Sends `line` and reads its echo; the bytes sent.
fn round_trip(c: &mut TcpStream, line: &str) -> Result<u64, Failure> {
    let framed = format!("{line}\n");
    c.write_all(framed.as_bytes())?;
    let mut echo = vec![0u8; framed.len()];
    c.read_exact(&mut echo)?;
    if echo != framed.as_bytes() {
        return Err(format!("the echo of {line:?} was {:?}", demo::printable(&echo)).into());
    }
    Ok(framed.len() as u64)
}

/// Fails unless `got` is `want`, naming the counter.
fn check(what: &str, got: u64, want: u64) -> Result<(), Failure> {
    if got != want {
        return Err(format!("{what}: the server counted {got}, the clients made {want}").into());
    }
    Ok(())
}

/// Checks the server's totals against what the clients did.
fn check_traffic(stats: &ServerStats, want: &Traffic) -> Result<(), Failure> {
    let t = &stats.traffic;
    check("bytes in", t.bytes_in, want.bytes_in)?;
    check("messages in", t.messages_in, want.messages_in)?;
    check("bytes out", t.bytes_out, want.bytes_out)?;
    check("messages out", t.messages_out, want.messages_out)
}

fn run() -> Result<(), Failure> {
    let (recorder, events) = Recorder::new(Default::default(), true);
    let config = Config {
        framing: Framing::line(),
        max_clients: 3,
        ..Config::default()
    };
    let server = TcpServer::with_config("ch9", "127.0.0.1:0", config, recorder)?;
    server.start()?;
    say("A line-framed echo server, at most 3 clients. Each client's counters are atomics the DRS");
    say("adds to as it reads and writes: no lock; the server's totals are summed when asked.");
    let mut clients = Vec::new();
    let mut sent = Traffic::default();
    for (line, times) in SCRIPT {
        clients.push(connect(&server, &events)?);
        let c = clients.last_mut().ok_or("no client")?;
        let mut bytes = 0;
        for _ in 0..times {
            bytes += round_trip(c, line)?;
        }
        say(&format!(
            "client #{} sends {times} x {line:?} ({bytes} bytes with newlines) and reads each echo",
            clients.len()
        ));
        sent.bytes_in += bytes;
        sent.messages_in += times as u64;
    }
    // Every message was echoed, byte for byte.
    sent.bytes_out = sent.bytes_in;
    sent.messages_out = sent.messages_in;
    let fourth = TcpStream::connect(server.local_addr().ok_or("no address")?)?;
    loop {
        match events.next(TIMEOUT) {
            Some(Event::Rejected(_)) => break,
            Some(Event::Message(..)) => continue,
            other => return Err(format!("expected a rejection, got {other:?}").into()),
        }
    }
    say("a 4th client connects: accepted by the kernel, then rejected by the server at its cap");
    drop(fourth);
    let leaving = clients.remove(1);
    drop(leaving);
    let (id, reason) = events.expect_disconnected(TIMEOUT)?;
    say(&format!("client {id} closes its socket: {reason}"));
    demo::print_show("[ch9]", &server.handle());
    demo::print_stats("[ch9]", &server.handle());

    // Client 2 left after every echo was read: the DRS had counted every write by then.
    let stats = server.stats();
    check_traffic(&stats, &sent)?;
    check("clients ever", stats.clients_ever, 3)?;
    check("rejected", stats.rejected, 1)?;
    check("accepted", stats.accepted, 4)?;
    check(
        "peer closed",
        stats.disconnects.get(DisconnectKind::PeerClosed),
        1,
    )?;
    say(&format!(
        "stats(): {} bytes in, {} messages in = what the clients sent; {} bytes out = the echoes",
        stats.traffic.bytes_in, stats.traffic.messages_in, stats.traffic.bytes_out
    ));
    let live: u64 = stats.clients.iter().map(|c| c.bytes_in).sum();
    say(&format!(
        "  of them {live} from the 2 clients still connected, {} kept from the one gone",
        stats.traffic.bytes_in - live
    ));
    say(&format!(
        "  {} accepted = {} clients + {} rejected; {} clients = {} connected + {} gone",
        stats.accepted,
        stats.clients_ever,
        stats.rejected,
        stats.clients_ever,
        stats.clients.len(),
        stats.disconnects.total()
    ));

    server.stop();
    let after = server.stats();
    check_traffic(&after, &sent)?;
    check(
        "server shutdown",
        after.disconnects.get(DisconnectKind::ServerShutdown),
        2,
    )?;
    check("connections held", after.connections_held as u64, 0)?;
    say(&format!(
        "after stop(): {} connected, {} connections held, disconnects {}",
        after.clients.len(),
        after.connections_held,
        after.disconnects
    ));
    say("  every connection was let go and folded into the totals once: they still add up");
    Ok(())
}

fn main() -> ExitCode {
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    demo::chapter_main("ch9", config, true, run)
}
