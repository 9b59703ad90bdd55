//! Chapter 7's program, as the book shows it.

mod story;

/// What `cargo run --bin ch7` prints is what the book's "Run it" shows, line for line,
/// figures (ports, ids, times, counts) aside.
#[test]
fn ch7_prints_what_the_book_shows() {
    story::story_matches_the_book("ch7");
}
