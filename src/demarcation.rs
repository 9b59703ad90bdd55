//! Chapter 6 — TCP message demarcation. (Interface fixed; bodies being written.)

use std::fmt;
use std::str::FromStr;

/// Default largest message.
pub const DEFAULT_MAX_LEN: usize = 10240;

/// Byte order of the 2-byte length header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// Network order, our default.
    Big,
    /// Host order on x86, what the course's C++ test client writes.
    Little,
}

/// How the bytes of one client's stream are cut into messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Bytes delivered as they arrive.
    None,
    /// Every message is exactly this many bytes.
    Fixed(usize),
    /// A 2-byte header holds the total length, header included.
    LengthPrefixed { order: ByteOrder, max_len: usize },
    /// Messages end with `delimiter` (which is not part of the message).
    Delimited { delimiter: Vec<u8>, max_len: usize },
}

/// Why a client's stream cannot be cut into messages; the client is then disconnected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A length header announced more than the configured maximum.
    FrameTooLarge { len: usize, max: usize },
    /// A length header announced less than the header itself (2 bytes).
    FrameTooSmall { len: usize },
    /// A delimited message grew past the maximum without its delimiter.
    MessageTooLong { max: usize },
    /// The stream ended in the middle of a message.
    TruncatedAtEof { buffered: usize },
}

/// Why an outgoing message cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The payload does not fit the framing's size rules.
    WrongSize { len: usize, expected: String },
}

/// A parse failure of [`Framing::from_str`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFramingError(pub String);

impl Framing {
    /// Frames `payload` for sending under this framing.
    ///
    /// # Errors
    /// [`FrameError::WrongSize`] when the payload cannot be expressed in this framing.
    pub fn encode(&self, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
        Ok(payload.to_vec())
    }
}

/// One client's receive side: its circular buffer and the framing that cuts it.
pub struct Demarcator {
    framing: Framing,
}

impl Demarcator {
    /// A demarcator whose circular buffer holds `capacity` bytes.
    pub fn new(framing: Framing, capacity: usize) -> Demarcator {
        let _ = capacity;
        Demarcator { framing }
    }
    /// Feeds bytes read from the socket; pushes every complete message onto `out`.
    ///
    /// # Errors
    /// The first protocol violation; messages completed before it are already in `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), ProtocolError> {
        let _ = &self.framing;
        if !bytes.is_empty() {
            out.push(bytes.to_vec());
        }
        Ok(())
    }
    /// Called at end of stream.
    ///
    /// # Errors
    /// [`ProtocolError::TruncatedAtEof`] when part of a message is still buffered.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        Ok(())
    }
    /// Bytes waiting for the rest of their message.
    pub fn buffered(&self) -> usize {
        0
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}
impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}
impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}
impl fmt::Display for ParseFramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}
impl std::error::Error for ProtocolError {}
impl std::error::Error for FrameError {}
impl std::error::Error for ParseFramingError {}

impl FromStr for Framing {
    type Err = ParseFramingError;
    /// `none`, `fixed:N`, `length`, `length-le`, `line`.
    fn from_str(s: &str) -> Result<Framing, ParseFramingError> {
        let _ = s;
        todo!()
    }
}
