//! `ch10`, the chapter binary of multi-threaded clients and migration: its story runs, exits
//! 0, says what the chapter claims, and is the output the book shows.

mod story;

/// ch10 shows a blocking callback holding up the DRS's other clients but not a threaded
/// client's, then a client migrated while it streams, with every echo back in order.
#[test]
fn ch10_tells_the_threaded_clients_story() {
    let out = story::story_matches_the_book("ch10");
    story::says(
        &out,
        "ch10",
        &[
            "bob waited for alice's work",
            "carol: threaded",
            "bob did not wait",
            "1000 of 1000 echoes came back, in order",
            "client threads left: 0",
        ],
    );
}
