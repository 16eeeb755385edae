//! Standard output for the headless commands. A reader that has gone (`| head -c 1`)
//! ends netlens quietly with status 0, as `head` users expect: Rust ignores SIGPIPE,
//! so the write fails with EPIPE, and `print!` would panic on it.

use std::io::{self, Write as _};

use anyhow::Context as _;

/// Standard output was closed by its reader; `main` exits 0 without a word.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed by its reader")]
pub struct Closed;

/// Write `text` to standard output and flush it.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(Closed.into()),
        result => result.context("writing to standard output"),
    }
}
