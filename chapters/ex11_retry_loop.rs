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
//! Read chapter 11 of the book first (`book/src/ch11-client-mode.md`); the reference is
//! `src/connector/retry_loop.rs`. Keep the signature; write the body.

// The parameters are unused until you write the body.
#![allow(unused_variables, unused_imports)]

use std::net::SocketAddr;
use std::sync::Arc;

use super::{attempt, ConnectorHost, Link};

/// One connector's thread: connect to `target`, hand the connection over, wait for its end,
/// and again, until asked to stop (or until the connection ends with reconnecting off).
pub(super) fn run<H: ConnectorHost>(host: &Arc<H>, link: &Arc<Link>, target: SocketAddr) {
    // TODO: loop until `link.stopping()`. Each turn, `link.connecting()` (for `show`), then
    //       `attempt(target, &host.listening_addrs())`.
    // TODO: on `Err(e)`: take `link.retry_interval()`, record it with `link.failed(retry)`,
    //       tell the application with `host.connect_failed(target, &e, Some(retry))`, and wait
    //       with `link.wait_retry(retry)`; it returns true when you were asked to stop: leave.
    //       (A failure told but not waited for is a connect storm; a wait not told is silent.)
    // TODO: on `Ok(stream)` while `link.stopping()` (asked to stop during the attempt): leave;
    //       the stream is dropped, nobody wants it.
    // TODO: on `Ok(stream)`: make the end marker with `link.hand_over_link()` *before* the
    //       hand-over, and give both to `host.hand_over(stream, target, active)`: the client
    //       may end before `hand_over` returns, and the marker is how you will know.
    // TODO: then `link.wait_end()` until that client is gone (true: asked to stop, leave).
    //       If `!link.reconnects()`, record `link.finished()` and leave; otherwise record
    //       `link.waiting(retry)` and `link.wait_retry(retry)` before the next attempt, so that
    //       a peer that accepts and closes at once is not hammered.
    todo!("ex11: the connector's loop")
}
