use super::*;
use crate::event::Payload;
use crate::findings::testing::drive;
use crate::findings::testing::{fold, reading, socket, subjects, table};
use crate::findings::{RuleConfig, RuleOverride, rule};
use crate::model::{Socket, SocketTimer, SourceId, TcpInfo};

/// A kernel reading with `counters` (snmp and netstat by name), `sockstat` gauges and
/// the ephemeral port range.
fn kernel_with(
    store: &mut Store,
    second: i64,
    counters: &[(&str, i64)],
    sockstat: &[(&str, i64)],
    range: Option<PortRange>,
) {
    let mut counters = reading(counters);
    counters.sockstat = sockstat.iter().map(|(name, value)| ((*name).to_owned(), *value)).collect();
    counters.port_range = range;
    fold(store, second, SourceId::Kernel, Payload::Kernel(Box::new(counters)));
}

fn sockets(store: &mut Store, second: i64, sockets: Vec<Socket>) {
    fold(store, second, SourceId::Connections, Payload::Sockets(table(sockets)));
}

/// An established TCP connection with `tcp`.
fn established(cookie: u64, local: &str, remote: &str, tcp: TcpInfo) -> Socket {
    let mut socket = socket(cookie, Protocol::Tcp, SocketState::Established, local, remote);
    socket.tcp = Some(tcp);
    socket
}

/// TCP statistics of a connection that sent `sent` segments, `retransmitted` of them again.
fn sent(sent: u32, retransmitted: u32, last_send_ms: u32) -> TcpInfo {
    TcpInfo {
        segs_out: Some(sent),
        total_retrans: retransmitted,
        last_send_ms,
        rto_ms: 400.0,
        ..TcpInfo::default()
    }
}

fn evaluate(rule: &Rule, store: &Store, config: &RuleConfig) -> Vec<Candidate> {
    match (rule.evaluate)(store, config) {
        Verdict::Found(found) => found,
        Verdict::NotApplicable => panic!("{} not applicable", rule.id),
    }
}

fn override_of(rule: &Rule, name: &str, value: f64) -> RuleConfig {
    let lower = RuleOverride { thresholds: [(name.to_owned(), value)].into(), ..RuleOverride::default() };
    RuleConfig::new(rule, Some(&lower))
}

fn storming(store: &mut Store, s: i64) {
    let n = u32::try_from(s).unwrap_or(0);
    let lossy = established(1, "10.0.0.1:40000", "10.0.0.2:443", sent(1000 * n, 100 * n, 0));
    let mut second = established(2, "10.0.0.1:40002", "10.0.0.2:443", sent(500 * n, 40 * n, 20));
    second.tcp = second.tcp.map(|tcp| TcpInfo { lost: 3, ..tcp });
    // A busy healthy peer (1 %), a small loss (too few), and an old loss on an idle connection.
    let healthy = established(3, "10.0.0.1:40004", "10.0.0.3:443", sent(100_000 * n, 1000 * n, 0));
    let few = established(4, "10.0.0.1:40006", "10.0.0.4:443", sent(100, 10, 0));
    let idle = established(5, "10.0.0.1:40008", "10.0.0.5:443", sent(1000, 500, 60_000));
    sockets(store, s, vec![lossy, second, healthy, few, idle]);
    let total = i64::from(n) * 101_600;
    kernel_with(store, s, &[("TcpRetransSegs", i64::from(n) * 1140), ("TcpOutSegs", total)], &[], None);
}

#[test]
fn tcp_retransmission_storm_names_the_lossy_peer_and_closes_after_the_hold() {
    let calm = |store: &mut Store, s: i64| {
        let lossy = established(
            1,
            "10.0.0.1:40000",
            "10.0.0.2:443",
            sent(3000 + 100 * u32::try_from(s).unwrap_or(0), 300, 0),
        );
        sockets(store, s, vec![lossy]);
        kernel_with(store, s, &[("TcpRetransSegs", 3420), ("TcpOutSegs", 400_000 + s)], &[], None);
    };
    let open = drive(
        "tcp_retransmission_storm",
        &[
            (0, &storming),
            (1, &storming),
            (2, &storming),
            (3, &storming),
            (4, &calm),
            (33, &calm),
            (34, &calm),
        ],
    );
    let peer = vec!["peer 10.0.0.2".to_owned()];
    assert_eq!(
        open,
        [vec![], vec![], vec![], peer.clone(), peer.clone(), peer, vec![]],
        "no baseline, debounced 2 s, held 30 s, closed"
    );
    let mut store = Store::default();
    storming(&mut store, 2);
    storming(&mut store, 3);
    let found = evaluate(&TCP_RETRANSMISSION_STORM, &store, &RuleConfig::defaults(&TCP_RETRANSMISSION_STORM));
    assert_eq!(found.len(), 1, "{found:?}");
    let evidence = &found[0].evidence;
    assert!(
        evidence.iter().any(|e| e.value == "420 / 4500 (9.3 %)" && e.fact.contains("2 active connections")),
        "{evidence:?}"
    );
    assert!(
        evidence
            .iter()
            .any(|e| e.fact.starts_with("TcpRetransSegs / TcpOutSegs")
                && e.value.starts_with("+1140 / +101600")),
        "{evidence:?}"
    );
    assert!(
        evidence
            .iter()
            .any(|e| e.fact.contains("10.0.0.1:40000 → 10.0.0.2:443")
                && e.value.starts_with("total_retrans 300")),
        "{evidence:?}"
    );
    assert!(evidence.iter().any(|e| e.value == "server (pid 4242)"), "{evidence:?}");
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(found[0].fix.starts_with("mtr -rwc 50 10.0.0.2"), "{}", found[0].fix);
    // Stricter thresholds let it pass.
    let strict = override_of(&TCP_RETRANSMISSION_STORM, "percent", 10.0);
    assert!(evaluate(&TCP_RETRANSMISSION_STORM, &store, &strict).is_empty());
}

/// An active connection whose loss is old names its peer only while the host loses
/// as much now; one recovering a loss names it whatever the host does; an idle one never.
#[test]
fn tcp_retransmission_storm_wants_a_loss_now() {
    let config = RuleConfig::defaults(&TCP_RETRANSMISSION_STORM);
    let with = |host_retransmitted: i64, lost: u32, last_send_ms: u32| {
        let mut store = Store::default();
        let mut tcp = sent(1000, 100, last_send_ms);
        tcp.lost = lost;
        sockets(&mut store, 0, vec![established(1, "10.0.0.1:22", "10.0.0.6:50000", tcp)]);
        kernel_with(&mut store, 0, &[("TcpRetransSegs", 0), ("TcpOutSegs", 0)], &[], None);
        kernel_with(
            &mut store,
            1,
            &[("TcpRetransSegs", host_retransmitted), ("TcpOutSegs", 1000)],
            &[],
            None,
        );
        subjects(&(TCP_RETRANSMISSION_STORM.evaluate)(&store, &config))
    };
    let peer = Some(vec!["peer 10.0.0.6".to_owned()]);
    assert_eq!(with(1, 0, 0), Some(vec![]), "an old loss, the host losing 0.1 % now");
    assert_eq!(with(0, 0, 0), Some(vec![]), "an old loss, nothing lost now");
    assert_eq!(with(100, 0, 0), peer, "the host losing 10 % now");
    assert_eq!(with(0, 2, 0), peer, "the connection recovering a loss now");
    assert_eq!(with(100, 0, 60_000), Some(vec![]), "a connection idle for a minute says nothing of today");
}

#[test]
fn tcp_retransmission_storm_needs_two_readings_and_a_table() {
    let config = RuleConfig::defaults(&TCP_RETRANSMISSION_STORM);
    let mut store = Store::default();
    assert_eq!(subjects(&(TCP_RETRANSMISSION_STORM.evaluate)(&store, &config)), None);
    kernel_with(&mut store, 0, &[("TcpRetransSegs", 0), ("TcpOutSegs", 0)], &[], None);
    kernel_with(&mut store, 1, &[("TcpRetransSegs", 100), ("TcpOutSegs", 200)], &[], None);
    assert_eq!(subjects(&(TCP_RETRANSMISSION_STORM.evaluate)(&store, &config)), None, "no socket table");
    sockets(&mut store, 1, vec![]);
    assert_eq!(
        subjects(&(TCP_RETRANSMISSION_STORM.evaluate)(&store, &config)),
        Some(vec![]),
        "no peer to name"
    );
}

/// A sender whose peer's window is zero (probed), one whose window is zero with
/// nothing to send, and a healthy one.
fn windows(store: &mut Store, s: i64, stuck: bool) {
    let tcp = |window: u32| TcpInfo { snd_wnd: Some(window), ..TcpInfo::default() };
    let mut sender = established(1, "10.0.0.1:40000", "10.0.0.2:9000", tcp(if stuck { 0 } else { 65_535 }));
    sender.send_queue = if stuck { 2_500_000 } else { 0 };
    if stuck {
        sender.timer =
            Some(SocketTimer { kind: TimerKind::ZeroWindowProbe, expires_ms: 1600, retransmits: 4 });
    }
    let nothing_to_send = established(2, "10.0.0.1:40002", "10.0.0.3:9000", tcp(0));
    let healthy = established(3, "10.0.0.1:40004", "10.0.0.4:9000", tcp(65_535));
    sockets(store, s, vec![sender, nothing_to_send, healthy]);
}

#[test]
fn tcp_zero_window_opens_after_five_seconds_of_a_closed_window() {
    let stuck = |store: &mut Store, s: i64| windows(store, s, true);
    let reading = |store: &mut Store, s: i64| windows(store, s, false);
    let open = drive(
        "tcp_zero_window",
        &[
            (0, &stuck),
            (2, &reading),
            (3, &stuck),
            (7, &stuck),
            (8, &stuck),
            (9, &reading),
            (38, &reading),
            (39, &reading),
        ],
    );
    let subject = vec!["tcp 10.0.0.1:40000 → 10.0.0.2:9000".to_owned()];
    assert_eq!(
        open,
        [vec![], vec![], vec![], vec![], subject.clone(), subject.clone(), subject, vec![]],
        "a window that opened starts the debounce again; open after 5 s; held 30 s"
    );
    let mut store = Store::default();
    windows(&mut store, 0, true);
    let found = evaluate(&TCP_ZERO_WINDOW, &store, &RuleConfig::defaults(&TCP_ZERO_WINDOW));
    let evidence = &found[0].evidence;
    assert!(evidence.iter().any(|e| e.fact.contains("snd_wnd") && e.value == "0 bytes"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.fact.contains("Send-Q") && e.value == "2500000"), "{evidence:?}");
    assert!(
        evidence.iter().any(|e| e.value == "armed, next probe in 1600 ms, 4 probes unanswered"),
        "{evidence:?}"
    );
    assert!(found[0].title.contains("server (pid 4242)"), "{}", found[0].title);
    // Probing alone (a kernel without snd_wnd) is enough.
    let mut probing = socket(9, Protocol::Tcp, SocketState::Established, "10.0.0.1:1", "10.0.0.9:2");
    probing.timer = Some(SocketTimer { kind: TimerKind::ZeroWindowProbe, expires_ms: 200, retransmits: 1 });
    probing.tcp = Some(TcpInfo::default());
    sockets(&mut store, 1, vec![probing]);
    assert_eq!(
        subjects(&(TCP_ZERO_WINDOW.evaluate)(&store, &RuleConfig::defaults(&TCP_ZERO_WINDOW))),
        Some(vec!["tcp 10.0.0.1:1 → 10.0.0.9:2".to_owned()])
    );
    assert_eq!(
        subjects(&(TCP_ZERO_WINDOW.evaluate)(&Store::default(), &RuleConfig::defaults(&TCP_ZERO_WINDOW))),
        None
    );
}

/// Two connects to a silent destination, one to a destination whose SYN was never
/// retransmitted, and an established connection.
fn connecting(store: &mut Store, s: i64) {
    let syn = |cookie: u64, local: &str, remote: &str, retransmits: u8| {
        let mut socket = socket(cookie, Protocol::Tcp, SocketState::SynSent, local, remote);
        socket.timer = Some(SocketTimer { kind: TimerKind::Retransmit, expires_ms: 900, retransmits });
        socket.tcp = Some(TcpInfo { retransmits, ..TcpInfo::default() });
        socket
    };
    let tries = u8::try_from(s.min(3)).unwrap_or(0);
    sockets(
        store,
        s,
        vec![
            syn(1, "10.0.0.1:40000", "10.0.0.9:443", tries),
            syn(2, "10.0.0.1:40002", "10.0.0.9:443", tries),
            syn(3, "10.0.0.1:40004", "10.0.0.10:443", 0),
            established(4, "10.0.0.1:40006", "10.0.0.11:443", TcpInfo::default()),
        ],
    );
}

#[test]
fn syn_unanswered_names_the_destination_once_connects_are_three_seconds_old() {
    let gave_up = |store: &mut Store, s: i64| sockets(store, s, vec![]);
    let open = drive(
        "syn_unanswered",
        &[
            (0, &connecting),
            (1, &connecting),
            (2, &connecting),
            (3, &connecting),
            (4, &gave_up),
            (33, &gave_up),
            (34, &gave_up),
        ],
    );
    let subject = vec!["tcp 10.0.0.9:443".to_owned()];
    assert_eq!(open, [vec![], vec![], vec![], subject.clone(), subject.clone(), subject, vec![]]);
    let mut store = Store::default();
    connecting(&mut store, 0);
    connecting(&mut store, 3);
    let found = evaluate(&SYN_UNANSWERED, &store, &RuleConfig::defaults(&SYN_UNANSWERED));
    assert_eq!(found.len(), 1, "{found:?}");
    let evidence = &found[0].evidence;
    assert!(evidence.iter().any(|e| e.fact.contains("in syn_sent") && e.value == "2"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.value == "3.0 s, 3 retransmitted"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.fact == "processes" && e.value == "server (pid 4242)"), "{evidence:?}");
    assert!(found[0].fix.starts_with("nc -vz -w 3 10.0.0.9 443"), "{}", found[0].fix);
    // Those that gave up are named as evidence while the destination still has a stuck one.
    let mut one = socket(5, Protocol::Tcp, SocketState::SynSent, "10.0.0.1:40008", "10.0.0.9:443");
    one.timer = Some(SocketTimer { kind: TimerKind::Retransmit, expires_ms: 900, retransmits: 2 });
    sockets(&mut store, 4, vec![one.clone()]);
    sockets(&mut store, 8, vec![one]);
    let found = evaluate(&SYN_UNANSWERED, &store, &RuleConfig::defaults(&SYN_UNANSWERED));
    assert!(
        found[0].evidence.iter().any(|e| e.fact.starts_with("connects that gave up") && e.value == "2"),
        "{found:?}"
    );
    let later = override_of(&SYN_UNANSWERED, "seconds", 10.0);
    assert!(evaluate(&SYN_UNANSWERED, &store, &later).is_empty());
    assert_eq!(
        subjects(&(SYN_UNANSWERED.evaluate)(&Store::default(), &RuleConfig::defaults(&SYN_UNANSWERED))),
        None
    );
}

const SMALL_RANGE: PortRange = PortRange { low: 40000, high: 40099 };

/// `toward_one` client sockets in `time_wait` to 10.0.0.5:80 and 40 to 10.0.0.6:80 from
/// the 100-port range, and 200 server-side ones (local port 80, not ephemeral).
fn waiting(store: &mut Store, s: i64, toward_one: u16) {
    // Cookies follow the ports, so a socket keeps its identity from table to table.
    let wait = |cookie: u64, local: String, remote: String| {
        socket(cookie, Protocol::Tcp, SocketState::TimeWait, &local, &remote)
    };
    let mut all: Vec<Socket> = (0..toward_one)
        .map(|n| wait(u64::from(n), format!("10.0.0.1:{}", 40000 + n), "10.0.0.5:80".to_owned()))
        .collect();
    all.extend(
        (60..100_u16)
            .map(|n| wait(u64::from(n), format!("10.0.0.1:{}", 40000 + n), "10.0.0.6:80".to_owned())),
    );
    all.extend(
        (0..200_u16)
            .map(|n| wait(1000 + u64::from(n), "10.0.0.1:80".to_owned(), format!("10.0.0.7:{}", 50000 + n))),
    );
    let total = i64::from(toward_one) + 240;
    sockets(store, s, all);
    kernel_with(store, s, &[], &[("TCP.tw", total)], Some(SMALL_RANGE));
}

#[test]
fn time_wait_pileup_names_a_destination_holding_half_the_range() {
    let piled = |store: &mut Store, s: i64| waiting(store, s, 60);
    let drained = |store: &mut Store, s: i64| waiting(store, s, 10);
    let open =
        drive("time_wait_pileup", &[(0, &piled), (1, &piled), (2, &piled), (3, &drained), (33, &drained)]);
    let subject = vec!["tcp 10.0.0.5:80".to_owned()];
    assert_eq!(open, [vec![], vec![], subject.clone(), subject, vec![]], "debounced 2 s, held 30 s");
    let mut store = Store::default();
    waiting(&mut store, 0, 60);
    let found = evaluate(&TIME_WAIT_PILEUP, &store, &RuleConfig::defaults(&TIME_WAIT_PILEUP));
    assert_eq!(found.len(), 1, "{found:?}");
    let evidence = &found[0].evidence;
    assert!(
        evidence.iter().any(|e| e.fact.contains("10.0.0.5:80 in time_wait") && e.value == "60"),
        "{evidence:?}"
    );
    assert!(evidence.iter().any(|e| e.value == "40000 40099 (100 ports)"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.fact.contains("TCP.tw") && e.value == "300"), "{evidence:?}");
    // The host-wide count, with its threshold lowered: worth knowing, nothing fails.
    let lower = override_of(&TIME_WAIT_PILEUP, "count", 300.0);
    let found = evaluate(&TIME_WAIT_PILEUP, &store, &lower);
    assert_eq!(
        found.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>(),
        ["time_wait", "tcp 10.0.0.5:80"]
    );
    assert_eq!(found[0].severity, Severity::Info);
    assert!(found[0].evidence.iter().any(|e| e.value == "10.0.0.5:80 (60)"), "{found:?}");
    // Sockstat alone (no socket table) still answers for the host.
    let mut counters_only = Store::default();
    kernel_with(&mut counters_only, 0, &[], &[("TCP.tw", 20_000)], None);
    assert_eq!(
        subjects(&(TIME_WAIT_PILEUP.evaluate)(&counters_only, &RuleConfig::defaults(&TIME_WAIT_PILEUP))),
        Some(vec!["time_wait".to_owned()])
    );
    assert_eq!(
        subjects(&(TIME_WAIT_PILEUP.evaluate)(&Store::default(), &RuleConfig::defaults(&TIME_WAIT_PILEUP))),
        None
    );
}

/// `count` connections to 10.0.0.7:5432 from the 10-port range (the last two in
/// `time_wait`), two to another destination, and a listener.
fn pooled(store: &mut Store, s: i64, count: u16) {
    let mut all: Vec<Socket> = (0..count)
        .map(|n| {
            let state = if n >= 6 { SocketState::TimeWait } else { SocketState::Established };
            socket(
                u64::from(n) + 1,
                Protocol::Tcp,
                state,
                &format!("10.0.0.1:{}", 40000 + n),
                "10.0.0.7:5432",
            )
        })
        .collect();
    all.push(socket(100, Protocol::Tcp, SocketState::Established, "10.0.0.1:40008", "10.0.0.8:80"));
    all.push(socket(101, Protocol::Tcp, SocketState::Established, "10.0.0.1:40009", "10.0.0.8:80"));
    all.push(socket(102, Protocol::Tcp, SocketState::Listen, "0.0.0.0:40005", "0.0.0.0:0"));
    sockets(store, s, all);
    kernel_with(store, s, &[], &[], Some(PortRange { low: 40000, high: 40009 }));
}

#[test]
fn ephemeral_ports_exhausted_names_the_destination_at_80_percent() {
    let eight = |store: &mut Store, s: i64| pooled(store, s, 8);
    let five = |store: &mut Store, s: i64| pooled(store, s, 5);
    let open = drive("ephemeral_ports_exhausted", &[(0, &eight), (1, &eight), (2, &five), (32, &five)]);
    let subject = vec!["tcp 10.0.0.7:5432".to_owned()];
    assert_eq!(open, [vec![], subject.clone(), subject, vec![]], "debounced 1 s, held 30 s");
    let mut store = Store::default();
    pooled(&mut store, 0, 8);
    let config = RuleConfig::defaults(&EPHEMERAL_PORTS_EXHAUSTED);
    let found = evaluate(&EPHEMERAL_PORTS_EXHAUSTED, &store, &config);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, Severity::Warning);
    let evidence = &found[0].evidence;
    assert!(evidence.iter().any(|e| e.value == "8 of 10"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.value == "established 6, time_wait 2"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.value == "40000 40009 (10 ports)"), "{evidence:?}");
    assert!(found[0].fix.contains("ip_local_port_range") && found[0].fix.contains("tcp_tw_reuse"));
    // Every port taken: connects fail now.
    pooled(&mut store, 1, 10);
    assert_eq!(evaluate(&EPHEMERAL_PORTS_EXHAUSTED, &store, &config)[0].severity, Severity::Critical);
    // Without the port range, or before a socket table, it is not applicable.
    let mut counters_only = Store::default();
    kernel_with(&mut counters_only, 0, &[], &[], Some(SMALL_RANGE));
    assert_eq!(subjects(&(EPHEMERAL_PORTS_EXHAUSTED.evaluate)(&counters_only, &config)), None);
    let mut no_range = Store::default();
    sockets(&mut no_range, 0, vec![]);
    kernel_with(&mut no_range, 0, &[], &[], None);
    assert_eq!(subjects(&(EPHEMERAL_PORTS_EXHAUSTED.evaluate)(&no_range, &config)), None);
    assert!(rule("ephemeral_ports_exhausted").is_some_and(|rule| rule.family == "exhaustion"));
}

/// A process trying twelve peers at once, none answering (a peer-to-peer client): one
/// info finding for the process, not twelve warnings.
#[test]
fn syn_unanswered_folds_a_process_trying_many_peers() {
    let peers = |store: &mut Store, s: i64| {
        let tries = u8::try_from(s.min(3)).unwrap_or(0);
        let connects = (0..12_u16)
            .map(|i| {
                let mut socket = socket(
                    u64::from(i) + 1,
                    Protocol::Tcp,
                    SocketState::SynSent,
                    &format!("10.0.0.1:{}", 41_000 + i),
                    &format!("198.51.100.{}:6881", i + 1),
                );
                socket.timer =
                    Some(SocketTimer { kind: TimerKind::Retransmit, expires_ms: 900, retransmits: tries });
                socket
            })
            .collect();
        sockets(store, s, connects);
    };
    let open = drive("syn_unanswered", &[(0, &peers), (3, &peers)]);
    assert_eq!(open, [vec![], vec!["tcp connects of pid 4242".to_owned()]]);
    let mut store = Store::default();
    peers(&mut store, 0);
    peers(&mut store, 3);
    let found = evaluate(&SYN_UNANSWERED, &store, &RuleConfig::defaults(&SYN_UNANSWERED));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, Severity::Info);
    assert!(found[0].title.contains("12 destinations"), "{}", found[0].title);
}
