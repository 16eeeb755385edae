//! Parsing against real kernel bytes (the committed fixtures: dump replies from a
//! namespace holding lo, a veth pair, tun0, tap0, addresses, routes in three tables,
//! two extra rules and two neighbours) and against messages built in memory.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, NetlinkPayload};
use netlink_packet_route::address::{AddressFlags as NlAddressFlags, CacheInfo};
use netlink_packet_route::link::{InfoKind, LinkFlags as NlLinkFlags};
use netlink_packet_route::route::{RouteFlags, RouteNextHop};

use super::*;
use crate::interfaces::sysfs::fake::FakeSysfs;
use crate::model::InterfaceKind;
use crate::netlink::dump::assemble;
use crate::netlink::route_socket::split;
use netlink_packet_route::RouteNetlinkMessage;

const LINKS: &[u8] = include_bytes!("../fixtures/links.bin");
const ADDRESSES: &[u8] = include_bytes!("../fixtures/addresses.bin");
const ROUTES_V4: &[u8] = include_bytes!("../fixtures/routes-ipv4.bin");
const ROUTES_V6: &[u8] = include_bytes!("../fixtures/routes-ipv6.bin");
const RULES_V4: &[u8] = include_bytes!("../fixtures/rules-ipv4.bin");
const NEIGHBOURS: &[u8] = include_bytes!("../fixtures/neighbours.bin");

/// (index, name, kind, up, carrier, mtu, mac, peer index)
type LinkSummary<'a> = (u32, &'a str, InterfaceKind, bool, bool, u32, Option<&'a str>, Option<u32>);
/// (case, message, flags, valid lifetime, preferred lifetime)
type AddressCase = (&'static str, AddressMessage, AddressFlags, Option<u32>, Option<u32>);

fn messages(bytes: &[u8]) -> Vec<RouteNetlinkMessage> {
    let mut frames = Vec::new();
    split(bytes, &mut frames);
    frames
        .into_iter()
        .filter_map(|frame| match frame.payload {
            Some(NetlinkPayload::InnerMessage(message)) => Some(message),
            _ => None,
        })
        .collect()
}

fn no_sysfs() -> SysfsCache {
    SysfsCache::new(Box::new(FakeSysfs::default()))
}

fn fixture_links() -> Vec<Interface> {
    let mut sysfs = no_sysfs();
    messages(LINKS)
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewLink(link_message) => link(link_message, &mut sysfs),
            _ => None,
        })
        .collect()
}

fn fixture_addresses() -> Vec<(u32, InterfaceAddress)> {
    messages(ADDRESSES)
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewAddress(address_message) => address(address_message),
            _ => None,
        })
        .collect()
}

fn fixture_routes() -> Vec<Route> {
    messages(ROUTES_V4)
        .iter()
        .chain(&messages(ROUTES_V6))
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewRoute(route_message) => route(route_message),
            _ => None,
        })
        .collect()
}

fn v4(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

#[test]
fn links_from_a_kernel_dump() {
    let links = fixture_links();
    let summary: Vec<LinkSummary<'_>> = links
        .iter()
        .map(|l| (l.index, l.name.as_str(), l.kind, l.is_up(), l.carrier, l.mtu, l.mac.as_deref(), l.link))
        .collect();
    #[rustfmt::skip]
    let want = [
        (1, "lo", InterfaceKind::Loopback, true, true, 65_536, Some("00:00:00:00:00:00"), None),
        (2, "veth1", InterfaceKind::Veth, true, true, 1500, Some("02:00:00:00:00:02"), Some(3)),
        (3, "veth0", InterfaceKind::Veth, true, true, 1500, Some("02:00:00:00:00:01"), Some(2)),
        (4, "tun0", InterfaceKind::Tun, false, false, 1400, None, None),
        (5, "tap0", InterfaceKind::Tap, false, false, 1500, Some("8a:39:6c:f2:22:d8"), None),
    ];
    assert_eq!(summary, want);
    assert_eq!(links[1].oper_state, OperState::Up);
    assert_eq!(links[3].oper_state, OperState::Down);
    assert_eq!(links[1].link_kind.as_deref(), Some("veth"));
    assert_eq!(links[2].stats.map(|s| (s.rx_bytes, s.tx_bytes, s.rx_packets)), Some((90, 110, 1)));
    assert!(links[3].flags.contains(LinkFlags::POINTOPOINT) && links[3].flags.contains(LinkFlags::NOARP));
}

#[test]
fn counters_from_a_kernel_dump() {
    let counters: Vec<(u32, u64)> = messages(LINKS)
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewLink(link_message) => link_counters(link_message),
            _ => None,
        })
        .map(|(index, stats)| (index, stats.tx_bytes))
        .collect();
    assert_eq!(counters, [(1, 0), (2, 90), (3, 110), (4, 0), (5, 0)]);
}

#[test]
fn addresses_from_a_kernel_dump() {
    let addresses = fixture_addresses();
    let summary: Vec<(u32, String, u8, AddressScope, AddressFlags)> = addresses
        .iter()
        .map(|(index, a)| (*index, a.address.to_string(), a.prefix_len, a.scope, a.flags))
        .collect();
    let permanent = AddressFlags::PERMANENT;
    let tentative = AddressFlags::PERMANENT.with(AddressFlags::TENTATIVE);
    #[rustfmt::skip]
    let want = [
        (1, "127.0.0.1".to_owned(), 8, AddressScope::Host, permanent),
        (3, "10.0.0.1".to_owned(), 24, AddressScope::Global, permanent),
        (1, "::1".to_owned(), 128, AddressScope::Host, permanent),
        (2, "fe80::ff:fe00:2".to_owned(), 64, AddressScope::Link, tentative),
        (3, "2001:db8::2".to_owned(), 64, AddressScope::Global, tentative),
        (3, "2001:db8::1".to_owned(), 64, AddressScope::Global, permanent.with(AddressFlags::NODAD)),
        (3, "fe80::ff:fe00:1".to_owned(), 64, AddressScope::Link, tentative),
    ];
    assert_eq!(summary, want);
    assert!(addresses.iter().all(|(_, a)| a.valid_lifetime_s.is_none() && a.preferred_lifetime_s.is_none()));
    assert_eq!(addresses[1].1.label.as_deref(), Some("veth0"));
}

#[test]
fn routes_from_a_kernel_dump() {
    let routes = fixture_routes();
    let default = routes.iter().find(|r| r.is_default() && r.family == AddressFamily::Ipv4);
    let default = default.map(|r| (r.table, r.gateway, r.interface_index, r.metric, r.protocol.as_str()));
    assert_eq!(default, Some((254, Some(v4("10.0.0.2")), Some(3), Some(100), "boot")));

    let summary: Vec<(u32, RouteType, String)> =
        routes.iter().map(|r| (r.table, r.route_type, r.destination_text())).collect();
    for want in [
        (100, RouteType::Blackhole, "10.9.0.0/16"),
        (254, RouteType::Unreachable, "10.8.0.0/16"),
        (254, RouteType::Unicast, "10.0.0.0/24"),
        (255, RouteType::Local, "10.0.0.1/32"),
        (255, RouteType::Broadcast, "10.0.0.255/32"),
        (254, RouteType::Unicast, "2001:db8::/64"),
        (255, RouteType::Multicast, "ff00::/8"),
        (255, RouteType::Local, "::1/128"),
    ] {
        assert!(summary.contains(&(want.0, want.1, want.2.to_owned())), "missing {want:?} in {summary:?}");
    }
    assert_eq!(routes.len(), 16);
    let connected = routes.iter().find(|r| r.destination_text() == "10.0.0.0/24");
    let connected = connected.map(|r| (r.source, r.scope, r.protocol.as_str()));
    assert_eq!(connected, Some((Some(v4("10.0.0.1")), AddressScope::Link, "kernel")));
}

#[test]
fn rules_from_a_kernel_dump() {
    let rules: Vec<(u32, u32, String, String)> = messages(RULES_V4)
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewRule(rule_message) => rule(rule_message),
            _ => None,
        })
        .map(|r| (r.priority, r.table, r.selector, r.action))
        .collect();
    let lookup = "lookup".to_owned();
    let all = "from all".to_owned();
    #[rustfmt::skip]
    let want = [
        (0, 255, all.clone(), lookup.clone()),
        (1000, 100, "from all fwmark 0x1/0xff".to_owned(), lookup.clone()),
        (1001, 0, "from 10.0.0.0/8 iif veth0".to_owned(), "unreachable".to_owned()),
        (32_766, 254, all.clone(), lookup.clone()),
        (32_767, 253, all, lookup),
    ];
    assert_eq!(rules, want);
}

#[test]
fn neighbours_from_a_kernel_dump_leave_out_no_arp_entries() {
    let neighbors: Vec<(u32, IpAddr, Option<String>, NeighborState)> = messages(NEIGHBOURS)
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewNeighbour(neighbour_message) => neighbor(neighbour_message),
            _ => None,
        })
        .map(|n| (n.interface_index, n.address, n.mac, n.state))
        .collect();
    assert_eq!(
        neighbors,
        [
            (3, v4("10.0.0.3"), Some("02:00:00:00:00:03".to_owned()), NeighborState::Stale),
            (3, v4("10.0.0.2"), Some("02:00:00:00:00:02".to_owned()), NeighborState::Permanent),
        ]
    );
}

#[test]
fn a_dump_assembles_into_one_table() {
    let neighbors = messages(NEIGHBOURS)
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewNeighbour(neighbour_message) => neighbor(neighbour_message),
            _ => None,
        })
        .collect();
    let mut addresses = fixture_addresses();
    // An address of an interface that vanished between the link and address dumps.
    addresses.push((42, addresses[0].1.clone()));
    let table = assemble(fixture_links(), addresses, fixture_routes(), Vec::new(), neighbors);

    let veth0 = table.interfaces.iter().find(|i| i.name == "veth0");
    let veth0_addresses: Vec<String> = veth0
        .map(|i| i.addresses.iter().map(|a| format!("{}/{}", a.address, a.prefix_len)).collect())
        .unwrap_or_default();
    assert_eq!(veth0_addresses, ["10.0.0.1/24", "2001:db8::2/64", "2001:db8::1/64", "fe80::ff:fe00:1/64"]);
    assert!(table.interfaces.iter().flat_map(|i| &i.addresses).all(|a| a.label.is_none()));
    assert_eq!(table.interfaces.iter().map(|i| i.addresses.len()).sum::<usize>(), 7);

    let default = table.routes.iter().find(|r| r.is_default());
    assert_eq!(default.and_then(|r| r.interface.as_deref()), Some("veth0"));
    let blackhole = table.routes.iter().find(|r| r.route_type == RouteType::Blackhole);
    assert_eq!(blackhole.map(|r| r.interface.as_deref()), Some(None));
    assert!(table.neighbors.iter().all(|n| n.interface == "veth0"));
}

fn address_message(family: NlFamily, ip: IpAddr, attributes: Vec<AddressAttribute>) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.family = family;
    message.header.index = 7;
    message.header.prefix_len = 64;
    message.attributes.push(AddressAttribute::Address(ip));
    message.attributes.extend(attributes);
    message
}

fn cache_info(valid: u32, preferred: u32) -> AddressAttribute {
    let mut info = CacheInfo::default();
    info.ifa_valid = valid;
    info.ifa_preferred = preferred;
    AddressAttribute::CacheInfo(info)
}

#[test]
fn address_flags_and_lifetimes() {
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9));
    let ip4 = v4("192.0.2.9");
    let flags = |bits| AddressAttribute::Flags(NlAddressFlags::from_bits_retain(bits));
    #[rustfmt::skip]
    let cases: Vec<AddressCase> = vec![
        ("IPv6 0x01 is temporary", address_message(NlFamily::Inet6, v6, vec![flags(0x01)]),
            AddressFlags::TEMPORARY, None, None),
        ("IPv4 0x01 is secondary", address_message(NlFamily::Inet, ip4, vec![flags(0x01)]),
            AddressFlags::SECONDARY, None, None),
        ("32-bit flags beyond the header byte", address_message(NlFamily::Inet6, v6, vec![flags(0x840)]),
            AddressFlags::TENTATIVE.with(AddressFlags::STABLE_PRIVACY), None, None),
        ("lifetimes in seconds", address_message(NlFamily::Inet6, v6, vec![cache_info(3600, 1800)]),
            AddressFlags::default(), Some(3600), Some(1800)),
        ("forever is none", address_message(NlFamily::Inet6, v6, vec![cache_info(u32::MAX, u32::MAX)]),
            AddressFlags::default(), None, None),
    ];
    for (name, message, want_flags, valid, preferred) in cases {
        let parsed = address(&message).map(|(_, a)| (a.flags, a.valid_lifetime_s, a.preferred_lifetime_s));
        assert_eq!(parsed, Some((want_flags, valid, preferred)), "{name}");
    }

    let mut header_only = address_message(NlFamily::Inet6, v6, Vec::new());
    header_only.header.flags = netlink_packet_route::address::AddressHeaderFlags::Tentative;
    assert_eq!(address(&header_only).map(|(_, a)| a.flags), Some(AddressFlags::TENTATIVE));
}

#[test]
fn point_to_point_addresses_use_the_local_side() {
    let message =
        address_message(NlFamily::Inet, v4("10.8.0.1"), vec![AddressAttribute::Local(v4("10.8.0.2"))]);
    assert_eq!(address(&message).map(|(index, a)| (index, a.address)), Some((7, v4("10.8.0.2"))));
    let other_family = address_message(NlFamily::Bridge, v4("10.8.0.1"), Vec::new());
    assert_eq!(address(&other_family), None);
}

fn link_message(name: &str, info: Vec<LinkInfo>) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = 9;
    message.header.flags = NlLinkFlags::Up;
    message.attributes.push(LinkAttribute::IfName(name.to_owned()));
    message.attributes.push(LinkAttribute::Mtu(1500));
    message.attributes.push(LinkAttribute::LinkInfo(info));
    message
}

#[test]
fn tun_type_in_link_info_decides_tun_or_tap() {
    let tun_info = |kind: u8| {
        vec![
            LinkInfo::Kind(InfoKind::Tun),
            LinkInfo::Data(InfoData::Tun(vec![InfoTun::Other(DefaultNla::new(IFLA_TUN_TYPE, vec![kind]))])),
        ]
    };
    let mut sysfs = no_sysfs();
    assert_eq!(
        link(&link_message("tap9", tun_info(2)), &mut sysfs).map(|l| l.kind),
        Some(InterfaceKind::Tap)
    );
    assert_eq!(
        link(&link_message("tun9", tun_info(1)), &mut sysfs).map(|l| l.kind),
        Some(InterfaceKind::Tun)
    );
}

#[test]
fn sysfs_tells_wifi_from_ethernet() {
    let sysfs =
        FakeSysfs::default().with("wlan0", "ifindex", "9\n").with("wlan0", "uevent", "DEVTYPE=wlan\n");
    let mut sysfs = SysfsCache::new(Box::new(sysfs));
    let mut message = link_message("wlan0", Vec::new());
    message.header.link_layer_type = netlink_packet_route::link::LinkLayerType::Ether;
    assert_eq!(link(&message, &mut sysfs).map(|l| l.kind), Some(InterfaceKind::Wifi));
    let mut renamed = link_message("eth1", Vec::new());
    renamed.header.link_layer_type = netlink_packet_route::link::LinkLayerType::Ether;
    assert_eq!(link(&renamed, &mut sysfs).map(|l| l.kind), Some(InterfaceKind::Ethernet));
}

#[test]
fn bridge_port_link_messages_are_not_links() {
    let mut message = link_message("veth0", Vec::new());
    message.header.interface_family = NlFamily::Bridge;
    assert_eq!(link(&message, &mut no_sysfs()), None);
    assert_eq!(link_identity(&message), None);
    let mut nameless = link_message("", Vec::new());
    nameless.attributes.retain(|attribute| !matches!(attribute, LinkAttribute::IfName(_)));
    assert_eq!(link(&nameless, &mut no_sysfs()), None);
    assert_eq!(link_identity(&nameless), Some((9, "if9".to_owned())));
}

#[test]
fn cloned_routes_are_skipped_and_multipath_uses_the_first_hop() {
    let mut cloned = RouteMessage::default();
    cloned.header.address_family = NlFamily::Inet6;
    cloned.header.flags = RouteFlags::Cloned;
    assert_eq!(route(&cloned), None);

    let mut hop = RouteNextHop::default();
    hop.interface_index = 4;
    hop.attributes.push(RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(192, 0, 2, 1))));
    let mut multipath = RouteMessage::default();
    multipath.header.address_family = NlFamily::Inet;
    multipath.header.table = 254;
    multipath.header.kind = NlRouteType::Unicast;
    multipath.attributes.push(RouteAttribute::MultiPath(vec![hop]));
    let parsed = route(&multipath).map(|r| (r.is_default(), r.gateway, r.interface_index));
    assert_eq!(parsed, Some((true, Some(v4("192.0.2.1")), Some(4))));
}

#[test]
fn protocol_names_follow_iproute2() {
    let names: Vec<String> = [2, 3, 4, 9, 16, 186, 77].into_iter().map(protocol_name).collect();
    assert_eq!(names, ["kernel", "boot", "static", "ra", "dhcp", "bgp", "77"]);
}

#[test]
fn proxy_and_no_arp_neighbours_are_left_out() {
    let mut message = NeighbourMessage::default();
    message.header.family = NlFamily::Inet;
    message.header.ifindex = 3;
    message.header.state = NeighbourState::Reachable;
    message
        .attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(Ipv4Addr::new(10, 0, 0, 5))));
    assert!(neighbor(&message).is_some_and(|n| n.mac.is_none() && n.state == NeighborState::Reachable));
    let mut proxy = message.clone();
    proxy.header.flags = NeighbourFlags::Proxy;
    assert_eq!(neighbor(&proxy), None);
    let mut noarp = message;
    noarp.header.state = NeighbourState::Noarp;
    assert_eq!(neighbor(&noarp), None);
}

#[test]
fn mac_text_is_lower_case_hex() {
    assert_eq!(mac_text(&[0x02, 0xAB, 0, 0, 0, 0x0f]).as_deref(), Some("02:ab:00:00:00:0f"));
    assert_eq!(mac_text(&[]), None);
}
