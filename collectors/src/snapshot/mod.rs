//! The snapshot document (DESIGN.md §4, schema version 1) as owned, typed data: built
//! from the store, redacted, rendered to JSON, Markdown and CSV, and read back.
//!
//! The types serialise to exactly the field names, nesting and value formats of the
//! schema (RFC 3339 UTC times, `_ms` floats, endpoints as `ip:port` strings), and the
//! committed `schema/snapshot-v1.schema.json` is generated from them ([`schema::json_schema`]).
//! Unknown fields are accepted when reading, so a later version-1 writer that adds
//! fields (the schema allows that) still loads.

mod build;
mod capture;
mod connections;
pub mod diff;
mod dns;
mod kernel;
pub mod schema;
pub(crate) mod serde_helpers;
pub mod to_events;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use capture::SnapshotCapture;
pub use connections::ConnectionDoc;
pub use dns::{DnsSection, EXPORTED_QUERIES, ServerHealth};
pub use kernel::{BUSIEST_DESTINATIONS, CounterDoc, KernelSection, PortsDoc};

use crate::model::{
    CaptureTotals, Finding, HostFacts, Interface, InterfaceRates, Neighbor, PathState, Route, Rule,
    SourceStatus, SystemFacts, TimelineEntry, Timestamp,
};

/// The version of the export schema this build writes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole snapshot document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "netlens snapshot",
    description = "A netlens snapshot, export schema version 1 (DESIGN.md §4)."
)]
pub struct Snapshot {
    /// Always 1 for this layout.
    #[schemars(schema_with = "schema::schema_version")]
    pub schema_version: u32,
    /// The netlens release that wrote it.
    pub netlens_version: String,
    /// When the store was read.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "schema::timestamp")]
    pub taken_at: Timestamp,
    /// Identity and privileges.
    pub host: HostFacts,
    /// Machine facts.
    pub system: SystemSummary,
    /// Each source's health.
    pub sources: Vec<SourceStatus>,
    /// Problems found, with their evidence: the open ones (most severe first), then
    /// the recently closed ones (oldest first, `closed_at` set).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Interfaces by index.
    pub interfaces: Vec<InterfaceDoc>,
    /// Routes of every table.
    pub routes: Vec<Route>,
    /// Policy routing rules.
    pub rules: Vec<Rule>,
    /// Neighbour cache entries.
    pub neighbors: Vec<Neighbor>,
    /// Path targets and their verdicts.
    pub paths: Vec<PathState>,
    /// Resolver configuration, traces, passive queries and server health.
    pub dns: DnsSection,
    /// The packet capture's kernel counters (`PACKET_STATISTICS`): packets that passed
    /// its filter and packets the kernel dropped because a ring was full, in total and
    /// per interface captured now. `null` when no capture runs (no `CAP_NET_RAW`, or
    /// capture turned off), as for other sources without their privilege.
    #[serde(default)]
    pub capture: Option<CaptureTotals>,
    /// The kernel's protocol counters, softnet and socket statistics, conntrack, file
    /// table and ephemeral ports of the monitored namespace; `null` before the first
    /// reading (and in documents of earlier releases).
    #[serde(default)]
    pub kernel: Option<KernelSection>,
    /// Sockets, open before closed.
    pub connections: Vec<ConnectionDoc>,
    /// The event timeline, oldest first: the newest lines the store keeps, a cut of
    /// `events_total`.
    pub events: Vec<TimelineEntry>,
    /// Timeline lines since start, of which `events` holds the newest (more when the
    /// bounded timeline dropped older ones).
    #[serde(default)]
    pub events_total: u64,
    /// Events folded into an earlier line (repeats and churn, counted in that line's
    /// `count`) since start.
    #[serde(default)]
    pub events_folded: u64,
}

/// The `system` section: slowly changing machine facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemSummary {
    /// Seconds since boot.
    pub uptime_s: u64,
    /// Logical CPUs.
    pub cpus: usize,
    /// Whole-machine CPU use, percent of all cores.
    pub cpu_pct: f32,
    /// Total memory in bytes.
    pub memory_total_bytes: u64,
    /// Used memory in bytes.
    pub memory_used_bytes: u64,
}

impl From<&SystemFacts> for SystemSummary {
    fn from(facts: &SystemFacts) -> Self {
        Self {
            uptime_s: facts.uptime_s,
            cpus: facts.cpus,
            cpu_pct: facts.cpu_pct,
            memory_total_bytes: facts.memory_total_bytes,
            memory_used_bytes: facts.memory_used_bytes,
        }
    }
}

/// One interface: the kernel's description with its rates and when it appeared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceDoc {
    /// What the kernel says about it (its fields sit at this level).
    #[serde(flatten)]
    pub interface: Interface,
    /// Per-second rates, once two counter samples exist.
    pub rates: Option<InterfaceRatesDoc>,
    /// When netlens first saw it.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "schema::timestamp")]
    pub first_seen: Timestamp,
}

/// An interface's rates as the schema names them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceRatesDoc {
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f64,
    /// Packets received per second.
    pub rx_packets_per_s: f64,
    /// Packets sent per second.
    pub tx_packets_per_s: f64,
}

impl From<InterfaceRates> for InterfaceRatesDoc {
    fn from(rates: InterfaceRates) -> Self {
        Self {
            rx_bytes_per_s: rates.rx_bytes_per_s,
            tx_bytes_per_s: rates.tx_bytes_per_s,
            rx_packets_per_s: rates.rx_packets_per_s,
            tx_packets_per_s: rates.tx_packets_per_s,
        }
    }
}

// The tests build their stores from the scripted fake data.
#[cfg(all(test, feature = "fake"))]
mod tests;
