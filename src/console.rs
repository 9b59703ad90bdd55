//! What a program's main thread waits on while its servers run: a line typed on stdin, the
//! end of stdin, or a stop signal (Ctrl-C, SIGTERM). The `tcpserver` shell and every chapter
//! binary's `--listen` mode use it.
//!
//! Reading stdin blocks, and so does waiting for a signal; one thread cannot do both. So each
//! has its own small thread, and both feed one channel that the main thread reads: whichever
//! comes first is acted on, and a Ctrl-C reaches a program that is waiting for a command as
//! surely as one that reads nothing. The signal itself only writes a byte to a self-pipe
//! ([`sys::stop_signals`]); everything a stop involves (stopping servers, printing, flushing)
//! happens on the main thread, as ordinary code.
//!
//! A second signal while the first is being handled ends the process at once (status 130),
//! so a program whose stop is stuck (for example on a stdout nobody reads) can still be ended
//! from the keyboard.

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use crate::sys;

/// One thing that happened, for the main thread to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A line typed on stdin, without its line end.
    Line(String),
    /// Stdin closed (Ctrl-D, or the end of a piped script) or could not be read.
    Eof,
    /// SIGINT or SIGTERM arrived: stop gracefully.
    Signal,
}

// ANCHOR: console
/// The main thread's source of [`Input`]: stdin lines (if asked for) and stop signals.
pub struct Console {
    /// Fed by the stdin thread and the signal thread.
    inputs: Receiver<Input>,
}

impl Console {
    /// Starts watching for stop signals and, when `read_stdin`, reading stdin. A program
    /// that serves without commands passes `false`: its stdin may be closed from the start,
    /// and that must not stop it.
    pub fn start(read_stdin: bool) -> Console {
        let (tx, inputs) = mpsc::channel();
        watch_signals(tx.clone());
        if read_stdin {
            let spawned = thread::Builder::new()
                .name("stdin".into())
                .spawn(move || read_lines(tx));
            if let Err(e) = spawned {
                let _ = writeln!(io::stderr(), "cannot start the stdin thread: {e}");
            }
        }
        Console { inputs }
    }

    /// Waits for the next input. When nothing is left to wait for (no stdin thread and no
    /// signal watcher), reports [`Input::Eof`].
    pub fn next(&self) -> Input {
        self.inputs.recv().unwrap_or(Input::Eof)
    }
}
// ANCHOR_END: console

/// Sends each stdin line, then [`Input::Eof`].
fn read_lines(tx: Sender<Input>) {
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if tx.send(Input::Line(line)).is_err() {
            return;
        }
    }
    let _ = tx.send(Input::Eof);
}

/// Starts the thread that turns stop signals into [`Input::Signal`]. Without it (the self-pipe
/// could not be made), a signal kills the process as it would without this module.
fn watch_signals(tx: Sender<Input>) {
    let mut signals = match sys::stop_signals() {
        Ok(stream) => stream,
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "cannot catch Ctrl-C ({e}); it will end the program without a clean stop"
            );
            return;
        }
    };
    let spawned = thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            let mut seen = 0;
            loop {
                match signals.read(&mut byte) {
                    Ok(0) => return,
                    Ok(_) => {
                        seen += 1;
                        if seen > 1 {
                            let _ = writeln!(io::stderr(), "second stop signal: leaving at once");
                            std::process::exit(130);
                        }
                        // The main thread may already be gone from its loop; then there is
                        // nobody to stop.
                        let _ = tx.send(Input::Signal);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
    if let Err(e) = spawned {
        let _ = writeln!(io::stderr(), "cannot start the signal thread: {e}");
    }
}
