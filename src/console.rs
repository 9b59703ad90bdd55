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

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use crate::sys;

/// One thing that happened, for the main thread to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A line typed on stdin, without its line end.
    Line(String),
    /// A line that could not be taken (not UTF-8, or too long): skipped, and the reading
    /// goes on.
    Bad(BadLine),
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

/// The longest line the console takes, in bytes: room for any command, and for a message of
/// the largest size a 2-byte length header can announce.
pub const MAX_LINE: usize = 64 * 1024;

/// A line of input that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadLine {
    /// The line (counted from 1) is not valid UTF-8.
    NotUtf8 { line: u64 },
    /// The line is longer than [`MAX_LINE`]; `bytes` is its length.
    TooLong { line: u64, bytes: u64 },
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadLine::NotUtf8 { line } => write!(
                f,
                "input line {line} is not valid UTF-8 text; skipped (expected a command in UTF-8)"
            ),
            BadLine::TooLong { line, bytes } => write!(
                f,
                "input line {line} is {bytes} bytes long; a line may have at most {MAX_LINE}; skipped"
            ),
        }
    }
}

/// One line read by [`read_bounded_line`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes, without the `\n`.
    Bytes(Vec<u8>),
    /// The line was longer than the bound: its length. Only the bound was ever held.
    TooLong(u64),
}

// ANCHOR: bounded_line
/// Reads one line of at most `max` bytes (its `\n` not counted, not returned); `None` at the
/// end of input. A longer line is read to its end and dropped as it goes, so memory stays
/// within `max` whatever the input.
///
/// # Errors
/// The reader's error (an interrupted read is retried).
pub fn read_bounded_line(reader: &mut impl BufRead, max: usize) -> io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut total: u64 = 0;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let end = chunk.iter().position(|&b| b == b'\n');
        let part = &chunk[..end.unwrap_or(chunk.len())];
        total += part.len() as u64;
        if total <= max as u64 {
            line.extend_from_slice(part);
        } else {
            line = Vec::new();
        }
        let used = end.map_or(chunk.len(), |at| at + 1);
        reader.consume(used);
        if end.is_some() {
            break;
        }
    }
    if total > max as u64 {
        return Ok(Some(Line::TooLong(total)));
    }
    Ok(Some(Line::Bytes(line)))
}
// ANCHOR_END: bounded_line

/// Sends each stdin line (or why it was skipped), then [`Input::Eof`].
fn read_lines(tx: Sender<Input>) {
    let stdin = io::stdin();
    let mut reader = stdin.lock();
    // Bounded by the input itself: every turn consumes at least one byte or ends.
    for number in 1u64.. {
        let input = match read_bounded_line(&mut reader, MAX_LINE) {
            Ok(None) | Err(_) => break,
            Ok(Some(Line::TooLong(bytes))) => Input::Bad(BadLine::TooLong {
                line: number,
                bytes,
            }),
            Ok(Some(Line::Bytes(bytes))) => match String::from_utf8(bytes) {
                Ok(text) => Input::Line(text),
                Err(_) => Input::Bad(BadLine::NotUtf8 { line: number }),
            },
        };
        if tx.send(input).is_err() {
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
