use super::*;
use crate::event::{Notice, Payload};
use crate::findings::testing::drive;
use crate::findings::testing::policy_rule as rule;
use crate::findings::testing::{fold, socket, subjects, table};
use crate::model::{
    AddressFlags, InterfaceAddress, LinkFlags, Neighbor, NeighborState, NetworkTable, PathReason, PathStatus,
    Protocol, RouteMove, SourceId, Timestamp, TunnelMode,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn address(text: &str) -> InterfaceAddress {
    let (address, len) = text.split_once('/').unwrap_or_else(|| panic!("{text}"));
    let address = ip(address);
    InterfaceAddress {
        address,
        prefix_len: len.parse().unwrap_or_else(|e| panic!("{len}: {e}")),
        family: AddressFamily::of(&address),
        scope: if address.is_loopback() { AddressScope::Host } else { AddressScope::Global },
        flags: AddressFlags::PERMANENT,
        valid_lifetime_s: None,
        preferred_lifetime_s: None,
        label: None,
    }
}

/// A link of `kind`, up with a carrier unless `carrier` is false.
fn link(index: u32, name: &str, kind: InterfaceKind, carrier: bool, addresses: &[&str]) -> Interface {
    let mut flags = LinkFlags::UP;
    if carrier {
        flags = flags.with(LinkFlags::LOWER_UP);
    }
    Interface {
        index,
        name: name.to_owned(),
        kind,
        oper_state: if carrier { OperState::Unknown } else { OperState::Down },
        carrier,
        mtu: 1500,
        flags,
        addresses: addresses.iter().map(|a| address(a)).collect(),
        ..Interface::default()
    }
}

fn route(destination: &str, gateway: Option<&str>, dev: &str, table: u32) -> Route {
    let (network, len) = destination.split_once('/').unwrap_or((destination, "0"));
    let destination = ip(network);
    Route {
        family: AddressFamily::of(&destination),
        table,
        route_type: RouteType::Unicast,
        destination,
        prefix_len: len.parse().unwrap_or_else(|e| panic!("{len}: {e}")),
        gateway: gateway.map(ip),
        interface: Some(dev.to_owned()),
        interface_index: None,
        source: None,
        metric: Some(0),
        protocol: "static".to_owned(),
        scope: AddressScope::Global,
    }
}

/// `eth0` 192.168.1.23/24 with its gateway .1 and a printer .50, and `tun0` 10.8.0.2/24
/// (with a carrier when `carrier`), plus `routes` and `rules` after the standard ones.
fn lan(carrier: bool, routes: Vec<Route>, rules: Vec<PolicyRule>) -> NetworkTable {
    NetworkTable {
        interfaces: vec![
            link(1, "lo", InterfaceKind::Loopback, true, &["127.0.0.1/8"]),
            link(2, "eth0", InterfaceKind::Ethernet, true, &["192.168.1.23/24"]),
            link(3, "tun0", InterfaceKind::Tun, carrier, &["10.8.0.2/24"]),
        ],
        routes: [
            vec![
                route("192.168.1.0/24", None, "eth0", 254),
                route("0.0.0.0/0", Some("192.168.1.1"), "eth0", 254),
                route("10.8.0.0/24", None, "tun0", 254),
            ],
            routes,
        ]
        .concat(),
        rules: [
            vec![rule(0, "from all", 255), rule(32_766, "from all", 254), rule(32_767, "from all", 253)],
            rules,
        ]
        .concat(),
        neighbors: vec![Neighbor {
            interface: "eth0".to_owned(),
            interface_index: 2,
            address: ip("192.168.1.50"),
            mac: None,
            state: NeighborState::Reachable,
        }],
    }
}

/// 0/1 and 128/1 into tun0: a full tunnel as `OpenVPN` sets it.
fn halves() -> Vec<Route> {
    vec![route("0.0.0.0/1", None, "tun0", 254), route("128.0.0.0/1", None, "tun0", 254)]
}

fn default_path(interface: &str, reason: Option<PathReason>) -> PathState {
    PathState {
        target: "default-ipv4".to_owned(),
        family: Some(AddressFamily::Ipv4),
        status: if reason.is_some() { PathStatus::Unsatisfied } else { PathStatus::Satisfied },
        reason,
        reason_subject: reason.map(|_| interface.to_owned()),
        destination: None,
        interface: Some(interface.to_owned()),
        interface_index: None,
        interface_kind: Some(if interface == "eth0" { InterfaceKind::Ethernet } else { InterfaceKind::Tun }),
        source: None,
        gateway: None,
        route_type: Some(RouteType::Unicast),
        table: Some(254),
        matched_prefix: None,
        tunnel: (interface != "eth0").then_some(TunnelMode::Full),
        ipv4: true,
        ipv6: false,
        dns: true,
        expensive: false,
        constrained: false,
        since: Timestamp::UNIX_EPOCH,
        evaluated_at: Timestamp::UNIX_EPOCH,
        pending: None,
        checks: Vec::new(),
        probe: None,
        attempts: Vec::new(),
        transitions: Vec::new(),
    }
}

fn network(store: &mut Store, second: i64, table: NetworkTable) {
    fold(store, second, SourceId::Interfaces, Payload::Network(table));
}

fn paths(store: &mut Store, second: i64, paths: Vec<PathState>) {
    fold(store, second, SourceId::Paths, Payload::Paths(paths));
}

fn found(rule: &Rule, store: &Store) -> Vec<Candidate> {
    match (rule.evaluate)(store, &RuleConfig::defaults(rule)) {
        Verdict::Found(found) => found,
        Verdict::NotApplicable => panic!("not applicable"),
    }
}

#[test]
fn the_route_walk_follows_rules_marks_and_throws() {
    let mut store = Store::default();
    let mut table =
        lan(true, halves(), vec![rule(100, "from all fwmark 0x1", 200), rule(110, "to 10.9.0.0/16", 201)]);
    table.routes.push(route("0.0.0.0/0", None, "tun0", 200));
    let mut throw = route("10.9.0.0/16", None, "tun0", 201);
    throw.route_type = RouteType::Throw;
    table.routes.push(throw);
    network(&mut store, 0, table);
    let via = |address: &str| egress(&store, ip(address)).and_then(|e| e.route.interface.clone());
    assert_eq!(via("192.168.1.50").as_deref(), Some("eth0"), "the on-link /24 beats 0/1");
    assert_eq!(via("93.184.216.34").as_deref(), Some("tun0"), "unmarked traffic skips the fwmark rule");
    assert_eq!(via("10.9.1.1").as_deref(), Some("tun0"), "a throw goes on to main, 0/1");
    assert_eq!(selector_matches("not from all fwmark 0xca6c", ip("1.1.1.1")), Some(true));
    assert_eq!(selector_matches("from all uidrange 1000-1000", ip("1.1.1.1")), None);
    assert_eq!(
        selector_matches("from 10.0.0.0/8", ip("1.1.1.1")),
        Some(false),
        "no source before the lookup"
    );
}

#[test]
fn tunnel_down_opens_when_routes_point_into_a_dead_tunnel_and_closes_when_it_returns() {
    let alive = |store: &mut Store, s: i64| {
        network(store, s, lan(true, halves(), vec![]));
        paths(store, s, vec![default_path("tun0", None)]);
    };
    let dead = |store: &mut Store, s: i64| {
        network(store, s, lan(false, halves(), vec![]));
        paths(store, s, vec![default_path("tun0", Some(PathReason::NoCarrier))]);
    };
    let open = drive(
        "tunnel_down",
        &[(0, &alive), (1, &dead), (5, &dead), (6, &dead), (7, &alive), (16, &alive), (17, &alive)],
    );
    let tun = vec!["tun0".to_owned()];
    assert_eq!(
        open,
        [vec![], vec![], vec![], tun.clone(), tun.clone(), tun, vec![]],
        "5 s debounce, 10 s hold"
    );
    let mut store = Store::default();
    dead(&mut store, 0);
    let finding = &found(&TUNNEL_DOWN, &store)[0];
    assert_eq!(finding.severity, Severity::Critical, "the default path uses it");
    assert!(
        finding.evidence.iter().any(|e| e.value.contains("0.0.0.0/1 table main, 128.0.0.0/1 table main")),
        "{finding:?}"
    );
    assert!(finding.evidence.iter().any(|e| e.fact == "path default-ipv4" && e.value.contains("no_carrier")));
    assert!(finding.fix.contains("ip route flush dev tun0"), "{}", finding.fix);
}

#[test]
fn an_idle_tunnel_is_no_finding_but_one_seen_going_down_is() {
    let mut store = Store::default();
    assert_eq!(subjects(&(TUNNEL_DOWN.evaluate)(&store, &RuleConfig::defaults(&TUNNEL_DOWN))), None);
    // A persistent tun nobody holds and nothing routes into: not a problem.
    let mut idle = lan(false, vec![], vec![]);
    for route in idle.routes.iter_mut().filter(|r| r.interface.as_deref() == Some("tun0")) {
        // Only the kernel's route of its own subnet.
        route.protocol = "kernel".to_owned();
    }
    network(&mut store, 0, idle.clone());
    assert!(found(&TUNNEL_DOWN, &store).is_empty());
    let notice = Notice::new(TimelineKind::LinkChanged, "tun0", "tun0 carrier lost");
    fold(&mut store, 1, SourceId::Interfaces, Payload::Notices(vec![notice]));
    network(&mut store, 1, idle.clone());
    let finding = &found(&TUNNEL_DOWN, &store)[0];
    assert_eq!((finding.subject.as_str(), finding.severity), ("tun0", Severity::Warning));
    assert!(
        finding.evidence.iter().any(|e| e.fact == "timeline" && e.value.starts_with("tun0 carrier lost"))
    );
    network(&mut store, 700, idle);
    assert!(found(&TUNNEL_DOWN, &store).is_empty(), "past recent_s the news is old");
}

#[test]
fn tunnel_swallows_lan_by_a_rule_before_main_or_a_more_specific_route() {
    let by_rule = |store: &mut Store, s: i64| {
        let mut table =
            lan(true, vec![route("0.0.0.0/0", None, "tun0", 200)], vec![rule(100, "from all", 200)]);
        table.routes.push(route("192.168.1.1/32", None, "eth0", 201));
        network(store, s, table);
    };
    let healthy = |store: &mut Store, s: i64| network(store, s, lan(true, halves(), vec![]));
    let open = drive("tunnel_swallows_lan", &[(0, &by_rule), (5, &by_rule), (6, &healthy), (16, &healthy)]);
    let lan_subject = vec!["192.168.1.0/24 on eth0".to_owned()];
    assert_eq!(open, [vec![], lan_subject.clone(), lan_subject, vec![]]);

    let mut store = Store::default();
    by_rule(&mut store, 0);
    let finding = &found(&TUNNEL_SWALLOWS_LAN, &store)[0];
    assert!(finding.title.contains("the gateway 192.168.1.1"), "{finding:#?}");
    assert!(
        finding.fix.starts_with("ip rule add to 192.168.1.0/24 lookup main priority 99"),
        "{}",
        finding.fix
    );
    assert!(finding.evidence.iter().any(|e| e.value.contains("(rule 100: from all)")), "{finding:?}");

    let mut table = lan(true, halves(), vec![]);
    table.routes.push(route("192.168.1.96/28", None, "tun0", 254));
    network(&mut store, 1, table);
    let finding = &found(&TUNNEL_SWALLOWS_LAN, &store)[0];
    assert!(finding.title.contains("host 192.168.1.97"), "{}", finding.title);
    assert!(finding.fix.starts_with("ip route del 192.168.1.96/28 dev tun0 table main"), "{}", finding.fix);
}

#[test]
fn wg_quick_and_marked_rules_leave_the_lan_alone() {
    let mut store = Store::default();
    let mut table = lan(
        true,
        vec![route("0.0.0.0/0", None, "tun0", 51_820)],
        // wg-quick: main without its default route, then the tunnel's table.
        vec![
            rule(32_764, "from all suppress_prefixlength 0", 254),
            rule(32_765, "not from all fwmark 0xca6c", 51_820),
            rule(50, "from all fwmark 0x1", 200),
        ],
    );
    table.routes.push(route("0.0.0.0/0", None, "tun0", 200));
    network(&mut store, 0, table);
    paths(&mut store, 0, vec![default_path("tun0", None)]);
    assert!(found(&TUNNEL_SWALLOWS_LAN, &store).is_empty());
    let remote = egress(&store, ip("93.184.216.34")).unwrap_or_else(|| panic!("a route"));
    assert_eq!(
        remote.interface(&store),
        Some("tun0"),
        "a default route stands for the kernel's default path"
    );
    // The suppressed main default is skipped, as the kernel skips it: the tunnel's table answers.
    assert_eq!(remote.route.table, 51_820);
    // Without `suppress_prefixlength`, main answers every lookup and the tunnel's rule never runs.
    let plain = |rule: &PolicyRule| PolicyRule {
        selector: rule.selector.replace(" suppress_prefixlength 0", ""),
        ..rule.clone()
    };
    let mut without = store.clone();
    let rules: Vec<PolicyRule> = store.rules().iter().map(plain).collect();
    let mut table = lan(true, vec![route("0.0.0.0/0", None, "tun0", 51_820)], rules);
    table.routes.push(route("0.0.0.0/0", None, "tun0", 200));
    network(&mut without, 1, table);
    assert_eq!(egress(&without, ip("93.184.216.34")).map(|e| e.route.table), Some(254));
}

fn connection(store: &mut Store, second: i64, moved: bool) {
    let mut socket =
        socket(7, Protocol::Tcp, SocketState::Established, "192.168.1.23:40000", "93.184.216.34:443");
    socket.interface_index = None;
    let mut sockets = table(vec![socket]);
    if moved {
        sockets.route_moves = vec![RouteMove {
            local: ip("192.168.1.23"),
            remote: ip("93.184.216.34"),
            interface: Some("tun0".to_owned()),
            interface_index: Some(3),
            interface_changed: true,
            source: Some(ip("10.8.0.2")),
            current_interface: Some("eth0".to_owned()),
            first_interface: Some("eth0".to_owned()),
        }];
    }
    fold(store, second, SourceId::Connections, Payload::Sockets(sockets));
}

#[test]
fn route_moved_connections_names_the_connections_while_the_tunnel_lasts() {
    let vpn_up = |store: &mut Store, s: i64| {
        network(store, s, lan(true, halves(), vec![]));
        connection(store, s, true);
    };
    let vpn_gone = |store: &mut Store, s: i64| {
        let mut table = lan(true, vec![], vec![]);
        table.interfaces.retain(|link| link.name != "tun0");
        table.routes.retain(|r| r.interface.as_deref() != Some("tun0"));
        network(store, s, table);
        connection(store, s, false);
    };
    let open = drive(
        "route_moved_connections",
        &[(0, &vpn_up), (5, &vpn_up), (6, &vpn_gone), (15, &vpn_gone), (16, &vpn_gone)],
    );
    let moved = vec!["moved to tun0".to_owned()];
    assert_eq!(
        open,
        [vec![], moved.clone(), moved.clone(), moved, vec![]],
        "the kept route_move alone is no finding"
    );

    let mut store = Store::default();
    assert_eq!(
        subjects(&(ROUTE_MOVED_CONNECTIONS.evaluate)(
            &store,
            &RuleConfig::defaults(&ROUTE_MOVED_CONNECTIONS)
        )),
        None
    );
    vpn_up(&mut store, 0);
    let finding = &found(&ROUTE_MOVED_CONNECTIONS, &store)[0];
    assert_eq!(finding.severity, Severity::Warning);
    assert!(
        finding.title.starts_with("1 connection(s) bypass tun0: they still leave via eth0"),
        "{}",
        finding.title
    );
    let row = &finding.evidence[0];
    assert_eq!(row.fact, "tcp 192.168.1.23:40000 → 93.184.216.34:443");
    assert!(
        row.value.starts_with("server (pid 4242): new connections to 93.184.216.34 would leave via tun0"),
        "{}",
        row.value
    );
    assert!(finding.fix.ends_with("ss -K dst 93.184.216.34 dport = 443"), "{}", finding.fix);
}
