//! Chapter 6 — the wire formats: how a server's messages are laid out on the byte stream.
//!
//! A [`Framing`] names the rule both ends agree on — none, fixed size, a 2-byte length header
//! (the course's "variable size"), or a delimiter such as a line's `\n` — and knows how to
//! frame an outgoing message ([`Framing::encode`], [`Framing::wrapping`]). Cutting the
//! incoming stream by the same rule is the [`demarcation`](crate::demarcation) module's job.
//! The two live apart so that the exercise of chapter 6 (the cutting) swaps only its own file.

use std::fmt;
use std::str::FromStr;

/// Default limit on one message (header or delimiter included for length-prefixed framing,
/// excluded for delimited framing), in bytes: large enough for the course's demos. Each
/// client's buffer holds one such message, but only while a message is split across reads.
pub const DEFAULT_MAX_LEN: usize = 10240;

/// Size of the length header of [`Framing::LengthPrefixed`].
pub const HEADER_LEN: usize = 2;

/// Byte order of the 2-byte length header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// Network order, our default.
    Big,
    /// Host order on x86, what the course's C++ test client writes.
    Little,
}

// ANCHOR: framing
/// How the bytes of one client's stream are cut into messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Bytes delivered as they arrive.
    None,
    /// Every message is exactly this many bytes.
    ///
    /// `Fixed(0)` cannot cut anything (a zero-byte message would repeat forever), so a
    /// [`Demarcator`](crate::demarcation::Demarcator) treats it like [`Framing::None`]; `"fixed:0"` does not parse.
    Fixed(usize),
    /// A 2-byte header holds the total length, header included.
    ///
    /// `max_len` bounds that total; a header can announce at most 65535 whatever `max_len` says.
    LengthPrefixed { order: ByteOrder, max_len: usize },
    /// Messages end with `delimiter` (which is not part of the message).
    ///
    /// `max_len` bounds the message without its delimiter. A delimiter of exactly `\n` is a
    /// *line*: a `\r` just before it is dropped too, so telnet's `\r\n` lines arrive clean. An
    /// empty delimiter cannot cut anything, so a [`Demarcator`](crate::demarcation::Demarcator) treats it like
    /// [`Framing::None`].
    Delimited { delimiter: Vec<u8>, max_len: usize },
}
// ANCHOR_END: framing

/// Why an outgoing message cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The payload does not fit the framing's size rules.
    WrongSize { len: usize, expected: String },
    /// The payload contains the delimiter of a delimited framing at byte offset `at`, so the
    /// receiver would cut it there. `delimiter` is the delimiter, escaped for display. A
    /// delimiter that would start inside the payload and end in the appended delimiter counts
    /// too (`"ab"` then `"aba"`), and so, under line framing, does a payload ending in `\r`,
    /// which the receiver would strip.
    ContainsDelimiter { at: usize, delimiter: String },
}

/// A parse failure of [`Framing::from_str`]; the string says what was wrong and what was
/// expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFramingError(pub String);

/// What [`Framing::from_str`] accepts, for error messages.
const EXPECTED: &str = "expected none, fixed:N, length, length-le or line";

/// Largest size a `fixed:N` may ask for: the course's sizes are `uint16_t`, and each client
/// buffers at least one whole message.
pub const MAX_FIXED_LEN: usize = u16::MAX as usize;

/// Writes bytes as a Rust-like escaped string, for messages about delimiters.
fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl Framing {
    /// Length-prefixed framing with a big-endian header and [`DEFAULT_MAX_LEN`]: what
    /// `"length"` parses to.
    pub fn length() -> Framing {
        Framing::LengthPrefixed {
            order: ByteOrder::Big,
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// Newline-ended lines of at most [`DEFAULT_MAX_LEN`] bytes: what `"line"` parses to.
    pub fn line() -> Framing {
        Framing::Delimited {
            delimiter: b"\n".to_vec(),
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// True for a delimited framing whose delimiter is exactly `\n`, where a `\r` before the
    /// delimiter is dropped.
    pub(crate) fn is_line(delimiter: &[u8]) -> bool {
        delimiter == b"\n"
    }

    // ANCHOR: encode
    /// Frames `payload` for sending under this framing.
    ///
    /// - none: the payload as is;
    /// - fixed N: the payload, which must be exactly N bytes;
    /// - length-prefixed: a 2-byte header holding `payload.len() + 2`, then the payload;
    /// - delimited: the payload, then the delimiter.
    ///
    /// # Errors
    /// [`FrameError::WrongSize`] when the payload cannot be expressed in this framing (not N
    /// bytes; a frame over `max_len` or over the 65535 a header can hold; a delimited message
    /// over `max_len`). [`FrameError::ContainsDelimiter`] when a delimited payload contains
    /// its delimiter (or, for lines, ends with `\r`).
    pub fn encode(&self, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
        let wrapping = self.wrapping(payload)?;
        let mut frame = Vec::with_capacity(wrapping.len() + payload.len());
        frame.extend_from_slice(wrapping.header());
        frame.extend_from_slice(payload);
        frame.extend_from_slice(wrapping.trailer());
        Ok(frame)
    }

    // ANCHOR: wrapping
    /// What goes around `payload` on the wire (a header before, a delimiter after), checked
    /// as [`encode`](Self::encode) checks it: how a reply is queued without building the
    /// frame in a `Vec` of its own first.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn wrapping(&self, payload: &[u8]) -> Result<Wrapping<'_>, FrameError> {
        let len = payload.len();
        let bare = Wrapping {
            header: [0; HEADER_LEN],
            header_len: 0,
            trailer: &[],
        };
        match self {
            Framing::None => Ok(bare),
            Framing::Fixed(n) => {
                if len != *n {
                    return Err(FrameError::WrongSize {
                        len,
                        expected: format!("exactly {n} bytes"),
                    });
                }
                Ok(bare)
            }
            Framing::LengthPrefixed { order, max_len } => {
                let max_total = (*max_len).min(u16::MAX as usize);
                let total = match u16::try_from(len + HEADER_LEN) {
                    Ok(total) if usize::from(total) <= max_total => total,
                    _ => {
                        return Err(FrameError::WrongSize {
                            len,
                            expected: format!(
                                "at most {} bytes of payload (frames of at most {max_total} \
                                 bytes, 2-byte header included)",
                                max_total.saturating_sub(HEADER_LEN)
                            ),
                        })
                    }
                };
                let header = match order {
                    ByteOrder::Big => total.to_be_bytes(),
                    ByteOrder::Little => total.to_le_bytes(),
                };
                Ok(Wrapping {
                    header,
                    header_len: HEADER_LEN,
                    trailer: &[],
                })
            }
            Framing::Delimited { delimiter, max_len } => {
                if len > *max_len {
                    return Err(FrameError::WrongSize {
                        len,
                        expected: format!("at most {max_len} bytes before the delimiter"),
                    });
                }
                // Searched in payload + delimiter: the receiver cuts at the first occurrence,
                // which must be the appended one. ("ab" + "aba" would be cut at 0.)
                if let Some(at) = find(payload, delimiter, 0, delimiter).filter(|&at| at < len) {
                    return Err(FrameError::ContainsDelimiter {
                        at,
                        delimiter: escaped(delimiter),
                    });
                }
                if Framing::is_line(delimiter) && payload.last() == Some(&b'\r') {
                    return Err(FrameError::ContainsDelimiter {
                        at: len - 1,
                        delimiter: escaped(b"\r\n"),
                    });
                }
                Ok(Wrapping {
                    trailer: delimiter,
                    ..bare
                })
            }
        }
    }
    // ANCHOR_END: wrapping
    // ANCHOR_END: encode

    /// The smallest circular buffer that always holds one maximal message of this framing
    /// (its header or delimiter included), so that a full buffer always contains a complete
    /// message or a violation, and [`Demarcator::feed`](crate::demarcation::Demarcator::feed) always makes progress.
    pub fn min_capacity(&self) -> usize {
        match self {
            Framing::None => 1,
            Framing::Fixed(n) => *n,
            Framing::LengthPrefixed { max_len, .. } => {
                (*max_len).clamp(HEADER_LEN, u16::MAX as usize)
            }
            Framing::Delimited { delimiter, max_len } => {
                raw_limit(delimiter, *max_len).saturating_add(delimiter.len())
            }
        }
    }
}

/// Longest run of bytes before a delimiter that may still turn into a legal message: for lines
/// one more than `max_len`, for the `\r` that will be stripped.
pub(crate) fn raw_limit(delimiter: &[u8], max_len: usize) -> usize {
    if Framing::is_line(delimiter) {
        max_len.saturating_add(1)
    } else {
        max_len
    }
}

/// Finds `needle` in the concatenation of `head` and `tail` (the two halves of a circular
/// buffer), starting at offset `from`. Returns its offset.
///
/// Candidates are found with a slice search for the needle's first byte, so the common case
/// (a one-byte `\n`) is a plain scan of each half; the rest of the needle is then compared
/// across the seam.
pub(crate) fn find(head: &[u8], tail: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let total = head.len() + tail.len();
    let at = |i: usize| {
        if i < head.len() {
            head[i]
        } else {
            tail[i - head.len()]
        }
    };
    let mut i = from;
    while i + needle.len() <= total {
        // Next occurrence of the first byte, searching whichever half `i` is in.
        let found = if i < head.len() {
            match head[i..].iter().position(|&b| b == first) {
                Some(p) => i + p,
                None => {
                    i = head.len();
                    continue;
                }
            }
        } else {
            let start = i - head.len();
            head.len() + start + tail[start..].iter().position(|&b| b == first)?
        };
        if found + needle.len() > total {
            return None;
        }
        if rest
            .iter()
            .enumerate()
            .all(|(k, &b)| at(found + 1 + k) == b)
        {
            return Some(found);
        }
        i = found + 1;
    }
    None
}

/// What a framing puts around a payload: a header before it, a delimiter after it (either
/// may be empty). See [`Framing::wrapping`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wrapping<'a> {
    header: [u8; HEADER_LEN],
    header_len: usize,
    trailer: &'a [u8],
}

impl<'a> Wrapping<'a> {
    /// The bytes before the payload.
    pub fn header(&self) -> &[u8] {
        &self.header[..self.header_len]
    }

    /// The bytes after the payload.
    pub fn trailer(&self) -> &'a [u8] {
        self.trailer
    }

    /// How many bytes the wrapping adds.
    pub fn len(&self) -> usize {
        self.header_len + self.trailer.len()
    }

    /// True when the payload goes out as it is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Framing {
    /// The spelling [`Framing::from_str`] accepts, then the limits in parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Framing::None => write!(f, "none (bytes delivered as they arrive)"),
            Framing::Fixed(n) => write!(f, "fixed:{n} (every message {n} bytes)"),
            Framing::LengthPrefixed { order, max_len } => {
                let (name, order) = match order {
                    ByteOrder::Big => ("length", "big-endian"),
                    ByteOrder::Little => ("length-le", "little-endian"),
                };
                write!(f, "{name} (2-byte {order} header, max {max_len} bytes)")
            }
            Framing::Delimited { delimiter, max_len } if Framing::is_line(delimiter) => write!(
                f,
                "line (ends with \\n, optional \\r before it dropped, max {max_len} bytes)"
            ),
            Framing::Delimited { delimiter, max_len } => write!(
                f,
                "delimited by \"{}\" (max {max_len} bytes)",
                escaped(delimiter)
            ),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::WrongSize { len, expected } => {
                write!(f, "cannot frame a {len}-byte message; expected {expected}")
            }
            FrameError::ContainsDelimiter { at, delimiter } => write!(
                f,
                "cannot frame a message containing its delimiter \"{delimiter}\" (at byte {at}); \
                 the receiver would cut it there"
            ),
        }
    }
}

impl fmt::Display for ParseFramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}
impl std::error::Error for ParseFramingError {}

// ANCHOR: from_str
impl FromStr for Framing {
    type Err = ParseFramingError;

    /// `none`, `fixed:N` (1 ≤ N ≤ 65535), `length`, `length-le`, `line`; case-sensitive,
    /// surrounding blanks ignored. Limits are the defaults ([`DEFAULT_MAX_LEN`]).
    fn from_str(s: &str) -> Result<Framing, ParseFramingError> {
        let s = s.trim();
        match s {
            "none" => return Ok(Framing::None),
            "length" => return Ok(Framing::length()),
            "length-le" => {
                return Ok(Framing::LengthPrefixed {
                    order: ByteOrder::Little,
                    max_len: DEFAULT_MAX_LEN,
                })
            }
            "line" => return Ok(Framing::line()),
            _ => {}
        }
        let Some(size) = s.strip_prefix("fixed:") else {
            let hint = if s == "fixed" {
                " (a size is needed, e.g. fixed:10)"
            } else {
                ""
            };
            return Err(ParseFramingError(format!(
                "unknown framing \"{s}\"{hint}; {EXPECTED}"
            )));
        };
        match size.parse::<usize>() {
            Ok(n) if (1..=MAX_FIXED_LEN).contains(&n) => Ok(Framing::Fixed(n)),
            _ => Err(ParseFramingError(format!(
                "invalid message size \"{size}\" in \"{s}\"; expected fixed:N with N a whole \
                 number of bytes from 1 to {MAX_FIXED_LEN}"
            ))),
        }
    }
}
// ANCHOR_END: from_str
