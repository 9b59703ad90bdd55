//! `cargo run --bin ch3b`: beyond `select` — what idle clients cost the DRS with `poll` and
//! with `epoll`.
//!
//! For each poller in turn, an echo server (length-prefixed framing) gets a crowd of idle
//! clients, then one active client does request/response round trips for half a second; the
//! round trips per second and the median and 99th-percentile round trip are printed for
//! each. With `poll`, every wait hands the kernel every client and we walk them all again;
//! with `epoll`, a wait returns the one that is ready. `-- --listen ADDR` keeps an echo server
//! (line framing, for `nc`; `TCPSERVERLIB_POLLER=poll` picks the poll backend) running.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tcpserverlib::demo::{self, Failure, TIMEOUT};
use tcpserverlib::say;
use tcpserverlib::{Client, Config, Framing, Handler, PollerKind, ServerHandle, TcpServer};

const CH: &str = "[ch3b]";
/// Idle clients wanted (fewer when the descriptor limit is too low).
const IDLE: usize = 2000;
/// Descriptors kept for everything else: the listener, the DRS's waker and poller, stdio.
const SPARE_FDS: u64 = 64;
/// How long the active client does round trips, per poller.
const ACTIVE_FOR: Duration = Duration::from_millis(500);
/// The active client's request.
const PAYLOAD: &[u8] = b"ping from the one busy client";

/// The demo's application: echo every message, and report every connect so the story can
/// wait until the whole crowd is in.
struct Echo {
    connected: Mutex<Sender<()>>,
}

impl Handler for Echo {
    fn connected(&self, _server: &ServerHandle, _client: &Client) {
        let _ = self
            .connected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(());
    }
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        let _ = server.send(client.id, message);
    }
}

fn main() -> ExitCode {
    let listen = Config {
        framing: Framing::line(),
        ..Config::default()
    };
    demo::chapter_main("ch3b", listen, true, story)
}

/// What one poller's run measured.
struct Measured {
    round_trips: usize,
    per_second: f64,
    p50_us: u128,
    p99_us: u128,
}

/// The scripted demonstration.
fn story() -> Result<(), Failure> {
    let limit = tcpserverlib::raise_fd_limit().map_err(|e| e.to_string())?;
    // Each idle client is two descriptors here: its socket and the server's.
    let fit = usize::try_from(limit.saturating_sub(SPARE_FDS) / 2).unwrap_or(usize::MAX);
    let idle = IDLE.min(fit.saturating_sub(1));
    if idle < IDLE {
        say!("{CH} (the descriptor limit is {limit}: {idle} idle clients instead of {IDLE})");
    }
    say!("{CH} One DRS thread, one echo server per poller, {idle} idle clients and 1 busy one.");
    say!(
        "{CH} The busy client sends a frame, waits for its echo, and again, for {} ms.",
        ACTIVE_FOR.as_millis()
    );
    let mut kinds = vec![PollerKind::Poll];
    if cfg!(target_os = "linux") {
        kinds.push(PollerKind::Epoll);
    } else {
        say!("{CH} (epoll exists on Linux only: this system runs the poll backend alone)");
    }
    let mut results = Vec::new();
    for kind in kinds {
        let m = run_one(kind, idle)?;
        results.push((kind, m));
    }
    say!("{CH} done: the busy client beside {idle} idle clients, one DRS thread each time:");
    for (kind, m) in &results {
        say!(
            "{CH}   {:<6} {} round trips/s, p50 {} µs, p99 {} µs",
            format!("{kind}:"),
            m.per_second.round(),
            m.p50_us,
            m.p99_us,
        );
    }
    if let [(_, poll), (_, epoll)] = results.as_slice() {
        say!(
            "{CH} epoll / poll round trips per second: {:.1}. With poll every wait hands the kernel all {} entries (the idle ones too), the kernel checks each, and the DRS walks them again; epoll's wait returns the one ready client.",
            epoll.per_second / poll.per_second.max(1.0),
            idle + 2
        );
    }
    Ok(())
}

/// One server with `kind`, `idle` idle clients, one busy client's round trips.
fn run_one(kind: PollerKind, idle: usize) -> Result<Measured, Failure> {
    let (tx, connected) = mpsc::channel();
    let app = Echo {
        connected: Mutex::new(tx),
    };
    let config = Config {
        poller: kind,
        framing: Framing::length(),
        ..Config::default()
    };
    let server = TcpServer::with_config("ch3b", "127.0.0.1:0", config, app)?;
    server.start()?;
    let addr = server
        .local_addr()
        .ok_or("a started server has no address")?;
    say!("{CH} --poller {kind}: the server listens on {addr}; {idle} clients connect and say nothing:");
    let crowd = connect(addr, idle, &connected)?;
    say!(
        "{CH}   {} clients in the client DB, each registered in the DRS's {kind} set; none of them sends a byte.",
        server.client_count()
    );
    let measured = busy_client(addr, &connected)?;
    say!(
        "{CH}   the busy client: {} round trips in {} ms, p50 {} µs, p99 {} µs.",
        measured.round_trips,
        ACTIVE_FOR.as_millis(),
        measured.p50_us,
        measured.p99_us
    );
    server.stop();
    drop(crowd);
    Ok(measured)
}

/// Opens `n` connections and waits until the server has reported each connected.
fn connect(
    addr: SocketAddr,
    n: usize,
    connected: &Receiver<()>,
) -> Result<Vec<TcpStream>, Failure> {
    let mut crowd = Vec::with_capacity(n);
    for _ in 0..n {
        crowd.push(TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?);
    }
    for i in 0..n {
        connected
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("only {i} of {n} clients were reported connected"))?;
    }
    Ok(crowd)
}

/// The busy client: one frame, its echo, again, for [`ACTIVE_FOR`].
fn busy_client(addr: SocketAddr, connected: &Receiver<()>) -> Result<Measured, Failure> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    connected
        .recv_timeout(TIMEOUT)
        .map_err(|_| "the busy client was never reported connected")?;
    let frame = Framing::length().encode(PAYLOAD)?;
    let mut echo = vec![0u8; frame.len()];
    let mut round_trip = || -> Result<Duration, Failure> {
        let start = Instant::now();
        stream.write_all(&frame)?;
        stream.read_exact(&mut echo)?;
        if echo != frame {
            return Err(format!("the echo was {:?}", demo::printable(&echo)).into());
        }
        Ok(start.elapsed())
    };
    // A few round trips first, so that connecting is not counted.
    for _ in 0..10 {
        round_trip()?;
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < ACTIVE_FOR {
        times.push(round_trip()?);
    }
    let elapsed = start.elapsed();
    times.sort_unstable();
    let at = |q: usize| times[(times.len() * q / 100).min(times.len() - 1)].as_micros();
    Ok(Measured {
        round_trips: times.len(),
        per_second: times.len() as f64 / elapsed.as_secs_f64(),
        p50_us: at(50),
        p99_us: at(99),
    })
}
