//! `tcpclient`: a small interactive client for the framings `nc` cannot speak. Each line
//! typed is sent as one message; each message received is printed on its own line.
//! `cargo run --bin tcpclient -- --help` lists the flags; the logic is in
//! `tcpserverlib::tcpclient`.

use std::io::{self, Write};
use std::process::ExitCode;

use tcpserverlib::printer;
use tcpserverlib::tcpclient::{self, ArgsError};

fn main() -> ExitCode {
    let code = match tcpclient::parse_args(std::env::args().skip(1)) {
        Err(ArgsError::Help) => {
            printer::say(tcpclient::USAGE);
            ExitCode::SUCCESS
        }
        Err(ArgsError::Bad(problem)) => {
            let _ = writeln!(io::stderr(), "tcpclient: {problem}\n{}", tcpclient::USAGE);
            ExitCode::from(2)
        }
        Ok(options) => match tcpclient::run(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                printer::flush();
                let _ = writeln!(io::stderr(), "tcpclient: {e}");
                ExitCode::FAILURE
            }
        },
    };
    // Every message printed so far reaches stdout before the process ends.
    printer::flush();
    code
}
