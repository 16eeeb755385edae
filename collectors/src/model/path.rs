//! Path verdicts (DESIGN.md §5): for one target, would traffic leave, over which
//! interface and from which source, and does it work — with every check recorded.

use std::net::{IpAddr, SocketAddr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AddressFamily, InterfaceKind, RouteType, Timestamp};

/// The verdict on a path.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum PathStatus {
    /// Every check passes.
    Satisfied,
    /// A kernel-side check fails; the reason names the first one.
    #[default]
    Unsatisfied,
    /// The kernel says the path is fine but the probe fails.
    Failing,
}

impl PathStatus {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::Unsatisfied => "unsatisfied",
            Self::Failing => "failing",
        }
    }
}

/// Why a path is not satisfied: the first failing check, by its schema name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PathReason {
    /// No route matches the destination.
    NoRoute,
    /// A blackhole route matches: the kernel discards the traffic silently.
    Blackhole,
    /// An unreachable route matches: the kernel refuses with "host unreachable".
    Unreachable,
    /// A prohibit route matches: the kernel refuses with "permission denied".
    Prohibit,
    /// The output interface is administratively down.
    LinkDown,
    /// The output interface is up but has no carrier.
    NoCarrier,
    /// The output interface holds no usable address of the family.
    NoSourceAddress,
    /// The only addresses of the family are still tentative (DAD running).
    AddressTentative,
    /// The gateway (or on-link destination) does not answer neighbour discovery.
    GatewayUnreachable,
    /// The target is a name and DNS cannot answer for it: no nameserver configured,
    /// none answers, or the answers are failures (SERVFAIL, REFUSED).
    DnsUnavailable,
    /// The target is a name that does not exist: the nameservers answered NXDOMAIN,
    /// or NODATA for every address family.
    NameNotFound,
    /// The kernel-side checks pass but the probe fails.
    ProbeFailed,
}

impl PathReason {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoRoute => "no_route",
            Self::Blackhole => "blackhole",
            Self::Unreachable => "unreachable",
            Self::Prohibit => "prohibit",
            Self::LinkDown => "link_down",
            Self::NoCarrier => "no_carrier",
            Self::NoSourceAddress => "no_source_address",
            Self::AddressTentative => "address_tentative",
            Self::GatewayUnreachable => "gateway_unreachable",
            Self::DnsUnavailable => "dns_unavailable",
            Self::NameNotFound => "name_not_found",
            Self::ProbeFailed => "probe_failed",
        }
    }
}

/// One link of the evaluation chain, in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// For a name target: DNS configured and resolving it.
    Dns,
    /// The kernel's route lookup (`RTM_GETROUTE`).
    Route,
    /// The output interface is administratively up.
    Link,
    /// The output interface has a carrier.
    Carrier,
    /// The output interface holds a usable source address of the family.
    SourceAddress,
    /// The gateway's (or on-link destination's) neighbour entry is not failed.
    Gateway,
    /// The user's probe (TCP connect, ICMP echo or DNS query).
    Probe,
}

impl CheckName {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Route => "route",
            Self::Link => "link",
            Self::Carrier => "carrier",
            Self::SourceAddress => "source_address",
            Self::Gateway => "gateway",
            Self::Probe => "probe",
        }
    }
}

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PathCheck {
    /// Which check.
    pub name: CheckName,
    /// Whether it passed.
    pub ok: bool,
    /// What it found, in words: `unicast via 10.1.0.1 dev veth0 table main`, `carrier lost`.
    pub detail: String,
}

/// Full or split tunnel (DESIGN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TunnelMode {
    /// The default path uses the same tunnel: everything goes through it.
    Full,
    /// Only some prefixes use the tunnel.
    Split,
}

impl TunnelMode {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Split => "split",
        }
    }
}

/// The latest probe results of a target, over a sliding window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeSummary {
    /// `tcp`, `icmp` or `dns`.
    #[serde(deserialize_with = "crate::snapshot::serde_helpers::probe_kind")]
    #[schemars(schema_with = "crate::snapshot::schema::probe_kind")]
    // Spelled with its path so serde does not borrow it from the input: it is interned.
    pub kind: &'static std::primitive::str,
    /// Whether the latest probe succeeded.
    pub ok: bool,
    /// Round-trip time of the latest probe, milliseconds; `None` when it failed or
    /// was not sent (an old RTT would claim the target still answers).
    pub rtt_ms: Option<f64>,
    /// Share of probes in the window that failed, percent.
    pub loss_pct: Option<f64>,
    /// Mean absolute difference of consecutive RTTs in the window (RFC 3550 style), milliseconds.
    pub jitter_ms: Option<f64>,
    /// Why the latest probe failed, if it did.
    pub error: Option<String>,
    /// Probes sent since the target was added.
    pub sent: u64,
    /// RTT of each probe in the window, oldest first; `None` for a failed one.
    pub history: Vec<Option<f64>>,
}

/// How one connection attempt of a Happy Eyeballs race ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The connection was established.
    Connected,
    /// The far end refused (RST).
    Refused,
    /// No answer within the attempt timeout.
    TimedOut,
    /// The kernel or the network said unreachable.
    Unreachable,
    /// Another attempt won first, so this one was abandoned.
    Cancelled,
    /// Never started: an earlier attempt won before its turn came.
    NotStarted,
    /// Any other error.
    Error,
}

impl AttemptOutcome {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Refused => "refused",
            Self::TimedOut => "timed_out",
            Self::Unreachable => "unreachable",
            Self::Cancelled => "cancelled",
            Self::NotStarted => "not_started",
            Self::Error => "error",
        }
    }
}

/// One connection attempt of a Happy Eyeballs race (RFC 8305).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectAttempt {
    /// Where it connected to.
    pub address: SocketAddr,
    /// When it started, milliseconds after the race began.
    pub started_ms: f64,
    /// How long it ran until it ended, milliseconds.
    pub duration_ms: f64,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Whether this attempt's connection was the one used; the others are also-rans.
    pub winner: bool,
    /// The error text, for a failed attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A committed status change of a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PathTransition {
    /// When the new status was first seen (before the debounce confirmed it).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub at: Timestamp,
    /// Status before.
    pub from: PathStatus,
    /// Status after.
    pub to: PathStatus,
    /// The sentence on the timeline, e.g. `satisfied → unsatisfied (link_down veth0)`.
    pub detail: String,
}

/// A status seen by the latest evaluation but not yet held for the debounce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PendingStatus {
    /// The new status.
    pub status: PathStatus,
    /// Its reason.
    pub reason: Option<PathReason>,
    /// When it was first seen.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub since: Timestamp,
}

/// Everything known about one target's path. Serialises to the export's `paths` entry.
#[expect(clippy::struct_excessive_bools, reason = "the export schema's availability flags")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PathState {
    /// The target as written in canonical form (`default-ipv4`, `example.org:443,probe=icmp`).
    pub target: String,
    /// Family of the destination the verdict is about, once known.
    pub family: Option<AddressFamily>,
    /// The committed (debounced) verdict.
    pub status: PathStatus,
    /// Why it is not satisfied: the first failing check.
    pub reason: Option<PathReason>,
    /// What the reason is about, e.g. the interface (`veth0`) or gateway address.
    pub reason_subject: Option<String>,
    /// The destination address evaluated (the resolved address for a name).
    pub destination: Option<IpAddr>,
    /// Output interface name.
    pub interface: Option<String>,
    /// Output interface index.
    pub interface_index: Option<u32>,
    /// Functional type of the output interface.
    pub interface_kind: Option<InterfaceKind>,
    /// Source address traffic would use.
    pub source: Option<IpAddr>,
    /// Next-hop gateway; `None` when directly connected.
    pub gateway: Option<IpAddr>,
    /// Type of the matching route.
    pub route_type: Option<RouteType>,
    /// Table of the matching route.
    pub table: Option<u32>,
    /// The matching route's prefix, e.g. `0.0.0.0/1`.
    pub matched_prefix: Option<String>,
    /// `full` or `split` when the path leaves through a tunnel interface (tun,
    /// `WireGuard`, PPP, IP-in-IP, GRE, …); `None` for any other interface, policy
    /// table or not.
    pub tunnel: Option<TunnelMode>,
    /// IPv4 available: a usable global IPv4 address and a default IPv4 path.
    pub ipv4: bool,
    /// IPv6 available: a usable global IPv6 address and a default IPv6 path.
    pub ipv6: bool,
    /// DNS available: a nameserver configured and routable.
    pub dns: bool,
    /// The output interface is cellular, or configured as expensive.
    pub expensive: bool,
    /// The output interface is configured as constrained.
    pub constrained: bool,
    /// When the committed status began.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub since: Timestamp,
    /// When the path was last evaluated.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub evaluated_at: Timestamp,
    /// A different status seen but not yet held for the debounce.
    pub pending: Option<PendingStatus>,
    /// The checks of the latest evaluation, in chain order, up to the first failure.
    pub checks: Vec<PathCheck>,
    /// Probe results, when the target is probed.
    pub probe: Option<ProbeSummary>,
    /// The latest Happy Eyeballs race, for a name target with a port.
    pub attempts: Vec<ConnectAttempt>,
    /// Recent committed transitions, oldest first (bounded).
    pub transitions: Vec<PathTransition>,
}

impl PathState {
    /// Whether this is one of the built-in default paths.
    #[must_use]
    pub fn is_default_path(&self) -> bool {
        self.target == "default-ipv4" || self.target == "default-ipv6"
    }
}

/// The kernel's answer to an interactive route lookup (`r`), like `ip route get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RouteLookupReport {
    /// The query as the user typed it (canonical form).
    pub query: String,
    /// When it was answered.
    #[serde(with = "time::serde::rfc3339")]
    pub at: Timestamp,
    /// The answer in `ip route get` form, or the kernel's refusal in words.
    pub answer: Result<String, String>,
    /// The policy rule that selected the table, as `PRIORITY: SELECTOR lookup TABLE`
    /// (inferred from the rule list: the kernel does not say which rule matched).
    pub rule: Option<String>,
    /// The table the answer came from, by name.
    pub table: Option<String>,
    /// The matching route's prefix.
    pub matched_prefix: Option<String>,
}
