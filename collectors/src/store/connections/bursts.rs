//! Burst and Happy-Eyeballs labels: short connections from one process to one host,
//! grouped by when they opened (on the monotonic clock).

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Mono;
use crate::event::Notice;
use crate::model::{FoldFrom, Protocol, TimelineKind};

use super::{BurstKey, Connections};

/// A repeated burst folds into the line of the previous one while it comes back within
/// this many retention periods (it is noticed again at most once per period).
const BURST_FOLD_PERIODS: i32 = 3;

/// A label that explains a connection without raising an alarm (DESIGN.md §1, note 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Connections {
    /// Label short connections from one process to one host: a dual-stack race's
    /// loser as an also-ran, several opened within the burst window as a burst (one
    /// notice per burst).
    pub(super) fn label_bursts(&mut self, at: Mono) -> Vec<Notice> {
        self.bursts_labelled = Some(at);
        let window = self.limits.burst_window;
        // Lasting connections by (owner, remote port, family): what an also-ran lost to.
        let mut lasting: HashMap<(Option<u32>, u16, bool), Vec<Mono>> = HashMap::new();
        for entry in
            self.entries.values().filter(|e| e.socket.protocol == Protocol::Tcp && e.closed_at.is_none())
        {
            if let Some(opened) = entry.clock.opened {
                let key = (entry.pid, entry.socket.remote.port(), entry.socket.remote.is_ipv6());
                lasting.entry(key).or_default().push(opened);
            }
        }
        let mut groups: HashMap<BurstKey, Vec<(Mono, u64)>> = HashMap::new();
        for entry in
            self.entries.values_mut().filter(|e| e.socket.protocol == Protocol::Tcp && e.short_lived(window))
        {
            let opened = entry.opened_mono();
            let rival = (entry.pid, entry.socket.remote.port(), !entry.socket.remote.is_ipv6());
            if lasting
                .get(&rival)
                .is_some_and(|winners| winners.iter().any(|w| (*w - opened).abs() <= window))
                && entry.label != Some(ConnectionLabel::AlsoRan)
            {
                Arc::make_mut(entry).label = Some(ConnectionLabel::AlsoRan);
            }
            groups
                .entry((entry.pid, entry.socket.remote.ip()))
                .or_default()
                .push((opened, entry.socket.cookie));
        }
        let mut notices = Vec::new();
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(key, _)| *key);
        for ((pid, host), mut opened) in groups {
            let burst = densest_cluster(&mut opened, window);
            if burst.len() < self.limits.burst_min {
                continue;
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
            if !recent {
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
        }
        self.forget_bursts(at);
        notices
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
