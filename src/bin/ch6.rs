//! Chapter 6 — message demarcation: the course's demonstration, replayed. A sender splits
//! one message over several writes (each awaited, so that each is one `recv()` on the
//! server: the splitting is staged, not left to TCP) and packs several messages into one
//! write; the server first sees raw `recv()` chunks (no demarcation), then whole messages
//! (length-prefixed).
//! `cargo run --bin ch6`, or `cargo run --bin ch6 -- --listen 127.0.0.1:40100` for a
//! line-framed echo server to try with `nc`.

use std::io::Write;
use std::net::TcpStream;
use std::process::ExitCode;

use tcpserverlib::demo::{self, printable, Events, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Config, Framing, TcpServer};

fn say(line: &str) {
    say!("[ch6] {line}");
}

fn server(framing: Framing) -> Result<(TcpServer, Events), Failure> {
    let (recorder, events) = Recorder::silent();
    let config = Config {
        framing,
        ..Config::default()
    };
    let server = TcpServer::with_config("ch6", "127.0.0.1:0", config, recorder)
        .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    Ok((server, events))
}

fn connect(server: &TcpServer, events: &Events) -> Result<TcpStream, Failure> {
    let addr = server.local_addr().ok_or("server has no address")?;
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    events.expect_connected(TIMEOUT)?;
    Ok(stream)
}

/// Sends each piece in its own write, waiting until the server has received it, so every
/// piece is one `recv()` on the server: the course's "MSS of 4 bytes" made visible.
fn send_split(c: &mut TcpStream, events: &Events, pieces: &[&[u8]]) -> Result<(), Failure> {
    let mut seen = Vec::new();
    for piece in pieces {
        c.write_all(piece).map_err(|e| e.to_string())?;
        let (_, chunk) = events.expect_message(TIMEOUT)?;
        seen.push(format!("recv -> \"{}\"", printable(&chunk)));
    }
    say(&format!("  {}", seen.join("   ")));
    Ok(())
}

fn without_demarcation() -> Result<(), Failure> {
    say("Without demarcation (framing: none), the server sees whatever recv() returns.");
    let (server, events) = server(Framing::None)?;
    let mut c = connect(&server, &events)?;
    say("The sender's one message \"Hello Abhishek\" goes out as 4 writes, each awaited until the");
    say("server has received it, so that each is one recv(): the course's 4-byte segments, staged");
    say("(over loopback, one 14-byte write would arrive whole):");
    send_split(&mut c, &events, &[b"Hell", b"o Ab", b"hish", b"ek"])?;
    say("Four chunks, and no way to tell they were one message.");
    say("Now three messages \"msg-1\" \"msg-2\" \"msg-3\" go out packed into one write (what a");
    say("sender's loop of small writes often turns into, staged here):");
    c.write_all(b"msg-1msg-2msg-3").map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    while got.len() < 15 {
        let (_, chunk) = events.expect_message(TIMEOUT)?;
        say(&format!("  recv -> \"{}\"", printable(&chunk)));
        got.extend(chunk);
    }
    say("The boundaries are gone: the receiver got bytes, not messages.");
    server.stop();
    Ok(())
}

fn with_demarcation() -> Result<(), Failure> {
    let framing = Framing::LengthPrefixed {
        order: tcpserverlib::demarcation::ByteOrder::Big,
        max_len: tcpserverlib::demarcation::DEFAULT_MAX_LEN,
    };
    say(&format!("With demarcation ({framing}):"));
    let (server, events) = server(framing.clone())?;
    let mut c = connect(&server, &events)?;
    let frame = framing
        .encode(b"Hello Abhishek")
        .map_err(|e| e.to_string())?;
    say(&format!(
        "The same message, framed: {} bytes = 2-byte header {:?} + 14 bytes, in 4 writes, not awaited:",
        frame.len(),
        &frame[..2]
    ));
    let pieces: Vec<&[u8]> = frame.chunks(4).collect();
    for piece in &pieces {
        c.write_all(piece).map_err(|e| e.to_string())?;
    }
    say("however TCP groups them into recv()s, the circular buffer keeps what a read split off.");
    let (_, m) = events.expect_message(TIMEOUT)?;
    say(&format!(
        "  message 1: \"{}\" ({} bytes with header)",
        printable(&m),
        m.len() + 2
    ));
    say("And three framed messages packed into one write:");
    let mut packed = Vec::new();
    for text in ["msg-1", "msg-2", "msg-3"] {
        packed.extend(framing.encode(text.as_bytes()).map_err(|e| e.to_string())?);
    }
    c.write_all(&packed).map_err(|e| e.to_string())?;
    for n in 2..=4 {
        let (_, m) = events.expect_message(TIMEOUT)?;
        say(&format!("  message {n}: \"{}\"", printable(&m)));
    }
    let id = server.clients().first().map(|c| c.id).ok_or("no client")?;
    let left = server
        .client_info(id)
        .map(|i| i.buffered_input)
        .unwrap_or(0);
    say(&format!(
        "done: 4 whole messages, {left} bytes left in the circular buffer"
    ));
    server.stop();
    Ok(())
}

fn main() -> ExitCode {
    // --listen: a line-framed echo server, one message per line typed in nc.
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    demo::chapter_main("ch6", config, true, || {
        without_demarcation().and_then(|_| with_demarcation())
    })
}
