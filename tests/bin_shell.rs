//! The `tcpserver` shell tried as a hostile user would, and its commands that change a
//! running server, driven through stdin as a person types them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod story;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use story::Running;

/// Reached only when something is broken.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The bad lines, each with what its error line must say. Every one gets exactly one line
/// starting with `error:`.
fn bad_lines() -> Vec<(Vec<u8>, &'static str)> {
    let mut word = b"config tcp-server default ".to_vec();
    word.extend(std::iter::repeat_n(b'w', 50_000));
    let mut huge_word = b"config tcp-server default ".to_vec();
    huge_word.extend(std::iter::repeat_n(b'x', 1 << 20));
    vec![
        (
            b"config tcp-server default \xff\xfe start".to_vec(),
            "not valid UTF-8",
        ),
        (huge_word, "bytes long; a line may have at most"),
        (word, "unknown keyword \"wwww"),
        (
            b"config tcp-server default ka-interval 1e20".to_vec(),
            "expected 0 (off) or 0.01 to 86400",
        ),
        (
            b"config tcp-server default ka-interval 1.5e19".to_vec(),
            "expected 0 (off) or 0.01 to 86400",
        ),
        (
            b"config tcp-server default stopp".to_vec(),
            "unknown keyword \"stopp\"",
        ),
        (
            b"config tcp-server default multi-threaded-modee".to_vec(),
            "unknown keyword \"multi-threaded-modee\"",
        ),
        (
            b"config tcp-server default max-clients 0".to_vec(),
            "expected 1 to 1000000",
        ),
        (
            b"run tcp-server default send-msg hello 127.0.0.1 9".to_vec(),
            "send-msg <ip> <port> <message>",
        ),
        (
            b"show tcp-server nosuch".to_vec(),
            "no tcp-server named \"nosuch\"",
        ),
        (vec![b'z'; 10 << 20], "bytes long; a line may have at most"),
    ]
}

/// A file of bad lines (invalid UTF-8, a 1 MB word, a 50 KB word, 1e20, unknown keywords,
/// an empty line, only spaces, a 10 MB line) fed to `tcpserver --quiet`: one clear error
/// line for each (empty lines say nothing), no line of output quotes more than a few hundred
/// characters, a final `show tcp-server default` still answers, and `exit` exits 0.
#[test]
fn bad_lines_each_get_one_error_and_the_shell_goes_on() {
    let bad = bad_lines();
    let mut input = Vec::new();
    for (line, _) in &bad {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    input.extend_from_slice(b"\n      \n\t \n");
    input.extend_from_slice(b"show tcp-server default\nexit\n");
    let assert = Command::new(cargo_bin("tcpserver"))
        .args(["--addr", "127.0.0.1:0", "--quiet"])
        .write_stdin(input)
        .timeout(TIMEOUT)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), bad.len(), "one error per bad line:\n{out}");
    for ((_, says), line) in bad.iter().zip(&errors) {
        assert!(line.contains(says), "{line:?} should say {says:?}");
    }
    for line in out.lines() {
        assert!(line.len() < 600, "an output line of {} bytes", line.len());
    }
    assert!(
        out.contains("tcp-server \"default\" on 127.0.0.1:"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("bye"), "{out}");
}

fn address_in(line: &str) -> SocketAddr {
    let rest = line.split("listening on ").nth(1).expect("an address");
    let addr: String = rest.chars().take_while(|c| *c != ',').collect();
    addr.parse().unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// The new commands on a running server, as a student types them: `send-msg` in the
/// course's order reaches the client, `show … clients` lists it, `ka-interval` turns
/// keep-alive on (the client receives empty lines), `black-list` disconnects it and refuses
/// the next connection, `max-clients` takes effect, `stop` stops, `show history` numbers
/// what was typed.
#[test]
fn the_new_commands_act_on_a_running_server() {
    let mut shell = Running::bin("tcpserver", &["--addr", "127.0.0.1:0", "--framing", "line"]);
    let addr = address_in(&shell.line_with("listening on"));
    let mut client = connect(addr);
    let me = client.local_addr().unwrap();
    shell.line_with(&format!("connected from {me}"));

    shell.say(&format!(
        "run tcp-server default send-msg {} {} hello there",
        me.ip(),
        me.port()
    ));
    assert!(shell
        .line_with("sent ")
        .contains("sent 11 bytes to client #1"));
    let mut got = [0u8; 12];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello there\n");

    shell.say("show tcp-server default clients");
    assert!(shell
        .line_with("tcp-server \"default\": 1 client")
        .ends_with("1 client"));
    shell.line_with(&me.to_string());

    // An interval of 1 s holds a silent client 1.5 s; the client answers the first
    // keep-alive at once, so even a slow machine turns keep-alive off well within its hold.
    shell.say("config tcp-server default ka-interval 1");
    shell.line_with("keep-alive interval 1000ms");
    let mut byte = [0u8; 1];
    client.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"\n", "the server's keep-alive is an empty line");
    client.write_all(b"\n").unwrap();
    shell.say("config tcp-server default no ka-interval");
    shell.line_with("keep-alive off");

    shell.say("config tcp-server default max-clients 5");
    shell.line_with("at most 5 clients (1 now)");

    shell.say(&format!("config tcp-server default black-list {}", me.ip()));
    shell.line_with("black-listed (1 client disconnected)");
    let refused = connect(addr);
    shell.line_with(&format!(
        "connection from {} refused: 127.0.0.1 is black-listed",
        refused.local_addr().unwrap()
    ));
    shell.say("show tcp-server default");
    shell.line_with("black-list: 127.0.0.1 (1 connection refused)");
    shell.say(&format!(
        "config tcp-server default no black-list {}",
        me.ip()
    ));
    shell.line_with("no longer black-listed");

    shell.say("config tcp-server default");
    shell.line_with("already exists, running");
    shell.say("config tcp-server default stop");
    shell.line_with("tcp-server \"default\" stopped");
    shell.say("show history");
    shell.line_with("1  run tcp-server default send-msg");
    shell.line_with("11  show history");
    shell.say("exit");
    let status = shell.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A shell whose stdout is closed (its reader gone) still runs its commands, including ones
/// that print a lot, and exits 0 on `exit`: no write to a closed stdout panics it.
#[test]
fn a_closed_stdout_never_panics_the_shell() {
    let mut child = StdCommand::new(cargo_bin("tcpserver"))
        .args(["--addr", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..50 {
        stdin
            .write_all(b"help\nshow tcp-server\nshow history\nbogus\n")
            .unwrap();
    }
    stdin.write_all(b"exit\n").unwrap();
    drop(stdin);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Threads of process `pid` whose name starts with `prefix`, once that count is `want` (a
/// thread names itself a moment after it starts), or what it was at the deadline.
fn threads_of(pid: u32, prefix: &str, want: usize) -> usize {
    let count = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks
                    .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                    .filter(|comm| comm.starts_with(prefix))
                    .count()
            })
            .unwrap_or(0)
    };
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if count() == want {
            return want;
        }
        thread::sleep(Duration::from_millis(1)); // a polling interval: nothing to wait on
    }
    count()
}

/// Chapter 10 in the shell: in multi-threaded mode three clients are listed as threaded and
/// the process has three client threads; `client migrate … multiplexed` moves one back to
/// the DRS, it keeps working, and its thread is gone.
#[test]
fn multi_threaded_mode_and_migration_in_the_shell() {
    let mut shell = Running::bin(
        "tcpserver",
        &["--addr", "127.0.0.1:0", "--framing", "line", "--echo"],
    );
    let addr = address_in(&shell.line_with("listening on"));
    shell.say("config tcp-server default multi-threaded-mode");
    shell.line_with("MULTI_THREADED_CLIENTS");
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut c = connect(addr);
        let me = c.local_addr().unwrap();
        shell.line_with(&format!("connected from {me}"));
        c.write_all(format!("hello {i}\n").as_bytes()).unwrap();
        let mut back = String::new();
        BufReader::new(&mut c).read_line(&mut back).unwrap();
        assert_eq!(back, format!("hello {i}\n"));
        clients.push(c);
    }
    let pid = shell.child.id();
    if std::path::Path::new("/proc/self/task").exists() {
        assert_eq!(
            threads_of(pid, "client-default", 3),
            3,
            "one thread per client"
        );
    }
    shell.say("show tcp-server default");
    for c in &clients {
        let line = shell.line_with(&c.local_addr().unwrap().to_string());
        assert!(
            line.contains("MULTI_THREADED"),
            "not listed as threaded: {line}"
        );
    }
    let moved = clients[0].local_addr().unwrap();
    shell.say(&format!(
        "run tcp-server default client migrate {} {} multiplexed",
        moved.ip(),
        moved.port()
    ));
    shell.line_with(&format!("({moved}) is multiplexed"));
    clients[0].write_all(b"still here\n").unwrap();
    let mut back = String::new();
    BufReader::new(&mut clients[0])
        .read_line(&mut back)
        .unwrap();
    assert_eq!(back, "still here\n");
    if std::path::Path::new("/proc/self/task").exists() {
        assert_eq!(
            threads_of(pid, "client-default", 2),
            2,
            "its thread is gone"
        );
    }
    shell.say("exit");
    let status = shell.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
