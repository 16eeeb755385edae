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

#[cfg(test)]
mod tests;
