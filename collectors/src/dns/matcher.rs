//! Pairs captured queries with their responses, as the asking resolver would.
//!
//! A response answers a query when everything a stub resolver checks agrees: the
//! transport, the client's address and port, the server's address and port, the
//! transaction id, and the question (name and type). A response that answers nothing
//! outstanding — a wrong id, a wrong source, a second copy — is ignored, as glibc
//! ignores it, and counted as `unmatched`.
//!
//! A query is timed from the first time it was seen: a retransmission of an
//! outstanding query (same key) keeps the first send time, so the latency of an
//! answer to the retry includes the wait that led to it. A query unanswered after the
//! timeout becomes a timeout entry (`rcode` and `latency_ms` `None`). Latencies are the
//! difference of the kernel's receive timestamps of query and answer (the capture
//! ring's `tp_sec`/`tp_nsec`), so a late read of the ring does not stretch or shrink
//! them; `at` is the query's kernel timestamp. Expiry runs on the monotonic clock of
//! the reads (a timeout is seconds; a read is late by milliseconds at most).
//!
//! Memory is bounded however fast queries come: at most `max_pending` queries are
//! outstanding (when full, the oldest is expired as a timeout first), and at most
//! `max_completed` finished exchanges wait to be drained (beyond that the oldest are
//! dropped and counted in [`Matcher::dropped`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::model::{CaptureCounters, DnsQuery, DnsTransport, Timestamp};

use super::packet::DnsPacket;

#[cfg(test)]
mod tests;

/// Limits of a [`Matcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatcherConfig {
    /// How long a query waits for its response before it is a timeout.
    pub timeout: Duration,
    /// Queries outstanding at most.
    pub max_pending: usize,
    /// Finished exchanges kept until drained at most.
    pub max_completed: usize,
}

impl Default for MatcherConfig {
    /// 5 s (glibc's default `timeout:`), 4096 outstanding, 4096 finished.
    fn default() -> Self {
        Self { timeout: Duration::from_secs(5), max_pending: 4096, max_completed: 4096 }
    }
}

/// What one observed packet did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// A query not outstanding before: it is now.
    NewQuery,
    /// A query already outstanding (a retransmission, or a second copy).
    Repeated,
    /// The response to an outstanding query.
    Answered,
    /// A response to nothing outstanding.
    Unmatched,
}

/// Everything a response must agree on with its query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    transport: DnsTransport,
    client: SocketAddr,
    server: SocketAddr,
    id: u16,
    name: String,
    qtype: String,
}

/// An outstanding query.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Its place in [`Matcher::order`].
    sequence: u64,
    /// When it was first read (for expiry).
    seen: Instant,
    /// When the kernel first received it.
    at: Timestamp,
}

/// Query/response pairing; see the module documentation.
#[derive(Debug)]
pub struct Matcher {
    config: MatcherConfig,
    pending: HashMap<Key, Pending>,
    /// Outstanding queries by arrival: the oldest is the first to expire.
    order: BTreeMap<u64, Key>,
    next_sequence: u64,
    completed: VecDeque<DnsQuery>,
    counters: CaptureCounters,
    dropped: u64,
}

impl Matcher {
    /// An empty matcher with `config` (limits of 0 count as 1).
    #[must_use]
    pub fn new(config: MatcherConfig) -> Self {
        let config = MatcherConfig {
            max_pending: config.max_pending.max(1),
            max_completed: config.max_completed.max(1),
            ..config
        };
        Self {
            config,
            pending: HashMap::new(),
            order: BTreeMap::new(),
            next_sequence: 0,
            completed: VecDeque::new(),
            counters: CaptureCounters::default(),
            dropped: 0,
        }
    }

    /// Take in one DNS message read at `seen` (monotonic) and received by the kernel at
    /// `at` (its timestamp).
    pub fn observe(&mut self, packet: DnsPacket, seen: Instant, at: Timestamp) -> Observed {
        self.counters.packets += 1;
        let DnsPacket { id, response, client, server, transport, name, qtype, rcode, answers, .. } = packet;
        let key = Key { transport, client, server, id, name, qtype };
        if response {
            let Some(pending) = self.pending.remove(&key) else {
                self.counters.unmatched += 1;
                return Observed::Unmatched;
            };
            self.order.remove(&pending.sequence);
            // The same clock on both ends; a step of the wall clock in between (rare:
            // they are milliseconds apart) could make it negative, which is no latency.
            let latency = (at - pending.at).as_seconds_f64().max(0.0);
            self.finish(key, pending, Some(rcode), answers, Some(latency * 1000.0));
            return Observed::Answered;
        }
        if self.pending.contains_key(&key) {
            return Observed::Repeated;
        }
        if self.pending.len() >= self.config.max_pending {
            self.expire_oldest();
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.order.insert(sequence, key.clone());
        self.pending.insert(key, Pending { sequence, seen, at });
        Observed::NewQuery
    }

    /// Count a frame on port 53 that did not parse.
    pub const fn malformed(&mut self) {
        self.counters.malformed += 1;
    }

    /// Turn queries outstanding for the timeout or longer at `now` into timeouts.
    pub fn expire(&mut self, now: Instant) {
        while let Some(key) = self.order.first_key_value().map(|(_, key)| key) {
            let expired = self
                .pending
                .get(key)
                .is_none_or(|pending| now.saturating_duration_since(pending.seen) >= self.config.timeout);
            if !expired {
                break;
            }
            self.expire_oldest();
        }
    }

    /// The finished exchanges (answered and timed out) since the last drain, oldest
    /// query first; `pid` and `process` are left for the caller.
    pub fn drain(&mut self) -> Vec<DnsQuery> {
        let mut queries: Vec<DnsQuery> = self.completed.drain(..).collect();
        // Answers arrive in any order; the log reads by when each query was sent.
        queries.sort_by_key(|query| query.at);
        queries
    }

    /// Counters since the matcher started.
    #[must_use]
    pub const fn counters(&self) -> CaptureCounters {
        self.counters
    }

    /// Queries outstanding now.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Nothing outstanding and nothing finished waiting: a flush would find nothing new.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.completed.is_empty()
    }

    /// Finished exchanges dropped because nobody drained them in time.
    #[must_use]
    pub const fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Expire the oldest outstanding query, whatever its age.
    fn expire_oldest(&mut self) {
        let Some((_, key)) = self.order.pop_first() else { return };
        if let Some(pending) = self.pending.remove(&key) {
            self.counters.timeouts += 1;
            self.finish(key, pending, None, 0, None);
        }
    }

    fn finish(
        &mut self,
        key: Key,
        pending: Pending,
        rcode: Option<String>,
        answers: u16,
        latency_ms: Option<f64>,
    ) {
        if self.completed.len() >= self.config.max_completed {
            self.completed.pop_front();
            self.dropped += 1;
        }
        self.completed.push_back(DnsQuery {
            at: pending.at,
            pid: None,
            process: None,
            attribution: None,
            cgroup: None,
            name: key.name,
            qtype: key.qtype,
            server: key.server,
            client: key.client,
            transport: key.transport,
            rcode,
            answers,
            latency_ms,
        });
    }
}
