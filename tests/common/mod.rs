//! Helpers shared by the integration tests: start a server on 127.0.0.1:0 with a recording
//! application, connect clients, read with timeouts.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tcpserverlib::demo::{Events, Print, Recorder};
use tcpserverlib::{Config, TcpServer};

/// Long enough to be reached only when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long "nothing more happens" is watched for.
pub const SHORT: Duration = Duration::from_millis(200);

/// A started server on a free loopback port, and the events of its application.
pub fn start(config: Config, echo: bool) -> (TcpServer, Events) {
    let (recorder, events) = Recorder::new(Print::default(), echo);
    let server = TcpServer::with_config("test", "127.0.0.1:0", config, recorder).unwrap();
    server.start().unwrap();
    (server, events)
}

/// A started server with default settings.
pub fn start_default() -> (TcpServer, Events) {
    start(Config::default(), false)
}

/// The address a started server listens on.
pub fn addr(server: &TcpServer) -> SocketAddr {
    server
        .local_addr()
        .expect("a started server has an address")
}

/// A client socket whose reads give up after TIMEOUT instead of hanging the test.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// Reads exactly `n` bytes (or fails the test after TIMEOUT).
pub fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream
        .read_exact(&mut buf)
        .expect("reply within the timeout");
    buf
}

/// Reads until the server closes the connection; returns what came before.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    all
}

/// Writes all of `bytes`.
pub fn write(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).unwrap();
}

/// Polls `check` until it holds, or TIMEOUT passes; whether it held. For states with no
/// event to wait on: a flag of the server, a thread in /proc, a port that closed. The 1 ms
/// is a polling interval, not a wait for an event.
pub fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    check()
}

/// Number of open descriptors of this process (Linux).
pub fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Number of threads of this process (Linux).
pub fn threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// A handler whose `message` stands for blocking work, the kind a client thread is for: it
/// says it started, sleeps `SLOW_WORK`, then marks itself finished.
pub struct SlowWork {
    started: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    finished: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long one piece of `SlowWork` takes: long enough that a `stop` that does not wait for
/// it returns first.
pub const SLOW_WORK: Duration = Duration::from_millis(300);

impl SlowWork {
    /// The handler, the receiver told when work starts, and the flag set when it ends.
    pub fn new() -> (
        SlowWork,
        std::sync::mpsc::Receiver<()>,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let (started, work_started) = std::sync::mpsc::channel();
        let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler = SlowWork {
            started: std::sync::Mutex::new(started),
            finished: std::sync::Arc::clone(&finished),
        };
        (handler, work_started, finished)
    }
}

impl tcpserverlib::Handler for SlowWork {
    fn message(&self, _: &tcpserverlib::ServerHandle, _: &tcpserverlib::Client, _: &[u8]) {
        let _ = self.started.lock().map(|s| s.send(()));
        std::thread::sleep(SLOW_WORK);
        self.finished
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
