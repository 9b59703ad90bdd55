//! Chapter 7 — the checked transitions of the server's state: what each CLI command may do
//! to the flags, and what it must refuse.
//!
//! Its own file so that exercise 7 (`--features ex07`) can swap it for
//! `chapters/ex07_transitions.rs`. The flag sets, `ServerState` itself and `StateError`
//! stay in the parent module, [`state`](super), whose private items (the `flags` field) a
//! child module may use.

use super::{ServerFlags, ServerState, StateError};

// ANCHOR: transitions
impl ServerState {
    // ANCHOR: predicates_sig
    /// True between a successful `start` and the next `stop`.
    pub fn is_running(&self) -> bool {
        // ANCHOR_END: predicates_sig
        self.flags.contains(ServerFlags::RUNNING)
    }

    /// True when the server runs and its CAS should accept new connections.
    pub fn is_accepting(&self) -> bool {
        self.is_running() && !self.flags.contains(ServerFlags::NOT_ACCEPTING)
    }

    /// True when the server runs and its DRS should read from its clients.
    pub fn is_listening(&self) -> bool {
        self.is_running() && !self.flags.contains(ServerFlags::NOT_LISTENING)
    }

    // ANCHOR: start_sig
    /// INITIALIZED → RUNNING. A stopped server may be started again.
    ///
    /// # Errors
    /// [`StateError::AlreadyRunning`].
    pub fn start(&mut self) -> Result<(), StateError> {
        // ANCHOR_END: start_sig
        if self.is_running() {
            return Err(StateError::AlreadyRunning);
        }
        self.flags
            .insert(ServerFlags::INITIALIZED | ServerFlags::RUNNING);
        Ok(())
    }

    // ANCHOR: stop_sig
    /// RUNNING → INITIALIZED (and every runtime flag cleared).
    ///
    /// `RUNNING`, `NOT_ACCEPTING` and `NOT_LISTENING` describe running services, so they go;
    /// `INITIALIZED` and `MULTI_THREADED_CLIENTS` are configuration, so they stay and a
    /// restart behaves like the first start.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn stop(&mut self) -> Result<(), StateError> {
        // ANCHOR_END: stop_sig
        if !self.is_running() {
            return Err(StateError::NotRunning);
        }
        self.flags
            .remove(ServerFlags::RUNNING | ServerFlags::NOT_ACCEPTING | ServerFlags::NOT_LISTENING);
        Ok(())
    }

    // ANCHOR: runtime_sig
    /// Sets or clears `NOT_ACCEPTING`; returns true when that changed something.
    ///
    /// `Ok(false)` is not an error: asking twice to stop accepting is harmless, and the
    /// controller uses the answer to know whether the CAS must actually be stopped.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_accepting(&mut self, accepting: bool) -> Result<bool, StateError> {
        // ANCHOR_END: runtime_sig
        self.set_runtime_flag(ServerFlags::NOT_ACCEPTING, !accepting)
    }

    /// Sets or clears `NOT_LISTENING`; returns true when that changed something.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_listening(&mut self, listening: bool) -> Result<bool, StateError> {
        self.set_runtime_flag(ServerFlags::NOT_LISTENING, !listening)
    }

    // ANCHOR: multi_sig
    /// Sets or clears `MULTI_THREADED_CLIENTS`; returns true when that changed something.
    ///
    /// Legal in every state: it is configuration, read by the controller when it accepts a
    /// client (chapter 10), so it applies to clients accepted afterwards and never moves a
    /// connected one.
    pub fn set_multi_threaded_clients(&mut self, on: bool) -> bool {
        // ANCHOR_END: multi_sig
        let was = self.flags.contains(ServerFlags::MULTI_THREADED_CLIENTS);
        if on {
            self.flags.insert(ServerFlags::MULTI_THREADED_CLIENTS);
        } else {
            self.flags.remove(ServerFlags::MULTI_THREADED_CLIENTS);
        }
        was != on
    }

    /// Sets (`on`) or clears a flag that only means something while the services run.
    fn set_runtime_flag(&mut self, flag: ServerFlags, on: bool) -> Result<bool, StateError> {
        if !self.is_running() {
            return Err(StateError::NotRunning);
        }
        let was = self.flags.contains(flag);
        if on {
            self.flags.insert(flag);
        } else {
            self.flags.remove(flag);
        }
        Ok(was != on)
    }
}
// ANCHOR_END: transitions
