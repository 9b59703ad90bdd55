//! Exercise 7 — the checked state transitions: your version of `src/state/transitions.rs`.
//!
//! What you write: the predicates `is_running`, `is_accepting`, `is_listening` and the
//! transitions `start`, `stop`, `set_accepting`, `set_listening`,
//! `set_multi_threaded_clients` of `ServerState`. Everything else of `src/state.rs` is given:
//! the flag sets (`ServerFlags` with `contains`, `insert`, `remove`, `|`), `ServerState`
//! with its private `flags` field (a child module may use it), `ServerState::new`, `flags`,
//! and `StateError` with its messages. The controller calls your transitions before it
//! starts or stops a thread, so the whole server depends on them.
//!
//! Build with `--features ex07` and run the chapter's tests:
//!
//! ```text
//! cargo test --features ex07 --test ch07_state
//! cargo test --features ex07 --test ch07_runtime
//! ```
//!
//! Read chapter 7 of the book first (`book/src/ch07-state.md`); the reference is
//! `src/state/transitions.rs` (and the book's Solutions page). Keep the signatures; write the
//! bodies.

// The parameters and imports are unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use super::{ServerFlags, ServerState, StateError};

impl ServerState {
    /// True between a successful `start` and the next `stop`.
    pub fn is_running(&self) -> bool {
        // TODO: one flag answers this; `ServerFlags::contains` tests it.
        todo!("ex07: ServerState::is_running")
    }

    /// True when the server runs and its CAS should accept new connections.
    pub fn is_accepting(&self) -> bool {
        // TODO: running, and the flag that says the CAS is stopped is not set.
        todo!("ex07: ServerState::is_accepting")
    }

    /// True when the server runs and its DRS should read from its clients.
    pub fn is_listening(&self) -> bool {
        // TODO: as `is_accepting`, with the flag about reading clients.
        todo!("ex07: ServerState::is_listening")
    }

    /// INITIALIZED → RUNNING. A stopped server may be started again.
    ///
    /// # Errors
    /// [`StateError::AlreadyRunning`].
    pub fn start(&mut self) -> Result<(), StateError> {
        // TODO: refuse a second start, and leave the flags untouched when you refuse.
        // Otherwise set RUNNING (INITIALIZED is already set by `new`, and stays set).
        todo!("ex07: ServerState::start")
    }

    /// RUNNING → INITIALIZED (and every runtime flag cleared).
    ///
    /// `RUNNING`, `NOT_ACCEPTING` and `NOT_LISTENING` describe running services, so they go;
    /// `INITIALIZED` and `MULTI_THREADED_CLIENTS` are configuration, so they stay and a
    /// restart behaves like the first start.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn stop(&mut self) -> Result<(), StateError> {
        // TODO: refuse on a server that is not running. `remove` takes a set: `A | B | C`
        // clears three flags in one call.
        todo!("ex07: ServerState::stop")
    }

    /// Sets or clears `NOT_ACCEPTING`; returns true when that changed something.
    ///
    /// `Ok(false)` is not an error: asking twice to stop accepting is harmless, and the
    /// controller uses the answer to know whether the CAS must actually be stopped.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_accepting(&mut self, accepting: bool) -> Result<bool, StateError> {
        // TODO: note the negation: accepting is the flag NOT_ACCEPTING *cleared*. This and
        // `set_listening` differ only in their flag: one private helper of your own
        // (`fn set_runtime_flag(&mut self, flag: ServerFlags, on: bool)`) can do both.
        todo!("ex07: ServerState::set_accepting")
    }

    /// Sets or clears `NOT_LISTENING`; returns true when that changed something.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_listening(&mut self, listening: bool) -> Result<bool, StateError> {
        // TODO: as `set_accepting`, on NOT_LISTENING.
        todo!("ex07: ServerState::set_listening")
    }

    /// Sets or clears `MULTI_THREADED_CLIENTS`; returns true when that changed something.
    ///
    /// Legal in every state: it is configuration, read by the controller when it accepts a
    /// client (chapter 10), so it applies to clients accepted afterwards and never moves a
    /// connected one.
    pub fn set_multi_threaded_clients(&mut self, on: bool) -> bool {
        // TODO: remember whether the flag was set, set or clear it, and compare.
        todo!("ex07: ServerState::set_multi_threaded_clients")
    }
}
