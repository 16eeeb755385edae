//! Scripted kernel counters: a healthy host's readings, growing second by second.

use crate::model::{Conntrack, FileTable, KernelCounters, PortRange, SoftnetCpu};

/// The reading `n` seconds into the script: counters grow at steady rates, nothing
/// drops or overflows.
#[must_use]
pub fn counters(n: u32) -> KernelCounters {
    let n = i64::from(n);
    let mut counters = KernelCounters { netns: 4_026_531_840, ..KernelCounters::default() };
    for (name, base, per_s) in [
        ("IpInReceives", 1_250_000, 420),
        ("IpOutRequests", 1_190_000, 390),
        ("TcpActiveOpens", 8_400, 3),
        ("TcpPassiveOpens", 1_210, 1),
        ("TcpCurrEstab", 23, 0),
        ("TcpInSegs", 1_020_000, 350),
        ("TcpOutSegs", 980_000, 330),
        ("TcpRetransSegs", 1_140, 0),
        ("TcpMaxConn", -1, 0),
        ("UdpInDatagrams", 52_000, 12),
        ("UdpOutDatagrams", 51_800, 12),
        ("UdpRcvbufErrors", 0, 0),
        ("Ip6InReceives", 310_000, 60),
        ("Ip6OutRequests", 296_000, 55),
    ] {
        counters.snmp.insert(name.to_owned(), base + per_s * n);
    }
    for (name, base, per_s) in [
        ("TcpExtListenOverflows", 0, 0),
        ("TcpExtListenDrops", 0, 0),
        ("TcpExtTCPTimeouts", 42, 0),
        ("TcpExtTCPSynRetrans", 17, 0),
        ("IpExtInOctets", 1_480_000_000, 460_000),
        ("IpExtOutOctets", 212_000_000, 41_000),
    ] {
        counters.netstat.insert(name.to_owned(), base + per_s * n);
    }
    let n = u64::try_from(n).unwrap_or(0);
    counters.softnet = (0..4)
        .map(|cpu| SoftnetCpu { cpu, processed: 2_400_000 + 110 * n, ..SoftnetCpu::default() })
        .collect();
    for (name, value) in
        [("sockets.used", 412), ("TCP.inuse", 19), ("TCP.tw", 4), ("UDP.inuse", 6), ("TCP6.inuse", 4)]
    {
        counters.sockstat.insert(name.to_owned(), value);
    }
    counters.conntrack = Some(Conntrack { count: 212, max: 262_144 });
    counters.files = Some(FileTable { allocated: 9_824, max: 9_223_372_036_854_775_807 });
    counters.port_range = Some(PortRange { low: 32768, high: 60999 });
    counters
}
