use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::*;
use crate::fake;
use crate::snapshot::{InterfaceRatesDoc, SnapshotCapture};

/// The snapshot as the export takes it.
fn snapshot_of(store: &Store, at: Timestamp) -> Snapshot {
    SnapshotCapture::take(store, at).into_snapshot()
}

/// `snapshot` replayed into a store, and that store's snapshot.
fn round_trip(snapshot: &Snapshot) -> Snapshot {
    snapshot_of(&store(snapshot), snapshot.taken_at)
}

/// Rates come back from whole bytes grown over [`RATE_SPAN`]: within half a unit.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.5 + 1e-9 * a.abs().max(b.abs())
}

fn near_option(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => near(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

fn rates_near(a: Option<InterfaceRatesDoc>, b: Option<InterfaceRatesDoc>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            near(a.rx_bytes_per_s, b.rx_bytes_per_s)
                && near(a.tx_bytes_per_s, b.tx_bytes_per_s)
                && near(a.rx_packets_per_s, b.rx_packets_per_s)
                && near(a.tx_packets_per_s, b.tx_packets_per_s)
        }
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// The sections that come back as they were, field for field.
fn assert_exact_sections(original: &Snapshot, back: &Snapshot) {
    assert_eq!(back.host, original.host);
    assert_eq!(back.system, original.system);
    assert_eq!(back.sources, original.sources);
    assert_eq!(back.routes, original.routes);
    assert_eq!(back.rules, original.rules);
    assert_eq!(back.neighbors, original.neighbors);
    assert_eq!(back.paths, original.paths);
    assert_eq!(back.capture, original.capture);
    assert_eq!(back.events, original.events, "the timeline");
    let (dns, was) = (&back.dns, &original.dns);
    assert_eq!(dns.config, was.config);
    assert_eq!(dns.warnings, was.warnings);
    assert_eq!(dns.traces, was.traces);
    assert_eq!(dns.queries, was.queries);
    assert_eq!(dns.capture, was.capture);
    assert_eq!(dns.dns64, was.dns64);
    assert_eq!(back.interfaces.len(), original.interfaces.len());
    for (interface, was) in back.interfaces.iter().zip(&original.interfaces) {
        assert_eq!(interface.interface, was.interface, "{}", was.interface.name);
        assert_eq!(interface.first_seen, was.first_seen, "{}", was.interface.name);
        assert!(
            rates_near(interface.rates, was.rates),
            "{}: {:?} {:?}",
            was.interface.name,
            interface.rates,
            was.rates
        );
    }
}

/// Connections by cookie: their kernel facts and owners exactly, their times exactly
/// but for openings in the last [`RATE_SPAN`] and a bit (placed at its start), their
/// rates within half a byte a second.
fn assert_connections(original: &Snapshot, back: &Snapshot) {
    let by_cookie = |doc: &Snapshot| -> BTreeMap<u64, ConnectionDoc> {
        doc.connections.iter().map(|c| (c.cookie, c.clone())).collect()
    };
    let (now, was) = (by_cookie(back), by_cookie(original));
    assert_eq!(now.keys().collect::<Vec<_>>(), was.keys().collect::<Vec<_>>());
    let recent = original.taken_at - RATE_SPAN - MIN_SPAN;
    for (connection, was) in now.values().zip(was.values()) {
        let what = format!("{} {} → {}", was.protocol.as_str(), was.local, was.remote);
        let facts = |c: &ConnectionDoc| {
            (c.protocol, c.family, c.state, c.local, c.remote, c.uid, c.inode, c.recv_queue, c.send_queue)
        };
        assert_eq!(facts(connection), facts(was), "{what}");
        let owner =
            |c: &ConnectionDoc| (c.pid, c.process.clone(), c.user.clone(), c.attribution, c.cgroup.clone());
        assert_eq!(owner(connection), owner(was), "{what}");
        let more = |c: &ConnectionDoc| (c.remote_name.clone(), c.interface.clone(), c.congestion.clone());
        assert_eq!(more(connection), more(was), "{what}");
        assert_eq!((connection.timer, connection.tcp), (was.timer, was.tcp), "{what}");
        assert_eq!(connection.closed_at, was.closed_at, "{what}");
        match was.opened_at {
            Some(at) if at > recent => assert_eq!(connection.opened_at, Some(original.taken_at - RATE_SPAN)),
            opened => assert_eq!(connection.opened_at, opened, "{what}"),
        }
        assert!(near_option(connection.rx_bytes_per_s, was.rx_bytes_per_s), "{what} rx");
        assert!(near_option(connection.tx_bytes_per_s, was.tx_bytes_per_s), "{what} tx");
    }
}

/// The kernel section: every value, and every rate to rounding.
fn assert_kernel(original: &Snapshot, back: &Snapshot) {
    let (Some(kernel), Some(was)) = (&back.kernel, &original.kernel) else {
        panic!("a kernel section in both: {:?} {:?}", back.kernel.is_some(), original.kernel.is_some());
    };
    assert!(near_option(kernel.interval_s, was.interval_s));
    for (now, then) in [(&kernel.snmp, &was.snmp), (&kernel.netstat, &was.netstat)] {
        assert_eq!(now.keys().collect::<Vec<_>>(), then.keys().collect::<Vec<_>>());
        for ((name, counter), then) in now.iter().zip(then.values()) {
            assert_eq!(counter.value, then.value, "{name}");
            assert!(near_option(counter.per_s, then.per_s), "{name}: {:?} {:?}", counter.per_s, then.per_s);
        }
    }
    assert_eq!(
        (&kernel.softnet, &kernel.sockstat, kernel.conntrack, kernel.files, &kernel.ports),
        (&was.softnet, &was.sockstat, was.conntrack, was.files, &was.ports)
    );
}

#[test]
fn the_fake_store_comes_back_from_its_snapshot() {
    let original = snapshot_of(&fake::store(), fake::NOW);
    assert!(!original.connections.is_empty() && !original.events.is_empty() && original.kernel.is_some());
    let back = round_trip(&original);
    assert_exact_sections(&original, &back);
    assert_connections(&original, &back);
    assert_kernel(&original, &back);
    // Every exchange listed counts again in its server's health, no more.
    let servers = |doc: &Snapshot| doc.dns.servers.iter().map(|s| s.server).collect::<Vec<_>>();
    assert_eq!(servers(&back), servers(&original));
    // No event carries a finding: the store holds them as the snapshot lists them.
    assert!(!original.findings.is_empty());
    assert_eq!(back.findings, original.findings);
}

/// A second round trip changes nothing more: what comes back is a fixed point.
#[test]
fn a_replayed_snapshot_replays_to_itself() {
    let once = round_trip(&snapshot_of(&fake::store(), fake::NOW));
    let twice = round_trip(&once);
    assert_exact_sections(&once, &twice);
    assert_connections(&once, &twice);
    assert_kernel(&once, &twice);
}

/// The store's "now" is the moment the snapshot was taken, on both clocks.
#[test]
fn the_store_ends_at_the_snapshot_time() {
    let original = snapshot_of(&fake::store(), fake::NOW);
    let store = store(&original);
    assert_eq!(store.updated_at(), Some(fake::NOW));
    assert_eq!(store.updated_mono(), Some(Mono::ZERO));
    assert!(!store.pending());
    let events = events(&original);
    assert!(events.iter().all(|event| event.at <= fake::NOW), "nothing after the snapshot");
    assert!(events.iter().all(|event| event.mono == Mono::ZERO.offset(event.at - fake::NOW)));
}

/// A pseudonym for an address, as a redacted snapshot holds them: one per address,
/// the same wherever it appears.
fn pseudonym(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() => {
            let [.., c, d] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(198, 18, c, d))
        }
        other => other,
    }
}

fn pseudonymous(end: &mut SocketAddr) {
    end.set_ip(pseudonym(end.ip()));
}

/// A redacted snapshot from another host: its pseudonymous host name, addresses,
/// names and users come back as they are.
#[test]
fn a_redacted_snapshot_keeps_its_pseudonyms() {
    let mut doc = snapshot_of(&fake::store(), fake::NOW);
    doc.host.hostname = "host-1.invalid".to_owned();
    for interface in &mut doc.interfaces {
        for address in &mut interface.interface.addresses {
            address.address = pseudonym(address.address);
        }
    }
    for neighbor in &mut doc.neighbors {
        neighbor.address = pseudonym(neighbor.address);
    }
    for (n, connection) in doc.connections.iter_mut().enumerate() {
        pseudonymous(&mut connection.local);
        pseudonymous(&mut connection.remote);
        connection.remote_name = connection.remote_name.as_ref().map(|_| format!("host-{}.invalid", n + 2));
        connection.user = connection.user.as_ref().map(|_| "user-1".to_owned());
    }
    for entry in &mut doc.events {
        entry.detail = format!("{} (redacted)", entry.detail);
    }
    let back = round_trip(&doc);
    assert_eq!(back.host.hostname, "host-1.invalid");
    let addresses = |doc: &Snapshot| -> Vec<IpAddr> {
        doc.interfaces.iter().flat_map(|i| i.interface.addresses.iter().map(|a| a.address)).collect()
    };
    assert_eq!(addresses(&back), addresses(&doc));
    assert_eq!(back.neighbors, doc.neighbors);
    assert_eq!(back.events, doc.events);
    assert_connections(&doc, &back);
}

/// A snapshot with nothing but its host: no tables, no timeline, and the host.
#[test]
fn an_empty_snapshot_gives_an_empty_store() {
    let mut doc = snapshot_of(&Store::default(), fake::NOW);
    doc.host.hostname = "quiet".to_owned();
    let store = store(&doc);
    assert_eq!(store.system().host.hostname, "quiet");
    assert_eq!(store.interface_count(), 0);
    assert!(store.connections().is_empty() && !store.connections().has_data());
    assert!(store.timeline().is_empty());
}

/// More opening moments than tables: each connection comes back opened at the latest
/// table at or before its moment (the first exactly), in the same order, and with
/// everything else as it was.
#[test]
fn many_opening_moments_are_placed_at_or_before_their_own() {
    let mut doc = snapshot_of(&fake::store(), fake::NOW);
    let open = doc.connections.iter().find(|c| c.closed_at.is_none() && c.tcp.is_some() && c.pid.is_some());
    let template = open.cloned().unwrap_or_else(|| panic!("an open TCP connection with an owner"));
    let opened = |n: u16| fake::NOW - time::Duration::seconds(3_600 - 30 * i64::from(n));
    for n in 0..100_u16 {
        let mut connection = template.clone();
        connection.cookie = 1_000_000 + u64::from(n);
        connection.inode = 1_000_000 + u64::from(n);
        connection.local.set_port(20_000 + n);
        connection.opened_at = Some(opened(n));
        doc.connections.push(connection);
    }
    let back = round_trip(&doc);
    let placed: Vec<Timestamp> = (0..100_u16)
        .map(|n| {
            let cookie = 1_000_000 + u64::from(n);
            let connection = back.connections.iter().find(|c| c.cookie == cookie);
            let connection = connection.unwrap_or_else(|| panic!("connection {cookie}"));
            assert_eq!((connection.local.port(), connection.pid), (20_000 + n, template.pid));
            connection.opened_at.unwrap_or_else(|| panic!("{cookie} opened"))
        })
        .collect();
    assert_eq!(placed.first(), Some(&opened(0)));
    assert!(placed.iter().enumerate().all(|(n, at)| *at <= opened(n as u16)), "never later");
    assert!(placed.windows(2).all(|w| w[0] <= w[1]), "in order");
    let moments: std::collections::BTreeSet<_> = placed.iter().collect();
    assert!(moments.len() <= PLACES && moments.len() > PLACES / 2, "{} moments", moments.len());
}

/// Counted lines come back with their count and newest time, whether their repeats
/// came within the coalescing second or spread over a fold's window, and a line like
/// the one before it stays a line of its own.
#[test]
fn counted_lines_come_back_counted() {
    let mut doc = snapshot_of(&fake::store(), fake::NOW);
    let line = doc.events.last().cloned().unwrap_or_else(|| panic!("a timeline line"));
    let at = |seconds: f64| fake::NOW - time::Duration::seconds_f64(seconds);
    doc.events.retain(|entry| entry.at < at(60.0));
    doc.events.extend([
        TimelineEntry { at: at(50.0), count: 1_000, last_at: Some(at(35.0)), ..line.clone() },
        TimelineEntry { at: at(30.0), count: 1, last_at: None, ..line.clone() },
        TimelineEntry { at: at(20.0), count: 3, last_at: Some(at(19.5)), detail: "again".to_owned(), ..line },
    ]);
    let back = round_trip(&doc);
    assert_eq!(back.events, doc.events);
}

/// The snapshot as a file holds it: written as JSON and read back before the replay.
#[test]
fn a_snapshot_read_from_its_json_replays() {
    let original = snapshot_of(&fake::store(), fake::NOW);
    let text = serde_json::to_string(&original).unwrap_or_else(|e| panic!("{e}"));
    let read: Snapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let back = round_trip(&read);
    assert_exact_sections(&original, &back);
    assert_connections(&original, &back);
}
