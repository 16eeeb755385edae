use super::*;
use crate::event::Payload;
use crate::findings::testing::drive;
use crate::findings::testing::{fold, kernel, socket, subjects, table};
use crate::findings::{RuleConfig, rule};
use crate::model::{Conntrack, FileTable, KernelCounters, SocketMemory, SourceId};

fn listener(store: &mut Store, second: i64, queue: u32) {
    let mut listen = socket(1, Protocol::Tcp, SocketState::Listen, "0.0.0.0:8080", "0.0.0.0:0");
    (listen.recv_queue, listen.send_queue) = (queue, 128);
    fold(store, second, SourceId::Connections, Payload::Sockets(table(vec![listen])));
}

#[test]
fn listen_overflow_names_the_full_listener_and_closes_after_the_hold() {
    let overflowing = |store: &mut Store, s: i64| {
        listener(store, s, 129);
        kernel(store, s, &[("TcpExtListenOverflows", 10 * s)]);
    };
    let drained = |store: &mut Store, s: i64| {
        listener(store, s, 0);
        kernel(store, s, &[("TcpExtListenOverflows", 10)]);
    };
    let open = drive(
        "listen_overflow",
        &[(0, &overflowing), (1, &overflowing), (2, &drained), (3, &drained), (31, &drained), (32, &drained)],
    );
    let tcp = vec!["tcp 0.0.0.0:8080".to_owned()];
    assert_eq!(
        open,
        [vec![], tcp.clone(), tcp.clone(), tcp.clone(), tcp, vec![]],
        "no baseline, fires, holds 30 s, closes"
    );
    // The evidence names the process and the queue.
    let mut store = Store::default();
    overflowing(&mut store, 0);
    overflowing(&mut store, 1);
    let Verdict::Found(found) = (LISTEN_OVERFLOW.evaluate)(&store, &RuleConfig::defaults(&LISTEN_OVERFLOW))
    else {
        panic!("applicable")
    };
    assert!(found[0].title.contains("server (pid 4242)"), "{}", found[0].title);
    assert!(found[0].evidence.iter().any(|e| e.value == "129 / 128"), "{:?}", found[0].evidence);
    assert!(found[0].evidence.iter().any(|e| e.value == "+10"));
}

#[test]
fn listen_overflow_without_counters_or_with_a_reset_is_quiet() {
    let mut store = Store::default();
    let config = RuleConfig::defaults(&LISTEN_OVERFLOW);
    assert_eq!(subjects(&(LISTEN_OVERFLOW.evaluate)(&store, &config)), None, "no reading: not applicable");
    kernel(&mut store, 0, &[("TcpExtListenOverflows", 5000)]);
    kernel(&mut store, 1, &[("TcpExtListenOverflows", 3)]);
    assert_eq!(subjects(&(LISTEN_OVERFLOW.evaluate)(&store, &config)), None, "a reset is no spike");
    kernel(&mut store, 2, &[("TcpExtListenOverflows", 3)]);
    assert_eq!(subjects(&(LISTEN_OVERFLOW.evaluate)(&store, &config)), Some(vec![]));
}

#[test]
fn udp_receive_drops_names_the_dropping_socket() {
    let sockets = |store: &mut Store, s: i64, drops: u32| {
        let mut quiet = socket(1, Protocol::Udp, SocketState::Unconnected, "0.0.0.0:53", "0.0.0.0:0");
        quiet.memory = Some(SocketMemory::default());
        let mut busy = socket(2, Protocol::Udp, SocketState::Unconnected, "0.0.0.0:5140", "0.0.0.0:0");
        busy.memory =
            Some(SocketMemory { drops, rmem_alloc: 212_000, rcvbuf: 212_992, ..SocketMemory::default() });
        fold(store, s, SourceId::Connections, Payload::Sockets(table(vec![quiet, busy])));
    };
    let dropping = |store: &mut Store, s: i64| {
        sockets(store, s, u32::try_from(s).unwrap_or(0) * 100);
        kernel(store, s, &[("UdpRcvbufErrors", 100 * s), ("Udp6RcvbufErrors", 0)]);
    };
    let still = |store: &mut Store, s: i64| {
        sockets(store, s, 100);
        kernel(store, s, &[("UdpRcvbufErrors", 100), ("Udp6RcvbufErrors", 0)]);
    };
    let open = drive("udp_receive_drops", &[(0, &dropping), (1, &dropping), (2, &still), (32, &still)]);
    let udp = vec!["udp 0.0.0.0:5140".to_owned()];
    assert_eq!(open, [vec![], udp.clone(), udp, vec![]]);
}

fn counters_with(conntrack: Option<Conntrack>, files: Option<FileTable>) -> Payload {
    Payload::Kernel(Box::new(KernelCounters { netns: 1, conntrack, files, ..KernelCounters::default() }))
}

#[test]
fn conntrack_full_opens_after_a_second_at_90_percent() {
    let full = |store: &mut Store, s: i64| {
        fold(store, s, SourceId::Kernel, counters_with(Some(Conntrack { count: 950, max: 1000 }), None));
    };
    let fine = |store: &mut Store, s: i64| {
        fold(store, s, SourceId::Kernel, counters_with(Some(Conntrack { count: 100, max: 1000 }), None));
    };
    let absent = |store: &mut Store, s: i64| fold(store, s, SourceId::Kernel, counters_with(None, None));
    let open = drive(
        "conntrack_full",
        &[(0, &full), (1, &full), (2, &fine), (33, &fine), (34, &absent), (35, &full)],
    );
    let subject = vec!["nf_conntrack".to_owned()];
    assert_eq!(open, [vec![], subject.clone(), subject, vec![], vec![], vec![]]);
    let config = RuleConfig::defaults(&CONNTRACK_FULL);
    let mut store = Store::default();
    absent(&mut store, 0);
    assert_eq!(subjects(&(CONNTRACK_FULL.evaluate)(&store, &config)), None, "no conntrack: not applicable");
}

#[test]
fn fd_exhaustion_follows_its_threshold() {
    let mut store = Store::default();
    fold(&mut store, 0, SourceId::Kernel, counters_with(None, Some(FileTable { allocated: 85, max: 100 })));
    let mut config = RuleConfig::defaults(&FD_EXHAUSTION);
    assert_eq!(subjects(&(FD_EXHAUSTION.evaluate)(&store, &config)), Some(vec![]));
    let lower = crate::findings::RuleOverride {
        thresholds: [("percent".to_owned(), 80.0)].into(),
        ..crate::findings::RuleOverride::default()
    };
    config = RuleConfig::new(&FD_EXHAUSTION, Some(&lower));
    assert_eq!(subjects(&(FD_EXHAUSTION.evaluate)(&store, &config)), Some(vec!["fs.file-max".to_owned()]));
    assert!(rule("fd_exhaustion").is_some() && rule("no_such_rule").is_none());
}

#[test]
fn udp_receive_drops_names_the_socket_dropping_now_not_the_one_with_old_drops() {
    let sockets = |store: &mut Store, s: i64| {
        let mut old = socket(1, Protocol::Udp, SocketState::Unconnected, "0.0.0.0:5353", "0.0.0.0:0");
        old.memory = Some(SocketMemory { drops: 5000, ..SocketMemory::default() });
        let mut busy = socket(2, Protocol::Udp, SocketState::Unconnected, "0.0.0.0:5140", "0.0.0.0:0");
        busy.memory =
            Some(SocketMemory { drops: 10 * u32::try_from(s).unwrap_or(0), ..SocketMemory::default() });
        fold(store, s, SourceId::Connections, Payload::Sockets(table(vec![old, busy])));
        kernel(store, s, &[("UdpRcvbufErrors", 10 * s), ("Udp6RcvbufErrors", 0)]);
    };
    let open = drive("udp_receive_drops", &[(0, &sockets), (1, &sockets), (2, &sockets), (3, &sockets)]);
    let busy = vec!["udp 0.0.0.0:5140".to_owned()];
    assert_eq!(open, [vec![], busy.clone(), busy.clone(), busy], "never the socket with 5000 old drops");
}
