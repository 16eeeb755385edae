//! The `kernel` section: the kernel's protocol counters with their rates, softnet,
//! socket statistics, the conntrack and file tables' fill and the ephemeral ports in
//! use per destination.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::model::{Conntrack, FileTable, PortRange, PortUse, SoftnetCpu};
use crate::store::{CounterTable, KernelState, ports_in_use};

/// Destinations listed in `ports.busiest`.
pub const BUSIEST_DESTINATIONS: usize = 10;

/// One counter: the kernel's value, and its growth per second over the last interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CounterDoc {
    /// The value as the kernel prints it (`nstat -a` shows the same).
    pub value: i64,
    /// Growth per second since the previous reading; `null` for the first reading and
    /// after a reset (the counter went back, the namespace was re-created).
    pub per_s: Option<f64>,
}

/// Ephemeral port use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortsDoc {
    /// `net.ipv4.ip_local_port_range`; `null` when unreadable.
    pub range: Option<PortRange>,
    /// Ports the range holds.
    pub size: u32,
    /// The destinations with the most ports in use, busiest first (at most 10).
    pub busiest: Vec<PortUse>,
}

/// The `kernel` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KernelSection {
    /// Seconds between the two readings the rates are measured over; `null` until
    /// there are two.
    pub interval_s: Option<f64>,
    /// `/proc/net/snmp` and `snmp6`, by `nstat`'s names (`TcpRetransSegs`).
    pub snmp: BTreeMap<String, CounterDoc>,
    /// `/proc/net/netstat` (`TcpExtListenOverflows`, `IpExtInOctets`, …).
    pub netstat: BTreeMap<String, CounterDoc>,
    /// `/proc/net/softnet_stat`, per CPU (host-wide: the kernel keeps no copy per namespace).
    pub softnet: Vec<SoftnetCpu>,
    /// `/proc/net/sockstat` and `sockstat6`, as `TCP.inuse`, `TCP6.inuse`, `sockets.used`.
    pub sockstat: BTreeMap<String, i64>,
    /// The conntrack table; `null` where conntrack is not loaded.
    pub conntrack: Option<Conntrack>,
    /// The host's file table; `null` when unreadable.
    pub files: Option<FileTable>,
    /// Ephemeral ports.
    pub ports: PortsDoc,
}

impl KernelSection {
    /// The section from the store's latest reading; `None` before the first one.
    #[must_use]
    pub fn new(store: &Store) -> Option<Self> {
        let state = store.kernel();
        let latest = state.latest()?;
        let busiest = latest.port_range.map_or_else(Vec::new, |range| {
            let mut uses = ports_in_use(store.connections(), range);
            uses.truncate(BUSIEST_DESTINATIONS);
            uses
        });
        Some(Self {
            interval_s: state.interval(),
            snmp: counters(state, CounterTable::Snmp, &latest.snmp),
            netstat: counters(state, CounterTable::Netstat, &latest.netstat),
            softnet: latest.softnet.clone(),
            sockstat: latest.sockstat.clone(),
            conntrack: latest.conntrack,
            files: latest.files,
            ports: PortsDoc {
                range: latest.port_range,
                size: latest.port_range.map_or(0, PortRange::size),
                busiest,
            },
        })
    }
}

fn counters(
    state: &KernelState,
    table: CounterTable,
    values: &BTreeMap<String, i64>,
) -> BTreeMap<String, CounterDoc> {
    values
        .iter()
        .map(|(name, &value)| (name.clone(), CounterDoc { value, per_s: state.per_second(table, name) }))
        .collect()
}
