//! The process's one resolver configuration (DESIGN.md §2): the resolver files read
//! once and watched once, by a task whose every read is published to the DNS source
//! (which reports it and traces with it) and the paths source (which judges names
//! with it), so both always see the same nameservers.
//!
//! The watch ([`super::watch::Watcher`]) follows the directories *and* the files:
//! a bind-mounted `resolv.conf` changed through its other path raises an event only
//! on the file. A burst of events settles for [`SETTLE`] before the files are read
//! again; a slow poll of their [`Fingerprint`] covers what inotify cannot see
//! (a directory that did not exist yet, no inotify at all).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::files::{self, Loaded, ResolverFiles};
use super::watch::{Fingerprint, Watcher};

/// A burst of inotify events settles this long before the files are re-read.
pub const SETTLE: Duration = Duration::from_millis(100);

/// One read of the resolver files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolverSnapshot {
    /// Counts the reads whose content differed from the one before: 1 for the first.
    pub generation: u64,
    /// What the files say (without the route warnings, which depend on routing).
    pub loaded: Loaded,
    /// inotify watches the files; `false`: only the poll notices changes.
    pub watched: bool,
}

/// A handle on the shared resolver configuration; clones share one watch. The task
/// stops when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct ResolverView {
    view: watch::Receiver<Arc<ResolverSnapshot>>,
    files: ResolverFiles,
    poll_interval: Duration,
}

impl ResolverView {
    /// Read `files` now (blocking: a few small files) and start watching them on the
    /// current tokio runtime, checking the fingerprint every `poll_interval` too.
    #[must_use]
    pub fn start(files: ResolverFiles, poll_interval: Duration) -> Self {
        let watcher = match Watcher::new(files.clone()) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(%error, "no inotify: the resolver files are polled");
                None
            }
        };
        let first =
            ResolverSnapshot { generation: 1, loaded: files::load(&files), watched: watcher.is_some() };
        let fingerprint = Fingerprint::of(&files);
        let (tx, view) = watch::channel(Arc::new(first));
        tokio::spawn(run(files.clone(), poll_interval, watcher, fingerprint, tx));
        Self { view, files, poll_interval }
    }

    /// Read `files` once, without watching them (blocking: a few small files): for
    /// one-shot commands, which finish before a change could matter.
    #[must_use]
    pub fn once(files: ResolverFiles) -> Self {
        let first = ResolverSnapshot { generation: 1, loaded: files::load(&files), watched: false };
        // The sender goes at once: receivers keep the value, and `changed` says closed.
        let (_, view) = watch::channel(Arc::new(first));
        Self { view, files, poll_interval: Duration::ZERO }
    }

    /// The latest read.
    #[must_use]
    pub fn current(&self) -> Arc<ResolverSnapshot> {
        Arc::clone(&self.view.borrow())
    }

    /// A receiver of every read from now on.
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<Arc<ResolverSnapshot>> {
        self.view.clone()
    }

    /// The files read.
    #[must_use]
    pub const fn files(&self) -> &ResolverFiles {
        &self.files
    }

    /// How often the files are checked without an event (zero: never, [`Self::once`]).
    #[must_use]
    pub const fn poll_interval(&self) -> Duration {
        self.poll_interval
    }
}

/// Watch and re-read until every handle is gone.
async fn run(
    files: ResolverFiles,
    poll_interval: Duration,
    mut watcher: Option<Watcher>,
    mut fingerprint: Fingerprint,
    tx: watch::Sender<Arc<ResolverSnapshot>>,
) {
    let mut poll = tokio::time::interval_at(Instant::now() + poll_interval, poll_interval);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut settle: Option<Instant> = None;
    loop {
        let check = tokio::select! {
            () = tx.closed() => return,
            event = wait_changed(watcher.as_mut()), if watcher.is_some() => {
                if let Err(error) = event {
                    tracing::warn!(%error, "inotify failed: polling the resolver files");
                    watcher = None;
                }
                settle.get_or_insert_with(|| Instant::now() + SETTLE);
                false
            }
            () = sleep_until(settle), if settle.is_some() => {
                settle = None;
                true
            }
            // Only while something is not watched (no inotify, a directory missing):
            // otherwise every change raises an event and a poll would wake for nothing.
            _ = poll.tick(), if watcher.as_ref().is_none_or(|watcher| !watcher.complete()) => true,
        };
        if !check {
            continue;
        }
        let now = Fingerprint::of(&files);
        // Re-armed after every check: a replaced file, a retargeted symlink or a file
        // created again is a new inode to watch.
        if let Some(watcher) = watcher.as_mut() {
            watcher.rearm();
        }
        if now == fingerprint {
            continue;
        }
        fingerprint = now;
        let read = files.clone();
        let Ok(loaded) = tokio::task::spawn_blocking(move || files::load(&read)).await else {
            continue;
        };
        let previous = tx.borrow().clone();
        if loaded != previous.loaded {
            tx.send_replace(Arc::new(ResolverSnapshot {
                generation: previous.generation + 1,
                loaded,
                watched: watcher.is_some(),
            }));
        }
    }
}

async fn wait_changed(watcher: Option<&mut Watcher>) -> std::io::Result<()> {
    match watcher {
        Some(watcher) => watcher.changed().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use std::net::IpAddr;
    use std::path::Path;

    use super::*;

    /// Long enough that only inotify can explain a change seen in the tests.
    const NO_POLL: Duration = Duration::from_secs(3600);
    const DEADLINE: Duration = Duration::from_secs(5);

    fn server(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Wait until the shared configuration's first nameserver is `expected`.
    async fn wait_for_nameserver(view: &ResolverView, expected: &str) {
        let mut rx = view.subscribe();
        let expected = server(expected);
        // The borrow `wait_for` returns is dropped at once: held, it would block the
        // watch task's next send.
        let seen = tokio::time::timeout(
            DEADLINE,
            rx.wait_for(|snapshot| snapshot.loaded.report.config.nameservers.first() == Some(&expected)),
        )
        .await
        .is_ok_and(|result| result.is_ok());
        assert!(
            seen,
            "nameserver {expected} never reached the shared configuration: {:?}",
            view.current().loaded.report.config.nameservers
        );
    }

    fn write(path: &Path, nameserver: &str) {
        std::fs::write(path, format!("nameserver {nameserver}\n")).unwrap();
    }

    #[tokio::test]
    async fn replaced_retargeted_recreated_and_in_place_changes_all_arrive() {
        let root = tempfile::tempdir().unwrap();
        let (etc, run, elsewhere) =
            (root.path().join("etc"), root.path().join("run"), root.path().join("elsewhere"));
        for dir in [&etc, &run, &elsewhere] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let resolv = etc.join("resolv.conf");
        write(&resolv, "192.0.2.1");
        let view = ResolverView::start(ResolverFiles::under(root.path()), NO_POLL);
        assert_eq!(view.current().generation, 1);
        wait_for_nameserver(&view, "192.0.2.1").await;

        // Replaced by rename (a new inode).
        write(&etc.join("resolv.tmp"), "192.0.2.2");
        std::fs::rename(etc.join("resolv.tmp"), &resolv).unwrap();
        wait_for_nameserver(&view, "192.0.2.2").await;

        // A symlink to a file elsewhere, then retargeted.
        write(&run.join("a.conf"), "192.0.2.3");
        write(&run.join("b.conf"), "192.0.2.4");
        std::os::unix::fs::symlink(run.join("a.conf"), etc.join("link.tmp")).unwrap();
        std::fs::rename(etc.join("link.tmp"), &resolv).unwrap();
        wait_for_nameserver(&view, "192.0.2.3").await;
        std::os::unix::fs::symlink(run.join("b.conf"), etc.join("link.tmp")).unwrap();
        std::fs::rename(etc.join("link.tmp"), &resolv).unwrap();
        wait_for_nameserver(&view, "192.0.2.4").await;

        // Deleted, then created again.
        std::fs::remove_file(&resolv).unwrap();
        let mut rx = view.subscribe();
        let gone = tokio::time::timeout(
            DEADLINE,
            rx.wait_for(|snapshot| snapshot.loaded.report.config.nameservers.is_empty()),
        )
        .await
        .is_ok_and(|result| result.is_ok());
        assert!(gone, "the deletion never reached the shared configuration");
        write(&resolv, "192.0.2.5");
        wait_for_nameserver(&view, "192.0.2.5").await;

        // Changed in place through another path to the same inode (a hard link in
        // a directory nobody watches stands in for a bind mount's other side).
        std::fs::hard_link(&resolv, elsewhere.join("resolv.conf")).unwrap();
        write(&elsewhere.join("resolv.conf"), "192.0.2.6");
        wait_for_nameserver(&view, "192.0.2.6").await;
    }
}
