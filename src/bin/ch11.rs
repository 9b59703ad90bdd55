//! Chapter 11 — the server in client mode. Server A connects out to B before B listens (the
//! retries are shown), B appears and A connects, messages flow both ways, B goes away and A
//! reconnects when B is back. `cargo run --bin ch11`, or `-- --listen 127.0.0.1:40100` for
//! a line-framed echo server (try `config tcp-server … connect` in the `tcpserver` shell).

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use tcpserverlib::demo::{self, Event, Events, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{ClientFlags, ClientId, Config, Framing, TcpServer};

fn say(line: &str) {
    say!("[ch11] {line}");
}

/// Short, so that the story takes a moment; the course's is 10 s.
const RETRY: Duration = Duration::from_millis(100);

/// Waits for `n` failed connects of A and tells each.
fn tell_failures(events: &Events, n: usize) -> Result<(), Failure> {
    for _ in 0..n {
        match events.next(TIMEOUT) {
            Some(Event::ConnectFailed(target, error)) => say(&format!(
                "  A: connect to {target} failed ({error}); retry in {} ms",
                RETRY.as_millis()
            )),
            got => return Err(format!("expected a failed connect, got {got:?}").into()),
        }
    }
    Ok(())
}

/// Waits for A's next connect, skipping the failures of attempts made meanwhile.
fn active_connect(a: &TcpServer, events: &Events) -> Result<ClientId, Failure> {
    loop {
        match events.next(TIMEOUT) {
            Some(Event::ConnectFailed(..)) => {}
            Some(Event::Connected(client)) => {
                let flags = a.client_info(client.id).ok_or("the client left")?.flags;
                if !flags.contains(ClientFlags::ACTIVE) {
                    return Err(format!("client {} is not flagged ACTIVE", client.id).into());
                }
                say(&format!(
                    "  A: client {} connected to {}, flags [{flags}]: in A's DB, listened to by A's DRS",
                    client.id, client.peer_addr
                ));
                return Ok(client.id);
            }
            got => return Err(format!("expected A to connect, got {got:?}").into()),
        }
    }
}

fn story() -> Result<(), Failure> {
    let config = Config {
        framing: Framing::line(),
        connect_retry: RETRY,
        ..Config::default()
    };
    let (a_recorder, a_events) = Recorder::silent();
    let a = TcpServer::with_config("A", "127.0.0.1:0", config.clone(), a_recorder)?;
    a.start()?;
    // A free port for B: bound, then let go, so that nothing listens there yet.
    let b_addr: SocketAddr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let (b_recorder, b_events) = Recorder::silent();
    let b = TcpServer::with_config("B", b_addr, config, b_recorder)?;

    say(&format!(
        "Server A listens on {} and, in client mode, connects out to B at {b_addr}.",
        a.local_addr().ok_or("A has no address")?
    ));
    say("Nothing listens at B's address yet: A's connector retries at its interval");
    say("(its own thread: the CAS, the DRS and the shell never wait for a connect).");
    a.connect(b_addr)?;
    tell_failures(&a_events, 2)?;

    say("B starts listening.");
    b.start()?;
    let first = active_connect(&a, &a_events)?;
    let at_b = b_events.expect_connected(TIMEOUT)?;
    say(&format!(
        "  B: client {} connected from {}: for B it is an ordinary accepted client",
        at_b.id, at_b.peer_addr
    ));
    demo::print_show("[ch11]", &a.handle());

    say("Messages flow both ways, through the same send() and message callback as always:");
    a.send(first, b"hello from A")?;
    let (_, got) = b_events.expect_message(TIMEOUT)?;
    say(&format!("  B received \"{}\"", demo::printable(&got)));
    b.send(at_b.id, b"hello from B")?;
    let (from, got) = a_events.expect_message(TIMEOUT)?;
    say(&format!(
        "  A received \"{}\" from client {from}",
        demo::printable(&got)
    ));

    say("B stops: A's active client ends like any other client.");
    b.stop();
    b_events.expect_disconnected(TIMEOUT)?;
    let (id, reason) = a_events.expect_disconnected(TIMEOUT)?;
    say(&format!("  A: client {id} disconnected: {reason}"));
    say("Reconnect is on (the course's default): A's connector starts again.");
    tell_failures(&a_events, 2)?;

    say("B listens again.");
    b.start()?;
    let second = active_connect(&a, &a_events)?;
    b_events.expect_connected(TIMEOUT)?;
    a.send(second, b"back again")?;
    let (_, got) = b_events.expect_message(TIMEOUT)?;
    say(&format!("  B received \"{}\"", demo::printable(&got)));

    say("A stops: its connector is woken and joined, its active client told \"server shutdown\".");
    a.stop();
    let (id, reason) = a_events.expect_disconnected(TIMEOUT)?;
    say(&format!("  A: client {id} disconnected: {reason}"));
    let targets = a.connect_targets();
    say(&format!(
        "  the target stays configured for A's next start: {}",
        targets.first().ok_or("no target")?
    ));
    b.stop();
    Ok(())
}

fn main() -> ExitCode {
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    demo::chapter_main("ch11", config, true, story)
}
