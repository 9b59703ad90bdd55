//! Chapter 5 — the byte circular buffer.
//!
//! TCP delivers a stream of bytes, not messages: one `recv` may return half a message, or two
//! and a bit (chapter 6). Until a whole message is there, its bytes have to wait somewhere. The
//! course keeps them in a `ByteCircularBuffer` (ByteCircularBuffer.h/.cpp, one per client): a
//! fixed array with a *front* (where the oldest unread byte sits) and a *rear* (where the next
//! byte will go) that chase each other round the array, and the current size. We keep that
//! design and its vocabulary so the C++ and the Rust can be read side by side: `write` is
//! `BCBWrite`, `read`/`peek` are `BCBRead` with and without `remove_read_bytes`, `consume`
//! removes bytes already looked at, and the [`Display`](fmt::Display) impl is
//! `BCBPrintSnapshot`.
//!
//! What changes in Rust:
//! - sizes are `usize`, not `uint16_t`, so a buffer is not limited to 64 KiB;
//! - like the course we keep `front` and the current size (`len`), but we do not store `rear`
//!   beside them: it is derived, so the three can never disagree;
//! - a wrap-around write or read is at most two `copy_from_slice` calls (the part up to the end
//!   of the array, then the part from its start) instead of a byte loop, and the slices are
//!   bounds-checked;
//! - a capacity of 0 is clamped to 1, so [`CircularBuffer::new`] never hands out a buffer that
//!   divides by zero or can never make progress.
//!
//! The operations that move data round the ring (`rear`, `write`, `peek`, `consume`,
//! `as_slices`) live in the submodule `ring`, which is exercise 5: `--features ex05` swaps in
//! `chapters/ex05_ring.rs`. Everything here is built on them or reads the fields directly.
//!
//! A production server would reach for `bytes::BytesMut` (a growable buffer that splits off
//! frames without copying) or std's `VecDeque<u8>`; we hand-roll it because building it is the
//! lesson, and because a fixed capacity is exactly what bounds the memory of one client.

use std::fmt;

// ANCHOR: ring_mod
// Exercise 5 swaps in the student's file; a `path` on a module declared in
// `circular_buffer.rs` is relative to `src/`.
#[cfg_attr(feature = "ex05", path = "../chapters/ex05_ring.rs")]
mod ring;
// ANCHOR_END: ring_mod

// ANCHOR: struct
/// A fixed-capacity circular queue of bytes (the course's `ByteCircularBuffer`).
///
/// Bytes are written at the rear and read from the front. A write never overwrites bytes that
/// have not been read: it takes what fits and says how much that was.
#[derive(Clone)]
pub struct CircularBuffer {
    /// The fixed array the bytes live in; its length is the capacity and never changes, so the
    /// memory a buffer costs is decided when it is made.
    storage: Box<[u8]>,

    /// Index of the oldest unread byte (the course's `front`).
    front: usize,

    /// Number of unread bytes (the course's `current_size`). With it, `rear` need not be
    /// stored: it is `front + len`, wrapped. And it tells an empty buffer from a full one,
    /// which have the same front and rear.
    len: usize,
}
// ANCHOR_END: struct

impl CircularBuffer {
    /// Creates an empty buffer holding at most `capacity` bytes.
    ///
    /// A `capacity` of 0 is raised to 1: a buffer that can hold nothing would make every write
    /// return 0 forever, and every index computation would divide by zero.
    pub fn new(capacity: usize) -> CircularBuffer {
        CircularBuffer {
            storage: vec![0; capacity.max(1)].into_boxed_slice(),
            front: 0,
            len: 0,
        }
    }

    /// Total bytes it can hold.
    pub fn capacity(&self) -> usize {
        self.storage.len()
    }

    /// Bytes written and not yet consumed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes that can still be written.
    pub fn free_space(&self) -> usize {
        self.capacity() - self.len
    }

    /// True when no byte more fits.
    pub fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Index of the oldest unread byte in the underlying array (the course's `front`).
    ///
    /// Only meaningful for teaching and snapshots; the data is reached through
    /// [`read`](Self::read), [`peek`](Self::peek) and [`as_slices`](Self::as_slices).
    pub fn front(&self) -> usize {
        self.front
    }

    // ANCHOR: wrap
    /// Brings an index in `0..2 * capacity` back into the array. Cheaper than `%`, and every
    /// caller adds at most one capacity's worth to an in-bounds index.
    fn wrap(&self, index: usize) -> usize {
        if index >= self.capacity() {
            index - self.capacity()
        } else {
            index
        }
    }
    // ANCHOR_END: wrap

    // ANCHOR: read
    /// Copies up to `out.len()` bytes from the front into `out` and consumes them; returns how
    /// many were copied.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n)
    }
    // ANCHOR_END: read

    // ANCHOR: reset
    /// Empties the buffer. The storage is kept (and not zeroed): only front and length move.
    pub fn reset(&mut self) {
        self.front = 0;
        self.len = 0;
    }
    // ANCHOR_END: reset
}

/// How many unread bytes a snapshot shows before it elides the rest.
const SNAPSHOT_BYTES: usize = 64;

/// Up to this capacity a snapshot also draws the whole array, slot by slot.
const SNAPSHOT_MAP: usize = 64;

/// Writes `b` so that a snapshot stays on one line and shows exactly what is stored.
fn escape_byte(f: &mut fmt::Formatter<'_>, b: u8) -> fmt::Result {
    match b {
        b'\n' => f.write_str("\\n"),
        b'\r' => f.write_str("\\r"),
        b'\t' => f.write_str("\\t"),
        b'"' => f.write_str("\\\""),
        b'\\' => f.write_str("\\\\"),
        0x20..=0x7e => write!(f, "{}", b as char),
        _ => write!(f, "\\x{b:02x}"),
    }
}

// ANCHOR: snapshot
/// A snapshot in the spirit of the course's `BCBPrintSnapshot`: front, rear, fill level, the
/// unread bytes in order (printable bytes as characters, others escaped, long contents
/// elided), and for small buffers a map of the array where `·` marks a free slot.
///
/// ```text
/// front=14 rear=2 len=4/16 free=12
/// data: "ek!!"
/// slots: [!!············ek]
/// ```
impl fmt::Display for CircularBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "front={} rear={} len={}/{} free={}",
            self.front,
            self.rear(),
            self.len,
            self.capacity(),
            self.free_space()
        )?;
        let (head, tail) = self.as_slices();
        f.write_str("data: \"")?;
        for &b in head.iter().chain(tail).take(SNAPSHOT_BYTES) {
            escape_byte(f, b)?;
        }
        f.write_str("\"")?;
        if self.len > SNAPSHOT_BYTES {
            write!(f, " … and {} bytes more", self.len - SNAPSHOT_BYTES)?;
        }
        if self.capacity() <= SNAPSHOT_MAP {
            f.write_str("\nslots: [")?;
            for i in 0..self.capacity() {
                // Slot i holds unread data when its distance from front is below len.
                let offset = self.wrap(i + self.capacity() - self.front);
                let b = self.storage[i];
                if offset >= self.len {
                    f.write_str("·")?;
                } else if (0x20..=0x7e).contains(&b) {
                    write!(f, "{}", b as char)?;
                } else {
                    f.write_str("?")?;
                }
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}
// ANCHOR_END: snapshot

impl fmt::Debug for CircularBuffer {
    /// Positions only: the contents may be large and belong to the snapshot.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircularBuffer")
            .field("capacity", &self.capacity())
            .field("front", &self.front)
            .field("len", &self.len)
            .finish()
    }
}
