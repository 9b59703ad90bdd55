//! Chapter 0: the echo server's boundary conditions of the course's concurrent-server lecture,
//! observed on real sockets: what a client sees when its server process dies, what a write to
//! a peer that has gone returns, why a parent's close sends no FIN while a child holds the
//! socket (and shutdown does), and which side keeps TIME_WAIT.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::models::{Model, ModelServer, Options};

/// Reached only when something is broken.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The window over which an absence (no FIN) is observed.
const SHORT: Duration = Duration::from_millis(200);

/// A connected pair: (client, server side).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (served, _) = listener.accept().unwrap();
    (client, served)
}

/// What one read returns within `wait`: `Some(0)` is end of stream, `None` nothing yet.
fn read_within(stream: &mut TcpStream, wait: Duration) -> Option<usize> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(n) => Some(n),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("read failed: {e}"),
    }
}

/// The server process serving a client is killed (SIGKILL, no chance to clean up): the
/// kernel closes its descriptors, the parent drops its own handle when it sees the child
/// gone, and the client reads end of stream instead of hanging.
#[test]
fn a_killed_server_child_ends_its_client_with_eof() {
    let options = Options {
        child_program: Some(PathBuf::from(env!("CARGO_BIN_EXE_ch0"))),
    };
    let mut server =
        ModelServer::start_with(Model::ProcessPerClient, "127.0.0.1:0", options).unwrap();
    let mut client = TcpStream::connect(server.local_addr()).unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    client.write_all(b"ping\n").unwrap();
    let mut echo = [0u8; 5];
    client.read_exact(&mut echo).unwrap();
    let pid = server.stats().children[0].pid;
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(read_within(&mut client, TIMEOUT), Some(0));
    let stats = server.stop();
    assert!(stats.children[0].exit.is_some_and(|s| !s.success()));
}

/// Writing to a peer that has closed: the first write is accepted (the peer answers it with
/// a reset), a later one fails with EPIPE (or the reset itself). Rust sets SIGPIPE to
/// "ignore" before `main`, so the error comes back from `write` instead of killing us.
#[test]
fn a_write_to_a_gone_peer_returns_epipe() {
    let (mut client, served) = pair();
    drop(served);
    let deadline = Instant::now() + TIMEOUT;
    let error = loop {
        match client.write(b"anyone there?\n") {
            Ok(_) => assert!(Instant::now() < deadline, "writes kept succeeding"),
            Err(e) => break e,
        }
        // The reset arrives asynchronously; wait for it on the socket, not on a clock.
        let _ = read_within(&mut client, Duration::from_millis(20));
    };
    assert!(
        matches!(
            error.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "{error:?}"
    );
}

/// A socket shared by two descriptors (as after a fork, here a `try_clone`): closing one
/// sends nothing, the connection lives on; `shutdown` acts on the socket itself and the peer
/// reads end of stream at once.
#[test]
fn close_with_another_holder_sends_no_fin_but_shutdown_does() {
    let (mut client, served) = pair();
    let child_copy = served.try_clone().unwrap();
    drop(served); // the parent's close(connfd)
    assert_eq!(read_within(&mut client, SHORT), None, "a FIN went out");
    child_copy.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_within(&mut client, TIMEOUT), Some(0));
}

/// Whether `/proc/net/tcp` lists a TIME_WAIT (state 06) connection from `local` to `remote`.
#[cfg(target_os = "linux")]
fn in_time_wait(local: SocketAddr, remote: SocketAddr) -> bool {
    let hex = |a: SocketAddr| {
        let SocketAddr::V4(a) = a else {
            return String::new();
        };
        format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(a.ip().octets()),
            a.port()
        )
    };
    let (local, remote) = (hex(local), hex(remote));
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() > 3 && f[1] == local && f[2] == remote && f[3] == "06"
    })
}

/// The side that closes first keeps TIME_WAIT (twice the maximum segment lifetime); the side
/// that closes second does not. Here the server closes first, as an echo server whose child
/// is shut down does.
#[cfg(target_os = "linux")]
#[test]
fn the_side_that_closes_first_keeps_time_wait() {
    let (mut client, served) = pair();
    let (server_end, client_end) = (served.local_addr().unwrap(), client.local_addr().unwrap());
    drop(served);
    assert_eq!(read_within(&mut client, TIMEOUT), Some(0));
    drop(client);
    let deadline = Instant::now() + TIMEOUT;
    while !in_time_wait(server_end, client_end) {
        assert!(
            Instant::now() < deadline,
            "the server side never entered TIME_WAIT"
        );
        thread::sleep(Duration::from_millis(5));
    }
    assert!(
        !in_time_wait(client_end, server_end),
        "the side that closed second is in TIME_WAIT"
    );
}
