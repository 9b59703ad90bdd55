//! Exercise 0 — the thread pool: your version of `src/models/pool.rs`.
//!
//! Build with `--features ex00` and this file replaces the pool of `Model::ThreadPool`. The
//! rest of `src/models.rs` is given: the `Pool` struct (its fields `queue` and `workers`), the
//! accept loop calls `Pool::start` once, `submit` for
//! every accepted client, and `shutdown` when the server stops. A child module may use its
//! parent's private items, so you reach `spawn` (start a thread the server counts), `serve`
//! (echo one client to its end, seeing a stop at once), `lock` and `Shared` through `super`.
//!
//! The design: one std channel of accepted sockets; its `Receiver` shared by every worker
//! behind an `Arc<Mutex<…>>`; dropping the `Sender` is how the pool is told to finish.
//! Then run the chapter's tests:
//!
//! ```text
//! cargo test --features ex00 --test ch00_models
//! ```
//!
//! Read chapter 0 of the book first (`book/src/ch00-models.md`); the reference is
//! `src/models/pool.rs`. Keep the signatures; write the bodies.

// The parameters and imports are unused until you write the bodies.
#![allow(unused_variables, unused_imports, dead_code)]

use std::io;
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{lock, serve, spawn, Pool, Shared};

impl Pool {
    /// Starts `workers` threads, each taking clients from one shared queue.
    ///
    /// # Errors
    /// When a thread cannot be started (the ones already started finish and are joined).
    pub(super) fn start(workers: usize, shared: &Arc<Shared>) -> io::Result<Pool> {
        // TODO: one queue whose receiving end every worker can take from, and `workers`
        // threads started with `spawn` (the given helper), each running `work`. If one cannot
        // be started, none of those already started may be left running.
        todo!("ex00: Pool::start")
    }

    /// Queues a client for the next free worker.
    pub(super) fn submit(&self, stream: TcpStream) {
        // TODO: send it on the queue. A send fails only when every worker is gone; then
        // dropping the client is all there is to do.
        todo!("ex00: Pool::submit")
    }

    /// Closes the queue and joins every worker.
    pub(super) fn shutdown(self) {
        // TODO: drop the `Sender` first (destructure `self`), so that each worker's `recv`
        // fails once the queue is empty; then join every worker. The other order waits for
        // ever.
        todo!("ex00: Pool::shutdown")
    }
}

/// One worker: take a client, serve it to its end, take the next; return when the queue is
/// closed and empty.
fn work(jobs: &Mutex<Receiver<TcpStream>>, shared: &Shared) {
    // TODO: loop { take the next stream with `lock(jobs).recv()`; on `Ok(stream)` call
    // `serve(stream, shared)`; on `Err(_)` (queue closed) return }.
    // Mind where the lock is released: bind the result of `recv` first, so the guard is
    // dropped before `serve` runs; a worker that serves while holding the lock makes every
    // other worker wait, and the pool serves one client at a time.
    todo!("ex00: work")
}
