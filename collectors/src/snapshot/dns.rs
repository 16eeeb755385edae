//! The `dns` section: resolver configuration, traces, passive queries and server health.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::model::{CaptureCounters, Dns64Report, DnsQuery, DnsTrace, ResolverConfig};

/// Recent passive queries exported at most (the newest).
pub const EXPORTED_QUERIES: usize = 500;

/// The `dns` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DnsSection {
    /// The resolver configuration as read; `null` before the first read.
    pub config: Option<ResolverConfig>,
    /// What is wrong with it, one sentence each.
    pub warnings: Vec<String>,
    /// Step-by-step resolutions, the newest the store keeps (at most 32), oldest first.
    pub traces: Vec<DnsTrace>,
    /// Traces run since start: more than `traces` holds when older ones were dropped.
    #[serde(default)]
    pub traces_total: u64,
    /// The newest passively captured exchanges, by send time (at most 500): a cut of
    /// `queries_total`.
    pub queries: Vec<DnsQuery>,
    /// Exchanges captured since start, of which `queries` holds the newest: "500 of
    /// 3,519".
    #[serde(default)]
    pub queries_total: u64,
    /// Health of each server seen.
    pub servers: Vec<ServerHealth>,
    /// The passive capture's counters.
    pub capture: CaptureCounters,
    /// Exchanges captured since start (more than `queries` holds); the same number
    /// as `queries_total`, kept for readers of the first layout.
    pub queries_logged: u64,
    /// The NAT64 check, once run.
    pub dns64: Option<Dns64Report>,
}

/// One server's health over the passive capture and the traces (each exchange once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerHealth {
    /// The server.
    pub server: IpAddr,
    /// Queries seen.
    pub queries: u64,
    /// Queries without an answer.
    pub timeouts: u64,
    /// Answers with an error code.
    pub errors: u64,
    /// Timeouts and errors, percent of queries.
    pub error_rate_pct: f64,
    /// Median latency.
    pub p50_ms: Option<f64>,
    /// 95th percentile latency.
    pub p95_ms: Option<f64>,
}

impl DnsSection {
    /// The section as the store holds it now.
    #[must_use]
    pub fn new(store: &Store) -> Self {
        let dns = store.dns();
        let skip = dns.queries().len().saturating_sub(EXPORTED_QUERIES);
        Self {
            config: dns.config().cloned(),
            warnings: dns.warnings().to_vec(),
            traces: dns.traces().cloned().collect(),
            traces_total: dns.traced(),
            queries: dns.queries().skip(skip).cloned().collect(),
            queries_total: dns.logged(),
            servers: dns
                .servers()
                .iter()
                .map(|(server, health)| ServerHealth {
                    server: *server,
                    queries: health.queries,
                    timeouts: health.timeouts,
                    errors: health.errors,
                    error_rate_pct: health.error_rate_pct(),
                    p50_ms: health.p50_ms(),
                    p95_ms: health.p95_ms(),
                })
                .collect(),
            capture: dns.counters(),
            queries_logged: dns.logged(),
            dns64: dns.dns64().cloned(),
        }
    }
}
