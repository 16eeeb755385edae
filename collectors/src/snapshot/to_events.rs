//! A snapshot document turned back into the events that rebuild its state in a fresh
//! [`Store`], so the TUI, which renders from `&Store`, can show a snapshot read-only
//! (`netlens open FILE.json`), a redacted one from another host included.
//!
//! The store changes only by folding events, so the document is replayed: each section
//! becomes the payloads its source would have sent, stamped at the snapshot's
//! `taken_at` (the monotonic clock reads zero there), or earlier where the store keeps
//! the moment it saw something: interfaces at their `first_seen`, connections at their
//! `opened_at` and `closed_at`, DNS traces and queries at their own times, counter
//! readings [`RATE_SPAN`] before the last so the exported rates come back, and the
//! timeline's lines at theirs.
//!
//! Folding a status, a socket table or a resolver configuration also puts lines on the
//! timeline, lines the snapshot already lists at the moment they first happened. So the
//! state is replayed first and the timeline's lines last, into a timeline that holds
//! exactly as many lines as the snapshot's ([`limits`]): the lines the replay itself
//! caused are pushed out by the snapshot's own.
//!
//! What does not come back: findings (the store evaluates its rules, no event carries
//! a finding), server health beyond the exchanges the snapshot lists, processes'
//! command lines, sockets' memory and type of service, route moves, rate histories,
//! and the counts of lines and exchanges seen since start. Connection warnings and
//! burst labels are worked out again from the replayed connections.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ConnectionDoc, CounterDoc, KernelSection, Snapshot};
use crate::clock::Mono;
use crate::event::{Event, Notice, Payload};
use crate::model::{
    DnsConfigReport, DnsQueryBatch, FlowBytes, FlowSample, FoldFrom, Interface, InterfaceStats,
    KernelCounters, NetworkTable, ProcessInfo, Protocol, Socket, SocketOrigin, SocketTable, SourceId,
    SourceState, SystemFacts, TimelineEntry, TimelineKind, Timestamp,
};
use crate::store::{Store, StoreLimits};

/// How long before `taken_at` the reading a rate is measured from is placed: an
/// exported rate times this is the counters' growth, in whole bytes and packets, so a
/// rate comes back rounded to one per second.
pub const RATE_SPAN: time::Duration = time::Duration::SECOND;

/// Moments closer than this before the rate reading are moved onto it: the store
/// measures no rate over less than 200 ms, and a table that close would become the
/// rate's baseline.
const MIN_SPAN: time::Duration = time::Duration::milliseconds(250);

/// Network and socket tables replayed at most to place when interfaces and connections
/// were first seen: each table repeats what the ones before it hold, so a long
/// session's many moments are placed at the latest of these at or before them.
const PLACES: usize = 32;

/// Repeats of one timeline line replayed at most (each is a notice in memory).
const MAX_REPEATS: u32 = 100_000;

/// The fold key of the replayed timeline's counted lines: no source uses it.
const FOLD_KEY: &str = "\u{0}snapshot";

/// The store's limits for replaying `snapshot`: a timeline that holds exactly its
/// lines (see the module documentation), and closed connections kept as long as the
/// oldest it lists has been closed.
#[must_use]
pub fn limits(snapshot: &Snapshot) -> StoreLimits {
    let defaults = StoreLimits::default();
    let retention = defaults.connections.closed_retention;
    let oldest_close = snapshot.connections.iter().filter_map(|doc| doc.closed_at).min();
    let closed_retention =
        oldest_close.map_or(retention, |at| (snapshot.taken_at - at).max(time::Duration::ZERO) + retention);
    StoreLimits {
        timeline_capacity: snapshot.events.len().max(1),
        connections: crate::ConnectionLimits { closed_retention, ..defaults.connections },
        ..defaults
    }
}

/// The store `snapshot` describes: [`events`] folded into a store with [`limits`].
#[must_use]
pub fn store(snapshot: &Snapshot) -> Store {
    let mut store = Store::new(limits(snapshot));
    for event in events(snapshot) {
        store.apply(event);
    }
    store.restore_findings(snapshot.findings.clone());
    store
}

/// The events that, folded in order into `Store::new(limits(snapshot))`, rebuild the
/// state `snapshot` describes, as far as events can (see the module documentation).
/// Into a store with the default limits, the timeline also keeps the lines the replay
/// caused, before the snapshot's.
#[must_use]
pub fn events(snapshot: &Snapshot) -> Vec<Event> {
    let taken_at = snapshot.taken_at;
    let mut replay = Replay { taken_at, state: Vec::new() };
    facts(snapshot, &mut replay);
    interfaces(snapshot, &mut replay);
    if let Some(kernel) = &snapshot.kernel {
        kernel_readings(kernel, &mut replay);
    }
    dns(snapshot, &mut replay);
    connections(snapshot, &mut replay);
    // Stable: payloads of one moment and rank keep the order they were planned in.
    replay.state.sort_by_key(|(at, rank, ..)| (*at, *rank));
    let mut events: Vec<Event> = replay
        .state
        .into_iter()
        .map(|(at, _, source, payload)| stamped(taken_at, at, source, payload))
        .collect();
    if !snapshot.events.is_empty() {
        // A line of its own between the replay's lines and the snapshot's, so the
        // first of the snapshot's cannot count as a repeat of the replay's last.
        let marker = Notice::new(TimelineKind::Notice, "snapshot", "the snapshot's state replayed");
        events.push(stamped(taken_at, taken_at, SourceId::App, Payload::Notices(vec![marker])));
    }
    for entry in &snapshot.events {
        timeline_line(taken_at, entry, &mut events);
    }
    // The store's "now" (its last event) is the moment the snapshot was taken.
    events.push(stamped(taken_at, taken_at, SourceId::App, Payload::Notices(Vec::new())));
    events
}

/// An event at wall time `at`, on a monotonic clock that reads zero at `taken_at`.
fn stamped(taken_at: Timestamp, at: Timestamp, source: SourceId, payload: Payload) -> Event {
    Event::stamped(at, Mono::ZERO.offset(at - taken_at), source, payload)
}

/// Which payloads of one moment go first: those the later ones rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Facts,
    Network,
    Counters,
    Readings,
    Sockets,
    Closed,
    After,
}

/// The state's payloads, planned section by section, then put in time order.
struct Replay {
    taken_at: Timestamp,
    state: Vec<(Timestamp, Rank, SourceId, Payload)>,
}

impl Replay {
    /// `payload` at `at`, or at `taken_at` if that is later than it (a clock stepped).
    fn at(&mut self, at: Timestamp, rank: Rank, source: SourceId, payload: Payload) {
        self.state.push((at.min(self.taken_at), rank, source, payload));
    }

    fn now(&mut self, rank: Rank, source: SourceId, payload: Payload) {
        self.at(self.taken_at, rank, source, payload);
    }
}

/// Host facts, sources, paths and the capture's totals: the latest is the truth.
fn facts(snapshot: &Snapshot, replay: &mut Replay) {
    let system = &snapshot.system;
    let facts = SystemFacts {
        host: snapshot.host.clone(),
        uptime_s: system.uptime_s,
        cpus: system.cpus,
        cpu_pct: system.cpu_pct,
        memory_total_bytes: system.memory_total_bytes,
        memory_used_bytes: system.memory_used_bytes,
    };
    replay.now(Rank::Facts, SourceId::System, Payload::System(facts));
    for status in &snapshot.sources {
        replay.now(Rank::Facts, status.name, Payload::Status(status.clone()));
    }
    if !snapshot.paths.is_empty() {
        replay.now(Rank::Readings, SourceId::Paths, Payload::Paths(snapshot.paths.clone()));
    }
    if let Some(capture) = &snapshot.capture {
        replay.now(Rank::Readings, SourceId::Capture, Payload::Capture(capture.clone()));
    }
}

/// At most `most` of `times` (sorted, distinct), spread evenly, the first kept.
fn thin(times: Vec<Timestamp>, most: usize) -> Vec<Timestamp> {
    if times.len() <= most {
        return times;
    }
    (0..most).filter_map(|i| times.get(i * times.len() / most).copied()).collect()
}

/// The index of the latest of `places` (sorted) at or before `at`; 0 if none is.
fn place(places: &[Timestamp], at: Timestamp) -> usize {
    places.partition_point(|place| *place <= at).saturating_sub(1)
}

/// `value` as it was `secs` earlier, growing at `per_s`.
fn before(value: u64, per_s: f64, secs: f64) -> u64 {
    value.saturating_sub((per_s * secs).round() as u64)
}

/// Network tables at the moments interfaces were first seen (each with every interface
/// seen by then, the last with routes, rules and neighbours), then counter readings:
/// one [`RATE_SPAN`] before `taken_at` for the interfaces with rates, and the last.
fn interfaces(snapshot: &Snapshot, replay: &mut Replay) {
    let (taken_at, docs) = (snapshot.taken_at, &snapshot.interfaces);
    let mut firsts: Vec<Timestamp> = docs.iter().map(|doc| doc.first_seen.min(taken_at)).collect();
    firsts.sort_unstable();
    firsts.dedup();
    let mut places = thin(firsts, PLACES);
    if places.is_empty() {
        // Routes without interfaces (a portable fallback) still make a table.
        if snapshot.routes.is_empty() && snapshot.rules.is_empty() && snapshot.neighbors.is_empty() {
            return;
        }
        places.push(taken_at);
    }
    let seen: Vec<usize> = docs.iter().map(|doc| place(&places, doc.first_seen)).collect();
    for (index, &at) in places.iter().enumerate() {
        let interfaces = docs
            .iter()
            .zip(&seen)
            .filter(|(_, seen)| **seen <= index)
            .map(|(doc, _)| Interface { stats: None, ..doc.interface.clone() })
            .collect();
        let last = index + 1 == places.len();
        let table = NetworkTable {
            interfaces,
            routes: if last { snapshot.routes.clone() } else { Vec::new() },
            rules: if last { snapshot.rules.clone() } else { Vec::new() },
            neighbors: if last { snapshot.neighbors.clone() } else { Vec::new() },
        };
        replay.at(at, Rank::Network, SourceId::Interfaces, Payload::Network(table));
    }
    let mut baselines: BTreeMap<Timestamp, Vec<(u32, InterfaceStats)>> = BTreeMap::new();
    let mut latest = Vec::new();
    for (doc, &seen) in docs.iter().zip(&seen) {
        let Some(stats) = doc.interface.stats else { continue };
        latest.push((doc.interface.index, stats));
        let Some(rates) = doc.rates else { continue };
        let from = places.get(seen).map_or(taken_at, |first| (taken_at - RATE_SPAN).max(*first));
        let secs = (taken_at - from).as_seconds_f64();
        if taken_at - from < MIN_SPAN {
            continue;
        }
        let then = InterfaceStats {
            rx_bytes: before(stats.rx_bytes, rates.rx_bytes_per_s, secs),
            tx_bytes: before(stats.tx_bytes, rates.tx_bytes_per_s, secs),
            rx_packets: before(stats.rx_packets, rates.rx_packets_per_s, secs),
            tx_packets: before(stats.tx_packets, rates.tx_packets_per_s, secs),
            ..stats
        };
        baselines.entry(from).or_default().push((doc.interface.index, then));
    }
    for (at, samples) in baselines {
        replay.at(at, Rank::Counters, SourceId::Interfaces, Payload::Counters(samples));
    }
    if !latest.is_empty() {
        replay.now(Rank::Counters, SourceId::Interfaces, Payload::Counters(latest));
    }
}

/// The kernel's reading, and one `interval_s` before it from which each counter grew
/// at its exported rate (a counter without a rate is missing from it).
fn kernel_readings(kernel: &KernelSection, replay: &mut Replay) {
    let values = |counters: &BTreeMap<String, CounterDoc>| -> BTreeMap<String, i64> {
        counters.iter().map(|(name, counter)| (name.clone(), counter.value)).collect()
    };
    let latest = KernelCounters {
        netns: 0,
        snmp: values(&kernel.snmp),
        netstat: values(&kernel.netstat),
        softnet: kernel.softnet.clone(),
        sockstat: kernel.sockstat.clone(),
        conntrack: kernel.conntrack,
        files: kernel.files,
        port_range: kernel.ports.range,
        rp_filter: BTreeMap::new(),
    };
    // A day at most: beyond, the store's monotonic clock would not hold it anyway.
    if let Some(interval) = kernel.interval_s.filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0) {
        let earlier = |counters: &BTreeMap<String, CounterDoc>| -> BTreeMap<String, i64> {
            counters
                .iter()
                .filter_map(|(name, counter)| {
                    let grown = (counter.per_s? * interval).round() as i64;
                    Some((name.clone(), counter.value.saturating_sub(grown)))
                })
                .collect()
        };
        let baseline = KernelCounters {
            snmp: earlier(&kernel.snmp),
            netstat: earlier(&kernel.netstat),
            ..latest.clone()
        };
        let at = replay.taken_at - time::Duration::nanoseconds((interval * 1e9).round() as i64);
        replay.at(at, Rank::Readings, SourceId::Kernel, Payload::Kernel(Box::new(baseline)));
    }
    replay.now(Rank::Readings, SourceId::Kernel, Payload::Kernel(Box::new(latest)));
}

/// The resolver configuration, each trace and query at its own time (never before
/// the one listed before it), and the NAT64 check.
fn dns(snapshot: &Snapshot, replay: &mut Replay) {
    let dns = &snapshot.dns;
    if let Some(config) = &dns.config {
        let report = DnsConfigReport { config: config.clone(), warnings: dns.warnings.clone() };
        replay.now(Rank::Readings, SourceId::Dns, Payload::DnsConfig(report));
    }
    let mut last: Option<Timestamp> = None;
    for trace in &dns.traces {
        let at = last.map_or(trace.started_at, |last| last.max(trace.started_at));
        last = Some(at);
        replay.at(at, Rank::Readings, SourceId::Dns, Payload::DnsTrace(Box::new(trace.clone())));
    }
    for batch in dns.queries.chunk_by(|a, b| a.at == b.at) {
        let Some(first) = batch.first() else { continue };
        let batch = DnsQueryBatch { queries: batch.to_vec(), counters: dns.capture };
        replay.at(first.at, Rank::Readings, SourceId::DnsCapture, Payload::DnsQueries(batch));
    }
    if dns.queries.is_empty() && dns.capture != crate::model::CaptureCounters::default() {
        let batch = DnsQueryBatch { queries: Vec::new(), counters: dns.capture };
        replay.now(Rank::Readings, SourceId::DnsCapture, Payload::DnsQueries(batch));
    }
    if let Some(report) = &dns.dns64 {
        replay.at(report.checked_at, Rank::Readings, SourceId::Dns, Payload::Dns64(report.clone()));
    }
}

/// The kernel's facts of a connection as a socket (memory and type of service are
/// not exported).
fn socket(doc: &ConnectionDoc, interfaces: &BTreeMap<&str, u32>) -> Socket {
    Socket {
        cookie: doc.cookie,
        protocol: doc.protocol,
        family: doc.family,
        state: doc.state,
        local: doc.local,
        remote: doc.remote,
        interface_index: doc.interface.as_deref().and_then(|name| interfaces.get(name).copied()),
        uid: doc.uid,
        inode: doc.inode,
        recv_queue: doc.recv_queue,
        send_queue: doc.send_queue,
        timer: doc.timer,
        tcp: doc.tcp,
        congestion: doc.congestion.clone(),
        memory: None,
        tos: None,
    }
}

/// The socket as read [`RATE_SPAN`] before `taken_at`: its byte counters less what
/// its rates carried since; without rates, counters it went back from (no rate).
fn rate_reading(doc: &ConnectionDoc, interfaces: &BTreeMap<&str, u32>) -> Socket {
    let mut socket = socket(doc, interfaces);
    if doc.closed_at.is_none()
        && let Some(tcp) = &mut socket.tcp
    {
        let secs = RATE_SPAN.as_seconds_f64();
        let received = tcp.bytes_received.unwrap_or(0);
        if let (Some(rx), Some(tx)) = (doc.rx_bytes_per_s, doc.tx_bytes_per_s) {
            tcp.bytes_received = Some(before(received, rx, secs));
            tcp.bytes_acked = Some(before(tcp.bytes_acked.unwrap_or(0), tx, secs));
        } else {
            tcp.bytes_received = Some(received.saturating_add(1));
        }
    }
    socket
}

/// One socket table being planned.
#[derive(Default)]
struct Table {
    table: SocketTable,
    processes: BTreeMap<u32, ProcessInfo>,
}

impl Table {
    /// List `socket` as read, with its owner.
    fn read(&mut self, doc: &ConnectionDoc, socket: Socket) {
        if let Some(pid) = doc.pid {
            if doc.inode == 0 {
                self.table.cookie_owners.push((doc.cookie, pid));
            } else {
                self.table.owners.push((doc.inode, pid));
            }
            if let Some(attribution) = doc.attribution {
                let origin = SocketOrigin { attribution, cgroup: doc.cgroup.as_deref().map(Arc::from) };
                self.table.origins.push((doc.cookie, origin));
            }
            // Only the name and user are exported; the store keeps a process by pid.
            if let (Some(name), Some(user)) = (&doc.process, &doc.user) {
                self.processes.entry(pid).or_insert_with(|| ProcessInfo {
                    pid,
                    name: name.clone(),
                    cmdline: String::new(),
                    user: user.clone(),
                    start_time: 0,
                    open_files: None,
                    open_files_limit: None,
                });
            }
        }
        self.table.sockets.push(socket);
    }

    fn done(self) -> Payload {
        let Self { mut table, processes } = self;
        table.processes = processes.into_values().collect();
        table.all_owners_visible = true;
        Payload::Sockets(table)
    }
}

/// Socket tables: a first one with what predates netlens, one at each moment
/// connections opened (each listing what is open then, the new ones read, the rest
/// unchanged), the rate reading [`RATE_SPAN`] before `taken_at` and the last at it;
/// each close at its time; then reverse-DNS names and, for UDP rates, a second of
/// flows.
fn connections(snapshot: &Snapshot, replay: &mut Replay) {
    let (taken_at, docs) = (snapshot.taken_at, &snapshot.connections);
    let watched = snapshot.sources.iter().any(|source| {
        source.name == SourceId::Connections
            && matches!(source.status, SourceState::Ok | SourceState::Degraded)
    });
    if docs.is_empty() && !watched {
        return;
    }
    let rate_at = taken_at - RATE_SPAN;
    let opened: Vec<Option<Timestamp>> = docs
        .iter()
        .map(|doc| doc.opened_at.map(|at| if rate_at - at < MIN_SPAN { rate_at } else { at }))
        .collect();
    let closed: Vec<Option<Timestamp>> = docs
        .iter()
        .zip(&opened)
        .map(|(doc, opened)| doc.closed_at.map(|at| at.min(taken_at).max(opened.unwrap_or(at))))
        .collect();
    let mut moments: Vec<Timestamp> = opened.iter().flatten().copied().filter(|at| *at < rate_at).collect();
    moments.sort_unstable();
    moments.dedup();
    let mut places = thin(moments, PLACES);
    let earliest = opened.iter().chain(&closed).flatten().min().copied();
    places.insert(0, earliest.unwrap_or(rate_at).min(rate_at) - time::Duration::SECOND);
    places.extend([rate_at, taken_at]);
    // Opened at the table of `place`, at or after the first (which sees what predates it).
    let first_listed: Vec<usize> =
        opened.iter().map(|opened| opened.map_or(0, |at| place(&places, at).max(1))).collect();
    let interfaces: BTreeMap<&str, u32> =
        snapshot.interfaces.iter().map(|doc| (doc.interface.name.as_str(), doc.interface.index)).collect();
    let rates = places.len() - 2;
    for (index, &at) in places.iter().enumerate() {
        let mut table = Table::default();
        for (i, doc) in docs.iter().enumerate() {
            let listed = first_listed.get(i).copied().unwrap_or(0);
            if listed > index || closed.get(i).copied().flatten().is_some_and(|closed| closed < at) {
                continue;
            }
            if index == rates {
                table.read(doc, rate_reading(doc, &interfaces));
            } else if listed == index || index > rates {
                table.read(doc, socket(doc, &interfaces));
            } else {
                table.table.unchanged.push(doc.cookie);
            }
        }
        replay.at(at, Rank::Sockets, SourceId::Connections, table.done());
    }
    let mut by_close: BTreeMap<Timestamp, Vec<Socket>> = BTreeMap::new();
    for (doc, closed) in docs.iter().zip(&closed) {
        if let Some(at) = closed {
            by_close.entry(*at).or_default().push(socket(doc, &interfaces));
        }
    }
    for (at, sockets) in by_close {
        replay.at(at, Rank::Closed, SourceId::Connections, Payload::SocketsClosed(sockets));
    }
    let names: BTreeMap<_, _> =
        docs.iter().filter_map(|doc| Some((doc.remote.ip(), Some(doc.remote_name.clone()?)))).collect();
    if !names.is_empty() {
        replay.now(Rank::After, SourceId::ReverseDns, Payload::Names(names.into_iter().collect()));
    }
    udp_rates(docs, replay);
}

/// The UDP connections' rates as one second of flows (the store gives every open UDP
/// socket a rate once flows arrive, so none are sent unless one has a rate).
fn udp_rates(docs: &[ConnectionDoc], replay: &mut Replay) {
    let udp = docs.iter().filter(|doc| doc.protocol == Protocol::Udp && doc.closed_at.is_none());
    let flows: Vec<FlowBytes> = udp
        .filter_map(|doc| {
            Some(FlowBytes {
                protocol: Protocol::Udp,
                local: doc.local,
                remote: doc.remote,
                rx_bytes: doc.rx_bytes_per_s?.round() as u64,
                tx_bytes: doc.tx_bytes_per_s?.round() as u64,
            })
        })
        .collect();
    if !flows.is_empty() {
        let sample = FlowSample { interval_ms: 1000, flows };
        replay.now(Rank::After, SourceId::Capture, Payload::Flows(sample));
    }
}

/// One timeline line: its first event at its time and, for a counted line, the
/// others at its `last_at`, folded into it (each notice of the line's own fold: the
/// first's window is over before it starts, so it takes a line of its own).
fn timeline_line(taken_at: Timestamp, entry: &TimelineEntry, events: &mut Vec<Event>) {
    let notice = Notice::new(entry.kind, entry.subject.clone(), entry.detail.clone());
    let repeats = entry.count.saturating_sub(1).min(MAX_REPEATS);
    if repeats == 0 {
        events.push(stamped(taken_at, entry.at, entry.source, Payload::Notices(vec![notice])));
        return;
    }
    let first = notice.clone().folded(FOLD_KEY, time::Duration::MIN, FoldFrom::First);
    events.push(stamped(taken_at, entry.at, entry.source, Payload::Notices(vec![first])));
    let again = notice.folded(FOLD_KEY, time::Duration::MAX, FoldFrom::First);
    let last_at = entry.last_at.unwrap_or(entry.at);
    let notices = vec![again; repeats as usize];
    events.push(stamped(taken_at, last_at, entry.source, Payload::Notices(notices)));
}

#[cfg(all(test, feature = "fake"))]
#[path = "to_events_tests.rs"]
mod tests;
