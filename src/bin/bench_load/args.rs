//! The command line: scenarios, options and their defaults, and `--help`.
//!
//! A bad argument is a usage error (exit 2) naming the argument and what was expected; the
//! framing is checked here, so a typo never reaches the server as a failed start.

use std::path::PathBuf;
use std::time::Duration;

use tcpserverlib::Framing;

pub const USAGE: &str = "\
usage: bench_load SCENARIO [OPTIONS]
  (run as: cargo run --release --bin bench_load -- SCENARIO [OPTIONS])
scenarios:
  slow-reader    one echo connection; a reader slow for its first 2 s must get every byte
  frames         pipelined length-prefixed frames with sequence numbers, checked in order
  never-readers  clients that push and never read; server RSS bound, one more client served
  flood          round-trip latency alone, then beside flooding clients (figures only)
  all            the four above in turn, each with a fresh server, some defaults smaller
options (default for one scenario / for `all`; a never-reader's data must outgrow the
kernel's socket buffers, several MiB on loopback, before the server's own queues fill):
  --bytes N          slow-reader: bytes echoed (30M / 16M); never-readers: bytes per
                     client (16M); K, M, G mean KiB, MiB, GiB
  --frames N         frames: frames sent (300000)
  --clients N        never-readers: clients, 200 per helper process (200)
  --seconds S        never-readers: push time limit (20); flood: length of each
                     phase (3 / 2)
  --flooders K       flood: flooding clients (1)
  --framing KIND     flood: none | fixed:N | length | length-le | line (length)
  --max-rss-mib N    never-readers: largest server RSS that passes, MiB (96)
  --timeout S        slow-reader, frames: give up after S seconds (120)
  --seed N           seed of the pseudo-random data (1)
  --server PATH      server binary (default: tcpserver beside this program)
  --server-arg ARG   extra argument for the server, repeatable
  -h, --help         this text
exit status: 0 PASS or INFO, 1 FAIL or a scenario error, 2 bad arguments";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scenario {
    SlowReader,
    Frames,
    NeverReaders,
    Flood,
    All,
}

/// The command line; `None` means "the scenario's default", which differs under `all`.
#[derive(Clone, Debug)]
pub struct Options {
    pub scenario: Scenario,
    pub bytes: Option<u64>,
    pub frames: Option<u64>,
    pub clients: Option<usize>,
    pub seconds: Option<f64>,
    pub flooders: usize,
    pub framing: String,
    pub max_rss_mib: u64,
    pub timeout: Duration,
    pub seed: u64,
    pub server: Option<PathBuf>,
    pub server_args: Vec<String>,
}

impl Options {
    /// The option's value if given, else the default for one scenario or for `all`.
    pub fn or<T: Copy>(&self, given: Option<T>, single: T, in_all: T) -> T {
        given.unwrap_or(if self.scenario == Scenario::All {
            in_all
        } else {
            single
        })
    }
}

pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter();
    let scenario =
        match it.next().map(String::as_str) {
            Some("slow-reader") => Scenario::SlowReader,
            Some("frames") => Scenario::Frames,
            Some("never-readers") => Scenario::NeverReaders,
            Some("flood") => Scenario::Flood,
            Some("all") => Scenario::All,
            Some("-h" | "--help") => return Err(String::new()),
            Some(other) => {
                return Err(format!(
            "unknown scenario {other:?}; expected slow-reader, frames, never-readers, flood or all"
        ))
            }
            None => return Err(
                "missing the scenario; expected slow-reader, frames, never-readers, flood or all"
                    .into(),
            ),
        };
    let mut o = Options {
        scenario,
        bytes: None,
        frames: None,
        clients: None,
        seconds: None,
        flooders: 1,
        framing: "length".into(),
        max_rss_mib: 96,
        timeout: Duration::from_secs(120),
        seed: 1,
        server: None,
        server_args: Vec::new(),
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bytes" => o.bytes = Some(parse_size(flag, value()?)?),
            "--frames" => o.frames = Some(parse_size(flag, value()?)?),
            "--clients" => o.clients = Some(parse_size(flag, value()?)? as usize),
            "--seconds" => o.seconds = Some(parse_seconds(flag, value()?)?),
            "--flooders" => o.flooders = parse_size(flag, value()?)? as usize,
            "--framing" => o.framing = parse_framing(value()?)?,
            "--max-rss-mib" => o.max_rss_mib = parse_size(flag, value()?)?,
            "--timeout" => o.timeout = Duration::from_secs_f64(parse_seconds(flag, value()?)?),
            "--seed" => o.seed = parse_size(flag, value()?)?,
            "--server" => o.server = Some(PathBuf::from(value()?)),
            "--server-arg" => o.server_args.push(value()?.clone()),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.clients == Some(0) || o.flooders == 0 || o.frames == Some(0) {
        return Err("--clients, --flooders and --frames need at least 1".into());
    }
    Ok(o)
}

/// A whole number, `_` allowed between digits, with an optional K, M or G (binary) suffix.
fn parse_size(flag: &str, s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    digits
        .replace('_', "")
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or(format!(
            "{flag} expects a whole number, optionally with a K, M or G suffix; got {s:?}"
        ))
}

fn parse_seconds(flag: &str, s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 3600.0 => Ok(x),
        _ => Err(format!(
            "{flag} expects seconds between 0 and 3600, like 2.5; got {s:?}"
        )),
    }
}

/// Checks the framing here, so a typo is a usage error and not a server that fails to start.
fn parse_framing(s: &str) -> Result<String, String> {
    s.parse::<Framing>()
        .map(|_| s.to_string())
        .map_err(|e| format!("--framing {s:?}: {}", e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes take binary suffixes and underscores; anything else names the flag.
    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("--bytes", "30M"), Ok(30 << 20));
        assert_eq!(parse_size("--frames", "300_000"), Ok(300_000));
        assert_eq!(parse_size("--bytes", "2k"), Ok(2048));
        let err = parse_size("--bytes", "3x").unwrap_err();
        assert!(err.contains("--bytes") && err.contains("\"3x\""), "{err}");
    }

    /// A bad scenario or option is an error naming it; `--help` is the empty error.
    #[test]
    fn bad_arguments_are_named() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(parse_args(&args("flood --what 1"))
            .unwrap_err()
            .contains("--what"));
        assert!(parse_args(&args("fast")).unwrap_err().contains("\"fast\""));
        assert!(parse_args(&args("flood --framing foo"))
            .unwrap_err()
            .contains("foo"));
        assert_eq!(parse_args(&args("all --help")).unwrap_err(), "");
        let o = parse_args(&args("all --seconds 1.5")).unwrap();
        assert_eq!(
            (o.scenario, o.or(o.seconds, 3.0, 2.0)),
            (Scenario::All, 1.5)
        );
    }
}
