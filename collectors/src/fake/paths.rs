//! Scripted paths on the scripted host of [`super::network`]: the two default paths,
//! a dual-stack name won by IPv4 in a Happy Eyeballs race, an SSH host whose probe
//! stopped answering, a name that does not exist, and a split-tunnel address on the
//! `WireGuard` interface whose probe has just started failing (a pending change).
//!
//! The story behind the transitions: a VPN on `tun0` took the default IPv4 path 52 s
//! before the end of the script (0/1 + 128/1), and when `tun0` went down 20 s before
//! the end the path fell back to `eth0`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::NOW;
use crate::model::{
    AddressFamily, AttemptOutcome, CheckName, ConnectAttempt, InterfaceKind, PathCheck, PathReason,
    PathState, PathStatus, PathTransition, PendingStatus, ProbeSummary, RouteLookupReport, RouteType,
    Timestamp, TunnelMode,
};

/// The moment `seconds` before the end of the script.
fn ago(seconds: i64) -> Timestamp {
    NOW - time::Duration::seconds(seconds)
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(segments: [u16; 8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(segments))
}

fn check(name: CheckName, ok: bool, detail: &str) -> PathCheck {
    PathCheck { name, ok, detail: detail.to_owned() }
}

fn transition(seconds_ago: i64, from: PathStatus, to: PathStatus, detail: &str) -> PathTransition {
    PathTransition { at: ago(seconds_ago), from, to, detail: detail.to_owned() }
}

/// A path with the host-wide facts filled in: IPv4 and DNS available, IPv6 not (the
/// only global IPv6 address on the default interface is still tentative).
fn path(target: &str, status: PathStatus, since: i64) -> PathState {
    PathState {
        target: target.to_owned(),
        family: None,
        status,
        reason: None,
        reason_subject: None,
        destination: None,
        interface: None,
        interface_index: None,
        interface_kind: None,
        source: None,
        gateway: None,
        route_type: None,
        table: None,
        matched_prefix: None,
        tunnel: None,
        ipv4: true,
        ipv6: false,
        dns: true,
        expensive: false,
        constrained: false,
        since: ago(since),
        evaluated_at: ago(1),
        pending: None,
        checks: Vec::new(),
        probe: None,
        attempts: Vec::new(),
        transitions: Vec::new(),
    }
}

/// Route facts of a path leaving through `eth0` by the main table's default route.
fn via_eth0(mut path: PathState, destination: IpAddr) -> PathState {
    path.family = Some(AddressFamily::Ipv4);
    path.destination = Some(destination);
    path.interface = Some("eth0".to_owned());
    path.interface_index = Some(2);
    path.interface_kind = Some(InterfaceKind::Ethernet);
    path.source = Some(v4(192, 168, 1, 23));
    path.gateway = Some(v4(192, 168, 1, 1));
    path.route_type = Some(RouteType::Unicast);
    path.table = Some(254);
    path.matched_prefix = Some("0.0.0.0/0".to_owned());
    path.checks = eth0_checks();
    path
}

fn eth0_checks() -> Vec<PathCheck> {
    vec![
        check(CheckName::Route, true, "unicast via 192.168.1.1 dev eth0 table main (0.0.0.0/0)"),
        check(CheckName::Link, true, "eth0 is up"),
        check(CheckName::Carrier, true, "eth0 has carrier"),
        check(CheckName::SourceAddress, true, "192.168.1.23/24 on eth0"),
        check(CheckName::Gateway, true, "192.168.1.1 reachable (00:1a:2b:3c:4d:5e)"),
    ]
}

/// A deterministic RTT wave around `base` milliseconds.
fn rtt(sample: u32, base: f64, swing: f64) -> f64 {
    let phase = f64::from(sample % 11) / 11.0 * std::f64::consts::TAU;
    ((base + swing * phase.sin()) * 10.0).round() / 10.0
}

fn default_ipv4() -> PathState {
    use PathStatus::{Satisfied, Unsatisfied};
    let mut path = via_eth0(path("default-ipv4", Satisfied, 19), v4(1, 1, 1, 1));
    path.transitions = vec![
        transition(52, Satisfied, Satisfied, "moved eth0 → tun0"),
        transition(20, Satisfied, Unsatisfied, "satisfied → unsatisfied (link_down tun0)"),
        transition(19, Unsatisfied, Satisfied, "unsatisfied → satisfied"),
        transition(19, Satisfied, Satisfied, "moved tun0 → eth0"),
    ];
    path
}

fn default_ipv6() -> PathState {
    let mut path = path("default-ipv6", PathStatus::Unsatisfied, 44);
    path.family = Some(AddressFamily::Ipv6);
    path.reason = Some(PathReason::AddressTentative);
    path.reason_subject = Some("eth0".to_owned());
    path.destination = Some(v6([0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111]));
    path.interface = Some("eth0".to_owned());
    path.interface_index = Some(2);
    path.interface_kind = Some(InterfaceKind::Ethernet);
    path.gateway = Some(v6([0xfe80, 0, 0, 0, 0, 0, 0, 1]));
    path.route_type = Some(RouteType::Unicast);
    path.table = Some(254);
    path.matched_prefix = Some("::/0".to_owned());
    path.checks = vec![
        check(CheckName::Route, true, "unicast via fe80::1 dev eth0 table main (::/0)"),
        check(CheckName::Link, true, "eth0 is up"),
        check(CheckName::Carrier, true, "eth0 has carrier"),
        check(
            CheckName::SourceAddress,
            false,
            "only tentative global IPv6 on eth0: 2001:db8:10:0:5054:ff:fe12:3456 (DAD still running)",
        ),
    ];
    path.transitions = vec![transition(
        44,
        PathStatus::Satisfied,
        PathStatus::Unsatisfied,
        "satisfied → unsatisfied (address_tentative eth0)",
    )];
    path
}

fn example_org() -> PathState {
    let mut path = via_eth0(path("example.org:443", PathStatus::Satisfied, 88), v4(93, 184, 215, 14));
    path.checks.insert(
        0,
        check(
            CheckName::Dns,
            true,
            "example.org → 93.184.215.14, 2606:4700::6812:1a2b (14 ms via 127.0.0.53)",
        ),
    );
    path.checks.push(check(CheckName::Probe, true, "tcp connect to 93.184.215.14:443 in 23.4 ms"));
    let mut history: Vec<Option<f64>> = (0..30).map(|n| Some(rtt(n, 22.0, 4.5))).collect();
    history[17] = None;
    if let Some(last) = history.last_mut() {
        *last = Some(23.4);
    }
    path.probe = Some(ProbeSummary {
        kind: "tcp",
        ok: true,
        rtt_ms: Some(23.4),
        loss_pct: Some(100.0 / 30.0),
        jitter_ms: Some(2.1),
        error: None,
        sent: 88,
        history,
    });
    let v6_address = v6([0x2606, 0x4700, 0, 0, 0, 0, 0x6812, 0x1a2b]);
    path.attempts = vec![
        ConnectAttempt {
            address: SocketAddr::new(v6_address, 443),
            started_ms: 0.0,
            duration_ms: 273.4,
            outcome: AttemptOutcome::Cancelled,
            winner: false,
            error: None,
        },
        ConnectAttempt {
            address: SocketAddr::new(v4(93, 184, 215, 14), 443),
            started_ms: 250.0,
            duration_ms: 23.4,
            outcome: AttemptOutcome::Connected,
            winner: true,
            error: None,
        },
    ];
    path
}

fn ssh_host() -> PathState {
    let mut path = via_eth0(path("10.20.0.5:22", PathStatus::Failing, 33), v4(10, 20, 0, 5));
    path.reason = Some(PathReason::ProbeFailed);
    path.reason_subject = Some("10.20.0.5:22".to_owned());
    path.checks.push(check(CheckName::Probe, false, "tcp connect to 10.20.0.5:22: no answer within 2 s"));
    let mut history: Vec<Option<f64>> = (0..6).map(|n| Some(rtt(n, 3.2, 0.4))).collect();
    history.extend([None; 9]);
    path.probe = Some(ProbeSummary {
        kind: "tcp",
        ok: false,
        // The latest probe failed: no RTT to show (the history keeps the old ones).
        rtt_ms: None,
        loss_pct: Some(60.0),
        jitter_ms: Some(0.3),
        error: Some("connect timed out after 2 s".to_owned()),
        sent: 15,
        history,
    });
    path.transitions = vec![transition(
        33,
        PathStatus::Satisfied,
        PathStatus::Failing,
        "satisfied → failing (probe_failed 10.20.0.5:22)",
    )];
    path
}

fn unresolvable() -> PathState {
    let mut path = path("db.internal", PathStatus::Unsatisfied, 88);
    path.reason = Some(PathReason::NameNotFound);
    path.reason_subject = Some("db.internal".to_owned());
    path.checks = vec![check(
        CheckName::Dns,
        false,
        "db.internal does not exist: NXDOMAIN from 127.0.0.53 (also tried db.internal.lan)",
    )];
    path
}

fn split_tunnel() -> PathState {
    let mut path = path("10.8.0.1,probe=icmp", PathStatus::Satisfied, 80);
    path.family = Some(AddressFamily::Ipv4);
    path.destination = Some(v4(10, 8, 0, 1));
    path.interface = Some("wg0".to_owned());
    path.interface_index = Some(4);
    path.interface_kind = Some(InterfaceKind::Wireguard);
    path.source = Some(v4(10, 8, 0, 2));
    path.route_type = Some(RouteType::Unicast);
    path.table = Some(254);
    path.matched_prefix = Some("10.8.0.0/24".to_owned());
    path.tunnel = Some(TunnelMode::Split);
    path.expensive = true;
    path.checks = vec![
        check(CheckName::Route, true, "unicast dev wg0 table main (10.8.0.0/24)"),
        check(CheckName::Link, true, "wg0 is up"),
        check(CheckName::Carrier, true, "wg0 has carrier"),
        check(CheckName::SourceAddress, true, "10.8.0.2/32 on wg0"),
        check(CheckName::Gateway, true, "on-link, no neighbour discovery on wg0 (noarp)"),
        check(CheckName::Probe, false, "icmp echo to 10.8.0.1: no reply within 1 s"),
    ];
    let mut history: Vec<Option<f64>> = (0..20).map(|n| Some(rtt(n, 41.0, 6.0))).collect();
    history.push(None);
    path.probe = Some(ProbeSummary {
        kind: "icmp",
        ok: false,
        rtt_ms: None,
        loss_pct: Some(100.0 / 21.0),
        jitter_ms: Some(3.4),
        error: Some("no reply within 1 s".to_owned()),
        sent: 80,
        history,
    });
    // The probe has just failed; the debounce has not confirmed it yet.
    path.pending = Some(PendingStatus {
        status: PathStatus::Failing,
        reason: Some(PathReason::ProbeFailed),
        since: ago(1),
    });
    path
}

/// Every scripted target's path, default paths first.
pub(super) fn paths() -> Vec<PathState> {
    vec![default_ipv4(), default_ipv6(), example_org(), ssh_host(), unresolvable(), split_tunnel()]
}

/// The answer to the scripted route lookup `1.1.1.1`.
pub(super) fn route_lookup() -> RouteLookupReport {
    RouteLookupReport {
        query: "1.1.1.1".to_owned(),
        at: NOW,
        answer: Ok("1.1.1.1 via 192.168.1.1 dev eth0 table main src 192.168.1.23 uid 1000".to_owned()),
        rule: Some("32766: from all lookup main".to_owned()),
        table: Some("main".to_owned()),
        matched_prefix: Some("0.0.0.0/0".to_owned()),
    }
}

/// The default paths plus `targets` probed user targets through `eth0`, for benchmarks.
pub(super) fn many(targets: u32) -> Vec<PathState> {
    let mut paths = vec![default_ipv4(), default_ipv6()];
    paths.extend((0..targets).map(|i| {
        let address = v4(10, 30 + (i >> 16) as u8, (i >> 8) as u8, i as u8);
        let target = format!("{address}:443");
        let mut path = via_eth0(path(&target, PathStatus::Satisfied, 60), address);
        let history: Vec<Option<f64>> =
            (0..30).map(|n| if (n + i) % 13 == 0 { None } else { Some(rtt(n + i, 12.0, 3.0)) }).collect();
        path.probe = Some(ProbeSummary {
            kind: "tcp",
            ok: true,
            rtt_ms: Some(12.0),
            loss_pct: Some(100.0 / 13.0),
            jitter_ms: Some(1.2),
            error: None,
            sent: 60,
            history,
        });
        path
    }));
    paths
}
