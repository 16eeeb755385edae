//! The event timeline: newest last, bounded, with repeats and churn folded.
//!
//! Two kinds of folding keep it readable. Identical notices within the coalescing
//! window (a second) fold into the newest line. A notice that says it is routine churn
//! (a [`Fold`]: a neighbour's stale → delay → probe → reachable, a process's repeated
//! connection bursts) folds into the recent line about the same thing, wherever it is,
//! while the fold's window lasts; the line counts the events and shows the newest one's
//! sentence and time. Failures never carry a fold, so they always get their own line.

use std::collections::{HashMap, VecDeque};

use crate::clock::{Mono, Stamp};
use crate::event::Notice;
use crate::model::{Fold, FoldFrom, SourceId, TimelineEntry, TimelineKind};

use super::StoreLimits;

/// Lines that can still take folds, remembered at most; past it the stale ones are
/// forgotten (their lines stay, later churn starts a new line).
pub const FOLD_LINES: usize = 1024;

/// A line that takes folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FoldLine {
    /// The line's number in [`Timeline::appended`] order (1-based).
    number: u64,
    first: Mono,
    latest: Mono,
}

/// The event timeline; see the module documentation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    entries: VecDeque<TimelineEntry>,
    capacity: usize,
    coalesce_window: time::Duration,
    /// When the newest entry last repeated (for the coalescing window), on the
    /// monotonic clock.
    last_repeat_at: Option<Mono>,
    /// Lines taking folds, by source, kind and fold key.
    folds: HashMap<(SourceId, TimelineKind, String), FoldLine>,
    coalesced_bursts: u64,
    folded: u64,
    connection_bursts_folded: u64,
    total: u64,
    appended: u64,
    /// Notices pushed, by source and kind, folded and dropped ones included (the
    /// daemon's `netlens_events_total`): a few dozen pairs at most.
    #[serde(default)]
    counts: Vec<(SourceId, TimelineKind, u64)>,
}

impl Timeline {
    pub(super) fn new(limits: &StoreLimits) -> Self {
        Self {
            entries: VecDeque::with_capacity(limits.timeline_capacity.min(1024)),
            capacity: limits.timeline_capacity.max(1),
            coalesce_window: limits.coalesce_window,
            last_repeat_at: None,
            folds: HashMap::new(),
            coalesced_bursts: 0,
            folded: 0,
            connection_bursts_folded: 0,
            total: 0,
            appended: 0,
            counts: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, at: Stamp, source: SourceId, notice: Notice) {
        self.total += 1;
        match self.counts.iter_mut().find(|(s, k, _)| *s == source && *k == notice.kind) {
            Some((_, _, count)) => *count += 1,
            None => self.counts.push((source, notice.kind, 1)),
        }
        if let (Some(last), Some(repeat_at)) = (self.entries.back_mut(), self.last_repeat_at)
            && last.source == source
            && last.kind == notice.kind
            && last.subject == notice.subject
            && last.detail == notice.detail
            && at.mono - repeat_at <= self.coalesce_window
        {
            Self::count_fold(last, at, &mut self.coalesced_bursts);
            self.folded += 1;
            if notice.kind == TimelineKind::ConnectionBurst {
                self.connection_bursts_folded += 1;
            }
            self.last_repeat_at = Some(at.mono);
            return;
        }
        let Notice { kind, subject, detail, fold } = notice;
        if let Some(fold) = fold {
            if self.fold_into_line(at, source, kind, &fold, &detail) {
                return;
            }
            if self.folds.len() >= FOLD_LINES {
                self.forget_stale_folds(at.mono);
            }
            if self.folds.len() < FOLD_LINES {
                let line = FoldLine { number: self.appended + 1, first: at.mono, latest: at.mono };
                self.folds.insert((source, kind, fold.key), line);
            }
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.appended += 1;
        self.entries.push_back(TimelineEntry {
            at: at.wall,
            source,
            kind,
            subject,
            detail,
            count: 1,
            last_at: None,
        });
        self.last_repeat_at = Some(at.mono);
    }

    /// Fold into the line `fold` names, when it is still held and its window lasts.
    fn fold_into_line(
        &mut self,
        at: Stamp,
        source: SourceId,
        kind: TimelineKind,
        fold: &Fold,
        detail: &str,
    ) -> bool {
        let key = (source, kind, fold.key.clone());
        let Some(line) = self.folds.get_mut(&key) else { return false };
        let since = match fold.from {
            FoldFrom::First => line.first,
            FoldFrom::Latest => line.latest,
        };
        // Entries held are numbered `appended - len + 1 ..= appended`.
        let oldest_held = self.appended + 1 - self.entries.len() as u64;
        let index = line.number.checked_sub(oldest_held).and_then(|i| usize::try_from(i).ok());
        let entry = match index.and_then(|i| self.entries.get_mut(i)) {
            Some(entry) if at.mono - since <= fold.window => entry,
            _ => {
                self.folds.remove(&key);
                return false;
            }
        };
        line.latest = at.mono;
        Self::count_fold(entry, at, &mut self.coalesced_bursts);
        if entry.detail != detail {
            detail.clone_into(&mut entry.detail);
        }
        self.folded += 1;
        if kind == TimelineKind::ConnectionBurst {
            self.connection_bursts_folded += 1;
        }
        true
    }

    fn count_fold(entry: &mut TimelineEntry, at: Stamp, coalesced: &mut u64) {
        if entry.count == 1 {
            *coalesced += 1;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last_at = Some(at.wall);
    }

    /// Forget fold lines that can take no more folds whatever their window: those
    /// whose line was dropped, and those idle for an hour.
    fn forget_stale_folds(&mut self, now: Mono) {
        let oldest_held = self.appended + 1 - self.entries.len() as u64;
        self.folds.retain(|_, line| line.number >= oldest_held && now - line.latest < time::Duration::HOUR);
    }

    /// Entries, oldest first.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TimelineEntry> + ExactSizeIterator {
        self.entries.iter()
    }

    /// Number of entries held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the timeline is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry `n` places back from the newest (0 is the newest).
    #[must_use]
    pub fn from_newest(&self, n: usize) -> Option<&TimelineEntry> {
        self.entries.len().checked_sub(n + 1).and_then(|i| self.entries.get(i))
    }

    /// How many lines hold more than one event: bursts of identical notices and
    /// churn folded into one line each (what the Events header calls "bursts
    /// coalesced").
    #[must_use]
    pub const fn coalesced_bursts(&self) -> u64 {
        self.coalesced_bursts
    }

    /// Events folded into an earlier line instead of taking their own.
    #[must_use]
    pub const fn folded(&self) -> u64 {
        self.folded
    }

    /// `connection_burst` events folded into an earlier line (the same process
    /// bursting to the same host again): for a header that counts connection bursts.
    #[must_use]
    pub const fn connection_bursts_folded(&self) -> u64 {
        self.connection_bursts_folded
    }

    /// Notices ever pushed by source and kind, folded and dropped ones included.
    pub fn counts(&self) -> impl Iterator<Item = (SourceId, TimelineKind, u64)> + '_ {
        self.counts.iter().copied()
    }

    /// Every notice ever pushed, including folded and dropped ones.
    #[must_use]
    pub const fn total(&self) -> u64 {
        self.total
    }

    /// Entries ever appended (folded repeats not counted, dropped entries counted): a
    /// viewer that remembers this number can tell how many entries arrived since, and
    /// keep its selection on the same entry while new ones push it down. Entries ever
    /// appended minus those held is how many the bounded timeline has dropped.
    #[must_use]
    pub const fn appended(&self) -> u64 {
        self.appended
    }
}

#[cfg(test)]
mod tests;
