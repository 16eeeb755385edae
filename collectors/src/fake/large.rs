//! Large stores for benchmarks, built from the scripted session's parts.

use super::network::{addr, iface, v4};
use super::{NOW, SAMPLES, connections, counters, dns, event, events, network, paths};
use crate::clock::Stamp;
use crate::event::{Notice, Payload};
use crate::model::{
    AddressFlags, AddressScope, Interface, InterfaceKind, NetworkTable, SourceId, TimelineKind,
};
use crate::store::{Store, StoreLimits};

/// The scripted store with `queries` more passively captured DNS exchanges (the log
/// keeps the newest 2,000), for benchmarks.
#[must_use]
pub fn large_dns_store(queries: usize) -> Store {
    let mut store = super::store();
    store.apply(event(NOW, SourceId::DnsCapture, Payload::DnsQueries(dns::many(queries))));
    store
}

/// A large store for benchmarks: `interfaces` veth interfaces with counters and a
/// full history, and `timeline` notices.
#[must_use]
pub fn large_store(interfaces: u32, timeline: usize) -> Store {
    let limits = StoreLimits { timeline_capacity: timeline.max(1), ..StoreLimits::default() };
    let mut store = Store::new(limits);
    let start = NOW - time::Duration::seconds(i64::from(SAMPLES));
    let links: Vec<Interface> = (1..=interfaces)
        .map(|index| {
            let mut link =
                iface(index, &format!("veth{index:04}"), InterfaceKind::Veth, Some("6e:1d:4b:90:aa:03"));
            link.addresses = vec![addr(
                v4(10, (index >> 8) as u8, index as u8, 1),
                24,
                AddressScope::Global,
                AddressFlags::PERMANENT,
            )];
            link
        })
        .collect();
    store.apply(event(
        start,
        SourceId::Interfaces,
        Payload::Network(NetworkTable { interfaces: links, ..network() }),
    ));
    for n in 1..=SAMPLES {
        let samples = (1..=interfaces).map(|index| (index, counters(index % 7, n))).collect();
        let at = start + time::Duration::seconds(i64::from(n));
        store.apply(event(at, SourceId::Interfaces, Payload::Counters(samples)));
    }
    let notices = (0..timeline)
        .map(|i| {
            let index = i as u32 % interfaces.max(1) + 1;
            Notice::new(
                TimelineKind::AddressAdded,
                format!("veth{index:04}"),
                format!("10.0.{}.{}/24 added to veth{index:04}", i / 256 % 256, i % 256),
            )
        })
        .collect();
    store.apply(event(NOW, SourceId::Interfaces, Payload::Notices(notices)));
    store
}

/// A store with `sockets` established loopback connections (two dumps, so rates
/// exist), on top of [`large_store`]'s interfaces and timeline.
#[must_use]
pub fn large_connection_store(sockets: u32) -> Store {
    let mut store = large_store(200, 10_000);
    for n in 1..=2 {
        let at = NOW - time::Duration::seconds(i64::from(3 - n));
        store.apply(event(at, SourceId::Connections, Payload::Sockets(connections::large_table(sockets, n))));
    }
    store
}

/// The `n`th refresh of the socket table [`large_connection_store`] folds (it folds
/// the first two): for benchmarks of the fold at steady state.
#[must_use]
pub fn large_socket_table(sockets: u32, n: u32) -> crate::model::SocketTable {
    connections::large_table(sockets, n)
}

/// [`large_socket_table`] as the socket watch delivers it at steady state: a
/// thirtieth of the sockets read again (with their owners), the rest unchanged.
#[must_use]
pub fn watched_socket_table(sockets: u32, n: u32) -> crate::model::SocketTable {
    let mut table = connections::large_table(sockets, n);
    let (read, unchanged): (Vec<_>, Vec<_>) =
        table.sockets.into_iter().partition(|socket| socket.cookie % 30 == u64::from(n % 30));
    let inodes: std::collections::HashSet<u64> = read.iter().map(|socket| socket.inode).collect();
    table.owners.retain(|(inode, _)| inodes.contains(inode));
    table.unchanged = unchanged.into_iter().map(|socket| socket.cookie).collect();
    table.sockets = read;
    table
}

/// The scripted store with `targets` more probed user targets (plus the two default
/// paths) in its paths section, for benchmarks.
#[must_use]
pub fn large_path_store(targets: u32) -> Store {
    let mut store = super::store();
    store.apply(event(NOW, SourceId::Paths, Payload::Paths(paths::many(targets))));
    store
}

/// A daemon's store for the metrics benchmark: [`large_store`]'s `interfaces` with the
/// scripted session's other sources (paths, DNS servers, sockets, kernel counters,
/// findings) folded on top, and `targets` more probed paths.
#[must_use]
pub fn large_metrics_store(interfaces: u32, targets: u32) -> Store {
    let mut store = large_store(interfaces, 1_000);
    for event in events().into_iter().filter(|event| event.source != SourceId::Interfaces) {
        let stamp = Stamp { wall: event.at, mono: event.mono };
        store.apply(event);
        store.evaluate_findings(stamp);
    }
    store.apply(event(NOW, SourceId::Paths, Payload::Paths(paths::many(targets))));
    store
}
