//! Chapter 11's programs: the `ch11` story (its output is the book's "Run it", figures
//! aside) and the `tcpserver` shell in client mode, driven as a student would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command as StdCommand, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

/// Reached only when something is broken.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Replaces every run of digits with `#`: what stays of a line whose figures change from run
/// to run.
fn without_figures(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `ch11` tells its story and exits 0 by itself: retries while nothing listens, the active
/// client in `show`, messages both ways, the reconnect. The book's `output/ch11.txt` is that
/// output, line for line, figures aside (and the DRS's poller, which `TCPSERVERLIB_POLLER`
/// may change).
#[test]
fn ch11_tells_the_client_mode_story() {
    let assert = Command::new(cargo_bin("ch11"))
        .timeout(TIMEOUT)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for line in out.lines() {
        assert!(
            line.starts_with("[ch11]"),
            "unprefixed line {line:?}:\n{out}"
        );
    }
    for word in [
        "failed (Connection refused",
        "[LISTENED|ACTIVE]",
        "connected as client #",
        "B received \"hello from A\"",
        "A received \"hello from B\"",
        "disconnected: peer closed",
        "client #2 connected to",
        "disconnected: server shutdown",
    ] {
        assert!(out.contains(word), "ch11 never says {word:?}:\n{out}");
    }
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/book/src/output/ch11.txt");
    let shown = std::fs::read_to_string(page).unwrap();
    let comparable = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains("poller:"))
            .map(without_figures)
            .collect()
    };
    assert_eq!(
        comparable(&out),
        comparable(&shown),
        "book/src/output/ch11.txt is no longer what ch11 prints; paste a fresh run into it"
    );
}

/// The shell as a child: its stdin, and its stdout line by line through a channel, so that
/// every wait has a timeout. Dropping it kills the child.
struct Shell {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Shell {
    fn start(args: &[&str]) -> Shell {
        let mut child = StdCommand::new(cargo_bin("tcpserver"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Shell {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line containing `needle`, or the test fails after TIMEOUT.
    fn line_with(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no line containing {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts one connection on `addr` on a thread; the test waits for it with a timeout.
fn accept_one(listener: TcpListener) -> Receiver<TcpStream> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let _ = tx.send(stream);
        }
    });
    rx
}

/// In the shell: `connect` to a port where nothing listens prints each failed attempt at
/// the interval; a listener that appears is connected (an active client); `send-msg`
/// reaches it; when it closes and comes back, the shell's server reconnects; `show` lists
/// the target as connected; `no connect` ends it.
#[test]
fn tcpserver_connects_out_and_reconnects() {
    let target: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (ip, port) = (target.ip(), target.port());
    let mut shell = Shell::start(&["--addr", "127.0.0.1:0"]);
    shell.line_with("listening on");
    shell.say("config tcp-server default connect-retry 0.1");
    shell.line_with("connect retry every 0.1 s");
    shell.say(&format!("config tcp-server default connect {ip} {port}"));
    shell.line_with(&format!("connects to {target}"));
    for _ in 0..2 {
        shell.line_with(&format!("connect to {target} failed"));
    }

    let arrived = accept_one(TcpListener::bind(target).unwrap());
    let mut peer = arrived
        .recv_timeout(TIMEOUT)
        .expect("the shell's server connects");
    peer.set_read_timeout(Some(TIMEOUT)).unwrap();
    shell.line_with(&format!("connected to {target} (active"));
    // The course's argument order, and the older one: whichever this shell parses.
    shell.say(&format!(
        "run tcp-server default send-msg {ip} {port} hello"
    ));
    shell.say(&format!(
        "run tcp-server default send-msg hello {ip} {port}"
    ));
    let mut got = [0u8; 5];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello");

    drop(peer);
    shell.line_with("disconnected: peer closed");
    shell.line_with(&format!("connect to {target} failed"));
    let arrived = accept_one(TcpListener::bind(target).unwrap());
    let _peer = arrived
        .recv_timeout(TIMEOUT)
        .expect("the shell's server reconnects");
    shell.line_with(&format!("connected to {target} (active"));
    shell.say("show tcp-server default");
    let line = shell.line_with("connect:");
    assert!(line.contains("connected as client #"), "{line}");
    shell.say(&format!("config tcp-server default no connect {ip} {port}"));
    shell.line_with(&format!("no longer connects to {target}"));
    shell.say("exit");
    shell.line_with("bye");
}
