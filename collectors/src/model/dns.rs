//! The host's resolver configuration (DESIGN.md §4 `dns.config`), as read from
//! resolv.conf, nsswitch.conf, hosts and gai.conf.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Timestamp;

/// How this host turns names into addresses, per its configuration files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResolverConfig {
    /// Nameservers glibc uses, in order (at most three).
    pub nameservers: Vec<IpAddr>,
    /// Search domains, in order (`search`, or the last `domain`).
    pub search: Vec<String>,
    /// Dots a name needs before it is tried as-is first (`options ndots:`).
    pub ndots: u8,
    /// Seconds to wait for one server (`options timeout:`).
    pub timeout_s: u32,
    /// Rounds over the server list (`options attempts:`).
    pub attempts: u32,
    /// Every option in effect, as written (`rotate`, `edns0`, `ndots:2`, …).
    pub options: Vec<String>,
    /// The nameserver is a local stub (systemd-resolved's 127.0.0.53 or 127.0.0.54).
    pub stub: bool,
    /// The stub's upstream servers, from `/run/systemd/resolve/resolv.conf`.
    pub upstreams: Vec<IpAddr>,
    /// Sources of the `hosts` database in nsswitch order (`files`, `dns`, `resolve`, …).
    pub hosts_order: Vec<String>,
    /// `/etc/gai.conf` rules in effect (`precedence ::ffff:0:0/96 100`, …); empty
    /// when the file is absent or only has comments (RFC 6724 defaults).
    pub gai_rules: Vec<String>,
    /// Files read, in the order read.
    pub sources: Vec<String>,
}

impl Default for ResolverConfig {
    /// glibc's defaults with no resolv.conf: ndots 1, timeout 5 s, 2 attempts, and
    /// `files dns` for hosts.
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout_s: 5,
            attempts: 2,
            options: Vec::new(),
            stub: false,
            upstreams: Vec::new(),
            hosts_order: vec!["files".to_owned(), "dns".to_owned()],
            gai_rules: Vec::new(),
            sources: Vec::new(),
        }
    }
}

/// One `/etc/hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostsEntry {
    /// The address.
    pub address: IpAddr,
    /// Canonical name, then aliases, lower case.
    pub names: Vec<String>,
}

/// How a DNS message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DnsTransport {
    /// One datagram each way.
    Udp,
    /// A length-prefixed message on a TCP connection (after truncation, or `use-vc`).
    Tcp,
}

impl DnsTransport {
    /// The schema name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

/// One record of an answer section, as a user reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DnsAnswer {
    /// The owner name, without the trailing dot.
    pub name: String,
    /// Record type (`A`, `AAAA`, `CNAME`, …).
    pub rtype: String,
    /// The record data in presentation form (`192.0.2.1`, `alias.example.`).
    pub data: String,
    /// Time to live in seconds.
    pub ttl: u32,
}

/// One query of a trace: one candidate name, to one server, for one type, over one
/// transport, in one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceStep {
    /// The candidate name asked (search domain applied), without the trailing dot.
    pub candidate: String,
    /// The server asked (`ip:port`).
    pub server: std::net::SocketAddr,
    /// The socket the query left from (`ip:port`, the address may be unspecified):
    /// what tells this step apart from the passive capture's record of the same
    /// exchange, so server health counts it once. `None` when no socket was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<std::net::SocketAddr>,
    /// `A` or `AAAA`.
    pub qtype: String,
    /// UDP, or TCP after a truncated UDP answer.
    pub transport: DnsTransport,
    /// Which round over the server list (1-based; `options attempts:`).
    pub attempt: u32,
    /// The response code (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, …); `None`
    /// when no answer came.
    pub rcode: Option<String>,
    /// NOERROR without a record of the asked type: the name exists, the type does not.
    pub nodata: bool,
    /// The answer had the TC bit: it did not fit a datagram, TCP is next.
    pub truncated: bool,
    /// Answer records (CNAMEs included), in the order received.
    pub answers: Vec<DnsAnswer>,
    /// The CNAME chain followed, from the candidate to the final owner name.
    pub cname_chain: Vec<String>,
    /// Replies ignored while waiting: wrong transaction id, question or source address.
    pub ignored: u32,
    /// From sending the query until the answer (or the timeout).
    pub latency_ms: f64,
    /// Why there is no usable answer (`timeout after 2000 ms`, `connection refused`).
    pub error: Option<String>,
}

/// What the system resolver (`getaddrinfo`, `AF_UNSPEC`, `AI_ADDRCONFIG`) answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemAnswer {
    /// Addresses, in the order getaddrinfo sorted them (RFC 6724 with gai.conf).
    pub addresses: Vec<std::net::IpAddr>,
    /// Why it failed (`EAI_NONAME: name or service not known`).
    pub error: Option<String>,
    /// How long getaddrinfo took.
    pub latency_ms: f64,
}

/// Why a trace ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceOrigin {
    /// The user asked for it (the `t` prompt, `netlens trace`).
    User,
    /// A path target's name, on its probe schedule.
    Target,
    /// The NAT64 detection query (`ipv4only.arpa`).
    Dns64,
}

/// A resolution replayed step by step the way glibc does it (DESIGN.md §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DnsTrace {
    /// The name as typed.
    pub name: String,
    /// Why it ran.
    pub origin: TraceOrigin,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub started_at: Timestamp,
    /// The candidates in the order they were tried.
    pub candidates: Vec<String>,
    /// The candidate that answered, if any.
    pub answered_by: Option<String>,
    /// The final addresses (A then AAAA, as the answering candidate gave them).
    pub result: Vec<std::net::IpAddr>,
    /// Why the name did not resolve.
    pub error: Option<String>,
    /// Every query, in order.
    pub steps: Vec<TraceStep>,
    /// From the first query to the last answer.
    pub total_ms: f64,
    /// What getaddrinfo said, side by side.
    pub system: Option<SystemAnswer>,
    /// Where the trace and the system disagree, each with its likely cause.
    pub differences: Vec<String>,
}

/// One DNS exchange seen on the wire by passive capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DnsQuery {
    /// When the query was sent.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub at: Timestamp,
    /// The asking process, by its local port.
    pub pid: Option<u32>,
    /// That process's name.
    pub process: Option<String>,
    /// How the process was found: `bpf` (recorded as it sent), `proc` (found among
    /// its descriptors) or `null` (unknown).
    #[serde(default)]
    pub attribution: Option<super::connection::Attribution>,
    /// The asking process's cgroup v2 path, when known.
    #[serde(default)]
    pub cgroup: Option<String>,
    /// The name asked, without the trailing dot.
    pub name: String,
    /// The type asked (`A`, `AAAA`, `PTR`, …).
    pub qtype: String,
    /// The server (`ip:port`).
    pub server: std::net::SocketAddr,
    /// The asking socket (`ip:port`).
    pub client: std::net::SocketAddr,
    /// UDP or TCP.
    pub transport: DnsTransport,
    /// The response code; `None` when no answer came in time.
    pub rcode: Option<String>,
    /// Records in the answer section.
    pub answers: u16,
    /// From the query to the answer; `None` for a timeout.
    pub latency_ms: Option<f64>,
}

/// Counters of the passive capture since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CaptureCounters {
    /// DNS packets parsed.
    pub packets: u64,
    /// Packets on port 53 that did not parse as DNS.
    pub malformed: u64,
    /// Responses that matched no outstanding query (wrong id, address or port).
    pub unmatched: u64,
    /// Queries that never got an answer.
    pub timeouts: u64,
}

/// A batch of passively observed exchanges.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct DnsQueryBatch {
    /// Completed (answered or timed-out) exchanges, oldest first.
    pub queries: Vec<DnsQuery>,
    /// The capture's counters as of this batch.
    pub counters: CaptureCounters,
}

/// The resolver configuration as read, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DnsConfigReport {
    /// The configuration.
    pub config: ResolverConfig,
    /// Problems, each a sentence naming the file and how to fix it.
    pub warnings: Vec<String>,
}

/// The NAT64 prefix found through `ipv4only.arpa` (RFC 7050).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Dns64Report {
    /// The synthesising prefix (`64:ff9b::/96`), or `None` when AAAA has no synthesised answer.
    pub prefix: Option<String>,
    /// When it was checked.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub checked_at: Timestamp,
}
