//! The capture source: bytes per UDP flow from packet capture, for the rates
//! `sock_diag` cannot give (it has no UDP byte counters), and the kernel's packet and
//! drop counters of the capture.
//!
//! With `CAP_NET_RAW`, every up interface gets a memory-mapped packet ring ([`ring`],
//! receive-only, never promiscuous, with a kernel filter — [`filter`] — that keeps DNS
//! whole, cuts other UDP to its headers and drops the rest), and one thread serves every
//! ring, woken by epoll only when the kernel hands over frames or an interface changes
//! ([`engine`]); the same rings feed the passive DNS capture ([`crate::dns::capture`]),
//! which attaches to the same engine. Which interfaces are captured, and how their
//! frames begin, is decided in [`link`]; each frame is parsed once ([`frame`], with
//! pnet) and UDP packets are counted into a bounded flow table ([`flows`]). Every
//! interval the table is emptied into one [`Payload::Flows`] event, and the kernel's
//! counters, when they changed, into one [`Payload::Capture`].
//!
//! Direction and loopback counting are explained in [`flows`], byte accounting (IP
//! length) in [`frame`]. Without `CAP_NET_RAW` (or when the kernel refuses the socket)
//! the status says so — [`NEEDS_CAP_NET_RAW`] — and nothing else is sent.
//!
//! The status names the interfaces captured; when the kernel has dropped packets
//! (the ring was full) it says how many, of how many, refreshed at most every
//! [`DROPS_STATUS_EVERY`] (every status change is a timeline entry). The live counts
//! are in the store ([`Payload::Capture`]) and the export.

pub mod block;
pub mod count;
pub(crate) mod engine;
pub(crate) mod filter;
pub mod flows;
pub mod frame;
pub(crate) mod link;
pub mod ring;
pub mod sizing;
#[cfg(test)]
pub(crate) mod testing;

pub use frame::Framing;
pub use ring::RingConfig;
pub use sizing::RingSizes;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use tokio::sync::watch;

use crate::event::Payload;
use crate::kernel_view::{KernelView, NetworkView};
use crate::model::{CaptureTotals, FlowSample, InterfaceAddress, LinkFlags, SourceId, SourceState};
use crate::source::{EventSink, Source, SourceError};

use engine::{Engine, EngineConfig, EngineState};
use flows::FlowTable;

/// The status detail when capture is not allowed.
pub const NEEDS_CAP_NET_RAW: &str =
    "UDP rates need CAP_NET_RAW (packet capture): run as root or `setcap cap_net_raw+ep`";

/// The status is refreshed with a changed drop count at most this often.
pub const DROPS_STATUS_EVERY: Duration = Duration::from_secs(10);

/// The shortest interval honoured: a zero interval would spin.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Capture counters go to the log this often (in intervals).
const STATS_EVERY: u32 = 60;

/// How the capture source runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureConfig {
    /// How often per-flow byte counts are sent.
    pub interval: Duration,
    /// Flows counted per interval at most; packets of further flows are dropped (and
    /// counted in the log), so memory stays bounded under a flood of flows.
    pub max_flows: usize,
    /// The size of each interface's ring, quiet and busy (when this source starts the
    /// capture engine of its network namespace; a running one keeps its own).
    pub rings: RingSizes,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self { interval: Duration::from_secs(1), max_flows: 65_536, rings: RingSizes::default() }
    }
}

/// The capture source; see the module documentation.
#[derive(Debug, Clone)]
pub struct CaptureSource {
    config: CaptureConfig,
    kernel: Option<KernelView>,
}

impl CaptureSource {
    /// A source running with `config`. Without [`Self::with_kernel`] its capture
    /// subscribes to rtnetlink link notifications itself.
    #[must_use]
    pub const fn new(config: CaptureConfig) -> Self {
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

impl Source for CaptureSource {
    fn id(&self) -> SourceId {
        SourceId::Capture
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        if !crate::system::privileges().net_raw {
            return unprivileged(sink).await;
        }
        let table = Arc::new(Mutex::new(FlowTable::new(self.config.max_flows)));
        let config = EngineConfig {
            rings: self.config.rings,
            own_notifications: self.kernel.is_none(),
            ..EngineConfig::default()
        };
        let mut links = LinkWatch::new(self.kernel.as_ref());
        let engine = match Engine::attach(&config) {
            Ok(engine) => engine,
            Err(error) => return idle(sink, &format!("packet capture could not start: {error}")).await,
        };
        engine.add_flows(&table);
        let mut state = engine.state();
        let mut totals = engine.totals();
        let mut status = Status::default();
        let period = self.config.interval.max(MIN_INTERVAL);
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_flush = Instant::now();
        let mut ticks: u32 = 0;
        loop {
            let current = state.borrow_and_update().clone();
            match current {
                EngineState::Starting => {}
                EngineState::Refused => return unprivileged(sink).await,
                EngineState::Failed(error) => {
                    return idle(sink, &format!("packet capture stopped: {error}")).await;
                }
                EngineState::Running(report) => {
                    status.report = Some(report);
                    let (dropped, packets) = {
                        let totals = totals.borrow();
                        (totals.dropped, totals.packets)
                    };
                    status.send(sink, dropped, packets).await?;
                }
            }
            tokio::select! {
                changed = state.changed() => {
                    if changed.is_err() {
                        return idle(sink, "packet capture stopped").await;
                    }
                }
                () = links.changed() => engine.replan(),
                _ = ticker.tick() => {
                    let now = Instant::now();
                    let (flows, counted) = {
                        let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
                        (table.take(), table.stats())
                    };
                    let interval_ms = u32::try_from(now.duration_since(last_flush).as_millis()).unwrap_or(u32::MAX);
                    last_flush = now;
                    sink.send(Payload::Flows(FlowSample { interval_ms, flows })).await?;
                    if totals.has_changed().unwrap_or(false) {
                        let latest: CaptureTotals = totals.borrow_and_update().clone();
                        status.send(sink, latest.dropped, latest.packets).await?;
                        sink.send(Payload::Capture(latest)).await?;
                    }
                    ticks = ticks.wrapping_add(1);
                    if ticks.is_multiple_of(STATS_EVERY) {
                        tracing::debug!(?counted, wakeups = engine.wakeups(), "packet capture");
                    }
                }
            }
        }
    }
}

/// What the status last said, and when drops were last reported in it.
#[derive(Debug, Default)]
struct Status {
    report: Option<Report>,
    /// The detail without the drops, and the whole status, as last sent.
    sent: Option<(String, SourceState, String)>,
    drops_at: Option<Instant>,
}

impl Status {
    /// Send the status of the current report with `dropped` of `packets`, if it changed
    /// (a changed drop count only every [`DROPS_STATUS_EVERY`]).
    async fn send(&mut self, sink: &EventSink, dropped: u64, packets: u64) -> Result<(), SourceError> {
        let Some(report) = &self.report else { return Ok(()) };
        let (state, base) = report.status_of("packet capture");
        let base_changed = self.sent.as_ref().is_none_or(|(sent, ..)| *sent != base);
        let mut detail = base.clone();
        if dropped > 0 {
            if !base_changed && self.drops_at.is_some_and(|at| at.elapsed() < DROPS_STATUS_EVERY) {
                return Ok(());
            }
            // Writing to a String cannot fail.
            let _ = write!(
                detail,
                " · {} packets · {} dropped by the kernel",
                grouped(packets),
                grouped(dropped)
            );
        }
        if self.sent.as_ref().is_some_and(|(_, sent_state, sent)| *sent_state == state && *sent == detail) {
            return Ok(());
        }
        if dropped > 0 {
            self.drops_at = Some(Instant::now());
        }
        sink.status(state, detail.clone()).await?;
        self.sent = Some((base, state, detail));
        Ok(())
    }
}

/// `1234567` as `1 234 567`, as the TUI writes counts (`netlens_ui::format::Count`).
#[must_use]
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// What of the kernel view decides the captures: each link's index, name, flags and
/// master, and its addresses (this host's addresses tell sent from received).
type LinkFacts = Vec<(u32, String, LinkFlags, Option<u32>, Vec<InterfaceAddress>)>;

/// Link and address changes as the process's kernel view (its one rtnetlink
/// subscription) publishes them, for an engine without notifications of its own.
#[derive(Debug)]
pub(crate) struct LinkWatch {
    view: Option<watch::Receiver<Arc<NetworkView>>>,
    last: LinkFacts,
}

impl LinkWatch {
    /// Watch `kernel`'s view; without one, [`Self::changed`] never returns.
    pub(crate) fn new(kernel: Option<&KernelView>) -> Self {
        let mut view = kernel.map(KernelView::subscribe);
        let last = view.as_mut().map(|view| link_facts(&view.borrow_and_update())).unwrap_or_default();
        Self { view, last }
    }

    /// The next change of links or addresses (route and neighbour changes are not
    /// one). Cancel-safe.
    pub(crate) async fn changed(&mut self) {
        loop {
            let Some(view) = &mut self.view else { return std::future::pending().await };
            if view.changed().await.is_err() {
                self.view = None;
                continue;
            }
            let facts = link_facts(&view.borrow_and_update());
            if facts != self.last {
                self.last = facts;
                return;
            }
        }
    }
}

fn link_facts(view: &NetworkView) -> LinkFacts {
    view.table
        .interfaces
        .iter()
        .map(|i| (i.index, i.name.clone(), i.flags, i.master, i.addresses.clone()))
        .collect()
}

/// Say why there is no capture, then idle: capabilities are not gained at run time.
async fn unprivileged(sink: &EventSink) -> Result<(), SourceError> {
    idle(sink, NEEDS_CAP_NET_RAW).await
}

/// Report `detail` as the reason this source is degraded, then idle forever.
pub(crate) async fn idle(sink: &EventSink, detail: &str) -> Result<(), SourceError> {
    sink.status(SourceState::Degraded, detail).await?;
    std::future::pending::<()>().await;
    Ok(())
}

/// The outcome of one inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Names of the interfaces being captured.
    pub capturing: Vec<String>,
    /// `name: error` of interfaces whose capture could not start.
    pub failed: Vec<String>,
    /// Up interfaces with a framing this source cannot read.
    pub unsupported: Vec<String>,
}

impl Report {
    /// The status line: which interfaces are captured, and what is not.
    #[cfg(test)]
    fn status(&self) -> (SourceState, String) {
        self.status_of("packet capture")
    }

    /// The status line of the captures called `label`.
    pub(crate) fn status_of(&self, label: &str) -> (SourceState, String) {
        let mut detail = if self.capturing.is_empty() {
            format!("{label}: no interface is up")
        } else {
            format!("{label} on {}", self.capturing.join(", "))
        };
        if !self.failed.is_empty() {
            detail.push_str("; failed on ");
            detail.push_str(&self.failed.join(", "));
        }
        if !self.unsupported.is_empty() {
            detail.push_str("; not captured: ");
            detail.push_str(&self.unsupported.join(", "));
        }
        let state = if self.failed.is_empty() { SourceState::Ok } else { SourceState::Degraded };
        (state, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::Must as _;

    #[test]
    fn defaults() {
        let config = CaptureConfig::default();
        assert_eq!((config.interval, config.max_flows), (Duration::from_secs(1), 65_536));
        assert_eq!(CaptureSource::new(config).id(), SourceId::Capture);
    }

    #[test]
    fn status_names_what_is_captured_and_what_is_not() {
        let report = Report { capturing: vec!["eth0".into(), "lo".into()], ..Report::default() };
        assert_eq!(report.status(), (SourceState::Ok, "packet capture on eth0, lo".to_owned()));
        assert_eq!(
            Report::default().status(),
            (SourceState::Ok, "packet capture: no interface is up".to_owned())
        );
        let report = Report {
            capturing: vec!["lo".into()],
            failed: vec!["eth0: No such device".into()],
            unsupported: vec!["gre1 (link type 778)".into()],
        };
        assert_eq!(
            report.status(),
            (
                SourceState::Degraded,
                "packet capture on lo; failed on eth0: No such device; not captured: gre1 (link type 778)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn counts_are_grouped_as_the_tui_groups_them() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1 234 567");
    }

    #[test]
    fn the_privilege_message_says_how_to_fix_it() {
        assert!(NEEDS_CAP_NET_RAW.contains("CAP_NET_RAW"));
        assert!(NEEDS_CAP_NET_RAW.contains("setcap cap_net_raw+ep"));
    }

    /// As root this opens real captures on this namespace's interfaces; unprivileged it
    /// must report the missing capability and send nothing else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reports_its_state_and_sends_flows_or_nothing() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let config = CaptureConfig { interval: Duration::from_millis(100), ..CaptureConfig::default() };
        let handle = crate::source::spawn_supervised(CaptureSource::new(config), tx);
        let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.must().must();
        let Payload::Status(status) = first.payload else {
            panic!("first event should be a status: {first:?}")
        };
        assert_eq!(first.source, SourceId::Capture);
        if crate::system::privileges().net_raw {
            assert_eq!(status.status, SourceState::Ok, "{}", status.detail);
            assert!(status.detail.starts_with("packet capture"), "{}", status.detail);
            let next = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.must().must();
            assert!(matches!(next.payload, Payload::Flows(_)), "{next:?}");
        } else {
            assert_eq!((status.status, status.detail.as_str()), (SourceState::Degraded, NEEDS_CAP_NET_RAW));
            let nothing = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
            assert!(nothing.is_err(), "nothing else is sent: {nothing:?}");
        }
        handle.abort();
    }
}
