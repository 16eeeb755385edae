//! The scripted host's network: interfaces with their addresses, routes, policy
//! rules and neighbours.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{
    AddressFamily, AddressFlags, AddressScope, Interface, InterfaceAddress, InterfaceKind, LinkFlags,
    Neighbor, NeighborState, NetworkTable, OperState, Route, RouteType, Rule,
};

pub(super) fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(segments: [u16; 8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(segments))
}

pub(super) fn addr(
    address: IpAddr,
    prefix_len: u8,
    scope: AddressScope,
    flags: AddressFlags,
) -> InterfaceAddress {
    InterfaceAddress {
        address,
        prefix_len,
        family: AddressFamily::of(&address),
        scope,
        flags,
        valid_lifetime_s: if flags.contains(AddressFlags::PERMANENT) { None } else { Some(86_113) },
        preferred_lifetime_s: if flags.contains(AddressFlags::PERMANENT) { None } else { Some(14_113) },
        label: None,
    }
}

const UP_FLAGS: LinkFlags = LinkFlags(
    LinkFlags::UP.0
        | LinkFlags::BROADCAST.0
        | LinkFlags::RUNNING.0
        | LinkFlags::MULTICAST.0
        | LinkFlags::LOWER_UP.0,
);

pub(super) fn iface(index: u32, name: &str, kind: InterfaceKind, mac: Option<&str>) -> Interface {
    Interface {
        index,
        name: name.to_owned(),
        kind,
        link_kind: None,
        oper_state: OperState::Up,
        carrier: true,
        mtu: 1500,
        mac: mac.map(str::to_owned),
        flags: UP_FLAGS,
        master: None,
        link: None,
        addresses: Vec::new(),
        stats: None,
    }
}

/// The scripted host: a laptop on Wi-Fi and Ethernet with a `WireGuard` tunnel, a
/// container bridge and a veth pair.
#[must_use]
pub fn network() -> NetworkTable {
    NetworkTable { interfaces: interfaces(), routes: routes(), rules: rules(), neighbors: neighbors() }
}

fn interfaces() -> Vec<Interface> {
    let global = AddressScope::Global;
    let link = AddressScope::Link;
    let none = AddressFlags::default();

    let mut lo = iface(1, "lo", InterfaceKind::Loopback, None);
    lo.mtu = 65_536;
    lo.oper_state = OperState::Unknown;
    lo.flags =
        LinkFlags(LinkFlags::UP.0 | LinkFlags::LOOPBACK.0 | LinkFlags::RUNNING.0 | LinkFlags::LOWER_UP.0);
    lo.addresses = vec![
        addr(v4(127, 0, 0, 1), 8, AddressScope::Host, AddressFlags::PERMANENT),
        addr(v6([0, 0, 0, 0, 0, 0, 0, 1]), 128, AddressScope::Host, AddressFlags::PERMANENT),
    ];

    let mut eth0 = iface(2, "eth0", InterfaceKind::Ethernet, Some("52:54:00:12:34:56"));
    eth0.addresses = vec![
        addr(v4(192, 168, 1, 23), 24, global, none),
        // Duplicate address detection still running: the default IPv6 path waits for it.
        addr(v6([0x2001, 0xdb8, 0x10, 0, 0x5054, 0xff, 0xfe12, 0x3456]), 64, global, AddressFlags::TENTATIVE),
        addr(v6([0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe12, 0x3456]), 64, link, AddressFlags::PERMANENT),
    ];

    let mut wlan0 = iface(3, "wlan0", InterfaceKind::Wifi, Some("a4:c3:f0:8e:21:07"));
    wlan0.addresses = vec![
        addr(v4(10, 20, 30, 41), 24, global, none),
        addr(
            v6([0x2001, 0xdb8, 0x20, 0, 0x1c2b, 0x9a3e, 0x77d1, 0x4f02]),
            64,
            global,
            AddressFlags::TEMPORARY,
        ),
        addr(
            v6([0x2001, 0xdb8, 0x20, 0, 0xa6c3, 0xf0ff, 0xfe8e, 0x2107]),
            64,
            global,
            AddressFlags::TENTATIVE,
        ),
    ];

    let mut wg0 = iface(4, "wg0", InterfaceKind::Wireguard, None);
    wg0.link_kind = Some("wireguard".into());
    wg0.mtu = 1420;
    wg0.oper_state = OperState::Unknown;
    wg0.flags = LinkFlags(
        LinkFlags::UP.0
            | LinkFlags::POINTOPOINT.0
            | LinkFlags::NOARP.0
            | LinkFlags::RUNNING.0
            | LinkFlags::LOWER_UP.0,
    );
    wg0.addresses = vec![addr(v4(10, 8, 0, 2), 32, global, AddressFlags::PERMANENT)];

    let mut docker0 = iface(5, "docker0", InterfaceKind::Bridge, Some("02:42:8f:3a:11:be"));
    docker0.link_kind = Some("bridge".into());
    docker0.oper_state = OperState::Down;
    docker0.carrier = false;
    docker0.flags = LinkFlags(LinkFlags::UP.0 | LinkFlags::BROADCAST.0 | LinkFlags::MULTICAST.0);
    docker0.addresses = vec![addr(v4(172, 17, 0, 1), 16, global, AddressFlags::PERMANENT)];

    let mut veth = iface(6, "veth-lab", InterfaceKind::Veth, Some("6e:1d:4b:90:aa:03"));
    veth.link_kind = Some("veth".into());
    veth.link = Some(7);
    veth.addresses = vec![addr(v4(10, 99, 0, 1), 30, global, AddressFlags::PERMANENT)];

    let mut tun0 = iface(8, "tun0", InterfaceKind::Tun, None);
    tun0.link_kind = Some("tun".into());
    tun0.oper_state = OperState::Down;
    tun0.carrier = false;
    tun0.flags = LinkFlags(LinkFlags::POINTOPOINT.0 | LinkFlags::NOARP.0 | LinkFlags::MULTICAST.0);

    vec![lo, eth0, wlan0, wg0, docker0, veth, tun0]
}

#[expect(clippy::too_many_arguments, reason = "a table of routes reads best as one call per row")]
fn route(
    family: AddressFamily,
    table: u32,
    route_type: RouteType,
    destination: IpAddr,
    prefix_len: u8,
    gateway: Option<IpAddr>,
    interface: Option<(&str, u32)>,
    source: Option<IpAddr>,
    metric: Option<u32>,
    protocol: &str,
    scope: AddressScope,
) -> Route {
    Route {
        family,
        table,
        route_type,
        destination,
        prefix_len,
        gateway,
        interface: interface.map(|(name, _)| name.to_owned()),
        interface_index: interface.map(|(_, index)| index),
        source,
        metric,
        protocol: protocol.to_owned(),
        scope,
    }
}

#[rustfmt::skip]
fn routes() -> Vec<Route> {
    use AddressFamily::{Ipv4, Ipv6};
    use RouteType::{Blackhole, Local, Unicast, Unreachable};
    let (global, link, host) = (AddressScope::Global, AddressScope::Link, AddressScope::Host);
    vec![
        route(Ipv4, 254, Unicast, v4(0, 0, 0, 0), 0, Some(v4(192, 168, 1, 1)), Some(("eth0", 2)), Some(v4(192, 168, 1, 23)), Some(100), "dhcp", global),
        route(Ipv4, 254, Unicast, v4(0, 0, 0, 0), 0, Some(v4(10, 20, 30, 1)), Some(("wlan0", 3)), Some(v4(10, 20, 30, 41)), Some(600), "dhcp", global),
        route(Ipv4, 254, Unicast, v4(10, 8, 0, 0), 24, None, Some(("wg0", 4)), None, None, "static", link),
        route(Ipv4, 254, Unicast, v4(10, 20, 30, 0), 24, None, Some(("wlan0", 3)), Some(v4(10, 20, 30, 41)), Some(600), "kernel", link),
        route(Ipv4, 254, Unicast, v4(10, 99, 0, 0), 30, None, Some(("veth-lab", 6)), Some(v4(10, 99, 0, 1)), None, "kernel", link),
        route(Ipv4, 254, Unicast, v4(172, 17, 0, 0), 16, None, Some(("docker0", 5)), Some(v4(172, 17, 0, 1)), None, "kernel", link),
        route(Ipv4, 254, Unicast, v4(192, 168, 1, 0), 24, None, Some(("eth0", 2)), Some(v4(192, 168, 1, 23)), Some(100), "kernel", link),
        route(Ipv4, 254, Blackhole, v4(203, 0, 113, 0), 24, None, None, None, None, "static", global),
        route(Ipv4, 51820, Unicast, v4(0, 0, 0, 0), 0, None, Some(("wg0", 4)), None, None, "static", link),
        route(Ipv4, 255, Local, v4(127, 0, 0, 1), 32, None, Some(("lo", 1)), Some(v4(127, 0, 0, 1)), None, "kernel", host),
        route(Ipv4, 255, Local, v4(192, 168, 1, 23), 32, None, Some(("eth0", 2)), Some(v4(192, 168, 1, 23)), None, "kernel", host),
        route(Ipv6, 254, Unicast, v6([0; 8]), 0, Some(v6([0xfe80, 0, 0, 0, 0, 0, 0, 1])), Some(("eth0", 2)), None, Some(1024), "ra", global),
        route(Ipv6, 254, Unicast, v6([0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0]), 64, None, Some(("eth0", 2)), None, Some(256), "ra", global),
        route(Ipv6, 254, Unicast, v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 64, None, Some(("eth0", 2)), None, Some(256), "kernel", global),
        route(Ipv6, 254, Unreachable, v6([0x2001, 0xdb8, 0xdead, 0, 0, 0, 0, 0]), 48, None, Some(("lo", 1)), None, Some(1024), "static", global),
    ]
}

fn rules() -> Vec<Rule> {
    use AddressFamily::{Ipv4, Ipv6};
    let rule = |family, priority, table, selector: &str| Rule {
        family,
        priority,
        table,
        selector: selector.to_owned(),
        action: "lookup".to_owned(),
    };
    vec![
        rule(Ipv4, 0, 255, "from all"),
        rule(Ipv4, 32_764, 254, "from all suppress_prefixlength 0"),
        rule(Ipv4, 32_765, 51_820, "not from all fwmark 0xca6c"),
        rule(Ipv4, 32_766, 254, "from all"),
        rule(Ipv4, 32_767, 253, "from all"),
        rule(Ipv6, 0, 255, "from all"),
        rule(Ipv6, 32_766, 254, "from all"),
    ]
}

fn neighbors() -> Vec<Neighbor> {
    let neighbor = |interface: &str, interface_index, address, mac: Option<&str>, state| Neighbor {
        interface: interface.to_owned(),
        interface_index,
        address,
        mac: mac.map(str::to_owned),
        state,
    };
    vec![
        neighbor("eth0", 2, v4(192, 168, 1, 1), Some("00:1a:2b:3c:4d:5e"), NeighborState::Reachable),
        neighbor("eth0", 2, v4(192, 168, 1, 40), Some("b8:27:eb:01:02:03"), NeighborState::Stale),
        neighbor(
            "eth0",
            2,
            v6([0xfe80, 0, 0, 0, 0, 0, 0, 1]),
            Some("00:1a:2b:3c:4d:5e"),
            NeighborState::Reachable,
        ),
        neighbor("wlan0", 3, v4(10, 20, 30, 1), Some("f0:9f:c2:aa:bb:cc"), NeighborState::Delay),
        neighbor("veth-lab", 6, v4(10, 99, 0, 2), None, NeighborState::Failed),
    ]
}
