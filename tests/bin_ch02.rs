//! Chapter 2's program, as the book shows it.

mod story;

/// ch2 shows the CAS thread accepting, a prompt stop, and a refused connect after it.
/// What it prints is what the book's "Run it" shows, line for line, figures (ports,
/// ids, times, counts) aside.
#[test]
fn ch2_tells_the_acceptor_story() {
    let out = story::story_matches_the_book("ch2");
    story::says(
        &out,
        "ch2",
        &["cas-ch2", "stop() returned after", "refused"],
    );
}
