//! `ch5`, the chapter binary of the byte circular buffer: its story runs, exits 0, says what
//! the chapter claims, and is the output the book shows.

mod story;

/// ch5 narrates one 16-byte buffer: a write, a read, a write that wraps round the end of the
/// array, a write that only partly fits, with the snapshot (slot map included) after each.
#[test]
fn ch5_tells_the_circular_buffer_story() {
    let out = story::story_matches_the_book("ch5");
    story::says(
        &out,
        "ch5",
        &[
            "front=",
            "rear=",
            "slots: [hi!·· Abhishek, ]",
            "wrapped",
            "only 2 of 10",
            "in order across the wrap",
        ],
    );
}
