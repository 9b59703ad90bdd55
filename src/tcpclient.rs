//! Chapter 6 on — the `tcpclient` program: a small interactive client for students, for the framings `nc`
//! cannot speak (`length`, `length-le`, `fixed:N`).
//!
//! It connects (retrying at an interval while the connection is refused, if asked), sends
//! every line of a replay file and then every line typed on stdin, each as one message in
//! the chosen framing, and prints every message it receives on its own line. An empty
//! message is the server's keep-alive (chapter 8): counted, not printed. `length-le` is the
//! framing of the course's C++ `testapp` (a 2-byte little-endian total length), so the same
//! client talks to our server and to the course's.
//!
//! Reading the socket and reading stdin both block, so each has its own thread, and the main
//! thread waits on one channel for whichever speaks first (the same shape as
//! [`crate::console`]). At the end of stdin the client half-closes its side and waits a
//! bounded time for the server to finish its replies; past that it shuts the socket down,
//! which wakes its reading thread, and leaves.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::console::{read_bounded_line, Line, MAX_LINE};
use crate::demarcation::{Demarcator, ProtocolError};
use crate::framing::Framing;
use crate::printer;
use crate::wording::{plural, shown};

/// How long, after stdin ends, the client waits for the server's last replies and its end
/// of stream.
pub const DRAIN: Duration = Duration::from_secs(2);
/// How long one write may wait for the server to take bytes: a server that reads nothing for
/// this long is not going to.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connect attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds of `--retry`, in seconds.
pub const RETRY_SECS: (f64, f64) = (0.01, 3600.0);

// ANCHOR: usage
/// The usage text of `tcpclient`.
pub const USAGE: &str = "\
usage: tcpclient [--framing KIND] [--retry SECONDS] [--replay FILE] [--quiet] IP PORT
  --framing KIND    none | fixed:N | length | length-le | line (default: line); each line
                    typed is sent as one message (under none, with its line end)
  --retry SECONDS   while the connection is refused, try again at this interval
  --replay FILE     first send every line of FILE, then go on with stdin
  --quiet           no status lines on stderr (connected, counts at exit)";
// ANCHOR_END: usage

/// What the command line asked for.
#[derive(Clone, Debug)]
pub struct Options {
    /// How messages are framed, both ways.
    pub framing: Framing,
    /// Retry interval while the connection is refused; `None`: one attempt.
    pub retry: Option<Duration>,
    /// Lines to send before stdin's.
    pub replay: Option<PathBuf>,
    /// No status lines.
    pub quiet: bool,
    /// The server's host (an IP address or a name).
    pub host: String,
    /// The server's port.
    pub port: u16,
}

/// Why the arguments give no [`Options`].
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help`.
    Help,
    /// A mistake, explained.
    Bad(String),
}

/// Parses the arguments (without the program's name).
///
/// # Errors
/// [`ArgsError::Help`] for `--help`, [`ArgsError::Bad`] naming what was wrong.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, ArgsError> {
    let mut framing = Framing::line();
    let mut retry = None;
    let mut replay = None;
    let mut quiet = false;
    let mut positional = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| ArgsError::Bad(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--framing" => {
                framing = value("--framing")?
                    .parse()
                    .map_err(|e: crate::framing::ParseFramingError| ArgsError::Bad(e.to_string()))?
            }
            "--retry" => {
                let given = value("--retry")?;
                let secs = given
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (RETRY_SECS.0..=RETRY_SECS.1).contains(s))
                    .ok_or_else(|| {
                        ArgsError::Bad(format!(
                            "--retry: {} is not a number of seconds in range; expected {} to {}",
                            shown(&given),
                            RETRY_SECS.0,
                            RETRY_SECS.1
                        ))
                    })?;
                retry = Some(Duration::from_secs_f64(secs));
            }
            "--replay" => replay = Some(PathBuf::from(value("--replay")?)),
            "--quiet" => quiet = true,
            "-h" | "--help" => return Err(ArgsError::Help),
            flag if flag.starts_with("--") => {
                return Err(ArgsError::Bad(format!("unknown flag {}", shown(flag))))
            }
            _ => positional.push(arg),
        }
    }
    let [host, port] = <[String; 2]>::try_from(positional).map_err(|given| {
        ArgsError::Bad(format!(
            "expected the server's IP and PORT, got {}",
            plural(given.len() as u64, "argument")
        ))
    })?;
    let port = port.parse().map_err(|_| {
        ArgsError::Bad(format!(
            "{} is not a port; expected 1 to 65535",
            shown(&port)
        ))
    })?;
    Ok(Options {
        framing,
        retry,
        replay,
        quiet,
        host,
        port,
    })
}

/// How a session ended badly.
#[derive(Debug)]
pub enum ClientError {
    /// The address did not resolve.
    Resolve(String, io::Error),
    /// The connect failed (refused, unreachable, timed out).
    Connect(SocketAddr, io::Error),
    /// The replay file could not be read.
    Replay(PathBuf, io::Error),
    /// The connection broke while writing (reset, or the server stopped reading).
    Write(io::Error),
    /// The connection broke while reading (reset).
    Read(io::Error),
    /// The server's bytes broke the framing.
    Framing(ProtocolError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve(host, e) => write!(f, "cannot resolve {}: {e}", shown(host)),
            ClientError::Connect(addr, e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                write!(
                    f,
                    "cannot connect to {addr}: refused (no server listens there; --retry SECONDS waits for one)"
                )
            }
            ClientError::Connect(addr, e) => write!(f, "cannot connect to {addr}: {e}"),
            ClientError::Replay(path, e) => {
                write!(f, "cannot read the replay file {}: {e}", path.display())
            }
            ClientError::Write(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                write!(
                    f,
                    "the server took nothing for {} s: it is not reading; giving up",
                    WRITE_TIMEOUT.as_secs()
                )
            }
            ClientError::Write(e) => write!(f, "the connection broke while sending: {e}"),
            ClientError::Read(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                write!(f, "the connection was reset by the server")
            }
            ClientError::Read(e) => write!(f, "the connection broke while receiving: {e}"),
            ClientError::Framing(e) => write!(f, "the server broke the framing: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// What the threads tell the main thread.
enum Event {
    /// A line of stdin (or why it was skipped).
    Line(Result<Vec<u8>, String>),
    /// Stdin ended.
    StdinEnd,
    /// The server's side ended: cleanly (`Ok`) or not.
    PeerEnd(Result<(), ClientError>),
}

/// What the reading thread counted.
#[derive(Clone, Copy, Debug, Default)]
struct Received {
    messages: u64,
    keepalives: u64,
}

// ANCHOR: run
/// Runs a session: connect, replay, stdin, drain. Status lines go to stderr (unless quiet),
/// messages to stdout.
///
/// # Errors
/// [`ClientError`] for a connect that failed, an unreadable replay file, a connection that
/// broke, or a framing error from the server.
pub fn run(options: &Options) -> Result<(), ClientError> {
    let replay = match &options.replay {
        Some(path) => Some(BufReader::new(
            File::open(path).map_err(|e| ClientError::Replay(path.clone(), e))?,
        )),
        None => None,
    };
    let stream = connect(options)?;
    let status = |line: String| {
        if !options.quiet {
            let _ = writeln!(io::stderr(), "tcpclient: {line}");
        }
    };
    status(format!(
        "connected to {} (framing: {})",
        stream.peer_addr().map_or("?".into(), |a| a.to_string()),
        options.framing
    ));
    let (tx, events) = mpsc::channel();
    let reader = start_reader(&stream, options.framing.clone(), tx.clone())?;
    start_stdin(tx);
    let mut writer = Writer {
        stream: &stream,
        framing: &options.framing,
        sent: 0,
    };
    let ended = session(&mut writer, replay, &events, options);
    // Whatever ended the session, the reading thread is woken (its socket shut) and joined.
    let _ = stream.shutdown(Shutdown::Both);
    let received = reader.join().unwrap_or_default();
    status(format!(
        "{} sent, {} received, {} (empty messages) received",
        plural(writer.sent, "message"),
        plural(received.messages, "message"),
        plural(received.keepalives, "keep-alive")
    ));
    ended
}
// ANCHOR_END: run

/// Replay, then stdin, until the peer ends or stdin ends and the peer has drained.
fn session(
    writer: &mut Writer<'_>,
    replay: Option<BufReader<File>>,
    events: &Receiver<Event>,
    options: &Options,
) -> Result<(), ClientError> {
    if let Some(mut file) = replay {
        let path = options.replay.clone().unwrap_or_default();
        // Bounded by the file: each turn consumes at least one byte or ends.
        for number in 1u64.. {
            let line = match read_bounded_line(&mut file, MAX_LINE) {
                Ok(None) => break,
                Ok(Some(Line::Bytes(line))) => Ok(line),
                Ok(Some(Line::TooLong(n))) => Err(format!(
                    "{} line {number} is {n} bytes long; at most {MAX_LINE}; not sent",
                    path.display()
                )),
                Err(e) => return Err(ClientError::Replay(path, e)),
            };
            // A server that closes mid-replay fails the next writes, which ends the replay.
            writer.send(line)?;
        }
    }
    loop {
        match events.recv() {
            Ok(Event::Line(line)) => writer.send(line)?,
            Ok(Event::PeerEnd(end)) => {
                if end.is_ok() && !options.quiet {
                    let _ = writeln!(io::stderr(), "tcpclient: the server closed the connection");
                }
                return end;
            }
            Ok(Event::StdinEnd) | Err(_) => break,
        }
    }
    // Our side is done: a FIN tells the server, which sends its last replies and closes.
    let _ = writer.stream.shutdown(Shutdown::Write);
    loop {
        match events.recv_timeout(DRAIN) {
            Ok(Event::PeerEnd(end)) => return end,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                if !options.quiet {
                    let _ = writeln!(
                        io::stderr(),
                        "tcpclient: the server did not close within {} s of our end; leaving",
                        DRAIN.as_secs()
                    );
                }
                return Ok(());
            }
        }
    }
}

/// Connects, retrying at the interval while refused (if asked).
fn connect(options: &Options) -> Result<TcpStream, ClientError> {
    let host = options.host.as_str();
    let addrs: Vec<SocketAddr> = (host, options.port)
        .to_socket_addrs()
        .map_err(|e| ClientError::Resolve(host.to_string(), e))?
        .collect();
    let Some(&addr) = addrs.first() else {
        let none = io::Error::new(io::ErrorKind::NotFound, "it resolved to no address");
        return Err(ClientError::Resolve(host.to_string(), none));
    };
    let mut said = false;
    loop {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                // Each message goes out as it is typed, not held back to fill a segment.
                let _ = stream.set_nodelay(true);
                stream
                    .set_write_timeout(Some(WRITE_TIMEOUT))
                    .map_err(ClientError::Write)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                let Some(interval) = options.retry else {
                    return Err(ClientError::Connect(addr, e));
                };
                if !said && !options.quiet {
                    let _ = writeln!(
                        io::stderr(),
                        "tcpclient: {addr} refused the connection; retrying every {:.2} s",
                        interval.as_secs_f64()
                    );
                }
                said = true;
                // The retry interval itself: nothing else is waited for meanwhile.
                thread::sleep(interval);
            }
            Err(e) => return Err(ClientError::Connect(addr, e)),
        }
    }
}

/// Frames and writes lines, counting them.
struct Writer<'a> {
    stream: &'a TcpStream,
    framing: &'a Framing,
    sent: u64,
}

impl Writer<'_> {
    /// Sends one line as one message; a line that cannot be framed is reported and skipped.
    fn send(&mut self, line: Result<Vec<u8>, String>) -> Result<(), ClientError> {
        let mut line = match line {
            Ok(line) => line,
            Err(why) => {
                let _ = writeln!(io::stderr(), "tcpclient: {why}");
                return Ok(());
            }
        };
        // A terminal or a Windows-made file ends lines with \r\n: the \r is not the message.
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if *self.framing == Framing::None {
            line.push(b'\n');
        }
        let frame = match self.framing.encode(&line) {
            Ok(frame) => frame,
            Err(e) => {
                let _ = writeln!(io::stderr(), "tcpclient: not sent: {e}");
                return Ok(());
            }
        };
        let mut stream = self.stream;
        stream.write_all(&frame).map_err(ClientError::Write)?;
        self.sent += 1;
        Ok(())
    }
}

/// Starts the thread that reads the socket, prints messages, and tells how the peer ended.
fn start_reader(
    stream: &TcpStream,
    framing: Framing,
    tx: Sender<Event>,
) -> Result<JoinHandle<Received>, ClientError> {
    let mut stream = stream.try_clone().map_err(ClientError::Read)?;
    thread::Builder::new()
        .name("tcpclient-read".into())
        .spawn(move || {
            let mut received = Received::default();
            let end = receive(&mut stream, framing, &mut received);
            let _ = tx.send(Event::PeerEnd(end));
            received
        })
        .map_err(ClientError::Read)
}

// ANCHOR: receive
/// Reads until the peer's end: cuts messages with the framing, prints each on its own line,
/// counts empty ones as keep-alives.
fn receive(
    stream: &mut TcpStream,
    framing: Framing,
    received: &mut Received,
) -> Result<(), ClientError> {
    let raw = framing == Framing::None;
    let mut demarcator = Demarcator::new(framing, 0);
    let mut buf = vec![0u8; 16 * 1024];
    let mut messages = Vec::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return demarcator.finish().map_err(ClientError::Framing),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ClientError::Read(e)),
        };
        let fed = demarcator.feed(&buf[..n], &mut messages);
        for message in messages.drain(..) {
            if message.is_empty() {
                received.keepalives += 1;
                continue;
            }
            received.messages += 1;
            printer::say(if raw {
                let text = String::from_utf8_lossy(&message);
                text.strip_suffix('\n').unwrap_or(&text).to_string()
            } else {
                shown_message(&message)
            });
        }
        fed.map_err(ClientError::Framing)?;
    }
}
// ANCHOR_END: receive

/// A message as text when it is printable text, escaped otherwise, so that a binary message
/// cannot garble the terminal.
fn shown_message(message: &[u8]) -> String {
    match std::str::from_utf8(message) {
        Ok(text) if !text.chars().any(|c| c.is_control() && c != '\t') => text.to_string(),
        _ => message.escape_ascii().to_string(),
    }
}

/// Starts the thread that reads stdin line by line (bounded) into the channel.
fn start_stdin(tx: Sender<Event>) {
    let spawned = thread::Builder::new()
        .name("tcpclient-stdin".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut reader = stdin.lock();
            // Bounded by the input: every turn consumes at least one byte or ends.
            for number in 1u64.. {
                let event = match read_bounded_line(&mut reader, MAX_LINE) {
                    Ok(None) | Err(_) => break,
                    Ok(Some(Line::Bytes(line))) => Event::Line(Ok(line)),
                    Ok(Some(Line::TooLong(n))) => Event::Line(Err(format!(
                        "input line {number} is {n} bytes long; at most {MAX_LINE}; not sent"
                    ))),
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            let _ = tx.send(Event::StdinEnd);
        });
    if let Err(e) = spawned {
        let _ = writeln!(
            io::stderr(),
            "tcpclient: cannot start the stdin thread: {e}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Options, ArgsError> {
        parse_args(s.split_whitespace().map(String::from))
    }

    /// The flags parse; mistakes are named with what was expected.
    #[test]
    fn parses_its_arguments() {
        let o = args("--framing length-le --retry 0.1 --quiet 127.0.0.1 40000").unwrap();
        assert_eq!(
            o.framing.to_string(),
            "length-le".parse::<Framing>().unwrap().to_string()
        );
        assert_eq!(o.retry, Some(Duration::from_millis(100)));
        assert!(o.quiet);
        assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", 40000));
        assert_eq!(args("--help").unwrap_err(), ArgsError::Help);
        let bad = |s: &str| match args(s) {
            Err(ArgsError::Bad(e)) => e,
            other => panic!("{s}: {other:?}"),
        };
        assert!(bad("127.0.0.1").contains("got 1 argument"));
        assert!(bad("127.0.0.1 99999").contains("is not a port"));
        assert!(bad("--retry 1e20 127.0.0.1 1").contains("expected 0.01 to 3600"));
        assert!(bad("--framing bogus 127.0.0.1 1").contains("expected none"));
        assert!(bad("--bogus 127.0.0.1 1").contains("unknown flag"));
        assert!(bad("127.0.0.1 1 --replay").contains("--replay needs a value"));
    }

    /// Text is shown as is; control bytes and invalid UTF-8 escaped.
    #[test]
    fn messages_are_shown_safely() {
        assert_eq!(shown_message(b"hello\tthere"), "hello\tthere");
        assert_eq!(shown_message(b"a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(shown_message(b"\xff"), "\\xff");
    }
}
