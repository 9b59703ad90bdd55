//! The one writer of standard output for the crate's own programs (the `tcpserver` shell, the
//! chapter binaries, the benchmarks): a printer thread fed by a bounded queue.
//!
//! Why a thread: a server's service threads (the CAS, the DRS) call the application, and the
//! demo applications print what happens. Printed directly, a line costs a `write(2)` on the
//! terminal or pipe behind stdout, and that write blocks when the pipe is full (nobody reads
//! it) or fails when the reader has gone. A DRS blocked there stops serving every client; a
//! DRS that panics on the failed write leaves the process running without it. So nothing but
//! this thread writes to stdout, and the rest of the program only queues lines:
//!
//! - [`event`] never blocks: when the queue is full the line is dropped and counted, and the
//!   next line printed is preceded by a note saying how many were lost. Callbacks use it.
//! - [`say`] waits for room in the queue, so narration from the main thread is never lost.
//! - [`flush`] waits until everything queued before it has been written, so a program's
//!   output is complete before it exits.
//!
//! One queue keeps narration and events in the order they were queued. A write error on stdout
//! (a closed pipe, a full disk, …) ends printing: later lines are dropped silently, and no
//! thread panics. The library itself never prints; this module serves its applications.
//!
//! A production server logs instead (`tracing` with a non-blocking appender does exactly
//! this: a bounded channel, a worker thread, and a count of what was dropped).

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::thread;

/// How many lines may wait for the printer. Enough to absorb a burst of events while a
/// terminal scrolls; small enough that a stalled stdout costs a bounded amount of memory.
pub const QUEUE_LINES: usize = 4096;

/// What the printer thread is asked to do.
enum Item {
    /// Text to write as it is (a line already carries its `\n`; a prompt does not).
    Text(String),
    /// Everything queued before this has been written: say so on the channel.
    Flushed(SyncSender<()>),
}

/// The queue into the printer thread, and what was lost on the way.
struct Printer {
    /// Bounded: a full queue makes [`event`] drop its line instead of waiting.
    queue: SyncSender<Item>,
    /// Lines [`event`] dropped since the printer last said so.
    dropped: AtomicU64,
}

// ANCHOR: printer
/// The process's printer, started by the first line printed.
fn printer() -> &'static Printer {
    static PRINTER: OnceLock<Printer> = OnceLock::new();
    PRINTER.get_or_init(|| {
        let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
        let spawned = thread::Builder::new()
            .name("printer".into())
            .spawn(move || print_lines(lines));
        if let Err(e) = spawned {
            // Without a thread nothing is printed: the receiver is gone, so every send fails
            // at once and no caller waits.
            let _ = writeln!(io::stderr(), "cannot start the printer thread: {e}");
        }
        Printer {
            queue,
            dropped: AtomicU64::new(0),
        }
    })
}

/// The printer thread: writes each item, flushes stdout whenever the queue runs empty, and
/// after the first write error only consumes (so that no sender ever waits on a dead reader).
fn print_lines(lines: Receiver<Item>) {
    let stdout = io::stdout();
    let mut broken = false;
    while let Ok(first) = lines.recv() {
        let mut out = stdout.lock();
        let mut item = Some(first);
        while let Some(next) = item {
            match next {
                Item::Text(text) => {
                    if !broken {
                        broken = write_text(&mut out, &text).is_err();
                    }
                }
                Item::Flushed(done) => {
                    if !broken {
                        broken = out.flush().is_err();
                    }
                    let _ = done.send(());
                }
            }
            item = lines.try_recv().ok();
        }
        if !broken {
            broken = out.flush().is_err();
        }
    }
}

/// Writes one item, preceded by the count of lines lost since the last one written.
fn write_text(out: &mut impl Write, text: &str) -> io::Result<()> {
    let dropped = printer().dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        writeln!(
            out,
            "({} dropped: the terminal could not keep up)",
            crate::wording::plural(dropped, "line")
        )?;
    }
    out.write_all(text.as_bytes())
}
// ANCHOR_END: printer

/// Queues one line from a server callback (or any thread that must not wait). Never blocks:
/// when the queue is full the line is dropped, and counted.
pub fn event(line: impl Into<String>) {
    let printer = printer();
    let mut line = line.into();
    line.push('\n');
    match printer.queue.try_send(Item::Text(line)) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            printer.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Queues one line of narration, waiting for room in the queue: never dropped. Only for
/// threads that may wait on stdout (the main thread of a program), never from a callback.
pub fn say(line: impl Into<String>) {
    let mut line = line.into();
    line.push('\n');
    let _ = printer().queue.send(Item::Text(line));
}

/// Queues text without a line end (a prompt), waiting for room like [`say`]; it is on the
/// screen once the printer has nothing more to write.
pub fn prompt(text: impl Into<String>) {
    let _ = printer().queue.send(Item::Text(text.into()));
}

/// Waits until every line queued before this call has been written to stdout (or dropped,
/// after a write error). Call it before the process exits, or its last lines may be lost.
///
/// It waits as long as stdout does: a pipe that nobody reads keeps it waiting.
pub fn flush() {
    let (done, flushed) = mpsc::sync_channel(1);
    if printer().queue.send(Item::Flushed(done)).is_ok() {
        let _ = flushed.recv();
    }
}

/// `println!` through the printer: formats its arguments and queues them with [`say`].
#[macro_export]
macro_rules! say {
    () => {
        $crate::printer::say(::std::string::String::new())
    };
    ($($arg:tt)*) => {
        $crate::printer::say(::std::format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The note about dropped lines comes before the next line, and only once.
    #[test]
    fn dropped_lines_are_counted_before_the_next_line() {
        let mut out = Vec::new();
        printer().dropped.store(3, Ordering::Relaxed);
        write_text(&mut out, "next\n").unwrap();
        write_text(&mut out, "after\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(3 lines dropped: the terminal could not keep up)\nnext\nafter\n"
        );
    }
}
