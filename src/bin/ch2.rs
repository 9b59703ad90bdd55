//! `cargo run --bin ch2`: the connection acceptor service (the course's CAS).
//!
//! Three clients connect at once; the application's `connected` callback says which thread
//! called it (the CAS thread, `cas-ch2`). Then `stop()` is timed: the CAS is woken out of its
//! wait by a waker and joined, where the course cancels it with `pthread_cancel`; once it
//! returns, the port is closed and a new connect is refused. `-- --listen ADDR` keeps a
//! chapter-2 server running for `nc` instead.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use tcpserverlib::demo::{self, Failure, Recorder, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Client, ClientId, DisconnectReason, Handler, ServerHandle, TcpServer};

const CH: &str = "[ch2]";
const CLIENTS: usize = 3;

/// The demo's application: a [`Recorder`] that also notes which thread called `connected`.
struct WhoAccepted {
    recorder: Recorder,
    /// (client, name of the thread that ran its `connected` callback).
    threads: Mutex<Sender<(ClientId, String)>>,
}

impl Handler for WhoAccepted {
    fn connected(&self, server: &ServerHandle, client: &Client) {
        let name = thread::current().name().unwrap_or("<unnamed>").to_string();
        let _ = self
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send((client.id, name));
        self.recorder.connected(server, client);
    }
    fn disconnected(&self, server: &ServerHandle, client: &Client, reason: &DisconnectReason) {
        self.recorder.disconnected(server, client, reason);
    }
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        self.recorder.message(server, client, message);
    }
    fn rejected(&self, server: &ServerHandle, peer: SocketAddr, why: &str) {
        self.recorder.rejected(server, peer, why);
    }
    fn accept_error(&self, server: &ServerHandle, error: &io::Error) {
        self.recorder.accept_error(server, error);
    }
}

fn main() -> ExitCode {
    demo::chapter_main("ch2", tcpserverlib::Config::default(), false, story)
}

/// The scripted demonstration.
fn story() -> Result<(), Failure> {
    let (recorder, events) = Recorder::silent();
    let (tx, threads) = mpsc::channel();
    let app = WhoAccepted {
        recorder,
        threads: Mutex::new(tx),
    };
    let server = TcpServer::new("ch2", "127.0.0.1:0", app).map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let addr = server
        .local_addr()
        .ok_or("a started server has no address")?;
    say!("{CH} The CAS is one thread whose only job is accept(); tcp-server \"ch2\" listens on {addr}.");
    say!(
        "{CH} The main thread (\"{}\") connects {CLIENTS} clients at once:",
        thread::current().name().unwrap_or("<unnamed>")
    );

    let clients = connect_all(addr)?;
    let accepted = accepted_by(&events, &threads)?;
    for (client, thread) in &accepted {
        if !clients
            .iter()
            .any(|s| s.local_addr().ok() == Some(client.peer_addr))
        {
            return Err(format!(
                "client {} ({}) is none of ours",
                client.id, client.peer_addr
            )
            .into());
        }
        say!(
            "{CH}   client {} from {} accepted, and the application told, on thread {thread}",
            client.id,
            client.peer_addr
        );
    }
    let expected = "cas-ch2";
    if accepted.iter().any(|(_, t)| t != expected) {
        return Err(format!("every client should be accepted on {expected}").into());
    }
    say!("{CH} All {CLIENTS} were accepted by the same thread, {expected}: a burst of connects never waits for the clients being served.");

    stop_and_time(&server, &events)?;

    match TcpStream::connect(addr) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            say!("{CH} A new connect to {addr} now: refused ({e}): the listening socket closed with the CAS.");
        }
        Err(e) => {
            return Err(format!("a connect after stop failed, but not as refused: {e}").into())
        }
        Ok(_) => return Err(format!("a connect to {addr} after stop() was accepted").into()),
    }
    drop(clients);
    say!("{CH} done: {CLIENTS} clients accepted on the CAS thread; the CAS stopped by a wake-up and a join, not a cancel.");
    Ok(())
}

/// Connects every client of the demo (the course's step 5: SYN).
fn connect_all(addr: SocketAddr) -> Result<Vec<TcpStream>, Failure> {
    (0..CLIENTS)
        .map(|_| {
            TcpStream::connect(addr).map_err(|e| Failure::from(format!("connect to {addr}: {e}")))
        })
        .collect()
}

/// Waits for every connected event, and pairs each client with the thread that reported it.
fn accepted_by(
    events: &demo::Events,
    threads: &Receiver<(ClientId, String)>,
) -> Result<Vec<(Client, String)>, Failure> {
    let mut accepted = Vec::new();
    for _ in 0..CLIENTS {
        let client = events.expect_connected(TIMEOUT)?;
        // The name was sent before the event, so it is already there.
        let (id, thread) = threads
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("no thread name noted for client {}", client.id))?;
        if id != client.id {
            return Err(format!("thread name for {id} came with client {}", client.id).into());
        }
        accepted.push((client, thread));
    }
    accepted.sort_by_key(|(c, _)| c.id);
    Ok(accepted)
}

/// Stops the server, says how long it took and what became of the clients.
fn stop_and_time(server: &TcpServer, events: &demo::Events) -> Result<(), Failure> {
    say!("{CH} stop(): the controller sets the CAS's stop flag and wakes its poll() with the waker, then joins it;");
    say!("{CH}   no pthread_cancel, no sleeping. Then the DRS is stopped the same way and the client DB purged.");
    let started = Instant::now();
    server.stop();
    let took = started.elapsed();
    let mut gone = Vec::new();
    for _ in 0..CLIENTS {
        match events.expect_disconnected(TIMEOUT)? {
            (id, DisconnectReason::ServerShutdown) => gone.push(id),
            (id, other) => {
                return Err(format!(
                    "client {id} was reported gone for {other}, not server shutdown"
                )
                .into())
            }
        }
    }
    gone.sort();
    let gone: Vec<String> = gone.iter().map(ToString::to_string).collect();
    say!(
        "{CH}   stop() returned after {:.2} ms: threads joined, clients {} reported disconnected (server shutdown).",
        took.as_secs_f64() * 1000.0,
        gone.join(", ")
    );
    Ok(())
}
