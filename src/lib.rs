//! # tcpserverlib — Implementing Complex TCP Servers, in Rust with std alone
//!
//! This crate is two things at once: the companion of the course "Implementing Complex TCP
//! Servers" (read it with the mdBook in `book/`, one chapter per module), and a TCP server
//! library that can be run for real. Each module rebuilds one piece of the course's C++
//! library (github.com/sachinites/TCPServerLib) and is named after the concept it teaches.
//!
//! | module | chapter | course piece (C++ file) |
//! | --- | --- | --- |
//! | [`models`] | 0 | the lectures' five concurrency models (iterative, process, thread, pool, multiplexed) |
//! | [`controller`] | 1 | TcpServerController.h/.cpp |
//! | [`client`] | 1 | TcpClient.h/.cpp |
//! | [`acceptor`] | 2 | TcpNewConnectionAcceptor.h/.cpp (the CAS) |
//! | [`select`] | 3 | the `select()` call of the DRS, here `poll(2)` |
//! | [`multiplexer`] | 3 | TcpClientServiceManager.h/.cpp (the DRS) |
//! | [`poller`] | 3b | beyond the course: the DRS's registrations kept between waits, `poll` and `epoll` backends |
//! | [`client_db`] | 4 | TcpClientDbManager.h/.cpp (the DBMS and its locks) |
//! | [`circular_buffer`] | 5 | ByteCircularBuffer.h/.cpp |
//! | [`framing`] | 6 | the wire formats (fixed, length header, delimiter) and how a message is framed |
//! | [`demarcation`] | 6 | TcpMsgDemarcar, TcpMsgFixedSizeDemarcar, TcpMsgVariableSizeDemarcar |
//! | [`state`] | 7 | the `TCP_SERVER_*` state flags |
//! | [`wheel_timer`] | 8 | the WheelTimer library |
//! | `linger` | 8 | the lingering close (flush, half-close, drain, close) |
//! | [`keepalive`] | 8 | the keep-alive (hold) timer per client |
//! | [`stats`] | 9 | the per-client `conn` counters of TcpClient, taken to the whole server |
//! | [`client_thread`] | 10 | TcpClient::StartThread / ClientThreadFunction, the controller's client migration |
//! | [`admission`] | 2, CLI | the connection cap and the black-list (`max-clients`, `black-list` in TcpCmdCodes.h) |
//! | [`connector`] | 11 | TcpClient.cpp's `CreateActiveClient`, `TryClientConnect`, `connect_retry_fn` (the server in client mode) |
//! | [`cli`] | 1 on | the CommandParser CLI of `testapp` (`config tcp-server …`, `show …`) |
//! | [`demo`] | all | helpers shared by the chapter binaries `chN` |
//! | `tcpclient` | 6 on | the course's `tcp_client.cpp` test client: lines in, framed messages out (binary `tcpclient`) |
//! | `recorder`, `printer`, `console`, `wording` | all | the demo application, the stdout printer thread, stdin and Ctrl-C (shared by the shell and the chapter binaries) |
//!
//! Exercises: building with the feature `exNN` replaces the student's part of chapter NN (a
//! small child module of the chapter's module) with the stub in `chapters/`, and
//! `cargo test --features exNN --test chNN_…` checks the student's version.

// A stub's `todo!()`s leave parts of the given code unused until the student writes them.
#![cfg_attr(
    any(
        feature = "ex00",
        feature = "ex01",
        feature = "ex02",
        feature = "ex04",
        feature = "ex07"
    ),
    allow(dead_code)
)]

pub mod acceptor;
pub mod admission;
pub mod circular_buffer;
pub mod cli;
pub mod client;
pub mod client_db;
pub mod client_thread;
pub mod config;
mod connection;
pub mod connector;
#[doc(hidden)]
pub mod console;
pub mod controller;
pub mod demarcation;
#[doc(hidden)]
pub mod demo;
pub mod error;
pub mod framing;
pub mod handle;
pub mod info;
pub mod keepalive;
mod linger;
pub mod models;
pub mod multiplexer;
pub mod poller;
#[doc(hidden)]
pub mod printer;
#[doc(hidden)]
pub mod recorder;
pub mod select;
pub mod state;
pub mod stats;
pub mod sys;
#[doc(hidden)]
pub mod tcpclient;
pub mod wheel_timer;
#[doc(hidden)]
pub mod wording;

pub use client::{Client, ClientId};
pub use client_thread::ClientMode;
pub use config::Config;
pub use connector::{ConnectState, ConnectTarget};
pub use controller::{Handler, ServerHandle, TcpServer};
pub use demarcation::{ByteOrder, FrameError, Framing, ProtocolError};
pub use error::{ConnectError, DisconnectReason, MigrateError, SendError, ServerError};
pub use info::{ClientInfo, ServerInfo, ServerStats};
pub use keepalive::KeepAliveConfig;
pub use poller::PollerKind;
pub use state::{ClientFlags, ServerFlags, StateError};
pub use stats::{DisconnectKind, Disconnects, Traffic};
pub use sys::raise_fd_limit;
