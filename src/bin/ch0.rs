//! `cargo run --bin ch0`: five ways to serve many clients (chapter 0, the prologue).
//!
//! For each model of [`tcpserverlib::models`] in turn, an echo server gets three clients at
//! once: A, the slow one, connects first and then stays connected without a word; B and C
//! each send a line. Who gets an echo, and who waits for whom, is printed as it happens; then
//! the clients leave one by one, the server is stopped, and the threads and processes it used
//! are counted. `-- --listen ADDR --model NAME` keeps one model up for `nc` until stdin closes
//! or Ctrl-C; `--serve-stdio` is the child of the process-per-client model (not for typing).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tcpserverlib::demo::{self, Failure, TIMEOUT};
use tcpserverlib::models::{self, Model, ModelServer};
use tcpserverlib::{printer, say};

const CH: &str = "[ch0]";
/// How long the story waits for an echo it expects not to come: enough to see that
/// nothing comes, short enough to keep the story brisk. An echo that does come is shown.
const PATIENCE: Duration = Duration::from_millis(300);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve-stdio") {
        // The child of a process-per-client server: its stdout is the client's socket, so
        // it prints nothing there; errors go to stderr, which the parent reads.
        return match models::serve_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(io::stderr(), "ch0 --serve-stdio: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = tcpserverlib::raise_fd_limit() {
        let _ = writeln!(io::stderr(), "ch0: cannot raise the descriptor limit: {e}");
    }
    let (code, error) = match demo::parse_model_args(&args) {
        Ok(demo::ModelArgs::Help) => {
            say!("{}", demo::MODEL_USAGE);
            (ExitCode::SUCCESS, None)
        }
        Ok(demo::ModelArgs::Listen { addr, model }) => {
            match ModelServer::start(model, addr.as_str()) {
                Ok(mut server) => {
                    demo::serve_model_until_stdin_closes(&mut server, CH);
                    (ExitCode::SUCCESS, None)
                }
                Err(e) => (
                    ExitCode::FAILURE,
                    Some(format!("{CH} error: cannot listen on {addr}: {e}")),
                ),
            }
        }
        Ok(demo::ModelArgs::Story) => match story() {
            Ok(()) => (ExitCode::SUCCESS, None),
            Err(e) => (ExitCode::FAILURE, Some(format!("{CH} error: {e}"))),
        },
        Err(usage) => (ExitCode::from(2), Some(usage)),
    };
    printer::flush();
    if let Some(error) = error {
        let _ = writeln!(io::stderr(), "{error}");
    }
    code
}

/// One client of the story: its name, its socket, and its lines.
struct Client {
    name: char,
    stream: TcpStream,
    lines: BufReader<TcpStream>,
    /// When its line was sent, while its echo is awaited.
    sent_at: Option<Instant>,
}

impl Client {
    fn connect(name: char, addr: SocketAddr) -> Result<Client, Failure> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
        let lines = BufReader::new(stream.try_clone()?);
        Ok(Client {
            name,
            stream,
            lines,
            sent_at: None,
        })
    }

    fn send(&mut self) -> Result<(), Failure> {
        writeln!(self.stream, "hello from {}", self.name)?;
        self.sent_at = Some(Instant::now());
        Ok(())
    }

    /// Waits up to `wait` for the echo; when it came (and was the line sent), how many
    /// milliseconds after sending.
    fn echo_within(&mut self, wait: Duration) -> Result<Option<u128>, Failure> {
        self.stream.set_read_timeout(Some(wait))?;
        let mut line = String::new();
        match self.lines.read_line(&mut line) {
            Ok(0) => Err(format!("{} saw the server close", self.name).into()),
            Ok(_) if line == format!("hello from {}\n", self.name) => {
                Ok(self.sent_at.take().map(|t| t.elapsed().as_millis()))
            }
            Ok(_) => Err(format!("{} got {line:?} back", self.name).into()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// How many clients `model` serves at once (the rest wait, in connect order).
fn capacity(model: Model) -> usize {
    match model {
        Model::Iterative => 1,
        Model::ThreadPool { workers } => workers,
        _ => usize::MAX,
    }
}

/// What the model spends per client, in words.
fn how(model: Model) -> &'static str {
    match model {
        Model::Iterative => "one thread accepts a client and serves it to the end, then accepts the next",
        Model::ProcessPerClient => "the parent accepts; a child process (ch0 --serve-stdio) serves each client, its socket as stdin and stdout",
        Model::ThreadPerClient => "the accepting thread starts a thread per client",
        Model::ThreadPool { .. } => "a fixed pool of worker threads takes accepted clients from a queue",
        Model::Multiplexed => "one thread polls the listener and every client, and serves whichever is ready",
    }
}

/// Why a client gets no echo yet, for the models that make clients wait.
fn why_waiting(model: Model, ahead: &[char]) -> String {
    let ahead: Vec<String> = ahead.iter().map(char::to_string).collect();
    match model {
        Model::ThreadPool { workers } => format!(
            "all {workers} workers are busy with {}; it waits in the queue",
            ahead.join(" and ")
        ),
        _ => format!(
            "the one thread is serving {}; its connect sits in the listen backlog",
            ahead.join(", ")
        ),
    }
}

/// The scripted demonstration: every model, the same three clients.
fn story() -> Result<(), Failure> {
    say!("{CH} Five echo servers, one protocol (each line comes back), three clients each.");
    say!("{CH} A is the slow client: it connects first, sends one line, then stays connected without a word.");
    say!(
        "{CH} B and C then connect and send a line each. Who gets an echo, and who waits for whom?"
    );
    let mut summary = Vec::new();
    for (n, model) in Model::ALL.into_iter().enumerate() {
        say!("{CH}");
        say!("{CH} {}. {} — {}.", n + 1, model.name(), how(model));
        summary.push((model, run_one(model)?));
    }
    say!("{CH}");
    say!("{CH} done: three clients, one of them slow, on each model:");
    for (model, line) in &summary {
        say!("{CH}   {:<12} {line}", model.name());
    }
    say!("{CH} The fifth model of the course, callbacks on events, is the library itself: chapter 1 starts it.");
    Ok(())
}

/// One model's run; returns its summary line.
fn run_one(model: Model) -> Result<String, Failure> {
    let mut server = ModelServer::start(model, "127.0.0.1:0")?;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    let mut waits: Vec<(char, Vec<String>)> = Vec::new();
    for name in ['A', 'B', 'C'] {
        let mut client = Client::connect(name, addr)?;
        client.send()?;
        clients.push(client);
    }
    // Everyone connected is still here; who is served is decided in connect order.
    check(model, &mut clients, &mut waits, "")?;
    while !clients.is_empty() {
        let gone = clients.remove(0);
        say!("{CH}   {} leaves.", gone.name);
        drop(gone);
        if clients.iter().any(|c| c.sent_at.is_some()) {
            check(model, &mut clients, &mut waits, "now ")?;
        }
    }
    let stats = server.stop();
    let threads = stats.threads_started;
    let mut used = format!("{threads} thread{}", if threads == 1 { "" } else { "s" });
    if !stats.children.is_empty() {
        let pids: Vec<String> = stats.children.iter().map(|c| c.pid.to_string()).collect();
        let peers = stats.children.iter().filter(|c| c.peer.is_some()).count();
        let clean = stats
            .children
            .iter()
            .filter(|c| c.exit.is_some_and(|s| s.success()))
            .count();
        say!(
            "{CH}   {} child processes (pids {}); {peers} reported their peer (getpeername on stdin); {clean} exited 0 and were waited for.",
            stats.children.len(),
            pids.join(", ")
        );
        used = format!("{used} + {} processes", stats.children.len());
    }
    say!(
        "{CH}   stopped: {} clients served, {used} used, {} threads still running.",
        stats.clients_served,
        stats.threads_running
    );
    let waited: Vec<String> = waits
        .iter()
        .enumerate()
        .map(|(i, (name, ahead))| {
            let verb = if i == 0 { " waited" } else { "" };
            format!("{name}{verb} for {}", ahead.join(" then "))
        })
        .collect();
    let waited = if waited.is_empty() {
        "nobody waited".to_string()
    } else {
        waited.join(", ")
    };
    Ok(format!("{used:<24} {waited}"))
}

/// Waits for the echo of every client still owed one: as long as it takes for a client the
/// model should be serving, [`PATIENCE`] for one it should not.
fn check(
    model: Model,
    clients: &mut [Client],
    waits: &mut Vec<(char, Vec<String>)>,
    now: &str,
) -> Result<(), Failure> {
    let capacity = capacity(model);
    let names: Vec<char> = clients.iter().map(|c| c.name).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        if client.sent_at.is_none() {
            continue;
        }
        let served = i < capacity;
        if let Some(waited) = client.echo_within(if served { TIMEOUT } else { PATIENCE })? {
            say!(
                "{CH}   {} {now}gets its echo ({waited} ms after sending).",
                client.name
            );
        } else {
            let ahead = &names[..capacity.min(i)];
            say!(
                "{CH}   {} gets no echo within {} ms: {}.",
                client.name,
                PATIENCE.as_millis(),
                why_waiting(model, ahead)
            );
            let ahead = ahead
                .iter()
                .map(char::to_string)
                .collect::<Vec<_>>()
                .join("+");
            match waits.iter_mut().find(|(name, _)| *name == client.name) {
                Some((_, list)) => list.push(ahead),
                None => waits.push((client.name, vec![ahead])),
            }
        }
    }
    Ok(())
}
