//! Scenario `flood`: one client floods the server with header-only frames while a watcher
//! does request/response beside it.
//!
//! A fair server serves every client a turn, so the flood is served at the rate the server
//! manages and the watcher's round trips grow a little, not without bound. The flooder
//! writes from one thread and reads (and checks) the echo from another, so it is a reading
//! client and the server's output to it drains.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::Options;
use crate::process::{Server, Variant};
use crate::stats::Figures;
use crate::traffic::*;
use crate::Target;

/// A header-only length frame: total length 2, no payload.
const FLOOD_FRAME: [u8; 2] = [0, 2];
/// The flooder's socket reads wait at most this long, so its reader sees the round end.
const READ_SLICE: Duration = Duration::from_millis(100);

pub struct Flood {
    /// Declared first so it is dropped (killed) first, before the clients close.
    _server: Server,
    flooder: TcpStream,
    watcher: TcpStream,
    payload: usize,
    seq: u64,
}

impl Flood {
    pub fn setup(o: &Options, variant: &Variant) -> Result<Flood, String> {
        let server = Server::start(o, variant, "length")?;
        let flooder = connect(server.addr)?;
        flooder
            .set_read_timeout(Some(READ_SLICE))
            .map_err(|e| format!("socket options: {e}"))?;
        let watcher = connect(server.addr)?;
        Ok(Flood {
            _server: server,
            flooder,
            watcher,
            payload: o.payload,
            seq: 0,
        })
    }
}

impl Target for Flood {
    fn round(&mut self, o: &Options) -> Result<Figures, String> {
        let clock = Clock::start(o.seconds);
        let stop = AtomicBool::new(false);
        let sent_total = AtomicU64::new(u64::MAX);
        let echoed = AtomicU64::new(0);
        let Flood {
            flooder,
            watcher,
            payload,
            seq,
            ..
        } = self;
        let flooder = &*flooder;
        let (watched, written, read) = thread::scope(|s| {
            let writer = s.spawn(|| flood_writer(flooder, &stop));
            let reader = s.spawn(|| flood_reader(flooder, &echoed, &sent_total));
            let watched = watch(watcher, *payload, seq, clock, &echoed);
            stop.store(true, Ordering::Relaxed);
            let written = writer
                .join()
                .unwrap_or(Err((0, "the writer panicked".into())));
            let sent = match &written {
                Ok(n) | Err((n, _)) => *n,
            };
            sent_total.store(sent, Ordering::Relaxed);
            let read = reader.join().unwrap_or(Err("the reader panicked".into()));
            (watched, written, read)
        });
        written.map_err(|(_, e)| e)?;
        read?;
        let (mut figures, flood_frames, flood_time) = watched?;
        figures.watcher_rate = Some(figures.rate);
        figures.rate = flood_frames as f64 / flood_time.as_secs_f64();
        Ok(figures)
    }
}

/// The watcher's round trips over the round. Returns its figures, and the flood frames
/// echoed over the measured window with the window's exact length.
fn watch(
    watcher: &mut TcpStream,
    payload: usize,
    seq: &mut u64,
    clock: Clock,
    echoed: &AtomicU64,
) -> Result<(Figures, u64, Duration), String> {
    let (mut payload, mut echo) = (vec![0; payload], Vec::new());
    let (mut count, mut latencies) = (0u64, Vec::new());
    let mut first: Option<(Instant, u64)> = None;
    let mut now = Instant::now();
    while now < clock.end {
        fill_payload(1, *seq, &mut payload);
        let request = length_frame(&payload);
        let what = format!("the watcher, message {}", *seq);
        let rtt = round_trip(watcher, &request, &mut echo, &what)?;
        *seq += 1;
        now = Instant::now();
        if clock.counts(now) {
            first.get_or_insert((now, echoed.load(Ordering::Relaxed)));
            count += 1;
            latencies.push(rtt.as_nanos() as u64);
        }
    }
    let (t0, e0) = first.unwrap_or((now, echoed.load(Ordering::Relaxed)));
    let (t1, e1) = (Instant::now(), echoed.load(Ordering::Relaxed));
    let frames = (e1 - e0) / FLOOD_FRAME.len() as u64;
    Ok((
        Figures::from(count, clock.window(), latencies),
        frames,
        t1.duration_since(t0).max(Duration::from_millis(1)),
    ))
}

/// Writes header-only frames as fast as the socket takes them until `stop`, always ending
/// on a whole frame. Returns the bytes written (with the error, if one stopped it).
fn flood_writer(mut s: &TcpStream, stop: &AtomicBool) -> Result<u64, (u64, String)> {
    let batch = FLOOD_FRAME.repeat(16 * 1024);
    let (mut at, mut sent) = (0usize, 0u64);
    let mut stopping_since: Option<Instant> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            if sent % FLOOD_FRAME.len() as u64 == 0 {
                return Ok(sent);
            }
            if stopping_since.get_or_insert_with(Instant::now).elapsed() > STALL {
                return Err((
                    sent,
                    format!("stuck: the flooder could not finish its last frame in {STALL:?}"),
                ));
            }
        }
        match s.write(&batch[at..]) {
            Ok(0) => return Err((sent, "flooder: the socket took no bytes".into())),
            Ok(n) => {
                sent += n as u64;
                at = (at + n) % batch.len();
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((sent, format!("flooder: write: {e}"))),
        }
    }
}

/// Reads and checks the flood's echo, counting bytes in `echoed`, until every byte written
/// (`sent_total`, set once the writer stopped) is back.
fn flood_reader(
    mut s: &TcpStream,
    echoed: &AtomicU64,
    sent_total: &AtomicU64,
) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut got, mut last) = (0u64, Instant::now());
    while got < sent_total.load(Ordering::Relaxed) {
        match s.read(&mut buf) {
            Ok(0) => return Err("the server closed the flooder's connection".into()),
            Ok(n) => {
                for (i, &b) in buf[..n].iter().enumerate() {
                    let offset = got + i as u64;
                    if b != FLOOD_FRAME[(offset % 2) as usize] {
                        return Err(format!("flood echo differs at byte {offset}"));
                    }
                }
                got += n as u64;
                echoed.store(got, Ordering::Relaxed);
                last = Instant::now();
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if last.elapsed() > STALL && sent_total.load(Ordering::Relaxed) != u64::MAX {
                    return Err(format!(
                        "stuck: the flood's echo stopped {} bytes short for {STALL:?}",
                        sent_total.load(Ordering::Relaxed) - got
                    ));
                }
            }
            Err(e) => return Err(format!("flooder: read: {e}")),
        }
    }
    Ok(())
}
