//! Chapter 9's programs: the `ch9` story (and the book's copy of its output), `ch9 --listen`,
//! and the shell's `show tcp-server <name> stats`.
//!
//! Every child's output is read on a thread and handed over through a channel, so each wait
//! has a timeout; a child still running when a test ends is killed by [`Running`]'s `Drop`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

mod story;

use story::{address_in, Running, LINE_TIMEOUT};

/// `ch9` runs its story and exits 0: every line carries `[ch9]`, the counters are shown and
/// checked, and the book's "Run it" is what it prints, figures aside.
#[test]
fn ch9_tells_the_statistics_story() {
    let out = story::story_matches_the_book("ch9");
    story::says(
        &out,
        "ch9",
        &[
            "rejected by the server at its cap",
            "peer closed",
            "show tcp-server ch9 stats",
            "= what the clients sent",
            "after stop()",
            "still add up",
        ],
    );
}

/// Sends a line and reads its echo.
fn echoes(addr: SocketAddr, text: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(LINE_TIMEOUT)).unwrap();
    c.write_all(text.as_bytes()).unwrap();
    let mut back = vec![0; text.len()];
    c.read_exact(&mut back).unwrap();
    assert_eq!(String::from_utf8_lossy(&back), text);
    c
}

/// `ch9 --listen ADDR` echoes lines and prints its counters when `stats` is typed; closing
/// stdin stops it with status 0.
#[test]
fn ch9_listen_mode_prints_its_counters() {
    let mut ch9 = Running::bin("ch9", &["--listen", "127.0.0.1:0"]);
    let addr = address_in(&ch9.line_with("listening on"));
    let _client = echoes(addr, "count me\n");
    ch9.say("stats");
    ch9.line_with("counters");
    ch9.line_with("1 connected now, 1 ever");
    let line = ch9.line_with("in:");
    assert!(line.contains("9 B, 1 messages"), "{line}");
    let status = ch9.finish();
    assert!(status.success(), "ch9 --listen exited with {status}");
}

/// In the shell, `show tcp-server default stats` prints the full counters, and
/// `show tcp-server default` the clients with their mode and the course's flag letters.
#[test]
fn the_shell_shows_the_counters() {
    let mut shell = Running::bin("tcpserver", &["--echo", "--addr", "127.0.0.1:0"]);
    let addr = address_in(&shell.line_with("listening on"));
    let _client = echoes(addr, "hi\n");
    shell.say("show tcp-server default");
    shell.line_with("I R Acc L");
    shell.line_with("multiplexed");
    shell.say("show tcp-server default stats");
    shell.line_with("tcp-server \"default\" counters");
    shell.line_with("1 connected now, 1 ever");
    shell.line_with("disconnects:");
    let line = shell.line_with("in:");
    assert!(line.contains("3 B, 1 messages"), "{line}");
    let status = shell.finish();
    assert!(status.success(), "tcpserver exited with {status}");
}
