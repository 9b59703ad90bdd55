//! Helpers for the tests that run a chapter binary's story: run it to its end, and compare
//! what it printed with the page of the book that shows it (figures masked).
#![allow(dead_code)]

use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

/// Reached only when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(30);

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

/// Runs chapter `chapter`'s story and checks that every line carries its prefix and that
/// the book's copy of its output, `book/src/output/<chapter>.txt`, is what it printed, line
/// for line, figures aside. Returns the output.
pub fn story_matches_the_book(chapter: &str) -> String {
    let out = run_to_end(chapter, &[], "");
    let prefix = format!("[{chapter}]");
    assert!(!out.trim().is_empty(), "{chapter} printed nothing");
    for line in out.lines().filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with(&prefix),
            "{chapter} printed an unprefixed line {line:?}:\n{out}"
        );
    }
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
