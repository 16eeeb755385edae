//! Timeline entries and source status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Which collector produced an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceId {
    /// Links, addresses, routes, rules and neighbours (rtnetlink or the portable fallback).
    Interfaces,
    /// Host facts and netlens's own usage.
    System,
    /// Sockets from `sock_diag`, with their processes.
    Connections,
    /// Packet capture (per-flow byte counts for UDP rates).
    Capture,
    /// Reverse DNS for connection remotes.
    ReverseDns,
    /// Path evaluation and probes.
    Paths,
    /// Resolver configuration and traced lookups.
    Dns,
    /// Passive capture of DNS traffic.
    DnsCapture,
    /// netlens itself: exports, configuration, its own errors.
    App,
    /// BPF attribution: who owns a socket, recorded as the process acts.
    Attribution,
    /// The kernel's protocol counters (`/proc/net/snmp`, `netstat`, …).
    Kernel,
}

impl SourceId {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Interfaces => "interfaces",
            Self::System => "system",
            Self::Connections => "connections",
            Self::Capture => "capture",
            Self::ReverseDns => "reverse_dns",
            Self::Paths => "paths",
            Self::Dns => "dns",
            Self::DnsCapture => "dns_capture",
            Self::App => "app",
            Self::Attribution => "attribution",
            Self::Kernel => "kernel",
        }
    }
}

/// The health of a source.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    /// Working as designed.
    Ok,
    /// Working with less than full fidelity (fallback, missing privilege).
    Degraded,
    /// Not working; the detail says why.
    Failed,
    /// Disabled by configuration, or not started yet.
    #[default]
    Off,
}

impl SourceState {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::Off => "off",
        }
    }
}

/// A source's status line, as shown in panes and exported under `sources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceStatus {
    /// Which source.
    pub name: SourceId,
    /// Its health.
    pub status: SourceState,
    /// What is active and why (`rtnetlink`, `portable fallback: --no-netlink`, …).
    pub detail: String,
}

/// What happened, in a word; the timeline filters on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A new interface appeared.
    LinkAdded,
    /// An interface disappeared.
    LinkRemoved,
    /// Administrative up/down, operational state, carrier, MTU or address change.
    LinkChanged,
    /// An interface was renamed.
    LinkRenamed,
    /// An address was added.
    AddressAdded,
    /// An address was removed.
    AddressRemoved,
    /// An address changed flags (e.g. left tentative, DAD failed).
    AddressChanged,
    /// A route was added.
    RouteAdded,
    /// A route was removed.
    RouteRemoved,
    /// A policy rule was added.
    RuleAdded,
    /// A policy rule was removed.
    RuleRemoved,
    /// A neighbour entry appeared or changed state.
    NeighborChanged,
    /// A neighbour entry was removed.
    NeighborRemoved,
    /// The source lost notifications and re-read everything.
    Resynced,
    /// A connection crossed a warning threshold (stalled, zero window, …), once per connection.
    ConnectionWarning,
    /// Many short connections from one process to one host, or a Happy Eyeballs race.
    ConnectionBurst,
    /// A path's status changed (after the debounce), with both ends and the reason.
    PathStatus,
    /// A path now leaves through another interface.
    PathMoved,
    /// The resolver configuration changed (a file edited, replaced or removed).
    DnsConfig,
    /// A traced name stopped or started resolving, or NAT64 appeared or went.
    DnsChange,
    /// A finding opened or closed.
    Finding,
    /// A source changed health.
    SourceStatus,
    /// A snapshot was exported (or failed to).
    Export,
    /// Something else worth knowing.
    Notice,
}

impl TimelineKind {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LinkAdded => "link_added",
            Self::LinkRemoved => "link_removed",
            Self::LinkChanged => "link_changed",
            Self::LinkRenamed => "link_renamed",
            Self::AddressAdded => "address_added",
            Self::AddressRemoved => "address_removed",
            Self::AddressChanged => "address_changed",
            Self::RouteAdded => "route_added",
            Self::RouteRemoved => "route_removed",
            Self::RuleAdded => "rule_added",
            Self::RuleRemoved => "rule_removed",
            Self::NeighborChanged => "neighbor_changed",
            Self::NeighborRemoved => "neighbor_removed",
            Self::Resynced => "resynced",
            Self::ConnectionWarning => "connection_warning",
            Self::ConnectionBurst => "connection_burst",
            Self::PathStatus => "path_status",
            Self::PathMoved => "path_moved",
            Self::DnsConfig => "dns_config",
            Self::DnsChange => "dns_change",
            Self::Finding => "finding",
            Self::SourceStatus => "source_status",
            Self::Export => "export",
            Self::Notice => "notice",
        }
    }
}

/// One line of the event timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEntry {
    /// When it happened (the first occurrence, for a coalesced burst).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub at: Timestamp,
    /// Which source saw it.
    pub source: SourceId,
    /// What kind of change.
    pub kind: TimelineKind,
    /// What it happened to: an interface name, a prefix, a target.
    pub subject: String,
    /// The human sentence, e.g. `eth0 carrier lost`.
    pub detail: String,
    /// How many events were folded into this one (1 for a single event): identical
    /// repeats within a second, or the churn of one subject (a neighbour's state
    /// changes within a minute, one process's repeated connection bursts).
    #[serde(skip_serializing_if = "is_one", default = "crate::snapshot::serde_helpers::one")]
    pub count: u32,
    /// When the newest folded event happened (absent for a single event); `detail`
    /// is that event's sentence.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "crate::snapshot::schema::optional_timestamp")]
    pub last_at: Option<Timestamp>,
}

/// How a notice folds into an earlier timeline line about the same thing instead of
/// taking a line of its own: routine churn is counted, not listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fold {
    /// What the line is about (`eth0 10.0.0.1`): notices of the same source, kind and
    /// key share a line.
    pub key: String,
    /// How long a line keeps taking folds.
    pub window: time::Duration,
    /// Where the window is measured from.
    pub from: FoldFrom,
}

/// Where a [`Fold`]'s window is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FoldFrom {
    /// The line's first event: one line per window (a neighbour's churn per minute).
    First,
    /// The line's latest event: a steady repetition stays one line while it lasts.
    Latest,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_one(count: &u32) -> bool {
    *count == 1
}
