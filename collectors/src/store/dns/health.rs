//! Per-server health: counters since start, a latency window for the percentiles, and
//! the outcomes of the last minute, from which the worst current DNS state is judged.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use crate::clock::Mono;

/// Latencies kept per server for the percentiles.
pub(super) const LATENCY_WINDOW: usize = 256;
/// How far back "now" reaches for the current state: a server that timed out in the
/// last minute is timing out now, one that stopped a minute ago is not.
pub const RECENT_WINDOW: time::Duration = time::Duration::seconds(60);
/// Recent outcomes kept per server at most (a busy server's minute is summarised by its
/// newest outcomes).
const RECENT_CAPACITY: usize = 128;

/// How one exchange ended, for the recent window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Outcome {
    Answered,
    Error,
    Timeout,
}

/// How one server has been doing, from the passive log and the traces.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ServerHealth {
    /// Queries sent to it.
    pub queries: u64,
    /// Queries it never answered.
    pub timeouts: u64,
    /// Answers that were errors (SERVFAIL, REFUSED, FORMERR, NOTIMP); NXDOMAIN is an
    /// answer, not an error.
    pub errors: u64,
    /// Recent answer latencies, oldest first.
    pub(super) latencies: VecDeque<f64>,
    /// Outcomes of the last [`RECENT_WINDOW`], oldest first, on the monotonic clock.
    recent: VecDeque<(Mono, Outcome)>,
    /// Sequence number of the last query seen (to forget idle servers first).
    pub(super) last_seen: u64,
    /// Answers by RCODE name (`NOERROR`, `NXDOMAIN`, …: at most the 16 a header holds
    /// and the extended ones seen); journals written before this start them at zero.
    #[serde(default)]
    pub rcodes: BTreeMap<String, u64>,
    /// Answer latencies, in seconds, by bucket (the daemon's histogram).
    #[serde(default)]
    pub latency: crate::store::Histogram,
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

    /// Timeouts, errors and all exchanges in the [`RECENT_WINDOW`] before `now`.
    #[must_use]
    pub fn recent(&self, now: Mono) -> RecentOutcomes {
        let mut counts = RecentOutcomes::default();
        for (at, outcome) in self.recent.iter().rev() {
            if now - *at > RECENT_WINDOW {
                break;
            }
            counts.queries += 1;
            match outcome {
                Outcome::Answered => {}
                Outcome::Error => counts.errors += 1,
                Outcome::Timeout => counts.timeouts += 1,
            }
        }
        counts
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

    pub(super) fn record(&mut self, rcode: Option<&str>, latency_ms: Option<f64>, seq: u64, at: Mono) {
        self.queries += 1;
        self.last_seen = seq;
        let outcome = match (rcode, latency_ms) {
            (None, _) => {
                self.timeouts += 1;
                Outcome::Timeout
            }
            (Some(code), latency) => {
                match self.rcodes.get_mut(code) {
                    Some(count) => *count += 1,
                    None => {
                        self.rcodes.insert(code.to_owned(), 1);
                    }
                }
                if let Some(latency) = latency {
                    self.latency.observe(latency / 1000.0);
                    if self.latencies.len() == LATENCY_WINDOW {
                        self.latencies.pop_front();
                    }
                    self.latencies.push_back(latency);
                }
                if is_error_rcode(code) {
                    self.errors += 1;
                    Outcome::Error
                } else {
                    Outcome::Answered
                }
            }
        };
        while self.recent.len() >= RECENT_CAPACITY
            || self.recent.front().is_some_and(|(then, _)| at - *then > RECENT_WINDOW)
        {
            self.recent.pop_front();
        }
        self.recent.push_back((at, outcome));
    }
}

/// What one server did in the last [`RECENT_WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecentOutcomes {
    /// Exchanges.
    pub queries: u64,
    /// Of which unanswered.
    pub timeouts: u64,
    /// Of which answered with an error code.
    pub errors: u64,
}

/// The worst thing DNS is doing now, for the DNS summary and the status bar: one
/// server timing out outweighs every other answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsState {
    /// No exchange in the last [`RECENT_WINDOW`]: nothing to judge.
    Quiet,
    /// Every server asked recently answered without an error code.
    Answering,
    /// A server answered with error codes (SERVFAIL, REFUSED, …) recently; the one
    /// with the most.
    Failing {
        /// The server.
        server: IpAddr,
        /// Its error answers in the window.
        errors: u64,
        /// Its exchanges in the window.
        queries: u64,
    },
    /// A server left queries unanswered recently; the one with the most timeouts.
    TimingOut {
        /// The server.
        server: IpAddr,
        /// Its timeouts in the window.
        timeouts: u64,
        /// Its exchanges in the window.
        queries: u64,
    },
}

impl DnsState {
    /// The state judged from every server's recent outcomes at `now`.
    pub(super) fn judge(servers: &BTreeMap<IpAddr, ServerHealth>, now: Mono) -> Self {
        let mut state = Self::Quiet;
        for (server, health) in servers {
            let recent = health.recent(now);
            if recent.queries == 0 {
                continue;
            }
            let candidate = if recent.timeouts > 0 {
                Self::TimingOut { server: *server, timeouts: recent.timeouts, queries: recent.queries }
            } else if recent.errors > 0 {
                Self::Failing { server: *server, errors: recent.errors, queries: recent.queries }
            } else {
                Self::Answering
            };
            if candidate.rank() > state.rank() {
                state = candidate;
            }
        }
        state
    }

    /// Worse is larger; within a kind, more failures are worse.
    const fn rank(&self) -> (u8, u64) {
        match *self {
            Self::Quiet => (0, 0),
            Self::Answering => (1, 0),
            Self::Failing { errors, .. } => (2, errors),
            Self::TimingOut { timeouts, .. } => (3, timeouts),
        }
    }

    /// Whether something is wrong (a server failing or timing out).
    #[must_use]
    pub const fn is_problem(&self) -> bool {
        matches!(self, Self::Failing { .. } | Self::TimingOut { .. })
    }

    /// A short phrase for a status line: `10.0.0.1 timing out (3 of 4 in the last minute)`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Quiet => "no DNS traffic in the last minute".to_owned(),
            Self::Answering => "servers answering".to_owned(),
            Self::Failing { server, errors, queries } => {
                format!("{server} answering with errors ({errors} of {queries} in the last minute)")
            }
            Self::TimingOut { server, timeouts, queries } => {
                format!("{server} timing out ({timeouts} of {queries} in the last minute)")
            }
        }
    }
}

/// Whether an rcode means the server failed rather than answered.
#[must_use]
pub fn is_error_rcode(rcode: &str) -> bool {
    matches!(rcode, "SERVFAIL" | "REFUSED" | "FORMERR" | "NOTIMP")
}
