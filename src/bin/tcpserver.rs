//! `tcpserver`: the course's `testapp` — one server started at once, and a shell to create,
//! start, inspect and stop more. `cargo run --bin tcpserver -- --help` lists the flags.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use tcpserverlib::cli::{parse_framing, Outcome, Shell, ShellOptions, DEFAULT_ADDR};

// ANCHOR: flags
const FLAGS: &str = "\
usage: tcpserver [--name NAME] [--addr ADDR] [--framing KIND] [--echo] [--quiet] [--no-shell]
  --name NAME      name of the first server (default: default)
  --addr ADDR      its address (default: 127.0.0.1:40000); port 0 picks a free port
  --framing KIND   none | fixed:N | length | length-le | line (default: none)
  --echo           send every received message back to its sender
  --quiet          do not print a line per event
  --no-shell       serve without reading commands from stdin (stop with Ctrl-C)";
// ANCHOR_END: flags

struct Args {
    name: String,
    addr: String,
    shell: bool,
    options: ShellOptions,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        name: "default".into(),
        addr: DEFAULT_ADDR.into(),
        shell: true,
        options: ShellOptions::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--name" => args.name = value("--name")?,
            "--addr" => args.addr = value("--addr")?,
            "--framing" => args.options.config.framing = parse_framing(&value("--framing")?)?,
            "--echo" => args.options.echo = true,
            "--quiet" => args.options.quiet = true,
            "--no-shell" => args.shell = false,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            if problem.is_empty() {
                println!("{FLAGS}");
                return ExitCode::SUCCESS;
            }
            eprintln!("tcpserver: {problem}\n{FLAGS}");
            return ExitCode::from(2);
        }
    };
    let mut shell = Shell::new(args.options);
    let started = shell
        .add(&args.name, &args.addr)
        .and_then(|server| server.start().map_err(|e| e.to_string()).map(|_| server));
    match started {
        Ok(server) => println!(
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
        ),
        Err(e) if args.shell => println!("error: {e}"),
        Err(e) => {
            eprintln!("tcpserver: {e}");
            return ExitCode::FAILURE;
        }
    }
    if !args.shell {
        // Serve until the process is interrupted; the main thread has nothing else to do.
        loop {
            std::thread::park();
        }
    }
    println!("type `help` for the commands, `exit` to leave");
    run_shell(&mut shell);
    shell.stop_all();
    println!("bye");
    ExitCode::SUCCESS
}

fn run_shell(shell: &mut Shell) {
    let stdin = io::stdin();
    // A prompt helps a person at a terminal; in a piped script it would only clutter output.
    let prompt = stdin.is_terminal();
    let mut lines = stdin.lock().lines();
    loop {
        if prompt {
            print!("tcpserver> ");
            let _ = io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else {
            if prompt {
                println!();
            }
            return;
        };
        match shell.execute_line(&line) {
            Outcome::Continue(text) if text.is_empty() => {}
            Outcome::Continue(text) => println!("{}", text.trim_end()),
            Outcome::Exit => return,
        }
    }
}
