//! Scenario `never-readers`: clients that push and never read, in helper processes.
//!
//! A server with backpressure stops reading a client whose output it cannot deliver, so its
//! memory stays bounded however much the clients push; and it still serves everyone else.
//! The clients live in helper copies of this program so their sockets count against the
//! helpers' descriptor limits, not ours.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::args::Options;
use crate::process::{expect_line, spawn_with_lines, Server};
use crate::traffic::*;
use crate::Verdict;

/// Never-reader clients per helper process: keeps each process's descriptors well under the
/// default soft limit of 1024 (and under the ~450 this bench allows itself per process).
const HELPER_CLIENTS: usize = 200;

/// Server RSS, sampled every 0.5 s from /proc/PID/status until the sampler is stopped.
struct RssSampler {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<(Option<u64>, Option<u64>)>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let (stop, rx) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let (first, mut max) = (rss_kib(pid), None);
            loop {
                max = max.max(rss_kib(pid));
                if !matches!(
                    rx.recv_timeout(Duration::from_millis(500)),
                    Err(RecvTimeoutError::Timeout)
                ) {
                    return (first, max);
                }
            }
        });
        RssSampler { stop, thread }
    }

    /// Returns (RSS at start, maximum RSS) in KiB, `None` where /proc could not be read.
    fn finish(self) -> (Option<u64>, Option<u64>) {
        drop(self.stop);
        self.thread.join().unwrap_or((None, None))
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn never_readers(o: &Options) -> Result<Verdict, String> {
    let clients = o.clients.unwrap_or(200);
    let bytes = o.bytes.unwrap_or(16 << 20);
    let seconds = o.seconds.unwrap_or(20.0);
    tcpserverlib::say!("== never-readers: {clients} clients push up to {bytes} bytes each for up to {seconds} s and never read (framing none)");
    let server = Server::start(o, "none")?;
    let sampler = RssSampler::start(server.child.id());
    let me =
        std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let mut helpers = Vec::new();
    for first in (0..clients).step_by(HELPER_CLIENTS) {
        let n = HELPER_CLIENTS.min(clients - first);
        let mut cmd = Command::new(&me);
        cmd.args([
            "--never-reader-helper",
            &server.addr.to_string(),
            &n.to_string(),
            &bytes.to_string(),
            &seconds.to_string(),
        ]);
        helpers.push(spawn_with_lines(cmd, "a never-reader helper process")?);
    }
    for (_, lines) in &helpers {
        expect_line(
            lines,
            "connected",
            Duration::from_secs(30),
            "a never-reader helper",
        )?;
    }
    let start = Instant::now();
    let mut pushed = 0u64;
    for (_, lines) in &helpers {
        let line = expect_line(
            lines,
            "pushed",
            Duration::from_secs_f64(seconds + 10.0),
            "a never-reader helper",
        )?;
        tcpserverlib::say!("helper         {line}");
        pushed += line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    let push_time = start.elapsed();
    let echo = echo_probe(server.addr);
    let (first_rss, max_rss) = sampler.finish();
    drop(helpers);
    drop(server);
    let mib = |kib: Option<u64>| {
        kib.map_or("unknown (no /proc)".into(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    tcpserverlib::say!(
        "pushed         {pushed} bytes in total ({:.1} MiB, {} in {push_time:.2?})",
        pushed as f64 / MIB,
        rate(pushed, push_time)
    );
    tcpserverlib::say!(
        "server RSS     {} at start, max {} (limit {} MiB)",
        mib(first_rss),
        mib(max_rss),
        o.max_rss_mib
    );
    tcpserverlib::say!(
        "extra client   {}",
        match &echo {
            Ok(rtt) => format!("echo came back in {rtt:.2?}"),
            Err(e) => e.clone(),
        }
    );
    let mut problems = Vec::new();
    match max_rss {
        Some(k) if k <= o.max_rss_mib * 1024 => {}
        other => problems.push(format!(
            "server RSS {} passed the limit of {} MiB",
            mib(other),
            o.max_rss_mib
        )),
    }
    if let Err(e) = echo {
        problems.push(format!("extra client: {e}"));
    }
    Ok(if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems.join("; "))
    })
}

/// One more client sends a short message and times its echo, giving up after 5 s.
fn echo_probe(addr: SocketAddr) -> Result<Duration, String> {
    let mut s = connect(addr)?;
    let message = b"echo probe: are you still serving?\n";
    let start = Instant::now();
    s.write_all(message)
        .map_err(|e| format!("could not send its message: {e}"))?;
    let mut got = vec![0; message.len()];
    match s.read_exact(&mut got) {
        Ok(()) if got == message => Ok(start.elapsed()),
        Ok(()) => Err(format!(
            "echo came back different: {:?}",
            String::from_utf8_lossy(&got)
        )),
        Err(e) if is_timeout(&e) => Err(format!("no echo within {STALL:?}")),
        Err(e) => Err(format!("no echo: {e}")),
    }
}

/// Helper process: `n` clients push `bytes` each for up to `seconds`, never reading; prints
/// `connected N`, then `pushed TOTAL ERRORS`, then holds the sockets until stdin closes.
pub fn never_reader_helper(
    addr: SocketAddr,
    n: usize,
    bytes: u64,
    seconds: f64,
) -> Result<(), String> {
    let streams = (0..n)
        .map(|_| connect(addr))
        .collect::<Result<Vec<_>, _>>()?;
    say(&format!("connected {n}"));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut chunk = vec![0; 64 * 1024];
    ByteStream::new(7).fill(&mut chunk);
    let chunk = Arc::new(chunk);
    let stop = Arc::new(AtomicBool::new(false));
    let pushed = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for mut s in streams {
        let (chunk, stop, pushed) = (Arc::clone(&chunk), Arc::clone(&stop), Arc::clone(&pushed));
        let t = thread::Builder::new().stack_size(64 * 1024).spawn(move || {
            let mut left = bytes;
            while left > 0 && Instant::now() < deadline {
                let n = left.min(chunk.len() as u64) as usize;
                match push(&mut s, &chunk[..n], &stop, deadline) {
                    Ok(w) => {
                        left -= w as u64;
                        pushed.fetch_add(w as u64, Ordering::Relaxed);
                    }
                    Err(_) => return (s, 1),
                }
            }
            (s, 0)
        });
        threads.push(t.map_err(|e| format!("cannot start a client thread: {e}"))?);
    }
    let (mut keep, mut errors) = (Vec::new(), 0);
    for t in threads {
        let (s, e) = t.join().map_err(|_| "a client thread panicked")?;
        keep.push(s);
        errors += e;
    }
    say(&format!(
        "pushed {} bytes, {errors} clients stopped by a write error",
        pushed.load(Ordering::Relaxed)
    ));
    let _ = io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}
