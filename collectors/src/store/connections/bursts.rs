//! Burst and Happy-Eyeballs labels: short connections from one process to one host,
//! grouped by when they opened (on the monotonic clock).

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::{Mono, Stamp};
use crate::event::Notice;
use crate::model::{FoldFrom, Protocol, TimelineKind};

use super::work::STRIDE;
use super::{BurstKey, Connections, RELABEL_EVERY};

/// A repeated burst folds into the line of the previous one while it comes back within
/// this many retention periods (it is noticed again at most once per period).
const BURST_FOLD_PERIODS: i32 = 3;

/// A label that explains a connection without raising an alarm (DESIGN.md §1, note 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConnectionLabel {
    /// One of `count` short connections from one process to one host within a second
    /// (retries, a port scan, a chatty client).
    Burst {
        /// Connections in the burst.
        count: u32,
    },
    /// The losing attempt of a dual-stack (Happy Eyeballs) race: normal.
    AlsoRan,
}

impl ConnectionLabel {
    /// The label as shown and exported.
    #[must_use]
    pub fn text(self) -> String {
        match self {
            Self::Burst { count } => format!("burst of {count} short connections"),
            Self::AlsoRan => "happy eyeballs also-ran".to_owned(),
        }
    }
}

/// Burst labels being worked out, a slice at a time ([`super::work`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LabelFold {
    /// The event that made them due.
    pub(super) at: Stamp,
    /// Every connection as the first pass began.
    keys: Vec<u64>,
    /// How far the current pass got.
    next: usize,
    /// Lasting connections by (owner, remote port, family): what an also-ran lost to.
    lasting: HashMap<(Option<u32>, u16, bool), Vec<Mono>>,
    /// The short TCP connections the first pass met.
    short: Vec<u64>,
    /// Short connections by (owner, remote host), with when they opened.
    groups: HashMap<BurstKey, Vec<(Mono, u64)>>,
    /// The same, in key order, once grouped.
    sorted: Vec<(BurstKey, Vec<(Mono, u64)>)>,
    notices: Vec<Notice>,
}

impl Connections {
    /// Burst labels to work out at `at`, when `short_lived` connections were met and
    /// the last labels are older than [`RELABEL_EVERY`]; else only the notice memory
    /// ages. A pass over every entry, and destroy batches come hundreds of times a
    /// second in a connection storm: what is left undone is done by the next batch
    /// after the interval, or the next table.
    pub(super) fn labels_due(&mut self, at: Stamp, short_lived: bool) -> Option<LabelFold> {
        if !short_lived || self.bursts_labelled.is_some_and(|then| at.mono - then < RELABEL_EVERY) {
            self.forget_bursts(at.mono);
            return None;
        }
        self.bursts_labelled = Some(at.mono);
        Some(LabelFold {
            at,
            keys: self.entries.keys().copied().collect(),
            next: 0,
            lasting: HashMap::new(),
            short: Vec::new(),
            groups: HashMap::new(),
            sorted: Vec::new(),
            notices: Vec::new(),
        })
    }

    /// Label short connections from one process to one host: a dual-stack race's
    /// loser as an also-ran, several opened within the burst window as a burst (one
    /// notice per burst). Goes on with `fold` until `stop`; its notices once done.
    pub(super) fn fold_labels(
        &mut self,
        fold: &mut LabelFold,
        stop: &mut dyn FnMut() -> bool,
    ) -> Option<Vec<Notice>> {
        let window = self.limits.burst_window;
        // The lasting connections, and which are short.
        while let Some(&cookie) = fold.keys.get(fold.next) {
            fold.next += 1;
            if let Some(entry) = self.entries.get(&cookie).filter(|e| e.socket.protocol == Protocol::Tcp) {
                if entry.closed_at.is_none()
                    && let Some(opened) = entry.clock.opened
                {
                    let key = (entry.pid, entry.socket.remote.port(), entry.socket.remote.is_ipv6());
                    fold.lasting.entry(key).or_default().push(opened);
                }
                if entry.short_lived(window) {
                    fold.short.push(cookie);
                }
            }
            if fold.next.is_multiple_of(STRIDE) && stop() {
                return None;
            }
        }
        if !fold.keys.is_empty() {
            fold.keys = Vec::new();
            fold.next = 0;
        }
        // Also-rans, and the short connections grouped.
        while let Some(&cookie) = fold.short.get(fold.next) {
            fold.next += 1;
            if let Some(entry) = self.entries.get_mut(&cookie) {
                let opened = entry.opened_mono();
                let rival = (entry.pid, entry.socket.remote.port(), !entry.socket.remote.is_ipv6());
                if fold
                    .lasting
                    .get(&rival)
                    .is_some_and(|winners| winners.iter().any(|w| (*w - opened).abs() <= window))
                    && entry.label != Some(ConnectionLabel::AlsoRan)
                {
                    Arc::make_mut(entry).label = Some(ConnectionLabel::AlsoRan);
                }
                fold.groups.entry((entry.pid, entry.socket.remote.ip())).or_default().push((opened, cookie));
            }
            if fold.next.is_multiple_of(STRIDE) && stop() {
                return None;
            }
        }
        if !fold.short.is_empty() {
            fold.short = Vec::new();
            fold.next = 0;
            fold.sorted = std::mem::take(&mut fold.groups).into_iter().collect();
            // Last first: popped in key order.
            fold.sorted.sort_unstable_by_key(|(key, _)| std::cmp::Reverse(*key));
        }
        // The bursts, a group at a time.
        while let Some((key, mut opened)) = fold.sorted.pop() {
            self.label_burst(key, &mut opened, fold.at.mono, &mut fold.notices);
            if !fold.sorted.is_empty() && stop() {
                return None;
            }
        }
        self.forget_bursts(fold.at.mono);
        Some(std::mem::take(&mut fold.notices))
    }

    /// Label the densest cluster of one owner's short connections to one host as a
    /// burst, if it is one, with a notice unless one was raised lately.
    fn label_burst(
        &mut self,
        (pid, host): BurstKey,
        opened: &mut [(Mono, u64)],
        at: Mono,
        notices: &mut Vec<Notice>,
    ) {
        let window = self.limits.burst_window;
        let burst = densest_cluster(opened, window);
        if burst.len() < self.limits.burst_min {
            return;
        }
        let count = burst.len() as u32;
        for cookie in &burst {
            if let Some(entry) = self.entries.get_mut(cookie)
                && entry.label != Some(ConnectionLabel::AlsoRan)
                && entry.label != Some(ConnectionLabel::Burst { count })
            {
                Arc::make_mut(entry).label = Some(ConnectionLabel::Burst { count });
            }
        }
        let recent = self
            .bursts_noticed
            .get(&(pid, host))
            .is_some_and(|then| at - *then < self.limits.closed_retention);
        if recent {
            return;
        }
        self.bursts_noticed.insert((pid, host), at);
        let who = pid.and_then(|pid| self.processes.get(&pid)).map_or_else(
            || pid.map_or_else(|| "an unknown process".to_owned(), |pid| format!("pid {pid}")),
            |process| format!("{} ({})", process.name, process.pid),
        );
        // The same process bursting to the same host again is one line with a
        // count while it keeps on (a retry loop every few seconds), not a line
        // per retention period.
        let key = format!("{} {host}", pid.map_or_else(|| "?".to_owned(), |pid| pid.to_string()));
        notices.push(
            Notice::new(
                TimelineKind::ConnectionBurst,
                host.to_string(),
                format!("{who} opened and closed {count} connections to {host} within a second (retries, a scan or a chatty client; not an error)"),
            )
            .folded(key, self.limits.closed_retention * BURST_FOLD_PERIODS, FoldFrom::Latest),
        );
    }

    /// Forget burst notices older than the retention: a burst after that is news again.
    pub(super) fn forget_bursts(&mut self, at: Mono) {
        let retention = self.limits.closed_retention;
        self.bursts_noticed.retain(|_, then| at - *then < retention);
    }
}

/// The cookies of the largest set of connections opened within `window` of each other.
fn densest_cluster(opened: &mut [(Mono, u64)], window: time::Duration) -> Vec<u64> {
    opened.sort_unstable();
    let mut best = 0..0;
    let mut start = 0;
    for end in 0..opened.len() {
        while opened[end].0 - opened[start].0 > window {
            start += 1;
        }
        if end + 1 - start > best.len() {
            best = start..end + 1;
        }
    }
    opened[best].iter().map(|(_, cookie)| *cookie).collect()
}
