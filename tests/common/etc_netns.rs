//! `/etc/netns/<ns>/`: the files `ip netns exec` (and netlens with `--netns`) read in
//! place of `/etc`, written for a test and removed again when dropped (`ip netns del`
//! leaves the directory).

use std::path::{Path, PathBuf};

use super::netns::Netns;

/// The namespace's `/etc/netns/<ns>/` directory, removed on drop.
pub struct EtcNetns {
    dir: PathBuf,
}

impl EtcNetns {
    /// Write `files` (name, text) into `/etc/netns/<ns>/`.
    pub fn write(netns: &Netns, files: &[(&str, &str)]) -> Self {
        let dir = PathBuf::from("/etc/netns").join(netns.name());
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        Self { dir }
    }

    /// The directory, to add or change files in it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A child process killed (and reaped) on drop, should the test fail first.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
