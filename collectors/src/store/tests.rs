use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::model::{AddressFamily, InterfaceKind, LinkFlags, OperState, SourceState, TimelineKind};
use crate::model::{Interface, InterfaceStats};

fn t(secs: i64) -> Timestamp {
    time::macros::datetime!(2026-01-01 00:00:00 UTC) + time::Duration::seconds(secs)
}

fn t_ms(ms: i64) -> Timestamp {
    time::macros::datetime!(2026-01-01 00:00:00 UTC) + time::Duration::milliseconds(ms)
}

fn link(index: u32, name: &str) -> Interface {
    Interface {
        index,
        name: name.to_owned(),
        kind: InterfaceKind::Veth,
        oper_state: OperState::Up,
        carrier: true,
        mtu: 1500,
        flags: LinkFlags::UP,
        ..Interface::default()
    }
}

fn stats(rx: u64, tx: u64) -> InterfaceStats {
    InterfaceStats {
        rx_bytes: rx,
        tx_bytes: tx,
        rx_packets: rx / 100,
        tx_packets: tx / 100,
        ..InterfaceStats::default()
    }
}

/// An event at wall time `at`; the monotonic clock agrees with it (no step).
fn event(at: Timestamp, payload: Payload) -> Event {
    Event::stamped(at, Mono::ZERO + (at - t(0)), SourceId::Interfaces, payload)
}

fn network(interfaces: Vec<Interface>) -> Payload {
    Payload::Network(NetworkTable { interfaces, ..NetworkTable::default() })
}

#[test]
fn rates_come_from_two_samples() {
    let mut store = Store::default();
    store.apply(event(t(0), network(vec![link(2, "veth0")])));
    store.apply(event(t(1), Payload::Counters(vec![(2, stats(1000, 500))])));
    assert_eq!(store.interface(2).and_then(|e| e.rates), None, "one sample gives no rate");
    store.apply(event(t(3), Payload::Counters(vec![(2, stats(5000, 2500))])));
    let rates = store.interface(2).and_then(|e| e.rates).unwrap_or_default();
    assert!((rates.rx_bytes_per_s - 2000.0).abs() < 1e-9);
    assert!((rates.tx_bytes_per_s - 1000.0).abs() < 1e-9);
    assert_eq!(store.interface(2).map(|e| e.history.len()), Some(1));
}

#[test]
fn counter_going_backwards_restarts_the_rate() {
    let mut store = Store::default();
    store.apply(event(t(0), network(vec![link(2, "veth0")])));
    store.apply(event(t(1), Payload::Counters(vec![(2, stats(10_000, 10_000))])));
    store.apply(event(t(2), Payload::Counters(vec![(2, stats(20_000, 20_000))])));
    store.apply(event(t(3), Payload::Counters(vec![(2, stats(100, 100))])));
    assert_eq!(store.interface(2).and_then(|e| e.rates), None, "no negative or huge rate");
    store.apply(event(t(4), Payload::Counters(vec![(2, stats(300, 200))])));
    let rates = store.interface(2).and_then(|e| e.rates).unwrap_or_default();
    assert!((rates.rx_bytes_per_s - 200.0).abs() < 1e-9);
    assert!(store.interface(2).is_some_and(|e| e.history.iter().all(|s| s.rates.rx_bytes_per_s <= 10_000.0)));
}

#[test]
fn samples_too_close_together_keep_the_older_baseline() {
    let mut store = Store::default();
    store.apply(event(t_ms(0), network(vec![link(2, "veth0")])));
    store.apply(event(t_ms(1000), Payload::Counters(vec![(2, stats(0, 0))])));
    store.apply(event(t_ms(1050), Payload::Counters(vec![(2, stats(100, 0))])));
    assert_eq!(store.interface(2).and_then(|e| e.rates), None);
    store.apply(event(t_ms(2000), Payload::Counters(vec![(2, stats(1000, 0))])));
    let rates = store.interface(2).and_then(|e| e.rates).unwrap_or_default();
    assert!((rates.rx_bytes_per_s - 1000.0).abs() < 1e-9, "rate over 1 s, not 0.95 s: {rates:?}");
}

#[test]
fn reread_keeps_history_by_index_and_drops_vanished_interfaces() {
    let mut store = Store::default();
    store.apply(event(t(0), network(vec![link(1, "lo"), link(2, "veth0")])));
    store.apply(event(t(1), Payload::Counters(vec![(2, stats(0, 0))])));
    store.apply(event(t(2), Payload::Counters(vec![(2, stats(100, 0))])));
    // veth0 renamed to wan0 and lo vanished: history follows the index.
    store.apply(event(t(3), network(vec![link(2, "wan0")])));
    assert_eq!(store.interface_count(), 1);
    let entry = store.interface(2);
    assert_eq!(entry.map(|e| e.info.name.as_str()), Some("wan0"));
    assert_eq!(entry.map(|e| e.history.len()), Some(1));
    assert_eq!(entry.map(|e| e.first_seen), Some(t(0)));
    assert!(store.interface_by_name("veth0").is_none());
    assert!(store.interface_by_name("wan0").is_some());
}

#[test]
fn stats_inside_a_reread_count_as_samples() {
    let mut store = Store::default();
    let mut a = link(2, "veth0");
    a.stats = Some(stats(0, 0));
    store.apply(event(t(0), network(vec![a.clone()])));
    a.stats = Some(stats(400, 200));
    store.apply(event(t(2), network(vec![a])));
    let rates = store.interface(2).and_then(|e| e.rates).unwrap_or_default();
    assert!((rates.rx_bytes_per_s - 200.0).abs() < 1e-9);
    assert_eq!(store.interface(2).and_then(|e| e.info.stats), Some(stats(400, 200)));
}

#[test]
fn counters_for_unknown_interfaces_are_ignored() {
    let mut store = Store::default();
    store.apply(event(t(0), Payload::Counters(vec![(9, stats(1, 1))])));
    assert_eq!(store.interface_count(), 0);
    assert_eq!(store.generation(), 1);
}

#[test]
fn timeline_is_bounded_and_newest_last() {
    let limits = StoreLimits { timeline_capacity: 3, ..StoreLimits::default() };
    let mut store = Store::new(limits);
    for i in 0..5 {
        let notice = Notice::new(TimelineKind::AddressAdded, format!("10.0.0.{i}/24"), format!("added {i}"));
        store.apply(event(t(i), Payload::Notices(vec![notice])));
    }
    let timeline = store.timeline();
    assert_eq!(timeline.len(), 3);
    assert_eq!(timeline.total(), 5);
    assert_eq!(timeline.from_newest(0).map(|e| e.detail.as_str()), Some("added 4"));
    assert_eq!(timeline.iter().next().map(|e| e.detail.as_str()), Some("added 2"));
}

#[test]
fn identical_notices_in_a_burst_fold_into_one_entry() {
    let mut store = Store::default();
    let flap = || Notice::new(TimelineKind::LinkChanged, "veth0", "veth0 carrier lost");
    for ms in [0, 100, 200, 300] {
        store.apply(event(t_ms(ms), Payload::Notices(vec![flap()])));
    }
    // A gap longer than the window starts a new entry.
    store.apply(event(t_ms(5000), Payload::Notices(vec![flap()])));
    let timeline = store.timeline();
    assert_eq!(timeline.len(), 2);
    assert_eq!(timeline.from_newest(1).map(|e| e.count), Some(4));
    assert_eq!(timeline.from_newest(1).map(|e| e.at), Some(t_ms(0)));
    assert_eq!(timeline.from_newest(0).map(|e| e.count), Some(1));
    assert_eq!(timeline.coalesced_bursts(), 1);
}

#[test]
fn different_subjects_never_fold() {
    let mut store = Store::default();
    store.apply(event(
        t(0),
        Payload::Notices(vec![
            Notice::new(TimelineKind::LinkChanged, "a", "a down"),
            Notice::new(TimelineKind::LinkChanged, "b", "b down"),
            Notice::new(TimelineKind::LinkChanged, "a", "a down"),
        ]),
    ));
    assert_eq!(store.timeline().len(), 3);
}

#[test]
fn status_changes_are_recorded_once() {
    let mut store = Store::default();
    let status =
        SourceStatus { name: SourceId::Interfaces, status: SourceState::Ok, detail: "rtnetlink".into() };
    store.apply(event(t(0), Payload::Status(status.clone())));
    store.apply(event(t(1), Payload::Status(status)));
    assert_eq!(store.timeline().len(), 1);
    assert_eq!(store.source(SourceId::Interfaces).map(|s| s.status), Some(SourceState::Ok));
    let degraded =
        SourceStatus { name: SourceId::Interfaces, status: SourceState::Degraded, detail: "fallback".into() };
    store.apply(event(t(2), Payload::Status(degraded)));
    assert_eq!(store.timeline().len(), 2);
}

#[test]
fn default_route_prefers_lowest_metric_in_main_table() {
    let route = |gw: u8, metric: u32, table: u32| Route {
        family: AddressFamily::Ipv4,
        table,
        route_type: crate::model::RouteType::Unicast,
        destination: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix_len: 0,
        gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, gw))),
        interface: Some("eth0".into()),
        interface_index: Some(2),
        source: None,
        metric: Some(metric),
        protocol: "static".into(),
        scope: crate::model::AddressScope::Global,
    };
    let mut store = Store::default();
    store.apply(event(
        t(0),
        Payload::Network(NetworkTable {
            routes: vec![route(1, 600, 254), route(2, 100, 254), route(3, 0, 100)],
            ..NetworkTable::default()
        }),
    ));
    let best = store.default_route(AddressFamily::Ipv4).and_then(|r| r.gateway);
    assert_eq!(best, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))));
    assert!(store.default_route(AddressFamily::Ipv6).is_none());
}

/// A socket table with `n` established connections.
fn sockets(n: u64) -> Payload {
    let socket = |cookie: u64| crate::model::Socket {
        cookie,
        protocol: crate::model::Protocol::Tcp,
        family: AddressFamily::Ipv4,
        state: crate::model::SocketState::Established,
        local: std::net::SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 30_000 + cookie as u16),
        remote: std::net::SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80),
        interface_index: None,
        uid: 0,
        inode: cookie,
        recv_queue: 0,
        send_queue: 0,
        timer: None,
        tcp: None,
        congestion: None,
        memory: None,
        tos: None,
    };
    Payload::Sockets(crate::model::SocketTable {
        sockets: (1..=n).map(socket).collect(),
        ..Default::default()
    })
}

#[test]
fn events_during_a_pending_table_wait_their_turn_and_closes_do_not() {
    let stamped = |secs, payload| event(t(secs), payload);
    let notice = |what: &str| Payload::Notices(vec![Notice::new(TimelineKind::Export, what, what)]);
    let mut store = Store::default();
    store.fold(stamped(1, sockets(1000)));
    assert!(store.pending(), "a table of 1,000 sockets is folded in slices");
    store.work(&mut || true);
    assert!(store.pending());
    // An interface table and a notice wait, in order; a close does not.
    store.fold(stamped(2, network(vec![link(1, "lo")])));
    store.fold(stamped(2, notice("after the table")));
    assert_eq!(store.interfaces().len(), 0, "the interface table waits for the socket table");
    assert!(store.timeline().iter().all(|entry| entry.subject != "after the table"));
    let mut closed = match sockets(1) {
        Payload::Sockets(table) => table.sockets,
        _ => unreachable!(),
    };
    closed[0].cookie = 5000;
    store.fold(stamped(2, Payload::SocketsClosed(closed)));
    assert!(store.connections().get(5000).is_some_and(|entry| entry.closed_at.is_some()));
    while store.work(&mut || true) {}
    assert!(!store.pending());
    assert_eq!(store.interfaces().len(), 1);
    assert!(store.timeline().iter().any(|entry| entry.subject == "after the table"));
    assert_eq!(store.connections().counts().established, 1000);
    assert_eq!(store.connections().counts().closed, 1);

    // Folded whole, in the same order, the store is the same.
    let mut whole = Store::default();
    whole.apply(stamped(1, sockets(1000)));
    let mut closed = match sockets(1) {
        Payload::Sockets(table) => table.sockets,
        _ => unreachable!(),
    };
    closed[0].cookie = 5000;
    whole.apply(stamped(2, Payload::SocketsClosed(closed)));
    whole.apply(stamped(2, network(vec![link(1, "lo")])));
    whole.apply(stamped(2, notice("after the table")));
    // (Burst labels are worked out at the table's end rather than the close's.)
    let by_cookie = |store: &Store| -> BTreeMap<u64, crate::store::ConnectionEntry> {
        store.connections().iter().map(|entry| (entry.socket.cookie, entry.clone())).collect()
    };
    assert_eq!(by_cookie(&whole), by_cookie(&store));
    assert_eq!(whole.connections().counts(), store.connections().counts());
    assert_eq!(whole.timeline().iter().count(), store.timeline().iter().count());
}
