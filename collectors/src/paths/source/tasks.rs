//! The work a round starts and files later: name resolutions and probes, each a
//! task whose result carries its target's [`TargetId`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::time::Instant;

use crate::model::ConnectAttempt;

use super::super::evaluate::NameCheck;
use super::super::eyeballs::{self, TcpConnector};
use super::super::probe::{self, ProbeSpec};
use super::super::schedule;
use super::super::target::{Destination, ProbeKind, TargetDestination};
use super::target_state::{NameOutcome, ProbeOutcome, TargetId};
use super::{Evaluator, MIN_RESOLVE_GAP};

impl Evaluator {
    /// Whether the target's name is due to be resolved again.
    pub(super) fn resolve_due(&self, id: TargetId, now: Instant) -> bool {
        self.targets.iter().find(|state| state.id == id).is_some_and(|state| {
            !state.resolving
                && state.target.destination.lookup_address().is_none()
                && state.resolved_at.is_none_or(|at| at + self.config.resolve_interval <= now)
        })
    }

    /// After a network change names may resolve differently (a VPN's DNS): resolve
    /// again, but not more often than [`MIN_RESOLVE_GAP`].
    pub(super) fn resolve_after_change(&mut self, now: Instant) {
        let due: Vec<TargetId> = self
            .targets
            .iter()
            .filter(|state| state.resolved_at.is_none_or(|at| now.duration_since(at) >= MIN_RESOLVE_GAP))
            .map(|state| state.id)
            .collect();
        for id in due {
            self.spawn_resolve(id);
        }
    }

    /// Start resolving the target's name (nothing for an address or a default path,
    /// or while a resolution is in flight).
    pub(super) fn spawn_resolve(&mut self, id: TargetId) {
        let Some(state) = self.targets.iter_mut().find(|state| state.id == id) else { return };
        let TargetDestination::Host { destination: Destination::Name(name), .. } = &state.target.destination
        else {
            return;
        };
        if state.resolving {
            return;
        }
        state.resolving = true;
        let task = self.names.resolve(name.clone());
        self.resolving.spawn(async move { (id, task.await) });
    }

    /// File a resolution under its target; a removed target's result is dropped.
    pub(super) fn record_resolution(&mut self, id: TargetId, outcome: NameOutcome) -> bool {
        let Some(state) = self.targets.iter_mut().find(|state| state.id == id) else { return false };
        state.resolved(outcome, Instant::now());
        true
    }

    pub(super) fn spawn_probe(&mut self, id: TargetId, now: Instant) {
        let timeout = self.config.probe_timeout;
        let Some(state) = self.targets.iter_mut().find(|state| state.id == id) else { return };
        let Some(verdict) = &state.verdict else { return };
        let port = match &state.target.destination {
            TargetDestination::Host { port, .. } => *port,
            _ => None,
        };
        let spec_for = |address: IpAddr, port: u16| ProbeSpec {
            address: SocketAddr::new(address, port),
            interface: state.target.via.clone(),
            mark: state.target.mark,
            timeout,
        };
        let sequence = state.sequence;
        state.sequence = state.sequence.wrapping_add(1);
        let task: std::pin::Pin<Box<dyn std::future::Future<Output = ProbeOutcome> + Send>> =
            match (state.target.probe, &state.name) {
                (ProbeKind::None, _) => return,
                (ProbeKind::Tcp, NameCheck::Resolved(addresses)) => {
                    let Some(port) = port else { return };
                    let v6: Vec<_> = addresses
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V6(v6) => Some(*v6),
                            IpAddr::V4(_) => None,
                        })
                        .collect();
                    let v4: Vec<_> = addresses
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V4(v4) => Some(*v4),
                            IpAddr::V6(_) => None,
                        })
                        .collect();
                    let order = eyeballs::interleave(&v6, &v4, port);
                    let connector = TcpConnector {
                        interface: state.target.via.clone(),
                        mark: state.target.mark,
                        timeout,
                    };
                    Box::pin(async move {
                        let race = eyeballs::race(&order, &connector, eyeballs::ATTEMPT_DELAY, timeout).await;
                        let rtt = race
                            .attempts
                            .iter()
                            .find(|attempt| attempt.winner)
                            .map(|attempt| Duration::from_secs_f64(attempt.duration_ms / 1000.0));
                        let result = rtt.ok_or_else(|| race_error(&race.attempts));
                        ProbeOutcome { result, race: Some((race.attempts, race.winner)) }
                    })
                }
                (kind, _) => {
                    let Some(address) = verdict.destination else { return };
                    let spec = match kind {
                        ProbeKind::Dns => spec_for(address, port.unwrap_or(53)),
                        _ => spec_for(address, port.unwrap_or(0)),
                    };
                    Box::pin(async move {
                        let result = match kind {
                            ProbeKind::Tcp => probe::tcp_connect(&spec).await,
                            ProbeKind::Icmp => probe::icmp_echo(&spec, sequence).await,
                            _ => probe::dns_query(&spec).await,
                        };
                        ProbeOutcome { result: result.map_err(|error| error.to_string()), race: None }
                    })
                }
            };
        state.probing = true;
        state.last_probe = Some(now);
        self.probing.spawn(async move { (id, task.await) });
    }

    /// File a probe's result under its target; a removed target's result is dropped.
    pub(super) fn record_probe(&mut self, id: TargetId, outcome: ProbeOutcome) {
        let Some(state) = self.targets.iter_mut().find(|state| state.id == id) else { return };
        state.probing = false;
        let now = Instant::now();
        match outcome.result {
            Ok(rtt) => {
                state.window.record_success(rtt);
                state.failures = 0;
                state.backoff = 0;
            }
            Err(error) => {
                state.window.record_failure(error);
                state.failures = state.failures.saturating_add(1);
                state.backoff = state.backoff.saturating_add(1);
            }
        }
        state.next_probe =
            now + schedule::next_delay(self.config.probe_interval, self.config.backoff_max, state.backoff);
        if let Some((attempts, winner)) = outcome.race {
            state.attempts = attempts;
            state.winner = winner;
        }
    }
}

impl Evaluator {
    /// A probe was due while the kernel refuses the path: record it as not sent,
    /// with the first failing check as the reason, and back off as for a failure
    /// (nothing goes on the wire either way). Returns whether one was recorded.
    pub(super) fn record_blocked(&mut self, id: TargetId, now: Instant) -> bool {
        let Some(state) = self.targets.iter_mut().find(|state| state.id == id) else { return false };
        let Some(verdict) = &state.verdict else { return false };
        let why = verdict
            .checks
            .iter()
            .find(|check| !check.ok)
            .map_or_else(|| "the path is unsatisfied".to_owned(), |check| check.detail.clone());
        state.window.record_blocked(&why);
        state.backoff = state.backoff.saturating_add(1);
        // `last_probe` stays the last probe *sent*: once the path is back, the next
        // one may go as soon as a period has passed since then.
        state.next_probe =
            now + schedule::next_delay(self.config.probe_interval, self.config.backoff_max, state.backoff);
        true
    }
}

fn race_error(attempts: &[ConnectAttempt]) -> String {
    let failed: Vec<String> = attempts
        .iter()
        .filter(|attempt| attempt.outcome != crate::model::AttemptOutcome::NotStarted)
        .map(|attempt| format!("{} {}", attempt.address, attempt.outcome.as_str()))
        .collect();
    if failed.is_empty() { "no address to connect to".to_owned() } else { failed.join(", ") }
}
