//! `cargo run --bin ch1`: the controller (the course's `TcpServerController`), step by step.
//!
//! The story follows the course's "new client" steps: the application creates the controller
//! (steps 1–2), starts it (3–4), a client connects and the CAS tells the application (5–7),
//! the controller stores the client and hands it to the DRS (8–12); then the application
//! stops the server. `-- --listen ADDR` keeps a chapter-1 server running for `nc` instead.

use std::net::TcpStream;
use std::process::ExitCode;

use tcpserverlib::demo::{self, Failure, Print, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{DisconnectReason, TcpServer};

const CH: &str = "[ch1]";

fn main() -> ExitCode {
    demo::chapter_main("ch1", tcpserverlib::Config::default(), false, story)
}

/// The scripted demonstration.
fn story() -> Result<(), Failure> {
    // The application's callbacks print as they are called, indented under the narration.
    let print = Print {
        prefix: Some(format!("{CH}   callback:")),
        messages: true,
    };
    let (app, events) = Recorder::new(print, false);

    say!("{CH} Steps 1-2: the application creates the controller, TcpServer::new(\"ch1\", \"127.0.0.1:0\", app).");
    say!("{CH}   Its services (CAS, DBMS, DRS) exist but nothing runs yet: no thread, no socket, no address.");
    let server = TcpServer::new("ch1", "127.0.0.1:0", app).map_err(|e| e.to_string())?;
    show(&server);

    say!("{CH} Steps 3-4: start() binds the address and starts the service threads (CAS cas-ch1, DRS drs-ch1).");
    server.start().map_err(|e| e.to_string())?;
    let addr = server
        .local_addr()
        .ok_or("a started server has no address")?;
    say!("{CH}   bound to {addr} (port 0 asked the OS for a free port); the server is ready:");
    show(&server);

    say!("{CH} Steps 5-7: a client sends SYN to {addr}; the CAS accepts it, creates the client record and notifies the application:");
    let client = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
    let record = events.expect_connected(TIMEOUT)?;
    let ours = client.local_addr().map_err(|e| e.to_string())?;
    if record.peer_addr != ours {
        return Err(format!(
            "client {} is {}, but our socket is {ours}",
            record.id, record.peer_addr
        )
        .into());
    }
    say!(
        "{CH} Steps 8-12: the controller stored client {} ({}) in the client DB (here before step 7, so the callback could already send to it) and asked the DRS to listen to it:",
        record.id, record.peer_addr
    );
    show(&server);

    say!("{CH} stop(): the controller asks the CAS and the DRS to stop, joins them, and purges the client DB:");
    server.stop();
    match events.expect_disconnected(TIMEOUT)? {
        (id, DisconnectReason::ServerShutdown) if id == record.id => {}
        other => {
            return Err(format!(
                "expected client {} to be reported gone for server shutdown, got {other:?}",
                record.id
            )
            .into())
        }
    }
    show(&server);
    drop(client);
    say!(
        "{CH} done: one server created, started and stopped; one client connected, listed, and reported disconnected once."
    );
    Ok(())
}

/// Prints the course's `show tcp-server`, indented under the narration.
fn show(server: &TcpServer) {
    demo::print_show(CH, &server.handle());
}
