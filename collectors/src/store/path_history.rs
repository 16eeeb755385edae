//! Each watched target's verdicts over time: a bounded ring per target of (time,
//! status, RTT, loss), folded from every paths table, so the UI can draw a path's
//! status as a band over time with its probe RTT beneath. Targets that stop being
//! watched are forgotten with their history: memory is bounded by the targets
//! watched times [`PATH_HISTORY_CAPACITY`].

use std::collections::BTreeMap;

use super::tally::PathTally;
use crate::history::Ring;
use crate::model::{PathState, PathStatus, Timestamp};

/// Samples kept per target: ten minutes at one paths table a second.
pub const PATH_HISTORY_CAPACITY: usize = 600;

/// One target's state as one paths table reported it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PathSample {
    /// When the table arrived (wall clock, for the time axis).
    pub at: Timestamp,
    /// The verdict then.
    pub status: PathStatus,
    /// The latest probe's round-trip time, when a probe answered.
    pub rtt_ms: Option<f64>,
    /// The probe's loss over its window, when the target is probed.
    pub loss_pct: Option<f64>,
    /// Whether the target is probed and its latest probe failed.
    pub probe_failed: bool,
}

impl PathSample {
    /// The sample of `path` seen at `at`.
    #[must_use]
    pub fn of(path: &PathState, at: Timestamp) -> Self {
        let probe = path.probe.as_ref();
        Self {
            at,
            status: path.status,
            rtt_ms: probe.filter(|p| p.ok).and_then(|p| p.rtt_ms),
            loss_pct: probe.and_then(|p| p.loss_pct),
            probe_failed: probe.is_some_and(|p| !p.ok),
        }
    }
}

/// The verdict history of every watched target, keyed by its canonical target text.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PathHistory {
    targets: BTreeMap<String, Ring<PathSample>>,
    /// Each watched target's running totals (journals written before they existed
    /// start them at zero).
    #[serde(default)]
    tallies: BTreeMap<String, PathTally>,
}

impl PathHistory {
    /// Fold one paths table that arrived at `at`: a sample per target; targets no
    /// longer in the table are dropped.
    pub fn fold(&mut self, at: Timestamp, paths: &[PathState]) {
        // Rebuilt from the table, moving each kept ring (and its key) across: linear
        // in the targets, where checking every old target against the table would
        // be quadratic (a thousand targets).
        let mut before = std::mem::take(&mut self.targets);
        let mut tallies_before = std::mem::take(&mut self.tallies);
        for path in paths {
            let (target, mut ring) = before
                .remove_entry(&path.target)
                .unwrap_or_else(|| (path.target.clone(), Ring::new(PATH_HISTORY_CAPACITY)));
            let mut tally = tallies_before.remove(&path.target).unwrap_or_default();
            if ring.iter().next_back().is_some_and(|last| last.status != path.status) {
                tally.transitions += 1;
            }
            if let Some(probe) = &path.probe
                && probe.sent > tally.probes_sent
            {
                tally.probes_sent = probe.sent;
                if let Some(rtt_ms) = probe.rtt_ms.filter(|_| probe.ok) {
                    tally.rtt.observe(rtt_ms / 1000.0);
                }
            }
            ring.push(PathSample::of(path, at));
            self.tallies.insert(target.clone(), tally);
            self.targets.insert(target, ring);
        }
    }

    /// The samples of `target`, oldest first, if it is watched.
    #[must_use]
    pub fn of(&self, target: &str) -> Option<&Ring<PathSample>> {
        self.targets.get(target)
    }

    /// The running totals of `target`, if it is watched.
    #[must_use]
    pub fn tally(&self, target: &str) -> Option<&PathTally> {
        self.tallies.get(target)
    }

    /// How many targets have a history.
    #[must_use]
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether no target has a history.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::model::ProbeSummary;

    fn path(target: &str, status: PathStatus, probe: Option<(bool, f64)>) -> PathState {
        let at = datetime!(2026-03-14 09:00:00 UTC);
        PathState {
            target: target.to_owned(),
            family: None,
            status,
            reason: None,
            reason_subject: None,
            destination: None,
            interface: None,
            interface_index: None,
            interface_kind: None,
            source: None,
            gateway: None,
            route_type: None,
            table: None,
            matched_prefix: None,
            tunnel: None,
            ipv4: true,
            ipv6: false,
            dns: true,
            expensive: false,
            constrained: false,
            since: at,
            evaluated_at: at,
            pending: None,
            checks: Vec::new(),
            probe: probe.map(|(ok, rtt)| ProbeSummary {
                kind: "tcp",
                ok,
                rtt_ms: Some(rtt),
                loss_pct: Some(if ok { 0.0 } else { 50.0 }),
                jitter_ms: None,
                error: None,
                sent: 1,
                history: vec![Some(rtt)],
            }),
            attempts: Vec::new(),
            transitions: Vec::new(),
        }
    }

    #[test]
    fn history_folds_each_table_and_forgets_unwatched_targets() {
        let t0 = datetime!(2026-03-14 09:00:00 UTC);
        let mut history = PathHistory::default();
        history.fold(
            t0,
            &[path("a", PathStatus::Satisfied, Some((true, 2.0))), path("b", PathStatus::Satisfied, None)],
        );
        let t1 = t0 + time::Duration::seconds(1);
        history.fold(t1, &[path("a", PathStatus::Failing, Some((false, 2.0)))]);
        assert_eq!(history.len(), 1, "b is no longer watched");
        let a: Vec<PathSample> = history.of("a").map(|r| r.iter().copied().collect()).unwrap_or_default();
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].at, a[0].status, a[0].rtt_ms, a[0].probe_failed),
            (t0, PathStatus::Satisfied, Some(2.0), false)
        );
        assert_eq!(
            (a[1].status, a[1].rtt_ms, a[1].loss_pct, a[1].probe_failed),
            (PathStatus::Failing, None, Some(50.0), true),
            "a failed probe keeps no stale RTT"
        );
    }

    #[test]
    fn history_is_bounded() {
        let t0 = datetime!(2026-03-14 09:00:00 UTC);
        let mut history = PathHistory::default();
        for n in 0..PATH_HISTORY_CAPACITY + 10 {
            history.fold(t0 + time::Duration::seconds(n as i64), &[path("a", PathStatus::Satisfied, None)]);
        }
        assert_eq!(history.of("a").map(Ring::len), Some(PATH_HISTORY_CAPACITY));
    }
}
