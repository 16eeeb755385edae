//! Counting each exchange once when two reports of it can arrive.
//!
//! A trace's queries leave this host like any other, so with passive capture running
//! the same exchange can be reported twice: as a trace step and as a captured query.
//! Neither report is reliably first (an answer is flushed by the capture within a
//! quarter second, while the trace is still waiting on a dead server; a timeout is
//! reported by the trace after its own `timeout:`, by the capture only after five
//! seconds), and neither can be left out (the capture misses what never reached the
//! wire, or runs without `CAP_NET_RAW`; traces are rare). So the rule is: **an
//! exchange counts in server health once, from whichever report comes first**; the
//! other report of the same exchange — same transport, client port, server, name and
//! type — is recognised here and not counted again.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;

use crate::model::DnsTransport;

/// Captured exchanges remembered while waiting for their trace step; the oldest is
/// forgotten first. A trace step follows its captured twin within the trace's run
/// (seconds); under a flood of other queries a twin older than this many exchanges
/// is forgotten and its step counted again — the price of bounded memory.
const CAPTURED: usize = 4096;
/// Trace steps remembered while waiting for their captured twin (which comes after
/// the capture's timeout, 5 s, for a query that was never answered). Kept apart from
/// the captured ones so a flood of other queries cannot push them out.
const TRACED: usize = 1024;

/// Who reported an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reporter {
    /// A step of one of netlens's traces.
    Trace,
    /// The passive capture.
    Capture,
}

/// What identifies one exchange in both reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(super) struct ExchangeKey {
    transport: DnsTransport,
    client_port: u16,
    server: SocketAddr,
    name: String,
    qtype: String,
}

impl ExchangeKey {
    pub(super) fn new(
        transport: DnsTransport,
        client: SocketAddr,
        server: SocketAddr,
        name: &str,
        qtype: &str,
    ) -> Self {
        Self {
            transport,
            // The trace knows its socket bound to the unspecified address; the capture
            // sees the source address the kernel chose: the port is what both know.
            client_port: client.port(),
            server,
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            qtype: qtype.to_owned(),
        }
    }
}

/// Reports of one reporter awaiting their twin, bounded.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
struct Awaiting {
    keys: HashSet<ExchangeKey>,
    order: VecDeque<ExchangeKey>,
}

impl Awaiting {
    fn insert(&mut self, key: ExchangeKey, capacity: usize) {
        if self.keys.contains(&key) {
            return;
        }
        while self.order.len() >= capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.keys.remove(&oldest);
            }
        }
        self.order.push_back(key.clone());
        self.keys.insert(key);
    }

    /// Take the twin out, if it is waiting (its entry in `order` goes when it comes
    /// round: a removed key there is only a stale slot).
    fn take(&mut self, key: &ExchangeKey) -> bool {
        self.keys.remove(key)
    }
}

/// Recent reports, by exchange; see the module documentation.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Exchanges {
    traced: Awaiting,
    captured: Awaiting,
}

impl Exchanges {
    /// Whether this report should count: `false` when the other reporter already
    /// counted the same exchange (its twin is then forgotten: each report has one twin).
    /// A second report from the same reporter is a new exchange from a reused socket.
    pub(super) fn counts(&mut self, key: ExchangeKey, reporter: Reporter) -> bool {
        let (mine, theirs, capacity) = match reporter {
            Reporter::Trace => (&mut self.traced, &mut self.captured, TRACED),
            Reporter::Capture => (&mut self.captured, &mut self.traced, CAPTURED),
        };
        if theirs.take(&key) {
            return false;
        }
        mine.insert(key, capacity);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> ExchangeKey {
        let client = SocketAddr::from(([0, 0, 0, 0], port));
        let server = SocketAddr::from(([10, 0, 0, 1], 53));
        ExchangeKey::new(DnsTransport::Udp, client, server, "Www.Lab.Test.", "A")
    }

    #[test]
    fn the_second_report_of_one_exchange_does_not_count() {
        let mut exchanges = Exchanges::default();
        assert!(exchanges.counts(key(4000), Reporter::Capture));
        assert!(!exchanges.counts(key(4000), Reporter::Trace), "the trace's twin of a captured query");
        assert!(exchanges.counts(key(4001), Reporter::Trace));
        assert!(!exchanges.counts(key(4001), Reporter::Capture), "the capture's twin of a trace step");
        assert!(exchanges.counts(key(4001), Reporter::Capture), "a later exchange from the same socket");
        assert!(exchanges.counts(key(4001), Reporter::Capture), "and another");
    }

    #[test]
    fn memory_is_bounded_and_a_flood_keeps_the_trace_steps() {
        let mut exchanges = Exchanges::default();
        assert!(exchanges.counts(key(1), Reporter::Trace));
        for port in 1_000..u16::try_from(1_000 + CAPTURED * 2).unwrap_or(u16::MAX) {
            exchanges.counts(key(port), Reporter::Capture);
        }
        assert_eq!(exchanges.captured.keys.len(), CAPTURED);
        assert!(exchanges.captured.order.len() <= CAPTURED);
        assert!(!exchanges.counts(key(1), Reporter::Capture), "the trace step outlived the flood");
        for port in 10_000..u16::try_from(10_000 + TRACED * 2).unwrap_or(u16::MAX) {
            exchanges.counts(key(port), Reporter::Trace);
        }
        assert_eq!(exchanges.traced.keys.len(), TRACED);
    }
}
