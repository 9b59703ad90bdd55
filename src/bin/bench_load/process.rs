//! The server under test, in its own process: started, its start line read, killed and
//! reaped with its guard. The child guards and the watchdog are shared with `bench_echo`
//! (`src/bin/common/children.rs`).

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::args::Options;
pub use crate::children::{expect_line, listen_addr, spawn_with_lines, ChildGuard, Watchdog};

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
