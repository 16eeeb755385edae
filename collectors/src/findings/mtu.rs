//! MTU rules: links whose MTUs disagree where the store can prove it (the two ends
//! of a veth pair, a bridge and its port, a tunnel and the device under it), and TCP
//! connections stuck on full-size segments that a path MTU black hole swallows.

use std::net::IpAddr;

use crate::Store;
use crate::clock::Mono;
use crate::model::{
    AddressFamily, Evidence, Interface, Protocol, Severity, SocketState, SourceId, SourceState,
};
use crate::store::{ConnectionEntry, CounterTable};

use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

/// `mtu_mismatch`: two links that carry the same frames disagree on their size.
pub const MTU_MISMATCH: Rule = Rule {
    id: "mtu_mismatch",
    family: "mtu",
    summary: "the two ends of a veth pair, a bridge and its port, or a tunnel and its lower device disagree on the MTU",
    // Setup scripts change MTUs one link at a time.
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: mtu_mismatch,
};

/// The least encapsulation overhead, in bytes, of a tunnel kind whose lower device
/// the kernel names (`IFLA_LINK`): the least, so a mismatch claimed is certain.
/// (VXLAN and Geneve keep their lower device in their own attributes, which the
/// store does not read.)
fn overhead(kind: &str) -> Option<u32> {
    Some(match kind {
        "ipip" | "sit" => 20,
        "gre" => 24,
        "gretap" => 38,
        "ip6tnl" => 40,
        "ip6gre" => 44,
        "ip6gretap" => 58,
        _ => return None,
    })
}

fn dropped(link: &Interface) -> Option<Evidence> {
    let stats = link.stats?;
    Some(Evidence::new(
        format!("{} rx / tx dropped", link.name),
        format!("{} / {}", stats.rx_dropped, stats.tx_dropped),
    ))
}

fn mtu_of(link: &Interface) -> Evidence {
    Evidence::new(format!("mtu of {}", link.name), link.mtu.to_string())
}

fn mtu_mismatch(store: &Store, _: &RuleConfig) -> Verdict {
    let known = store.source(SourceId::Interfaces).is_some_and(|s| s.status == SourceState::Ok);
    if !known || store.interface_count() == 0 {
        return Verdict::NotApplicable;
    }
    let links: Vec<&Interface> = store.interfaces().map(|e| &e.info).collect();
    let by_index = |index: u32| links.iter().copied().find(|l| l.index == index);
    let mut found = Vec::new();
    for &link in &links {
        let kind = link.link_kind.as_deref().unwrap_or("");
        // A veth's IFLA_LINK may be an index of another namespace: only a pair that
        // names each other is known to be one.
        if kind == "veth"
            && let Some(peer) = link.link.and_then(by_index)
            && peer.link == Some(link.index)
            && peer.link_kind.as_deref() == Some("veth")
            && link.name < peer.name
            && link.mtu != peer.mtu
        {
            found.push(veth_pair(link, peer));
        }
        if let Some(master) = link.master.and_then(by_index)
            && master.link_kind.as_deref() == Some("bridge")
            && link.mtu < master.mtu
        {
            found.push(bridge_port(link, master));
        }
        if let Some(bytes) = overhead(kind)
            && let Some(lower) = link.link.and_then(by_index).filter(|lower| lower.index != link.index)
            && link.mtu.saturating_add(bytes) > lower.mtu
        {
            found.push(tunnel(link, kind, bytes, lower));
        }
    }
    Verdict::Found(found)
}

fn veth_pair(link: &Interface, peer: &Interface) -> Candidate {
    let (big, small) = if link.mtu > peer.mtu { (link, peer) } else { (peer, link) };
    Candidate {
        subject: format!("{} ↔ {}", link.name, peer.name),
        severity: Severity::Warning,
        title: format!(
            "veth pair {} ↔ {}: MTU {} on {0}, {} on {1}",
            link.name, peer.name, link.mtu, peer.mtu
        ),
        evidence: [Some(mtu_of(link)), Some(mtu_of(peer)), dropped(big)].into_iter().flatten().collect(),
        cause: format!(
            "frames longer than {} bytes sent into {} reach {} over its MTU and are dropped (counted as {1}'s tx drops) with no ICMP error, so large datagrams vanish and path MTU discovery cannot help",
            small.mtu, big.name, small.name
        ),
        fix: format!("ip link set dev {} mtu {}  # both ends of a veth pair must agree", big.name, small.mtu),
    }
}

fn bridge_port(link: &Interface, master: &Interface) -> Candidate {
    Candidate {
        subject: link.name.clone(),
        severity: Severity::Warning,
        title: format!(
            "bridge port {} has MTU {}, its bridge {} {}",
            link.name, link.mtu, master.name, master.mtu
        ),
        evidence: [Some(mtu_of(master)), Some(mtu_of(link)), dropped(link)].into_iter().flatten().collect(),
        cause: format!(
            "the bridge forwards frames up to {} bytes, and {} drops those longer than {}",
            master.mtu, link.name, link.mtu
        ),
        fix: format!(
            "ip link set dev {} mtu {}  # or raise {} to {}",
            master.name, link.mtu, link.name, master.mtu
        ),
    }
}

fn tunnel(link: &Interface, kind: &str, bytes: u32, lower: &Interface) -> Candidate {
    let fits = lower.mtu.saturating_sub(bytes);
    Candidate {
        subject: link.name.clone(),
        severity: Severity::Warning,
        title: format!(
            "{kind} tunnel {} has MTU {}, but {} carries at most {fits} inside",
            link.name, link.mtu, lower.name
        ),
        evidence: vec![
            mtu_of(link),
            mtu_of(lower),
            Evidence::new(format!("{kind} encapsulation overhead (at least)"), format!("{bytes} bytes")),
        ],
        cause: format!(
            "packets up to {} bytes enter the tunnel but only {fits} fit in {} once encapsulated: the rest are fragmented or, with DF set, dropped with an ICMP error that firewalls often eat",
            link.mtu, lower.name
        ),
        fix: format!("ip link set dev {} mtu {fits}", link.name),
    }
}

/// `pmtu_blackhole`: TCP keeps retransmitting a full-size segment that is never
/// acknowledged, after smaller ones got through, and no ICMP says the path is narrower.
pub const PMTU_BLACKHOLE: Rule = Rule {
    id: "pmtu_blackhole",
    family: "mtu",
    summary: "full-size TCP segments are lost while small ones got through, and no ICMP \"fragmentation needed\" arrives",
    // The retransmission count already spans seconds.
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[
        Threshold {
            name: "timeouts",
            default: 3.0,
            doc: "retransmission timeouts in a row of a full-size segment (tcpi_retransmits) that open it",
        },
        Threshold {
            name: "recent_ack_s",
            default: 120.0,
            doc: "the connection must have had an ACK within this many seconds (small segments got through), in seconds",
        },
    ],
    evaluate: pmtu_blackhole,
};

/// The largest segment every path must carry: 576-byte IPv4 and 1280-byte IPv6
/// packets, less 40 and 60 bytes of headers.
const fn minimum_mss(family: AddressFamily) -> u32 {
    match family {
        AddressFamily::Ipv4 => 536,
        AddressFamily::Ipv6 => 1220,
    }
}

/// Whether a socket is stuck on a full-size segment after smaller ones passed, its
/// clocks aged to `now` (a socket read a while ago says "last ACK 2 s ago" about then).
fn stuck(entry: &ConnectionEntry, now: Mono, timeouts: f64, recent_ms: f64) -> bool {
    let socket = &entry.socket;
    if socket.tcp.is_none_or(|tcp| f64::from(tcp.retransmits) < timeouts) {
        return false;
    }
    let Some(tcp) = entry.clocks_at(now).1 else { return false };
    entry.closed_at.is_none()
        && socket.protocol == Protocol::Tcp
        && matches!(socket.state, SocketState::Established | SocketState::CloseWait)
        && !socket.remote.ip().is_loopback()
        && f64::from(tcp.retransmits) >= timeouts
        && tcp.mss > minimum_mss(socket.family)
        && socket.send_queue >= tcp.mss
        && tcp.bytes_acked.is_some_and(|acked| acked > 1)
        && f64::from(tcp.last_ack_recv_ms) <= recent_ms
}

fn pmtu_blackhole(store: &Store, config: &RuleConfig) -> Verdict {
    let kernel = store.kernel();
    let icmp4 = kernel.delta(CounterTable::Snmp, "IcmpInDestUnreachs");
    let icmp6 = kernel.delta(CounterTable::Snmp, "Icmp6InPktTooBigs");
    if icmp4.is_none() && icmp6.is_none() {
        return Verdict::NotApplicable;
    }
    let Some(now) = store.updated_mono() else { return Verdict::NotApplicable };
    let (timeouts, recent_ms) = (config.threshold("timeouts"), config.threshold("recent_ack_s") * 1000.0);
    let interval = kernel.interval().unwrap_or(0.0);
    let mut stuck_sockets: Vec<&ConnectionEntry> =
        store.connections().iter().filter(|e| stuck(e, now, timeouts, recent_ms)).collect();
    stuck_sockets.sort_by_key(|e| (e.socket.remote.ip(), e.socket.cookie));
    let mut found: Vec<Candidate> = Vec::new();
    for entry in stuck_sockets {
        let socket = &entry.socket;
        let remote: IpAddr = socket.remote.ip();
        let subject = remote.to_string();
        // Sorted by remote: a repeat of the peer just handled is the last candidate's.
        if found.last().is_some_and(|c| c.subject == subject) {
            continue;
        }
        // An ICMP error arriving means the path does speak; the black hole is its silence.
        let (counter, icmp) = match socket.family {
            AddressFamily::Ipv4 => ("IcmpInDestUnreachs", icmp4),
            AddressFamily::Ipv6 => ("Icmp6InPktTooBigs", icmp6),
        };
        if icmp != Some(0) {
            continue;
        }
        let Some(tcp) = socket.tcp else { continue };
        let who = super::facts::owner(store, entry);
        let mut evidence = vec![
            Evidence::new(
                format!("tcp {} → {}", socket.local, socket.remote),
                format!("{}, owner {who}", socket.state.as_str()),
            ),
            Evidence::new("mss / path MTU (tcp_info)", format!("{} / {} bytes", tcp.mss, tcp.pmtu)),
            Evidence::new(
                "timeouts in a row of the segment at the head (tcpi_retransmits)",
                tcp.retransmits.to_string(),
            ),
            Evidence::new("unacknowledged bytes (Send-Q)", socket.send_queue.to_string()),
            Evidence::new("bytes acknowledged before", tcp.bytes_acked.unwrap_or(0).to_string()),
            Evidence::new(
                "last ACK received",
                format!("{:.1} s ago", f64::from(tcp.last_ack_recv_ms) / 1000.0),
            ),
            Evidence::new(format!("{counter}, last {interval:.1} s"), "+0"),
        ];
        if let Some(failed) = kernel.delta(CounterTable::Netstat, "TcpExtTCPMTUPFail").filter(|d| *d > 0) {
            evidence.push(Evidence::new(
                format!("TcpExtTCPMTUPFail, last {interval:.1} s"),
                format!("+{failed}"),
            ));
        }
        let icmp_name = match socket.family {
            AddressFamily::Ipv4 => "ICMP \"fragmentation needed\" (type 3 code 4)",
            AddressFamily::Ipv6 => "ICMPv6 \"packet too big\" (type 2)",
        };
        // A peer that vanished (suspended, unplugged) looks the same from one socket;
        // another connection to it acknowledged just now, with no retransmission, says
        // small segments still pass.
        let alive = other_connection_answers(store, now, remote, socket.cookie);
        evidence.push(Evidence::new(
            format!("another connection to {remote} acknowledged in the last 5 s, none lost"),
            if alive { "yes" } else { "no" },
        ));
        let title = if alive {
            format!(
                "path MTU black hole towards {remote}: {}-byte segments are lost, smaller ones pass",
                tcp.mss
            )
        } else {
            format!(
                "{}-byte segments to {remote} are lost with no ICMP error: a path MTU black hole, or the peer stopped answering",
                tcp.mss
            )
        };
        found.push(Candidate {
            subject,
            severity: if alive { Severity::Critical } else { Severity::Warning },
            title,
            evidence,
            cause: format!(
                "a link on the way to {remote} carries less than {} bytes and the {icmp_name} that should say so never arrives (a firewall drops it), so TCP resends the same full-size segment forever",
                tcp.pmtu
            ),
            fix: format!(
                "sysctl -w net.ipv4.tcp_mtu_probing=1  # TCP then finds a size that passes; and let {icmp_name} through the firewalls on the way to {remote}"
            ),
        });
    }
    Verdict::Found(found)
}

/// Whether a connection to `remote` other than `cookie` had an ACK in the last 5 s
/// without a retransmission pending.
fn other_connection_answers(store: &Store, now: Mono, remote: IpAddr, cookie: u64) -> bool {
    store.connections().iter().any(|entry| {
        entry.closed_at.is_none()
            && entry.socket.cookie != cookie
            && entry.socket.remote.ip() == remote
            && entry.socket.protocol == Protocol::Tcp
            && entry.clocks_at(now).1.is_some_and(|tcp| tcp.retransmits == 0 && tcp.last_ack_recv_ms <= 5000)
    })
}

#[cfg(test)]
#[path = "mtu_tests.rs"]
mod tests;
