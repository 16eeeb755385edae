//! Where an export goes: the one place that opens files for it.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use netlens_collectors::model::Timestamp;

/// Render into `output` (standard output when `None`), buffered. A path is written
/// atomically: a temporary file in the same directory, synced, then renamed over
/// the path, so a reader never sees half a snapshot and a failure leaves nothing.
/// Returns the written file's full path.
pub fn write_to(
    output: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Option<PathBuf>> {
    let Some(path) = output else {
        let mut stdout = BufWriter::new(io::stdout().lock());
        render(&mut stdout)?;
        stdout.flush()?;
        return Ok(None);
    };
    let dir = parent_dir(path);
    let file = tempfile::Builder::new().prefix(".netlens-snapshot-").suffix(".tmp").tempfile_in(dir)?;
    let mut writer = BufWriter::new(file);
    render(&mut writer)?;
    let file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())))
}

/// `netlens-snapshot-20260314T092653Z.json`
#[must_use]
pub fn file_name(taken_at: Timestamp, extension: &str) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = taken_at.format(&format).unwrap_or_else(|_| taken_at.unix_timestamp().to_string());
    format!("netlens-snapshot-{stamp}.{extension}")
}

/// Check, before any work, that a file can be created in `path`'s directory.
pub fn check_writable(path: &Path) -> io::Result<()> {
    let dir = parent_dir(path);
    tempfile::Builder::new().prefix(".netlens-check-").tempfile_in(dir).map(drop)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(file_name(fake::NOW, "json"));
        assert!(path.ends_with("netlens-snapshot-20260314T092653Z.json"));
        let written = write_to(Some(&path), |out| out.write_all(b"{}\n")).unwrap_or_else(|e| panic!("{e}"));
        let written = written.unwrap_or_else(|| panic!("a path was given"));
        assert_eq!(std::fs::read_to_string(&written).unwrap_or_default(), "{}\n");
        let missing = dir.path().join("no/such/dir/x.json");
        assert!(write_to(Some(&missing), |out| out.write_all(b"{}")).is_err());
        assert!(check_writable(&missing).is_err());
        let failing = dir.path().join("failing.json");
        let error = write_to(Some(&failing), |out| {
            out.write_all(b"{\"half\":")?;
            Err(io::Error::other("render failed"))
        });
        assert!(error.is_err() && !failing.exists(), "a failed render leaves nothing");
        let leftovers = std::fs::read_dir(dir.path()).map_or(0, Iterator::count);
        assert_eq!(leftovers, 1, "only the snapshot itself");
    }
}
