//! Where a document goes, written without destroying what is there.
//!
//! netlens often runs as root and is pointed at paths it did not choose (`-o` in a
//! shared directory, an export directory under /tmp). The rules, by what the name is
//! when netlens looks:
//!
//! - `-`: standard output.
//! - nothing: a new file, created 0600 (a snapshot is evidence and may hold private
//!   facts) from a complete temporary file linked in without replacing anything.
//! - a regular file: replaced atomically (temporary file, fsync, rename), keeping its
//!   mode and, where allowed, its owner. A file with other hard links is written in
//!   place instead, so every name keeps seeing the same file.
//! - a symlink: written through, as a shell's `>` does: opened through the link, so
//!   the kernel's `protected_symlinks` rules still apply, and the link stays a link.
//! - a character device (`/dev/null`), a FIFO or a socket: opened and written in place.
//! - a directory or a block device: refused (a snapshot over a disk destroys the disk).
//!
//! A failure names the path and the cause; a new or replaced file is never left
//! half-written. [`create_new`] is for names netlens picks itself (the TUI's export):
//! it never follows or replaces an existing name.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek as _, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Mode of a file netlens creates.
const NEW_FILE_MODE: u32 = 0o600;

/// Names tried by [`create_new`] before it gives up (`name`, `name-2`, … `name-N`).
const MAX_NAME_TRIES: u32 = 100;

/// Where a document is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output (`-`).
    Stdout,
    /// A path on the file system.
    Path(PathBuf),
}

impl Output {
    /// `-` is standard output, anything else a path.
    #[must_use]
    pub fn from_arg(arg: &OsStr) -> Self {
        if arg == "-" { Self::Stdout } else { Self::Path(PathBuf::from(arg)) }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdout => f.write_str("standard output"),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A write that failed: which path, what netlens was doing, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {target}: {}", explain(.cause, *.hint))]
pub struct OutputError {
    target: String,
    hint: Hint,
    /// Not a `#[source]`: the message already says it in plain words, and an error
    /// chain would print it a second time.
    cause: io::Error,
}

/// What a user can do about a failure, beyond the kernel's word for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    None,
    /// The directory that should hold the file is missing.
    MissingDirectory,
    /// The name is a directory.
    Directory,
    /// The name is a block device.
    BlockDevice,
    /// The name is a symlink the kernel would not follow (or not let us write through).
    Symlink,
    /// Opened and truncated in place, then the write failed.
    WrittenInPlace,
}

fn explain(error: &io::Error, hint: Hint) -> String {
    let cause = match error.kind() {
        io::ErrorKind::StorageFull => "no space left on the device".to_owned(),
        io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_owned(),
        io::ErrorKind::PermissionDenied
            if matches!(
                netlens_collectors::system::landlock(),
                netlens_collectors::model::Landlock::Enforced | netlens_collectors::model::Landlock::Partial
            ) =>
        {
            // Landlock's refusal looks like any other EACCES: say where it comes from.
            "permission denied: since start-up netlens may write only where it could then (Landlock), \
             and a directory made later is not among them; choose a directory that existed when netlens \
             started, or restart it"
                .to_owned()
        }
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        // tempfile wraps the kernel's error with the temporary file's name, which
        // means nothing to the user: show the kernel's word alone. Its wrapper is
        // private and its `source` skips the OS error, so the name is cut from the
        // text (`{error} at path "{name}"`).
        _ => {
            let text = error.to_string();
            text.split_once(" at path \"").map_or(text.clone(), |(kernel, _)| kernel.to_owned())
        }
    };
    match hint {
        Hint::None => cause,
        Hint::MissingDirectory => "its directory does not exist: create it or choose another path".to_owned(),
        Hint::Directory => "it is a directory: name a file inside it".to_owned(),
        Hint::BlockDevice => "it is a block device, and writing there would destroy what it holds".to_owned(),
        Hint::Symlink => format!(
            "{cause}: it is a symlink the kernel will not let this user write through (fs.protected_symlinks \
             forbids following another user's links in world-writable sticky directories such as /tmp)"
        ),
        Hint::WrittenInPlace => format!("{cause}; it was being written in place and is now incomplete"),
    }
}

impl OutputError {
    fn new(target: &Path, cause: io::Error) -> Self {
        Self::with_hint(target, Hint::None, cause)
    }

    fn with_hint(target: &Path, hint: Hint, cause: io::Error) -> Self {
        Self { target: target.display().to_string(), hint, cause }
    }

    fn stdout(cause: io::Error) -> Self {
        Self { target: "standard output".to_owned(), hint: Hint::None, cause }
    }
}

/// Renders a document into a writer; called once per write.
pub type Render<'a> = dyn FnOnce(&mut dyn Write) -> io::Result<()> + 'a;

/// What the name is, decided once before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Missing,
    Regular {
        shared: bool,
    },
    Symlink,
    /// A character device or a FIFO: opened for writing, no create, no truncate.
    Stream,
    Socket,
    Directory,
    BlockDevice,
}

fn kind_of(path: &Path) -> Result<Kind, OutputError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(error) => return Err(OutputError::new(path, error)),
    };
    let file_type = meta.file_type();
    Ok(if file_type.is_symlink() {
        Kind::Symlink
    } else if file_type.is_dir() {
        Kind::Directory
    } else if file_type.is_file() {
        Kind::Regular { shared: meta.nlink() > 1 }
    } else if file_type.is_block_device() {
        Kind::BlockDevice
    } else if file_type.is_socket() {
        Kind::Socket
    } else {
        Kind::Stream
    })
}

/// Check, before any work is done, that `output` can be written: the name is not a
/// directory or a block device, and a new file's directory exists and takes files.
/// Nothing is created or changed.
pub fn check(output: &Output) -> Result<(), OutputError> {
    let Output::Path(path) = output else { return Ok(()) };
    match kind_of(path)? {
        Kind::Directory => {
            Err(OutputError::with_hint(path, Hint::Directory, io::Error::from_raw_os_error(libc::EISDIR)))
        }
        Kind::BlockDevice => {
            Err(OutputError::with_hint(path, Hint::BlockDevice, io::Error::from(io::ErrorKind::InvalidInput)))
        }
        Kind::Missing | Kind::Regular { .. } => {
            let dir = parent_dir(path);
            match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {
                    // A real probe: permissions, read-only mounts and quotas all speak here.
                    tempfile::Builder::new()
                        .prefix(".netlens-check-")
                        .tempfile_in(dir)
                        .map(drop)
                        .map_err(|error| OutputError::new(path, error))
                }
                Ok(_) => Err(OutputError::with_hint(
                    path,
                    Hint::MissingDirectory,
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                )),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    Err(OutputError::with_hint(path, Hint::MissingDirectory, error))
                }
                Err(error) => Err(OutputError::new(path, error)),
            }
        }
        // Opening a FIFO for writing blocks until a reader comes; a device or a link is
        // judged by the kernel when it is opened. Neither is worth a probe.
        Kind::Symlink | Kind::Stream | Kind::Socket => Ok(()),
    }
}

/// Write the document `render` produces to `output`, by the rules in the module doc.
pub fn write(output: &Output, render: Box<Render<'_>>) -> Result<(), OutputError> {
    match output {
        Output::Stdout => write_stdout(render),
        Output::Path(path) => write_path(path, render),
    }
}

fn write_stdout(render: Box<Render<'_>>) -> Result<(), OutputError> {
    let mut out = BufWriter::new(io::stdout().lock());
    match render(&mut out).and_then(|()| out.flush()) {
        // `netlens snapshot | head` closed the pipe: the reader has what it wanted.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(OutputError::stdout),
    }
}

fn write_path(path: &Path, render: Box<Render<'_>>) -> Result<(), OutputError> {
    match kind_of(path)? {
        Kind::Missing => create_exclusive(path, render).map_err(|error| missing_dir_hint(path, error)),
        Kind::Regular { shared: false } => replace(path, render),
        Kind::Regular { shared: true } | Kind::Symlink => write_through(path, render),
        Kind::Stream => {
            let file =
                OpenOptions::new().write(true).open(path).map_err(|error| OutputError::new(path, error))?;
            stream(path, file, render)
        }
        Kind::Socket => {
            let socket = UnixStream::connect(path).map_err(|error| OutputError::new(path, error))?;
            stream(path, socket, render)
        }
        Kind::Directory => {
            Err(OutputError::with_hint(path, Hint::Directory, io::Error::from_raw_os_error(libc::EISDIR)))
        }
        Kind::BlockDevice => {
            Err(OutputError::with_hint(path, Hint::BlockDevice, io::Error::from(io::ErrorKind::InvalidInput)))
        }
    }
}

fn missing_dir_hint(path: &Path, error: OutputError) -> OutputError {
    if error.cause.kind() == io::ErrorKind::NotFound && std::fs::metadata(parent_dir(path)).is_err() {
        OutputError { hint: Hint::MissingDirectory, ..error }
    } else {
        error
    }
}

/// Render straight into something that is not a file on disk (a device, a FIFO, a
/// socket): its reader gets the document as it is made.
fn stream(path: &Path, sink: impl Write, render: Box<Render<'_>>) -> Result<(), OutputError> {
    let mut out = BufWriter::new(sink);
    render(&mut out).and_then(|()| out.flush()).map_err(|error| OutputError::new(path, error))
}

/// A complete temporary file in `path`'s directory, rendered, flushed and synced.
fn rendered_temp(path: &Path, render: Box<Render<'_>>) -> Result<tempfile::NamedTempFile, OutputError> {
    let dir = parent_dir(path);
    // tempfile creates the file O_EXCL with mode 0600.
    let temp = tempfile::Builder::new()
        .prefix(".netlens-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|error| OutputError::new(path, error))?;
    let mut out = BufWriter::new(temp.as_file());
    render(&mut out).and_then(|()| out.flush()).map_err(|error| OutputError::new(path, error))?;
    drop(out);
    temp.as_file().sync_all().map_err(|error| OutputError::new(path, error))?;
    Ok(temp)
}

/// A new name, linked in only if nothing took it meanwhile; 0600.
fn create_exclusive(path: &Path, render: Box<Render<'_>>) -> Result<(), OutputError> {
    let temp = rendered_temp(path, render)?;
    temp.persist_noclobber(path).map_err(|error| OutputError::new(path, error.error))?;
    sync_dir(path);
    Ok(())
}

/// Replace a regular file by rename, keeping its mode and (when allowed) its owner.
fn replace(path: &Path, render: Box<Render<'_>>) -> Result<(), OutputError> {
    let old = std::fs::symlink_metadata(path).map_err(|error| OutputError::new(path, error))?;
    let temp = rendered_temp(path, render)?;
    let file = temp.as_file();
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
        .map_err(|error| OutputError::new(path, error))?;
    // Only root may give a file away; for anyone else the new file is theirs, as with
    // any editor's save.
    let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    temp.persist(path).map_err(|error| OutputError::new(path, error.error))?;
    sync_dir(path);
    Ok(())
}

/// Write through a symlink (or into a file with other hard links) the way `>` does,
/// without leaving it half-written when the disk is full: the document is made first
/// in an unnamed temporary file, the space is reserved, then it is copied in place.
fn write_through(path: &Path, render: Box<Render<'_>>) -> Result<(), OutputError> {
    let mut target =
        OpenOptions::new().write(true).create(true).mode(NEW_FILE_MODE).open(path).map_err(|error| {
            let refused_link = error.kind() == io::ErrorKind::PermissionDenied
                && std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink());
            OutputError::with_hint(path, if refused_link { Hint::Symlink } else { Hint::None }, error)
        })?;
    let meta = target.metadata().map_err(|error| OutputError::new(path, error))?;
    if !meta.is_file() {
        // The link leads to a device, a FIFO or a socket file we could open: stream.
        return stream(path, target, render);
    }
    let mut document = tempfile::tempfile().map_err(|error| OutputError::new(path, error))?;
    {
        let mut out = BufWriter::new(&mut document);
        render(&mut out).and_then(|()| out.flush()).map_err(|error| OutputError::new(path, error))?;
    }
    let len = document.stream_position().map_err(|error| OutputError::new(path, error))?;
    reserve(&target, len).map_err(|error| OutputError::new(path, error))?;
    document.seek(SeekFrom::Start(0)).map_err(|error| OutputError::new(path, error))?;
    let copied = io::copy(&mut document, &mut target)
        .and_then(|_| target.set_len(len))
        .and_then(|()| target.sync_all());
    copied.map_err(|error| OutputError::with_hint(path, Hint::WrittenInPlace, error))
}

/// Make sure `len` bytes fit before the old contents are overwritten. File systems
/// that cannot preallocate are written without the guarantee.
fn reserve(file: &File, len: u64) -> io::Result<()> {
    let Ok(len) = i64::try_from(len) else { return Ok(()) };
    if len == 0 {
        return Ok(());
    }
    match nix::fcntl::posix_fallocate(file, 0, len) {
        Ok(()) | Err(nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::EINVAL) => Ok(()),
        Err(errno) => Err(io::Error::from_raw_os_error(errno as i32)),
    }
}

/// Write a file under a name netlens chose in `dir` (`name`, else `stem-2.ext`, …),
/// created exclusively: an existing name, a symlink or anything else prepared in
/// advance is never followed or replaced. Returns the path written.
pub fn create_new(dir: &Path, name: &str, render: Box<Render<'_>>) -> Result<PathBuf, OutputError> {
    let first = dir.join(name);
    let temp = rendered_temp(&first, render)?;
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (stem, format!(".{extension}")),
        None => (name, String::new()),
    };
    let mut temp = Some(temp);
    for n in 1..=MAX_NAME_TRIES {
        let candidate = if n == 1 { first.clone() } else { dir.join(format!("{stem}-{n}{extension}")) };
        let Some(file) = temp.take() else { break };
        match file.persist_noclobber(&candidate) {
            Ok(_) => {
                sync_dir(&candidate);
                return Ok(candidate);
            }
            Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => temp = Some(error.file),
            Err(error) => return Err(OutputError::new(&candidate, error.error)),
        }
    }
    Err(OutputError::new(
        &first,
        io::Error::new(io::ErrorKind::AlreadyExists, format!("{MAX_NAME_TRIES} names taken")),
    ))
}

/// After a rename or link, the directory entry itself must reach the disk.
fn sync_dir(path: &Path) {
    if let Ok(dir) = File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests;
