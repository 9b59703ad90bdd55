//! Chapter 5 — the byte circular buffer. (Interface fixed; bodies being written.)

use std::fmt;

/// A fixed-capacity circular queue of bytes (the course's `ByteCircularBuffer`).
pub struct CircularBuffer {
    storage: Box<[u8]>,
    front: usize,
    len: usize,
}

impl CircularBuffer {
    /// Creates an empty buffer holding at most `capacity` bytes (`capacity` ≥ 1).
    pub fn new(capacity: usize) -> CircularBuffer {
        let _ = (&capacity,);
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
    /// Appends as much of `data` as fits; returns how many bytes were taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let _ = data;
        todo!()
    }
    /// Copies up to `out.len()` bytes from the front into `out` and consumes them.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let _ = out;
        todo!()
    }
    /// Copies up to `out.len()` bytes from the front into `out`, leaving them stored.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        let _ = out;
        todo!()
    }
    /// Drops up to `n` bytes from the front (the course's `remove_read_bytes`).
    pub fn consume(&mut self, n: usize) -> usize {
        let _ = n;
        todo!()
    }
    /// Empties the buffer.
    pub fn reset(&mut self) {
        todo!()
    }
}

impl fmt::Display for CircularBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = (f, &self.storage, self.front, self.len);
        todo!()
    }
}
