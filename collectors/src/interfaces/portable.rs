//! The portable backend: polls `if-addrs` (addresses) and sysinfo (links and
//! counters) every refresh, fills the same model as rtnetlink would (without routes,
//! rules or neighbours), and reports the difference between consecutive polls.
//!
//! On Linux sysfs adds what those crates leave out (exact link flags, the hardware
//! type for the kind); elsewhere the flags are approximated from the operational state.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;

use sysinfo::{InterfaceOperationalState, Networks};
use tokio::time::MissedTickBehavior;

use crate::event::{Notice, Payload};
use crate::model::{
    AddressFamily, AddressFlags, AddressScope, Interface, InterfaceAddress, InterfaceStats, LinkFlags,
    NetworkTable, OperState, SourceState,
};
use crate::source::{EventSink, SourceError};

use super::InterfacesConfig;
use super::kind::{KindFacts, functional_kind};
use super::known::KnownState;
use super::sysfs::{self, SysfsView, SystemSysfs};

/// Indexes handed out to interfaces no source gave one, far above any real index.
const SYNTHETIC_INDEX_BASE: u32 = 1_000_000;

/// One address as `if-addrs` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddressSample {
    /// Interface name.
    pub interface: String,
    /// Interface index, where the platform gives one.
    pub index: Option<u32>,
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// A loopback address.
    pub loopback: bool,
}

/// One link as sysinfo reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkSample {
    /// Interface name.
    pub interface: String,
    /// Hardware address, unless unspecified.
    pub mac: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// Operational state.
    pub oper_state: OperState,
    /// Cumulative counters.
    pub stats: InterfaceStats,
}

/// Stable made-up indexes for interfaces without one, by name.
#[derive(Debug, Default)]
pub(crate) struct SyntheticIndexes {
    assigned: HashMap<String, u32>,
}

impl SyntheticIndexes {
    fn index_of(&mut self, name: &str) -> u32 {
        let next = SYNTHETIC_INDEX_BASE + self.assigned.len() as u32;
        *self.assigned.entry(name.to_owned()).or_insert(next)
    }
}

const fn oper_state(state: InterfaceOperationalState) -> OperState {
    match state {
        InterfaceOperationalState::Up => OperState::Up,
        InterfaceOperationalState::Down => OperState::Down,
        InterfaceOperationalState::Testing => OperState::Testing,
        InterfaceOperationalState::Dormant => OperState::Dormant,
        InterfaceOperationalState::NotPresent => OperState::NotPresent,
        InterfaceOperationalState::LowerLayerDown => OperState::LowerLayerDown,
        _ => OperState::Unknown,
    }
}

fn scope_of(address: &IpAddr, loopback: bool) -> AddressScope {
    match address {
        _ if loopback || address.is_loopback() => AddressScope::Host,
        IpAddr::V4(v4) if v4.is_link_local() => AddressScope::Link,
        IpAddr::V6(v6) if v6.is_unicast_link_local() => AddressScope::Link,
        _ => AddressScope::Global,
    }
}

/// Without sysfs: up and running when the link says it is operational.
fn approximate_flags(oper_state: OperState, loopback: bool) -> LinkFlags {
    let mut flags = match oper_state {
        OperState::Up => LinkFlags::UP.with(LinkFlags::RUNNING).with(LinkFlags::LOWER_UP),
        // Loopback and tun devices report "unknown" while up.
        OperState::Unknown if loopback => LinkFlags::UP.with(LinkFlags::RUNNING).with(LinkFlags::LOWER_UP),
        _ => LinkFlags::default(),
    };
    if loopback {
        flags = flags.with(LinkFlags::LOOPBACK);
    }
    flags
}

/// The link flags as `ip link` shows them: sysfs `flags` holds the configured ones,
/// and `carrier` says whether the kernel would add `LOWER_UP` and `RUNNING`.
fn sysfs_flags(sysfs: &dyn SysfsView, name: &str) -> Option<LinkFlags> {
    let text = sysfs.read(name, "flags")?;
    let text = text.trim();
    let flags = LinkFlags(u32::from_str_radix(text.strip_prefix("0x").unwrap_or(text), 16).ok()?);
    // Reading `carrier` fails while the link is down: no carrier then.
    let carrier = sysfs.read(name, "carrier").is_some_and(|text| text.trim() == "1");
    Some(if carrier && flags.contains(LinkFlags::UP) {
        flags.with(LinkFlags::LOWER_UP).with(LinkFlags::RUNNING)
    } else {
        flags
    })
}

/// One table from one poll of both crates.
pub(crate) fn assemble(
    addresses: &[AddressSample],
    links: &[LinkSample],
    sysfs: &dyn SysfsView,
    synthetic: &mut SyntheticIndexes,
) -> NetworkTable {
    let mut names: BTreeMap<&str, (Option<&LinkSample>, Vec<&AddressSample>)> = BTreeMap::new();
    for link in links {
        names.entry(link.interface.as_str()).or_default().0 = Some(link);
    }
    for address in addresses {
        names.entry(address.interface.as_str()).or_default().1.push(address);
    }
    let mut interfaces: Vec<Interface> = names
        .into_iter()
        .map(|(name, (link, samples))| {
            let sysfs_index = sysfs::index_of(sysfs, name);
            let index = samples
                .iter()
                .find_map(|sample| sample.index)
                .or(sysfs_index)
                .unwrap_or_else(|| synthetic.index_of(name));
            let facts = sysfs::facts(sysfs, name, Some(index));
            let oper_state = link.map_or(OperState::Unknown, |link| link.oper_state);
            let loopback = name == "lo" || samples.iter().any(|sample| sample.loopback);
            let trusted = sysfs_index == Some(index);
            let flags = trusted
                .then(|| sysfs_flags(sysfs, name))
                .flatten()
                .unwrap_or_else(|| approximate_flags(oper_state, loopback));
            let loopback = loopback || flags.contains(LinkFlags::LOOPBACK);
            let kind = functional_kind(&KindFacts {
                link_kind: None,
                tun_type: None,
                loopback,
                arphrd: None,
                sysfs: &facts,
            });
            let mut addresses: Vec<InterfaceAddress> = samples
                .iter()
                .map(|sample| InterfaceAddress {
                    address: sample.address,
                    prefix_len: sample.prefix_len,
                    family: AddressFamily::of(&sample.address),
                    scope: scope_of(&sample.address, sample.loopback),
                    flags: AddressFlags::default(),
                    valid_lifetime_s: None,
                    preferred_lifetime_s: None,
                    label: None,
                })
                .collect();
            addresses.sort_by_key(|address| address.family);
            Interface {
                index,
                name: name.to_owned(),
                kind,
                link_kind: None,
                oper_state,
                carrier: flags.contains(LinkFlags::LOWER_UP),
                mtu: link.map_or(0, |link| link.mtu),
                mac: link.and_then(|link| link.mac.clone()),
                flags,
                master: None,
                link: None,
                addresses,
                stats: link.map(|link| link.stats),
            }
        })
        .collect();
    interfaces.sort_by_key(|interface| interface.index);
    NetworkTable { interfaces, ..NetworkTable::default() }
}

/// The crates' state between polls.
struct Poller {
    networks: Networks,
    synthetic: SyntheticIndexes,
}

impl Poller {
    fn new() -> Result<Self, SourceError> {
        let networks = Networks::new_with_refreshed_list()
            .map_err(|error| SourceError::Other(format!("reading network interfaces (sysinfo): {error}")))?;
        Ok(Self { networks, synthetic: SyntheticIndexes::default() })
    }

    /// One poll; blocking (reads files and sockets), so it runs off the runtime.
    fn poll(&mut self) -> io::Result<NetworkTable> {
        let addresses: Vec<AddressSample> = if_addrs::get_if_addrs()?
            .into_iter()
            .map(|interface| AddressSample {
                loopback: interface.is_loopback(),
                address: interface.ip(),
                prefix_len: match &interface.addr {
                    if_addrs::IfAddr::V4(v4) => v4.prefixlen,
                    if_addrs::IfAddr::V6(v6) => v6.prefixlen,
                },
                index: interface.index,
                interface: interface.name,
            })
            .collect();
        self.networks.refresh(true);
        let links: Vec<LinkSample> = self
            .networks
            .iter()
            .map(|(name, data)| LinkSample {
                interface: name.to_string_lossy().into_owned(),
                mac: Some(data.mac_address()).filter(|mac| !mac.is_unspecified()).map(|mac| mac.to_string()),
                mtu: u32::try_from(data.mtu()).unwrap_or(u32::MAX),
                oper_state: oper_state(data.operational_state()),
                stats: InterfaceStats {
                    rx_bytes: data.total_received(),
                    tx_bytes: data.total_transmitted(),
                    rx_packets: data.total_packets_received(),
                    tx_packets: data.total_packets_transmitted(),
                    rx_errors: data.total_errors_on_received(),
                    tx_errors: data.total_errors_on_transmitted(),
                    rx_dropped: 0,
                    tx_dropped: 0,
                },
            })
            .collect();
        Ok(assemble(&addresses, &links, &SystemSysfs, &mut self.synthetic))
    }
}

/// What changed since the previous poll (nothing on the first), and the new state.
fn differences(previous: Option<KnownState>, table: &NetworkTable) -> (Vec<Notice>, KnownState) {
    let mut notices = Vec::new();
    if let Some(mut previous) = previous {
        for change in previous.changes_to(table) {
            previous.apply(change, &mut notices);
        }
    }
    (notices, KnownState::from_table(table))
}

/// The status line: which backend and why, then what it cannot know, so an empty
/// route list reads as "not read" rather than "none".
fn status_line(detail: &str) -> String {
    format!("{detail}; routes, rules and neighbours are not read (they need rtnetlink)")
}

/// Poll until the sink closes; `detail` is the status line (which backend and why).
pub(super) async fn run(
    config: &InterfacesConfig,
    detail: &str,
    sink: &EventSink,
) -> Result<(), SourceError> {
    sink.status(SourceState::Degraded, status_line(detail)).await?;
    let mut poller = tokio::task::spawn_blocking(Poller::new)
        .await
        .map_err(|error| SourceError::Other(format!("portable interface poll failed: {error}")))??;
    let mut known: Option<KnownState> = None;
    let mut tick = tokio::time::interval(config.refresh_period());
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (returned, outcome) = tokio::task::spawn_blocking(move || {
            let table = poller.poll();
            (poller, table)
        })
        .await
        .map_err(|error| SourceError::Other(format!("portable interface poll failed: {error}")))?;
        poller = returned;
        let mut table =
            outcome.map_err(|error| SourceError::io("listing interface addresses (if-addrs)", error))?;

        let (notices, now_known) = differences(known.take(), &table);
        known = Some(now_known);
        sink.notices(notices).await?;
        // Rates come from the Counters event; leaving the readings in the table too
        // would hand the store the same reading twice.
        let counters: Vec<_> = table
            .interfaces
            .iter_mut()
            .filter_map(|interface| interface.stats.take().map(|stats| (interface.index, stats)))
            .collect();
        sink.send(Payload::Network(table)).await?;
        sink.send(Payload::Counters(counters)).await?;
    }
}

#[cfg(test)]
mod tests;
