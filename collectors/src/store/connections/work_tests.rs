//! A table folded a slice at a time, with closes and owners folded between slices,
//! ends as if the table had been folded whole and then the closes and owners; and
//! the owners are there at once.

use super::tests::{s, table, tcp, v4};
use super::*;
use crate::model::{Attribution, ProcessInfo, SocketOrigin, SocketState};

/// The first table: 500 established connections with traffic.
fn first() -> SocketTable {
    table((1..=500).map(|n| tcp(n, v4(2, 443), SocketState::Established, n * 10, n)).collect())
}

/// A second: 100 of them gone (450..=500 closed by the kernel, 401..=449 by the
/// dump missing them), 400 moved on, 300 new.
fn second() -> SocketTable {
    let kept = (1..=400).map(|n| tcp(n, v4(2, 443), SocketState::Established, n * 30, n * 3));
    let new = (1000..1300).map(|n| tcp(n, v4(3, 80), SocketState::SynSent, 0, 0));
    table(kept.chain(new).collect())
}

/// Destroy events for connections the second table does not list: 450..=500, and
/// 2000..2010, which lived between the two.
fn closes() -> Vec<Socket> {
    (450..=500).chain(2000..2010).map(|n| tcp(n, v4(4, 8080), SocketState::Close, 7, 7)).collect()
}

/// The BPF book's owners of 2000..2010.
fn owners() -> ClosedOwners {
    let origin = SocketOrigin { attribution: Attribution::Bpf, cgroup: Some("/app.slice".into()) };
    ClosedOwners {
        owners: (2000..2010).map(|n| (n, 777, origin.clone())).collect(),
        processes: vec![ProcessInfo {
            pid: 777,
            name: "storm".into(),
            cmdline: "storm".into(),
            user: "dev".into(),
            start_time: 2,
            open_files: Some(3),
            open_files_limit: Some(1024),
        }],
    }
}

#[test]
fn closes_and_owners_between_slices_end_as_if_folded_after_the_table() {
    let mut whole = Connections::default();
    whole.apply_table(s(0), first());
    let mut notices = whole.apply_table(s(1000), second());
    // The burst labels the closes make due are worked out once the owners are in.
    whole.fold_closed(s(1000), closes());
    whole.fold_owners(s(1000), owners());
    notices.extend(whole.finish());
    assert_eq!(whole.get(2005).and_then(|entry| entry.pid), Some(777));
    assert!(
        notices.iter().any(|notice| notice.kind == crate::model::TimelineKind::ConnectionBurst),
        "the short connections make a burst: {notices:?}"
    );

    // Interleaved after every number of slices the fold takes, in every stage.
    let mut cuts = 0;
    for after in 0.. {
        let mut sliced = Connections::default();
        sliced.apply_table(s(0), first());
        let mut got = sliced.begin_table(s(1000), second());
        let mut taken = 0;
        while taken < after && sliced.pending() {
            got.extend(sliced.work(&mut || true).into_iter().map(|(_, notice)| notice));
            taken += 1;
        }
        let was_pending = sliced.pending();
        sliced.fold_closed(s(1000), closes());
        sliced.fold_owners(s(1000), owners());
        // In the store at once, before the table is done.
        assert_eq!(sliced.get(2005).and_then(|entry| entry.pid), Some(777), "after {after} slices");
        while sliced.pending() {
            got.extend(sliced.work(&mut || true).into_iter().map(|(_, notice)| notice));
            cuts += 1;
        }
        assert!(sliced == whole, "closes and owners after {after} slices: {}", differences(&sliced, &whole));
        assert_eq!(got, notices, "notices, closes and owners after {after} slices");
        if !was_pending {
            break;
        }
    }
    // 1,300 sockets and connections in stretches of 64: the fold was cut many times.
    assert!(cuts > 20, "{cuts} slices");
}

#[test]
fn a_slice_always_gets_somewhere() {
    let mut c = Connections::default();
    c.apply_table(s(0), first());
    c.begin_table(s(1000), second());
    let mut calls = 0;
    while c.pending() {
        c.work(&mut || true);
        calls += 1;
        assert!(calls < 10_000, "no progress");
    }
    assert_eq!(c.counts().established, 400);
    assert_eq!(c.counts().connecting, 300);
    assert_eq!(c.counts().closed, 100);
}

#[test]
fn the_longest_closed_retire_first_past_the_cap() {
    let mut c = Connections::default();
    c.apply_table(s(0), table(vec![]));
    // Closed in two waves, the older wave larger than what the cap leaves room for.
    let old: Vec<Socket> =
        (1..=MAX_CLOSED as u64).map(|n| tcp(n, v4(2, 80), SocketState::Close, 0, 0)).collect();
    c.apply_closed(s(100), old);
    let new: Vec<Socket> =
        (1_000_000..1_000_100).map(|n| tcp(n, v4(2, 80), SocketState::Close, 0, 0)).collect();
    c.apply_closed(s(200), new);
    c.apply_table(s(1000), table(vec![]));
    assert_eq!(c.counts().closed, MAX_CLOSED);
    assert_eq!(c.len(), MAX_CLOSED);
    assert!(c.get(1_000_050).is_some(), "the newest stay");
    assert!(c.get(100).is_none(), "the oldest go");
    // Its `time_wait` remnant in a table opens a connection again: it leaves the order.
    c.apply_table(s(2000), table(vec![tcp(1_000_001, v4(2, 80), SocketState::TimeWait, 1, 1)]));
    assert_eq!(c.counts().closed, MAX_CLOSED - 1);
}

/// A section that has seen one table of `n` established connections (cookies 1..=n).
fn established(n: u64) -> Connections {
    let mut c = Connections::default();
    let sockets = (1..=n).map(|n| tcp(n, v4(2, 443), SocketState::Established, 10, 10)).collect();
    c.apply_table(s(0), table(sockets));
    c
}

/// A table from the socket watch that reads nothing and carries `cookies` over.
fn carrying(cookies: std::ops::RangeInclusive<u64>) -> SocketTable {
    let mut quiet = table(Vec::new());
    quiet.processes.clear();
    quiet.unchanged = cookies.collect();
    quiet
}

/// What differs between two sections, briefly.
fn differences(a: &Connections, b: &Connections) -> String {
    let mut out = Vec::new();
    for (cookie, entry) in &a.entries {
        match b.entries.get(cookie) {
            Some(other) if other == entry => {}
            Some(other) => out.push(format!("{cookie}: {entry:?}\n  vs {other:?}")),
            None => out.push(format!("{cookie} only in the first")),
        }
    }
    out.extend(
        b.entries.keys().filter(|c| !a.entries.contains_key(c)).map(|c| format!("{c} only in the second")),
    );
    let fields = [
        ("quiet", a.quiet == b.quiet),
        ("processes", a.processes == b.processes),
        ("counts", a.counts == b.counts),
        ("bursts", a.bursts_noticed == b.bursts_noticed && a.bursts_labelled == b.bursts_labelled),
        ("closing", a.closing == b.closing),
        ("dumps", a.dumps == b.dumps && a.last_table == b.last_table),
    ];
    out.extend(fields.iter().filter(|(_, same)| !same).map(|(name, _)| format!("{name} differs")));
    out.truncate(6);
    out.join("\n")
}

/// A table carrying quiet connections over marks them as it begins; an owner or a
/// close folded between its slices drops a summary, and the table must still know
/// it carried that connection (else it would close it as gone).
#[test]
fn carried_connections_touched_between_slices_stay_carried() {
    let mut c = established(300);
    let carried = || carrying(1..=300);
    for at in [1000, 2000] {
        c.apply_table(s(at), carried());
    }
    assert_eq!(c.quiet.len(), 300, "all quiet");
    c.begin_table(s(3000), carried());
    // Part of the way through the marks (300 in stretches of 64, the last first).
    for _ in 0..3 {
        c.work(&mut || true);
    }
    assert!(c.pending());
    let mut lone = owners();
    lone.owners = vec![(250, 777, lone.owners[0].2.clone()), (7, 777, lone.owners[0].2.clone())];
    c.fold_owners(s(3000), lone);
    c.fold_closed(s(3000), vec![tcp(251, v4(2, 443), SocketState::Close, 10, 10)]);
    while c.pending() {
        c.work(&mut || true);
    }
    for cookie in [250, 7] {
        assert!(
            c.get(cookie).is_some_and(|entry| entry.closed_at.is_none()),
            "an owner's change is no close"
        );
    }
    assert!(c.get(251).is_some_and(|entry| entry.closed_at.is_some() && entry.closed_by_kernel));
    assert_eq!((c.counts().established, c.counts().closed), (299, 1));
}

/// A table that accounts for every open connection visits only what it read; one
/// that leaves a quiet connection out (gone between two tables) closes it.
#[test]
fn a_quiet_connection_left_out_of_a_table_is_closed() {
    let mut c = established(300);
    for at in [1000, 2000, 3000] {
        c.apply_table(s(at), carrying(1..=300));
    }
    assert_eq!(c.counts().established, 300);
    c.apply_table(s(4000), carrying(2..=300));
    assert!(c.get(1).is_some_and(|entry| entry.closed_at.is_some()), "gone between two tables");
    assert_eq!((c.counts().established, c.counts().closed), (299, 1));
    // Read again, with traffic, the rest carried over: sampled, nothing closed.
    let mut busy = table(vec![tcp(2, v4(2, 443), SocketState::Established, 900, 10)]);
    busy.unchanged = (3..=300).collect();
    c.apply_table(s(5000), busy);
    assert!(c.get(2).is_some_and(|entry| entry.rates.is_some_and(|rates| rates.rx_bytes_per_s > 0.0)));
    assert_eq!((c.counts().established, c.counts().closed), (299, 1));
}
