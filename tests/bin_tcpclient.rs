//! The `tcpclient` binary against the `tcpserver` shell and against a bare listener: typed
//! lines come back in the chosen framing, a file is replayed, `--retry` waits for a server,
//! keep-alives are counted and not printed, mistakes get one clear error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

/// Reached only when something is broken.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `tcpserver --echo --framing length --quiet --no-shell` on a free port, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(framing: &str) -> Server {
        let mut child = StdCommand::new(cargo_bin("tcpserver"))
            .args(["--echo", "--framing", framing, "--quiet", "--no-shell"])
            .args(["--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let rest = first.split("listening on ").nth(1).expect("a start line");
        let addr = rest.split(',').next().unwrap().parse().unwrap();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs tcpclient to its end with `stdin`; its exit status, stdout and stderr.
fn client(args: &[&str], stdin: &str) -> (bool, String, String) {
    let out = Command::new(cargo_bin("tcpclient"))
        .args(args)
        .write_stdin(stdin)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Typed lines sent with `--framing length` come back from the echo server, one per line,
/// and the client exits 0 at the end of stdin.
#[test]
fn typed_lines_come_back() {
    let server = Server::start("length");
    let port = server.addr.port().to_string();
    let (ok, out, err) = client(
        &["--framing", "length", "127.0.0.1", &port],
        "hello\nhow are you\n\n",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "hello\nhow are you\n");
    // The empty line goes out as a header-only frame and its echo comes back as one, which
    // the client counts as a keep-alive instead of printing it.
    assert!(
        err.contains("3 messages sent, 2 messages received, 1 keep-alive"),
        "{err}"
    );
}

/// `--replay FILE` sends every line of the file, then goes on with stdin.
#[test]
fn a_file_is_replayed_then_stdin() {
    let server = Server::start("length-le");
    let port = server.addr.port().to_string();
    let dir = std::env::temp_dir().join(format!("tcpclient-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("messages.txt");
    std::fs::write(&file, "one\r\ntwo\nthree\n").unwrap();
    let (ok, out, err) = client(
        &[
            "--framing",
            "length-le",
            "--replay",
            file.to_str().unwrap(),
            "127.0.0.1",
            &port,
        ],
        "four\n",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{err}");
    assert_eq!(out, "one\ntwo\nthree\nfour\n");
}

/// With `--retry`, a refused connect is retried at the interval until a server appears;
/// the messages it sends are printed, a keep-alive (header-only frame) is counted, not
/// printed.
#[test]
fn retry_connects_once_a_server_appears() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = StdCommand::new(cargo_bin("tcpclient"))
        .args(["--framing", "length", "--retry", "0.1", "127.0.0.1"])
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.contains("refused the connection; retrying every 0.10 s"),
        "{line}"
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(TIMEOUT)).unwrap();
    peer.write_all(b"\x00\x07hello\x00\x02").unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hi\n").unwrap();
    let mut got = [0u8; 4];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"\x00\x04hi");
    drop(stdin);
    let mut end = [0u8; 1];
    assert_eq!(
        peer.read(&mut end).unwrap(),
        0,
        "the client half-closes at stdin's end"
    );
    drop(peer);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert_eq!(out, "hello\n");
    assert!(
        rest.contains("1 keep-alive (empty messages) received"),
        "{rest}"
    );
}

/// A refused connect without `--retry`, a framing error from the peer, a reset, and bad
/// arguments each end with one clear error and a failure status.
#[test]
fn failures_are_explained() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let (ok, _, err) = client(&["127.0.0.1", &port], "");
    assert!(
        !ok && err.contains("refused (no server listens there"),
        "{err}"
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // A header announcing 1 byte in all: shorter than the header itself.
        s.write_all(b"\x00\x01").unwrap();
        let _ = s.read(&mut [0u8; 16]);
    });
    let (ok, _, err) = client(&["--framing", "length", "127.0.0.1", &port], "");
    assert!(!ok && err.contains("the server broke the framing"), "{err}");
    peer.join().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        // Closed with the client's message unread: the kernel answers with a reset.
        let _ = s.peek(&mut [0u8; 1]);
    });
    let (ok, _, err) = client(&["--framing", "length", "127.0.0.1", &port], "unread\n");
    peer.join().unwrap();
    assert!(!ok && err.contains("reset by the server"), "{err}");

    let (ok, _, err) = client(&["--framing", "fixed:x", "127.0.0.1", "1"], "");
    assert!(!ok && err.contains("expected fixed:N"), "{err}");
}
