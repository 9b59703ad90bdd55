//! Chapter 1's program, as the book shows it.

mod story;

/// ch1 walks through the controller's life: created (INITIALIZED), started (RUNNING, a real
/// port), a client listed, stopped.
/// What it prints is what the book's "Run it" shows, line for line, figures (ports,
/// ids, times, counts) aside.
#[test]
fn ch1_tells_the_controller_story() {
    let out = story::story_matches_the_book("ch1");
    story::says(
        &out,
        "ch1",
        &[
            "Steps 1-2",
            "INITIALIZED",
            "RUNNING",
            "Steps 5-7",
            "connected from",
            "server shutdown",
            "stop()",
        ],
    );
}
