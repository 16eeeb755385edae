//! The capture source: bytes per UDP flow from packet capture, for the rates
//! `sock_diag` cannot give (it has no UDP byte counters; TCP packets are skipped).
//!
//! With `CAP_NET_RAW`, every up interface gets a packet socket (pnet's `AF_PACKET`
//! channel, receive-only, never promiscuous, with a kernel filter that keeps only the
//! headers) and a blocking thread that parses each
//! frame's headers ([`frame`]) into a shared, bounded flow table ([`flows`]). The
//! interface list is re-read every [`INVENTORY_INTERVAL`]: captures open on
//! interfaces that came up and stop on those that went down or away ([`link`]). Every
//! interval the table is emptied into one [`Payload::Flows`] event.
//!
//! Direction and loopback counting are explained in [`flows`], byte accounting (IP
//! length) in [`frame`]. Without `CAP_NET_RAW` (or when the kernel refuses the socket)
//! the status says so — [`NEEDS_CAP_NET_RAW`] — and nothing else is sent.
//!
//! The passive DNS capture ([`crate::dns::capture`]) runs on the same machinery: the
//! inventory, the capture threads (`link.rs`) and their upkeep (`Captures`, through a
//! `Starter` of its own), and the header walk (`frame::segment`).

pub(crate) mod flows;
pub(crate) mod frame;
pub(crate) mod link;
#[cfg(test)]
pub(crate) mod testing;

pub use frame::Framing;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::event::Payload;
use crate::model::{FlowSample, SourceId, SourceState};
use crate::source::{EventSink, Source, SourceError};

use flows::FlowTable;
use link::{Inventory, Link, Running};

/// The status detail when capture is not allowed.
pub const NEEDS_CAP_NET_RAW: &str =
    "UDP rates need CAP_NET_RAW (packet capture): run as root or `setcap cap_net_raw+ep`";

/// How often the interface list is re-read (captures opened and closed).
pub const INVENTORY_INTERVAL: Duration = Duration::from_secs(2);

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
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self { interval: Duration::from_secs(1), max_flows: 65_536 }
    }
}

/// The capture source; see the module documentation.
#[derive(Debug, Clone)]
pub struct CaptureSource {
    config: CaptureConfig,
}

impl CaptureSource {
    /// A source running with `config`.
    #[must_use]
    pub const fn new(config: CaptureConfig) -> Self {
        Self { config }
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
        let mut captures = Captures::new(FlowStarter { table: Arc::clone(&table) }, PathBuf::from("/sys"));
        let mut reported = None;
        captures = match refresh(captures, &mut reported, sink).await? {
            Some(captures) => captures,
            None => return unprivileged(sink).await,
        };
        let period = self.config.interval.max(MIN_INTERVAL);
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_flush = Instant::now();
        let mut next_inventory = last_flush + INVENTORY_INTERVAL;
        let mut ticks: u32 = 0;
        loop {
            ticker.tick().await;
            let now = Instant::now();
            let (flows, stats) = {
                let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
                (table.take(), table.stats())
            };
            let interval_ms = u32::try_from(now.duration_since(last_flush).as_millis()).unwrap_or(u32::MAX);
            last_flush = now;
            sink.send(Payload::Flows(FlowSample { interval_ms, flows })).await?;
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(STATS_EVERY) {
                tracing::debug!(?stats, "packet capture");
            }
            if now >= next_inventory {
                next_inventory = now + INVENTORY_INTERVAL;
                captures = match refresh(captures, &mut reported, sink).await? {
                    Some(captures) => captures,
                    None => return unprivileged(sink).await,
                };
            }
        }
    }
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

/// Re-read the interfaces on a blocking thread (their threads are spawned from there,
/// in this task's network namespace) and report a changed status. `None` when the
/// kernel refused a packet socket: every capture is stopped then.
pub(crate) async fn refresh<S: Starter>(
    mut captures: Captures<S>,
    status: &mut Option<(SourceState, String)>,
    sink: &EventSink,
) -> Result<Option<Captures<S>>, SourceError> {
    let (captures, report) = tokio::task::spawn_blocking(move || {
        let report = captures.refresh();
        (captures, report)
    })
    .await
    .map_err(|error| SourceError::Other(format!("capture task: {error}")))?;
    let Some(report) = report else { return Ok(None) };
    let current = report.status_of(S::LABEL);
    if status.as_ref() != Some(&current) {
        sink.status(current.0, current.1.clone()).await?;
        *status = Some(current);
    }
    Ok(Some(captures))
}

/// What a kind of capture does with the links [`Captures`] keeps track of.
pub(crate) trait Starter: Send + 'static {
    /// What the status calls these captures (`packet capture on eth0, lo`).
    const LABEL: &'static str;

    /// Learn of a new inventory, before captures are opened and closed.
    fn inventory(&mut self, inventory: &Inventory);

    /// Open a capture on `link` and start its thread.
    fn start(&mut self, link: &Link) -> io::Result<Running>;
}

/// The flow capture: every link's headers into the shared flow table.
#[derive(Debug)]
struct FlowStarter {
    table: Arc<Mutex<FlowTable>>,
}

impl Starter for FlowStarter {
    const LABEL: &'static str = "packet capture";

    fn inventory(&mut self, inventory: &Inventory) {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).set_locals(inventory.locals.clone());
    }

    fn start(&mut self, link: &Link) -> io::Result<Running> {
        Running::start(link, Arc::clone(&self.table))
    }
}

/// The capture threads, by interface index. Dropping it stops them all.
#[derive(Debug)]
pub(crate) struct Captures<S> {
    starter: S,
    sysfs_root: PathBuf,
    running: BTreeMap<u32, Running>,
}

/// The outcome of one inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Report {
    /// Names of the interfaces being captured.
    capturing: Vec<String>,
    /// `name: error` of interfaces whose capture could not start.
    failed: Vec<String>,
    /// Up interfaces with a framing this source cannot read.
    unsupported: Vec<String>,
}

impl Report {
    /// The status line: which interfaces are captured, and what is not.
    #[cfg(test)]
    fn status(&self) -> (SourceState, String) {
        self.status_of(FlowStarter::LABEL)
    }

    /// The status line of the captures called `label`.
    fn status_of(&self, label: &str) -> (SourceState, String) {
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

impl<S: Starter> Captures<S> {
    /// No captures yet; the first [`refresh`] opens them, reading sysfs under `sysfs_root`.
    pub(crate) const fn new(starter: S, sysfs_root: PathBuf) -> Self {
        Self { starter, sysfs_root, running: BTreeMap::new() }
    }

    /// Open captures on interfaces that came up, stop those on interfaces that went
    /// down or away. `None` when the kernel refused a packet socket (no privilege).
    fn refresh(&mut self) -> Option<Report> {
        let inventory = link::inventory(&self.sysfs_root);
        self.starter.inventory(&inventory);

        let ended: Vec<u32> =
            self.running.iter().filter(|(_, running)| running.has_ended()).map(|(&index, _)| index).collect();
        for index in ended {
            if let Some(running) = self.running.remove(&index) {
                let name = running.name.clone();
                tracing::info!(interface = %name, reason = %running.reap(), "capture ended");
            }
        }
        // Dropping a capture stops its thread.
        self.running.retain(|index, _| inventory.links.iter().any(|link| link.interface.index == *index));

        let mut report = Report { unsupported: inventory.unsupported, ..Report::default() };
        for link in &inventory.links {
            let index = link.interface.index;
            if let Some(running) = self.running.get_mut(&index) {
                // Renamed: the socket is bound to the index and keeps working.
                running.name.clone_from(&link.interface.name);
                continue;
            }
            match self.starter.start(link) {
                Ok(running) => {
                    self.running.insert(index, running);
                }
                Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                    tracing::warn!(interface = %link.interface.name, %error, "packet capture refused");
                    self.running.clear();
                    return None;
                }
                Err(error) => report.failed.push(format!("{}: {error}", link.interface.name)),
            }
        }
        report.capturing = self.running.values().map(|running| running.name.clone()).collect();
        report.capturing.sort();
        Some(report)
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
