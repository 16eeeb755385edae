//! One round: every target's route looked up in one batch, judged, debounced; and
//! the path table the round leaves.

use std::net::IpAddr;

use tokio::time::Instant;

use crate::event::Notice;
use crate::model::{CheckName, PathState, PathStatus, Timestamp};
use crate::paths::lookup::{LookupError, RouteAnswer, RouteQuery};
use crate::source::SourceError;

use super::super::evaluate::{self, Context, Inputs, NameCheck, Verdict};
use super::super::status::Observed;
use super::super::target::{ProbeKind, TargetDestination};
use super::Evaluator;
use super::target_state::TargetState;

impl Evaluator {
    /// Look every target up and judge it; returns the timeline notices of the round.
    pub(super) async fn round(&mut self, now: Instant) -> Result<Vec<Notice>, SourceError> {
        let at = Timestamp::now_utc() - Instant::now().saturating_duration_since(now);
        // Queries: the nameservers first (DNS availability), then each target's candidates.
        let mut queries: Vec<RouteQuery> =
            self.dns_servers.iter().map(|&server| RouteQuery::new(server)).collect();
        let mut plans: Vec<Plan> = Vec::with_capacity(self.targets.len());
        for state in &self.targets {
            let (addresses, to_nameserver) = state.candidates(&self.nameservers);
            let oif = match state.target.via.as_deref() {
                None => Ok(None),
                Some(name) => self
                    .view
                    .table
                    .interfaces
                    .iter()
                    .find(|link| link.name == name)
                    .map(|link| Some(link.index))
                    .ok_or_else(|| format!("via={name}: no such interface")),
            };
            let first = queries.len();
            if let Ok(oif) = &oif {
                queries.extend(addresses.iter().map(|&destination| RouteQuery {
                    destination,
                    oif: *oif,
                    mark: state.target.mark,
                    source: None,
                }));
            }
            plans.push(Plan { first, addresses, to_nameserver, no_lookup: oif.err() });
        }
        let answers = self.kernel.lookup_many(queries).await?;

        let mut context = Context {
            network: &self.view.table,
            default_v4: None,
            default_v6: None,
            expensive: &self.config.expensive,
            constrained: &self.config.constrained,
        };
        // DNS is available when the way to a server passes the same checks as a path:
        // a route alone stays while its link is down (IPv6 keeps them).
        self.dns = self
            .dns_servers
            .iter()
            .zip(&answers)
            .any(|(&server, answer)| evaluate::kernel_path_ok(server, answer, &context));
        let debounce = self.config.debounce;
        let period = self.config.probe_interval;
        let mut notices = Vec::new();
        for (state, plan) in self.targets.iter_mut().zip(&plans) {
            let mut verdict = judge(state, plan, &answers, &context);
            name_the_server(&mut verdict, state.answered_by.as_deref());
            // The default paths come first, so later targets see their interfaces
            // (a tunnel is full when the default path uses it too).
            match state.target.destination {
                TargetDestination::DefaultIpv4 => context.default_v4 = satisfied_interface(Some(&verdict)),
                TargetDestination::DefaultIpv6 => context.default_v6 = satisfied_interface(Some(&verdict)),
                TargetDestination::Host { .. } => {}
            }
            let kernel_ok = verdict.checks.iter().all(|check| check.ok || check.name == CheckName::Probe);
            let moved = state.verdict.as_ref().is_some_and(|before| route_changed(before, &verdict));
            if kernel_ok != state.kernel_ok || moved {
                // The network changed for this target: the backoff of the old path
                // says nothing about the new one. Back from an outage, probe within a
                // period; into one, record the refused probe now so no old RTT stays.
                state.restart_schedule(now, period);
                if !kernel_ok {
                    state.next_probe = now;
                }
            }
            state.kernel_ok = kernel_ok;
            if verdict.interface_index.is_some() {
                state.previous_interface = verdict.interface_index;
            }
            if state.settled(kernel_ok) {
                let observed = Observed {
                    status: verdict.status,
                    reason: verdict.reason,
                    subject: verdict.reason_subject.clone(),
                };
                notices.extend(state.tracker.observe(
                    observed,
                    verdict.interface.as_deref(),
                    now.into_std(),
                    at,
                    debounce,
                ));
            }
            state.verdict = Some(verdict);
            state.evaluated_at = Timestamp::now_utc();
        }
        Ok(notices)
    }

    /// The path table: the committed (debounced) status of each target, with the
    /// facts of its latest verdict; a target not yet settled shows its latest verdict.
    pub(super) fn table(&self) -> Vec<PathState> {
        let ipv4 = self.family_ok(&TargetDestination::DefaultIpv4);
        let ipv6 = self.family_ok(&TargetDestination::DefaultIpv6);
        let dns = self.dns;
        self.targets
            .iter()
            .map(|state| {
                let verdict = state.verdict.clone();
                let committed = state.tracker.committed().cloned();
                let (status, reason, subject) = match (&verdict, committed) {
                    (_, Some(c)) => (c.status, c.reason, c.subject),
                    (Some(v), None) => (v.status, v.reason, v.reason_subject.clone()),
                    (None, None) => (PathStatus::Unsatisfied, None, None),
                };
                let v = verdict.as_ref();
                PathState {
                    target: state.target.text.clone(),
                    family: v.and_then(|v| v.family),
                    status,
                    reason,
                    reason_subject: subject,
                    destination: v.and_then(|v| v.destination),
                    interface: v.and_then(|v| v.interface.clone()),
                    interface_index: v.and_then(|v| v.interface_index),
                    interface_kind: v.and_then(|v| v.interface_kind),
                    source: v.and_then(|v| v.source),
                    gateway: v.and_then(|v| v.gateway),
                    route_type: v.and_then(|v| v.route_type),
                    table: v.and_then(|v| v.table),
                    matched_prefix: v.and_then(|v| v.matched_prefix.clone()),
                    tunnel: v.and_then(|v| v.tunnel),
                    ipv4,
                    ipv6,
                    dns,
                    expensive: v.is_some_and(|v| v.expensive),
                    constrained: v.is_some_and(|v| v.constrained),
                    since: state.tracker.since(),
                    evaluated_at: state.evaluated_at,
                    pending: state.tracker.pending(),
                    checks: v.map(|v| v.checks.clone()).unwrap_or_default(),
                    probe: state.window.summary(state.target.probe.as_str()),
                    attempts: state.attempts.clone(),
                    transitions: state.tracker.transitions(),
                }
            })
            .collect()
    }

    fn family_ok(&self, which: &TargetDestination) -> bool {
        let family = match which {
            TargetDestination::DefaultIpv6 => crate::model::AddressFamily::Ipv6,
            _ => crate::model::AddressFamily::Ipv4,
        };
        let default_ok = self
            .targets
            .iter()
            .find(|state| state.target.destination == *which)
            .and_then(|state| state.verdict.as_ref())
            .is_some_and(|verdict| verdict.status == PathStatus::Satisfied);
        evaluate::family_available(&self.view.table, family, default_ok)
    }

    pub(super) fn next_probe(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter(|state| {
                state.target.probe != ProbeKind::None && !state.probing && state.name != NameCheck::Pending
            })
            .map(|state| state.next_probe)
            .min()
    }

    pub(super) fn next_commit(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter_map(|state| state.tracker.deadline(self.config.debounce))
            .min()
            .map(Instant::from_std)
    }

    pub(super) fn next_resolve(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter(|state| !state.resolving && state.target.destination.lookup_address().is_none())
            .filter_map(|state| state.resolved_at.map(|at| at + self.config.resolve_interval))
            .min()
    }
}

/// Say which server answered in the DNS check of a resolved name.
fn name_the_server(verdict: &mut Verdict, answered_by: Option<&str>) {
    let Some(server) = answered_by else { return };
    for check in &mut verdict.checks {
        if check.name == CheckName::Dns && check.ok {
            check.detail = format!("{} (answered by {server})", check.detail);
        }
    }
}

/// Where one target's route answers sit among the round's answers.
#[derive(Debug)]
struct Plan {
    first: usize,
    addresses: Vec<IpAddr>,
    to_nameserver: bool,
    no_lookup: Option<String>,
}

/// Judge every candidate address of a target and keep the one traffic would use:
/// the first whose kernel checks pass (IPv6 first, as Happy Eyeballs would try),
/// else the first, to report why it fails.
fn judge(
    state: &TargetState,
    plan: &Plan,
    answers: &[Result<RouteAnswer, LookupError>],
    context: &Context<'_>,
) -> Verdict {
    // A refused probe says nothing about the path once the kernel lets it through
    // again: judge without it until the next probe answers.
    let probe =
        if state.window.latest_blocked() { None } else { state.window.summary(state.target.probe.as_str()) };
    let mut verdicts = plan.addresses.iter().enumerate().map(|(offset, &address)| {
        let lookup = if plan.no_lookup.is_some() { None } else { answers.get(plan.first + offset) };
        let inputs = Inputs {
            target: &state.target,
            looked_up: Some(address),
            lookup,
            no_lookup: plan.no_lookup.as_deref(),
            previous_interface: state.previous_interface,
            name: &state.name,
            probe: probe.as_ref(),
            probe_failures: state.failures,
        };
        evaluate::evaluate(&inputs, context)
    });
    let Some(first) = verdicts.next() else {
        let inputs = Inputs {
            target: &state.target,
            looked_up: None,
            lookup: None,
            no_lookup: plan.no_lookup.as_deref().or(if plan.to_nameserver && state.name.unresolved() {
                None
            } else {
                Some("no address to look a route up for")
            }),
            previous_interface: state.previous_interface,
            name: &state.name,
            probe: probe.as_ref(),
            probe_failures: state.failures,
        };
        return evaluate::evaluate(&inputs, context);
    };
    if first.status != PathStatus::Unsatisfied {
        return first;
    }
    verdicts.find(|verdict| verdict.status != PathStatus::Unsatisfied).unwrap_or(first)
}

/// Whether traffic to the target now takes another way: another interface,
/// gateway, source, route type or table.
fn route_changed(before: &Verdict, after: &Verdict) -> bool {
    (before.interface_index, before.gateway, before.source, before.route_type, before.table)
        != (after.interface_index, after.gateway, after.source, after.route_type, after.table)
}

fn satisfied_interface(verdict: Option<&Verdict>) -> Option<u32> {
    verdict.filter(|v| v.status == PathStatus::Satisfied).and_then(|v| v.interface_index)
}
