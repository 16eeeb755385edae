use super::*;
use crate::event::{Event, Payload};
use crate::model::Timestamp;
use crate::store::Store;

fn t(secs: i64) -> Timestamp {
    time::macros::datetime!(2026-01-01 00:00:00 UTC) + time::Duration::seconds(secs)
}

fn at(secs: i64, source: SourceId, notices: Vec<Notice>) -> Event {
    Event::stamped(t(secs), Mono::ZERO + time::Duration::seconds(secs), source, Payload::Notices(notices))
}

fn churn(address: &str, detail: &str) -> Notice {
    Notice::new(TimelineKind::NeighborChanged, "veth0", format!("neighbour {address} on veth0 {detail}"))
        .folded(format!("veth0 {address}"), time::Duration::minutes(1), FoldFrom::First)
}

fn lines(store: &Store) -> Vec<(String, u32)> {
    store.timeline().iter().map(|entry| (entry.detail.clone(), entry.count)).collect()
}

#[test]
fn neighbour_churn_is_one_line_per_neighbour_per_minute_and_failures_stand_alone() {
    let mut store = Store::default();
    let failed =
        Notice::new(TimelineKind::NeighborChanged, "veth0", "neighbour 10.0.0.2 on veth0 probe → failed");
    #[rustfmt::skip]
    let script = vec![
        (0, churn("10.0.0.2", "reachable")),
        (5, churn("10.0.0.3", "reachable")),
        (20, churn("10.0.0.2", "reachable → stale")),
        (25, Notice::new(TimelineKind::LinkChanged, "veth0", "veth0 mtu 1500 → 1400")),
        (30, churn("10.0.0.2", "stale → delay")),
        (35, churn("10.0.0.2", "delay → probe")),
        (40, failed),
        (45, churn("10.0.0.2", "probe → reachable")),
        // A minute after the line's first event: a new line.
        (61, churn("10.0.0.2", "reachable → stale")),
        (70, churn("10.0.0.2", "stale → delay")),
    ];
    for (secs, notice) in script {
        store.apply(at(secs, SourceId::Interfaces, vec![notice]));
    }
    assert_eq!(
        lines(&store),
        [
            ("neighbour 10.0.0.2 on veth0 probe → reachable".to_owned(), 5),
            ("neighbour 10.0.0.3 on veth0 reachable".to_owned(), 1),
            ("veth0 mtu 1500 → 1400".to_owned(), 1),
            ("neighbour 10.0.0.2 on veth0 probe → failed".to_owned(), 1),
            ("neighbour 10.0.0.2 on veth0 stale → delay".to_owned(), 2),
        ]
    );
    let first = store.timeline().iter().next().cloned().unwrap_or_else(|| panic!("empty"));
    assert_eq!((first.at, first.last_at), (t(0), Some(t(45))), "first and newest event of the line");
    assert_eq!(store.timeline().total(), 10);
    assert_eq!(store.timeline().folded(), 5);
    assert_eq!(store.timeline().coalesced_bursts(), 2);
}

fn burst(count: u32) -> Notice {
    Notice::new(
        TimelineKind::ConnectionBurst,
        "10.0.0.9",
        format!("curl (42) opened and closed {count} connections to 10.0.0.9 within a second"),
    )
    .folded("42 10.0.0.9", time::Duration::seconds(30), FoldFrom::Latest)
}

#[test]
fn a_repeated_burst_is_one_line_and_the_header_counts_it() {
    let mut store = Store::default();
    for (i, secs) in [0, 10, 20, 30, 40].into_iter().enumerate() {
        store.apply(at(secs, SourceId::Connections, vec![burst(5 + i as u32)]));
        store.apply(at(
            secs + 1,
            SourceId::Interfaces,
            vec![Notice::new(TimelineKind::Notice, "x", format!("between {secs}"))],
        ));
    }
    // Quiet for longer than the window: the next burst is a new line.
    store.apply(at(200, SourceId::Connections, vec![burst(3)]));
    let timeline = store.timeline();
    let bursts: Vec<(String, u32)> = timeline
        .iter()
        .filter(|entry| entry.kind == TimelineKind::ConnectionBurst)
        .map(|entry| (entry.detail.clone(), entry.count))
        .collect();
    assert_eq!(
        bursts,
        [
            ("curl (42) opened and closed 9 connections to 10.0.0.9 within a second".to_owned(), 5),
            ("curl (42) opened and closed 3 connections to 10.0.0.9 within a second".to_owned(), 1),
        ]
    );
    assert_eq!(timeline.connection_bursts_folded(), 4);
    assert_eq!(timeline.coalesced_bursts(), 1, "one line holds a coalesced burst");
}

#[test]
fn a_line_dropped_from_the_timeline_takes_no_more_folds() {
    let limits = StoreLimits { timeline_capacity: 3, ..StoreLimits::default() };
    let mut store = Store::new(limits);
    store.apply(at(0, SourceId::Interfaces, vec![churn("10.0.0.2", "reachable")]));
    for secs in 1..=3 {
        store.apply(at(
            secs,
            SourceId::Interfaces,
            vec![Notice::new(TimelineKind::Notice, "x", format!("n{secs}"))],
        ));
    }
    store.apply(at(4, SourceId::Interfaces, vec![churn("10.0.0.2", "reachable → stale")]));
    assert_eq!(
        lines(&store),
        [
            ("n2".to_owned(), 1),
            ("n3".to_owned(), 1),
            ("neighbour 10.0.0.2 on veth0 reachable → stale".to_owned(), 1)
        ]
    );
}
