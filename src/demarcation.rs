//! Chapter 6 — TCP message demarcation.
//!
//! TCP has no idea where one message ends and the next begins: "Hello Abhishek" may arrive as
//! `Hell`, `o Ab`, `hish`, `ek`, and two messages sent in a loop may arrive glued together. The
//! application has to find the boundaries itself. The course does it with a `TcpMsgDemarcar`
//! per client (TcpMsgDemarcar.h/.cpp): received bytes go into the client's circular buffer, and
//! as soon as a whole message is in there it is taken out and handed to the application. Two
//! rules are taught: every message has the same fixed size (`TcpMsgFixedSizeDemarcar`), or
//! every message starts with a 2-byte header holding its total length, header included
//! (`TcpMsgVariableSizeDemarcar`). The course also names a third, "pattern" demarcation, and
//! leaves it unimplemented; we implement it as [`Framing::Delimited`] (newline-ended lines, so
//! `nc` and telnet can talk to the demos).
//!
//! What changes in Rust:
//! - the course's class hierarchy with virtual `IsBufferReadyToFlush`/`ProcessClientMsg`
//!   becomes one [`Framing`] enum and one [`Demarcator`] that matches on it: the set of rules
//!   is closed, so an enum says so;
//! - the demarcator does not call the application: it says where each complete message lies
//!   ([`Demarcator::cut`] in a read, [`Demarcator::next_message`] in its buffer), and the
//!   caller (the DRS) hands it to the handler as a slice, without holding any lock;
//! - a peer that breaks the rules (a header announcing 0 or 65535 bytes, a line that never
//!   ends) gets a [`ProtocolError`] naming what was wrong, and is disconnected; the course
//!   trusts its peer;
//! - the header's byte order is a choice: big-endian (network order) by default, little-endian
//!   so the course's own C++ client, which writes host order on x86, can talk to us.
//!
//! The cutting rules themselves, `locate`, live in the submodule `rules`:
//! exercise 6 (`--features ex06`) swaps in `chapters/ex06_rules.rs`. Everything here moves
//! bytes around their answer.
//!
//! A production server would use tokio-util's `LengthDelimitedCodec` or `LinesCodec` over a
//! growable `bytes::BytesMut`, which cut frames out without copying them.

use crate::circular_buffer::CircularBuffer;
use std::fmt;

// ANCHOR: rules_mod
// The cutting rules are exercise 6: the feature swaps in the student's file. A `path` on a
// module declared in `demarcation.rs` is relative to `src/`.
#[cfg_attr(feature = "ex06", path = "../chapters/ex06_rules.rs")]
mod rules;
use rules::locate;
// ANCHOR_END: rules_mod
pub use crate::framing::{
    ByteOrder, FrameError, Framing, ParseFramingError, Wrapping, DEFAULT_MAX_LEN, HEADER_LEN,
    MAX_FIXED_LEN,
};

/// Why a client's stream cannot be cut into messages; the client is then disconnected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A length header announced more than the configured maximum.
    FrameTooLarge { len: usize, max: usize },
    /// A length header announced less than the header itself (2 bytes).
    FrameTooSmall { len: usize },
    /// A delimited message grew past the maximum without its delimiter.
    MessageTooLong { max: usize },
    /// The stream ended in the middle of a message.
    TruncatedAtEof { buffered: usize },
    /// A message was started and not completed in time (for example, a header trickled in
    /// byte by byte); see `Config::message_timeout`.
    MessageTimeout { after_ms: u64, buffered: usize },
}

// ANCHOR: rule
/// The cutting rule a [`Demarcator`] applies: its framing with the degenerate cases (`Fixed(0)`,
/// an empty delimiter) already turned into [`Rule::PassThrough`].
// With the exercise stub in place nothing reads the rules until the student's `locate` does.
#[cfg_attr(feature = "ex06", allow(dead_code))]
#[derive(Debug)]
enum Rule {
    PassThrough,
    Fixed(usize),
    Length { order: ByteOrder, max_len: usize },
    Delimited { delimiter: Vec<u8>, max_len: usize },
}
// ANCHOR_END: rule

// ANCHOR: demarcator
/// One client's receive side: the framing that cuts it, and its circular buffer for what
/// straddles reads.
///
/// One per client (the course's `TcpMsgDemarcar` attached to each `TcpClient`). Messages that
/// arrive whole in one read are cut straight out of the read ([`cut`](Self::cut)), with no
/// copy; only the start of a message split across reads is kept, in the circular buffer. So
/// the buffer is allocated when a message is actually split, with room for one maximal
/// message (see [`Framing::min_capacity`]), and given back as soon as it empties: an idle
/// client holds none.
#[derive(Debug)]
pub struct Demarcator {
    /// The framing as configured, for `show` commands and error messages.
    framing: Framing,

    /// The framing as applied, degenerate cases resolved once instead of on every call.
    rule: Rule,

    /// The capacity the buffer gets when it is allocated.
    capacity: usize,

    /// Bytes received and not yet part of a delivered message (the course's `bcb`); `None`
    /// while nothing is buffered.
    buffer: Option<CircularBuffer>,

    /// A message that straddles the buffer's end is copied here to be handed out as one
    /// slice; the allocation is kept for the next one.
    scratch: Vec<u8>,

    /// Bytes of the message last handed out by [`next_message`](Self::next_message), dropped
    /// from the buffer at the next call (the caller was still reading them).
    handed_out: usize,

    /// How far a delimited search already looked without finding the delimiter, so bytes
    /// arriving one at a time are not rescanned from the start each time.
    scanned: usize,

    /// The violation that ended this stream; once set, nothing more is delivered and every
    /// later call reports it again.
    failed: Option<ProtocolError>,
}
// ANCHOR_END: demarcator

// ANCHOR: found
/// Where the next message lies in a run of bytes: its payload is `len` bytes from `start`,
/// and `total` bytes (header and delimiter included) make up the whole frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    /// Offset of the payload (after a length header).
    pub start: usize,
    /// Length of the payload (without header, delimiter, or a line's `\r`).
    pub len: usize,
    /// Bytes the whole frame takes: what to drop once the message is delivered.
    pub total: usize,
}

/// What [`locate`] found.
#[cfg_attr(feature = "ex06", allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// A whole message.
    Message(Located),
    /// Not yet: more bytes are needed. For a delimited framing, `scanned` bytes have been
    /// searched and need not be searched again.
    Incomplete { scanned: usize },
}
// ANCHOR_END: found

impl Demarcator {
    /// A demarcator whose circular buffer will hold `capacity` bytes, raised to
    /// [`Framing::min_capacity`] if smaller so that one maximal message always fits.
    pub fn new(framing: Framing, capacity: usize) -> Demarcator {
        let rule = match &framing {
            Framing::None | Framing::Fixed(0) => Rule::PassThrough,
            Framing::Delimited { delimiter, .. } if delimiter.is_empty() => Rule::PassThrough,
            Framing::Fixed(n) => Rule::Fixed(*n),
            Framing::LengthPrefixed { order, max_len } => Rule::Length {
                order: *order,
                max_len: *max_len,
            },
            Framing::Delimited { delimiter, max_len } => Rule::Delimited {
                delimiter: delimiter.clone(),
                max_len: *max_len,
            },
        };
        let capacity = match rule {
            // Nothing is ever stored.
            Rule::PassThrough => 1,
            _ => capacity.max(framing.min_capacity()),
        };
        Demarcator {
            framing,
            rule,
            capacity,
            buffer: None,
            scratch: Vec::new(),
            handed_out: 0,
            scanned: 0,
            failed: None,
        }
    }

    /// The framing this demarcator was built with.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// Capacity of the circular buffer (allocated only while something is buffered).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of the circular buffer allocated right now: 0 while nothing is buffered.
    pub fn allocated(&self) -> usize {
        self.buffer.as_ref().map_or(0, CircularBuffer::capacity)
    }

    // ANCHOR: feed
    /// Feeds bytes read from the socket; pushes every complete message onto `out`.
    ///
    /// `bytes` may be larger than the buffer's free space: what fits is written, complete
    /// messages are cut out to make room, and so on until every byte is in. With
    /// [`Framing::None`] each non-empty feed is one message. (The DRS does the same without
    /// copying each message into its own `Vec`: [`cut`](Self::cut), [`push`](Self::push),
    /// [`next_message`](Self::next_message).)
    ///
    /// # Errors
    /// The first protocol violation; messages completed before it are already in `out`.
    /// After a violation nothing more is delivered, and every later call returns it again.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), ProtocolError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.passes_through() {
            if !bytes.is_empty() {
                out.push(bytes.to_vec());
            }
            return Ok(());
        }
        let mut rest = bytes;
        loop {
            let written = self.push(rest);
            rest = &rest[written..];
            while let Some(message) = self.next_message()? {
                out.push(message.to_vec());
            }
            if rest.is_empty() {
                return Ok(());
            }
            // The buffer was full and extraction freed nothing. The capacity rule makes this
            // unreachable; should it ever happen, ending the client beats spinning forever.
            if self.free_space() == 0 {
                return Err(self.fail(ProtocolError::MessageTooLong { max: self.capacity }));
            }
        }
    }
    // ANCHOR_END: feed

    /// True when this framing cuts nothing ([`Framing::None`] and its degenerate cases): the
    /// bytes read are the message, and nothing is ever buffered. The DRS then delivers what it
    /// reads straight away.
    pub fn passes_through(&self) -> bool {
        matches!(self.rule, Rule::PassThrough)
    }

    /// Room left in the circular buffer: the most a read should ask for before
    /// [`push`](Self::push), so that every byte read finds a place.
    pub fn free_space(&self) -> usize {
        self.capacity - self.buffered()
    }

    // ANCHOR: push
    /// Stores as many of `bytes` as fit in the circular buffer (allocating it if needed) and
    /// returns how many; cuts nothing (call [`next_message`](Self::next_message) for that).
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        self.settle();
        if self.failed.is_some() || self.passes_through() || bytes.is_empty() {
            return 0;
        }
        let capacity = self.capacity;
        self.buffer
            .get_or_insert_with(|| CircularBuffer::new(capacity))
            .write(bytes)
    }
    // ANCHOR_END: push

    // ANCHOR: extract
    /// The next complete message in the circular buffer, if there is one (one step of the
    /// course's `ProcessClientMsg` loop), as a slice valid until the next call: no copy when
    /// it lies in one piece of the ring, one copy into a reused scratch buffer when it wraps.
    ///
    /// # Errors
    /// The protocol violation found at the front of the buffer; from then on every call
    /// (and [`finish`](Self::finish)) reports it again.
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, ProtocolError> {
        self.settle();
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let found = match &self.buffer {
            None => return Ok(None),
            Some(buffer) => {
                let (head, tail) = buffer.as_slices();
                locate(&self.rule, head, tail, self.scanned)
            }
        };
        let at = match found {
            Ok(Found::Message(at)) => at,
            Ok(Found::Incomplete { scanned }) => {
                self.scanned = scanned;
                return Ok(None);
            }
            Err(e) => return Err(self.fail(e)),
        };
        self.handed_out = at.total;
        let Some(buffer) = &self.buffer else {
            return Ok(None);
        };
        let (head, tail) = buffer.as_slices();
        let end = at.start + at.len;
        if end <= head.len() {
            return Ok(Some(&head[at.start..end]));
        }
        if at.start >= head.len() {
            let start = at.start - head.len();
            return Ok(Some(&tail[start..start + at.len]));
        }
        // It wraps: one copy, into an allocation kept from message to message.
        self.scratch.clear();
        let from_head = head.len().saturating_sub(at.start);
        self.scratch
            .extend_from_slice(&head[head.len() - from_head..]);
        let skip_tail = at.start.saturating_sub(head.len());
        self.scratch
            .extend_from_slice(&tail[skip_tail..skip_tail + at.len - from_head]);
        Ok(Some(&self.scratch))
    }
    // ANCHOR_END: extract

    // ANCHOR: cut
    /// Finds the next complete message at the start of `bytes` — a read, while nothing is
    /// buffered — so that it can be delivered from there without being copied. `None` when
    /// `bytes` holds no whole message: the caller then [`push`](Self::push)es them.
    ///
    /// # Errors
    /// The protocol violation at the start of `bytes`; from then on every call reports it.
    pub fn cut(&mut self, bytes: &[u8]) -> Result<Option<Located>, ProtocolError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match locate(&self.rule, bytes, &[], 0) {
            Ok(Found::Message(at)) => Ok(Some(at)),
            Ok(Found::Incomplete { .. }) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }
    // ANCHOR_END: cut

    /// Drops the message handed out last; gives the buffer back once it is empty.
    fn settle(&mut self) {
        if self.handed_out == 0 {
            return;
        }
        if let Some(buffer) = &mut self.buffer {
            buffer.consume(self.handed_out);
            if buffer.is_empty() {
                self.buffer = None;
            }
        }
        self.handed_out = 0;
        self.scanned = 0;
    }

    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.failed = Some(e.clone());
        e
    }

    /// Called at end of stream.
    ///
    /// # Errors
    /// [`ProtocolError::TruncatedAtEof`] when part of a message is still buffered; the
    /// violation that ended the stream, if one was already reported.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.buffered() {
            0 => Ok(()),
            buffered => Err(ProtocolError::TruncatedAtEof { buffered }),
        }
    }

    /// Bytes waiting for the rest of their message (or for their turn to be delivered).
    pub fn buffered(&self) -> usize {
        self.buffer.as_ref().map_or(0, CircularBuffer::len) - self.handed_out
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::FrameTooLarge { len, max } => write!(
                f,
                "frame header announces {len} bytes; this server accepts at most {max}"
            ),
            ProtocolError::FrameTooSmall { len } => write!(
                f,
                "frame header announces {len} bytes, less than the 2-byte header itself; \
                 expected at least 2"
            ),
            ProtocolError::MessageTooLong { max } => write!(
                f,
                "message longer than {max} bytes without its delimiter; this server accepts \
                 at most {max}"
            ),
            ProtocolError::TruncatedAtEof { buffered } => write!(
                f,
                "stream ended in the middle of a message ({buffered} bytes buffered)"
            ),
            ProtocolError::MessageTimeout { after_ms, buffered } => write!(
                f,
                "message timeout: a message was started and not completed within {after_ms} ms \
                 ({buffered} bytes buffered); expected whole messages to arrive promptly"
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}
