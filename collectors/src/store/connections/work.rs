//! Work a fold leaves pending, done in slices between events.
//!
//! A socket table in a connection storm (10,000 connects a second) lists 14,000
//! sockets against 34,000 connections: its fold took 33 ms on average and 66 ms at
//! worst, and burst labels between tables up to 21 ms. Events about single
//! connections (closes, and the owners the BPF book gives them) queued behind it,
//! and 6 % of owners reached the store later than issue 12's 5 ms
//! (`examples/owner_latency.rs`). So a table and burst labels are jobs, done a
//! slice at a time; closes and owners are folded between slices
//! ([`crate::Store::fold`]). Nothing reads the section while a job is pending: the
//! TUI finishes it before it draws.

use crate::clock::Stamp;
use crate::event::Notice;

use super::Connections;
use super::bursts::LabelFold;
use super::table::TableFold;

/// Connections worked on between two looks at the clock: each is a microsecond or
/// less, and a slice must not be late by much.
pub(super) const STRIDE: usize = 64;

/// A fold in progress.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Job {
    /// A socket table.
    Table(Box<TableFold>),
    /// Burst labels after closes, between tables.
    Labels(Box<LabelFold>),
}

impl Connections {
    /// Whether a fold is in progress ([`Self::work`] finishes it).
    #[must_use]
    pub const fn pending(&self) -> bool {
        self.job.is_some()
    }

    /// Go on with the pending fold until `stop` says so (it is asked every few dozen
    /// connections, so a slice always gets somewhere) or nothing is left. Returns the
    /// notices of what finished, each with the stamp of the event that started it.
    pub fn work(&mut self, stop: &mut dyn FnMut() -> bool) -> Vec<(Stamp, Notice)> {
        let mut finished = Vec::new();
        // Taken out while it runs: the fold steps need the section and the job at once.
        while let Some(mut job) = self.job.take() {
            let (at, done) = match &mut job {
                Job::Table(fold) => (fold.at, self.table_step(fold, stop)),
                Job::Labels(fold) => (fold.at, self.fold_labels(fold, stop)),
            };
            let Some(notices) = done else {
                self.job = Some(job);
                break;
            };
            finished.extend(notices.into_iter().map(|notice| (at, notice)));
        }
        finished
    }

    /// Finish whatever is pending, at once; its notices.
    pub(super) fn finish(&mut self) -> Vec<Notice> {
        self.work(&mut || false).into_iter().map(|(_, notice)| notice).collect()
    }

    /// The pending table, if a table is pending.
    pub(super) fn table_job(&mut self) -> Option<&mut TableFold> {
        match &mut self.job {
            Some(Job::Table(fold)) => Some(fold),
            _ => None,
        }
    }

    /// Counts and the retirement order kept as the entries say (debug builds: every
    /// test that folds a table checks it).
    #[cfg(debug_assertions)]
    pub(super) fn check_books(&self) {
        let mut counts = super::ConnectionCounts::default();
        for entry in self.entries.values() {
            counts.add(entry);
        }
        debug_assert_eq!(self.counts, counts, "connection counts drifted from the entries");
        debug_assert_eq!(self.closing.len(), counts.closed, "the retirement order lost a closed connection");
    }
}
