//! Routes, policy rules and neighbours.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AddressFamily, AddressScope, Interface};

/// Route type (`RTN_*`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    /// A gateway or direct route.
    #[default]
    Unicast,
    /// Accept locally.
    Local,
    /// Accept locally as broadcast, send as broadcast.
    Broadcast,
    /// Accept locally as broadcast, send as unicast.
    Anycast,
    /// Multicast route.
    Multicast,
    /// Drop silently.
    Blackhole,
    /// Drop with ICMP host unreachable.
    Unreachable,
    /// Drop with ICMP administratively prohibited.
    Prohibit,
    /// Continue the lookup in another table.
    Throw,
    /// Network address translation rule.
    Nat,
    /// Unknown or unspecified type.
    Other,
}

impl RouteType {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unicast => "unicast",
            Self::Local => "local",
            Self::Broadcast => "broadcast",
            Self::Anycast => "anycast",
            Self::Multicast => "multicast",
            Self::Blackhole => "blackhole",
            Self::Unreachable => "unreachable",
            Self::Prohibit => "prohibit",
            Self::Throw => "throw",
            Self::Nat => "nat",
            Self::Other => "other",
        }
    }
}

/// One route of any table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    /// Address family.
    pub family: AddressFamily,
    /// Routing table id (254 main, 255 local, 253 default).
    pub table: u32,
    /// Route type.
    #[serde(rename = "type")]
    pub route_type: RouteType,
    /// Destination network address; `0.0.0.0` / `::` with `prefix_len` 0 for a default route.
    pub destination: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Next-hop gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface name, if any.
    pub interface: Option<String>,
    /// Output interface index, if any.
    #[serde(default)]
    pub interface_index: Option<u32>,
    /// Preferred source address (`prefsrc`).
    pub source: Option<IpAddr>,
    /// Priority (metric); lower wins.
    pub metric: Option<u32>,
    /// Who installed it: `kernel`, `boot`, `static`, `dhcp`, `ra`, … or a number.
    pub protocol: String,
    /// Route scope.
    pub scope: AddressScope,
}

impl Route {
    /// Whether this is a default route (prefix length 0).
    #[must_use]
    pub const fn is_default(&self) -> bool {
        self.prefix_len == 0
    }

    /// `destination/prefix_len`, or `default`.
    #[must_use]
    pub fn destination_text(&self) -> String {
        if self.is_default() {
            "default".to_owned()
        } else {
            format!("{}/{}", self.destination, self.prefix_len)
        }
    }

    /// The well-known name of a table id, or the number.
    #[must_use]
    pub fn table_name(table: u32) -> String {
        match table {
            253 => "default".to_owned(),
            254 => "main".to_owned(),
            255 => "local".to_owned(),
            other => other.to_string(),
        }
    }
}

/// A policy routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    /// Address family.
    pub family: AddressFamily,
    /// Priority (lower is evaluated first).
    pub priority: u32,
    /// Table consulted when the rule matches (0 for non-lookup actions).
    pub table: u32,
    /// The match, in `ip rule` syntax (`from all fwmark 0x1 iif eth0`).
    pub selector: String,
    /// What happens on a match: `lookup`, `blackhole`, `unreachable`, `prohibit`, `goto`, `nop`.
    pub action: String,
}

/// Neighbour cache state (`NUD_*`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum NeighborState {
    /// Resolution in progress.
    Incomplete,
    /// Confirmed reachable.
    Reachable,
    /// Valid but unconfirmed.
    Stale,
    /// Waiting before probing.
    Delay,
    /// Being probed.
    Probe,
    /// Resolution failed.
    Failed,
    /// No ARP needed.
    Noarp,
    /// Static entry.
    Permanent,
    /// No state.
    #[default]
    None,
}

impl NeighborState {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Reachable => "reachable",
            Self::Stale => "stale",
            Self::Delay => "delay",
            Self::Probe => "probe",
            Self::Failed => "failed",
            Self::Noarp => "noarp",
            Self::Permanent => "permanent",
            Self::None => "none",
        }
    }

    /// Whether traffic to this neighbour cannot currently be delivered.
    #[must_use]
    pub const fn is_unreachable(self) -> bool {
        matches!(self, Self::Failed | Self::Incomplete)
    }
}

/// A neighbour (ARP / NDP) cache entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Neighbor {
    /// Interface name.
    pub interface: String,
    /// Interface index.
    #[serde(default)]
    pub interface_index: u32,
    /// The neighbour's IP address.
    pub address: IpAddr,
    /// Its link-layer address, if resolved.
    pub mac: Option<String>,
    /// Cache state.
    pub state: NeighborState,
}

/// One complete, consistent read of the kernel's network state.
///
/// Sources send this as one event after a (debounced) re-read, so the store never
/// mixes halves of two reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct NetworkTable {
    /// Every interface with its addresses and counters.
    pub interfaces: Vec<Interface>,
    /// Routes of every table, both families.
    pub routes: Vec<Route>,
    /// Policy rules, both families.
    pub rules: Vec<Rule>,
    /// Neighbour cache entries.
    pub neighbors: Vec<Neighbor>,
}
