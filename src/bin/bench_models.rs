//! Benchmark: the five models of chapter 0 side by side. Run:
//! `cargo build --release --bins && cargo run --release --bin bench_models` (the process model
//! starts `ch0 --serve-stdio` from the same directory, so build the binaries first).
//!
//! Per model: connects per second (connect, one echo, close, one client after another); echo
//! messages per second with 64 clients at once, each doing a fixed number of round trips; and
//! the threads and processes the server started for it. Not measured yet: latency beside a
//! slow client, memory per client, and the number of clients held before the server degrades.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::models::{Model, ModelServer, Options, Stats};
use tcpserverlib::{printer, say};

/// How long the connect test runs per model.
const CONNECT_FOR: Duration = Duration::from_millis(500);
/// Clients at once in the echo test.
const CLIENTS: usize = 64;
/// Round trips per client in the echo test.
const ROUND_TRIPS: usize = 200;

fn main() -> ExitCode {
    let _ = tcpserverlib::raise_fd_limit();
    let ch0 = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("ch0")))
        .unwrap_or_else(|| PathBuf::from("ch0"));
    if !ch0.exists() {
        say!(
            "bench_models: {} is missing: run `cargo build --release --bins` first",
            ch0.display()
        );
        printer::flush();
        return ExitCode::FAILURE;
    }
    say!("model        connects/s   echo msgs/s ({CLIENTS} clients x {ROUND_TRIPS})   threads + processes");
    let models = [
        Model::Iterative,
        Model::ProcessPerClient,
        Model::ThreadPerClient,
        Model::ThreadPool { workers: 8 },
        Model::Multiplexed,
    ];
    for model in models {
        let options = Options {
            child_program: Some(ch0.clone()),
        };
        let run = || -> std::io::Result<(f64, f64, Stats)> {
            let server = ModelServer::start_with(model, "127.0.0.1:0", options.clone())?;
            let connects = connects_per_second(server.local_addr())?;
            drop(server);
            // A fresh server for the echo test, so its counts are the echo test's alone.
            let mut server = ModelServer::start_with(model, "127.0.0.1:0", options.clone())?;
            let msgs = echo_per_second(server.local_addr())?;
            Ok((connects, msgs, server.stop()))
        };
        match run() {
            Ok((connects, msgs, stats)) => {
                let name = match model {
                    Model::ThreadPool { workers } => format!("pool:{workers}"),
                    m => m.name().to_string(),
                };
                say!(
                    "{name:<12} {connects:>10.0}   {msgs:>30.0}   {} + {}",
                    stats.threads_started,
                    stats.children.len()
                );
            }
            Err(e) => say!("{:<12} failed: {e}", model.name()),
        }
    }
    printer::flush();
    ExitCode::SUCCESS
}

/// One client after another: connect, one echo, close; for [`CONNECT_FOR`].
fn connects_per_second(addr: SocketAddr) -> std::io::Result<f64> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < CONNECT_FOR {
        round_trips(addr, 1)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// [`CLIENTS`] clients at once, [`ROUND_TRIPS`] each.
fn echo_per_second(addr: SocketAddr) -> std::io::Result<f64> {
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| thread::spawn(move || round_trips(addr, ROUND_TRIPS)))
        .collect();
    for c in clients {
        c.join()
            .map_err(|_| std::io::Error::other("a client panicked"))??;
    }
    Ok((CLIENTS * ROUND_TRIPS) as f64 / start.elapsed().as_secs_f64())
}

/// Connects, does `n` line round trips, and leaves.
fn round_trips(addr: SocketAddr, n: usize) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut lines = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    for _ in 0..n {
        stream.write_all(b"a line of an echo benchmark\n")?;
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("the server closed the connection"));
        }
    }
    Ok(())
}
