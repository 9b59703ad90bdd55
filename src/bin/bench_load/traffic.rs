//! Traffic: seeded data, writers that never block forever, and the slowly starting reader.
//!
//! Every socket here has a read timeout (a stalled stream is reported, not waited on) and a
//! short write timeout (a writer stalled by backpressure still sees its stop flag and its
//! deadline).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A reader waits this long for its next byte before calling the stream stalled.
pub const STALL: Duration = Duration::from_secs(5);
/// One blocking write waits at most this long, so writers notice their stop flag and deadline.
const WRITE_SLICE: Duration = Duration::from_millis(200);
/// A slow reader is slow for this long, reading at most `SLOW_READ` bytes per `SLOW_PAUSE`.
pub const SLOW_PHASE: Duration = Duration::from_secs(2);
const SLOW_READ: usize = 4096;
const SLOW_PAUSE: Duration = Duration::from_millis(1);
pub const MIB: f64 = 1024.0 * 1024.0;

/// SplitMix64: a tiny well-mixed generator, so writer and reader make the same bytes from a
/// seed and the reader checks every byte without a copy of what was sent.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The seeded byte stream, the same whatever sizes it is cut into.
pub struct ByteStream {
    rng: Rng,
    word: [u8; 8],
    used: usize,
}

impl ByteStream {
    pub fn new(seed: u64) -> ByteStream {
        ByteStream {
            rng: Rng(seed),
            word: [0; 8],
            used: 8,
        }
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.used == 8 {
                self.word = self.rng.next_u64().to_le_bytes();
                self.used = 0;
            }
            *b = self.word[self.used];
            self.used += 1;
        }
    }
}

/// Writes `buf`, retrying writes that time out, until it is all written, `stop` is set or
/// `deadline` passes. Returns how much was written.
pub fn push(
    s: &mut TcpStream,
    buf: &[u8],
    stop: &AtomicBool,
    deadline: Instant,
) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() && !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match s.write(&buf[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A writer thread: sends what `next` produces (an empty chunk ends it). Returns bytes
/// written and the error that stopped it, if any.
pub fn spawn_writer(
    mut s: TcpStream,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    mut next: impl FnMut() -> Vec<u8> + Send + 'static,
) -> JoinHandle<(u64, Option<String>)> {
    thread::spawn(move || {
        let mut sent = 0u64;
        loop {
            let chunk = next();
            if chunk.is_empty() {
                return (sent, None);
            }
            match push(&mut s, &chunk, &stop, deadline) {
                Ok(n) => sent += n as u64,
                Err(e) => return (sent, Some(e.to_string())),
            }
            if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                return (sent, None);
            }
        }
    })
}

/// A peer that reads slowly for its first `SLOW_PHASE`, then at full speed.
pub struct SlowStart<R> {
    pub inner: R,
    pub until: Instant,
}

impl<R: Read> Read for SlowStart<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() < self.until {
            thread::sleep(SLOW_PAUSE);
            let n = buf.len().min(SLOW_READ);
            return self.inner.read(&mut buf[..n]);
        }
        self.inner.read(buf)
    }
}

/// How a reader's stream ended.
pub fn describe_end(e: Option<&io::Error>, complete: bool, past_deadline: bool) -> String {
    match e {
        _ if complete => "complete".into(),
        _ if past_deadline => "gave up at the --timeout deadline".into(),
        None => "connection closed early by the server (EOF)".into(),
        Some(e) if is_timeout(e) => format!("stalled: no data for {STALL:?}"),
        Some(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "connection closed early by the server (EOF)".into()
        }
        Some(e) => format!("connection error: {e}"),
    }
}

pub fn rate(bytes: u64, elapsed: Duration) -> String {
    format!(
        "{:.1} MiB/s",
        bytes as f64 / MIB / elapsed.as_secs_f64().max(1e-9)
    )
}

pub fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream =
        TcpStream::connect_timeout(&addr, STALL).map_err(|e| format!("connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(STALL))
        .and_then(|_| stream.set_write_timeout(Some(WRITE_SLICE)))
        .map_err(|e| format!("socket timeouts: {e}"))?;
    Ok(stream)
}

/// A line for the parent process, flushed at once: it waits on it.
pub fn say(line: &str) {
    tcpserverlib::say!("{line}");
    let _ = io::stdout().flush();
}
