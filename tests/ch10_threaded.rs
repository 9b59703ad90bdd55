//! Chapter 10: multi-threaded clients and migration. A client served by a thread of its own
//! behaves as one served by the DRS (framing, callbacks, reasons, lingering close), `stop`
//! joins every client thread, and a live client moves between the two, both ways, without a
//! byte lost, duplicated or reordered.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tcpserverlib::demo::{Events, Print, Recorder};
use tcpserverlib::{
    Client, ClientFlags, ClientId, ClientMode, Config, DisconnectReason, Framing, Handler,
    MigrateError, ProtocolError, ServerError, ServerHandle, TcpServer,
};

fn line_config() -> Config {
    Config {
        framing: Framing::line(),
        ..Config::default()
    }
}

/// A started echo server named `name` (thread names carry it) with line framing.
fn start_named(name: &str) -> (TcpServer, Events) {
    let (recorder, events) = Recorder::new(Print::default(), true);
    let server = TcpServer::with_config(name, "127.0.0.1:0", line_config(), recorder).unwrap();
    server.start().unwrap();
    (server, events)
}

/// Threads of this process whose name starts with `prefix` (Linux keeps 15 bytes of a name).
fn named_threads(prefix: &str) -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.starts_with(prefix))
            .count(),
    )
}

/// Sends `line`, reads its echo, and takes the message's event.
fn echo(stream: &mut BufReader<TcpStream>, events: &Events, line: &str) {
    stream
        .get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    let mut back = String::new();
    stream
        .read_line(&mut back)
        .expect("an echo within the timeout");
    assert_eq!(back, format!("{line}\n"), "the echo of {line:?}");
    let (_, message) = events.expect_message(TIMEOUT).unwrap();
    assert_eq!(message, line.as_bytes());
}

fn mode_of(server: &TcpServer, id: ClientId) -> ClientMode {
    let info = server.client_info(id).expect("the client is connected");
    if info.flags.contains(ClientFlags::MULTI_THREADED) {
        ClientMode::Threaded
    } else {
        ClientMode::Multiplexed
    }
}

/// In multi-threaded mode every new client gets a thread of its own, named after the server,
/// flagged MULTI_THREADED, served as the DRS would serve it; the thread leaves with its client.
#[test]
fn multi_threaded_mode_gives_each_new_client_a_thread() {
    let (server, events) = start_named("mt3");
    server.set_multi_threaded(true);
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut c = BufReader::new(connect(addr(&server)));
        let client = events.expect_connected(TIMEOUT).unwrap();
        echo(&mut c, &events, &format!("hello from {i}"));
        assert_eq!(mode_of(&server, client.id), ClientMode::Threaded);
        clients.push(c);
    }
    assert_eq!(server.client_threads(), 3, "one thread per threaded client");
    if named_threads("client-mt3-").is_some() {
        assert!(eventually(|| named_threads("client-mt3-") == Some(3)));
    }
    drop(clients);
    for _ in 0..3 {
        let (_, reason) = events.expect_disconnected(TIMEOUT).unwrap();
        assert_eq!(reason, DisconnectReason::PeerClosed);
    }
    assert!(
        eventually(|| server.client_threads() == 0),
        "a client thread leaves with its client: {} left",
        server.client_threads()
    );
    assert!(
        events.nothing_more_within(SHORT),
        "each disconnect reported once"
    );
}

/// Leaving multi-threaded mode hands new clients to the DRS again; clients already
/// threaded stay threaded.
#[test]
fn leaving_multi_threaded_mode_affects_only_new_clients() {
    let (server, events) = start_named("mtoff");
    server.set_multi_threaded(true);
    let mut first = BufReader::new(connect(addr(&server)));
    let a = events.expect_connected(TIMEOUT).unwrap();
    echo(&mut first, &events, "a");
    server.set_multi_threaded(false);
    let mut second = BufReader::new(connect(addr(&server)));
    let b = events.expect_connected(TIMEOUT).unwrap();
    echo(&mut second, &events, "b");
    assert_eq!(mode_of(&server, a.id), ClientMode::Threaded);
    assert_eq!(mode_of(&server, b.id), ClientMode::Multiplexed);
    assert_eq!(server.client_threads(), 1);
}

/// `migrate` moves a live client to a thread of its own and back; it keeps working in each
/// mode, and its thread is gone once it is back with the DRS.
#[test]
fn migrate_moves_a_client_both_ways() {
    let (server, events) = start_named("mig");
    let mut c = BufReader::new(connect(addr(&server)));
    let client = events.expect_connected(TIMEOUT).unwrap();
    echo(&mut c, &events, "before");
    assert_eq!(mode_of(&server, client.id), ClientMode::Multiplexed);

    server.migrate(client.id, ClientMode::Threaded).unwrap();
    assert_eq!(mode_of(&server, client.id), ClientMode::Threaded);
    assert_eq!(server.client_threads(), 1);
    echo(&mut c, &events, "threaded");

    server.migrate(client.id, ClientMode::Multiplexed).unwrap();
    assert_eq!(mode_of(&server, client.id), ClientMode::Multiplexed);
    echo(&mut c, &events, "back");
    assert!(
        eventually(|| server.client_threads() == 0),
        "the client thread leaves once its client is handed back"
    );
    // Asking for the mode a client already has changes nothing.
    server.migrate(client.id, ClientMode::Multiplexed).unwrap();
    echo(&mut c, &events, "still");
}

/// A part of a message already read when the client moves travels with it: the message is
/// completed by bytes the new thread reads.
#[test]
fn a_message_split_across_a_migration_arrives_whole() {
    let (server, events) = start_named("split");
    let mut c = connect(addr(&server));
    let client = events.expect_connected(TIMEOUT).unwrap();
    for (to, half) in [
        (ClientMode::Threaded, "first ha"),
        (ClientMode::Multiplexed, "second ha"),
    ] {
        write(&mut c, half.as_bytes());
        // The server has read the half (it is buffered) before the client moves.
        assert!(
            eventually(|| server
                .client_info(client.id)
                .is_some_and(|i| i.buffered_input == half.len())),
            "the half message was never buffered"
        );
        server.migrate(client.id, to).unwrap();
        write(&mut c, b"lf\n");
        let (id, message) = events.expect_message(TIMEOUT).unwrap();
        assert_eq!(id, client.id);
        assert_eq!(
            String::from_utf8_lossy(&message),
            format!("{half}lf"),
            "the message split by the move to {to}"
        );
    }
}

/// A stream of numbered lines, written in pieces that cut lines anywhere, while the client is
/// migrated back and forth 100 times: every line is delivered once, in order, and echoed.
#[test]
fn hundred_migrations_while_streaming_lose_nothing() {
    let (server, events) = start_named("stream");
    let stream = connect(addr(&server));
    let client = events.expect_connected(TIMEOUT).unwrap();
    let migrated = Arc::new(AtomicBool::new(false));

    let mut out = stream.try_clone().unwrap();
    let writer_done = Arc::clone(&migrated);
    let writer = std::thread::spawn(move || {
        let mut n: u64 = 0;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        // Bounded: at most this many lines, and at most TIMEOUT.
        let deadline = Instant::now() + TIMEOUT;
        while !writer_done.load(Ordering::SeqCst) && n < 2_000_000 && Instant::now() < deadline {
            let mut batch = Vec::new();
            for _ in 0..50 {
                batch.extend_from_slice(format!("{n}\n").as_bytes());
                n += 1;
            }
            // Pieces of 1 to 16 bytes, so that lines are cut at every position.
            let mut at = 0;
            while at < batch.len() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = (1 + (seed % 16) as usize).min(batch.len() - at);
                out.write_all(&batch[at..at + len]).unwrap();
                at += len;
            }
        }
        out.write_all(b"end\n").unwrap();
        n
    });

    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stream);
        let mut expected: u64 = 0;
        loop {
            let mut line = String::new();
            let got = lines
                .read_line(&mut line)
                .expect("echoes within the timeout");
            assert!(got > 0, "the stream ended after line {expected}");
            let line = line.trim_end();
            if line == "end" {
                return expected;
            }
            assert_eq!(line, expected.to_string(), "echo out of order or lost");
            expected += 1;
        }
    });

    let mut to = ClientMode::Threaded;
    for round in 0..100 {
        server
            .migrate(client.id, to)
            .unwrap_or_else(|e| panic!("migration {round} to {to}: {e}"));
        assert_eq!(mode_of(&server, client.id), to, "after migration {round}");
        to = match to {
            ClientMode::Threaded => ClientMode::Multiplexed,
            ClientMode::Multiplexed => ClientMode::Threaded,
        };
    }
    migrated.store(true, Ordering::SeqCst);
    let sent = writer.join().unwrap();
    let echoed = reader.join().unwrap();
    assert_eq!(echoed, sent, "every line came back once, in order");
    assert!(sent > 0);
    // The server side saw the same: each message once, in order.
    let mut expected = 0u64;
    while expected < sent {
        let (_, m) = events.expect_message(TIMEOUT).unwrap();
        assert_eq!(String::from_utf8_lossy(&m), expected.to_string());
        expected += 1;
    }
}

/// `stop` joins every client thread: no thread of the server is left, and every threaded
/// client is told "server shutdown" and gets an end of stream.
#[test]
fn stop_joins_every_client_thread() {
    let (server, events) = start_named("stopmt");
    server.set_multi_threaded(true);
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut c = BufReader::new(connect(addr(&server)));
        events.expect_connected(TIMEOUT).unwrap();
        echo(&mut c, &events, &format!("{i}"));
        clients.push(c);
    }
    server.stop();
    assert_eq!(
        server.client_threads(),
        0,
        "stop returned with client threads running"
    );
    if named_threads("client-stopmt").is_some() {
        assert!(
            eventually(|| named_threads("client-stopmt") == Some(0)),
            "a client thread outlived stop"
        );
    }
    for _ in 0..3 {
        let (_, reason) = events.expect_disconnected(TIMEOUT).unwrap();
        assert_eq!(reason, DisconnectReason::ServerShutdown);
    }
    for c in &mut clients {
        assert!(
            read_to_eof(c.get_mut()).is_empty(),
            "nothing after the echoes"
        );
    }
}

/// A threaded client is ended for the same reasons, exactly once, as a multiplexed one: a
/// frame too long is a protocol error, and what was echoed before it is still delivered.
#[test]
fn a_threaded_client_is_ended_for_the_same_reasons() {
    let config = Config {
        framing: Framing::length(),
        ..Config::default()
    };
    let (server, events) = start(config, true);
    server.set_multi_threaded(true);
    let mut c = connect(addr(&server));
    let client = events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(mode_of(&server, client.id), ClientMode::Threaded);
    write(&mut c, &[0, 5, b'h', b'e', b'y']);
    write(&mut c, &[0xff, 0xff]);
    assert_eq!(read_to_eof(&mut c), vec![0, 5, b'h', b'e', b'y']);
    assert_eq!(events.expect_message(TIMEOUT).unwrap().1, b"hey");
    let (id, reason) = events.expect_disconnected(TIMEOUT).unwrap();
    assert_eq!(id, client.id);
    assert!(
        matches!(reason, DisconnectReason::Protocol(_)),
        "expected a protocol error, got {reason}"
    );
    assert!(eventually(|| server.client_threads() == 0));
}

/// Output queued by another thread for a threaded client reaches it, and an application
/// disconnect delivers what was queued, then a FIN.
#[test]
fn sends_and_disconnects_reach_a_threaded_client() {
    let (server, events) = start_named("sendmt");
    server.set_multi_threaded(true);
    let mut c = BufReader::new(connect(addr(&server)));
    let client = events.expect_connected(TIMEOUT).unwrap();
    // 200 lines of 10 000 bytes: more than the socket takes at once, so most of it waits
    // in the queue when the disconnect comes.
    let line = "x".repeat(10_000);
    for _ in 0..200 {
        server.send(client.id, line.as_bytes()).unwrap();
    }
    assert!(server.disconnect(client.id));
    for i in 0..200 {
        let mut got = String::new();
        c.read_line(&mut got).unwrap();
        assert_eq!(got.len(), line.len() + 1, "line {i} of what was queued");
    }
    assert!(read_to_eof(c.get_mut()).is_empty());
    let (_, reason) = events.expect_disconnected(TIMEOUT).unwrap();
    assert_eq!(reason, DisconnectReason::Application);
}

/// An application that moves a client from inside that client's own `message` callback: the
/// call returns at once (the thread cannot wait for itself) and the move happens right after.
#[test]
fn a_client_can_be_migrated_from_its_own_callback() {
    struct MoveOnRequest;
    impl Handler for MoveOnRequest {
        fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
            let to = match message {
                b"threaded" => ClientMode::Threaded,
                _ => ClientMode::Multiplexed,
            };
            let result = server.migrate(client.id, to).map(|_| "ok".to_string());
            let reply = result.unwrap_or_else(|e| e.to_string());
            let _ = server.send(client.id, reply.as_bytes());
        }
    }
    let server =
        TcpServer::with_config("self", "127.0.0.1:0", line_config(), MoveOnRequest).unwrap();
    server.start().unwrap();
    let mut c = BufReader::new(connect(addr(&server)));
    for to in ["threaded", "multiplexed", "threaded"] {
        c.get_mut().write_all(format!("{to}\n").as_bytes()).unwrap();
        let mut reply = String::new();
        c.read_line(&mut reply).unwrap();
        assert_eq!(reply, "ok\n", "migrating to {to} from the callback");
        let id = server.clients()[0].id;
        let want: ClientMode = to.parse().unwrap();
        assert!(
            eventually(|| mode_of(&server, id) == want),
            "never became {to}"
        );
    }
}

/// Migration is refused, with the reason, for a client that does not exist and on a server
/// that is not running.
#[test]
fn migrate_says_why_it_cannot() {
    let (server, _events) = start_named("migerr");
    let err = server
        .migrate(ClientId(999_999), ClientMode::Threaded)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServerError::Migrate {
                why: MigrateError::NoSuchClient,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no such client"), "{err}");
    server.stop();
    let err = server
        .migrate(ClientId(1), ClientMode::Threaded)
        .unwrap_err();
    assert!(err.to_string().contains("not running"), "{err}");
    assert_eq!(
        server.client_threads(),
        0,
        "a refused migration leaves no thread"
    );
}

/// The mode's names, as `show` and the shell use them, and a clear error for any other word.
#[test]
fn client_modes_have_names() {
    assert_eq!(ClientMode::Threaded.to_string(), "threaded");
    assert_eq!(ClientMode::Multiplexed.to_string(), "multiplexed");
    assert_eq!("threaded".parse(), Ok(ClientMode::Threaded));
    assert_eq!("multiplexed".parse(), Ok(ClientMode::Multiplexed));
    let err = "sideways".parse::<ClientMode>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown client mode \"sideways\": expected threaded or multiplexed"
    );
}

/// `stop` waits for a client thread that is busy in a callback: it returns only after the
/// callback has, even when other client threads were started meanwhile.
#[test]
fn stop_waits_for_a_busy_client_thread() {
    let (handler, work_started, finished) = SlowWork::new();
    let server = TcpServer::with_config("busy", "127.0.0.1:0", line_config(), handler).unwrap();
    server.start().unwrap();
    server.set_multi_threaded(true);
    let mut worker = connect(addr(&server));
    write(&mut worker, b"work\n");
    work_started.recv_timeout(TIMEOUT).unwrap();
    // A second client thread starts while the first is busy.
    let _other = connect(addr(&server));
    assert!(eventually(|| server.client_threads() == 2));
    server.stop();
    assert!(
        finished.load(Ordering::SeqCst),
        "stop returned while a client thread was still in its callback"
    );
}

/// A message started before a migration keeps its clock: it still times out on the new
/// thread, although no byte arrives after the move.
#[test]
fn a_migrated_client_keeps_its_message_clock() {
    let config = Config {
        message_timeout: Some(Duration::from_millis(100)),
        ..line_config()
    };
    let (server, events) = start(config, false);
    let mut c = connect(addr(&server));
    let client = events.expect_connected(TIMEOUT).unwrap();
    write(&mut c, b"never finished");
    assert!(eventually(|| server
        .client_info(client.id)
        .is_some_and(|i| i.buffered_input > 0)));
    server.migrate(client.id, ClientMode::Threaded).unwrap();
    let (id, reason) = events.expect_disconnected(TIMEOUT).unwrap();
    assert_eq!(id, client.id);
    assert!(
        matches!(
            reason,
            DisconnectReason::Protocol(ProtocolError::MessageTimeout { .. })
        ),
        "expected a message timeout, got {reason}"
    );
}

/// Messages already read and still waiting for their turn when the client moves (its turn
/// ended on the message bound) are delivered by the new thread, though the socket has
/// nothing more to report.
#[test]
fn pending_messages_travel_with_the_client() {
    struct MoveOnGo(std::sync::Mutex<std::sync::mpsc::Sender<Vec<u8>>>);
    impl Handler for MoveOnGo {
        fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
            if message == b"go" {
                let _ = server.migrate(client.id, ClientMode::Threaded);
            }
            let _ = self.0.lock().unwrap().send(message.to_vec());
        }
    }
    let (tx, delivered) = std::sync::mpsc::channel();
    let config = Config {
        turn_messages: 1,
        ..line_config()
    };
    let server = TcpServer::with_config(
        "pend",
        "127.0.0.1:0",
        config,
        MoveOnGo(std::sync::Mutex::new(tx)),
    )
    .unwrap();
    server.start().unwrap();
    let mut c = connect(addr(&server));
    let mut batch = b"go\n".to_vec();
    for i in 0..20 {
        batch.extend_from_slice(format!("m{i}\n").as_bytes());
    }
    write(&mut c, &batch);
    assert_eq!(delivered.recv_timeout(TIMEOUT).unwrap(), b"go");
    for i in 0..20 {
        let m = delivered
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("message m{i} was never delivered after the move"));
        assert_eq!(String::from_utf8_lossy(&m), format!("m{i}"));
    }
    assert_eq!(server.client_threads(), 1);
}

/// Disabling listening reaches client threads too: a threaded client is not read until
/// listening resumes, and then nothing it sent is missing.
#[test]
fn listening_disabled_pauses_threaded_clients_too() {
    let (server, events) = start_named("mtlisten");
    server.set_multi_threaded(true);
    let mut c = BufReader::new(connect(addr(&server)));
    let client = events.expect_connected(TIMEOUT).unwrap();
    echo(&mut c, &events, "first");
    server.set_listening(false).unwrap();
    c.get_mut().write_all(b"while not listening\n").unwrap();
    assert!(
        events.nothing_more_within(SHORT),
        "a threaded client was read while listening was disabled"
    );
    server.set_listening(true).unwrap();
    let (id, m) = events.expect_message(TIMEOUT).unwrap();
    assert_eq!((id, m.as_slice()), (client.id, &b"while not listening"[..]));
}

/// A server stopped and started again still gives new clients threads of their own.
#[test]
fn multi_threaded_mode_survives_a_restart() {
    let (server, events) = start_named("mtagain");
    server.set_multi_threaded(true);
    server.stop();
    server.start().unwrap();
    let mut c = BufReader::new(connect(addr(&server)));
    let client = events.expect_connected(TIMEOUT).unwrap();
    echo(&mut c, &events, "again");
    assert_eq!(mode_of(&server, client.id), ClientMode::Threaded);
}

/// A threaded client's lingering close counts in `show` like any other, together with one
/// on the DRS, and its thread stays until the close is over.
#[test]
fn lingering_closes_on_client_threads_are_counted() {
    let config = Config {
        linger: 6 * TIMEOUT,
        ..line_config()
    };
    let (server, events) = start(config, false);
    let mut multiplexed = connect(addr(&server));
    let first = events.expect_connected(TIMEOUT).unwrap();
    server.set_multi_threaded(true);
    let mut threaded = connect(addr(&server));
    let second = events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(mode_of(&server, second.id), ClientMode::Threaded);
    assert!(server.disconnect(first.id));
    assert!(server.disconnect(second.id));
    assert!(
        eventually(|| server.info().lingering == 2),
        "both closes linger until their peers' FIN:\n{}",
        server.show()
    );
    assert_eq!(
        server.client_threads(),
        1,
        "the thread stays while its close lingers"
    );
    assert!(read_to_eof(&mut threaded).is_empty());
    drop(threaded);
    assert!(eventually(|| server.info().lingering == 1));
    assert!(eventually(|| server.client_threads() == 0));
    assert!(read_to_eof(&mut multiplexed).is_empty());
    drop(multiplexed);
    assert!(eventually(|| server.info().lingering == 0));
}

/// A client may be given its mode from inside `connected`, before anyone listens to it:
/// here every other client goes to a thread of its own, and, in multi-threaded mode, the
/// others back to the DRS (their unused thread leaves). Each is then served in that mode.
#[test]
fn a_client_can_be_placed_from_connected() {
    struct Alternate;
    impl Handler for Alternate {
        fn connected(&self, server: &ServerHandle, client: &Client) {
            let to = if client.id.0.is_multiple_of(2) {
                ClientMode::Threaded
            } else {
                ClientMode::Multiplexed
            };
            server.migrate(client.id, to).unwrap();
        }
        fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
            let _ = server.send(client.id, message);
        }
    }
    let server = TcpServer::with_config("place", "127.0.0.1:0", line_config(), Alternate).unwrap();
    server.start().unwrap();
    for multi_threaded in [false, true] {
        server.set_multi_threaded(multi_threaded);
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut c = BufReader::new(connect(addr(&server)));
            c.get_mut().write_all(b"ping\n").unwrap();
            let mut back = String::new();
            c.read_line(&mut back).unwrap();
            assert_eq!(back, "ping\n");
            let id = *server
                .clients()
                .iter()
                .map(|c| &c.id)
                .max()
                .expect("a client");
            let want = if id.0.is_multiple_of(2) {
                ClientMode::Threaded
            } else {
                ClientMode::Multiplexed
            };
            assert_eq!(
                mode_of(&server, id),
                want,
                "client {id} (multi-threaded mode {multi_threaded})"
            );
            held.push(c);
        }
        assert!(
            eventually(|| server.client_threads() == 2),
            "two threaded clients, no unused thread: {}",
            server.client_threads()
        );
        drop(held);
        assert!(eventually(|| server.client_count() == 0));
    }
}
