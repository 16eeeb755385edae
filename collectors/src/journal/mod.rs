//! The journal (issue 14): the event stream written down, so a session can be
//! replayed as it was. The store is the fold of the events (DESIGN.md §3); a journal
//! holds those events, with keyframes (the whole store) at intervals so that any
//! moment is a keyframe plus a few minutes of events away. The format is a contract
//! with a version: docs/journal.md.

mod delta;
mod error;
mod frame;
mod reader;
mod record;
mod replay;
mod sink;
mod writer;

pub use error::JournalError;
pub use frame::VERSION;
pub use reader::Journal;
pub use replay::Replay;
pub use sink::{DirSink, FileSink, MemorySegment, MemorySink, Sink, segment_name};
pub use writer::{JournalHeader, Writer, WriterOptions, fold};

/// Memory the flight recorder's segments may hold, whatever its window.
pub const FLIGHT_RECORDER_BYTES: usize = 12 << 20;

/// The flight recorder's sink and options for `window` of recording: segments of two
/// minutes, each opening with a keyframe (dropping the oldest whole keeps `window` to
/// within two minutes more), in memory, at most [`FLIGHT_RECORDER_BYTES`]. Measured
/// with 15 minutes of the synthetic host (`benches/flight_recorder.rs`): one-minute
/// segments held 9.7 MB, a keyframe being a quarter of each; two-minute ones 8.9 MB at
/// most, and a keyframe a minute less to make.
#[must_use]
pub fn flight_recorder(window: std::time::Duration) -> (MemorySink, WriterOptions) {
    const SEGMENT: std::time::Duration = std::time::Duration::from_secs(120);
    let options = WriterOptions { keyframe_every: SEGMENT, segment_age: SEGMENT, ..WriterOptions::default() };
    (MemorySink::new(window, FLIGHT_RECORDER_BYTES), options)
}

#[cfg(test)]
mod tests;
