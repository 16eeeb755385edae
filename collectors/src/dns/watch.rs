//! Noticing when the resolver files change.
//!
//! Editors and network managers rarely write a file in place: they write a new file
//! and rename it over the old one, or point a symlink somewhere else
//! (`/etc/resolv.conf` → `/run/systemd/resolve/stub-resolv.conf`). A watch on the file
//! alone would lose track after the first replacement, so inotify watches the
//! *directories* holding each file and each symlink's target. It watches each file
//! too: a bind-mounted file (Docker's resolv.conf, `ip netns exec` and `--netns`
//! binding `/etc/netns/NAME/resolv.conf` over `/etc/resolv.conf`) written in place
//! through its other path raises events on its inode only, never in the directory
//! seen here. Both kinds are re-armed after every change (a replaced file is a new
//! inode). Any event only prompts a [`Fingerprint`] comparison (a few `stat` calls),
//! so unrelated churn in `/etc` costs nothing more; and a slow poll of the
//! fingerprint covers directories that did not exist yet when armed.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use tokio::io::unix::AsyncFd;

use super::files::ResolverFiles;

/// What identifies each file's current content: device, inode, size and change time
/// of the file a path leads to (symlinks followed), plus the symlink's own target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint(Vec<Option<FileIdentity>>);

/// Device, inode, size, change time (seconds, nanoseconds) and symlink target.
type FileIdentity = (u64, u64, u64, i64, i64, Option<PathBuf>);

impl Fingerprint {
    /// Take the fingerprint of `files` now.
    #[must_use]
    pub fn of(files: &ResolverFiles) -> Self {
        Self(
            files
                .all()
                .iter()
                .map(|path| {
                    let meta = std::fs::metadata(path).ok()?;
                    let link = std::fs::read_link(path).ok();
                    Some((meta.dev(), meta.ino(), meta.size(), meta.ctime(), meta.ctime_nsec(), link))
                })
                .collect(),
        )
    }
}

/// The directories to watch for `files`: each file's directory and, for symlinks,
/// the directory of every link on the way to the final file.
#[must_use]
pub fn directories(files: &ResolverFiles) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for path in files.all() {
        let mut current = path.to_path_buf();
        // A chain of links, bounded like the kernel's (40 hops).
        for _ in 0..40 {
            if let Some(parent) = current.parent() {
                dirs.insert(parent.to_path_buf());
            }
            match std::fs::read_link(&current) {
                Ok(target) => {
                    current = if target.is_absolute() {
                        target
                    } else {
                        current.parent().unwrap_or_else(|| Path::new("/")).join(target)
                    };
                }
                Err(_) => break,
            }
        }
    }
    dirs
}

/// An inotify instance watching the directories of the resolver files, read through
/// tokio's reactor: nothing wakes until the kernel queues an event.
#[derive(Debug)]
pub struct Watcher {
    fd: AsyncFd<OwnedFd>,
    watches: Vec<i32>,
    /// The directories watched now, and the files (by device and inode: a file
    /// replaced under the same name is a new one to watch).
    watched: (BTreeSet<PathBuf>, BTreeSet<(PathBuf, u64, u64)>),
    /// Which of those directories existed when armed.
    present: BTreeSet<PathBuf>,
    /// Whether every directory is watched (or awaited in an ancestor): then every
    /// change raises an event, and the caller's slow poll has nothing to catch.
    complete: bool,
    files: ResolverFiles,
}

impl Watcher {
    /// Watch `files`, on the current tokio runtime. Fails when inotify is unavailable
    /// (the caller polls then).
    #[expect(unsafe_code, reason = "tokio 1.54 made registering a descriptor unsafe; see SAFETY")]
    pub fn new(files: ResolverFiles) -> io::Result<Self> {
        let inotify = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)?;
        // SAFETY: the `AsyncFd` owns the `OwnedFd`, whose `as_raw_fd` is the same open
        // descriptor for its whole life: it is closed only when the `AsyncFd` drops it.
        // (tokio's safe `AsyncFd::new` is deprecated for types that cannot promise this;
        // an `OwnedFd` can.)
        let fd = unsafe { AsyncFd::register(inotify) }.map_err(io::Error::from)?;
        let mut watcher = Self {
            fd,
            watches: Vec::new(),
            watched: (BTreeSet::new(), BTreeSet::new()),
            present: BTreeSet::new(),
            complete: false,
            files,
        };
        watcher.rearm();
        Ok(watcher)
    }

    /// Drop every watch and watch the directories the files lead to now (a symlink
    /// may point elsewhere since the last time). A directory that does not exist is
    /// awaited in its nearest existing ancestor.
    ///
    /// Nothing happens when the directories are the same: removing a watch queues an
    /// event of its own, and re-arming on every event would wake the watcher forever.
    pub fn rearm(&mut self) {
        let dirs = directories(&self.files);
        let file_identities = self.file_identities();
        // A directory created since the last time is a new one to watch.
        let present: BTreeSet<PathBuf> = dirs.iter().filter(|dir| dir.is_dir()).cloned().collect();
        if dirs == self.watched.0 && present == self.present && file_identities == self.watched.1 {
            return;
        }
        for wd in self.watches.drain(..) {
            let _ = inotify::remove_watch(self.fd.get_ref(), wd);
        }
        let flags = WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_TO
            | WatchFlags::MOVED_FROM
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::MODIFY
            | WatchFlags::ATTRIB
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR;
        // A directory that does not exist yet (`/run/systemd/resolve` before resolved
        // starts) is awaited in its nearest existing ancestor: its creation there is
        // an event, which re-arms.
        let ancestor_flags = WatchFlags::CREATE | WatchFlags::MOVED_TO | WatchFlags::ONLYDIR;
        let mut awaited = BTreeSet::new();
        self.complete = true;
        for dir in &dirs {
            let (target, flags) = if present.contains(dir) {
                (dir.clone(), flags)
            } else {
                match dir.ancestors().skip(1).find(|ancestor| ancestor.is_dir()) {
                    Some(ancestor) if awaited.insert(ancestor.to_path_buf()) => {
                        (ancestor.to_path_buf(), ancestor_flags)
                    }
                    Some(_) => continue,
                    None => {
                        self.complete = false;
                        continue;
                    }
                }
            };
            match inotify::add_watch(self.fd.get_ref(), &target, flags) {
                Ok(wd) => self.watches.push(wd),
                Err(error) => {
                    tracing::debug!(dir = %target.display(), %error, "cannot watch");
                    self.complete = false;
                }
            }
        }
        // The files themselves (symlinks followed): writes in place, through any path.
        let file_flags = WatchFlags::MODIFY
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::ATTRIB
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF;
        for (path, _, _) in &file_identities {
            match inotify::add_watch(self.fd.get_ref(), path, file_flags) {
                Ok(wd) => self.watches.push(wd),
                Err(error) => tracing::debug!(file = %path.display(), %error, "cannot watch"),
            }
        }
        self.watched = (dirs, file_identities);
        self.present = present;
    }

    /// Whether every directory the files lead to is watched, so that any change to
    /// them raises an event (a missing directory can only be noticed by polling).
    #[must_use]
    pub const fn complete(&self) -> bool {
        self.complete
    }

    /// The files that exist now, with the device and inode they lead to.
    fn file_identities(&self) -> BTreeSet<(PathBuf, u64, u64)> {
        self.files
            .all()
            .iter()
            .filter_map(|path| {
                let meta = std::fs::metadata(path).ok()?;
                Some((path.to_path_buf(), meta.dev(), meta.ino()))
            })
            .collect()
    }

    /// Wait until something happened in a watched directory or file. Events that
    /// arrive while nobody waits stay queued in the kernel: the next call returns at
    /// once. Cancel-safe: nothing is read between the wait and the return.
    pub async fn changed(&mut self) -> io::Result<()> {
        let mut buffer = [0_u8; 4096];
        loop {
            let mut ready = self.fd.readable().await?;
            let mut got = false;
            loop {
                match rustix::io::read(ready.get_inner(), &mut buffer) {
                    Ok(0) => break,
                    Ok(read) => got |= buffer.get(..read).is_some_and(has_change),
                    Err(rustix::io::Errno::AGAIN) => {
                        ready.clear_ready();
                        break;
                    }
                    Err(rustix::io::Errno::INTR) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            if got {
                return Ok(());
            }
        }
    }
}

/// `IN_IGNORED`: a watch went away (removed by a re-arm, or its file deleted).
const IN_IGNORED: u32 = 0x8000;

/// Whether a read of inotify events holds anything but `IN_IGNORED`: re-arming
/// removes watches, and the kernel queues `IN_IGNORED` for each; waking on those
/// would re-arm again and again. A deleted file also raises `IN_DELETE_SELF` (and
/// its directory `IN_DELETE`), so nothing real is missed.
fn has_change(events: &[u8]) -> bool {
    // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
    let mut rest = events;
    while let Some(header) = rest.get(..16) {
        let field =
            |at: usize| header.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes);
        let (Some(mask), Some(len)) = (field(4), field(12)) else { return true };
        if mask != IN_IGNORED {
            return true;
        }
        rest = rest.get(16 + len as usize..).unwrap_or_default();
    }
    false
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn symlink_chains_are_followed_to_their_directories() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("run/systemd/resolve");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(run.join("stub-resolv.conf"), "nameserver 127.0.0.53\n").unwrap();
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            root.path().join("etc/resolv.conf"),
        )
        .unwrap();
        let dirs = directories(&ResolverFiles::under(root.path()));
        assert!(dirs.contains(&root.path().join("etc")), "{dirs:?}");
        assert!(dirs.contains(&root.path().join("etc/../run/systemd/resolve")), "{dirs:?}");
    }

    /// Replacing a symlink's target (the way `NetworkManager` and resolved do it) and then the
    /// link itself both wake the watcher and change the fingerprint.
    #[tokio::test]
    async fn replacing_a_symlink_is_noticed() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc");
        let run = root.path().join("run");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("a.conf"), "nameserver 10.0.0.1\n").unwrap();
        std::os::unix::fs::symlink(run.join("a.conf"), etc.join("resolv.conf")).unwrap();
        let files = ResolverFiles::under(root.path());
        let mut watcher = Watcher::new(files.clone()).unwrap();
        let before = Fingerprint::of(&files);

        // The target is rewritten by rename (a new inode).
        std::fs::write(run.join("a.tmp"), "nameserver 10.0.0.2\n").unwrap();
        std::fs::rename(run.join("a.tmp"), run.join("a.conf")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), watcher.changed()).await.unwrap().unwrap();
        let middle = Fingerprint::of(&files);
        assert_ne!(before, middle);

        // Re-arming with nothing changed queues no event of its own.
        while tokio::time::timeout(Duration::from_millis(300), watcher.changed()).await.is_ok() {}
        watcher.rearm();
        assert!(
            tokio::time::timeout(Duration::from_millis(600), watcher.changed()).await.is_err(),
            "re-arming woke the watcher"
        );

        // The link is pointed elsewhere.
        watcher.rearm();
        std::fs::write(run.join("b.conf"), "nameserver 10.0.0.3\n").unwrap();
        std::os::unix::fs::symlink(run.join("b.conf"), etc.join("resolv.tmp")).unwrap();
        std::fs::rename(etc.join("resolv.tmp"), etc.join("resolv.conf")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), watcher.changed()).await.unwrap().unwrap();
        assert_ne!(middle, Fingerprint::of(&files));
    }

    /// `/run/systemd/resolve` missing at start (resolved not running yet): its
    /// creation is awaited in the nearest existing directory, so no poll is needed,
    /// and the file written there later wakes the watcher.
    #[tokio::test]
    async fn a_directory_created_later_is_noticed_without_polling() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/resolv.conf"), "nameserver 10.0.0.1\n").unwrap();
        let files = ResolverFiles::under(root.path());
        let mut watcher = Watcher::new(files.clone()).unwrap();
        assert!(watcher.complete(), "a missing directory is awaited in its ancestor");

        let resolve = root.path().join("run/systemd/resolve");
        std::fs::create_dir_all(&resolve).unwrap();
        tokio::time::timeout(Duration::from_secs(5), watcher.changed()).await.unwrap().unwrap();
        // As the resolver view does after each event: re-arm, now on the new directory.
        while tokio::time::timeout(Duration::from_millis(200), watcher.changed()).await.is_ok() {}
        watcher.rearm();
        while tokio::time::timeout(Duration::from_millis(200), watcher.changed()).await.is_ok() {}
        let before = Fingerprint::of(&files);
        std::fs::write(resolve.join("resolv.conf"), "nameserver 10.0.0.53\n").unwrap();
        tokio::time::timeout(Duration::from_secs(5), watcher.changed()).await.unwrap().unwrap();
        assert_ne!(before, Fingerprint::of(&files));
        assert!(watcher.complete());
    }
}
