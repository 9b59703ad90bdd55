//! Helpers for the tests that run a chapter binary's story: run it to its end, and compare
//! what it printed with the page of the book that shows it (figures masked).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command as StdCommand, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

/// Reached only when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// One wait for one line of a child's output.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a program to its end with a timeout; returns its stdout, after checking it exited 0.
pub fn run_to_end(bin: &str, args: &[&str], stdin: &str) -> String {
    let assert = Command::new(cargo_bin(bin))
        .args(args)
        .write_stdin(stdin)
        .timeout(TIMEOUT)
        .assert()
        .success();
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// `text` with every run of digits replaced by one `#`: ports, ids, times and counts vary
/// from run to run, the words and the structure do not. `epoll` reads as `poll` too: `show`
/// names the DRS's backend, and the tests run on each (`TCPSERVERLIB_POLLER=poll`).
pub fn without_figures(text: &str) -> String {
    let text = text.replace("epoll", "poll");
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks that `chapter` printed something, and that every line it printed carries its
/// `[chapter]` prefix.
pub fn every_line_prefixed(out: &str, chapter: &str) {
    let prefix = format!("[{chapter}]");
    assert!(!out.trim().is_empty(), "{chapter} printed nothing");
    for line in out.lines().filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with(&prefix),
            "{chapter} printed an unprefixed line {line:?}:\n{out}"
        );
    }
}

/// Checks that `chapter`'s output says each of `words`.
pub fn says(out: &str, chapter: &str, words: &[&str]) {
    for word in words {
        assert!(out.contains(word), "{chapter} never says {word:?}:\n{out}");
    }
}

/// Runs chapter `chapter`'s story and checks that every line carries its prefix and that
/// the book's copy of its output, `book/src/output/<chapter>.txt`, is what it printed, line
/// for line, figures aside. Returns the output.
pub fn story_matches_the_book(chapter: &str) -> String {
    let out = run_to_end(chapter, &[], "");
    every_line_prefixed(&out, chapter);
    let page = format!(
        "{}/book/src/output/{chapter}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let shown = std::fs::read_to_string(&page)
        .unwrap_or_else(|e| panic!("cannot read {page}: {e}; paste a run of {chapter} into it"));
    let told: Vec<String> = out.lines().map(without_figures).collect();
    let shown: Vec<String> = shown.lines().map(without_figures).collect();
    assert_eq!(
        told, shown,
        "{page} is no longer what {chapter} prints; paste a fresh run into it"
    );
    out
}

/// A running child, its stdin, and its stdout line by line. Dropping it kills the child.
pub struct Running {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub lines: Receiver<String>,
    /// Every line read so far, for failure messages.
    pub seen: Vec<String>,
}

impl Running {
    /// Starts `program` with stdin and stdout piped.
    pub fn start(mut command: StdCommand) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Running {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Starts a binary of this crate.
    pub fn bin(name: &str, args: &[&str]) -> Running {
        let mut command = StdCommand::new(cargo_bin(name));
        command.args(args);
        Running::start(command)
    }

    /// Waits for the next line that contains `needle`; fails the test after LINE_TIMEOUT.
    pub fn line_with(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line containing {needle:?} within {LINE_TIMEOUT:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the program ended its output before a line containing {needle:?}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Writes one line to the child's stdin.
    pub fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin, waits for the output to end, and returns the exit status.
    pub fn finish(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                // The output closed: the process is leaving, so waiting for it is quick.
                Err(RecvTimeoutError::Disconnected) => return self.child.wait().unwrap(),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the program did not end within {LINE_TIMEOUT:?} of its stdin closing; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in a line such as `... listening on 127.0.0.1:40000, ...` or `...; ...`.
pub fn address_in(line: &str) -> SocketAddr {
    let rest = line
        .split("listening on ")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let addr: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ';' && *c != ',')
        .collect();
    addr.parse()
        .unwrap_or_else(|_| panic!("{addr:?} (from {line:?}) is not an address"))
}
