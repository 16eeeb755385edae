//! The connections section of the store: sockets folded from `sock_diag` dumps and
//! destroy events, their rates, short histories, warnings and burst labels, and the
//! processes that own them. Closed connections stay visible for a bounded time.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::event::Notice;
use crate::history::Ring;
use crate::model::{
    FlowSample, ProcessInfo, Protocol, RouteMove, Socket, SocketState, SocketTable, TimelineKind, TimerKind,
    Timestamp,
};

/// Thresholds and capacities of the connections section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Receive and send rates of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ConnectionRates {
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent (and acknowledged, for TCP) per second.
    pub tx_bytes_per_s: f64,
}

/// One sample for a connection's sparklines; `f32` keeps 10,000 histories small.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectionSample {
    /// Smoothed RTT, milliseconds (TCP), or NaN.
    pub rtt_ms: f32,
    /// Bytes received per second.
    pub rx_bytes_per_s: f32,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f32,
}

/// Samples compare by their bits: an RTT of NaN ("none", for UDP) equals itself, so a
/// store folded twice from the same events compares equal.
impl PartialEq for ConnectionSample {
    fn eq(&self, other: &Self) -> bool {
        self.rtt_ms.to_bits() == other.rtt_ms.to_bits()
            && self.rx_bytes_per_s.to_bits() == other.rx_bytes_per_s.to_bits()
            && self.tx_bytes_per_s.to_bits() == other.tx_bytes_per_s.to_bits()
    }
}

/// Warning flags of a connection; each is raised on the timeline once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnectionWarnings(pub u8);

impl ConnectionWarnings {
    /// Retransmitting with no acknowledged progress.
    pub const STALLED: Self = Self(1);
    /// Stuck in `syn_sent`.
    pub const LONG_SYN_SENT: Self = Self(2);
    /// The peer advertises a zero receive window.
    pub const ZERO_WINDOW: Self = Self(4);
    /// Many of the bytes sent were retransmissions.
    pub const HIGH_RETRANSMITS: Self = Self(8);
    /// The owning process is close to its open-file limit.
    pub const NEAR_FD_LIMIT: Self = Self(16);
    /// A fresh route lookup for the remote leaves through another interface or from
    /// another source than this connection (a VPN came up after it started).
    pub const ROUTE_MOVED: Self = Self(32);
    /// Its local address is no longer on any interface.
    pub const ORPHANED: Self = Self(64);

    /// Warnings that state a fact rather than a problem: shown like labels, not
    /// counted as warned (a moved route is normal after a VPN comes up).
    pub const INFORMATIONAL: Self = Self::ROUTE_MOVED;

    /// Every warning with its schema name, in display order.
    pub const ALL: [(Self, &'static str); 7] = [
        (Self::STALLED, "stalled"),
        (Self::LONG_SYN_SENT, "long_syn_sent"),
        (Self::ZERO_WINDOW, "zero_window"),
        (Self::HIGH_RETRANSMITS, "high_retransmits"),
        (Self::NEAR_FD_LIMIT, "near_fd_limit"),
        (Self::ORPHANED, "orphaned"),
        (Self::ROUTE_MOVED, "route_moved"),
    ];

    /// Whether every bit of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no warning is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The warning with this schema name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|(_, known)| *known == name).map(|(flag, _)| flag)
    }

    /// Whether the warning named so states a fact rather than a problem.
    #[must_use]
    pub fn is_informational(name: &str) -> bool {
        Self::from_name(name).is_some_and(|flag| Self::INFORMATIONAL.contains(flag))
    }

    /// The set warnings that signal a problem (all but [`Self::INFORMATIONAL`]).
    #[must_use]
    pub const fn alarming(self) -> Self {
        Self(self.0 & !Self::INFORMATIONAL.0)
    }

    /// The names of the set warnings.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().filter(move |(flag, _)| self.contains(*flag)).map(|(_, name)| name)
    }
}

/// A label that explains a connection without raising an alarm (DESIGN.md §1, note 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionLabel {
    /// One of `count` short connections from one process to one host within a second
    /// (retries, a port scan, a chatty client).
    Burst {
        /// Connections in the burst.
        count: u32,
    },
    /// The losing attempt of a dual-stack (Happy Eyeballs) race: normal.
    AlsoRan,
}

impl ConnectionLabel {
    /// The label as shown and exported.
    #[must_use]
    pub fn text(self) -> String {
        match self {
            Self::Burst { count } => format!("burst of {count} short connections"),
            Self::AlsoRan => "happy eyeballs also-ran".to_owned(),
        }
    }
}

/// A connection with everything netlens derived about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionEntry {
    /// The latest kernel facts (the final ones, once closed).
    pub socket: Socket,
    /// Owning process, when known.
    pub pid: Option<u32>,
    /// When netlens first saw it.
    pub first_seen: Timestamp,
    /// When it opened, if netlens saw it open (`None`: it predates netlens).
    pub opened_at: Option<Timestamp>,
    /// When it closed, if it has.
    pub closed_at: Option<Timestamp>,
    /// Current rates, once two samples exist.
    pub rates: Option<ConnectionRates>,
    /// Recent samples, oldest first.
    pub history: Ring<ConnectionSample>,
    /// Warnings raised so far.
    pub warnings: ConnectionWarnings,
    /// An explanatory label, if any.
    pub label: Option<ConnectionLabel>,
    /// How its route moved, as last seen (kept once raised, like the warning).
    pub route_move: Option<RouteMove>,
    /// Whether the kernel reported the close (a destroy event) rather than a dump
    /// merely missing the socket: dumps of a changing table can skip live sockets.
    closed_by_kernel: bool,
    baseline: Option<(Timestamp, u64, u64)>,
    /// When `bytes_acked` last advanced (or the connection was first seen).
    progress: Option<(Timestamp, u64)>,
}

impl ConnectionEntry {
    fn new(socket: Socket, at: Timestamp, opened: bool, capacity: usize) -> Self {
        Self {
            socket,
            pid: None,
            first_seen: at,
            opened_at: opened.then_some(at),
            closed_at: None,
            rates: None,
            history: Ring::new(capacity),
            warnings: ConnectionWarnings::default(),
            label: None,
            route_move: None,
            closed_by_kernel: false,
            baseline: None,
            progress: None,
        }
    }

    /// Mark closed at `at`; a closed connection has no current rate (its final
    /// counters stay in the socket).
    fn close(&mut self, at: Timestamp, by_kernel: bool) {
        if self.closed_at.is_none() {
            self.closed_at = Some(at);
            self.rates = None;
        }
        self.closed_by_kernel |= by_kernel;
    }

    /// Take newer kernel facts. A `time_wait` or destroyed socket carries no owner
    /// and often no TCP statistics: the connection's last known ones stay.
    fn update(&mut self, socket: Socket) {
        let tcp = self.socket.tcp;
        let congestion = self.socket.congestion.take();
        let inode = self.socket.inode;
        self.socket = socket;
        if self.socket.tcp.is_none() {
            self.socket.tcp = tcp;
        }
        if self.socket.congestion.is_none() {
            self.socket.congestion = congestion;
        }
        if self.socket.inode == 0 {
            self.socket.inode = inode;
        }
    }

    /// What a raised warning means for this connection in particular, where that says
    /// more than the warning's name: the interfaces and addresses of a moved route,
    /// the address an orphaned connection lost.
    #[must_use]
    pub fn warning_detail(&self, name: &str) -> Option<String> {
        match name {
            "route_moved" => self.route_move.as_ref().map(RouteMove::text),
            "orphaned" if self.warnings.contains(ConnectionWarnings::ORPHANED) => Some(format!(
                "its local address {} was removed from every interface",
                self.socket.local.ip().to_canonical()
            )),
            _ => None,
        }
    }

    /// How long it has existed as far as netlens knows, at `now`.
    #[must_use]
    pub fn age(&self, now: Timestamp) -> time::Duration {
        self.closed_at.unwrap_or(now) - self.opened_at.unwrap_or(self.first_seen)
    }

    /// Whether it opened and closed within `window`.
    fn short_lived(&self, window: time::Duration) -> bool {
        match (self.opened_at, self.closed_at) {
            (Some(opened), Some(closed)) => closed - opened <= window,
            // Seen only by its destroy event: it lived between two dumps.
            (None, Some(closed)) => closed == self.first_seen,
            _ => false,
        }
    }

    /// Fold a TCP counter reading into the rates and the history.
    fn sample_tcp(&mut self, at: Timestamp) {
        let Some(tcp) = self.socket.tcp else { return };
        let rx = tcp.bytes_received.unwrap_or(0);
        let tx = tcp.bytes_acked.unwrap_or(0);
        if let Some((then, old_rx, old_tx)) = self.baseline {
            let elapsed = (at - then).as_seconds_f64();
            if elapsed < 0.2 {
                return;
            }
            self.rates = (rx >= old_rx && tx >= old_tx).then(|| ConnectionRates {
                rx_bytes_per_s: (rx - old_rx) as f64 / elapsed,
                tx_bytes_per_s: (tx - old_tx) as f64 / elapsed,
            });
        }
        self.baseline = Some((at, rx, tx));
        let rates = self.rates.unwrap_or_default();
        self.history.push(ConnectionSample {
            rtt_ms: tcp.rtt_ms as f32,
            rx_bytes_per_s: rates.rx_bytes_per_s as f32,
            tx_bytes_per_s: rates.tx_bytes_per_s as f32,
        });
    }

    /// The warnings that hold now, from the latest facts.
    fn current_warnings(
        &mut self,
        at: Timestamp,
        limits: &ConnectionLimits,
        fd_pressure: bool,
    ) -> ConnectionWarnings {
        let mut warnings = 0;
        if let Some(tcp) = self.socket.tcp {
            let acked = tcp.bytes_acked.unwrap_or(0);
            let since = match self.progress {
                Some((since, old)) if old == acked => since,
                _ => at,
            };
            self.progress = Some((since, acked));
            let retransmitting = tcp.retransmits > 0 || tcp.lost > 0;
            if self.socket.state == SocketState::Established
                && retransmitting
                && at - since >= limits.stall_after
            {
                warnings |= ConnectionWarnings::STALLED.0;
            }
            let zero_window = tcp.snd_wnd == Some(0)
                || self.socket.timer.is_some_and(|timer| timer.kind == TimerKind::ZeroWindowProbe);
            if zero_window && self.socket.state == SocketState::Established {
                warnings |= ConnectionWarnings::ZERO_WINDOW.0;
            }
            let sent = tcp.bytes_sent.unwrap_or(0);
            let retrans = tcp.bytes_retrans.unwrap_or(0);
            // A ratio over a few packets means nothing: wait for 64 KB.
            if sent >= 64 * 1024 && retrans * 10 > sent {
                warnings |= ConnectionWarnings::HIGH_RETRANSMITS.0;
            }
        }
        if self.socket.state == SocketState::SynSent && at - self.first_seen >= limits.syn_sent_after {
            warnings |= ConnectionWarnings::LONG_SYN_SENT.0;
        }
        if fd_pressure {
            warnings |= ConnectionWarnings::NEAR_FD_LIMIT.0;
        }
        ConnectionWarnings(warnings)
    }
}

/// Socket counts per state, for headers and the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionCounts {
    /// Open TCP sockets.
    pub tcp: usize,
    /// Open UDP sockets.
    pub udp: usize,
    /// Established (TCP and connected UDP).
    pub established: usize,
    /// Listening.
    pub listen: usize,
    /// Connecting (`syn_sent`, `syn_recv`).
    pub connecting: usize,
    /// Closing (`fin_wait*`, `close_wait`, `last_ack`, `closing`).
    pub closing: usize,
    /// In `time_wait`.
    pub time_wait: usize,
    /// Unconnected UDP.
    pub unconnected: usize,
    /// Closed and still shown.
    pub closed: usize,
    /// Open connections with a warning that signals a problem (informational ones,
    /// like a moved route, are not counted).
    pub warned: usize,
}

/// The connections section.
#[derive(Debug, Clone, PartialEq)]
pub struct Connections {
    limits: ConnectionLimits,
    entries: HashMap<u64, ConnectionEntry>,
    processes: HashMap<u32, ProcessInfo>,
    counts: ConnectionCounts,
    all_owners_visible: bool,
    dumps: u64,
    /// When each (pid, remote host) last raised a burst notice, to raise it once.
    bursts_noticed: HashMap<BurstKey, Timestamp>,
    /// Reverse-DNS names of remote addresses (`None`: looked up, has none).
    names: HashMap<IpAddr, Option<String>>,
    /// Route moves of the latest dump, by (local, remote) address.
    moves: HashMap<(IpAddr, IpAddr), RouteMove>,
    /// Every interface address with the interfaces holding it, from the latest
    /// network table; `None` until one arrives (nothing is orphaned before).
    addresses: Option<HashMap<IpAddr, Vec<u32>>>,
}

/// Short connections are grouped by owner and remote host.
type BurstKey = (Option<u32>, IpAddr);

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
            entries: HashMap::new(),
            processes: HashMap::new(),
            counts: ConnectionCounts::default(),
            all_owners_visible: true,
            dumps: 0,
            bursts_noticed: HashMap::new(),
            names: HashMap::new(),
            moves: HashMap::new(),
            addresses: None,
        }
    }

    /// Fold the interface addresses of a new network table, `(address, interface
    /// index)`: connections whose local address went are orphaned. Returns the
    /// notices it raises.
    pub fn apply_addresses(&mut self, addresses: impl IntoIterator<Item = (IpAddr, u32)>) -> Vec<Notice> {
        let mut by_address: HashMap<IpAddr, Vec<u32>> = HashMap::new();
        for (address, index) in addresses {
            by_address.entry(address.to_canonical()).or_default().push(index);
        }
        self.addresses = Some(by_address);
        let limits = self.limits;
        let mut raised: Vec<(u64, Notice)> = Vec::new();
        for entry in self.entries.values_mut().filter(|e| e.closed_at.is_none()) {
            let now = linkage_warnings(entry, &self.moves, self.addresses.as_ref());
            raise(entry, now, &self.processes, &limits, &mut raised);
        }
        raised.sort_by_key(|(cookie, _)| *cookie);
        self.recount();
        raised.into_iter().map(|(_, notice)| notice).collect()
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

    /// Fold one complete dump; returns the notices it raises.
    pub fn apply_table(&mut self, at: Timestamp, table: SocketTable) -> Vec<Notice> {
        let SocketTable { sockets, owners, processes, all_owners_visible, route_moves } = table;
        self.moves = route_moves.into_iter().map(|moved| ((moved.local, moved.remote), moved)).collect();
        let owners: HashMap<u64, u32> = owners.into_iter().collect();
        self.processes = processes.into_iter().map(|process| (process.pid, process)).collect();
        self.all_owners_visible = all_owners_visible;
        let opened = self.dumps > 0;
        self.dumps += 1;
        let capacity = self.limits.history_capacity;
        let mut seen = std::collections::HashSet::with_capacity(sockets.len());
        for socket in sockets {
            seen.insert(socket.cookie);
            let pid = owners.get(&socket.inode).copied();
            match self.entries.get_mut(&socket.cookie) {
                // Back in a dump: it was only skipped by an earlier one (a dump of a
                // changing table can miss live sockets), or a connection the kernel
                // destroyed left its `time_wait` remnant under the same cookie.
                Some(entry)
                    if entry.closed_at.is_none()
                        || !entry.closed_by_kernel
                        || socket.state == SocketState::TimeWait =>
                {
                    entry.closed_at = None;
                    entry.closed_by_kernel = false;
                    // A socket with an inode has the owner the index says now (it may
                    // have been handed to a child); a `time_wait` remnant keeps its last.
                    entry.pid = if socket.inode == 0 { pid.or(entry.pid) } else { pid };
                    entry.update(socket);
                }
                Some(_) => {}
                None => {
                    let mut entry = ConnectionEntry::new(socket, at, opened, capacity);
                    entry.pid = pid;
                    self.entries.insert(entry.socket.cookie, entry);
                }
            }
        }
        // A request socket (a handshake in the accept queue) ends by becoming a new
        // socket with its own cookie: its vanishing is no close, and no burst.
        self.entries
            .retain(|cookie, entry| entry.socket.state != SocketState::NewSynRecv || seen.contains(cookie));
        for entry in self.entries.values_mut() {
            if entry.closed_at.is_none() && !seen.contains(&entry.socket.cookie) {
                entry.close(at, false);
            }
        }
        let notices = self.refresh(at);
        self.retire(at);
        notices
    }

    /// Fold destroy events: sockets closed (with final counters) between dumps.
    pub fn apply_closed(&mut self, at: Timestamp, sockets: Vec<Socket>) -> Vec<Notice> {
        let capacity = self.limits.history_capacity;
        for socket in sockets {
            let entry = self
                .entries
                .entry(socket.cookie)
                .or_insert_with(|| ConnectionEntry::new(socket.clone(), at, false, capacity));
            // The destroy event carries the final counters, also when a dump already
            // noticed the socket gone; the close time stays the first one seen.
            entry.update(socket);
            entry.close(at, true);
        }
        let notices = self.label_bursts(at);
        self.recount();
        notices
    }

    /// Fold per-flow byte counts: rates for UDP sockets, which `sock_diag` has no
    /// counters for. A flow matches a connected socket by both ends, an unconnected
    /// one by its local port (and address, unless bound to any).
    pub fn apply_flows(&mut self, sample: &FlowSample) {
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
        for entry in
            self.entries.values_mut().filter(|e| e.socket.protocol == Protocol::Udp && e.closed_at.is_none())
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

    /// Rates, warnings and labels after a dump.
    fn refresh(&mut self, at: Timestamp) -> Vec<Notice> {
        let limits = self.limits;
        // Collected with their cookies and sorted, so the timeline order does not
        // depend on the hash map's.
        let mut raised: Vec<(u64, Notice)> = Vec::new();
        for entry in self.entries.values_mut().filter(|e| e.closed_at.is_none()) {
            entry.sample_tcp(at);
            let fd_pressure = entry.pid.and_then(|pid| self.processes.get(&pid)).is_some_and(near_fd_limit);
            let now = entry.current_warnings(at, &limits, fd_pressure);
            let linked = linkage_warnings(entry, &self.moves, self.addresses.as_ref());
            raise(entry, ConnectionWarnings(now.0 | linked.0), &self.processes, &limits, &mut raised);
        }
        raised.sort_by_key(|(cookie, _)| *cookie);
        let mut notices: Vec<Notice> = raised.into_iter().map(|(_, notice)| notice).collect();
        notices.extend(self.label_bursts(at));
        self.recount();
        notices
    }

    /// Label short connections from one process to one host: a dual-stack race's
    /// loser as an also-ran, several opened within the burst window as a burst (one
    /// notice per burst).
    fn label_bursts(&mut self, at: Timestamp) -> Vec<Notice> {
        let window = self.limits.burst_window;
        // Lasting connections by (owner, remote port, family): what an also-ran lost to.
        let mut lasting: HashMap<(Option<u32>, u16, bool), Vec<Timestamp>> = HashMap::new();
        for entry in
            self.entries.values().filter(|e| e.socket.protocol == Protocol::Tcp && e.closed_at.is_none())
        {
            if let Some(opened) = entry.opened_at {
                let key = (entry.pid, entry.socket.remote.port(), entry.socket.remote.is_ipv6());
                lasting.entry(key).or_default().push(opened);
            }
        }
        let mut groups: HashMap<BurstKey, Vec<(Timestamp, u64)>> = HashMap::new();
        for entry in
            self.entries.values_mut().filter(|e| e.socket.protocol == Protocol::Tcp && e.short_lived(window))
        {
            let opened = entry.opened_at.unwrap_or(entry.first_seen);
            let rival = (entry.pid, entry.socket.remote.port(), !entry.socket.remote.is_ipv6());
            if lasting
                .get(&rival)
                .is_some_and(|winners| winners.iter().any(|w| (*w - opened).abs() <= window))
            {
                entry.label = Some(ConnectionLabel::AlsoRan);
            }
            groups
                .entry((entry.pid, entry.socket.remote.ip()))
                .or_default()
                .push((opened, entry.socket.cookie));
        }
        let mut notices = Vec::new();
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(key, _)| *key);
        for ((pid, host), mut opened) in groups {
            let burst = densest_cluster(&mut opened, window);
            if burst.len() < self.limits.burst_min {
                continue;
            }
            let count = burst.len() as u32;
            for cookie in &burst {
                if let Some(entry) = self.entries.get_mut(cookie)
                    && entry.label != Some(ConnectionLabel::AlsoRan)
                {
                    entry.label = Some(ConnectionLabel::Burst { count });
                }
            }
            let recent = self
                .bursts_noticed
                .get(&(pid, host))
                .is_some_and(|then| at - *then < self.limits.closed_retention);
            if !recent {
                self.bursts_noticed.insert((pid, host), at);
                let who = pid.and_then(|pid| self.processes.get(&pid)).map_or_else(
                    || pid.map_or_else(|| "an unknown process".to_owned(), |pid| format!("pid {pid}")),
                    |process| format!("{} ({})", process.name, process.pid),
                );
                notices.push(Notice::new(
                    TimelineKind::ConnectionBurst,
                    host.to_string(),
                    format!("{who} opened and closed {count} connections to {host} within a second (retries, a scan or a chatty client; not an error)"),
                ));
            }
        }
        let retention = self.limits.closed_retention;
        self.bursts_noticed.retain(|_, then| at - *then < retention);
        notices
    }

    /// Drop connections closed longer ago than the retention.
    fn retire(&mut self, at: Timestamp) {
        let retention = self.limits.closed_retention;
        self.entries.retain(|_, entry| entry.closed_at.is_none_or(|closed| at - closed <= retention));
        // Heavy churn must not grow memory with the connection rate: past the cap, the
        // longest closed go first.
        let mut closed: Vec<(Timestamp, u64)> =
            self.entries.values().filter_map(|e| e.closed_at.map(|at| (at, e.socket.cookie))).collect();
        if closed.len() > MAX_CLOSED {
            closed.sort_unstable();
            for (_, cookie) in &closed[..closed.len() - MAX_CLOSED] {
                self.entries.remove(cookie);
            }
        }
        self.recount();
    }

    fn recount(&mut self) {
        let mut counts = ConnectionCounts::default();
        for entry in self.entries.values() {
            if entry.closed_at.is_some() {
                counts.closed += 1;
                continue;
            }
            match entry.socket.protocol {
                Protocol::Tcp => counts.tcp += 1,
                Protocol::Udp => counts.udp += 1,
            }
            match entry.socket.state {
                SocketState::Established => counts.established += 1,
                SocketState::Listen => counts.listen += 1,
                SocketState::SynSent | SocketState::SynRecv | SocketState::NewSynRecv => {
                    counts.connecting += 1;
                }
                SocketState::TimeWait => counts.time_wait += 1,
                SocketState::Unconnected => counts.unconnected += 1,
                state if state.is_closing() => counts.closing += 1,
                _ => {}
            }
            if !entry.warnings.alarming().is_empty() {
                counts.warned += 1;
            }
        }
        self.counts = counts;
    }

    /// Every connection, open and recently closed, in no particular order.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &ConnectionEntry> {
        self.entries.values()
    }

    /// The connection with this socket cookie.
    #[must_use]
    pub fn get(&self, cookie: u64) -> Option<&ConnectionEntry> {
        self.entries.get(&cookie)
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
/// The cookies of the largest set of connections opened within `window` of each other.
fn densest_cluster(opened: &mut [(Timestamp, u64)], window: time::Duration) -> Vec<u64> {
    opened.sort_unstable();
    let mut best = 0..0;
    let mut start = 0;
    for end in 0..opened.len() {
        while opened[end].0 - opened[start].0 > window {
            start += 1;
        }
        if end + 1 - start > best.len() {
            best = start..end + 1;
        }
    }
    opened[best].iter().map(|(_, cookie)| *cookie).collect()
}

fn local_matches(socket: SocketAddr, flow: SocketAddr) -> bool {
    socket.port() == flow.port()
        && (socket.ip().is_unspecified() || socket.ip().to_canonical() == flow.ip().to_canonical())
}

/// Above 90 % of the soft limit.
fn near_fd_limit(process: &ProcessInfo) -> bool {
    match (process.open_files, process.open_files_limit) {
        (Some(open), Some(limit)) if limit > 0 => open * 10 >= limit * 9,
        _ => false,
    }
}

/// `tcp 10.0.0.1:5000 → 10.0.0.2:80 (curl 1234)`
fn describe(entry: &ConnectionEntry, processes: &HashMap<u32, ProcessInfo>) -> String {
    let socket = &entry.socket;
    let owner = match entry.pid {
        Some(pid) => {
            processes.get(&pid).map_or_else(|| format!(" (pid {pid})"), |p| format!(" ({} {pid})", p.name))
        }
        None => String::new(),
    };
    format!("{} {} → {}{owner}", socket.protocol.as_str(), socket.local, socket.remote)
}

/// Record the warnings in `now` that `entry` has not raised yet, with a timeline
/// notice each (keyed by cookie, for a stable order).
fn raise(
    entry: &mut ConnectionEntry,
    now: ConnectionWarnings,
    processes: &HashMap<u32, ProcessInfo>,
    limits: &ConnectionLimits,
    raised: &mut Vec<(u64, Notice)>,
) {
    let new = ConnectionWarnings(now.0 & !entry.warnings.0);
    if new.is_empty() {
        return;
    }
    entry.warnings = ConnectionWarnings(entry.warnings.0 | now.0);
    let who = describe(entry, processes);
    for name in new.names() {
        raised.push((
            entry.socket.cookie,
            Notice::new(
                TimelineKind::ConnectionWarning,
                entry.socket.remote.to_string(),
                format!("{who}: {}", warning_sentence(entry, name, limits)),
            ),
        ));
    }
}

/// `route_moved` and `orphaned` as they hold now for an open connection; a move
/// also becomes the entry's latest [`RouteMove`]. Only established TCP connections
/// are judged (the connections source reports moves for nothing else).
fn linkage_warnings(
    entry: &mut ConnectionEntry,
    moves: &HashMap<(IpAddr, IpAddr), RouteMove>,
    addresses: Option<&HashMap<IpAddr, Vec<u32>>>,
) -> ConnectionWarnings {
    let socket = &entry.socket;
    if socket.protocol != Protocol::Tcp || socket.state != SocketState::Established {
        return ConnectionWarnings::default();
    }
    let local = socket.local.ip().to_canonical();
    let mut warnings = 0;
    if let Some(moved) = moves.get(&(local, socket.remote.ip().to_canonical())) {
        // Another source on the interface that holds this connection's address (an
        // older IPv6 temporary address, a secondary address) is no move.
        let elsewhere = moved.interface_changed
            || addresses.is_none_or(|addresses| {
                moved
                    .interface_index
                    .is_none_or(|index| addresses.get(&local).is_none_or(|holders| !holders.contains(&index)))
            });
        if elsewhere {
            warnings |= ConnectionWarnings::ROUTE_MOVED.0;
            entry.route_move = Some(moved.clone());
        }
    }
    // No table yet, or an empty one (a source that failed), says nothing; loopback
    // addresses are all on lo (127/8 whole), and a wildcard one is on every interface.
    let orphaned = addresses.is_some_and(|addresses| {
        !addresses.is_empty()
            && !local.is_unspecified()
            && !local.is_loopback()
            && !addresses.contains_key(&local)
    });
    if orphaned {
        warnings |= ConnectionWarnings::ORPHANED.0;
    }
    ConnectionWarnings(warnings)
}

fn warning_sentence(entry: &ConnectionEntry, name: &str, limits: &ConnectionLimits) -> String {
    match name {
        "route_moved" => entry.warning_detail(name).unwrap_or_else(|| "its route moved".to_owned()),
        "orphaned" => format!(
            "its local address {} is no longer on any interface: it cannot send until the address returns",
            entry.socket.local.ip().to_canonical()
        ),
        "stalled" => format!(
            "stalled: retransmitting with no acknowledged progress for {} s",
            limits.stall_after.whole_seconds()
        ),
        "long_syn_sent" => {
            format!("still connecting (syn_sent) after {} s", limits.syn_sent_after.whole_seconds())
        }
        "zero_window" => "the peer's receive window is zero: it is not reading".to_owned(),
        "high_retransmits" => "more than 10 % of the bytes sent were retransmitted".to_owned(),
        "near_fd_limit" => "its process is above 90 % of its open-file limit".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests;
