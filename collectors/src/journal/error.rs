//! What can go wrong reading a journal, said for the user: the file, what was
//! expected, and what to do.

use std::path::PathBuf;

/// A journal that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a journal.
    #[error(
        "{path} is not a netlens journal (expected the journal signature at its start; record one with `netlens record -o FILE`){hint}"
    )]
    NotAJournal {
        /// The file.
        path: PathBuf,
        /// What it looks like instead, if we can tell.
        hint: &'static str,
    },
    /// A journal of a newer format.
    #[error(
        "{path} is a netlens journal of format version {version}, newer than this netlens reads (version {ours}); read it with a newer netlens"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its format version.
        version: u32,
        /// The version this build reads.
        ours: u32,
    },
    /// A directory without segments.
    #[error(
        "{path} holds no netlens journal segments (netlens-*.nlj files); record some with `netlens record -o DIR/`"
    )]
    NoSegments {
        /// The directory.
        path: PathBuf,
    },
    /// Nothing whole to read: the file was cut before its first keyframe.
    #[error("{path} holds no complete keyframe: it was cut {detail}; nothing in it can be replayed")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Where it was cut.
        detail: String,
    },
    /// A frame that fails its checksum or does not decode.
    #[error("{path}: the frame at byte {offset} is damaged ({what}); the journal is readable only up to it")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The frame's offset.
        offset: u64,
        /// What failed.
        what: String,
    },
}
