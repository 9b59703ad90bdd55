//! Scenario `idle`: one client's round trips while many other connections sit idle, and what
//! each idle connection costs the server in memory.
//!
//! A `poll` server hands the kernel its whole descriptor list on every wait, so each idle
//! connection slows every wake-up; `epoll` keeps the list in the kernel; threads park one
//! thread per connection. The idle connections are held by helper copies of this program
//! (at most [`PER_HELPER`] each), so their descriptors count against the helpers' limits.
//!
//! They are opened once per variant and kept for all its rounds, and the server is killed
//! before they are closed: the server's side then holds the TIME_WAIT entries, and the
//! client side's ephemeral ports are free again at once.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::args::Options;
use crate::process::{expect_line, spawn_with_lines, ChildGuard, Server, Variant};
use crate::stats::Figures;
use crate::traffic::*;
use crate::Target;

/// Idle connections per helper process: well under a soft descriptor limit raised to a
/// modest hard limit.
pub const PER_HELPER: usize = 5_000;
/// How long the server may take to accept every idle connection.
const ACCEPT_ALL: Duration = Duration::from_secs(60);

/// A variant's server with its idle connections and its one active client.
pub struct Idle {
    /// Declared first so it is dropped (killed) first: see the module's note on TIME_WAIT.
    _server: Server,
    active: TcpStream,
    /// Dropped last: killing a helper closes its idle connections.
    _helpers: Vec<ChildGuard>,
    payload: usize,
    rss_per_idle: Option<f64>,
    seq: u64,
}

impl Idle {
    pub fn setup(o: &Options, variant: &Variant) -> Result<Idle, String> {
        let server = Server::start(o, variant, "length")?;
        let (rss_before, fds_before) = (server.rss(), server.descriptors());
        let me =
            std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
        let mut helpers = Vec::new();
        for first in (0..o.idle).step_by(PER_HELPER) {
            let n = PER_HELPER.min(o.idle - first);
            let mut cmd = Command::new(&me);
            cmd.args(["--idle-helper", &server.addr.to_string(), &n.to_string()]);
            helpers.push(spawn_with_lines(cmd, "an idle-connection helper")?);
        }
        for (_, lines) in &helpers {
            expect_line(lines, "connected", ACCEPT_ALL, "an idle-connection helper")?;
        }
        let helpers = helpers.into_iter().map(|(guard, _)| guard).collect();
        let rss_per_idle = match (rss_before, fds_before) {
            (Some(before), Some(fds)) => {
                wait_for_descriptors(&server, fds + o.idle)?;
                let after = settled_rss(&server).unwrap_or(before);
                Some((after as f64 - before as f64) / o.idle as f64)
            }
            _ => None,
        };
        tcpserverlib::say!(
            "  {:<8} {} idle connections open; server RSS {}",
            variant.name(),
            o.idle,
            rss_per_idle.map_or("unknown (no /proc)".into(), |b| format!(
                "+{b:.0} bytes per idle connection"
            ))
        );
        let active = connect(server.addr)?;
        Ok(Idle {
            _server: server,
            active,
            _helpers: helpers,
            payload: o.payload,
            rss_per_idle,
            seq: 0,
        })
    }
}

/// Waits until the server holds `want` descriptors: every idle connection accepted.
fn wait_for_descriptors(server: &Server, want: usize) -> Result<(), String> {
    let deadline = Instant::now() + ACCEPT_ALL;
    loop {
        let held = server.descriptors().unwrap_or(0);
        if held >= want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the server holds {held} descriptors after {ACCEPT_ALL:?}, expected {want}: \
                 it did not accept every idle connection (tcpserver refuses clients past \
                 its cap of 10 000; see --idle)"
            ));
        }
        // Watching another process's /proc entry: there is no event to wait on.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server's RSS once two samples 100 ms apart agree (its accept and registration work
/// is done), or after 2 s.
fn settled_rss(server: &Server) -> Option<u64> {
    let mut last = server.rss()?;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        let now = server.rss()?;
        if now == last {
            return Some(now);
        }
        last = now;
    }
    Some(last)
}

impl Target for Idle {
    fn round(&mut self, o: &Options) -> Result<Figures, String> {
        let clock = Clock::start(o.seconds);
        let (mut payload, mut echo) = (vec![0; self.payload], Vec::new());
        let (mut count, mut latencies) = (0u64, Vec::new());
        while Instant::now() < clock.end {
            fill_payload(0, self.seq, &mut payload);
            let request = length_frame(&payload);
            let what = format!("the active client, message {}", self.seq);
            let rtt = round_trip(&mut self.active, &request, &mut echo, &what)?;
            self.seq += 1;
            if clock.counts(Instant::now()) {
                count += 1;
                latencies.push(rtt.as_nanos() as u64);
            }
        }
        Ok(Figures::from(count, clock.window(), latencies))
    }

    fn rss_per_idle(&self) -> Option<f64> {
        self.rss_per_idle
    }
}

/// `bench_echo --idle-helper ADDR N`: opens `n` connections, prints `connected N`, holds
/// them without a byte sent until stdin closes (the bench kills it, or dies).
pub fn helper(addr: SocketAddr, n: usize) -> Result<(), String> {
    tcpserverlib::raise_fd_limit().map_err(|e| format!("descriptor limit: {e}"))?;
    let held = (0..n)
        .map(|i| {
            TcpStream::connect_timeout(&addr, STALL)
                .map_err(|e| format!("idle connection {i} of {n} to {addr}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    tcpserverlib::say!("connected {}", held.len());
    tcpserverlib::printer::flush();
    let _ = io::stdin().read_to_end(&mut Vec::new());
    drop(held);
    Ok(())
}
