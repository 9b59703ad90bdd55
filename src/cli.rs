//! The command line of the `tcpserver` shell (the course's `testapp` with its CommandParser
//! CLI): `config tcp-server …`, `run tcp-server …`, `show tcp-server …`.
//!
//! The course hooks its commands into a CLI library; we parse the few we need by hand into a
//! [`Command`] value and run it against a [`Shell`], which owns every server the user created.
//! Parsing and running are separate so the parser can be tested without sockets, and a typing
//! mistake is an error message plus the usage, never the end of the shell.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::admission::{MaxClientsError, MAX_CLIENTS_LIMIT};
use crate::client_thread::{ClientMode, ParseModeError};
use crate::config::Config;
use crate::controller::TcpServer;
use crate::demarcation::{Framing, ParseFramingError};
use crate::error::{ConnectError, SendError, ServerError};
use crate::keepalive::KeepAliveConfig;
use crate::recorder::{Print, Recorder};
use crate::state::ServerFlags;
pub use crate::wording::{plural, shown};

/// The address a server gets when none is given, and the `tcpserver` default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:40000";
/// The port of [`DEFAULT_ADDR`], for `config tcp-server <name> <ip>` without a port.
pub const DEFAULT_PORT: u16 = 40000;

// ANCHOR: usage
/// The usage text printed by `help` and after an unknown command.
pub const USAGE: &str = "\
commands:
  config tcp-server <name> [<ip> [<port>]]      create a server (an existing one: see `move`)
  config tcp-server <name> <ip> [<port>]        on a stopped server: move it to that address
  config tcp-server <name> start                start it
  config tcp-server <name> stop | abort         stop it: disconnect every client, free the port
  config tcp-server <name> [no] disable-conn-accept    stop (resume) accepting new connections
  config tcp-server <name> [no] disable-client-listen  stop (resume) reading from clients
  config tcp-server <name> [no] ka-interval [<seconds>]  keep-alive interval (hold = 1.5 x), running or not
  config tcp-server <name> max-clients <N>      connection cap, running or not
  config tcp-server <name> [no] black-list <ip> refuse (accept again) connections from <ip>
  config tcp-server <name> [no] multi-threaded-mode    give each new client a thread of its own (or not)
  config tcp-server <name> [no] connect <ip> <port>  connect out to a server (retried), or stop
  config tcp-server <name> connect-retry <seconds>   wait between connect attempts (default 10)
  config tcp-server <name> [no] reconnect       make a connection again after it ends (default on)
  run tcp-server <name> client disconnect <ip> <port>
  run tcp-server <name> client migrate <ip> <port> threaded|multiplexed
  run tcp-server <name> send-msg <ip> <port> <message>
  show tcp-server [<name>]                      one server, or all of them
  show tcp-server <name> clients                its clients only
  show tcp-server <name> stats                  every counter of the server and its clients
  show history                                  the commands typed so far
  show help | help                              this text
  exit                                          stop every server and leave (also Ctrl-D)";
// ANCHOR_END: usage

/// Bounds of the numbers the shell takes, said in its errors.
pub mod bounds {
    /// The longest server name.
    pub const MAX_NAME: usize = 64;
    /// The shortest keep-alive interval other than 0 (off), in seconds: the wheel's finest
    /// tick is 1 ms, and an interval needs a few ticks.
    pub const MIN_KA_SECS: f64 = 0.01;
    /// The longest keep-alive interval, in seconds (one day).
    pub const MAX_KA_SECS: f64 = 86_400.0;
    /// How many lines `show history` keeps.
    pub const HISTORY_LINES: usize = 100;
}
use bounds::*;

/// The keywords after `config tcp-server <name>`, with what each takes, for errors.
const CONFIG_KEYWORDS: &str = "start, stop, abort, [no] disable-conn-accept, \
[no] disable-client-listen, [no] ka-interval <seconds>, max-clients <N>, [no] black-list <ip>, \
[no] multi-threaded-mode, [no] connect <ip> <port>, connect-retry <seconds>, [no] reconnect, \
or <ip> [<port>]";
/// The keywords after `run tcp-server <name>`.
const RUN_KEYWORDS: &str = "client disconnect <ip> <port>, \
client migrate <ip> <port> threaded|multiplexed, or send-msg <ip> <port> <message>";
/// The keywords after `show tcp-server <name>`.
const SHOW_KEYWORDS: &str = "clients or stats";

// ANCHOR: command
/// One parsed shell command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `config tcp-server <name> [<ip> [<port>]]`.
    Create {
        name: String,
        ip: Option<String>,
        port: Option<u16>,
    },
    /// `config tcp-server <name> start`.
    Start(String),
    /// `config tcp-server <name> stop` (or `abort`, the course's first name for it).
    Abort(String),
    /// `config tcp-server <name> [no] disable-conn-accept`.
    Accepting { name: String, accepting: bool },
    /// `config tcp-server <name> [no] disable-client-listen`.
    Listening { name: String, listening: bool },
    /// `config tcp-server <name> ka-interval <seconds>`; `None` (`no ka-interval`, or 0): off.
    KeepAlive {
        name: String,
        interval: Option<Duration>,
    },
    /// `config tcp-server <name> max-clients <N>`.
    MaxClients { name: String, max: usize },
    /// `config tcp-server <name> [no] black-list <ip>`.
    BlackList {
        name: String,
        ip: IpAddr,
        blocked: bool,
    },
    /// `config tcp-server <name> [no] multi-threaded-mode`.
    MultiThreaded { name: String, on: bool },
    /// `run tcp-server <name> client disconnect <ip> <port>`.
    Disconnect { name: String, peer: SocketAddr },
    /// `run tcp-server <name> client migrate <ip> <port> threaded|multiplexed`.
    Migrate {
        name: String,
        peer: SocketAddr,
        to: ClientMode,
    },
    /// `run tcp-server <name> send-msg <ip> <port> <message>`: the message is the rest of
    /// the line, its words joined by one space.
    SendMsg {
        name: String,
        peer: SocketAddr,
        text: String,
    },
    /// `config tcp-server <name> [no] connect <ip> <port>` (chapter 11).
    Connect {
        name: String,
        target: SocketAddr,
        connect: bool,
    },
    /// `config tcp-server <name> connect-retry <seconds>`.
    ConnectRetry { name: String, interval: Duration },
    /// `config tcp-server <name> [no] reconnect`.
    Reconnect { name: String, reconnect: bool },
    /// `show tcp-server [<name>]`.
    Show(Option<String>),
    /// `show tcp-server <name> clients`.
    ShowClients(String),
    /// `show tcp-server <name> stats`.
    ShowStats(String),
    /// `show history`.
    ShowHistory,
    /// `help` or `show help`.
    Help,
    /// `exit` or `quit`.
    Exit,
}
// ANCHOR_END: command

/// A command that could not be parsed: what was wrong and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The explanation.
    pub message: String,
    /// The first word was no command at all: the usage is worth printing after it.
    pub unknown_command: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        message: message.into(),
        unknown_command: false,
    })
}

// ANCHOR: parse
/// Parses one line; `Ok(None)` for an empty line.
///
/// # Errors
/// [`ParseError`] naming the word that was wrong and what was expected there.
pub fn parse(line: &str) -> Result<Option<Command>, ParseError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Ok(None);
    };
    let command = match *first {
        "help" | "?" if words.len() == 1 => Command::Help,
        "exit" | "quit" if words.len() == 1 => Command::Exit,
        "help" | "?" | "exit" | "quit" => {
            return err(format!(
                "{first}: unexpected {}; {first} takes nothing after it",
                shown(words[1])
            ))
        }
        "show" => parse_show(&words[1..])?,
        "config" => parse_config(&words[1..])?,
        "run" => parse_run(&words[1..])?,
        other => {
            return Err(ParseError {
                message: format!(
                    "unknown command {}; expected config, run, show, help or exit",
                    shown(other)
                ),
                unknown_command: true,
            })
        }
    };
    Ok(Some(command))
}
// ANCHOR_END: parse

/// The words after `<verb> tcp-server`, and the server's name.
fn server_words<'a>(
    words: &'a [&'a str],
    verb: &str,
) -> Result<(String, &'a [&'a str]), ParseError> {
    match words.first() {
        Some(&"tcp-server") => {}
        Some(other) => {
            return err(format!(
                "{verb}: unknown object {}; expected tcp-server",
                shown(other)
            ))
        }
        None => return err(format!("{verb}: expected tcp-server after {verb}")),
    }
    let Some((name, rest)) = words[1..].split_first() else {
        return err(format!("{verb} tcp-server: expected a server name"));
    };
    Ok((parse_name(name)?, rest))
}

fn parse_name(name: &str) -> Result<String, ParseError> {
    let chars = name.chars().count();
    if chars > MAX_NAME {
        return err(format!(
            "the server name {} is {chars} characters long; expected at most {MAX_NAME}",
            shown(name)
        ));
    }
    if name.chars().any(char::is_control) {
        return err(format!(
            "the server name {} contains a control character; expected printable text",
            shown(name)
        ));
    }
    Ok(name.to_string())
}

fn parse_show(words: &[&str]) -> Result<Command, ParseError> {
    match words {
        ["help"] => return Ok(Command::Help),
        ["history"] => return Ok(Command::ShowHistory),
        ["tcp-server"] => return Ok(Command::Show(None)),
        [] => return err("show: expected tcp-server, history or help"),
        ["help" | "history", extra, ..] => {
            return err(format!(
                "show {}: unexpected {}; it takes nothing after it",
                words[0],
                shown(extra)
            ))
        }
        [other, ..] if *other != "tcp-server" => {
            return err(format!(
                "show: unknown keyword {}; expected tcp-server, history or help",
                shown(other)
            ))
        }
        _ => {}
    }
    let (name, rest) = server_words(words, "show")?;
    match rest {
        [] => Ok(Command::Show(Some(name))),
        ["clients"] => Ok(Command::ShowClients(name)),
        ["stats"] => Ok(Command::ShowStats(name)),
        [word @ ("clients" | "stats"), extra, ..] => err(format!(
            "show tcp-server {name} {word}: unexpected {}; it takes nothing after it",
            shown(extra)
        )),
        [other, ..] => err(format!(
            "show tcp-server {name}: unknown keyword {}; expected {SHOW_KEYWORDS}, or nothing",
            shown(other)
        )),
    }
}

// ANCHOR: parse_config
fn parse_config(words: &[&str]) -> Result<Command, ParseError> {
    let (name, rest) = server_words(words, "config")?;
    let (negated, rest) = match rest {
        ["no", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if let Some(command) = parse_connect(&name, negated, rest) {
        return command;
    }
    let takes = |what: &str| -> Result<Command, ParseError> {
        err(format!(
            "config tcp-server {name}: {} takes {what}",
            rest.first().copied().unwrap_or_default()
        ))
    };
    match (negated, rest) {
        (false, []) => Ok(Command::Create {
            name,
            ip: None,
            port: None,
        }),
        (false, ["start"]) => Ok(Command::Start(name)),
        (false, ["stop" | "abort"]) => Ok(Command::Abort(name)),
        (_, ["disable-conn-accept"]) => Ok(Command::Accepting {
            name,
            accepting: negated,
        }),
        (_, ["disable-client-listen"]) => Ok(Command::Listening {
            name,
            listening: negated,
        }),
        (false, ["ka-interval", secs]) => Ok(Command::KeepAlive {
            interval: parse_interval(secs)?,
            name,
        }),
        // The course's negation may repeat the value; either way it turns keep-alive off.
        (true, ["ka-interval"] | ["ka-interval", _]) => Ok(Command::KeepAlive {
            name,
            interval: None,
        }),
        (false, ["max-clients" | "max-client-limit", n]) => Ok(Command::MaxClients {
            max: parse_max_clients(n)?,
            name,
        }),
        // `client black-list` is the course's spelling (TcpCmdCodes.h).
        (_, ["black-list", ip] | ["client", "black-list", ip]) => Ok(Command::BlackList {
            ip: parse_ip(ip)?,
            name,
            blocked: !negated,
        }),
        (_, ["multi-threaded-mode"]) => Ok(Command::MultiThreaded { name, on: !negated }),
        (false, ["start" | "stop" | "abort", ..]) => takes("nothing after it"),
        (_, ["multi-threaded-mode", ..]) => takes("nothing after it"),
        (_, ["disable-conn-accept" | "disable-client-listen", ..]) => takes("nothing after it"),
        (false, ["ka-interval", ..]) => takes("one number of seconds, e.g. `ka-interval 10`"),
        (false, ["max-clients" | "max-client-limit", ..]) => {
            takes("one number, e.g. `max-clients 100`")
        }
        (_, ["black-list", ..] | ["client", "black-list", ..]) => {
            takes("one IP address, e.g. `black-list 10.0.0.1`")
        }
        (false, [ip]) if looks_like_address(ip) => Ok(Command::Create {
            name,
            ip: Some(ip.to_string()),
            port: None,
        }),
        (false, [ip, port]) if looks_like_address(ip) => Ok(Command::Create {
            name,
            ip: Some(ip.to_string()),
            port: Some(parse_port(port)?),
        }),
        (false, [ip, _, extra, ..]) if looks_like_address(ip) => err(format!(
            "config tcp-server {name} {}: unexpected {} after the port",
            shown(ip),
            shown(extra)
        )),
        (true, []) => err(format!(
            "config tcp-server {name} no: expected a keyword after no: disable-conn-accept, disable-client-listen, ka-interval, black-list, multi-threaded-mode, connect or reconnect"
        )),
        (true, [other, ..]) => err(format!(
            "config tcp-server {name} no: unknown keyword {}; expected disable-conn-accept, disable-client-listen, ka-interval, black-list, multi-threaded-mode, connect or reconnect",
            shown(other)
        )),
        (false, [other, ..]) => err(format!(
            "config tcp-server {name}: unknown keyword {}; expected {CONFIG_KEYWORDS}",
            shown(other)
        )),
    }
}
// ANCHOR_END: parse_config

// ANCHOR: parse_connect
/// The server in client mode's settings (chapter 11), `no` already taken off; `None` when
/// `rest` is none of them.
fn parse_connect(name: &str, negated: bool, rest: &[&str]) -> Option<Result<Command, ParseError>> {
    let name = name.to_string();
    let command = match (negated, rest) {
        (_, ["connect", ip, port]) => parse_peer(ip, port).map(|target| Command::Connect {
            name,
            target,
            connect: !negated,
        }),
        (false, ["connect-retry", secs]) => {
            parse_retry(secs).map(|interval| Command::ConnectRetry { name, interval })
        }
        (_, ["reconnect"]) => Ok(Command::Reconnect {
            name,
            reconnect: !negated,
        }),
        (_, ["connect", ..]) => err(format!(
            "config tcp-server {name}: connect takes an IP address and a port, e.g. `connect 127.0.0.1 40001`"
        )),
        (false, ["connect-retry", ..]) => err(format!(
            "config tcp-server {name}: connect-retry takes one number of seconds, e.g. `connect-retry 0.5`"
        )),
        (_, ["reconnect", ..]) => err(format!(
            "config tcp-server {name}: reconnect takes nothing after it"
        )),
        _ => return None,
    };
    Some(command)
}

/// The connect-retry bounds: at least 10 ms (a retry loop against a port that refuses at
/// once must not spin), at most a day.
fn parse_retry(secs: &str) -> Result<Duration, ParseError> {
    match secs.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.01..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => err(format!(
            "connect-retry: {} is not a number of seconds from 0.01 to 86400; expected e.g. 10 or 0.1",
            shown(secs)
        )),
    }
}
// ANCHOR_END: parse_connect

// ANCHOR: parse_run
fn parse_run(words: &[&str]) -> Result<Command, ParseError> {
    let (name, rest) = server_words(words, "run")?;
    match rest {
        ["client", "disconnect", ip, port] => Ok(Command::Disconnect {
            peer: parse_peer(ip, port)?,
            name,
        }),
        ["client", "disconnect", ..] => err(format!(
            "run tcp-server {name} client disconnect: expected <ip> <port>"
        )),
        ["client", "migrate", ip, port, mode] => Ok(Command::Migrate {
            peer: parse_peer(ip, port)?,
            to: mode.parse().map_err(|e: ParseModeError| ParseError {
                message: format!("run tcp-server {name} client migrate: {e}"),
                unknown_command: false,
            })?,
            name,
        }),
        ["client", "migrate", ..] => err(format!(
            "run tcp-server {name} client migrate: expected <ip> <port> threaded|multiplexed"
        )),
        ["send-msg", ip, port, message @ ..] if ip.parse::<IpAddr>().is_ok() => {
            let peer = parse_peer(ip, port)?;
            if message.is_empty() {
                return err(format!(
                    "run tcp-server {name} send-msg {ip} {port}: expected a message after the port"
                ));
            }
            Ok(Command::SendMsg {
                name,
                peer,
                text: message.join(" "),
            })
        }
        // Our first order, `send-msg <text> <ip> <port>`: said plainly rather than guessed
        // at, since a message may itself look like an address.
        ["send-msg", .., ip, port] if parse_peer(ip, port).is_ok() => err(format!(
            "run tcp-server {name} send-msg: the address comes first: `send-msg <ip> <port> <message>`, e.g. `send-msg {ip} {port} hello`"
        )),
        ["send-msg", ..] => err(format!(
            "run tcp-server {name} send-msg: expected <ip> <port> <message>, e.g. `send-msg 127.0.0.1 50000 hello`"
        )),
        [] => err(format!(
            "run tcp-server {name}: expected {RUN_KEYWORDS}"
        )),
        [other, ..] => err(format!(
            "run tcp-server {name}: unknown keyword {}; expected {RUN_KEYWORDS}",
            shown(other)
        )),
    }
}
// ANCHOR_END: parse_run

/// True for what may be handed to the resolver as a server's address: an IP address, or a
/// host name with a dot in it (or `localhost`). Anything else is a mistyped keyword, and
/// must not cost a DNS look-up.
fn looks_like_address(word: &str) -> bool {
    let bare = word
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .unwrap_or(word);
    if bare.parse::<IpAddr>().is_ok() || word == "localhost" {
        return true;
    }
    let host_chars = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    host_chars
        && word.contains('.')
        && word.len() <= 253
        && word.chars().any(|c| c.is_ascii_alphabetic())
        && !word.starts_with(['.', '-'])
}

fn parse_port(port: &str) -> Result<u16, ParseError> {
    port.parse().map_err(|_| ParseError {
        message: format!("{} is not a port; expected 0 to 65535", shown(port)),
        unknown_command: false,
    })
}

fn parse_ip(ip: &str) -> Result<IpAddr, ParseError> {
    ip.parse().map_err(|_| ParseError {
        message: format!(
            "{} is not an IP address; expected e.g. 127.0.0.1 or ::1",
            shown(ip)
        ),
        unknown_command: false,
    })
}

fn parse_peer(ip: &str, port: &str) -> Result<SocketAddr, ParseError> {
    Ok(SocketAddr::new(parse_ip(ip)?, parse_port(port)?))
}

/// `ka-interval`'s seconds: 0 is off; otherwise within [`MIN_KA_SECS`]..=[`MAX_KA_SECS`].
fn parse_interval(secs: &str) -> Result<Option<Duration>, ParseError> {
    let bad = || {
        ParseError {
        message: format!(
            "ka-interval: {} is not a number of seconds in range; expected 0 (off) or {MIN_KA_SECS} to {MAX_KA_SECS}, e.g. 10 or 0.5",
            shown(secs)
        ),
        unknown_command: false,
    }
    };
    let value: f64 = secs.parse().map_err(|_| bad())?;
    if value == 0.0 {
        return Ok(None);
    }
    if !(MIN_KA_SECS..=MAX_KA_SECS).contains(&value) {
        return Err(bad());
    }
    Ok(Some(Duration::from_secs_f64(value)))
}

fn parse_max_clients(n: &str) -> Result<usize, ParseError> {
    n.parse()
        .ok()
        .filter(|n| (1..=MAX_CLIENTS_LIMIT).contains(n))
        .ok_or_else(|| ParseError {
            message: format!(
                "max-clients: {} is not a whole number in range; expected 1 to {MAX_CLIENTS_LIMIT}",
                shown(n)
            ),
            unknown_command: false,
        })
}

/// A command that parsed but could not be carried out.
#[derive(Debug)]
pub enum ShellError {
    /// No server has this name.
    UnknownServer(String),
    /// A server of this name exists already (the course's "Tcp Server Already Exist").
    Exists {
        server: String,
        addr: String,
        running: bool,
    },
    /// The server has no client connected from this address.
    NoSuchClient { server: String, peer: SocketAddr },
    /// The server refused (bind failure, bad address, wrong state, …).
    Server(ServerError),
    /// A message could not be queued for the client.
    Send(SendError),
    /// A connection cap out of bounds.
    MaxClients(MaxClientsError),
    /// A connect target could not be added or removed (chapter 11).
    Connect(ConnectError),
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShellError::UnknownServer(name) => write!(
                f,
                "no tcp-server named \"{name}\"; create it with `config tcp-server {name} [<ip> [<port>]]`"
            ),
            ShellError::Exists {
                server,
                addr,
                running: true,
            } => write!(
                f,
                "tcp-server \"{server}\" already exists, running on {addr}; to move it, `config tcp-server {server} stop`, then `config tcp-server {server} <ip> <port>`"
            ),
            ShellError::Exists {
                server,
                addr,
                running: false,
            } => write!(
                f,
                "tcp-server \"{server}\" already exists, stopped, on {addr}; `config tcp-server {server} <ip> <port>` moves it, `config tcp-server {server} start` starts it"
            ),
            ShellError::NoSuchClient { server, peer } => {
                write!(f, "tcp-server \"{server}\" has no client {peer}")
            }
            ShellError::Server(e) => e.fmt(f),
            ShellError::Send(e) => e.fmt(f),
            ShellError::MaxClients(e) => e.fmt(f),
            ShellError::Connect(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ShellError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ShellError::Server(e) => Some(e),
            ShellError::Send(e) => Some(e),
            ShellError::MaxClients(e) => Some(e),
            ShellError::Connect(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ServerError> for ShellError {
    fn from(e: ServerError) -> ShellError {
        ShellError::Server(e)
    }
}

impl From<ConnectError> for ShellError {
    fn from(e: ConnectError) -> ShellError {
        ShellError::Connect(e)
    }
}

impl From<SendError> for ShellError {
    fn from(e: SendError) -> ShellError {
        ShellError::Send(e)
    }
}

impl From<MaxClientsError> for ShellError {
    fn from(e: MaxClientsError) -> ShellError {
        ShellError::MaxClients(e)
    }
}

/// How the shell's servers report events and treat messages.
#[derive(Clone, Debug, Default)]
pub struct ShellOptions {
    /// No per-event lines.
    pub quiet: bool,
    /// Echo every message back to its sender.
    pub echo: bool,
    /// Settings for every server the shell creates.
    pub config: Config,
}

// ANCHOR: shell
/// The servers a shell session created, by name, and the lines typed so far.
pub struct Shell {
    /// Sorted, so `show tcp-server` lists them in a stable order.
    servers: BTreeMap<String, TcpServer>,
    options: ShellOptions,
    /// The last [`HISTORY_LINES`] lines, each with its number.
    history: VecDeque<(u64, String)>,
    /// Lines typed so far: the number of the next one, less one.
    typed: u64,
}
// ANCHOR_END: shell

/// What the caller should do after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Print this (possibly empty) text and read the next command.
    Continue(String),
    /// Stop every server and leave.
    Exit,
}

impl Shell {
    /// An empty shell.
    pub fn new(options: ShellOptions) -> Shell {
        Shell {
            servers: BTreeMap::new(),
            options,
            history: VecDeque::new(),
            typed: 0,
        }
    }

    /// Runs one line: the text to print, or one error line (followed by the usage when the
    /// first word was no command at all).
    pub fn execute_line(&mut self, line: &str) -> Outcome {
        if !line.trim().is_empty() {
            self.remember(line.trim());
        }
        match parse(line) {
            Ok(None) => Outcome::Continue(String::new()),
            Ok(Some(Command::Exit)) => Outcome::Exit,
            Ok(Some(command)) => match self.execute(command) {
                Ok(text) => Outcome::Continue(text),
                Err(e) => Outcome::Continue(format!("error: {e}")),
            },
            Err(e) if e.unknown_command => Outcome::Continue(format!("error: {e}\n{USAGE}")),
            Err(e) => Outcome::Continue(format!("error: {e}; `help` lists the commands")),
        }
    }

    fn remember(&mut self, line: &str) {
        self.typed += 1;
        if self.history.len() == HISTORY_LINES {
            self.history.pop_front();
        }
        // A line is bounded by the console; kept whole up to a screen's width, so that
        // history shows what was typed without holding megabytes of it.
        let kept = if line.chars().count() > 200 {
            let head: String = line.chars().take(200).collect();
            format!("{head}…")
        } else {
            line.to_string()
        };
        self.history.push_back((self.typed, kept));
    }

    // ANCHOR: execute
    /// Runs one parsed command.
    ///
    /// # Errors
    /// [`ShellError`] naming the server and what went wrong (unknown server, bind failure, …).
    pub fn execute(&mut self, command: Command) -> Result<String, ShellError> {
        match command {
            Command::Create { name, ip, port } => self.create(name, ip, port),
            Command::Start(name) => {
                let server = self.get(&name)?;
                server.start()?;
                Ok(format!(
                    "tcp-server \"{name}\" started on {}",
                    addr_text(server)
                ))
            }
            Command::Abort(name) => {
                let server = self.get(&name)?;
                if !server.flags().contains(ServerFlags::RUNNING) {
                    return Ok(format!("tcp-server \"{name}\" is not running"));
                }
                server.stop();
                Ok(format!("tcp-server \"{name}\" stopped"))
            }
            Command::Accepting { name, accepting } => {
                let server = self.get(&name)?;
                server.set_accepting(accepting)?;
                Ok(format!("tcp-server \"{name}\": {}", server.flags()))
            }
            Command::Listening { name, listening } => {
                let server = self.get(&name)?;
                server.set_listening(listening)?;
                Ok(format!("tcp-server \"{name}\": {}", server.flags()))
            }
            Command::KeepAlive { name, interval } => {
                let server = self.get(&name)?;
                server.set_keepalive(interval.map(KeepAliveConfig::with_interval))?;
                let clients = server.client_count() as u64;
                Ok(match server.keepalive() {
                    Some(ka) => format!(
                        "tcp-server \"{name}\": keep-alive {ka} ({} moved to it)",
                        plural(clients, "client")
                    ),
                    None => format!("tcp-server \"{name}\": keep-alive off"),
                })
            }
            Command::MaxClients { name, max } => {
                let server = self.get(&name)?;
                server.set_max_clients(max)?;
                Ok(format!(
                    "tcp-server \"{name}\": at most {} ({} now)",
                    plural(max as u64, "client"),
                    server.client_count()
                ))
            }
            Command::BlackList { name, ip, blocked } => {
                let server = self.get(&name)?;
                if blocked {
                    let gone = server.block(ip) as u64;
                    Ok(format!(
                        "tcp-server \"{name}\": {ip} black-listed ({} disconnected)",
                        plural(gone, "client")
                    ))
                } else if server.unblock(ip) {
                    Ok(format!(
                        "tcp-server \"{name}\": {ip} no longer black-listed"
                    ))
                } else {
                    Ok(format!("tcp-server \"{name}\": {ip} was not black-listed"))
                }
            }
            Command::MultiThreaded { name, on } => {
                let server = self.get(&name)?;
                server.set_multi_threaded(on);
                Ok(format!("tcp-server \"{name}\": {}", server.flags()))
            }
            Command::Migrate { name, peer, to } => {
                let server = self.get(&name)?;
                let client = server
                    .find_client(peer)
                    .ok_or_else(|| ShellError::NoSuchClient {
                        server: name.clone(),
                        peer,
                    })?;
                server.migrate(client.id, to)?;
                Ok(format!(
                    "tcp-server \"{name}\": client {} ({peer}) is {to}",
                    client.id
                ))
            }
            Command::Disconnect { name, peer } => {
                if self.get(&name)?.disconnect_peer(peer) {
                    Ok(String::new())
                } else {
                    Err(ShellError::NoSuchClient { server: name, peer })
                }
            }
            Command::SendMsg { name, peer, text } => {
                let server = self.get(&name)?;
                let client = server
                    .find_client(peer)
                    .ok_or_else(|| ShellError::NoSuchClient {
                        server: name.clone(),
                        peer,
                    })?;
                server.send(client.id, text.as_bytes())?;
                Ok(format!(
                    "sent {} to client {}",
                    plural(text.len() as u64, "byte"),
                    client.id
                ))
            }
            Command::Connect { .. } | Command::ConnectRetry { .. } | Command::Reconnect { .. } => {
                self.execute_connect(command)
            }
            Command::Show(Some(name)) => Ok(show(self.get(&name)?)),
            Command::ShowStats(name) => Ok(self.get(&name)?.stats().to_string()),
            Command::Show(None) if self.servers.is_empty() => Ok("no tcp-server yet".into()),
            Command::Show(None) => Ok(self.servers.values().map(show).collect()),
            Command::ShowClients(name) => Ok(self.clients_text(&name)?),
            Command::ShowHistory => Ok(self
                .history
                .iter()
                .map(|(n, line)| format!("{n:>5}  {line}\n"))
                .collect()),
            Command::Help => Ok(USAGE.to_string()),
            Command::Exit => Ok(String::new()),
        }
    }
    // ANCHOR_END: execute

    // ANCHOR: execute_connect
    /// The server in client mode's commands (chapter 11). They apply to a running server at
    /// once and are kept by a stopped one.
    fn execute_connect(&mut self, command: Command) -> Result<String, ShellError> {
        match command {
            Command::Connect {
                name,
                target,
                connect: true,
            } => {
                let server = self.get(&name)?;
                server.connect(target)?;
                let (retry, _) = server.handle().connect_settings();
                Ok(format!(
                    "tcp-server \"{name}\" connects to {target} (retrying every {} s until it succeeds)",
                    retry.as_secs_f64()
                ))
            }
            Command::Connect {
                name,
                target,
                connect: false,
            } => {
                self.get(&name)?.cancel_connect(target)?;
                Ok(format!(
                    "tcp-server \"{name}\" no longer connects to {target}"
                ))
            }
            Command::ConnectRetry { name, interval } => {
                self.get(&name)?.set_connect_retry(interval);
                Ok(format!(
                    "tcp-server \"{name}\": connect retry every {} s",
                    interval.as_secs_f64()
                ))
            }
            Command::Reconnect { name, reconnect } => {
                self.get(&name)?.set_reconnect(reconnect);
                Ok(format!(
                    "tcp-server \"{name}\": reconnect {}",
                    if reconnect { "on" } else { "off" }
                ))
            }
            _ => Ok(String::new()),
        }
    }
    // ANCHOR_END: execute_connect

    fn clients_text(&self, name: &str) -> Result<String, ShellError> {
        let info = self.get(name)?.info();
        if info.clients.is_empty() {
            return Ok(format!("tcp-server \"{name}\" has no clients"));
        }
        let mut text = format!(
            "tcp-server \"{name}\": {}\n",
            plural(info.clients.len() as u64, "client")
        );
        for client in &info.clients {
            text.push_str(&format!("  {client}\n"));
        }
        Ok(text)
    }

    /// Stops every server (what `exit`, end of input and Ctrl-C do).
    pub fn stop_all(&mut self) {
        for server in self.servers.values() {
            server.stop();
        }
    }

    fn get(&self, name: &str) -> Result<&TcpServer, ShellError> {
        self.servers
            .get(name)
            .ok_or_else(|| ShellError::UnknownServer(name.to_string()))
    }

    // ANCHOR: create
    /// `config tcp-server <name> [<ip> [<port>]]`. A name in use is an error (the course's
    /// behaviour), except that an explicit address moves a stopped server: a typo of a name
    /// never resets a server, and moving one is still possible without losing its settings.
    fn create(
        &mut self,
        name: String,
        ip: Option<String>,
        port: Option<u16>,
    ) -> Result<String, ShellError> {
        if let Some(server) = self.servers.get(&name) {
            let running = server.flags().contains(ServerFlags::RUNNING);
            let Some(ip) = ip.filter(|_| !running) else {
                return Err(ShellError::Exists {
                    addr: server.info().addr,
                    server: name,
                    running,
                });
            };
            let addr = join_host_port(&ip, port.unwrap_or(DEFAULT_PORT));
            server.set_address(addr.as_str())?;
            return Ok(format!(
                "tcp-server \"{name}\" (stopped) moved to {addr}; `config tcp-server {name} start` starts it there"
            ));
        }
        let addr = match (ip, port) {
            (None, _) => DEFAULT_ADDR.to_string(),
            (Some(ip), port) => join_host_port(&ip, port.unwrap_or(DEFAULT_PORT)),
        };
        self.add(&name, &addr)?;
        Ok(format!(
            "tcp-server \"{name}\" created on {addr}; `config tcp-server {name} start` starts it"
        ))
    }
    // ANCHOR_END: create

    /// Creates a server with the given name and address, as `config tcp-server` does.
    ///
    /// # Errors
    /// [`ShellError::Exists`] when the name is taken; [`ShellError::Server`] when the address
    /// does not resolve.
    pub fn add(&mut self, name: &str, addr: &str) -> Result<&TcpServer, ShellError> {
        if let Some(server) = self.servers.get(name) {
            return Err(ShellError::Exists {
                server: name.to_string(),
                addr: server.info().addr,
                running: server.flags().contains(ServerFlags::RUNNING),
            });
        }
        let print = Print {
            prefix: (!self.options.quiet).then(|| format!("[{name}]")),
            messages: true,
        };
        // The shell waits on no events: its recorder prints them and keeps none.
        let recorder = Recorder::printing(print, self.options.echo);
        let server = TcpServer::with_config(name, addr, self.options.config.clone(), recorder)?;
        self.servers.insert(name.to_string(), server);
        self.get(name)
    }
}

/// `show tcp-server`: the server's own `show`, and its black-list when it has one.
fn show(server: &TcpServer) -> String {
    let mut text = server.show();
    let blocked = server.blocked();
    if !blocked.is_empty() {
        let list: Vec<String> = blocked.iter().map(IpAddr::to_string).collect();
        text.push_str(&format!(
            "  black-list: {} ({} refused)\n",
            list.join(", "),
            plural(server.blacklisted_count(), "connection")
        ));
    }
    text
}

/// `127.0.0.1` + 40000 → `127.0.0.1:40000`; `::1` + 40000 → `[::1]:40000`.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn addr_text(server: &TcpServer) -> String {
    server
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "?".into())
}

/// Parses the `--framing` flag's value (re-exported for the binary).
///
/// # Errors
/// [`ParseFramingError`] saying what was wrong and which framings exist.
pub fn parse_framing(s: &str) -> Result<Framing, ParseFramingError> {
    s.parse::<Framing>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line)
            .unwrap_or_else(|e| panic!("{line:?} did not parse: {e}"))
            .unwrap_or_else(|| panic!("{line:?} parsed to nothing"))
    }

    fn fails(line: &str) -> String {
        match parse(line) {
            Err(e) => e.message,
            Ok(c) => panic!("{line:?} parsed to {c:?}"),
        }
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// The course's commands parse into the right commands.
    #[test]
    fn parses_the_course_commands() {
        assert_eq!(
            ok("config tcp-server s2 127.0.0.1 40001"),
            Command::Create {
                name: "s2".into(),
                ip: Some("127.0.0.1".into()),
                port: Some(40001)
            }
        );
        assert_eq!(
            ok("config tcp-server s2 start"),
            Command::Start("s2".into())
        );
        assert_eq!(
            ok("config tcp-server s2 no disable-conn-accept"),
            Command::Accepting {
                name: "s2".into(),
                accepting: true
            }
        );
        assert_eq!(parse("   ").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
    }

    /// `stop` is the course's later name for `abort`; both parse to the same command.
    #[test]
    fn stop_and_abort_are_one_command() {
        assert_eq!(ok("config tcp-server s stop"), Command::Abort("s".into()));
        assert_eq!(ok("config tcp-server s abort"), Command::Abort("s".into()));
        let e = fails("config tcp-server s stop now");
        assert!(e.contains("stop takes nothing"), "{e}");
    }

    /// `send-msg` takes the course's order: address, port, then the message (several words,
    /// joined by one space; a message that looks like an address is still a message).
    #[test]
    fn send_msg_takes_the_address_first() {
        assert_eq!(
            ok("run tcp-server d send-msg 127.0.0.1 5000 hello there"),
            Command::SendMsg {
                name: "d".into(),
                peer: peer("127.0.0.1:5000"),
                text: "hello there".into()
            }
        );
        assert_eq!(
            ok("run tcp-server d send-msg 10.0.0.1 80 10.0.0.2 81"),
            Command::SendMsg {
                name: "d".into(),
                peer: peer("10.0.0.1:80"),
                text: "10.0.0.2 81".into()
            }
        );
        assert_eq!(
            ok("run tcp-server d send-msg ::1 80 hi"),
            Command::SendMsg {
                name: "d".into(),
                peer: peer("[::1]:80"),
                text: "hi".into()
            }
        );
    }

    /// The old order `send-msg <text> <ip> <port>` is an error that shows the course's
    /// order; a missing message or a bad port is named.
    #[test]
    fn send_msg_mistakes_are_explained() {
        let e = fails("run tcp-server d send-msg hello 127.0.0.1 5000");
        assert!(e.contains("send-msg <ip> <port> <message>"), "{e}");
        assert!(e.contains("send-msg 127.0.0.1 5000 hello"), "{e}");
        let e = fails("run tcp-server d send-msg 127.0.0.1 5000");
        assert!(e.contains("expected a message"), "{e}");
        let e = fails("run tcp-server d send-msg 127.0.0.1 70000 hi");
        assert!(e.contains("\"70000\" is not a port"), "{e}");
        let e = fails("run tcp-server d send-msg");
        assert!(e.contains("expected <ip> <port> <message>"), "{e}");
    }

    /// `max-clients` (and the course's `max-client-limit`) take a whole number within bounds,
    /// which the error states.
    #[test]
    fn max_clients_is_bounded() {
        assert_eq!(
            ok("config tcp-server s max-clients 100"),
            Command::MaxClients {
                name: "s".into(),
                max: 100
            }
        );
        assert_eq!(
            ok("config tcp-server s max-client-limit 1"),
            Command::MaxClients {
                name: "s".into(),
                max: 1
            }
        );
        for bad in ["0", "-1", "1e3", "1000001", "99999999999999999999999", "x"] {
            let e = fails(&format!("config tcp-server s max-clients {bad}"));
            assert!(e.contains("expected 1 to 1000000"), "{bad}: {e}");
        }
        let e = fails("config tcp-server s max-clients");
        assert!(e.contains("max-clients takes one number"), "{e}");
    }

    /// `black-list` and `no black-list` (and the course's `client black-list`) take one IP
    /// address; a host name or nothing is an error.
    #[test]
    fn black_list_takes_an_ip() {
        let blocked = |b| Command::BlackList {
            name: "s".into(),
            ip: "10.0.0.1".parse().unwrap(),
            blocked: b,
        };
        assert_eq!(ok("config tcp-server s black-list 10.0.0.1"), blocked(true));
        assert_eq!(
            ok("config tcp-server s no black-list 10.0.0.1"),
            blocked(false)
        );
        assert_eq!(
            ok("config tcp-server s client black-list 10.0.0.1"),
            blocked(true)
        );
        assert_eq!(
            ok("config tcp-server s no client black-list 10.0.0.1"),
            blocked(false)
        );
        let e = fails("config tcp-server s black-list example.com");
        assert!(e.contains("is not an IP address"), "{e}");
        let e = fails("config tcp-server s black-list");
        assert!(e.contains("black-list takes one IP address"), "{e}");
    }

    /// `[no] multi-threaded-mode` switches the mode; `client migrate` takes an address and a
    /// mode, and names the modes when given another word.
    #[test]
    fn multi_threaded_mode_and_migrate() {
        assert_eq!(
            ok("config tcp-server s multi-threaded-mode"),
            Command::MultiThreaded {
                name: "s".into(),
                on: true
            }
        );
        assert_eq!(
            ok("config tcp-server s no multi-threaded-mode"),
            Command::MultiThreaded {
                name: "s".into(),
                on: false
            }
        );
        let e = fails("config tcp-server s multi-threaded-mode now");
        assert!(
            e.contains("multi-threaded-mode takes nothing after it"),
            "{e}"
        );
        assert_eq!(
            ok("run tcp-server s client migrate 127.0.0.1 5000 threaded"),
            Command::Migrate {
                name: "s".into(),
                peer: "127.0.0.1:5000".parse().unwrap(),
                to: ClientMode::Threaded
            }
        );
        assert_eq!(
            ok("run tcp-server s client migrate 127.0.0.1 5000 multiplexed"),
            Command::Migrate {
                name: "s".into(),
                peer: "127.0.0.1:5000".parse().unwrap(),
                to: ClientMode::Multiplexed
            }
        );
        let e = fails("run tcp-server s client migrate 127.0.0.1 5000 sideways");
        assert!(e.contains("expected threaded or multiplexed"), "{e}");
        let e = fails("run tcp-server s client migrate 127.0.0.1");
        assert!(
            e.contains("expected <ip> <port> threaded|multiplexed"),
            "{e}"
        );
    }

    /// `ka-interval` takes seconds within bounds (0: off), `no ka-interval` turns it off;
    /// numbers too large for a `Duration` are refused, not a panic.
    #[test]
    fn ka_interval_is_bounded() {
        let ka = |i| Command::KeepAlive {
            name: "s".into(),
            interval: i,
        };
        assert_eq!(
            ok("config tcp-server s ka-interval 10"),
            ka(Some(Duration::from_secs(10)))
        );
        assert_eq!(
            ok("config tcp-server s ka-interval 0.5"),
            ka(Some(Duration::from_millis(500)))
        );
        assert_eq!(ok("config tcp-server s ka-interval 0"), ka(None));
        assert_eq!(ok("config tcp-server s no ka-interval"), ka(None));
        assert_eq!(ok("config tcp-server s no ka-interval 10"), ka(None));
        for bad in [
            "1e20", "1.5e19", "86401", "0.001", "-1", "inf", "NaN", "ten",
        ] {
            let e = fails(&format!("config tcp-server s ka-interval {bad}"));
            assert!(
                e.contains("expected 0 (off) or 0.01 to 86400"),
                "{bad}: {e}"
            );
        }
        let e = fails("config tcp-server s ka-interval");
        assert!(e.contains("ka-interval takes one number"), "{e}");
    }

    /// The new `show` commands.
    #[test]
    fn show_clients_help_history() {
        assert_eq!(
            ok("show tcp-server s clients"),
            Command::ShowClients("s".into())
        );
        assert_eq!(ok("show help"), Command::Help);
        assert_eq!(ok("show history"), Command::ShowHistory);
        assert_eq!(ok("show tcp-server"), Command::Show(None));
        assert_eq!(ok("show tcp-server s"), Command::Show(Some("s".into())));
        let e = fails("show tcp-server s client");
        assert!(
            e.contains("unknown keyword \"client\"") && e.contains("clients"),
            "{e}"
        );
        let e = fails("show historyy");
        assert!(e.contains("unknown keyword \"historyy\""), "{e}");
        let e = fails("show history now");
        assert!(e.contains("takes nothing"), "{e}");
        let e = fails("show");
        assert!(e.contains("expected tcp-server, history or help"), "{e}");
    }

    /// A word that is neither a keyword nor an address is reported as an unknown keyword,
    /// with the keywords expected there; it is never taken for a host name.
    #[test]
    fn unknown_keywords_are_named() {
        for word in ["stopp", "multi-threaded-modee", "launch"] {
            let e = fails(&format!("config tcp-server s {word}"));
            assert!(e.contains(&format!("unknown keyword \"{word}\"")), "{e}");
            assert!(e.contains("start, stop, abort"), "{e}");
        }
        let e = fails("config tcp-server s no start");
        assert!(e.contains("unknown keyword \"start\""), "{e}");
        let e = fails("run tcp-server s client frobnicate 127.0.0.1 1");
        assert!(e.contains("client disconnect"), "{e}");
        let e = fails("run tcp-server s frobnicate");
        assert!(e.contains("unknown keyword \"frobnicate\""), "{e}");
        assert!(!looks_like_address("stop"));
        assert!(!looks_like_address("multi-threaded-mode"));
        for addr in ["127.0.0.1", "::1", "[::1]", "localhost", "my.host.example"] {
            assert!(looks_like_address(addr), "{addr}");
        }
    }

    /// `show tcp-server <name> stats` asks for the counters; another word after the name is
    /// refused, naming it.
    #[test]
    fn parses_show_stats() {
        assert_eq!(
            ok("show tcp-server s2 stats"),
            Command::ShowStats("s2".into())
        );
        assert_eq!(ok("show tcp-server s2"), Command::Show(Some("s2".into())));
        let e = fails("show tcp-server s2 statz");
        assert!(e.contains("statz") && e.contains("stats"), "{e}");
        let e = fails("show tcp-server s2 stats now");
        assert!(e.contains("now") && e.contains("nothing after it"), "{e}");
    }

    /// The server in client mode's commands parse, with fractions of a second; bad words
    /// are named.
    #[test]
    fn parses_the_connect_commands() {
        assert_eq!(
            parse("config tcp-server d connect 127.0.0.1 5000").unwrap(),
            Some(Command::Connect {
                name: "d".into(),
                target: "127.0.0.1:5000".parse().unwrap(),
                connect: true
            })
        );
        assert_eq!(
            parse("config tcp-server d no connect ::1 5000").unwrap(),
            Some(Command::Connect {
                name: "d".into(),
                target: "[::1]:5000".parse().unwrap(),
                connect: false
            })
        );
        assert_eq!(
            parse("config tcp-server d connect-retry 0.1").unwrap(),
            Some(Command::ConnectRetry {
                name: "d".into(),
                interval: Duration::from_millis(100)
            })
        );
        assert_eq!(
            parse("config tcp-server d no reconnect").unwrap(),
            Some(Command::Reconnect {
                name: "d".into(),
                reconnect: false
            })
        );
        for bad in ["0", "-1", "1e20", "NaN", "soon"] {
            let e = parse(&format!("config tcp-server d connect-retry {bad}")).unwrap_err();
            assert!(
                e.message.contains(bad) && e.message.contains("0.01 to 86400"),
                "{e}"
            );
        }
        let e = parse("config tcp-server d connect nowhere 1").unwrap_err();
        assert!(e.message.contains("nowhere"), "{e}");
        let e = parse("config tcp-server d connect 127.0.0.1").unwrap_err();
        assert!(e.message.contains("IP address and a port"), "{e}");
    }

    /// `DEFAULT_PORT` is the port of `DEFAULT_ADDR`.
    #[test]
    fn default_port_matches_default_addr() {
        let addr: SocketAddr = DEFAULT_ADDR.parse().unwrap();
        assert_eq!(addr.port(), DEFAULT_PORT);
    }

    /// Mistakes name the offending word and what was expected; only an unknown command asks
    /// for the usage.
    #[test]
    fn mistakes_are_explained() {
        let e = parse("confg tcp-server x").unwrap_err();
        assert!(
            e.message.contains("\"confg\"") && e.message.contains("expected"),
            "{e}"
        );
        assert!(e.unknown_command);
        let e = parse("config tcp-server x 127.0.0.1 99999").unwrap_err();
        assert!(
            e.message.contains("99999") && e.message.contains("0 to 65535"),
            "{e}"
        );
        assert!(!e.unknown_command);
        let e = fails("run tcp-server x client disconnect nowhere 1");
        assert!(e.contains("nowhere"), "{e}");
        let e = fails("config tcp-server x 127.0.0.1 1 2");
        assert!(e.contains("unexpected \"2\""), "{e}");
        let e = fails("exit now");
        assert!(e.contains("takes nothing"), "{e}");
        let e = fails("config server x");
        assert!(e.contains("expected tcp-server"), "{e}");
        let e = fails("config tcp-server");
        assert!(e.contains("expected a server name"), "{e}");
    }

    /// A huge word is quoted cut short, with its length; a huge name is refused.
    #[test]
    fn long_words_are_quoted_short() {
        let word = "x".repeat(8 << 20);
        let e = fails(&format!("config tcp-server s {word}"));
        assert!(e.len() < 400, "{} bytes of error", e.len());
        assert!(e.contains("…\" (8388608 bytes)"), "{e}");
        let e = fails(&format!("config tcp-server {word} start"));
        assert!(e.len() < 400 && e.contains("expected at most 64"), "{e}");
        let e = fails("show tcp-server a\u{1b}[2Jb");
        assert!(
            e.contains("control character") && e.contains("\\u{1b}"),
            "{e}"
        );
        assert_eq!(shown("short"), "\"short\"");
        assert_eq!(
            shown(&"é".repeat(41)),
            format!("\"{}…\" (82 bytes)", "é".repeat(40))
        );
    }

    /// Counts read right: `1 byte`, `2 bytes`, `0 clients`.
    #[test]
    fn plurals() {
        assert_eq!(plural(1, "byte"), "1 byte");
        assert_eq!(plural(2, "byte"), "2 bytes");
        assert_eq!(plural(0, "client"), "0 clients");
    }

    /// The shell keeps the last lines typed, numbered, and no more than its bound.
    #[test]
    fn history_is_numbered_and_bounded() {
        let mut shell = Shell::new(ShellOptions::default());
        for i in 0..(HISTORY_LINES + 5) {
            shell.execute_line(&format!("bogus {i}"));
        }
        shell.execute_line("");
        let Outcome::Continue(text) = shell.execute_line("show history") else {
            panic!("show history asked to exit");
        };
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), HISTORY_LINES, "{text}");
        assert!(lines[0].trim_start().starts_with("7  bogus 6"), "{text}");
        assert!(
            lines.last().unwrap().contains("106  show history"),
            "{text}"
        );
    }

    /// Creating a server under a name in use says it exists; an explicit address moves a
    /// stopped one, and says so.
    #[test]
    fn an_existing_server_is_not_reset() {
        let mut shell = Shell::new(ShellOptions::default());
        let run = |shell: &mut Shell, line: &str| match shell.execute_line(line) {
            Outcome::Continue(text) => text,
            Outcome::Exit => panic!("exit"),
        };
        assert!(run(&mut shell, "config tcp-server s 127.0.0.1 0").contains("created"));
        let text = run(&mut shell, "config tcp-server s");
        assert!(
            text.contains("already exists") && text.contains("127.0.0.1:0"),
            "{text}"
        );
        let text = run(&mut shell, "config tcp-server s 127.0.0.2 0");
        assert!(text.contains("moved to 127.0.0.2:0"), "{text}");
        assert!(run(&mut shell, "config tcp-server s 127.0.0.1 0").contains("moved"));
        assert!(run(&mut shell, "config tcp-server s start").contains("started"));
        let text = run(&mut shell, "config tcp-server s 127.0.0.3 0");
        assert!(text.contains("already exists, running"), "{text}");
        assert!(text.contains("config tcp-server s stop"), "{text}");
        shell.stop_all();
    }
}
