//! Exercise 7 — server and client state flags (the stub of `src/state.rs`).
//!
//! Build with `--features ex07` and this file replaces the reference module. Fill in every
//! `todo!()` until the chapter's tests pass:
//!
//! ```text
//! cargo test --features ex07 --test ch07_state
//! ```
//!
//! Read `book/src/ch07-state.md` first. The types, constants and signatures are the ones the
//! rest of the crate uses: keep them, change only the bodies.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Gives a `struct Name(u8)` of flags its small API and its `Display`; written once for both
/// flag types.
macro_rules! flag_set {
    ($name:ident { $($flag:ident),+ $(,)? }) => {
        impl $name {
            /// Every named flag, in bit order, with the name `Display` prints.
            // TODO: use this table in `Display` (stringify! turns `RUNNING` into "RUNNING").
            #[allow(dead_code)]
            const NAMED: &'static [($name, &'static str)] =
                &[$(($name::$flag, stringify!($flag))),+];

            /// The set with no flag.
            pub const fn empty() -> $name {
                // TODO: no bit set.
                todo!()
            }

            /// The raw bits, as the course's C++ integer would hold them.
            pub const fn bits(self) -> u8 {
                // TODO: the inner integer.
                todo!()
            }

            /// True when every flag of `other` is set here.
            pub const fn contains(self, other: $name) -> bool {
                // TODO: every bit of `other` is also in `self` (think `&`). An empty `other`
                // is contained in every set.
                let _ = other;
                todo!()
            }

            /// Sets every flag of `other`.
            pub fn insert(&mut self, other: $name) {
                // TODO: `|=`
                let _ = other;
                todo!()
            }

            /// Clears every flag of `other`.
            pub fn remove(&mut self, other: $name) {
                // TODO: keep only the bits that are not in `other` (`& !`).
                let _ = other;
                todo!()
            }

            /// True when no flag is set.
            pub const fn is_empty(self) -> bool {
                todo!()
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                // TODO: the union of both sets.
                let _ = rhs;
                todo!()
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                let _ = rhs;
                todo!()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // TODO: `-` for the empty set; otherwise the names of the set flags, in the
                // order of NAMED, joined with `|`: "INITIALIZED|RUNNING|NOT_ACCEPTING".
                let _ = f;
                todo!()
            }
        }
    };
}

/// The course's `TCP_SERVER_*` flags, which are not mutually exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerFlags(u8);

impl ServerFlags {
    /// The server object exists and is configured (`TCP_SERVER_INITIALIZED`).
    pub const INITIALIZED: ServerFlags = ServerFlags(1);
    /// Its services were started and not yet stopped (`TCP_SERVER_RUNNING`).
    pub const RUNNING: ServerFlags = ServerFlags(2);
    /// The CAS is stopped (`TCP_SERVER_NOT_ACCEPTING_NEW_CONNECTIONS`).
    pub const NOT_ACCEPTING: ServerFlags = ServerFlags(4);
    /// The DRS does not read from clients (`TCP_SERVER_NOT_LISTENING_CLIENTS`).
    pub const NOT_LISTENING: ServerFlags = ServerFlags(8);
    /// The course's `TCP_SERVER_CREATE_MULTI_THREADED_CLIENT`: every client accepted while it
    /// is set gets a thread of its own (chapter 10).
    pub const MULTI_THREADED_CLIENTS: ServerFlags = ServerFlags(16);
}

flag_set!(ServerFlags {
    INITIALIZED,
    RUNNING,
    NOT_ACCEPTING,
    NOT_LISTENING,
    MULTI_THREADED_CLIENTS,
});

/// Per-client state, shown next to each client by `show tcp-server`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientFlags(u8);

impl ClientFlags {
    /// The client's socket is in the DRS's set.
    pub const LISTENED: ClientFlags = ClientFlags(1);
    /// The client is served by a thread of its own (chapter 10).
    pub const MULTI_THREADED: ClientFlags = ClientFlags(2);
    /// A keep-alive (hold) timer is running for this client.
    pub const KEEPALIVE_ARMED: ClientFlags = ClientFlags(4);
    /// The connection is being torn down.
    pub const CLOSING: ClientFlags = ClientFlags(8);
    /// The server opened this connection itself (chapter 11).
    pub const ACTIVE: ClientFlags = ClientFlags(16);
}

flag_set!(ClientFlags {
    LISTENED,
    MULTI_THREADED,
    KEEPALIVE_ARMED,
    CLOSING,
    ACTIVE,
});

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
        // TODO: say what was wrong and what to do: the tests expect
        // "the server is not running; start it first" and
        // "the server is already running; stop it before starting it again".
        let _ = f;
        todo!()
    }
}
impl std::error::Error for StateError {}

/// The server's state and the transitions the controller may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerState {
    /// Private so that every change goes through a transition that checks it is legal.
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

    /// True between a successful `start` and the next `stop`.
    pub fn is_running(&self) -> bool {
        todo!()
    }

    /// True when the server runs and its CAS should accept new connections.
    pub fn is_accepting(&self) -> bool {
        todo!()
    }

    /// True when the server runs and its DRS should read from its clients.
    pub fn is_listening(&self) -> bool {
        todo!()
    }

    /// INITIALIZED → RUNNING. A stopped server may be started again.
    ///
    /// # Errors
    /// [`StateError::AlreadyRunning`].
    pub fn start(&mut self) -> Result<(), StateError> {
        // TODO: refuse when RUNNING is already set; otherwise set it.
        todo!()
    }

    /// RUNNING → INITIALIZED (and every runtime flag cleared).
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn stop(&mut self) -> Result<(), StateError> {
        // TODO: clear RUNNING, NOT_ACCEPTING and NOT_LISTENING; keep INITIALIZED and
        // MULTI_THREADED_CLIENTS (they are configuration, not runtime state).
        todo!()
    }

    /// Sets or clears `NOT_ACCEPTING`; returns true when that changed something.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_accepting(&mut self, accepting: bool) -> Result<bool, StateError> {
        // TODO: `accepting == false` means NOT_ACCEPTING is set. Ok(false) when it already
        // was as asked: that is not an error.
        let _ = accepting;
        todo!()
    }

    /// Sets or clears `NOT_LISTENING`; returns true when that changed something.
    ///
    /// # Errors
    /// [`StateError::NotRunning`].
    pub fn set_listening(&mut self, listening: bool) -> Result<bool, StateError> {
        // TODO: as set_accepting, with NOT_LISTENING. A shared private helper saves a copy.
        let _ = listening;
        todo!()
    }

    /// Sets or clears `MULTI_THREADED_CLIENTS`; returns true when that changed something.
    /// Legal in every state.
    pub fn set_multi_threaded_clients(&mut self, on: bool) -> bool {
        let _ = on;
        todo!()
    }
}
