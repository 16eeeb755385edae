//! The state store: the fold of the event stream (DESIGN.md §3).
//!
//! The app task owns the one `Store` and applies every event to it; the UI renders
//! from `&Store` and the export serialises from it. Nothing here does I/O, so the
//! whole store is testable without a kernel, and every history is a bounded ring.

mod capture;
mod connections;
mod counter;
// For the sources' own maps (built without them, as the UI builds it, unused).
#[cfg(feature = "runtime")]
pub(crate) use counter::{CounterHash, CounterMap};
mod dns;
mod interface;
mod kernel;
mod path_history;
mod tally;
mod timeline;

use std::collections::BTreeMap;

pub use connections::{
    ConnectionCounts, ConnectionEntry, ConnectionLabel, ConnectionLimits, ConnectionRates, ConnectionSample,
    ConnectionWarnings, Connections,
};
pub use dns::{
    Dns, DnsState, QUERY_LOG_CAPACITY, RECENT_WINDOW, RecentOutcomes, SLOW_QUERY_MS, ServerHealth,
    TRACE_CAPACITY, is_error_rcode,
};
pub use interface::{InterfaceEntry, RateSample};
pub use kernel::{CounterTable, KernelState, ports_in_use};
pub use path_history::{PATH_HISTORY_CAPACITY, PathHistory, PathSample};
pub use tally::{Histogram, PathTally, RTT_BOUNDS};
pub use timeline::{FOLD_LINES, Timeline};

use crate::clock::{Mono, Stamp};
use crate::event::{Event, Notice, Payload};
use crate::model::{
    AddressFamily, Neighbor, NetworkTable, PathState, ProcessUsage, Route, RouteLookupReport, Rule, SourceId,
    SourceStatus, SystemFacts, Timestamp,
};

/// Capacities and windows that keep memory bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoreLimits {
    /// Timeline entries kept; older ones are dropped.
    pub timeline_capacity: usize,
    /// Rate samples kept per interface (one per refresh).
    pub history_capacity: usize,
    /// Identical notices closer than this fold into one entry with a count.
    pub coalesce_window: time::Duration,
    /// Two counter samples closer than this give no rate (too noisy); the older one
    /// stays the baseline.
    pub min_rate_interval: time::Duration,
    /// Retention, history and warning thresholds of the connections section.
    pub connections: ConnectionLimits,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            timeline_capacity: 10_000,
            history_capacity: 120,
            coalesce_window: time::Duration::seconds(1),
            min_rate_interval: time::Duration::milliseconds(200),
            connections: ConnectionLimits::default(),
        }
    }
}

/// Everything netlens knows, folded from the event stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Store {
    limits: StoreLimits,
    system: SystemFacts,
    usage: ProcessUsage,
    interfaces: BTreeMap<u32, InterfaceEntry>,
    routes: Vec<Route>,
    rules: Vec<Rule>,
    neighbors: Vec<Neighbor>,
    sources: BTreeMap<SourceId, SourceStatus>,
    timeline: Timeline,
    connections: Connections,
    paths: Vec<PathState>,
    path_history: PathHistory,
    route_lookup: Option<RouteLookupReport>,
    dns: Dns,
    capture: Option<crate::model::CaptureTotals>,
    kernel: KernelState,
    findings: crate::findings::Findings,
    generation: u64,
    updated_at: Option<Timestamp>,
    updated_mono: Option<Mono>,
    /// The source of the event that started the pending fold: its notices are its.
    work_source: SourceId,
    /// Events that wait for the pending fold to finish, in order ([`Self::fold`]).
    /// Not in a keyframe: one is only taken when nothing is pending.
    #[serde(skip)]
    deferred: std::collections::VecDeque<Event>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(StoreLimits::default())
    }
}

impl Store {
    /// An empty store with the given limits.
    #[must_use]
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            limits,
            system: SystemFacts::default(),
            usage: ProcessUsage::default(),
            interfaces: BTreeMap::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            neighbors: Vec::new(),
            sources: BTreeMap::new(),
            timeline: Timeline::new(&limits),
            connections: Connections::new(limits.connections),
            paths: Vec::new(),
            path_history: PathHistory::default(),
            route_lookup: None,
            capture: None,
            dns: Dns::default(),
            kernel: KernelState::default(),
            findings: crate::findings::Findings::default(),
            generation: 0,
            updated_at: None,
            updated_mono: None,
            work_source: SourceId::Connections,
            deferred: std::collections::VecDeque::new(),
        }
    }

    /// Fold one event into the state, with all the work it starts.
    pub fn apply(&mut self, event: Event) {
        self.fold(event);
        self.work(&mut || false);
    }

    /// Fold one event, but leave the fold of a socket table, and burst labels,
    /// pending: [`Self::work`] does them a slice at a time, and the events folded in
    /// between (closes and owners) need not wait for a whole table (issue 12: an owner
    /// in the store within 5 ms of its connect, at 10,000 connects a second). Other
    /// events wait, in order, until the pending fold is done. Read the store only
    /// when nothing is [`Self::pending`].
    pub fn fold(&mut self, event: Event) {
        let between = matches!(event.payload, Payload::SocketsClosed(_) | Payload::SocketOwners(_));
        if !between && self.pending() {
            self.deferred.push_back(event);
            return;
        }
        self.fold_now(event);
    }

    fn fold_now(&mut self, event: Event) {
        let was_pending = self.connections.pending();
        let at = event.stamp();
        let Event { source, payload, .. } = event;
        match payload {
            Payload::Network(table) => {
                self.apply_network(at, table);
                let addresses = self.interfaces.values().flat_map(|entry| {
                    entry.info.addresses.iter().map(move |address| (address.address, entry.info.index))
                });
                for notice in self.connections.apply_addresses(addresses) {
                    self.timeline.push(at, source, notice);
                }
            }
            Payload::Counters(samples) => {
                for (index, stats) in samples {
                    if let Some(entry) = self.interfaces.get_mut(&index) {
                        entry.sample(at, stats, &self.limits);
                    }
                }
            }
            Payload::Notices(notices) => {
                for notice in notices {
                    self.timeline.push(at, source, notice);
                }
            }
            Payload::Status(status) => self.apply_status(at, status),
            Payload::System(facts) => self.system = facts,
            Payload::SelfUsage(usage) => self.usage = usage,
            Payload::Sockets(table) => {
                for notice in self.connections.begin_table(at, table) {
                    self.timeline.push(at, source, notice);
                }
            }
            Payload::SocketsClosed(sockets) => self.connections.fold_closed(at, sockets),
            Payload::SocketOwners(closed) => self.connections.fold_owners(at, closed),
            Payload::Flows(sample) => self.connections.apply_flows(&sample),
            Payload::Capture(totals) => self.apply_capture(totals),
            Payload::Names(answers) => self.connections.apply_names(answers),
            Payload::Paths(paths) => {
                self.path_history.fold(at.wall, &paths);
                self.paths = paths;
            }
            Payload::RouteLookup(report) => self.route_lookup = Some(report),
            Payload::DnsConfig(report) => {
                for notice in self.dns.apply_config(report) {
                    self.timeline.push(at, source, notice);
                }
            }
            Payload::DnsTrace(trace) => {
                for notice in self.dns.apply_trace(*trace, at.mono) {
                    self.timeline.push(at, source, notice);
                }
            }
            Payload::DnsQueries(batch) => self.dns.apply_queries(batch, at.mono),
            Payload::Dns64(report) => {
                for notice in self.dns.apply_dns64(report) {
                    self.timeline.push(at, source, notice);
                }
            }
            Payload::Kernel(counters) => self.kernel.fold(at.mono, *counters, self.limits.min_rate_interval),
        }
        if !was_pending && self.connections.pending() {
            self.work_source = source;
        }
        self.generation = self.generation.wrapping_add(1);
        self.updated_at = Some(at.wall);
        self.updated_mono = Some(at.mono);
    }

    /// Whether a fold is in progress: the store is only half way through an event
    /// until [`Self::work`] finishes it.
    #[must_use]
    pub fn pending(&self) -> bool {
        self.connections.pending() || !self.deferred.is_empty()
    }

    /// Go on with the pending fold, and the events that wait for it, until `stop`
    /// says so (it is asked every few dozen connections) or nothing is left; whether
    /// some is left.
    pub fn work(&mut self, stop: &mut dyn FnMut() -> bool) -> bool {
        while self.pending() {
            if self.connections.pending() {
                for (at, notice) in self.connections.work(stop) {
                    self.timeline.push(at, self.work_source, notice);
                }
                if self.connections.pending() {
                    return true;
                }
                self.generation = self.generation.wrapping_add(1);
            }
            // What waited, up to the next event that starts a fold of its own.
            while !self.connections.pending()
                && let Some(event) = self.deferred.pop_front()
            {
                self.fold_now(event);
            }
        }
        false
    }

    /// [`Self::work`] for about `slice` of wall-clock time.
    pub fn work_for(&mut self, slice: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + slice;
        self.work(&mut || std::time::Instant::now() >= deadline)
    }

    fn apply_network(&mut self, at: Stamp, table: NetworkTable) {
        let NetworkTable { interfaces, routes, rules, neighbors } = table;
        let mut next = BTreeMap::new();
        for mut info in interfaces {
            let stats = info.stats.take();
            let mut entry = match self.interfaces.remove(&info.index) {
                Some(mut entry) => {
                    info.stats = entry.info.stats;
                    entry.info = info;
                    entry
                }
                None => InterfaceEntry::new(info, at.wall, self.limits.history_capacity),
            };
            if let Some(stats) = stats {
                entry.sample(at, stats, &self.limits);
            }
            next.insert(entry.info.index, entry);
        }
        self.interfaces = next;
        self.routes = routes;
        self.rules = rules;
        self.neighbors = neighbors;
    }

    fn apply_status(&mut self, at: Stamp, status: SourceStatus) {
        let changed = self.sources.get(&status.name).is_none_or(|old| old != &status);
        if changed {
            let notice = Notice::new(
                crate::model::TimelineKind::SourceStatus,
                status.name.as_str(),
                format!("{} source {}: {}", status.name.as_str(), status.status.as_str(), status.detail),
            );
            self.timeline.push(at, status.name, notice);
            self.sources.insert(status.name, status);
        }
    }

    /// Every target's path: the default paths first, then user targets in the order given.
    #[must_use]
    pub fn paths(&self) -> &[PathState] {
        &self.paths
    }

    /// Every watched target's verdicts over time (status, RTT, loss per paths table).
    #[must_use]
    pub const fn path_history(&self) -> &PathHistory {
        &self.path_history
    }

    /// The path of the target written `target` (canonical form).
    #[must_use]
    pub fn path(&self, target: &str) -> Option<&PathState> {
        self.paths.iter().find(|path| path.target == target)
    }

    /// The answer to the latest interactive route lookup.
    #[must_use]
    pub const fn route_lookup(&self) -> Option<&RouteLookupReport> {
        self.route_lookup.as_ref()
    }

    /// The DNS section: configuration, traces, the passive log and server health.
    #[must_use]
    pub const fn dns(&self) -> &Dns {
        &self.dns
    }

    /// The worst current DNS state (a server timing out, else one answering with
    /// errors, …) over the last [`RECENT_WINDOW`] before the last event: what the DNS
    /// summary and the status bar show.
    #[must_use]
    pub fn dns_state(&self) -> DnsState {
        self.updated_mono.map_or(DnsState::Quiet, |now| self.dns.state_at(now))
    }

    /// Host facts.
    #[must_use]
    pub const fn system(&self) -> &SystemFacts {
        &self.system
    }

    /// netlens's own resource use.
    #[must_use]
    pub const fn usage(&self) -> ProcessUsage {
        self.usage
    }

    /// Open and recently closed findings.
    #[must_use]
    pub const fn findings(&self) -> &crate::findings::Findings {
        &self.findings
    }

    /// Hold the findings a snapshot lists (`netlens open`): no event carries them, and
    /// the store of an opened snapshot evaluates nothing.
    pub fn restore_findings(&mut self, findings: Vec<crate::model::Finding>) {
        self.findings.restore(findings);
    }

    /// Use `config` (the `[findings]` settings) from the next evaluation on.
    pub fn set_findings_config(&mut self, config: crate::findings::FindingsConfig) {
        self.findings = crate::findings::Findings::new(config);
    }

    /// Evaluate every rule at `now`, unless one ran within
    /// [`crate::findings::EVALUATE_EVERY`]: a flood of events costs one evaluation per
    /// period. Findings that open or close go on the timeline. Call it when nothing is
    /// [`Self::pending`].
    pub fn evaluate_findings(&mut self, now: Stamp) {
        if !self.findings.due(now.mono) {
            return;
        }
        let verdicts: Vec<_> = crate::findings::RULES
            .iter()
            .map(|rule| {
                let config = self.findings.config().for_rule(rule);
                let verdict = if config.enabled {
                    (rule.evaluate)(self, &config)
                } else {
                    crate::findings::Verdict::NotApplicable
                };
                (rule, config, verdict)
            })
            .collect();
        for (rule, config, verdict) in verdicts {
            for notice in self.findings.update(rule, &config, verdict, now) {
                self.timeline.push(now, SourceId::App, notice);
            }
        }
    }

    /// The kernel's protocol counters and their changes.
    #[must_use]
    pub const fn kernel(&self) -> &KernelState {
        &self.kernel
    }

    /// Interfaces in index order.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn interfaces(&self) -> impl DoubleEndedIterator<Item = &InterfaceEntry> + ExactSizeIterator {
        self.interfaces.values()
    }

    /// Number of interfaces.
    #[must_use]
    pub fn interface_count(&self) -> usize {
        self.interfaces.len()
    }

    /// The interface with this index.
    #[must_use]
    pub fn interface(&self, index: u32) -> Option<&InterfaceEntry> {
        self.interfaces.get(&index)
    }

    /// The interface with this name, if any holds it now.
    #[must_use]
    pub fn interface_by_name(&self, name: &str) -> Option<&InterfaceEntry> {
        self.interfaces.values().find(|entry| entry.info.name == name)
    }

    /// Routes of every table.
    #[must_use]
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Policy rules.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Neighbour entries.
    #[must_use]
    pub fn neighbors(&self) -> &[Neighbor] {
        &self.neighbors
    }

    /// Sources and their health, in a stable order.
    pub fn sources(&self) -> impl Iterator<Item = &SourceStatus> {
        self.sources.values()
    }

    /// The status of one source.
    #[must_use]
    pub fn source(&self, id: SourceId) -> Option<&SourceStatus> {
        self.sources.get(&id)
    }

    /// Sockets, their processes and derived facts.
    #[must_use]
    pub const fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The event timeline.
    #[must_use]
    pub const fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Counts every applied event; changes whenever the state may have changed.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// When the last event was applied (wall clock: for display).
    #[must_use]
    pub const fn updated_at(&self) -> Option<Timestamp> {
        self.updated_at
    }

    /// When the last event was applied, on the monotonic clock: the `now` to measure
    /// ages with (see [`ConnectionEntry::lifetime`]).
    #[must_use]
    pub const fn updated_mono(&self) -> Option<Mono> {
        self.updated_mono
    }

    /// The main table's preferred default route of a family (lowest metric), the one
    /// traffic without a more specific route or policy rule takes.
    #[must_use]
    pub fn default_route(&self, family: AddressFamily) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|route| {
                route.family == family
                    && route.is_default()
                    && route.table == 254
                    && route.route_type == crate::model::RouteType::Unicast
            })
            .min_by_key(|route| route.metric.unwrap_or(0))
    }
}

#[cfg(test)]
mod clock_steps;
#[cfg(test)]
mod tests;
