//! The store measures every interval on the monotonic clock: a wall clock stepped
//! back or forward by an hour during a run changes no rate, stall, burst, label,
//! retention or coalescing; and the monotonic clock alone decides them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;
use crate::model::{
    AddressFamily, FlowBytes, FlowSample, InterfaceKind, LinkFlags, OperState, ProcessInfo, Protocol, Socket,
    SocketState, SocketTable, TcpInfo, TimelineKind,
};
use crate::model::{Interface, InterfaceRates, InterfaceStats};

const HOUR_MS: i64 = 3_600_000;

fn wall(ms: i64) -> Timestamp {
    time::macros::datetime!(2026-06-01 12:00:00 UTC) + time::Duration::milliseconds(ms)
}

fn mono(ms: i64) -> Mono {
    Mono::from_nanos(ms * 1_000_000)
}

fn remote(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), port)
}

/// A TCP socket of pid 4242 (its inode is 100 + cookie).
fn tcp(cookie: u64, remote: SocketAddr, state: SocketState, rx: u64, acked: u64, retransmits: u8) -> Socket {
    Socket {
        cookie,
        protocol: Protocol::Tcp,
        family: if remote.is_ipv6() { AddressFamily::Ipv6 } else { AddressFamily::Ipv4 },
        state,
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40_000 + cookie as u16),
        remote,
        interface_index: None,
        uid: 1000,
        inode: 100 + cookie,
        recv_queue: 0,
        send_queue: 0,
        timer: None,
        tcp: Some(TcpInfo {
            rtt_ms: 20.0,
            bytes_received: Some(rx),
            bytes_acked: Some(acked),
            bytes_sent: Some(acked),
            retransmits,
            ..TcpInfo::default()
        }),
        congestion: None,
        memory: None,
        tos: None,
    }
}

fn udp(cookie: u64, port: u16) -> Socket {
    Socket {
        protocol: Protocol::Udp,
        state: SocketState::Unconnected,
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        tcp: None,
        ..tcp(cookie, remote(9, 9), SocketState::Established, 0, 0, 0)
    }
}

fn table(sockets: Vec<Socket>) -> Payload {
    let owners = sockets.iter().map(|s| (s.inode, 4242)).collect();
    let processes = vec![ProcessInfo {
        pid: 4242,
        name: "client".into(),
        cmdline: "client".into(),
        user: "dev".into(),
        start_time: 1,
        open_files: Some(12),
        open_files_limit: Some(1024),
    }];
    Payload::Sockets(SocketTable {
        sockets,
        owners,
        processes,
        all_owners_visible: true,
        route_moves: Vec::new(),
        origins: Vec::new(),
        unchanged: Vec::new(),
        cookie_owners: Vec::new(),
    })
}

fn link() -> Payload {
    let info = Interface {
        index: 2,
        name: "veth0".into(),
        kind: InterfaceKind::Veth,
        oper_state: OperState::Up,
        carrier: true,
        mtu: 1500,
        flags: LinkFlags::UP,
        ..Interface::default()
    };
    Payload::Network(NetworkTable { interfaces: vec![info], ..NetworkTable::default() })
}

fn counters(second: i64) -> Payload {
    // A rate that changes every second, so a wrong interval shows.
    let bytes = (0..=second).map(|s| 1_000 * (s as u64 % 5 + 1)).sum::<u64>();
    let stats = InterfaceStats {
        rx_bytes: bytes,
        tx_bytes: bytes / 2,
        rx_packets: bytes / 100,
        tx_packets: bytes / 200,
        ..InterfaceStats::default()
    };
    Payload::Counters(vec![(2, stats)])
}

fn notice(detail: &str) -> Payload {
    Payload::Notices(vec![Notice::new(TimelineKind::Notice, "veth0", detail)])
}

/// A run of 25 s on the monotonic clock, as `(ms, source, payload)`: interface
/// counters and socket dumps every second, with a connection that moves data, one
/// that stalls, one stuck connecting, a burst of four short connections, a Happy
/// Eyeballs race, closed connections that must be retired after 10 s, destroy events,
/// UDP flows, and notices that repeat within and beyond the coalescing window.
fn run() -> Vec<(i64, SourceId, Payload)> {
    let mut events = vec![(0, SourceId::Interfaces, link())];
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), 443);
    for second in 0..25_i64 {
        let ms = second * 1000;
        events.push((ms, SourceId::Interfaces, counters(second)));
        let s = second as u64;
        let mut sockets = vec![
            tcp(1, remote(1, 443), SocketState::Established, s * s * 3_000, s * 1_500, 0),
            // Retransmitting with nothing acknowledged from 3 s on: stalled at 8 s.
            tcp(2, remote(2, 443), SocketState::Established, 500, 500.min(s * 200), u8::from(s >= 3)),
            udp(3, 5353),
        ];
        if (4..12).contains(&second) {
            sockets.push(tcp(4, remote(4, 22), SocketState::SynSent, 0, 0, 0));
        }
        if second == 5 {
            // Four short connections to one host, seen in one dump only.
            sockets.extend((10..14).map(|c| tcp(c, remote(5, 80), SocketState::Established, 0, 0, 0)));
        }
        if second == 7 {
            sockets.push(tcp(20, v6, SocketState::SynSent, 0, 0, 0));
        }
        if (7..16).contains(&second) {
            sockets.push(tcp(21, remote(6, 443), SocketState::Established, 0, 0, 0));
        }
        events.push((ms, SourceId::Connections, table(sockets)));
        let flow = FlowBytes {
            protocol: Protocol::Udp,
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5353),
            remote: remote(7, 5353),
            rx_bytes: 700 * s,
            tx_bytes: 300,
        };
        events.push((
            ms + 500,
            SourceId::Capture,
            Payload::Flows(FlowSample { interval_ms: 1000, flows: vec![flow] }),
        ));
        if second == 9 {
            // Destroy events between dumps: short connections the dumps never saw.
            let gone = (30..33).map(|c| tcp(c, remote(8, 8080), SocketState::Close, 10, 10, 0)).collect();
            events.push((ms + 300, SourceId::Connections, Payload::SocketsClosed(gone)));
        }
    }
    for ms in [2_100, 2_700, 4_000, 4_800, 5_600] {
        events.push((ms, SourceId::Interfaces, notice("flap")));
    }
    events.sort_by_key(|(ms, _, _)| *ms);
    events
}

/// Everything the store derives from intervals, without the wall-clock stamps it
/// shows: interface rates and history, each connection's rates, history, warnings,
/// label and whether it is closed (and still held), the counts, and the timeline's
/// lines with their repeat counts.
#[derive(Debug, PartialEq)]
struct Derived {
    interface_rates: Option<InterfaceRates>,
    interface_history: Vec<InterfaceRates>,
    connections: Vec<DerivedConnection>,
    counts: ConnectionCounts,
    timeline: Vec<(SourceId, TimelineKind, String, String, u32)>,
    coalesced_bursts: u64,
}

/// One connection's part of [`Derived`].
#[derive(Debug, PartialEq)]
struct DerivedConnection {
    cookie: u64,
    rates: Option<ConnectionRates>,
    history: Vec<ConnectionSample>,
    warnings: ConnectionWarnings,
    label: Option<ConnectionLabel>,
    closed: bool,
}

/// A wall clock as a function of the monotonic one (milliseconds).
type WallClock = fn(i64) -> i64;

fn derived(store: &Store) -> Derived {
    let interface = store.interface(2);
    let mut connections: Vec<_> = store
        .connections()
        .iter()
        .map(|e| DerivedConnection {
            cookie: e.socket.cookie,
            rates: e.rates,
            history: e.history.iter().copied().collect(),
            warnings: e.warnings,
            label: e.label,
            closed: e.closed_at.is_some(),
        })
        .collect();
    connections.sort_by_key(|c| c.cookie);
    Derived {
        interface_rates: interface.and_then(|e| e.rates),
        interface_history: interface.map(|e| e.history.iter().map(|s| s.rates).collect()).unwrap_or_default(),
        connections,
        counts: store.connections().counts(),
        timeline: store
            .timeline()
            .iter()
            .map(|e| (e.source, e.kind, e.subject.clone(), e.detail.clone(), e.count))
            .collect(),
        coalesced_bursts: store.timeline().coalesced_bursts(),
    }
}

/// Fold `run()` with the given clocks, returning what was derived after every event.
fn fold(wall_ms: impl Fn(i64) -> i64, mono_ms: impl Fn(i64) -> i64) -> Vec<Derived> {
    let mut store = Store::default();
    run()
        .into_iter()
        .map(|(ms, source, payload)| {
            store.apply(Event::stamped(wall(wall_ms(ms)), mono(mono_ms(ms)), source, payload));
            derived(&store)
        })
        .collect()
}

#[test]
fn the_run_exercises_what_the_clock_must_not_change() {
    let states = fold(|ms| ms, |ms| ms);
    let end = states.last().unwrap_or_else(|| panic!("an empty run"));
    let warnings = |cookie| end.connections.iter().find(|c| c.cookie == cookie).map(|c| c.warnings);
    let label = |cookie| end.connections.iter().find(|c| c.cookie == cookie).and_then(|c| c.label);
    assert!(end.interface_rates.is_some_and(|r| r.rx_bytes_per_s > 0.0));
    assert!(end.connections.iter().any(|c| c.cookie == 1 && c.rates.is_some_and(|r| r.rx_bytes_per_s > 0.0)));
    assert!(warnings(2).is_some_and(|w| w.contains(ConnectionWarnings::STALLED)), "{end:#?}");
    assert!(warnings(4).is_none(), "the stuck attempt closed at 12 s and was retired at 22 s");
    assert!(warnings(21).is_some(), "closed at 16 s, still held at 24 s");
    let seen_stuck = states.iter().any(|s| {
        s.connections.iter().any(|c| c.cookie == 4 && c.warnings.contains(ConnectionWarnings::LONG_SYN_SENT))
    });
    assert!(seen_stuck, "the attempt stuck in syn_sent was warned");
    let burst = states.iter().any(|s| {
        s.connections
            .iter()
            .any(|c| c.cookie == 10 && matches!(c.label, Some(ConnectionLabel::Burst { count: 4 })))
    });
    assert!(burst, "the four short connections were labelled a burst");
    let also_ran = states
        .iter()
        .any(|s| s.connections.iter().any(|c| c.cookie == 20 && c.label == Some(ConnectionLabel::AlsoRan)));
    assert!(also_ran, "the IPv6 attempt that lost the race was labelled an also-ran");
    assert_eq!(label(20), None, "and retired 10 s after it closed");
    assert!(
        end.connections.iter().any(|c| c.cookie == 3 && c.rates.is_some_and(|r| r.rx_bytes_per_s > 0.0)),
        "UDP rate"
    );
    assert!(end.timeline.iter().any(|line| line.1 == TimelineKind::ConnectionBurst));
    let flaps: Vec<u32> = end.timeline.iter().filter(|l| l.3 == "flap").map(|l| l.4).collect();
    assert_eq!(flaps, [2, 3], "repeats within 1 s of the last fold, a 1.3 s gap does not");
}

#[test]
fn a_wall_clock_stepped_during_a_run_changes_nothing_derived() {
    let steady = fold(|ms| ms, |ms| ms);
    // (name, wall clock as a function of the monotonic one)
    let cases: [(&str, WallClock); 6] = [
        ("stepped back 1 h at 6 s", |ms| if ms >= 6_000 { ms - HOUR_MS } else { ms }),
        ("stepped forward 1 h at 6 s", |ms| if ms >= 6_000 { ms + HOUR_MS } else { ms }),
        // Inside the coalescing burst, the stall, the burst window and retention.
        ("stepped back 1 h at 2.3 s and 14.5 s", |ms| match ms {
            ..2_300 => ms,
            2_300..14_500 => ms - HOUR_MS,
            _ => ms - 2 * HOUR_MS,
        }),
        ("stepped forward then back", |ms| match ms {
            5_200..9_400 => ms + HOUR_MS,
            _ => ms,
        }),
        ("back 1 h then forward 1 h", |ms| match ms {
            5_000..15_000 => ms - HOUR_MS,
            _ => ms,
        }),
        ("frozen from 3 s", |ms| ms.min(3_000)),
    ];
    for (name, wall_ms) in cases {
        let stepped = fold(wall_ms, |ms| ms);
        assert_eq!(stepped.len(), steady.len());
        for (n, (a, b)) in steady.iter().zip(&stepped).enumerate() {
            assert_eq!(a, b, "{name}: after event {n}");
        }
    }
}

#[test]
fn the_monotonic_clock_alone_decides() {
    // Everything follows the monotonic clock, whatever the wall clock does.
    let reference = fold(|ms| ms, |ms| ms);
    let cases: [(&str, WallClock); 3] = [
        ("wall runs backwards", |ms| -ms),
        ("wall frozen", |_| 0),
        ("wall runs ten times faster", |ms| ms * 10),
    ];
    for (name, wall_ms) in cases {
        assert!(fold(wall_ms, |ms| ms) == reference, "{name}");
    }
    // The monotonic clock running twice as slow halves every rate, while the wall
    // clock is the same: it measures nothing.
    let slow = fold(|ms| ms, |ms| ms * 2);
    let (slow, reference) = (slow.last(), reference.last());
    let rate =
        |d: Option<&Derived>| d.and_then(|d| d.interface_rates).map(|r| r.rx_bytes_per_s).unwrap_or_default();
    assert!(rate(reference) > 0.0);
    assert!((rate(slow) - rate(reference) / 2.0).abs() < 1e-9, "{} vs {}", rate(slow), rate(reference));
}

/// A scenario where the wall clock says one thing and the monotonic clock another.
struct Case {
    name: &'static str,
    /// (wall ms, mono ms, payload), in arrival order.
    events: Vec<(i64, i64, Payload)>,
    /// Whether the store did what the monotonic clock says.
    check: fn(&Store) -> bool,
}

/// Scenarios for connections: stalls, bursts, retention, rates, lifetimes.
fn connection_cases() -> Vec<Case> {
    let stuck =
        |retransmits| table(vec![tcp(1, remote(2, 443), SocketState::Established, 100, 100, retransmits)]);
    let short = |cookies: std::ops::Range<u64>| {
        table(cookies.map(|c| tcp(c, remote(5, 80), SocketState::Established, 0, 0, 0)).collect())
    };
    vec![
        Case {
            name: "a stall after 6 s on the monotonic clock, with the wall clock frozen",
            events: (0..7).map(|s| (0, s * 1000, stuck(1))).collect(),
            check: |store| {
                store.connections().get(1).is_some_and(|e| e.warnings.contains(ConnectionWarnings::STALLED))
            },
        },
        Case {
            name: "no stall within 3 s on the monotonic clock, though the wall clock moved 2 h",
            events: (0..4).map(|s| (s * 2 * HOUR_MS / 3, s * 1000, stuck(1))).collect(),
            check: |store| store.connections().get(1).is_some_and(|e| e.warnings.is_empty()),
        },
        Case {
            name: "a burst within 1 s on the monotonic clock, 3 h apart on the wall clock",
            events: vec![(0, 0, table(vec![])), (0, 100, short(1..5)), (3 * HOUR_MS, 900, table(vec![]))],
            check: |store| {
                store
                    .connections()
                    .get(1)
                    .is_some_and(|e| e.label == Some(ConnectionLabel::Burst { count: 4 }))
            },
        },
        Case {
            name: "no burst over 5 s on the monotonic clock, at one wall instant",
            events: vec![(0, 0, table(vec![])), (0, 100, short(1..5)), (0, 5_100, table(vec![]))],
            check: |store| store.connections().get(1).is_some_and(|e| e.label.is_none()),
        },
        Case {
            name: "a closed connection retired after 10 s on the monotonic clock, wall clock stepped back",
            events: vec![
                (0, 0, table(vec![])),
                (1_000, 1_000, short(1..2)),
                (2_000, 2_000, table(vec![])),
                (2_000 - HOUR_MS, 12_001, table(vec![])),
            ],
            check: |store| store.connections().get(1).is_none(),
        },
        Case {
            name: "a closed connection kept within 10 s on the monotonic clock, wall clock stepped forward",
            events: vec![
                (0, 0, table(vec![])),
                (1_000, 1_000, short(1..2)),
                (2_000, 2_000, table(vec![])),
                (2_000 + HOUR_MS, 11_000, table(vec![])),
            ],
            check: |store| store.connections().get(1).is_some_and(|e| e.closed_at.is_some()),
        },
        Case {
            name: "a closed connection's lifetime on the monotonic clock, wall clock stepped back",
            events: vec![
                (0, 0, table(vec![])),
                (1_000, 1_000, short(1..2)),
                (1_000 - HOUR_MS, 4_000, table(vec![])),
            ],
            check: |store| {
                store
                    .connections()
                    .get(1)
                    .is_some_and(|e| e.lifetime(mono(9_000)) == time::Duration::seconds(3))
            },
        },
    ]
}

/// Scenarios for the timeline's coalescing and for rates.
fn other_cases() -> Vec<Case> {
    vec![
        Case {
            name: "repeats 2 s apart on the monotonic clock are not folded, at one wall instant",
            events: vec![(0, 0, notice("flap")), (0, 2_000, notice("flap"))],
            check: |store| store.timeline().len() == 2,
        },
        Case {
            name: "repeats 0.5 s apart on the monotonic clock fold, 1 h apart on the wall clock",
            events: vec![(0, 0, notice("flap")), (HOUR_MS, 500, notice("flap"))],
            check: |store| store.timeline().len() == 1 && store.timeline().coalesced_bursts() == 1,
        },
        Case {
            name: "a connection rate over the monotonic interval, wall clock stepped back",
            events: vec![
                (0, 0, table(vec![tcp(1, remote(1, 443), SocketState::Established, 0, 0, 0)])),
                (
                    -HOUR_MS,
                    2_000,
                    table(vec![tcp(1, remote(1, 443), SocketState::Established, 4_000, 1_000, 0)]),
                ),
            ],
            check: |store| {
                store.connections().get(1).and_then(|e| e.rates)
                    == Some(ConnectionRates { rx_bytes_per_s: 2_000.0, tx_bytes_per_s: 500.0 })
            },
        },
        Case {
            name: "an interface rate over the monotonic interval, wall clock frozen",
            events: vec![(0, 0, link()), (0, 1_000, counters(0)), (0, 3_000, counters(2))],
            check: |store| {
                store
                    .interface(2)
                    .and_then(|e| e.rates)
                    .is_some_and(|r| (r.rx_bytes_per_s - 2_500.0).abs() < 1e-9)
            },
        },
        Case {
            name: "the span of an interface's rate history on the monotonic clock, wall clock stepped back",
            events: vec![
                (0, 0, link()),
                (0, 1_000, counters(0)),
                (1_000, 2_000, counters(1)),
                (2_000 - HOUR_MS, 3_000, counters(2)),
            ],
            check: |store| {
                store.interface(2).and_then(InterfaceEntry::history_span) == Some(time::Duration::seconds(1))
            },
        },
        Case {
            name: "no interface rate from samples 0.1 s apart on the monotonic clock, 1 h apart on the wall clock",
            events: vec![(0, 0, link()), (0, 1_000, counters(0)), (HOUR_MS, 1_100, counters(2))],
            check: |store| store.interface(2).is_some_and(|e| e.rates.is_none()),
        },
    ]
}

/// The store does what the monotonic clock says, in every scenario.
#[test]
fn every_window_follows_the_monotonic_clock() {
    let mut wrong = Vec::new();
    for case in connection_cases().into_iter().chain(other_cases()) {
        let mut store = Store::default();
        for (wall_ms, mono_ms, payload) in case.events {
            let source = match payload {
                Payload::Sockets(_) => SourceId::Connections,
                _ => SourceId::Interfaces,
            };
            store.apply(Event::stamped(wall(wall_ms), mono(mono_ms), source, payload));
        }
        if !(case.check)(&store) {
            wrong.push(case.name);
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
