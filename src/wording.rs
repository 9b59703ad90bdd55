//! How the crate's programs word what they print (the shell, `tcpclient`, the demo
//! application): counts with the right singular or plural, and words quoted in errors cut
//! short, so that whatever a user typed is never echoed back whole.

/// How much of a word an error message quotes, in characters.
pub const QUOTED_CHARS: usize = 40;

// ANCHOR: shown
/// A word as an error message quotes it: in quotes, escaped, and cut after
/// [`QUOTED_CHARS`] characters (with "…" and its length), so that a huge word is never
/// echoed back whole.
pub fn shown(word: &str) -> String {
    let mut chars = word.chars();
    let head: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_none() {
        return format!("{word:?}");
    }
    format!(
        "\"{}…\" ({})",
        head.escape_debug(),
        plural(word.len() as u64, "byte")
    )
}
// ANCHOR_END: shown

/// `1 byte`, `2 bytes`, `0 clients`: a count and its noun, singular or plural.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
