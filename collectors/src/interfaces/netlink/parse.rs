//! rtnetlink messages → the domain model. Each function takes one message and
//! returns `None` for what netlens does not track (other families, cloned routes,
//! proxy and no-ARP neighbour entries), never an error: an odd message is skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::Nla;
use netlink_packet_route::AddressFamily as NlFamily;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoData, InfoTun, LinkAttribute, LinkInfo, LinkMessage, State};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType as NlRouteType};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};

use crate::model::{
    AddressFamily, AddressFlags, AddressScope, Interface, InterfaceAddress, InterfaceStats, LinkFlags,
    Neighbor, NeighborState, OperState, Route, RouteType, Rule,
};

use super::super::kind::{KindFacts, functional_kind};
use super::super::sysfs::SysfsCache;

/// `IFLA_TUN_TYPE` inside a tun device's `IFLA_INFO_DATA`.
const IFLA_TUN_TYPE: u16 = 3;
/// `RTM_F_CLONED`: a cached route (PMTU exception), not part of any table.
const RTM_F_CLONED: u32 = 0x200;
/// The kernel's "forever" lifetime in `IFA_CACHEINFO`.
const INFINITY_LIFE_TIME: u32 = u32::MAX;
/// The IPv6 meaning of `IFA_F_SECONDARY` (see `model::AddressFlags`).
const IFA_F_TEMPORARY: u32 = 0x01;

const fn family(family: NlFamily) -> Option<AddressFamily> {
    match family {
        NlFamily::Inet => Some(AddressFamily::Ipv4),
        NlFamily::Inet6 => Some(AddressFamily::Ipv6),
        _ => None,
    }
}

/// A link-layer address as lower-case hex with colons.
pub(crate) fn mac_text(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let parts: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Some(parts.join(":"))
}

const fn oper_state(state: State) -> OperState {
    match state {
        State::Up => OperState::Up,
        State::Down => OperState::Down,
        State::Dormant => OperState::Dormant,
        State::LowerLayerDown => OperState::LowerLayerDown,
        State::NotPresent => OperState::NotPresent,
        State::Testing => OperState::Testing,
        _ => OperState::Unknown,
    }
}

/// `IFLA_TUN_TYPE` (`IFF_TUN` / `IFF_TAP`) from a tun device's link info.
fn tun_type(infos: &[LinkInfo]) -> Option<u32> {
    infos.iter().find_map(|info| match info {
        LinkInfo::Data(InfoData::Tun(attributes)) => {
            attributes.iter().find_map(|attribute| match attribute {
                InfoTun::Other(nla) if nla.kind() == IFLA_TUN_TYPE => {
                    let mut value = vec![0; nla.value_len()];
                    nla.emit_value(&mut value);
                    value.first().map(|byte| u32::from(*byte))
                }
                _ => None,
            })
        }
        _ => None,
    })
}

/// Counters from `IFLA_STATS64`, else the 32-bit `IFLA_STATS`.
fn stats(attributes: &[LinkAttribute]) -> Option<InterfaceStats> {
    let stats64 = attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::Stats64(s) => Some(InterfaceStats {
            rx_bytes: s.rx_bytes,
            tx_bytes: s.tx_bytes,
            rx_packets: s.rx_packets,
            tx_packets: s.tx_packets,
            rx_errors: s.rx_errors,
            tx_errors: s.tx_errors,
            rx_dropped: s.rx_dropped,
            tx_dropped: s.tx_dropped,
        }),
        _ => None,
    });
    stats64.or_else(|| {
        attributes.iter().find_map(|attribute| match attribute {
            LinkAttribute::Stats(s) => Some(InterfaceStats {
                rx_bytes: s.rx_bytes.into(),
                tx_bytes: s.tx_bytes.into(),
                rx_packets: s.rx_packets.into(),
                tx_packets: s.tx_packets.into(),
                rx_errors: s.rx_errors.into(),
                tx_errors: s.tx_errors.into(),
                rx_dropped: s.rx_dropped.into(),
                tx_dropped: s.tx_dropped.into(),
            }),
            _ => None,
        })
    })
}

/// A link message (`AF_UNSPEC` only: `AF_BRIDGE` ones describe bridge ports and a
/// `DELLINK` of that family does not mean the device is gone).
pub(crate) fn link(message: &LinkMessage, sysfs: &mut SysfsCache) -> Option<Interface> {
    if message.header.interface_family != NlFamily::Unspec {
        return None;
    }
    let flags = LinkFlags(message.header.flags.bits());
    let mut interface = Interface {
        index: message.header.index,
        flags,
        carrier: flags.contains(LinkFlags::LOWER_UP),
        ..Interface::default()
    };
    let mut infos: &[LinkInfo] = &[];
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => interface.name.clone_from(name),
            LinkAttribute::Mtu(mtu) => interface.mtu = *mtu,
            LinkAttribute::Address(bytes) => interface.mac = mac_text(bytes),
            LinkAttribute::OperState(state) => interface.oper_state = oper_state(*state),
            LinkAttribute::Controller(index) => interface.master = Some(*index),
            LinkAttribute::Link(index) => interface.link = Some(*index),
            LinkAttribute::LinkInfo(list) => infos = list,
            _ => {}
        }
    }
    if interface.name.is_empty() {
        return None;
    }
    interface.link_kind = infos.iter().find_map(|info| match info {
        LinkInfo::Kind(kind) => Some(kind.to_string()),
        _ => None,
    });
    interface.stats = stats(&message.attributes);
    let facts = KindFacts {
        link_kind: interface.link_kind.as_deref(),
        tun_type: tun_type(infos),
        loopback: flags.contains(LinkFlags::LOOPBACK),
        arphrd: Some(message.header.link_layer_type.into()),
        sysfs: sysfs.facts(interface.index, &interface.name),
    };
    interface.kind = functional_kind(&facts);
    Some(interface)
}

/// Just the index and counters of a link message, for the periodic stats poll.
pub(crate) fn link_counters(message: &LinkMessage) -> Option<(u32, InterfaceStats)> {
    if message.header.interface_family != NlFamily::Unspec {
        return None;
    }
    stats(&message.attributes).map(|stats| (message.header.index, stats))
}

/// The index and name a `DELLINK` names.
pub(crate) fn link_identity(message: &LinkMessage) -> Option<(u32, String)> {
    if message.header.interface_family != NlFamily::Unspec {
        return None;
    }
    let name = message.attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::IfName(name) => Some(name.clone()),
        _ => None,
    });
    Some((message.header.index, name.unwrap_or_else(|| format!("if{}", message.header.index))))
}

const fn scope(scope: u8) -> AddressScope {
    match scope {
        0 => AddressScope::Global,
        200 => AddressScope::Site,
        253 => AddressScope::Link,
        254 => AddressScope::Host,
        255 => AddressScope::Nowhere,
        _ => AddressScope::Other,
    }
}

/// `IFA_F_*` bits into the model's flags, moving IPv6's "temporary" bit aside.
pub(crate) const fn address_flags(bits: u32, family: AddressFamily) -> AddressFlags {
    match family {
        AddressFamily::Ipv6 if bits & IFA_F_TEMPORARY != 0 => {
            AddressFlags((bits & !IFA_F_TEMPORARY) | AddressFlags::TEMPORARY.0)
        }
        _ => AddressFlags(bits),
    }
}

/// A kernel lifetime in seconds; `None` for forever.
const fn lifetime(seconds: u32) -> Option<u32> {
    if seconds == INFINITY_LIFE_TIME { None } else { Some(seconds) }
}

/// An address message: the interface index and the address.
pub(crate) fn address(message: &AddressMessage) -> Option<(u32, InterfaceAddress)> {
    let family = family(message.header.family)?;
    let mut local = None;
    let mut peer = None;
    let mut flags = None;
    let mut label = None;
    let mut lifetimes = (None, None);
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => peer = Some(*ip),
            AddressAttribute::Flags(bits) => flags = Some(bits.bits()),
            AddressAttribute::Label(text) => label = Some(text.clone()),
            AddressAttribute::CacheInfo(info) => {
                lifetimes = (lifetime(info.ifa_valid), lifetime(info.ifa_preferred));
            }
            _ => {}
        }
    }
    // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
    let address = local.or(peer)?;
    // IFA_FLAGS carries all 32 bits; the header byte only the low eight.
    let bits = flags.unwrap_or_else(|| u32::from(message.header.flags.bits()));
    Some((
        message.header.index,
        InterfaceAddress {
            address,
            prefix_len: message.header.prefix_len,
            family,
            scope: scope(message.header.scope.into()),
            flags: address_flags(bits, family),
            valid_lifetime_s: lifetimes.0,
            preferred_lifetime_s: lifetimes.1,
            label,
        },
    ))
}

/// The model's route type of a kernel `RTN_*` type.
pub(crate) const fn route_type(kind: NlRouteType) -> RouteType {
    match kind {
        NlRouteType::Unicast => RouteType::Unicast,
        NlRouteType::Local => RouteType::Local,
        NlRouteType::Broadcast => RouteType::Broadcast,
        NlRouteType::Anycast => RouteType::Anycast,
        NlRouteType::Multicast => RouteType::Multicast,
        NlRouteType::BlackHole => RouteType::Blackhole,
        NlRouteType::Unreachable => RouteType::Unreachable,
        NlRouteType::Prohibit => RouteType::Prohibit,
        NlRouteType::Throw => RouteType::Throw,
        NlRouteType::Nat => RouteType::Nat,
        _ => RouteType::Other,
    }
}

/// `rtprot` names as `ip route` prints them, else the number.
pub(crate) fn protocol_name(protocol: u8) -> String {
    match protocol {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        other => return other.to_string(),
    }
    .to_owned()
}

const fn route_ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(*ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

const fn unspecified(family: AddressFamily) -> IpAddr {
    match family {
        AddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// A route message. A multipath route is described by its first next hop.
pub(crate) fn route(message: &RouteMessage) -> Option<Route> {
    let header = &message.header;
    let family = family(header.address_family)?;
    if header.flags.bits() & RTM_F_CLONED != 0 {
        return None;
    }
    let mut route = Route {
        family,
        table: u32::from(header.table),
        route_type: route_type(header.kind),
        destination: unspecified(family),
        prefix_len: header.destination_prefix_length,
        gateway: None,
        interface: None,
        interface_index: None,
        source: None,
        metric: None,
        protocol: protocol_name(header.protocol.into()),
        scope: scope(header.scope.into()),
    };
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Destination(address) => {
                route.destination = route_ip(address).unwrap_or(route.destination);
            }
            RouteAttribute::Gateway(address) => route.gateway = route_ip(address),
            RouteAttribute::Oif(index) => route.interface_index = Some(*index),
            RouteAttribute::PrefSource(address) => route.source = route_ip(address),
            RouteAttribute::Priority(metric) => route.metric = Some(*metric),
            RouteAttribute::MultiPath(hops) => {
                if let Some(hop) = hops.first() {
                    route.interface_index = route.interface_index.or(Some(hop.interface_index));
                    route.gateway = route.gateway.or_else(|| {
                        hop.attributes.iter().find_map(|attribute| match attribute {
                            RouteAttribute::Gateway(address) => route_ip(address),
                            _ => None,
                        })
                    });
                }
            }
            _ => {}
        }
    }
    Some(route)
}

fn ip_protocol_name(protocol: u8) -> String {
    match protocol {
        1 => "icmp".to_owned(),
        6 => "tcp".to_owned(),
        17 => "udp".to_owned(),
        58 => "ipv6-icmp".to_owned(),
        other => other.to_string(),
    }
}

fn port_range(start: u16, end: u16) -> String {
    if start == end { start.to_string() } else { format!("{start}-{end}") }
}

/// A policy rule, its match written the way `ip rule` prints it.
pub(crate) fn rule(message: &RuleMessage) -> Option<Rule> {
    let header = &message.header;
    let family = family(header.family)?;
    let mut priority = 0;
    let mut table = u32::from(header.table);
    let (mut source, mut destination) = (None, None);
    let (mut fwmark, mut mark_mask) = (None, None);
    let mut extra = Vec::new();
    for attribute in &message.attributes {
        match attribute {
            RuleAttribute::Priority(value) => priority = *value,
            RuleAttribute::Table(value) => table = *value,
            RuleAttribute::Source(ip) => source = Some(*ip),
            RuleAttribute::Destination(ip) => destination = Some(*ip),
            RuleAttribute::FwMark(value) => fwmark = Some(*value),
            RuleAttribute::FwMask(value) => mark_mask = Some(*value),
            RuleAttribute::Iifname(name) => extra.push(format!("iif {name}")),
            RuleAttribute::Oifname(name) => extra.push(format!("oif {name}")),
            RuleAttribute::UidRange(range) => extra.push(format!("uidrange {}-{}", range.start, range.end)),
            RuleAttribute::IpProtocol(protocol) => {
                extra.push(format!("ipproto {}", ip_protocol_name((*protocol).into())));
            }
            RuleAttribute::SourcePortRange(range) => {
                extra.push(format!("sport {}", port_range(range.start, range.end)));
            }
            RuleAttribute::DestinationPortRange(range) => {
                extra.push(format!("dport {}", port_range(range.start, range.end)));
            }
            RuleAttribute::L3MDev(true) => extra.push("l3mdev".to_owned()),
            // wg-quick's `lookup main suppress_prefixlength 0`: what decides whether the
            // LAN stays outside a full tunnel. The kernel reports -1 for "none".
            RuleAttribute::SuppressPrefixLen(length) if *length != u32::MAX => {
                extra.push(format!("suppress_prefixlength {length}"));
            }
            _ => {}
        }
    }
    // `ip rule` order: not, from, to, tos, fwmark, then the rest.
    let mut words = Vec::new();
    if header.flags.contains(RuleFlags::Invert) {
        words.push("not".to_owned());
    }
    words.push(source.map_or_else(|| "from all".to_owned(), |ip| format!("from {ip}/{}", header.src_len)));
    if let Some(ip) = destination {
        words.push(format!("to {ip}/{}", header.dst_len));
    }
    if header.tos != 0 {
        words.push(format!("tos 0x{:02x}", header.tos));
    }
    if let Some(fwmark) = fwmark {
        words.push(match mark_mask {
            Some(mark_mask) if mark_mask != u32::MAX => format!("fwmark {fwmark:#x}/{mark_mask:#x}"),
            _ => format!("fwmark {fwmark:#x}"),
        });
    }
    words.extend(extra);
    let selector = words.join(" ");
    let action = match header.action {
        RuleAction::ToTable => "lookup",
        RuleAction::Goto => "goto",
        RuleAction::Nop => "nop",
        RuleAction::Blackhole => "blackhole",
        RuleAction::Unreachable => "unreachable",
        RuleAction::Prohibit => "prohibit",
        _ => "unspec",
    };
    Some(Rule { family, priority, table, selector, action: action.to_owned() })
}

const fn neighbor_state(state: NeighbourState) -> NeighborState {
    match state {
        NeighbourState::Incomplete => NeighborState::Incomplete,
        NeighbourState::Reachable => NeighborState::Reachable,
        NeighbourState::Stale => NeighborState::Stale,
        NeighbourState::Delay => NeighborState::Delay,
        NeighbourState::Probe => NeighborState::Probe,
        NeighbourState::Failed => NeighborState::Failed,
        NeighbourState::Noarp => NeighborState::Noarp,
        NeighbourState::Permanent => NeighborState::Permanent,
        _ => NeighborState::None,
    }
}

/// A neighbour entry, with its interface name left for the caller to fill in.
/// No-ARP entries (multicast, loopback) and proxy entries are left out, as
/// `ip neigh` does.
pub(crate) fn neighbor(message: &NeighbourMessage) -> Option<Neighbor> {
    let header = &message.header;
    family(header.family)?;
    if header.state == NeighbourState::Noarp || header.flags.contains(NeighbourFlags::Proxy) {
        return None;
    }
    let mut address = None;
    let mut mac = None;
    for attribute in &message.attributes {
        match attribute {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => address = Some(IpAddr::V4(*ip)),
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => address = Some(IpAddr::V6(*ip)),
            NeighbourAttribute::LinkLayerAddress(bytes) => mac = mac_text(bytes),
            _ => {}
        }
    }
    Some(Neighbor {
        interface: String::new(),
        interface_index: header.ifindex,
        address: address?,
        mac,
        state: neighbor_state(header.state),
    })
}

#[cfg(test)]
mod tests;
