//! Chapter 5 — the byte circular buffer, tested through its public API.
//!
//! Exercise: `cargo test --features ex05 --test ch05_circular_buffer` runs these against the
//! stub in `chapters/ex05_ring.rs` (the ring operations).

use proptest::prelude::*;
use std::collections::VecDeque;
use std::fmt;
use tcpserverlib::circular_buffer::CircularBuffer;

/// A new buffer is empty, with all of its capacity free.
#[test]
fn new_buffer_is_empty() {
    let b = CircularBuffer::new(16);
    assert_eq!(b.capacity(), 16);
    assert_eq!(b.len(), 0);
    assert!(b.is_empty());
    assert!(!b.is_full());
    assert_eq!(b.free_space(), 16);
}

/// A capacity of 0 is clamped to 1, and such a buffer works like any other.
#[test]
fn capacity_zero_is_clamped_to_one() {
    let mut b = CircularBuffer::new(0);
    assert_eq!(b.capacity(), 1);
    assert_eq!(b.write(b"ab"), 1);
    assert!(b.is_full());
    let mut out = [0u8; 4];
    assert_eq!(b.read(&mut out), 1);
    assert_eq!(Text(&out[..1]), Text(b"a"));
    assert!(b.is_empty());
}

/// Bytes come out in the order they went in.
#[test]
fn write_then_read_is_fifo() {
    let mut b = CircularBuffer::new(16);
    assert_eq!(b.write(b"Hello Abhishek"), 14);
    assert_eq!(b.len(), 14);
    let mut out = [0u8; 5];
    assert_eq!(b.read(&mut out), 5);
    assert_eq!(Text(&out), Text(b"Hello"));
    let mut rest = [0u8; 32];
    assert_eq!(b.read(&mut rest), 9);
    assert_eq!(Text(&rest[..9]), Text(b" Abhishek"));
    assert!(b.is_empty());
}

/// A write takes only what fits, never overwrites unread bytes, and says how much it took.
#[test]
fn write_never_overwrites_unread_data() {
    let mut b = CircularBuffer::new(8);
    assert_eq!(b.write(b"12345"), 5);
    assert_eq!(b.write(b"abcdef"), 3);
    assert!(b.is_full());
    assert_eq!(b.free_space(), 0);
    assert_eq!(b.write(b"zzz"), 0);
    let mut out = [0u8; 8];
    assert_eq!(b.read(&mut out), 8);
    assert_eq!(Text(&out), Text(b"12345abc"));
}

/// Peek copies without consuming; consume drops without copying.
#[test]
fn peek_leaves_data_and_consume_drops_it() {
    let mut b = CircularBuffer::new(8);
    b.write(b"abcdef");
    let mut two = [0u8; 2];
    assert_eq!(b.peek(&mut two), 2);
    assert_eq!(Text(&two), Text(b"ab"));
    assert_eq!(b.len(), 6);
    assert_eq!(b.consume(3), 3);
    assert_eq!(b.peek(&mut two), 2);
    assert_eq!(Text(&two), Text(b"de"));
    assert_eq!(b.consume(100), 3, "consume stops at what is stored");
    assert!(b.is_empty());
    assert_eq!(b.peek(&mut two), 0);
}

/// Data that wraps round the end of the array reads back intact, and front/rear show the wrap.
#[test]
fn wrap_around_keeps_order() {
    let mut b = CircularBuffer::new(8);
    b.write(b"abcdef");
    b.consume(5);
    assert_eq!(b.write(b"ghijklm"), 7);
    assert_eq!(b.front(), 5);
    assert_eq!(b.rear(), 5);
    assert!(b.is_full());
    let (head, tail) = b.as_slices();
    assert_eq!(Text(head), Text(b"fgh"));
    assert_eq!(Text(tail), Text(b"ijklm"));
    let mut out = [0u8; 8];
    assert_eq!(b.read(&mut out), 8);
    assert_eq!(Text(&out), Text(b"fghijklm"));
}

/// Reset empties the buffer whatever its state.
#[test]
fn reset_empties() {
    let mut b = CircularBuffer::new(4);
    b.write(b"abc");
    b.consume(2);
    b.write(b"de");
    b.reset();
    assert!(b.is_empty());
    assert_eq!(b.free_space(), 4);
    assert_eq!(b.write(b"wxyz"), 4);
    let mut out = [0u8; 4];
    b.read(&mut out);
    assert_eq!(Text(&out), Text(b"wxyz"));
}

/// The snapshot shows front, rear, fill level, the contents in order across the wrap with
/// `\n`, `\r`, `\t`, `"`, `\\` and unprintable bytes escaped, and the array slot by slot: the
/// unread bytes where they lie, `?` for an unprintable one, `·` for a free slot.
#[test]
fn snapshot_shows_positions_contents_and_slots() {
    let mut b = CircularBuffer::new(16);
    b.write(b"Hello Abhishek");
    b.consume(5);
    // 2 bytes fit before the end of the array, 3 wrap round to its start.
    b.write(b"\r\t\"\\\n");
    assert_eq!(
        b.to_string(),
        "front=5 rear=3 len=14/16 free=2\n\
         data: \" Abhishek\\r\\t\\\"\\\\\\n\"\n\
         slots: [\"\\?·· Abhishek??]"
    );
    b.consume(9);
    b.write(b"\x01");
    assert_eq!(
        b.to_string(),
        "front=14 rear=4 len=6/16 free=10\n\
         data: \"\\r\\t\\\"\\\\\\n\\x01\"\n\
         slots: [\"\\??··········??]",
        "slots freed by consume show as free, whatever bytes they still hold"
    );
}

/// An empty buffer's snapshot shows every slot free, wherever its front is.
#[test]
fn snapshot_of_an_empty_buffer() {
    let mut b = CircularBuffer::new(4);
    b.write(b"abc");
    b.consume(3);
    let s = b.to_string();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 3, "{s}");
    assert!(lines[0].contains("len=0/4 free=4"), "{s}");
    assert_eq!(lines[1], "data: \"\"", "{s}");
    assert_eq!(lines[2], "slots: [····]", "{s}");
}

/// Past 64 bytes the contents are elided with a count of what was left out; up to a capacity
/// of 64 the map is drawn, past it not.
#[test]
fn snapshot_elides_long_contents() {
    let mut b = CircularBuffer::new(64);
    b.write(&[b'a'; 64]);
    let s = b.to_string();
    assert!(
        s.contains(&format!("data: \"{}\"\n", "a".repeat(64))),
        "{s}"
    );
    assert!(s.ends_with(&format!("slots: [{}]", "a".repeat(64))), "{s}");
    let mut b = CircularBuffer::new(65);
    b.write(&[b'b'; 65]);
    let s = b.to_string();
    assert_eq!(
        s,
        format!(
            "front=0 rear=0 len=65/65 free=0\ndata: \"{}\" … and 1 bytes more",
            "b".repeat(64)
        )
    );
}

/// `{:?}` shows the positions only, never the contents (which may be large).
#[test]
fn debug_shows_positions_only() {
    let mut b = CircularBuffer::new(4);
    b.write(b"abc");
    b.consume(1);
    assert_eq!(
        format!("{b:?}"),
        "CircularBuffer { capacity: 4, front: 1, len: 2 }"
    );
}

/// A big buffer's snapshot stays a few lines long.
#[test]
fn snapshot_of_big_buffer_is_short() {
    let mut b = CircularBuffer::new(1 << 20);
    b.write(&vec![b'x'; 1 << 20]);
    let s = b.to_string();
    assert!(s.lines().count() <= 4, "{s}");
    assert!(s.len() < 400, "{} chars", s.len());
}

/// Bytes as an escaped string (`"ab\n\x01"`), so a failure shows text as text.
struct Text<'a>(&'a [u8]);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

/// One operation of the model-based test.
#[derive(Clone)]
enum Op {
    Write(Vec<u8>),
    Read(usize),
    Peek(usize),
    Consume(usize),
    Reset,
}

/// As the call it stands for, with bytes as text: `write("ab\n")`, `read(3)`.
impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Write(data) => write!(f, "write({:?})", Text(data)),
            Op::Read(n) => write!(f, "read({n})"),
            Op::Peek(n) => write!(f, "peek({n})"),
            Op::Consume(n) => write!(f, "consume({n})"),
            Op::Reset => write!(f, "reset()"),
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let byte = prop_oneof![4 => b'a'..=b'z', 1 => any::<u8>()];
    prop_oneof![
        4 => proptest::collection::vec(byte, 0..24).prop_map(Op::Write),
        2 => (0usize..24).prop_map(Op::Read),
        1 => (0usize..24).prop_map(Op::Peek),
        2 => (0usize..24).prop_map(Op::Consume),
        1 => Just(Op::Reset),
    ]
}

/// Checks every observable of `b` against the model after `step` (which names the operation
/// just done); a failure says which law broke.
fn check(
    b: &CircularBuffer,
    model: &VecDeque<u8>,
    capacity: usize,
    step: &str,
) -> Result<(), TestCaseError> {
    let model: Vec<u8> = model.iter().copied().collect();
    prop_assert_eq!(
        b.len(),
        model.len(),
        "after {}: len() is the bytes stored",
        step
    );
    prop_assert_eq!(
        b.capacity(),
        capacity,
        "after {}: capacity() never changes",
        step
    );
    prop_assert_eq!(
        b.free_space(),
        capacity - model.len(),
        "after {}: free_space() is capacity - len",
        step
    );
    prop_assert_eq!(b.is_empty(), model.is_empty(), "after {}: is_empty()", step);
    prop_assert_eq!(
        b.is_full(),
        model.len() == capacity,
        "after {}: is_full()",
        step
    );
    prop_assert!(
        b.front() < capacity && b.rear() < capacity,
        "after {}: front {} and rear {} must be indices of the array (below {})",
        step,
        b.front(),
        b.rear(),
        capacity
    );
    prop_assert_eq!(
        b.rear(),
        (b.front() + b.len()) % capacity,
        "after {}: rear is front + len, wrapped",
        step
    );
    let (head, tail) = b.as_slices();
    prop_assert!(
        tail.is_empty() || head.len() == capacity - b.front(),
        "after {}: as_slices() may only wrap at the end of the array, but head is {} bytes \
         from front {} of {}",
        step,
        head.len(),
        b.front(),
        capacity
    );
    let both: Vec<u8> = head.iter().chain(tail).copied().collect();
    prop_assert_eq!(
        Text(&both),
        Text(&model),
        "after {}: as_slices() must hold the stored bytes, oldest first",
        step
    );
    Ok(())
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

proptest! {
    // No regression files: tests/ stays clean for students; a case a proptest finds is
    // turned into a named unit test instead.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(1000)
    })]

    /// Any sequence of write/read/peek/consume/reset, from any starting front (every
    /// wrap-around position), behaves exactly like a bounded `VecDeque<u8>`.
    #[test]
    fn behaves_like_a_bounded_vecdeque(
        capacity in prop_oneof![Just(1usize), Just(2), 1usize..20],
        start in 0usize..20,
        ops in proptest::collection::vec(op(), 0..40),
    ) {
        let mut b = CircularBuffer::new(capacity);
        // Leave one byte at index `start % capacity`, so every wrap position is reached (a
        // buffer that emptied may rewind its front to 0, so one byte stays).
        let start = start % capacity;
        prop_assert_eq!(b.write(&vec![b'#'; start + 1]), start + 1, "the opening write");
        prop_assert_eq!(b.consume(start), start, "the opening consume");
        prop_assert_eq!(b.front(), start, "one byte left at index {}", start);
        let mut model: VecDeque<u8> = VecDeque::from(vec![b'#']);
        for (i, op) in ops.into_iter().enumerate() {
            let step = format!("operation #{i}, {op:?}, on {model_len} stored of {capacity}",
                model_len = model.len());
            match op {
                Op::Write(data) => {
                    let fits = data.len().min(capacity - model.len());
                    prop_assert_eq!(
                        b.write(&data),
                        fits,
                        "{}: write takes what fits, no more (min of its length and the free space)",
                        step
                    );
                    model.extend(&data[..fits]);
                }
                Op::Read(n) => {
                    let mut out = vec![0u8; n];
                    let got = b.read(&mut out);
                    let want: Vec<u8> = model.drain(..n.min(model.len())).collect();
                    prop_assert_eq!(
                        Text(&out[..got]),
                        Text(&want),
                        "{}: read gives the oldest bytes, at most n, and removes them",
                        step
                    );
                }
                Op::Peek(n) => {
                    let mut out = vec![0u8; n];
                    let got = b.peek(&mut out);
                    let want: Vec<u8> = model.iter().take(n).copied().collect();
                    prop_assert_eq!(
                        Text(&out[..got]),
                        Text(&want),
                        "{}: peek gives the oldest bytes, at most n, and keeps them",
                        step
                    );
                }
                Op::Consume(n) => {
                    let want = n.min(model.len());
                    prop_assert_eq!(
                        b.consume(n),
                        want,
                        "{}: consume drops at most what is stored",
                        step
                    );
                    model.drain(..want);
                }
                Op::Reset => {
                    b.reset();
                    model.clear();
                }
            }
            check(&b, &model, capacity, &step)?;
        }
    }
}
