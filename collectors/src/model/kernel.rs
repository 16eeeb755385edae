//! The kernel's own protocol counters for the monitored namespace: one reading of
//! `/proc/net/{snmp,snmp6,netstat,softnet_stat,sockstat,sockstat6}`, the conntrack
//! table's fill, the file table's and the ephemeral port range.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One reading of every kernel counter file netlens follows, in the namespace of the
/// thread that read it. Counters are named as `nstat` names them: the table's prefix
/// and the field, run together (`TcpRetransSegs`, `TcpExtListenOverflows`,
/// `Ip6InReceives`), so a value can be checked against `nstat -az` directly.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct KernelCounters {
    /// Inode of the network namespace the reading came from: a different one means
    /// every counter started again (the namespace was re-created).
    pub netns: u64,
    /// `/proc/net/snmp` and `/proc/net/snmp6`: IP, ICMP, TCP, UDP per family. Signed,
    /// because the kernel prints `TcpMaxConn` as -1 (no limit).
    pub snmp: BTreeMap<String, i64>,
    /// `/proc/net/netstat`: `TcpExt`, `IpExt`, `MPTcpExt`.
    pub netstat: BTreeMap<String, i64>,
    /// `/proc/net/softnet_stat`, one row per CPU. The kernel keeps these per CPU, not
    /// per namespace: every namespace sees the host's.
    pub softnet: Vec<SoftnetCpu>,
    /// `/proc/net/sockstat` and `sockstat6`, as `TCP.inuse`, `TCP6.inuse`, `sockets.used`.
    pub sockstat: BTreeMap<String, i64>,
    /// The conntrack table's fill; `None` where conntrack is not loaded.
    pub conntrack: Option<Conntrack>,
    /// The file table (`/proc/sys/fs/file-nr`), host-wide; `None` when unreadable.
    pub files: Option<FileTable>,
    /// `net.ipv4.ip_local_port_range` of the namespace; `None` when unreadable.
    pub port_range: Option<PortRange>,
    /// `net.ipv4.conf.<name>.rp_filter` of every interface of the namespace, with
    /// `all` and `default`: 0 off, 1 strict, 2 loose. The kernel applies the larger of
    /// `all` and the interface's own value.
    pub rp_filter: BTreeMap<String, u8>,
}

impl KernelCounters {
    /// The reverse-path filter mode the kernel applies on `interface`: the larger of
    /// its own `rp_filter` and `all`'s; `None` when neither was read.
    #[must_use]
    pub fn effective_rp_filter(&self, interface: &str) -> Option<u8> {
        let own = self.rp_filter.get(interface).copied();
        let all = self.rp_filter.get("all").copied();
        own.max(all)
    }
}

/// One CPU's row of `/proc/net/softnet_stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SoftnetCpu {
    /// The CPU's number (the row's index on kernels that do not print it).
    pub cpu: u32,
    /// Frames taken off the backlog and processed.
    pub processed: u64,
    /// Frames dropped because the backlog queue was full (`netdev_max_backlog`).
    pub dropped: u64,
    /// Times the receive softirq ran out of budget or time with work left
    /// (`netdev_budget`, `netdev_budget_usecs`).
    pub time_squeeze: u64,
    /// Frames dropped by the flow limit (`flow_limit_cpu_bitmap`).
    pub flow_limit: u64,
}

/// The connection-tracking table's fill in the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Conntrack {
    /// Entries now (`net.netfilter.nf_conntrack_count`).
    pub count: u64,
    /// The table's limit (`net.netfilter.nf_conntrack_max`).
    pub max: u64,
}

/// The host's file table (`/proc/sys/fs/file-nr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FileTable {
    /// File handles allocated.
    pub allocated: u64,
    /// The limit (`fs.file-max`).
    pub max: u64,
}

/// The ephemeral port range (`net.ipv4.ip_local_port_range`, both families use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PortRange {
    /// First port.
    pub low: u16,
    /// Last port (inclusive).
    pub high: u16,
}

impl PortRange {
    /// How many ports the range holds.
    #[must_use]
    pub const fn size(self) -> u32 {
        if self.high < self.low { 0 } else { self.high as u32 - self.low as u32 + 1 }
    }

    /// Whether `port` is in the range.
    #[must_use]
    pub const fn contains(self, port: u16) -> bool {
        port >= self.low && port <= self.high
    }
}

/// Ephemeral ports in use towards one destination: the kernel picks a local port
/// unique per destination address and port, so a destination runs out on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortUse {
    /// `tcp` or `udp`.
    pub protocol: super::Protocol,
    /// The destination, `ip:port`.
    pub remote: std::net::SocketAddr,
    /// Open sockets to it whose local port is in the ephemeral range.
    pub in_use: u32,
}
