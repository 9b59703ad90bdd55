//! Chapter 6's exercise: the cutting rules of the course's demarcators.
//!
//! [`locate`] is the whole of what fixed-size, length-prefixed and delimited demarcation
//! decide: given the bytes received so far, is a whole message there, where, or has the peer
//! broken the rule? Everything around it in the parent module (`cut`, `push`,
//! `next_message`, `feed`, `finish`) only moves bytes and remembers the answer. It is what
//! `--features ex06` replaces with `chapters/ex06_rules.rs`.

use super::{Found, Located, ProtocolError, Rule};
use crate::framing::{find, raw_limit, ByteOrder, Framing, HEADER_LEN};

// ANCHOR: locate
/// Where the next message lies in the bytes `head` then `tail` (the two halves of a circular
/// buffer, or a read and nothing): the cutting rules of the course's demarcators, applied to
/// bytes wherever they are.
pub(super) fn locate(
    rule: &Rule,
    head: &[u8],
    tail: &[u8],
    scanned: usize,
) -> Result<Found, ProtocolError> {
    let available = head.len() + tail.len();
    let byte_at = |i: usize| {
        if i < head.len() {
            head[i]
        } else {
            tail[i - head.len()]
        }
    };
    let incomplete = Ok(Found::Incomplete { scanned: 0 });
    match rule {
        Rule::PassThrough => incomplete,
        Rule::Fixed(n) => {
            if available < *n {
                return incomplete;
            }
            Ok(Found::Message(Located {
                start: 0,
                len: *n,
                total: *n,
            }))
        }
        Rule::Length { order, max_len } => {
            if available < HEADER_LEN {
                return incomplete;
            }
            let header = [byte_at(0), byte_at(1)];
            let len = usize::from(match order {
                ByteOrder::Big => u16::from_be_bytes(header),
                ByteOrder::Little => u16::from_le_bytes(header),
            });
            // Judged on the header alone: no point waiting for a body we will refuse.
            if len < HEADER_LEN {
                return Err(ProtocolError::FrameTooSmall { len });
            }
            if len > *max_len {
                return Err(ProtocolError::FrameTooLarge { len, max: *max_len });
            }
            if available < len {
                return incomplete;
            }
            Ok(Found::Message(Located {
                start: HEADER_LEN,
                len: len - HEADER_LEN,
                total: len,
            }))
        }
        Rule::Delimited { delimiter, max_len } => {
            let limit = raw_limit(delimiter, *max_len);
            let Some(at) = find(head, tail, scanned, delimiter) else {
                // The last delimiter.len() - 1 bytes may be the start of a delimiter.
                if available >= limit.saturating_add(delimiter.len()) {
                    return Err(ProtocolError::MessageTooLong { max: *max_len });
                }
                let scanned = (available + 1).saturating_sub(delimiter.len());
                return Ok(Found::Incomplete { scanned });
            };
            let mut len = at;
            if Framing::is_line(delimiter) && at > 0 && byte_at(at - 1) == b'\r' {
                len -= 1;
            }
            if len > *max_len {
                return Err(ProtocolError::MessageTooLong { max: *max_len });
            }
            Ok(Found::Message(Located {
                start: 0,
                len,
                total: at + delimiter.len(),
            }))
        }
    }
}
// ANCHOR_END: locate
