//! Logs go through `tracing` to a file, never to the terminal while the TUI runs.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Start logging to `path` (appending; the directory is created). The guard flushes
/// on drop, so keep it alive until exit. The filter comes from `NETLENS_LOG`
/// (e.g. `debug`, `netlens_collectors=trace`), default `info`.
pub fn init(path: &Path) -> std::io::Result<WorkerGuard> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("NETLENS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init();
    Ok(guard)
}
