//! Debounced path status: a new verdict must hold for the debounce before it is
//! committed, so a flapping link or one slow probe does not flood the timeline.
//! Each committed change becomes a transition with both ends and the reason.
//!
//! Pure: time comes in as arguments ([`Instant`] for the debounce, wall-clock
//! [`Timestamp`] for what is shown), so the state machine is tested without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::event::Notice;
use crate::model::{PathReason, PathStatus, PathTransition, PendingStatus, TimelineKind, Timestamp};

/// Transitions kept per target for the details view.
pub const TRANSITION_HISTORY: usize = 16;

/// A status together with its reason and what the reason is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The status.
    pub status: PathStatus,
    /// First failing check.
    pub reason: Option<PathReason>,
    /// What the reason is about (`veth0`).
    pub subject: Option<String>,
}

impl Observed {
    /// `unsatisfied (link_down veth0)`, or `satisfied`.
    fn describe(&self) -> String {
        match (self.reason, &self.subject) {
            (Some(reason), Some(subject)) => {
                format!("{} ({} {subject})", self.status.as_str(), reason.as_str())
            }
            (Some(reason), None) => format!("{} ({})", self.status.as_str(), reason.as_str()),
            (None, _) => self.status.as_str().to_owned(),
        }
    }

    /// Status and reason are what counts; the subject only explains.
    fn same_state(&self, other: &Self) -> bool {
        self.status == other.status && self.reason == other.reason
    }
}

#[derive(Debug, Clone)]
struct Pending {
    observed: Observed,
    first_seen: Instant,
    first_seen_at: Timestamp,
}

/// The debounced status of one target.
#[derive(Debug, Clone)]
pub struct StatusTracker {
    target: String,
    committed: Option<Observed>,
    since: Timestamp,
    pending: Option<Pending>,
    transitions: VecDeque<PathTransition>,
    interface: Option<String>,
}

impl StatusTracker {
    /// A tracker for `target` that has seen nothing yet.
    #[must_use]
    pub fn new(target: impl Into<String>, now: Timestamp) -> Self {
        Self {
            target: target.into(),
            committed: None,
            since: now,
            pending: None,
            transitions: VecDeque::new(),
            interface: None,
        }
    }

    /// Take in the verdict of an evaluation at `now`; returns the timeline notices it
    /// causes (a move between interfaces at once, a status change only once committed).
    pub fn observe(
        &mut self,
        observed: Observed,
        interface: Option<&str>,
        now: Instant,
        at: Timestamp,
        debounce: Duration,
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        if let (Some(before), Some(after)) = (self.interface.as_deref(), interface)
            && before != after
        {
            notices.push(Notice::new(
                TimelineKind::PathMoved,
                self.target.clone(),
                format!("{}: moved {before} → {after}", self.target),
            ));
        }
        if interface.is_some() {
            self.interface = interface.map(str::to_owned);
        }
        let Some(committed) = &self.committed else {
            // The first verdict is the starting state, not a change: logged as what it
            // is, never as a transition from a state the target never had.
            notices.push(Notice::new(
                TimelineKind::PathStatus,
                self.target.clone(),
                format!("{}: first verdict: {}", self.target, observed.describe()),
            ));
            self.committed = Some(observed);
            self.since = at;
            return notices;
        };
        if committed.same_state(&observed) {
            // Back where it was before the debounce ran out: a flap, not a change.
            self.pending = None;
            if let Some(committed) = &mut self.committed {
                committed.subject = observed.subject;
            }
        } else if self.pending.as_ref().is_some_and(|pending| pending.observed.same_state(&observed)) {
            if let Some(pending) = &mut self.pending {
                pending.observed.subject = observed.subject;
            }
        } else {
            self.pending = Some(Pending { observed, first_seen: now, first_seen_at: at });
        }
        notices.extend(self.tick(now, debounce));
        notices
    }

    /// Commit a pending status that has held for `debounce`.
    pub fn tick(&mut self, now: Instant, debounce: Duration) -> Option<Notice> {
        let pending = self.pending.as_ref()?;
        if now.saturating_duration_since(pending.first_seen) < debounce {
            return None;
        }
        let pending = self.pending.take()?;
        let before = self.committed.replace(pending.observed.clone())?;
        let detail = format!("{} → {}", before.describe(), pending.observed.describe());
        self.since = pending.first_seen_at;
        if self.transitions.len() == TRANSITION_HISTORY {
            self.transitions.pop_front();
        }
        self.transitions.push_back(PathTransition {
            at: pending.first_seen_at,
            from: before.status,
            to: pending.observed.status,
            detail: detail.clone(),
        });
        Some(Notice::new(TimelineKind::PathStatus, self.target.clone(), format!("{}: {detail}", self.target)))
    }

    /// When the pending status commits, if one is pending.
    #[must_use]
    pub fn deadline(&self, debounce: Duration) -> Option<Instant> {
        self.pending.as_ref().map(|pending| pending.first_seen + debounce)
    }

    /// The committed status, if any verdict was seen.
    #[must_use]
    pub const fn committed(&self) -> Option<&Observed> {
        self.committed.as_ref()
    }

    /// When the committed status began.
    #[must_use]
    pub const fn since(&self) -> Timestamp {
        self.since
    }

    /// The status waiting out the debounce.
    #[must_use]
    pub fn pending(&self) -> Option<PendingStatus> {
        self.pending.as_ref().map(|pending| PendingStatus {
            status: pending.observed.status,
            reason: pending.observed.reason,
            since: pending.first_seen_at,
        })
    }

    /// Committed transitions, oldest first.
    #[must_use]
    pub fn transitions(&self) -> Vec<PathTransition> {
        self.transitions.iter().cloned().collect()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    const DEBOUNCE: Duration = Duration::from_secs(1);

    fn satisfied() -> Observed {
        Observed { status: PathStatus::Satisfied, reason: None, subject: None }
    }

    fn link_down() -> Observed {
        Observed {
            status: PathStatus::Unsatisfied,
            reason: Some(PathReason::LinkDown),
            subject: Some("veth0".to_owned()),
        }
    }

    fn at(ms: u64) -> (Instant, Timestamp, Instant) {
        let base = Instant::now();
        (base, Timestamp::UNIX_EPOCH + Duration::from_millis(ms), base + Duration::from_millis(ms))
    }

    #[test]
    fn a_change_commits_after_the_debounce_with_both_ends() {
        let (_, t0, base) = at(0);
        let mut tracker = StatusTracker::new("default-ipv4", t0);
        let first = tracker.observe(satisfied(), Some("veth0"), base, t0, DEBOUNCE);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].detail, "default-ipv4: first verdict: satisfied");
        let t1 = t0 + Duration::from_millis(100);
        assert!(
            tracker.observe(link_down(), None, base + Duration::from_millis(100), t1, DEBOUNCE).is_empty()
        );
        assert_eq!(tracker.pending().unwrap().status, PathStatus::Unsatisfied);
        assert_eq!(tracker.deadline(DEBOUNCE), Some(base + Duration::from_millis(1100)));
        assert!(tracker.tick(base + Duration::from_millis(1099), DEBOUNCE).is_none());
        let notice = tracker.tick(base + Duration::from_millis(1100), DEBOUNCE).unwrap();
        assert_eq!(notice.detail, "default-ipv4: satisfied → unsatisfied (link_down veth0)");
        assert_eq!(notice.kind, TimelineKind::PathStatus);
        assert_eq!(tracker.since(), t1, "time in state counts from when the change was first seen");
        assert_eq!(tracker.transitions().len(), 1);
        assert!(tracker.pending().is_none());
    }

    #[test]
    fn a_new_target_logs_its_first_verdict_not_a_transition() {
        let (_, t0, base) = at(0);
        let mut tracker = StatusTracker::new("10.1.0.1:8081", t0);
        let failing =
            Observed { status: PathStatus::Failing, reason: Some(PathReason::ProbeFailed), subject: None };
        let notices = tracker.observe(failing.clone(), Some("veth0"), base, t0, DEBOUNCE);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].kind, TimelineKind::PathStatus);
        assert_eq!(notices[0].detail, "10.1.0.1:8081: first verdict: failing (probe_failed)");
        assert!(tracker.transitions().is_empty(), "the first verdict is no transition");
        assert_eq!(tracker.committed(), Some(&failing));
        assert!(tracker.pending().is_none(), "nothing waits out the debounce");
        // The same verdict again says nothing more.
        let later = base + Duration::from_secs(5);
        assert!(tracker.observe(failing, Some("veth0"), later, t0, DEBOUNCE).is_empty());
    }

    #[test]
    fn a_flap_shorter_than_the_debounce_is_not_a_transition() {
        let (_, t0, base) = at(0);
        let mut tracker = StatusTracker::new("x", t0);
        tracker.observe(satisfied(), None, base, t0, DEBOUNCE);
        tracker.observe(link_down(), None, base + Duration::from_millis(200), t0, DEBOUNCE);
        tracker.observe(satisfied(), None, base + Duration::from_millis(400), t0, DEBOUNCE);
        assert!(tracker.tick(base + Duration::from_secs(5), DEBOUNCE).is_none());
        assert!(tracker.transitions().is_empty());
    }

    #[test]
    fn a_new_pending_state_restarts_the_debounce() {
        let (_, t0, base) = at(0);
        let mut tracker = StatusTracker::new("x", t0);
        tracker.observe(satisfied(), None, base, t0, DEBOUNCE);
        tracker.observe(link_down(), None, base + Duration::from_millis(100), t0, DEBOUNCE);
        let no_route =
            Observed { status: PathStatus::Unsatisfied, reason: Some(PathReason::NoRoute), subject: None };
        tracker.observe(no_route, None, base + Duration::from_millis(900), t0, DEBOUNCE);
        assert!(tracker.tick(base + Duration::from_millis(1500), DEBOUNCE).is_none());
        let notice = tracker.tick(base + Duration::from_millis(1900), DEBOUNCE).unwrap();
        assert!(notice.detail.ends_with("→ unsatisfied (no_route)"), "{}", notice.detail);
    }

    #[test]
    fn moves_between_interfaces_are_reported_at_once() {
        let (_, t0, base) = at(0);
        let mut tracker = StatusTracker::new("default-ipv4", t0);
        let first = tracker.observe(satisfied(), Some("veth0"), base, t0, DEBOUNCE);
        assert!(first.iter().all(|notice| notice.kind == TimelineKind::PathStatus), "{first:?}");
        let notices = tracker.observe(satisfied(), Some("tun0"), base, t0, DEBOUNCE);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].detail, "default-ipv4: moved veth0 → tun0");
        assert_eq!(notices[0].kind, TimelineKind::PathMoved);
    }

    #[test]
    fn the_history_is_bounded() {
        let (_, t0, base) = at(0);
        let mut tracker = StatusTracker::new("x", t0);
        tracker.observe(satisfied(), None, base, t0, DEBOUNCE);
        for step in 1..=40_u64 {
            let now = base + Duration::from_secs(step * 2);
            let observed = if step % 2 == 0 { satisfied() } else { link_down() };
            tracker.observe(observed, None, now, t0, DEBOUNCE);
            tracker.tick(now + DEBOUNCE, DEBOUNCE);
        }
        assert_eq!(tracker.transitions().len(), TRANSITION_HISTORY);
    }
}
