//! Timeline sentences: what changed, phrased for a person reading the Events pane
//! (`veth0 carrier lost`, `10.0.0.2/24 added to veth1 (tentative)`, …).

use std::net::IpAddr;

use crate::event::Notice;
use crate::model::{
    AddressFlags, InterfaceAddress, InterfaceKind, NeighborState, Route, RouteType, Rule, TimelineKind,
};

/// What the timeline needs to know about a link to describe its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkFacts {
    /// Current name.
    pub name: String,
    /// Functional type.
    pub kind: InterfaceKind,
    /// Administratively up.
    pub up: bool,
    /// Carrier (`IFF_LOWER_UP`).
    pub carrier: bool,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: Option<String>,
}

/// Address flags worth mentioning when an address appears, in display order.
const NOTABLE_FLAGS: [(AddressFlags, &str); 4] = [
    (AddressFlags::TENTATIVE, "tentative"),
    (AddressFlags::DADFAILED, "dadfailed"),
    (AddressFlags::DEPRECATED, "deprecated"),
    (AddressFlags::TEMPORARY, "temporary"),
];

pub(crate) fn link_added(name: &str, kind: InterfaceKind) -> Notice {
    Notice::new(TimelineKind::LinkAdded, name, format!("{name} added ({})", kind.as_str()))
}

pub(crate) fn link_removed(name: &str) -> Notice {
    Notice::new(TimelineKind::LinkRemoved, name, format!("{name} removed"))
}

/// Every notable difference between two descriptions of the same link.
pub(crate) fn link_changes(old: &LinkFacts, new: &LinkFacts) -> Vec<Notice> {
    let mut notices = Vec::new();
    let name = new.name.as_str();
    if old.name != new.name {
        notices.push(Notice::new(
            TimelineKind::LinkRenamed,
            name,
            format!("renamed {} → {}", old.name, new.name),
        ));
    }
    let changed = |detail: String| Notice::new(TimelineKind::LinkChanged, name, detail);
    if old.up != new.up {
        notices.push(changed(format!("{name} {}", if new.up { "up" } else { "down" })));
    }
    // Taking a link down drops its carrier too; saying so would only repeat "down".
    if new.up && old.carrier != new.carrier {
        let what = if new.carrier { "gained" } else { "lost" };
        notices.push(changed(format!("{name} carrier {what}")));
    }
    if old.mtu != new.mtu {
        notices.push(changed(format!("{name} mtu {} → {}", old.mtu, new.mtu)));
    }
    if let (Some(old_mac), Some(new_mac)) = (&old.mac, &new.mac)
        && old_mac != new_mac
    {
        notices.push(changed(format!("{name} mac {old_mac} → {new_mac}")));
    }
    notices
}

pub(crate) fn address_added(interface: &str, address: &InterfaceAddress) -> Notice {
    let notable: Vec<&str> = NOTABLE_FLAGS
        .iter()
        .filter(|(flag, _)| address.flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    let added = format!("{}/{} added to {interface}", address.address, address.prefix_len);
    let detail = if notable.is_empty() { added } else { format!("{added} ({})", notable.join(", ")) };
    Notice::new(TimelineKind::AddressAdded, interface, detail)
}

pub(crate) fn address_removed(interface: &str, address: IpAddr, prefix_len: u8) -> Notice {
    Notice::new(
        TimelineKind::AddressRemoved,
        interface,
        format!("{address}/{prefix_len} removed from {interface}"),
    )
}

/// The notable flag changes of an address, if any (lifetime refreshes are not news).
pub(crate) fn address_changed(
    interface: &str,
    address: IpAddr,
    prefix_len: u8,
    old: AddressFlags,
    new: AddressFlags,
) -> Option<Notice> {
    let parts: Vec<String> = NOTABLE_FLAGS
        .iter()
        .filter(|(flag, _)| old.contains(*flag) != new.contains(*flag))
        .map(
            |(flag, name)| if new.contains(*flag) { (*name).to_owned() } else { format!("no longer {name}") },
        )
        .collect();
    if parts.is_empty() {
        return None;
    }
    let detail = format!("{address}/{prefix_len} on {interface} {}", parts.join(", "));
    Some(Notice::new(TimelineKind::AddressChanged, interface, detail))
}

/// `[type ]default route|route PREFIX[ via GW][ dev IF][ table T]`.
fn describe_route(route: &Route, interface: Option<&str>) -> String {
    let mut words = Vec::new();
    if route.route_type != RouteType::Unicast {
        words.push(route.route_type.as_str().to_owned());
    }
    if route.is_default() {
        words.push("default route".to_owned());
    } else {
        words.push(format!("route {}", route.destination_text()));
    }
    if let Some(gateway) = route.gateway {
        words.push(format!("via {gateway}"));
    }
    if let Some(interface) = interface {
        words.push(format!("dev {interface}"));
    }
    if route.table != MAIN_TABLE {
        words.push(format!("table {}", Route::table_name(route.table)));
    }
    words.join(" ")
}

const MAIN_TABLE: u32 = 254;

pub(crate) fn route_added(route: &Route, interface: Option<&str>) -> Notice {
    let detail = format!("{} added", describe_route(route, interface));
    Notice::new(TimelineKind::RouteAdded, route.destination_text(), detail)
}

pub(crate) fn route_removed(route: &Route, interface: Option<&str>) -> Notice {
    let detail = format!("{} removed", describe_route(route, interface));
    Notice::new(TimelineKind::RouteRemoved, route.destination_text(), detail)
}

/// `rule 1000: from all fwmark 0x1 lookup 100`.
fn describe_rule(rule: &Rule) -> String {
    let action = if rule.action == "lookup" {
        format!("lookup {}", Route::table_name(rule.table))
    } else {
        rule.action.clone()
    };
    format!("rule {}: {} {action}", rule.priority, rule.selector)
}

pub(crate) fn rule_added(rule: &Rule) -> Notice {
    Notice::new(TimelineKind::RuleAdded, rule.priority.to_string(), format!("{} added", describe_rule(rule)))
}

pub(crate) fn rule_removed(rule: &Rule) -> Notice {
    Notice::new(
        TimelineKind::RuleRemoved,
        rule.priority.to_string(),
        format!("{} removed", describe_rule(rule)),
    )
}

/// A neighbour entry appeared or changed; `None` when nothing a reader cares about did.
pub(crate) fn neighbor_seen(
    interface: &str,
    address: IpAddr,
    old: Option<(NeighborState, Option<&str>)>,
    new: (NeighborState, Option<&str>),
) -> Option<Notice> {
    let (state, mac) = new;
    let detail = match old {
        None => match mac {
            Some(mac) => format!("neighbour {address} on {interface} {} ({mac})", state.as_str()),
            None => format!("neighbour {address} on {interface} {}", state.as_str()),
        },
        Some((old_state, old_mac)) => {
            let mut parts = Vec::new();
            if old_state != state {
                parts.push(format!("{} → {}", old_state.as_str(), state.as_str()));
            }
            if let Some(mac) = mac
                && old_mac != Some(mac)
            {
                parts.push(format!("now at {mac}"));
            }
            if parts.is_empty() {
                return None;
            }
            format!("neighbour {address} on {interface} {}", parts.join(", "))
        }
    };
    Some(Notice::new(TimelineKind::NeighborChanged, interface, detail))
}

pub(crate) fn neighbor_removed(interface: &str, address: IpAddr) -> Notice {
    Notice::new(
        TimelineKind::NeighborRemoved,
        interface,
        format!("neighbour {address} on {interface} removed"),
    )
}

/// The notification socket overran: some changes were never seen one by one.
pub(crate) fn resynced() -> Notice {
    Notice::new(
        TimelineKind::Resynced,
        "rtnetlink",
        "rtnetlink receive buffer overran and notifications were lost; everything was re-read",
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::model::{AddressFamily, AddressScope};

    /// (old link, new link, expected notices)
    type Case<'a> = (LinkFacts, LinkFacts, &'a [(TimelineKind, &'a str, &'a str)]);
    /// A neighbour's state and MAC.
    type Entry<'a> = (NeighborState, Option<&'a str>);

    fn link(name: &str, up: bool, carrier: bool, mtu: u32) -> LinkFacts {
        LinkFacts { name: name.into(), kind: InterfaceKind::Ethernet, up, carrier, mtu, mac: None }
    }

    fn details(notices: &[Notice]) -> Vec<(TimelineKind, &str, &str)> {
        notices.iter().map(|n| (n.kind, n.subject.as_str(), n.detail.as_str())).collect()
    }

    #[test]
    fn link_changes_are_phrased_relative_to_the_old_state() {
        use TimelineKind::{LinkChanged, LinkRenamed};
        #[rustfmt::skip]
        let cases: &[Case<'_>] = &[
            (link("eth0", true, true, 1500), link("eth0", true, true, 1500), &[]),
            (link("eth0", false, false, 1500), link("eth0", true, false, 1500), &[(LinkChanged, "eth0", "eth0 up")]),
            (link("eth0", true, true, 1500), link("eth0", false, false, 1500), &[(LinkChanged, "eth0", "eth0 down")]),
            (link("eth0", true, true, 1500), link("eth0", true, false, 1500), &[(LinkChanged, "eth0", "eth0 carrier lost")]),
            (link("eth0", true, false, 1500), link("eth0", true, true, 1500), &[(LinkChanged, "eth0", "eth0 carrier gained")]),
            (link("eth0", false, false, 1500), link("eth0", true, true, 1500),
                &[(LinkChanged, "eth0", "eth0 up"), (LinkChanged, "eth0", "eth0 carrier gained")]),
            (link("eth0", true, true, 1500), link("eth0", true, true, 9000), &[(LinkChanged, "eth0", "eth0 mtu 1500 → 9000")]),
            (link("veth0", false, false, 1500), link("wan0", false, false, 1500), &[(LinkRenamed, "wan0", "renamed veth0 → wan0")]),
        ];
        for (old, new, want) in cases {
            assert_eq!(details(&link_changes(old, new)), *want, "{old:?} → {new:?}");
        }
    }

    #[test]
    fn mac_changes_are_reported() {
        let mut old = link("eth0", true, true, 1500);
        old.mac = Some("02:00:00:00:00:01".into());
        let mut new = old.clone();
        new.mac = Some("02:00:00:00:00:02".into());
        assert_eq!(
            details(&link_changes(&old, &new)),
            [(TimelineKind::LinkChanged, "eth0", "eth0 mac 02:00:00:00:00:01 → 02:00:00:00:00:02")]
        );
    }

    fn address(text: &str, prefix_len: u8, flags: AddressFlags) -> InterfaceAddress {
        let address: IpAddr = text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        InterfaceAddress {
            address,
            prefix_len,
            family: AddressFamily::of(&address),
            scope: AddressScope::Global,
            flags,
            valid_lifetime_s: None,
            preferred_lifetime_s: None,
            label: None,
        }
    }

    #[test]
    fn address_notices() {
        let added = address_added("veth1", &address("10.0.0.2", 24, AddressFlags::TENTATIVE));
        assert_eq!(added.detail, "10.0.0.2/24 added to veth1 (tentative)");
        assert_eq!((added.kind, added.subject.as_str()), (TimelineKind::AddressAdded, "veth1"));
        let plain = address_added("veth1", &address("10.0.0.2", 24, AddressFlags::PERMANENT));
        assert_eq!(plain.detail, "10.0.0.2/24 added to veth1");
        let removed =
            address_removed("veth1", "10.0.0.2".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), 24);
        assert_eq!(removed.detail, "10.0.0.2/24 removed from veth1");

        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        #[rustfmt::skip]
        let cases: &[(AddressFlags, AddressFlags, Option<&str>)] = &[
            (AddressFlags::TENTATIVE, AddressFlags::PERMANENT, Some("2001:db8::1/64 on veth1 no longer tentative")),
            (AddressFlags::TENTATIVE, AddressFlags::DADFAILED.with(AddressFlags::TENTATIVE), Some("2001:db8::1/64 on veth1 dadfailed")),
            (AddressFlags::default(), AddressFlags::DEPRECATED, Some("2001:db8::1/64 on veth1 deprecated")),
            (AddressFlags::PERMANENT, AddressFlags::PERMANENT.with(AddressFlags::NODAD), None),
        ];
        for &(old, new, want) in cases {
            let notice = address_changed("veth1", v6, 64, old, new);
            assert_eq!(notice.as_ref().map(|n| n.detail.as_str()), want);
            if let Some(notice) = notice {
                assert_eq!(notice.kind, TimelineKind::AddressChanged);
            }
        }
    }

    fn route(
        destination: &str,
        prefix_len: u8,
        gateway: Option<&str>,
        table: u32,
        route_type: RouteType,
    ) -> Route {
        let destination: IpAddr = destination.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Route {
            family: AddressFamily::of(&destination),
            table,
            route_type,
            destination,
            prefix_len,
            gateway: gateway.and_then(|g| g.parse().ok()),
            interface: None,
            interface_index: None,
            source: None,
            metric: None,
            protocol: "static".into(),
            scope: AddressScope::Global,
        }
    }

    #[test]
    fn route_notices() {
        let default = route("0.0.0.0", 0, Some("192.0.2.1"), 254, RouteType::Unicast);
        let added = route_added(&default, Some("eth0"));
        assert_eq!(added.detail, "default route via 192.0.2.1 dev eth0 added");
        assert_eq!((added.kind, added.subject.as_str()), (TimelineKind::RouteAdded, "default"));
        let removed = route_removed(&default, Some("eth0"));
        assert_eq!(removed.detail, "default route via 192.0.2.1 dev eth0 removed");
        assert_eq!(removed.kind, TimelineKind::RouteRemoved);

        let blackhole = route("10.9.0.0", 16, None, 100, RouteType::Blackhole);
        let notice = route_added(&blackhole, None);
        assert_eq!(notice.detail, "blackhole route 10.9.0.0/16 table 100 added");
        assert_eq!(notice.subject, "10.9.0.0/16");
        let local = route("10.0.0.1", 32, None, 255, RouteType::Local);
        assert_eq!(
            route_added(&local, Some("veth0")).detail,
            "local route 10.0.0.1/32 dev veth0 table local added"
        );
    }

    #[test]
    fn rule_notices() {
        let rule = Rule {
            family: AddressFamily::Ipv4,
            priority: 1000,
            table: 100,
            selector: "from all fwmark 0x1".into(),
            action: "lookup".into(),
        };
        let added = rule_added(&rule);
        assert_eq!(added.detail, "rule 1000: from all fwmark 0x1 lookup 100 added");
        assert_eq!((added.kind, added.subject.as_str()), (TimelineKind::RuleAdded, "1000"));
        let unreachable = Rule { action: "unreachable".into(), table: 0, ..rule };
        assert_eq!(rule_removed(&unreachable).detail, "rule 1000: from all fwmark 0x1 unreachable removed");
    }

    #[test]
    fn neighbor_notices() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mac = Some("02:00:00:00:00:01");
        let reachable = (NeighborState::Reachable, mac);
        let stale = (NeighborState::Stale, mac);
        #[rustfmt::skip]
        let cases: &[(Option<Entry<'_>>, Entry<'_>, Option<&str>)] = &[
            (None, reachable, Some("neighbour 10.0.0.1 on veth0 reachable (02:00:00:00:00:01)")),
            (None, (NeighborState::Incomplete, None), Some("neighbour 10.0.0.1 on veth0 incomplete")),
            (Some(reachable), stale, Some("neighbour 10.0.0.1 on veth0 reachable → stale")),
            (Some(reachable), reachable, None),
            (Some((NeighborState::Incomplete, None)), reachable,
                Some("neighbour 10.0.0.1 on veth0 incomplete → reachable, now at 02:00:00:00:00:01")),
        ];
        for &(old, new, want) in cases {
            let notice = neighbor_seen("veth0", ip, old, new);
            assert_eq!(notice.as_ref().map(|n| n.detail.as_str()), want);
        }
        let removed = neighbor_removed("veth0", ip);
        assert_eq!(
            (removed.kind, removed.detail.as_str()),
            (TimelineKind::NeighborRemoved, "neighbour 10.0.0.1 on veth0 removed")
        );
    }
}
