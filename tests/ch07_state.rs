//! Chapter 7 — the server and client state flags, through the public API only.
//!
//! Run: `cargo test --test ch07_state` (or `--features ex07` for the exercise).

use tcpserverlib::state::{ClientFlags, ServerFlags, ServerState, StateError};

/// `empty`, `insert`, `remove`, `contains`, `is_empty`, `bits` and `|` behave as a set of
/// independent bits: the course's states are not mutually exclusive.
#[test]
fn server_flags_are_a_set_of_independent_bits() {
    let mut flags = ServerFlags::empty();
    assert!(flags.is_empty());
    assert_eq!(flags.bits(), 0);
    assert_eq!(flags, ServerFlags::default());

    flags.insert(ServerFlags::INITIALIZED | ServerFlags::RUNNING);
    assert_eq!(flags.bits(), 1 | 2);
    assert!(flags.contains(ServerFlags::RUNNING));
    assert!(flags.contains(ServerFlags::INITIALIZED | ServerFlags::RUNNING));
    assert!(!flags.contains(ServerFlags::RUNNING | ServerFlags::NOT_ACCEPTING));
    assert!(flags.contains(ServerFlags::empty()));

    flags |= ServerFlags::NOT_LISTENING;
    assert_eq!(flags.bits(), 1 | 2 | 8);
    flags.insert(ServerFlags::NOT_LISTENING);
    assert_eq!(flags.bits(), 1 | 2 | 8, "inserting twice changes nothing");

    flags.remove(ServerFlags::RUNNING | ServerFlags::NOT_ACCEPTING);
    assert_eq!(
        flags.bits(),
        1 | 8,
        "removing an absent flag changes nothing"
    );
    flags.remove(ServerFlags::INITIALIZED | ServerFlags::NOT_LISTENING);
    assert!(flags.is_empty());
}

/// The server flags keep the course's numeric values, so `bits()` reads like the C++ state.
#[test]
fn server_flags_keep_the_course_values() {
    assert_eq!(ServerFlags::INITIALIZED.bits(), 1);
    assert_eq!(ServerFlags::RUNNING.bits(), 2);
    assert_eq!(ServerFlags::NOT_ACCEPTING.bits(), 4);
    assert_eq!(ServerFlags::NOT_LISTENING.bits(), 8);
    assert_eq!(ServerFlags::MULTI_THREADED_CLIENTS.bits(), 16);
}

/// Display joins the set flags' names with `|` in bit order, and prints `-` for no flag.
#[test]
fn server_flags_display_like_show_tcp_server() {
    assert_eq!(ServerFlags::empty().to_string(), "-");
    assert_eq!(ServerFlags::RUNNING.to_string(), "RUNNING");
    let flags = ServerFlags::NOT_ACCEPTING | ServerFlags::INITIALIZED | ServerFlags::RUNNING;
    assert_eq!(flags.to_string(), "INITIALIZED|RUNNING|NOT_ACCEPTING");
    let all = flags | ServerFlags::NOT_LISTENING | ServerFlags::MULTI_THREADED_CLIENTS;
    assert_eq!(
        all.to_string(),
        "INITIALIZED|RUNNING|NOT_ACCEPTING|NOT_LISTENING|MULTI_THREADED_CLIENTS"
    );
}

/// The client flag set has the same API and its own names.
#[test]
fn client_flags_have_the_same_api() {
    let mut flags = ClientFlags::empty();
    assert!(flags.is_empty());
    assert_eq!(flags.to_string(), "-");
    flags |= ClientFlags::LISTENED;
    flags.insert(ClientFlags::KEEPALIVE_ARMED);
    assert!(flags.contains(ClientFlags::LISTENED | ClientFlags::KEEPALIVE_ARMED));
    assert!(!flags.contains(ClientFlags::CLOSING));
    assert_eq!(flags.to_string(), "LISTENED|KEEPALIVE_ARMED");
    flags.remove(ClientFlags::KEEPALIVE_ARMED);
    flags.insert(ClientFlags::CLOSING | ClientFlags::MULTI_THREADED);
    assert_eq!(flags.to_string(), "LISTENED|MULTI_THREADED|CLOSING");
    let distinct = [
        ClientFlags::LISTENED,
        ClientFlags::MULTI_THREADED,
        ClientFlags::KEEPALIVE_ARMED,
        ClientFlags::CLOSING,
    ];
    let all = distinct
        .iter()
        .fold(ClientFlags::empty(), |acc, f| acc | *f);
    assert_eq!(
        all.bits().count_ones(),
        4,
        "every client flag is its own bit"
    );
    assert_eq!(
        all.to_string(),
        "LISTENED|MULTI_THREADED|KEEPALIVE_ARMED|CLOSING"
    );
}

/// A new server is INITIALIZED only, and neither running, accepting nor listening.
#[test]
fn a_new_server_is_initialized_only() {
    let state = ServerState::new();
    assert_eq!(state.flags(), ServerFlags::INITIALIZED);
    assert_eq!(state, ServerState::default());
    assert!(!state.is_running());
    assert!(!state.is_accepting());
    assert!(!state.is_listening());
    assert_eq!(state.flags().to_string(), "INITIALIZED");
}

/// start sets RUNNING; a second start is refused with AlreadyRunning and changes nothing.
#[test]
fn start_twice_is_already_running() {
    let mut state = ServerState::new();
    assert_eq!(state.start(), Ok(()));
    assert_eq!(
        state.flags(),
        ServerFlags::INITIALIZED | ServerFlags::RUNNING
    );
    assert!(state.is_running() && state.is_accepting() && state.is_listening());
    let before = state;
    assert_eq!(state.start(), Err(StateError::AlreadyRunning));
    assert_eq!(state, before);
}

/// stop on a server that is not running is refused with NotRunning and changes nothing.
#[test]
fn stop_before_start_is_not_running() {
    let mut state = ServerState::new();
    assert_eq!(state.stop(), Err(StateError::NotRunning));
    assert_eq!(state, ServerState::new());
    state.start().unwrap();
    state.stop().unwrap();
    assert_eq!(state.stop(), Err(StateError::NotRunning), "stop twice");
}

/// set_accepting and set_listening need a running server, before start and after stop.
#[test]
fn runtime_flags_need_a_running_server() {
    let mut state = ServerState::new();
    for accepting in [true, false] {
        assert_eq!(state.set_accepting(accepting), Err(StateError::NotRunning));
        assert_eq!(state.set_listening(accepting), Err(StateError::NotRunning));
    }
    assert_eq!(state, ServerState::new());
    state.start().unwrap();
    state.stop().unwrap();
    assert_eq!(state.set_accepting(false), Err(StateError::NotRunning));
    assert_eq!(state.set_listening(false), Err(StateError::NotRunning));
}

/// set_accepting(false) sets NOT_ACCEPTING and says whether it changed; true clears it.
#[test]
fn set_accepting_reports_whether_it_changed() {
    let mut state = ServerState::new();
    state.start().unwrap();
    assert_eq!(state.set_accepting(true), Ok(false), "already accepting");
    assert_eq!(state.set_accepting(false), Ok(true));
    assert!(state.flags().contains(ServerFlags::NOT_ACCEPTING));
    assert!(!state.is_accepting());
    assert!(state.is_listening(), "the flags are independent");
    assert_eq!(
        state.flags().to_string(),
        "INITIALIZED|RUNNING|NOT_ACCEPTING"
    );
    assert_eq!(
        state.set_accepting(false),
        Ok(false),
        "already not accepting"
    );
    assert_eq!(state.set_accepting(true), Ok(true));
    assert_eq!(
        state.flags(),
        ServerFlags::INITIALIZED | ServerFlags::RUNNING
    );
}

/// set_listening mirrors set_accepting on NOT_LISTENING.
#[test]
fn set_listening_reports_whether_it_changed() {
    let mut state = ServerState::new();
    state.start().unwrap();
    assert_eq!(state.set_listening(true), Ok(false));
    assert_eq!(state.set_listening(false), Ok(true));
    assert!(!state.is_listening());
    assert!(state.is_accepting());
    assert_eq!(state.set_listening(false), Ok(false));
    assert_eq!(
        state.flags().to_string(),
        "INITIALIZED|RUNNING|NOT_LISTENING"
    );
    assert_eq!(state.set_listening(true), Ok(true));
    assert_eq!(
        state.flags(),
        ServerFlags::INITIALIZED | ServerFlags::RUNNING
    );
}

/// stop clears RUNNING, NOT_ACCEPTING and NOT_LISTENING, keeps INITIALIZED and the
/// multi-threaded configuration, and the server can be started again.
#[test]
fn stop_clears_runtime_flags_and_allows_restart() {
    let mut state = ServerState::new();
    assert!(state.set_multi_threaded_clients(true));
    state.start().unwrap();
    state.set_accepting(false).unwrap();
    state.set_listening(false).unwrap();
    assert_eq!(
        state.flags().to_string(),
        "INITIALIZED|RUNNING|NOT_ACCEPTING|NOT_LISTENING|MULTI_THREADED_CLIENTS"
    );
    assert_eq!(state.stop(), Ok(()));
    assert_eq!(
        state.flags(),
        ServerFlags::INITIALIZED | ServerFlags::MULTI_THREADED_CLIENTS
    );
    assert_eq!(state.start(), Ok(()));
    assert!(state.is_accepting() && state.is_listening());
}

/// The multi-threaded-clients flag is configuration: legal in every state, reports changes.
#[test]
fn multi_threaded_clients_is_configuration() {
    let mut state = ServerState::new();
    assert!(!state.set_multi_threaded_clients(false));
    assert!(state.set_multi_threaded_clients(true));
    assert!(!state.set_multi_threaded_clients(true));
    state.start().unwrap();
    assert!(state.set_multi_threaded_clients(false));
    assert!(!state.flags().contains(ServerFlags::MULTI_THREADED_CLIENTS));
}

/// Errors say what was wrong and what to do instead.
#[test]
fn errors_name_the_problem_and_the_fix() {
    assert_eq!(
        StateError::NotRunning.to_string(),
        "the server is not running; start it first"
    );
    assert_eq!(
        StateError::AlreadyRunning.to_string(),
        "the server is already running; stop it before starting it again"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(StateError::NotRunning);
    assert!(boxed.to_string().contains("not running"));
}
