//! Chapter 5 — the byte circular buffer, tested through its public API.
//!
//! Exercise: `cargo test --features ex05 --test ch05_circular_buffer` runs these against the
//! stub in `chapters/ex05_circular_buffer.rs`.

use proptest::prelude::*;
use std::collections::VecDeque;
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
    assert_eq!(&out[..1], b"a");
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
    assert_eq!(&out, b"Hello");
    let mut rest = [0u8; 32];
    assert_eq!(b.read(&mut rest), 9);
    assert_eq!(&rest[..9], b" Abhishek");
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
    assert_eq!(&out, b"12345abc");
}

/// Peek copies without consuming; consume drops without copying.
#[test]
fn peek_leaves_data_and_consume_drops_it() {
    let mut b = CircularBuffer::new(8);
    b.write(b"abcdef");
    let mut two = [0u8; 2];
    assert_eq!(b.peek(&mut two), 2);
    assert_eq!(&two, b"ab");
    assert_eq!(b.len(), 6);
    assert_eq!(b.consume(3), 3);
    assert_eq!(b.peek(&mut two), 2);
    assert_eq!(&two, b"de");
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
    assert_eq!(head, b"fgh");
    assert_eq!(tail, b"ijklm");
    let mut out = [0u8; 8];
    assert_eq!(b.read(&mut out), 8);
    assert_eq!(&out, b"fghijklm");
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
    assert_eq!(&out, b"wxyz");
}

/// The snapshot shows front, rear, fill level and the contents, escaping unprintable bytes.
#[test]
fn snapshot_shows_positions_and_contents() {
    let mut b = CircularBuffer::new(16);
    b.write(b"Hello Abhishek");
    b.consume(5);
    b.write(b"!\n\x01");
    let s = b.to_string();
    assert!(s.contains("front=5"), "{s}");
    assert!(s.contains("rear=1"), "{s}");
    assert!(s.contains("12/16"), "{s}");
    assert!(s.contains(r#"" Abhishek!\n\x01""#), "{s}");
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

/// One operation of the model-based test.
#[derive(Clone, Debug)]
enum Op {
    Write(Vec<u8>),
    Read(usize),
    Peek(usize),
    Consume(usize),
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..24).prop_map(Op::Write),
        2 => (0usize..24).prop_map(Op::Read),
        1 => (0usize..24).prop_map(Op::Peek),
        2 => (0usize..24).prop_map(Op::Consume),
        1 => Just(Op::Reset),
    ]
}

/// Checks every observable of `b` against the model.
fn check(b: &CircularBuffer, model: &VecDeque<u8>, capacity: usize) {
    assert_eq!(b.len(), model.len());
    assert_eq!(b.capacity(), capacity);
    assert_eq!(b.free_space(), capacity - model.len());
    assert_eq!(b.is_empty(), model.is_empty());
    assert_eq!(b.is_full(), model.len() == capacity);
    assert!(b.front() < capacity && b.rear() < capacity);
    assert_eq!(b.rear(), (b.front() + b.len()) % capacity);
    let (head, tail) = b.as_slices();
    let both: Vec<u8> = head.iter().chain(tail).copied().collect();
    assert_eq!(both, model.iter().copied().collect::<Vec<u8>>());
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
        // Move front to `start % capacity` so every wrap position is reached.
        let start = start % capacity;
        b.write(&vec![0u8; start]);
        b.consume(start);
        prop_assert_eq!(b.front(), start);
        let mut model: VecDeque<u8> = VecDeque::new();
        for op in ops {
            match op {
                Op::Write(data) => {
                    let fits = data.len().min(capacity - model.len());
                    prop_assert_eq!(b.write(&data), fits);
                    model.extend(&data[..fits]);
                }
                Op::Read(n) => {
                    let mut out = vec![0u8; n];
                    let got = b.read(&mut out);
                    let want: Vec<u8> = model.drain(..n.min(model.len())).collect();
                    prop_assert_eq!(&out[..got], &want[..]);
                }
                Op::Peek(n) => {
                    let mut out = vec![0u8; n];
                    let got = b.peek(&mut out);
                    let want: Vec<u8> = model.iter().take(n).copied().collect();
                    prop_assert_eq!(&out[..got], &want[..]);
                }
                Op::Consume(n) => {
                    let want = n.min(model.len());
                    prop_assert_eq!(b.consume(n), want);
                    model.drain(..want);
                }
                Op::Reset => {
                    b.reset();
                    model.clear();
                }
            }
            check(&b, &model, capacity);
        }
    }
}
