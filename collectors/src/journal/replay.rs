//! Moving through a journal: the store as of any event or time, rebuilt from the
//! nearest keyframe before it and the events after that keyframe.

use std::collections::VecDeque;

use super::error::JournalError;
use super::frame::FrameKind;
use super::reader::{Frame, Journal};
use super::record::{Bases, Record};
use super::writer::fold;
use crate::event::Event;
use crate::model::Timestamp;
use crate::store::Store;

/// A position in a journal and the store as of it.
pub struct Replay<'a> {
    journal: &'a Journal,
    store: Store,
    bases: Bases,
    /// The next frame to read: (segment, frame).
    next: (usize, usize),
    /// Records of the frame being read, not folded yet.
    pending: VecDeque<Record>,
    /// Events folded since the start of the journal.
    position: u64,
    /// The time of the last event folded.
    last_at: Option<Timestamp>,
    /// One decompressor for every frame: making one per frame cost a fifth of
    /// replaying small events (perf, `cargo bench --bench journal`).
    unzip: Option<zstd::bulk::Decompressor<'static>>,
}

/// Payloads larger than this decompressed are not believed (a damaged frame).
const MAX_RAW: usize = 1 << 30;

/// The decompressed bytes of a frame's `payload`.
fn unzip(unzip: &mut Option<zstd::bulk::Decompressor<'static>>, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let size = zstd::zstd_safe::get_frame_content_size(payload).ok().flatten();
    if let (Some(unzip), Some(size)) =
        (unzip.as_mut(), size.and_then(|size| usize::try_from(size).ok()).filter(|&size| size <= MAX_RAW))
    {
        return unzip.decompress(payload, size);
    }
    // A keyframe does not declare its size (it is streamed): read up to the bound.
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::new(payload)?.take(MAX_RAW as u64 + 1).read_to_end(&mut raw)?;
    if raw.len() > MAX_RAW {
        return Err(std::io::Error::other(format!("decompresses to more than {MAX_RAW} bytes")));
    }
    Ok(raw)
}

/// Decode the `count` records of an events frame's decompressed payload.
fn records(raw: &[u8], count: u32) -> Result<VecDeque<Record>, String> {
    let mut deserializer = rmp_serde::Deserializer::new(raw);
    (0..count)
        .map(|_| serde::Deserialize::deserialize(&mut deserializer).map_err(|error| error.to_string()))
        .collect()
}

impl<'a> Replay<'a> {
    /// At the start of `journal`: the state of its first keyframe.
    ///
    /// # Errors
    /// The first keyframe is damaged.
    pub fn new(journal: &'a Journal) -> Result<Self, JournalError> {
        let mut replay = Self {
            journal,
            store: Store::default(),
            bases: Bases::default(),
            next: (0, 0),
            pending: VecDeque::new(),
            position: 0,
            last_at: None,
            unzip: zstd::bulk::Decompressor::new().ok(),
        };
        replay.load_keyframe(0, 0)?;
        Ok(replay)
    }

    /// The store as of the position.
    #[must_use]
    pub const fn store(&self) -> &Store {
        &self.store
    }

    /// The journal replayed.
    #[must_use]
    pub const fn journal(&self) -> &'a Journal {
        self.journal
    }

    /// Events folded so far.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// The time of the position: the last event's, or the keyframe's.
    #[must_use]
    pub fn at(&self) -> Option<Timestamp> {
        self.last_at.or_else(|| self.store.updated_at())
    }

    fn frame(&self, segment: usize, frame: usize) -> (&'a super::reader::Segment, &'a Frame) {
        let journal: &'a Journal = self.journal;
        let segment = &journal.segments[segment];
        (segment, &segment.frames[frame])
    }

    fn load_keyframe(&mut self, segment: usize, frame: usize) -> Result<(), JournalError> {
        let (seg, keyframe) = self.frame(segment, frame);
        let payload = seg.payload(keyframe)?;
        let raw =
            unzip(&mut self.unzip, &payload).map_err(|error| seg.damaged(keyframe, error.to_string()))?;
        let store: Store =
            rmp_serde::from_slice(&raw).map_err(|error| seg.damaged(keyframe, error.to_string()))?;
        self.position = keyframe.events_before;
        self.store = store;
        self.bases.reset();
        self.pending.clear();
        self.last_at = None;
        self.next = (segment, frame + 1);
        Ok(())
    }

    /// Read frames until records are pending; `false` at the end of the journal.
    fn fill(&mut self) -> Result<bool, JournalError> {
        while self.pending.is_empty() {
            let (segment, frame) = self.next;
            let Some(seg) = self.journal.segments.get(segment) else { return Ok(false) };
            let Some(entry) = seg.frames.get(frame) else {
                if segment + 1 < self.journal.segments.len() {
                    // A new segment may start a new recording: its keyframe is the state.
                    let last = self.last_at.take();
                    self.load_keyframe(segment + 1, 0)?;
                    self.last_at = last;
                } else {
                    self.next = (segment + 1, 0);
                }
                continue;
            };
            match entry.header.kind {
                // The same recording's keyframe is the fold so far (the writer folds as
                // replay does): only the tables start again in full after it.
                FrameKind::Keyframe => self.bases.reset(),
                FrameKind::Events => {
                    let payload = seg.payload(entry)?;
                    let raw = unzip(&mut self.unzip, &payload)
                        .map_err(|error| seg.damaged(entry, error.to_string()))?;
                    self.pending =
                        records(&raw, entry.header.count).map_err(|error| seg.damaged(entry, error))?;
                }
                FrameKind::Header | FrameKind::End => {}
            }
            // Only past a frame that was read: a damaged one stays the end, however
            // often a caller asks again.
            self.next = (segment, frame + 1);
        }
        Ok(true)
    }

    /// The time of the next event, `None` at the end.
    ///
    /// # Errors
    /// The next frame is damaged.
    pub fn peek(&mut self) -> Result<Option<Timestamp>, JournalError> {
        Ok(if self.fill()? { self.pending.front().map(Record::at) } else { None })
    }

    /// Fold the next event; `false` at the end of the journal.
    ///
    /// # Errors
    /// The next frame is damaged, or a delta does not fit its table.
    pub fn step(&mut self) -> Result<bool, JournalError> {
        self.step_with(|_| ())
    }

    /// [`Self::step`], showing `see` the event before it is folded (without a copy of
    /// it: a socket table is large).
    ///
    /// # Errors
    /// As [`Self::step`].
    pub fn step_with(&mut self, see: impl FnOnce(&Event)) -> Result<bool, JournalError> {
        if !self.fill()? {
            return Ok(false);
        }
        let Some(record) = self.pending.pop_front() else { return Ok(false) };
        let event = self.bases.decode(record).map_err(|_| {
            let (segment, frame) = self.next;
            let (seg, entry) = self.frame(segment, frame.saturating_sub(1));
            seg.damaged(entry, "a table's changes do not fit the table before it")
        })?;
        see(&event);
        self.last_at = Some(event.at);
        fold(&mut self.store, event);
        self.position += 1;
        Ok(true)
    }

    /// The keyframe to start from for a position: the last one that `before` accepts.
    fn keyframe_before(&self, before: impl Fn(&Frame) -> bool) -> (usize, usize) {
        let mut best = (0, 0);
        for (s, segment) in self.journal.segments.iter().enumerate() {
            for (f, frame) in segment.frames.iter().enumerate() {
                if frame.header.kind == FrameKind::Keyframe && before(frame) {
                    best = (s, f);
                }
            }
        }
        best
    }

    /// The state after `index` events (clamped to the journal's end).
    ///
    /// # Errors
    /// A frame on the way is damaged.
    pub fn seek_index(&mut self, index: u64) -> Result<(), JournalError> {
        let (segment, frame) = self.keyframe_before(|frame| frame.events_before <= index);
        let keyframe_events = self.journal.segments[segment].frames[frame].events_before;
        // Going forward past no keyframe: carry on from here.
        if index < self.position || keyframe_events > self.position {
            self.load_keyframe(segment, frame)?;
        }
        while self.position < index && self.step()? {}
        Ok(())
    }

    /// The state after every event recorded at or before `at`.
    ///
    /// # Errors
    /// A frame on the way is damaged.
    pub fn seek_time(&mut self, at: Timestamp) -> Result<(), JournalError> {
        let (segment, frame) = self.keyframe_before(|frame| frame.header.first <= at);
        let keyframe = self.journal.segments[segment].frames[frame];
        let behind = self.at().is_some_and(|now| now > at);
        if behind || keyframe.events_before > self.position {
            self.load_keyframe(segment, frame)?;
        }
        while self.peek()?.is_some_and(|next| next <= at) {
            self.step()?;
        }
        Ok(())
    }
}
