//! Exercise 5 — move bytes round the ring: your version of `src/circular_buffer/ring.rs`.
//!
//! Build with `--features ex05` and this file replaces the ring operations of the byte
//! circular buffer (the course's `ByteCircularBuffer`). The rest of `src/circular_buffer.rs`
//! is given and stays where it is: the struct (`storage`, `front`, `len`), `new`, `capacity`,
//! `len`, `free_space`, `is_full`, `front`, the helper `wrap`, `read` (your `peek`, then your
//! `consume`), `reset`, and the snapshot (`Display`, the course's `BCBPrintSnapshot`). A child
//! module sees its parent's private fields and functions, so you reach all of them through
//! `self`.
//!
//! You write five functions: `rear`, `write`, `peek`, `consume` and `as_slices`. Then run:
//!
//! ```text
//! cargo test --features ex05 --test ch05_circular_buffer
//! cargo run --features ex05 --bin ch5
//! ```
//!
//! The tests check each operation, the wrap-around, the snapshot, and then a thousand random
//! sequences of operations against a bounded `VecDeque<u8>`. The snapshot is given, and it
//! reads `storage`, `front` and `len` directly, so `ch5` prints what your functions really did
//! (its `slots: [...]` line is the array itself, `·` for a free slot): when the tests pass, it
//! prints what chapter 5 shows. Read chapter 5 of the book first; the reference is
//! `src/circular_buffer/ring.rs` (also on the book's Solutions page). Keep the signatures;
//! write the bodies.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use super::CircularBuffer;

// ANCHOR: stub
impl CircularBuffer {
    /// Index where the next written byte will go (the course's `rear`): derived from `front`
    /// and `len`, never stored.
    pub fn rear(&self) -> usize {
        // TODO: `self.front + self.len`, brought back into `0..capacity` with `self.wrap(..)`
        // (one subtraction, no `%`: the sum is always below twice the capacity).
        todo!("ex05: CircularBuffer::rear")
    }

    /// Appends as much of `data` as fits; returns how many bytes were taken.
    ///
    /// Unread bytes are never overwritten: when the buffer is full the answer is 0 and the
    /// caller keeps the rest.
    pub fn write(&mut self, data: &[u8]) -> usize {
        // TODO: as many bytes as fit, copied into the free region, which starts at the rear
        // and may run past the end of the array (then it goes on at index 0). Whole slices
        // at a time, no byte loop; the buffer's length grows by what was taken.
        todo!("ex05: CircularBuffer::write")
    }

    /// Copies up to `out.len()` bytes from the front into `out`, leaving them stored; returns
    /// how many were copied.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        // TODO: write `as_slices` first. Then `n` is the smaller of `out.len()` and `self.len`;
        // copy what you can of the first slice to the start of `out`, and the rest of the `n`
        // bytes from the start of the second slice. Nothing moves: `&self`.
        todo!("ex05: CircularBuffer::peek")
    }

    /// Drops up to `n` bytes from the front (the course's `remove_read_bytes`); returns how
    /// many were dropped.
    pub fn consume(&mut self, n: usize) -> usize {
        // TODO: never more than `self.len`. `self.front` moves on by that much (wrapped with
        // `self.wrap`), `self.len` shrinks by it. When the buffer empties you may also move
        // `front` back to 0 (the tests accept both designs); `rear` follows either way.
        todo!("ex05: CircularBuffer::consume")
    }

    /// The unread bytes, oldest first, as two slices: from the front to the end of the array,
    /// then from the start of the array (empty unless the data wraps round).
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        // TODO: the first slice starts at `self.front` and holds `self.len` bytes or the bytes
        // up to the end of `self.storage`, whichever is fewer; the second starts at index 0
        // and holds the rest of the `self.len` bytes (none when the data does not wrap).
        todo!("ex05: CircularBuffer::as_slices")
    }
}
// ANCHOR_END: stub
