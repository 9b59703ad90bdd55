//! `tcpserver`: the course's `testapp` — one server started at once, and a shell to create,
//! start, inspect and stop more. `cargo run --bin tcpserver -- --help` lists the flags.
//!
//! Ctrl-C or SIGTERM stops every server gracefully (each client is told "server shutdown")
//! and exits 0, in the shell and with `--no-shell` alike. Stdout is written by the printer
//! thread, so a slow or closed stdout never holds up a server.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use tcpserverlib::cli::{parse_framing, shown, Outcome, Shell, ShellOptions, DEFAULT_ADDR};
use tcpserverlib::console::{Console, Input};
use tcpserverlib::printer;

// ANCHOR: flags
const FLAGS: &str = "\
usage: tcpserver [--name NAME] [--addr ADDR] [--framing KIND] [--message-timeout SECONDS]
                 [--poller poll|epoll] [--echo] [--quiet] [--no-shell]
  --name NAME      name of the first server (default: default)
  --addr ADDR      its address (default: 127.0.0.1:40000); port 0 picks a free port
  --framing KIND   none | fixed:N | length | length-le | line (default: none)
  --message-timeout SECONDS
                   a message started and not completed within this time ends its client
                   with a protocol error (default: 30; 0 turns it off)
  --poller KIND    what the DRS waits in: epoll (Linux's default) or poll (portable)
  --echo           send every received message back to its sender
  --quiet          do not print a line per event
  --no-shell       serve without reading commands from stdin (stop with Ctrl-C)";
// ANCHOR_END: flags

/// `--message-timeout`'s default: far longer than any honest message takes on a network.
const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `--message-timeout`, in seconds (one day): beyond it the timeout protects
/// nothing, and a huge number would not fit a `Duration`.
const MAX_MESSAGE_TIMEOUT_SECS: f64 = 86_400.0;

struct Args {
    name: String,
    addr: String,
    shell: bool,
    options: ShellOptions,
}

/// Why the arguments give no [`Args`].
enum NotRun {
    /// `--help`: print the flags and leave.
    Help,
    /// A mistake, named.
    Bad(String),
}

fn parse_args() -> Result<Args, NotRun> {
    let mut args = Args {
        name: "default".into(),
        addr: DEFAULT_ADDR.into(),
        shell: true,
        options: ShellOptions::default(),
    };
    // A server facing real peers should not let one hold a buffer by trickling a header.
    args.options.config.message_timeout = Some(DEFAULT_MESSAGE_TIMEOUT);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| NotRun::Bad(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--name" => args.name = value("--name")?,
            "--addr" => args.addr = value("--addr")?,
            "--framing" => {
                args.options.config.framing =
                    parse_framing(&value("--framing")?).map_err(|e| NotRun::Bad(e.to_string()))?
            }
            "--message-timeout" => {
                let given = value("--message-timeout")?;
                let secs = given
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (0.0..=MAX_MESSAGE_TIMEOUT_SECS).contains(s))
                    .ok_or_else(|| {
                        NotRun::Bad(format!(
                            "--message-timeout: {} is not a number of seconds in range; expected 0 (none) to {MAX_MESSAGE_TIMEOUT_SECS}, e.g. 30 or 0.5",
                            shown(&given)
                        ))
                    })?;
                args.options.config.message_timeout =
                    (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            "--poller" => {
                args.options.config.poller = value("--poller")?.parse().map_err(
                    |e: tcpserverlib::poller::ParsePollerError| NotRun::Bad(e.to_string()),
                )?
            }
            "--echo" => args.options.echo = true,
            "--quiet" => args.options.quiet = true,
            "--no-shell" => args.shell = false,
            "-h" | "--help" => return Err(NotRun::Help),
            other => return Err(NotRun::Bad(format!("unknown argument {}", shown(other)))),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let code = run();
    // Every line queued so far is written before the process ends.
    printer::flush();
    code
}

fn run() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(NotRun::Help) => {
            printer::say(FLAGS);
            return ExitCode::SUCCESS;
        }
        Err(NotRun::Bad(problem)) => {
            let _ = writeln!(io::stderr(), "tcpserver: {problem}\n{FLAGS}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = tcpserverlib::raise_fd_limit() {
        let _ = writeln!(
            io::stderr(),
            "tcpserver: cannot raise the descriptor limit: {e}"
        );
    }
    // Signals are watched from here on; stdin only feeds the shell.
    let console = Console::start(args.shell);
    let mut shell = Shell::new(args.options);
    let started = shell
        .add(&args.name, &args.addr)
        .and_then(|server| server.start().map(|_| server).map_err(Into::into));
    match started {
        Ok(server) => printer::say(format!(
            "tcp-server \"{}\" listening on {}, framing: {}; try `nc {}` in another terminal",
            args.name,
            server
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            server.framing(),
            server
                .local_addr()
                .map(|a| format!("{} {}", a.ip(), a.port()))
                .unwrap_or_default(),
        )),
        Err(e) if args.shell => printer::say(format!("error: {e}")),
        Err(e) => {
            printer::flush();
            let _ = writeln!(io::stderr(), "tcpserver: {e}");
            return ExitCode::FAILURE;
        }
    }
    let interrupted = if args.shell {
        printer::say("type `help` for the commands, `exit` to leave");
        run_shell(&mut shell, &console)
    } else {
        // Serve until a stop signal; stdin is not read, so its end (or its absence) does
        // not stop the server.
        while console.next() != Input::Signal {}
        true
    };
    shell.stop_all();
    if interrupted {
        printer::say("tcpserver: interrupted (SIGINT/SIGTERM): every server stopped");
    } else {
        printer::say("bye");
    }
    ExitCode::SUCCESS
}

/// Runs commands until `exit`, the end of stdin, or a stop signal; true for a signal.
fn run_shell(shell: &mut Shell, console: &Console) -> bool {
    // A prompt helps a person at a terminal; in a piped script it would only clutter output.
    let prompt = io::stdin().is_terminal();
    loop {
        if prompt {
            printer::prompt("tcpserver> ");
        }
        let line = match console.next() {
            Input::Line(line) => line,
            Input::Bad(bad) => {
                printer::say(format!("error: {bad}"));
                continue;
            }
            Input::Eof => {
                if prompt {
                    printer::say("");
                }
                return false;
            }
            Input::Signal => {
                if prompt {
                    printer::say("");
                }
                return true;
            }
        };
        match shell.execute_line(&line) {
            Outcome::Continue(text) if text.is_empty() => {}
            Outcome::Continue(text) => printer::say(text.trim_end()),
            Outcome::Exit => return false,
        }
    }
}
