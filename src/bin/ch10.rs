//! Chapter 10 — multi-threaded clients and migration. What a thread per client buys (a
//! callback that blocks holds up only its own client) and what the DRS costs (a callback
//! that blocks there holds up everyone); then a client moved back and forth while it
//! streams, with every message echoed once and in order.
//! `cargo run --bin ch10`, or `-- --listen 127.0.0.1:40100` for a line-framed echo server in
//! multi-threaded mode (every client `nc` connects gets a thread of its own).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tcpserverlib::demo::{self, Failure, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{
    Client, ClientId, ClientMode, Config, Framing, Handler, ServerHandle, TcpServer,
};

fn say(line: &str) {
    say!("[ch10] {line}");
}

/// How long the demonstration's "long blocking work" takes.
const WORK: Duration = Duration::from_millis(300);

/// Echoes every line; the line `work` stands for a request that blocks its thread (a disk
/// read, a call to another service): it takes [`WORK`] before its reply.
struct Service {
    /// Who connected, in order, so that the story can name them.
    connected: Mutex<Sender<ClientId>>,
    /// Tells the story that a `work` request has started.
    working: Mutex<Sender<ClientId>>,
}

impl Handler for Service {
    fn connected(&self, _server: &ServerHandle, client: &Client) {
        let _ = lock(&self.connected).send(client.id);
    }

    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        if message == b"work" {
            let _ = lock(&self.working).send(client.id);
            std::thread::sleep(WORK);
            let _ = server.send(client.id, b"work done");
        } else {
            let _ = server.send(client.id, message);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One client of the story: its socket, and the id the server gave it.
struct Peer {
    name: &'static str,
    id: ClientId,
    lines: BufReader<TcpStream>,
}

impl Peer {
    fn join(
        name: &'static str,
        server: &TcpServer,
        connected: &Receiver<ClientId>,
    ) -> Result<Peer, Failure> {
        let addr = server.local_addr().ok_or("no address")?;
        let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let id = connected
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("{name} was never reported connected"))?;
        Ok(Peer {
            name,
            id,
            lines: BufReader::new(stream),
        })
    }

    fn send(&mut self, line: &str) -> Result<(), Failure> {
        let framed = format!("{line}\n");
        self.lines
            .get_mut()
            .write_all(framed.as_bytes())
            .map_err(|e| format!("{}: {e}", self.name).into())
    }

    fn reply(&mut self) -> Result<String, Failure> {
        let mut line = String::new();
        self.lines
            .read_line(&mut line)
            .map_err(|e| format!("{} got no reply: {e}", self.name))?;
        Ok(line.trim_end().to_string())
    }

    /// The time an echo of `line` takes to come back.
    fn echo_time(&mut self, line: &str) -> Result<Duration, Failure> {
        let start = Instant::now();
        self.send(line)?;
        let back = self.reply()?;
        if back != line {
            return Err(format!("{} sent {line:?} and got {back:?}", self.name).into());
        }
        Ok(start.elapsed())
    }
}

fn mode(server: &TcpServer, peer: &Peer) -> String {
    match server.client_info(peer.id) {
        Some(info)
            if info
                .flags
                .contains(tcpserverlib::ClientFlags::MULTI_THREADED) =>
        {
            ClientMode::Threaded.to_string()
        }
        Some(_) => ClientMode::Multiplexed.to_string(),
        None => "gone".to_string(),
    }
}

/// `worker` starts a blocking request; meanwhile `bystander` asks for an echo: how long did
/// it wait?
fn blocking_work(
    worker: &mut Peer,
    bystander: &mut Peer,
    working: &Receiver<ClientId>,
) -> Result<(), Failure> {
    worker.send("work")?;
    working
        .recv_timeout(TIMEOUT)
        .map_err(|_| "the work request never started")?;
    let waited = bystander.echo_time("ping")?;
    if worker.reply()? != "work done" {
        return Err("the work request got a wrong reply".into());
    }
    say(&format!(
        "  {} asks for work ({} ms, blocking); meanwhile {}'s echo takes {} ms",
        worker.name,
        WORK.as_millis(),
        bystander.name,
        waited.as_millis()
    ));
    Ok(())
}

fn run() -> Result<(), Failure> {
    let (connected_tx, connected) = mpsc::channel();
    let (working_tx, working) = mpsc::channel();
    let service = Service {
        connected: Mutex::new(connected_tx),
        working: Mutex::new(working_tx),
    };
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    let server = TcpServer::with_config("ch10", "127.0.0.1:0", config, service)
        .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;

    say("Multiplexed: alice and bob are served by the one DRS thread.");
    let mut alice = Peer::join("alice", &server, &connected)?;
    let mut bob = Peer::join("bob", &server, &connected)?;
    say(&format!(
        "  alice: {}, bob: {}; client threads: {}",
        mode(&server, &alice),
        mode(&server, &bob),
        server.client_threads()
    ));
    blocking_work(&mut alice, &mut bob, &working)?;
    say("  bob waited for alice's work: the DRS was busy in alice's callback.");

    say("config tcp-server ch10 multi-threaded-mode: new clients get a thread of their own.");
    server.set_multi_threaded(true);
    let mut carol = Peer::join("carol", &server, &connected)?;
    say(&format!(
        "  carol: {}; client threads: {}",
        mode(&server, &carol),
        server.client_threads()
    ));
    blocking_work(&mut carol, &mut bob, &working)?;
    say("  bob did not wait: carol's work blocks carol's thread, not the DRS.");

    let moves = 11;
    let messages = 1000;
    say(&format!(
        "run tcp-server ch10 client migrate <alice> threaded|multiplexed, {moves} times, while alice streams {messages} numbered lines:"
    ));
    let mut writer = alice
        .lines
        .get_ref()
        .try_clone()
        .map_err(|e| e.to_string())?;
    let stream = std::thread::spawn(move || -> std::io::Result<()> {
        for n in 0..messages {
            writer.write_all(format!("{n}\n").as_bytes())?;
        }
        Ok(())
    });
    let mut to = ClientMode::Threaded;
    for _ in 0..moves {
        server.migrate(alice.id, to).map_err(|e| e.to_string())?;
        to = match to {
            ClientMode::Threaded => ClientMode::Multiplexed,
            ClientMode::Multiplexed => ClientMode::Threaded,
        };
    }
    let mut in_order = 0;
    for n in 0..messages {
        if alice.reply()? == n.to_string() {
            in_order += 1;
        }
    }
    stream
        .join()
        .map_err(|_| "the streaming thread panicked")?
        .map_err(|e| e.to_string())?;
    say(&format!(
        "  {in_order} of {messages} echoes came back, in order; alice is now {}",
        mode(&server, &alice)
    ));
    if in_order != messages {
        return Err("a migration lost or reordered a message".into());
    }

    server
        .migrate(carol.id, ClientMode::Multiplexed)
        .map_err(|e| e.to_string())?;
    let back = carol.echo_time("still here")?;
    say(&format!(
        "run tcp-server ch10 client migrate <carol> multiplexed: carol is {}, echoes in {} ms",
        mode(&server, &carol),
        back.as_millis()
    ));
    demo::print_show("[ch10]", &server.handle());
    server.stop();
    say(&format!(
        "stopped: alice's thread was asked to leave and joined, with the DRS; client threads left: {}",
        server.client_threads()
    ));
    Ok(())
}

fn main() -> ExitCode {
    // --listen: a line-framed echo server in multi-threaded mode.
    let config = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    demo::chapter_main_with(
        "ch10",
        config,
        true,
        |server| server.set_multi_threaded(true),
        run,
    )
}
