//! Table-driven verdicts: one network, many facts, the expected status and reason.

#![expect(
    clippy::unwrap_used,
    clippy::needless_pass_by_value,
    reason = "tests: a panic is the failure report"
)]

use std::net::IpAddr;

use super::*;
use crate::model::{InterfaceAddress, Neighbor, NeighborState, OperState};

fn address(text: &str, prefix_len: u8, flags: AddressFlags) -> InterfaceAddress {
    let address: IpAddr = text.parse().unwrap();
    let scope = match address {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => AddressScope::Link,
        _ => AddressScope::Global,
    };
    InterfaceAddress {
        address,
        prefix_len,
        family: AddressFamily::of(&address),
        scope,
        flags,
        valid_lifetime_s: None,
        preferred_lifetime_s: None,
        label: None,
    }
}

fn link(index: u32, name: &str, kind: InterfaceKind, addresses: Vec<InterfaceAddress>) -> Interface {
    Interface {
        index,
        name: name.to_owned(),
        kind,
        oper_state: OperState::Up,
        carrier: true,
        flags: LinkFlags::UP.with(LinkFlags::RUNNING),
        addresses,
        ..Interface::default()
    }
}

fn network() -> NetworkTable {
    let mut tun = link(3, "tun0", InterfaceKind::Tun, vec![address("10.8.0.2", 24, AddressFlags::default())]);
    tun.flags = tun.flags.with(LinkFlags::POINTOPOINT).with(LinkFlags::NOARP);
    NetworkTable {
        interfaces: vec![
            link(
                2,
                "veth0",
                InterfaceKind::Veth,
                vec![
                    address("10.1.0.2", 24, AddressFlags::default()),
                    address("2001:db8:1::2", 64, AddressFlags::TENTATIVE),
                    address("fe80::2", 64, AddressFlags::default()),
                ],
            ),
            tun,
        ],
        neighbors: vec![Neighbor {
            interface: "veth0".to_owned(),
            interface_index: 2,
            address: "10.1.0.9".parse().unwrap(),
            mac: None,
            state: NeighborState::Failed,
        }],
        ..NetworkTable::default()
    }
}

fn answer(index: u32, gateway: Option<&str>, source: Option<&str>, table: u32) -> RouteAnswer {
    RouteAnswer {
        route_type: RouteType::Unicast,
        table,
        interface_index: Some(index),
        interface: None,
        source: source.map(|s| s.parse().unwrap()),
        gateway: gateway.map(|g| g.parse().unwrap()),
        metric: None,
        protocol: "static".to_owned(),
        mark: None,
        matched_prefix: Some(("0.0.0.0".parse().unwrap(), 0)),
    }
}

fn context(network: &NetworkTable) -> Context<'_> {
    Context { network, default_v4: Some(2), default_v6: None, expensive: &[], constrained: &[] }
}

fn judge(
    target: &str,
    looked_up: &str,
    lookup: Result<RouteAnswer, LookupError>,
    network: &NetworkTable,
) -> Verdict {
    let target: Target = target.parse().unwrap();
    let inputs = Inputs {
        target: &target,
        looked_up: Some(looked_up.parse().unwrap()),
        lookup: Some(&lookup),
        no_lookup: None,
        previous_interface: Some(2),
        name: &NameCheck::NotNeeded,
        probe: None,
        probe_failures: 0,
    };
    evaluate(&inputs, &context(network))
}

fn reason(verdict: &Verdict) -> Option<&'static str> {
    verdict.reason.map(PathReason::as_str)
}

#[test]
fn a_working_default_path_passes_every_check() {
    let net = network();
    let verdict =
        judge("default-ipv4", "1.1.1.1", Ok(answer(2, Some("10.1.0.1"), Some("10.1.0.2"), 254)), &net);
    assert_eq!(verdict.status, PathStatus::Satisfied, "{verdict:?}");
    let names: Vec<_> = verdict.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["route", "link", "carrier", "source_address", "gateway"]);
    assert_eq!(verdict.interface.as_deref(), Some("veth0"));
    assert_eq!(verdict.interface_kind, Some(InterfaceKind::Veth));
    assert_eq!(verdict.tunnel, None);
    assert!(verdict.checks[0].detail.contains("via 10.1.0.1"), "{}", verdict.checks[0].detail);
}

#[test]
fn kernel_refusals_name_their_route_type() {
    let net = network();
    for (error, expected) in [
        (LookupError::NoRoute, "no_route"),
        (LookupError::Blackhole, "blackhole"),
        (LookupError::Unreachable, "unreachable"),
        (LookupError::Prohibit, "prohibit"),
    ] {
        let mut target_net = net.clone();
        // The previous interface is healthy, so a vanished route is just "no route".
        target_net.interfaces[0].carrier = true;
        let verdict = judge("10.9.0.1", "10.9.0.1", Err(error), &target_net);
        assert_eq!(verdict.status, PathStatus::Unsatisfied);
        assert_eq!(reason(&verdict), Some(expected));
    }
}

#[test]
fn a_route_that_vanished_with_its_link_says_link_down() {
    let mut net = network();
    net.interfaces[0].flags = LinkFlags::default();
    net.interfaces[0].carrier = false;
    let verdict = judge("default-ipv4", "1.1.1.1", Err(LookupError::NoRoute), &net);
    assert_eq!(reason(&verdict), Some("link_down"));
    assert_eq!(verdict.reason_subject.as_deref(), Some("veth0"));
}

#[test]
fn link_carrier_source_and_neighbour_failures_in_chain_order() {
    let ok = || answer(2, Some("10.1.0.1"), Some("10.1.0.2"), 254);
    let mut down = network();
    down.interfaces[0].flags = LinkFlags::default();
    assert_eq!(reason(&judge("default-ipv4", "1.1.1.1", Ok(ok()), &down)), Some("link_down"));

    let mut no_carrier = network();
    no_carrier.interfaces[0].carrier = false;
    assert_eq!(reason(&judge("default-ipv4", "1.1.1.1", Ok(ok()), &no_carrier)), Some("no_carrier"));

    let net = network();
    let gateway_failed = judge("default-ipv4", "1.1.1.1", Ok(answer(2, Some("10.1.0.9"), None, 254)), &net);
    assert_eq!(reason(&gateway_failed), Some("gateway_unreachable"));
    assert_eq!(gateway_failed.reason_subject.as_deref(), Some("10.1.0.9"));
}

#[test]
fn ipv6_with_only_a_tentative_global_address_is_tentative() {
    let net = network();
    let mut v6 = answer(2, Some("fe80::1"), None, 254);
    v6.matched_prefix = Some(("::".parse().unwrap(), 0));
    let verdict = judge("default-ipv6", "2606:4700:4700::1111", Ok(v6.clone()), &net);
    assert_eq!(reason(&verdict), Some("address_tentative"));

    let mut failed = network();
    failed.interfaces[0].addresses[1].flags = AddressFlags::DADFAILED.with(AddressFlags::TENTATIVE);
    let verdict = judge("default-ipv6", "2606:4700:4700::1111", Ok(v6.clone()), &failed);
    assert_eq!(reason(&verdict), Some("no_source_address"));

    // A link-local destination is fine with the link-local address.
    let verdict = judge("fe80::1,via=veth0", "fe80::1", Ok(v6), &net);
    assert_eq!(verdict.status, PathStatus::Satisfied, "{verdict:?}");
}

#[test]
fn tunnels_are_full_or_split() {
    let net = network();
    let mut context = context(&net);
    let target: Target = "10.60.1.1".parse().unwrap();
    let mut through_tun = answer(3, None, Some("10.8.0.2"), 254);
    through_tun.matched_prefix = Some(("10.60.0.0".parse().unwrap(), 16));
    let lookup = Ok(through_tun);
    let inputs = Inputs {
        target: &target,
        looked_up: Some("10.60.1.1".parse().unwrap()),
        lookup: Some(&lookup),
        no_lookup: None,
        previous_interface: None,
        name: &NameCheck::NotNeeded,
        probe: None,
        probe_failures: 0,
    };
    let split = evaluate(&inputs, &context);
    assert_eq!(split.tunnel, Some(TunnelMode::Split));
    assert_eq!(split.status, PathStatus::Satisfied, "{split:?}");
    context.default_v4 = Some(3);
    assert_eq!(evaluate(&inputs, &context).tunnel, Some(TunnelMode::Full));
    // A policy table (a mark's) through an ordinary interface is no tunnel.
    let policy = Ok(answer(2, Some("10.1.0.1"), Some("10.1.0.2"), 100));
    let by_rule = Inputs { lookup: Some(&policy), ..inputs };
    context.default_v4 = Some(2);
    assert_eq!(evaluate(&by_rule, &context).tunnel, None, "mark=N over a veth");
    // Nor is loopback (`via=lo`), in whichever table the kernel answers from.
    let mut over_lo = answer(1, None, Some("127.0.0.1"), 0);
    over_lo.route_type = RouteType::Local;
    let mut net_lo = network();
    let mut lo =
        link(1, "lo", InterfaceKind::Loopback, vec![address("127.0.0.1", 8, AddressFlags::default())]);
    lo.flags = lo.flags.with(LinkFlags::LOOPBACK);
    net_lo.interfaces.push(lo);
    let lo_lookup = Ok(over_lo);
    let via_lo = Inputs { lookup: Some(&lo_lookup), ..inputs };
    assert_eq!(evaluate(&via_lo, &Context { network: &net_lo, ..context }).tunnel, None, "via=lo");
    // A tunnel link kind without a functional kind of its own (GRE) is a tunnel.
    let mut gre_net = network();
    let mut gre =
        link(5, "gre1", InterfaceKind::Other, vec![address("10.9.0.2", 30, AddressFlags::default())]);
    gre.link_kind = Some("gre".to_owned());
    gre.flags = gre.flags.with(LinkFlags::POINTOPOINT).with(LinkFlags::NOARP);
    gre_net.interfaces.push(gre);
    let mut through_gre = answer(5, None, Some("10.9.0.2"), 254);
    through_gre.matched_prefix = Some(("10.60.0.0".parse().unwrap(), 16));
    let gre_lookup = Ok(through_gre);
    let via_gre = Inputs { lookup: Some(&gre_lookup), ..inputs };
    assert_eq!(evaluate(&via_gre, &Context { network: &gre_net, ..context }).tunnel, Some(TunnelMode::Split));
}

#[test]
fn probes_decide_failing_only_after_the_kernel_checks_pass() {
    let net = network();
    let target: Target = "10.1.0.7:22".parse().unwrap();
    let lookup = Ok(answer(2, None, Some("10.1.0.2"), 254));
    let failed = ProbeSummary {
        kind: "tcp",
        ok: false,
        rtt_ms: None,
        loss_pct: Some(100.0),
        jitter_ms: None,
        error: Some("connection refused".to_owned()),
        sent: 3,
        history: vec![None, None, None],
    };
    let mut inputs = Inputs {
        target: &target,
        looked_up: Some("10.1.0.7".parse().unwrap()),
        lookup: Some(&lookup),
        no_lookup: None,
        previous_interface: None,
        name: &NameCheck::NotNeeded,
        probe: Some(&failed),
        probe_failures: 2,
    };
    let verdict = evaluate(&inputs, &context(&net));
    assert_eq!(verdict.status, PathStatus::Failing);
    assert_eq!(reason(&verdict), Some("probe_failed"));
    // One lost probe after successes is loss, not an outage.
    inputs.probe_failures = 1;
    assert_eq!(evaluate(&inputs, &context(&net)).status, PathStatus::Satisfied);
}

#[test]
fn names_check_dns_after_the_path_to_the_nameserver() {
    let net = network();
    let target: Target = "db.internal".parse().unwrap();
    let lookup = Ok(answer(2, Some("10.1.0.1"), Some("10.1.0.2"), 254));
    let failed = NameCheck::Failed("no record for db.internal".to_owned());
    let inputs = Inputs {
        target: &target,
        looked_up: Some("10.1.0.53".parse().unwrap()),
        lookup: Some(&lookup),
        no_lookup: None,
        previous_interface: None,
        name: &failed,
        probe: None,
        probe_failures: 0,
    };
    let verdict = evaluate(&inputs, &context(&net));
    assert_eq!(reason(&verdict), Some("dns_unavailable"));
    // The path stops at DNS: the nameserver's route is evidence, never the target's own.
    assert_eq!(verdict.checks.len(), 1, "{:?}", verdict.checks);
    assert_eq!(verdict.checks[0].name, CheckName::Dns);
    assert_eq!(
        verdict.checks[0].detail,
        "no record for db.internal; nameserver 10.1.0.53 is reachable \
         (unicast 0.0.0.0/0 via 10.1.0.1 src 10.1.0.2 table main proto static)"
    );
    assert_eq!(verdict.destination, None);
    assert_eq!(
        (verdict.interface, verdict.interface_index, verdict.gateway, verdict.source, verdict.route_type),
        (None, None, None, None, None),
        "no device, gateway, source or route of its own"
    );
    assert_eq!((verdict.table, verdict.matched_prefix, verdict.tunnel), (None, None, None));
    // A name that does not exist is said so.
    let missing = NameCheck::NotFound("db.internal does not exist: NXDOMAIN".to_owned());
    let not_found = evaluate(&Inputs { name: &missing, ..inputs }, &context(&net));
    assert_eq!(reason(&not_found), Some("name_not_found"));
    assert_eq!(not_found.status, PathStatus::Unsatisfied);
    assert_eq!(not_found.interface, None);
    // With the link down, the root cause wins over DNS, each check labelled as the
    // nameserver's.
    let mut down = network();
    down.interfaces[0].flags = LinkFlags::default();
    let verdict = evaluate(&inputs, &context(&down));
    assert_eq!(reason(&verdict), Some("link_down"));
    assert!(
        verdict.checks.iter().all(|check| check.detail.starts_with("to nameserver 10.1.0.53")),
        "{:?}",
        verdict.checks
    );
    assert_eq!((verdict.interface, verdict.gateway, verdict.source), (None, None, None));
    // Resolved: the DNS check passes and names the answer.
    let resolved = NameCheck::Resolved(vec!["10.1.0.7".parse().unwrap()]);
    let ok = Inputs { name: &resolved, looked_up: Some("10.1.0.7".parse().unwrap()), ..inputs };
    let verdict = evaluate(&ok, &context(&net));
    assert_eq!(verdict.status, PathStatus::Satisfied);
    assert_eq!(verdict.checks.last().unwrap().detail, "db.internal → 10.1.0.7");
}

#[test]
fn a_missing_via_interface_is_named() {
    let net = network();
    let target: Target = "10.1.0.7,via=wg0".parse().unwrap();
    let verdict = evaluate(
        &Inputs {
            target: &target,
            looked_up: Some("10.1.0.7".parse().unwrap()),
            lookup: None,
            no_lookup: Some("via=wg0: no such interface"),
            previous_interface: None,
            name: &NameCheck::NotNeeded,
            probe: None,
            probe_failures: 0,
        },
        &context(&net),
    );
    assert_eq!(reason(&verdict), Some("no_route"));
    assert_eq!(verdict.reason_subject.as_deref(), Some("wg0"));
}

#[test]
fn the_way_to_a_server_counts_only_when_its_checks_pass() {
    let net = network();
    let server: IpAddr = "10.1.0.53".parse().unwrap();
    let up = Ok(answer(2, Some("10.1.0.1"), Some("10.1.0.2"), 254));
    assert!(kernel_path_ok(server, &up, &context(&net)));
    // IPv6 keeps its routes while the link is down: a route alone is not availability.
    let mut down = network();
    down.interfaces[0].flags = LinkFlags::default();
    assert!(!kernel_path_ok(server, &up, &context(&down)));
    assert!(!kernel_path_ok(server, &Err(LookupError::NoRoute), &context(&net)));
}

#[test]
fn availability_needs_a_usable_global_address() {
    let net = network();
    assert!(family_available(&net, AddressFamily::Ipv4, true));
    assert!(!family_available(&net, AddressFamily::Ipv4, false));
    assert!(!family_available(&net, AddressFamily::Ipv6, true), "only a tentative global IPv6 address");
}
