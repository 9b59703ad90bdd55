//! Benchmark: memory per idle client. Run: `cargo run --release --bin bench_idle`.
//!
//! Starts a server, then a second copy of this program (so the 10 000 client sockets count
//! against that process's descriptor limit, not ours) that opens 10 000 connections and
//! keeps them idle. The server's resident memory (VmRSS) is read before and after, for
//! framings with and without a receive circular buffer (a length-prefixed client needs room
//! for one whole maximum-size message), and with every client on a thread of its own
//! (chapter 10's multi-threaded mode, fewer clients); kernel socket buffers are not part of it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tcpserverlib::demo::{Event, Recorder};
use tcpserverlib::say;
use tcpserverlib::{Config, TcpServer};

const CLIENTS: usize = 10_000;
/// Clients of the multi-threaded measurement: one thread each.
const THREADED_CLIENTS: usize = 2_000;

fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The client side: open `n` connections, say "ready", hold them until stdin closes.
fn hold_clients(addr: SocketAddr, n: usize) -> Result<(), String> {
    let mut keep = Vec::with_capacity(n);
    for _ in 0..n {
        keep.push(TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?);
    }
    say!("ready");
    tcpserverlib::printer::flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    Ok(())
}

fn measure(framing: &str, threaded: bool) -> Result<(), String> {
    let clients = if threaded { THREADED_CLIENTS } else { CLIENTS };
    let (recorder, events) = Recorder::silent();
    let framing: tcpserverlib::Framing = framing.parse().map_err(|e| format!("{e}"))?;
    let config = Config {
        framing: framing.clone(),
        max_clients: clients + 10,
        ..Config::default()
    };
    let server = TcpServer::with_config("idle", "127.0.0.1:0", config, recorder)
        .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    server.set_multi_threaded(threaded);
    let addr = server.local_addr().ok_or("no address")?;
    let before = rss_bytes().ok_or("no /proc/self/status (Linux only)")?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(me)
        .args(["--hold", &addr.to_string(), &clients.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the client process: {e}"))?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(60));
    let mut connected = 0;
    while connected < clients {
        match events.next(Duration::from_secs(30)) {
            Some(Event::Connected(_)) => connected += 1,
            Some(_) => {}
            None => break,
        }
    }
    let after = rss_bytes().ok_or("no RSS")?;
    drop(child.stdin.take());
    let _ = child.wait();
    if ready.as_deref() != Ok("ready") || connected < clients {
        return Err(format!("only {connected} of {clients} clients connected"));
    }
    let per_client = (after.saturating_sub(before)) as f64 / clients as f64;
    let label = if threaded {
        format!("{framing}, a thread per client")
    } else {
        framing.to_string()
    };
    say!(
        "{:<72} | {clients:>7} | {:>9.1} MiB | {:>9.1} MiB | {per_client:>8.0}",
        label,
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    server.stop();
    Ok(())
}

/// Measures in a new process, so memory the allocator kept from one measurement does not
/// hide the next one's.
fn in_fresh_process(framing: &str, threaded: bool) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mode = if threaded { "threaded" } else { "multiplexed" };
    let status = Command::new(me)
        .args(["--measure", framing, mode])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("measuring {framing} failed"))
    }
}

fn main() {
    run();
    // Every line queued for stdout is written before the process ends.
    tcpserverlib::printer::flush();
}

fn run() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, addr, n] if flag == "--hold" => match (addr.parse(), n.parse()) {
            (Ok(addr), Ok(n)) => hold_clients(addr, n),
            _ => Err("usage: bench_idle --hold ADDR N".into()),
        },
        [flag, framing, mode] if flag == "--measure" => measure(framing, mode == "threaded"),
        [] => {
            say!("command: cargo run --release --bin bench_idle");
            say!(
                "{:<72} | clients | RSS before    | RSS after     | bytes/client",
                "framing (each measured in a fresh process)"
            );
            ["none", "line", "length", "fixed:65535"]
                .iter()
                .try_for_each(|framing| in_fresh_process(framing, false))
                .and_then(|()| in_fresh_process("length", true))
        }
        _ => Err("usage: cargo run --release --bin bench_idle".into()),
    };
    if let Err(e) = result {
        let _ = writeln!(std::io::stderr(), "bench_idle: {e}");
        tcpserverlib::printer::flush();
        std::process::exit(1);
    }
}
