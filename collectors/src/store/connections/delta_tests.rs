//! Tables from the socket watch: sockets listed as unchanged keep what the store
//! knows, with their clocks advanced; the owners of the sockets not read again stay.

use super::tests::{s, table, tcp, v4};
use super::*;
use crate::model::{ProcessInfo, SocketTimer, TimerKind};

#[test]
fn unchanged_sockets_keep_their_facts_and_owner_and_advance_their_clocks() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    let mut first = tcp(1, server, SocketState::Established, 1000, 500);
    if let Some(info) = &mut first.tcp {
        info.last_send_ms = 100;
        info.last_recv_ms = 200;
        info.last_ack_recv_ms = 300;
    }
    first.timer = Some(SocketTimer { kind: TimerKind::Keepalive, expires_ms: 5000, retransmits: 0 });
    c.apply_table(s(0), table(vec![first, tcp(2, server, SocketState::Established, 10, 10)]));

    // Socket 1 did not change: only socket 2 is read again, by another process.
    let mut delta = table(vec![tcp(2, server, SocketState::Established, 20, 10)]);
    delta.unchanged = vec![1];
    delta.owners = vec![(102, 77)];
    delta.processes = vec![ProcessInfo {
        pid: 77,
        name: "wget".into(),
        cmdline: "wget".into(),
        user: "dev".into(),
        start_time: 2,
        open_files: None,
        open_files_limit: None,
    }];
    c.apply_table(s(1500), delta);

    let one = c.get(1).unwrap_or_else(|| panic!("socket 1 is still open"));
    assert_eq!(one.closed_at, None, "listed as unchanged is listed");
    assert_eq!(one.pid, Some(4242), "its owner stays");
    assert_eq!(c.process(4242).map(|p| p.name.as_str()), Some("curl"), "and so does its process");
    let now = one.socket_at(s(1500).mono);
    let info = now.tcp.unwrap_or_else(|| panic!("tcp info"));
    assert_eq!((info.last_send_ms, info.last_recv_ms, info.last_ack_recv_ms), (1600, 1700, 1800));
    assert_eq!(now.timer.map(|timer| timer.expires_ms), Some(3500));
    assert_eq!(one.rates.map(|r| r.rx_bytes_per_s), Some(0.0), "no bytes moved");
    assert_eq!(one.samples(c.tables()).len(), 2, "its sparkline goes on");
    assert_eq!(c.get(2).and_then(|e| e.pid), Some(77));

    // Quiet for two more tables: not written to, yet its sparkline and clocks go on.
    for at in [2500, 3500] {
        let mut quiet = table(Vec::new());
        quiet.unchanged = vec![1, 2];
        c.apply_table(s(at), quiet);
    }
    let one = c.get(1).unwrap_or_else(|| panic!("socket 1 is still open"));
    assert_eq!(one.history.len(), 2, "no sample pushed while quiet");
    assert_eq!(one.samples(c.tables()).len(), 4, "one per table all the same");
    let info = one.socket_at(s(3500).mono).tcp.unwrap_or_else(|| panic!("tcp info"));
    assert_eq!(info.last_send_ms, 3600);
    // Read again with 1,000 bytes more: the rate is over the last second, not the
    // two and a half it was quiet.
    let mut moved = tcp(1, server, SocketState::Established, 2000, 500);
    moved.inode = 101;
    let mut busy = table(vec![moved]);
    busy.unchanged = vec![2];
    c.apply_table(s(4500), busy);
    let one = c.get(1).unwrap_or_else(|| panic!("socket 1 is still open"));
    assert_eq!(one.rates.map(|r| r.rx_bytes_per_s), Some(1000.0));
    let samples = one.samples(c.tables());
    assert_eq!(samples.len(), 5);
    assert_eq!(samples.iter().map(|s| s.rx_bytes_per_s).collect::<Vec<_>>(), [0.0, 0.0, 0.0, 0.0, 1000.0]);

    // Neither read nor listed: closed.
    let mut gone = table(Vec::new());
    gone.unchanged = vec![2];
    c.apply_table(s(5500), gone);
    assert!(c.get(1).is_some_and(|e| e.closed_at.is_some()), "socket 1 is gone");
    assert!(c.get(2).is_some_and(|e| e.closed_at.is_none()), "socket 2 stays");
}

/// A storm of destroy batches: the counts stay exact batch by batch (kept up to date,
/// not recounted), and burst labels come at most every `RELABEL_EVERY`, but come.
#[test]
fn destroy_batches_keep_exact_counts_and_label_bursts_soon() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    c.apply_table(s(0), table(vec![tcp(1, server, SocketState::Established, 0, 0)]));
    let mut notices = Vec::new();
    for batch in 0..10u64 {
        let at = s(1000 + 10 * batch as i64);
        let closed = vec![
            tcp(100 + 2 * batch, server, SocketState::Close, 0, 0),
            tcp(101 + 2 * batch, server, SocketState::Close, 0, 0),
        ];
        notices.extend(c.apply_closed(at, closed));
        let mut recounted = ConnectionCounts::default();
        for entry in c.iter() {
            recounted.add(entry);
        }
        assert_eq!(c.counts(), recounted, "after batch {batch}");
    }
    assert_eq!(c.counts().closed, 20);
    assert_eq!(c.counts().established, 1);
    // The first batch labels (two short connections: no burst yet); the later ones
    // within a second do not, and the one after the interval does.
    assert!(notices.is_empty(), "{notices:?}");
    let later = c.apply_closed(s(2000), vec![tcp(200, server, SocketState::Close, 0, 0)]);
    assert_eq!(later.len(), 1, "the burst is announced once labelling is due: {later:?}");
    assert!(c.get(100).is_some_and(|e| e.label.is_some()), "and its connections are labelled");
}

/// Quiet connections carried over are counted from their summary, unread; the counts
/// stay exact, and a warning that comes from outside them (their process nearing its
/// open-file limit) still reaches them.
#[test]
fn quiet_connections_carried_over_stay_counted_and_still_warned() {
    let mut c = Connections::default();
    let server = v4(2, 443);
    let sockets = vec![
        tcp(1, server, SocketState::Established, 10, 10),
        tcp(2, server, SocketState::Established, 10, 10),
        tcp(3, server, SocketState::TimeWait, 0, 0),
    ];
    c.apply_table(s(0), table(sockets));
    let carried = || {
        let mut quiet = table(Vec::new());
        quiet.processes.clear();
        quiet.unchanged = vec![1, 2, 3];
        quiet
    };
    let recount = |c: &Connections| {
        let mut counts = ConnectionCounts::default();
        c.iter().for_each(|entry| counts.add(entry));
        counts
    };
    for at in [1000, 2000, 3000] {
        assert!(c.apply_table(s(at), carried()).is_empty());
        assert_eq!(c.counts(), recount(&c), "at {at} ms");
    }
    assert_eq!((c.counts().established, c.counts().time_wait, c.counts().warned), (2, 1, 0));
    assert_eq!(c.quiet.len(), 3, "all three are quiet now");
    // curl nears its open-file limit: both its open connections are warned.
    let mut pressed = carried();
    pressed.processes = table(Vec::new()).processes;
    pressed.processes[0].open_files = Some(1000);
    let notices = c.apply_table(s(4000), pressed);
    assert_eq!(notices.len(), 3, "{notices:?}");
    assert!(c.get(1).is_some_and(|e| e.warnings.contains(ConnectionWarnings::NEAR_FD_LIMIT)));
    assert_eq!(c.counts(), recount(&c));
    assert_eq!(c.counts().warned, 3);
    // Socket 2 is read again with bytes moved: no longer quiet, counted as read.
    let mut busy = table(vec![tcp(2, server, SocketState::Established, 500, 10)]);
    busy.processes[0].open_files = Some(1000);
    busy.unchanged = vec![1, 3];
    c.apply_table(s(5000), busy);
    assert!(!c.quiet.contains_key(&2), "read with traffic: not quiet");
    assert_eq!(c.counts(), recount(&c));
}
