//! Chapter 1 — the controller: create, start, show, stop; the client record.
//! Exercise: `cargo test --features ex01 --test ch01_controller`.

mod common;
use common::*;

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tcpserverlib::demo::Recorder;
use tcpserverlib::state::ServerFlags;
use tcpserverlib::{Client, DisconnectReason, Handler, ServerError, ServerHandle, TcpServer};

/// Port 0 picks a free port, readable once started; stopping forgets it.
#[test]
fn port_zero_is_resolved_on_start() {
    let server = TcpServer::new("t", "127.0.0.1:0", ()).unwrap();
    assert_eq!(server.local_addr(), None);
    server.start().unwrap();
    let addr = addr(&server);
    assert_ne!(addr.port(), 0);
    assert!(server.flags().contains(ServerFlags::RUNNING));
    server.stop();
    assert_eq!(server.local_addr(), None);
    assert!(!server.flags().contains(ServerFlags::RUNNING));
}

/// A connected client appears in `show` with its address, and its record is right.
#[test]
fn client_record_and_show() {
    let (server, events) = start_default();
    let client = connect(addr(&server));
    let record = events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(record.peer_addr, client.local_addr().unwrap());
    assert_eq!(record.local_addr, addr(&server));
    assert_eq!(record.id.0, 1);
    assert!(record
        .to_string()
        .starts_with(&format!("#1 {}", record.peer_addr)));
    let shown = server.show();
    assert!(shown.contains("tcp-server \"test\""), "{shown}");
    assert!(shown.contains("RUNNING"), "{shown}");
    assert!(shown.contains(&record.peer_addr.to_string()), "{shown}");
    assert_eq!(server.clients(), vec![record]);
}

/// Starting twice is an error naming the server; the first start keeps running.
#[test]
fn start_twice_is_an_error() {
    let (server, _events) = start_default();
    let err = server.start().unwrap_err();
    assert!(matches!(err, ServerError::State { .. }), "{err:?}");
    assert!(err.to_string().contains("\"test\""), "{err}");
    assert!(server.flags().contains(ServerFlags::RUNNING));
}

/// Binding a port in use gives one clear line naming the address.
#[test]
fn address_in_use_is_explained() {
    let (first, _events) = start_default();
    let taken = addr(&first);
    let second = TcpServer::new("s2", taken, ()).unwrap();
    let err = second.start().unwrap_err().to_string();
    assert!(err.contains(&taken.to_string()), "{err}");
    assert!(err.contains("already in use"), "{err}");
    assert!(!err.contains('\n'));
}

/// Several servers live side by side in one process, IPv4 and IPv6 and by name.
#[test]
fn several_servers_per_process() {
    let a = TcpServer::new("a", "127.0.0.1:0", ()).unwrap();
    let b = TcpServer::new("b", "localhost:0", ()).unwrap();
    a.start().unwrap();
    b.start().unwrap();
    assert_ne!(a.local_addr(), b.local_addr());
    if let Ok(v6) = TcpServer::new("v6", "[::1]:0", ()) {
        // Machines without IPv6 on loopback cannot bind it; that is not our failure.
        if v6.start().is_ok() {
            assert!(v6.local_addr().unwrap().is_ipv6());
        }
    }
}

/// A name that does not resolve is refused up front with the address in the message.
#[test]
fn unresolvable_address() {
    let err = TcpServer::new("x", "no-such-host.invalid:1", ())
        .err()
        .expect("must not resolve")
        .to_string();
    assert!(err.contains("no-such-host.invalid"), "{err}");
}

/// stop() returns quickly with clients connected, reports them, and frees the port at once.
#[test]
fn stop_is_prompt_and_frees_the_port() {
    let (recorder, events) = Recorder::silent();
    let server = TcpServer::new("t", "127.0.0.1:0", recorder).unwrap();
    server.start().unwrap();
    let addr = addr(&server);
    let clients: Vec<TcpStream> = (0..5).map(|_| connect(addr)).collect();
    for _ in 0..5 {
        events.expect_connected(TIMEOUT).unwrap();
    }
    let t = Instant::now();
    server.stop();
    let took = t.elapsed();
    println!("stop() with 5 clients took {took:?}");
    for _ in 0..5 {
        let (_, reason) = events.expect_disconnected(TIMEOUT).unwrap();
        assert_eq!(reason, DisconnectReason::ServerShutdown);
    }
    let again = TcpServer::new("again", addr, ()).unwrap();
    again.start().unwrap();
    drop(clients);
}

/// stop() asks every service thread to leave and joins it: afterwards no thread named after
/// the server (`cas-…`, `drs-…`), nor its keep-alive wheel, is left in the process, and a
/// restart starts them again. (No other test of this file turns keep-alive on.)
#[cfg(target_os = "linux")]
#[test]
fn stop_leaves_no_service_thread_behind() {
    // Thread names are cut to 15 bytes by Linux: keep "drs-" + the name within that.
    const NAME: &str = "joinchk";
    let service_threads = || -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|comm| comm.trim_end().to_string())
            .filter(|comm| comm.ends_with(NAME) || comm == "wheel-timer")
            .collect()
    };
    // A new thread names itself, and a joined one leaves /proc, a moment after `start` or
    // `join` returned: poll, with a polling interval, not a wait for an event.
    let eventually_threads = |want: &[String]| {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            let mut now = service_threads();
            now.sort();
            if now == want {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        false
    };
    let config = tcpserverlib::Config {
        keepalive: Some(tcpserverlib::KeepAliveConfig {
            interval: None,
            hold: std::time::Duration::from_secs(60),
            tick: std::time::Duration::from_millis(10),
        }),
        ..tcpserverlib::Config::default()
    };
    let server = TcpServer::with_config(NAME, "127.0.0.1:0", config, ()).unwrap();
    for _ in 0..2 {
        server.start().unwrap();
        let services = [
            format!("cas-{NAME}"),
            format!("drs-{NAME}"),
            "wheel-timer".to_string(),
        ];
        assert!(eventually_threads(&services), "{:?}", service_threads());
        let _client = connect(addr(&server));
        server.stop();
        assert!(
            eventually_threads(&[]),
            "left behind: {:?}",
            service_threads()
        );
    }
}

/// `stop` joins the threads it started for clients too (a client thread of chapter 10 is
/// one of the server's services): it returns only once a callback running on a client
/// thread has returned.
#[test]
fn stop_joins_the_client_threads_too() {
    let (handler, work_started, done) = SlowWork::new();
    let server = TcpServer::new("threaded", "127.0.0.1:0", handler).unwrap();
    server.start().unwrap();
    server.set_multi_threaded(true);
    let mut client = connect(addr(&server));
    write(&mut client, b"work");
    work_started
        .recv_timeout(TIMEOUT)
        .expect("the client's message never reached its thread");
    // Stopped from another thread, so that a `stop` that never returns fails this test
    // instead of hanging the whole file.
    let server = Arc::new(server);
    let (stopped, stop_returned) = std::sync::mpsc::channel();
    let stopper = Arc::clone(&server);
    std::thread::spawn(move || {
        stopper.stop();
        let _ = stopped.send(());
    });
    match stop_returned.recv_timeout(TIMEOUT) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("stop panicked"),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
            "stop did not return: expected it to ask the client threads to leave \
             (`routes.close_dedicated()`) before it joins them"
        ),
    }
    assert!(
        done.load(Ordering::SeqCst),
        "stop returned while a client thread was still in its callback: \
         expected stop to join every client thread (`client_threads.join_all()`)"
    );
}

/// `set_address` on a stopped server changes where the next `start` listens; it is refused
/// on a running server and for an address that cannot be resolved.
#[test]
fn set_address_moves_a_stopped_server() {
    let server = TcpServer::new("mover", "127.0.0.1:0", ()).unwrap();
    server.set_address("[::1]:0").unwrap();
    server.start().unwrap();
    assert!(addr(&server).is_ipv6(), "{}", addr(&server));
    assert!(matches!(
        server.set_address("127.0.0.1:0"),
        Err(ServerError::Running { .. })
    ));
    server.stop();
    assert!(matches!(
        server.set_address("an address without a port"),
        Err(ServerError::Resolve { .. })
    ));
    server.set_address("127.0.0.1:0").unwrap();
    server.start().unwrap();
    assert!(addr(&server).is_ipv4());
}

/// A server displays as its `show`.
#[test]
fn a_server_displays_as_its_show() {
    let server = TcpServer::new("shown", "127.0.0.1:0", ()).unwrap();
    server.start().unwrap();
    assert_eq!(server.to_string(), server.show());
    assert!(server.to_string().contains("shown"));
}

/// stop() calls the application with no lock of the server held: a `disconnected` callback
/// at shutdown may call back into the server, here by calling `stop()` again (an application
/// that stops when its last client goes), which returns at once on a server already
/// stopping instead of waiting for a lock the first `stop()` holds.
#[test]
fn a_disconnected_callback_may_call_stop_again() {
    use std::sync::{mpsc, Weak};

    struct StopsAgain {
        server: Arc<OnceLock<Weak<TcpServer>>>,
        connected: Mutex<mpsc::Sender<()>>,
        reports: Mutex<mpsc::Sender<DisconnectReason>>,
    }
    impl Handler for StopsAgain {
        fn connected(&self, _: &ServerHandle, _: &Client) {
            let _ = self.connected.lock().unwrap().send(());
        }
        fn disconnected(&self, _: &ServerHandle, _: &Client, reason: &DisconnectReason) {
            if let Some(server) = self.server.get().and_then(Weak::upgrade) {
                server.stop();
            }
            let _ = self.reports.lock().unwrap().send(reason.clone());
        }
    }

    let cell = Arc::new(OnceLock::new());
    let (connected, on_connect) = mpsc::channel();
    let (reports, on_report) = mpsc::channel();
    let app = StopsAgain {
        server: Arc::clone(&cell),
        connected: Mutex::new(connected),
        reports: Mutex::new(reports),
    };
    let server = Arc::new(TcpServer::new("again", "127.0.0.1:0", app).unwrap());
    let _ = cell.set(Arc::downgrade(&server));
    server.start().unwrap();
    let _client = connect(addr(&server));
    on_connect
        .recv_timeout(TIMEOUT)
        .expect("the client was never reported connected");
    let (done, stopped) = mpsc::channel();
    let stopper = Arc::clone(&server);
    std::thread::spawn(move || {
        stopper.stop();
        let _ = done.send(());
    });
    assert_eq!(
        on_report.recv_timeout(TIMEOUT),
        Ok(DisconnectReason::ServerShutdown),
        "expected the client reported disconnected (server shutdown) by stop(), and its \
         callback's own stop() to return: is a lock of the server held around the callbacks?"
    );
    assert!(
        stopped.recv_timeout(TIMEOUT).is_ok(),
        "stop() did not return after its callbacks did"
    );
    assert!(!server.handle().info().flags.contains(ServerFlags::RUNNING));
}

/// Clients that connect while stop() runs are never lost: each one reported connected is
/// reported disconnected exactly once, and none is left in the DB. (stop() must stop the
/// CAS before it empties the DB, or a client accepted in between stays there unreported.)
#[test]
fn clients_connecting_during_stop_are_each_reported_once() {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tcpserverlib::recorder::Event;

    for round in 0..5 {
        let (recorder, events) = Recorder::silent();
        let server = TcpServer::new("during", "127.0.0.1:0", recorder).unwrap();
        server.start().unwrap();
        let addr = addr(&server);
        let first = connect(addr);
        events.expect_connected(TIMEOUT).unwrap();
        let go_on = Arc::new(AtomicBool::new(true));
        let connector = {
            let go_on = Arc::clone(&go_on);
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                for _ in 0..2000 {
                    if !go_on.load(Ordering::SeqCst) {
                        break;
                    }
                    match TcpStream::connect(addr) {
                        Ok(s) => kept.push(s),
                        Err(_) => break, // refused: the port is closed
                    }
                }
                kept
            })
        };
        // Let the connector get going: at least one more client in.
        events.expect_connected(TIMEOUT).unwrap();
        server.stop();
        go_on.store(false, Ordering::SeqCst);
        let kept = connector.join().unwrap();
        let mut reports: HashMap<u64, (usize, usize)> = HashMap::new();
        reports.entry(1).or_default().0 += 1;
        reports.entry(2).or_default().0 += 1;
        while let Some(event) = events.next(SHORT) {
            match event {
                Event::Connected(c) => reports.entry(c.id.0).or_default().0 += 1,
                Event::Disconnected(id, _) => reports.entry(id.0).or_default().1 += 1,
                _ => {}
            }
        }
        for (id, (connected, disconnected)) in &reports {
            assert_eq!(
                (*connected, *disconnected),
                (1, 1),
                "round {round}: client #{id} was reported connected {connected} and \
                 disconnected {disconnected} times; expected once each"
            );
        }
        assert_eq!(
            server.handle().info().clients.len(),
            0,
            "round {round}: clients left in the DB after stop()"
        );
        drop((first, kept));
    }
}

/// A handler whose `connected` or `message` callback, once called, says so, waits for the
/// test's go, then runs `action` on the server (which it reaches through `server`) and
/// sends back what the action returned.
struct ControlFromCallback {
    server: Arc<OnceLock<Arc<TcpServer>>>,
    in_connected: bool,
    action: fn(&TcpServer) -> String,
    entered: Mutex<Sender<()>>,
    go: Mutex<Receiver<()>>,
    result: Mutex<Sender<String>>,
    reasons: Mutex<Sender<DisconnectReason>>,
    /// `disconnected` panics once it has sent its reason.
    disconnected_panics: Arc<std::sync::atomic::AtomicBool>,
}

impl ControlFromCallback {
    fn act(&self) {
        let _ = self.entered.lock().unwrap().send(());
        if self.go.lock().unwrap().recv_timeout(TIMEOUT).is_err() {
            return;
        }
        if let Some(server) = self.server.get() {
            let said = (self.action)(server);
            let _ = self.result.lock().unwrap().send(said);
        }
    }
}

impl Handler for ControlFromCallback {
    fn connected(&self, _: &ServerHandle, _: &Client) {
        if self.in_connected {
            self.act();
        }
    }
    fn message(&self, _: &ServerHandle, _: &Client, _: &[u8]) {
        if !self.in_connected {
            self.act();
        }
    }
    fn disconnected(&self, _: &ServerHandle, _: &Client, reason: &DisconnectReason) {
        let _ = self.reasons.lock().unwrap().send(reason.clone());
        if self.disconnected_panics.load(Ordering::SeqCst) {
            panic!("a disconnected callback that panics (as the test asked)");
        }
    }
}

/// What a test holds of a `ControlFromCallback` server.
struct Reentrant {
    server: Arc<TcpServer>,
    client: TcpStream,
    entered: Receiver<()>,
    go: Sender<()>,
    result: Receiver<String>,
    reasons: Receiver<DisconnectReason>,
    disconnected_panics: Arc<std::sync::atomic::AtomicBool>,
}

/// A started `ControlFromCallback` server with one client, whose callback has been entered
/// and waits for the go.
fn reentrant(in_connected: bool, action: fn(&TcpServer) -> String) -> Reentrant {
    let cell = Arc::new(OnceLock::new());
    let (entered_tx, entered) = channel();
    let (go, go_rx) = channel();
    let (result_tx, result) = channel();
    let (reasons_tx, reasons) = channel();
    let disconnected_panics = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handler = ControlFromCallback {
        server: Arc::clone(&cell),
        in_connected,
        action,
        entered: Mutex::new(entered_tx),
        go: Mutex::new(go_rx),
        result: Mutex::new(result_tx),
        reasons: Mutex::new(reasons_tx),
        disconnected_panics: Arc::clone(&disconnected_panics),
    };
    let server = Arc::new(TcpServer::new("reentrant", "127.0.0.1:0", handler).unwrap());
    server.start().unwrap();
    let _ = cell.set(Arc::clone(&server));
    let mut client = connect(addr(&server));
    if !in_connected {
        write(&mut client, b"go");
    }
    entered
        .recv_timeout(TIMEOUT)
        .expect("the callback was called");
    Reentrant {
        server,
        client,
        entered,
        go,
        result,
        reasons,
        disconnected_panics,
    }
}

/// Runs `control` on a thread of its own and returns a receiver told when it has returned,
/// so that a deadlock fails the test instead of hanging it.
fn on_a_thread<T: Send + 'static>(
    server: &Arc<TcpServer>,
    control: fn(&TcpServer) -> T,
) -> Receiver<T> {
    let (tx, rx) = channel();
    let server = Arc::clone(server);
    std::thread::spawn(move || {
        let _ = tx.send(control(&server));
    });
    rx
}

/// Waits until `what` holds, or fails the test naming `waiting_for`.
fn until(waiting_for: &str, what: impl FnMut() -> bool) {
    assert!(eventually(what), "{waiting_for}: not within {TIMEOUT:?}");
}

/// The application stops the server while a `message` callback (on the DRS, which `stop`
/// joins) also calls `stop`: both return, the client is told once.
#[test]
fn a_callback_may_stop_while_the_application_stops() {
    let mut r = reentrant(false, |server| {
        server.stop();
        "stopped".to_string()
    });
    let addr = addr(&r.server);
    let stopped = on_a_thread(&r.server, TcpServer::stop);
    // The application's stop has begun once the port is free again (the CAS goes first).
    until("the application's stop closing the port", || {
        std::net::TcpListener::bind(addr).is_ok()
    });
    r.go.send(()).unwrap();
    assert_eq!(
        r.result.recv_timeout(TIMEOUT).as_deref(),
        Ok("stopped"),
        "the callback's stop did not return: expected it not to wait for a stop that joins its own thread"
    );
    stopped.recv_timeout(TIMEOUT).expect(
        "the application's stop did not return: expected it to join the DRS once the callback returned",
    );
    assert_eq!(
        r.reasons.recv_timeout(TIMEOUT),
        Ok(DisconnectReason::ServerShutdown)
    );
    assert!(read_to_eof(&mut r.client).is_empty());
    assert!(r.entered.try_recv().is_err(), "one callback only");
}

/// The application stops accepting while a `connected` callback (on the CAS, which that
/// joins) calls `stop`: the stop is not lost, it is done once the CAS has been joined.
#[test]
fn a_callback_may_stop_while_accepting_is_turned_off() {
    let mut r = reentrant(true, |server| {
        server.stop();
        "asked".to_string()
    });
    let turned_off = on_a_thread(&r.server, |server| server.set_accepting(false));
    let server = Arc::clone(&r.server);
    until("set_accepting(false) to move the state", || {
        server.flags().contains(ServerFlags::NOT_ACCEPTING)
    });
    r.go.send(()).unwrap();
    assert_eq!(
        r.result.recv_timeout(TIMEOUT).as_deref(),
        Ok("asked"),
        "the callback's stop did not return: expected it not to wait for set_accepting, which joins its own thread"
    );
    let accepting = turned_off.recv_timeout(TIMEOUT).expect(
        "set_accepting(false) did not return: expected it to join the CAS once the callback returned",
    );
    assert!(accepting.is_ok(), "{accepting:?}");
    assert!(
        !r.server.flags().contains(ServerFlags::RUNNING),
        "expected the stop a callback asked for during set_accepting to be done by the time set_accepting returns"
    );
    assert_eq!(
        r.reasons.recv_timeout(TIMEOUT),
        Ok(DisconnectReason::ServerShutdown)
    );
    assert!(read_to_eof(&mut r.client).is_empty());
}

/// A reconfiguring call from a callback, while another thread's call is joining the
/// callback's thread, is refused with an error that names the other call, instead of
/// waiting for ever.
#[test]
fn a_callback_is_told_busy_instead_of_waiting_for_its_own_join() {
    let r = reentrant(true, |server| match server.set_listening(false) {
        Ok(()) => "done".to_string(),
        Err(e @ ServerError::Busy { .. }) => e.to_string(),
        Err(e) => format!("another error: {e:?}"),
    });
    let turned_off = on_a_thread(&r.server, |server| server.set_accepting(false));
    let server = Arc::clone(&r.server);
    until("set_accepting(false) to move the state", || {
        server.flags().contains(ServerFlags::NOT_ACCEPTING)
    });
    r.go.send(()).unwrap();
    let said = r
        .result
        .recv_timeout(TIMEOUT)
        .expect("set_listening from the callback did not return");
    assert!(
        said.contains("\"reentrant\"") && said.contains("set_accepting"),
        "expected a Busy error naming the server and the call in progress, got: {said}"
    );
    let accepting = turned_off
        .recv_timeout(TIMEOUT)
        .expect("set_accepting(false) did not return");
    assert!(accepting.is_ok(), "{accepting:?}");
    let flags = r.server.flags();
    assert!(
        flags.contains(ServerFlags::RUNNING) && !flags.contains(ServerFlags::NOT_LISTENING),
        "a refused call changes nothing: {flags:?}"
    );
}

/// A thread of the application's waits its turn behind a call that joins the server's
/// threads, even after it ran a callback itself (a `disconnect` calls `disconnected` on the
/// caller's thread): only calls from inside a callback are refused.
#[test]
fn an_application_thread_waits_its_turn_even_after_running_a_callback() {
    waits_its_turn_after_a_callback(false);
}

/// The same after a callback that panicked on the application's thread: the panic is
/// caught there, and the thread is no longer taken for one inside a callback.
#[test]
fn an_application_thread_waits_its_turn_even_after_a_callback_panicked() {
    waits_its_turn_after_a_callback(true);
}

fn waits_its_turn_after_a_callback(disconnected_panics: bool) {
    let r = reentrant(true, |_| String::new());
    r.disconnected_panics
        .store(disconnected_panics, Ordering::SeqCst);
    r.go.send(()).unwrap();
    r.result.recv_timeout(TIMEOUT).expect("the first connected");
    let first = r.server.clients()[0].id;
    let _second = connect(addr(&r.server));
    r.entered
        .recv_timeout(TIMEOUT)
        .expect("the second client's connected was called");
    let turned_off = on_a_thread(&r.server, |server| server.set_accepting(false));
    let server = Arc::clone(&r.server);
    until("set_accepting(false) to move the state", || {
        server.flags().contains(ServerFlags::NOT_ACCEPTING)
    });
    let (tx, listening) = channel();
    let server = Arc::clone(&r.server);
    std::thread::spawn(move || {
        assert!(server.disconnect(first));
        let _ = tx.send(server.set_listening(false));
    });
    assert_eq!(
        r.reasons.recv_timeout(TIMEOUT),
        Ok(DisconnectReason::Application),
        "the first client's disconnected, on the application's thread"
    );
    if let Ok(early) = listening.recv_timeout(SHORT) {
        panic!("expected set_listening from an application thread to wait for set_accepting(false), which waits for a callback; it returned {early:?}");
    }
    r.go.send(()).unwrap();
    let set = listening
        .recv_timeout(TIMEOUT)
        .expect("set_listening returned");
    assert!(set.is_ok(), "{set:?}");
    assert!(turned_off.recv_timeout(TIMEOUT).unwrap().is_ok());
    assert!(r.server.flags().contains(ServerFlags::NOT_LISTENING));
}
