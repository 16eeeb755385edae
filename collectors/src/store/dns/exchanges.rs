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

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use crate::model::DnsTransport;

/// Reports remembered while waiting for their twin; the oldest is forgotten first.
/// A twin comes within the capture's timeout (seconds), so a few thousand reports
/// cover even a busy host's capture.
const REMEMBERED: usize = 4096;

/// Who reported an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reporter {
    /// A step of one of netlens's traces.
    Trace,
    /// The passive capture.
    Capture,
}

/// What identifies one exchange in both reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// Recent reports, by exchange; see the module documentation.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Exchanges {
    reported: HashMap<ExchangeKey, Reporter>,
    order: VecDeque<ExchangeKey>,
}

impl Exchanges {
    /// Whether this report should count: `false` when the other reporter already
    /// counted the same exchange (its twin is then forgotten: each report has one twin).
    pub(super) fn counts(&mut self, key: ExchangeKey, reporter: Reporter) -> bool {
        match self.reported.get(&key) {
            Some(first) if *first != reporter => {
                self.reported.remove(&key);
                false
            }
            // The same reporter again: a new exchange from a reused socket.
            Some(_) => true,
            None => {
                if self.order.len() >= REMEMBERED
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.reported.remove(&oldest);
                }
                self.order.push_back(key.clone());
                self.reported.insert(key, reporter);
                true
            }
        }
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
    fn memory_is_bounded() {
        let mut exchanges = Exchanges::default();
        for port in 0..u16::try_from(REMEMBERED * 2).unwrap_or(u16::MAX) {
            exchanges.counts(key(port), Reporter::Capture);
        }
        assert_eq!(exchanges.reported.len(), REMEMBERED);
        assert_eq!(exchanges.order.len(), REMEMBERED);
    }
}
