//! Scenarios `framed` and `raw`: many clients, each keeping several requests in flight.
//!
//! A few generator threads each drive a share of the clients over non-blocking sockets and
//! one `poll` (the crate's own `PollSet`), so the load generator costs the two cores little
//! next to the server it measures; a thread per client would spend them on switching.
//!
//! Each client keeps `inflight` messages outstanding: whenever echoes come back it sends as
//! many new ones. A message is timestamped when it is written and matched, in order, with
//! the next whole unit of echo (a frame for `framed`; for `raw`, whose echo may be cut and
//! joined anywhere, the next `payload` bytes). Every echoed byte is compared with what was
//! sent: one wrong byte fails the variant.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::select::{Interest, PollSet};

use crate::args::Options;
use crate::process::{Server, Variant};
use crate::stats::Figures;
use crate::traffic::*;
use crate::Target;

/// Generator threads: the machine the figures are meant for has two cores, and the server
/// needs them too.
const GENERATOR_THREADS: usize = 2;
/// How often a generator thread wakes without events, to check the clock and stalls.
const TICK: Duration = Duration::from_millis(50);

/// The shape of one message on the wire.
#[derive(Clone, Copy, Debug)]
struct Unit {
    /// 2 with a length header (`framed`), 0 for `raw`.
    header: usize,
    payload: usize,
}

impl Unit {
    fn len(&self) -> usize {
        self.header + self.payload
    }

    /// Appends message `seq` of client `id`.
    fn append(&self, id: u32, seq: u64, out: &mut Vec<u8>) {
        let at = out.len();
        if self.header > 0 {
            out.extend_from_slice(&(self.len() as u16).to_be_bytes());
        }
        out.resize(at + self.len(), 0);
        fill_payload(id, seq, &mut out[at + self.header..]);
    }
}

/// One client connection and its messages in flight.
struct Client {
    stream: TcpStream,
    id: u32,
    /// Sequence number of the next message to send, and of the next echo expected.
    next_send: u64,
    next_echo: u64,
    /// When each message in flight was written, oldest first: echoes come back in order.
    sent_at: VecDeque<Instant>,
    /// Bytes queued for the socket, written from `out_at` on.
    out: Vec<u8>,
    out_at: usize,
    /// Echoed bytes not yet a whole unit.
    partial: Vec<u8>,
    /// When an echo last arrived (or the round began): a client with messages in flight
    /// that hears nothing for [`STALL`] makes the round stuck.
    last_echo: Instant,
}

/// The echo server of one variant and its clients, kept for every round of the scenario.
pub struct Pipelined {
    /// Declared first so it is dropped first: the server closes first and its side, not the
    /// client's, keeps the TIME_WAIT entries.
    _server: Server,
    clients: Vec<Client>,
    unit: Unit,
    inflight: usize,
}

impl Pipelined {
    pub fn setup(o: &Options, variant: &Variant, framed: bool) -> Result<Pipelined, String> {
        let server = Server::start(o, variant, if framed { "length" } else { "none" })?;
        let clients = (0..o.clients)
            .map(|id| open(server.addr, id as u32))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pipelined {
            _server: server,
            clients,
            unit: Unit {
                header: if framed { 2 } else { 0 },
                payload: o.payload,
            },
            inflight: o.inflight,
        })
    }
}

fn open(addr: SocketAddr, id: u32) -> Result<Client, String> {
    let stream = connect(addr)?;
    stream
        .set_nonblocking(true)
        .map_err(|e| format!("non-blocking socket: {e}"))?;
    Ok(Client {
        stream,
        id,
        next_send: 0,
        next_echo: 0,
        sent_at: VecDeque::new(),
        out: Vec::new(),
        out_at: 0,
        partial: Vec::new(),
        last_echo: Instant::now(),
    })
}

impl Target for Pipelined {
    fn round(&mut self, o: &Options) -> Result<Figures, String> {
        let clock = Clock::start(o.seconds);
        let share = self.clients.len().div_ceil(GENERATOR_THREADS);
        let (unit, inflight) = (self.unit, self.inflight);
        let tallies = thread::scope(|s| {
            let threads: Vec<_> = self
                .clients
                .chunks_mut(share)
                .map(|clients| s.spawn(move || drive(clients, unit, inflight, clock)))
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or(Err("a generator thread panicked".into()))
                })
                .collect::<Vec<_>>()
        });
        let (mut count, mut latencies) = (0, Vec::new());
        for tally in tallies {
            let (n, lat) = tally?;
            count += n;
            latencies.extend(lat);
        }
        Ok(Figures::from(count, clock.window(), latencies))
    }
}

/// Runs `clients` through one round: sends until the clock's end, then waits for every echo
/// still owed, so the next round starts on quiet connections. Returns the echoes counted in
/// the window and their round trips in nanoseconds.
fn drive(
    clients: &mut [Client],
    unit: Unit,
    inflight: usize,
    clock: Clock,
) -> Result<(u64, Vec<u64>), String> {
    let (mut count, mut latencies) = (0u64, Vec::new());
    let mut set = PollSet::new();
    let (mut buf, mut want) = (vec![0u8; 64 * 1024], vec![0u8; unit.len()]);
    let start = Instant::now();
    for c in clients.iter_mut() {
        c.last_echo = start;
        top_up(c, unit, inflight, start);
        flush(c)?;
    }
    loop {
        let now = Instant::now();
        let sending = now < clock.end;
        if !sending && clients.iter().all(|c| c.sent_at.is_empty()) {
            return Ok((count, latencies));
        }
        set.clear();
        for c in clients.iter() {
            if !c.sent_at.is_empty() && now.duration_since(c.last_echo) > STALL {
                return Err(format!(
                    "stuck: client {} heard no echo for {STALL:?} with {} messages in flight",
                    c.id,
                    c.sent_at.len()
                ));
            }
            let interest = if c.out_at < c.out.len() {
                Interest::READ_WRITE
            } else {
                Interest::READ
            };
            set.add(&c.stream, interest);
        }
        set.wait(Some(TICK)).map_err(|e| format!("poll: {e}"))?;
        for (i, c) in clients.iter_mut().enumerate() {
            let ready = set.readiness(i);
            if ready.readable || ready.hangup {
                let n = match (&c.stream).read(&mut buf) {
                    Ok(0) => {
                        return Err(format!(
                        "client {}: the server closed the connection with {} messages in flight",
                        c.id,
                        c.sent_at.len()
                    ))
                    }
                    Ok(n) => n,
                    Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => 0,
                    Err(e) => return Err(format!("client {}: read: {e}", c.id)),
                };
                if n > 0 {
                    let at = Instant::now();
                    c.last_echo = at;
                    c.partial.extend_from_slice(&buf[..n]);
                    let whole = c.partial.len() / unit.len() * unit.len();
                    for got in c.partial[..whole].chunks_exact(unit.len()) {
                        let sent = c.sent_at.pop_front().ok_or(format!(
                            "client {}: more echo came back than was sent",
                            c.id
                        ))?;
                        want.clear();
                        unit.append(c.id, c.next_echo, &mut want);
                        if got != want.as_slice() {
                            return Err(describe_mismatch(c.id, c.next_echo, got, unit.header));
                        }
                        c.next_echo += 1;
                        if clock.counts(at) {
                            count += 1;
                            latencies.push(at.duration_since(sent).as_nanos() as u64);
                        }
                    }
                    c.partial.drain(..whole);
                    if sending {
                        top_up(c, unit, inflight, at);
                    }
                }
            }
            if ready.writable || ready.readable {
                flush(c)?;
            }
        }
    }
}

/// Queues new messages until `inflight` are outstanding, stamped `now` (they are written
/// at once).
fn top_up(c: &mut Client, unit: Unit, inflight: usize, now: Instant) {
    while c.sent_at.len() < inflight {
        unit.append(c.id, c.next_send, &mut c.out);
        c.next_send += 1;
        c.sent_at.push_back(now);
    }
}

/// Writes what is queued until the socket would block.
fn flush(c: &mut Client) -> Result<(), String> {
    while c.out_at < c.out.len() {
        match (&c.stream).write(&c.out[c.out_at..]) {
            Ok(0) => return Err(format!("client {}: the socket took no bytes", c.id)),
            Ok(n) => c.out_at += n,
            Err(e) if is_timeout(&e) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("client {}: write: {e}", c.id)),
        }
    }
    if c.out_at == c.out.len() {
        c.out.clear();
        c.out_at = 0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A framed unit carries its total length; a raw unit is the payload alone.
    #[test]
    fn units_are_laid_out() {
        let mut out = Vec::new();
        let framed = Unit {
            header: 2,
            payload: 64,
        };
        framed.append(3, 9, &mut out);
        assert_eq!((out.len(), &out[..2]), (66, &[0u8, 66][..]));
        assert_eq!(&out[2..10], &9u64.to_le_bytes());
        let raw = Unit {
            header: 0,
            payload: 64,
        };
        raw.append(3, 9, &mut out);
        assert_eq!(&out[66..], &out[2..66]);
    }
}
