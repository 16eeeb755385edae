use std::net::SocketAddr;

use super::*;
use crate::event::Payload;
use crate::findings::testing::drive;
use crate::findings::testing::{at, fold, socket, subjects, table};
use crate::model::{
    AddressScope, CaptureCounters, DnsConfigReport, DnsQuery, DnsQueryBatch, DnsTransport, Interface,
    InterfaceAddress, InterfaceKind, LinkFlags, NetworkTable, PathState, PathStatus, Route, SourceId,
    SystemAnswer, Timestamp, TraceOrigin, TunnelMode,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn resolver(nameservers: &[&str]) -> ResolverConfig {
    ResolverConfig {
        nameservers: nameservers.iter().map(|n| ip(n)).collect(),
        timeout_s: 1,
        attempts: 1,
        sources: vec!["/etc/resolv.conf".to_owned()],
        ..ResolverConfig::default()
    }
}

fn configure(store: &mut Store, second: i64, config: ResolverConfig, warnings: &[&str]) {
    let warnings = warnings.iter().map(|w| (*w).to_owned()).collect();
    fold(store, second, SourceId::Dns, Payload::DnsConfig(DnsConfigReport { config, warnings }));
}

/// A step asking `server` for `candidate`: answered with `rcode`, or failed with `error`.
fn step(candidate: &str, qtype: &str, server: &str, rcode: Option<&str>, error: Option<&str>) -> TraceStep {
    TraceStep {
        candidate: candidate.to_owned(),
        server: SocketAddr::new(ip(server), 53),
        client: None,
        qtype: qtype.to_owned(),
        transport: DnsTransport::Udp,
        attempt: 1,
        rcode: rcode.map(str::to_owned),
        nodata: false,
        truncated: false,
        answers: Vec::new(),
        cname_chain: Vec::new(),
        ignored: 0,
        latency_ms: if rcode.is_some() { 2.0 } else { 1000.0 },
        error: error.map(str::to_owned),
    }
}

fn traced(store: &mut Store, second: i64, name: &str, steps: Vec<TraceStep>) {
    let trace = DnsTrace {
        name: name.to_owned(),
        origin: TraceOrigin::User,
        started_at: at(second).wall,
        candidates: Vec::new(),
        answered_by: None,
        result: vec![ip("10.0.0.5")],
        error: None,
        steps,
        total_ms: 0.0,
        system: None,
        differences: Vec::new(),
    };
    fold(store, second, SourceId::Dns, Payload::DnsTrace(Box::new(trace)));
}

fn query(second: i64, name: &str, qtype: &str, server: &str, rcode: Option<&str>) -> DnsQuery {
    DnsQuery {
        at: at(second).wall,
        pid: Some(77),
        process: Some("curl".to_owned()),
        attribution: None,
        cgroup: None,
        name: name.to_owned(),
        qtype: qtype.to_owned(),
        server: SocketAddr::new(ip(server), 53),
        client: "10.0.0.2:40000".parse().unwrap_or_else(|e| panic!("{e}")),
        transport: DnsTransport::Udp,
        rcode: rcode.map(str::to_owned),
        answers: 0,
        latency_ms: rcode.map(|_| 1.0),
    }
}

fn captured(store: &mut Store, second: i64, queries: Vec<DnsQuery>) {
    let batch = DnsQueryBatch { queries, counters: CaptureCounters::default() };
    fold(store, second, SourceId::DnsCapture, Payload::DnsQueries(batch));
}

fn found(rule: &Rule, store: &Store) -> Vec<Candidate> {
    match (rule.evaluate)(store, &RuleConfig::defaults(rule)) {
        Verdict::Found(found) => found,
        Verdict::NotApplicable => panic!("not applicable"),
    }
}

const TIMEOUT: Option<&str> = Some("timeout after 1000 ms");

#[test]
fn dns_no_nameserver_says_what_glibc_falls_back_to() {
    let empty = |store: &mut Store, s: i64| configure(store, s, resolver(&[]), &[]);
    let fixed = |store: &mut Store, s: i64| configure(store, s, resolver(&["10.0.0.1"]), &[]);
    let open =
        drive("dns_no_nameserver", &[(0, &empty), (4, &empty), (5, &empty), (6, &fixed), (11, &fixed)]);
    let subject = vec!["resolv.conf".to_owned()];
    assert_eq!(open, [vec![], vec![], subject.clone(), subject, vec![]], "5 s debounce, 5 s hold");

    let mut store = Store::default();
    assert_eq!(
        subjects(&(DNS_NO_NAMESERVER.evaluate)(&store, &RuleConfig::defaults(&DNS_NO_NAMESERVER))),
        None
    );
    empty(&mut store, 0);
    assert_eq!(found(&DNS_NO_NAMESERVER, &store)[0].severity, Severity::Warning, "no socket table: unknown");
    fold(&mut store, 0, SourceId::Connections, Payload::Sockets(table(vec![])));
    let finding = &found(&DNS_NO_NAMESERVER, &store)[0];
    assert_eq!(finding.severity, Severity::Critical);
    assert!(finding.evidence.iter().any(|e| e.value == "127.0.0.1:53"), "{finding:?}");
    assert!(finding.evidence.iter().any(|e| e.value == "nothing (socket table)"), "{finding:?}");
    let dnsmasq = socket(1, Protocol::Udp, SocketState::Unconnected, "127.0.0.1:53", "0.0.0.0:0");
    fold(&mut store, 1, SourceId::Connections, Payload::Sockets(table(vec![dnsmasq])));
    let finding = &found(&DNS_NO_NAMESERVER, &store)[0];
    assert_eq!(finding.severity, Severity::Info, "a local resolver answers the fallback");
    assert!(finding.cause.contains("server (pid 4242)"), "{}", finding.cause);
    // nsswitch without dns never asks a nameserver.
    configure(&mut store, 2, ResolverConfig { hosts_order: vec!["files".to_owned()], ..resolver(&[]) }, &[]);
    assert!(found(&DNS_NO_NAMESERVER, &store).is_empty());
    let stub = ResolverConfig {
        stub: true,
        sources: vec!["/etc/resolv.conf".to_owned(), "/run/systemd/resolve/resolv.conf".to_owned()],
        ..resolver(&["127.0.0.53"])
    };
    configure(&mut store, 3, stub, &[]);
    assert_eq!(found(&DNS_NO_NAMESERVER, &store)[0].subject, "systemd-resolved");
}

#[test]
fn dns_server_timeout_states_the_glibc_delay_and_closes_after_the_window() {
    let dead_first = |store: &mut Store, s: i64| {
        configure(store, s, resolver(&["10.0.0.1", "10.0.0.2"]), &[]);
        let steps = vec![
            step("db.test", "A", "10.0.0.1", None, TIMEOUT),
            step("db.test", "AAAA", "10.0.0.1", None, TIMEOUT),
            step("db.test", "A", "10.0.0.2", Some("NOERROR"), None),
            step("db.test", "AAAA", "10.0.0.2", Some("NOERROR"), None),
        ];
        traced(store, s, "db.test", steps);
    };
    let later = |store: &mut Store, s: i64| configure(store, s, resolver(&["10.0.0.1", "10.0.0.2"]), &[]);
    let open = drive(
        "dns_server_timeout",
        &[(0, &dead_first), (30, &later), (61, &later), (70, &later), (71, &later)],
    );
    let subject = vec!["nameserver 10.0.0.1".to_owned()];
    assert_eq!(open, [subject.clone(), subject.clone(), subject.clone(), subject, vec![]]);

    let mut store = Store::default();
    dead_first(&mut store, 0);
    let finding = &found(&DNS_SERVER_TIMEOUT, &store)[0];
    assert_eq!(finding.severity, Severity::Warning);
    let delay = finding.evidence.iter().find(|e| e.fact == "delay it adds").map(|e| e.value.clone());
    assert!(
        delay.is_some_and(
            |d| d.starts_with("every query waits 1 s (timeout:1) for it before 10.0.0.2 is asked")
        ),
        "{finding:?}"
    );
    assert!(finding.evidence.iter().any(|e| e.value == "2 of 2"), "{finding:?}");
    assert!(finding.evidence.iter().any(|e| e.value == "timeout after 1000 ms"), "{finding:?}");

    // The only nameserver, also seen timing out by the capture for curl: DNS is down.
    let mut store = Store::default();
    configure(&mut store, 0, ResolverConfig { timeout_s: 5, attempts: 2, ..resolver(&["10.0.0.1"]) }, &[]);
    captured(
        &mut store,
        0,
        vec![query(0, "a.test", "A", "10.0.0.1", None), query(0, "a.test", "AAAA", "10.0.0.1", None)],
    );
    let finding = &found(&DNS_SERVER_TIMEOUT, &store)[0];
    assert_eq!(finding.severity, Severity::Critical);
    assert!(finding.title.contains("every lookup fails after 10 s (2 round(s) of 5 s"), "{}", finding.title);
    assert!(finding.evidence.iter().any(|e| e.fact == "left waiting" && e.value == "curl"), "{finding:?}");
}

#[test]
fn glibc_waits_by_the_servers_place() {
    assert_eq!([glibc_wait(5, 0, 3), glibc_wait(5, 1, 3), glibc_wait(5, 2, 3)], [5, 3, 6]);
    assert_eq!([glibc_wait(5, 0, 2), glibc_wait(5, 1, 2), glibc_wait(1, 1, 3)], [5, 5, 1]);
}

#[test]
fn healthy_servers_and_a_refused_one_are_no_timeout() {
    let mut store = Store::default();
    assert_eq!(
        subjects(&(DNS_SERVER_TIMEOUT.evaluate)(&store, &RuleConfig::defaults(&DNS_SERVER_TIMEOUT))),
        None
    );
    configure(&mut store, 0, resolver(&["10.0.0.1", "10.0.0.2"]), &[]);
    let refused = Some("10.0.0.1:53 refused (ICMP port unreachable: nothing listens on port 53)");
    let steps = vec![
        step("db.test", "A", "10.0.0.1", None, refused),
        step("db.test", "AAAA", "10.0.0.1", None, refused),
        step("db.test", "A", "10.0.0.2", Some("NOERROR"), None),
    ];
    traced(&mut store, 0, "db.test", steps);
    let timeouts = found(&DNS_SERVER_TIMEOUT, &store);
    assert!(timeouts.is_empty(), "refused is the unreachable rule's: {timeouts:#?}");
    let finding = &found(&DNS_SERVER_UNREACHABLE, &store)[0];
    assert_eq!((finding.subject.as_str(), finding.severity), ("nameserver 10.0.0.1", Severity::Warning));
    assert!(finding.title.ends_with("port 53 refused"), "{}", finding.title);
    // A newer trace where it answers clears it.
    traced(&mut store, 1, "db.test", vec![step("db.test", "A", "10.0.0.1", Some("NOERROR"), None)]);
    assert!(found(&DNS_SERVER_UNREACHABLE, &store).is_empty());
    assert!(found(&DNS_SERVER_TIMEOUT, &store).is_empty());
}

#[test]
fn dns_server_unreachable_reads_the_route_warning() {
    let no_route = "nameserver 10.0.0.9 has no route: the route to it is unreachable; queries to it cannot leave this host — fix the routing or the server list";
    let broken = |store: &mut Store, s: i64| configure(store, s, resolver(&["10.0.0.9"]), &[no_route]);
    let fixed = |store: &mut Store, s: i64| configure(store, s, resolver(&["10.0.0.9"]), &[]);
    let open = drive("dns_server_unreachable", &[(0, &broken), (3, &broken), (4, &fixed), (14, &fixed)]);
    let subject = vec!["nameserver 10.0.0.9".to_owned()];
    assert_eq!(open, [vec![], subject.clone(), subject, vec![]], "3 s debounce, 10 s hold");
    let mut store = Store::default();
    broken(&mut store, 0);
    let finding = &found(&DNS_SERVER_UNREACHABLE, &store)[0];
    assert_eq!(finding.severity, Severity::Critical, "the only nameserver");
    assert!(finding.evidence.iter().any(|e| e.value == "the route to it is unreachable"), "{finding:?}");
    assert!(finding.fix.starts_with("ip route get 10.0.0.9"), "{}", finding.fix);
}

fn k8s() -> ResolverConfig {
    ResolverConfig {
        search: vec![
            "ns.svc.cluster.local".to_owned(),
            "svc.cluster.local".to_owned(),
            "cluster.local".to_owned(),
        ],
        ndots: 5,
        ..resolver(&["10.96.0.10"])
    }
}

/// curl's lookup of api.example.com through three search domains, then as written.
fn walk(second: i64) -> Vec<DnsQuery> {
    let mut queries = Vec::new();
    for candidate in [
        "api.example.com.ns.svc.cluster.local",
        "api.example.com.svc.cluster.local",
        "api.example.com.cluster.local",
    ] {
        queries.push(query(second, candidate, "A", "10.96.0.10", Some("NXDOMAIN")));
        queries.push(query(second, candidate, "AAAA", "10.96.0.10", Some("NXDOMAIN")));
    }
    queries.push(query(second, "api.example.com", "A", "10.96.0.10", Some("NOERROR")));
    queries.push(query(second, "api.example.com", "AAAA", "10.96.0.10", Some("NOERROR")));
    queries
}

#[test]
fn dns_search_amplification_counts_the_queries_of_one_lookup() {
    let amplified = |store: &mut Store, s: i64| {
        configure(store, s, k8s(), &[]);
        captured(store, s, walk(s));
    };
    let quiet = |store: &mut Store, s: i64| configure(store, s, k8s(), &[]);
    let open = drive(
        "dns_search_amplification",
        &[(0, &amplified), (1, &amplified), (61, &quiet), (62, &quiet), (92, &quiet)],
    );
    let subject = vec!["search list".to_owned()];
    assert_eq!(open, [subject.clone(), subject.clone(), subject.clone(), subject, vec![]]);

    let mut store = Store::default();
    amplified(&mut store, 0);
    amplified(&mut store, 1);
    let finding = &found(&DNS_SEARCH_AMPLIFICATION, &store)[0];
    assert!(finding.title.starts_with("api.example.com takes 8 queries: ndots:5"), "{}", finding.title);
    let lookup = finding.evidence.iter().find(|e| e.fact == "lookup of api.example.com by curl (pid 77)");
    assert!(
        lookup
            .is_some_and(|e| e.value.starts_with("8 queries: api.example.com.ns.svc.cluster.local NXDOMAIN")),
        "{finding:?}"
    );
    assert!(
        finding.evidence.iter().any(|e| e.fact.starts_with("amplified lookups") && e.value == "2"),
        "{finding:?}"
    );
    assert!(finding.fix.contains("ndots:1"));

    // The default ndots:1 tries a dotted name as written first: one query per type.
    let mut store = Store::default();
    configure(&mut store, 0, ResolverConfig { ndots: 1, ..k8s() }, &[]);
    captured(&mut store, 0, walk(0));
    assert!(found(&DNS_SEARCH_AMPLIFICATION, &store).is_empty());
    // A single-label name walking the search list is what the list is for.
    let mut store = Store::default();
    configure(&mut store, 0, k8s(), &[]);
    let search = ["db.ns.svc.cluster.local", "db.svc.cluster.local", "db.cluster.local", "db"]
        .iter()
        .flat_map(|name| {
            [
                query(0, name, "A", "10.96.0.10", Some("NXDOMAIN")),
                query(0, name, "AAAA", "10.96.0.10", Some("NXDOMAIN")),
            ]
        })
        .collect();
    captured(&mut store, 0, search);
    assert!(found(&DNS_SEARCH_AMPLIFICATION, &store).is_empty());
}

fn link(index: u32, name: &str, kind: InterfaceKind, address: &str, len: u8) -> Interface {
    let address = ip(address);
    Interface {
        index,
        name: name.to_owned(),
        kind,
        carrier: true,
        flags: LinkFlags::UP.with(LinkFlags::LOWER_UP),
        addresses: vec![InterfaceAddress {
            address,
            prefix_len: len,
            family: AddressFamily::of(&address),
            scope: AddressScope::Global,
            flags: crate::model::AddressFlags::PERMANENT,
            valid_lifetime_s: None,
            preferred_lifetime_s: None,
            label: None,
        }],
        ..Interface::default()
    }
}

fn route(destination: &str, len: u8, dev: &str) -> Route {
    Route {
        family: AddressFamily::Ipv4,
        table: 254,
        route_type: RouteType::Unicast,
        destination: ip(destination),
        prefix_len: len,
        gateway: None,
        interface: Some(dev.to_owned()),
        interface_index: None,
        source: None,
        metric: None,
        protocol: "kernel".to_owned(),
        scope: AddressScope::Link,
    }
}

/// A LAN on eth0 and a full tunnel through tun0, the default path with it.
fn full_tunnel(store: &mut Store, second: i64) {
    let table = NetworkTable {
        interfaces: vec![
            link(2, "eth0", InterfaceKind::Ethernet, "192.168.1.23", 24),
            link(3, "tun0", InterfaceKind::Tun, "10.8.0.2", 24),
        ],
        routes: vec![
            route("192.168.1.0", 24, "eth0"),
            route("10.8.0.0", 24, "tun0"),
            route("0.0.0.0", 1, "tun0"),
            route("128.0.0.0", 1, "tun0"),
        ],
        ..NetworkTable::default()
    };
    fold(store, second, SourceId::Interfaces, Payload::Network(table));
    let stamp = Timestamp::UNIX_EPOCH;
    let path = PathState {
        target: "default-ipv4".to_owned(),
        family: Some(AddressFamily::Ipv4),
        status: PathStatus::Satisfied,
        reason: None,
        reason_subject: None,
        destination: None,
        interface: Some("tun0".to_owned()),
        interface_index: Some(3),
        interface_kind: Some(InterfaceKind::Tun),
        source: None,
        gateway: None,
        route_type: None,
        table: Some(254),
        matched_prefix: Some("0.0.0.0/1".to_owned()),
        tunnel: Some(TunnelMode::Full),
        ipv4: true,
        ipv6: false,
        dns: true,
        expensive: false,
        constrained: false,
        since: stamp,
        evaluated_at: stamp,
        pending: None,
        checks: Vec::new(),
        probe: None,
        attempts: Vec::new(),
        transitions: Vec::new(),
    };
    fold(store, second, SourceId::Paths, Payload::Paths(vec![path]));
}

#[test]
fn dns_outside_tunnel_names_the_lan_nameserver() {
    let leaking = |store: &mut Store, s: i64| {
        full_tunnel(store, s);
        configure(store, s, resolver(&["192.168.1.1", "1.1.1.1"]), &[]);
    };
    let inside = |store: &mut Store, s: i64| {
        full_tunnel(store, s);
        configure(store, s, resolver(&["10.8.0.1", "1.1.1.1"]), &[]);
    };
    let open = drive("dns_outside_tunnel", &[(0, &leaking), (5, &leaking), (6, &inside), (16, &inside)]);
    let subject = vec!["nameserver 192.168.1.1".to_owned()];
    assert_eq!(open, [vec![], subject.clone(), subject, vec![]], "1.1.1.1 follows 0/1 into the tunnel");

    let mut store = Store::default();
    configure(&mut store, 0, resolver(&["192.168.1.1"]), &[]);
    assert_eq!(
        subjects(&(DNS_OUTSIDE_TUNNEL.evaluate)(&store, &RuleConfig::defaults(&DNS_OUTSIDE_TUNNEL))),
        None
    );
    leaking(&mut store, 0);
    let finding = &found(&DNS_OUTSIDE_TUNNEL, &store)[0];
    assert!(finding.title.contains("reached via eth0, outside the tunnel tun0"), "{}", finding.title);
    assert!(
        finding.evidence.iter().any(|e| e.value == "unicast 192.168.1.0/24 dev eth0 table main"),
        "{finding:?}"
    );
}

#[test]
fn dns_hosts_override_compares_the_hosts_file_with_dns() {
    let trace = |differences: Vec<String>, system: &str| DnsTrace {
        name: "db.test".to_owned(),
        origin: TraceOrigin::Target,
        started_at: Timestamp::UNIX_EPOCH,
        candidates: vec!["db.test".to_owned()],
        answered_by: Some("db.test".to_owned()),
        result: vec![ip("10.0.0.5")],
        error: None,
        steps: Vec::new(),
        total_ms: 1.0,
        system: Some(SystemAnswer { addresses: vec![ip(system)], error: None, latency_ms: 0.1 }),
        differences,
    };
    let line = "system answer 10.9.9.9 comes from the hosts file, which nsswitch.conf consults before DNS";
    let overridden = move |store: &mut Store, s: i64| {
        let trace = trace(vec![line.to_owned()], "10.9.9.9");
        fold(store, s, SourceId::Dns, Payload::DnsTrace(Box::new(trace)));
    };
    let agreed = move |store: &mut Store, s: i64| {
        fold(store, s, SourceId::Dns, Payload::DnsTrace(Box::new(trace(Vec::new(), "10.0.0.5"))));
    };
    let open = drive("dns_hosts_override", &[(0, &agreed), (1, &overridden), (2, &agreed), (12, &agreed)]);
    let subject = vec!["hosts db.test".to_owned()];
    assert_eq!(open, [vec![], subject.clone(), subject, vec![]]);
    let mut store = Store::default();
    assert_eq!(
        subjects(&(DNS_HOSTS_OVERRIDE.evaluate)(&store, &RuleConfig::defaults(&DNS_HOSTS_OVERRIDE))),
        None
    );
    overridden(&mut store, 0);
    let finding = &found(&DNS_HOSTS_OVERRIDE, &store)[0];
    assert_eq!(finding.severity, Severity::Info);
    assert_eq!(finding.title, "/etc/hosts overrides db.test: programs get 10.9.9.9, DNS says 10.0.0.5");
    assert!(finding.fix.contains("`10.9.9.9 db.test`"), "{}", finding.fix);
}
