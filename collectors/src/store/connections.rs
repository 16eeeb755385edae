//! The connections section of the store: sockets folded from `sock_diag` dumps and
//! destroy events, their rates, short histories, warnings and burst labels, and the
//! processes that own them. Closed connections stay visible for a bounded time.
//!
//! Every interval and age here is measured on the monotonic clock ([`Stamp::mono`]);
//! the wall clock only stamps what is shown (`opened_at`, `closed_at`).

mod bursts;
mod counts;
mod entry;
mod refresh;
mod retire;
mod table;
mod warnings;
mod work;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub use bursts::ConnectionLabel;
pub use counts::ConnectionCounts;
pub use entry::{ConnectionEntry, ConnectionRates, ConnectionSample};
pub use warnings::ConnectionWarnings;

use crate::clock::{Mono, Stamp};
use crate::event::Notice;
use crate::model::{
    ClosedOwners, FlowSample, ProcessInfo, Protocol, RouteMove, Socket, SocketState, SocketTable,
};
use warnings::{linkage_warnings, raise};

pub(crate) use super::counter::{CounterHash, CounterMap};

/// Thresholds and capacities of the connections section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionLimits {
    /// How long a closed connection stays visible.
    pub closed_retention: time::Duration,
    /// Samples kept per connection for its sparklines.
    pub history_capacity: usize,
    /// Retransmitting with no acknowledged progress for this long is a stall.
    pub stall_after: time::Duration,
    /// In `syn_sent` for this long is worth a warning.
    pub syn_sent_after: time::Duration,
    /// Connections that open and close within this window count towards a burst.
    pub burst_window: time::Duration,
    /// Short connections from one process to one host that make a burst.
    pub burst_min: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            closed_retention: time::Duration::seconds(10),
            history_capacity: 30,
            stall_after: time::Duration::seconds(5),
            syn_sent_after: time::Duration::seconds(3),
            burst_window: time::Duration::seconds(1),
            burst_min: 3,
        }
    }
}

/// The connections section.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Connections {
    limits: ConnectionLimits,
    /// Shared, so a snapshot can hold the table while the store moves on: an entry
    /// is copied only when it changes while a snapshot still holds it.
    entries: CounterMap<u64, Arc<ConnectionEntry>>,
    /// What the refresh pass needs of each quiet open entry ([`ConnectionEntry::quiet`]),
    /// so it need not read the entry itself: 10,000 separately allocated entries
    /// missed the cache on every table (perf). Whatever changes an entry drops its
    /// summary; the pass writes it again.
    quiet: CounterMap<u64, refresh::Quiet>,
    processes: HashMap<u32, ProcessInfo>,
    counts: ConnectionCounts,
    all_owners_visible: bool,
    dumps: u64,
    /// When each (pid, remote host) last raised a burst notice, to raise it once.
    /// (monotonic clock).
    bursts_noticed: HashMap<BurstKey, Mono>,
    /// Reverse-DNS names of remote addresses (`None`: looked up, has none).
    names: HashMap<IpAddr, Option<String>>,
    /// Route moves of the latest dump, by (local, remote) address.
    moves: HashMap<(IpAddr, IpAddr), RouteMove>,
    /// Every interface address with the interfaces holding it, from the latest
    /// network table; `None` until one arrives (nothing is orphaned before).
    addresses: Option<HashMap<IpAddr, Vec<u32>>>,
    /// When the latest socket table was folded.
    last_table: Option<Mono>,
    /// When burst labels were last worked out.
    bursts_labelled: Option<Mono>,
    /// The closed connections by close time: the order they retire in.
    closing: retire::Closing,
    /// A fold in progress ([`work`]). Not in a keyframe: one is only taken when
    /// nothing is pending.
    #[serde(skip)]
    job: Option<work::Job>,
}

/// Short connections are grouped by owner and remote host.
type BurstKey = (Option<u32>, IpAddr);

/// Burst labels are redone at most this often between tables: a pass over every
/// entry, which at 10,000 closes a second held the store for tens of milliseconds
/// four times a second at 250 ms (`examples/owner_latency.rs`: 10 % of owners later
/// than 5 ms, 4.7 % at one second). A burst is a second's worth of connections.
pub(super) const RELABEL_EVERY: time::Duration = time::Duration::seconds(1);

/// Closed connections kept at most, whatever the retention.
const MAX_CLOSED: usize = 20_000;

/// Reverse-DNS answers kept at most; past it the cache starts over (lookups are cheap
/// to repeat, memory is not).
const MAX_NAMES: usize = 20_000;

impl Default for Connections {
    fn default() -> Self {
        Self::new(ConnectionLimits::default())
    }
}

impl Connections {
    /// An empty section.
    #[must_use]
    pub fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            entries: CounterMap::default(),
            quiet: CounterMap::default(),
            processes: HashMap::new(),
            counts: ConnectionCounts::default(),
            all_owners_visible: true,
            dumps: 0,
            bursts_noticed: HashMap::new(),
            names: HashMap::new(),
            moves: HashMap::new(),
            addresses: None,
            last_table: None,
            bursts_labelled: None,
            closing: retire::Closing::default(),
            job: None,
        }
    }

    /// Fold the interface addresses of a new network table, `(address, interface
    /// index)`: connections whose local address went are orphaned. Returns the
    /// notices it raises.
    pub fn apply_addresses(&mut self, addresses: impl IntoIterator<Item = (IpAddr, u32)>) -> Vec<Notice> {
        let mut raised_before = self.finish();
        let mut by_address: HashMap<IpAddr, Vec<u32>> = HashMap::new();
        for (address, index) in addresses {
            by_address.entry(address.to_canonical()).or_default().push(index);
        }
        self.addresses = Some(by_address);
        let limits = self.limits;
        let mut raised: Vec<(u64, Notice)> = Vec::new();
        self.quiet.clear();
        for entry in self.entries.values_mut().filter(|e| e.closed_at.is_none()).map(Arc::make_mut) {
            let now = linkage_warnings(entry, &self.moves, self.addresses.as_ref());
            raise(entry, now, &self.processes, &limits, &mut raised);
        }
        raised.sort_by_key(|(cookie, _)| *cookie);
        self.recount();
        raised_before.extend(raised.into_iter().map(|(_, notice)| notice));
        raised_before
    }

    /// Fold reverse-DNS answers.
    pub fn apply_names(&mut self, answers: Vec<(IpAddr, Option<String>)>) {
        if self.names.len() + answers.len() > MAX_NAMES {
            self.names.clear();
        }
        self.names.extend(answers);
    }

    /// The reverse-DNS name of an address: `Some(Some(name))` when known,
    /// `Some(None)` when it has none, `None` when not looked up yet.
    #[must_use]
    pub fn name_of(&self, address: IpAddr) -> Option<Option<&str>> {
        self.names.get(&address).map(Option::as_deref)
    }

    /// Fold one complete table, at once; returns the notices it raises.
    pub fn apply_table(&mut self, at: Stamp, table: SocketTable) -> Vec<Notice> {
        let mut notices = self.begin_table(at, table);
        notices.extend(self.finish());
        notices
    }

    /// Fold destroy events: sockets closed (with final counters) between dumps.
    pub fn apply_closed(&mut self, at: Stamp, sockets: Vec<Socket>) -> Vec<Notice> {
        self.fold_closed(at, sockets);
        self.finish()
    }

    /// [`Self::apply_closed`], leaving burst labels (and any pending fold) pending:
    /// a destroy batch costs its own size, also in the middle of a table's fold.
    pub(crate) fn fold_closed(&mut self, at: Stamp, sockets: Vec<Socket>) {
        let capacity = self.limits.history_capacity;
        // The samples it repeated are written out up to the table before the next one;
        // one being folded has not sampled it (or has found it quiet: one repeat less).
        let next_table = if self.table_job().is_some() { self.dumps } else { self.dumps + 1 };
        for socket in sockets {
            self.unquiet(socket.cookie);
            let slot = self.entries.entry(socket.cookie);
            let existed = matches!(slot, std::collections::hash_map::Entry::Occupied(_));
            let entry = Arc::make_mut(
                slot.or_insert_with(|| Arc::new(ConnectionEntry::new(socket.clone(), at, false, capacity))),
            );
            // Counted as it was, then as it is: a batch costs its own size, not the
            // table's (at 10,000 closes a second, recounting every entry per batch
            // left the store seconds behind: `examples/owner_latency.rs`).
            if existed {
                self.counts.remove(entry);
            }
            // The destroy event carries the final counters, also when a dump already
            // noticed the socket gone; the close time stays the first one seen.
            let newly = entry.closed_at.is_none();
            entry.update(socket, at.mono);
            entry.close(at, true, next_table);
            if newly {
                self.closing.closed(entry);
            }
            self.counts.add(entry);
        }
        // A table being folded may have passed them: it labels bursts at its end.
        if let Some(fold) = self.table_job() {
            fold.short_lived = true;
        }
        self.label_soon(at);
    }

    /// Drop `cookie`'s quiet summary: its entry is about to change. A table being
    /// folded that carried it over still knows it did.
    fn unquiet(&mut self, cookie: u64) {
        if let Some(fold) = self.table_job() {
            fold.disturbed = true;
        }
        if let Some(summary) = self.quiet.remove(&cookie)
            && let Some(fold) = self.table_job()
            && summary.carried_in == fold.dump
        {
            fold.carried.insert(cookie);
        }
    }

    /// Start working out burst labels after closes or owners, unless a fold is
    /// pending (a table labels at its end) or they were worked out lately.
    fn label_soon(&mut self, at: Stamp) {
        if self.job.is_none()
            && let Some(labels) = self.labels_due(at, true)
        {
            self.job = Some(work::Job::Labels(Box::new(labels)));
        }
    }

    /// Fold the owners of sockets just closed (from the BPF book): the entries the
    /// close made get their process; bursts are labelled again with it.
    pub fn apply_owners(&mut self, at: Stamp, closed: ClosedOwners) -> Vec<Notice> {
        self.fold_owners(at, closed);
        self.finish()
    }

    /// [`Self::apply_owners`], leaving burst labels (and any pending fold) pending.
    pub(crate) fn fold_owners(&mut self, at: Stamp, closed: ClosedOwners) {
        for process in closed.processes {
            self.processes.entry(process.pid).or_insert(process);
        }
        for (cookie, pid, origin) in closed.owners {
            self.unquiet(cookie);
            if let Some(entry) = self.entries.get_mut(&cookie).map(Arc::make_mut)
                && entry.pid.is_none()
            {
                entry.pid = Some(pid);
                entry.origin = Some(origin);
                // A table's pass may be past it: its process must stay.
                if let Some(fold) = self.table_job() {
                    fold.referenced.insert(u64::from(pid));
                }
            }
        }
        self.label_soon(at);
    }

    /// Fold per-flow byte counts: rates for UDP sockets, which `sock_diag` has no
    /// counters for. A flow matches a connected socket by both ends, an unconnected
    /// one by its local port (and address, unless bound to any).
    pub fn apply_flows(&mut self, sample: &FlowSample) {
        // Both passes below look at every entry: with 10,000 TCP sockets and no UDP
        // one, a tenth of the store's time for nothing.
        if self.counts.udp == 0 {
            return;
        }

        let seconds = f64::from(sample.interval_ms.max(1)) / 1000.0;
        let mut totals: HashMap<u64, (u64, u64)> = HashMap::new();
        let mut by_port: HashMap<u16, Vec<u64>> = HashMap::new();
        for entry in
            self.entries.values().filter(|e| e.socket.protocol == Protocol::Udp && e.closed_at.is_none())
        {
            by_port.entry(entry.socket.local.port()).or_default().push(entry.socket.cookie);
        }
        for flow in sample.flows.iter().filter(|flow| flow.protocol == Protocol::Udp) {
            let Some(candidates) = by_port.get(&flow.local.port()) else { continue };
            let best = candidates
                .iter()
                .filter_map(|cookie| self.entries.get(cookie))
                .filter(|entry| local_matches(entry.socket.local, flow.local))
                .max_by_key(|entry| {
                    (entry.socket.remote == flow.remote, !entry.socket.local.ip().is_unspecified())
                });
            if let Some(entry) = best {
                let same_peer = entry.socket.remote.port() == flow.remote.port()
                    && entry.socket.remote.ip().to_canonical() == flow.remote.ip().to_canonical();
                if entry.socket.state == SocketState::Established && !same_peer {
                    continue;
                }
                let total = totals.entry(entry.socket.cookie).or_default();
                total.0 += flow.rx_bytes;
                total.1 += flow.tx_bytes;
            }
        }
        for entry in self
            .entries
            .values_mut()
            .filter(|e| e.socket.protocol == Protocol::Udp && e.closed_at.is_none())
            .map(Arc::make_mut)
        {
            let (rx, tx) = totals.get(&entry.socket.cookie).copied().unwrap_or_default();
            let rates =
                ConnectionRates { rx_bytes_per_s: rx as f64 / seconds, tx_bytes_per_s: tx as f64 / seconds };
            entry.rates = Some(rates);
            entry.history.push(ConnectionSample {
                rtt_ms: f32::NAN,
                rx_bytes_per_s: rates.rx_bytes_per_s as f32,
                tx_bytes_per_s: rates.tx_bytes_per_s as f32,
            });
        }
    }

    fn recount(&mut self) {
        let mut counts = ConnectionCounts::default();
        for entry in self.entries.values() {
            counts.add(entry);
        }
        self.counts = counts;
    }

    /// Every connection, open and recently closed, in no particular order.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &ConnectionEntry> {
        self.entries.values().map(AsRef::as_ref)
    }

    /// Every connection, shared: a snapshot holds them without copying, and the
    /// store copies an entry only if it changes while the snapshot still holds it.
    #[must_use]
    pub fn shared(&self) -> Vec<Arc<ConnectionEntry>> {
        self.entries.values().cloned().collect()
    }

    /// Socket tables folded so far: what [`ConnectionEntry::samples`] counts in.
    #[must_use]
    pub const fn tables(&self) -> u64 {
        self.dumps
    }

    /// When the latest socket table was folded: what its unchanged sockets' clocks
    /// are advanced to ([`ConnectionEntry::as_of`]).
    #[must_use]
    pub const fn last_table(&self) -> Option<Mono> {
        self.last_table
    }

    /// The connection with this socket cookie.
    #[must_use]
    pub fn get(&self, cookie: u64) -> Option<&ConnectionEntry> {
        self.entries.get(&cookie).map(AsRef::as_ref)
    }

    /// Number of connections held (open and recently closed).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no connection is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A process that owns sockets.
    #[must_use]
    pub fn process(&self, pid: u32) -> Option<&ProcessInfo> {
        self.processes.get(&pid)
    }

    /// Every process that owns sockets.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn processes(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.processes.values()
    }

    /// Counts per state.
    #[must_use]
    pub const fn counts(&self) -> ConnectionCounts {
        self.counts
    }

    /// Whether every socket's owner could be looked up (false when unprivileged).
    #[must_use]
    pub const fn all_owners_visible(&self) -> bool {
        self.all_owners_visible
    }

    /// Whether any dump has arrived yet.
    #[must_use]
    pub const fn has_data(&self) -> bool {
        self.dumps > 0
    }
}

/// Whether a flow's local end belongs to a socket: same port, and the socket bound to
/// any address or to the flow's (a dual-stack socket sees IPv4 peers as `::ffff:a.b.c.d`).
fn local_matches(socket: SocketAddr, flow: SocketAddr) -> bool {
    socket.port() == flow.port()
        && (socket.ip().is_unspecified() || socket.ip().to_canonical() == flow.ip().to_canonical())
}

#[cfg(test)]
mod delta_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod work_tests;
