//! Chapter 4's program, as the book shows it.

mod story;

/// ch4 shows three threads changing the client DB and the books balancing.
/// What it prints is what the book's "Run it" shows, line for line, figures (ports,
/// ids, times, counts) aside.
#[test]
fn ch4_tells_the_client_db_story() {
    let out = story::story_matches_the_book("ch4");
    story::says(
        &out,
        "ch4",
        &["balances", "exactly once", "server shutdown"],
    );
}
