//! The policy-routing rules of the paths family: a strict reverse-path filter that
//! drops what policy routing answers through another interface, and sockets sending
//! to a multicast group the kernel has no route for. Both walk the rules and tables
//! the way the kernel looks a route up.

use std::net::{IpAddr, Ipv4Addr};

use crate::Store;
use crate::model::{
    AddressFamily, Evidence, LinkFlags, Protocol, Route, RouteType, Rule as PolicyRule, Severity,
};
use crate::store::CounterTable;

use super::super::{Candidate, Rule, RuleConfig, Verdict};
use super::{covers, global, network_known, route_link, route_on, route_text, working};
use crate::findings::facts::{growth, owner};

/// The tables policy rules look up for `family` (local and main always); `None` when any table
/// may be reached (an `l3mdev` rule sends each VRF to its own).
pub(super) fn reached_tables(store: &Store, family: AddressFamily) -> Option<Vec<u32>> {
    let mut tables = vec![255, 254];
    for rule in store.rules().iter().filter(|rule| rule.family == family) {
        if rule.selector.split_whitespace().any(|word| word == "l3mdev") {
            return None;
        }
        if rule.action == "lookup" && rule.table != 0 {
            tables.push(rule.table);
        }
    }
    tables.sort_unstable();
    tables.dedup();
    Some(tables)
}

pub(super) fn is_reached(tables: Option<&[u32]>, table: u32) -> bool {
    tables.is_none_or(|tables| tables.contains(&table))
}

pub(super) fn tables_text(tables: Option<&[u32]>) -> String {
    tables.map_or_else(
        || "every table (l3mdev rules)".to_owned(),
        |tables| {
            let names: Vec<String> = tables.iter().map(|t| Route::table_name(*t)).collect();
            format!("tables {}", names.join(", "))
        },
    )
}

/// `rp_filter_asymmetric`: strict reverse-path filtering on an interface whose
/// incoming traffic policy routing answers through another.
pub const RP_FILTER_ASYMMETRIC: Rule = Rule {
    id: "rp_filter_asymmetric",
    family: "paths",
    summary: "strict rp_filter drops traffic arriving on an interface that routing answers through another",
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: rp_filter_asymmetric,
};

/// Where replies from `source` to `destination` (no mark, locally generated, as the
/// kernel's reverse-path check looks them up) go: the route and the rule that chose
/// its table. `None` when a rule or action comes first that this cannot judge.
pub(super) fn reply_route(
    store: &Store,
    source: IpAddr,
    destination: IpAddr,
) -> Option<(&Route, Option<&PolicyRule>)> {
    let family = AddressFamily::of(&destination);
    let mut rules: Vec<&PolicyRule> = store.rules().iter().filter(|r| r.family == family).collect();
    if rules.is_empty() {
        return [255, 254, 253]
            .into_iter()
            .find_map(|table| lookup(store, table, destination))
            .map(|r| (r, None));
    }
    rules.sort_by_key(|r| r.priority);
    for rule in rules {
        if !rule_matches(rule, source, destination)? {
            continue;
        }
        if rule.action != "lookup" {
            return None;
        }
        if let Some(route) = lookup(store, rule.table, destination) {
            return Some((route, Some(rule)));
        }
    }
    None
}

/// The route of `table` for `destination` (longest prefix, then lowest metric);
/// `None` when none matches or a `throw` route sends the lookup on.
fn lookup(store: &Store, table: u32, destination: IpAddr) -> Option<&Route> {
    store
        .routes()
        .iter()
        .filter(|r| r.table == table && covers(r.destination, r.prefix_len, destination))
        .max_by(|a, b| {
            a.prefix_len.cmp(&b.prefix_len).then(b.metric.unwrap_or(0).cmp(&a.metric.unwrap_or(0)))
        })
        .filter(|r| r.route_type != RouteType::Throw)
}

/// Whether `rule` matches a reply from `source` to `destination`; `None` when it
/// has a selector this cannot judge.
fn rule_matches(rule: &PolicyRule, source: IpAddr, destination: IpAddr) -> Option<bool> {
    let mut words = rule.selector.split_whitespace();
    let mut matched = true;
    while let Some(word) = words.next() {
        let value = words.next();
        let prefix = |value: Option<&str>, address: IpAddr| {
            value.map(|v| {
                v == "all"
                    || v.split_once('/').map_or_else(
                        || v.parse::<IpAddr>().is_ok_and(|n| n == address),
                        |(n, len)| {
                            n.parse()
                                .ok()
                                .zip(len.parse().ok())
                                .is_some_and(|(n, len)| covers(n, len, address))
                        },
                    )
            })
        };
        matched &= match word {
            "from" => prefix(value, source)?,
            "to" => prefix(value, destination)?,
            // Unmarked, no TOS, no output interface, from the loopback device.
            "fwmark" => {
                let (wanted, bits) = value?.split_once('/').unwrap_or((value?, "0xffffffff"));
                let number = |t: &str| {
                    t.strip_prefix("0x").map_or_else(|| t.parse().ok(), |h| u32::from_str_radix(h, 16).ok())
                };
                number(wanted)? & number(bits)? == 0
            }
            "tos" | "oif" => false,
            "iif" => value? == "lo",
            _ => return None,
        };
    }
    Some(matched)
}

fn rp_filter_asymmetric(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(kernel) = store.kernel().latest().filter(|k| !k.rp_filter.is_empty()) else {
        return Verdict::NotApplicable;
    };
    if !network_known(store) {
        return Verdict::NotApplicable;
    }
    let representatives =
        [Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(198, 51, 100, 1)];
    let mut found = Vec::new();
    for link in store.interfaces().map(|e| &e.info).filter(|l| working(l)) {
        if kernel.effective_rp_filter(&link.name) != Some(1) {
            continue;
        }
        let Some(address) = link.addresses.iter().find(|a| a.family == AddressFamily::Ipv4 && global(a))
        else {
            continue;
        };
        // Routes that lead beyond the interface's own network: traffic from there arrives on it.
        let beyond = store.routes().iter().filter(|r| {
            r.family == AddressFamily::Ipv4
                && r.route_type == RouteType::Unicast
                && route_on(r, link)
                && (r.gateway.is_some() || r.prefix_len == 0)
        });
        let asymmetric = beyond.into_iter().find_map(|inbound| {
            let candidates: Vec<IpAddr> = if inbound.prefix_len == 0 {
                representatives.iter().map(|a| IpAddr::V4(*a)).collect()
            } else {
                vec![inbound.destination]
            };
            // A source some more specific route claims is not what this route brings in.
            let remote = candidates.into_iter().find(|c| {
                !store.routes().iter().any(|r| {
                    r.family == AddressFamily::Ipv4
                        && r.prefix_len > inbound.prefix_len
                        && covers(r.destination, r.prefix_len, *c)
                })
            })?;
            let (reply, rule) = reply_route(store, address.address, remote)?;
            let out = route_link(store, reply)?;
            (out.index != link.index).then_some((inbound, remote, reply, rule, out))
        });
        let Some((inbound, remote, reply, rule, out)) = asymmetric else { continue };
        let name = &link.name;
        let mut evidence = vec![
            Evidence::new(format!("net.ipv4.conf.{name}.rp_filter (effective, with all)"), "1 (strict)"),
            Evidence::new(format!("route through {name}"), route_text(inbound)),
            Evidence::new(
                format!("reply from {} to {remote}", address.address),
                format!(
                    "{}{}",
                    route_text(reply),
                    rule.map_or_else(String::new, |r| format!(
                        " (rule {}: {} lookup {})",
                        r.priority,
                        r.selector,
                        Route::table_name(r.table)
                    ))
                ),
            ),
        ];
        let drops = growth(store, CounterTable::Netstat, "TcpExtIPReversePathFilter");
        let drops = drops.map(|(delta, evidence)| {
            (delta, Evidence::new(format!("{} (whole host)", evidence.fact), evidence.value))
        });
        let dropping = drops.as_ref().is_some_and(|(delta, _)| *delta > 0);
        evidence.extend(drops.map(|(_, e)| e));
        // A table of its own for the way back: the route's, or the first free one from 100.
        let table = if inbound.table == 254 {
            (100..250).find(|t| !store.routes().iter().any(|r| r.table == *t)).unwrap_or(100)
        } else {
            inbound.table
        };
        let gateway = inbound.gateway.map_or_else(String::new, |g| format!(" via {g}"));
        found.push(Candidate {
            subject: name.clone(),
            // The counter is the whole host's: it shows drops happen, not that they are
            // this interface's. Without it the asymmetry is a trap that has not sprung
            // (a docked laptop's idle second uplink).
            severity: if dropping { Severity::Warning } else { Severity::Info },
            title: if dropping {
                format!("strict rp_filter on {name} drops traffic that routing answers through {}", out.name)
            } else {
                format!("strict rp_filter on {name} would drop traffic that routing answers through {}", out.name)
            },
            evidence,
            cause: format!(
                "packets from {remote} (anything {name}'s route brings in) arrive on {name}, but the reverse-path check finds the way back through {}; strict mode (rp_filter=1) drops them",
                out.name
            ),
            fix: format!(
                "ip rule add from {} lookup {table}; ip route replace default{gateway} dev {name} table {table}  # or loosen it: sysctl -w net.ipv4.conf.{name}.rp_filter=2",
                address.address
            ),
        });
    }
    Verdict::Found(found)
}

/// Ports of discovery protocols that send to groups from sockets bound to the
/// wildcard (SSDP, WS-Discovery, mDNS, LLMNR).
const DISCOVERY_PORTS: [u16; 4] = [1900, 3702, 5353, 5355];

/// `multicast_send_no_route`: sends to multicast groups fail because the kernel has
/// no route for them.
pub const MULTICAST_SEND_NO_ROUTE: Rule = Rule {
    id: "multicast_send_no_route",
    family: "paths",
    summary: "multicast sends fail with ENETUNREACH: no route covers the groups and there is no default route",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[],
    evaluate: multicast_send_no_route,
};

fn multicast_send_no_route(store: &Store, _: &RuleConfig) -> Verdict {
    let v4 = growth(store, CounterTable::Snmp, "IpOutNoRoutes");
    let v6 = growth(store, CounterTable::Snmp, "Ip6OutNoRoutes");
    if (v4.is_none() && v6.is_none()) || !network_known(store) {
        return Verdict::NotApplicable;
    }
    let groups = [
        (AddressFamily::Ipv4, v4, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 0)), 4),
        (AddressFamily::Ipv6, v6, IpAddr::V6(std::net::Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)), 8),
    ];
    let mut found = Vec::new();
    for (family, counter, range, len) in groups {
        let Some((failures, counter)) = counter.filter(|(failures, _)| *failures > 0) else { continue };
        let tables = reached_tables(store, family);
        let routed = store.routes().iter().any(|r| {
            r.family == family
                && is_reached(tables.as_deref(), r.table)
                && r.prefix_len <= len
                && covers(r.destination, r.prefix_len, range)
                && matches!(r.route_type, RouteType::Unicast | RouteType::Multicast | RouteType::Local)
        });
        if routed {
            continue;
        }
        let senders = senders(store, family);
        if senders.is_empty() {
            continue;
        }
        let link = store
            .interfaces()
            .map(|e| &e.info)
            .find(|l| working(l) && l.flags.contains(LinkFlags::MULTICAST))
            .map_or("<interface>", |l| l.name.as_str());
        let prefix = format!("{range}/{len}");
        let command = match family {
            AddressFamily::Ipv4 => format!("ip route add {prefix} dev {link}"),
            AddressFamily::Ipv6 => format!("ip -6 route add multicast {prefix} dev {link} table local"),
        };
        found.push(Candidate {
            subject: format!("multicast {}", family.as_str()),
            severity: Severity::Warning,
            title: format!(
                "{} multicast sends fail: no route for {prefix} and no default route",
                family.as_str()
            ),
            evidence: vec![
                counter,
                Evidence::new(
                    format!("routes covering {prefix} ({})", tables_text(tables.as_deref())),
                    "none, and no default route",
                ),
                Evidence::new("sockets that send to groups without naming an interface", senders.join(", ")),
            ],
            cause: format!(
                "a send to a group from a socket that names no interface (no IP_MULTICAST_IF, no bound address or device) is routed like any other; with no {prefix} route and no default route the kernel refuses it with ENETUNREACH ({failures} unroutable sends in the last interval; the counter counts every unroutable send, not only multicast ones)"
            ),
            fix: format!(
                "{command}  # or have the application pick the interface (IP_MULTICAST_IF / IPV6_MULTICAST_IF)"
            ),
        });
    }
    Verdict::Found(found)
}

/// The open UDP sockets of `family` that send to groups without an interface:
/// IPv6 sockets connected to a group, and wildcard-bound discovery sockets. (An IPv4
/// socket connected to a group sends through the interface holding its source
/// address, route or not.)
fn senders(store: &Store, family: AddressFamily) -> Vec<String> {
    let mut senders: Vec<String> = store
        .connections()
        .iter()
        .filter(|e| e.closed_at.is_none() && e.socket.protocol == Protocol::Udp && e.socket.family == family)
        .filter(|e| e.socket.interface_index.is_none())
        .filter(|e| {
            let (local, remote) = (e.socket.local, e.socket.remote);
            (family == AddressFamily::Ipv6 && remote.ip().is_multicast())
                || (remote.ip().is_unspecified()
                    && local.ip().is_unspecified()
                    && DISCOVERY_PORTS.contains(&local.port()))
        })
        .map(|e| {
            let owner = owner(store, e);
            let to = if e.socket.remote.ip().is_unspecified() {
                String::new()
            } else {
                format!(" → {}", e.socket.remote)
            };
            format!("udp {}{to} ({owner})", e.socket.local)
        })
        .collect();
    senders.sort();
    senders.dedup();
    senders.truncate(3);
    senders
}
