//! Helpers shared by the CLI, snapshot and pseudo-terminal tests.

#![allow(dead_code, reason = "each test crate uses a different subset of these helpers")]

pub mod pty;
pub mod schema;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The netlens binary under test, isolated from the user's config and state.
pub fn netlens(home: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netlens"));
    command
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("HOME", home)
        .env_remove("NO_COLOR")
        .env_remove("NETLENS_LOG");
    command
}

/// Run to completion and return the output.
pub fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("cannot run netlens: {error}"))
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"))
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Write a file and return its path.
pub fn write(dir: &std::path::Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    path
}
