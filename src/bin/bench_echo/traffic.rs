//! What every scenario's clients share: connecting with timeouts, the messages and how an
//! echo is checked, one request/response round trip, and the round's clock.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A client with messages in flight that hears nothing for this long calls the round stuck.
pub const STALL: Duration = Duration::from_secs(5);
/// One blocking write waits at most this long, so a writer notices its stop flag.
pub const WRITE_SLICE: Duration = Duration::from_millis(200);

/// A blocking client socket: reads time out after [`STALL`], writes after [`WRITE_SLICE`],
/// Nagle off (requests are small and latency is what is measured).
pub fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream =
        TcpStream::connect_timeout(&addr, STALL).map_err(|e| format!("connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(STALL))
        .and_then(|_| stream.set_write_timeout(Some(WRITE_SLICE)))
        .and_then(|_| stream.set_nodelay(true))
        .map_err(|e| format!("socket options: {e}"))?;
    Ok(stream)
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The payload of message `seq` of client `id`: the sequence number and the client first
/// (so a wrong echo says whose and which message it was), then bytes that depend on both.
pub fn fill_payload(id: u32, seq: u64, out: &mut [u8]) {
    let mut stamp = [0u8; 12];
    stamp[..8].copy_from_slice(&seq.to_le_bytes());
    stamp[8..].copy_from_slice(&id.to_le_bytes());
    for (i, b) in out.iter_mut().enumerate() {
        *b = match stamp.get(i) {
            Some(&s) => s,
            None => (seq as u8).wrapping_mul(31) ^ (id as u8) ^ (i as u8),
        };
    }
}

/// Prefixes `payload` with the 2-byte big-endian total length (header included).
pub fn length_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = ((payload.len() + 2) as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// Says which message an echo that differs from the request was, from its stamp.
pub fn describe_mismatch(id: u32, seq: u64, got: &[u8], header: usize) -> String {
    let stamp = got.get(header..header + 12).map(|s| {
        let seq = u64::from_le_bytes(s[..8].try_into().unwrap_or_default());
        let id = u32::from_le_bytes(s[8..].try_into().unwrap_or_default());
        (seq, id)
    });
    match stamp {
        Some((s, i)) => format!(
            "client {id}: echo of message {seq} differs (it carries message {s} of client {i})"
        ),
        None => format!("client {id}: echo of message {seq} differs"),
    }
}

/// Sends `request`, reads its echo into `echo` and checks it; returns the round trip time.
pub fn round_trip(
    s: &mut TcpStream,
    request: &[u8],
    echo: &mut Vec<u8>,
    what: &str,
) -> Result<Duration, String> {
    echo.resize(request.len(), 0);
    let start = Instant::now();
    s.write_all(request)
        .map_err(|e| format!("{what}: send failed: {e}"))?;
    s.read_exact(echo).map_err(|e| {
        if is_timeout(&e) {
            format!("{what}: stuck, no echo within {STALL:?}")
        } else {
            format!("{what}: {e}")
        }
    })?;
    let rtt = start.elapsed();
    if echo != request {
        return Err(format!("{what}: the echo differs from the request"));
    }
    Ok(rtt)
}

/// A round: a warm-up (connections busy, nothing counted), then the measured window.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub warm_end: Instant,
    pub end: Instant,
}

impl Clock {
    /// Starts now: a warm-up of a quarter of the round, at most 0.5 s, then `seconds`.
    pub fn start(seconds: f64) -> Clock {
        let warm_end = Instant::now() + warm_up(seconds);
        Clock {
            warm_end,
            end: warm_end + Duration::from_secs_f64(seconds),
        }
    }

    pub fn window(&self) -> Duration {
        self.end - self.warm_end
    }

    /// True when `t` falls in the measured window.
    pub fn counts(&self, t: Instant) -> bool {
        t >= self.warm_end && t < self.end
    }
}

pub fn warm_up(seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds / 4.0).min(0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload starts with its stamp, and a wrong echo is described by it.
    #[test]
    fn payloads_are_stamped() {
        let mut p = vec![0; 64];
        fill_payload(7, 300, &mut p);
        assert_eq!(&p[..8], &300u64.to_le_bytes());
        let frame = length_frame(&p);
        assert_eq!(&frame[..2], &[0, 66]);
        let why = describe_mismatch(7, 299, &frame, 2);
        assert!(why.contains("message 300 of client 7"), "{why}");
        let mut short = vec![0; 3];
        fill_payload(1, 2, &mut short);
        assert_eq!(short, [2, 0, 0]);
    }
}
