//! Scenario `flood`: one client's request/response latency, alone and beside flooders.
//!
//! A fair server serves one message of each client per turn, so a client flooding tiny
//! messages slows the others a little, not by orders of magnitude. Timings are printed,
//! never judged: they depend on the machine.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tcpserverlib::Framing;

use crate::args::Options;
use crate::process::Server;
use crate::traffic::*;
use crate::Verdict;

/// A client that writes tiny frames as fast as it can from one thread while another reads
/// and discards the echo, so it is a reading client and the server's output to it drains.
struct Flooder {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    writer: JoinHandle<(u64, Option<String>)>,
    reader: JoinHandle<()>,
}

impl Flooder {
    fn start(addr: SocketAddr, unit: &[u8], deadline: Instant) -> Result<Flooder, String> {
        let stream = connect(addr)?;
        let stop = Arc::new(AtomicBool::new(false));
        let batch = unit.repeat((64 * 1024 / unit.len()).max(1));
        let w = stream
            .try_clone()
            .map_err(|e| format!("clone socket: {e}"))?;
        let writer = spawn_writer(w, Arc::clone(&stop), deadline, move || batch.clone());
        let mut r = stream
            .try_clone()
            .map_err(|e| format!("clone socket: {e}"))?;
        let stop_reading = Arc::clone(&stop);
        let reader = thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            while !stop_reading.load(Ordering::Relaxed) && Instant::now() < deadline {
                match r.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
        Ok(Flooder {
            stream,
            stop,
            writer,
            reader,
        })
    }

    /// Stops both threads; returns the bytes written and the write error, if any.
    fn finish(self) -> (u64, Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        // The writer first, so that our own shutdown does not show up as its write error.
        let sent = self
            .writer
            .join()
            .unwrap_or((0, Some("writer thread panicked".into())));
        let _ = self.stream.shutdown(Shutdown::Both);
        let _ = self.reader.join();
        sent
    }
}

/// One tiny message: a header-only frame, an empty line, one fixed frame, or 2 raw bytes.
fn flood_unit(framing: &Framing) -> Result<Vec<u8>, String> {
    match framing {
        Framing::None => Ok(vec![0; 2]),
        Framing::Fixed(n) => Ok(vec![0; *n]),
        other => other
            .encode(&[])
            .map_err(|e| format!("cannot frame an empty message: {e}")),
    }
}

/// The watcher's request `seq`, framed; the echo is expected to be the same bytes.
fn watcher_message(framing: &Framing, seq: u64) -> Result<Vec<u8>, String> {
    let mut payload = format!("{seq:08}").into_bytes();
    if let Framing::Fixed(n) = framing {
        payload.resize(*n, b'.');
    }
    framing
        .encode(&payload)
        .map_err(|e| format!("cannot frame the watcher's message: {e}"))
}

/// Request/response round trips for `length`; returns the latencies in µs, sorted.
fn watch(addr: SocketAddr, framing: &Framing, length: Duration) -> Result<Vec<u64>, String> {
    let mut s = connect(addr)?;
    let _ = s.set_nodelay(true);
    let (end, mut latencies, mut echo) = (Instant::now() + length, Vec::new(), Vec::new());
    while Instant::now() < end {
        let seq = latencies.len() as u64;
        let message = watcher_message(framing, seq)?;
        echo.resize(message.len(), 0);
        let start = Instant::now();
        s.write_all(&message)
            .map_err(|e| format!("watcher round trip {seq}: send failed: {e}"))?;
        s.read_exact(&mut echo).map_err(|e| {
            if is_timeout(&e) {
                format!("watcher round trip {seq}: no echo within {STALL:?}")
            } else {
                format!("watcher round trip {seq}: {e}")
            }
        })?;
        latencies.push(start.elapsed().as_micros() as u64);
        if echo != message {
            return Err(format!(
                "watcher round trip {seq}: the echo differs from the request"
            ));
        }
    }
    latencies.sort_unstable();
    Ok(latencies)
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted
        .get(((sorted.len().max(1) - 1) as f64 * q) as usize)
        .copied()
        .unwrap_or(0)
}

fn print_phase(name: &str, lat: &[u64], flood_rate: Option<f64>) {
    let rate = flood_rate.map_or("-".into(), |r| format!("{r:.0}"));
    tcpserverlib::say!(
        "{name:<12} | {:>11} | {:>8} | {:>8} | {:>8} | {:>8} | {rate:>15}",
        lat.len(),
        percentile(lat, 0.5),
        percentile(lat, 0.9),
        percentile(lat, 0.99),
        lat.last().copied().unwrap_or(0)
    );
}

pub fn flood(o: &Options) -> Result<Verdict, String> {
    let length = Duration::from_secs_f64(o.or(o.seconds, 3.0, 2.0));
    let framing: Framing = o
        .framing
        .parse()
        .map_err(|e: tcpserverlib::demarcation::ParseFramingError| e.0)?;
    let unit = flood_unit(&framing)?;
    tcpserverlib::say!("== flood: one watcher's round trips for {length:?} alone, then for {length:?} beside {} flooder(s) of {}-byte messages (framing {})", o.flooders, unit.len(), o.framing);
    let server = Server::start(o, &o.framing)?;
    let baseline = watch(server.addr, &framing, length)?;
    let deadline = Instant::now() + length + STALL * 2;
    let flooders = (0..o.flooders)
        .map(|_| Flooder::start(server.addr, &unit, deadline))
        .collect::<Result<Vec<_>, _>>()?;
    let start = Instant::now();
    let flooded = watch(server.addr, &framing, length);
    let flood_time = start.elapsed();
    let mut sent_bytes = 0;
    for f in flooders {
        let (bytes, error) = f.finish();
        sent_bytes += bytes;
        if let Some(e) = error {
            tcpserverlib::say!("note: a flooder stopped with a write error: {e}");
        }
    }
    drop(server);
    let flooded = flooded?;
    let flood_rate = (sent_bytes / unit.len() as u64) as f64 / flood_time.as_secs_f64();
    tcpserverlib::say!(
        "phase        | round trips |  p50 µs  |  p90 µs  |  p99 µs  |  max µs  | flood frames/s"
    );
    print_phase("baseline", &baseline, None);
    print_phase("flood", &flooded, Some(flood_rate));
    let ratio = |q| percentile(&flooded, q) as f64 / percentile(&baseline, q).max(1) as f64;
    tcpserverlib::say!(
        "ratio flood/baseline: p50 x{:.1}, p99 x{:.1}",
        ratio(0.5),
        ratio(0.99)
    );
    Ok(Verdict::Info)
}
