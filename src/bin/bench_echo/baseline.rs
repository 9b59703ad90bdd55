//! The baseline: a plain blocking echo server, one thread per connection, std alone.
//!
//! It is what a first server looks like (the Rust book's web server without the pool), and
//! it is the yardstick the tables compare tcpserver against: if a poller loses to this, the
//! event loop costs more than the threads it saves. It runs as its own process, started the
//! same way as tcpserver, so both pay for the same loopback, pipes and scheduler.
//!
//! It is plain but not careless: Nagle is off (tcpserver turns it off too), the listen queue
//! is as long as tcpserver's, and replies are written when no further whole request is
//! already buffered, so pipelined requests cost one write, not one each.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// tcpserver's default listen queue (`Config::backlog`): a burst of idle connects must not
/// lose SYNs here and not there.
const BACKLOG: u32 = 4096;

/// Stack of one connection thread. Its buffers are on the heap; a smaller reservation than
/// std's 2 MiB keeps 10 000 threads' address space modest (resident memory is the pages
/// touched either way).
const STACK: usize = 128 * 1024;

/// `bench_echo --baseline-server --framing none|length`: serves until stdin closes (the
/// bench holds the pipe, so the server dies with it) or the process is killed.
pub fn serve(framing: &str) -> Result<(), String> {
    let frames = match framing {
        "length" => true,
        "none" => false,
        other => {
            return Err(format!(
                "--baseline-server --framing {other:?}: expected none or length"
            ))
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    tcpserverlib::sys::set_listen_backlog(&listener, BACKLOG)
        .map_err(|e| format!("listen backlog: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tcpserverlib::say!(
        "baseline echo server listening on {addr}, framing: {framing}; one thread per connection"
    );
    tcpserverlib::printer::flush();
    thread::spawn(|| {
        let _ = io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(io::stderr(), "baseline server: accept: {e}");
                // Out of descriptors or memory: back off instead of spinning on the error.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let spawned = thread::Builder::new().stack_size(STACK).spawn(move || {
            // An error ends this connection only; the socket closes with the thread.
            let _ = if frames {
                echo_frames(&stream)
            } else {
                echo_bytes(&stream)
            };
        });
        if let Err(e) = spawned {
            let _ = writeln!(io::stderr(), "baseline server: cannot start a thread: {e}");
        }
    }
    Ok(())
}

/// Framing none: whatever one read returns is written back.
fn echo_bytes(mut stream: &TcpStream) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        match stream.read(&mut buf)? {
            0 => return Ok(()),
            n => stream.write_all(&buf[..n])?,
        }
    }
}

/// Length framing: a 2-byte big-endian header holding the total length (header included),
/// then the payload; each whole frame is written back.
fn echo_frames(stream: &TcpStream) -> io::Result<()> {
    let mut r = BufReader::new(stream);
    let mut w = BufWriter::new(stream);
    let mut payload = Vec::new();
    loop {
        // Replies wait in `w` only while the next request is already here: before a read
        // that may block, whatever is owed goes out.
        if r.buffer().len() < 2 {
            w.flush()?;
        }
        let mut header = [0u8; 2];
        match r.read_exact(&mut header) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        let total = u16::from_be_bytes(header) as usize;
        if total < 2 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a frame header of {total} bytes; at least 2 (the header itself)"),
            ));
        }
        payload.resize(total - 2, 0);
        if r.buffer().len() < payload.len() {
            w.flush()?;
        }
        r.read_exact(&mut payload)?;
        w.write_all(&header)?;
        w.write_all(&payload)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server-side socket running `echo` in a thread, and the client's end.
    fn pair(echo: fn(&TcpStream) -> io::Result<()>) -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        thread::spawn(move || echo(&server));
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client
    }

    /// Pipelined frames, a header-only one among them, come back whole and in order.
    #[test]
    fn frames_are_echoed_whole() {
        let mut c = pair(echo_frames);
        let frames: Vec<u8> = [&[0u8, 5, b'a', b'b', b'c'][..], &[0, 2], &[0, 3, b'z']].concat();
        c.write_all(&frames).unwrap();
        let mut got = vec![0; frames.len()];
        c.read_exact(&mut got).unwrap();
        assert_eq!(got, frames);
    }

    /// A header announcing less than itself ends the connection: the client reads EOF.
    #[test]
    fn an_undersized_header_ends_the_connection() {
        let mut c = pair(echo_frames);
        c.write_all(&[0, 1]).unwrap();
        assert_eq!(c.read(&mut [0; 8]).unwrap(), 0);
    }

    /// Framing none writes back whatever arrives.
    #[test]
    fn bytes_are_echoed() {
        let mut c = pair(echo_bytes);
        c.write_all(b"hello").unwrap();
        let mut got = [0; 5];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
    }
}
