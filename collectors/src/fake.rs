//! Scripted, deterministic data for tests, screenshots, benchmarks and `--demo`.
//!
//! Everything here is a pure function of its arguments: the same call gives the same
//! store, so rendered screens can be compared byte for byte.

mod connections;
mod dns;
mod kernel;
mod large;
mod network;
mod paths;

pub use network::network;

use crate::clock::{Mono, Stamp};
use crate::event::{Event, Notice, Payload};
use crate::model::{
    HostFacts, InterfaceStats, Landlock, Privileges, ProcessUsage, SourceId, SourceState, SourceStatus,
    SystemFacts, TimelineKind, Timestamp,
};
use crate::store::Store;

pub use large::{
    large_connection_store, large_dns_store, large_metrics_store, large_path_store, large_socket_table,
    large_store, watched_socket_table,
};

/// The fixed "now" of the scripted session: the last event happens at this instant.
pub const NOW: Timestamp = time::macros::datetime!(2026-03-14 09:26:53 UTC);

/// How many one-second counter samples the script feeds (fills the sparklines).
pub const SAMPLES: u32 = 90;

/// How many of the last samples carry socket dumps (the connections script).
pub const CONNECTION_SAMPLES: u32 = 30;

/// The script's monotonic clock at wall time `at`: it reads zero at [`NOW`] (negative
/// before), and never steps, so the script's wall and monotonic clocks agree.
#[must_use]
pub fn mono(at: Timestamp) -> Mono {
    Mono::ZERO + (at - NOW)
}

/// A scripted event at wall time `at`, stamped with the script's monotonic clock
/// ([`mono`]).
#[must_use]
pub fn event(at: Timestamp, source: SourceId, payload: Payload) -> Event {
    Event::stamped(at, mono(at), source, payload)
}

/// Deterministic traffic shape: a smooth wave per interface, never negative.
fn wave(sample: u32, period: u32, amplitude: f64, base: f64) -> f64 {
    let phase = f64::from(sample % period) / f64::from(period) * std::f64::consts::TAU;
    base + amplitude * (1.0 + phase.sin()) / 2.0
}

/// Bytes per second each scripted interface carries at sample `n`.
fn traffic(index: u32, n: u32) -> (f64, f64) {
    match index {
        1 => (wave(n, 20, 40_000.0, 2_000.0), wave(n, 20, 40_000.0, 2_000.0)),
        2 => (wave(n, 30, 2_400_000.0, 150_000.0), wave(n, 17, 320_000.0, 40_000.0)),
        3 => (wave(n, 45, 600_000.0, 20_000.0), wave(n, 25, 90_000.0, 8_000.0)),
        4 => (wave(n, 12, 180_000.0, 5_000.0), wave(n, 9, 60_000.0, 3_000.0)),
        6 => (wave(n, 60, 9_000.0, 200.0), wave(n, 60, 4_000.0, 100.0)),
        _ => (0.0, 0.0),
    }
}

/// Cumulative counters of interface `index` after `n` one-second samples.
#[must_use]
pub fn counters(index: u32, n: u32) -> InterfaceStats {
    let (mut rx, mut tx) = (0.0_f64, 0.0_f64);
    for i in 0..n {
        let (r, t) = traffic(index, i);
        rx += r;
        tx += t;
    }
    let errors = u64::from(index == 3) * u64::from(n / 30);
    InterfaceStats {
        rx_bytes: rx as u64,
        tx_bytes: tx as u64,
        rx_packets: (rx / 900.0) as u64,
        tx_packets: (tx / 700.0) as u64,
        rx_errors: errors,
        tx_errors: 0,
        rx_dropped: u64::from(index == 2) * 3,
        tx_dropped: 0,
    }
}

/// Host facts of the scripted machine.
#[must_use]
pub fn system() -> SystemFacts {
    SystemFacts {
        host: HostFacts {
            hostname: "devbox".into(),
            kernel: "6.8.0-45-generic".into(),
            netns: None,
            // Packet capture (both capture sources are ok) needs CAP_NET_RAW: the access
            // line must say it is held: a user's netlens given `setcap cap_net_raw+ep`.
            privileges: Privileges {
                net_raw: true,
                net_admin: false,
                root: false,
                capabilities: vec!["cap_net_raw".to_owned()],
                no_new_privs: true,
                landlock: Landlock::Enforced,
            },
        },
        uptime_s: 273_640,
        cpus: 8,
        cpu_pct: 7.5,
        memory_total_bytes: 16 * 1024 * 1024 * 1024,
        memory_used_bytes: 6_800_000_000,
    }
}

/// Timeline notices of the script, with their offsets in seconds before [`NOW`].
fn notices() -> Vec<(i64, SourceId, Notice)> {
    use TimelineKind as K;
    let n = Notice::new;
    vec![
        (88, SourceId::Interfaces, n(K::LinkAdded, "veth-lab", "veth-lab added (veth, peer index 7)")),
        (87, SourceId::Interfaces, n(K::AddressAdded, "veth-lab", "10.99.0.1/30 added to veth-lab")),
        (80, SourceId::Interfaces, n(K::RouteAdded, "10.8.0.0/24", "route 10.8.0.0/24 dev wg0 added")),
        (
            75,
            SourceId::Interfaces,
            n(K::RuleAdded, "32765", "rule 32765: not from all fwmark 0xca6c lookup 51820 added"),
        ),
        (62, SourceId::Interfaces, n(K::LinkChanged, "wlan0", "wlan0 carrier lost")),
        (61, SourceId::Interfaces, n(K::LinkChanged, "wlan0", "wlan0 carrier gained")),
        (
            60,
            SourceId::Interfaces,
            n(K::RouteRemoved, "default", "default route via 10.20.30.1 dev wlan0 removed"),
        ),
        (
            58,
            SourceId::Interfaces,
            n(K::RouteAdded, "default", "default route via 10.20.30.1 dev wlan0 metric 600 added"),
        ),
        (52, SourceId::Paths, n(K::PathMoved, "default-ipv4", "default-ipv4: moved eth0 → tun0")),
        (
            44,
            SourceId::Interfaces,
            n(K::AddressAdded, "wlan0", "2001:db8:20:0:a6c3:f0ff:fe8e:2107/64 added to wlan0 (tentative)"),
        ),
        (
            44,
            SourceId::Paths,
            n(
                K::PathStatus,
                "default-ipv6",
                "default-ipv6: satisfied → unsatisfied (address_tentative eth0)",
            ),
        ),
        (
            33,
            SourceId::Paths,
            n(K::PathStatus, "10.20.0.5:22", "10.20.0.5:22: satisfied → failing (probe_failed 10.20.0.5:22)"),
        ),
        // The kernel re-reports a failing neighbour on every resolution attempt: a burst
        // the timeline folds into one entry.
        (
            31,
            SourceId::Interfaces,
            n(K::NeighborChanged, "veth-lab", "neighbor 10.99.0.2 on veth-lab failed"),
        ),
        (
            31,
            SourceId::Interfaces,
            n(K::NeighborChanged, "veth-lab", "neighbor 10.99.0.2 on veth-lab failed"),
        ),
        (
            31,
            SourceId::Interfaces,
            n(K::NeighborChanged, "veth-lab", "neighbor 10.99.0.2 on veth-lab failed"),
        ),
        (
            31,
            SourceId::Interfaces,
            n(K::NeighborChanged, "veth-lab", "neighbor 10.99.0.2 on veth-lab failed"),
        ),
        (20, SourceId::Interfaces, n(K::LinkChanged, "tun0", "tun0 down")),
        (
            20,
            SourceId::Paths,
            n(K::PathStatus, "default-ipv4", "default-ipv4: satisfied → unsatisfied (link_down tun0)"),
        ),
        (19, SourceId::Paths, n(K::PathStatus, "default-ipv4", "default-ipv4: unsatisfied → satisfied")),
        (19, SourceId::Paths, n(K::PathMoved, "default-ipv4", "default-ipv4: moved tun0 → eth0")),
        (12, SourceId::Interfaces, n(K::LinkRenamed, "docker0", "renamed br-5e21 → docker0")),
        (
            5,
            SourceId::Interfaces,
            n(K::Resynced, "rtnetlink", "receive buffer overrun (ENOBUFS): re-read everything"),
        ),
        (
            1,
            SourceId::App,
            n(K::Export, "snapshot", "snapshot written to ./netlens-snapshot-20260314T092652Z.json"),
        ),
    ]
}

/// The whole scripted session as events, in time order, ending at [`NOW`].
#[must_use]
pub fn events() -> Vec<Event> {
    let start = NOW - time::Duration::seconds(i64::from(SAMPLES));
    let at = |offset_before_now: i64| NOW - time::Duration::seconds(offset_before_now);
    let mut events = vec![
        event(start, SourceId::System, Payload::System(system())),
        event(
            start,
            SourceId::Interfaces,
            Payload::Status(SourceStatus {
                name: SourceId::Interfaces,
                status: SourceState::Ok,
                detail: "rtnetlink: links, addresses, routes, rules, neighbours".into(),
            }),
        ),
        event(
            start,
            SourceId::System,
            Payload::Status(SourceStatus {
                name: SourceId::System,
                status: SourceState::Ok,
                detail: "sysinfo".into(),
            }),
        ),
        event(start, SourceId::Interfaces, Payload::Network(network())),
        event(start, SourceId::Paths, paths_status()),
        event(start, SourceId::Dns, dns_status()),
        event(start, SourceId::DnsCapture, dns_capture_status()),
        event(start, SourceId::Dns, Payload::DnsConfig(dns::config())),
    ];
    let mut scripted = notices().into_iter().peekable();
    let mut dns_scripted = dns_events().into_iter().peekable();
    let queries = dns::queries();
    for n in 1..=SAMPLES {
        let sample_at = start + time::Duration::seconds(i64::from(n));
        // Before the notices: a DNS event may fall inside the second, notices on its end.
        while let Some((when, payload)) = dns_scripted.next_if(|(when, _)| *when <= sample_at) {
            events.push(event(when, SourceId::Dns, payload));
        }
        while let Some((offset, source, notice)) = scripted.next_if(|(offset, _, _)| at(*offset) <= sample_at)
        {
            events.push(event(at(offset), source, Payload::Notices(vec![notice])));
        }
        if let Some(batch) = dns::batch(&queries, sample_at - time::Duration::seconds(1), sample_at) {
            events.push(event(sample_at, SourceId::DnsCapture, Payload::DnsQueries(batch)));
        }
        let samples = network().interfaces.iter().map(|i| (i.index, counters(i.index, n))).collect();
        events.push(event(sample_at, SourceId::Interfaces, Payload::Counters(samples)));
        if n + 2 > SAMPLES {
            events.push(event(sample_at, SourceId::Kernel, Payload::Kernel(Box::new(kernel::counters(n)))));
        }
        if n < SAMPLES {
            let before = i64::from(SAMPLES - n);
            events.push(event(sample_at, SourceId::Paths, Payload::Paths(paths_before(before))));
        }
        if let Some(c) = n.checked_sub(SAMPLES - CONNECTION_SAMPLES) {
            if c == 0 {
                events.push(event(sample_at, SourceId::Connections, connections_status()));
                events.push(event(sample_at, SourceId::Capture, capture_status()));
                events.push(event(sample_at, SourceId::Connections, Payload::Names(connections::names())));
            }
            events.push(event(sample_at, SourceId::Connections, Payload::Sockets(connections::table(c))));
            events.push(event(sample_at, SourceId::Capture, Payload::Flows(connections::flows())));
        }
    }
    events.push(event(NOW, SourceId::Paths, Payload::Paths(paths::paths())));
    events.push(event(NOW, SourceId::Paths, Payload::RouteLookup(paths::route_lookup())));
    events.push(event(
        NOW,
        SourceId::System,
        Payload::SelfUsage(ProcessUsage { cpu_pct: 0.3, rss_bytes: 9_650_000 }),
    ));
    events
}

/// The scripted socket table `n` seconds into the connections script (it goes on
/// past the script's end with growing counters, for the live demo).
#[must_use]
pub fn connection_table(n: u32) -> crate::model::SocketTable {
    connections::table(n)
}

/// What the scripted packet capture counts each second.
#[must_use]
pub fn connection_flows() -> crate::model::FlowSample {
    connections::flows()
}

fn paths_status() -> Payload {
    Payload::Status(SourceStatus {
        name: SourceId::Paths,
        status: SourceState::Ok,
        detail: "route lookups on every network change; tcp and icmp probes for 3 targets".into(),
    })
}

/// The scripted paths as they stood `before` seconds before [`NOW`], so the paths'
/// history has a plausible past: each status as its transitions say, and probes
/// answering (with the RTT of their probe history, cycled) except while the path
/// was failing or the history records a lost probe.
fn paths_before(before: i64) -> Vec<crate::model::PathState> {
    let at = NOW - time::Duration::seconds(before);
    let mut paths = paths::paths();
    for path in &mut paths {
        if let Some(change) = path.transitions.iter().find(|t| t.at > at && t.from != t.to) {
            path.status = change.from;
        }
        let failing = path.status == crate::model::PathStatus::Failing;
        if let Some(probe) = &mut path.probe
            && !probe.history.is_empty()
        {
            let len = probe.history.len();
            let back = usize::try_from(before).unwrap_or(0) % len;
            let rtt = probe.history[len - 1 - back].filter(|_| !failing);
            probe.ok = rtt.is_some();
            probe.rtt_ms = rtt;
            probe.error = (!probe.ok).then(|| "no answer".to_owned());
        }
    }
    paths
}

/// The scripted paths as evaluated at [`NOW`]: default paths first, then user targets.
#[must_use]
pub fn path_states() -> Vec<crate::model::PathState> {
    paths::paths()
}

/// The DNS source's timed events: NAT64 detection early on, the user's trace when it
/// finished.
fn dns_events() -> Vec<(Timestamp, Payload)> {
    let trace = dns::trace();
    let finished = trace.started_at + time::Duration::milliseconds(trace.total_ms as i64);
    let dns64 = dns::dns64();
    vec![(dns64.checked_at, Payload::Dns64(dns64)), (finished, Payload::DnsTrace(Box::new(trace)))]
}

fn dns_status() -> Payload {
    Payload::Status(SourceStatus {
        name: SourceId::Dns,
        status: SourceState::Ok,
        detail: "resolv.conf, nsswitch.conf, hosts and gai.conf watched; traces on demand".into(),
    })
}

fn dns_capture_status() -> Payload {
    Payload::Status(SourceStatus {
        name: SourceId::DnsCapture,
        status: SourceState::Ok,
        detail: "passive capture of port 53 (udp and tcp) on every interface".into(),
    })
}

fn capture_status() -> Payload {
    Payload::Status(SourceStatus {
        name: SourceId::Capture,
        status: SourceState::Ok,
        detail: "packet capture on lo, eth0, wlan0, wg0, veth-lab: UDP bytes per flow".into(),
    })
}

fn connections_status() -> Payload {
    Payload::Status(SourceStatus {
        name: SourceId::Connections,
        status: SourceState::Ok,
        detail: "sock_diag: TCP and UDP every 1 s, destroy events for short-lived connections".into(),
    })
}

/// A store holding the whole scripted session.
#[must_use]
pub fn store() -> Store {
    let mut store = Store::default();
    for event in events() {
        let stamp = Stamp { wall: event.at, mono: event.mono };
        store.apply(event);
        // As the app does after each burst: the rules see the session unfold.
        store.evaluate_findings(stamp);
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_deterministic_and_complete() {
        let a = store();
        let b = store();
        assert_eq!(a, b);
        assert_eq!(a.interface_count(), 7);
        assert_eq!(a.updated_at(), Some(NOW));
        assert!(a.interfaces().filter(|e| e.info.stats.is_some()).count() == 7);
        let eth0 = a.interface(2).map(|e| e.history.len());
        assert_eq!(eth0, Some(SAMPLES as usize - 1));
        let scripted = a
            .timeline()
            .iter()
            .filter(|e| {
                !matches!(
                    e.source,
                    SourceId::Connections | SourceId::Capture | SourceId::Dns | SourceId::DnsCapture
                ) && e.kind != crate::model::TimelineKind::Finding
            })
            .count();
        assert_eq!(scripted, notices().len() - 3 + 3, "a burst of 4 folded, plus three source statuses");
        // Each finding the session opened (and closed) is on the timeline too.
        let finding_lines =
            a.timeline().iter().filter(|e| e.kind == crate::model::TimelineKind::Finding).count();
        let findings = a.findings();
        let closed = findings.closed().count();
        assert!(!findings.open().is_empty());
        assert_eq!(finding_lines, findings.open().len() + 2 * closed);
        let connection_lines: Vec<String> = a
            .timeline()
            .iter()
            .filter(|e| e.source == SourceId::Connections)
            .map(|e| format!("{} {}", e.kind.as_str(), e.detail))
            .collect();
        let has = |needle: &str| connection_lines.iter().any(|line| line.contains(needle));
        assert!(
            has("connection_burst nmap (5150) opened and closed 5 connections to 10.99.0.2"),
            "{connection_lines:#?}"
        );
        assert!(has("connection_warning tcp 192.168.1.23:35642 → 198.51.100.20:873 (rsync 4022): stalled"));
        assert!(has("(rsync 4022): more than 10 % of the bytes sent were retransmitted"));
        assert!(has("(curl 4471): still connecting (syn_sent)"));
        assert!(has("(node 6001): its process is above 90 % of its open-file limit"));
        assert!(!has("also-ran"), "a Happy Eyeballs race is never announced");
        assert_eq!(a.timeline().coalesced_bursts(), 1);
    }

    #[test]
    fn paths_are_in_the_store() {
        let store = store();
        let targets: Vec<&str> = store.paths().iter().map(|p| p.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "default-ipv4",
                "default-ipv6",
                "example.org:443",
                "10.20.0.5:22",
                "db.internal",
                "10.8.0.1,probe=icmp"
            ]
        );
        for path in store.paths() {
            let parsed: crate::paths::target::Target = path.target.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.text, path.target, "targets are in canonical form");
        }
        assert_eq!(store.route_lookup().map(|r| r.query.as_str()), Some("1.1.1.1"));
        assert_eq!(large_path_store(100).paths().len(), 102);
    }

    #[test]
    fn dns_is_in_the_store() {
        let store = store();
        let dns = store.dns();
        let config = dns.config().unwrap_or_else(|| panic!("no resolver configuration"));
        assert!(config.stub);
        assert_eq!(config.upstreams.len(), 2);
        assert_eq!(dns.warnings().len(), 1);
        assert_eq!(dns.queries().len(), 40);
        assert_eq!(dns.logged(), 40);
        // The log reads by send time, timeouts included.
        assert!(dns.queries().zip(dns.queries().skip(1)).all(|(a, b)| a.at <= b.at));
        let counters = dns.counters();
        assert_eq!((counters.timeouts, counters.malformed, counters.unmatched), (2, 1, 1));
        let trace = dns.last_user_trace().unwrap_or_else(|| panic!("no user trace"));
        assert_eq!(trace.name, "db");
        assert!(trace.steps.iter().any(|step| step.rcode.is_none()), "a timeout on the first upstream");
        assert_eq!(trace.differences.len(), 1);
        assert_eq!(dns.dns64().and_then(|report| report.prefix.as_deref()), Some("64:ff9b::/96"));
        let nat64 = store.timeline().iter().filter(|e| e.source == SourceId::Dns).count();
        assert_eq!(nat64, 2, "the source's status and NAT64 appearing");
        let events = events();
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "the script is in time order");
        let large = large_dns_store(2_500);
        assert_eq!(large.dns().queries().len(), crate::store::QUERY_LOG_CAPACITY);
        assert_eq!(large.dns().logged(), 2_540);
    }

    #[test]
    fn large_store_has_requested_size() {
        let store = large_store(200, 10_000);
        assert_eq!(store.interface_count(), 200);
        assert_eq!(store.timeline().len(), 10_000);
    }
}
