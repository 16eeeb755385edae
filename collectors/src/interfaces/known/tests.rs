use std::net::Ipv4Addr;

use super::*;
use crate::model::{AddressScope, InterfaceKind, LinkFlags, TimelineKind};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn link(index: u32, name: &str, up: bool, carrier: bool) -> Interface {
    let mut flags = LinkFlags::BROADCAST;
    if up {
        flags = flags.with(LinkFlags::UP);
    }
    if carrier {
        flags = flags.with(LinkFlags::LOWER_UP);
    }
    Interface {
        index,
        name: name.to_owned(),
        kind: InterfaceKind::Veth,
        carrier,
        mtu: 1500,
        flags,
        ..Interface::default()
    }
}

fn address(text: &str, prefix_len: u8, flags: AddressFlags) -> InterfaceAddress {
    let address = ip(text);
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

fn route(
    destination: &str,
    prefix_len: u8,
    index: u32,
    table: u32,
    route_type: RouteType,
    protocol: &str,
) -> Route {
    let destination = ip(destination);
    Route {
        family: AddressFamily::of(&destination),
        table,
        route_type,
        destination,
        prefix_len,
        gateway: None,
        interface: None,
        interface_index: Some(index),
        source: None,
        metric: None,
        protocol: protocol.to_owned(),
        scope: AddressScope::Link,
    }
}

fn neighbor(index: u32, text: &str, state: NeighborState, mac: Option<&str>) -> Neighbor {
    Neighbor {
        interface: String::new(),
        interface_index: index,
        address: ip(text),
        mac: mac.map(str::to_owned),
        state,
    }
}

/// Apply each change in turn; compare the notices each one produced.
fn play(state: &mut KnownState, steps: Vec<(Change, &[(TimelineKind, &str)])>) {
    for (change, want) in steps {
        let label = format!("{change:?}");
        let mut notices = Vec::new();
        state.apply(change, &mut notices);
        let have: Vec<(TimelineKind, &str)> = notices.iter().map(|n| (n.kind, n.detail.as_str())).collect();
        assert_eq!(have, want, "after {label}");
    }
}

#[test]
fn a_link_through_its_life() {
    use TimelineKind::{
        AddressAdded, AddressChanged, AddressRemoved, LinkAdded, LinkChanged, LinkRemoved, LinkRenamed,
    };
    let tentative = AddressFlags::TENTATIVE.with(AddressFlags::PERMANENT);
    let mut state = KnownState::default();
    #[rustfmt::skip]
    play(&mut state, vec![
        (Change::Link(link(3, "veth0", false, false)), &[(LinkAdded, "veth0 added (veth)")]),
        // A NEWLINK that changes nothing worth saying.
        (Change::Link(link(3, "veth0", false, false)), &[]),
        (Change::Link(link(3, "veth0", true, false)), &[(LinkChanged, "veth0 up")]),
        (Change::Link(link(3, "veth0", true, true)), &[(LinkChanged, "veth0 carrier gained")]),
        (Change::Address(3, address("2001:db8::1", 64, tentative)), &[(AddressAdded, "2001:db8::1/64 added to veth0 (tentative)")]),
        // Only the lifetimes changed.
        (Change::Address(3, address("2001:db8::1", 64, tentative)), &[]),
        (Change::Address(3, address("2001:db8::1", 64, AddressFlags::PERMANENT)),
            &[(AddressChanged, "2001:db8::1/64 on veth0 no longer tentative")]),
        (Change::Link(link(3, "wan0", true, true)), &[(LinkRenamed, "renamed veth0 → wan0")]),
        (Change::AddressRemoved(3, address("2001:db8::1", 64, AddressFlags::PERMANENT)),
            &[(AddressRemoved, "2001:db8::1/64 removed from wan0")]),
        (Change::LinkRemoved { index: 3, name: "wan0".into() }, &[(LinkRemoved, "wan0 removed")]),
    ]);
    assert_eq!(state, KnownState::default());
}

#[test]
fn routes_rules_and_neighbours() {
    use TimelineKind::{NeighborChanged, NeighborRemoved, RouteAdded, RouteRemoved, RuleAdded, RuleRemoved};
    let mut state = KnownState::default();
    let mut notices = Vec::new();
    state.apply(Change::Link(link(3, "veth0", true, true)), &mut notices);
    let connected = route("10.0.0.0", 24, 3, 254, RouteType::Unicast, "kernel");
    let local = route("10.0.0.1", 32, 3, 255, RouteType::Local, "kernel");
    let rule = Rule {
        family: AddressFamily::Ipv4,
        priority: 1000,
        table: 100,
        selector: "from all fwmark 0x1".into(),
        action: "lookup".into(),
    };
    #[rustfmt::skip]
    play(&mut state, vec![
        (Change::Route(connected.clone()), &[(RouteAdded, "route 10.0.0.0/24 dev veth0 added")]),
        (Change::Route(connected.clone()), &[]),
        // The kernel's per-address bookkeeping in the local table is not news.
        (Change::Route(local.clone()), &[]),
        (Change::RouteRemoved(local), &[]),
        (Change::RouteRemoved(connected.clone()), &[(RouteRemoved, "route 10.0.0.0/24 dev veth0 removed")]),
        // A second report of one removal (the kernel view's re-read found it gone,
        // then the kernel's own message came) is phrased once.
        (Change::RouteRemoved(connected), &[]),
        (Change::Rule(rule.clone()), &[(RuleAdded, "rule 1000: from all fwmark 0x1 lookup 100 added")]),
        (Change::Rule(rule.clone()), &[]),
        (Change::RuleRemoved(rule), &[(RuleRemoved, "rule 1000: from all fwmark 0x1 lookup 100 removed")]),
        (Change::Neighbor(neighbor(3, "10.0.0.2", NeighborState::Incomplete, None)),
            &[(NeighborChanged, "neighbour 10.0.0.2 on veth0 incomplete")]),
        (Change::Neighbor(neighbor(3, "10.0.0.2", NeighborState::Reachable, Some("02:00:00:00:00:02"))),
            &[(NeighborChanged, "neighbour 10.0.0.2 on veth0 incomplete → reachable, now at 02:00:00:00:00:02")]),
        (Change::Neighbor(neighbor(3, "10.0.0.2", NeighborState::Reachable, Some("02:00:00:00:00:02"))), &[]),
        (Change::NeighborRemoved(neighbor(3, "10.0.0.2", NeighborState::Reachable, None)),
            &[(NeighborRemoved, "neighbour 10.0.0.2 on veth0 removed")]),
    ]);
}

#[test]
fn unknown_interfaces_are_named_by_index() {
    let mut notices = Vec::new();
    KnownState::default()
        .apply(Change::Address(9, address("10.0.0.9", 24, AddressFlags::default())), &mut notices);
    assert_eq!(notices.first().map(|n| n.detail.as_str()), Some("10.0.0.9/24 added to if9"));
}

#[test]
fn the_silently_flushed_ipv4_routes_of_a_downed_link_are_phrased_once() {
    let mut state = KnownState::default();
    let mut notices = Vec::new();
    let connected = route("10.0.0.0", 24, 3, 254, RouteType::Unicast, "kernel");
    let ipv6 = route("2001:db8::", 64, 3, 254, RouteType::Unicast, "kernel");
    state.apply(Change::Link(link(3, "veth0", true, true)), &mut notices);
    state.apply(Change::Route(connected.clone()), &mut notices);
    state.apply(Change::Route(ipv6.clone()), &mut notices);
    notices.clear();
    state.apply(Change::Link(link(3, "veth0", false, false)), &mut notices);
    // The kernel view's re-read reports the IPv4 route gone; a late message of the
    // kernel about the same route says nothing new.
    state.apply(Change::RouteRemoved(connected.clone()), &mut notices);
    state.apply(Change::RouteRemoved(connected.clone()), &mut notices);
    state.apply(Change::Link(link(3, "veth0", true, true)), &mut notices);
    state.apply(Change::Route(connected), &mut notices);
    // IPv6 announces its own removals; this one was not removed, so it is no news.
    state.apply(Change::Route(ipv6), &mut notices);
    let details: Vec<&str> = notices.iter().map(|n| n.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "veth0 down",
            "route 10.0.0.0/24 dev veth0 removed",
            "veth0 up",
            "veth0 carrier gained",
            "route 10.0.0.0/24 dev veth0 added"
        ]
    );
}

#[test]
fn neighbour_churn_folds_and_failures_stand_alone() {
    let mut state = KnownState::default();
    let mut notices = Vec::new();
    state.apply(Change::Link(link(3, "veth0", true, true)), &mut notices);
    let mac = Some("02:00:00:00:00:02");
    let steps = [
        (NeighborState::Reachable, mac, true),
        (NeighborState::Stale, mac, true),
        (NeighborState::Delay, mac, true),
        (NeighborState::Probe, mac, true),
        (NeighborState::Failed, mac, false),
        // A recovery from a failure is news too.
        (NeighborState::Reachable, mac, false),
        (NeighborState::Stale, mac, true),
        // A new MAC address is not churn.
        (NeighborState::Stale, Some("02:00:00:00:00:03"), false),
        (NeighborState::Incomplete, None, false),
    ];
    for (state_now, mac, folds) in steps {
        notices.clear();
        state.apply(Change::Neighbor(neighbor(3, "10.0.0.2", state_now, mac)), &mut notices);
        let notice = notices.first().unwrap_or_else(|| panic!("no notice for {state_now:?}"));
        assert_eq!(notice.fold.is_some(), folds, "{}", notice.detail);
        if let Some(fold) = &notice.fold {
            assert_eq!(fold.key, "veth0 10.0.0.2");
        }
    }
}

#[test]
fn a_reread_only_forgets() {
    let mut present = link(3, "veth0", true, true);
    present.addresses.push(address("10.0.0.1", 24, AddressFlags::PERMANENT));
    let before = NetworkTable { interfaces: vec![link(3, "veth0", true, true)], ..NetworkTable::default() };
    let mut state = KnownState::from_table(&before);
    let mut notices = Vec::new();
    state.apply(Change::Address(3, address("10.0.0.7", 24, AddressFlags::PERMANENT)), &mut notices);

    // The re-read already shows 10.0.0.1 (its notification is still queued) and no
    // longer shows 10.0.0.7 (removed without a word reaching us yet).
    let reread = NetworkTable { interfaces: vec![present], ..NetworkTable::default() };
    state.retain_present(&reread);
    notices.clear();
    state.apply(Change::Address(3, address("10.0.0.1", 24, AddressFlags::PERMANENT)), &mut notices);
    state.apply(Change::AddressRemoved(3, address("10.0.0.7", 24, AddressFlags::PERMANENT)), &mut notices);
    let details: Vec<&str> = notices.iter().map(|n| n.detail.as_str()).collect();
    assert_eq!(details, ["10.0.0.1/24 added to veth0", "10.0.0.7/24 removed from veth0"]);
}

#[test]
fn a_resync_reports_the_difference() {
    let mut old_veth = link(3, "veth0", true, true);
    old_veth.addresses.push(address("10.0.0.1", 24, AddressFlags::PERMANENT));
    let old = NetworkTable {
        interfaces: vec![link(1, "lo", true, true), old_veth, link(4, "gone0", false, false)],
        routes: vec![route("10.0.0.0", 24, 3, 254, RouteType::Unicast, "kernel")],
        ..NetworkTable::default()
    };
    let mut new_veth = link(3, "wan0", true, false);
    new_veth.addresses.push(address("10.0.0.2", 24, AddressFlags::PERMANENT));
    let new = NetworkTable {
        interfaces: vec![link(1, "lo", true, true), new_veth, link(5, "new0", false, false)],
        routes: vec![route("10.0.0.0", 24, 3, 254, RouteType::Unicast, "kernel")],
        ..NetworkTable::default()
    };
    let mut state = KnownState::from_table(&old);
    let mut notices = Vec::new();
    for change in state.changes_to(&new) {
        state.apply(change, &mut notices);
    }
    let details: Vec<&str> = notices.iter().map(|n| n.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "10.0.0.1/24 removed from veth0",
            "gone0 removed",
            "renamed veth0 → wan0",
            "wan0 carrier lost",
            "10.0.0.2/24 added to wan0",
            "new0 added (veth)",
        ]
    );
    assert_eq!(state, KnownState::from_table(&new));
}
