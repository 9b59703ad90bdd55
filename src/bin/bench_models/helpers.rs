//! The idle clients, held by helper copies of this program.
//!
//! Thousands of idle clients do not fit in the bench's own descriptor table beside the
//! server's ends of the same connections (the servers run inside the bench), so each helper
//! (`bench_models --idle-helper ADDR N`) opens up to [`PER_HELPER`] connections and holds
//! them until its stdin closes. Every helper is killed and reaped when its guard drops, and
//! the watchdog (shared with the other load generators, `src/bin/common/children.rs`) kills
//! the ones still alive before it ends a stuck run.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::children::{expect_line, spawn_with_lines, ChildGuard};

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

/// A helper that is killed and reaped when this is dropped, on success or error.
pub struct Helper {
    _child: ChildGuard,
    /// The connections it reported open.
    pub connected: usize,
}

/// Starts a helper that opens `n` connections to `addr`, and waits for its report. `Err`
/// carries the helper, with what it did open, and why it stopped short.
pub fn open_idle(addr: SocketAddr, n: usize) -> Result<Helper, (Option<Helper>, String)> {
    let me = std::env::current_exe()
        .map_err(|e| (None, format!("cannot find this program's path: {e}")))?;
    let mut cmd = Command::new(me);
    cmd.args(["--idle-helper", &addr.to_string(), &n.to_string()]);
    let what = "an idle-client helper";
    let (child, lines) = spawn_with_lines(cmd, what).map_err(|e| (None, e))?;
    let mut helper = Helper {
        _child: child,
        connected: 0,
    };
    let line = match expect_line(&lines, "connected ", REPORT_WITHIN, what) {
        Ok(line) => line,
        Err(e) => return Err((Some(helper), e)),
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
