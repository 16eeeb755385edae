//! The Markdown report's Kernel section: the counters that explain most trouble
//! (drops, overflows, retransmissions, errors) with their rates, and how full the
//! kernel's tables are. Every counter is in the JSON export; the report keeps the
//! ones a person reads first.

use std::io::{self, Write};

use netlens_collectors::snapshot::KernelSection;

/// The counters the report lists, by `nstat` name, with what each means.
const TELLING: [(&str, &str); 14] = [
    ("TcpRetransSegs", "TCP segments retransmitted"),
    ("TcpExtTCPTimeouts", "TCP retransmission timeouts"),
    ("TcpExtTCPSynRetrans", "SYNs retransmitted"),
    ("TcpExtListenOverflows", "accept queue overflows"),
    ("TcpExtListenDrops", "SYNs dropped at a listener"),
    ("TcpAttemptFails", "connects that failed"),
    ("TcpEstabResets", "established connections reset"),
    ("UdpRcvbufErrors", "UDP datagrams dropped: receive buffer full"),
    ("UdpNoPorts", "UDP datagrams to a closed port"),
    ("Udp6RcvbufErrors", "UDP/IPv6 datagrams dropped: receive buffer full"),
    ("IpInDiscards", "IPv4 packets discarded on input"),
    ("IpOutNoRoutes", "IPv4 packets with no route"),
    ("Ip6OutNoRoutes", "IPv6 packets with no route"),
    ("IcmpInDestUnreachs", "ICMP destination unreachable received"),
];

/// Write the section (nothing before the kernel counters source has read once).
pub fn write(out: &mut dyn Write, kernel: Option<&KernelSection>) -> io::Result<()> {
    let Some(kernel) = kernel else { return Ok(()) };
    out.write_all(b"\n## Kernel\n\n")?;
    match kernel.interval_s {
        Some(interval) => writeln!(out, "Rates over the last {interval:.1} s between two readings.\n")?,
        None => writeln!(out, "One reading so far: no rates yet.\n")?,
    }
    out.write_all(b"| counter | meaning | value | per s |\n|---|---|---|---|\n")?;
    for (name, meaning) in TELLING {
        let Some(counter) = kernel.snmp.get(name).or_else(|| kernel.netstat.get(name)) else { continue };
        let rate = counter.per_s.map_or_else(|| "–".to_owned(), |per_s| format!("{per_s:.1}"));
        writeln!(out, "| `{name}` | {meaning} | {} | {rate} |", counter.value)?;
    }
    out.write_all(b"\n| table | in use | limit |\n|---|---|---|\n")?;
    match kernel.conntrack {
        Some(conntrack) => writeln!(out, "| conntrack | {} | {} |", conntrack.count, conntrack.max)?,
        None => writeln!(out, "| conntrack | not loaded | – |")?,
    }
    if let Some(files) = kernel.files {
        writeln!(out, "| file handles | {} | {} |", files.allocated, files.max)?;
    }
    let busiest = kernel.ports.busiest.first();
    let ports =
        busiest.map_or_else(|| "0".to_owned(), |port| format!("{} (to {})", port.in_use, port.remote));
    writeln!(out, "| ephemeral ports, busiest destination | {ports} | {} |", kernel.ports.size)?;
    let dropped: u64 = kernel.softnet.iter().map(|cpu| cpu.dropped).sum();
    let squeezed: u64 = kernel.softnet.iter().map(|cpu| cpu.time_squeeze).sum();
    writeln!(
        out,
        "\nsoftnet (host-wide, since boot): {dropped} frames dropped (backlog full), {squeezed} time squeezes over {} CPUs.",
        kernel.softnet.len()
    )
}
