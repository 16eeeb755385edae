//! TCP rules: retransmission storms toward a peer, peers advertising a zero window,
//! connects nobody answers, `time_wait` pile-ups and the ephemeral port range used up
//! toward one destination.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::Store;
use crate::model::{Evidence, PortRange, Protocol, Severity, SocketState, TimerKind};
use crate::store::{ConnectionEntry, CounterTable, ports_in_use};

use super::facts::{growth, owner, owners, percent_of};
use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

#[path = "tcp_syn.rs"]
mod syn;
pub use syn::SYN_UNANSWERED;

const SECOND: time::Duration = time::Duration::SECOND;

/// `net.ipv4.ip_local_port_range` as evidence reads it: `32768 60999 (28232 ports)`.
fn range_text(range: PortRange) -> String {
    format!("{} {} ({} ports)", range.low, range.high, range.size())
}

/// A connection as a subject and in titles: `tcp 10.0.0.1:40312 → 10.0.0.2:80`.
fn connection(local: SocketAddr, remote: SocketAddr) -> String {
    format!("tcp {local} → {remote}")
}

/// An address with IPv4-mapped IPv6 written as IPv4, so one peer is one subject.
fn canonical(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(address.ip().to_canonical(), address.port())
}

/// A connection counts toward its peer's retransmitted share while it sent data
/// within this long (retransmissions included) or is recovering a loss now: a
/// connection idle for minutes says nothing about the path today.
const ACTIVE_WITHIN_MS: u32 = 10_000;

/// `tcp_retransmission_storm`: a large share of the segments sent to one peer are
/// retransmissions, and retransmitting goes on now.
pub const TCP_RETRANSMISSION_STORM: Rule = Rule {
    id: "tcp_retransmission_storm",
    family: "sockets",
    summary: "many of the TCP segments sent to one peer are retransmitted: packets to or from it are lost",
    debounce: time::Duration::seconds(2),
    hold: time::Duration::seconds(30),
    thresholds: &[
        Threshold {
            name: "percent",
            default: 5.0,
            doc: "retransmitted share of the segments sent to the peer over its active connections, in percent",
        },
        Threshold {
            name: "min_retransmits",
            default: 25.0,
            doc: "retransmitted segments to the peer over its active connections, at least",
        },
    ],
    evaluate: tcp_retransmission_storm,
};

/// What the active connections to one peer retransmitted.
#[derive(Default)]
struct PeerLoss<'a> {
    connections: Vec<(&'a ConnectionEntry, crate::model::TcpInfo)>,
    retransmitted: u64,
    sent: u64,
    recovering: bool,
}

fn tcp_retransmission_storm(store: &Store, config: &RuleConfig) -> Verdict {
    let (Some(now), Some(retransmitting)) =
        (store.updated_mono(), store.kernel().delta(CounterTable::Snmp, "TcpRetransSegs"))
    else {
        return Verdict::NotApplicable;
    };
    if !store.connections().has_data() {
        return Verdict::NotApplicable;
    }
    let mut peers: BTreeMap<IpAddr, PeerLoss<'_>> = BTreeMap::new();
    for entry in store.connections().iter() {
        let socket = &entry.socket;
        // Handshake retransmissions are `syn_unanswered`'s.
        if socket.protocol != Protocol::Tcp
            || matches!(
                socket.state,
                SocketState::Listen | SocketState::SynSent | SocketState::SynRecv | SocketState::NewSynRecv
            )
        {
            continue;
        }
        let (_, Some(tcp)) = entry.clocks_at(now) else { continue };
        let Some(segments) = tcp.segs_out else { continue };
        let recovering = entry.closed_at.is_none() && (tcp.retransmits > 0 || tcp.lost > 0);
        if tcp.last_send_ms > ACTIVE_WITHIN_MS && !recovering {
            continue;
        }
        let peer = peers.entry(socket.remote.ip().to_canonical()).or_default();
        peer.retransmitted += u64::from(tcp.total_retrans);
        peer.sent += u64::from(segments);
        peer.recovering |= recovering;
        peer.connections.push((entry, tcp));
    }
    let kernel = kernel_share(store);
    // Cumulative counts alone could be an old loss (an ssh session that crossed a bad
    // Wi-Fi an hour ago): the host retransmits that much now, or the peer's
    // connections are recovering a loss now.
    let host_now = store.kernel().delta(CounterTable::Snmp, "TcpOutSegs").is_some_and(|sent| {
        // A count as well as a share: one tail-loss probe in ten segments is 10 %.
        u64_at_least(retransmitting, config.threshold("min_retransmits"))
            && percent_of(retransmitting, sent) >= config.threshold("percent")
    });
    let candidates = peers
        .into_iter()
        .filter(|(_, loss)| {
            let share = percent_of(loss.retransmitted, loss.sent);
            (host_now || loss.recovering)
                && share >= config.threshold("percent")
                && u64_at_least(loss.retransmitted, config.threshold("min_retransmits"))
        })
        .map(|(peer, loss)| storm(store, config, peer, &loss, kernel.clone()))
        .collect();
    Verdict::Found(candidates)
}

/// Whether `count` reaches `threshold`.
#[expect(clippy::cast_precision_loss, reason = "comparing a count with a configured threshold")]
fn u64_at_least(count: u64, threshold: f64) -> bool {
    count as f64 >= threshold
}

/// The host's retransmitted share over the last interval, as evidence.
fn kernel_share(store: &Store) -> Option<Evidence> {
    let kernel = store.kernel();
    let retransmitted = kernel.delta(CounterTable::Snmp, "TcpRetransSegs")?;
    let sent = kernel.delta(CounterTable::Snmp, "TcpOutSegs")?;
    let interval = kernel.interval().unwrap_or(0.0);
    Some(Evidence::new(
        format!("TcpRetransSegs / TcpOutSegs, last {interval:.1} s (whole host)"),
        format!("+{retransmitted} / +{sent} ({:.1} %)", percent_of(retransmitted, sent)),
    ))
}

fn storm(
    store: &Store,
    config: &RuleConfig,
    peer: IpAddr,
    loss: &PeerLoss<'_>,
    kernel: Option<Evidence>,
) -> Candidate {
    let share = percent_of(loss.retransmitted, loss.sent);
    let who = owners(store, loss.connections.iter().map(|(entry, _)| *entry));
    let mut evidence = vec![Evidence::new(
        format!(
            "retransmitted / sent segments to {peer} (tcp_info over {} active connection{})",
            loss.connections.len(),
            if loss.connections.len() == 1 { "" } else { "s" }
        ),
        format!("{} / {} ({share:.1} %)", loss.retransmitted, loss.sent),
    )];
    evidence.extend(kernel);
    if let Some((entry, tcp)) = loss
        .connections
        .iter()
        .max_by_key(|(entry, tcp)| (tcp.total_retrans, std::cmp::Reverse(entry.socket.cookie)))
    {
        evidence.push(Evidence::new(
            format!(
                "most retransmitted: {} ({})",
                connection(entry.socket.local, entry.socket.remote),
                owner(store, entry)
            ),
            format!(
                "total_retrans {}, lost {}, retransmits in a row {}, rto {:.0} ms",
                tcp.total_retrans, tcp.lost, tcp.retransmits, tcp.rto_ms
            ),
        ));
    }
    evidence.push(Evidence::new("processes", who.clone()));
    Candidate {
        subject: format!("peer {peer}"),
        severity: if share >= 4.0 * config.threshold("percent") {
            Severity::Critical
        } else {
            Severity::Warning
        },
        title: format!("{share:.0} % of the TCP segments to {peer} are retransmitted"),
        evidence,
        cause: format!(
            "segments to {peer} (or its acknowledgements back) are lost on the way: a congested or faulty link, a lossy hop, or a shaper or firewall dropping; {who} waits for each retransmission"
        ),
        fix: format!(
            "mtr -rwc 50 {peer}  # find the hop that loses packets; ip -s link  # errors and drops on the way out"
        ),
    }
}

/// How many zero-window connections are named, most data waiting first.
const ZERO_WINDOWS_LISTED: usize = 20;

/// `tcp_zero_window`: a peer advertises a zero receive window while data waits for
/// it: the application at the other end stopped reading.
pub const TCP_ZERO_WINDOW: Rule = Rule {
    id: "tcp_zero_window",
    family: "sockets",
    summary: "a peer advertises a zero receive window and data waits: its application stopped reading",
    // A slow reader closes its window now and then; one that stays closed is stuck.
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(30),
    thresholds: &[],
    evaluate: tcp_zero_window,
};

fn tcp_zero_window(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(now) = store.updated_mono().filter(|_| store.connections().has_data()) else {
        return Verdict::NotApplicable;
    };
    let mut stuck: Vec<_> = store
        .connections()
        .iter()
        .filter(|entry| {
            entry.closed_at.is_none()
                && entry.socket.protocol == Protocol::Tcp
                && matches!(entry.socket.state, SocketState::Established | SocketState::CloseWait)
                // Cheap first: only these can be stuck; aging the clocks copies tcp_info.
                && (entry.socket.timer.is_some_and(|timer| timer.kind == TimerKind::ZeroWindowProbe)
                    || entry.socket.tcp.is_some_and(|tcp| tcp.snd_wnd == Some(0)))
        })
        .filter_map(|entry| {
            let (timer, tcp) = entry.clocks_at(now);
            let probing = timer.filter(|timer| timer.kind == TimerKind::ZeroWindowProbe);
            let closed = tcp.and_then(|tcp| tcp.snd_wnd) == Some(0) && entry.socket.send_queue > 0;
            (probing.is_some() || closed).then_some((entry, probing, tcp.and_then(|tcp| tcp.snd_wnd)))
        })
        .collect();
    // The ones named are the oldest sockets (lowest cookies), a choice that does not
    // change as queues move, so a finding near the cut does not open and close.
    stuck.sort_by_key(|(entry, ..)| entry.socket.cookie);
    stuck.truncate(ZERO_WINDOWS_LISTED);
    stuck.sort_by(|a, b| {
        b.0.socket.send_queue.cmp(&a.0.socket.send_queue).then(a.0.socket.cookie.cmp(&b.0.socket.cookie))
    });
    let probes = growth(store, CounterTable::Netstat, "TcpExtTCPWinProbe").filter(|(delta, _)| *delta > 0);
    let ours =
        growth(store, CounterTable::Netstat, "TcpExtTCPToZeroWindowAdv").filter(|(delta, _)| *delta > 0);
    Verdict::Found(
        stuck
            .into_iter()
            .map(|(entry, probing, window)| {
                let socket = &entry.socket;
                let (local, remote) = (canonical(socket.local), canonical(socket.remote));
                let who = owner(store, entry);
                let mut evidence = vec![
                    Evidence::new(
                        format!("receive window {remote} advertises (tcp_info snd_wnd)"),
                        window.map_or_else(|| "not reported".to_owned(), |window| format!("{window} bytes")),
                    ),
                    Evidence::new(
                        format!("bytes waiting to be sent (Send-Q of {local})"),
                        socket.send_queue.to_string(),
                    ),
                ];
                if let Some(timer) = probing {
                    // The kernel counts probes in a row only while they go unanswered.
                    let unanswered = if timer.retransmits > 0 {
                        format!(", {} probes unanswered", timer.retransmits)
                    } else {
                        String::new()
                    };
                    evidence.push(Evidence::new(
                        "zero-window probe timer",
                        format!("armed, next probe in {} ms{unanswered}", timer.expires_ms),
                    ));
                }
                evidence.extend(probes.iter().map(|(_, counter)| counter.clone()));
                evidence.extend(ours.iter().map(|(_, counter)| counter.clone()));
                evidence.push(Evidence::new("owner", who.clone()));
                Candidate {
                    subject: connection(local, remote),
                    severity: Severity::Warning,
                    title: format!("{remote} stopped reading: its receive window is zero and {who} cannot send"),
                    evidence,
                    cause: format!(
                        "the application at {remote} does not read its socket, so its receive buffer is full and {} bytes from {who} wait; TCP only probes the window until it opens",
                        socket.send_queue
                    ),
                    fix: format!(
                        "ss -tnp 'sport = :{}'  # on the host of {remote}: a full Recv-Q names the process that stopped reading; unblock or restart it",
                        remote.port()
                    ),
                }
            })
            .collect(),
    )
}

/// `time_wait_pileup`: so many sockets in `time_wait` that they hold a large share
/// of the ephemeral ports toward one destination, or a very large number host-wide.
pub const TIME_WAIT_PILEUP: Rule = Rule {
    id: "time_wait_pileup",
    family: "sockets",
    summary: "sockets in time_wait pile up: toward one destination they hold much of the ephemeral port range",
    debounce: time::Duration::seconds(2),
    hold: time::Duration::seconds(30),
    thresholds: &[
        Threshold {
            name: "count",
            default: 10_000.0,
            doc: "sockets in time_wait on the host (sockstat TCP.tw) that open it",
        },
        Threshold {
            name: "percent",
            default: 50.0,
            doc: "time_wait sockets toward one destination, as a share of ip_local_port_range, in percent",
        },
    ],
    evaluate: time_wait_pileup,
};

fn time_wait_pileup(store: &Store, config: &RuleConfig) -> Verdict {
    let latest = store.kernel().latest();
    let total = latest.and_then(|kernel| kernel.sockstat.get("TCP.tw")).copied();
    let range = latest.and_then(|kernel| kernel.port_range).filter(|range| range.size() > 0);
    let range = range.filter(|_| store.connections().has_data());
    if total.is_none() && range.is_none() {
        return Verdict::NotApplicable;
    }
    // Sockets in time_wait by destination: all of them, and those holding an ephemeral port.
    let mut waiting: BTreeMap<SocketAddr, (u64, Vec<&ConnectionEntry>)> = BTreeMap::new();
    for entry in store.connections().iter() {
        let socket = &entry.socket;
        if entry.closed_at.is_none()
            && socket.protocol == Protocol::Tcp
            && socket.state == SocketState::TimeWait
        {
            let slot = waiting.entry(canonical(socket.remote)).or_default();
            slot.0 += 1;
            if range.is_some_and(|range| range.contains(socket.local.port())) {
                slot.1.push(entry);
            }
        }
    }
    let busiest =
        waiting.iter().max_by_key(|(destination, (all, _))| (*all, std::cmp::Reverse(**destination)));
    let mut found = Vec::new();
    if let Some(total) = total.and_then(|total| u64::try_from(total).ok())
        && u64_at_least(total, config.threshold("count"))
    {
        let mut evidence =
            vec![Evidence::new("sockets in time_wait (TCP.tw, /proc/net/sockstat)", total.to_string())];
        if let Some((destination, (count, _))) = busiest {
            evidence.push(Evidence::new("most toward one destination", format!("{destination} ({count})")));
        }
        let overflow =
            growth(store, CounterTable::Netstat, "TcpExtTCPTimeWaitOverflow").filter(|(delta, _)| *delta > 0);
        evidence.extend(overflow.iter().map(|(_, counter)| counter.clone()));
        found.push(Candidate {
            subject: "time_wait".to_owned(),
            // Nothing fails yet, unless the kernel already ran out of time-wait buckets.
            severity: if overflow.is_some() { Severity::Warning } else { Severity::Info },
            title: format!("{total} TCP sockets are in time_wait"),
            evidence,
            cause: "this host opens and closes many short connections and closes first; each close keeps its socket in time_wait for 60 s".to_owned(),
            fix: "reuse connections (HTTP keep-alive, a connection pool); sysctl -w net.ipv4.tcp_tw_reuse=1  # lets new connects reuse time_wait ports".to_owned(),
        });
    }
    if let Some(range) = range {
        for (destination, (_, holding)) in &waiting {
            let held = holding.len() as u64;
            let share = percent_of(held, u64::from(range.size()));
            if share < config.threshold("percent") {
                continue;
            }
            // A time-wait remnant is a new socket without an inode: its owner is known
            // only when the BPF book saw the connect.
            let known = holding.iter().any(|entry| entry.pid.is_some());
            let who = if known { owners(store, holding.iter().copied()) } else { "this host".to_owned() };
            let mut evidence = vec![
                Evidence::new(
                    format!("sockets to {destination} in time_wait on an ephemeral port"),
                    held.to_string(),
                ),
                Evidence::new("net.ipv4.ip_local_port_range", range_text(range)),
                Evidence::new(
                    "sockets in time_wait on the host (TCP.tw)",
                    total.map_or_else(|| "not read".to_owned(), |total| total.to_string()),
                ),
            ];
            if known {
                evidence.push(Evidence::new("who made them", who.clone()));
            }
            found.push(Candidate {
                subject: format!("tcp {destination}"),
                severity: Severity::Warning,
                title: format!("{held} sockets to {destination} in time_wait hold {share:.0} % of the ephemeral ports"),
                evidence,
                cause: format!(
                    "{who} opens and closes connections to {destination} faster than time_wait (60 s) frees their ports, and closes first; when the range is used up toward it, connect() fails"
                ),
                fix: format!(
                    "reuse connections to {destination} (keep-alive, a pool); sysctl -w net.ipv4.tcp_tw_reuse=1; sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\""
                ),
            });
        }
    }
    Verdict::Found(found)
}

/// `ephemeral_ports_exhausted`: the sockets toward one destination hold nearly every
/// port of `ip_local_port_range`; when they hold all, `connect()` fails with
/// `EADDRNOTAVAIL`.
pub const EPHEMERAL_PORTS_EXHAUSTED: Rule = Rule {
    id: "ephemeral_ports_exhausted",
    family: "exhaustion",
    summary: "the ephemeral ports toward one destination are nearly used up; new connects to it fail when they are",
    debounce: SECOND,
    hold: time::Duration::seconds(30),
    thresholds: &[Threshold {
        name: "percent",
        default: 80.0,
        doc: "ports of ip_local_port_range in use toward one destination that open it, in percent",
    }],
    evaluate: ephemeral_ports_exhausted,
};

fn ephemeral_ports_exhausted(store: &Store, config: &RuleConfig) -> Verdict {
    let range = store.kernel().latest().and_then(|kernel| kernel.port_range).filter(|range| range.size() > 0);
    let Some(range) = range.filter(|_| store.connections().has_data()) else {
        return Verdict::NotApplicable;
    };
    let size = range.size();
    let candidates = ports_in_use(store.connections(), range)
        .into_iter()
        .take_while(|usage| percent_of(u64::from(usage.in_use), u64::from(size)) >= config.threshold("percent"))
        .map(|usage| {
            let destination = usage.remote;
            let holders: Vec<&ConnectionEntry> = store
                .connections()
                .iter()
                .filter(|entry| {
                    entry.closed_at.is_none()
                        && entry.socket.protocol == usage.protocol
                        && canonical(entry.socket.remote) == destination
                        && range.contains(entry.socket.local.port())
                })
                .collect();
            let mut states: BTreeMap<&str, usize> = BTreeMap::new();
            for entry in &holders {
                *states.entry(entry.socket.state.as_str()).or_default() += 1;
            }
            let states: Vec<String> = states.iter().map(|(state, count)| format!("{state} {count}")).collect();
            let who = owners(store, holders.iter().copied());
            let protocol = usage.protocol.as_str();
            let share = percent_of(u64::from(usage.in_use), u64::from(size));
            Candidate {
                subject: format!("{protocol} {}", canonical(destination)),
                severity: if usage.in_use >= size { Severity::Critical } else { Severity::Warning },
                title: format!("{share:.0} % of the ephemeral ports toward {destination} are in use"),
                evidence: vec![
                    Evidence::new(format!("{protocol} sockets to {destination} on an ephemeral port"), format!("{} of {size}", usage.in_use)),
                    Evidence::new("net.ipv4.ip_local_port_range", range_text(range)),
                    Evidence::new("their states", states.join(", ")),
                    Evidence::new("processes", who.clone()),
                ],
                cause: format!(
                    "each connection to {destination} takes its own local port from net.ipv4.ip_local_port_range; {} of its {size} are taken (by {who}), and when all are, connect() fails with EADDRNOTAVAIL",
                    usage.in_use
                ),
                fix: "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"; sysctl -w net.ipv4.tcp_tw_reuse=1  # and pool or keep alive the connections instead of opening new ones".to_owned(),
            }
        })
        .collect();
    Verdict::Found(candidates)
}

#[cfg(test)]
#[path = "tcp_tests.rs"]
mod tests;
