use std::net::SocketAddr;

use super::routing::reply_route;
use super::*;
use crate::event::Payload;
use crate::findings::testing::drive;
use crate::findings::testing::policy_rule as rule;
use crate::findings::testing::{fold, kernel, reading, socket, subjects, table};
use crate::model::{
    AddressFlags, DnsTrace, InterfaceKind, Neighbor, NeighborState, NetworkTable, PathCheck, ProbeSummary,
    Protocol, Rule as PolicyRule, SocketState, SourceStatus, Timestamp, TraceOrigin,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// An address written `ip/len`, settled, of the scope the kernel gives it.
fn address(text: &str) -> InterfaceAddress {
    let (address, len) = text.split_once('/').unwrap_or_else(|| panic!("{text}"));
    let address = ip(address);
    let scope = match address {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => AddressScope::Link,
        a if a.is_loopback() => AddressScope::Host,
        _ => AddressScope::Global,
    };
    InterfaceAddress {
        address,
        prefix_len: len.parse().unwrap_or_else(|e| panic!("{len}: {e}")),
        family: AddressFamily::of(&address),
        scope,
        flags: AddressFlags::PERMANENT,
        valid_lifetime_s: None,
        preferred_lifetime_s: None,
        label: None,
    }
}

/// An up veth with a carrier (or loopback for `lo`) holding `addresses`.
fn link(index: u32, name: &str, addresses: &[&str]) -> Interface {
    let mut flags = LinkFlags::UP.with(LinkFlags::LOWER_UP).with(LinkFlags::MULTICAST);
    if name == "lo" {
        flags = LinkFlags::UP.with(LinkFlags::LOOPBACK).with(LinkFlags::LOWER_UP);
    }
    Interface {
        index,
        name: name.to_owned(),
        kind: if name == "lo" { InterfaceKind::Loopback } else { InterfaceKind::Veth },
        carrier: true,
        mtu: 1500,
        flags,
        addresses: addresses.iter().map(|a| address(a)).collect(),
        ..Interface::default()
    }
}

/// `DEST[/LEN] [via GW] dev DEV table T metric M`, a unicast route.
fn route(destination: &str, gateway: Option<&str>, dev: (u32, &str), table: u32, metric: u32) -> Route {
    let (network, len) = destination.split_once('/').unwrap_or((destination, "0"));
    let destination = ip(network);
    Route {
        family: AddressFamily::of(&destination),
        table,
        route_type: RouteType::Unicast,
        destination,
        prefix_len: len.parse().unwrap_or_else(|e| panic!("{len}: {e}")),
        gateway: gateway.map(ip),
        interface: Some(dev.1.to_owned()),
        interface_index: Some(dev.0),
        source: None,
        metric: Some(metric),
        protocol: "static".to_owned(),
        scope: AddressScope::Global,
    }
}

fn neighbour(dev: (u32, &str), address: &str, state: NeighborState) -> Neighbor {
    Neighbor { interface: dev.1.to_owned(), interface_index: dev.0, address: ip(address), mac: None, state }
}

/// The interfaces source is up on rtnetlink, and reads `table` at `second`.
fn network(store: &mut Store, second: i64, table: NetworkTable) {
    let status =
        SourceStatus { name: SourceId::Interfaces, status: SourceState::Ok, detail: "rtnetlink".to_owned() };
    fold(store, second, SourceId::Interfaces, Payload::Status(status));
    fold(store, second, SourceId::Interfaces, Payload::Network(table));
}

fn found(verdict: Verdict) -> Vec<Candidate> {
    match verdict {
        Verdict::Found(found) => found,
        Verdict::NotApplicable => panic!("not applicable"),
    }
}

fn evaluate(rule: &Rule, store: &Store) -> Verdict {
    (rule.evaluate)(store, &RuleConfig::defaults(rule))
}

const VETH0: (u32, &str) = (2, "veth0");
const VETH2: (u32, &str) = (3, "veth2");

/// `lo` and `veth0` with 10.1.0.2/24, and `routes`.
fn host(routes: Vec<Route>) -> NetworkTable {
    NetworkTable {
        interfaces: vec![
            link(1, "lo", &["127.0.0.1/8", "::1/128"]),
            link(2, "veth0", &["10.1.0.2/24", "fe80::2/64"]),
        ],
        routes: [vec![route("10.1.0.0/24", None, VETH0, 254, 0)], routes].concat(),
        ..NetworkTable::default()
    }
}

fn path(target: &str, status: PathStatus, reason: Option<PathReason>) -> PathState {
    let stamp = Timestamp::UNIX_EPOCH;
    PathState {
        target: target.to_owned(),
        family: Some(AddressFamily::Ipv4),
        status,
        reason,
        reason_subject: None,
        destination: None,
        interface: Some("veth0".to_owned()),
        interface_index: Some(2),
        interface_kind: Some(InterfaceKind::Veth),
        source: Some(ip("10.1.0.2")),
        gateway: None,
        route_type: Some(RouteType::Unicast),
        table: Some(254),
        matched_prefix: None,
        tunnel: None,
        ipv4: true,
        ipv6: false,
        dns: true,
        expensive: false,
        constrained: false,
        since: stamp,
        evaluated_at: stamp,
        pending: None,
        checks: vec![PathCheck {
            name: CheckName::Route,
            ok: true,
            detail: "unicast 10.1.0.0/24 dev veth0 table main".to_owned(),
        }],
        probe: None,
        attempts: Vec::new(),
        transitions: Vec::new(),
    }
}

fn probe(ok: bool) -> ProbeSummary {
    ProbeSummary {
        kind: "tcp",
        ok,
        rtt_ms: ok.then_some(0.3),
        loss_pct: Some(if ok { 0.0 } else { 75.0 }),
        jitter_ms: None,
        error: (!ok).then(|| "connection timed out".to_owned()),
        sent: 4,
        history: if ok { vec![Some(0.3); 4] } else { vec![Some(0.3), None, None, None] },
    }
}

fn paths(store: &mut Store, second: i64, paths: Vec<PathState>) {
    fold(store, second, SourceId::Paths, Payload::Paths(paths));
}

#[test]
fn path_failing_names_the_route_and_the_probe() {
    let failing = |store: &mut Store, s: i64| {
        let mut target = path("10.1.0.1:8080", PathStatus::Failing, Some(PathReason::ProbeFailed));
        target.destination = Some(ip("10.1.0.1"));
        target.probe = Some(probe(false));
        paths(store, s, vec![path("default-ipv4", PathStatus::Satisfied, None), target]);
    };
    let answering = |store: &mut Store, s: i64| {
        let mut target = path("10.1.0.1:8080", PathStatus::Satisfied, None);
        target.probe = Some(probe(true));
        paths(store, s, vec![path("default-ipv4", PathStatus::Satisfied, None), target]);
    };
    let open = drive(
        "path_failing",
        &[(0, &failing), (1, &failing), (2, &failing), (3, &answering), (12, &answering), (13, &answering)],
    );
    let target = vec!["10.1.0.1:8080".to_owned()];
    assert_eq!(
        open,
        [vec![], vec![], target.clone(), target.clone(), target, vec![]],
        "2 s debounce, 10 s hold"
    );
    let mut store = Store::default();
    assert_eq!(subjects(&evaluate(&PATH_FAILING, &store)), None, "no paths: not applicable");
    failing(&mut store, 0);
    let candidate = &found(evaluate(&PATH_FAILING, &store))[0];
    assert!(
        candidate.title.contains("via veth0") && candidate.title.contains("connection timed out"),
        "{}",
        candidate.title
    );
    assert!(candidate.evidence.iter().any(|e| e.fact == "route check" && e.value.contains("dev veth0")));
    assert!(
        candidate.evidence.iter().any(|e| e.value == "3 in a row, 3 of the last 4"),
        "{:?}",
        candidate.evidence
    );
    assert!(candidate.fix.starts_with("nc -vz -w 3 10.1.0.1 8080"), "{}", candidate.fix);
}

/// `host` with a global IPv6 address, and the default paths as given.
fn dual_stack(store: &mut Store, s: i64, v6: PathState, extra: Vec<PathState>) {
    let mut table = host(vec![route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 0)]);
    table.interfaces[1].addresses.push(address("2001:db8:1::2/64"));
    network(store, s, table);
    paths(store, s, [vec![path("default-ipv4", PathStatus::Satisfied, None), v6], extra].concat());
}

fn attempt(address: &str, started_ms: f64, outcome: AttemptOutcome, winner: bool) -> ConnectAttempt {
    ConnectAttempt {
        address: address.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}")),
        started_ms,
        duration_ms: 1.0,
        outcome,
        winner,
        error: None,
    }
}

#[test]
fn ipv6_broken_when_dual_stack_connects_fall_back() {
    let race = |v6: AttemptOutcome, v4_start: f64, v6_wins: bool| {
        let mut target = path("dual.test:8443", PathStatus::Satisfied, None);
        target.attempts = vec![
            attempt("[2001:db8:1::99]:8443", 0.0, v6, v6_wins),
            attempt(
                "10.1.0.1:8443",
                v4_start,
                if v6_wins { AttemptOutcome::Cancelled } else { AttemptOutcome::Connected },
                !v6_wins,
            ),
        ];
        target
    };
    let v6_ok = || path("default-ipv6", PathStatus::Satisfied, None);
    let falling_back = move |store: &mut Store, s: i64| {
        dual_stack(store, s, v6_ok(), vec![race(AttemptOutcome::Cancelled, 250.0, false)]);
    };
    let fine = move |store: &mut Store, s: i64| {
        dual_stack(store, s, v6_ok(), vec![race(AttemptOutcome::Connected, 250.0, true)]);
    };
    let open = drive(
        "ipv6_broken",
        &[(0, &falling_back), (4, &falling_back), (5, &falling_back), (6, &fine), (36, &fine)],
    );
    let ipv6 = vec!["ipv6".to_owned()];
    assert_eq!(open, [vec![], vec![], ipv6.clone(), ipv6.clone(), vec![]], "5 s debounce, 30 s hold");

    let mut store = Store::default();
    falling_back(&mut store, 0);
    let candidate = &found(evaluate(&IPV6_BROKEN, &store))[0];
    assert!(candidate.title.contains("wait 250 ms"), "{}", candidate.title);
    // An immediate refusal costs no wait: below the threshold.
    dual_stack(&mut store, 1, v6_ok(), vec![race(AttemptOutcome::Unreachable, 2.0, false)]);
    assert_eq!(subjects(&evaluate(&IPV6_BROKEN, &store)), Some(vec![]));
    // The default IPv6 gateway does not answer, and a name has AAAA: broken.
    let mut gateway = path("default-ipv6", PathStatus::Unsatisfied, Some(PathReason::GatewayUnreachable));
    gateway.reason_subject = Some("fe80::1".to_owned());
    gateway.checks.push(PathCheck {
        name: CheckName::Gateway,
        ok: false,
        detail: "gateway fe80::1 on veth0 does not answer neighbour discovery (failed)".to_owned(),
    });
    dual_stack(&mut store, 2, gateway.clone(), vec![race(AttemptOutcome::Unreachable, 2.0, false)]);
    let candidate = &found(evaluate(&IPV6_BROKEN, &store))[0];
    assert!(candidate.title.contains("does not answer neighbour discovery"), "{}", candidate.title);
    assert!(candidate.evidence.iter().any(|e| e.value == "dual.test:8443"), "{:?}", candidate.evidence);
    // No name with AAAA seen: nobody waits for IPv6.
    dual_stack(&mut store, 3, gateway.clone(), vec![]);
    assert_eq!(subjects(&evaluate(&IPV6_BROKEN, &store)), Some(vec![]));
    // …until a trace resolves one.
    let trace = DnsTrace {
        name: "example.test".to_owned(),
        origin: TraceOrigin::User,
        started_at: Timestamp::UNIX_EPOCH,
        candidates: vec![],
        answered_by: None,
        result: vec![ip("2001:db8::80")],
        error: None,
        steps: vec![],
        total_ms: 1.0,
        system: None,
        differences: vec![],
    };
    fold(&mut store, 3, SourceId::Dns, Payload::DnsTrace(Box::new(trace)));
    assert_eq!(subjects(&evaluate(&IPV6_BROKEN, &store)), Some(ipv6));
}

#[test]
fn ipv6_broken_is_quiet_on_an_ipv4_only_host() {
    let mut store = Store::default();
    assert_eq!(subjects(&evaluate(&IPV6_BROKEN, &store)), None, "no paths: not applicable");
    network(&mut store, 0, host(vec![route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 0)]));
    let mut target = path("dual.test:443", PathStatus::Satisfied, None);
    target.attempts = vec![
        attempt("[2001:db8::1]:443", 0.0, AttemptOutcome::TimedOut, false),
        attempt("10.1.0.1:443", 250.0, AttemptOutcome::Connected, true),
    ];
    let v6 = path("default-ipv6", PathStatus::Unsatisfied, Some(PathReason::NoSourceAddress));
    paths(&mut store, 0, vec![path("default-ipv4", PathStatus::Satisfied, None), v6, target]);
    assert_eq!(
        subjects(&evaluate(&IPV6_BROKEN, &store)),
        Some(vec![]),
        "no IPv6 address: absent, not broken"
    );
}

#[test]
fn default_route_missing_opens_after_the_debounce_and_reads_policy_tables() {
    let missing = |store: &mut Store, s: i64| network(store, s, host(vec![]));
    let present = |store: &mut Store, s: i64| {
        network(store, s, host(vec![route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 0)]));
    };
    let open = drive(
        "default_route_missing",
        &[(0, &missing), (4, &missing), (5, &missing), (6, &present), (15, &present), (16, &present)],
    );
    let ipv4 = vec!["ipv4".to_owned()];
    assert_eq!(open, [vec![], vec![], ipv4.clone(), ipv4.clone(), ipv4, vec![]]);

    let mut store = Store::default();
    assert_eq!(subjects(&evaluate(&DEFAULT_ROUTE_MISSING, &store)), None, "no network: not applicable");
    // A default route in a table no rule looks up does not count, and says so.
    let mut table = host(vec![route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 100, 0)]);
    network(&mut store, 0, table.clone());
    let candidate = &found(evaluate(&DEFAULT_ROUTE_MISSING, &store))[0];
    assert!(
        candidate.evidence.iter().any(|e| e.fact == "a default route no rule looks up"),
        "{:?}",
        candidate.evidence
    );
    assert!(candidate.title.contains("veth0"));
    table.rules =
        vec![rule(0, "from all", 255), rule(100, "from all fwmark 0x7", 100), rule(32766, "from all", 254)];
    network(&mut store, 1, table.clone());
    assert_eq!(subjects(&evaluate(&DEFAULT_ROUTE_MISSING, &store)), Some(vec![]));
    // 0/1 + 128/1 (a VPN's full tunnel) take everything too.
    let mut split =
        host(vec![route("0.0.0.0/1", None, VETH0, 254, 0), route("128.0.0.0/1", None, VETH0, 254, 0)]);
    network(&mut store, 2, split.clone());
    assert_eq!(subjects(&evaluate(&DEFAULT_ROUTE_MISSING, &store)), Some(vec![]));
    // Link-local and ULA IPv6, loopback, and a link that is down: nothing to say.
    split.interfaces[1].addresses = vec![address("fe80::2/64"), address("fd00::2/64")];
    split.interfaces.push(Interface {
        flags: LinkFlags::default(),
        carrier: false,
        ..link(4, "eth1", &["192.0.2.5/24"])
    });
    network(&mut store, 3, split);
    assert_eq!(subjects(&evaluate(&DEFAULT_ROUTE_MISSING, &store)), Some(vec![]));
    // A global IPv6 address without a default IPv6 route.
    let mut table = host(vec![route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 0)]);
    table.interfaces[1].addresses.push(address("2001:db8:1::2/64"));
    network(&mut store, 4, table);
    let candidate = &found(evaluate(&DEFAULT_ROUTE_MISSING, &store))[0];
    assert_eq!(candidate.subject, "ipv6");
    assert!(candidate.fix.contains("accept_ra"), "{}", candidate.fix);
}

#[test]
fn gateway_unreachable_needs_a_failed_neighbour_or_a_gateway_off_the_link() {
    let with = |state: Option<NeighborState>, gateway: &'static str| {
        move |store: &mut Store, s: i64| {
            let mut table = host(vec![route("0.0.0.0/0", Some(gateway), VETH0, 254, 0)]);
            table.neighbors = state.map(|state| neighbour(VETH0, gateway, state)).into_iter().collect();
            network(store, s, table);
        }
    };
    let failed = with(Some(NeighborState::Failed), "10.1.0.99");
    let reachable = with(Some(NeighborState::Reachable), "10.1.0.99");
    let open = drive(
        "gateway_unreachable",
        &[(0, &failed), (2, &failed), (3, &failed), (4, &reachable), (14, &reachable)],
    );
    let subject = vec!["gateway 10.1.0.99".to_owned()];
    assert_eq!(open, [vec![], vec![], subject.clone(), subject, vec![]], "3 s debounce, 10 s hold");

    let mut store = Store::default();
    failed(&mut store, 0);
    let candidate = &found(evaluate(&GATEWAY_UNREACHABLE, &store))[0];
    assert_eq!(candidate.severity, Severity::Critical, "the preferred default route");
    assert!(
        candidate.evidence.iter().any(|e| e.fact == "neighbour 10.1.0.99 on veth0" && e.value == "failed")
    );
    // Not yet resolved, on-link: nothing to say yet.
    with(None, "10.1.0.99")(&mut store, 1);
    assert_eq!(subjects(&evaluate(&GATEWAY_UNREACHABLE, &store)), Some(vec![]));
    // Off the link's networks and never resolved: a warning; resolved (`onlink` routes work): quiet.
    with(None, "192.0.2.1")(&mut store, 2);
    let candidate = &found(evaluate(&GATEWAY_UNREACHABLE, &store))[0];
    assert_eq!((candidate.subject.as_str(), candidate.severity), ("gateway 192.0.2.1", Severity::Warning));
    assert!(candidate.fix.contains("onlink"), "{}", candidate.fix);
    with(Some(NeighborState::Stale), "192.0.2.1")(&mut store, 3);
    assert_eq!(subjects(&evaluate(&GATEWAY_UNREACHABLE, &store)), Some(vec![]));
    // A link-local IPv6 gateway is always on-link; its subject names the interface.
    let mut table = host(vec![route("::/0", Some("fe80::1"), VETH0, 254, 1024)]);
    table.neighbors = vec![neighbour(VETH0, "fe80::1", NeighborState::Incomplete)];
    network(&mut store, 4, table);
    assert_eq!(
        subjects(&evaluate(&GATEWAY_UNREACHABLE, &store)),
        Some(vec!["gateway fe80::1%veth0".to_owned()])
    );
}

/// Two uplinks: `veth0` (default, metric 100) and `veth2` (default, metric 200),
/// with `rules` and `rp_filter` for `veth2`.
fn two_uplinks(store: &mut Store, s: i64, rules: Vec<PolicyRule>, extra: Vec<Route>, rp_filter: u8) {
    let mut table = host(vec![
        route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 100),
        route("10.2.0.0/24", None, VETH2, 254, 0),
    ]);
    table.interfaces.push(link(3, "veth2", &["10.2.0.2/24"]));
    table.routes.extend(extra);
    table.rules = rules;
    network(store, s, table);
    let mut counters = reading(&[("TcpExtIPReversePathFilter", 5 * s)]);
    counters.rp_filter =
        [("all".to_owned(), 0), ("veth0".to_owned(), 1), ("veth2".to_owned(), rp_filter)].into();
    fold(store, s, SourceId::Kernel, Payload::Kernel(Box::new(counters)));
}

const MAIN_RULES: fn() -> Vec<PolicyRule> =
    || vec![rule(0, "from all", 255), rule(32766, "from all", 254), rule(32767, "from all", 253)];

#[test]
fn rp_filter_asymmetric_follows_the_reply_through_the_rules() {
    let second_default = || vec![route("0.0.0.0/0", Some("10.2.0.1"), VETH2, 254, 200)];
    let strict = move |store: &mut Store, s: i64| two_uplinks(store, s, MAIN_RULES(), second_default(), 1);
    let loose = move |store: &mut Store, s: i64| two_uplinks(store, s, MAIN_RULES(), second_default(), 2);
    let open = drive("rp_filter_asymmetric", &[(0, &strict), (5, &strict), (6, &loose), (16, &loose)]);
    let veth2 = vec!["veth2".to_owned()];
    assert_eq!(open, [vec![], veth2.clone(), veth2, vec![]]);

    let mut store = Store::default();
    assert_eq!(subjects(&evaluate(&RP_FILTER_ASYMMETRIC, &store)), None, "no kernel reading: not applicable");
    strict(&mut store, 1);
    strict(&mut store, 2);
    let candidate = &found(evaluate(&RP_FILTER_ASYMMETRIC, &store))[0];
    assert_eq!(candidate.severity, Severity::Warning, "the filter drops now: {:?}", candidate.evidence);
    assert!(candidate.title.contains(" drops "), "{}", candidate.title);
    assert!(
        candidate
            .evidence
            .iter()
            .any(|e| e.fact == "reply from 10.2.0.2 to 1.1.1.1" && e.value.contains("dev veth0")),
        "{:?}",
        candidate.evidence
    );
    assert!(candidate.fix.starts_with("ip rule add from 10.2.0.2 lookup 100"), "{}", candidate.fix);
    // Source routing answers through veth2 itself: symmetric.
    let routed = [MAIN_RULES(), vec![rule(100, "from 10.2.0.2", 100)]].concat();
    two_uplinks(&mut store, 3, routed, vec![route("0.0.0.0/0", Some("10.2.0.1"), VETH2, 100, 0)], 1);
    assert_eq!(subjects(&evaluate(&RP_FILTER_ASYMMETRIC, &store)), Some(vec![]));
    // A rule this cannot judge comes first: no claim.
    let unjudged = [MAIN_RULES(), vec![rule(10, "not from all fwmark 0xca6c", 51820)]].concat();
    two_uplinks(&mut store, 4, unjudged, second_default(), 1);
    assert_eq!(subjects(&evaluate(&RP_FILTER_ASYMMETRIC, &store)), Some(vec![]));
    // No route beyond veth2's own network: nothing arrives there from afar.
    two_uplinks(&mut store, 5, MAIN_RULES(), vec![], 1);
    assert_eq!(subjects(&evaluate(&RP_FILTER_ASYMMETRIC, &store)), Some(vec![]));
}

/// An SSDP-like socket on 0.0.0.0:1900, a socket connected to a group, `routes`, and
/// `IpOutNoRoutes` at `no_routes`.
fn multicast_sender(store: &mut Store, s: i64, routes: Vec<Route>, no_routes: i64) {
    network(store, s, host(routes));
    let discovery = socket(7, Protocol::Udp, SocketState::Unconnected, "0.0.0.0:1900", "0.0.0.0:0");
    let connected = socket(8, Protocol::Udp, SocketState::Established, "10.1.0.2:40000", "239.1.2.3:5000");
    fold(store, s, SourceId::Connections, Payload::Sockets(table(vec![discovery, connected])));
    kernel(store, s, &[("IpOutNoRoutes", no_routes), ("Ip6OutNoRoutes", 0)]);
}

#[test]
fn multicast_send_no_route_needs_failing_sends_a_sender_and_no_route() {
    let failing = |store: &mut Store, s: i64| multicast_sender(store, s, vec![], 10 * s);
    let routed = |store: &mut Store, s: i64| {
        multicast_sender(store, s, vec![route("224.0.0.0/4", None, VETH0, 254, 0)], 10 * s);
    };
    let open = drive("multicast_send_no_route", &[(0, &failing), (1, &failing), (2, &routed), (32, &routed)]);
    let group = vec!["multicast ipv4".to_owned()];
    assert_eq!(open, [vec![], group.clone(), group, vec![]], "no baseline, fires, holds 30 s");

    let mut store = Store::default();
    failing(&mut store, 0);
    assert_eq!(subjects(&evaluate(&MULTICAST_SEND_NO_ROUTE, &store)), None, "no counter change yet");
    failing(&mut store, 1);
    let candidate = &found(evaluate(&MULTICAST_SEND_NO_ROUTE, &store))[0];
    assert!(candidate.fix.starts_with("ip route add 224.0.0.0/4 dev veth0"), "{}", candidate.fix);
    assert!(candidate.evidence.iter().any(|e| e.value == "+10"), "{:?}", candidate.evidence);
    // The IPv4 socket connected to a group sends through its source's interface: not a sender.
    assert!(
        candidate.evidence.iter().any(|e| e.value == "udp 0.0.0.0:1900 (server (pid 4242))"),
        "{:?}",
        candidate.evidence
    );
    // Sends that do not fail, or a default route: quiet.
    multicast_sender(&mut store, 2, vec![], 10);
    assert_eq!(subjects(&evaluate(&MULTICAST_SEND_NO_ROUTE, &store)), Some(vec![]));
    multicast_sender(&mut store, 3, vec![route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 0)], 40);
    assert_eq!(subjects(&evaluate(&MULTICAST_SEND_NO_ROUTE, &store)), Some(vec![]));
    // Failing sends but no socket that sends to groups: no claim.
    network(&mut store, 4, host(vec![]));
    fold(&mut store, 4, SourceId::Connections, Payload::Sockets(table(vec![])));
    kernel(&mut store, 4, &[("IpOutNoRoutes", 80), ("Ip6OutNoRoutes", 0)]);
    assert_eq!(subjects(&evaluate(&MULTICAST_SEND_NO_ROUTE, &store)), Some(vec![]));
    // IPv6: a socket connected to a group, and no ff00::/8 route.
    let connected =
        socket(9, Protocol::Udp, SocketState::Established, "[2001:db8:1::2]:40000", "[ff0e::1]:5000");
    fold(&mut store, 5, SourceId::Connections, Payload::Sockets(table(vec![connected])));
    kernel(&mut store, 5, &[("IpOutNoRoutes", 80), ("Ip6OutNoRoutes", 3)]);
    assert_eq!(
        subjects(&evaluate(&MULTICAST_SEND_NO_ROUTE, &store)),
        Some(vec!["multicast ipv6".to_owned()])
    );
}

#[test]
fn policy_rules_are_walked_in_priority_order() {
    let mut store = Store::default();
    let mut table = host(vec![
        route("0.0.0.0/0", Some("10.1.0.1"), VETH0, 254, 100),
        route("0.0.0.0/0", Some("10.1.0.5"), VETH0, 254, 50),
        route("0.0.0.0/0", None, VETH2, 100, 0),
        Route { route_type: RouteType::Throw, ..route("1.1.1.0/24", None, VETH2, 100, 0) },
    ]);
    table.rules = [MAIN_RULES(), vec![rule(50, "from 10.9.0.0/16", 100)]].concat();
    network(&mut store, 0, table);
    let via = |source: &str, destination: &str| {
        reply_route(&store, ip(source), ip(destination))
            .map(|(r, rule)| (r.gateway, rule.map(|r| r.priority)))
    };
    assert_eq!(via("10.1.0.2", "8.8.8.8"), Some((Some(ip("10.1.0.5")), Some(32766))), "lowest metric");
    assert_eq!(via("10.9.1.1", "8.8.8.8"), Some((None, Some(50))), "source rule");
    assert_eq!(via("10.9.1.1", "1.1.1.1"), Some((Some(ip("10.1.0.5")), Some(32766))), "throw goes on");
    assert!(
        covers(ip("2001:db8::"), 32, ip("2001:db8:1::1")) && !covers(ip("10.0.0.0"), 8, ip("2001:db8::1"))
    );
}
