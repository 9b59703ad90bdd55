//! The programs a student runs: `ch0`, `ch3b`, the chapter binaries' `--listen` modes and the
//! `tcpserver` shell. The other chapter binaries' stories are checked in `tests/bin_chNN.rs`.
//!
//! Every child's output is read on a thread and handed over through a channel, so each wait
//! has a timeout and nothing can hang the test run; every child still running when a test
//! ends (or fails) is killed by [`Running`]'s `Drop`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Instant;

mod story;

use assert_cmd::cargo::cargo_bin;
use story::{address_in, run_to_end, without_figures, Running, LINE_TIMEOUT};

/// A client socket whose reads give up instead of hanging the test.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LINE_TIMEOUT)).unwrap();
    s
}

/// `ch2 --listen ADDR` serves until stdin closes: its first line names the address, a
/// client's connect is printed, and closing stdin ends it with status 0.
#[test]
fn ch2_listen_mode_serves_until_stdin_closes() {
    let mut ch2 = Running::bin("ch2", &["--listen", "127.0.0.1:0"]);
    let first = ch2.line_with("listening on");
    assert!(first.starts_with("[ch2]"), "{first}");
    let addr = address_in(&first);
    let client = connect(addr);
    let line = ch2.line_with("connected");
    assert!(
        line.contains(&client.local_addr().unwrap().to_string()),
        "{line}"
    );
    let status = ch2.finish();
    assert!(status.success(), "ch2 --listen exited with {status}");
    assert!(
        ch2.seen.iter().any(|l| l.contains("server stopped")),
        "{}",
        ch2.seen.join("\n")
    );
}

/// The shell runs a script of the course's commands: create, start, show, abort; a mistyped
/// command is an error naming the word, followed by the usage, and the shell goes on.
#[test]
fn tcpserver_runs_a_command_script() {
    let script = "config tcp-server s2 127.0.0.1 0\n\
                  config tcp-server s2 start\n\
                  show tcp-server s2\n\
                  config tcp-server s2 abort\n\
                  bogus command\n\
                  show tcp-server\n\
                  exit\n";
    let out = run_to_end("tcpserver", &["--addr", "127.0.0.1:0", "--quiet"], script);
    assert!(out.contains("tcp-server \"s2\" started"), "{out}");
    assert!(out.contains("tcp-server \"s2\" on 127.0.0.1:"), "{out}");
    assert!(out.contains("RUNNING"), "{out}");
    assert!(out.contains("tcp-server \"s2\" stopped"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("error:") && l.contains("bogus"))
        .unwrap_or_else(|| panic!("no error line naming \"bogus\":\n{out}"));
    assert!(
        lines
            .get(at + 1)
            .is_some_and(|l| l.starts_with("commands:")),
        "the usage should follow the error:\n{out}"
    );
    assert!(out.trim_end().ends_with("bye"), "{out}");
}

/// Starting the shell on a port in use prints one error line naming the address and why;
/// the shell still runs.
#[test]
fn tcpserver_explains_a_port_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_to_end("tcpserver", &["--addr", &addr], "exit\n");
    let errors: Vec<&str> = out.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(errors[0].contains(&addr), "{out}");
    assert!(errors[0].contains("already in use"), "{out}");
    assert!(out.contains("bye"), "{out}");
}

/// Sends one line and reads back exactly that line.
fn echoes(client: &mut TcpStream, text: &str) {
    client.write_all(text.as_bytes()).unwrap();
    let mut back = vec![0; text.len()];
    client.read_exact(&mut back).unwrap();
    assert_eq!(String::from_utf8_lossy(&back), text);
}

/// The echo shell, driven like a student would: three clients each get back their own
/// line; one closes (peer closed); the shell disconnects another (application); the third
/// still echoes.
#[test]
fn tcpserver_echo_session() {
    let mut shell = Running::bin("tcpserver", &["--echo", "--addr", "127.0.0.1:0"]);
    let addr = address_in(&shell.line_with("listening on"));
    let mut clients: Vec<TcpStream> = (0..3).map(|_| connect(addr)).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        echoes(client, &format!("hello from client {i}\n"));
    }
    let third = clients.pop().unwrap();
    let second = clients.pop().unwrap();
    let first = clients.pop().unwrap();

    let closed = first.local_addr().unwrap();
    drop(first);
    let line = shell.line_with("peer closed");
    assert!(line.contains(&closed.to_string()), "{line}");

    let peer = second.local_addr().unwrap();
    shell.say(&format!(
        "run tcp-server default client disconnect {} {}",
        peer.ip(),
        peer.port()
    ));
    let line = shell.line_with("disconnected: application");
    assert!(line.contains(&peer.to_string()), "{line}");

    let mut third = third;
    echoes(&mut third, "still here\n");
    shell.say("exit");
    shell.line_with("bye");
    let status = shell.finish();
    assert!(status.success(), "tcpserver exited with {status}");
}

/// Running out of descriptors makes accept() fail; the server says so, backs off, and
/// accepts again once descriptors are free.
#[cfg(target_os = "linux")]
#[test]
fn accept_errors_are_survived() {
    let mut command = StdCommand::new("bash");
    command
        .arg("-c")
        .arg("ulimit -n 24 && exec \"$0\" --addr 127.0.0.1:0 --no-shell")
        .arg(cargo_bin("tcpserver"));
    let mut server = Running::start(command);
    let addr = address_in(&server.line_with("listening on"));
    // More clients than descriptors: the kernel completes their handshakes, accept() runs
    // out of descriptors.
    let clients: Vec<TcpStream> = (0..30).map(|_| connect(addr)).collect();
    let deadline = Instant::now() + LINE_TIMEOUT;
    while !server.seen.iter().any(|l| l.contains("accept() failed")) {
        match server.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => server.seen.push(line),
            Err(_) => panic!(
                "the server never reported \"accept() failed\" with 30 clients and 24 descriptors; output:\n{}",
                server.seen.join("\n")
            ),
        }
    }
    assert!(
        server
            .seen
            .iter()
            .any(|l| l.contains("Too many open files")),
        "{}",
        server.seen.join("\n")
    );
    drop(clients);
    // Once the clients' descriptors are returned, a new client is accepted.
    let late = connect(addr);
    let me = late.local_addr().unwrap().to_string();
    let line = server.line_with(&format!("connected from {me}"));
    assert!(line.contains("connected"), "{line}");
}

/// ch3b measures the busy client beside a crowd of idle ones, with poll then epoll, and the
/// book shows its real output: the page's file is that output, line for line, figures aside.
/// (Only words and structure are checked, never the figures.)
#[test]
fn ch3b_tells_the_beyond_select_story() {
    let out = run_to_end("ch3b", &[], "");
    story::every_line_prefixed(&out, "ch3b");
    let mut words = vec![
        "idle clients",
        "one DRS thread",
        "--poller poll",
        "round trips/s",
        "p99",
    ];
    if cfg!(target_os = "linux") {
        words.extend(["--poller epoll", "epoll / poll"]);
    }
    story::says(&out, "ch3b", &words);
    if !cfg!(target_os = "linux") {
        return;
    }
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/book/src/output/ch3b.txt");
    let shown = std::fs::read_to_string(page).unwrap();
    // A machine with a low descriptor limit runs fewer idle clients and says so in one line.
    let told: Vec<String> = out
        .lines()
        .filter(|l| !l.is_empty() && !l.contains("descriptor limit"))
        .map(without_figures)
        .collect();
    let shown: Vec<String> = shown.lines().map(without_figures).collect();
    assert_eq!(
        told, shown,
        "book/src/output/ch3b.txt is no longer what ch3b prints; paste a fresh run into it"
    );
}

/// A child whose stdout the test reads only as far as it wants to: the first line is read on
/// a thread, and the pipe is then handed back to the test, which holds it unread or drops it.
/// Its stderr is collected in the background. Dropping it kills the child.
struct Unread {
    child: Child,
    /// The read end of the child's stdout, unread past the first line; `None` once dropped.
    stdout: Option<BufReader<std::process::ChildStdout>>,
    /// Everything the child wrote to stderr, once the child has ended.
    stderr: Option<thread::JoinHandle<String>>,
}

impl Unread {
    /// Starts `tcpserver` with `args`, stdin closed, and returns it with its first line.
    fn tcpserver(args: &[&str]) -> (Unread, String) {
        let mut child = StdCommand::new(cargo_bin("tcpserver"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut all = String::new();
            let _ = stderr.read_to_string(&mut all);
            all
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send((first, reader));
        });
        let mut unread = Unread {
            child,
            stdout: None,
            stderr: Some(stderr),
        };
        let (first, reader) = rx
            .recv_timeout(LINE_TIMEOUT)
            .expect("tcpserver printed its start line");
        unread.stdout = Some(reader);
        (unread, first)
    }

    /// Kills the child and returns what it wrote to stderr.
    fn kill_and_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Unread {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `clients` threads each make `rounds` echo round trips to `addr`; every read has a
/// timeout, so a server that stopped serving fails the test instead of hanging it.
fn echo_round_trips(addr: SocketAddr, clients: usize, rounds: usize) {
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            thread::spawn(move || {
                let mut stream = connect(addr);
                for r in 0..rounds {
                    // Long lines: fewer of them fit in the pipe, so the queue overflows for sure.
                    let text = format!("client {c} says hello for the {r}th time {:-<100}\n", "");
                    stream
                        .write_all(text.as_bytes())
                        .unwrap_or_else(|e| panic!("client {c}, round {r}: write failed: {e}"));
                    let mut back = vec![0; text.len()];
                    stream.read_exact(&mut back).unwrap_or_else(|e| {
                        panic!("client {c}, round {r}: no echo within {LINE_TIMEOUT:?}: {e}")
                    });
                    assert_eq!(back, text.as_bytes(), "client {c}, round {r}");
                }
            })
        })
        .collect();
    for (c, worker) in workers.into_iter().enumerate() {
        if worker.join().is_err() {
            panic!("client {c} did not complete its {rounds} round trips");
        }
    }
}

/// A stdout that nobody reads fills up, and then every write to it blocks. The server's
/// threads never write it themselves (a printer thread does), so 20 clients x 300 echo round
/// trips all complete while the event lines pile up unread; lines that do not fit are
/// dropped, and once stdout is read again the next line says how many.
#[test]
fn a_stdout_nobody_reads_stalls_no_client() {
    let (mut server, first) = Unread::tcpserver(&["--echo", "--no-shell", "--addr", "127.0.0.1:0"]);
    let addr = address_in(&first);
    echo_round_trips(addr, 20, 300);

    // Read stdout again: the printer catches up, and says what it had to drop.
    let reader = server.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + LINE_TIMEOUT;
    let next_line = || {
        lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("stdout flows again once it is read")
    };
    while !next_line().contains(" dropped: the terminal could not keep up") {}
    // The queue has room again: a new event is printed, not dropped.
    let late = connect(addr);
    let me = late.local_addr().unwrap().to_string();
    while !next_line().contains(&format!("connected from {me}")) {}
    let stderr = server.kill_and_stderr();
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
}

/// When stdout's reader goes away, writing to it fails (EPIPE). The server neither panics nor
/// stops serving: new clients are accepted and echoed as before.
#[test]
fn a_closed_stdout_stops_no_server_thread() {
    let (mut server, first) = Unread::tcpserver(&["--echo", "--no-shell", "--addr", "127.0.0.1:0"]);
    let addr = address_in(&first);
    drop(server.stdout.take());
    // Each round prints lines that now fail to be written; the clients must not notice.
    echo_round_trips(addr, 4, 50);
    echo_round_trips(addr, 4, 50);
    let stderr = server.kill_and_stderr();
    assert!(
        !stderr.contains("panicked"),
        "a thread panicked on the closed stdout; stderr:\n{stderr}"
    );
}

/// Sends SIGINT (what Ctrl-C sends) to a child.
fn interrupt(child: &Child) {
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -INT failed");
}

/// Waits for the output to end and returns the exit status (the output is read already).
fn exit_status(running: &mut Running) -> ExitStatus {
    let deadline = Instant::now() + LINE_TIMEOUT;
    loop {
        match running
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) => running.seen.push(line),
            Err(RecvTimeoutError::Disconnected) => return running.child.wait().unwrap(),
            Err(RecvTimeoutError::Timeout) => panic!(
                "the program did not end within {LINE_TIMEOUT:?}; output:\n{}",
                running.seen.join("\n")
            ),
        }
    }
}

/// Ctrl-C stops `tcpserver --no-shell` gracefully: its client is disconnected for "server
/// shutdown" and reads end of stream, a line says why the server stopped, and the status is
/// 0. The end of stdin does not stop a server that reads no commands.
#[test]
fn sigint_stops_tcpserver_gracefully() {
    let mut server = Running::bin("tcpserver", &["--no-shell", "--addr", "127.0.0.1:0"]);
    drop(server.stdin.take());
    let addr = address_in(&server.line_with("listening on"));
    let mut client = connect(addr);
    let me = client.local_addr().unwrap().to_string();
    server.line_with(&format!("connected from {me}"));

    interrupt(&server.child);
    let mut byte = [0u8; 1];
    match client.read(&mut byte) {
        Ok(0) => {}
        other => panic!("the client should read end of stream, got {other:?}"),
    }
    let line = server.line_with("disconnected");
    assert!(line.contains("server shutdown"), "{line}");
    server.line_with("interrupted");
    let status = exit_status(&mut server);
    assert!(
        status.success(),
        "tcpserver exited with {status} after SIGINT; output:\n{}",
        server.seen.join("\n")
    );
}

/// Ctrl-C stops a chapter binary's `--listen` server while it waits on stdin: the client
/// reads end of stream, the binary says so and exits 0.
#[test]
fn sigint_stops_a_listen_mode_chapter_binary() {
    let mut ch3 = Running::bin("ch3", &["--listen", "127.0.0.1:0"]);
    let addr = address_in(&ch3.line_with("listening on"));
    let mut client = connect(addr);
    ch3.line_with("connected");

    interrupt(&ch3.child);
    let mut byte = [0u8; 1];
    match client.read(&mut byte) {
        Ok(0) => {}
        other => panic!("the client should read end of stream, got {other:?}"),
    }
    let line = ch3.line_with("server stopped");
    assert!(line.starts_with("[ch3] interrupted"), "{line}");
    let status = exit_status(&mut ch3);
    assert!(status.success(), "ch3 --listen exited with {status}");
}

/// Ctrl-C reaches the shell while it waits for a command: it stops every server and exits 0.
#[test]
fn sigint_stops_the_shell_waiting_for_a_command() {
    let mut shell = Running::bin("tcpserver", &["--addr", "127.0.0.1:0"]);
    shell.line_with("type `help`");
    interrupt(&shell.child);
    shell.line_with("interrupted (SIGINT/SIGTERM): every server stopped");
    let status = exit_status(&mut shell);
    assert!(status.success(), "tcpserver exited with {status}");
}

/// Ctrl-C with a client whose echo is backed up: the client is told "server shutdown",
/// receives every byte the server had queued for it (a prefix of what it sent, since the
/// server paused reading it), then end of stream, not a reset.
#[test]
fn sigint_delivers_queued_output_then_eof() {
    let mut server = Running::bin(
        "tcpserver",
        &["--no-shell", "--echo", "--addr", "127.0.0.1:0"],
    );
    drop(server.stdin.take());
    let addr = address_in(&server.line_with("listening on"));
    let mut client = connect(addr);
    let me = client.local_addr().unwrap().to_string();
    server.line_with(&format!("connected from {me}"));
    let sent: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 241) as u8).collect();
    client.write_all(&sent).unwrap();
    interrupt(&server.child);
    let mut got = Vec::new();
    client
        .read_to_end(&mut got)
        .unwrap_or_else(|e| panic!("after {} bytes: {e}; expected end of stream", got.len()));
    assert!(!got.is_empty(), "the queued echo was delivered");
    assert!(
        got == sent[..got.len()],
        "the echo is a prefix of what was sent"
    );
    drop(client); // our FIN: the server stops waiting for the rest of our input
    let line = server.line_with("disconnected");
    assert!(line.contains("server shutdown"), "{line}");
    assert!(exit_status(&mut server).success());
}

/// `tcpserver` ends a client that starts a message and never finishes it (the message
/// timeout, here 0.2 s instead of the default 30 s).
#[test]
fn tcpserver_times_out_a_trickled_header() {
    let mut server = Running::bin(
        "tcpserver",
        &[
            "--no-shell",
            "--framing",
            "length",
            "--message-timeout",
            "0.2",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    drop(server.stdin.take());
    let addr = address_in(&server.line_with("listening on"));
    let mut client = connect(addr);
    client.write_all(&[0]).unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(client.read(&mut byte).unwrap(), 0, "end of stream");
    let line = server.line_with("disconnected");
    assert!(line.contains("message timeout"), "{line}");
}

/// ch0 runs the five models side by side and tells who waited for whom: the iterative
/// server makes B wait for A, a full pool makes C wait, the others serve everyone; each
/// model's threads (and processes) are counted, and none is left running. The book shows
/// its real output: the page's file is that output, line for line, figures aside.
#[test]
fn ch0_tells_the_five_models_story() {
    let out = story::story_matches_the_book("ch0");
    story::says(
        &out,
        "ch0",
        &[
            "iterative",
            "B gets no echo",
            "B now gets its echo",
            "all 2 workers are busy with A and B",
            "reported their peer (getpeername on stdin)",
            "1 thread + 3 processes",
            "0 threads still running",
            "B waited for A",
            "C waited for A+B",
            "nobody waited",
        ],
    );
}

/// `ch0 --listen ADDR --model pool` serves lines to nc-like clients until stdin closes, then
/// stops the pool and exits 0.
#[test]
fn ch0_listen_mode_serves_a_model_until_stdin_closes() {
    let mut ch0 = Running::bin("ch0", &["--listen", "127.0.0.1:0", "--model", "pool"]);
    let first = ch0.line_with("listening on");
    assert!(first.contains("model pool"), "{first}");
    let addr = address_in(&first);
    let mut client = connect(addr);
    echoes(&mut client, "hello pool\n");
    drop(client);
    let status = ch0.finish();
    assert!(status.success(), "ch0 --listen exited with {status}");
    assert!(
        ch0.seen
            .iter()
            .any(|l| l.contains("server stopped") && l.contains("0 threads still running")),
        "{}",
        ch0.seen.join("\n")
    );
}

/// `ch0 --listen ADDR --model process` serves each client from a child `ch0 --serve-stdio`.
#[test]
fn ch0_listen_mode_serves_from_child_processes() {
    let mut ch0 = Running::bin("ch0", &["--listen", "127.0.0.1:0", "--model", "process"]);
    let addr = address_in(&ch0.line_with("listening on"));
    let mut client = connect(addr);
    echoes(&mut client, "hello child\n");
    let status = ch0.finish();
    assert!(status.success(), "ch0 --listen exited with {status}");
}

/// `ch0 --serve-stdio` run by hand (stdin not a socket) says what it is for and fails.
#[test]
fn ch0_serve_stdio_needs_a_socket() {
    let out = StdCommand::new(cargo_bin("ch0"))
        .arg("--serve-stdio")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a connected socket"), "{err}");
    assert!(out.stdout.is_empty());
}
