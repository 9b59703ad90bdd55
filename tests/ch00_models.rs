//! Chapter 0: the five models. Each echoes every line intact to several clients at once; the
//! iterative server and a full pool make the next client wait, and serve it when a place
//! frees; the process-per-client children each report their peer and are all waited for;
//! `stop()` ends every client and leaves no thread of the server running.
//!
//! Exercise 0 (`--features ex00`) swaps the pool for the student's; the pool's tests fail
//! until it is written.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::models::{Model, ModelServer, Options, Stats};

/// Reached only when something is broken.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client is watched to see that no echo comes (the absence of an event can only
/// be seen over a window; its presence is always awaited with [`TIMEOUT`]).
const SHORT: Duration = Duration::from_millis(200);

fn start(model: Model) -> ModelServer {
    let options = Options {
        child_program: Some(PathBuf::from(env!("CARGO_BIN_EXE_ch0"))),
    };
    ModelServer::start_with(model, "127.0.0.1:0", options).unwrap()
}

/// A client whose reads give up after [`TIMEOUT`].
struct Client {
    stream: TcpStream,
    lines: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let lines = BufReader::new(stream.try_clone().unwrap());
        Client { stream, lines }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stream, "{line}").unwrap();
    }

    /// The next line, waiting at most `wait`; `None` if none came.
    fn line_within(&mut self, wait: Duration) -> Option<String> {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut line = String::new();
        match self.lines.read_line(&mut line) {
            Ok(0) => panic!("the server closed the connection"),
            Ok(_) => Some(line.trim_end_matches('\n').to_string()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) => panic!("read failed: {e}"),
        }
    }

    fn echoes(&mut self, line: &str) {
        self.send(line);
        assert_eq!(self.line_within(TIMEOUT).as_deref(), Some(line));
    }

    /// True once the server has ended the connection (end of stream or a reset).
    fn sees_the_end(&mut self) -> bool {
        self.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut buf = [0u8; 64];
        matches!(self.lines.read(&mut buf), Ok(0) | Err(_))
    }
}

/// Several clients at once, each sending many lines (some in one write, some split across
/// writes), each gets back exactly its own lines, in order.
fn echo_integrity(model: Model) {
    let server = start(model);
    let addr = server.local_addr();
    let clients: Vec<_> = (0..4)
        .map(|c| {
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                let mut sent = Vec::new();
                for i in 0..50 {
                    let line = format!("client {c} line {i} {}", "x".repeat(i * 7));
                    // Half the lines go in two pieces: the server must wait for the `\n`.
                    if i % 2 == 0 {
                        let (a, b) = line.split_at(line.len() / 2);
                        client.stream.write_all(a.as_bytes()).unwrap();
                        client.stream.flush().unwrap();
                        writeln!(client.stream, "{b}").unwrap();
                    } else {
                        client.send(&line);
                    }
                    sent.push(line);
                }
                for line in sent {
                    assert_eq!(client.line_within(TIMEOUT), Some(line));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    drop(server);
}

#[test]
fn iterative_echoes_every_line() {
    echo_integrity(Model::Iterative);
}

#[test]
fn process_per_client_echoes_every_line() {
    echo_integrity(Model::ProcessPerClient);
}

#[test]
fn thread_per_client_echoes_every_line() {
    echo_integrity(Model::ThreadPerClient);
}

#[test]
fn thread_pool_echoes_every_line() {
    echo_integrity(Model::ThreadPool { workers: 3 });
}

#[test]
fn multiplexed_echoes_every_line() {
    echo_integrity(Model::Multiplexed);
}

/// The iterative server serves one client at a time: while A stays connected, B's line gets
/// no echo; once A leaves, B's echo comes.
#[test]
fn iterative_makes_the_second_client_wait_for_the_first() {
    let server = start(Model::Iterative);
    let mut a = Client::connect(server.local_addr());
    a.echoes("A is being served");
    let mut b = Client::connect(server.local_addr());
    b.send("B waits");
    assert_eq!(
        b.line_within(SHORT),
        None,
        "B was served while A held the server"
    );
    drop(a);
    assert_eq!(b.line_within(TIMEOUT).as_deref(), Some("B waits"));
}

/// A pool of N workers serves N clients at once; the next one waits in the queue until one
/// of them leaves, then a worker takes it.
#[test]
fn a_full_pool_makes_the_next_client_wait() {
    let server = start(Model::ThreadPool { workers: 2 });
    let mut a = Client::connect(server.local_addr());
    a.echoes("A holds a worker");
    let mut b = Client::connect(server.local_addr());
    b.echoes("B holds the other");
    let mut c = Client::connect(server.local_addr());
    c.send("C waits in the queue");
    assert_eq!(c.line_within(SHORT), None, "C was served by a third worker");
    drop(b);
    assert_eq!(
        c.line_within(TIMEOUT).as_deref(),
        Some("C waits in the queue")
    );
    a.echoes("A is still served");
}

/// The concurrent models serve a newcomer while an earlier client stays connected.
#[test]
fn concurrent_models_serve_the_newcomer_at_once() {
    for model in [
        Model::ProcessPerClient,
        Model::ThreadPerClient,
        Model::Multiplexed,
    ] {
        let server = start(model);
        let mut a = Client::connect(server.local_addr());
        a.echoes("A stays");
        let mut b = Client::connect(server.local_addr());
        b.echoes("B is served beside A");
        a.echoes("and A still is");
    }
}

/// Whether process `pid` still exists (zombies included): `kill -0` fails once it is gone.
fn process_exists(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        return std::path::Path::new(&format!("/proc/{pid}")).exists();
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until `done(stats)` holds; fails the test after [`TIMEOUT`].
fn wait_for(server: &ModelServer, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stats = server.stats();
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Each child learns its peer with getpeername on its stdin and reports it: the addresses
/// are exactly the clients'. A child whose client leaves is waited for at once (no zombie
/// until the stop); at stop, the children still serving are ended and waited for, and none
/// of the processes the server started remains.
#[test]
fn process_per_client_children_report_their_peers_and_are_all_waited_for() {
    let mut server = start(Model::ProcessPerClient);
    let mut clients: Vec<Client> = (0..3)
        .map(|i| {
            let mut c = Client::connect(server.local_addr());
            c.echoes(&format!("client {i}"));
            c
        })
        .collect();
    let stats = wait_for(&server, "three children reporting peers", |s| {
        s.children.len() == 3 && s.children.iter().all(|c| c.peer.is_some())
    });
    let mut peers: Vec<SocketAddr> = stats.children.iter().filter_map(|c| c.peer).collect();
    let mut ours: Vec<SocketAddr> = clients
        .iter()
        .map(|c| c.stream.local_addr().unwrap())
        .collect();
    peers.sort();
    ours.sort();
    assert_eq!(peers, ours);

    // The first client leaves: its child exits and is waited for while the server runs.
    let first = clients.remove(0);
    let first_pid = stats
        .children
        .iter()
        .find(|c| c.peer == Some(first.stream.local_addr().unwrap()))
        .unwrap()
        .pid;
    drop(first);
    wait_for(&server, "the first child waited for", |s| {
        s.children
            .iter()
            .any(|c| c.pid == first_pid && c.exit.is_some())
    });
    assert!(!process_exists(first_pid), "child {first_pid} remains");

    // The others are still connected: stop ends them, and waits for every child.
    let stats = server.stop();
    for c in &mut clients {
        assert!(c.sees_the_end(), "a client was not ended by stop()");
    }
    assert_eq!(stats.children.len(), 3);
    for child in &stats.children {
        assert!(child.exit.is_some(), "child {} not waited for", child.pid);
        assert!(!process_exists(child.pid), "child {} remains", child.pid);
    }
    assert_eq!(stats.clients_served, 3);
    assert_eq!(stats.threads_running, 0);
}

/// With clients still connected and silent, stop() ends them all, joins every thread the
/// server started (the count is what the model promises), and returns.
#[test]
fn stop_ends_every_client_and_leaves_no_thread() {
    for (model, threads) in [
        (Model::Iterative, 1),
        (Model::ProcessPerClient, 1),
        (Model::ThreadPerClient, 4),
        (Model::ThreadPool { workers: 2 }, 3),
        (Model::Multiplexed, 1),
    ] {
        let mut server = start(model);
        let mut clients: Vec<Client> = (0..3)
            .map(|_| Client::connect(server.local_addr()))
            .collect();
        // The first is served by every model; the others may wait, silent.
        clients[0].echoes("hello");
        if model != Model::Iterative && model != (Model::ThreadPool { workers: 2 }) {
            for c in &mut clients[1..] {
                c.echoes("served too");
            }
        }
        let started = Instant::now();
        let stats = server.stop();
        assert!(started.elapsed() < TIMEOUT, "{model:?}: stop() was slow");
        assert_eq!(stats.threads_running, 0, "{model:?}: {stats:?}");
        assert_eq!(stats.threads_started, threads, "{model:?}: {stats:?}");
        for c in &mut clients {
            assert!(c.sees_the_end(), "{model:?}: a client was not ended");
        }
        assert!(
            TcpStream::connect(server.local_addr()).is_err(),
            "{model:?}: still accepting after stop()"
        );
    }
}

/// getpeername on a connected socket's descriptor names the peer, as std's `peer_addr`
/// does; on a descriptor that is not a socket it fails.
#[test]
fn peer_addr_is_getpeername() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (served, _) = listener.accept().unwrap();
    assert_eq!(
        tcpserverlib::sys::peer_addr(served.as_fd()).unwrap(),
        client.local_addr().unwrap()
    );
    let file = std::fs::File::open(env!("CARGO_MANIFEST_DIR")).unwrap();
    assert!(tcpserverlib::sys::peer_addr(file.as_fd()).is_err());
    if let Ok(listener6) = std::net::TcpListener::bind("[::1]:0") {
        let client6 = TcpStream::connect(listener6.local_addr().unwrap()).unwrap();
        let (served6, _) = listener6.accept().unwrap();
        assert_eq!(
            tcpserverlib::sys::peer_addr(served6.as_fd()).unwrap(),
            client6.local_addr().unwrap()
        );
    }
}
