//! A target's recent probe results (DESIGN.md §1 note 8): a sliding window of
//! outcomes from which the summary the export and the UI show is computed.
//!
//! Pure: the source records each probe's outcome as it ends and asks for a
//! [`ProbeSummary`] when it publishes the path.

use std::collections::VecDeque;
use std::time::Duration;

use crate::model::ProbeSummary;

/// Probes kept in the window unless told otherwise: a minute at the default
/// two-second probe interval, long enough for loss to mean something.
pub const DEFAULT_CAPACITY: usize = 30;

/// The latest probe outcomes of one target, oldest first, plus what the window
/// forgets: how many probes were sent in all and why the latest one failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeWindow {
    capacity: usize,
    /// RTT in milliseconds of each probe, `None` for a failed one.
    outcomes: VecDeque<Option<f64>>,
    sent: u64,
    /// Why the latest probe failed; cleared by a success.
    error: Option<String>,
    /// The latest probe was never sent: the kernel refused the path.
    blocked: bool,
}

impl Default for ProbeWindow {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl ProbeWindow {
    /// An empty window keeping the latest `capacity` outcomes (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        // A zero-size window could never say whether the latest probe worked.
        let capacity = capacity.max(1);
        Self { capacity, outcomes: VecDeque::with_capacity(capacity), sent: 0, error: None, blocked: false }
    }

    /// How many outcomes the window keeps.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Probes recorded since the window was made (not only those still in it).
    #[must_use]
    pub const fn sent(&self) -> u64 {
        self.sent
    }

    /// Record a probe that got its answer after `rtt`.
    pub fn record_success(&mut self, rtt: Duration) {
        self.push(Some(rtt.as_secs_f64() * 1000.0));
        self.error = None;
    }

    /// Record a probe that failed, and why (shown to the user verbatim).
    pub fn record_failure(&mut self, error: String) {
        self.push(None);
        self.error = Some(error);
        self.blocked = false;
    }

    /// Record a probe that was due but not sent because the kernel refuses the path
    /// (`why`: `blackhole route`): to the user that is loss, and the old RTT no
    /// longer holds. Nothing was sent, so `sent` does not count it.
    pub fn record_blocked(&mut self, why: &str) {
        if self.outcomes.len() == self.capacity {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back(None);
        self.error = Some(format!("not sent: {why}"));
        self.blocked = true;
    }

    /// Whether the latest outcome is a probe that was not sent.
    #[must_use]
    pub const fn latest_blocked(&self) -> bool {
        self.blocked
    }

    fn push(&mut self, outcome: Option<f64>) {
        if self.outcomes.len() == self.capacity {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back(outcome);
        self.sent += 1;
        self.blocked = false;
    }

    /// The summary of the window, labelled with the probe `kind` (`tcp`, `icmp`,
    /// `dns`); `None` before the first probe, when there is nothing to say yet.
    #[must_use]
    pub fn summary(&self, kind: &'static str) -> Option<ProbeSummary> {
        let latest = *self.outcomes.back()?;
        let successes: Vec<f64> = self.outcomes.iter().flatten().copied().collect();
        let failed = self.outcomes.len() - successes.len();
        let loss_pct = failed as f64 * 100.0 / self.outcomes.len() as f64;
        // Consecutive *successful* RTTs: a failure in between says nothing about
        // variation, and counting it as 0 ms would inflate jitter.
        let jitter_ms = (successes.len() >= 2).then(|| {
            let total: f64 = successes.windows(2).map(|pair| (pair[1] - pair[0]).abs()).sum();
            total / (successes.len() - 1) as f64
        });
        Some(ProbeSummary {
            kind,
            ok: latest.is_some(),
            // The latest probe's RTT only: after a failure an older RTT would say
            // the target still answers.
            rtt_ms: latest,
            loss_pct: Some(loss_pct),
            jitter_ms,
            error: if latest.is_some() { None } else { self.error.clone() },
            sent: self.sent,
            history: self.outcomes.iter().copied().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outcome as the table writes it: RTT in whole milliseconds, or failed.
    #[derive(Clone, Copy)]
    enum Probe {
        Ok(u64),
        Failed,
    }
    use Probe::{Failed, Ok};

    fn window(capacity: usize, probes: &[Probe]) -> ProbeWindow {
        let mut window = ProbeWindow::new(capacity);
        for (n, probe) in probes.iter().enumerate() {
            match probe {
                Ok(ms) => window.record_success(Duration::from_millis(*ms)),
                Failed => window.record_failure(format!("failure {n}")),
            }
        }
        window
    }

    #[test]
    fn nothing_to_say_before_the_first_probe() {
        assert_eq!(ProbeWindow::default().summary("tcp"), None);
        assert_eq!(ProbeWindow::default().capacity(), DEFAULT_CAPACITY);
    }

    /// One row of a table: the probes recorded and the summary expected.
    struct Case {
        name: &'static str,
        capacity: usize,
        probes: &'static [Probe],
        ok: bool,
        rtt_ms: Option<f64>,
        loss_pct: f64,
        jitter_ms: Option<f64>,
        error: Option<&'static str>,
        sent: u64,
        history: &'static [Option<f64>],
    }
    fn check(cases: Vec<Case>) {
        for case in cases {
            let summary = window(case.capacity, case.probes).summary("icmp");
            let expected = ProbeSummary {
                kind: "icmp",
                ok: case.ok,
                rtt_ms: case.rtt_ms,
                loss_pct: Some(case.loss_pct),
                jitter_ms: case.jitter_ms,
                error: case.error.map(str::to_owned),
                sent: case.sent,
                history: case.history.to_vec(),
            };
            assert_eq!(summary, Some(expected), "{}", case.name);
        }
    }

    #[test]
    fn summaries() {
        check(vec![
            Case {
                name: "one success: no jitter yet",
                capacity: 30,
                probes: &[Ok(12)],
                ok: true,
                rtt_ms: Some(12.0),
                loss_pct: 0.0,
                jitter_ms: None,
                error: None,
                sent: 1,
                history: &[Some(12.0)],
            },
            Case {
                name: "one failure",
                capacity: 30,
                probes: &[Failed],
                ok: false,
                rtt_ms: None,
                loss_pct: 100.0,
                jitter_ms: None,
                error: Some("failure 0"),
                sent: 1,
                history: &[None],
            },
            Case {
                name: "jitter is the mean absolute difference of consecutive RTTs",
                capacity: 30,
                probes: &[Ok(10), Ok(14), Ok(12), Ok(20)],
                ok: true,
                rtt_ms: Some(20.0),
                loss_pct: 0.0,
                // |14-10| + |12-14| + |20-12| = 4 + 2 + 8 = 14, over 3 pairs.
                jitter_ms: Some(14.0 / 3.0),
                error: None,
                sent: 4,
                history: &[Some(10.0), Some(14.0), Some(12.0), Some(20.0)],
            },
            Case {
                name: "failures are skipped for jitter and counted for loss; a failure clears the RTT",
                capacity: 30,
                probes: &[Ok(10), Failed, Ok(16), Failed],
                ok: false,
                rtt_ms: None,
                loss_pct: 50.0,
                jitter_ms: Some(6.0),
                error: Some("failure 3"),
                sent: 4,
                history: &[Some(10.0), None, Some(16.0), None],
            },
        ]);
    }

    #[test]
    fn the_window_slides_and_the_latest_outcome_decides() {
        check(vec![
            Case {
                name: "a success clears the error",
                capacity: 30,
                probes: &[Failed, Ok(8)],
                ok: true,
                rtt_ms: Some(8.0),
                loss_pct: 50.0,
                jitter_ms: None,
                error: None,
                sent: 2,
                history: &[None, Some(8.0)],
            },
            Case {
                name: "the window slides: old outcomes leave, sent keeps counting",
                capacity: 3,
                probes: &[Failed, Failed, Ok(5), Ok(7), Ok(4)],
                ok: true,
                rtt_ms: Some(4.0),
                loss_pct: 0.0,
                jitter_ms: Some(2.5),
                error: None,
                sent: 5,
                history: &[Some(5.0), Some(7.0), Some(4.0)],
            },
            Case {
                name: "no success left in the window: no RTT",
                capacity: 2,
                probes: &[Ok(5), Failed, Failed],
                ok: false,
                rtt_ms: None,
                loss_pct: 100.0,
                jitter_ms: None,
                error: Some("failure 2"),
                sent: 3,
                history: &[None, None],
            },
            Case {
                name: "capacity 0 keeps the latest outcome",
                capacity: 0,
                probes: &[Ok(5), Ok(9)],
                ok: true,
                rtt_ms: Some(9.0),
                loss_pct: 0.0,
                jitter_ms: None,
                error: None,
                sent: 2,
                history: &[Some(9.0)],
            },
        ]);
    }

    #[test]
    fn a_blocked_probe_clears_the_rtt_and_counts_as_loss_without_counting_as_sent() {
        let mut window = ProbeWindow::new(4);
        window.record_success(Duration::from_millis(12));
        window.record_blocked("blackhole route to 10.50.0.1");
        assert!(window.latest_blocked());
        let summary = window.summary("tcp").unwrap_or_else(|| panic!("a summary"));
        assert_eq!(summary.rtt_ms, None, "no stale RTT");
        assert!(!summary.ok);
        assert_eq!(summary.loss_pct, Some(50.0));
        assert_eq!(summary.sent, 1, "nothing was sent");
        assert_eq!(summary.error.as_deref(), Some("not sent: blackhole route to 10.50.0.1"));
        window.record_success(Duration::from_millis(9));
        assert!(!window.latest_blocked());
        assert_eq!(window.summary("tcp").and_then(|s| s.rtt_ms), Some(9.0));
    }

    #[test]
    fn sub_millisecond_rtts_keep_their_fraction() {
        let mut window = ProbeWindow::new(4);
        window.record_success(Duration::from_micros(250));
        assert_eq!(window.summary("tcp").and_then(|s| s.rtt_ms), Some(0.25));
        assert_eq!(window.sent(), 1);
    }
}
