//! Chapter 5's exercise: the four operations that move data round the ring.
//!
//! Everything about the buffer that does not depend on how front and length move — the
//! struct, its sizes, `read` (a peek and a consume), `reset`, the snapshot — is in the parent
//! module. These are the operations where an off-by-one at the wrap-around garbles messages
//! far away, and they are what `--features ex05` replaces with `chapters/ex05_ring.rs`.

use super::CircularBuffer;

impl CircularBuffer {
    // ANCHOR: rear
    /// Index where the next written byte will go (the course's `rear`): derived from `front`
    /// and `len`, never stored.
    pub fn rear(&self) -> usize {
        self.wrap(self.front + self.len)
    }
    // ANCHOR_END: rear

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
        // Most writes do not wrap, and an empty second copy still costs a call, which shows on
        // small chunks (see bench_buffer).
        if first < n {
            self.storage[..n - first].copy_from_slice(&data[first..n]);
        }
        self.len += n;
        n
    }
    // ANCHOR_END: write

    // ANCHOR: peek
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
    // ANCHOR_END: peek

    // ANCHOR: consume
    /// Drops up to `n` bytes from the front (the course's `remove_read_bytes`); returns how
    /// many were dropped.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.front = self.wrap(self.front + n);
        self.len -= n;
        n
    }
    // ANCHOR_END: consume

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
}
