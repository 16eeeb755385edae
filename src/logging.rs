//! Logs go through `tracing` to a file, never to the terminal while the TUI runs.
//!
//! Opening and starting are two steps: the file is opened (and its directory made)
//! before the privilege drop and the Landlock restriction, and the writer thread is
//! started after them, so that thread holds no more than the rest of the process
//! (capabilities belong to each thread; see `privilege`).

use std::fs::File;
use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Open `path` for appending (the directory is created). Starts no thread.
pub fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

/// Start logging to `file` from a writer thread. The guard flushes on drop, so keep
/// it alive until exit. The filter comes from `NETLENS_LOG` (e.g. `debug`,
/// `netlens_collectors=trace`), default `info`.
pub fn start(file: File) -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("NETLENS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init();
    guard
}
