//! The passive DNS capture source: every DNS exchange of this host, as seen on the
//! wire, with the process that asked (DESIGN.md §6, "what every process is asking").
//!
//! With `CAP_NET_RAW`, the capture engine of this network namespace
//! ([`crate::capture`]: one memory-mapped ring per up interface, loopback included —
//! where a stub resolver such as systemd-resolved's 127.0.0.53 listens — served by one
//! thread) passes every UDP and TCP segment to or from port 53 here, whole, with the
//! kernel's receive timestamp; the same rings and frames feed the flow capture. Each
//! segment is parsed ([`packet`]) into one shared [`Matcher`]. The status names the
//! interfaces captured. On loopback the sent copy of each packet is dropped in the
//! kernel, so a query and its answer are each seen once.
//!
//! The owner of each new query's socket is looked for at once, off the capture thread
//! (`attribution.rs`). The source sleeps until a segment arrives; then, every flush
//! interval while anything is outstanding, it expires unanswered queries, drains
//! finished exchanges, fills in their processes (an exchange whose owner is still being
//! looked up waits for one more flush) and sends them as one [`Payload::DnsQueries`]
//! batch with the counters — nothing when nothing changed — and sleeps again once
//! nothing is outstanding: an idle host never wakes it.
//!
//! **Times** are the kernel's: a query's `at` is when the kernel received it, and its
//! latency is the answer's kernel timestamp minus the query's, however late the
//! capture thread read either.
//!
//! Without `CAP_NET_RAW` (or when the kernel refuses the socket) the status says so —
//! [`NEEDS_CAP_NET_RAW`] — and nothing else is sent.
//!
//! [`packet`]: super::packet

mod attribution;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::capture::engine::{DnsConsumer, Engine, EngineConfig, EngineState};
use crate::capture::frame::Segment;
use crate::capture::link::Inventory;
use crate::capture::{self as flow_capture, LinkWatch};
use crate::event::Payload;
use crate::kernel_view::KernelView;
use crate::model::{CaptureCounters, DnsQuery, DnsQueryBatch, SourceId, Timestamp};
use crate::source::{EventSink, Source, SourceError};

use super::matcher::{Matcher, MatcherConfig, Observed};
use super::packet::{self, DnsFrame};
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
    kernel: Option<KernelView>,
}

impl DnsCaptureSource {
    /// A source running with `config`. Without [`Self::with_kernel`] its capture
    /// subscribes to rtnetlink link notifications itself.
    #[must_use]
    pub const fn new(config: DnsCaptureConfig) -> Self {
        Self { config, kernel: None }
    }

    /// Learn of link and address changes from the process's kernel view (its one
    /// rtnetlink subscription) instead.
    #[must_use]
    pub fn with_kernel(mut self, kernel: KernelView) -> Self {
        self.kernel = Some(kernel);
        self
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
        let feed =
            Arc::new(Feed { matcher: Arc::clone(&matcher), owners: owners.clone(), arrived: Notify::new() });
        let config = EngineConfig { own_notifications: self.kernel.is_none(), ..EngineConfig::default() };
        let mut links = LinkWatch::new(self.kernel.as_ref());
        let engine = match Engine::attach(&config) {
            Ok(engine) => engine,
            Err(error) => {
                return flow_capture::idle(sink, &format!("DNS capture could not start: {error}")).await;
            }
        };
        let consumer: Arc<dyn DnsConsumer> = feed.clone();
        engine.add_dns(&consumer);
        let mut state = engine.state();
        let mut reported = None;
        let period = self.config.flush.max(MIN_FLUSH);
        let mut flush = Flush::default();
        // Something arrived since the last flush (a counter may have changed).
        let mut arrived = false;
        loop {
            let current = state.borrow_and_update().clone();
            match current {
                EngineState::Starting => {}
                EngineState::Refused => return flow_capture::idle(sink, NEEDS_CAP_NET_RAW).await,
                EngineState::Failed(error) => {
                    return flow_capture::idle(sink, &format!("DNS capture stopped: {error}")).await;
                }
                EngineState::Running(report) => {
                    let status = report.status_of("DNS capture");
                    if reported.as_ref() != Some(&status) {
                        sink.status(status.0, status.1.clone()).await?;
                        reported = Some(status);
                    }
                }
            }
            let busy = arrived
                || !flush.held.is_empty()
                || !matcher.lock().unwrap_or_else(PoisonError::into_inner).is_idle();
            if busy {
                tokio::select! {
                    changed = state.changed() => {
                        if changed.is_err() {
                            return flow_capture::idle(sink, "DNS capture stopped").await;
                        }
                        continue;
                    }
                    () = links.changed() => {
                        engine.replan();
                        continue;
                    }
                    () = tokio::time::sleep(period) => {}
                }
                arrived = false;
                if let Some(batch) = flush.next(&matcher, &owners, Instant::now()) {
                    sink.send(Payload::DnsQueries(batch)).await?;
                }
            } else {
                tokio::select! {
                    changed = state.changed() => {
                        if changed.is_err() {
                            return flow_capture::idle(sink, "DNS capture stopped").await;
                        }
                    }
                    () = links.changed() => engine.replan(),
                    () = feed.arrived.notified() => arrived = true,
                }
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

/// What the capture engine hands DNS segments to.
struct Feed {
    matcher: Arc<Mutex<Matcher>>,
    owners: Owners,
    /// Woken when a segment arrives, so an idle source sleeps without a timer.
    arrived: Notify,
}

impl DnsConsumer for Feed {
    fn inventory(&self, inventory: &Inventory) {
        self.owners.set_locals(inventory.locals.clone());
    }

    fn segment(&self, segment: &Segment<'_>, at: Timestamp) {
        let mut asked = Vec::new();
        observe(*segment, at, &self.matcher, &self.owners, &mut asked);
        self.arrived.notify_one();
    }
}

/// One captured segment, received by the kernel at `at`, into the matcher; the sockets
/// of new queries to the owner lookup (after the matcher's lock is released). `asked`
/// is scratch space.
fn observe(
    segment: Segment<'_>,
    at: Timestamp,
    matcher: &Mutex<Matcher>,
    owners: &Owners,
    asked: &mut Vec<QuerySocket>,
) {
    let seen = Instant::now();
    asked.clear();
    {
        let mut matcher = matcher.lock().unwrap_or_else(PoisonError::into_inner);
        for item in packet::segment_messages(segment) {
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
