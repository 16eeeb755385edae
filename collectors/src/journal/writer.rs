//! Writing a journal: events are folded into the writer's own store (so a keyframe
//! is exactly the fold of everything written before it), encoded as records, batched
//! into compressed frames, and cut into segments that each start with a keyframe.

use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::frame::{FrameHeader, FrameKind, preamble};
use super::record::Bases;
use super::sink::Sink;
use crate::clock::Mono;
use crate::event::Event;
use crate::model::Timestamp;
use crate::store::Store;

/// What every segment says about the recording, in its header frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// The netlens release that wrote it.
    pub netlens_version: String,
    /// The host it was recorded on.
    pub host: String,
    /// The network namespace it watched (`--netns`), `None` for netlens's own.
    pub netns: Option<String>,
    /// When the recording started (all its segments share it: it names the recording).
    pub recording_started_at: Timestamp,
    /// The segment's number in its recording, from 0.
    pub segment: u32,
    /// When the segment started.
    pub segment_started_at: Timestamp,
}

/// When to flush, keyframe and start a new segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Records wait in memory at most this long (in event time) before their frame is
    /// written: what a crash can lose.
    pub flush_every: Duration,
    /// A keyframe at least this often (in event time): bounds the work of a seek.
    pub keyframe_every: Duration,
    /// A new segment after this many bytes.
    pub segment_bytes: u64,
    /// A new segment after this long.
    pub segment_age: Duration,
    /// zstd compression level of event frames.
    pub level: i32,
    /// zstd compression level of keyframes: they are few (one per `keyframe_every`),
    /// so a slower level costs little CPU and saves a keyframe's worth of bytes an hour.
    pub keyframe_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            flush_every: Duration::from_secs(10),
            keyframe_every: Duration::from_secs(120),
            segment_bytes: u64::MAX,
            segment_age: Duration::MAX,
            level: 3,
            keyframe_level: 12,
        }
    }
}

/// Raw (uncompressed) bytes of records that force a frame out early.
const BATCH_BYTES: usize = 512 << 10;

/// Fold `event` as the recorder and every reader of a journal fold it: applied in
/// whole, then the findings evaluated at its time.
pub fn fold(store: &mut Store, event: Event) {
    let stamp = event.stamp();
    store.apply(event);
    store.evaluate_findings(stamp);
}

/// The store as a keyframe's payload: serialized straight into the compressor, whose
/// window and tables are bounded. Measured on the synthetic host's 3 MB store
/// (`benches/flight_recorder.rs`): zstd level 12 left to pick its own tables for that
/// size used 42 MB of memory for 78 ms (every keyframe, every minute for the flight
/// recorder), and the whole store as a buffer first held 3 MB more; with a 1 MiB
/// window and 2^18-entry tables the keyframe is 1 % larger, made in 46 ms, in ~3 MB.
fn compress_store(store: &Store, level: i32) -> io::Result<Vec<u8>> {
    use zstd::zstd_safe::CParameter;
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), level)?;
    encoder.window_log(20)?;
    encoder.set_parameter(CParameter::HashLog(18))?;
    encoder.set_parameter(CParameter::ChainLog(18))?;
    // MessagePack writes a few bytes at a time; the compressor is fed in blocks.
    let mut buffered = io::BufWriter::with_capacity(64 << 10, encoder);
    rmp_serde::encode::write_named(&mut buffered, store).map_err(io::Error::other)?;
    buffered.into_inner().map_err(io::IntoInnerError::into_error)?.finish()
}

/// A frame a reader would refuse (a corrupt length to it) is not written.
fn check_size(payload: &[u8]) -> io::Result<()> {
    if payload.len() > super::frame::MAX_PAYLOAD as usize {
        return Err(io::Error::other(format!(
            "a frame of {} bytes is larger than a journal frame may be ({} bytes)",
            payload.len(),
            super::frame::MAX_PAYLOAD
        )));
    }
    Ok(())
}

/// Writes one recording to a [`Sink`].
pub struct Writer<S: Sink> {
    sink: S,
    header: JournalHeader,
    options: WriterOptions,
    store: Store,
    bases: Bases,
    /// The batched records, `MessagePack` one after another.
    batch: Vec<u8>,
    batch_count: u32,
    batch_first: Option<(Timestamp, Mono)>,
    batch_last: Option<(Timestamp, Mono)>,
    /// Whether a segment is open (its header and keyframe written).
    open: bool,
    segment_started: Option<Mono>,
    last_keyframe: Option<Mono>,
    last_event: Option<(Timestamp, Mono)>,
    last_flushed: Option<Timestamp>,
}

impl<S: Sink> Writer<S> {
    /// A writer that starts its first segment with the first event. `store` is the
    /// empty store to fold into (its limits and findings configuration are recorded).
    pub fn new(sink: S, header: JournalHeader, options: WriterOptions, store: Store) -> Self {
        Self {
            sink,
            header,
            options,
            store,
            bases: Bases::default(),
            batch: Vec::new(),
            batch_count: 0,
            batch_first: None,
            batch_last: None,
            open: false,
            segment_started: None,
            last_keyframe: None,
            last_event: None,
            last_flushed: None,
        }
    }

    /// The fold of everything written.
    pub const fn store(&self) -> &Store {
        &self.store
    }

    /// Change the findings' rules and thresholds of the store it folds into (a daemon's
    /// config reload): events from now on are judged by them, and the next keyframe
    /// carries them.
    pub fn set_findings_config(&mut self, config: crate::findings::FindingsConfig) {
        self.store.set_findings_config(config);
    }

    /// Where the frames go.
    pub const fn sink(&self) -> &S {
        &self.sink
    }

    /// Wall-clock time of the last event in the sink (not merely batched).
    pub fn written_until(&self) -> Option<Timestamp> {
        match self.batch_first {
            None => self.last_event.map(|(at, _)| at),
            Some(_) => self.last_flushed,
        }
    }

    /// Record one event.
    ///
    /// # Errors
    /// The sink's write error (the disk is full, …); what was written before stays whole.
    pub fn write(&mut self, event: Event) -> io::Result<()> {
        let mono = event.mono;
        if !self.open {
            self.begin_segment(event.at, mono)?;
        } else if self.keyframe_due(mono) {
            self.flush()?;
            if self.rotation_due(mono) {
                self.sink.end_segment()?;
                self.header.segment += 1;
                self.begin_segment(event.at, mono)?;
            } else {
                self.keyframe(mono)?;
            }
        }
        let record = self.bases.encode(&event);
        rmp_serde::encode::write_named(&mut self.batch, &record).map_err(io::Error::other)?;
        let stamp = (event.at, mono);
        self.batch_first.get_or_insert(stamp);
        self.batch_last = Some(stamp);
        self.batch_count += 1;
        self.last_event = Some(stamp);
        fold(&mut self.store, event);
        if self.flush_due(mono) {
            self.flush()?;
        }
        Ok(())
    }

    /// Write the batch out if it has waited `flush_every` by `now` (a quiet host sends
    /// few events, so the recorder calls this on a timer).
    ///
    /// # Errors
    /// The sink's write error.
    pub fn tick(&mut self, now: Mono) -> io::Result<()> {
        if self.flush_due(now) { self.flush() } else { Ok(()) }
    }

    fn flush_due(&self, now: Mono) -> bool {
        let Some((_, first)) = self.batch_first else { return false };
        self.batch.len() >= BATCH_BYTES || now - first >= self.options.flush_every
    }

    fn keyframe_due(&self, now: Mono) -> bool {
        self.last_keyframe.is_none_or(|then| now - then >= self.options.keyframe_every)
            || self.rotation_due(now)
    }

    fn rotation_due(&self, now: Mono) -> bool {
        self.sink.segment_len() >= self.options.segment_bytes
            || self.segment_started.is_some_and(|then| now - then >= self.options.segment_age)
    }

    fn begin_segment(&mut self, at: Timestamp, mono: Mono) -> io::Result<()> {
        self.header.segment_started_at = at;
        self.sink.begin_segment(&self.header)?;
        self.segment_started = Some(mono);
        let mut bytes = preamble().to_vec();
        let header = rmp_serde::to_vec_named(&self.header).map_err(io::Error::other)?;
        let now = (at, mono);
        bytes.extend(FrameHeader::new(FrameKind::Header, 0, now, now).frame(&header));
        self.sink.append(&bytes)?;
        self.open = true;
        self.keyframe(mono)
    }

    /// The store as it is, as a frame, after which tables start again in full. Its
    /// times are the last folded event's (the segment's start before any): the state
    /// it holds is the state as of then.
    fn keyframe(&mut self, now: Mono) -> io::Result<()> {
        let stamp = self.last_event.unwrap_or((self.header.segment_started_at, now));
        let payload = compress_store(&self.store, self.options.keyframe_level)?;
        check_size(&payload)?;
        self.sink.append(&FrameHeader::new(FrameKind::Keyframe, 0, stamp, stamp).frame(&payload))?;
        self.bases.reset();
        self.last_keyframe = Some(now);
        Ok(())
    }

    /// Write the batched records as one frame.
    ///
    /// # Errors
    /// The sink's write error.
    pub fn flush(&mut self) -> io::Result<()> {
        let (Some(first), Some(last)) = (self.batch_first, self.batch_last) else { return Ok(()) };
        let header = FrameHeader::new(FrameKind::Events, self.batch_count, first, last);
        let payload = zstd::bulk::compress(&self.batch, self.options.level)?;
        check_size(&payload)?;
        self.sink.append(&header.frame(&payload))?;
        self.batch.clear();
        self.batch_count = 0;
        self.batch_first = None;
        self.batch_last = None;
        self.last_flushed = Some(last.0);
        Ok(())
    }

    /// Write what is batched and an end frame saying why the recording stopped.
    ///
    /// # Errors
    /// The sink's write error.
    pub fn finish(mut self, reason: &str) -> io::Result<S> {
        self.flush()?;
        if self.open {
            let now = self.last_event.unwrap_or((self.header.segment_started_at, Mono::ZERO));
            let reason = rmp_serde::to_vec_named(&reason).map_err(io::Error::other)?;
            self.sink.append(&FrameHeader::new(FrameKind::End, 0, now, now).frame(&reason))?;
            self.sink.end_segment()?;
        }
        Ok(self.sink)
    }
}
