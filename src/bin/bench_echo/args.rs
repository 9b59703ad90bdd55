//! The command line: the scenario, options and their defaults, and `--help`.
//!
//! A bad argument is a usage error (exit 2) naming the argument and what was expected, so a
//! typo never turns into a half-run benchmark.

use std::path::PathBuf;

/// tcpserver's connection cap is 10 000 clients in all (`Config::max_clients`), and the
/// active client of `idle` is one of them; one more idle connection would be refused.
pub const DEFAULT_IDLE: usize = 9_999;

/// Largest payload: a length frame carries at most 10 240 bytes with its 2-byte header
/// (`demarcation::DEFAULT_MAX_LEN`, which tcpserver uses).
const MAX_PAYLOAD: usize = 10_238;

pub const USAGE: &str = "\
usage: bench_echo [SCENARIO] [OPTIONS]
  (build first: cargo build --release --bins; then ./target/release/bench_echo ...)
Speed of the tcpserver echo server, for each poller, against a plain thread-per-connection
std echo server (`threads`), in one run: rounds are interleaved (A, B, C, A, B, C, ...), and
each table shows per variant the median over rounds and the min-max of msgs/s.
scenarios:
  framed   CLIENTS clients, each with INFLIGHT frames in flight (pipelined), PAYLOAD-byte
           payloads in 2-byte big-endian length frames (--framing length); every echoed
           frame is checked; msgs/s and per-frame round trip p50/p99/max
  raw      the same with --framing none: counted per PAYLOAD-byte unit of the echoed bytes
  idle     IDLE idle connections held open (by helper processes), then one client doing
           request/response with one PAYLOAD-byte frame at a time; also the server's RSS
           growth per idle connection
  flood    one client floods header-only length frames (a second thread of it reads the
           echo) while a watcher does request/response; flood frames/s, watcher p50/p99/max
  all      every scenario above, in that order (default)
options:
  --rounds N         rounds per variant (3)
  --seconds S        measured length of a round, after a short warm-up (3)
  --pollers LIST     tcpserver variants, comma-separated: each X runs tcpserver with
                     `--poller X`; `default` passes no --poller flag (poll,epoll)
  --clients N        framed, raw: clients (64)
  --inflight N       framed, raw: requests in flight per client (16)
  --payload BYTES    payload of one message, 1..=10238 (64)
  --idle N           idle: idle connections (9999: tcpserver holds at most 10 000 clients,
                     and the active client is one of them)
  --server PATH      tcpserver binary (default: tcpserver beside this program)
  --server-arg ARG   extra argument for every tcpserver variant, repeatable
  -h, --help         this text
exit status: 0 every variant ran, 1 a variant failed (wrong echo, stuck round, server
error), 2 bad arguments";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Framed,
    Raw,
    Idle,
    Flood,
    All,
}

/// The command line, with every default filled in.
#[derive(Clone, Debug)]
pub struct Options {
    pub scenario: Scenario,
    pub rounds: usize,
    pub seconds: f64,
    /// `None` for `default`: tcpserver without a `--poller` flag.
    pub pollers: Vec<Option<String>>,
    pub clients: usize,
    pub inflight: usize,
    pub payload: usize,
    pub idle: usize,
    pub server: Option<PathBuf>,
    pub server_args: Vec<String>,
}

pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        scenario: Scenario::All,
        rounds: 3,
        seconds: 3.0,
        pollers: vec![Some("poll".into()), Some("epoll".into())],
        clients: 64,
        inflight: 16,
        payload: 64,
        idle: DEFAULT_IDLE,
        server: None,
        server_args: Vec::new(),
    };
    let mut it = args.iter().peekable();
    if let Some(first) = it.peek().filter(|a| !a.starts_with('-')) {
        o.scenario = match first.as_str() {
            "framed" => Scenario::Framed,
            "raw" => Scenario::Raw,
            "idle" => Scenario::Idle,
            "flood" => Scenario::Flood,
            "all" => Scenario::All,
            other => {
                return Err(format!(
                    "unknown scenario {other:?}; expected framed, raw, idle, flood or all"
                ))
            }
        };
        it.next();
    }
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rounds" => o.rounds = parse_count(flag, value()?, 1, 100)?,
            "--seconds" => o.seconds = parse_seconds(flag, value()?)?,
            "--pollers" => o.pollers = parse_pollers(value()?)?,
            "--clients" => o.clients = parse_count(flag, value()?, 1, 4096)?,
            "--inflight" => o.inflight = parse_count(flag, value()?, 1, 1024)?,
            "--payload" => o.payload = parse_count(flag, value()?, 1, MAX_PAYLOAD)?,
            "--idle" => o.idle = parse_count(flag, value()?, 1, 25_000)?,
            "--server" => o.server = Some(PathBuf::from(value()?)),
            "--server-arg" => o.server_args.push(value()?.clone()),
            "-h" | "--help" => return Err(String::new()),
            other if !other.starts_with('-') => {
                return Err(format!(
                    "unexpected {other:?}: the scenario comes first, before the options"
                ))
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(o)
}

/// A whole number in `min..=max`, `_` allowed between digits.
fn parse_count(flag: &str, s: &str, min: usize, max: usize) -> Result<usize, String> {
    s.replace('_', "")
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or(format!(
            "{flag} expects a whole number from {min} to {max}; got {s:?}"
        ))
}

fn parse_seconds(flag: &str, s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.1..=600.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "{flag} expects seconds from 0.1 to 600, like 2.5; got {s:?}"
        )),
    }
}

/// `poll,epoll` or `default`: names of lowercase letters, digits and `-`, no repeats.
fn parse_pollers(s: &str) -> Result<Vec<Option<String>>, String> {
    let mut pollers = Vec::new();
    for name in s.split(',') {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(format!(
                "--pollers expects names separated by commas, like poll,epoll or default; got {s:?}"
            ));
        }
        if name == "threads" {
            return Err("--pollers: `threads` is the baseline, which always runs; list tcpserver pollers only".into());
        }
        let poller = (name != "default").then(|| name.to_string());
        if pollers.contains(&poller) {
            return Err(format!("--pollers names {name:?} twice"));
        }
        pollers.push(poller);
    }
    Ok(pollers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    /// No arguments is `all` with the documented defaults.
    #[test]
    fn defaults() {
        let o = parse_args(&[]).unwrap();
        assert_eq!(o.scenario, Scenario::All);
        assert_eq!(
            (o.rounds, o.clients, o.inflight, o.payload),
            (3, 64, 16, 64)
        );
        assert_eq!(o.pollers, vec![Some("poll".into()), Some("epoll".into())]);
    }

    /// `default` is tcpserver without a --poller flag.
    #[test]
    fn pollers_parse() {
        let o = parse_args(&args("idle --pollers default --idle 5_000")).unwrap();
        assert_eq!((o.scenario, o.idle), (Scenario::Idle, 5000));
        assert_eq!(o.pollers, vec![None]);
        assert!(parse_args(&args("--pollers poll,,epoll"))
            .unwrap_err()
            .contains("--pollers"));
        assert!(parse_args(&args("--pollers poll,poll"))
            .unwrap_err()
            .contains("twice"));
    }

    /// A bad scenario or option is an error naming it; `--help` is the empty error.
    #[test]
    fn bad_arguments_are_named() {
        assert!(parse_args(&args("fast")).unwrap_err().contains("\"fast\""));
        assert!(parse_args(&args("raw --what 1"))
            .unwrap_err()
            .contains("--what"));
        let err = parse_args(&args("raw --clients 0")).unwrap_err();
        assert!(err.contains("--clients") && err.contains("\"0\""), "{err}");
        assert!(parse_args(&args("raw --seconds"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse_args(&args("--rounds 2 raw"))
            .unwrap_err()
            .contains("comes first"));
        assert_eq!(parse_args(&args("all --help")).unwrap_err(), "");
    }
}
