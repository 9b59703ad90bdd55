//! The connector's loop: the course's `TryClientConnect` and `connect_retry_fn`, made one
//! loop that can be asked to stop at every wait. Exercise 11 is this file.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{attempt, ConnectorHost, Link};

// ANCHOR: run_full
// ANCHOR: run
/// One connector's thread: connect to `target`, hand the connection over, wait for its end,
/// and again, until asked to stop (or until the connection ends with reconnecting off).
pub(super) fn run<H: ConnectorHost>(host: &Arc<H>, link: &Arc<Link>, target: SocketAddr) {
    // ANCHOR_END: run
    while !link.stopping() {
        link.connecting();
        match attempt(target, &host.listening_addrs()) {
            // Asked to stop while the attempt was in flight: the connection is not wanted.
            Ok(_) if link.stopping() => return,
            Ok(stream) => {
                let active = link.hand_over_link();
                host.hand_over(stream, target, active);
                if link.wait_end() {
                    return;
                }
                if !link.reconnects() {
                    link.finished();
                    return;
                }
                // A peer that accepts and closes at once must not turn us into a connect
                // storm: a reconnect waits the interval too.
                let retry = link.retry_interval();
                link.waiting(retry);
                if link.wait_retry(retry) {
                    return;
                }
            }
            Err(e) => {
                let retry = link.retry_interval();
                link.failed(retry);
                host.connect_failed(target, &e, Some(retry));
                if link.wait_retry(retry) {
                    return;
                }
            }
        }
    }
}
// ANCHOR_END: run_full
