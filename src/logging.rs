//! Logs go through `tracing` to a file, never to the terminal while the TUI runs.
//!
//! Opening and starting are two steps: the file is opened (and its directory made)
//! before the privilege drop and the Landlock restriction, and the writer thread is
//! started after them, so that thread holds no more than the rest of the process
//! (capabilities belong to each thread; see `privilege`).

use std::fs::File;
use std::path::Path;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines queued for the writer thread at most; more are dropped (the queue is lossy,
/// as tracing-appender's default). Its default of 128,000 is a channel that allocates
/// and writes every slot up front: 4,100,096 bytes resident for the whole run, a tenth
/// of the 40 MB budget with the Connections tab on 10,000 sockets (found with
/// `strace -k -e mmap`; peak `VmHWM` 43.1 MiB before, see `scripts/measure_connections.py`).
/// 8,192 lines (256 KiB) still absorb a burst far beyond what netlens logs at `info`.
const BUFFERED_LINES: usize = 8192;

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
    let (writer, guard) = NonBlockingBuilder::default().buffered_lines_limit(BUFFERED_LINES).finish(file);
    let filter = EnvFilter::try_from_env("NETLENS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init();
    guard
}
