//! Chapter 7 — server and client state flags.
//!
//! The course keeps a server's state in one integer of `TCP_SERVER_*` bits: INITIALIZED (1),
//! RUNNING (2), NOT_ACCEPTING_NEW_CONNECTIONS (4), NOT_LISTENING_CLIENTS (8) and
//! CREATE_MULTI_THREADED_CLIENT (16). They are not mutually exclusive: a running server may
//! have stopped accepting new connections and still listen to the ones it has. The CLI turns
//! them on and off (`config tcp-server NAME [no] disable-conn-accept`, `… disable-client-listen`)
//! and `show tcp-server NAME` prints them.
//!
//! What changes in Rust: a bare integer would let any code set any bit at any time. Here the
//! bits live in two small types, [`ServerFlags`] and [`ClientFlags`], that can only be built
//! from their named constants, and the server's flags can only change through the
//! transitions of [`ServerState`], each of which refuses an illegal move with a
//! [`StateError`] instead of silently doing nothing. Nothing here knows about threads or
//! sockets: the controller calls a transition first and, only if it succeeds, stops or starts
//! the CAS or the DRS.
//!
//! A production crate would use `bitflags`; the two types are hand-rolled (about forty lines,
//! written once through a small macro) because seeing how a flag set works is the lesson.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

// The transitions (start, stop, accepting, listening, multi-threaded) are exercise 7: the
// feature swaps in the student's file. A `path` given here is relative to `src/`.
#[cfg_attr(feature = "ex07", path = "../chapters/ex07_transitions.rs")]
mod transitions;

// ANCHOR: flag_set_macro
/// Gives a `struct Name(u8)` of flags the same small API: `empty`, `bits`, `contains`,
/// `insert`, `remove`, `is_empty`, `|`, `|=`, and a `Display` that joins the names of the set
/// flags with `|` (or prints `-` for the empty set), as `show tcp-server` does.
///
/// A macro rather than a trait because the constants and operators are the same text for
/// both types and a trait cannot give a type inherent `const`s or operator impls.
macro_rules! flag_set {
    ($name:ident { $($flag:ident),+ $(,)? }) => {
        impl $name {
            /// Every named flag, in bit order, with the name `Display` prints.
            const NAMED: &'static [($name, &'static str)] =
                &[$(($name::$flag, stringify!($flag))),+];

            /// The set with no flag.
            pub const fn empty() -> $name {
                $name(0)
            }

            /// The raw bits, as the course's C++ integer would hold them.
            pub const fn bits(self) -> u8 {
                self.0
            }

            /// True when every flag of `other` is set here.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Sets every flag of `other`.
            pub fn insert(&mut self, other: $name) {
                self.0 |= other.0;
            }

            /// Clears every flag of `other`.
            pub fn remove(&mut self, other: $name) {
                self.0 &= !other.0;
            }

            /// True when no flag is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
        }

        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                self.0 |= rhs.0;
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.is_empty() {
                    return f.write_str("-");
                }
                let mut first = true;
                for (flag, name) in $name::NAMED {
                    if self.contains(*flag) {
                        if !first {
                            f.write_str("|")?;
                        }
                        f.write_str(name)?;
                        first = false;
                    }
                }
                Ok(())
            }
        }
    };
}
// ANCHOR_END: flag_set_macro

// ANCHOR: server_flags
/// The course's `TCP_SERVER_*` flags, which are not mutually exclusive.
///
/// Printed as `INITIALIZED|RUNNING|NOT_ACCEPTING`, or `-` when no flag is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerFlags(u8);

impl ServerFlags {
    /// The server object exists and is configured (the course's `TCP_SERVER_INITIALIZED`).
    pub const INITIALIZED: ServerFlags = ServerFlags(1);
    /// Its services were started and not yet stopped (`TCP_SERVER_RUNNING`).
    pub const RUNNING: ServerFlags = ServerFlags(2);
    /// The CAS is stopped: no new connection is accepted
    /// (`TCP_SERVER_NOT_ACCEPTING_NEW_CONNECTIONS`).
    pub const NOT_ACCEPTING: ServerFlags = ServerFlags(4);
    /// The DRS does not read from connected clients (it still writes what they are owed)
    /// (`TCP_SERVER_NOT_LISTENING_CLIENTS`).
    pub const NOT_LISTENING: ServerFlags = ServerFlags(8);
    /// The course's `TCP_SERVER_CREATE_MULTI_THREADED_CLIENT`: every client accepted while it
    /// is set gets a thread of its own instead of the DRS (chapter 10 implements it).
    pub const MULTI_THREADED_CLIENTS: ServerFlags = ServerFlags(16);
}

flag_set!(ServerFlags {
    INITIALIZED,
    RUNNING,
    NOT_ACCEPTING,
    NOT_LISTENING,
    MULTI_THREADED_CLIENTS,
});
// ANCHOR_END: server_flags

// ANCHOR: client_flags
/// Per-client state, shown next to each client by `show tcp-server`.
///
/// The course keeps these facts in separate fields of `TcpClient`; one flag set makes the
/// client's line in `show` as compact as the server's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientFlags(u8);

impl ClientFlags {
    /// The client's socket is in the DRS's set: its input is being read.
    pub const LISTENED: ClientFlags = ClientFlags(1);
    /// The client is served by a thread of its own rather than by the DRS (chapter 10).
    pub const MULTI_THREADED: ClientFlags = ClientFlags(2);
    /// A keep-alive (hold) timer is running for this client on the wheel timer.
    pub const KEEPALIVE_ARMED: ClientFlags = ClientFlags(4);
    /// The connection is being torn down; nothing new is started for it.
    pub const CLOSING: ClientFlags = ClientFlags(8);
    /// Reserved for the server in client mode (chapter 11): a connection the server opened
    /// itself rather than accepted, the course's active client. No connection of this crate
    /// carries it until that chapter sets it.
    pub const ACTIVE: ClientFlags = ClientFlags(16);
}

flag_set!(ClientFlags {
    LISTENED,
    MULTI_THREADED,
    KEEPALIVE_ARMED,
    CLOSING,
    ACTIVE,
});
// ANCHOR_END: client_flags

// ANCHOR: state_error
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
        match self {
            StateError::NotRunning => f.write_str("the server is not running; start it first"),
            StateError::AlreadyRunning => {
                f.write_str("the server is already running; stop it before starting it again")
            }
        }
    }
}
impl std::error::Error for StateError {}
// ANCHOR_END: state_error

// ANCHOR: server_state
/// The server's state and the transitions the controller may make.
///
/// The controller calls the transition first and touches threads only when it succeeded, so
/// the flags never claim something the services are not doing.
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
}
// ANCHOR_END: server_state
