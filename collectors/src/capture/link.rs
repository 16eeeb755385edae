//! Which interfaces to capture on, and how their frames begin.
//!
//! The interface list comes from pnet (`getifaddrs`, so it is the list of the network
//! namespace the caller runs in). pnet does not report the link type, so it comes from
//! sysfs — but `/sys/class/net` shows the namespace sysfs was mounted in, which need
//! not be ours: a sysfs entry is trusted only when its `ifindex` matches. Without one,
//! the framing is guessed: loopback and anything with a hardware address is Ethernet,
//! the rest (tun, `WireGuard`, PPP: no address) raw IP. Bond members and bridge ports
//! are left out: the bond or bridge carries the same host traffic, which would count
//! twice. Other link types (GRE, IPIP, SIT, radiotap…) are named in the status as not
//! captured.
//!
//! The capture engine sorts the interfaces out again whenever rtnetlink says a link or
//! an address changed, and opens and closes rings to match.

use std::path::Path;

use pnet::datalink::{self, NetworkInterface};
use pnet::ipnetwork::IpNetwork;

use super::flows::LocalAddresses;
use super::frame::Framing;

#[cfg(test)]
mod tests;

/// `ARPHRD_*` link types from `<linux/if_arp.h>`.
const ARPHRD_ETHER: u32 = 1;
const ARPHRD_PPP: u32 = 512;
const ARPHRD_RAWIP: u32 = 519;
const ARPHRD_LOOPBACK: u32 = 772;
const ARPHRD_NONE: u32 = 65534;

/// `IFF_SLAVE`: a bond member, whose traffic the bond itself shows.
const IFF_SLAVE: u32 = 0x800;

/// One interface to capture on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The interface, as pnet lists it.
    pub interface: NetworkInterface,
    /// How its frames begin.
    pub framing: Framing,
    /// Loopback: every packet passes twice, as sent and as received.
    pub loopback: bool,
}

/// The interfaces of this namespace, sorted out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Up interfaces to capture on.
    pub links: Vec<Link>,
    /// Up interfaces left out because their framing is unknown, as `name (link type N)`.
    pub unsupported: Vec<String>,
    /// This host's addresses, from every interface.
    pub locals: LocalAddresses,
}

/// What sysfs says about one interface, when it speaks for our namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysfsFacts {
    /// `ARPHRD_*` link type.
    pub link_type: u32,
    /// A bridge port: the bridge shows its host traffic.
    pub bridge_port: bool,
}

/// Read `/sys/class/net/NAME` under `sysfs_root`, if it describes this `index`.
#[must_use]
pub fn sysfs_facts(sysfs_root: &Path, name: &str, index: u32) -> Option<SysfsFacts> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let dir = sysfs_root.join("class/net").join(name);
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
    if read("ifindex")?.trim().parse::<u32>().ok()? != index {
        return None;
    }
    Some(SysfsFacts {
        link_type: read("type")?.trim().parse().ok()?,
        bridge_port: dir.join("brport").exists(),
    })
}

/// The current interfaces, sorted out; see [`plan`].
#[must_use]
pub fn inventory(sysfs_root: &Path) -> Inventory {
    let interfaces = datalink::interfaces();
    plan(&interfaces, |interface| sysfs_facts(sysfs_root, &interface.name, interface.index))
}

/// Decide what to capture among `interfaces`, with `facts` from sysfs where trusted.
pub fn plan(
    interfaces: &[NetworkInterface],
    facts: impl Fn(&NetworkInterface) -> Option<SysfsFacts>,
) -> Inventory {
    let mut inventory = Inventory::default();
    for interface in interfaces {
        for network in &interface.ips {
            inventory.locals.unicast.insert(network.ip());
            if let IpNetwork::V4(v4) = network
                && v4.prefix() < 31
            {
                inventory.locals.broadcast.insert(v4.broadcast());
            }
        }
        if !interface.is_up() || interface.index == 0 || interface.flags & IFF_SLAVE != 0 {
            continue;
        }
        let facts = facts(interface);
        if facts.is_some_and(|facts| facts.bridge_port) {
            continue;
        }
        let framing = match facts.map(|facts| facts.link_type) {
            Some(ARPHRD_ETHER | ARPHRD_LOOPBACK) => Framing::Ethernet,
            Some(ARPHRD_NONE | ARPHRD_PPP | ARPHRD_RAWIP) => Framing::RawIp,
            Some(other) => {
                inventory.unsupported.push(format!("{} (link type {other})", interface.name));
                continue;
            }
            None if interface.is_loopback() => Framing::Ethernet,
            None if interface.mac.is_some_and(|mac| !mac.is_zero()) => Framing::Ethernet,
            None => Framing::RawIp,
        };
        inventory.links.push(Link {
            interface: interface.clone(),
            framing,
            loopback: interface.is_loopback(),
        });
    }
    inventory.links.sort_by(|a, b| a.interface.name.cmp(&b.interface.name));
    inventory.unsupported.sort();
    inventory
}
