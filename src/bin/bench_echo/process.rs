//! The servers under test, in their own processes: `tcpserver` with a poller, or this
//! program's baseline; started, their start line read, killed and reaped with their guard.
//! The child guards and the watchdog are shared with `bench_load`
//! (`src/bin/common/children.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::args::Options;
pub use crate::children::{expect_line, listen_addr, spawn_with_lines, ChildGuard, Watchdog};

/// One server under test: tcpserver with a poller, or this program's baseline mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `tcpserver --poller X`; `None` passes no `--poller` flag (the server's default).
    Tcpserver(Option<String>),
    /// `bench_echo --baseline-server`: blocking, one thread per connection.
    Threads,
}

impl Variant {
    /// Every variant the options ask for: the pollers, then the baseline.
    pub fn all(o: &Options) -> Vec<Variant> {
        let mut v: Vec<Variant> = o.pollers.iter().cloned().map(Variant::Tcpserver).collect();
        v.push(Variant::Threads);
        v
    }

    pub fn name(&self) -> &str {
        match self {
            Variant::Tcpserver(Some(poller)) => poller,
            Variant::Tcpserver(None) => "default",
            Variant::Threads => "threads",
        }
    }
}

/// A server process under test, killed and reaped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub pid: u32,
    /// Held only to be dropped: that kills the server.
    _child: ChildGuard,
}

impl Server {
    pub fn start(o: &Options, variant: &Variant, framing: &str) -> Result<Server, String> {
        let me =
            std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
        let (path, args) = match variant {
            Variant::Threads => (
                me,
                vec![
                    "--baseline-server".into(),
                    "--framing".into(),
                    framing.into(),
                ],
            ),
            Variant::Tcpserver(poller) => {
                let path = o.server.clone().unwrap_or(me.with_file_name("tcpserver"));
                let mut args: Vec<String> =
                    ["--no-shell", "--quiet", "--echo", "--addr", "127.0.0.1:0"]
                        .map(String::from)
                        .into();
                args.extend(["--framing".into(), framing.into()]);
                if let Some(p) = poller {
                    args.extend(["--poller".into(), p.clone()]);
                }
                args.extend(o.server_args.iter().cloned());
                (path, args)
            }
        };
        let mut cmd = Command::new(&path);
        cmd.args(&args);
        let what = format!("the {} server ({})", variant.name(), path.display());
        let (child, lines) = spawn_with_lines(cmd, &what).map_err(|e| {
            format!("{e} (build it with `cargo build --release --bins`, or pass --server PATH)")
        })?;
        let line = expect_line(&lines, "listening on ", Duration::from_secs(10), &what)?;
        let addr = listen_addr(&line)?;
        let pid = child.id();
        tcpserverlib::say!(
            "  {:<8} {} {} (pid {pid}) on {addr}",
            variant.name(),
            short(&path),
            args.join(" ")
        );
        Ok(Server {
            addr,
            pid,
            _child: child,
        })
    }

    /// The server's resident memory (VmRSS), in bytes; `None` without /proc.
    pub fn rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// How many descriptors the server holds; `None` without /proc.
    pub fn descriptors(&self) -> Option<usize> {
        Some(
            std::fs::read_dir(format!("/proc/{}/fd", self.pid))
                .ok()?
                .count(),
        )
    }
}

/// The program's file name alone: the table stays readable, and the path is `--server`'s.
fn short(path: &std::path::Path) -> String {
    path.file_name()
        .map(PathBuf::from)
        .unwrap_or(path.to_path_buf())
        .display()
        .to_string()
}
