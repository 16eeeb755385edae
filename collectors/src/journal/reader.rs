//! Opening a journal: a file or a directory of segments, indexed by scanning frame
//! headers only (payloads are read when a replay needs them). A frame cut short ends
//! its segment: what came before is read, nothing after it is trusted.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::JournalError;
use super::frame::{FRAME_HEADER_LEN, FrameHeader, FrameKind, PREAMBLE_LEN, Preamble, SIGNATURE, VERSION};
use super::sink::MemorySegment;
use super::writer::JournalHeader;
use crate::model::Timestamp;

/// Where a segment's bytes are.
#[derive(Debug, Clone)]
enum Bytes {
    File(Arc<File>, u64),
    Memory(Arc<Vec<u8>>),
}

impl Bytes {
    fn len(&self) -> u64 {
        match self {
            Self::File(_, len) => *len,
            Self::Memory(bytes) => bytes.len() as u64,
        }
    }

    /// `len` bytes at `offset`, `None` past the end.
    fn read(&self, offset: u64, len: usize) -> io::Result<Option<Vec<u8>>> {
        if offset.saturating_add(len as u64) > self.len() {
            return Ok(None);
        }
        match self {
            Self::File(file, _) => {
                let mut buf = vec![0u8; len];
                file.read_exact_at(&mut buf, offset)?;
                Ok(Some(buf))
            }
            Self::Memory(bytes) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                Ok(bytes.get(start..start.saturating_add(len)).map(<[u8]>::to_vec))
            }
        }
    }
}

/// One frame of a segment, as indexed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    /// Where its payload starts.
    pub offset: u64,
    pub header: FrameHeader,
    /// Events recorded before it in the whole journal.
    pub events_before: u64,
}

/// One segment, indexed.
#[derive(Debug, Clone)]
pub(super) struct Segment {
    pub name: PathBuf,
    bytes: Bytes,
    pub header: JournalHeader,
    pub frames: Vec<Frame>,
    /// Why the recording ended, when this segment says so.
    pub ended: Option<String>,
    /// The byte where a cut-short frame starts, if the segment has one.
    pub torn_at: Option<u64>,
}

impl Segment {
    /// The payload of `frame`, checked against its CRC.
    pub fn payload(&self, frame: &Frame) -> Result<Vec<u8>, JournalError> {
        let payload = self
            .bytes
            .read(frame.offset, frame.header.len as usize)
            .map_err(|source| JournalError::Io { path: self.name.clone(), source })?
            .unwrap_or_default();
        if !frame.header.checks(&payload) {
            return Err(self.damaged(frame, "its checksum does not match"));
        }
        Ok(payload)
    }

    pub fn damaged(&self, frame: &Frame, what: impl Into<String>) -> JournalError {
        JournalError::Damaged {
            path: self.name.clone(),
            offset: frame.offset - FRAME_HEADER_LEN as u64,
            what: what.into(),
        }
    }
}

/// An opened journal: its segments in recording order, indexed.
#[derive(Debug, Clone)]
pub struct Journal {
    pub(super) segments: Vec<Segment>,
    events: u64,
}

fn looks_like(start: &[u8]) -> &'static str {
    match start.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{') => " — it looks like JSON: a snapshot opens with `netlens open FILE`",
        Some(b'#') => " — it looks like Markdown: a snapshot report, not a journal",
        _ => "",
    }
}

impl Journal {
    /// Open the journal at `path`: a journal file, or a directory of segments.
    ///
    /// # Errors
    /// The file is not a journal, of a newer version, unreadable, or holds no keyframe.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let io_error = |source| JournalError::Io { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(io_error)?;
        let names = if meta.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io_error)?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|name| name.extension().is_some_and(|ext| ext == "nlj"))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(JournalError::NoSegments { path: path.to_path_buf() });
            }
            names
        } else {
            vec![path.to_path_buf()]
        };
        let mut segments = Vec::new();
        for name in names {
            let opened = File::open(&name).and_then(|file| {
                let len = file.metadata()?.len();
                Ok(Bytes::File(Arc::new(file), len))
            });
            let bytes = opened.map_err(|source| JournalError::Io { path: name.clone(), source })?;
            match index(&name, bytes) {
                Ok(segment) => segments.push(segment),
                // One cut-short segment in a directory (a crash mid-rotation) does not
                // lose the others, nor does a file that only shares the extension.
                Err(JournalError::Empty { .. } | JournalError::NotAJournal { .. }) if meta.is_dir() => {}
                Err(error) => return Err(error),
            }
        }
        Self::from_segments(path, segments)
    }

    /// A journal from segments held in memory (the flight recorder's).
    ///
    /// # Errors
    /// A segment does not index (it cannot, unless memory was corrupted).
    pub fn from_memory<'a>(
        segments: impl IntoIterator<Item = &'a MemorySegment>,
    ) -> Result<Self, JournalError> {
        let path = Path::new("(flight recorder)");
        let indexed = segments
            .into_iter()
            .map(|segment| index(path, Bytes::Memory(Arc::new(segment.bytes.clone()))))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_segments(path, indexed)
    }

    fn from_segments(path: &Path, mut segments: Vec<Segment>) -> Result<Self, JournalError> {
        if segments.is_empty() {
            return Err(JournalError::Empty { path: path.to_path_buf(), detail: "in every segment".into() });
        }
        segments.sort_by_key(|segment| (segment.header.recording_started_at, segment.header.segment));
        let mut events = 0u64;
        for segment in &mut segments {
            for frame in &mut segment.frames {
                frame.events_before = events;
                if frame.header.kind == FrameKind::Events {
                    events += u64::from(frame.header.count);
                }
            }
        }
        Ok(Self { segments, events })
    }

    /// The first segment's header: host, namespace, version, when it started.
    #[must_use]
    pub fn header(&self) -> &JournalHeader {
        &self.segments[0].header
    }

    /// Every recording in the journal (a directory can hold several), by header.
    pub fn recordings(&self) -> impl Iterator<Item = &JournalHeader> {
        let mut last = None;
        self.segments.iter().map(|segment| &segment.header).filter(move |header| {
            let new = last != Some(header.recording_started_at);
            last = Some(header.recording_started_at);
            new
        })
    }

    /// Events recorded in all.
    #[must_use]
    pub const fn events(&self) -> u64 {
        self.events
    }

    /// The positions (events before them) of every keyframe.
    pub fn keyframe_positions(&self) -> impl Iterator<Item = u64> + '_ {
        self.segments
            .iter()
            .flat_map(|segment| &segment.frames)
            .filter(|frame| frame.header.kind == FrameKind::Keyframe)
            .map(|frame| frame.events_before)
    }

    /// The wall-clock times of the first and the last event.
    #[must_use]
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        let mut frames = self.segments.iter().flat_map(|segment| &segment.frames);
        let first = frames.clone().find(|frame| frame.header.kind == FrameKind::Events)?.header.first;
        let last = frames.rfind(|frame| frame.header.kind == FrameKind::Events)?.header.last;
        Some((first, last))
    }

    /// Why the recording ended (`None`: it did not say — still recording, or cut).
    #[must_use]
    pub fn ended(&self) -> Option<&str> {
        self.segments.last()?.ended.as_deref()
    }

    /// Segments that end in a frame cut short, with the byte it starts at.
    pub fn torn(&self) -> impl Iterator<Item = (&Path, u64)> {
        self.segments.iter().filter_map(|segment| Some((segment.name.as_path(), segment.torn_at?)))
    }
}

/// Check the preamble of a segment whose first bytes are `start`.
fn preamble(path: &Path, start: &[u8], len: u64) -> Result<(), JournalError> {
    let signature = &start[..start.len().min(SIGNATURE.len())];
    if signature != &SIGNATURE[..signature.len()] {
        let hint = looks_like(start);
        return Err(JournalError::NotAJournal { path: path.to_path_buf(), hint });
    }
    match super::frame::read_preamble(&mut &start[..]) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(Preamble::Newer(version))) => {
            Err(JournalError::Newer { path: path.to_path_buf(), version, ours: VERSION })
        }
        Ok(Err(Preamble::Foreign)) | Err(_) => {
            Err(JournalError::Empty { path: path.to_path_buf(), detail: format!("at byte {len}") })
        }
    }
}

/// Index one segment's frames, reading their headers; stop at the first that is cut
/// short or foreign.
fn index(path: &Path, bytes: Bytes) -> Result<Segment, JournalError> {
    let io_error = |source| JournalError::Io { path: path.to_path_buf(), source };
    let len = bytes.len();
    let start =
        bytes.read(0, usize::try_from(len.min(64)).unwrap_or(64)).map_err(io_error)?.unwrap_or_default();
    preamble(path, &start, len)?;
    let mut frames = Vec::new();
    let mut offset = PREAMBLE_LEN;
    let mut torn_at = None;
    let mut header: Option<JournalHeader> = None;
    let mut ended = None;
    while offset < len {
        let fixed = bytes.read(offset, FRAME_HEADER_LEN).map_err(io_error)?;
        let parsed = fixed
            .and_then(|fixed| FrameHeader::parse(fixed.as_slice().try_into().ok()?))
            .filter(|frame| offset + FRAME_HEADER_LEN as u64 + u64::from(frame.len) <= len);
        let Some(frame_header) = parsed else {
            torn_at = Some(offset);
            break;
        };
        let frame =
            Frame { offset: offset + FRAME_HEADER_LEN as u64, header: frame_header, events_before: 0 };
        offset = frame.offset + u64::from(frame_header.len);
        let small = |frame: &Frame| -> Result<Option<Vec<u8>>, JournalError> {
            let payload = bytes.read(frame.offset, frame.header.len as usize).map_err(io_error)?;
            Ok(payload.filter(|payload| frame.header.checks(payload)))
        };
        match frame_header.kind {
            FrameKind::Header if header.is_none() => {
                header = small(&frame)?.and_then(|payload| rmp_serde::from_slice(&payload).ok());
                if header.is_none() {
                    torn_at = Some(frame.offset - FRAME_HEADER_LEN as u64);
                    break;
                }
            }
            FrameKind::End => ended = small(&frame)?.and_then(|payload| rmp_serde::from_slice(&payload).ok()),
            FrameKind::Keyframe | FrameKind::Events
                if header.is_some() && (!frames.is_empty() || frame_header.kind == FrameKind::Keyframe) =>
            {
                frames.push(frame);
            }
            _ => {
                torn_at = Some(frame.offset - FRAME_HEADER_LEN as u64);
                break;
            }
        }
    }
    let (Some(header), false) = (header, frames.is_empty()) else {
        let detail = format!("at byte {}", torn_at.unwrap_or(len));
        return Err(JournalError::Empty { path: path.to_path_buf(), detail });
    };
    Ok(Segment { name: path.to_path_buf(), bytes, header, frames, ended, torn_at })
}

impl From<(PathBuf, io::Error)> for JournalError {
    fn from((path, source): (PathBuf, io::Error)) -> Self {
        Self::Io { path, source }
    }
}
