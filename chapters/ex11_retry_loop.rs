//! Exercise 11 — the connector's loop: your version of `src/connector/retry_loop.rs`.
//!
//! Build with `--features ex11` and this file replaces the loop that every connect target's
//! thread runs (the course's `TryClientConnect` and `connect_retry_fn`, made one loop). The
//! rest of `src/connector.rs` is given and stays where it is: `attempt` (one bounded connect,
//! which refuses the server's own address and drops a self-connect), and the `Link`
//! primitives that record what the connector does and wait, each woken at once by `cancel`
//! or `stop`. A child module may use its parent's private items, so you reach all of them.
//!
//! You write one function, `run`. Then run the chapter's tests:
//!
//! ```text
//! cargo test --features ex11 --test ch11_connect
//! ```
//!
//! Read chapter 11 of the book first (`book/src/ch11-client-mode.md`). The comment says what
//! the loop must achieve, not how; the chapter's "Exercise" section has hints, each folded,
//! to open one at a time when stuck. Keep the signature; write the body. Once your tests
//! pass, compare with the reference, `src/connector/retry_loop.rs` (also in the book's
//! Solutions page).

// The parameters are unused until you write the body.
#![allow(unused_variables, unused_imports)]

use std::net::SocketAddr;
use std::sync::Arc;

use super::{attempt, ConnectorHost, Link};

/// One connector's thread: connect to `target`, hand the connection over, wait for its end,
/// and again, until asked to stop (or until the connection ends with reconnecting off).
pub(super) fn run<H: ConnectorHost>(host: &Arc<H>, link: &Arc<Link>, target: SocketAddr) {
    // TODO: attempt after attempt (`attempt`), until asked to stop. Every failure is told
    // to the application and followed by a wait of the retry interval: a failure not waited
    // for is a connect storm, a wait not told is silent. A connection is handed over as a
    // client, with the marker that tells when that client has ended; once it has, the loop
    // ends (reconnecting off) or waits the interval before it connects again. Every wait
    // returns at once when asked to stop; `show` reads what the loop records in `link`.
    todo!("ex11: the connector's loop")
}
