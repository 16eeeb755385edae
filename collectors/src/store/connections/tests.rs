use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;
use crate::model::{
    AddressFamily, ProcessInfo, RouteMove, SocketTimer, TcpInfo, TimelineKind, TimerKind, Timestamp,
};

fn t(ms: i64) -> Timestamp {
    time::macros::datetime!(2026-01-01 00:00:00 UTC) + time::Duration::milliseconds(ms)
}

/// `ms` into the test on both clocks (they agree: nothing steps here).
pub(super) fn s(ms: i64) -> Stamp {
    Stamp { wall: t(ms), mono: Mono::from_nanos(ms * 1_000_000) }
}

pub(super) fn v4(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port)
}

pub(super) fn tcp(cookie: u64, remote: SocketAddr, state: SocketState, rx: u64, acked: u64) -> Socket {
    Socket {
        cookie,
        protocol: Protocol::Tcp,
        family: if remote.is_ipv6() { AddressFamily::Ipv6 } else { AddressFamily::Ipv4 },
        state,
        local: v4(1, 40_000 + cookie as u16),
        remote,
        interface_index: None,
        uid: 1000,
        inode: 100 + cookie,
        recv_queue: 0,
        send_queue: 0,
        timer: None,
        tcp: Some(TcpInfo {
            rtt_ms: 12.5,
            bytes_received: Some(rx),
            bytes_acked: Some(acked),
            bytes_sent: Some(acked),
            ..TcpInfo::default()
        }),
        congestion: Some("cubic".into()),
        memory: None,
        tos: None,
    }
}

fn udp(cookie: u64, local: SocketAddr, remote: Option<SocketAddr>) -> Socket {
    Socket {
        protocol: Protocol::Udp,
        state: if remote.is_some() { SocketState::Established } else { SocketState::Unconnected },
        local,
        remote: remote.unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        tcp: None,
        congestion: None,
        ..tcp(cookie, v4(9, 9), SocketState::Established, 0, 0)
    }
}

pub(super) fn table(sockets: Vec<Socket>) -> SocketTable {
    let owners = sockets.iter().map(|s| (s.inode, 4242)).collect();
    let processes = vec![ProcessInfo {
        pid: 4242,
        name: "curl".into(),
        cmdline: "curl https://example.test".into(),
        user: "dev".into(),
        start_time: 1,
        open_files: Some(12),
        open_files_limit: Some(1024),
    }];
    SocketTable {
        sockets,
        owners,
        processes,
        all_owners_visible: true,
        route_moves: Vec::new(),
        origins: Vec::new(),
        unchanged: Vec::new(),
        cookie_owners: Vec::new(),
    }
}

fn kinds(notices: &[Notice]) -> Vec<TimelineKind> {
    notices.iter().map(|n| n.kind).collect()
}

#[test]
fn dumps_fold_rates_owners_and_counts() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    c.apply_table(s(0), table(vec![tcp(1, server, SocketState::Established, 1000, 500)]));
    assert_eq!(c.get(1).and_then(|e| e.opened_at), None, "present in the first dump: predates netlens");
    c.apply_table(s(2000), table(vec![tcp(1, server, SocketState::Established, 5000, 2500)]));
    let entry = c.get(1).unwrap_or_else(|| panic!("connection 1"));
    let rates = entry.rates.unwrap_or_default();
    assert!((rates.rx_bytes_per_s - 2000.0).abs() < 1e-9 && (rates.tx_bytes_per_s - 1000.0).abs() < 1e-9);
    assert_eq!(entry.pid, Some(4242));
    assert_eq!(c.process(4242).map(|p| p.name.as_str()), Some("curl"));
    assert_eq!(entry.history.len(), 2);
    assert_eq!(c.counts().established, 1);
    assert_eq!(c.counts().tcp, 1);
}

#[test]
fn missing_from_a_dump_means_closed_and_retired_after_retention() {
    let mut c = Connections::default();
    let server = v4(2, 80);
    c.apply_table(s(0), table(vec![]));
    c.apply_table(s(1000), table(vec![tcp(1, server, SocketState::Established, 10, 10)]));
    assert_eq!(c.get(1).and_then(|e| e.opened_at), Some(t(1000)), "seen opening");
    c.apply_table(s(5000), table(vec![]));
    let entry = c.get(1).unwrap_or_else(|| panic!("still shown"));
    assert_eq!(entry.closed_at, Some(t(5000)));
    assert_eq!(entry.socket.tcp.and_then(|tcp| tcp.bytes_received), Some(10), "final counters kept");
    assert_eq!(c.counts().closed, 1);
    assert_eq!(c.counts().tcp, 0);
    c.apply_table(s(15_000), table(vec![]));
    assert!(c.get(1).is_some(), "10 s retention is inclusive");
    c.apply_table(s(15_001), table(vec![]));
    assert!(c.get(1).is_none(), "retired after the retention");
}

#[test]
fn destroy_events_keep_final_counters_of_connections_between_dumps() {
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    let mut short = tcp(7, v4(3, 8080), SocketState::Close, 4096, 128);
    short.inode = 0;
    c.apply_closed(s(300), vec![short]);
    let entry = c.get(7).unwrap_or_else(|| panic!("closed between dumps"));
    assert_eq!(entry.closed_at, Some(t(300)));
    assert_eq!(entry.socket.tcp.and_then(|tcp| tcp.bytes_received), Some(4096));
    // The next dump does not resurrect or re-close it.
    c.apply_table(s(1000), table(vec![]));
    assert_eq!(c.get(7).and_then(|e| e.closed_at), Some(t(300)));
}

#[test]
fn a_destroyed_connection_winds_down_in_time_wait_under_the_same_cookie() {
    let mut c = Connections::default();
    let server = v4(2, 80);
    c.apply_table(s(0), table(vec![tcp(1, server, SocketState::Established, 10, 10)]));
    let mut destroyed = tcp(1, server, SocketState::Close, 900, 700);
    destroyed.inode = 0;
    c.apply_closed(s(400), vec![destroyed]);
    let mut remnant = tcp(1, server, SocketState::TimeWait, 0, 0);
    remnant.tcp = None;
    remnant.inode = 0;
    c.apply_table(s(1000), table(vec![remnant]));
    let entry = c.get(1).unwrap_or_else(|| panic!("still there"));
    assert_eq!(entry.closed_at, None, "winding down, not gone");
    assert_eq!(entry.socket.state, SocketState::TimeWait);
    assert_eq!(entry.socket.tcp.and_then(|tcp| tcp.bytes_received), Some(900), "final counters kept");
    assert_eq!(entry.pid, Some(4242), "owner kept though time_wait has no inode");
    assert_eq!(c.counts().time_wait, 1);
}

#[test]
fn a_late_destroy_event_still_brings_the_final_counters() {
    let mut c = Connections::default();
    let server = v4(2, 80);
    c.apply_table(s(0), table(vec![tcp(1, server, SocketState::Established, 10, 10)]));
    c.apply_table(s(1000), table(vec![]));
    let mut destroyed = tcp(1, server, SocketState::Close, 5000, 4000);
    destroyed.inode = 0;
    c.apply_closed(s(1100), vec![destroyed]);
    let entry = c.get(1).unwrap_or_else(|| panic!("still shown"));
    assert_eq!(entry.closed_at, Some(t(1000)), "closed when the dump first missed it");
    assert_eq!(entry.socket.tcp.and_then(|tcp| tcp.bytes_received), Some(5000));
}

#[test]
fn a_socket_one_dump_skipped_is_the_same_open_connection() {
    let mut c = Connections::default();
    let server = v4(2, 80);
    c.apply_table(s(0), table(vec![]));
    c.apply_table(s(1000), table(vec![tcp(1, server, SocketState::Established, 10, 10)]));
    c.apply_table(s(2000), table(vec![]));
    assert!(
        c.get(1).is_some_and(|e| e.closed_at.is_some() && e.rates.is_none()),
        "looks closed, no current rate"
    );
    let notices = c.apply_table(s(3000), table(vec![tcp(1, server, SocketState::Established, 30, 30)]));
    assert!(notices.is_empty());
    let entry = c.get(1).unwrap_or_else(|| panic!("back"));
    assert_eq!(entry.closed_at, None, "a dump skipped it; the kernel never closed it");
    assert_eq!(entry.opened_at, Some(t(1000)), "the same connection, not a new one");
    assert_eq!(c.counts().established, 1);
}

#[test]
fn a_handshake_that_becomes_a_socket_is_no_close_and_no_burst() {
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    let requests: Vec<Socket> = (1..=4)
        .map(|n| {
            let mut request = tcp(n, v4(9, 40_000 + n as u16), SocketState::NewSynRecv, 0, 0);
            request.inode = 0;
            request
        })
        .collect();
    c.apply_table(s(100), table(requests));
    let notices = c.apply_table(s(600), table(vec![]));
    assert!(notices.is_empty(), "{notices:?}");
    assert!(c.is_empty(), "request sockets vanish without a closed row");
}

#[test]
fn connections_spread_out_in_time_are_no_burst() {
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    let host = v4(5, 80);
    let mut notices = Vec::new();
    // A health check every 3 s, each connection lasting well under a second.
    for n in 0..4_u64 {
        let start = 1000 + n as i64 * 3000;
        notices
            .extend(c.apply_table(s(start), table(vec![tcp(n + 1, host, SocketState::Established, 0, 0)])));
        notices.extend(c.apply_table(s(start + 500), table(vec![])));
    }
    assert!(notices.iter().all(|n| n.kind != TimelineKind::ConnectionBurst), "{notices:?}");
    assert!((1..=4).all(|n| c.get(n).is_none_or(|e| e.label.is_none())));
}

#[test]
fn closed_connections_are_capped_whatever_the_retention() {
    let limits =
        ConnectionLimits { closed_retention: time::Duration::hours(1), ..ConnectionLimits::default() };
    let mut c = Connections::new(limits);
    c.apply_table(s(0), table(vec![]));
    let many: Vec<Socket> =
        (1..=(MAX_CLOSED as u64 + 50)).map(|n| tcp(n, v4(2, 80), SocketState::Close, 0, 0)).collect();
    c.apply_closed(s(100), many);
    c.apply_table(s(1000), table(vec![]));
    assert_eq!(c.len(), MAX_CLOSED);
}

#[test]
fn counter_reset_gives_no_rate_rather_than_a_spike() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    c.apply_table(s(0), table(vec![tcp(1, server, SocketState::Established, 9000, 9000)]));
    c.apply_table(s(1000), table(vec![tcp(1, server, SocketState::Established, 10, 10)]));
    assert_eq!(c.get(1).and_then(|e| e.rates), None);
}

#[test]
fn stall_is_warned_once_after_five_seconds_without_progress() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    let stuck = |retransmits| {
        let mut socket = tcp(1, server, SocketState::Established, 100, 100);
        if let Some(info) = socket.tcp.as_mut() {
            info.retransmits = retransmits;
        }
        socket
    };
    let mut raised = Vec::new();
    for second in 0..=8 {
        raised.extend(c.apply_table(s(second * 1000), table(vec![stuck(1)])));
        if second < 5 {
            assert!(raised.is_empty(), "no warning before 5 s (at {second} s)");
        }
    }
    assert_eq!(kinds(&raised), [TimelineKind::ConnectionWarning], "raised once: {raised:?}");
    assert!(
        raised[0].detail.contains("stalled") && raised[0].detail.contains("curl 4242"),
        "{}",
        raised[0].detail
    );
    assert!(c.get(1).is_some_and(|e| e.warnings.contains(ConnectionWarnings::STALLED)));
    assert_eq!(c.counts().warned, 1);
}

#[test]
fn progress_prevents_a_stall() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    for second in 0..=8 {
        let mut socket = tcp(1, server, SocketState::Established, 100, 100 + second as u64 * 1000);
        if let Some(info) = socket.tcp.as_mut() {
            info.retransmits = 1;
        }
        let notices = c.apply_table(s(second * 1000), table(vec![socket]));
        assert!(notices.is_empty(), "acknowledged progress every second: {notices:?}");
    }
}

/// Turns a healthy socket and its process into a troubled one.
type Trouble = Box<dyn Fn(&mut Socket, &mut ProcessInfo)>;

#[test]
fn other_warnings() {
    let cases: Vec<(&str, Trouble, ConnectionWarnings)> = vec![
        (
            "zero window",
            Box::new(|s, _| {
                s.timer =
                    Some(SocketTimer { kind: TimerKind::ZeroWindowProbe, expires_ms: 200, retransmits: 0 });
            }),
            ConnectionWarnings::ZERO_WINDOW,
        ),
        (
            "snd_wnd 0",
            Box::new(|s, _| {
                if let Some(i) = s.tcp.as_mut() {
                    i.snd_wnd = Some(0);
                }
            }),
            ConnectionWarnings::ZERO_WINDOW,
        ),
        (
            "retransmits",
            Box::new(|s, _| {
                if let Some(i) = s.tcp.as_mut() {
                    i.bytes_sent = Some(100_000);
                    i.bytes_retrans = Some(20_000);
                }
            }),
            ConnectionWarnings::HIGH_RETRANSMITS,
        ),
        ("fd limit", Box::new(|_, p| p.open_files = Some(1000)), ConnectionWarnings::NEAR_FD_LIMIT),
    ];
    for (what, change, expected) in cases {
        let mut c = Connections::default();
        let mut socket = tcp(1, v4(2, 443), SocketState::Established, 100, 100);
        let mut dump = table(vec![]);
        change(&mut socket, &mut dump.processes[0]);
        dump.sockets = vec![socket];
        dump.owners = vec![(101, 4242)];
        let notices = c.apply_table(s(0), dump);
        assert_eq!(kinds(&notices), [TimelineKind::ConnectionWarning], "{what}");
        assert!(c.get(1).is_some_and(|e| e.warnings == expected), "{what}");
    }
}

#[test]
fn long_syn_sent_is_warned() {
    let mut c = Connections::default();
    let attempt = || tcp(1, v4(2, 443), SocketState::SynSent, 0, 0);
    assert!(c.apply_table(s(0), table(vec![attempt()])).is_empty());
    assert!(c.apply_table(s(2000), table(vec![attempt()])).is_empty());
    let notices = c.apply_table(s(3000), table(vec![attempt()]));
    assert_eq!(kinds(&notices), [TimelineKind::ConnectionWarning]);
    assert!(notices[0].detail.contains("syn_sent"));
    assert_eq!(c.counts().connecting, 1);
}

#[test]
fn many_short_connections_to_one_host_are_a_labelled_burst_not_an_error() {
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    let host = v4(5, 22);
    let closed: Vec<Socket> = (1..=4)
        .map(|n| tcp(n, SocketAddr::new(host.ip(), 22 + n as u16), SocketState::Close, 0, 0))
        .collect();
    c.apply_table(s(100), table(closed));
    let notices = c.apply_table(s(600), table(vec![]));
    assert_eq!(kinds(&notices), [TimelineKind::ConnectionBurst], "one notice per burst");
    assert!(
        notices[0].detail.contains("curl (4242)") && notices[0].detail.contains("not an error"),
        "{}",
        notices[0].detail
    );
    for n in 1..=4 {
        assert_eq!(c.get(n).and_then(|e| e.label), Some(ConnectionLabel::Burst { count: 4 }));
        assert!(c.get(n).is_some_and(|e| e.warnings.is_empty()), "a burst is not a warning");
    }
    // The same burst seen again is not announced again.
    assert!(c.apply_table(s(900), table(vec![])).is_empty());
}

#[test]
fn happy_eyeballs_loser_is_an_also_ran() {
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), 443);
    let v4_server = v4(2, 443);
    c.apply_table(
        s(100),
        table(vec![
            tcp(1, v6, SocketState::SynSent, 0, 0),
            tcp(2, v4_server, SocketState::Established, 0, 0),
        ]),
    );
    let notices = c.apply_table(s(400), table(vec![tcp(2, v4_server, SocketState::Established, 10, 10)]));
    assert!(notices.is_empty(), "a race is normal: {notices:?}");
    assert_eq!(c.get(1).and_then(|e| e.label), Some(ConnectionLabel::AlsoRan));
    assert_eq!(c.get(2).and_then(|e| e.label), None, "the winner carries no label");
}

#[test]
fn names_are_cached_with_negative_answers() {
    let mut c = Connections::default();
    let known = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let nameless = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    c.apply_names(vec![(known, Some("www.example.test".into())), (nameless, None)]);
    assert_eq!(c.name_of(known), Some(Some("www.example.test")));
    assert_eq!(c.name_of(nameless), Some(None));
    assert_eq!(c.name_of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3))), None);
}

#[test]
fn udp_rates_come_from_flows() {
    let mut c = Connections::default();
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5353);
    let dns = v4(53, 53);
    c.apply_table(s(0), table(vec![udp(1, any, None), udp(2, v4(1, 40_001), Some(dns))]));
    let flow = |local, remote, rx, tx| crate::model::FlowBytes {
        protocol: Protocol::Udp,
        local,
        remote,
        rx_bytes: rx,
        tx_bytes: tx,
    };
    c.apply_flows(&FlowSample {
        interval_ms: 500,
        flows: vec![
            flow(v4(1, 5353), v4(7, 5353), 1000, 0),
            flow(v4(1, 5353), v4(8, 5353), 500, 250),
            flow(v4(1, 40_001), dns, 200, 100),
            flow(v4(1, 40_001), v4(66, 53), 9999, 9999),
        ],
    });
    let rates = |cookie| c.get(cookie).and_then(|e| e.rates).unwrap_or_default();
    assert!((rates(1).rx_bytes_per_s - 3000.0).abs() < 1e-9, "unconnected: every remote, {:?}", rates(1));
    assert!((rates(1).tx_bytes_per_s - 500.0).abs() < 1e-9);
    assert!((rates(2).rx_bytes_per_s - 400.0).abs() < 1e-9, "connected: its peer only, {:?}", rates(2));
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn warning_notices(notices: &[Notice]) -> Vec<&str> {
    notices.iter().filter(|n| n.kind == TimelineKind::ConnectionWarning).map(|n| n.detail.as_str()).collect()
}

#[test]
fn a_connection_is_orphaned_once_when_its_local_address_goes() {
    let mut c = Connections::default();
    let mut loopback = tcp(2, SocketAddr::new(ip("127.0.0.1"), 5432), SocketState::Established, 0, 0);
    loopback.local = SocketAddr::new(ip("127.0.0.2"), 40_002);
    let mut listener = tcp(3, SocketAddr::new(ip("0.0.0.0"), 0), SocketState::Listen, 0, 0);
    listener.local = SocketAddr::new(ip("0.0.0.0"), 80);
    let sockets =
        || vec![tcp(1, v4(2, 443), SocketState::Established, 0, 0), loopback.clone(), listener.clone()];
    // No network table yet: nothing can be judged orphaned.
    c.apply_table(s(0), table(sockets()));
    assert!(c.get(1).is_some_and(|e| e.warnings.is_empty()));
    let present = [(ip("10.0.0.1"), 2), (ip("127.0.0.1"), 1)];
    assert!(warning_notices(&c.apply_addresses(present)).is_empty(), "its address is on an interface");

    // The address goes (a DHCP lease changed): raised by the network table itself.
    let notices = c.apply_addresses([(ip("10.0.0.9"), 2), (ip("127.0.0.1"), 1)]);
    assert_eq!(
        warning_notices(&notices),
        ["tcp 10.0.0.1:40001 → 10.0.0.2:443 (curl 4242): its local address 10.0.0.1 is no longer on any \
          interface: it cannot send until the address returns"]
    );
    let entry = c.get(1).unwrap_or_else(|| panic!("connection 1"));
    assert!(entry.warnings.contains(ConnectionWarnings::ORPHANED));
    assert_eq!(entry.warnings.names().collect::<Vec<_>>(), ["orphaned"]);
    assert_eq!(
        entry.warning_detail("orphaned").as_deref(),
        Some("its local address 10.0.0.1 was removed from every interface")
    );
    assert_eq!(c.counts().warned, 1, "orphaned is a problem");
    assert!(c.get(2).is_some_and(|e| e.warnings.is_empty()), "127/8 lives on lo whole");
    assert!(c.get(3).is_some_and(|e| e.warnings.is_empty()), "listeners and wildcards are not judged");

    // Raised once: neither the next dump nor the next table repeats it.
    assert!(warning_notices(&c.apply_table(s(1000), table(sockets()))).is_empty());
    assert!(warning_notices(&c.apply_addresses([(ip("10.0.0.9"), 2)])).is_empty());
    // An empty table (a failed read) says nothing about anyone.
    let mut fresh = Connections::default();
    fresh.apply_addresses([]);
    fresh.apply_table(s(0), table(sockets()));
    assert!(fresh.get(1).is_some_and(|e| e.warnings.is_empty()));
}

#[test]
fn a_new_connection_to_a_missing_address_is_orphaned_by_the_dump() {
    let mut c = Connections::default();
    c.apply_addresses([(ip("10.0.0.9"), 2)]);
    let notices = c.apply_table(s(0), table(vec![tcp(1, v4(2, 443), SocketState::Established, 0, 0)]));
    assert_eq!(warning_notices(&notices).len(), 1);
    assert!(c.get(1).is_some_and(|e| e.warnings.contains(ConnectionWarnings::ORPHANED)));
}

fn moved(interface_index: u32, interface_changed: bool) -> RouteMove {
    RouteMove {
        local: ip("10.0.0.1"),
        remote: ip("10.0.0.2"),
        interface: Some("tun0".into()),
        interface_index: Some(interface_index),
        interface_changed,
        source: Some(ip("10.8.0.2")),
        current_interface: Some("veth0".into()),
        first_interface: Some("veth0".into()),
    }
}

#[test]
fn a_moved_route_is_raised_once_as_a_fact() {
    let mut c = Connections::default();
    c.apply_addresses([(ip("10.0.0.1"), 2), (ip("10.8.0.2"), 7)]);
    let socket = || tcp(1, v4(2, 443), SocketState::Established, 0, 0);
    c.apply_table(s(0), table(vec![socket()]));
    let mut with_move = table(vec![socket()]);
    with_move.route_moves = vec![moved(7, true)];
    let notices = c.apply_table(s(1000), with_move.clone());
    assert_eq!(
        warning_notices(&notices),
        ["tcp 10.0.0.1:40001 → 10.0.0.2:443 (curl 4242): new connections to 10.0.0.2 would leave via tun0 \
          from 10.8.0.2; this one stays on veth0 from 10.0.0.1"]
    );
    let entry = c.get(1).unwrap_or_else(|| panic!("connection 1"));
    assert_eq!(entry.warnings.names().collect::<Vec<_>>(), ["route_moved"]);
    assert!(entry.warnings.alarming().is_empty(), "informational");
    assert_eq!(c.counts().warned, 0, "a moved route is normal after a VPN comes up");
    assert!(entry.warning_detail("route_moved").is_some_and(|text| text.contains("via tun0")));
    assert!(warning_notices(&c.apply_table(s(2000), with_move)).is_empty(), "raised once");
    // The move is not reported any more (the VPN went down): the fact stays raised.
    c.apply_table(s(3000), table(vec![socket()]));
    assert!(c.get(1).is_some_and(|e| e.warnings.contains(ConnectionWarnings::ROUTE_MOVED)));
}

#[test]
fn another_source_on_the_connections_own_interface_is_no_move() {
    // An older IPv6 temporary address or a secondary IPv4 one: the fresh lookup picks
    // another source on the interface that holds this connection's address.
    let mut c = Connections::default();
    c.apply_addresses([(ip("10.0.0.1"), 2), (ip("10.0.0.7"), 2)]);
    let mut same_interface = table(vec![tcp(1, v4(2, 443), SocketState::Established, 0, 0)]);
    same_interface.route_moves = vec![RouteMove { source: Some(ip("10.0.0.7")), ..moved(2, false) }];
    assert!(warning_notices(&c.apply_table(s(0), same_interface)).is_empty());
    assert!(c.get(1).is_some_and(|e| e.warnings.is_empty() && e.route_move.is_none()));
    // The same candidate through another interface is a move.
    let mut elsewhere = table(vec![tcp(1, v4(2, 443), SocketState::Established, 0, 0)]);
    elsewhere.route_moves = vec![moved(7, false)];
    assert_eq!(warning_notices(&c.apply_table(s(1000), elsewhere)).len(), 1);
}

#[test]
fn owners_of_closed_sockets_from_the_bpf_book_stick_and_keep_their_process() {
    use std::sync::Arc;

    use crate::model::{Attribution, ClosedOwners, SocketOrigin};
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    let mut short = tcp(7, v4(3, 8080), SocketState::Close, 10, 10);
    short.inode = 0;
    c.apply_closed(s(300), vec![short]);
    assert_eq!(c.get(7).and_then(|entry| entry.pid), None, "a destroy event names no process");
    let origin =
        SocketOrigin { attribution: Attribution::Bpf, cgroup: Some(Arc::from("/system.slice/x.service")) };
    let process = ProcessInfo {
        pid: 77,
        name: "bash".into(),
        cmdline: "[bash]".into(),
        user: "root".into(),
        start_time: 0,
        open_files: None,
        open_files_limit: None,
    };
    c.apply_owners(s(301), ClosedOwners { owners: vec![(7, 77, origin.clone())], processes: vec![process] });
    let entry = c.get(7).unwrap_or_else(|| panic!("closed entry"));
    assert_eq!((entry.pid, entry.origin.as_ref()), (Some(77), Some(&origin)));
    // The next dump (without that process) keeps naming it while the row is shown.
    c.apply_table(s(1000), table(vec![]));
    assert_eq!(c.process(77).map(|process| process.name.as_str()), Some("bash"));
    // Owners never overwrite one already known.
    let other = SocketOrigin { attribution: Attribution::Proc, cgroup: None };
    c.apply_owners(s(1001), ClosedOwners { owners: vec![(7, 88, other)], processes: Vec::new() });
    assert_eq!(c.get(7).and_then(|entry| entry.pid), Some(77));
}
