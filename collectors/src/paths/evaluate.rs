//! The evaluation chain of DESIGN.md §5, as a pure function of what the kernel said:
//! route lookup → interface up → carrier → usable source address → gateway neighbour
//! → (names) DNS → (if asked) probe. Each check is recorded with its result; the
//! first failing one is the reason.
//!
//! No I/O here: the paths source gathers the route answers, the network table, the
//! resolution and the probe results, and this module judges them. That keeps every
//! verdict testable from a table of facts.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{
    AddressFamily, AddressFlags, AddressScope, CheckName, Interface, InterfaceAddress, InterfaceKind,
    LinkFlags, NetworkTable, PathCheck, PathReason, PathStatus, ProbeSummary, Route, RouteType, TunnelMode,
};

use super::lookup::{LookupError, RouteAnswer};

mod dns;

use super::target::{Target, TargetDestination};
pub use dns::NameCheck;
use dns::{nameserver_checks, resolved_detail};

/// Facts shared by every target of one evaluation round.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The network as of this round (links, addresses, routes, rules, neighbours).
    pub network: &'a NetworkTable,
    /// The output interface of each family's default path, when it has one.
    pub default_v4: Option<u32>,
    /// See `default_v4`.
    pub default_v6: Option<u32>,
    /// Interface names configured as expensive (metered).
    pub expensive: &'a [String],
    /// Interface names configured as constrained (low-data mode).
    pub constrained: &'a [String],
}

/// Everything the evaluation of one target needs besides the [`Context`].
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The target.
    pub target: &'a Target,
    /// The address the route lookup was for: the destination, or (for a name that
    /// did not resolve) the first nameserver, since that is where the traffic goes first.
    pub looked_up: Option<IpAddr>,
    /// The kernel's answer for `looked_up`; `None` when no lookup could be made.
    pub lookup: Option<&'a Result<RouteAnswer, LookupError>>,
    /// Why no lookup was made, when `lookup` is `None` (e.g. `via=wg0: no such interface`).
    pub no_lookup: Option<&'a str>,
    /// The route's interface at the previous round, to explain a route that vanished
    /// with its interface (the kernel flushes IPv4 routes of a link that goes down).
    pub previous_interface: Option<u32>,
    /// The name resolution, for a name target.
    pub name: &'a NameCheck,
    /// Probe results so far, when the target is probed.
    pub probe: Option<&'a ProbeSummary>,
    /// Consecutive failed probes at the end of the window.
    pub probe_failures: u32,
}

/// The un-debounced verdict of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Status from the checks.
    pub status: PathStatus,
    /// First failing check's reason.
    pub reason: Option<PathReason>,
    /// What the reason is about (`veth0`, `10.1.0.1`).
    pub reason_subject: Option<String>,
    /// Checks in chain order, up to and including the first failure.
    pub checks: Vec<PathCheck>,
    /// Family of the evaluated destination.
    pub family: Option<AddressFamily>,
    /// The destination evaluated (the resolved address for a name).
    pub destination: Option<IpAddr>,
    /// Output interface name.
    pub interface: Option<String>,
    /// Output interface index.
    pub interface_index: Option<u32>,
    /// Its functional type.
    pub interface_kind: Option<InterfaceKind>,
    /// Source address.
    pub source: Option<IpAddr>,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Route type.
    pub route_type: Option<RouteType>,
    /// Route table.
    pub table: Option<u32>,
    /// Matching prefix, `0.0.0.0/1`.
    pub matched_prefix: Option<String>,
    /// Full or split tunnel.
    pub tunnel: Option<TunnelMode>,
    /// Expensive interface.
    pub expensive: bool,
    /// Constrained interface.
    pub constrained: bool,
}

/// How many failed probes in a row make a path `failing`: one lost probe is loss,
/// not an outage.
pub const FAILING_AFTER: u32 = 2;

struct Chain {
    checks: Vec<PathCheck>,
    failed: Option<(PathReason, Option<String>)>,
}

impl Chain {
    fn pass(&mut self, name: CheckName, detail: impl Into<String>) {
        self.checks.push(PathCheck { name, ok: true, detail: detail.into() });
    }

    fn fail(
        &mut self,
        name: CheckName,
        reason: PathReason,
        subject: Option<String>,
        detail: impl Into<String>,
    ) {
        self.checks.push(PathCheck { name, ok: false, detail: detail.into() });
        self.failed.get_or_insert((reason, subject));
    }

    const fn failed(&self) -> bool {
        self.failed.is_some()
    }
}

/// Judge one target.
#[must_use]
pub fn evaluate(inputs: &Inputs<'_>, context: &Context<'_>) -> Verdict {
    let mut chain = Chain { checks: Vec::new(), failed: None };
    let mut verdict = Verdict {
        status: PathStatus::Satisfied,
        reason: None,
        reason_subject: None,
        checks: Vec::new(),
        family: family_of(inputs),
        destination: if inputs.name.unresolved() { None } else { inputs.looked_up },
        interface: None,
        interface_index: None,
        interface_kind: None,
        source: None,
        gateway: None,
        route_type: None,
        table: None,
        matched_prefix: None,
        tunnel: None,
        expensive: false,
        constrained: false,
    };
    if let Some((reason, why)) = inputs.name.failure() {
        // The path stops at DNS: it has no device, gateway or source of its own. The
        // route lookup was for the nameserver, and is only evidence (DESIGN.md §5).
        nameserver_checks(&mut chain, inputs, context, reason, why);
    } else {
        match inputs.lookup {
            None => {
                let why = inputs.no_lookup.unwrap_or("no route lookup was possible");
                chain.fail(CheckName::Route, PathReason::NoRoute, inputs.target.via.clone(), why);
            }
            Some(Err(error)) => route_failed(&mut chain, inputs, context, error),
            Some(Ok(answer)) => {
                fill_route_facts(&mut verdict, answer, context);
                kernel_checks(&mut chain, inputs.looked_up, answer, context, false);
            }
        }
        if !chain.failed()
            && let NameCheck::Resolved(addresses) = inputs.name
        {
            chain.pass(CheckName::Dns, resolved_detail(inputs.target, addresses));
        }
    }

    let kernel_ok = !chain.failed();
    if kernel_ok && let Some(probe) = inputs.probe {
        let detail = probe_detail(probe);
        if !probe.ok && (inputs.probe_failures >= FAILING_AFTER || probe.sent < u64::from(FAILING_AFTER)) {
            chain.fail(CheckName::Probe, PathReason::ProbeFailed, None, detail);
        } else {
            chain.pass(CheckName::Probe, detail);
        }
    }

    if let Some((reason, subject)) = chain.failed.take() {
        verdict.status =
            if reason == PathReason::ProbeFailed { PathStatus::Failing } else { PathStatus::Unsatisfied };
        verdict.reason = Some(reason);
        verdict.reason_subject = subject;
    }
    verdict.checks = chain.checks;
    verdict
}

fn family_of(inputs: &Inputs<'_>) -> Option<AddressFamily> {
    match &inputs.target.destination {
        TargetDestination::DefaultIpv4 => Some(AddressFamily::Ipv4),
        TargetDestination::DefaultIpv6 => Some(AddressFamily::Ipv6),
        TargetDestination::Host { .. } if inputs.name.unresolved() => None,
        TargetDestination::Host { .. } => inputs.looked_up.as_ref().map(AddressFamily::of),
    }
}

fn probe_detail(probe: &ProbeSummary) -> String {
    if probe.ok {
        let rtt = probe.rtt_ms.map_or_else(String::new, |rtt| format!(" in {rtt:.1} ms"));
        let loss = probe
            .loss_pct
            .filter(|loss| *loss > 0.0)
            .map_or_else(String::new, |loss| format!(", {loss:.0} % lost recently"));
        format!("{} answered{rtt}{loss}", probe.kind)
    } else {
        let error = probe.error.as_deref().unwrap_or("no answer");
        format!("{} failed: {error}", probe.kind)
    }
}

/// The kernel refused the lookup: say which way, and explain a route that vanished
/// with its interface.
fn route_failed(chain: &mut Chain, inputs: &Inputs<'_>, context: &Context<'_>, error: &LookupError) {
    let to = inputs.looked_up.map_or_else(String::new, |address| format!(" to {address}"));
    // A bound interface that is down or gone explains everything that follows.
    let bound = inputs.target.via.as_deref().map(|name| (name, interface_named(context.network, name)));
    let vanished_with = inputs.previous_interface.and_then(|index| interface(context.network, index));
    match (error, bound, vanished_with) {
        (_, Some((name, None)), _) => chain.fail(
            CheckName::Route,
            PathReason::NoRoute,
            Some(name.to_owned()),
            format!("via={name}: no such interface"),
        ),
        (LookupError::NoRoute | LookupError::NoDevice, Some((_, Some(link))), _)
        | (LookupError::NoRoute, None, Some(link))
            if !link.is_up() || !link.carrier =>
        {
            let (reason, state) = if link.is_up() {
                (PathReason::NoCarrier, "has no carrier")
            } else {
                (PathReason::LinkDown, "is down")
            };
            chain.fail(
                CheckName::Route,
                reason,
                Some(link.name.clone()),
                format!("no route{to}: {} {state}, and its routes went with it", link.name),
            );
        }
        (LookupError::Blackhole, ..) => {
            chain.fail(CheckName::Route, PathReason::Blackhole, None, format!("blackhole route{to}"));
        }
        (LookupError::Unreachable, ..) => {
            chain.fail(CheckName::Route, PathReason::Unreachable, None, format!("unreachable route{to}"));
        }
        (LookupError::Prohibit, ..) => {
            chain.fail(CheckName::Route, PathReason::Prohibit, None, format!("prohibit route{to}"));
        }
        (other, ..) => {
            chain.fail(CheckName::Route, PathReason::NoRoute, None, format!("no route{to}: {other}"));
        }
    }
}

fn fill_route_facts(verdict: &mut Verdict, answer: &RouteAnswer, context: &Context<'_>) {
    verdict.interface_index = answer.interface_index;
    let link = answer.interface_index.and_then(|index| interface(context.network, index));
    verdict.interface = answer.interface.clone().or_else(|| link.map(|link| link.name.clone()));
    verdict.interface_kind = link.map(|link| link.kind);
    verdict.source = answer.source;
    verdict.gateway = answer.gateway;
    verdict.route_type = Some(answer.route_type);
    verdict.table = Some(answer.table);
    verdict.matched_prefix = answer.matched_prefix.map(|(address, len)| format!("{address}/{len}"));
    if let Some(name) = verdict.interface.as_deref() {
        verdict.expensive = link.is_some_and(|link| link.kind == InterfaceKind::Cellular)
            || context.expensive.iter().any(|configured| configured == name);
        verdict.constrained = context.constrained.iter().any(|configured| configured == name);
    }
    // A policy table or a mark alone is no tunnel: `mark=16` over a veth, or
    // `via=lo`, leave through an ordinary interface.
    if link.is_some_and(Interface::leaves_through_tunnel) {
        // Full: the route takes everything (a default route, or one half of a 0/1 +
        // 128/1 pair), or the family's default path leaves through the same tunnel.
        let catch_all = answer.matched_prefix.is_some_and(|(_, len)| len <= 1);
        let default = match answer.source.or(answer.gateway).map(|address| AddressFamily::of(&address)) {
            Some(AddressFamily::Ipv6) => context.default_v6,
            _ => context.default_v4,
        };
        let same_as_default = default.is_some() && default == answer.interface_index;
        verdict.tunnel =
            Some(if catch_all || same_as_default { TunnelMode::Full } else { TunnelMode::Split });
    }
}

/// `unicast 0.0.0.0/0 via 10.1.0.1 dev veth0 src 10.1.0.2 table main proto static`.
fn route_detail(answer: &RouteAnswer, to_nameserver: Option<IpAddr>) -> String {
    let mut text = String::new();
    if let Some(nameserver) = to_nameserver {
        let _ = write!(text, "to nameserver {nameserver}: ");
    }
    text.push_str(answer.route_type.as_str());
    if let Some((address, len)) = answer.matched_prefix {
        let _ = write!(text, " {address}/{len}");
    }
    if let Some(gateway) = answer.gateway {
        let _ = write!(text, " via {gateway}");
    }
    if let Some(name) = &answer.interface {
        let _ = write!(text, " dev {name}");
    }
    if let Some(source) = answer.source {
        let _ = write!(text, " src {source}");
    }
    let _ = write!(text, " table {}", Route::table_name(answer.table));
    if !answer.protocol.is_empty() {
        let _ = write!(text, " proto {}", answer.protocol);
    }
    text
}

/// Whether traffic to `destination` would leave by the kernel's `answer`: the
/// route, link, carrier, source and neighbour checks of a path, without a verdict.
#[must_use]
pub fn kernel_path_ok(
    destination: IpAddr,
    answer: &Result<RouteAnswer, LookupError>,
    context: &Context<'_>,
) -> bool {
    let Ok(answer) = answer else { return false };
    let mut chain = Chain { checks: Vec::new(), failed: None };
    kernel_checks(&mut chain, Some(destination), answer, context, false);
    !chain.failed()
}

fn kernel_checks(
    chain: &mut Chain,
    looked_up: Option<IpAddr>,
    answer: &RouteAnswer,
    context: &Context<'_>,
    to_nameserver: bool,
) {
    let nameserver = if to_nameserver { looked_up } else { None };
    match answer.route_type {
        RouteType::Blackhole => {
            return chain.fail(
                CheckName::Route,
                PathReason::Blackhole,
                None,
                route_detail(answer, nameserver),
            );
        }
        RouteType::Unreachable => {
            return chain.fail(
                CheckName::Route,
                PathReason::Unreachable,
                None,
                route_detail(answer, nameserver),
            );
        }
        RouteType::Prohibit => {
            return chain.fail(
                CheckName::Route,
                PathReason::Prohibit,
                None,
                route_detail(answer, nameserver),
            );
        }
        _ => chain.pass(CheckName::Route, route_detail(answer, nameserver)),
    }
    let Some(link) = answer.interface_index.and_then(|index| interface(context.network, index)) else {
        // The lookup named an interface the table does not have yet (it appeared
        // between the dump and the lookup): the next round will see it.
        return;
    };
    let name = link.name.clone();
    if !link.is_up() {
        return chain.fail(
            CheckName::Link,
            PathReason::LinkDown,
            Some(name.clone()),
            format!("{name} is down"),
        );
    }
    chain.pass(CheckName::Link, format!("{name} is up"));
    if answer.route_type == RouteType::Local || link.flags.contains(LinkFlags::LOOPBACK) {
        // Traffic to this host never leaves it: no carrier, source or neighbour to check.
        return;
    }
    if !link.carrier {
        return chain.fail(
            CheckName::Carrier,
            PathReason::NoCarrier,
            Some(name.clone()),
            format!("{name} has no carrier"),
        );
    }
    chain.pass(CheckName::Carrier, format!("{name} has carrier"));
    let Some(destination) = looked_up else { return };
    source_check(chain, answer, context, link, destination);
    if chain.failed() {
        return;
    }
    neighbor_check(chain, answer, context, link, destination);
}

fn source_check(
    chain: &mut Chain,
    answer: &RouteAnswer,
    context: &Context<'_>,
    link: &Interface,
    destination: IpAddr,
) {
    let family = AddressFamily::of(&destination);
    let needs_global = needs_global_source(destination);
    let name = &link.name;
    // The kernel's chosen source, wherever it lives (a prefsrc may sit on another interface).
    if let Some(source) = answer.source
        && let Some(held) =
            context.network.interfaces.iter().flat_map(|i| &i.addresses).find(|a| a.address == source)
    {
        if held.flags.contains(AddressFlags::DADFAILED) {
            return chain.fail(
                CheckName::SourceAddress,
                PathReason::NoSourceAddress,
                Some(name.clone()),
                format!("{source} failed duplicate address detection"),
            );
        }
        if held.flags.contains(AddressFlags::TENTATIVE) {
            return chain.fail(
                CheckName::SourceAddress,
                PathReason::AddressTentative,
                Some(name.clone()),
                format!("{source} is still tentative (duplicate address detection running)"),
            );
        }
        if !(needs_global && matches!(held.scope, AddressScope::Link | AddressScope::Host)) {
            return chain.pass(CheckName::SourceAddress, format!("{source} is usable"));
        }
    }
    // No (usable) preferred source in the answer: judge the interface's own addresses
    // of the family, as the kernel's source selection would at send time.
    let candidates: Vec<_> = link
        .addresses
        .iter()
        .filter(|a| a.family == family)
        .filter(|a| !needs_global || !matches!(a.scope, AddressScope::Link | AddressScope::Host))
        .collect();
    if let Some(usable) = candidates.iter().find(|a| a.is_usable()) {
        return chain.pass(CheckName::SourceAddress, format!("{} is usable", usable.address));
    }
    // The kernel keeps `tentative` set on an address that failed detection: only one
    // without `dadfailed` is still waiting.
    let waiting = |a: &&&InterfaceAddress| {
        a.flags.contains(AddressFlags::TENTATIVE) && !a.flags.contains(AddressFlags::DADFAILED)
    };
    if let Some(tentative) = candidates.iter().find(waiting) {
        return chain.fail(
            CheckName::SourceAddress,
            PathReason::AddressTentative,
            Some(name.clone()),
            format!(
                "{} on {name} is still tentative (duplicate address detection running)",
                tentative.address
            ),
        );
    }
    let detail = match candidates.iter().find(|a| a.flags.contains(AddressFlags::DADFAILED)) {
        Some(failed) => format!("{} on {name} failed duplicate address detection", failed.address),
        None if needs_global => format!("{name} has no global {} address", family.as_str()),
        None => format!("{name} has no {} address", family.as_str()),
    };
    chain.fail(CheckName::SourceAddress, PathReason::NoSourceAddress, Some(name.clone()), detail);
}

/// Whether reaching `destination` takes a source of global scope: anything but
/// link-local and loopback destinations.
fn needs_global_source(destination: IpAddr) -> bool {
    match destination {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
        IpAddr::V6(v6) => !v6.is_loopback() && !v6.is_unicast_link_local() && !v6.is_multicast(),
    }
}

fn neighbor_check(
    chain: &mut Chain,
    answer: &RouteAnswer,
    context: &Context<'_>,
    link: &Interface,
    destination: IpAddr,
) {
    let name = &link.name;
    if link.flags.contains(LinkFlags::NOARP) || link.flags.contains(LinkFlags::POINTOPOINT) {
        return chain.pass(CheckName::Gateway, format!("{name} is point-to-point: no neighbour discovery"));
    }
    let (next_hop, role) =
        answer.gateway.map_or((destination, "on-link destination"), |gateway| (gateway, "gateway"));
    let entry = context
        .network
        .neighbors
        .iter()
        .find(|neighbor| neighbor.interface_index == link.index && neighbor.address == next_hop);
    match entry {
        Some(neighbor) if neighbor.state.is_unreachable() => chain.fail(
            CheckName::Gateway,
            PathReason::GatewayUnreachable,
            Some(next_hop.to_string()),
            format!(
                "{role} {next_hop} on {name} does not answer neighbour discovery ({})",
                neighbor.state.as_str()
            ),
        ),
        Some(neighbor) => chain
            .pass(CheckName::Gateway, format!("{role} {next_hop} on {name} is {}", neighbor.state.as_str())),
        None => chain.pass(
            CheckName::Gateway,
            format!("{role} {next_hop} on {name}: no neighbour entry yet (resolved on first use)"),
        ),
    }
}

fn interface(network: &NetworkTable, index: u32) -> Option<&Interface> {
    network.interfaces.iter().find(|link| link.index == index)
}

fn interface_named<'a>(network: &'a NetworkTable, name: &str) -> Option<&'a Interface> {
    network.interfaces.iter().find(|link| link.name == name)
}

/// Whether `family` is available on this host: a usable global address of the family
/// on an up interface with carrier, and `default_ok` (the default path's kernel checks pass).
#[must_use]
pub fn family_available(network: &NetworkTable, family: AddressFamily, default_ok: bool) -> bool {
    default_ok
        && network.interfaces.iter().filter(|link| link.is_up() && link.carrier).any(|link| {
            link.addresses.iter().any(|a| {
                a.family == family
                    && a.is_usable()
                    && matches!(a.scope, AddressScope::Global | AddressScope::Site)
            })
        })
}

#[cfg(test)]
mod tests;
