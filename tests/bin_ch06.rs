//! `ch6`, the chapter binary of message demarcation: its story runs, exits 0, says what the
//! chapter claims, and is the output the book shows.

mod story;

/// ch6 replays the course's demonstration: without demarcation the server sees the staged
/// writes as they were received, split and packed; with length-prefixed demarcation, the
/// same bytes come out as the four messages that were sent, and nothing is left buffered.
#[test]
fn ch6_tells_the_demarcation_story() {
    let out = story::story_matches_the_book("ch6");
    story::says(
        &out,
        "ch6",
        &[
            "recv -> \"Hell\"",
            "recv -> \"msg-1msg-2msg-3\"",
            "message 1: \"Hello Abhishek\"",
            "message 4: \"msg-3\"",
            "0 bytes left in the circular buffer",
        ],
    );
}
