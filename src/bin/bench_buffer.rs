//! `cargo run --release --bin bench_buffer` — throughput of the chapter 5 circular buffer.
//!
//! Pushes the same bytes (1 GiB by default) through three queues, in chunks of a few sizes
//! (64 B: small messages; 1500 B: one Ethernet MTU; 16 KiB: a large `recv`), each chunk
//! written then read back out:
//! - `CircularBuffer` (`write` + `read`), the buffer every client owns;
//! - a plain `copy_from_slice` into a buffer and back out, the floor: two memcpys per chunk;
//! - std's `VecDeque<u8>` (`extend` + `drain`), what a production server might use instead.
//!
//! The buffer is kept partly full (a quarter of its capacity is left unread at all times) so
//! that front and rear keep wrapping round, as they do under real traffic. Run time is bounded:
//! each measurement stops early after 2 s and reports what it did.
//!
//! Options: `--bytes N` (total per measurement, default 1 GiB), `--capacity N` (buffer size,
//! default 64 KiB).

use std::collections::VecDeque;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};
use tcpserverlib::circular_buffer::CircularBuffer;
use tcpserverlib::say;

/// Longest one measurement may run; keeps the whole benchmark under about 20 s.
const TIME_LIMIT: Duration = Duration::from_secs(2);

/// Parses `--name N` from the command line, or returns `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => match args.get(i + 1).and_then(|v| v.parse().ok()) {
            Some(v) => v,
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{name} needs a number of bytes, e.g. {name} 1048576"
                );
                tcpserverlib::printer::flush();
                std::process::exit(2);
            }
        },
        None => default,
    }
}

/// Runs `step` (which moves one chunk through and returns bytes moved) until `total` bytes or
/// the time limit; returns MB/s (10^6 bytes per second).
fn measure(total: usize, mut step: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut moved = 0usize;
    while moved < total {
        // Check the clock only every so often: Instant::now is not free next to a 64 B copy.
        for _ in 0..1024 {
            moved += step();
        }
        if start.elapsed() > TIME_LIMIT {
            break;
        }
    }
    moved as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn circular(total: usize, capacity: usize, chunk: usize) -> f64 {
    let data = vec![0xa5u8; chunk];
    let mut out = vec![0u8; chunk];
    let mut b = CircularBuffer::new(capacity);
    b.write(&vec![0u8; capacity / 4]);
    measure(total, || {
        let w = b.write(black_box(&data));
        let r = b.read(black_box(&mut out));
        black_box(&out);
        debug_assert_eq!(w, r);
        r
    })
}

fn memcpy(total: usize, capacity: usize, chunk: usize) -> f64 {
    let data = vec![0xa5u8; chunk];
    let mut out = vec![0u8; chunk];
    let mut storage = vec![0u8; capacity];
    let mut at = 0;
    measure(total, || {
        if at + chunk > capacity {
            at = 0;
        }
        storage[at..at + chunk].copy_from_slice(black_box(&data));
        out.copy_from_slice(black_box(&storage[at..at + chunk]));
        black_box(&out);
        at += chunk;
        chunk
    })
}

fn vecdeque(total: usize, capacity: usize, chunk: usize) -> f64 {
    let data = vec![0xa5u8; chunk];
    let mut out = vec![0u8; chunk];
    let mut q: VecDeque<u8> = VecDeque::with_capacity(capacity);
    q.extend(std::iter::repeat_n(0u8, capacity / 4));
    measure(total, || {
        q.extend(black_box(&data).iter());
        // Copy out through the two slices, then drop the drained range without iterating:
        // the fast way to use a VecDeque as a byte queue (a byte-by-byte drain is ~20x slower).
        let (head, tail) = q.as_slices();
        let first = chunk.min(head.len());
        out[..first].copy_from_slice(&head[..first]);
        out[first..].copy_from_slice(&tail[..chunk - first]);
        q.drain(..chunk);
        black_box(&out);
        chunk
    })
}

fn main() {
    run();
    // Every line queued for stdout is written before the process ends.
    tcpserverlib::printer::flush();
}

fn run() {
    let total = arg("--bytes", 1 << 30);
    let capacity = arg("--capacity", 64 << 10);
    let chunks = [64usize, 1500, 16 << 10];
    if let Some(&too_big) = chunks.iter().find(|&&c| c > capacity - capacity / 4) {
        let _ = writeln!(
            std::io::stderr(),
            "--capacity {capacity} is too small for {too_big}-byte chunks; use at least {}",
            too_big * 2
        );
        tcpserverlib::printer::flush();
        std::process::exit(2);
    }
    let command: Vec<String> = std::env::args().collect();
    say!("$ {}", command.join(" "));
    say!(
        "{} MiB per measurement (at most {} s each), buffer capacity {} bytes, {}",
        total >> 20,
        TIME_LIMIT.as_secs(),
        capacity,
        if cfg!(debug_assertions) {
            "DEBUG build: figures are meaningless, use --release"
        } else {
            "release build"
        }
    );
    say!();
    say!("| chunk    | CircularBuffer write+read | memcpy in+out | VecDeque extend+drain |");
    say!("| -------- | ------------------------- | ------------- | --------------------- |");
    for chunk in chunks {
        let c = circular(total, capacity, chunk);
        let m = memcpy(total, capacity, chunk);
        let v = vecdeque(total, capacity, chunk);
        say!(
            "| {:>6} B | {:>20.0} MB/s | {:>8.0} MB/s | {:>16.0} MB/s |",
            chunk,
            c,
            m,
            v
        );
    }
}
