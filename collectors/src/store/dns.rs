//! The DNS section of the store: the resolver configuration with its warnings, recent
//! traces, the passive query log and per-server health folded from it.
//!
//! Everything is bounded: the log is a ring, traces are few, and server latencies keep
//! a fixed window, so 10,000 queries a second cost a constant amount of memory.

mod exchanges;
mod health;

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

pub use health::{DnsState, RECENT_WINDOW, RecentOutcomes, ServerHealth, is_error_rcode};

use crate::clock::Mono;
use crate::event::Notice;
use crate::model::{
    CaptureCounters, Dns64Report, DnsConfigReport, DnsQuery, DnsQueryBatch, DnsTrace, ResolverConfig,
    TimelineKind, TraceOrigin,
};
use exchanges::{ExchangeKey, Exchanges, Reporter};

/// Passive queries kept in the log.
pub const QUERY_LOG_CAPACITY: usize = 2_000;
/// Traces kept, newest last.
pub const TRACE_CAPACITY: usize = 32;
/// Servers tracked at most; the least recently seen one is forgotten first.
const MAX_SERVERS: usize = 64;
/// A query slower than this is highlighted.
pub const SLOW_QUERY_MS: f64 = 200.0;

/// The DNS section.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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
    /// Traces ever folded (the ring drops the oldest).
    traced: u64,
    servers: BTreeMap<IpAddr, ServerHealth>,
    /// Reports of exchanges awaiting their twin (trace step or captured query).
    exchanges: Exchanges,
    /// When the last exchange was folded: "now" for the current state.
    last_exchange: Option<Mono>,
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

    /// Traces ever folded, including those the bounded ring has dropped.
    #[must_use]
    pub const fn traced(&self) -> u64 {
        self.traced
    }

    /// The worst current state over every server's last [`RECENT_WINDOW`] of
    /// exchanges at `now` (the store's [`updated_mono`](crate::Store::updated_mono)):
    /// a server timing out, else one answering with errors, else answering, else quiet.
    /// For the DNS summary and the status bar.
    #[must_use]
    pub fn state_at(&self, now: Mono) -> DnsState {
        DnsState::judge(&self.servers, now)
    }

    /// The worst current state as of the last exchange folded (see [`Dns::state_at`]).
    #[must_use]
    pub fn state(&self) -> DnsState {
        self.last_exchange.map_or(DnsState::Quiet, |now| self.state_at(now))
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
    /// Every step counts in its server's health unless the passive capture already
    /// reported the same exchange (see `exchanges.rs` for the rule).
    pub(crate) fn apply_trace(&mut self, trace: DnsTrace, at: Mono) -> Vec<Notice> {
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
        for step in &trace.steps {
            // A truncated UDP answer and the TCP retry that follows are two exchanges.
            let counts = step.client.is_none_or(|client| {
                let key = ExchangeKey::new(step.transport, client, step.server, &step.candidate, &step.qtype);
                self.exchanges.counts(key, Reporter::Trace)
            });
            if counts {
                let latency = step.rcode.as_ref().map(|_| step.latency_ms);
                self.record(step.server.ip(), step.rcode.as_deref(), latency, at);
            }
        }
        if trace.origin == TraceOrigin::User {
            self.last_user = Some(trace.clone());
        }
        if self.traces.len() == TRACE_CAPACITY {
            self.traces.pop_front();
        }
        self.traces.push_back(trace);
        self.traced += 1;
        notices
    }

    /// Fold a batch of passively seen exchanges. The log reads by send time: a
    /// timeout, reported only when its wait ran out, takes its place among the queries
    /// sent after it; one older than everything a full log holds is counted, not kept.
    pub(crate) fn apply_queries(&mut self, batch: DnsQueryBatch, at: Mono) {
        self.counters = batch.counters;
        for query in batch.queries {
            let key =
                ExchangeKey::new(query.transport, query.client, query.server, &query.name, &query.qtype);
            if self.exchanges.counts(key, Reporter::Capture) {
                self.record(query.server.ip(), query.rcode.as_deref(), query.latency_ms, at);
            }
            self.logged += 1;
            let mut position = self.queries.partition_point(|logged| logged.at <= query.at);
            if self.queries.len() == QUERY_LOG_CAPACITY {
                if position == 0 {
                    continue;
                }
                self.queries.pop_front();
                position -= 1;
            }
            self.queries.insert(position, query);
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

    fn record(&mut self, server: IpAddr, rcode: Option<&str>, latency_ms: Option<f64>, at: Mono) {
        self.seq += 1;
        let seq = self.seq;
        self.server(server).record(rcode, latency_ms, seq, at);
        self.last_exchange = Some(self.last_exchange.map_or(at, |last| last.max(at)));
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
    use super::health::LATENCY_WINDOW;
    use super::*;

    fn query(server: &str, rcode: Option<&str>, latency: Option<f64>) -> DnsQuery {
        DnsQuery {
            at: time::OffsetDateTime::UNIX_EPOCH,
            pid: None,
            process: None,
            attribution: None,
            cgroup: None,
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
            dns.apply_queries(batch, Mono::ZERO);
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
        dns.apply_queries(DnsQueryBatch { queries, counters: CaptureCounters::default() }, Mono::ZERO);
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
            dns.apply_queries(
                DnsQueryBatch {
                    queries: vec![query(&server, Some("NOERROR"), Some(1.0))],
                    counters: CaptureCounters::default(),
                },
                Mono::ZERO,
            );
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

    fn sent_at(query: DnsQuery, seconds: i64) -> DnsQuery {
        DnsQuery { at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seconds), ..query }
    }

    fn batch(queries: Vec<DnsQuery>) -> DnsQueryBatch {
        DnsQueryBatch { queries, counters: CaptureCounters::default() }
    }

    #[test]
    fn a_timeout_takes_its_place_at_its_send_time() {
        let mut dns = Dns::default();
        let answered = |seconds| sent_at(query("10.0.0.1", Some("NOERROR"), Some(1.0)), seconds);
        dns.apply_queries(batch(vec![answered(1), answered(3)]), Mono::ZERO);
        dns.apply_queries(batch(vec![answered(6), answered(7)]), Mono::ZERO);
        // Sent at 2 s, reported when its 5 s wait ran out, after the ones sent at 6 and 7 s.
        dns.apply_queries(batch(vec![sent_at(query("10.0.0.2", None, None), 2)]), Mono::ZERO);
        let order: Vec<(i64, Option<&str>)> =
            dns.queries().map(|q| (q.at.unix_timestamp(), q.rcode.as_deref())).collect();
        assert_eq!(
            order,
            [
                (1, Some("NOERROR")),
                (2, None),
                (3, Some("NOERROR")),
                (6, Some("NOERROR")),
                (7, Some("NOERROR"))
            ]
        );
        assert_eq!(dns.logged(), 5);
    }

    #[test]
    fn a_full_log_keeps_the_newest_by_send_time() {
        let mut dns = Dns::default();
        let queries = (0..QUERY_LOG_CAPACITY as i64)
            .map(|i| sent_at(query("10.0.0.1", Some("NOERROR"), Some(1.0)), 10 + i))
            .collect();
        dns.apply_queries(batch(queries), Mono::ZERO);
        dns.apply_queries(batch(vec![sent_at(query("10.0.0.2", None, None), 5)]), Mono::ZERO);
        assert_eq!(dns.queries().len(), QUERY_LOG_CAPACITY);
        assert_eq!(dns.queries().next().map(|q| q.at.unix_timestamp()), Some(10), "older than the log");
        dns.apply_queries(batch(vec![sent_at(query("10.0.0.2", None, None), 11)]), Mono::ZERO);
        let first: Vec<i64> = dns.queries().take(3).map(|q| q.at.unix_timestamp()).collect();
        assert_eq!(first, [11, 11, 12], "the oldest dropped, the timeout in its place");
        assert_eq!(dns.logged(), QUERY_LOG_CAPACITY as u64 + 2);
        let dead = "10.0.0.2".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dns.servers()[&dead].timeouts, 2, "a query not kept in the log still counts");
    }

    fn traced(steps: Vec<crate::model::TraceStep>) -> DnsTrace {
        DnsTrace {
            name: "www.lab.test".into(),
            origin: TraceOrigin::User,
            started_at: time::OffsetDateTime::UNIX_EPOCH,
            candidates: vec!["www.lab.test".into()],
            answered_by: None,
            result: Vec::new(),
            error: None,
            steps,
            total_ms: 0.0,
            system: None,
            differences: Vec::new(),
        }
    }

    fn step(server: &str, port: u16, rcode: Option<&str>) -> crate::model::TraceStep {
        crate::model::TraceStep {
            candidate: "www.lab.test".into(),
            server: format!("{server}:53").parse().unwrap_or_else(|e| panic!("{e}")),
            client: Some(std::net::SocketAddr::from(([0, 0, 0, 0], port))),
            qtype: "A".into(),
            transport: crate::model::DnsTransport::Udp,
            attempt: 1,
            rcode: rcode.map(str::to_owned),
            nodata: false,
            truncated: false,
            answers: Vec::new(),
            cname_chain: Vec::new(),
            ignored: 0,
            latency_ms: if rcode.is_some() { 0.4 } else { 1000.0 },
            error: rcode.is_none().then(|| "timeout after 1000 ms".to_owned()),
        }
    }

    fn captured(server: &str, port: u16, rcode: Option<&str>) -> DnsQuery {
        DnsQuery {
            name: "www.lab.test".into(),
            client: std::net::SocketAddr::from(([10, 9, 0, 2], port)),
            ..query(server, rcode, rcode.map(|_| 0.4))
        }
    }

    #[test]
    fn trace_steps_count_in_server_health_once() {
        let dead = "10.0.0.1".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        let live = "10.0.0.2".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        let mut dns = Dns::default();
        // Without capture: two timeouts of the dead server, an answer of the live one.
        let steps = vec![
            step("10.0.0.1", 4000, None),
            step("10.0.0.1", 4001, None),
            step("10.0.0.2", 4002, Some("NOERROR")),
        ];
        dns.apply_trace(traced(steps.clone()), Mono::ZERO);
        assert_eq!((dns.servers()[&dead].queries, dns.servers()[&dead].timeouts), (2, 2));
        assert_eq!((dns.servers()[&live].queries, dns.servers()[&live].timeouts), (1, 0));

        // With capture: the answer is captured before the trace ends, the timeouts
        // after (the capture waits longer): each exchange still counts once.
        let mut dns = Dns::default();
        dns.apply_queries(batch(vec![captured("10.0.0.2", 4002, Some("NOERROR"))]), Mono::ZERO);
        dns.apply_trace(traced(steps), Mono::ZERO);
        dns.apply_queries(
            batch(vec![captured("10.0.0.1", 4000, None), captured("10.0.0.1", 4001, None)]),
            Mono::ZERO,
        );
        assert_eq!((dns.servers()[&dead].queries, dns.servers()[&dead].timeouts), (2, 2));
        assert_eq!(dns.servers()[&live].queries, 1);
        assert_eq!(dns.queries().len(), 3, "the captured copies are still logged");
    }

    #[test]
    fn the_worst_state_names_the_server_timing_out() {
        let mut dns = Dns::default();
        assert_eq!(dns.state(), DnsState::Quiet);
        let start = Mono::ZERO;
        dns.apply_queries(batch(vec![query("10.0.0.2", Some("NOERROR"), Some(1.0))]), start);
        assert_eq!(dns.state(), DnsState::Answering);
        dns.apply_queries(batch(vec![query("10.0.0.3", Some("SERVFAIL"), Some(1.0))]), start);
        assert!(matches!(dns.state(), DnsState::Failing { errors: 1, .. }), "{:?}", dns.state());
        dns.apply_trace(traced(vec![step("10.0.0.1", 4000, None)]), start);
        let dead = "10.0.0.1".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dns.state(), DnsState::TimingOut { server: dead, timeouts: 1, queries: 1 });
        assert!(dns.state().is_problem());
        assert!(dns.state().describe().contains("10.0.0.1 timing out"), "{}", dns.state().describe());
        // A minute of answers later, the timeout is history.
        let later = start + RECENT_WINDOW + time::Duration::seconds(1);
        dns.apply_queries(batch(vec![query("10.0.0.2", Some("NOERROR"), Some(1.0))]), later);
        assert_eq!(dns.state(), DnsState::Answering);
        assert_eq!(dns.state_at(later + RECENT_WINDOW + time::Duration::seconds(1)), DnsState::Quiet);
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
