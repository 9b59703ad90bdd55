//! Exercise 1 — the client record. Your version of `src/client.rs`.
//!
//! Run: `cargo test --features ex01 --test ch01_controller` (the feature swaps this file in
//! for the reference). Every test that creates a client fails until `Client::new`, its
//! `Display` and `ClientId`'s `Display` are written.
#![allow(unused_variables, dead_code)]

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

/// Identifies one client of one server for as long as the server lives; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// What the server knows about one connected client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// Handed out by the server in connection order, starting at 1.
    pub id: ClientId,
    /// The client's address and port.
    pub peer_addr: SocketAddr,
    /// Our end of the connection.
    pub local_addr: SocketAddr,
    /// Wall-clock time of the accept, for display.
    pub connected_at: SystemTime,
    /// Monotonic time of the accept, to measure how long it has been connected.
    pub connected_since: Instant,
}

impl Client {
    /// A record for a connection accepted just now.
    pub fn new(id: ClientId, peer_addr: SocketAddr, local_addr: SocketAddr) -> Client {
        // TODO: fill every field; "now" comes from SystemTime::now() and Instant::now().
        // Why two clocks? One is for people (a date), the other cannot jump backwards.
        todo!("ex01: Client::new")
    }

    /// How long the client has been connected.
    pub fn connected_for(&self) -> Duration {
        // TODO: measure from the monotonic clock, not the wall clock.
        todo!("ex01: Client::connected_for")
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // TODO: ids print as `#1`, `#2`, …
        todo!("ex01: Display for ClientId")
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // TODO: one line as `show tcp-server` lists clients:
        // `#3 127.0.0.1:53012 (connected 12s)` — id, peer address, whole seconds connected.
        todo!("ex01: Display for Client")
    }
}
