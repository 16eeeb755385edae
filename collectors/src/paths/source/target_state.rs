//! One target and everything remembered about it between rounds.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::time::Instant;

use crate::model::{ConnectAttempt, Timestamp};

use super::super::evaluate::{NameCheck, Verdict};
use super::super::status::StatusTracker;
use super::super::target::{ProbeKind, Target};
use super::super::window::{DEFAULT_CAPACITY, ProbeWindow};

/// A target's identity for as long as it is evaluated: never reused, so a probe or
/// name resolution still in flight when its target is removed finds no target to be
/// filed under, and is dropped (list positions shift on removal; ids do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TargetId(pub(crate) u64);

/// The result of one probe.
#[derive(Debug)]
pub(crate) struct ProbeOutcome {
    pub(crate) result: Result<Duration, String>,
    pub(crate) race: Option<(Vec<ConnectAttempt>, Option<SocketAddr>)>,
}

/// What a name resolution found, and which server gave the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameOutcome {
    pub(crate) check: NameCheck,
    pub(crate) answered_by: Option<String>,
}

/// One target's evaluation state.
#[derive(Debug)]
#[expect(clippy::struct_excessive_bools, reason = "independent facts about one target, not a mode")]
pub(crate) struct TargetState {
    pub(crate) id: TargetId,
    pub(crate) target: Target,
    pub(crate) tracker: StatusTracker,
    pub(crate) verdict: Option<Verdict>,
    pub(crate) evaluated_at: Timestamp,
    pub(crate) name: NameCheck,
    pub(crate) answered_by: Option<String>,
    pub(crate) resolved_at: Option<Instant>,
    pub(crate) resolving: bool,
    /// The resolver configuration changed while a resolution was in flight: its
    /// answer is from the old one, so resolve again when it lands.
    pub(crate) resolve_again: bool,
    pub(crate) window: ProbeWindow,
    /// Failed probes in a row, as the verdict counts them ([`super::super::evaluate::FAILING_AFTER`]).
    pub(crate) failures: u32,
    /// Failed or unsent probes in a row since the schedule last started over: what
    /// the backoff doubles on ([`super::super::schedule`]).
    pub(crate) backoff: u32,
    pub(crate) next_probe: Instant,
    pub(crate) last_probe: Option<Instant>,
    pub(crate) probing: bool,
    /// ICMP echo sequence number of the next probe.
    pub(crate) sequence: u16,
    pub(crate) attempts: Vec<ConnectAttempt>,
    pub(crate) winner: Option<SocketAddr>,
    pub(crate) previous_interface: Option<u32>,
    pub(crate) kernel_ok: bool,
}

impl TargetState {
    pub(crate) fn new(id: TargetId, target: Target, now: Instant) -> Self {
        let name = if target.destination.lookup_address().is_some() {
            NameCheck::NotNeeded
        } else {
            NameCheck::Pending
        };
        Self {
            id,
            tracker: StatusTracker::new(target.text.clone(), Timestamp::now_utc()),
            target,
            verdict: None,
            evaluated_at: Timestamp::now_utc(),
            name,
            answered_by: None,
            resolved_at: None,
            resolving: false,
            resolve_again: false,
            window: ProbeWindow::new(DEFAULT_CAPACITY),
            failures: 0,
            backoff: 0,
            next_probe: now,
            last_probe: None,
            probing: false,
            sequence: 0,
            attempts: Vec::new(),
            winner: None,
            previous_interface: None,
            kernel_ok: false,
        }
    }

    /// Whether a probe (or, while the kernel refuses the path, the record of one not
    /// sent) is due. A name still being resolved has nothing to probe or refuse yet.
    pub(crate) fn probe_due(&self, now: Instant) -> bool {
        self.target.probe != ProbeKind::None
            && !self.probing
            && self.name != NameCheck::Pending
            && self.next_probe <= now
    }

    /// Start the schedule over (a recovery, a changed path, "probe now"): the next
    /// probe comes one period after the latest, and never later than it was due.
    pub(crate) fn restart_schedule(&mut self, now: Instant, period: Duration) {
        self.backoff = 0;
        let after_period = self.last_probe.map_or(now, |last| (last + period).max(now));
        self.next_probe = self.next_probe.min(after_period);
    }

    /// Whether this round's verdict is complete enough to commit: the name is
    /// resolved (or known not to be), and a probed target whose kernel checks pass
    /// has had a probe since they last failed. A verdict without its probe would be
    /// a `satisfied` that the probe may take back at once.
    pub(crate) fn settled(&self, kernel_ok: bool) -> bool {
        let awaiting_probe = kernel_ok
            && self.target.probe != ProbeKind::None
            && (self.window.sent() == 0 || self.window.latest_blocked());
        self.name != NameCheck::Pending && !awaiting_probe
    }

    /// Take a finished name resolution.
    pub(crate) fn resolved(&mut self, outcome: NameOutcome, now: Instant) {
        self.resolving = false;
        self.name = outcome.check;
        self.answered_by = outcome.answered_by;
        self.resolved_at = Some(now);
    }

    /// The addresses to look a route up for: the literal, the default path's
    /// representative, the race winner, or the first address of each family.
    pub(crate) fn candidates(&self, nameservers: &[IpAddr]) -> (Vec<IpAddr>, bool) {
        if let Some(address) = self.target.destination.lookup_address() {
            return (vec![address], false);
        }
        match &self.name {
            NameCheck::Resolved(addresses) => {
                if let Some(winner) = self.winner.filter(|winner| addresses.contains(&winner.ip())) {
                    return (vec![winner.ip()], false);
                }
                let v6 = addresses.iter().find(|a| a.is_ipv6());
                let v4 = addresses.iter().find(|a| a.is_ipv4());
                (v6.into_iter().chain(v4).copied().collect(), false)
            }
            NameCheck::Pending | NameCheck::NotFound(_) | NameCheck::Failed(_) | NameCheck::NotNeeded => {
                (nameservers.first().copied().into_iter().collect(), true)
            }
        }
    }
}
