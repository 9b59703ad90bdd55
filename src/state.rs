//! Chapter 7 — server and client state flags. (Interface fixed; bodies being written.)

use std::fmt;

/// The course's `TCP_SERVER_*` flags, which are not mutually exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerFlags(u8);

impl ServerFlags {
    pub const INITIALIZED: ServerFlags = ServerFlags(1);
    pub const RUNNING: ServerFlags = ServerFlags(2);
    pub const NOT_ACCEPTING: ServerFlags = ServerFlags(4);
    pub const NOT_LISTENING: ServerFlags = ServerFlags(8);
    pub const MULTI_THREADED_CLIENTS: ServerFlags = ServerFlags(16);

    /// True when every flag of `other` is set here.
    pub fn contains(self, other: ServerFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for ServerFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (1, "INITIALIZED"),
            (2, "RUNNING"),
            (4, "NOT_ACCEPTING"),
            (8, "NOT_LISTENING"),
            (16, "MULTI_THREADED_CLIENTS"),
        ];
        let v: Vec<&str> = names
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&v.join("|"))
    }
}

/// An illegal transition of the server's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// The operation needs a running server.
    NotRunning,
    /// `start` on a server that is already running.
    AlreadyRunning,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for StateError {}

/// The server's state and the transitions the controller may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerState {
    flags: ServerFlags,
}

impl Default for ServerState {
    fn default() -> Self {
        ServerState::new()
    }
}

impl ServerState {
    /// A created, not yet started server: `INITIALIZED`.
    pub fn new() -> ServerState {
        ServerState {
            flags: ServerFlags::INITIALIZED,
        }
    }
    /// The flags as they stand.
    pub fn flags(&self) -> ServerFlags {
        self.flags
    }
    /// INITIALIZED → RUNNING.
    ///
    /// # Errors
    /// [`StateError::AlreadyRunning`].
    pub fn start(&mut self) -> Result<(), StateError> {
        if self.flags.contains(ServerFlags::RUNNING) {
            return Err(StateError::AlreadyRunning);
        }
        self.flags.0 |= 2;
        Ok(())
    }
    /// RUNNING → INITIALIZED (and every runtime flag cleared).
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn stop(&mut self) -> Result<(), StateError> {
        if !self.flags.contains(ServerFlags::RUNNING) {
            return Err(StateError::NotRunning);
        }
        self.flags.0 = 1;
        Ok(())
    }
    /// Sets or clears `NOT_ACCEPTING`; returns true when that changed something.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_accepting(&mut self, accepting: bool) -> Result<bool, StateError> {
        self.set(4, !accepting)
    }
    fn set(&mut self, bit: u8, on: bool) -> Result<bool, StateError> {
        if !self.flags.contains(ServerFlags::RUNNING) {
            return Err(StateError::NotRunning);
        }
        let was = self.flags.0 & bit != 0;
        if on {
            self.flags.0 |= bit
        } else {
            self.flags.0 &= !bit
        }
        Ok(was != on)
    }
    /// Sets or clears `NOT_LISTENING`; returns true when that changed something.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_listening(&mut self, listening: bool) -> Result<bool, StateError> {
        self.set(8, !listening)
    }
}
