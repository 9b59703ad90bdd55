//! Chapter 3 — the DRS under slow and greedy clients: backpressure instead of loss, a bound
//! for the whole server, fair turns, and the message timeout. Every test watches for events
//! (with timeouts), never for a fixed time.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tcpserverlib::demarcation::Framing;
use tcpserverlib::demo::{printable, Event};
use tcpserverlib::{
    Client, ClientId, Config, DisconnectReason, Handler, ProtocolError, SendError, ServerHandle,
    TcpServer,
};

/// A seeded stream of pseudo-random bytes (xorshift), so sender and checker agree without
/// keeping the whole stream.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

fn paused(server: &TcpServer, id: ClientId) -> bool {
    server.client_info(id).is_some_and(|i| i.reading_paused)
}

fn small_queues() -> Config {
    Config {
        output_high_water: 64 * 1024,
        output_low_water: 16 * 1024,
        max_output: 256 * 1024,
        ..Config::default()
    }
}

/// A client that sends far more than the output bounds and does not read until the server
/// has paused it gets back every byte, in order: the server stopped reading instead of
/// dropping echoes.
#[test]
fn a_slow_reader_gets_every_byte_back() {
    const TOTAL: usize = 8 * 1024 * 1024;
    let (server, events) = start(small_queues(), true);
    let mut client = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let mut writer = client.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut gen = Bytes(7);
        let mut chunk = vec![0u8; 32 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            gen.fill(&mut chunk);
            writer.write_all(&chunk).unwrap();
            sent += chunk.len();
        }
    });
    assert!(
        eventually(|| paused(&server, id)),
        "the server never paused the client whose output backed up:\n{}",
        server.show()
    );
    let mut gen = Bytes(7);
    let (mut got, mut expected) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut received = 0;
    while received < TOTAL {
        let n = client.read(&mut got).expect("echo within the timeout");
        assert!(n > 0, "the server closed after {received} of {TOTAL} bytes");
        gen.fill(&mut expected[..n]);
        assert!(
            got[..n] == expected[..n],
            "echo differs within bytes {received}..{}",
            received + n
        );
        received += n;
    }
    sender.join().unwrap();
    assert!(
        server.client_info(id).is_some(),
        "the client is still connected"
    );
}

/// Many clients that push and never read: the server's total queued output stays near its
/// bound (passed by at most one turn's replies per client), every backed-up client is
/// paused, and a newcomer is still served.
#[test]
fn the_server_wide_bound_holds_for_many_non_readers() {
    const BOUND: usize = 256 * 1024;
    let config = Config {
        output_high_water: 4 * 1024 * 1024,
        max_total_output: BOUND,
        turn_bytes: 16 * 1024,
        ..Config::default()
    };
    let (server, events) = start(config, true);
    let mut pushers = Vec::new();
    for _ in 0..4 {
        let c = connect(addr(&server));
        events.expect_connected(TIMEOUT).unwrap();
        c.set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        pushers.push(c);
    }
    let chunk = vec![b'x'; 16 * 1024];
    let mut all_paused = false;
    let deadline = Instant::now() + TIMEOUT;
    while !all_paused && Instant::now() < deadline {
        for c in &mut pushers {
            let _ = c.write(&chunk); // times out once the kernel buffers are full
        }
        let info = server.info();
        all_paused = info.clients.iter().all(|c| c.reading_paused);
        assert!(
            info.queued_output.0 <= BOUND + 4 * 16 * 1024,
            "queued output {} passed the bound {BOUND} by more than one turn per client",
            info.queued_output.0
        );
    }
    assert!(all_paused, "never paused:\n{}", server.show());
    let mut newcomer = connect(addr(&server));
    write(&mut newcomer, b"still served");
    assert_eq!(read_n(&mut newcomer, 12), b"still served");
}

/// A client flooding tiny messages gets bounded turns: another client's message, sent
/// after the flood, is delivered long before the flood's last message.
#[test]
fn a_flood_of_tiny_messages_takes_turns() {
    const FLOOD: usize = 20_000;
    let config = Config {
        framing: Framing::line(),
        turn_messages: 4,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut flooder = connect(addr(&server));
    let flooder_id = events.expect_connected(TIMEOUT).unwrap().id;
    let mut other = connect(addr(&server));
    let other_id = events.expect_connected(TIMEOUT).unwrap().id;
    write(&mut flooder, &b"a\n".repeat(FLOOD));
    write(&mut other, b"me too\n");
    let mut flood_seen = 0;
    let mut other_at = None;
    let seen = events.collect_until(FLOOD + 1, TIMEOUT, |e| matches!(e, Event::Message(..)));
    for event in &seen {
        match event {
            Event::Message(id, _) if *id == flooder_id => flood_seen += 1,
            Event::Message(id, m) if *id == other_id => {
                assert_eq!(m, b"me too");
                other_at = Some(flood_seen);
            }
            _ => {}
        }
    }
    assert_eq!(flood_seen, FLOOD, "every flooded message is delivered");
    let at = other_at.expect("the other client's message was delivered");
    assert!(
        at < FLOOD / 2,
        "the other client waited for {at} of the flooder's {FLOOD} messages"
    );
}

/// Complete messages left over when a turn ends are delivered without any new byte from
/// the client (the kernel will not report them again).
#[test]
fn messages_left_over_from_a_turn_are_delivered() {
    let config = Config {
        framing: Framing::line(),
        turn_messages: 1,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    events.expect_connected(TIMEOUT).unwrap();
    write(&mut c, b"one\ntwo\nthree\n");
    for want in [&b"one"[..], b"two", b"three"] {
        let got = events.expect_message(TIMEOUT).unwrap_or_else(|e| {
            panic!(
                "expected {:?}, left over from an earlier turn (one message a turn): {e}; a \
                 client with messages pending must get its next turn without a new byte",
                printable(want)
            )
        });
        assert_eq!(printable(&got.1), printable(want));
    }
}

/// A header trickled in and never completed is a protocol error of its own once the
/// message timeout passes; the client gets end of stream.
#[test]
fn a_message_never_completed_times_out() {
    let config = Config {
        framing: Framing::length(),
        message_timeout: Some(Duration::from_millis(200)),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    write(&mut c, &[0]); // half a header
    let (gone, reason) = events.expect_disconnected(TIMEOUT).unwrap_or_else(|e| {
        panic!(
            "expected a disconnect once the half header is 200 ms old: {e}; the DRS's wait must \
             end at the message clock's deadline (`next_timeout`)"
        )
    });
    assert_eq!(gone, id);
    assert!(
        matches!(
            reason,
            DisconnectReason::Protocol(ProtocolError::MessageTimeout { buffered: 1, .. })
        ),
        "{reason:?}"
    );
    assert!(reason.to_string().contains("message timeout"), "{reason}");
    assert_eq!(read_to_eof(&mut c), b"");
}

/// The reading client of a chat-like exchange is not paused by backpressure: a client whose
/// queue is empty is never refused, whatever the server-wide total.
#[test]
fn an_empty_queue_is_never_refused() {
    let config = Config {
        max_total_output: 1024,
        max_output: 1024,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let _hog = connect(addr(&server));
    let hog = events.expect_connected(TIMEOUT).unwrap().id;
    let mut reader = connect(addr(&server));
    let reader_id = events.expect_connected(TIMEOUT).unwrap().id;
    // Fill the hog's queue past the server's bound (its socket buffer takes a lot first).
    let mut refused = None;
    for _ in 0..100_000 {
        if let Err(e) = server.send(hog, &[b'h'; 512]) {
            refused = Some(e);
            break;
        }
    }
    assert!(refused.is_some(), "the hog's queue never filled");
    server
        .send(reader_id, b"hello")
        .expect("an empty queue is never refused");
    assert_eq!(read_n(&mut reader, 5), b"hello");
    let _ = TcpStream::shutdown(&reader, std::net::Shutdown::Both);
}

/// The message clock measures one message, not the connection: a client that keeps
/// completing messages, always with the next one already started, is never timed out.
#[test]
fn a_client_that_keeps_completing_messages_is_not_timed_out() {
    let config = Config {
        framing: Framing::length(),
        message_timeout: Some(Duration::from_millis(150)),
        ..Config::default()
    };
    let (server, events) = start(config, true);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    write(&mut c, &[0]); // the first header's first byte
    for _ in 0..8 {
        // The slow peer this test plays: 50 ms between its writes, 400 ms in all.
        thread::sleep(Duration::from_millis(50));
        write(&mut c, &[4, b'o', b'k', 0]); // finish "ok", start the next header
        assert_eq!(read_n(&mut c, 4), [0, 4, b'o', b'k']);
    }
    assert!(server.client_info(id).is_some(), "still connected");
}

/// Hysteresis, seen from outside: a client paused at the high-water mark stays paused while
/// its queue drains below that mark, is read again once the queue is down to the low-water
/// mark (not only once it is empty), and then stays read while that queue waits.
#[test]
fn a_paused_client_resumes_at_the_low_water_mark() {
    // Marks of several MiB, because the kernel takes output in steps of about a MiB here.
    const HIGH: usize = 8 * 1024 * 1024;
    const LOW: usize = 4 * 1024 * 1024;
    let config = Config {
        output_high_water: HIGH,
        output_low_water: LOW,
        max_output: 32 * 1024 * 1024,
        max_total_output: 16 * 1024 * 1024,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut client = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let queued = |server: &TcpServer| server.client_info(id).map_or(0, |i| i.queued_output);
    let chunk = vec![b'q'; 256 * 1024];
    let mut sent = 0;
    while queued(&server) < HIGH + 2 * 1024 * 1024 {
        server
            .send(id, &chunk)
            .expect("room below the per-client and server-wide bounds");
        sent += chunk.len();
        assert!(
            sent < 64 * 1024 * 1024,
            "the queue never grew:\n{}",
            server.show()
        );
    }
    assert!(
        eventually(|| paused(&server, id)),
        "never paused at the high-water mark:\n{}",
        server.show()
    );
    // Drain a little at a time. Two looks per step: when the first shows the client read
    // again, the DRS decided so before the second looked at the queue, which only shrinks.
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0;
    let mut read_some = |client: &mut TcpStream, received: &mut usize| {
        let n = client.read(&mut buf).expect("output within the timeout");
        assert!(n > 0, "the server closed the connection");
        assert!(buf[..n].iter().all(|&b| b == b'q'));
        *received += n;
    };
    loop {
        read_some(&mut client, &mut received);
        let first = server.client_info(id).unwrap();
        let second = server.client_info(id).unwrap();
        if !first.reading_paused {
            assert!(
                second.queued_output <= LOW,
                "read again with {} bytes still queued (low-water mark {LOW})",
                second.queued_output
            );
            break;
        }
        if second.queued_output <= LOW {
            // Stop reading: the queue waits at or below the low-water mark, and the client
            // must be read again all the same.
            assert!(
                eventually(|| !paused(&server, id)),
                "still paused with {} bytes queued (low-water mark {LOW}):\n{}",
                queued(&server),
                server.show()
            );
            break;
        }
    }
    // Read again, and kept being read: two messages, one after the other, both delivered.
    for ping in [&b"ping"[..], b"pong"] {
        write(&mut client, ping);
        assert_eq!(events.expect_message(TIMEOUT).unwrap(), (id, ping.to_vec()));
    }
    while received < sent {
        read_some(&mut client, &mut received);
    }
    assert_eq!(received, sent, "every queued byte arrives");
}

/// The server-wide bound refuses a send to a client that already has output waiting, whole,
/// with `ServerQueueFull`, long before the client's own (larger) bound; `show` reports the
/// bound; the client stays connected and gets every byte that was accepted.
#[test]
fn the_server_wide_bound_refuses_sends_to_a_backed_up_client() {
    const LIMIT: usize = 256 * 1024;
    const CHUNK: usize = 16 * 1024;
    let config = Config {
        max_output: 64 * 1024 * 1024,
        max_total_output: LIMIT,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut client = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let mut accepted = 0;
    let refused = loop {
        match server.send(id, &[b's'; CHUNK]) {
            Ok(()) => accepted += CHUNK,
            Err(e) => break e,
        }
        assert!(
            accepted < 64 * 1024 * 1024,
            "never refused:\n{}",
            server.show()
        );
    };
    match refused {
        SendError::ServerQueueFull {
            id: who,
            total,
            message,
            limit,
        } => {
            assert_eq!((who, message, limit), (id, CHUNK, LIMIT));
            assert!(total + CHUNK > LIMIT && total <= LIMIT, "total {total}");
        }
        other => panic!("expected the server-wide refusal, got {other:?}"),
    }
    let info = server.info();
    assert_eq!(
        info.queued_output.1, LIMIT,
        "show reports the server-wide bound"
    );
    assert!(
        info.queued_output.0 <= LIMIT,
        "queued output {} passed the bound",
        info.queued_output.0
    );
    let mut received = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while received < accepted {
        let n = client.read(&mut buf).expect("output within the timeout");
        assert!(n > 0, "the server closed the connection");
        received += n;
    }
    assert_eq!(received, accepted);
    assert!(server.client_info(id).is_some(), "still connected");
}

/// A reply (sent from `message` to the client being served) is never refused, even when it
/// is larger than the client's bound on its own; the same bytes sent from another thread
/// are refused whole with `QueueFull`.
#[test]
fn a_reply_over_the_client_bound_is_queued_a_send_is_refused() {
    const BOUND: usize = 1024;
    struct Replier(Mutex<mpsc::Sender<Result<(), SendError>>>);
    impl Handler for Replier {
        fn message(&self, server: &ServerHandle, client: &Client, _: &[u8]) {
            let result = server.send(client.id, &[b'r'; 4 * BOUND]);
            let _ = self.0.lock().unwrap().send(result);
        }
    }
    let (tx, results) = mpsc::channel();
    let config = Config {
        max_output: BOUND,
        ..Config::default()
    };
    let server =
        TcpServer::with_config("replier", "127.0.0.1:0", config, Replier(Mutex::new(tx))).unwrap();
    server.start().unwrap();
    let mut client = connect(addr(&server));
    write(&mut client, b"hi");
    assert_eq!(results.recv_timeout(TIMEOUT).unwrap(), Ok(()));
    assert_eq!(read_n(&mut client, 4 * BOUND), vec![b'r'; 4 * BOUND]);
    let id = server.clients()[0].id;
    assert_eq!(
        server.send(id, &[b's'; BOUND + 1]),
        Err(SendError::QueueFull {
            id,
            queued: 0,
            message: BOUND + 1,
            limit: BOUND
        })
    );
    server
        .send(id, &[b's'; BOUND])
        .expect("up to the bound fits");
    assert_eq!(read_n(&mut client, BOUND), vec![b's'; BOUND]);
}

/// Only a send from inside `message` to the client being served is a reply. A send from
/// `disconnected` — run on the DRS thread after another client's turn — to the client served
/// last is an ordinary send: over the client's bound, it is refused.
#[test]
fn a_send_from_disconnected_is_not_a_reply() {
    const BOUND: usize = 64;
    struct Notify {
        results: Mutex<mpsc::Sender<Result<(), SendError>>>,
        messages: Mutex<mpsc::Sender<ClientId>>,
    }
    impl Handler for Notify {
        fn message(&self, _: &ServerHandle, client: &Client, _: &[u8]) {
            let _ = self.messages.lock().unwrap().send(client.id);
        }
        fn disconnected(&self, server: &ServerHandle, _: &Client, _: &DisconnectReason) {
            for other in server.clients() {
                let result = server.send(other.id, &[b'n'; 2 * BOUND]);
                let _ = self.results.lock().unwrap().send(result);
            }
        }
    }
    let (results_tx, results) = mpsc::channel();
    let (messages_tx, messages) = mpsc::channel();
    let config = Config {
        framing: Framing::line(),
        max_output: BOUND,
        message_timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    };
    let handler = Notify {
        results: Mutex::new(results_tx),
        messages: Mutex::new(messages_tx),
    };
    let server = TcpServer::with_config("notify", "127.0.0.1:0", config, handler).unwrap();
    server.start().unwrap();
    let mut trickler = connect(addr(&server));
    assert!(eventually(|| server.client_count() == 1));
    let trickler_id = server.clients()[0].id;
    let mut talker = connect(addr(&server));
    assert!(eventually(|| server.client_count() == 2));
    write(&mut trickler, b"never finish");
    assert!(eventually(|| server
        .client_info(trickler_id)
        .is_some_and(|i| i.buffered_input > 0)));
    write(&mut talker, b"hello\n");
    let talker_id = messages.recv_timeout(TIMEOUT).unwrap();
    assert_ne!(talker_id, trickler_id);
    // The trickler's message timeout ends it; `disconnected` then sends to the talker.
    let result = results.recv_timeout(TIMEOUT).expect(
        "the trickler's unfinished message never timed out (300 ms): expected the DRS's wait \
         to end at the message clock's deadline (`next_timeout`) and `expire` to end it",
    );
    assert!(
        matches!(result, Err(SendError::QueueFull { id, .. }) if id == talker_id),
        "{result:?}"
    );
    assert_eq!(read_to_eof(&mut trickler), b"");
}

/// The message clock does not run against a client the server is not reading: with
/// listening disabled, a message started before stays unfinished past several timeouts
/// without the client being timed out.
#[test]
fn no_message_timeout_while_not_listening() {
    let config = Config {
        framing: Framing::line(),
        message_timeout: Some(Duration::from_millis(100)),
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    write(&mut c, b"started");
    assert!(eventually(|| server
        .client_info(id)
        .is_some_and(|i| i.buffered_input > 0)));
    server.set_listening(false).unwrap();
    // The peer this test plays is slow because we are not reading: four timeouts' worth.
    assert!(
        events.nothing_more_within(Duration::from_millis(400)),
        "an event while not listening"
    );
    assert!(server.client_info(id).is_some(), "still connected");
}

/// The message clock does not run against a client paused by backpressure: its unfinished
/// message outlives several timeouts while its output is backed up.
#[test]
fn no_message_timeout_while_paused() {
    let config = Config {
        framing: Framing::line(),
        message_timeout: Some(Duration::from_millis(300)),
        output_high_water: 64 * 1024,
        output_low_water: 16 * 1024,
        max_output: 32 * 1024 * 1024,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    // First fill the kernel's buffers, staying under the high-water mark.
    let chunk = vec![b'o'; 8 * 1024];
    let mut sent = 0;
    while server.client_info(id).unwrap().queued_output == 0 {
        server.send(id, &chunk).unwrap();
        sent += chunk.len();
        assert!(sent < 32 * 1024 * 1024, "nothing ever queued");
    }
    // Start a message (its clock starts), then pass the high-water mark, well within the
    // timeout (the kernel may still take some of it: send until paused).
    write(&mut c, b"started");
    assert!(eventually(|| server
        .client_info(id)
        .is_some_and(|i| i.buffered_input > 0)));
    while !paused(&server, id) {
        server.send(id, &chunk).unwrap();
        sent += chunk.len();
        assert!(sent < 32 * 1024 * 1024, "never paused:\n{}", server.show());
    }
    // The peer this test plays does not read: two timeouts' worth and more.
    assert!(
        events.nothing_more_within(Duration::from_millis(700)),
        "an event while paused"
    );
    assert!(server.client_info(id).is_some(), "still connected");
}

/// The server-wide bound has its own hysteresis: clients paused because the total passed
/// the bound stay paused while the total is above seven eighths of it, however small their
/// own queues, so the passes that serve a newcomer do not let them add more.
#[test]
fn clients_paused_by_the_server_wide_bound_stay_paused() {
    const BOUND: usize = 256 * 1024;
    const TURN: usize = 16 * 1024;
    let config = Config {
        // Per-client marks out of the way: only the server-wide rule pauses and resumes.
        output_high_water: 64 * 1024 * 1024,
        output_low_water: 64 * 1024 * 1024,
        max_total_output: BOUND,
        turn_bytes: TURN,
        ..Config::default()
    };
    let (server, events) = start(config, true);
    let mut pushers = Vec::new();
    for _ in 0..4 {
        let c = connect(addr(&server));
        events.expect_connected(TIMEOUT).unwrap();
        c.set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        pushers.push(c);
    }
    let chunk = vec![b'x'; TURN];
    let deadline = Instant::now() + TIMEOUT;
    while !server.info().clients.iter().all(|c| c.reading_paused) {
        assert!(
            Instant::now() < deadline,
            "never paused:\n{}",
            server.show()
        );
        for c in &mut pushers {
            let _ = c.write(&chunk); // times out once the kernel buffers are full
        }
    }
    let mut newcomer = connect(addr(&server));
    for _ in 0..20 {
        write(&mut newcomer, b"ping");
        assert_eq!(read_n(&mut newcomer, 4), b"ping");
        let total = server.info().queued_output.0;
        assert!(
            total <= BOUND + 4 * TURN,
            "queued output {total} grew past the bound {BOUND} while the newcomer was served"
        );
    }
}

/// A client the application disconnects while much output is still queued for it is
/// reported at once (reason: the application) and leaves the DRS's table, but not the DRS:
/// the DRS keeps writing to its socket as the kernel takes it (a lingering socket, chapter
/// 8), so the client reads every byte, then end of stream.
#[test]
fn a_disconnected_client_still_gets_what_was_queued() {
    // More than loopback's socket buffers take in one go, or the first write sends it all.
    const SIZE: usize = 32 * 1024 * 1024;
    let config = Config {
        max_output: SIZE,
        ..Config::default()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let id = events.expect_connected(TIMEOUT).unwrap().id;
    let mut owed = vec![0; SIZE];
    Bytes(7).fill(&mut owed);
    server.send(id, &owed).unwrap();
    assert!(server.disconnect(id));
    assert_eq!(
        events.expect_disconnected(TIMEOUT).unwrap(),
        (id, DisconnectReason::Application)
    );
    let mut got = Vec::new();
    if let Err(e) = c.read_to_end(&mut got) {
        panic!(
            "after {} bytes: {e}; expected all {SIZE}, then end of stream",
            got.len()
        );
    }
    assert!(
        got.len() == SIZE && got == owed,
        "expected all {SIZE} queued bytes, then end of stream; got {} bytes{}: the DRS must \
         keep serving the sockets it still writes to after their client left (`lingering`)",
        got.len(),
        if got.len() == SIZE {
            " that differ"
        } else {
            ""
        }
    );
}
