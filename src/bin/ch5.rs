//! `cargo run --bin ch5` — chapter 5, the byte circular buffer, narrated step by step.
//!
//! The circular buffer is a pure data structure, so this chapter has no server: the story is
//! told on one buffer of 16 bytes, showing front and rear chase each other round the array.

use tcpserverlib::circular_buffer::CircularBuffer;
use tcpserverlib::say;

/// Prints each line of `text` with the chapter prefix.
fn say(text: &str) {
    for line in text.lines() {
        say!("[ch5] {line}");
    }
}

/// Prints the buffer's snapshot (the course's `BCBPrintSnapshot`), indented under the story.
fn snapshot(b: &CircularBuffer) {
    for line in b.to_string().lines() {
        say!("[ch5]     {line}");
    }
}

fn main() {
    run();
    // Every line queued for stdout is written before the process ends.
    tcpserverlib::printer::flush();
}

fn run() {
    if std::env::args().skip(1).any(|a| a == "--listen") {
        say("chapter 5 is a pure data structure (the circular buffer): it has no server to listen with.");
        say(
            "try `cargo run --bin ch6 -- --listen ADDR` to see the buffer at work behind a server.",
        );
        return;
    }

    let mut b = CircularBuffer::new(16);
    say("A circular buffer of 16 bytes: front = oldest unread byte, rear = where the next byte goes.");
    snapshot(&b);

    let n = b.write(b"Hello Abhishek");
    say(&format!(
        "write(\"Hello Abhishek\") -> {n} bytes taken; rear moved on by {n}:"
    ));
    snapshot(&b);

    let mut out = [0u8; 5];
    let n = b.read(&mut out);
    say(&format!(
        "read 5 -> {n} bytes: \"{}\"; front moved on, those slots are free again:",
        String::from_utf8_lossy(&out[..n])
    ));
    snapshot(&b);

    let rear_before = b.rear();
    let n = b.write(b", hi!");
    let up_to_end = n.min(b.capacity() - rear_before);
    say(&format!(
        "write(\", hi!\") -> {n} bytes taken; it did not fit before the end of the array, so it wrapped round:"
    ));
    say(&format!(
        "  (two copies: {up_to_end} bytes up to the end, {} from the start; rear {} < front {} now)",
        n - up_to_end,
        b.rear(),
        b.front()
    ));
    snapshot(&b);

    let n = b.write(b"0123456789");
    say(&format!(
        "write(\"0123456789\") -> only {n} of 10 bytes fitted: unread data is never overwritten, the caller keeps the rest:"
    ));
    snapshot(&b);

    say("  (front == rear both when full and when empty: that is why the buffer keeps its length)");

    let mut all = [0u8; 16];
    let n = b.read(&mut all);
    say(&format!(
        "read everything -> {n} bytes, in order across the wrap: \"{}\"",
        String::from_utf8_lossy(&all[..n])
    ));
    snapshot(&b);
    say(&format!(
        "done: {} bytes buffered, {} free",
        b.len(),
        b.free_space()
    ));
}
