//! `ch8`, the chapter binary of closing and keep-alive: its story runs, exits 0, says what
//! the chapter claims, and is the output the book shows.

mod story;

/// ch8 shows a silent client dropped after its hold time while a chatty one stays, with
/// hold times in `show`, then both close sequences; what it prints is the book's copy.
#[test]
fn ch8_tells_the_keepalive_and_close_story() {
    let out = story::story_matches_the_book("ch8");
    story::says(
        &out,
        "ch8",
        &[
            "hold 0.",
            "disconnected: keep-alive expired",
            "is still connected",
            "peer closed",
            "reason: application",
            "TIME_WAIT",
        ],
    );
}
