//! Tunnel rules: a tunnel that is down while traffic is still routed into it, a tunnel
//! that takes a LAN prefix away from its own interface, and connections left on the
//! route they had before a tunnel came up. Also the route walk over the store's policy
//! rules and tables ([`egress`]) that the DNS rules share.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::Store;
use crate::model::{
    AddressFamily, AddressScope, Evidence, Interface, InterfaceKind, OperState, PathState, Route, RouteType,
    Rule as PolicyRule, Severity, SocketState, TimelineKind,
};
use crate::store::{ConnectionEntry, ConnectionWarnings};

use super::facts::owner;
use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

/// Whether traffic leaving through `link` is tunnelled.
pub(super) fn is_tunnel(link: &Interface) -> bool {
    link.leaves_through_tunnel()
}

/// Whether the interface called `name` is a tunnel.
pub(super) fn tunnel_named(store: &Store, name: &str) -> bool {
    store.interface_by_name(name).is_some_and(|entry| is_tunnel(&entry.info))
}

/// Whether `link` can carry traffic: up, with a carrier, and not reported down.
fn usable(link: &Interface) -> bool {
    link.is_up()
        && link.carrier
        && !matches!(
            link.oper_state,
            OperState::Down | OperState::LowerLayerDown | OperState::NotPresent | OperState::Dormant
        )
}

/// Where the kernel sends locally generated, unmarked traffic to an address, read
/// from the store's policy rules and tables the way `ip route get` walks them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Egress<'a> {
    /// The policy rule that chose the table; `None` without a rule list.
    pub rule: Option<&'a PolicyRule>,
    /// The matching route.
    pub route: &'a Route,
}

impl Egress<'_> {
    /// `192.168.1.0/24 dev eth0 table main (rule 32766: from all)`, as `ip route` prints it.
    pub(super) fn describe(&self) -> String {
        let route = self.route;
        let mut text = format!("{} {}", route.route_type.as_str(), route.destination_text());
        if let Some(gateway) = route.gateway {
            let _ = write!(text, " via {gateway}");
        }
        if let Some(interface) = &route.interface {
            let _ = write!(text, " dev {interface}");
        }
        let _ = write!(text, " table {}", Route::table_name(route.table));
        if let Some(rule) = self.rule {
            let _ = write!(text, " (rule {}: {})", rule.priority, rule.selector);
        }
        text
    }

    /// The interface it leaves through: a default route stands for the kernel's own
    /// default path (the store does not record `suppress_prefixlength`, so a
    /// default route matched here may be one the kernel skips; the paths source
    /// asked the kernel itself).
    pub(super) fn interface<'s>(&'s self, store: &'s Store) -> Option<&'s str> {
        if self.route.is_default()
            && let Some(path) = default_path(store, self.route.family)
            && let Some(interface) = path.interface.as_deref()
        {
            return Some(interface);
        }
        self.route.interface.as_deref()
    }
}

/// The built-in default path of `family`.
pub(super) fn default_path(store: &Store, family: AddressFamily) -> Option<&PathState> {
    store.path(match family {
        AddressFamily::Ipv4 => "default-ipv4",
        AddressFamily::Ipv6 => "default-ipv6",
    })
}

/// The route traffic to `destination` takes: the first policy rule (by priority)
/// that surely matches an unbound, unmarked socket's lookup, and the longest prefix
/// of its table; a `throw` or an empty table goes on to the next rule. Rules whose
/// selectors cannot be judged (uid ranges, ports) are passed over.
pub(super) fn egress(store: &Store, destination: IpAddr) -> Option<Egress<'_>> {
    let family = AddressFamily::of(&destination);
    let mut rules: Vec<&PolicyRule> = store.rules().iter().filter(|rule| rule.family == family).collect();
    if rules.is_empty() {
        return longest_match(store, 254, destination).map(|route| Egress { rule: None, route });
    }
    rules.sort_by_key(|rule| rule.priority);
    for rule in rules {
        if selector_matches(&rule.selector, destination) != Some(true) {
            continue;
        }
        match rule.action.as_str() {
            "lookup" => {}
            "blackhole" | "unreachable" | "prohibit" => return None,
            _ => continue,
        }
        // `suppress_prefixlength N` (wg-quick's `lookup main suppress_prefixlength 0`)
        // rejects a result whose prefix is N bits or shorter: the lookup goes on.
        let suppressed = suppress_prefixlength(&rule.selector);
        match longest_match(store, rule.table, destination) {
            Some(route)
                if route.route_type != RouteType::Throw
                    && suppressed.is_none_or(|length| route.prefix_len > length) =>
            {
                return Some(Egress { rule: Some(rule), route });
            }
            _ => {}
        }
    }
    None
}

/// The rule's `suppress_prefixlength`, if it has one.
fn suppress_prefixlength(selector: &str) -> Option<u8> {
    let mut words = selector.split_whitespace();
    words.find(|word| *word == "suppress_prefixlength")?;
    words.next()?.parse().ok()
}

/// Whether a rule's selector matches a lookup without a source address, mark or
/// output interface, from this host (`iif lo`); `None` when it cannot be judged.
fn selector_matches(selector: &str, destination: IpAddr) -> Option<bool> {
    let mut words = selector.split_whitespace().peekable();
    let inverted = words.next_if_eq(&"not").is_some();
    let mut all = true;
    while let Some(word) = words.next() {
        let value = words.next()?;
        all &= match word {
            "from" => matches!(value, "all" | "0.0.0.0/0" | "::/0"),
            "to" => value == "all" || prefix_text_contains(value, destination)?,
            "fwmark" => {
                let (wanted, mask) = value.split_once('/').unwrap_or((value, "0xffffffff"));
                number(wanted)? & number(mask)? == 0
            }
            "iif" => value == "lo",
            "oif" | "tos" => false,
            // Not a match condition: it filters the table's answer (see `egress`).
            "suppress_prefixlength" => true,
            _ => return None,
        };
    }
    Some(all != inverted)
}

fn number(text: &str) -> Option<u32> {
    text.strip_prefix("0x").map_or_else(|| text.parse().ok(), |hex| u32::from_str_radix(hex, 16).ok())
}

fn prefix_text_contains(prefix: &str, address: IpAddr) -> Option<bool> {
    let (network, len) = prefix.split_once('/').unwrap_or((prefix, "128"));
    let network: IpAddr = network.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    Some(prefix_contains(network, len, address))
}

/// Whether `network/len` contains `address` (same family only).
pub(super) fn prefix_contains(network: IpAddr, len: u8, address: IpAddr) -> bool {
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

/// The most specific route of `table` covering `destination` (lowest metric on a tie).
fn longest_match(store: &Store, table: u32, destination: IpAddr) -> Option<&Route> {
    store
        .routes()
        .iter()
        .filter(|route| {
            route.table == table && prefix_contains(route.destination, route.prefix_len, destination)
        })
        .min_by_key(|route| (std::cmp::Reverse(route.prefix_len), route.metric.unwrap_or(0)))
}

/// `network/len` of `address`, and the network's first host (the address itself for
/// a /31, /32, /127 or /128).
fn network_of(address: IpAddr, len: u8) -> (IpAddr, IpAddr) {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len.min(32))).unwrap_or(0);
            let network = u32::from(v4) & mask;
            let first = if len >= 31 { network } else { network + 1 };
            (IpAddr::from(network.to_be_bytes()), IpAddr::from(first.to_be_bytes()))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len.min(128))).unwrap_or(0);
            let network = u128::from(v6) & mask;
            let first = if len >= 127 { network } else { network + 1 };
            (IpAddr::from(network.to_be_bytes()), IpAddr::from(first.to_be_bytes()))
        }
    }
}

/// `tunnel_down`: a tunnel interface is down or has no carrier while routes or a path
/// still send traffic into it, or netlens saw it go down lately.
pub const TUNNEL_DOWN: Rule = Rule {
    id: "tunnel_down",
    family: "tunnels",
    summary: "a tunnel interface is down or has no carrier while traffic is routed into it",
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[Threshold {
        name: "recent_s",
        default: 600.0,
        doc: "how long a tunnel seen going down counts even with no route into it, in seconds",
    }],
    evaluate: tunnel_down,
};

fn tunnel_down(store: &Store, config: &RuleConfig) -> Verdict {
    if store.interface_count() == 0 {
        return Verdict::NotApplicable;
    }
    let mut found = Vec::new();
    for link in store.interfaces().map(|entry| &entry.info).filter(|link| is_tunnel(link) && !usable(link)) {
        let name = link.name.as_str();
        let routes: Vec<&Route> = store
            .routes()
            .iter()
            // The kernel's own routes (its subnet, fe80::/64) come and go with the
            // device; what a VPN client added is what still pulls traffic in.
            .filter(|r| r.table != 255 && r.protocol != "kernel" && r.interface.as_deref() == Some(name))
            .collect();
        let paths: Vec<&PathState> = store
            .paths()
            .iter()
            .filter(|p| p.interface.as_deref() == Some(name) || p.reason_subject.as_deref() == Some(name))
            .collect();
        let went_down = went_down(store, name, config.threshold("recent_s"));
        if routes.is_empty() && paths.is_empty() && went_down.is_none() {
            continue;
        }
        let state = if link.is_up() {
            format!("up, no carrier (operstate {})", link.oper_state.as_str())
        } else {
            "administratively down".to_owned()
        };
        let mut evidence = vec![Evidence::new(format!("state of {name}"), state.clone())];
        let mut texts: Vec<String> = routes
            .iter()
            .take(4)
            .map(|r| format!("{} table {}", r.destination_text(), Route::table_name(r.table)))
            .collect();
        if routes.len() > 4 {
            texts.push(format!("… {} more", routes.len() - 4));
        }
        if !texts.is_empty() {
            evidence.push(Evidence::new(format!("routes into {name}"), texts.join(", ")));
        }
        for path in &paths {
            let reason = path.reason.map_or("", |reason| reason.as_str());
            evidence.push(Evidence::new(
                format!("path {}", path.target),
                format!("{} {reason}", path.status.as_str()),
            ));
        }
        if let Some(line) = went_down {
            evidence.push(Evidence::new("timeline", format!("{} at {}", line.detail, line.at.time())));
        }
        let default = paths.iter().any(|path| path.is_default_path());
        let cause = if link.is_up() {
            format!(
                "{name} lost its carrier: the VPN client that holds it open exited or lost its connection"
            )
        } else {
            format!("{name} was taken down")
        };
        let cause = match routes.len() {
            0 => {
                format!("{cause}; what it carried now leaves another way, outside the tunnel, or not at all")
            }
            n => format!("{cause}, yet {n} route(s) still send traffic into it, where it is dropped"),
        };
        let fix = if link.is_up() {
            format!(
                "restart the VPN client that owns {name} (systemctl restart openvpn-client@…, wg-quick up …), or drop its routes: ip route flush dev {name}"
            )
        } else {
            format!("ip link set {name} up  # or restart the VPN client that owns it")
        };
        found.push(Candidate {
            subject: name.to_owned(),
            severity: if default { Severity::Critical } else { Severity::Warning },
            title: format!(
                "tunnel {name} is {state}{}",
                if default { " and the default path uses it" } else { "" }
            ),
            evidence,
            cause,
            fix,
        });
    }
    Verdict::Found(found)
}

/// The timeline line saying `name` went down or lost its carrier, when that is the
/// newest news about its link and younger than `recent_s` seconds.
fn went_down<'s>(store: &'s Store, name: &str, recent_s: f64) -> Option<&'s crate::model::TimelineEntry> {
    let now = store.updated_at()?;
    let line = store
        .timeline()
        .iter()
        .rev()
        .find(|entry| entry.kind == TimelineKind::LinkChanged && entry.subject == name)?;
    let age = now - line.last_at.unwrap_or(line.at);
    let down = line.detail.ends_with(" down") || line.detail.ends_with(" carrier lost");
    (down && age.as_seconds_f64() <= recent_s).then_some(line)
}

/// `tunnel_swallows_lan`: a route or policy rule sends (part of) a prefix that is
/// on-link on a physical interface into a tunnel, so the LAN's hosts are out of reach.
pub const TUNNEL_SWALLOWS_LAN: Rule = Rule {
    id: "tunnel_swallows_lan",
    family: "tunnels",
    summary: "a tunnel's routes take over an on-link LAN prefix, so LAN hosts are unreachable",
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: tunnel_swallows_lan,
};

fn tunnel_swallows_lan(store: &Store, _: &RuleConfig) -> Verdict {
    if store.interface_count() == 0 {
        return Verdict::NotApplicable;
    }
    let own: Vec<IpAddr> =
        store.interfaces().flat_map(|e| e.info.addresses.iter().map(|a| a.address)).collect();
    let mut found = Vec::new();
    for link in store.interfaces().map(|entry| &entry.info) {
        if is_tunnel(link) || link.kind == InterfaceKind::Loopback || !usable(link) {
            continue;
        }
        for address in &link.addresses {
            let full = if address.address.is_ipv4() { 32 } else { 128 };
            let link_local = matches!(address.address, IpAddr::V6(v6) if v6.is_unicast_link_local());
            if address.scope != AddressScope::Global || link_local || address.prefix_len >= full - 1 {
                continue;
            }
            let (network, first) = network_of(address.address, address.prefix_len);
            let len = address.prefix_len;
            let mut probes = lan_probes(store, &link.name, network, len);
            probes.push(("the first host", first));
            probes.retain(|(_, probe)| !own.contains(probe));
            let swallowed: Vec<(&str, IpAddr, Egress<'_>)> = probes
                .into_iter()
                .filter_map(|(label, probe)| {
                    let egress = egress(store, probe)?;
                    let via = egress.route.interface.as_deref()?;
                    (egress.route.route_type == RouteType::Unicast
                        && via != link.name
                        && tunnel_named(store, via))
                    .then_some((label, probe, egress))
                })
                .collect();
            let Some((_, _, first_hit)) = swallowed.first() else { continue };
            found.push(swallow_candidate(link, network, len, address.address, &swallowed, first_hit));
        }
    }
    Verdict::Found(found)
}

/// Addresses of the LAN worth reaching: gateways and neighbours on `link` inside the
/// prefix, and the start of every tunnel route that lies inside it.
fn lan_probes(store: &Store, link: &str, network: IpAddr, len: u8) -> Vec<(&'static str, IpAddr)> {
    let inside = |address: IpAddr| prefix_contains(network, len, address);
    let mut probes: Vec<(&'static str, IpAddr)> = Vec::new();
    for gateway in
        store.routes().iter().filter(|r| r.interface.as_deref() == Some(link)).filter_map(|r| r.gateway)
    {
        if inside(gateway) && !probes.iter().any(|(_, p)| *p == gateway) {
            probes.push(("the gateway", gateway));
        }
    }
    for neighbor in store.neighbors().iter().filter(|n| n.interface == link && !n.state.is_unreachable()) {
        if inside(neighbor.address) && !probes.iter().any(|(_, p)| *p == neighbor.address) {
            probes.push(("neighbour", neighbor.address));
        }
    }
    for route in
        store.routes().iter().filter(|r| r.table != 255 && r.prefix_len > len && inside(r.destination))
    {
        if route.interface.as_deref().is_some_and(|via| tunnel_named(store, via)) {
            probes.push(("host", network_of(route.destination, route.prefix_len).1));
        }
    }
    probes.truncate(16);
    probes
}

fn swallow_candidate(
    link: &Interface,
    network: IpAddr,
    len: u8,
    address: IpAddr,
    swallowed: &[(&str, IpAddr, Egress<'_>)],
    hit: &Egress<'_>,
) -> Candidate {
    let tunnel = hit.route.interface.clone().unwrap_or_default();
    let prefix = format!("{network}/{len}");
    let lan = &link.name;
    let mut evidence =
        vec![Evidence::new("on-link prefix", format!("{prefix} dev {lan} (address {address}/{len})"))];
    for (label, probe, egress) in swallowed.iter().take(3) {
        evidence.push(Evidence::new(format!("route to {label} {probe}"), egress.describe()));
    }
    let by_rule = hit.rule.filter(|rule| rule.table != 254 && hit.route.prefix_len <= len);
    let (cause, fix) = match by_rule {
        Some(rule) => (
            format!(
                "policy rule {}: {} sends traffic to table {} before the main table, whose on-link route {prefix} dev {lan} never gets a say, and that table routes it into {tunnel}",
                rule.priority,
                rule.selector,
                Route::table_name(rule.table)
            ),
            format!(
                "ip rule add to {prefix} lookup main priority {}  # or allow LAN access in the VPN client",
                rule.priority.saturating_sub(1)
            ),
        ),
        None => (
            format!(
                "the route {} dev {tunnel} is at least as specific as the on-link {prefix} dev {lan}, so LAN traffic enters the tunnel",
                hit.route.destination_text()
            ),
            format!(
                "ip route del {} dev {tunnel} table {}  # or allow LAN access in the VPN client",
                hit.route.destination_text(),
                Route::table_name(hit.route.table)
            ),
        ),
    };
    let (label, probe, _) = swallowed[0];
    Candidate {
        subject: format!("{prefix} on {lan}"),
        severity: Severity::Warning,
        title: format!("{tunnel} takes the LAN {prefix} of {lan}: {label} {probe} is routed into the tunnel"),
        evidence,
        cause,
        fix,
    }
}

/// `route_moved_connections`: established connections that still leave the old way
/// after a route change (a VPN coming up) sends new connections to their remotes
/// through another interface.
pub const ROUTE_MOVED_CONNECTIONS: Rule = Rule {
    id: "route_moved_connections",
    family: "tunnels",
    summary: "connections opened before a route change (a VPN coming up) still use the old route",
    // Connections that end soon after the change are no problem.
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: route_moved_connections,
};

fn route_moved_connections(store: &Store, _: &RuleConfig) -> Verdict {
    if !store.connections().has_data() {
        return Verdict::NotApplicable;
    }
    let mut by_interface: BTreeMap<&str, Vec<&ConnectionEntry>> = BTreeMap::new();
    for entry in store.connections().iter() {
        if entry.closed_at.is_some()
            || entry.socket.state != SocketState::Established
            || !entry.warnings.contains(ConnectionWarnings::ROUTE_MOVED)
        {
            continue;
        }
        let Some(moved) = &entry.route_move else { continue };
        let Some(interface) = moved.interface.as_deref() else { continue };
        // The store keeps a move once raised; it holds now only while the new
        // interface is usable and still where traffic to the remote goes.
        let current = store.interface_by_name(interface).is_some_and(|e| usable(&e.info))
            && egress(store, moved.remote).is_some_and(|e| e.interface(store) == Some(interface));
        if current {
            by_interface.entry(interface).or_default().push(entry);
        }
    }
    Verdict::Found(
        by_interface
            .into_iter()
            .map(|(interface, entries)| moved_candidate(store, interface, &entries))
            .collect(),
    )
}

fn moved_candidate(store: &Store, interface: &str, entries: &[&ConnectionEntry]) -> Candidate {
    let tunnel = tunnel_named(store, interface);
    let mut evidence = Vec::new();
    let mut owners: Vec<String> = Vec::new();
    for entry in entries.iter().take(8) {
        let who = owner(store, entry);
        let text = entry.route_move.as_ref().map(crate::model::RouteMove::text).unwrap_or_default();
        evidence.push(Evidence::new(
            format!("tcp {} → {}", entry.socket.local, entry.socket.remote),
            format!("{who}: {text}"),
        ));
        if !owners.contains(&who) {
            owners.push(who);
        }
    }
    if entries.len() > 8 {
        evidence.push(Evidence::new("more connections on the old route", (entries.len() - 8).to_string()));
    }
    let old = entries
        .iter()
        .find_map(|e| {
            e.route_move.as_ref().and_then(|m| m.current_interface.clone().or(m.first_interface.clone()))
        })
        .unwrap_or_else(|| "the old interface".to_owned());
    let first = entries[0];
    let n = entries.len();
    let title = if tunnel {
        format!("{n} connection(s) bypass {interface}: they still leave via {old}, outside the tunnel")
    } else {
        format!("{n} connection(s) still leave via {old}; new ones go via {interface}")
    };
    Candidate {
        subject: format!("moved to {interface}"),
        severity: if tunnel { Severity::Warning } else { Severity::Info },
        title,
        evidence,
        cause: format!(
            "a TCP connection keeps its source address for life: those opened before the route to their remotes moved to {interface} still leave via {old}, owned by {}",
            owners.join(", ")
        ),
        fix: format!(
            "restart or reconnect {}; or end one: ss -K dst {} dport = {}",
            owners.join(", "),
            first.socket.remote.ip(),
            first.socket.remote.port()
        ),
    }
}

#[cfg(test)]
#[path = "tunnels_tests.rs"]
mod tests;
