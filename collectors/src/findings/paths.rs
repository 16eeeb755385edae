//! Path and route rules: a probed target that the kernel would reach but that does not
//! answer, IPv6 that applications try and wait for while IPv4 works, a family with
//! addresses and no default route, a default gateway that does not answer, a strict
//! reverse-path filter that drops what policy routing answers elsewhere, and sockets
//! sending to a multicast group the kernel has no route for.

use std::net::IpAddr;

use crate::Store;
use crate::model::{
    AddressFamily, AddressFlags, AddressScope, AttemptOutcome, CheckName, ConnectAttempt, Evidence,
    Interface, InterfaceAddress, LinkFlags, Neighbor, PathReason, PathState, PathStatus, ProbeSummary, Route,
    RouteType, Severity, SourceId, SourceState,
};
use crate::paths::target::{Target, TargetDestination};

use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

/// Whether the store holds a complete, live network table: the interfaces source
/// reads rtnetlink (the portable fallback has no routes, rules or neighbours).
fn network_known(store: &Store) -> bool {
    store.source(SourceId::Interfaces).is_some_and(|s| s.status == SourceState::Ok)
        && store.interface_count() > 0
}

/// Whether `address` lies in `network/len`.
fn covers(network: IpAddr, len: u8, address: IpAddr) -> bool {
    match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len.min(32))).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len.min(128))).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Whether `route` leaves through `link` (by index, or by name in replayed tables).
fn route_on(route: &Route, link: &Interface) -> bool {
    route
        .interface_index
        .map_or_else(|| route.interface.as_deref() == Some(link.name.as_str()), |i| i == link.index)
}

/// The interface a route leaves through.
fn route_link<'s>(store: &'s Store, route: &Route) -> Option<&'s Interface> {
    store.interfaces().map(|entry| &entry.info).find(|link| route_on(route, link))
}

/// An interface that is up, has a carrier and is not loopback: its addresses are
/// what applications use, and its routes are not explained away by a link problem.
fn working(link: &Interface) -> bool {
    link.is_up() && link.carrier && !link.flags.contains(LinkFlags::LOOPBACK)
}

/// A usable address of global scope that applications would use off-link: not
/// tentative or deprecated, not loopback, not link-local, and for IPv6 not unique-local
/// (ULA-only networks are isolated by design).
fn global(address: &InterfaceAddress) -> bool {
    let off_link = match address.address {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unicast_link_local() && (v6.segments()[0] & 0xfe00) != 0xfc00
        }
    };
    // A deprecated address is one the network withdrew (the router stopped announcing
    // its prefix): the kernel no longer picks it, so it asks for no default route.
    off_link
        && address.is_usable()
        && !address.flags.contains(AddressFlags::DEPRECATED)
        && matches!(address.scope, AddressScope::Global | AddressScope::Site)
}

/// `default via 10.1.0.1 dev veth0 table main metric 100`, as `ip route` prints it.
fn route_text(route: &Route) -> String {
    let mut text = if route.route_type == RouteType::Unicast {
        route.destination_text()
    } else {
        format!("{} {}", route.route_type.as_str(), route.destination_text())
    };
    if let Some(gateway) = route.gateway {
        text = format!("{text} via {gateway}");
    }
    if let Some(name) = &route.interface {
        text = format!("{text} dev {name}");
    }
    text = format!("{text} table {}", Route::table_name(route.table));
    match route.metric {
        Some(metric) => format!("{text} metric {metric}"),
        None => text,
    }
}

/// `path_failing`: a probed target whose kernel checks pass but whose probes fail.
pub const PATH_FAILING: Rule = Rule {
    id: "path_failing",
    family: "paths",
    summary: "the kernel would send traffic to a probed target, but the probes fail",
    // The path status already waited for two failed probes and its own debounce.
    debounce: time::Duration::seconds(2),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: path_failing,
};

fn path_failing(store: &Store, _: &RuleConfig) -> Verdict {
    if store.paths().is_empty() {
        return Verdict::NotApplicable;
    }
    let failing = store.paths().iter().filter(|path| path.status == PathStatus::Failing);
    Verdict::Found(failing.filter_map(|path| Some(unanswering(path, path.probe.as_ref()?))).collect())
}

/// The finding about a failing `path`: what the kernel checked, and how its probes fail.
fn unanswering(path: &PathState, probe: &ProbeSummary) -> Candidate {
    let destination = path.destination.map_or_else(|| path.target.clone(), |d| d.to_string());
    let via = path.interface.as_deref().unwrap_or("its interface");
    let error = probe.error.as_deref().unwrap_or("no answer");
    let mut evidence: Vec<Evidence> = path
        .checks
        .iter()
        .filter(|check| check.ok && check.name != CheckName::Probe)
        .map(|check| Evidence::new(format!("{} check", check.name.as_str()), check.detail.clone()))
        .collect();
    let in_a_row = probe.history.iter().rev().take_while(|rtt| rtt.is_none()).count();
    let lost = probe.history.iter().filter(|rtt| rtt.is_none()).count();
    evidence.push(Evidence::new(format!("{} probe", probe.kind), format!("failed: {error}")));
    evidence.push(Evidence::new(
        "probes failed",
        format!("{in_a_row} in a row, {lost} of the last {}", probe.history.len()),
    ));
    if let Some(rtt) = probe.history.iter().rev().find_map(|rtt| *rtt) {
        evidence.push(Evidence::new("last answer in the window", format!("{rtt:.1} ms")));
    }
    let cause = if error.contains("refused") {
        format!(
            "{destination} answers but refuses the connection: nothing listens there, or a firewall rejects it"
        )
    } else {
        let back = path.source.map_or_else(String::new, |s| format!(" to {s}"));
        format!(
            "the route, link, source address and next hop check out, so the packets leave via {via}, but nothing comes back: a firewall on the way or at {destination} drops them, the target is down, or it has no route back{back}"
        )
    };
    let port = match path.target.parse::<Target>().map(|t| t.destination) {
        Ok(TargetDestination::Host { port, .. }) => port,
        _ => None,
    };
    let fix = match (probe.kind, port) {
        ("tcp", Some(port)) => format!(
            "nc -vz -w 3 {destination} {port}; tracepath -n {destination}  # then check the firewalls on the way (nft list ruleset) and that the service listens (ss -ltn)"
        ),
        ("dns", _) => format!(
            "dig @{destination} . NS; tracepath -n {destination}  # then check the firewalls on the way and the server"
        ),
        _ => format!(
            "ping -c 3 {destination}; tracepath -n {destination}  # the last hop that answers is where it stops"
        ),
    };
    Candidate {
        subject: path.target.clone(),
        severity: Severity::Critical,
        title: format!(
            "{} does not answer: the kernel sends via {via}, {} probes fail ({error})",
            path.target, probe.kind
        ),
        evidence,
        cause,
        fix,
    }
}

/// `ipv6_broken`: applications try IPv6 for dual-stack names and wait for it, while
/// IPv4 works.
pub const IPV6_BROKEN: Rule = Rule {
    id: "ipv6_broken",
    family: "paths",
    summary: "IPv6 is tried for dual-stack names but does not work while IPv4 does, so connects wait for the fallback",
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(30),
    thresholds: &[Threshold {
        name: "delay_ms",
        default: 100.0,
        doc: "how long a Happy Eyeballs race must have waited for its IPv4 fallback, in milliseconds",
    }],
    evaluate: ipv6_broken,
};

/// A race that fell back: its IPv6 attempt that did not connect and the IPv4 winner.
fn fallback(path: &PathState) -> Option<(&ConnectAttempt, &ConnectAttempt)> {
    let winner = path.attempts.iter().find(|a| a.winner && a.address.is_ipv4())?;
    let loser = path.attempts.iter().find(|a| {
        a.address.is_ipv6()
            && matches!(
                a.outcome,
                AttemptOutcome::TimedOut
                    | AttemptOutcome::Unreachable
                    | AttemptOutcome::Cancelled
                    | AttemptOutcome::Error
            )
    })?;
    Some((loser, winner))
}

/// Names seen with IPv6 answers: Happy Eyeballs races, traces, passive AAAA answers.
fn names_with_aaaa(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = store
        .paths()
        .iter()
        .filter(|p| p.attempts.iter().any(|a| a.address.is_ipv6()))
        .map(|p| p.target.clone())
        .collect();
    names.extend(
        store.dns().traces().filter(|t| t.result.iter().any(IpAddr::is_ipv6)).map(|t| t.name.clone()),
    );
    names.extend(
        store
            .dns()
            .queries()
            .filter(|q| {
                q.qtype == "AAAA" && q.answers > 0 && q.rcode.as_deref().is_none_or(|r| r == "NOERROR")
            })
            .map(|q| q.name.clone()),
    );
    names.sort();
    names.dedup();
    names
}

fn ipv6_broken(store: &Store, config: &RuleConfig) -> Verdict {
    let (Some(v4), Some(v6)) = (store.path("default-ipv4"), store.path("default-ipv6")) else {
        return Verdict::NotApplicable;
    };
    if !network_known(store) {
        return Verdict::NotApplicable;
    }
    // Without a global IPv6 address, applications do not ask for AAAA (AI_ADDRCONFIG)
    // and IPv6 connects fail at once: IPv6 is absent, not broken.
    let Some((link, address)) = store
        .interfaces()
        .map(|e| &e.info)
        .filter(|link| !link.flags.contains(LinkFlags::LOOPBACK))
        .flat_map(|link| link.addresses.iter().map(move |a| (link, a)))
        .find(|(_, a)| a.family == AddressFamily::Ipv6 && a.is_usable() && a.scope == AddressScope::Global)
    else {
        return Verdict::Found(Vec::new());
    };
    let held = Evidence::new(
        "global IPv6 address",
        format!("{}/{} on {}", address.address, address.prefix_len, link.name),
    );
    let v6_wins = store.paths().iter().any(|p| p.attempts.iter().any(|a| a.winner && a.address.is_ipv6()));
    let races: Vec<(&PathState, &ConnectAttempt, &ConnectAttempt)> = store
        .paths()
        .iter()
        .filter_map(|p| fallback(p).map(|(loser, winner)| (p, loser, winner)))
        .filter(|(_, _, winner)| winner.started_ms >= config.threshold("delay_ms"))
        .collect();
    let candidate = if v6_wins || races.is_empty() {
        unsatisfied(v4, v6, &names_with_aaaa(store), held)
    } else {
        Some(fell_back(&races, held))
    };
    Verdict::Found(candidate.into_iter().collect())
}

/// Dual-stack connects that fell back to IPv4: the first race says by how much.
fn fell_back(races: &[(&PathState, &ConnectAttempt, &ConnectAttempt)], held: Evidence) -> Candidate {
    let (path, loser, winner) = races[0];
    let error = loser.error.as_deref().map_or_else(String::new, |e| format!(": {e}"));
    let mut evidence = vec![
        Evidence::new(
            format!("{} IPv6 attempt to {}", path.target, loser.address),
            format!("{}{error}", loser.outcome.as_str()),
        ),
        Evidence::new(
            format!("{} IPv4 attempt to {}", path.target, winner.address),
            format!("connected, started {:.0} ms after the IPv6 one", winner.started_ms - loser.started_ms),
        ),
        held,
    ];
    if races.len() > 1 {
        evidence.push(Evidence::new("other targets that fell back to IPv4", (races.len() - 1).to_string()));
    }
    Candidate {
        subject: "ipv6".to_owned(),
        severity: Severity::Warning,
        title: format!(
            "IPv6 connections fail: dual-stack connects wait {:.0} ms for the IPv4 fallback",
            winner.started_ms
        ),
        evidence,
        cause: format!(
            "names resolve to IPv6 addresses and this host has one, so clients try IPv6 first; it does not connect ({}), so Happy Eyeballs clients start IPv4 {:.0} ms later and clients without it wait until their connect times out",
            loser.outcome.as_str(),
            winner.started_ms
        ),
        fix: format!(
            "ip -6 route get {0}; ping -6 -c 3 {0}  # find where IPv6 stops; meanwhile prefer IPv4 with `precedence ::ffff:0:0/96 100` in /etc/gai.conf",
            loser.address.ip()
        ),
    }
}

/// The default IPv6 path is unsatisfied in a way that makes connects hang (not one
/// that refuses at once), IPv4 works, and names have IPv6 answers.
fn unsatisfied(v4: &PathState, v6: &PathState, names: &[String], held: Evidence) -> Option<Candidate> {
    let reason = v6.reason.filter(|r| {
        matches!(r, PathReason::GatewayUnreachable | PathReason::LinkDown | PathReason::NoCarrier)
    })?;
    if v4.status != PathStatus::Satisfied || v6.status != PathStatus::Unsatisfied || names.is_empty() {
        return None;
    }
    let about = v6.reason_subject.clone().unwrap_or_default();
    let failed =
        v6.checks.iter().find(|c| !c.ok).map_or_else(|| reason.as_str().to_owned(), |c| c.detail.clone());
    let (wait, fix) = if reason == PathReason::GatewayUnreachable {
        (
            "until neighbour discovery gives up (about 3 s)",
            format!(
                "ip -6 neigh show {about}; ip -6 route replace default via <a router that answers> dev {}",
                v6.interface.as_deref().unwrap_or("<interface>")
            ),
        )
    } else {
        (
            "until their connect times out",
            format!(
                "ip link set {about} up  # or drop the IPv6 default through it: ip -6 route del default dev {about}"
            ),
        )
    };
    Some(Candidate {
        subject: "ipv6".to_owned(),
        severity: Severity::Warning,
        title: format!("IPv6 is broken while IPv4 works: {failed}"),
        evidence: vec![
            Evidence::new("default-ipv6", format!("unsatisfied ({} {about}): {failed}", reason.as_str())),
            Evidence::new(
                "default-ipv4",
                format!("satisfied via {}", v4.interface.as_deref().unwrap_or("?")),
            ),
            held,
            Evidence::new(
                "names with IPv6 answers",
                names.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            ),
        ],
        cause: format!(
            "this host has a global IPv6 address, so clients connect to the IPv6 answers first; those connects hang {wait}. Happy Eyeballs clients fall back to IPv4 after 250 ms, others wait that long"
        ),
        fix,
    })
}

/// `default_route_missing`: a family has global addresses but no default route.
pub const DEFAULT_ROUTE_MISSING: Rule = Rule {
    id: "default_route_missing",
    family: "paths",
    summary: "a family has global addresses on a working interface but no default route",
    // DHCP renewals and network managers replace routes in a few steps.
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: default_route_missing,
};

fn default_route_missing(store: &Store, _: &RuleConfig) -> Verdict {
    if !network_known(store) {
        return Verdict::NotApplicable;
    }
    let mut found = Vec::new();
    for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
        let addresses: Vec<(&Interface, &InterfaceAddress)> = store
            .interfaces()
            .map(|e| &e.info)
            .filter(|link| working(link))
            .flat_map(|link| link.addresses.iter().map(move |a| (link, a)))
            .filter(|(_, a)| a.family == family && global(a))
            .collect();
        let Some(&(link, _)) = addresses.first() else { continue };
        let tables = reached_tables(store, family);
        let routes: Vec<&Route> = store.routes().iter().filter(|r| r.family == family).collect();
        let catch_all = |r: &&&Route| {
            r.prefix_len <= 1
                && !matches!(r.route_type, RouteType::Throw | RouteType::Local | RouteType::Broadcast)
        };
        let reached: Vec<&&Route> =
            routes.iter().filter(|r| is_reached(tables.as_deref(), r.table)).filter(catch_all).collect();
        let halves = reached.iter().filter(|r| r.prefix_len == 1).count();
        if reached.iter().any(|r| r.prefix_len == 0) || halves >= 2 {
            continue;
        }
        let name = family.as_str();
        let held: Vec<String> = addresses
            .iter()
            .take(3)
            .map(|(l, a)| format!("{}/{} on {}", a.address, a.prefix_len, l.name))
            .collect();
        let mut evidence = vec![
            Evidence::new(format!("global {name} addresses"), held.join(", ")),
            Evidence::new(format!("default route ({})", tables_text(tables.as_deref())), "none"),
        ];
        if let Some(unreached) =
            routes.iter().find(|r| r.prefix_len == 0 && !is_reached(tables.as_deref(), r.table))
        {
            evidence.push(Evidence::new("a default route no rule looks up", route_text(unreached)));
        }
        let fix = match family {
            AddressFamily::Ipv4 => format!(
                "ip route add default via <gateway on {}'s network> dev {0}  # or renew the DHCP lease",
                link.name
            ),
            AddressFamily::Ipv6 => format!(
                "ip -6 route add default via <router's fe80:: address> dev {}  # or check router advertisements: sysctl net.ipv6.conf.{0}.accept_ra (2 when forwarding)",
                link.name
            ),
        };
        found.push(Candidate {
            subject: name.to_owned(),
            severity: Severity::Warning,
            title: format!("no default {name} route, though {} holds a global {name} address", link.name),
            evidence,
            cause: format!(
                "only destinations on the directly connected networks are reachable over {name}; everything else fails with \"network is unreachable\""
            ),
            fix,
        });
    }
    Verdict::Found(found)
}

/// `gateway_unreachable`: a default route's gateway does not answer neighbour
/// discovery, or is not on its interface's networks and was never resolved.
pub const GATEWAY_UNREACHABLE: Rule = Rule {
    id: "gateway_unreachable",
    family: "paths",
    summary: "a default route's gateway does not answer ARP / neighbour discovery, or is not on-link",
    // A gateway being resolved is `incomplete` for a moment.
    debounce: time::Duration::seconds(3),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: gateway_unreachable,
};

/// Whether `gateway` is on one of `link`'s networks: an address prefix or a direct route.
fn on_link(store: &Store, link: &Interface, gateway: IpAddr) -> bool {
    if let IpAddr::V6(v6) = gateway
        && v6.is_unicast_link_local()
    {
        return true;
    }
    link.addresses.iter().any(|a| covers(a.address, a.prefix_len, gateway))
        || store.routes().iter().any(|r| {
            r.gateway.is_none()
                && r.route_type == RouteType::Unicast
                && route_on(r, link)
                && covers(r.destination, r.prefix_len, gateway)
        })
}

fn gateway_unreachable(store: &Store, _: &RuleConfig) -> Verdict {
    if !network_known(store) {
        return Verdict::NotApplicable;
    }
    let mut found: Vec<Candidate> = Vec::new();
    for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
        let tables = reached_tables(store, family);
        let preferred = store.default_route(family);
        let defaults = store.routes().iter().filter(|r| {
            r.family == family
                && r.is_default()
                && r.route_type == RouteType::Unicast
                && is_reached(tables.as_deref(), r.table)
        });
        for route in defaults {
            let (Some(gateway), Some(link)) = (route.gateway, route_link(store, route)) else { continue };
            // Without a carrier the path itself says so (no_carrier); the gateway's
            // silence would only repeat it.
            if !working(link)
                || link.flags.contains(LinkFlags::NOARP)
                || link.flags.contains(LinkFlags::POINTOPOINT)
            {
                continue;
            }
            let neighbour = store.neighbors().iter().find(|n| {
                n.address == gateway && (n.interface_index == link.index || n.interface == link.name)
            });
            let onlink = on_link(store, link, gateway);
            let failed = neighbour.is_some_and(|n| n.state.is_unreachable());
            if !failed && (onlink || neighbour.is_some()) {
                continue;
            }
            let candidate = unanswered(route, gateway, link, neighbour, (onlink, preferred == Some(route)));
            if !found.iter().any(|c| c.subject == candidate.subject) {
                found.push(candidate);
            }
        }
    }
    Verdict::Found(found)
}

/// The finding about `route`'s `gateway` on `link`: its neighbour entry failed, or it
/// is off the link's networks (`onlink` false) and was never resolved. `preferred`:
/// the route is the one the main table uses.
fn unanswered(
    route: &Route,
    gateway: IpAddr,
    link: &Interface,
    neighbour: Option<&Neighbor>,
    (onlink, preferred): (bool, bool),
) -> Candidate {
    let name = &link.name;
    let failed = neighbour.is_some_and(|n| n.state.is_unreachable());
    let protocol = if gateway.is_ipv4() { "ARP" } else { "neighbour discovery" };
    let mut evidence = vec![
        Evidence::new("route", route_text(route)),
        Evidence::new(
            format!("neighbour {gateway} on {name}"),
            neighbour.map_or_else(|| "no entry".to_owned(), |n| n.state.as_str().to_owned()),
        ),
    ];
    if !onlink {
        let networks: Vec<String> = link
            .addresses
            .iter()
            .filter(|a| a.address.is_ipv4() == gateway.is_ipv4())
            .map(|a| format!("{}/{}", a.address, a.prefix_len))
            .collect();
        let networks = if networks.is_empty() { "none".to_owned() } else { networks.join(", ") };
        evidence.push(Evidence::new(format!("{name} networks"), networks));
    }
    let subject = match gateway {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => format!("gateway {gateway}%{name}"),
        _ => format!("gateway {gateway}"),
    };
    if failed {
        let off = if onlink { "" } else { " (and it is not on any of the interface's networks)" };
        return Candidate {
            subject,
            severity: if preferred { Severity::Critical } else { Severity::Warning },
            title: format!("default gateway {gateway} on {name} does not answer {protocol}"),
            evidence,
            cause: format!(
                "the kernel asked for {gateway}'s link-layer address on {name} and got no answer{off}: traffic through this default route is dropped"
            ),
            fix: format!(
                "ping -c 3 {gateway}  # check the router holds {gateway} on this link, or point the route at one that does: ip route replace default via <gateway> dev {name}"
            ),
        };
    }
    Candidate {
        subject,
        severity: Severity::Warning,
        title: format!("default gateway {gateway} is not on {name}'s networks and was never resolved"),
        evidence,
        cause: format!(
            "no address or direct route of {name} covers {gateway}; the kernel only reaches it if the gateway answers {protocol} from off its network (an `onlink` route)"
        ),
        fix: format!(
            "ip route replace default via <a gateway inside {name}'s network> dev {name}  # or, if the provider's gateway is meant to be off-subnet: ip route replace default via {gateway} dev {name} onlink"
        ),
    }
}

#[path = "paths_routing.rs"]
mod routing;
pub use routing::{MULTICAST_SEND_NO_ROUTE, RP_FILTER_ASYMMETRIC};
use routing::{is_reached, reached_tables, tables_text};

#[cfg(test)]
#[path = "paths_tests.rs"]
mod tests;
