//! The journal's framing (docs/journal.md): a signature and version, then frames,
//! each a fixed header with its length, time range and a CRC32, then its payload.
//! A reader that meets a frame cut short or failing its CRC stops there: what came
//! before is whole.

use std::io::{self, Read};

use crate::clock::Mono;
use crate::model::Timestamp;

/// The first eight bytes of every journal segment. Like PNG's: a high byte, then
/// line endings that text-mode transfers would mangle.
pub const SIGNATURE: [u8; 8] = *b"\x89NLJ\r\n\x1a\n";

/// The journal format this build writes and the newest it reads.
pub const VERSION: u32 = 1;

/// Bytes before the first frame: the signature and the version.
pub const PREAMBLE_LEN: u64 = 12;

/// Bytes of a frame header.
pub const FRAME_HEADER_LEN: usize = 52;

/// Marks the start of every frame.
const FRAME_MAGIC: [u8; 4] = *b"NLJF";

/// Payloads larger than this are not believed (a corrupt length).
pub const MAX_PAYLOAD: u32 = 256 << 20;

/// What a frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// The segment's header (`MessagePack`, uncompressed).
    Header,
    /// The whole store (zstd, `MessagePack`).
    Keyframe,
    /// A batch of records (zstd, `MessagePack`).
    Events,
    /// The recording ended, and why (`MessagePack`, uncompressed).
    End,
}

impl FrameKind {
    const fn code(self) -> u8 {
        match self {
            Self::Header => 0,
            Self::Keyframe => 1,
            Self::Events => 2,
            Self::End => 3,
        }
    }

    const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Header),
            1 => Some(Self::Keyframe),
            2 => Some(Self::Events),
            3 => Some(Self::End),
            _ => None,
        }
    }
}

/// A frame's header: what it holds and the times it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// What the payload is.
    pub kind: FrameKind,
    /// Payload bytes after the header.
    pub len: u32,
    /// Records in an events frame (0 otherwise).
    pub count: u32,
    /// Wall-clock time of the first record (of the store's last event, for a keyframe).
    pub first: Timestamp,
    /// Wall-clock time of the last record.
    pub last: Timestamp,
    /// Monotonic time of the first record.
    pub first_mono: Mono,
    /// Monotonic time of the last record.
    pub last_mono: Mono,
    crc: u32,
}

fn unix_nanos(at: Timestamp) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn from_unix_nanos(nanos: i64) -> Timestamp {
    Timestamp::from_unix_timestamp_nanos(i128::from(nanos)).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl FrameHeader {
    /// The header of a frame of `kind` covering `first..=last`.
    #[must_use]
    pub const fn new(kind: FrameKind, count: u32, first: (Timestamp, Mono), last: (Timestamp, Mono)) -> Self {
        Self {
            kind,
            len: 0,
            count,
            first: first.0,
            last: last.0,
            first_mono: first.1,
            last_mono: last.1,
            crc: 0,
        }
    }

    fn fixed(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut bytes = [0u8; FRAME_HEADER_LEN];
        bytes[0..4].copy_from_slice(&FRAME_MAGIC);
        bytes[4] = self.kind.code();
        bytes[8..12].copy_from_slice(&self.len.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.count.to_le_bytes());
        bytes[16..24].copy_from_slice(&unix_nanos(self.first).to_le_bytes());
        bytes[24..32].copy_from_slice(&unix_nanos(self.last).to_le_bytes());
        bytes[32..40].copy_from_slice(&self.first_mono.as_nanos().to_le_bytes());
        bytes[40..48].copy_from_slice(&self.last_mono.as_nanos().to_le_bytes());
        bytes
    }

    /// The whole frame: header (with length and CRC) and `payload`.
    #[must_use]
    pub fn frame(mut self, payload: &[u8]) -> Vec<u8> {
        self.len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let mut bytes = self.fixed();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[..48]);
        crc.update(payload);
        bytes[48..52].copy_from_slice(&crc.finalize().to_le_bytes());
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
        frame.extend_from_slice(&bytes);
        frame.extend_from_slice(payload);
        frame
    }

    /// Parse a frame header; `None` when the bytes are not one (a torn or foreign tail).
    #[must_use]
    pub fn parse(bytes: &[u8; FRAME_HEADER_LEN]) -> Option<Self> {
        if bytes[0..4] != FRAME_MAGIC {
            return None;
        }
        let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let long = |at: usize| {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&bytes[at..at + 8]);
            i64::from_le_bytes(eight)
        };
        let len = word(8);
        (len <= MAX_PAYLOAD).then_some(())?;
        Some(Self {
            kind: FrameKind::from_code(bytes[4])?,
            len,
            count: word(12),
            first: from_unix_nanos(long(16)),
            last: from_unix_nanos(long(24)),
            first_mono: Mono::from_nanos(long(32)),
            last_mono: Mono::from_nanos(long(40)),
            crc: word(48),
        })
    }

    /// Whether `payload` is the one this header was written with.
    #[must_use]
    pub fn checks(&self, payload: &[u8]) -> bool {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.fixed()[..48]);
        crc.update(payload);
        crc.finalize() == self.crc
    }
}

/// Why a segment's preamble was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preamble {
    /// Not a journal at all.
    Foreign,
    /// A journal of a newer format.
    Newer(u32),
}

/// The preamble of a segment written by this build.
#[must_use]
pub fn preamble() -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(&SIGNATURE);
    bytes[8..].copy_from_slice(&VERSION.to_le_bytes());
    bytes
}

/// Check a segment's preamble: the version it was written in.
///
/// # Errors
/// [`Preamble::Foreign`] or [`Preamble::Newer`]; an I/O error as `Foreign` when the
/// file is shorter than a preamble.
pub fn read_preamble(reader: &mut impl Read) -> io::Result<Result<u32, Preamble>> {
    let mut bytes = [0u8; 12];
    match reader.read_exact(&mut bytes) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(Err(Preamble::Foreign)),
        Err(error) => return Err(error),
    }
    if bytes[..8] != SIGNATURE {
        return Ok(Err(Preamble::Foreign));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    Ok(match version {
        0 => Err(Preamble::Foreign),
        newer if newer > VERSION => Err(Preamble::Newer(newer)),
        version => Ok(version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_a_flipped_bit_fails_its_crc() {
        let at = Timestamp::from_unix_timestamp(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let header =
            FrameHeader::new(FrameKind::Events, 3, (at, Mono::from_nanos(5)), (at, Mono::from_nanos(9)));
        let mut frame = header.frame(b"payload");
        let mut fixed = [0u8; FRAME_HEADER_LEN];
        fixed.copy_from_slice(&frame[..FRAME_HEADER_LEN]);
        let parsed = FrameHeader::parse(&fixed).unwrap_or_else(|| panic!("not parsed"));
        assert_eq!((parsed.kind, parsed.len, parsed.count, parsed.first), (FrameKind::Events, 7, 3, at));
        assert!(parsed.checks(&frame[FRAME_HEADER_LEN..]));
        frame[FRAME_HEADER_LEN] ^= 1;
        assert!(!parsed.checks(&frame[FRAME_HEADER_LEN..]));
    }

    #[test]
    fn preambles_name_foreign_and_newer_files() {
        let ok = read_preamble(&mut &preamble()[..]).ok();
        assert_eq!(ok, Some(Ok(VERSION)));
        let newer = [&SIGNATURE[..], &7u32.to_le_bytes()].concat();
        assert_eq!(read_preamble(&mut &newer[..]).ok(), Some(Err(Preamble::Newer(7))));
        assert_eq!(read_preamble(&mut &b"{\"schema_version\": 1}"[..]).ok(), Some(Err(Preamble::Foreign)));
        assert_eq!(read_preamble(&mut &b"\x89N"[..]).ok(), Some(Err(Preamble::Foreign)));
    }
}
