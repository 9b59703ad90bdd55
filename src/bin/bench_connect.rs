//! Benchmark: a burst of connections against a busy acceptor, with std's listen backlog of
//! 128 and with larger ones (1024, and 4096, `Config::backlog`'s default). Run: `cargo run --release --bin bench_connect`.
//!
//! Each connect is timed. When the kernel's accept queue is full it drops the SYN, and the
//! client's kernel retransmits it only after one second: such connects show up as ≥ 1 s.
//! The acceptor is made "busy" on purpose by an application whose `connected` callback
//! takes 200 µs (standing in for real work done on the accept path).

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::say;
use tcpserverlib::{Client, Config, ServerHandle, TcpServer};

const CONNECTORS: usize = 4;
const PER_CONNECTOR: usize = 500;
const BUSY: Duration = Duration::from_micros(200);

struct Busy {
    connected: Arc<AtomicUsize>,
}

impl tcpserverlib::Handler for Busy {
    fn connected(&self, _server: &ServerHandle, _client: &Client) {
        // Load simulation, not coordination: the acceptor is slower than the connectors.
        thread::sleep(BUSY);
        self.connected.fetch_add(1, Ordering::SeqCst);
    }
}

fn run(backlog: u32) -> Result<(), String> {
    let connected = Arc::new(AtomicUsize::new(0));
    let config = Config {
        backlog,
        max_clients: 100_000,
        ..Config::default()
    };
    let handler = Busy {
        connected: Arc::clone(&connected),
    };
    let server = TcpServer::with_config("bench", "127.0.0.1:0", config, handler)
        .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let addr = server.local_addr().ok_or("no address")?;
    let start = Instant::now();
    let workers: Vec<_> = (0..CONNECTORS)
        .map(|_| {
            thread::spawn(move || {
                let mut times = Vec::with_capacity(PER_CONNECTOR);
                let mut keep = Vec::with_capacity(PER_CONNECTOR);
                for _ in 0..PER_CONNECTOR {
                    let t = Instant::now();
                    match TcpStream::connect(addr) {
                        Ok(s) => keep.push(s),
                        Err(e) => {
                            let _ = writeln!(std::io::stderr(), "connect failed: {e}");
                        }
                    }
                    times.push(t.elapsed());
                }
                (times, keep)
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut keep = Vec::new();
    for w in workers {
        let (t, k) = w.join().map_err(|_| "connector panicked")?;
        times.extend(t);
        keep.extend(k);
    }
    let total = start.elapsed();
    times.sort();
    let slow = times
        .iter()
        .filter(|t| **t >= Duration::from_millis(900))
        .count();
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    say!(
        "{backlog:>7} | {:>8} | {:>9} | {:>9.1?} | {:>9.1?} | {:>9.1?} | {:>8.2?}",
        times.len(),
        slow,
        p(0.5),
        p(0.99),
        times.last().copied().unwrap_or_default(),
        total
    );
    server.stop();
    drop(keep);
    Ok(())
}

fn main() {
    measure_all();
    // Every line queued for stdout is written before the process ends.
    tcpserverlib::printer::flush();
}

fn measure_all() {
    say!("command: cargo run --release --bin bench_connect");
    say!(
        "{CONNECTORS} threads x {PER_CONNECTOR} sequential connects, acceptor busy {BUSY:?} per client"
    );
    say!("backlog | connects | >=1s SYN | p50       | p99       | max       | total");
    for backlog in [128, 1024, 4096] {
        if let Err(e) = run(backlog) {
            let _ = writeln!(std::io::stderr(), "bench_connect: {e}");
            tcpserverlib::printer::flush();
            std::process::exit(1);
        }
    }
}
