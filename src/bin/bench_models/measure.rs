//! The five measurements of one model, each on a fresh server so that its counts are its
//! own. Every wait has a bound: a read waits at most [`ECHO_WITHIN`] where a model may block,
//! and a server that does not answer is reported as blocked, never waited on for ever.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::models::{Model, ModelServer};

use crate::helpers::{open_idle, Helper, CONNECT_WITHIN, PER_HELPER};

/// How long a client waits for an echo before it counts as blocked.
pub const ECHO_WITHIN: Duration = Duration::from_secs(1);

/// How long a client of the throughput tests waits for an echo: they must finish even on an
/// iterative server, where 63 clients queue behind the one being served.
const THROUGHPUT_READ: Duration = Duration::from_secs(30);

const LINE: &[u8] = b"a line of an echo benchmark\n";

/// One client after another: connect, one echo, close; for `within`.
pub fn connects_per_second(addr: SocketAddr, within: Duration) -> Result<f64, String> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < within {
        round_trips(addr, 1).map_err(|e| format!("client {}: {e}", n + 1))?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// `clients` clients at once, `trips` round trips each: messages echoed per second.
pub fn echo_per_second(addr: SocketAddr, clients: usize, trips: usize) -> Result<f64, String> {
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| thread::spawn(move || round_trips(addr, trips)))
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        t.join()
            .map_err(|_| format!("client {} panicked", i + 1))?
            .map_err(|e| format!("client {}: {e}", i + 1))?;
    }
    Ok((clients * trips) as f64 / start.elapsed().as_secs_f64())
}

/// Connects, does `n` line round trips, and leaves.
fn round_trips(addr: SocketAddr, n: usize) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(THROUGHPUT_READ))?;
    let mut lines = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    for _ in 0..n {
        stream.write_all(LINE)?;
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("the server closed the connection"));
        }
    }
    Ok(())
}

/// What a normal client saw while a slow one held its connection.
pub enum Latency {
    /// Every round trip was answered: the median and the 99th percentile.
    Measured { p50: Duration, p99: Duration },
    /// Round trip `at` (counted from 1) got no echo within [`ECHO_WITHIN`].
    Blocked { at: usize, why: String },
}

/// A slow client connects first, sends part of a line and stalls; then a normal client does
/// `trips` round trips, each of which may wait [`ECHO_WITHIN`] for its echo.
pub fn latency_beside_slow(server: &ModelServer, trips: usize) -> Result<Latency, String> {
    let addr = server.local_addr();
    let fds = Descriptors::now(server.model());
    let mut slow = TcpStream::connect_timeout(&addr, CONNECT_WITHIN)
        .map_err(|e| format!("the slow client could not connect: {e}"))?;
    slow.write_all(b"the first half of a line that the slow client never fin")
        .map_err(|e| format!("the slow client could not send: {e}"))?;
    // The slow client must be the server's first: wait until it has been taken in.
    fds.wait_accepted(1, 0);
    let mut normal = TcpStream::connect_timeout(&addr, CONNECT_WITHIN).map_err(|e| {
        format!("the normal client was not connected within {CONNECT_WITHIN:?}: {e}")
    })?;
    normal.set_nodelay(true).map_err(|e| e.to_string())?;
    normal
        .set_read_timeout(Some(ECHO_WITHIN))
        .map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(normal.try_clone().map_err(|e| e.to_string())?);
    let (mut line, mut times) = (String::new(), Vec::with_capacity(trips));
    for at in 1..=trips {
        let start = Instant::now();
        normal.write_all(LINE).map_err(|e| e.to_string())?;
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) => return Err("the server closed the normal client's connection".into()),
            Ok(_) => times.push(start.elapsed()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let why = format!("no echo within {ECHO_WITHIN:?}");
                return Ok(Latency::Blocked { at, why });
            }
            Err(e) => return Err(format!("round trip {at}: {e}")),
        }
    }
    drop(slow);
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(Latency::Measured {
        p50: at(0.5),
        p99: at(0.99),
    })
}

/// What `n` idle clients cost the server.
pub struct Memory {
    /// Idle clients connected (the kernel finished their handshakes).
    pub connected: usize,
    /// How many of them the server took in (accepted, or started a child for).
    pub accepted: usize,
    /// Growth of the server's resident memory (and its children's), per connected client.
    pub bytes_per_client: f64,
    /// Why fewer than the clients asked for connected, if they did.
    pub short: Option<String>,
}

/// Opens `n` idle clients, waits until the server has taken in what it will, and reads the
/// growth of its resident memory: this process's (the server runs in it, and the clients do
/// not: helpers hold them), plus every running child's for the process model. Stops the
/// server before the clients go.
pub fn memory_per_client(mut server: ModelServer, n: usize) -> Result<Memory, String> {
    let fds = Descriptors::now(server.model());
    let before = settled_rss(&server).ok_or("no /proc/self/status: memory is not measured")?;
    let mut helpers = Vec::new();
    let (connected, short) = open_up_to(&server, n, &mut helpers);
    let accepted = fds.wait_accepted(connected, helpers.len());
    let after = settled_rss(&server).unwrap_or(before);
    server.stop();
    drop(helpers);
    if connected == 0 {
        return Err("no idle client could connect".into());
    }
    Ok(Memory {
        connected,
        accepted,
        bytes_per_client: (after as f64 - before as f64) / connected as f64,
        short,
    })
}

/// How far a server got in the capacity test.
pub struct Capacity {
    /// The largest step after which a new client was still echoed within [`ECHO_WITHIN`].
    pub held: usize,
    /// `None`: it held the cap. `Some((step, why))`: the first step it failed.
    pub failed: Option<(usize, String)>,
}

/// Opens idle clients in `steps` (each a total); after each, a new client must get its echo
/// within [`ECHO_WITHIN`]. Stops at the end of `steps` or the first failure; then stops the
/// server, and only then closes the idle clients.
pub fn capacity(mut server: ModelServer, steps: &[usize]) -> Capacity {
    let fds = Descriptors::now(server.model());
    let mut helpers = Vec::new();
    let mut result = Capacity {
        held: 0,
        failed: None,
    };
    for &step in steps {
        let (connected, stopped) = open_up_to(&server, step, &mut helpers);
        let accepted = fds.wait_accepted(connected, helpers.len());
        if let Some(why) = stopped {
            result.failed = Some((
                step,
                format!("{connected} idle clients connected, then {why}; the server had taken in {accepted}"),
            ));
            break;
        }
        if let Err(why) = probe(server.local_addr()) {
            result.failed = Some((
                step,
                format!("a new client: {why}; the server had taken in {accepted} of {connected}"),
            ));
            break;
        }
        result.held = step;
    }
    server.stop();
    drop(helpers);
    result
}

/// Brings the idle clients held by `helpers` up to `total`. Returns how many are connected,
/// and why a helper stopped short, if one did.
fn open_up_to(
    server: &ModelServer,
    total: usize,
    helpers: &mut Vec<Helper>,
) -> (usize, Option<String>) {
    let mut connected: usize = helpers.iter().map(|h| h.connected).sum();
    while connected < total {
        let n = PER_HELPER.min(total - connected);
        match open_idle(server.local_addr(), n) {
            Ok(h) => {
                connected += h.connected;
                helpers.push(h);
            }
            Err((h, why)) => {
                if let Some(h) = h {
                    connected += h.connected;
                    helpers.push(h);
                }
                return (connected, Some(why));
            }
        }
    }
    (connected, None)
}

/// A new client: connect, one line, its echo, all within [`ECHO_WITHIN`].
fn probe(addr: SocketAddr) -> Result<Duration, String> {
    let start = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, ECHO_WITHIN)
        .map_err(|e| format!("not connected within {ECHO_WITHIN:?} ({e})"))?;
    let left = ECHO_WITHIN.saturating_sub(start.elapsed());
    if left.is_zero() {
        return Err(format!("not connected within {ECHO_WITHIN:?}"));
    }
    s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
    s.write_all(LINE)
        .map_err(|e| format!("could not send: {e}"))?;
    let mut line = String::new();
    match BufReader::new(s).read_line(&mut line) {
        Ok(0) => Err("the server closed the connection".into()),
        Ok(_) if line.as_bytes() == LINE => Ok(start.elapsed()),
        Ok(_) => Err(format!("a wrong echo: {line:?}")),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!("no echo within {ECHO_WITHIN:?}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// This process's open descriptors, as a count of clients the server has taken in: the
/// servers run inside the bench, so each accepted client is one descriptor here (two for
/// the process model: the parent keeps the socket, for its shutdown at stop, and the child's
/// stderr pipe).
struct Descriptors {
    base: usize,
    per_client: usize,
}

impl Descriptors {
    fn now(model: Model) -> Descriptors {
        Descriptors {
            base: open_descriptors(),
            per_client: if model == Model::ProcessPerClient {
                2
            } else {
                1
            },
        }
    }

    /// Waits until the server has taken in `want` clients, or has made no progress for
    /// half a second (an iterative server takes one, and the rest wait in the kernel), or
    /// a bound proportional to `want` has passed. `helpers`: how many helpers are running
    /// (two pipe descriptors each). Returns how many it took in.
    fn wait_accepted(&self, want: usize, helpers: usize) -> usize {
        let deadline =
            Instant::now() + Duration::from_secs(10) + Duration::from_millis(5) * want as u32;
        let (mut last, mut since) = (usize::MAX, Instant::now());
        loop {
            let taken =
                open_descriptors().saturating_sub(self.base + 2 * helpers) / self.per_client;
            if taken >= want {
                return taken;
            }
            if taken != last {
                (last, since) = (taken, Instant::now());
            }
            if since.elapsed() > Duration::from_millis(500) || Instant::now() > deadline {
                return taken;
            }
            // Another thread's accepts leave no event here to wait on.
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// VmRSS of `/proc/PID/status`, in bytes.
fn rss(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The server's resident memory: this process's, plus each running child's.
fn server_rss(server: &ModelServer) -> Option<u64> {
    let children: u64 = server
        .stats()
        .children
        .iter()
        .filter(|c| c.exit.is_none())
        .filter_map(|c| rss(&c.pid.to_string()))
        .sum();
    Some(rss("self")? + children)
}

/// The server's resident memory once two samples 100 ms apart agree, or after 2 s.
fn settled_rss(server: &ModelServer) -> Option<u64> {
    let mut last = server_rss(server)?;
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(100));
        let now = server_rss(server)?;
        if now == last {
            return Some(now);
        }
        last = now;
    }
    Some(last)
}
