//! Interfaces, their addresses and counters.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AddressFlags, LinkFlags};

/// The functional type of an interface (DESIGN.md §4): what it *is*, derived from the
/// link kind, the loopback flag, the hardware type and sysfs, most specific fact first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum InterfaceKind {
    /// The loopback device.
    Loopback,
    /// Wired Ethernet, or anything Ethernet-like with no more specific fact.
    Ethernet,
    /// 802.11 wireless.
    Wifi,
    /// Mobile broadband (WWAN).
    Cellular,
    /// One end of a virtual Ethernet pair.
    Veth,
    /// Layer-3 tunnel device (`tun`).
    Tun,
    /// Layer-2 tunnel device (`tap`).
    Tap,
    /// Software bridge.
    Bridge,
    /// 802.1Q VLAN.
    Vlan,
    /// Bonding master.
    Bond,
    /// `WireGuard` tunnel.
    Wireguard,
    /// Point-to-point protocol link.
    Ppp,
    /// Anything else.
    #[default]
    Other,
}

impl InterfaceKind {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Ethernet => "ethernet",
            Self::Wifi => "wifi",
            Self::Cellular => "cellular",
            Self::Veth => "veth",
            Self::Tun => "tun",
            Self::Tap => "tap",
            Self::Bridge => "bridge",
            Self::Vlan => "vlan",
            Self::Bond => "bond",
            Self::Wireguard => "wireguard",
            Self::Ppp => "ppp",
            Self::Other => "other",
        }
    }

    /// Whether traffic through this interface is tunnelled (DESIGN.md §5).
    #[must_use]
    pub const fn is_tunnel(self) -> bool {
        matches!(self, Self::Tun | Self::Wireguard | Self::Ppp)
    }
}

/// RFC 2863 operational state as the kernel reports it (`IF_OPER_*`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum OperState {
    /// Operational.
    Up,
    /// Not operational.
    Down,
    /// Waiting for an external event (e.g. 802.1X).
    Dormant,
    /// Down because a lower device is down.
    LowerLayerDown,
    /// Hardware missing.
    NotPresent,
    /// In test mode.
    Testing,
    /// The driver does not report a state (typical for loopback and tun).
    #[default]
    Unknown,
}

impl OperState {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Dormant => "dormant",
            Self::LowerLayerDown => "lowerlayerdown",
            Self::NotPresent => "notpresent",
            Self::Testing => "testing",
            Self::Unknown => "unknown",
        }
    }
}

/// Address family of an address, route or rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddressFamily {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl AddressFamily {
    /// The family of an address.
    #[must_use]
    pub const fn of(address: &IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }

    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
        }
    }
}

/// Scope of an address or route (`RT_SCOPE_*`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum AddressScope {
    /// Valid everywhere (`universe`).
    #[default]
    Global,
    /// Site-local (deprecated IPv6 scope).
    Site,
    /// Valid on this link only.
    Link,
    /// Valid on this host only.
    Host,
    /// Destination does not exist.
    Nowhere,
    /// A scope number without a name.
    Other,
}

impl AddressScope {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Site => "site",
            Self::Link => "link",
            Self::Host => "host",
            Self::Nowhere => "nowhere",
            Self::Other => "other",
        }
    }
}

/// One address held by an interface, with its flags and lifetimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceAddress {
    /// The address itself.
    pub address: IpAddr,
    /// Prefix length of the on-link network.
    pub prefix_len: u8,
    /// Family of `address`.
    pub family: AddressFamily,
    /// Scope of the address.
    pub scope: AddressScope,
    /// `IFA_F_*` flags (tentative, dadfailed, deprecated, temporary, permanent, …).
    pub flags: AddressFlags,
    /// Seconds the address stays valid; `None` means forever.
    pub valid_lifetime_s: Option<u32>,
    /// Seconds the address stays preferred as a source; `None` means forever.
    pub preferred_lifetime_s: Option<u32>,
    /// IPv4 label (`eth0:1`), when it differs from the interface name.
    pub label: Option<String>,
}

impl InterfaceAddress {
    /// Whether the kernel would use this address as a source: not tentative, not
    /// failed duplicate detection.
    #[must_use]
    pub fn is_usable(&self) -> bool {
        !self.flags.contains(AddressFlags::TENTATIVE) && !self.flags.contains(AddressFlags::DADFAILED)
    }
}

/// Cumulative interface counters (`IFLA_STATS64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceStats {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Packets dropped before sending.
    pub tx_dropped: u64,
}

/// Per-second rates derived from two counter samples.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct InterfaceRates {
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f64,
    /// Packets received per second.
    pub rx_packets_per_s: f64,
    /// Packets sent per second.
    pub tx_packets_per_s: f64,
}

/// A network interface as the kernel describes it, keyed by `index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Interface {
    /// Kernel interface index: the identity (names change; indexes do not).
    pub index: u32,
    /// Current name.
    pub name: String,
    /// Functional type.
    pub kind: InterfaceKind,
    /// Raw `IFLA_INFO_KIND` (e.g. `veth`, `tun`, `wireguard`), when the kernel gave one.
    pub link_kind: Option<String>,
    /// Operational state.
    pub oper_state: OperState,
    /// Whether the driver reports a carrier (`IFF_LOWER_UP`).
    pub carrier: bool,
    /// Maximum transmission unit.
    pub mtu: u32,
    /// Hardware address, lower-case hex with colons, if the link has one.
    pub mac: Option<String>,
    /// `IFF_*` flags.
    pub flags: LinkFlags,
    /// Index of the master device (bridge, bond), if enslaved.
    pub master: Option<u32>,
    /// Index of the lower or peer device (`IFLA_LINK`), if any.
    pub link: Option<u32>,
    /// Addresses held, IPv4 first, in kernel order within a family.
    pub addresses: Vec<InterfaceAddress>,
    /// Latest counters, if the source reports them.
    pub stats: Option<InterfaceStats>,
}

/// Link kinds (`IFLA_INFO_KIND`) of tunnels that have no functional kind of their
/// own: IP-in-IP, GRE, SIT, VTI, IPv6 tunnels, XFRM, and the overlay tunnels.
const TUNNEL_LINK_KINDS: [&str; 13] = [
    "ipip",
    "gre",
    "gretap",
    "erspan",
    "sit",
    "vti",
    "vti6",
    "ip6tnl",
    "ip6gre",
    "ip6gretap",
    "xfrm",
    "vxlan",
    "geneve",
];

impl Interface {
    /// Whether the interface is administratively up.
    #[must_use]
    pub const fn is_up(&self) -> bool {
        self.flags.contains(LinkFlags::UP)
    }

    /// Whether traffic leaving through this interface is tunnelled: tun, `WireGuard`,
    /// PPP, or a tunnel link kind (DESIGN.md §5: by the interface's kind alone; a
    /// policy table or a mark is no tunnel).
    #[must_use]
    pub fn leaves_through_tunnel(&self) -> bool {
        self.kind.is_tunnel()
            || self.link_kind.as_deref().is_some_and(|kind| TUNNEL_LINK_KINDS.contains(&kind))
    }
}
