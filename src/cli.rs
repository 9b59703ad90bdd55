//! The command line of the `tcpserver` shell (the course's `testapp` with its CommandParser
//! CLI): `config tcp-server …`, `run tcp-server …`, `show tcp-server …`.
//!
//! The course hooks its commands into a CLI library; we parse the few we need by hand into a
//! [`Command`] value and run it against a [`Shell`], which owns every server the user created.
//! Parsing and running are separate so the parser can be tested without sockets, and a typing
//! mistake is an error message plus the usage, never the end of the shell.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::Config;
use crate::controller::TcpServer;
use crate::demarcation::{Framing, ParseFramingError};
use crate::error::{ConnectError, SendError, ServerError};
use crate::keepalive::KeepAliveConfig;
use crate::recorder::{Print, Recorder};

/// The address a server gets when none is given, and the `tcpserver` default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:40000";
/// The port of [`DEFAULT_ADDR`], for `config tcp-server <name> <ip>` without a port.
pub const DEFAULT_PORT: u16 = 40000;

// ANCHOR: usage
/// The usage text printed by `help` and after a mistyped command.
pub const USAGE: &str = "\
commands:
  config tcp-server <name> [<ip> [<port>]]      create a server (or change a stopped one's address)
  config tcp-server <name> start                start it
  config tcp-server <name> abort                stop it: disconnect every client, free the port
  config tcp-server <name> [no] disable-conn-accept    stop (resume) accepting new connections
  config tcp-server <name> [no] disable-client-listen  stop (resume) reading from clients
  config tcp-server <name> ka-interval <seconds>  keep-alive interval (hold = 1.5 x); 0 turns it off
  config tcp-server <name> [no] connect <ip> <port>  connect out to a server (retried), or stop
  config tcp-server <name> connect-retry <seconds>   wait between connect attempts (default 10)
  config tcp-server <name> [no] reconnect       make a connection again after it ends (default on)
  run tcp-server <name> client disconnect <ip> <port>
  run tcp-server <name> send-msg <text> <ip> <port>
  show tcp-server [<name>]                      one server, or all of them
  help                                          this text
  exit                                          stop every server and leave (also Ctrl-D)";
// ANCHOR_END: usage

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
    /// `config tcp-server <name> abort`.
    Abort(String),
    /// `config tcp-server <name> [no] disable-conn-accept`.
    Accepting { name: String, accepting: bool },
    /// `config tcp-server <name> [no] disable-client-listen`.
    Listening { name: String, listening: bool },
    /// `config tcp-server <name> ka-interval <seconds>`.
    KeepAlive { name: String, interval: Duration },
    /// `run tcp-server <name> client disconnect <ip> <port>`.
    Disconnect { name: String, peer: SocketAddr },
    /// `run tcp-server <name> send-msg <text> <ip> <port>`.
    SendMsg {
        name: String,
        text: String,
        peer: SocketAddr,
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
    /// `help`.
    Help,
    /// `exit` or `quit`.
    Exit,
}
// ANCHOR_END: command

/// A command that could not be parsed: what was wrong (the usage is printed after it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
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
        "help" | "?" => Command::Help,
        "exit" | "quit" => Command::Exit,
        "show" => parse_show(&words[1..])?,
        "config" => parse_config(&words[1..])?,
        "run" => parse_run(&words[1..])?,
        other => {
            return err(format!(
                "unknown command {other:?}; expected config, run, show, help or exit"
            ))
        }
    };
    Ok(Some(command))
}
// ANCHOR_END: parse

fn expect_tcp_server<'a>(words: &'a [&'a str], verb: &str) -> Result<&'a [&'a str], ParseError> {
    match words.first() {
        Some(&"tcp-server") => Ok(&words[1..]),
        Some(other) => err(format!(
            "{verb}: unknown object {other:?}; expected tcp-server"
        )),
        None => err(format!("{verb}: expected tcp-server after {verb}")),
    }
}

fn parse_show(words: &[&str]) -> Result<Command, ParseError> {
    let rest = expect_tcp_server(words, "show")?;
    match rest {
        [] => Ok(Command::Show(None)),
        [name] => Ok(Command::Show(Some(name.to_string()))),
        _ => err(format!(
            "show tcp-server: unexpected {:?}; expected at most a server name",
            rest[1]
        )),
    }
}

fn parse_config(words: &[&str]) -> Result<Command, ParseError> {
    let rest = expect_tcp_server(words, "config")?;
    let Some((name, rest)) = rest.split_first() else {
        return err("config tcp-server: expected a server name");
    };
    let name = name.to_string();
    if let Some(command) = parse_connect(&name, rest) {
        return command;
    }
    match rest {
        [] => Ok(Command::Create {
            name,
            ip: None,
            port: None,
        }),
        ["start"] => Ok(Command::Start(name)),
        ["abort"] => Ok(Command::Abort(name)),
        ["disable-conn-accept"] => Ok(Command::Accepting {
            name,
            accepting: false,
        }),
        ["no", "disable-conn-accept"] => Ok(Command::Accepting {
            name,
            accepting: true,
        }),
        ["disable-client-listen"] => Ok(Command::Listening {
            name,
            listening: false,
        }),
        ["no", "disable-client-listen"] => Ok(Command::Listening {
            name,
            listening: true,
        }),
        ["ka-interval", secs] => {
            let secs: f64 = secs
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    ParseError(format!(
                        "ka-interval: {secs:?} is not a number of seconds; expected e.g. 10 or 0.5"
                    ))
                })?;
            Ok(Command::KeepAlive {
                name,
                interval: Duration::from_secs_f64(secs),
            })
        }
        [ip] => Ok(Command::Create {
            name,
            ip: Some(ip.to_string()),
            port: None,
        }),
        [ip, port] => Ok(Command::Create {
            name,
            ip: Some(ip.to_string()),
            port: Some(parse_port(port)?),
        }),
        _ => err(format!(
            "config tcp-server {name}: unexpected {:?}; expected start, abort, [no] disable-conn-accept, [no] disable-client-listen, ka-interval <s>, or <ip> [<port>]",
            rest.join(" ")
        )),
    }
}

// ANCHOR: parse_connect
/// The server in client mode's settings (chapter 11), or `None` when `rest` is none of them.
fn parse_connect(name: &str, rest: &[&str]) -> Option<Result<Command, ParseError>> {
    let name = name.to_string();
    let command = match rest {
        ["connect", ip, port] => parse_peer(ip, port).map(|target| Command::Connect {
            name,
            target,
            connect: true,
        }),
        ["no", "connect", ip, port] => parse_peer(ip, port).map(|target| Command::Connect {
            name,
            target,
            connect: false,
        }),
        ["connect-retry", secs] => parse_retry(secs).map(|interval| Command::ConnectRetry {
            name,
            interval,
        }),
        ["reconnect"] => Ok(Command::Reconnect {
            name,
            reconnect: true,
        }),
        ["no", "reconnect"] => Ok(Command::Reconnect {
            name,
            reconnect: false,
        }),
        ["connect" | "connect-retry", ..] | ["no", "connect", ..] => err(format!(
            "config tcp-server {name}: expected `[no] connect <ip> <port>` or `connect-retry <seconds>`"
        )),
        _ => return None,
    };
    Some(command)
}

/// The connect-retry bounds: at least 10 ms (a retry loop against a port that refuses at
/// once must not spin), at most a day.
fn parse_retry(secs: &str) -> Result<Duration, ParseError> {
    secs.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.01..=86_400.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            ParseError(format!(
                "connect-retry: {secs:?} is not a number of seconds from 0.01 to 86400; expected e.g. 10 or 0.1"
            ))
        })
}
// ANCHOR_END: parse_connect

fn parse_run(words: &[&str]) -> Result<Command, ParseError> {
    let rest = expect_tcp_server(words, "run")?;
    let Some((name, rest)) = rest.split_first() else {
        return err("run tcp-server: expected a server name");
    };
    let name = name.to_string();
    match rest {
        ["client", "disconnect", ip, port] => Ok(Command::Disconnect {
            name,
            peer: parse_peer(ip, port)?,
        }),
        ["send-msg", words @ .., ip, port] if !words.is_empty() => Ok(Command::SendMsg {
            name,
            text: words.join(" "),
            peer: parse_peer(ip, port)?,
        }),
        _ => err(format!(
            "run tcp-server {name}: expected `client disconnect <ip> <port>` or `send-msg <text> <ip> <port>`"
        )),
    }
}

fn parse_port(port: &str) -> Result<u16, ParseError> {
    port.parse()
        .map_err(|_| ParseError(format!("{port:?} is not a port; expected 0 to 65535")))
}

fn parse_peer(ip: &str, port: &str) -> Result<SocketAddr, ParseError> {
    let ip: std::net::IpAddr = ip.parse().map_err(|_| {
        ParseError(format!(
            "{ip:?} is not an IP address; expected e.g. 127.0.0.1 or ::1"
        ))
    })?;
    Ok(SocketAddr::new(ip, parse_port(port)?))
}

/// A command that parsed but could not be carried out.
#[derive(Debug)]
pub enum ShellError {
    /// No server has this name.
    UnknownServer(String),
    /// The server has no client connected from this address.
    NoSuchClient { server: String, peer: SocketAddr },
    /// The change needs the server stopped first.
    Running {
        server: String,
        setting: &'static str,
    },
    /// The server refused (bind failure, bad address, wrong state, …).
    Server(ServerError),
    /// A message could not be queued for the client.
    Send(SendError),
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
            ShellError::NoSuchClient { server, peer } => {
                write!(f, "tcp-server \"{server}\" has no client {peer}")
            }
            ShellError::Running { server, setting } => write!(
                f,
                "tcp-server \"{server}\" is running; abort it, set {setting}, then start it again"
            ),
            ShellError::Server(e) => e.fmt(f),
            ShellError::Send(e) => e.fmt(f),
            ShellError::Connect(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ShellError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ShellError::Server(e) => Some(e),
            ShellError::Send(e) => Some(e),
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

/// One server of the shell, with what is needed to rebuild it when its settings change.
struct Entry {
    server: TcpServer,
    addr: String,
    config: Config,
}

// ANCHOR: shell
/// The servers a shell session created, by name.
pub struct Shell {
    /// Sorted, so `show tcp-server` lists them in a stable order.
    servers: BTreeMap<String, Entry>,
    options: ShellOptions,
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
        }
    }

    /// Runs one line: the text to print, or an error message followed by the usage.
    pub fn execute_line(&mut self, line: &str) -> Outcome {
        match parse(line) {
            Ok(None) => Outcome::Continue(String::new()),
            Ok(Some(Command::Exit)) => Outcome::Exit,
            Ok(Some(command)) => match self.execute(command) {
                Ok(text) => Outcome::Continue(text),
                Err(e) => Outcome::Continue(format!("error: {e}")),
            },
            Err(e) => Outcome::Continue(format!("error: {e}\n{USAGE}")),
        }
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
                let entry = self.get(&name)?;
                entry.server.start()?;
                Ok(format!(
                    "tcp-server \"{name}\" started on {}",
                    addr_text(&entry.server)
                ))
            }
            Command::Abort(name) => {
                self.get(&name)?.server.stop();
                Ok(format!("tcp-server \"{name}\" stopped"))
            }
            Command::Accepting { name, accepting } => {
                let entry = self.get(&name)?;
                entry.server.set_accepting(accepting)?;
                Ok(format!("tcp-server \"{name}\": {}", entry.server.flags()))
            }
            Command::Listening { name, listening } => {
                let entry = self.get(&name)?;
                entry.server.set_listening(listening)?;
                Ok(format!("tcp-server \"{name}\": {}", entry.server.flags()))
            }
            Command::KeepAlive { name, interval } => self.set_keepalive(&name, interval),
            Command::Disconnect { name, peer } => {
                if self.get(&name)?.server.disconnect_peer(peer) {
                    Ok(String::new())
                } else {
                    Err(ShellError::NoSuchClient { server: name, peer })
                }
            }
            Command::SendMsg { name, text, peer } => {
                let server = &self.get(&name)?.server;
                let client = server
                    .find_client(peer)
                    .ok_or_else(|| ShellError::NoSuchClient {
                        server: name.clone(),
                        peer,
                    })?;
                server.send(client.id, text.as_bytes())?;
                Ok(format!("sent {} bytes to client {}", text.len(), client.id))
            }
            Command::Connect { .. } | Command::ConnectRetry { .. } | Command::Reconnect { .. } => {
                self.execute_connect(command)
            }
            Command::Show(Some(name)) => Ok(self.get(&name)?.server.show()),
            Command::Show(None) if self.servers.is_empty() => Ok("no tcp-server yet".into()),
            Command::Show(None) => Ok(self.servers.values().map(|e| e.server.show()).collect()),
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
                let server = &self.get(&name)?.server;
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
                self.get(&name)?.server.cancel_connect(target)?;
                Ok(format!(
                    "tcp-server \"{name}\" no longer connects to {target}"
                ))
            }
            Command::ConnectRetry { name, interval } => {
                let entry = self
                    .servers
                    .get_mut(&name)
                    .ok_or_else(|| ShellError::UnknownServer(name.clone()))?;
                entry.server.set_connect_retry(interval);
                // Kept in the settings too, should the shell rebuild the server.
                entry.config.connect_retry = interval;
                Ok(format!(
                    "tcp-server \"{name}\": connect retry every {} s",
                    interval.as_secs_f64()
                ))
            }
            Command::Reconnect { name, reconnect } => {
                let entry = self
                    .servers
                    .get_mut(&name)
                    .ok_or_else(|| ShellError::UnknownServer(name.clone()))?;
                entry.server.set_reconnect(reconnect);
                entry.config.reconnect = reconnect;
                Ok(format!(
                    "tcp-server \"{name}\": reconnect {}",
                    if reconnect { "on" } else { "off" }
                ))
            }
            _ => Ok(String::new()),
        }
    }
    // ANCHOR_END: execute_connect

    /// Stops every server (what `exit`, end of input and Ctrl-C do).
    pub fn stop_all(&mut self) {
        for entry in self.servers.values() {
            entry.server.stop();
        }
    }

    fn get(&self, name: &str) -> Result<&Entry, ShellError> {
        self.servers
            .get(name)
            .ok_or_else(|| ShellError::UnknownServer(name.to_string()))
    }

    fn create(
        &mut self,
        name: String,
        ip: Option<String>,
        port: Option<u16>,
    ) -> Result<String, ShellError> {
        let addr = match (ip, port) {
            (None, _) => DEFAULT_ADDR.to_string(),
            (Some(ip), port) => join_host_port(&ip, port.unwrap_or(DEFAULT_PORT)),
        };
        if let Some(entry) = self.servers.get_mut(&name) {
            entry.server.set_address(addr.as_str())?;
            entry.addr = addr.clone();
            return Ok(format!("tcp-server \"{name}\" will listen on {addr}"));
        }
        self.add(&name, &addr)?;
        Ok(format!(
            "tcp-server \"{name}\" created on {addr}; `config tcp-server {name} start` starts it"
        ))
    }

    /// Creates a server with the given name and address, as `config tcp-server` does.
    ///
    /// # Errors
    /// [`ShellError::Server`] when the address does not resolve.
    pub fn add(&mut self, name: &str, addr: &str) -> Result<&TcpServer, ShellError> {
        let config = self.options.config.clone();
        let server = self.build(name, addr, config.clone())?;
        self.servers.insert(
            name.to_string(),
            Entry {
                server,
                addr: addr.to_string(),
                config,
            },
        );
        Ok(&self.get(name)?.server)
    }

    fn build(&self, name: &str, addr: &str, config: Config) -> Result<TcpServer, ShellError> {
        let print = Print {
            prefix: (!self.options.quiet).then(|| format!("[{name}]")),
            messages: true,
        };
        // The shell waits on no events: its recorder prints them and keeps none.
        let recorder = Recorder::printing(print, self.options.echo);
        Ok(TcpServer::with_config(name, addr, config, recorder)?)
    }

    fn set_keepalive(&mut self, name: &str, interval: Duration) -> Result<String, ShellError> {
        let entry = self.get(name)?;
        if entry
            .server
            .flags()
            .contains(crate::state::ServerFlags::RUNNING)
        {
            return Err(ShellError::Running {
                server: name.to_string(),
                setting: "ka-interval",
            });
        }
        let mut config = entry.config.clone();
        config.keepalive = (!interval.is_zero()).then(|| KeepAliveConfig::with_interval(interval));
        let addr = entry.addr.clone();
        let server = self.build(name, &addr, config.clone())?;
        // Connect targets are configuration of the server being replaced: carry them over.
        for target in entry.server.connect_targets() {
            server.connect(target.addr)?;
        }
        let text = match &config.keepalive {
            Some(ka) => format!("tcp-server \"{name}\": keep-alive {ka}"),
            None => format!("tcp-server \"{name}\": keep-alive off"),
        };
        self.servers.insert(
            name.to_string(),
            Entry {
                server,
                addr,
                config,
            },
        );
        Ok(text)
    }
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

    /// The course's commands parse into the right commands.
    #[test]
    fn parses_the_course_commands() {
        assert_eq!(
            parse("config tcp-server s2 127.0.0.1 40001").unwrap(),
            Some(Command::Create {
                name: "s2".into(),
                ip: Some("127.0.0.1".into()),
                port: Some(40001)
            })
        );
        assert_eq!(
            parse("config tcp-server s2 start").unwrap(),
            Some(Command::Start("s2".into()))
        );
        assert_eq!(
            parse("config tcp-server s2 no disable-conn-accept").unwrap(),
            Some(Command::Accepting {
                name: "s2".into(),
                accepting: true
            })
        );
        assert_eq!(
            parse("run tcp-server d send-msg hello there 127.0.0.1 5000").unwrap(),
            Some(Command::SendMsg {
                name: "d".into(),
                text: "hello there".into(),
                peer: "127.0.0.1:5000".parse().unwrap()
            })
        );
        assert_eq!(parse("   ").unwrap(), None);
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
            assert!(e.0.contains(bad) && e.0.contains("0.01 to 86400"), "{e}");
        }
        let e = parse("config tcp-server d connect nowhere 1").unwrap_err();
        assert!(e.0.contains("nowhere"), "{e}");
        let e = parse("config tcp-server d connect 127.0.0.1").unwrap_err();
        assert!(e.0.contains("connect <ip> <port>"), "{e}");
    }

    /// `DEFAULT_PORT` is the port of `DEFAULT_ADDR`.
    #[test]
    fn default_port_matches_default_addr() {
        let addr: SocketAddr = DEFAULT_ADDR.parse().unwrap();
        assert_eq!(addr.port(), DEFAULT_PORT);
    }

    /// Mistakes name the offending word and what was expected.
    #[test]
    fn mistakes_are_explained() {
        let e = parse("confg tcp-server x").unwrap_err();
        assert!(e.0.contains("\"confg\"") && e.0.contains("expected"), "{e}");
        let e = parse("config tcp-server x 127.0.0.1 99999").unwrap_err();
        assert!(e.0.contains("99999") && e.0.contains("0 to 65535"), "{e}");
        let e = parse("run tcp-server x client disconnect nowhere 1").unwrap_err();
        assert!(e.0.contains("nowhere"), "{e}");
    }
}
