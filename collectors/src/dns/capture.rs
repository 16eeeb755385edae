//! The passive DNS capture source: every DNS exchange of this host, as seen on the
//! wire, with the process that asked (DESIGN.md §6, "what every process is asking").
//!
//! With `CAP_NET_RAW`, every up interface — loopback included, where a stub resolver
//! such as systemd-resolved's 127.0.0.53 listens — gets a packet socket whose kernel
//! filter passes only UDP and TCP port 53, whole (`filter.rs`), and a thread that parses
//! each frame ([`packet`]) into one shared [`Matcher`]. The interface list is re-read
//! every [`INVENTORY_INTERVAL`] with the flow capture's machinery
//! (`Captures`), so captures open and close as interfaces come and go, and the
//! status names them. On loopback the sent copy of each packet is dropped in the
//! kernel, so a query and its answer are each seen once.
//!
//! The owner of each new query's socket is looked for at once, off the capture threads
//! (`attribution.rs`). Every flush interval the source expires unanswered queries,
//! drains finished exchanges, fills in their processes (an exchange whose owner is
//! still being looked up waits for one more flush) and sends them as one
//! [`Payload::DnsQueries`] batch with the counters — nothing when nothing changed.
//!
//! Times are taken when a capture thread reads a frame (pnet gives no kernel
//! timestamps): on an idle host that is microseconds after the packet passed, on a
//! loaded one a late read can shift a latency by the scheduling delay.
//!
//! Without `CAP_NET_RAW` (or when the kernel refuses the socket) the status says so —
//! [`NEEDS_CAP_NET_RAW`] — and nothing else is sent.
//!
//! [`packet`]: super::packet

mod attribution;
mod filter;
#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;

pub use crate::capture::INVENTORY_INTERVAL;
use crate::capture::link::{self, Inventory, Link, Running};
use crate::capture::{self as flow_capture, Captures, Starter};
use crate::event::Payload;
use crate::model::{CaptureCounters, DnsQuery, DnsQueryBatch, SourceId, Timestamp};
use crate::source::{EventSink, Source, SourceError};

use super::matcher::{Matcher, MatcherConfig, Observed};
use super::packet::{self, DnsFrame, Framing};
use attribution::{Owners, QuerySocket};

/// The status detail when capture is not allowed.
pub const NEEDS_CAP_NET_RAW: &str =
    "passive DNS capture needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep`";

/// The shortest flush interval honoured: a zero interval would spin.
const MIN_FLUSH: Duration = Duration::from_millis(50);

/// Drops under a flood go to the log at most this often.
const DROP_WARNING: Duration = Duration::from_secs(60);

/// How the passive DNS capture runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCaptureConfig {
    /// How often finished exchanges are sent.
    pub flush: Duration,
    /// How long a query waits for its answer before it is logged as a timeout.
    pub query_timeout: Duration,
    /// Queries outstanding at most; when full the oldest is logged as a timeout.
    pub max_pending: usize,
    /// Finished exchanges waiting for the next flush at most (about one batch); under a
    /// flood beyond that the oldest are dropped (and logged), so memory stays bounded.
    pub max_batch: usize,
    /// Where `/proc` is (for finding the asking processes).
    pub proc_root: PathBuf,
}

impl Default for DnsCaptureConfig {
    fn default() -> Self {
        Self {
            flush: Duration::from_millis(250),
            query_timeout: Duration::from_secs(5),
            max_pending: 4096,
            max_batch: 4096,
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// The passive DNS capture source; see the module documentation.
#[derive(Debug, Clone)]
pub struct DnsCaptureSource {
    config: DnsCaptureConfig,
}

impl DnsCaptureSource {
    /// A source running with `config`.
    #[must_use]
    pub const fn new(config: DnsCaptureConfig) -> Self {
        Self { config }
    }
}

impl Source for DnsCaptureSource {
    fn id(&self) -> SourceId {
        SourceId::DnsCapture
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        if !crate::system::privileges().net_raw {
            return flow_capture::idle(sink, NEEDS_CAP_NET_RAW).await;
        }
        let matcher = Arc::new(Mutex::new(Matcher::new(MatcherConfig {
            timeout: self.config.query_timeout,
            max_pending: self.config.max_pending,
            max_completed: self.config.max_batch,
        })));
        // Exchanges without their processes beat no exchanges at all.
        let owners = Owners::start(self.config.proc_root.clone()).unwrap_or_else(|error| {
            tracing::warn!(%error, "no sock_diag socket: the processes behind DNS queries stay unknown");
            Owners::unavailable()
        });
        let starter = DnsStarter { matcher: Arc::clone(&matcher), owners: owners.clone() };
        let mut captures = Captures::new(starter, PathBuf::from("/sys"));
        let mut reported = None;
        captures = match flow_capture::refresh(captures, &mut reported, sink).await? {
            Some(captures) => captures,
            None => return flow_capture::idle(sink, NEEDS_CAP_NET_RAW).await,
        };
        let period = self.config.flush.max(MIN_FLUSH);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut next_inventory = Instant::now() + INVENTORY_INTERVAL;
        let mut flush = Flush::default();
        loop {
            ticker.tick().await;
            let now = Instant::now();
            if let Some(batch) = flush.next(&matcher, &owners, now) {
                sink.send(Payload::DnsQueries(batch)).await?;
            }
            if now >= next_inventory {
                next_inventory = now + INVENTORY_INTERVAL;
                captures = match flow_capture::refresh(captures, &mut reported, sink).await? {
                    Some(captures) => captures,
                    None => return flow_capture::idle(sink, NEEDS_CAP_NET_RAW).await,
                };
            }
        }
    }
}

/// What one flush carries over to the next.
#[derive(Debug, Default)]
struct Flush {
    /// Exchanges whose owner was still being looked up.
    held: Vec<DnsQuery>,
    /// The counters last sent (none yet: all zero).
    sent: CaptureCounters,
    /// Drops already logged (matcher, attribution queue), and when.
    dropped: (u64, u64),
    warned: Option<Instant>,
}

impl Flush {
    /// The batch to send now, if anything changed.
    fn next(&mut self, matcher: &Mutex<Matcher>, owners: &Owners, now: Instant) -> Option<DnsQueryBatch> {
        let (drained, counters, dropped) = {
            let mut matcher = matcher.lock().unwrap_or_else(PoisonError::into_inner);
            matcher.expire(now);
            (matcher.drain(), matcher.counters(), matcher.dropped())
        };
        let (mut queries, held) = owners.attribute(std::mem::take(&mut self.held), drained, now);
        self.held = held;
        queries.sort_by_key(|query| query.at);
        let dropped = (dropped, owners.dropped());
        if dropped != self.dropped
            && self.warned.is_none_or(|at| now.saturating_duration_since(at) >= DROP_WARNING)
        {
            tracing::warn!(
                exchanges = dropped.0,
                lookups = dropped.1,
                "passive DNS capture fell behind: finished exchanges or owner lookups dropped"
            );
            self.dropped = dropped;
            self.warned = Some(now);
        }
        if queries.is_empty() && self.sent == counters {
            return None;
        }
        self.sent = counters;
        Some(DnsQueryBatch { queries, counters })
    }
}

/// Opens the DNS capture of each link; see the module documentation.
#[derive(Debug)]
struct DnsStarter {
    matcher: Arc<Mutex<Matcher>>,
    owners: Owners,
}

impl Starter for DnsStarter {
    const LABEL: &'static str = "DNS capture";

    fn inventory(&mut self, inventory: &Inventory) {
        self.owners.set_locals(inventory.locals.clone());
    }

    fn start(&mut self, link: &Link) -> io::Result<Running> {
        let filter = filter::socket_filter(link.framing, link.loopback);
        let receiver = link::open_filtered(link, &filter, filter::SNAP_LENGTH as usize)?;
        let (framing, matcher, owners) = (link.framing, Arc::clone(&self.matcher), self.owners.clone());
        Running::spawn(link, "dns", move |stop| {
            let mut asked = Vec::new();
            link::read_frames(receiver, stop, |frame| handle(framing, frame, &matcher, &owners, &mut asked))
        })
    }
}

/// One captured frame into the matcher; the sockets of new queries to the owner
/// lookup (after the matcher's lock is released). `asked` is reused scratch space.
fn handle(
    framing: Framing,
    frame: &[u8],
    matcher: &Mutex<Matcher>,
    owners: &Owners,
    asked: &mut Vec<QuerySocket>,
) {
    let (seen, at) = (Instant::now(), Timestamp::now_utc());
    asked.clear();
    {
        let mut matcher = matcher.lock().unwrap_or_else(PoisonError::into_inner);
        for item in packet::messages(framing, frame) {
            match item {
                DnsFrame::Message(packet) => {
                    let socket = QuerySocket {
                        transport: packet.transport,
                        local: packet.client,
                        remote: packet.server,
                    };
                    if matcher.observe(packet, seen, at) == Observed::NewQuery {
                        asked.push(socket);
                    }
                }
                DnsFrame::Malformed => matcher.malformed(),
                DnsFrame::NotDns => {}
            }
        }
    }
    for &socket in asked.iter() {
        owners.request(socket, seen);
    }
}
