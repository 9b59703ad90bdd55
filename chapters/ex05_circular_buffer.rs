//! Exercise 5 — write the byte circular buffer yourself.
//!
//! This file replaces `src/circular_buffer.rs` when the crate is built with `--features ex05`.
//! Fill in every `todo!()`, then run:
//!
//! ```text
//! cargo test --features ex05 --test ch05_circular_buffer
//! cargo run --features ex05 --bin ch5
//! ```
//!
//! The tests fail until your buffer behaves exactly like a bounded `VecDeque<u8>` (a
//! proptest checks a thousand random sequences of operations against one). Read chapter 5 of
//! the book first; the reference solution is `src/circular_buffer.rs`.

// The stub's fields and parameters are unused until you write the bodies.
#![allow(unused)]

use std::fmt;

/// A fixed-capacity circular queue of bytes (the course's `ByteCircularBuffer`).
#[derive(Clone)]
pub struct CircularBuffer {
    /// The fixed array the bytes live in; its length is the capacity.
    storage: Box<[u8]>,

    /// Index of the oldest unread byte (the course's `front`).
    front: usize,

    /// Number of unread bytes (the course's `current_size`).
    // TODO: why keep `len` and not `rear`? With front and rear alone, `front == rear` means
    // both "empty" and "full". The rear is `front + len`, wrapped round.
    len: usize,
}

impl CircularBuffer {
    /// Creates an empty buffer holding at most `capacity` bytes (0 is raised to 1).
    pub fn new(capacity: usize) -> CircularBuffer {
        // TODO: allocate `capacity` bytes (`vec![0; n].into_boxed_slice()`), but at least 1:
        // a zero-sized array would make every index computation divide by zero.
        todo!()
    }

    /// Total bytes it can hold.
    pub fn capacity(&self) -> usize {
        todo!()
    }

    /// Bytes written and not yet consumed.
    pub fn len(&self) -> usize {
        todo!()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        todo!()
    }

    /// Bytes that can still be written.
    pub fn free_space(&self) -> usize {
        todo!()
    }

    /// True when no byte more fits.
    pub fn is_full(&self) -> bool {
        todo!()
    }

    /// Index of the oldest unread byte in the underlying array (the course's `front`).
    pub fn front(&self) -> usize {
        todo!()
    }

    /// Index where the next written byte will go (the course's `rear`).
    pub fn rear(&self) -> usize {
        // TODO: front + len, brought back into 0..capacity.
        todo!()
    }

    /// Appends as much of `data` as fits; returns how many bytes were taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        // TODO:
        // 1. n = how much fits: the smaller of data.len() and the free space. Never more:
        //    unread bytes must not be overwritten.
        // 2. The free region starts at rear and may wrap round the end of the array. Copy the
        //    part that fits before the end with one `copy_from_slice`, the rest (if any) to the
        //    start of the array with a second one. No byte-by-byte loop.
        // 3. len grows by n; return n.
        todo!()
    }

    /// Copies up to `out.len()` bytes from the front into `out` and consumes them.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        // TODO: a peek followed by a consume.
        todo!()
    }

    /// Copies up to `out.len()` bytes from the front into `out`, leaving them stored.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        // TODO: the mirror image of write: up to two copies, from front to the end of the
        // array, then from its start. `as_slices` gives you exactly those two pieces.
        todo!()
    }

    /// Drops up to `n` bytes from the front (the course's `remove_read_bytes`).
    pub fn consume(&mut self, n: usize) -> usize {
        // TODO: at most len bytes; front moves on by that much, wrapping round.
        todo!()
    }

    /// The unread bytes, oldest first, as two slices: from the front to the end of the array,
    /// then from the start of the array (empty unless the data wraps round).
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        todo!()
    }

    /// Empties the buffer.
    pub fn reset(&mut self) {
        todo!()
    }
}

/// A snapshot in the spirit of the course's `BCBPrintSnapshot`.
impl fmt::Display for CircularBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // TODO: a line `front=F rear=R len=L/C free=N`, then `data: "..."` with the unread
        // bytes in order (printable ASCII as is, `\n` and the like escaped, `\xNN` for the
        // rest), at most a few dozen of them so a big buffer stays a few lines long.
        todo!()
    }
}

impl fmt::Debug for CircularBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircularBuffer")
            .field("front", &self.front)
            .field("len", &self.len)
            .finish()
    }
}
