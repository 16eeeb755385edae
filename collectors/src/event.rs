//! The events collectors send to the app task, which folds them into the [`Store`].
//!
//! [`Store`]: crate::store::Store

use crate::clock::{Mono, Stamp};
use crate::model::{
    CaptureTotals, ClosedOwners, Dns64Report, DnsConfigReport, DnsQueryBatch, DnsTrace, FlowSample, Fold,
    FoldFrom, InterfaceStats, KernelCounters, NetworkTable, PathState, ProcessUsage, RouteLookupReport,
    Socket, SocketTable, SourceId, SourceStatus, SystemFacts, TimelineKind, Timestamp,
};

/// One state change, stamped with when it was observed and by which source.
///
/// Two clocks stamp it: the wall clock for people (display and export), the
/// monotonic one for every duration the store measures (rates, stalls, bursts,
/// retention), so a wall clock stepped back or forward changes no rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Wall-clock time of the observation: shown and exported, never subtracted.
    pub at: Timestamp,
    /// Monotonic time of the observation: what the store measures intervals on.
    pub mono: Mono,
    /// The source that observed it.
    pub source: SourceId,
    /// What was observed.
    pub payload: Payload,
}

impl Event {
    /// An event observed now.
    #[must_use]
    pub fn now(source: SourceId, payload: Payload) -> Self {
        Self { at: Timestamp::now_utc(), mono: Mono::now(), source, payload }
    }

    /// An event observed at a given moment on both clocks (tests, scripts, replays).
    #[must_use]
    pub const fn stamped(at: Timestamp, mono: Mono, source: SourceId, payload: Payload) -> Self {
        Self { at, mono, source, payload }
    }

    /// Both clocks' readings of the observation.
    #[must_use]
    pub const fn stamp(&self) -> Stamp {
        Stamp { wall: self.at, mono: self.mono }
    }
}

/// A change worth a line on the timeline, before the store stamps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// What kind of change.
    pub kind: TimelineKind,
    /// What it happened to (interface name, prefix, …).
    pub subject: String,
    /// The sentence a user reads, e.g. `eth0 carrier lost`.
    pub detail: String,
    /// Routine churn: fold into the recent line about the same thing (see [`Fold`]).
    pub fold: Option<Fold>,
}

impl Notice {
    /// A notice from its parts.
    pub fn new(kind: TimelineKind, subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { kind, subject: subject.into(), detail: detail.into(), fold: None }
    }

    /// The notice, folding into the line about `key` while `window` lasts.
    #[must_use]
    pub fn folded(self, key: impl Into<String>, window: time::Duration, from: FoldFrom) -> Self {
        Self { fold: Some(Fold { key: key.into(), window, from }), ..self }
    }
}

/// What an event carries. Sources send owned data; a full table travels as one event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Payload {
    /// A complete re-read of links, addresses, routes, rules and neighbours.
    Network(NetworkTable),
    /// Counter samples per interface index, from the periodic stats poll.
    Counters(Vec<(u32, InterfaceStats)>),
    /// Changes for the timeline, in the order they were seen.
    Notices(Vec<Notice>),
    /// A source's health changed.
    Status(SourceStatus),
    /// Fresh host facts.
    System(SystemFacts),
    /// netlens's own CPU and memory use.
    SelfUsage(ProcessUsage),
    /// A complete socket dump with owners; sockets missing from it have closed.
    Sockets(SocketTable),
    /// Sockets the kernel reported destroyed (with their final counters), between dumps.
    SocketsClosed(Vec<Socket>),
    /// Owners of sockets just reported closed, from the BPF book (by cookie).
    SocketOwners(ClosedOwners),
    /// Per-flow byte counts from packet capture.
    Flows(FlowSample),
    /// The kernel's packet and drop counters of the capture rings, accumulated.
    Capture(CaptureTotals),
    /// Reverse-DNS answers: the name of an address, or `None` when it has none.
    Names(Vec<(std::net::IpAddr, Option<String>)>),
    /// Every target's path, after an evaluation (a full table: targets missing are gone).
    Paths(Vec<PathState>),
    /// The kernel's answer to an interactive route lookup.
    RouteLookup(RouteLookupReport),
    /// The resolver configuration, re-read (at start and after every change).
    DnsConfig(DnsConfigReport),
    /// A finished trace.
    DnsTrace(Box<DnsTrace>),
    /// Exchanges seen by passive capture since the last batch.
    DnsQueries(DnsQueryBatch),
    /// The outcome of NAT64 detection.
    Dns64(Dns64Report),
    /// A reading of the kernel's protocol counters.
    Kernel(Box<KernelCounters>),
}
