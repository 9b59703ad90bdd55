//! Benchmark: the speed of the `tcpserver` echo server, for each poller, against a plain
//! thread-per-connection std echo server, all in one run.
//! Run: `cargo build --release --bins && ./target/release/bench_echo [SCENARIO] [OPTIONS]`
//! (`--help` lists the scenarios, options and defaults).
//!
//! What it measures, per scenario and per server variant (`tcpserver --poller X` for each X
//! of `--pollers`, and `threads`, the baseline this program serves itself with
//! `--baseline-server`), each server in its own process:
//! - `framed`: 64 clients × 16 pipelined 64-byte payloads in length frames: echoed frames
//!   per second and per-frame round trip p50/p99/max; every echoed byte is checked;
//! - `raw`: the same without framing, counted per 64-byte unit of echo;
//! - `idle`: one client's request/response beside 9 999 idle connections, and the server's
//!   RSS growth per idle connection;
//! - `flood`: header-only frames as fast as one client can send them, beside a watcher doing
//!   request/response: flood frames per second and the watcher's round trips.
//!
//! Every variant's server and connections are set up before a scenario's first round and
//! kept for all of them; rounds are interleaved (poll, epoll, threads, poll, …), and the
//! table gives each column's median over rounds. Figures are printed, never judged: they
//! depend on the machine. Exit status 1 means a variant failed (a wrong echo, a stuck
//! round, a server that did not start), never that it was slow.

mod args;
mod baseline;
#[path = "../common/children.rs"]
mod children;
mod flood;
mod idle;
mod pipelined;
mod process;
mod stats;
mod traffic;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use args::{parse_args, Options, Scenario, USAGE};
use process::{Variant, Watchdog};
use stats::{print_table, Figures, Row};

/// One variant of one scenario, set up and ready for rounds. Dropping it kills its server
/// first, then closes its clients.
trait Target {
    /// Runs one round; an error (a wrong echo, a stuck or closed connection) fails the
    /// variant.
    fn round(&mut self, o: &Options) -> Result<Figures, String>;

    /// Server RSS growth per idle connection, in bytes (the `idle` scenario only).
    fn rss_per_idle(&self) -> Option<f64> {
        None
    }
}

fn main() -> ExitCode {
    let code = run();
    // Everything is printed by the printer thread: let it finish before the process ends.
    tcpserverlib::printer::flush();
    code
}

fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) = hidden_modes(&args) {
        return code;
    }
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(problem) if problem.is_empty() => {
            tcpserverlib::say!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            let _ = writeln!(
                std::io::stderr(),
                "bench_echo: {problem}\n(`bench_echo --help` lists the scenarios, options and defaults)"
            );
            return ExitCode::from(2);
        }
    };
    let command: Vec<String> = std::env::args().collect();
    tcpserverlib::say!("command: {}", command.join(" "));
    let fds = tcpserverlib::raise_fd_limit();
    tcpserverlib::say!(
        "machine: {} CPUs; descriptor limit {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        fds.map_or_else(|e| format!("unknown ({e})"), |n| n.to_string())
    );
    tcpserverlib::say!(
        "each round: {:.2} s warm-up (not counted), then {} s measured; {} rounds per variant, interleaved",
        traffic::warm_up(o.seconds).as_secs_f64(),
        o.seconds,
        o.rounds
    );
    tcpserverlib::say!();
    let scenarios = match o.scenario {
        Scenario::All => vec![
            Scenario::Framed,
            Scenario::Raw,
            Scenario::Idle,
            Scenario::Flood,
        ],
        one => vec![one],
    };
    let _watchdog = Watchdog::arm("bench_echo".into(), time_limit(&o, scenarios.len()));
    let mut ok = true;
    for scenario in scenarios {
        ok &= run_scenario(&o, scenario);
        tcpserverlib::say!();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        tcpserverlib::say!("FAIL: at least one variant failed (see the tables above)");
        ExitCode::FAILURE
    }
}

/// The modes this program runs in as a child of itself: the baseline server and the
/// idle-connection helper. `None` when the arguments ask for neither.
fn hidden_modes(args: &[String]) -> Option<ExitCode> {
    let result = match args {
        [mode, flag, framing] if mode == "--baseline-server" && flag == "--framing" => {
            baseline::serve(framing)
        }
        [mode, ..] if mode == "--baseline-server" => {
            Err("usage: bench_echo --baseline-server --framing none|length".into())
        }
        [mode, addr, n] if mode == "--idle-helper" => match (addr.parse(), n.parse()) {
            (Ok(addr), Ok(n)) => idle::helper(addr, n),
            _ => Err(format!(
                "usage: bench_echo --idle-helper ADDR CONNECTIONS; got {addr:?} {n:?}"
            )),
        },
        [mode, ..] if mode == "--idle-helper" => {
            Err("usage: bench_echo --idle-helper ADDR CONNECTIONS".into())
        }
        _ => return None,
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tcpserverlib::printer::flush();
            let _ = writeln!(std::io::stderr(), "bench_echo {}: {e}", args[0]);
            ExitCode::from(2)
        }
    })
}

/// Generous bound on the whole run: every round of every variant at its worst (warm-up,
/// window, a stall's wait to drain), plus set-up time per variant.
fn time_limit(o: &Options, scenarios: usize) -> Duration {
    let variants = Variant::all(o).len() as f64;
    let round = o.seconds + 1.0 + 2.0 * traffic::STALL.as_secs_f64();
    let per_scenario = variants * (o.rounds as f64 * round + 90.0);
    Duration::from_secs_f64(60.0 + scenarios as f64 * per_scenario)
}

/// Sets up every variant, runs the interleaved rounds, prints the table. True unless a
/// variant failed.
fn run_scenario(o: &Options, scenario: Scenario) -> bool {
    let (name, about) = describe(o, scenario);
    tcpserverlib::say!("== {name}: {about}");
    let variants = Variant::all(o);
    let mut rows: Vec<Row> = Vec::new();
    let mut targets: Vec<Option<Box<dyn Target>>> = Vec::new();
    for v in &variants {
        let target: Result<Box<dyn Target>, String> = match scenario {
            Scenario::Framed => pipelined::Pipelined::setup(o, v, true).map(|t| Box::new(t) as _),
            Scenario::Raw => pipelined::Pipelined::setup(o, v, false).map(|t| Box::new(t) as _),
            Scenario::Idle => idle::Idle::setup(o, v).map(|t| Box::new(t) as _),
            _ => flood::Flood::setup(o, v).map(|t| Box::new(t) as _),
        };
        let mut row = Row {
            name: v.name().to_string(),
            rounds: Vec::new(),
            failure: None,
            rss_per_idle: None,
        };
        match target {
            Ok(t) => {
                row.rss_per_idle = t.rss_per_idle();
                targets.push(Some(t));
            }
            Err(e) => {
                tcpserverlib::say!("  {:<8} FAIL: {e}", v.name());
                row.failure = Some(e);
                targets.push(None);
            }
        }
        rows.push(row);
    }
    for round in 1..=o.rounds {
        for (row, slot) in rows.iter_mut().zip(targets.iter_mut()) {
            let Some(target) = slot else { continue };
            match target.round(o) {
                Ok(f) => {
                    tcpserverlib::say!("  round {round}/{} {:<8} {}", o.rounds, row.name, f.line());
                    row.rounds.push(f);
                }
                Err(e) => {
                    tcpserverlib::say!("  round {round}/{} {:<8} FAIL: {e}", o.rounds, row.name);
                    row.failure = Some(e);
                    // Its server is killed now, so a stuck server cannot disturb the others.
                    *slot = None;
                }
            }
        }
    }
    drop(targets);
    tcpserverlib::say!(
        "{name}: median of {} rounds per column; min–max of msgs/s over rounds; max µs is the largest of any round",
        o.rounds
    );
    print_table(
        &rows,
        scenario == Scenario::Idle,
        scenario == Scenario::Flood,
    );
    rows.iter().all(|r| r.failure.is_none())
}

fn describe(o: &Options, scenario: Scenario) -> (&'static str, String) {
    match scenario {
        Scenario::Framed => ("framed", format!(
            "{} clients × {} frames in flight, {}-byte payloads in {}-byte length frames (--framing length)",
            o.clients, o.inflight, o.payload, o.payload + 2
        )),
        Scenario::Raw => ("raw", format!(
            "{} clients × {} messages in flight, {}-byte messages, counted per {} bytes of echo (--framing none)",
            o.clients, o.inflight, o.payload, o.payload
        )),
        Scenario::Idle => ("idle", format!(
            "{} idle connections, then 1 client doing request/response with {}-byte payloads (--framing length)",
            o.idle, o.payload
        )),
        _ => ("flood", format!(
            "1 client floods 2-byte header-only frames (and reads the echo) beside a watcher doing request/response with {}-byte payloads (--framing length)",
            o.payload
        )),
    }
}
