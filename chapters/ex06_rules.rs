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
    // TODO: the bytes are `head` then `tail`, never joined into a new `Vec` (that is the
    // copy this chapter avoids). Answer, for the rule of each framing, one of:
    // - `Ok(Found::Incomplete { scanned })`: no whole message yet; `scanned` says how far a
    //   delimiter search got, so that the next call does not search those bytes again (0
    //   for the other rules);
    // - `Ok(Found::Message(Located { start, len, total }))`: the payload is `len` bytes from
    //   offset `start`, and the whole frame (header, delimiter included) is `total` bytes;
    // - `Err(ProtocolError::…)`: the rule the peer broke, as soon as the bytes prove it.
    todo!("ex06: locate")
}
// ANCHOR_END: stub
