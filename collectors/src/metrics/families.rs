//! The store as metric families: what a scrape reports, read from the store alone.

use std::collections::BTreeMap;

use super::{Family, Kind, Series, Value};
use crate::model::{OperState, PathReason, PathStatus, SourceState};
use crate::store::Store;

/// What the binary says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The netlens release.
    pub version: &'static str,
}

/// Every status a path can have, so that a change moves a 1 between series of a
/// fixed set (as a state set does).
const STATUSES: [PathStatus; 3] = [PathStatus::Satisfied, PathStatus::Unsatisfied, PathStatus::Failing];

fn family(name: &'static str, help: &'static str, kind: Kind, series: Vec<Series>) -> Family {
    Family { name, help, kind, series }
}

fn series(labels: Vec<(&'static str, String)>, value: Value) -> Series {
    Series { labels, value }
}

fn flag(on: bool) -> Value {
    Value::Count(u64::from(on))
}

/// The store's metric families now.
#[must_use]
pub fn families(store: &Store, build: &BuildInfo) -> Vec<Family> {
    let mut out = vec![
        family(
            "netlens_build_info",
            "The netlens release serving these metrics (always 1).",
            Kind::Gauge,
            vec![series(vec![("version", build.version.to_owned())], Value::Count(1))],
        ),
        family(
            "netlens_source_up",
            "Whether a source works (1: ok or degraded; 0: failed or not started).",
            Kind::Gauge,
            store
                .sources()
                .map(|source| {
                    let up = matches!(source.status, SourceState::Ok | SourceState::Degraded);
                    series(vec![("source", source.name.as_str().to_owned())], flag(up))
                })
                .collect(),
        ),
    ];
    let events = store
        .timeline()
        .counts()
        .map(|(source, kind, n)| {
            series(
                vec![("source", source.as_str().to_owned()), ("kind", kind.as_str().to_owned())],
                Value::Count(n),
            )
        })
        .collect();
    out.push(family(
        "netlens_events",
        "Events on the timeline by source and kind (repeats folded into one line included).",
        Kind::Counter,
        events,
    ));
    interfaces(store, &mut out);
    paths(store, &mut out);
    dns(store, &mut out);
    connections(store, &mut out);
    kernel(store, &mut out);
    out
}

/// Interface counters and operational state; an interface that is gone has no series.
fn interfaces(store: &Store, out: &mut Vec<Family>) {
    type Read = fn(&crate::model::InterfaceStats) -> u64;
    let counters: [(&'static str, &'static str, Read); 8] = [
        (
            "netlens_interface_receive_bytes",
            "Bytes received by the interface (the kernel's rx_bytes).",
            |s| s.rx_bytes,
        ),
        ("netlens_interface_transmit_bytes", "Bytes sent by the interface (tx_bytes).", |s| s.tx_bytes),
        ("netlens_interface_receive_packets", "Packets received (rx_packets).", |s| s.rx_packets),
        ("netlens_interface_transmit_packets", "Packets sent (tx_packets).", |s| s.tx_packets),
        ("netlens_interface_receive_errors", "Receive errors (rx_errors).", |s| s.rx_errors),
        ("netlens_interface_transmit_errors", "Transmit errors (tx_errors).", |s| s.tx_errors),
        ("netlens_interface_receive_drops", "Received packets dropped (rx_dropped).", |s| s.rx_dropped),
        ("netlens_interface_transmit_drops", "Packets dropped on transmit (tx_dropped).", |s| s.tx_dropped),
    ];
    for (name, help, read) in counters {
        let series = store
            .interfaces()
            .filter_map(|entry| {
                let stats = entry.info.stats.as_ref()?;
                Some(series(vec![("interface", entry.info.name.clone())], Value::Count(read(stats))))
            })
            .collect();
        out.push(family(name, help, Kind::Counter, series));
    }
    let up = store
        .interfaces()
        .map(|entry| {
            series(vec![("interface", entry.info.name.clone())], flag(entry.info.oper_state == OperState::Up))
        })
        .collect();
    out.push(family("netlens_interface_up", "Whether the interface is operationally up.", Kind::Gauge, up));
}

/// Each path target's status (1 for the current one) and the reason it gives.
fn paths(store: &Store, out: &mut Vec<Family>) {
    let status = store
        .paths()
        .iter()
        .flat_map(|path| {
            STATUSES.iter().map(move |&status| {
                let labels = vec![("target", path.target.clone()), ("status", status.as_str().to_owned())];
                series(labels, flag(path.status == status))
            })
        })
        .collect();
    out.push(family(
        "netlens_path_status",
        "A path target's status: 1 for the current one of satisfied, unsatisfied, failing.",
        Kind::Gauge,
        status,
    ));
    let reason = store
        .paths()
        .iter()
        .filter_map(|path| {
            let reason = path.reason.map(PathReason::as_str)?;
            Some(series(
                vec![("target", path.target.clone()), ("reason", reason.to_owned())],
                Value::Count(1),
            ))
        })
        .collect();
    let transitions = store
        .paths()
        .iter()
        .filter_map(|path| {
            let tally = store.path_history().tally(&path.target)?;
            Some(series(vec![("target", path.target.clone())], Value::Count(tally.transitions)))
        })
        .collect();
    out.push(family(
        "netlens_path_transitions",
        "Status changes of a path target since netlens began watching it.",
        Kind::Counter,
        transitions,
    ));
    let rtt = store
        .paths()
        .iter()
        .filter(|path| path.probe.is_some())
        .filter_map(|path| {
            let histogram = &store.path_history().tally(&path.target)?.rtt;
            let value = Value::Histogram {
                sum: histogram.sum(),
                count: histogram.count(),
                buckets: histogram.buckets(),
            };
            Some(series(vec![("target", path.target.clone())], value))
        })
        .collect();
    out.push(family(
        "netlens_path_probe_rtt_seconds",
        "Round-trip times of a path target's probes that answered.",
        Kind::Histogram,
        rtt,
    ));
    out.push(family(
        "netlens_path_reason",
        "Why a path target is not satisfied (1 for the reason it gives now).",
        Kind::Gauge,
        reason,
    ));
}

/// Per nameserver: queries seen and those never answered.
fn dns(store: &Store, out: &mut Vec<Family>) {
    let servers = store.dns().servers();
    let queries = servers
        .iter()
        .flat_map(|(server, health)| {
            let answered = health.rcodes.iter().map(|(rcode, &n)| {
                series(vec![("server", server.to_string()), ("rcode", rcode.clone())], Value::Count(n))
            });
            let unanswered = series(
                vec![("server", server.to_string()), ("rcode", "timeout".to_owned())],
                Value::Count(health.timeouts),
            );
            answered.chain([unanswered])
        })
        .collect();
    out.push(family(
        "netlens_dns_queries",
        "DNS queries this host sent to the server (passive capture and traces), by the answer's RCODE, timeout for none.",
        Kind::Counter,
        queries,
    ));
    let latency = servers
        .iter()
        .map(|(server, health)| {
            let histogram = &health.latency;
            let value = Value::Histogram {
                sum: histogram.sum(),
                count: histogram.count(),
                buckets: histogram.buckets(),
            };
            series(vec![("server", server.to_string())], value)
        })
        .collect();
    out.push(family(
        "netlens_dns_latency_seconds",
        "Time from a DNS query to its answer, per server.",
        Kind::Histogram,
        latency,
    ));
    let timeouts = servers
        .iter()
        .map(|(server, health)| series(vec![("server", server.to_string())], Value::Count(health.timeouts)))
        .collect();
    out.push(family(
        "netlens_dns_timeouts",
        "DNS queries the server never answered.",
        Kind::Counter,
        timeouts,
    ));
}

/// Connection counts by state, and open findings.
fn connections(store: &Store, out: &mut Vec<Family>) {
    if store.connections().has_data() {
        let counts = store.connections().counts();
        let states = [
            ("established", counts.established),
            ("listen", counts.listen),
            ("connecting", counts.connecting),
            ("closing", counts.closing),
            ("time_wait", counts.time_wait),
        ];
        let by_state = states
            .into_iter()
            .map(|(state, n)| series(vec![("state", state.to_owned())], Value::Count(n as u64)))
            .collect();
        out.push(family(
            "netlens_tcp_connections",
            "Sockets by state (TCP, and connected UDP as established).",
            Kind::Gauge,
            by_state,
        ));
    }
    let mut open: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    for finding in store.findings().open() {
        *open.entry((finding.rule.clone(), finding.severity.as_str())).or_default() += 1;
    }
    let findings = open
        .into_iter()
        .map(|((rule, severity), n)| {
            series(vec![("rule", rule), ("severity", severity.to_owned())], Value::Count(n))
        })
        .collect();
    out.push(family(
        "netlens_findings_open",
        "Findings open now, by rule and severity.",
        Kind::Gauge,
        findings,
    ));
    // No capture (off, or not permitted): the family is there with no series.
    let dropped = store
        .capture()
        .into_iter()
        .flat_map(|capture| capture.interfaces.iter())
        .map(|ring| series(vec![("interface", ring.name.clone())], Value::Count(ring.dropped)))
        .collect();
    out.push(family(
        "netlens_capture_dropped_packets",
        "Packets the kernel dropped from netlens's capture ring (PACKET_STATISTICS tp_drops).",
        Kind::Counter,
        dropped,
    ));
}

/// The kernel counters worth an alert.
fn kernel(store: &Store, out: &mut Vec<Family>) {
    let Some(kernel) = store.kernel().latest() else { return };
    let counters = [
        (
            "netlens_tcp_retransmits",
            "TCP segments retransmitted (TcpRetransSegs).",
            &kernel.snmp,
            "TcpRetransSegs",
        ),
        (
            "netlens_tcp_listen_overflows",
            "Connections dropped because a listen queue was full (TcpExtListenOverflows).",
            &kernel.netstat,
            "TcpExtListenOverflows",
        ),
        (
            "netlens_udp_receive_buffer_errors",
            "UDP datagrams dropped because a socket's receive buffer was full (UdpRcvbufErrors).",
            &kernel.snmp,
            "UdpRcvbufErrors",
        ),
    ];
    for (name, help, table, key) in counters {
        if let Some(&value) = table.get(key) {
            let value = Value::Count(u64::try_from(value).unwrap_or(0));
            out.push(family(name, help, Kind::Counter, vec![series(Vec::new(), value)]));
        }
    }
    if let Some(conntrack) = &kernel.conntrack {
        let entries = vec![series(Vec::new(), Value::Count(conntrack.count))];
        out.push(family(
            "netlens_conntrack_entries",
            "Connection-tracking entries now.",
            Kind::Gauge,
            entries,
        ));
        let limit = vec![series(Vec::new(), Value::Count(conntrack.max))];
        out.push(family(
            "netlens_conntrack_entries_limit",
            "The connection-tracking table's limit.",
            Kind::Gauge,
            limit,
        ));
    }
}
