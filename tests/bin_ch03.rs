//! Chapter 3's program, as the book shows it.

mod story;

/// ch3 shows one DRS thread serving every client, and both kinds of disconnect.
/// What it prints is what the book's "Run it" shows, line for line, figures (ports,
/// ids, times, counts) aside.
#[test]
fn ch3_tells_the_drs_story() {
    let out = story::story_matches_the_book("ch3");
    story::says(
        &out,
        "ch3",
        &[
            "drs-ch3",
            "got back exactly its own line",
            "peer closed",
            "application",
        ],
    );
}
