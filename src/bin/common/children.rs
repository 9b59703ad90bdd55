//! What the load generators (`bench_load`, `bench_echo`) share: their child processes — the
//! server under test and the client helpers — guarded so that none outlives the run, the
//! watchdog that ends a run that hangs, and reading the server's start line. Included by each
//! with `#[path]`: a binary's modules cannot come from another binary.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Children alive now, so the watchdog can kill them before it exits the process.
static CHILDREN: Mutex<Vec<Arc<Mutex<Child>>>> = Mutex::new(Vec::new());

/// A child process that is killed and reaped when this is dropped, on success or error.
pub struct ChildGuard(Arc<Mutex<Child>>);

impl ChildGuard {
    fn new(child: Child) -> ChildGuard {
        let child = Arc::new(Mutex::new(child));
        if let Ok(mut all) = CHILDREN.lock() {
            all.push(Arc::clone(&child));
        }
        ChildGuard(child)
    }

    pub fn id(&self) -> u32 {
        self.0.lock().map(|c| c.id()).unwrap_or(0)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(mut child) = self.0.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(mut all) = CHILDREN.lock() {
            all.retain(|c| !Arc::ptr_eq(c, &self.0));
        }
    }
}

/// Last resort against a hang: if the run outlives `limit`, kill the children and exit 1.
/// Dropping the watchdog disarms it.
pub struct Watchdog {
    /// Dropped with the watchdog, which wakes its thread with `Disconnected`: disarmed.
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// `what` names the run in the messages, e.g. "bench_load: slow-reader".
    pub fn arm(what: String, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                let _ = writeln!(
                    std::io::stderr(),
                    "{what} did not finish within {limit:?}; giving up"
                );
                kill_all();
                tcpserverlib::say!("FAIL {what}: stuck, stopped by the watchdog after {limit:?}");
                tcpserverlib::printer::flush();
                std::process::exit(1);
            }
        });
        Watchdog { _disarm: tx }
    }
}

fn kill_all() {
    if let Ok(all) = CHILDREN.lock() {
        for child in all.iter() {
            if let Ok(mut c) = child.lock() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Spawns `cmd` with piped stdin and stdout; a thread forwards every stdout line to the
/// receiver and keeps reading to EOF, so the child never blocks on a full pipe. The stdin
/// pipe stays open until the child is killed: helpers leave when it closes, so they do not
/// outlive this process even if it is killed.
pub fn spawn_with_lines(
    mut cmd: Command,
    what: &str,
) -> Result<(ChildGuard, Receiver<String>), String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let stdout = child.stdout.take();
    let guard = ChildGuard::new(child);
    let stdout = stdout.ok_or(format!("{what} has no stdout pipe"))?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Ok((guard, rx))
}

/// Waits for the first line containing `needle`; other lines are skipped.
pub fn expect_line(
    rx: &Receiver<String>,
    needle: &str,
    within: Duration,
    what: &str,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Ok(line),
            Ok(line) if line.starts_with("error") => return Err(format!("{what}: {line}")),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "{what} printed no {needle:?} line within {within:?}"
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!(
                    "{what} exited before printing a {needle:?} line (its error, if any, is above)"
                ))
            }
        }
    }
}

/// The address in `... listening on 127.0.0.1:PORT, ...` (the start line of `tcpserver` and
/// of `bench_echo`'s baseline server).
pub fn listen_addr(line: &str) -> Result<SocketAddr, String> {
    line.split_once("listening on ")
        .and_then(|(_, rest)| rest.split(',').next())
        .and_then(|addr| addr.trim().parse().ok())
        .ok_or(format!(
            "expected the server to print `listening on ADDR, ...`; it printed {line:?}"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address is read from the start line, up to the comma, for both kinds of server.
    #[test]
    fn reads_the_address_from_the_start_line() {
        let line = "tcp-server \"default\" listening on 127.0.0.1:40123, framing: none (bytes delivered as they arrive); try `nc 127.0.0.1 40123` in another terminal";
        assert_eq!(listen_addr(line), Ok("127.0.0.1:40123".parse().unwrap()));
        let line = "baseline echo server listening on 127.0.0.1:5, framing: length";
        assert_eq!(listen_addr(line), Ok("127.0.0.1:5".parse().unwrap()));
        assert!(listen_addr("error: nope").is_err());
    }
}
