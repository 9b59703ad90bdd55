//! Benchmark: the `tcpserver` binary under load, from outside, as a real peer sees it.
//! Run: `cargo build --release --bins && cargo run --release --bin bench_load -- all`
//! (`-- --help` lists the scenarios and options).
//!
//! Each scenario starts a fresh server process (`tcpserver --no-shell --quiet --echo` on
//! 127.0.0.1:0) and drives it with clients of this process or of helper copies of it:
//! - `slow-reader`: one echo stream of seeded bytes read slowly at first; every byte must
//!   come back (nothing may be dropped while the reader lags);
//! - `frames`: pipelined length-prefixed frames with sequence numbers, checked in order;
//! - `never-readers`: many clients push and never read; the server's memory must stay
//!   bounded (backpressure) and one more client must still be served;
//! - `flood`: request/response latency of one client, alone and next to a flooding client.
//!
//! Checks end in a `PASS`/`FAIL` line; timings are printed, never judged (`INFO`). A client
//! that sleeps here stands in for a slow peer: load simulation, not coordination.

mod args;
#[path = "../common/children.rs"]
mod children;
mod echo_checks;
mod flood;
mod never_readers;
mod process;
mod traffic;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use args::{parse_args, Options, Scenario, USAGE};
use process::Watchdog;
use traffic::say;

/// What a scenario concluded; an `Err` from a scenario is an error that stopped it.
enum Verdict {
    /// Every check held.
    Pass,
    /// A check failed; the string says which and by how much.
    Fail(String),
    /// Figures only, nothing to judge (timings depend on the machine).
    Info,
}

/// Runs one scenario under a watchdog; prints its verdict line; true unless it failed.
fn run(name: &'static str, o: &Options, scenario: fn(&Options) -> Result<Verdict, String>) -> bool {
    let limit = o
        .timeout
        .max(Duration::from_secs_f64(o.seconds.unwrap_or(20.0) * 2.0))
        + Duration::from_secs(60);
    let _watchdog = Watchdog::arm(format!("bench_load: {name}"), limit);
    let ok = match scenario(o) {
        Ok(Verdict::Pass) => {
            tcpserverlib::say!("PASS {name}");
            true
        }
        Ok(Verdict::Info) => {
            tcpserverlib::say!("INFO {name}: timings only, no verdict");
            true
        }
        Ok(Verdict::Fail(why)) => {
            tcpserverlib::say!("FAIL {name}: {why}");
            false
        }
        Err(e) => {
            tcpserverlib::say!("FAIL {name}: error: {e}");
            false
        }
    };
    tcpserverlib::say!();
    ok
}

fn main() -> ExitCode {
    let code = run_bench();
    // Everything is printed by the printer thread: let it finish before the process ends.
    tcpserverlib::printer::flush();
    code
}

fn run_bench() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, addr, n, bytes, seconds] = args.as_slice() {
        if flag == "--never-reader-helper" {
            let parsed = (addr.parse(), n.parse(), bytes.parse(), seconds.parse());
            let result = match parsed {
                (Ok(addr), Ok(n), Ok(bytes), Ok(seconds)) => {
                    never_readers::never_reader_helper(addr, n, bytes, seconds)
                }
                _ => {
                    Err("usage: bench_load --never-reader-helper ADDR CLIENTS BYTES SECONDS".into())
                }
            };
            return match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say(&format!("error: {e}"));
                    ExitCode::FAILURE
                }
            };
        }
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
                "bench_load: {problem}\n(`bench_load --help` lists the scenarios and options)"
            );
            return ExitCode::from(2);
        }
    };
    tcpserverlib::say!(
        "command: cargo run --release --bin bench_load -- {}",
        args.join(" ")
    );
    let all = o.scenario == Scenario::All;
    let mut ok = true;
    if all || o.scenario == Scenario::SlowReader {
        ok &= run("slow-reader", &o, echo_checks::slow_reader);
    }
    if all || o.scenario == Scenario::Frames {
        ok &= run("frames", &o, echo_checks::frames);
    }
    if all || o.scenario == Scenario::Flood {
        ok &= run("flood", &o, flood::flood);
    }
    if all || o.scenario == Scenario::NeverReaders {
        ok &= run("never-readers", &o, never_readers::never_readers);
    }
    if all {
        tcpserverlib::say!("{} all", if ok { "PASS" } else { "FAIL" });
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
