//! Child processes: the server under test and the never-reader helpers, and the watchdog.
//!
//! Every child is killed and reaped when its guard drops, on success and on error, so a
//! failed scenario leaves no server behind; the watchdog is the last resort against a hang.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::Options;

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

/// Last resort against a hang: if a scenario outlives `limit`, kill the children and exit 1.
/// Dropping the watchdog disarms it.
pub struct Watchdog {
    /// Dropped with the watchdog, which wakes its thread with `Disconnected`: disarmed.
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    pub fn arm(scenario: &'static str, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                let _ = writeln!(
                    std::io::stderr(),
                    "bench_load: {scenario} did not finish within {limit:?}; giving up"
                );
                if let Ok(all) = CHILDREN.lock() {
                    for child in all.iter() {
                        if let Ok(mut c) = child.lock() {
                            let _ = c.kill();
                            let _ = c.wait();
                        }
                    }
                }
                tcpserverlib::say!("FAIL {scenario}: stuck, stopped by the watchdog");
                tcpserverlib::printer::flush();
                std::process::exit(1);
            }
        });
        Watchdog { _disarm: tx }
    }
}

/// Spawns `cmd` with piped stdout; a thread forwards every line to the receiver and keeps
/// reading to EOF, so the child never blocks on a full pipe.
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

/// Waits for the first line starting with `prefix`; other lines are skipped.
pub fn expect_line(
    rx: &Receiver<String>,
    prefix: &str,
    within: Duration,
    what: &str,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return Ok(line),
            Ok(line) if line.starts_with("error") => return Err(format!("{what}: {line}")),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "{what} printed no {prefix:?} line within {within:?}"
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!(
                    "{what} exited before printing a {prefix:?} line (its error, if any, is above)"
                ))
            }
        }
    }
}

/// The server under test, in its own process.
pub struct Server {
    pub child: ChildGuard,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(o: &Options, framing: &str) -> Result<Server, String> {
        let path = match &o.server {
            Some(path) => path.clone(),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find this program's path: {e}"))?
                .with_file_name("tcpserver"),
        };
        let mut args = vec!["--no-shell", "--quiet", "--echo", "--addr", "127.0.0.1:0"];
        args.extend(["--framing", framing]);
        args.extend(o.server_args.iter().map(String::as_str));
        let mut cmd = Command::new(&path);
        cmd.args(&args);
        let what = format!("the server {}", path.display());
        let (child, lines) = spawn_with_lines(cmd, &what).map_err(|e| {
            format!("{e} (build it with `cargo build --release --bins`, or pass --server PATH)")
        })?;
        let line = expect_line(&lines, "tcp-server", Duration::from_secs(10), &what)?;
        let addr = listen_addr(&line)?;
        tcpserverlib::say!(
            "server: {} {} (pid {}) on {addr}",
            path.display(),
            args.join(" "),
            child.id()
        );
        Ok(Server { child, addr })
    }
}

/// The address in `tcp-server "NAME" listening on 127.0.0.1:PORT, framing: ...`.
fn listen_addr(line: &str) -> Result<SocketAddr, String> {
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

    /// The address is read from the server's start line, up to the comma.
    #[test]
    fn reads_the_address_from_the_start_line() {
        let line = "tcp-server \"default\" listening on 127.0.0.1:40123, framing: none (bytes delivered as they arrive); try `nc 127.0.0.1 40123` in another terminal";
        assert_eq!(listen_addr(line), Ok("127.0.0.1:40123".parse().unwrap()));
        assert!(listen_addr("error: nope").is_err());
    }
}
