//! Exercise 6 — the cutting rules: your version of `src/demarcation/rules.rs`.
//!
//! Build with `--features ex06` and this file replaces the heart of message demarcation:
//! `locate`, the rules of the course's demarcators (fixed size, a 2-byte length header, a
//! delimiter). The rest of `src/demarcation.rs` is given and stays where it is: `Rule` (the
//! framing with its degenerate cases resolved), `Found` and `Located` (what you return), and
//! everything that moves bytes around your answer — `cut` (a whole message at the start of a
//! read), `push` and `next_message` (the circular buffer), `feed` (the two in a loop), and
//! `finish`. All of them call `locate`, and none of them decides anything else.
//!
//! `locate` is handed the bytes received so far as two slices, `head` then `tail` — the two
//! halves of the client's circular buffer (`as_slices`, chapter 5), or one read and nothing —
//! and says where the next whole message lies, that more bytes are needed, or which rule the
//! peer broke. It consumes nothing. Then run the chapter's tests:
//!
//! ```text
//! cargo test --features ex06 --test ch06_demarcation
//! cargo test --features ex06 --test ch06_hostile
//! ```
//!
//! Read chapter 6 of the book first; the reference is `src/demarcation/rules.rs` (also on the
//! book's Solutions page). Keep the signature; write the body.

// The parameters and imports are unused until you write the body.
#![allow(unused_variables, unused_imports)]

use super::{Found, Located, ProtocolError, Rule};
use crate::framing::{find, raw_limit, ByteOrder, Framing, HEADER_LEN};

// ANCHOR: stub
/// Where the next message lies in the bytes `head` then `tail` (the two halves of a circular
/// buffer, or a read and nothing): the cutting rules of the course's demarcators, applied to
/// bytes wherever they are.
pub(super) fn locate(
    rule: &Rule,
    head: &[u8],
    tail: &[u8],
    scanned: usize,
) -> Result<Found, ProtocolError> {
    // TODO: `available` is `head.len() + tail.len()`; byte `i` of the run is `head[i]` when
    // `i < head.len()`, else `tail[i - head.len()]` (never join the halves into a new `Vec`:
    // that is the copy this chapter avoids). Answer with one of:
    // - `Ok(Found::Incomplete { scanned: 0 })`: no whole message yet;
    // - `Ok(Found::Message(Located { start, len, total }))`: the payload is `len` bytes from
    //   offset `start`, and the whole frame (header, delimiter included) is `total` bytes;
    // - `Err(ProtocolError::…)`: the rule the peer broke.
    // One `match rule`, one arm per rule:
    // - `Rule::PassThrough`: never a message (the DRS delivers those reads as they are).
    // - `Rule::Fixed(n)`: whole once `n` bytes are there: start 0, len `n`, total `n`.
    // - `Rule::Length { order, max_len }`: the first `HEADER_LEN` (2) bytes hold the total
    //   length, header included: `u16::from_be_bytes` for `ByteOrder::Big`,
    //   `u16::from_le_bytes` for `ByteOrder::Little`. Judge the header as soon as it is in,
    //   before waiting for the body: below 2 is `FrameTooSmall { len }`, above `max_len` is
    //   `FrameTooLarge { len, max }`. Whole once `len` bytes are there: start 2, len `len - 2`,
    //   total `len` (a frame of 2 is an empty message).
    // - `Rule::Delimited { delimiter, max_len }`: `find(head, tail, scanned, delimiter)`
    //   gives the offset `at` of the first delimiter, searching from `scanned`.
    //   Found: the message is bytes `0..at`, less one byte when the delimiter is a line's
    //   (`Framing::is_line(delimiter)`) and byte `at - 1` is `\r`; a message longer than
    //   `max_len` is `MessageTooLong { max: max_len }`; total is `at + delimiter.len()`.
    //   Not found: once `available` reaches `raw_limit(delimiter, *max_len) +
    //   delimiter.len()`, no legal message can still come: `MessageTooLong`. Otherwise
    //   incomplete, but say how far you searched, so that the next call does not search those
    //   bytes again: `scanned: (available + 1).saturating_sub(delimiter.len())` (the last
    //   `delimiter.len() - 1` bytes may be the start of a delimiter).
    todo!("ex06: locate")
}
// ANCHOR_END: stub
