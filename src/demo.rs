//! Helpers shared by the chapter binaries (`cargo run --bin chN`): their `main`
//! ([`chapter_main`]), the `--listen ADDR` mode every one of them offers, and a few printing
//! helpers. The demo application itself, [`Recorder`], lives in [`crate::recorder`] (the
//! `tcpserver` shell uses it too) and is re-exported here for the chapter binaries and tests.
//!
//! Everything is printed through [`crate::printer`], and a chapter binary's output is complete
//! (flushed) before it exits.

use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::Config;
use crate::console::{Console, Input};
use crate::controller::{ServerHandle, TcpServer};
use crate::printer;
pub use crate::recorder::{printable, Event, Events, Print, Recorder, UnexpectedEvent};

/// What went wrong in a chapter's scripted demonstration: any error (`?` converts an
/// [`UnexpectedEvent`], a `ServerError`, an `io::Error` or a `String` into it). `Send`, so a
/// demonstration's helper threads can return one.
pub type Failure = Box<dyn Error + Send + Sync>;

/// Prints `show tcp-server <name>` under a chapter's prefix, each line marked `|`.
pub fn print_show(prefix: &str, server: &ServerHandle) {
    printer::say(format!("{prefix}   show tcp-server {}:", server.name()));
    for line in server.show().lines() {
        printer::say(format!("{prefix}   | {line}"));
    }
}

/// Prints `show tcp-server <name> stats` (chapter 9's counters) the same way.
pub fn print_stats(prefix: &str, server: &ServerHandle) {
    printer::say(format!(
        "{prefix}   show tcp-server {} stats:",
        server.name()
    ));
    for line in server.stats().to_string().lines() {
        printer::say(format!("{prefix}   | {line}"));
    }
}

// ANCHOR: listen_mode
/// What a chapter binary was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// No arguments: the scripted demonstration.
    Story,
    /// `--listen ADDR`: keep the chapter's server up on ADDR.
    Listen(String),
    /// `--help`: print the usage.
    Help,
}

/// Reads a chapter binary's arguments.
///
/// # Errors
/// [`UsageError`] naming the bad argument; its `Display` includes the usage.
pub fn mode(chapter: &str) -> Result<Mode, UsageError> {
    parse_mode(chapter, std::env::args().skip(1))
}

/// [`mode`] over any list of arguments (without the program name).
///
/// # Errors
/// [`UsageError`] naming the bad argument.
pub fn parse_mode(
    chapter: &str,
    args: impl IntoIterator<Item = String>,
) -> Result<Mode, UsageError> {
    let mut args = args.into_iter();
    let mut mode = Mode::Story;
    let problem = |problem: String| UsageError {
        chapter: chapter.to_string(),
        problem,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(addr) => mode = Mode::Listen(addr),
                None => return Err(problem("--listen needs an address".into())),
            },
            "-h" | "--help" => return Ok(Mode::Help),
            other => return Err(problem(format!("unknown argument {other:?}"))),
        }
    }
    Ok(mode)
}

/// A chapter binary was given arguments it does not understand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// The binary, e.g. `ch3`.
    pub chapter: String,
    /// What was wrong with the arguments.
    pub problem: String,
}

impl fmt::Display for UsageError {
    /// The problem, then the usage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.chapter, self.problem)?;
        f.write_str(&usage(&self.chapter))
    }
}

impl Error for UsageError {}

fn usage(chapter: &str) -> String {
    format!(
        "usage: cargo run --bin {chapter} [-- --listen ADDR]\n  without arguments: a scripted demonstration that exits by itself\n  --listen ADDR: keep this chapter's server on ADDR (e.g. 127.0.0.1:40100) for nc/telnet until stdin closes or Ctrl-C"
    )
}

/// Keeps `server` running until stdin closes (Ctrl-D) or a stop signal (Ctrl-C, SIGTERM)
/// arrives; typing `show` prints the server, `stats` its counters, anything else is ignored. Either way the server
/// is stopped (every client is told "server shutdown") and a line says why.
pub fn serve_until_stdin_closes(server: &TcpServer, prefix: &str) {
    let console = Console::start(true);
    printer::say(format!(
        "{prefix} listening on {}; connect with `nc {}`; type `show` to see the server, `stats` for its counters, Ctrl-D or Ctrl-C to stop",
        server.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        server
            .local_addr()
            .map(|a| format!("{} {}", a.ip(), a.port()))
            .unwrap_or_default()
    ));
    let why = loop {
        match console.next() {
            Input::Line(line) if line.trim() == "show" => {
                printer::say(server.show().trim_end());
            }
            Input::Line(line) if line.trim() == "stats" => {
                printer::say(server.stats().to_string().trim_end());
            }
            Input::Line(_) | Input::Bad(_) => {}
            Input::Eof => break "stdin closed",
            Input::Signal => break "interrupted",
        }
    };
    server.stop();
    printer::say(format!("{prefix} {why}: server stopped"));
}
// ANCHOR_END: listen_mode

// ANCHOR: chapter_main
/// The whole `main` of a chapter binary: without arguments, run `script` (the scripted
/// demonstration) and exit 0, or print its error and exit 1; with `--listen ADDR`, serve
/// `listen_config` on ADDR (echoing messages if `echo`) until stdin closes or Ctrl-C.
/// Raises the descriptor limit first, and flushes the printer before returning.
pub fn chapter_main<E: fmt::Display>(
    chapter: &str,
    listen_config: Config,
    echo: bool,
    script: impl FnOnce() -> Result<(), E>,
) -> ExitCode {
    chapter_main_with(chapter, listen_config, echo, |_| {}, script)
}
// ANCHOR_END: chapter_main

/// [`chapter_main`], with `setup` applied to the `--listen` server once it runs (for
/// example a chapter's mode switched on).
pub fn chapter_main_with<E: fmt::Display>(
    chapter: &str,
    listen_config: Config,
    echo: bool,
    setup: impl FnOnce(&TcpServer),
    script: impl FnOnce() -> Result<(), E>,
) -> ExitCode {
    if let Err(e) = crate::sys::raise_fd_limit() {
        let _ = writeln!(
            io::stderr(),
            "{chapter}: cannot raise the descriptor limit: {e}"
        );
    }
    let prefix = format!("[{chapter}]");
    let (code, error) = match mode(chapter) {
        Ok(Mode::Help) => {
            printer::say(usage(chapter));
            (ExitCode::SUCCESS, None)
        }
        Ok(Mode::Listen(addr)) => {
            let print = Print {
                prefix: Some(prefix.clone()),
                messages: true,
            };
            // Nobody waits on events here: a recorder that keeps none, so a long stream
            // of messages is printed and forgotten.
            let recorder = Recorder::printing(print, echo);
            let started = TcpServer::with_config(chapter, addr.as_str(), listen_config, recorder)
                .and_then(|s| s.start().map(|_| s));
            match started {
                Ok(server) => {
                    setup(&server);
                    serve_until_stdin_closes(&server, &prefix);
                    (ExitCode::SUCCESS, None)
                }
                Err(e) => (ExitCode::FAILURE, Some(format!("{prefix} error: {e}"))),
            }
        }
        Ok(Mode::Story) => match script() {
            Ok(()) => (ExitCode::SUCCESS, None),
            Err(e) => (ExitCode::FAILURE, Some(format!("{prefix} error: {e}"))),
        },
        Err(usage) => (ExitCode::from(2), Some(usage.to_string())),
    };
    // Everything printed so far comes before the error, and nothing is lost at exit.
    printer::flush();
    if let Some(error) = error {
        let _ = writeln!(io::stderr(), "{error}");
    }
    code
}

/// The standard timeout of demonstrations: generous, because it is only reached on failure.
pub const TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: model_args
/// What `ch0` was asked to do (it has a model to choose, so its arguments are its own).
#[derive(Debug, PartialEq, Eq)]
pub enum ModelArgs {
    /// No arguments: the scripted demonstration of the five models.
    Story,
    /// `--listen ADDR [--model NAME]`: keep one model's echo server up on ADDR.
    Listen {
        /// Where to listen.
        addr: String,
        /// Which model serves (default: thread per client).
        model: crate::models::Model,
    },
    /// `--help`.
    Help,
}

/// `ch0`'s usage.
pub const MODEL_USAGE: &str = "usage: cargo run --bin ch0 [-- --listen ADDR [--model NAME]]
  without arguments: the five models side by side, a scripted demonstration that exits by itself
  --listen ADDR: keep one model's echo server on ADDR (e.g. 127.0.0.1:40100) for nc until stdin closes or Ctrl-C
  --model NAME: iterative | process | thread (the default) | pool | pool:N | multiplexed";

/// Reads `ch0`'s arguments (without the program name).
///
/// # Errors
/// The problem, followed by the usage.
pub fn parse_model_args(args: &[String]) -> Result<ModelArgs, String> {
    let mut addr = None;
    let mut model = crate::models::Model::ThreadPerClient;
    let mut args = args.iter();
    let problem = |p: String| format!("ch0: {p}\n{MODEL_USAGE}");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(a) => addr = Some(a.clone()),
                None => return Err(problem("--listen needs an address".into())),
            },
            "--model" => match args.next().map(|n| (n, crate::models::Model::parse(n))) {
                Some((_, Some(m))) => model = m,
                Some((n, None)) => return Err(problem(format!("unknown model {n:?}"))),
                None => return Err(problem("--model needs a name".into())),
            },
            "-h" | "--help" => return Ok(ModelArgs::Help),
            other => return Err(problem(format!("unknown argument {other:?}"))),
        }
    }
    Ok(match addr {
        Some(addr) => ModelArgs::Listen { addr, model },
        None => ModelArgs::Story,
    })
}

/// Keeps a model's server running until stdin closes or a stop signal arrives; `show`
/// prints its figures. Then stops it (every thread joined, every child waited for).
pub fn serve_model_until_stdin_closes(server: &mut crate::models::ModelServer, prefix: &str) {
    let console = Console::start(true);
    let addr = server.local_addr();
    printer::say(format!(
        "{prefix} model {} listening on {addr}; connect with `nc {} {}`; type `show` for its figures, Ctrl-D or Ctrl-C to stop",
        server.model().name(),
        addr.ip(),
        addr.port()
    ));
    let why = loop {
        match console.next() {
            Input::Line(line) if line.trim() == "show" => {
                printer::say(format!("{prefix} {:?}", server.stats()));
            }
            Input::Line(_) | Input::Bad(_) => {}
            Input::Eof => break "stdin closed",
            Input::Signal => break "interrupted",
        }
    };
    let stats = server.stop();
    printer::say(format!(
        "{prefix} {why}: server stopped; {} served, {} still running",
        count(stats.clients_served, "client"),
        count(stats.threads_running, "thread")
    ));
}
// ANCHOR_END: model_args

/// `1 client`, `2 clients`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
