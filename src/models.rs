//! Chapter 0 — five ways to serve many clients, before the library.
//!
//! Every TCP server answers one question before any other: while it talks to one client,
//! what happens to the next? The course's introductory lectures compare five answers, and
//! this module builds all of them over one protocol (each `\n`-terminated line is echoed
//! back) behind one API, [`ModelServer`], so that they can be run side by side:
//!
//! - [`Model::Iterative`]: one thread accepts a client and serves it to the end, then the
//!   next. The second client waits for the first to leave.
//! - [`Model::ProcessPerClient`]: the parent accepts and starts a child process that serves
//!   the connection inetd-style (the socket is the child's stdin and stdout).
//! - [`Model::ThreadPerClient`]: the accepting thread starts a thread per client.
//! - [`Model::ThreadPool`]: a fixed number of workers take accepted sockets from a queue; the
//!   client after the last busy worker waits in the queue.
//! - [`Model::Multiplexed`]: one thread waits in `poll` on the listener and every client, and
//!   serves whichever is ready.
//!
//! The fifth model of the course, asynchronous callbacks on events, is the library itself:
//! [`crate::Handler`] over the DRS of chapter 3, which chapter 1 starts with.
//!
//! What changes in Rust: no thread is ever cancelled and no process is `fork`ed. Every wait
//! of every model (the accept loop's, each client's) is a `poll` that also watches one
//! stop latch, so [`ModelServer::stop`] asks, and then joins every thread and waits every
//! child. The child process is a fresh program (`ch0 --serve-stdio`) started with
//! [`std::process::Command`], because `fork` in a process that has threads copies only the
//! calling thread, and whatever lock another thread held stays locked for ever in the child.
//!
//! A production server picks one model (nowadays the multiplexed one, through `mio` or an
//! async runtime such as `tokio`), caps its clients, and never lets a queue grow unbounded.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::select::{Interest, PollSet, Waker};

#[cfg_attr(feature = "ex00", path = "../chapters/ex00_pool.rs")]
mod pool;

// Given to exercise 0, whose `impl Pool` (in `pool`) builds and stops it.
// ANCHOR: pool_struct
/// The workers and the sending end of their queue.
struct Pool {
    /// Where the accept thread puts each client.
    queue: Sender<TcpStream>,
    /// Joined by [`Pool::shutdown`].
    workers: Vec<JoinHandle<()>>,
}
// ANCHOR_END: pool_struct

/// The longest line a client may send; a longer one ends that client (no model buffers
/// without a bound).
pub const MAX_LINE: usize = 64 * 1024;

/// How long an accept loop pauses after an accept error (out of descriptors, for instance):
/// the connection stays queued, so retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

// ANCHOR: model
/// One of the five ways to serve many clients (the fifth, asynchronous callbacks, is the
/// library itself; [`Model::Multiplexed`] is its one-thread core without the callbacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Accept one client, serve it to the end, then accept the next.
    Iterative,
    /// A child process per client, the socket as its stdin and stdout (`ch0 --serve-stdio`).
    ProcessPerClient,
    /// A thread per client.
    ThreadPerClient,
    /// A fixed number of worker threads taking accepted sockets from a queue.
    ThreadPool {
        /// How many clients are served at once; the others wait in the queue.
        workers: usize,
    },
    /// One thread, one `poll` over the listener and every client.
    Multiplexed,
}
// ANCHOR_END: model

impl Model {
    /// The five, in the order the chapter presents them (a pool of two workers).
    pub const ALL: [Model; 5] = [
        Model::Iterative,
        Model::ProcessPerClient,
        Model::ThreadPerClient,
        Model::ThreadPool { workers: 2 },
        Model::Multiplexed,
    ];

    /// The short name used on the command line (`--model NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Model::Iterative => "iterative",
            Model::ProcessPerClient => "process",
            Model::ThreadPerClient => "thread",
            Model::ThreadPool { .. } => "pool",
            Model::Multiplexed => "multiplexed",
        }
    }

    /// Reads a model name: `iterative`, `process`, `thread`, `pool` (two workers),
    /// `pool:N`, or `multiplexed`.
    pub fn parse(name: &str) -> Option<Model> {
        Some(match name {
            "iterative" => Model::Iterative,
            "process" => Model::ProcessPerClient,
            "thread" => Model::ThreadPerClient,
            "pool" => Model::ThreadPool { workers: 2 },
            "multiplexed" => Model::Multiplexed,
            _ => {
                let workers = name.strip_prefix("pool:")?.parse().ok()?;
                if workers == 0 {
                    return None;
                }
                Model::ThreadPool { workers }
            }
        })
    }
}

/// How to start a [`ModelServer`] beyond its model and address.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The program a [`Model::ProcessPerClient`] server starts per client, with the argument
    /// `--serve-stdio`: the `ch0` binary. `None`: this program (right inside `ch0`; a test
    /// passes `env!("CARGO_BIN_EXE_ch0")`).
    pub child_program: Option<PathBuf>,
}

/// One child process a [`Model::ProcessPerClient`] server started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildRecord {
    /// Its process id.
    pub pid: u32,
    /// The peer it reported on its stderr (`peer ADDR`, learnt with `getpeername` on its
    /// stdin); `None` until the line arrives, or if it never did.
    pub peer: Option<SocketAddr>,
    /// How it ended, once waited for; `None` while it runs.
    pub exit: Option<ExitStatus>,
}

/// What a server has done so far: the figures the chapter compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Threads the server started, its accept (or only) thread included.
    pub threads_started: usize,
    /// Threads of the server still running: 0 after [`ModelServer::stop`].
    pub threads_running: usize,
    /// Clients whose service ended (they left, failed, or were ended by the stop).
    pub clients_served: usize,
    /// Every child process started, in order.
    pub children: Vec<ChildRecord>,
}

/// What every thread of a server shares: the stop latch and the counters.
struct Shared {
    stop: Stop,
    threads_started: AtomicUsize,
    threads_running: AtomicUsize,
    clients_served: AtomicUsize,
    children: Mutex<Vec<ChildRecord>>,
}

// ANCHOR: stop
/// The stop latch every wait of every model watches: a [`Waker`] that is woken once and
/// never drained, so its receiving end stays readable and every `poll` that includes it, in
/// any thread, now or later, returns at once.
struct Stop {
    waker: Waker,
    asked: AtomicBool,
}

impl Stop {
    fn new() -> io::Result<Stop> {
        Ok(Stop {
            waker: Waker::new()?,
            asked: AtomicBool::new(false),
        })
    }

    /// Asks every thread to stop.
    fn ask(&self) {
        self.asked.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Waits until `socket` is ready for `interest`, or `timeout` passes (`None`: no
    /// timeout). False when a stop was asked.
    fn wait_for(
        &self,
        socket: &impl AsRawFd,
        interest: Interest,
        timeout: Option<Duration>,
    ) -> io::Result<bool> {
        if self.asked.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let mut set = PollSet::new();
        let stop = set.add(self.waker.receiver(), Interest::READ);
        set.add(socket, interest);
        set.wait(timeout)?;
        Ok(!set.readiness(stop).readable)
    }
}
// ANCHOR_END: stop

/// The body of a server's first thread, chosen by its model.
type ServerThread = Box<dyn FnOnce(TcpListener, &Arc<Shared>) + Send>;

/// A running server of one model.
pub struct ModelServer {
    model: Model,
    /// Where it listens (port 0 resolved).
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    /// The accept (or only) thread; it joins whatever it started before it returns.
    thread: Option<JoinHandle<()>>,
}

impl ModelServer {
    /// Starts a server of `model` on `addr`; see [`ModelServer::start_with`].
    ///
    /// # Errors
    /// As [`ModelServer::start_with`].
    pub fn start(model: Model, addr: impl ToSocketAddrs) -> io::Result<ModelServer> {
        ModelServer::start_with(model, addr, Options::default())
    }

    // ANCHOR: start
    /// Binds `addr` and starts the server's first thread, which accepts (and, for the
    /// iterative and multiplexed models, serves) the clients.
    ///
    /// # Errors
    /// When the address cannot be bound, the program for child processes cannot be found,
    /// or a thread or the stop latch cannot be made.
    pub fn start_with(
        model: Model,
        addr: impl ToSocketAddrs,
        options: Options,
    ) -> io::Result<ModelServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: Stop::new()?,
            threads_started: AtomicUsize::new(0),
            threads_running: AtomicUsize::new(0),
            clients_served: AtomicUsize::new(0),
            children: Mutex::new(Vec::new()),
        });
        let run: ServerThread = match model {
            Model::Iterative => Box::new(iterative),
            Model::ProcessPerClient => {
                let program = match options.child_program {
                    Some(program) => program,
                    None => std::env::current_exe()?,
                };
                Box::new(move |l, s| process_per_client(l, s, &program))
            }
            Model::ThreadPerClient => Box::new(thread_per_client),
            Model::ThreadPool { workers } => {
                let pool = Pool::start(workers.max(1), &shared)?;
                Box::new(move |l, s| thread_pool(l, s, pool))
            }
            Model::Multiplexed => Box::new(multiplexed),
        };
        let for_thread = Arc::clone(&shared);
        let thread = spawn(&shared, model.name(), move || run(listener, &for_thread))?;
        Ok(ModelServer {
            model,
            local_addr,
            shared,
            thread: Some(thread),
        })
    }
    // ANCHOR_END: start

    /// The model this server runs.
    pub fn model(&self) -> Model {
        self.model
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What it has done so far.
    pub fn stats(&self) -> Stats {
        Stats {
            threads_started: self.shared.threads_started.load(Ordering::SeqCst),
            threads_running: self.shared.threads_running.load(Ordering::SeqCst),
            clients_served: self.shared.clients_served.load(Ordering::SeqCst),
            children: lock(&self.shared.children).clone(),
        }
    }

    /// Stops accepting (the listener is closed), ends every client (a thread's client is
    /// dropped, a child's socket is shut down so the child reads end of stream and exits),
    /// joins every thread and waits every child; returns the final [`Stats`]. Idempotent;
    /// dropping the server calls it.
    pub fn stop(&mut self) -> Stats {
        self.shared.stop.ask();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.stats()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Locks a mutex, even one a panicking thread left poisoned (the data is counters).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts a named thread counted in the server's [`Stats`]; `threads_running` drops when
/// `body` returns, before the thread can be joined.
fn spawn(
    shared: &Arc<Shared>,
    name: &str,
    body: impl FnOnce() + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    struct Running(Arc<Shared>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0.threads_running.fetch_sub(1, Ordering::SeqCst);
        }
    }
    shared.threads_started.fetch_add(1, Ordering::SeqCst);
    shared.threads_running.fetch_add(1, Ordering::SeqCst);
    let running = Running(Arc::clone(shared));
    thread::Builder::new()
        .name(format!("model-{name}"))
        .spawn(move || {
            let _running = running;
            body();
        })
}

// ANCHOR: echo
/// The protocol all five models speak, for one client on blocking-style threads: read what
/// comes, and send back every complete line. Every wait also watches the stop latch, and
/// the socket is non-blocking, so neither a silent client nor one that never reads can keep
/// a thread from stopping. Returns when the client leaves, fails, or a stop is asked.
fn echo(input: &TcpStream, output: &TcpStream, stop: &Stop) -> io::Result<()> {
    input.set_nonblocking(true)?;
    output.set_nonblocking(true)?;
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if !stop.wait_for(input, Interest::READ, None)? {
            return Ok(());
        }
        let n = match (&*input).read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if retry(&e) => continue,
            Err(e) => return Err(e),
        };
        pending.extend_from_slice(&buf[..n]);
        if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = pending.drain(..=end).collect();
            if !write_all(output, &lines, stop)? {
                return Ok(());
            }
        } else if pending.len() > MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
    }
}

/// Writes all of `data` to a non-blocking socket, waiting for room; false when a stop was
/// asked first.
fn write_all(socket: &TcpStream, mut data: &[u8], stop: &Stop) -> io::Result<bool> {
    while !data.is_empty() {
        match (&*socket).write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if retry(&e) => {
                if !stop.wait_for(socket, Interest::WRITE, None)? {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
// ANCHOR_END: echo

/// True for the errors that mean "not now": try again after the next wait.
fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Serves one client with [`echo`] and counts it.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = echo(&stream, &stream, &shared.stop);
    shared.clients_served.fetch_add(1, Ordering::SeqCst);
}

// ANCHOR: accept_loop
/// The accept loop of the iterative, thread-per-client and pool models: wait until the
/// listener is readable (or a stop is asked), accept, hand the client to `on_client`. On
/// return the listener is dropped, so new connections are refused.
fn accept_loop(listener: TcpListener, shared: &Shared, mut on_client: impl FnMut(TcpStream)) {
    loop {
        match shared.stop.wait_for(&listener, Interest::READ, None) {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) => {
                let _ = shared
                    .stop
                    .wait_for(&listener, Interest::default(), Some(ACCEPT_BACKOFF));
                continue;
            }
        }
        match listener.accept() {
            // A socket accepted from a non-blocking listener is non-blocking on the BSDs
            // (Linux does not inherit the flag); each model sets the mode it needs.
            Ok((stream, _peer)) => on_client(stream),
            Err(e) if retry(&e) => {}
            Err(_) => {
                let _ = shared
                    .stop
                    .wait_for(&listener, Interest::default(), Some(ACCEPT_BACKOFF));
            }
        }
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: iterative
/// Model 1: the accepting thread serves each client to its end before it accepts again.
fn iterative(listener: TcpListener, shared: &Arc<Shared>) {
    accept_loop(listener, shared, |stream| serve(stream, shared));
}
// ANCHOR_END: iterative

// ANCHOR: thread_per_client
/// Model 3: a thread per client. The accepting thread keeps every handle, joins the
/// finished ones at each accept, and the rest when it stops.
fn thread_per_client(listener: TcpListener, shared: &Arc<Shared>) {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    accept_loop(listener, shared, |stream| {
        let (done, running): (Vec<_>, Vec<_>) = threads.drain(..).partition(|t| t.is_finished());
        threads = running;
        for t in done {
            let _ = t.join();
        }
        let for_client = Arc::clone(shared);
        // A thread that cannot be started drops its client: that one is refused, not others.
        if let Ok(t) = spawn(shared, "client", move || serve(stream, &for_client)) {
            threads.push(t);
        }
    });
    for t in threads {
        let _ = t.join();
    }
}
// ANCHOR_END: thread_per_client

// ANCHOR: thread_pool
/// Model 4: the accepting thread queues each client for a fixed pool of workers
/// ([`Pool`], the chapter's exercise), and shuts the pool down when it stops.
fn thread_pool(listener: TcpListener, shared: &Arc<Shared>, pool: Pool) {
    accept_loop(listener, shared, |stream| pool.submit(stream));
    pool.shutdown();
}
// ANCHOR_END: thread_pool

// ANCHOR: multiplexed
/// One client of the multiplexed model: its socket and the bytes in each direction.
struct Conn {
    stream: TcpStream,
    /// Read, not yet a whole line.
    input: Vec<u8>,
    /// Whole lines to send back, not yet written.
    output: Vec<u8>,
}

/// Model 5: one thread, one `poll` over the stop latch, the listener and every client. A
/// client whose echo is not being read stops being read itself (its output is bounded).
fn multiplexed(listener: TcpListener, shared: &Arc<Shared>) {
    let mut conns: Vec<Conn> = Vec::new();
    let mut set = PollSet::new();
    loop {
        set.clear();
        set.add(shared.stop.waker.receiver(), Interest::READ);
        set.add(&listener, Interest::READ);
        for c in &conns {
            let read = c.output.len() < MAX_LINE;
            let write = !c.output.is_empty();
            set.add(&c.stream, Interest { read, write });
        }
        if set.wait(None).is_err() || set.readiness(0).readable {
            break;
        }
        let mut index = 2;
        conns.retain_mut(|c| {
            let ready = set.readiness(index);
            index += 1;
            let keep = step(c, ready.readable || ready.hangup);
            if !keep {
                shared.clients_served.fetch_add(1, Ordering::SeqCst);
            }
            keep
        });
        if set.readiness(1).readable {
            while let Ok((stream, _)) = listener.accept() {
                if stream.set_nonblocking(true).is_ok() {
                    conns.push(Conn {
                        stream,
                        input: Vec::new(),
                        output: Vec::new(),
                    });
                }
            }
        }
    }
    shared
        .clients_served
        .fetch_add(conns.len(), Ordering::SeqCst);
}

/// One turn of one multiplexed client: at most one read, then as much writing as the socket
/// takes. False when the client is done (left, failed, or sent an overlong line).
fn step(c: &mut Conn, readable: bool) -> bool {
    if readable {
        let mut buf = [0u8; 4096];
        match (&c.stream).read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => c.input.extend_from_slice(&buf[..n]),
            Err(e) if retry(&e) => {}
            Err(_) => return false,
        }
        if let Some(end) = c.input.iter().rposition(|&b| b == b'\n') {
            c.output.extend(c.input.drain(..=end));
        } else if c.input.len() > MAX_LINE {
            return false;
        }
    }
    while !c.output.is_empty() {
        match (&c.stream).write(&c.output) {
            Ok(n) => {
                c.output.drain(..n);
            }
            Err(e) if retry(&e) => break,
            Err(_) => return false,
        }
    }
    true
}
// ANCHOR_END: multiplexed

// ANCHOR: process_per_client
/// A child the process-per-client parent still owns.
struct Kid {
    child: Child,
    /// Its stderr: the peer report arrives here, and end of file says it exited.
    stderr: ChildStderr,
    /// The parent's handle on the client's socket, kept only to `shutdown` it at stop:
    /// closing our descriptor would not end the connection while the child holds its own.
    socket: TcpStream,
    /// Its stderr so far.
    report: Vec<u8>,
    /// Its index in the shared list of [`ChildRecord`]s.
    record: usize,
}

/// Model 2: a child process per client. The loop polls the stop latch, the listener, and
/// every child's stderr; a child's stderr reaching end of file means it exited, and it is
/// waited for at once (our SIGCHLD). At stop, every child's socket is shut down, so each
/// child reads end of stream and exits, and each is waited for: no zombie is left.
fn process_per_client(listener: TcpListener, shared: &Arc<Shared>, program: &PathBuf) {
    let mut kids: Vec<Kid> = Vec::new();
    let mut set = PollSet::new();
    loop {
        set.clear();
        set.add(shared.stop.waker.receiver(), Interest::READ);
        set.add(&listener, Interest::READ);
        for kid in &kids {
            set.add(&kid.stderr, Interest::READ);
        }
        if set.wait(None).is_err() || set.readiness(0).readable {
            break;
        }
        let mut index = 2;
        kids.retain_mut(|kid| {
            let ready = set.readiness(index);
            index += 1;
            !(ready.readable || ready.hangup) || read_report(kid, shared)
        });
        if set.readiness(1).readable {
            while let Ok((stream, _)) = listener.accept() {
                if let Ok(kid) = start_child(stream, program, shared) {
                    kids.push(kid);
                }
            }
        }
    }
    drop(listener);
    for mut kid in kids {
        let _ = kid.socket.shutdown(Shutdown::Both);
        while read_report(&mut kid, shared) {}
    }
}

/// Starts `program --serve-stdio` with the client's socket as its stdin and stdout, and its
/// stderr piped back to us.
fn start_child(stream: TcpStream, program: &PathBuf, shared: &Shared) -> io::Result<Kid> {
    // The child reads with blocking calls (whatever the listener's flag left on the socket).
    stream.set_nonblocking(false)?;
    let stdin = OwnedFd::from(stream.try_clone()?);
    let stdout = OwnedFd::from(stream.try_clone()?);
    // Held across the spawn: the child may serve its client before we get to record it, and
    // whoever asks for the children meanwhile must wait for the record, not miss it.
    let mut records = lock(&shared.children);
    let mut child = Command::new(program)
        .arg("--serve-stdio")
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .spawn()?;
    // The Command and its two descriptors are gone: the child holds the socket, and we hold
    // `stream` for the shutdown at stop.
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| io::Error::other("no stderr"))?;
    records.push(ChildRecord {
        pid: child.id(),
        peer: None,
        exit: None,
    });
    Ok(Kid {
        child,
        stderr,
        socket: stream,
        report: Vec::new(),
        record: records.len() - 1,
    })
}

/// Reads what the child wrote on stderr (one read: `poll` said it would not block). On end
/// of file, waits for the child and records how it ended; returns false then.
fn read_report(kid: &mut Kid, shared: &Shared) -> bool {
    let mut buf = [0u8; 512];
    let n = kid.stderr.read(&mut buf).unwrap_or(0);
    kid.report.extend_from_slice(&buf[..n]);
    let mut records = lock(&shared.children);
    let record = &mut records[kid.record];
    if record.peer.is_none() {
        record.peer = peer_in(&kid.report);
    }
    if n > 0 {
        return true;
    }
    // Its stderr closed: the child has exited (or is exiting), so this wait is short.
    record.exit = kid.child.wait().ok();
    shared.clients_served.fetch_add(1, Ordering::SeqCst);
    false
}

/// The address in a child's first stderr line `peer ADDR`.
fn peer_in(report: &[u8]) -> Option<SocketAddr> {
    let text = std::str::from_utf8(report).ok()?;
    let (line, _) = text.split_once('\n')?;
    line.strip_prefix("peer ")?.trim().parse().ok()
}
// ANCHOR_END: process_per_client

// ANCHOR: serve_stdio
/// The child of a process-per-client server (`ch0 --serve-stdio`), inetd-style: descriptor 0
/// and 1 are the client's socket. It asks the kernel who the peer is (`getpeername` on
/// descriptor 0), reports `peer ADDR` on stderr, then echoes lines from 0 to 1 until the
/// client leaves or the parent shuts the socket down.
///
/// # Errors
/// When stdin is not a connected socket, or reading or writing it fails.
pub fn serve_stdio() -> io::Result<()> {
    let peer = crate::sys::peer_addr(io::stdin().as_fd()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("stdin is not a connected socket ({e}); a process-per-client server starts this mode"),
        )
    })?;
    writeln!(io::stderr(), "peer {peer}")?;
    // Our own descriptors on the same socket, so that std's TcpStream reads and writes it.
    let input = TcpStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    let output = TcpStream::from(io::stdout().as_fd().try_clone_to_owned()?);
    echo(&input, &output, &Stop::new()?)
}
// ANCHOR_END: serve_stdio
