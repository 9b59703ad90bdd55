//! Chapter 11's programs: the `ch11` story (its output is the book's "Run it", figures
//! aside) and the `tcpserver` shell in client mode, driven as a student would.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

mod story;

use story::Running;

/// Reached only when something is broken.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `ch11` tells its story and exits 0 by itself: retries while nothing listens, the active
/// client in `show`, messages both ways, the reconnect. The book's `output/ch11.txt` is that
/// output, line for line, figures aside (and the DRS's poller, which `TCPSERVERLIB_POLLER`
/// may change).
#[test]
fn ch11_tells_the_client_mode_story() {
    let out = story::story_matches_the_book("ch11");
    story::says(
        &out,
        "ch11",
        &[
            "failed (Connection refused",
            "[LISTENED|ACTIVE]",
            "connected as client #",
            "B received \"hello from A\"",
            "A received \"hello from B\"",
            "disconnected: peer closed",
            "client #2 connected to",
            "disconnected: server shutdown",
        ],
    );
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
    let mut shell = Running::bin("tcpserver", &["--addr", "127.0.0.1:0"]);
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
