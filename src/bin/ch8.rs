//! Chapter 8 — closing connections and keep-alive. A silent client is dropped after its hold
//! time while a chatty one stays; then both close sequences, client- and server-initiated.
//! `cargo run --bin ch8`, or `-- --listen 127.0.0.1:40100` for a line-framed server whose
//! clients must send a line (an empty one will do) at least every 15 s.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use tcpserverlib::demo::{self, Event, Events, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Config, Framing, KeepAliveConfig, TcpServer};

fn say(line: &str) {
    say!("[ch8] {line}");
}

const KEEPALIVE: [u8; 2] = [0, 2];

fn connect(
    server: &TcpServer,
    events: &Events,
) -> Result<(TcpStream, tcpserverlib::ClientId), Failure> {
    let addr = server.local_addr().ok_or("no address")?;
    let c = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let id = events.expect_connected(TIMEOUT)?.id;
    Ok((c, id))
}

fn keepalive() -> Result<(), Failure> {
    let ka = KeepAliveConfig {
        interval: Some(Duration::from_millis(200)),
        hold: Duration::from_millis(600),
        tick: Duration::from_millis(10),
    };
    say(&format!(
        "Keep-alive: the server sends an empty frame every {}ms and drops a client silent for {}ms.",
        ka.interval.unwrap_or_default().as_millis(),
        ka.hold.as_millis()
    ));
    let (recorder, events) = Recorder::silent();
    let config = Config {
        framing: "length".parse::<Framing>().map_err(|e| e.to_string())?,
        keepalive: Some(ka),
        ..Config::default()
    };
    let server = TcpServer::with_config("ch8", "127.0.0.1:0", config, recorder)
        .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let (mut chatty, chatty_id) = connect(&server, &events)?;
    let (_silent, silent_id) = connect(&server, &events)?;
    say(&format!(
        "client {chatty_id} is chatty (a keep-alive every 150 ms), client {silent_id} never says a word"
    ));
    let mut beats = 0;
    loop {
        // Wait for the next event, or 150 ms: then the chatty client sends its keep-alive.
        match events.next(Duration::from_millis(150)) {
            Some(Event::Disconnected(id, reason)) => {
                say(&format!("client {id} disconnected: {reason}"));
                if id != silent_id {
                    return Err(format!("the wrong client ({id}) was dropped").into());
                }
                break;
            }
            Some(_) => {}
            None => {
                chatty.write_all(&KEEPALIVE).map_err(|e| e.to_string())?;
                beats += 1;
                if beats == 2 {
                    say("(hold = time left before a client is dropped)");
                    demo::print_show("[ch8]", &server.handle());
                }
                if beats > 100 {
                    return Err("the silent client was never dropped".into());
                }
            }
        }
    }
    demo::print_show("[ch8]", &server.handle());
    let info = server
        .client_info(chatty_id)
        .ok_or("the chatty client is gone")?;
    say(&format!(
        "client {chatty_id} is still connected: {} keep-alives received from it, {} sent to it",
        info.keepalives_in, info.keepalives_out
    ));
    say("Client-initiated close: the client calls shutdown(Write): its FIN reaches the server,");
    chatty
        .shutdown(Shutdown::Write)
        .map_err(|e| e.to_string())?;
    let (id, reason) = events.expect_disconnected(TIMEOUT)?;
    say(&format!(
        "  recv() returns 0 and the DRS reports client {id}: {reason}; the server closes its side too"
    ));
    let mut rest = Vec::new();
    let _ = chatty.read_to_end(&mut rest);
    say(&format!(
        "  the client reads to end of stream ({} bytes of pending keep-alives first): both FINs done",
        rest.len()
    ));
    server.stop();
    Ok(())
}

fn application_close() -> Result<(), Failure> {
    let (recorder, events) = Recorder::silent();
    let server = TcpServer::new("ch8b", "127.0.0.1:0", recorder).map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let (mut c, id) = connect(&server, &events)?;
    say("Application-initiated close: the controller removes the client from the DB,");
    say("  the DRS stops listening, the socket is shut down (the server sends the first FIN)");
    server.send(id, b"goodbye\n").map_err(|e| e.to_string())?;
    server.disconnect(id);
    let (_, reason) = events.expect_disconnected(TIMEOUT)?;
    c.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    c.read_to_end(&mut got).map_err(|e| e.to_string())?;
    say(&format!(
        "  reason: {reason}; the client read \"{}\" then end of stream",
        demo::printable(&got)
    ));
    say("  the server closed first, so its side waits in TIME_WAIT (2 x MSL; a fixed 60 s on Linux)");
    say("  to resend the final ACK if the client's FIN comes again, and so that old segments die");
    server.stop();
    Ok(())
}

fn main() -> ExitCode {
    let config = Config {
        framing: Framing::line(),
        keepalive: Some(KeepAliveConfig::default()),
        ..Config::default()
    };
    demo::chapter_main("ch8", config, true, || {
        keepalive()?;
        application_close()
    })
}
