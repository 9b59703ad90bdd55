//! Chapter 7 — server states. The state flags change as accepting and listening are
//! disabled and re-enabled at run time, and what the clients see meanwhile.
//! `cargo run --bin ch7`, or `-- --listen 127.0.0.1:40100` and the shell commands of
//! `tcpserver` for the same by hand.

use std::io::Write;
use std::net::TcpStream;
use std::process::ExitCode;

use tcpserverlib::demo::{self, printable, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Config, Framing, TcpServer};

fn say(line: &str) {
    say!("[ch7] {line}");
}

fn run() -> Result<(), Failure> {
    let (recorder, events) = Recorder::silent();
    let config = Config {
        framing: "line".parse::<Framing>().map_err(|e| e.to_string())?,
        ..Config::default()
    };
    let server = TcpServer::with_config("ch7", "127.0.0.1:0", config, recorder)
        .map_err(|e| e.to_string())?;
    say(&format!("created:  {}", server.flags()));
    if let Err(e) = server.set_accepting(false) {
        say(&format!("disable-conn-accept before start is refused: {e}"));
    }
    server.start().map_err(|e| e.to_string())?;
    let addr = server.local_addr().ok_or("no address")?;
    say(&format!("started:  {}", server.flags()));
    let mut client = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let id = events.expect_connected(TIMEOUT)?.id;
    say(&format!("client {id} connected"));

    server.set_accepting(false).map_err(|e| e.to_string())?;
    say(&format!(
        "config tcp-server ch7 disable-conn-accept -> {}",
        server.flags()
    ));
    match TcpStream::connect(addr) {
        Err(e) => say(&format!("  a new client's connect fails: {e}")),
        Ok(_) => return Err("a connection was accepted while accepting was disabled".into()),
    }
    client
        .write_all(b"still served\n")
        .map_err(|e| e.to_string())?;
    let (_, m) = events.expect_message(TIMEOUT)?;
    say(&format!(
        "  client {id} is still served: \"{}\"",
        printable(&m)
    ));
    server.set_accepting(true).map_err(|e| e.to_string())?;
    say(&format!(
        "config tcp-server ch7 no disable-conn-accept -> {}",
        server.flags()
    ));
    let _second = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let second = events.expect_connected(TIMEOUT)?;
    say(&format!("  client {} connected again", second.id));

    server.set_listening(false).map_err(|e| e.to_string())?;
    say(&format!(
        "config tcp-server ch7 disable-client-listen -> {}",
        server.flags()
    ));
    for i in 1..=3 {
        client
            .write_all(format!("sent while not listening {i}\n").as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let quiet = events.nothing_more_within(std::time::Duration::from_millis(200));
    say(&format!(
        "  client {id} sent 3 messages; delivered so far: {}",
        if quiet {
            "none (they wait in the kernel)"
        } else {
            "some?!"
        }
    ));
    server.set_listening(true).map_err(|e| e.to_string())?;
    say(&format!(
        "config tcp-server ch7 no disable-client-listen -> {}",
        server.flags()
    ));
    for _ in 0..3 {
        let (from, m) = events.expect_message(TIMEOUT)?;
        say(&format!(
            "  delivered now from {from}: \"{}\"",
            printable(&m)
        ));
    }
    demo::print_show("[ch7]", &server.handle());
    server.stop();
    say(&format!("stopped:  {}", server.flags()));
    Ok(())
}

fn main() -> ExitCode {
    // --listen: a line-framed echo server, one message per line typed in nc.
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    demo::chapter_main("ch7", config, true, run)
}
