use super::*;
use crate::event::Payload;
use crate::findings::testing::drive;
use crate::findings::testing::{fold, kernel, socket, subjects, table};
use crate::model::{InterfaceStats, NetworkTable, SourceStatus, TcpInfo};

fn evaluate(rule: &Rule, store: &Store) -> Verdict {
    (rule.evaluate)(store, &RuleConfig::defaults(rule))
}

fn found(verdict: Verdict) -> Vec<Candidate> {
    match verdict {
        Verdict::Found(found) => found,
        Verdict::NotApplicable => panic!("not applicable"),
    }
}

/// Link `index` named `name` of `kind` with `mtu`, its `IFLA_LINK` and master.
fn link(index: u32, name: &str, kind: &str, mtu: u32, lower: Option<u32>, master: Option<u32>) -> Interface {
    Interface {
        index,
        name: name.to_owned(),
        link_kind: Some(kind.to_owned()),
        mtu,
        link: lower,
        master,
        ..Interface::default()
    }
}

/// The interfaces source is up on rtnetlink and reads `interfaces` at `second`.
fn network(store: &mut Store, second: i64, interfaces: Vec<Interface>) {
    let status =
        SourceStatus { name: SourceId::Interfaces, status: SourceState::Ok, detail: "rtnetlink".to_owned() };
    fold(store, second, SourceId::Interfaces, Payload::Status(status));
    fold(
        store,
        second,
        SourceId::Interfaces,
        Payload::Network(NetworkTable { interfaces, ..NetworkTable::default() }),
    );
}

fn pair(mtu: u32) -> Vec<Interface> {
    vec![link(5, "veth0", "veth", 1500, Some(6), None), link(6, "veth1", "veth", mtu, Some(5), None)]
}

#[test]
fn mtu_mismatch_of_a_veth_pair_opens_after_the_debounce() {
    let mismatched = |store: &mut Store, s: i64| network(store, s, pair(1400));
    let matched = |store: &mut Store, s: i64| network(store, s, pair(1500));
    let open = drive(
        "mtu_mismatch",
        &[(0, &mismatched), (4, &mismatched), (5, &mismatched), (6, &matched), (16, &matched)],
    );
    let subject = vec!["veth0 ↔ veth1".to_owned()];
    assert_eq!(open, [vec![], vec![], subject.clone(), subject, vec![]], "5 s debounce, 10 s hold");

    let mut store = Store::default();
    assert_eq!(subjects(&evaluate(&MTU_MISMATCH, &store)), None, "no network: not applicable");
    let mut links = pair(1400);
    links[0].stats = Some(InterfaceStats { tx_dropped: 17, ..InterfaceStats::default() });
    network(&mut store, 0, links);
    let candidate = &found(evaluate(&MTU_MISMATCH, &store))[0];
    assert_eq!(candidate.fix, "ip link set dev veth0 mtu 1400  # both ends of a veth pair must agree");
    assert!(candidate.evidence.iter().any(|e| e.fact == "veth0 rx / tx dropped" && e.value == "0 / 17"));
    // A peer in another namespace: its index means nothing here, even if one matches.
    network(
        &mut store,
        1,
        vec![link(5, "veth0", "veth", 1500, Some(6), None), link(6, "eth0", "veth", 1400, Some(9), None)],
    );
    assert_eq!(subjects(&evaluate(&MTU_MISMATCH, &store)), Some(vec![]));
}

#[test]
fn mtu_mismatch_of_tunnels_and_bridge_ports() {
    let mut store = Store::default();
    let under = link(2, "eth0", "veth", 1500, Some(40), None);
    network(&mut store, 0, vec![under.clone(), link(7, "ipip1", "ipip", 1500, Some(2), None)]);
    let candidate = &found(evaluate(&MTU_MISMATCH, &store))[0];
    assert_eq!(candidate.subject, "ipip1");
    assert_eq!(candidate.fix, "ip link set dev ipip1 mtu 1480");
    network(
        &mut store,
        1,
        vec![
            under.clone(),
            link(7, "ipip1", "ipip", 1480, Some(2), None),
            link(8, "wg0", "wireguard", 1500, None, None),
        ],
    );
    assert_eq!(
        subjects(&evaluate(&MTU_MISMATCH, &store)),
        Some(vec![]),
        "what fits, and tunnels without a lower device"
    );
    network(&mut store, 2, vec![under.clone(), link(7, "gre1", "gre", 1480, Some(2), None)]);
    assert_eq!(subjects(&evaluate(&MTU_MISMATCH, &store)), Some(vec!["gre1".to_owned()]));
    network(
        &mut store,
        3,
        vec![link(3, "br0", "bridge", 9000, None, None), link(4, "tap0", "tun", 1500, None, Some(3))],
    );
    assert_eq!(subjects(&evaluate(&MTU_MISMATCH, &store)), Some(vec!["tap0".to_owned()]));
    network(
        &mut store,
        4,
        vec![link(3, "br0", "bridge", 1500, None, None), link(4, "tap0", "tun", 1500, None, Some(3))],
    );
    assert_eq!(subjects(&evaluate(&MTU_MISMATCH, &store)), Some(vec![]));
}

/// A client sending to 10.2.0.2:5001 with `retransmits` timeouts in a row of its head segment.
fn sender(retransmits: u8, mss: u32, acked: u64, remote: &str) -> crate::model::Socket {
    let mut sender = socket(9, Protocol::Tcp, SocketState::Established, "10.1.0.2:40000", remote);
    sender.send_queue = 200_000;
    sender.tcp = Some(TcpInfo {
        mss,
        pmtu: mss + 52,
        retransmits,
        total_retrans: u32::from(retransmits) * 2,
        bytes_acked: Some(acked),
        last_ack_recv_ms: 1800,
        ..TcpInfo::default()
    });
    sender
}

fn stalled(store: &mut Store, s: i64, socket: crate::model::Socket, icmp: i64) {
    fold(store, s, SourceId::Connections, Payload::Sockets(table(vec![socket])));
    kernel(store, s, &[("IcmpInDestUnreachs", icmp), ("Icmp6InPktTooBigs", 0), ("TcpExtTCPMTUPFail", 0)]);
}

#[test]
fn pmtu_blackhole_names_the_destination_and_closes_after_the_hold() {
    let stuck = |store: &mut Store, s: i64| stalled(store, s, sender(4, 1448, 101, "10.2.0.2:5001"), 3);
    let flowing = |store: &mut Store, s: i64| stalled(store, s, sender(0, 1228, 300_101, "10.2.0.2:5001"), 3);
    let open =
        drive("pmtu_blackhole", &[(0, &stuck), (1, &stuck), (2, &flowing), (31, &flowing), (32, &flowing)]);
    let remote = vec!["10.2.0.2".to_owned()];
    assert_eq!(
        open,
        [vec![], remote.clone(), remote.clone(), remote, vec![]],
        "no baseline, fires, holds 30 s"
    );

    let mut store = Store::default();
    stuck(&mut store, 0);
    assert_eq!(subjects(&evaluate(&PMTU_BLACKHOLE, &store)), None, "no counter change yet: not applicable");
    stuck(&mut store, 1);
    let candidate = &found(evaluate(&PMTU_BLACKHOLE, &store))[0];
    assert!(candidate.evidence.iter().any(|e| e.value == "1448 / 1500 bytes"), "{:?}", candidate.evidence);
    assert!(candidate.evidence.iter().any(|e| e.fact.starts_with("IcmpInDestUnreachs") && e.value == "+0"));
    assert!(candidate.fix.starts_with("sysctl -w net.ipv4.tcp_mtu_probing=1"));
    // What is not a black hole: an ICMP error arriving, a few timeouts, segments no
    // larger than every path carries, nothing acknowledged before, loopback.
    let quiet = |store: &mut Store, s: i64, socket: crate::model::Socket, icmp: i64| {
        stalled(store, s, socket, icmp);
        subjects(&evaluate(&PMTU_BLACKHOLE, store))
    };
    assert_eq!(quiet(&mut store, 2, sender(4, 1448, 101, "10.2.0.2:5001"), 4), Some(vec![]), "ICMP came");
    assert_eq!(quiet(&mut store, 3, sender(2, 1448, 101, "10.2.0.2:5001"), 4), Some(vec![]));
    assert_eq!(quiet(&mut store, 4, sender(5, 536, 101, "10.2.0.2:5001"), 4), Some(vec![]));
    assert_eq!(quiet(&mut store, 5, sender(5, 1448, 1, "10.2.0.2:5001"), 4), Some(vec![]));
    assert_eq!(quiet(&mut store, 6, sender(5, 65_483, 101, "127.0.0.1:5001"), 4), Some(vec![]));
    assert_eq!(
        quiet(&mut store, 7, sender(5, 1448, 101, "10.2.0.2:5001"), 4),
        Some(vec!["10.2.0.2".to_owned()])
    );
}
