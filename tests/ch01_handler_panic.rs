//! Chapter 1 — a panicking callback costs at most its client: the client is disconnected
//! with the reason "handler panicked", and the thread that serves everyone goes on.

mod common;
use common::*;

use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;

use tcpserverlib::{Client, DisconnectReason, Handler, ServerHandle, TcpServer};

/// Echoes every message, except "boom", which panics; reports disconnects.
struct Fragile {
    gone: Mutex<Sender<DisconnectReason>>,
}

impl Handler for Fragile {
    fn message(&self, server: &ServerHandle, client: &Client, message: &[u8]) {
        if message == b"boom" {
            panic!("the application choked on boom");
        }
        let _ = server.send(client.id, message);
    }

    fn disconnected(&self, _: &ServerHandle, _: &Client, reason: &DisconnectReason) {
        let _ = self.gone.lock().unwrap().send(reason.clone());
    }
}

#[test]
fn a_panicking_message_callback_costs_only_its_client() {
    let (tx, gone) = mpsc::channel();
    let handler = Fragile {
        gone: Mutex::new(tx),
    };
    let server = TcpServer::new("fragile", "127.0.0.1:0", handler).unwrap();
    server.start().unwrap();
    let mut good = connect(addr(&server));
    let mut bad = connect(addr(&server));
    write(&mut good, b"before");
    assert_eq!(read_n(&mut good, 6), b"before");
    write(&mut bad, b"boom");
    let reason = gone
        .recv_timeout(TIMEOUT)
        .expect("the bad client is dropped");
    assert_eq!(
        reason,
        DisconnectReason::HandlerPanicked {
            message: "the application choked on boom".into()
        }
    );
    assert!(reason.to_string().starts_with("handler panicked"));
    assert_eq!(read_to_eof(&mut bad), b"");
    write(&mut good, b"after");
    assert_eq!(
        read_n(&mut good, 5),
        b"after",
        "the DRS still serves the others"
    );
}
