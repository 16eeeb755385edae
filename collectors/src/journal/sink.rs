//! Where a journal's segments go: one file, a directory of rotated segment files, or
//! memory (the TUI's flight recorder).
//!
//! A root process writes these, so each touches only what it was named: a file is
//! created new (never over an existing one), a directory's rotation deletes only
//! segment files it can read as netlens journals.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::frame::SIGNATURE;
use super::writer::JournalHeader;

/// Receives a recording's bytes, segment by segment.
pub trait Sink {
    /// Start a segment (the writer then appends its preamble and header).
    ///
    /// # Errors
    /// Creating the segment failed.
    fn begin_segment(&mut self, header: &JournalHeader) -> io::Result<()>;
    /// Append whole frames to the current segment.
    ///
    /// # Errors
    /// Writing failed (the disk is full, …): the segment ends with the last whole frame.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The current segment is complete.
    ///
    /// # Errors
    /// Flushing it failed.
    fn end_segment(&mut self) -> io::Result<()>;
    /// Bytes in the current segment.
    fn segment_len(&self) -> u64;
    /// Bytes written in all.
    fn written(&self) -> u64;
}

/// Segment files are private: a journal holds everything a snapshot does.
const FILE_MODE: u32 = 0o600;

/// Create `path` as a new private file.
fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)
}

/// One journal file (a single segment), or standard output.
pub struct FileSink {
    out: Box<dyn Write + Send>,
    /// The file, to cut a torn frame off after a failed write (not for a pipe).
    file: Option<File>,
    len: u64,
    begun: bool,
}

impl FileSink {
    /// A journal at `path`, which must not exist yet.
    ///
    /// # Errors
    /// The file exists or cannot be created.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = create_new(path)?;
        let out = Box::new(file.try_clone()?);
        Ok(Self { out, file: Some(file), len: 0, begun: false })
    }

    /// A journal written to `out` (standard output).
    #[must_use]
    pub fn stream(out: Box<dyn Write + Send>) -> Self {
        Self { out, file: None, len: 0, begun: false }
    }
}

impl Sink for FileSink {
    fn begin_segment(&mut self, _header: &JournalHeader) -> io::Result<()> {
        if self.begun {
            return Err(io::Error::other(
                "a journal file holds one segment; record to a directory to rotate",
            ));
        }
        self.begun = true;
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Err(error) = self.out.write_all(bytes).and_then(|()| self.out.flush()) {
            if let Some(file) = &self.file {
                // Best effort: a reader skips a torn tail anyway.
                let _ = file.set_len(self.len);
            }
            return Err(error);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn end_segment(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.file.as_ref().map_or(Ok(()), File::sync_data)
    }

    fn segment_len(&self) -> u64 {
        self.len
    }

    fn written(&self) -> u64 {
        self.len
    }
}

/// The name of a segment file: its start time, then its number, so names sort in
/// recording order.
#[must_use]
pub fn segment_name(header: &JournalHeader) -> String {
    let at = header.segment_started_at.to_offset(time::UtcOffset::UTC);
    format!(
        "netlens-{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:06}.nlj",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        header.segment
    )
}

/// Whether `path` is a segment file a directory sink may delete: named like one and
/// starting with the journal signature.
fn is_own_segment(path: &Path) -> bool {
    let named = path.extension().is_some_and(|ext| ext == "nlj")
        && path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with("netlens-"));
    let mut signature = [0u8; 8];
    named
        && File::open(path).and_then(|mut file| io::Read::read_exact(&mut file, &mut signature)).is_ok()
        && signature == SIGNATURE
}

/// A directory of segment files, the oldest deleted while they hold more than a bound.
pub struct DirSink {
    dir: PathBuf,
    max_total: u64,
    /// Segment files, oldest first, with their sizes (the current one last).
    segments: VecDeque<(PathBuf, u64)>,
    current: Option<FileSink>,
    written: u64,
}

impl DirSink {
    /// Segments in `dir` (created if missing, but not its parents: a mistyped path
    /// run as root must not leave a tree of directories behind), all of them together
    /// at most `max_total` bytes: older segments of earlier recordings count too.
    ///
    /// # Errors
    /// `dir` exists and is not a directory, its parent does not exist, or it cannot be
    /// created or listed.
    pub fn open(dir: &Path, max_total: u64) -> io::Result<Self> {
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            // Not a directory: listing it below says so.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let parent = dir.parent().unwrap_or(dir);
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "its parent directory {} does not exist: create it, or choose another",
                        parent.display()
                    ),
                ));
            }
            result => result?,
        }
        let mut segments: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| is_own_segment(path))
            .filter_map(|path| Some((path.clone(), std::fs::metadata(&path).ok()?.len())))
            .collect();
        segments.sort();
        Ok(Self { dir: dir.to_path_buf(), max_total, segments: segments.into(), current: None, written: 0 })
    }

    /// The segment files, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &Path> {
        self.segments.iter().map(|(path, _)| path.as_path())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut total: u64 = self.segments.iter().map(|(_, len)| len).sum();
        while total > self.max_total && self.segments.len() > 1 {
            let Some((oldest, len)) = self.segments.pop_front() else { break };
            match std::fs::remove_file(&oldest) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    self.segments.push_front((oldest, len));
                    return Err(error);
                }
            }
            total -= len;
        }
        Ok(())
    }
}

impl Sink for DirSink {
    fn begin_segment(&mut self, header: &JournalHeader) -> io::Result<()> {
        if let Some(mut current) = self.current.take() {
            current.end_segment()?;
        }
        let name = segment_name(header);
        let mut path = self.dir.join(&name);
        let mut attempt = 1;
        // Two recordings can start a segment in the same second.
        while path.exists() {
            path = self.dir.join(format!("{}.{attempt}.nlj", name.trim_end_matches(".nlj")));
            attempt += 1;
        }
        self.current = Some(FileSink::create(&path)?);
        self.segments.push_back((path, 0));
        self.rotate()
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let current = self.current.as_mut().ok_or_else(|| io::Error::other("no segment begun"))?;
        current.append(bytes)?;
        self.written += bytes.len() as u64;
        if let Some((_, len)) = self.segments.back_mut() {
            *len = current.segment_len();
        }
        self.rotate()
    }

    fn end_segment(&mut self) -> io::Result<()> {
        self.current.take().map_or(Ok(()), |mut current| current.end_segment())
    }

    fn segment_len(&self) -> u64 {
        self.current.as_ref().map_or(0, FileSink::segment_len)
    }

    fn written(&self) -> u64 {
        self.written
    }
}

/// A segment held in memory.
#[derive(Debug, Clone)]
pub struct MemorySegment {
    /// Its header.
    pub header: JournalHeader,
    /// Its bytes, a complete segment file.
    pub bytes: Vec<u8>,
}

/// The last `window` of a recording, in memory, at most `max_bytes`: whole segments
/// are dropped oldest first, so what is kept always starts with a keyframe.
pub struct MemorySink {
    window: Duration,
    max_bytes: usize,
    segments: VecDeque<MemorySegment>,
    written: u64,
}

impl MemorySink {
    /// Keep `window` of recording (at least), in at most `max_bytes`.
    #[must_use]
    pub const fn new(window: Duration, max_bytes: usize) -> Self {
        Self { window, max_bytes, segments: VecDeque::new(), written: 0 }
    }

    /// The segments kept, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &MemorySegment> {
        self.segments.iter()
    }

    /// Bytes held.
    #[must_use]
    pub fn held(&self) -> usize {
        self.segments.iter().map(|segment| segment.bytes.capacity()).sum()
    }

    fn prune(&mut self) {
        let Some(newest) = self.segments.back().map(|segment| segment.header.segment_started_at) else {
            return;
        };
        let window = time::Duration::try_from(self.window).unwrap_or(time::Duration::MAX);
        // The second-oldest segment alone still covers the window: the oldest can go.
        while self.segments.len() > 1
            && (self.segments[1].header.segment_started_at <= newest - window || self.held() > self.max_bytes)
        {
            self.segments.pop_front();
        }
    }
}

impl Sink for MemorySink {
    fn begin_segment(&mut self, header: &JournalHeader) -> io::Result<()> {
        if let Some(last) = self.segments.back_mut() {
            last.bytes.shrink_to_fit();
        }
        self.segments.push_back(MemorySegment { header: header.clone(), bytes: Vec::new() });
        self.prune();
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let current = self.segments.back_mut().ok_or_else(|| io::Error::other("no segment begun"))?;
        // Grown by what is needed, not doubled: capacity is memory held (a frame every
        // few seconds makes the copies cheap).
        current.bytes.reserve_exact(bytes.len());
        current.bytes.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn end_segment(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn segment_len(&self) -> u64 {
        self.segments.back().map_or(0, |segment| segment.bytes.len() as u64)
    }

    fn written(&self) -> u64 {
        self.written
    }
}
