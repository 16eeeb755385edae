//! The DNS section of the store: the resolver configuration with its warnings, recent
//! traces, the passive query log and per-server health folded from it.
//!
//! Everything is bounded: the log is a ring, traces are few, and server latencies keep
//! a fixed window, so 10,000 queries a second cost a constant amount of memory.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use crate::event::Notice;
use crate::model::{
    CaptureCounters, Dns64Report, DnsConfigReport, DnsQuery, DnsQueryBatch, DnsTrace, ResolverConfig,
    TimelineKind, TraceOrigin,
};

/// Passive queries kept in the log.
pub const QUERY_LOG_CAPACITY: usize = 2_000;
/// Traces kept, newest last.
pub const TRACE_CAPACITY: usize = 32;
/// Latencies kept per server for the percentiles.
const LATENCY_WINDOW: usize = 256;
/// Servers tracked at most; the least recently seen one is forgotten first.
const MAX_SERVERS: usize = 64;
/// A query slower than this is highlighted.
pub const SLOW_QUERY_MS: f64 = 200.0;

/// How one server has been doing, from the passive log and the traces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerHealth {
    /// Queries sent to it.
    pub queries: u64,
    /// Queries it never answered.
    pub timeouts: u64,
    /// Answers that were errors (SERVFAIL, REFUSED, FORMERR, NOTIMP); NXDOMAIN is an
    /// answer, not an error.
    pub errors: u64,
    /// Recent answer latencies, oldest first.
    latencies: VecDeque<f64>,
    /// Sequence number of the last query seen (to forget idle servers first).
    last_seen: u64,
}

impl ServerHealth {
    /// Timeouts and errors over all queries, 0–100.
    #[must_use]
    pub fn error_rate_pct(&self) -> f64 {
        if self.queries == 0 {
            0.0
        } else {
            (self.timeouts + self.errors) as f64 * 100.0 / self.queries as f64
        }
    }

    /// The median of recent latencies.
    #[must_use]
    pub fn p50_ms(&self) -> Option<f64> {
        self.percentile(50)
    }

    /// The 95th percentile of recent latencies.
    #[must_use]
    pub fn p95_ms(&self) -> Option<f64> {
        self.percentile(95)
    }

    /// Nearest-rank percentile over the window.
    fn percentile(&self, pct: usize) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = self.latencies.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let rank = (pct * sorted.len()).div_ceil(100).clamp(1, sorted.len());
        sorted.get(rank - 1).copied()
    }

    fn record(&mut self, rcode: Option<&str>, latency_ms: Option<f64>, seq: u64) {
        self.queries += 1;
        self.last_seen = seq;
        match (rcode, latency_ms) {
            (None, _) => self.timeouts += 1,
            (Some(code), latency) => {
                if is_error_rcode(code) {
                    self.errors += 1;
                }
                if let Some(latency) = latency {
                    if self.latencies.len() == LATENCY_WINDOW {
                        self.latencies.pop_front();
                    }
                    self.latencies.push_back(latency);
                }
            }
        }
    }
}

/// Whether an rcode means the server failed rather than answered.
#[must_use]
pub fn is_error_rcode(rcode: &str) -> bool {
    matches!(rcode, "SERVFAIL" | "REFUSED" | "FORMERR" | "NOTIMP")
}

/// The DNS section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dns {
    config: Option<ResolverConfig>,
    warnings: Vec<String>,
    traces: VecDeque<DnsTrace>,
    /// The newest trace the user asked for, kept apart: target traces every few
    /// seconds would push it out of the shared ring.
    last_user: Option<DnsTrace>,
    queries: VecDeque<DnsQuery>,
    /// Queries ever logged (the log drops the oldest).
    logged: u64,
    servers: BTreeMap<IpAddr, ServerHealth>,
    counters: CaptureCounters,
    dns64: Option<Dns64Report>,
    seq: u64,
}

impl Dns {
    /// The configuration, once read.
    #[must_use]
    pub const fn config(&self) -> Option<&ResolverConfig> {
        self.config.as_ref()
    }

    /// Problems with the configuration.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Recent traces, oldest first.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn traces(&self) -> impl DoubleEndedIterator<Item = &DnsTrace> + ExactSizeIterator {
        self.traces.iter()
    }

    /// The newest trace the user asked for (the one the trace view shows).
    #[must_use]
    pub const fn last_user_trace(&self) -> Option<&DnsTrace> {
        self.last_user.as_ref()
    }

    /// The newest trace of `name`, whatever started it.
    #[must_use]
    pub fn trace_of(&self, name: &str) -> Option<&DnsTrace> {
        self.traces.iter().rev().find(|trace| trace.name.eq_ignore_ascii_case(name))
    }

    /// The passive query log, oldest first.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn queries(&self) -> impl DoubleEndedIterator<Item = &DnsQuery> + ExactSizeIterator {
        self.queries.iter()
    }

    /// Queries ever logged, including those the bounded log has dropped.
    #[must_use]
    pub const fn logged(&self) -> u64 {
        self.logged
    }

    /// Per-server health, by server address.
    #[must_use]
    pub const fn servers(&self) -> &BTreeMap<IpAddr, ServerHealth> {
        &self.servers
    }

    /// The capture's counters.
    #[must_use]
    pub const fn counters(&self) -> CaptureCounters {
        self.counters
    }

    /// NAT64 detection, once done.
    #[must_use]
    pub const fn dns64(&self) -> Option<&Dns64Report> {
        self.dns64.as_ref()
    }

    /// Fold a re-read configuration; notices say what changed.
    pub(crate) fn apply_config(&mut self, report: DnsConfigReport) -> Vec<Notice> {
        let notices = self.config.as_ref().map_or_else(Vec::new, |old| config_changes(old, &report.config));
        self.config = Some(report.config);
        self.warnings = report.warnings;
        notices
    }

    /// Fold a finished trace; a traced name that starts or stops resolving is news.
    /// With passive capture running, the trace's own packets reach the server health
    /// through the capture: its steps are not counted a second time.
    pub(crate) fn apply_trace(&mut self, trace: DnsTrace, capturing: bool) -> Vec<Notice> {
        let mut notices = Vec::new();
        if trace.origin == TraceOrigin::Target
            && let Some(previous) = self.trace_of(&trace.name)
            && previous.error.is_some() != trace.error.is_some()
        {
            let detail = match &trace.error {
                Some(error) => format!("{} no longer resolves: {error}", trace.name),
                None => format!("{} resolves again", trace.name),
            };
            notices.push(Notice::new(TimelineKind::DnsChange, trace.name.clone(), detail));
        }
        for step in trace.steps.iter().filter(|_| !capturing) {
            self.seq += 1;
            let seq = self.seq;
            let latency = step.rcode.as_ref().map(|_| step.latency_ms);
            self.server(step.server.ip()).record(step.rcode.as_deref(), latency, seq);
        }
        if trace.origin == TraceOrigin::User {
            self.last_user = Some(trace.clone());
        }
        if self.traces.len() == TRACE_CAPACITY {
            self.traces.pop_front();
        }
        self.traces.push_back(trace);
        notices
    }

    /// Fold a batch of passively seen exchanges.
    pub(crate) fn apply_queries(&mut self, batch: DnsQueryBatch) {
        self.counters = batch.counters;
        for query in batch.queries {
            self.seq += 1;
            let seq = self.seq;
            self.server(query.server.ip()).record(query.rcode.as_deref(), query.latency_ms, seq);
            if self.queries.len() == QUERY_LOG_CAPACITY {
                self.queries.pop_front();
            }
            self.queries.push_back(query);
            self.logged += 1;
        }
    }

    /// Fold a NAT64 detection; a prefix appearing or going is news.
    pub(crate) fn apply_dns64(&mut self, report: Dns64Report) -> Vec<Notice> {
        let before = self.dns64.as_ref().map(|old| old.prefix.clone());
        let notice = match (before, &report.prefix) {
            (Some(None) | None, Some(prefix)) => {
                Some(format!("NAT64 detected: DNS64 synthesises AAAA in {prefix}"))
            }
            (Some(Some(old)), None) => Some(format!("NAT64 prefix {old} gone: no more synthesised AAAA")),
            (Some(Some(old)), Some(new)) if old != *new => {
                Some(format!("NAT64 prefix changed {old} → {new}"))
            }
            _ => None,
        };
        self.dns64 = Some(report);
        notice
            .map(|detail| vec![Notice::new(TimelineKind::DnsChange, "ipv4only.arpa", detail)])
            .unwrap_or_default()
    }

    fn server(&mut self, address: IpAddr) -> &mut ServerHealth {
        if !self.servers.contains_key(&address)
            && self.servers.len() >= MAX_SERVERS
            && let Some(idle) =
                self.servers.iter().min_by_key(|(_, health)| health.last_seen).map(|(ip, _)| *ip)
        {
            self.servers.remove(&idle);
        }
        self.servers.entry(address).or_default()
    }
}

/// What changed between two configurations, one notice per aspect.
fn config_changes(old: &ResolverConfig, new: &ResolverConfig) -> Vec<Notice> {
    let mut notices = Vec::new();
    let mut changed = |subject: &str, what: &str, before: String, after: String| {
        if before != after {
            notices.push(Notice::new(
                TimelineKind::DnsConfig,
                subject,
                format!("{what}: {before} → {after}"),
            ));
        }
    };
    changed("resolv.conf", "nameservers", list(&old.nameservers), list(&new.nameservers));
    changed("resolv.conf", "search", list(&old.search), list(&new.search));
    changed("resolv.conf", "options", list(&old.options), list(&new.options));
    changed("resolved", "upstreams", list(&old.upstreams), list(&new.upstreams));
    changed("nsswitch.conf", "hosts", list(&old.hosts_order), list(&new.hosts_order));
    changed("gai.conf", "rules", list(&old.gai_rules), list(&new.gai_rules));
    changed("resolver", "files", list(&old.sources), list(&new.sources));
    notices
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(server: &str, rcode: Option<&str>, latency: Option<f64>) -> DnsQuery {
        DnsQuery {
            at: time::OffsetDateTime::UNIX_EPOCH,
            pid: None,
            process: None,
            name: "example.test".into(),
            qtype: "A".into(),
            server: format!("{server}:53").parse().unwrap_or_else(|e| panic!("{e}")),
            client: "127.0.0.1:40000".parse().unwrap_or_else(|e| panic!("{e}")),
            transport: crate::model::DnsTransport::Udp,
            rcode: rcode.map(str::to_owned),
            answers: 1,
            latency_ms: latency,
        }
    }

    #[test]
    fn the_log_is_bounded_and_counts_what_it_dropped() {
        let mut dns = Dns::default();
        for _ in 0..3 {
            let batch = DnsQueryBatch {
                queries: (0..1_000).map(|i| query("10.0.0.1", Some("NOERROR"), Some(f64::from(i)))).collect(),
                counters: CaptureCounters::default(),
            };
            dns.apply_queries(batch);
        }
        assert_eq!(dns.queries().len(), QUERY_LOG_CAPACITY);
        assert_eq!(dns.logged(), 3_000);
        let health = &dns.servers()[&"10.0.0.1".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"))];
        assert_eq!(health.queries, 3_000);
        assert_eq!(health.latencies.len(), LATENCY_WINDOW);
    }

    #[test]
    fn health_counts_timeouts_and_errors_but_not_nxdomain() {
        let mut dns = Dns::default();
        let queries = vec![
            query("10.0.0.1", Some("NOERROR"), Some(10.0)),
            query("10.0.0.1", Some("NXDOMAIN"), Some(20.0)),
            query("10.0.0.1", Some("SERVFAIL"), Some(30.0)),
            query("10.0.0.1", None, None),
        ];
        dns.apply_queries(DnsQueryBatch { queries, counters: CaptureCounters::default() });
        let health = dns.servers().values().next().cloned().unwrap_or_default();
        assert_eq!((health.queries, health.timeouts, health.errors), (4, 1, 1));
        assert!((health.error_rate_pct() - 50.0).abs() < 1e-9);
        assert_eq!(health.p50_ms(), Some(20.0));
        assert_eq!(health.p95_ms(), Some(30.0));
    }

    #[test]
    fn servers_are_bounded() {
        let mut dns = Dns::default();
        for i in 0..=MAX_SERVERS {
            let server = format!("10.0.{}.{}", i / 200, i % 200 + 1);
            dns.apply_queries(DnsQueryBatch {
                queries: vec![query(&server, Some("NOERROR"), Some(1.0))],
                counters: CaptureCounters::default(),
            });
        }
        assert_eq!(dns.servers().len(), MAX_SERVERS);
        assert!(!dns.servers().contains_key(&"10.0.0.1".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"))));
    }

    #[test]
    fn config_changes_say_what_changed() {
        let mut dns = Dns::default();
        let first = ResolverConfig {
            nameservers: vec!["10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))],
            ..ResolverConfig::default()
        };
        assert!(dns.apply_config(DnsConfigReport { config: first.clone(), warnings: vec![] }).is_empty());
        let second = ResolverConfig {
            nameservers: vec!["10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"))],
            search: vec!["corp.test".into()],
            ..first
        };
        let notices = dns.apply_config(DnsConfigReport { config: second, warnings: vec!["w".into()] });
        let details: Vec<&str> = notices.iter().map(|notice| notice.detail.as_str()).collect();
        assert_eq!(details, ["nameservers: 10.0.0.1 → 10.0.0.2", "search: (none) → corp.test"]);
        assert_eq!(dns.warnings(), ["w"]);
    }

    #[test]
    fn nat64_appearing_is_news_once() {
        let mut dns = Dns::default();
        let at = time::OffsetDateTime::UNIX_EPOCH;
        assert!(dns.apply_dns64(Dns64Report { prefix: None, checked_at: at }).is_empty());
        let notices = dns.apply_dns64(Dns64Report { prefix: Some("64:ff9b::/96".into()), checked_at: at });
        assert_eq!(notices.len(), 1);
        assert!(notices[0].detail.contains("64:ff9b::/96"), "{}", notices[0].detail);
        assert!(
            dns.apply_dns64(Dns64Report { prefix: Some("64:ff9b::/96".into()), checked_at: at }).is_empty()
        );
    }
}
