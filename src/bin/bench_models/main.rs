//! Benchmark: the five models of chapter 0 side by side, one row per model. Run:
//! `cargo build --release --bins && ./target/release/bench_models` (the process model starts
//! `ch0 --serve-stdio` from the same directory, so build the binaries first); `--quick` for
//! a short check, `--help` for what is measured.
//!
//! Per model, each on a fresh server: connects per second; echo messages per second with 64
//! clients; a normal client's echo latency while one slow client (connected first, half a
//! line sent) stalls; the threads and processes the server started for the 64 clients; the
//! growth of the server's resident memory per idle client; and how many idle clients it
//! holds while a new client still gets its echo within a second.

// Shared with bench_load and bench_echo; this bench uses only part of it.
#[allow(dead_code)]
#[path = "../common/children.rs"]
mod children;
mod helpers;
mod measure;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tcpserverlib::models::{Model, ModelServer, Options};
use tcpserverlib::{printer, say};

use measure::{Capacity, Latency, Memory, ECHO_WITHIN};

const USAGE: &str = "\
usage: bench_models [--quick | --help]

Runs chapter 0's five echo servers one after another, in this process, and prints one row
per model:
  connects/s     connect, one echo, close, one client after another
  echo msgs/s    64 clients at once, each doing line round trips
  slow p50/p99   a normal client's round trips while a slow client (connected first, half a
                 line sent, then silent) stalls; \"blocked\" if an echo takes over 1 s
  thr+proc       threads and child processes the server started for the 64 clients
  KiB/client     growth of the server's resident memory (VmRSS; the process model adds its
                 children's) per idle client
  holds          idle clients opened in steps; after each step a new client must get its
                 echo within 1 s; the cap, or the first step that failed and why

--quick  smaller counts and caps, for a fast check
--help   this text";

/// The sizes of one run.
struct Plan {
    connect_for: Duration,
    clients: usize,
    round_trips: usize,
    latency_trips: usize,
    idle_for_memory: usize,
    /// Capacity steps (totals of idle clients); each model stops at its cap.
    steps: &'static [usize],
    /// The cap of the models that spend a thread or a process per client.
    cap_per_client: usize,
    /// The cap of the others.
    cap_shared: usize,
    /// Bound on the whole run.
    limit: Duration,
}

const FULL: Plan = Plan {
    connect_for: Duration::from_millis(500),
    clients: 64,
    round_trips: 200,
    latency_trips: 2000,
    idle_for_memory: 200,
    steps: &[
        1, 2, 4, 8, 16, 32, 64, 128, 250, 500, 1000, 2000, 5000, 10_000,
    ],
    cap_per_client: 2000,
    cap_shared: 10_000,
    limit: Duration::from_secs(15 * 60),
};

const QUICK: Plan = Plan {
    connect_for: Duration::from_millis(200),
    clients: 64,
    round_trips: 50,
    latency_trips: 200,
    idle_for_memory: 100,
    steps: &[1, 2, 4, 8, 16, 100, 250, 500, 1000],
    cap_per_client: 250,
    cap_shared: 1000,
    limit: Duration::from_secs(5 * 60),
};

/// One model's figures; each is its measurement's error where that failed.
struct Row {
    model: Model,
    name: String,
    connects: Result<f64, String>,
    echo: Result<(f64, usize, usize), String>,
    latency: Result<Latency, String>,
    memory: Result<Memory, String>,
    capacity: Result<Capacity, String>,
}

fn main() -> ExitCode {
    let code = run();
    // Everything is printed by the printer thread: let it finish before the process ends.
    printer::flush();
    code
}

fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => &FULL,
        ["--quick"] => &QUICK,
        ["--help" | "-h"] => {
            say!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        ["--idle-helper", addr, n] => {
            let result = match (addr.parse(), n.parse()) {
                (Ok(addr), Ok(n)) => helpers::helper(addr, n),
                _ => Err(format!(
                    "usage: bench_models --idle-helper ADDR N; got {addr:?} {n:?}"
                )),
            };
            return match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "bench_models --idle-helper: {e}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "bench_models: unexpected arguments {args:?}\n\n{USAGE}"
            );
            return ExitCode::from(2);
        }
    };
    let command: Vec<String> = std::env::args().collect();
    say!("command: {}", command.join(" "));
    let fds = tcpserverlib::raise_fd_limit();
    say!(
        "machine: {} CPUs; descriptor limit {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        fds.map_or_else(|e| format!("unknown ({e})"), |n| n.to_string())
    );
    let ch0 = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("ch0")))
        .unwrap_or_else(|| PathBuf::from("ch0"));
    if !ch0.exists() {
        say!(
            "bench_models: {} is missing: run `cargo build --release --bins` first",
            ch0.display()
        );
        return ExitCode::FAILURE;
    }
    say!(
        "each model on a fresh server per test; {} clients x {} round trips; {} round trips beside the slow client; \
         memory with {} idle clients; capacity steps {:?} up to {} (thread, process) or {} (others)",
        plan.clients,
        plan.round_trips,
        plan.latency_trips,
        plan.idle_for_memory,
        plan.steps,
        plan.cap_per_client,
        plan.cap_shared
    );
    say!();
    let _watchdog = children::Watchdog::arm("bench_models".into(), plan.limit);
    let models = [
        Model::Iterative,
        Model::ProcessPerClient,
        Model::ThreadPerClient,
        Model::ThreadPool { workers: 8 },
        Model::Multiplexed,
    ];
    let rows: Vec<Row> = models
        .iter()
        .map(|&m| measure_model(m, plan, &ch0))
        .collect();
    say!();
    print_table(&rows, plan.clients);
    let ok = rows.iter().all(|r| {
        r.connects.is_ok()
            && r.echo.is_ok()
            && r.latency.is_ok()
            && r.memory.is_ok()
            && r.capacity.is_ok()
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        say!("FAIL: a measurement could not be made (its error is in the table)");
        ExitCode::FAILURE
    }
}

fn name(model: Model) -> String {
    match model {
        Model::ThreadPool { workers } => format!("pool:{workers}"),
        m => m.name().to_string(),
    }
}

/// Every measurement of one model, each on its own server; progress is printed as it goes.
fn measure_model(model: Model, plan: &Plan, ch0: &std::path::Path) -> Row {
    let name = name(model);
    let start = || {
        let options = Options {
            child_program: Some(ch0.to_path_buf()),
        };
        ModelServer::start_with(model, "127.0.0.1:0", options)
            .map_err(|e| format!("cannot start the {name} server: {e}"))
    };
    let connects =
        start().and_then(|s| measure::connects_per_second(s.local_addr(), plan.connect_for));
    say!(
        "  {name:<12} connects/s: {}",
        show(&connects, |c| format!("{c:.0}"))
    );
    let echo = start().and_then(|mut s| {
        let msgs = measure::echo_per_second(s.local_addr(), plan.clients, plan.round_trips)?;
        let stats = s.stop();
        Ok((msgs, stats.threads_started, stats.children.len()))
    });
    say!(
        "  {name:<12} echo msgs/s: {}",
        show(&echo, |(m, t, p)| format!(
            "{m:.0} ({t} threads, {p} processes)"
        ))
    );
    let latency = start().and_then(|s| measure::latency_beside_slow(&s, plan.latency_trips));
    say!(
        "  {name:<12} beside a slow client: {}",
        show(&latency, latency_cell)
    );
    let memory = start().and_then(|s| measure::memory_per_client(s, plan.idle_for_memory));
    say!(
        "  {name:<12} memory: {}",
        show(&memory, |m| format!(
            "{:.1} KiB per idle client ({} connected, {} taken in by the server)",
            m.bytes_per_client / 1024.0,
            m.connected,
            m.accepted
        ))
    );
    let cap = match model {
        Model::ThreadPerClient | Model::ProcessPerClient => plan.cap_per_client,
        _ => plan.cap_shared,
    };
    let mut steps: Vec<usize> = plan.steps.iter().copied().filter(|&s| s <= cap).collect();
    if let Model::ThreadPool { workers } = model {
        // Where a pool should stop: one idle client fewer than workers, and as many.
        steps.extend([workers - 1, workers].into_iter().filter(|&s| s >= 1));
        steps.sort_unstable();
        steps.dedup();
    }
    let capacity = start().map(|s| measure::capacity(s, &steps));
    say!(
        "  {name:<12} holds: {}{}",
        show(&capacity, |c| holds_cell(model, c)),
        match &capacity {
            Ok(Capacity {
                failed: Some((_, why)),
                ..
            }) => format!(": {why}"),
            _ => String::new(),
        }
    );
    Row {
        model,
        name,
        connects,
        echo,
        latency,
        memory,
        capacity,
    }
}

fn show<T>(r: &Result<T, String>, f: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => f(v),
        Err(e) => format!("error: {e}"),
    }
}

fn latency_cell(l: &Latency) -> String {
    match l {
        Latency::Measured { p50, p99 } => {
            format!("{:.0}/{:.0} µs", micros(*p50), micros(*p99))
        }
        Latency::Blocked { at, why } => format!("blocked (round trip {at}: {why})"),
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// `10 000 (cap)`, or `7 held, failed at 8`, with what the model's design says about a
/// failure where the design predicts it: an iterative server's one thread, a pool's
/// workers, each taken by an idle client.
fn holds_cell(model: Model, c: &Capacity) -> String {
    let Some((at, _)) = &c.failed else {
        return format!("{} (cap)", thousands(c.held));
    };
    let design = match model {
        Model::Iterative if *at == 1 => " (the idle client holds the only thread)".to_string(),
        Model::ThreadPool { workers } if *at == workers => {
            format!(" ({workers} idle clients hold the {workers} workers)")
        }
        _ => String::new(),
    };
    format!(
        "{} held, failed at {}{design}",
        thousands(c.held),
        thousands(*at)
    )
}

/// `10000` as `10 000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(d);
    }
    out
}

/// The table: one row per model, the capacity's reason after it.
fn print_table(rows: &[Row], clients: usize) {
    say!(
        "{:<12} {:>10} {:>12} {:>18} {:>9} {:>11}  holds (new client echoed within {:?})",
        "model",
        "connects/s",
        "echo msgs/s",
        "slow p50/p99",
        "thr+proc",
        "KiB/client",
        ECHO_WITHIN
    );
    for r in rows {
        let connects = r
            .connects
            .as_ref()
            .map_or("error".into(), |c| format!("{c:.0}"));
        let echo = r
            .echo
            .as_ref()
            .map_or("error".into(), |(m, _, _)| format!("{m:.0}"));
        let used = r
            .echo
            .as_ref()
            .map_or("error".into(), |(_, t, p)| format!("{t} + {p}"));
        let slow = match &r.latency {
            Ok(Latency::Measured { p50, p99 }) => {
                format!("{:.0}/{:.0} µs", micros(*p50), micros(*p99))
            }
            Ok(Latency::Blocked { .. }) => "blocked".into(),
            Err(_) => "error".into(),
        };
        let memory = r.memory.as_ref().map_or("error".into(), |m| {
            format!("{:.2}", m.bytes_per_client / 1024.0)
        });
        let holds = show(&r.capacity, |c| holds_cell(r.model, c));
        say!(
            "{:<12} {connects:>10} {echo:>12} {slow:>18} {used:>9} {memory:>11}  {holds}",
            r.name
        );
    }
    say!();
    say!("thr+proc: for the {clients} clients of the echo test; KiB/client: per connected idle client");
    for r in rows {
        if let Ok(Latency::Blocked { at, why }) = &r.latency {
            say!(
                "{}: beside the slow client, round trip {at} got {why}",
                r.name
            );
        }
        if let Ok(m) = &r.memory {
            if let Some(short) = &m.short {
                say!("{}: the memory test's idle clients: {short}", r.name);
            }
            if m.accepted < m.connected {
                say!(
                    "{}: of {} idle clients the server took in {}; the others waited in the kernel's queues",
                    r.name,
                    m.connected,
                    m.accepted
                );
            }
        }
        if let Ok(Capacity {
            failed: Some((at, why)),
            ..
        }) = &r.capacity
        {
            let clients = if *at == 1 { "client" } else { "clients" };
            say!("{}: with {} idle {clients}, {why}", r.name, thousands(*at));
        }
        for (what, e) in [
            ("connects", r.connects.as_ref().err()),
            ("echo", r.echo.as_ref().err()),
            ("slow client", r.latency.as_ref().err()),
            ("memory", r.memory.as_ref().err()),
            ("capacity", r.capacity.as_ref().err()),
        ] {
            if let Some(e) = e {
                say!("{}: {what}: {e}", r.name);
            }
        }
    }
}
