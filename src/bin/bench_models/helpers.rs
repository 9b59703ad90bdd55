//! The idle clients, held by helper copies of this program, and the watchdog.
//!
//! Thousands of idle clients do not fit in the bench's own descriptor table beside the
//! server's ends of the same connections (the servers run inside the bench), so each helper
//! (`bench_models --idle-helper ADDR N`) opens up to [`PER_HELPER`] connections and holds
//! them until its stdin closes. Every helper is killed and reaped when its guard drops, and
//! the watchdog kills the ones still alive before it ends a stuck run.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Connections per helper process: well under the descriptor limit of one process.
pub const PER_HELPER: usize = 4_000;

/// How long one connection may take to be established before the helper gives up. A
/// server whose listen queue is full makes the kernel drop the handshake's first packet,
/// which the client sends again after 1 s and 3 s: a server that is only slow to accept
/// gets those two chances, one that has stopped accepting does not keep the helper for the
/// minutes a client would otherwise retry.
pub const CONNECT_WITHIN: Duration = Duration::from_millis(3500);

/// How long a helper may take to report, however many connections it opens.
const REPORT_WITHIN: Duration = Duration::from_secs(60);

/// Helpers alive now, so the watchdog can kill them before it exits the process.
static CHILDREN: Mutex<Vec<Arc<Mutex<Child>>>> = Mutex::new(Vec::new());

/// A helper that is killed and reaped when this is dropped, on success or error.
pub struct Helper {
    child: Arc<Mutex<Child>>,
    /// The connections it reported open.
    pub connected: usize,
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(mut all) = CHILDREN.lock() {
            all.retain(|c| !Arc::ptr_eq(c, &self.child));
        }
    }
}

/// Starts a helper that opens `n` connections to `addr`, and waits for its report. `Err`
/// carries the helper, with what it did open, and why it stopped short.
pub fn open_idle(addr: SocketAddr, n: usize) -> Result<Helper, (Option<Helper>, String)> {
    let me = std::env::current_exe()
        .map_err(|e| (None, format!("cannot find this program's path: {e}")))?;
    let mut child = Command::new(me)
        .args(["--idle-helper", &addr.to_string(), &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| (None, format!("cannot start an idle-client helper: {e}")))?;
    let stdout = child.stdout.take();
    let child = Arc::new(Mutex::new(child));
    if let Ok(mut all) = CHILDREN.lock() {
        all.push(Arc::clone(&child));
    }
    let mut helper = Helper {
        child,
        connected: 0,
    };
    let Some(stdout) = stdout else {
        return Err((Some(helper), "the helper has no stdout pipe".into()));
    };
    let lines = forward_lines(stdout);
    let line = match lines.recv_timeout(REPORT_WITHIN) {
        Ok(line) => line,
        Err(RecvTimeoutError::Timeout) => {
            let e = format!("the helper did not report within {REPORT_WITHIN:?}");
            return Err((Some(helper), e));
        }
        Err(RecvTimeoutError::Disconnected) => {
            let e = "the helper exited without a report (its error is above)".into();
            return Err((Some(helper), e));
        }
    };
    // `connected K of N` or `connected K of N; STOPPED_BECAUSE`.
    let (counts, stopped) = line.split_once("; ").unwrap_or((&line, ""));
    helper.connected = counts
        .strip_prefix("connected ")
        .and_then(|c| c.split(' ').next())
        .and_then(|k| k.parse().ok())
        .unwrap_or(0);
    if stopped.is_empty() && helper.connected == n {
        Ok(helper)
    } else {
        let e = format!("{counts}; {stopped}");
        Err((Some(helper), e))
    }
}

/// A thread reads the helper's stdout to its end, so the helper never blocks on the pipe.
fn forward_lines(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// `bench_models --idle-helper ADDR N`: opens up to `n` connections, one after another, and
/// stops at the first that is not established within [`CONNECT_WITHIN`]; prints
/// `connected K of N` (and why it stopped, if it did), then holds them without a byte sent
/// until stdin closes (the bench kills it, or dies).
pub fn helper(addr: SocketAddr, n: usize) -> Result<(), String> {
    tcpserverlib::raise_fd_limit().map_err(|e| format!("descriptor limit: {e}"))?;
    let mut held = Vec::with_capacity(n);
    let mut stopped = String::new();
    for i in 0..n {
        match TcpStream::connect_timeout(&addr, CONNECT_WITHIN) {
            Ok(s) => held.push(s),
            Err(e) => {
                stopped = format!("; connection {} was not established: {e}", i + 1);
                break;
            }
        }
    }
    tcpserverlib::say!("connected {} of {n}{stopped}", held.len());
    tcpserverlib::printer::flush();
    let _ = io::stdin().read_to_end(&mut Vec::new());
    drop(held);
    Ok(())
}

/// Last resort against a hang: if the run outlives `limit`, kill the helpers and exit 1.
/// The model servers' children then read end of stream from their clients and leave.
/// Dropping the watchdog disarms it.
pub struct Watchdog {
    /// Dropped with the watchdog, which wakes its thread with `Disconnected`: disarmed.
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    pub fn arm(limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let started = Instant::now();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                let _ = writeln!(
                    io::stderr(),
                    "bench_models: the run did not finish within {:?}; giving up",
                    started.elapsed()
                );
                if let Ok(all) = CHILDREN.lock() {
                    for child in all.iter() {
                        if let Ok(mut c) = child.lock() {
                            let _ = c.kill();
                            let _ = c.wait();
                        }
                    }
                }
                tcpserverlib::say!("FAIL: stuck, stopped by the watchdog after {limit:?}");
                tcpserverlib::printer::flush();
                std::process::exit(1);
            }
        });
        Watchdog { _disarm: tx }
    }
}
