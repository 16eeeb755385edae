//! Scripted DNS on the scripted host of [`super::network`]: systemd-resolved's stub
//! with two corporate upstreams, a stale second nameserver that has no route, a
//! passive query log of a few busy processes, one traced name and a DNS64 prefix.
//!
//! The story: the first upstream (10.0.0.53) drops some queries, so the user traced
//! the short name `db`. Its first candidate waited out a timeout on 10.0.0.53 before
//! 10.0.1.53 said NXDOMAIN; the second candidate resolved through a CNAME. The
//! system's own answer lacks the IPv6 address: `AI_ADDRCONFIG` dropped it, because no
//! global IPv6 address is usable yet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::NOW;
use crate::model::{
    CaptureCounters, Dns64Report, DnsAnswer, DnsConfigReport, DnsQuery, DnsQueryBatch, DnsTrace,
    DnsTransport, ResolverConfig, SystemAnswer, Timestamp, TraceOrigin, TraceStep,
};

/// The stub resolver every process asks.
const STUB: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53));
/// The first upstream: it drops some queries.
const UPSTREAM_1: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53));
/// The second upstream: it answers.
const UPSTREAM_2: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 53));
/// The stale nameserver left in resolv.conf.
const STALE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9));

/// How many seconds before the end of the script the user traced `db`.
pub(super) const TRACE_AGO: i64 = 12;

/// The moment `millis` milliseconds before the end of the script.
fn ago_ms(millis: i64) -> Timestamp {
    NOW - time::Duration::milliseconds(millis)
}

fn port53(ip: IpAddr) -> SocketAddr {
    SocketAddr::new(ip, 53)
}

/// The resolver configuration as read: a stub with upstreams, a search list, and a
/// second nameserver that the routing table cannot reach.
pub(super) fn config() -> DnsConfigReport {
    let config = ResolverConfig {
        nameservers: vec![STUB, STALE],
        search: vec!["corp.test".to_owned(), "lab.test".to_owned()],
        ndots: 1,
        timeout_s: 2,
        attempts: 2,
        options: vec!["edns0".to_owned(), "trust-ad".to_owned(), "rotate".to_owned(), "timeout:2".to_owned()],
        stub: true,
        upstreams: vec![UPSTREAM_1, UPSTREAM_2],
        hosts_order: vec!["files".to_owned(), "resolve [!UNAVAIL=return]".to_owned(), "dns".to_owned()],
        gai_rules: Vec::new(),
        sources: vec![
            "/etc/resolv.conf".to_owned(),
            "/run/systemd/resolve/resolv.conf".to_owned(),
            "/etc/nsswitch.conf".to_owned(),
            "/etc/hosts".to_owned(),
            "/etc/gai.conf".to_owned(),
        ],
    };
    let warnings = vec![
        "nameserver 10.9.9.9 (resolv.conf line 3) has no route: the kernel would send it nowhere; remove \
         it from /etc/resolv.conf or fix the routes"
            .to_owned(),
    ];
    DnsConfigReport { config, warnings }
}

/// NAT64 detection: the upstreams synthesise AAAA records in the well-known prefix.
pub(super) fn dns64() -> Dns64Report {
    Dns64Report { prefix: Some("64:ff9b::/96".to_owned()), checked_at: ago_ms(80_000) }
}

/// One row of the scripted log: when (ms before the end), who, what, where, how it went.
struct Asked {
    ago_ms: i64,
    owner: Option<(u32, &'static str)>,
    name: &'static str,
    qtype: &'static str,
    server: IpAddr,
    rcode: Option<&'static str>,
    answers: u16,
    latency_ms: Option<f64>,
}

const FIREFOX: Option<(u32, &str)> = Some((2210, "firefox"));
const CURL: Option<(u32, &str)> = Some((4471, "curl"));
const RESOLVED: Option<(u32, &str)> = Some((903, "systemd-resolve"));
const SSHD: Option<(u32, &str)> = Some((812, "sshd"));
/// netlens itself: the user's trace of `db`, seen by the capture too.
const NETLENS: Option<(u32, &str)> = Some((4711, "netlens"));

#[expect(clippy::too_many_arguments, reason = "a log reads best as one call per row")]
const fn asked(
    ago_ms: i64,
    owner: Option<(u32, &'static str)>,
    name: &'static str,
    qtype: &'static str,
    server: IpAddr,
    rcode: Option<&'static str>,
    answers: u16,
    latency_ms: Option<f64>,
) -> Asked {
    Asked { ago_ms, owner, name, qtype, server, rcode, answers, latency_ms }
}

/// The scripted exchanges, oldest first. Processes ask the stub; the stub asks the
/// upstreams on a cache miss (those rows are systemd-resolve's).
#[rustfmt::skip]
fn asked_rows() -> Vec<Asked> {
    const OK: Option<&str> = Some("NOERROR");
    const NX: Option<&str> = Some("NXDOMAIN");
    const FAIL: Option<&str> = Some("SERVFAIL");
    vec![
        asked(58_400, FIREFOX, "example.org", "A", STUB, OK, 1, Some(24.1)),
        asked(58_390, RESOLVED, "example.org", "A", UPSTREAM_1, OK, 1, Some(23.4)),
        asked(58_380, FIREFOX, "example.org", "AAAA", STUB, OK, 1, Some(25.0)),
        asked(58_370, RESOLVED, "example.org", "AAAA", UPSTREAM_1, OK, 1, Some(24.2)),
        asked(55_120, FIREFOX, "cdn.example.net", "A", STUB, OK, 3, Some(4.2)),
        asked(55_110, RESOLVED, "cdn.example.net", "A", UPSTREAM_2, OK, 3, Some(3.8)),
        asked(55_100, FIREFOX, "cdn.example.net", "HTTPS", STUB, OK, 0, Some(4.9)),
        asked(51_000, None, "ntp.ubuntu.com", "A", STUB, OK, 4, Some(0.3)),
        asked(47_520, SSHD, "23.1.168.192.in-addr.arpa", "PTR", STUB, NX, 0, Some(0.7)),
        asked(44_300, FIREFOX, "telemetry.example.net", "A", STUB, NX, 0, Some(18.6)),
        asked(44_290, RESOLVED, "telemetry.example.net", "A", UPSTREAM_2, NX, 0, Some(17.9)),
        asked(40_210, CURL, "api.example.com", "A", STUB, OK, 2, Some(2_038.2)),
        asked(40_200, RESOLVED, "api.example.com", "A", UPSTREAM_1, None, 0, None),
        asked(38_170, RESOLVED, "api.example.com", "A", UPSTREAM_2, OK, 2, Some(36.9)),
        asked(40_190, CURL, "api.example.com", "AAAA", STUB, OK, 0, Some(41.0)),
        asked(38_160, RESOLVED, "api.example.com", "AAAA", UPSTREAM_2, OK, 0, Some(39.7)),
        asked(35_800, FIREFOX, "slow.example.org", "A", STUB, OK, 1, Some(312.4)),
        asked(35_790, RESOLVED, "slow.example.org", "A", UPSTREAM_2, OK, 1, Some(305.0)),
        asked(31_050, SSHD, "5.0.20.10.in-addr.arpa", "PTR", STUB, FAIL, 0, Some(412.0)),
        asked(31_040, RESOLVED, "5.0.20.10.in-addr.arpa", "PTR", UPSTREAM_1, FAIL, 0, Some(405.3)),
        asked(27_600, FIREFOX, "git.corp.test", "A", STUB, OK, 1, Some(2.1)),
        asked(27_590, RESOLVED, "git.corp.test", "A", UPSTREAM_2, OK, 1, Some(1.6)),
        asked(27_580, FIREFOX, "git.corp.test", "AAAA", STUB, OK, 0, Some(2.3)),
        asked(24_000, CURL, "wpad.corp.test", "A", STUB, NX, 0, Some(1.9)),
        asked(21_400, FIREFOX, "example.org", "A", STUB, OK, 1, Some(0.2)),
        asked(21_390, FIREFOX, "example.org", "AAAA", STUB, OK, 1, Some(0.2)),
        asked(18_700, FIREFOX, "ads.example.net", "A", STUB, Some("REFUSED"), 0, Some(0.9)),
        asked(16_200, None, "connectivity-check.ubuntu.com", "A", STUB, OK, 2, Some(22.7)),
        asked(16_190, RESOLVED, "connectivity-check.ubuntu.com", "A", UPSTREAM_1, OK, 2, Some(22.0)),
        asked(12_000, NETLENS, "db.corp.test", "A", UPSTREAM_1, None, 0, None),
        asked(9_990, NETLENS, "db.corp.test", "A", UPSTREAM_2, NX, 0, Some(1.2)),
        asked(9_980, NETLENS, "db.lab.test", "A", UPSTREAM_2, OK, 2, Some(1.0)),
        asked(8_400, CURL, "api.example.com", "A", STUB, OK, 2, Some(0.3)),
        asked(6_100, FIREFOX, "cdn.example.net", "A", STUB, OK, 3, Some(0.2)),
        asked(4_800, FIREFOX, "static.cdn.example.net", "A", STUB, OK, 2, Some(5.6)),
        asked(4_790, RESOLVED, "static.cdn.example.net", "A", UPSTREAM_2, OK, 2, Some(5.1)),
        asked(3_300, SSHD, "41.30.20.10.in-addr.arpa", "PTR", STUB, NX, 0, Some(0.6)),
        asked(2_050, FIREFOX, "push.example.org", "A", STUB, OK, 1, Some(266.0)),
        asked(2_040, RESOLVED, "push.example.org", "A", UPSTREAM_2, OK, 1, Some(261.3)),
        asked(1_200, CURL, "api.example.com", "AAAA", STUB, OK, 0, Some(0.3)),
    ]
}

fn query(row: &Asked, index: usize) -> DnsQuery {
    // Processes talk to the stub over loopback; the stub to upstreams from eth0.
    let client = if row.server == STUB {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000 + index as u16)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 23)), 50_000 + index as u16)
    };
    DnsQuery {
        at: ago_ms(row.ago_ms),
        pid: row.owner.map(|(pid, _)| pid),
        process: row.owner.map(|(_, name)| name.to_owned()),
        attribution: None,
        cgroup: None,
        name: row.name.to_owned(),
        qtype: row.qtype.to_owned(),
        server: port53(row.server),
        client,
        transport: DnsTransport::Udp,
        rcode: row.rcode.map(str::to_owned),
        answers: row.answers,
        latency_ms: row.latency_ms,
    }
}

/// Every scripted exchange, in the order the capture completed them (a timed-out
/// query completes when its wait ends; the store's log puts it back at its send time).
pub(super) fn queries() -> Vec<DnsQuery> {
    let mut queries: Vec<DnsQuery> = asked_rows().iter().enumerate().map(|(i, row)| query(row, i)).collect();
    // Completion order: the answer's time, or the query's plus its wait.
    queries.sort_by_key(|q| q.at + time::Duration::milliseconds(q.latency_ms.unwrap_or(2_000.0) as i64));
    queries
}

/// The capture's counters after `seen` of the scripted exchanges.
pub(super) fn counters(seen: &[DnsQuery]) -> CaptureCounters {
    let n = seen.len() as u64;
    CaptureCounters {
        // A query and its answer each; a timeout has no answer.
        packets: seen.iter().map(|q| if q.rcode.is_some() { 2 } else { 1 }).sum(),
        // A stray datagram to port 53 early on, and a late answer after its timeout.
        malformed: u64::from(n >= 5),
        unmatched: u64::from(n >= 14),
        timeouts: seen.iter().filter(|q| q.rcode.is_none()).count() as u64,
    }
}

/// The exchanges the capture completed in the second ending at `until`, after those
/// of earlier seconds: the batch a one-second capture cycle sends then.
pub(super) fn batch(all: &[DnsQuery], from: Timestamp, until: Timestamp) -> Option<DnsQueryBatch> {
    let done = |q: &DnsQuery| q.at + time::Duration::milliseconds(q.latency_ms.unwrap_or(2_000.0) as i64);
    let queries: Vec<DnsQuery> = all.iter().filter(|q| done(q) > from && done(q) <= until).cloned().collect();
    if queries.is_empty() {
        return None;
    }
    let seen: Vec<DnsQuery> = all.iter().filter(|q| done(q) <= until).cloned().collect();
    Some(DnsQueryBatch { queries, counters: counters(&seen) })
}

fn answer(name: &str, rtype: &str, data: &str, ttl: u32) -> DnsAnswer {
    DnsAnswer { name: name.to_owned(), rtype: rtype.to_owned(), data: data.to_owned(), ttl }
}

#[expect(clippy::too_many_arguments, reason = "a trace reads best as one call per step")]
fn step(
    candidate: &str,
    server: IpAddr,
    qtype: &str,
    rcode: Option<&str>,
    answers: Vec<DnsAnswer>,
    cname_chain: &[&str],
    latency_ms: f64,
    error: Option<&str>,
) -> TraceStep {
    TraceStep {
        candidate: candidate.to_owned(),
        server: port53(server),
        client: None,
        qtype: qtype.to_owned(),
        transport: DnsTransport::Udp,
        attempt: 1,
        rcode: rcode.map(str::to_owned),
        nodata: false,
        truncated: false,
        answers,
        cname_chain: cname_chain.iter().map(|name| (*name).to_owned()).collect(),
        ignored: 0,
        latency_ms,
        error: error.map(str::to_owned),
    }
}

/// The user's trace of `db`: a timeout on the first upstream, NXDOMAIN from the
/// second, then the second search domain resolves through a CNAME.
pub(super) fn trace() -> DnsTrace {
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5));
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
    let timeout = Some("timeout after 2000 ms");
    let chain = ["db.lab.test", "db-1.lab.test"];
    let cname = || answer("db.lab.test", "CNAME", "db-1.lab.test.", 300);
    let mut steps = vec![
        step("db.corp.test", UPSTREAM_1, "A", None, Vec::new(), &[], 2_000.0, timeout),
        step("db.corp.test", UPSTREAM_1, "AAAA", None, Vec::new(), &[], 2_000.0, timeout),
        step("db.corp.test", UPSTREAM_2, "A", Some("NXDOMAIN"), Vec::new(), &[], 1.2, None),
        step("db.corp.test", UPSTREAM_2, "AAAA", Some("NXDOMAIN"), Vec::new(), &[], 1.1, None),
        step(
            "db.lab.test",
            UPSTREAM_2,
            "A",
            Some("NOERROR"),
            vec![cname(), answer("db-1.lab.test", "A", "10.0.0.5", 300)],
            &chain,
            1.0,
            None,
        ),
        step(
            "db.lab.test",
            UPSTREAM_2,
            "AAAA",
            Some("NOERROR"),
            vec![cname(), answer("db-1.lab.test", "AAAA", "2001:db8::5", 300)],
            &chain,
            0.9,
            None,
        ),
    ];
    // The steps the capture saw are the same exchanges: the same sockets.
    let rows = asked_rows();
    for step in &mut steps {
        step.client = rows
            .iter()
            .enumerate()
            .find(|(_, row)| {
                row.owner == NETLENS
                    && row.name == step.candidate
                    && row.qtype == step.qtype
                    && port53(row.server) == step.server
            })
            .map(|(index, row)| query(row, index).client);
    }
    DnsTrace {
        name: "db".to_owned(),
        origin: TraceOrigin::User,
        started_at: NOW - time::Duration::seconds(TRACE_AGO),
        candidates: vec!["db.corp.test".to_owned(), "db.lab.test".to_owned(), "db".to_owned()],
        answered_by: Some("db.lab.test".to_owned()),
        result: vec![v4, v6],
        error: None,
        steps,
        total_ms: 2_003.4,
        system: Some(SystemAnswer { addresses: vec![v4], error: None, latency_ms: 0.8 }),
        differences: vec![
            "system answer lacks AAAA 2001:db8::5: AI_ADDRCONFIG dropped IPv6 (no global IPv6 address)"
                .to_owned(),
        ],
    }
}

/// `count` deterministic exchanges for benchmarks: a dozen processes asking a few
/// servers about many names, with the odd slow answer, failure and timeout.
pub(super) fn many(count: usize) -> DnsQueryBatch {
    const PROCESSES: [&str; 6] = ["firefox", "curl", "systemd-resolve", "sshd", "node", "postgres"];
    const TYPES: [&str; 4] = ["A", "AAAA", "HTTPS", "PTR"];
    let servers = [STUB, UPSTREAM_1, UPSTREAM_2, IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))];
    let queries: Vec<DnsQuery> = (0..count)
        .map(|i| {
            let pid = 3_000 + (i % 12) as u32;
            let (rcode, latency) = match i % 50 {
                0 => (None, None),
                7 | 29 => (Some("SERVFAIL"), Some(410.0)),
                13 | 31 | 44 => (Some("NXDOMAIN"), Some(1.5)),
                21 => (Some("NOERROR"), Some(250.0 + (i % 7) as f64)),
                n => (Some("NOERROR"), Some(0.2 + f64::from(n as u32 % 17) * 1.7)),
            };
            DnsQuery {
                at: NOW - time::Duration::milliseconds((count - i) as i64 * 25),
                pid: Some(pid),
                process: Some(PROCESSES[i % PROCESSES.len()].to_owned()),
                attribution: None,
                cgroup: None,
                name: format!("host{:04}.svc{}.example.net", i % 1_000, i % 9),
                qtype: TYPES[i % TYPES.len()].to_owned(),
                server: port53(servers[i % servers.len()]),
                client: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 30_000 + (i % 30_000) as u16),
                transport: DnsTransport::Udp,
                rcode: rcode.map(str::to_owned),
                answers: u16::from(rcode == Some("NOERROR")),
                latency_ms: latency,
            }
        })
        .collect();
    let counters = counters(&queries);
    DnsQueryBatch { queries, counters }
}
