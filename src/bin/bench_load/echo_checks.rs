//! Scenarios `slow-reader` and `frames`: one echo connection whose reader is slow at first.
//!
//! The writer sends as fast as the server takes bytes; the reader regenerates the same seeded
//! data and checks what comes back, so any byte or frame the server drops, reorders or
//! corrupts while the reader lags is caught, at its offset.

use std::io::{self, BufReader, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::args::Options;
use crate::process::Server;
use crate::traffic::*;
use crate::Verdict;

pub fn slow_reader(o: &Options) -> Result<Verdict, String> {
    let total = o.or(o.bytes, 30 << 20, 16 << 20);
    tcpserverlib::say!("== slow-reader: {total} seeded bytes echoed on one connection (framing none); reads of 4 KiB every 1 ms for the first 2 s");
    let server = Server::start(o, "none")?;
    let stream = connect(server.addr)?;
    let (start, deadline) = (Instant::now(), Instant::now() + o.timeout);
    let stop = Arc::new(AtomicBool::new(false));
    let (mut data, mut left) = (ByteStream::new(o.seed), total);
    let clone = stream
        .try_clone()
        .map_err(|e| format!("clone socket: {e}"))?;
    let writer = spawn_writer(clone, Arc::clone(&stop), deadline, move || {
        let mut chunk = vec![0; left.min(64 * 1024) as usize];
        data.fill(&mut chunk);
        left -= chunk.len() as u64;
        chunk
    });
    let (got, mismatch, end) = read_checked(&stream, total, o.seed, deadline);
    let elapsed = start.elapsed();
    // The writer sees `stop` within one write slice; joined before the shutdown, so our own
    // shutdown does not show up as its write error.
    stop.store(true, Ordering::Relaxed);
    let (sent, write_error) = writer.join().map_err(|_| "the writer thread panicked")?;
    let _ = stream.shutdown(Shutdown::Both);
    tcpserverlib::say!(
        "sent           {sent} bytes{}",
        write_error
            .map(|e| format!(" (write error: {e})"))
            .unwrap_or_default()
    );
    tcpserverlib::say!("received       {got} of {total} bytes");
    tcpserverlib::say!(
        "first mismatch {}",
        mismatch.map_or("none".into(), |at| format!("at byte {at}"))
    );
    tcpserverlib::say!("ended          {end}");
    tcpserverlib::say!("elapsed        {elapsed:.2?}");
    tcpserverlib::say!("throughput     {}", rate(got, elapsed));
    drop(server);
    Ok(match mismatch {
        None if got == total => Verdict::Pass,
        _ => Verdict::Fail(format!(
            "{got} of {total} bytes came back, first mismatch {}, {end}",
            mismatch.map_or("none".into(), |at| format!("at byte {at}"))
        )),
    })
}

/// Reads until `total` bytes, comparing with the seeded stream. Returns the bytes read, the
/// offset of the first wrong byte and how the stream ended.
fn read_checked(
    stream: &TcpStream,
    total: u64,
    seed: u64,
    deadline: Instant,
) -> (u64, Option<u64>, String) {
    let mut r = SlowStart {
        inner: stream,
        until: Instant::now() + SLOW_PHASE,
    };
    let (mut expected, mut buf, mut want) = (
        ByteStream::new(seed),
        vec![0; 64 * 1024],
        vec![0; 64 * 1024],
    );
    let (mut got, mut mismatch) = (0u64, None);
    let error = loop {
        if got >= total || Instant::now() >= deadline {
            break None;
        }
        let n = match r.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Some(e),
        };
        expected.fill(&mut want[..n]);
        if mismatch.is_none() {
            mismatch = (0..n).find(|&i| buf[i] != want[i]).map(|i| got + i as u64);
        }
        got += n as u64;
    };
    let end = describe_end(error.as_ref(), got == total, Instant::now() >= deadline);
    (got, mismatch, end)
}

/// Frame `seq`: a 2-byte big-endian header holding the total length, the 4-byte sequence
/// number, then 0..=60 seeded bytes.
fn next_frame(rng: &mut Rng, seq: u32) -> Vec<u8> {
    let filler = (rng.next_u64() % 61) as usize;
    let total = 2 + 4 + filler;
    let mut frame = Vec::with_capacity(total);
    frame.extend_from_slice(&(total as u16).to_be_bytes());
    frame.extend_from_slice(&seq.to_be_bytes());
    frame.extend((0..filler).map(|_| rng.next_u64() as u8));
    frame
}

pub fn frames(o: &Options) -> Result<Verdict, String> {
    let count = o.frames.unwrap_or(300_000).min(u32::MAX as u64) as u32;
    tcpserverlib::say!("== frames: {count} pipelined length-prefixed frames (6..=66 bytes, sequence numbered), echo read slowly for the first 2 s");
    let server = Server::start(o, "length")?;
    let stream = connect(server.addr)?;
    let (start, deadline) = (Instant::now(), Instant::now() + o.timeout);
    let stop = Arc::new(AtomicBool::new(false));
    let (mut rng, mut seq) = (Rng(o.seed), 0u32);
    let clone = stream
        .try_clone()
        .map_err(|e| format!("clone socket: {e}"))?;
    let writer = spawn_writer(clone, Arc::clone(&stop), deadline, move || {
        let mut batch = Vec::with_capacity(64 * 1024 + 66);
        while batch.len() < 64 * 1024 && seq < count {
            batch.extend(next_frame(&mut rng, seq));
            seq += 1;
        }
        batch
    });
    let (in_order, received, problem, end) = read_frames(&stream, count, o.seed, deadline);
    let elapsed = start.elapsed();
    // The writer sees `stop` within one write slice; joined before the shutdown, so our own
    // shutdown does not show up as its write error.
    stop.store(true, Ordering::Relaxed);
    let (sent, write_error) = writer.join().map_err(|_| "the writer thread panicked")?;
    let _ = stream.shutdown(Shutdown::Both);
    tcpserverlib::say!(
        "sent           {sent} bytes{}",
        write_error
            .map(|e| format!(" (write error: {e})"))
            .unwrap_or_default()
    );
    tcpserverlib::say!(
        "received       {received} frames, {in_order} of {count} correct and in order"
    );
    tcpserverlib::say!("first problem  {}", problem.as_deref().unwrap_or("none"));
    tcpserverlib::say!("ended          {end}");
    tcpserverlib::say!(
        "elapsed        {elapsed:.2?} ({:.0} frames/s)",
        received as f64 / elapsed.as_secs_f64()
    );
    drop(server);
    Ok(match problem {
        None if in_order == count as u64 => Verdict::Pass,
        _ => Verdict::Fail(format!(
            "{in_order} of {count} frames came back in order; {}; {end}",
            problem.as_deref().unwrap_or("no wrong frame")
        )),
    })
}

/// Reads echoed frames and checks each against the regenerated one. After the first wrong
/// frame it only counts frames. Returns (correct in order, received, first problem, end).
fn read_frames(
    stream: &TcpStream,
    count: u32,
    seed: u64,
    deadline: Instant,
) -> (u64, u64, Option<String>, String) {
    let slow = SlowStart {
        inner: stream,
        until: Instant::now() + SLOW_PHASE,
    };
    let mut r = BufReader::with_capacity(64 * 1024, slow);
    let mut rng = Rng(seed);
    let (mut in_order, mut received, mut problem) = (0u64, 0u64, None);
    let error = loop {
        if received >= count as u64 || Instant::now() >= deadline {
            break None;
        }
        let mut header = [0u8; 2];
        if let Err(e) = r.read_exact(&mut header) {
            break Some(e);
        }
        let len = u16::from_be_bytes(header) as usize;
        if !(6..=66).contains(&len) {
            problem.get_or_insert(format!(
                "frame {received}: header says {len} bytes, expected 6..=66"
            ));
            break None;
        }
        let mut frame = header.to_vec();
        frame.resize(len, 0);
        if let Err(e) = r.read_exact(&mut frame[2..]) {
            break Some(e);
        }
        if problem.is_none() {
            let want = next_frame(&mut rng, received as u32);
            if frame == want {
                in_order += 1;
            } else {
                let got_seq = u32::from_be_bytes([frame[2], frame[3], frame[4], frame[5]]);
                problem = Some(format!("frame {received}: expected sequence {received} ({} bytes), got sequence {got_seq} ({len} bytes)", want.len()));
            }
        }
        received += 1;
    };
    let end = describe_end(
        error.as_ref(),
        received == count as u64,
        Instant::now() >= deadline,
    );
    (in_order, received, problem, end)
}
