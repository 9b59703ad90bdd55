//! The thread pool of [`Model::ThreadPool`](super::Model::ThreadPool): a fixed number of
//! worker threads, one queue of accepted sockets. Its own file so that exercise 0
//! (`--features ex00`) can swap it for `chapters/ex00_pool.rs`; the `Pool` struct itself is
//! given, in the parent module.
//!
//! The queue is a std channel. Its receiving end is shared by every worker behind a mutex:
//! a worker holds the lock only while it takes one socket, then serves that client with the
//! lock released, so the other workers keep taking. Dropping the sending end is how the pool
//! is told to finish: each worker's `recv` then fails, once the queue is empty, and the worker
//! returns. Sockets still queued at a stop are taken and served like any other; their
//! service sees the stop at once and ends them.

use std::io;
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use super::{lock, serve, spawn, Pool, Shared};

// ANCHOR: pool

impl Pool {
    // ANCHOR: start_sig
    /// Starts `workers` threads, each taking clients from one shared queue.
    ///
    /// # Errors
    /// When a thread cannot be started (the ones already started finish and are joined).
    pub(super) fn start(workers: usize, shared: &Arc<Shared>) -> io::Result<Pool> {
        // ANCHOR_END: start_sig
        let (queue, jobs) = mpsc::channel();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut pool = Pool {
            queue,
            workers: Vec::new(),
        };
        for _ in 0..workers {
            let (jobs, shared_w) = (Arc::clone(&jobs), Arc::clone(shared));
            match spawn(shared, "worker", move || work(&jobs, &shared_w)) {
                Ok(worker) => pool.workers.push(worker),
                Err(e) => {
                    pool.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(pool)
    }

    // ANCHOR: submit_sig
    /// Queues a client for the next free worker.
    pub(super) fn submit(&self, stream: TcpStream) {
        // ANCHOR_END: submit_sig
        // Fails only when every worker is gone, and then dropping the client is all we can do.
        let _ = self.queue.send(stream);
    }

    // ANCHOR: shutdown_sig
    /// Closes the queue and joins every worker.
    pub(super) fn shutdown(self) {
        // ANCHOR_END: shutdown_sig
        let Pool { queue, workers } = self;
        drop(queue);
        for worker in workers {
            let _ = worker.join();
        }
    }
}

// ANCHOR: work_sig
/// One worker: take a client, serve it to its end, take the next; return when the queue is
/// closed and empty.
fn work(jobs: &Mutex<Receiver<TcpStream>>, shared: &Shared) {
    // ANCHOR_END: work_sig
    loop {
        // The guard is a temporary of this statement: the lock is released before `serve`.
        let next = lock(jobs).recv();
        match next {
            Ok(stream) => serve(stream, shared),
            Err(_) => return,
        }
    }
}
// ANCHOR_END: pool
