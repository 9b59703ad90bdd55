//! Chapter 7's program, as the book shows it.

mod story;

/// ch7 shows the flags changing as accepting and listening are disabled and re-enabled,
/// and nothing lost meanwhile.
/// What it prints is what the book's "Run it" shows, line for line, figures (ports,
/// ids, times, counts) aside.
#[test]
fn ch7_tells_the_state_story() {
    let out = story::story_matches_the_book("ch7");
    story::says(
        &out,
        "ch7",
        &[
            "NOT_ACCEPTING",
            "NOT_LISTENING",
            "refused",
            "delivered now from #1: \"sent while not listening 3\"",
        ],
    );
}
