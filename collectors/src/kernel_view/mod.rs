//! The kernel view: the process's one rtnetlink subscription and dump path
//! (DESIGN.md §2). A service task owns the notification socket (joined to the link,
//! address, route, rule and neighbour groups) and the request socket; it phrases
//! each notification batch into [`Change`]s for the interfaces timeline, re-reads
//! everything [`KernelViewConfig::coalesce`] after the first notification of a burst,
//! and publishes the table as a [`NetworkView`] whose generation counts the reads.
//! An overrun (`ENOBUFS`) makes it re-read at once and count a resync, which the
//! interfaces source turns into a timeline notice.
//!
//! Consumers — the interfaces source, the paths source, the DNS source's route
//! warnings, the connections source's route judgements — hold a [`KernelView`]
//! handle. They learn that routing changed from the published view's generation,
//! never from a shared counter between sources. Route lookups (`RTM_GETROUTE`
//! requests, not a subscription) go through the view's one lookup socket.

mod service;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::interfaces::known::Change;
use crate::model::{InterfaceStats, NetworkTable};
use crate::paths::lookup::{LookupError, RouteAnswer, RouteLookup, RouteQuery};
use crate::source::SourceError;

/// How the kernel view reads the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelViewConfig {
    /// `SO_RCVBUF` of the notification socket (`None`: the system default).
    pub receive_buffer: Option<usize>,
    /// Notifications arriving within this window after the first of a burst are
    /// covered by one re-read.
    pub coalesce: Duration,
}

impl Default for KernelViewConfig {
    fn default() -> Self {
        Self { receive_buffer: None, coalesce: Duration::from_millis(10) }
    }
}

/// One complete, consistent read of links, addresses, routes, rules and neighbours.
#[derive(Debug, Clone, Default)]
pub struct NetworkView {
    /// Counts the reads published so far: 0 before the first, then 1, 2, …
    /// A cache filled at an older generation may be stale.
    pub generation: u64,
    /// The table.
    pub table: NetworkTable,
    /// Overruns so far: each lost notifications and was followed by a full re-read.
    pub resyncs: u64,
    /// When the first change behind this read was notified (the read itself for
    /// the first one): the moment a verdict's debounce counts from.
    pub changed_at: Option<Instant>,
    /// The last read failed: why (the view keeps the last good table).
    pub failure: Option<String>,
}

/// What a consumer may ask of the service.
#[derive(Debug)]
enum Request {
    /// A link dump for the counters.
    Counters(oneshot::Sender<Result<Vec<(u32, InterfaceStats)>, String>>),
    /// Re-read everything now and publish it.
    Refresh(oneshot::Sender<Arc<NetworkView>>),
}

/// A handle on the kernel view; clones share the one service. The service stops
/// when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct KernelView {
    view: watch::Receiver<Arc<NetworkView>>,
    changes: broadcast::Sender<Arc<Vec<Change>>>,
    requests: mpsc::Sender<Request>,
    lookup: Arc<Mutex<RouteLookup>>,
}

/// Two handles are equal when they share the service (configurations compare so).
impl PartialEq for KernelView {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.lookup, &other.lookup)
    }
}

impl Eq for KernelView {}

/// Change batches a slow consumer may fall behind by before it must resync.
const CHANGES_CAPACITY: usize = 64;

impl KernelView {
    /// Open the sockets in the calling thread's network namespace and start the
    /// service on the current tokio runtime. Fails when rtnetlink is unavailable.
    ///
    /// # Errors
    /// When a netlink socket cannot be opened or joined to the groups.
    pub fn start(config: KernelViewConfig) -> std::io::Result<Self> {
        let sockets = service::Sockets::open(config.receive_buffer)?;
        let lookup = Arc::new(Mutex::new(RouteLookup::open()?));
        let (view_tx, view) = watch::channel(Arc::new(NetworkView::default()));
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        let (requests, requests_rx) = mpsc::channel(16);
        tokio::spawn(service::run(sockets, config, view_tx, changes.clone(), requests_rx));
        Ok(Self { view, changes, requests, lookup })
    }

    /// The latest view (generation 0 until the first read is done).
    #[must_use]
    pub fn current(&self) -> Arc<NetworkView> {
        Arc::clone(&self.view.borrow())
    }

    /// The generation of the latest view.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.view.borrow().generation
    }

    /// A receiver of every view published from now on.
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<Arc<NetworkView>> {
        self.view.clone()
    }

    /// A receiver of the notification batches, phrased as changes.
    pub(crate) fn changes(&self) -> broadcast::Receiver<Arc<Vec<Change>>> {
        self.changes.subscribe()
    }

    /// Wait for the first read (or a failed one).
    ///
    /// # Errors
    /// When the first read failed or the service stopped.
    pub async fn first(&self) -> Result<Arc<NetworkView>, SourceError> {
        let mut view = self.view.clone();
        let ready = view
            .wait_for(|view| view.generation > 0 || view.failure.is_some())
            .await
            .map_err(|_| SourceError::Other("the kernel view stopped".to_owned()))?;
        let ready = Arc::clone(&ready);
        match &ready.failure {
            Some(failure) if ready.generation == 0 => Err(SourceError::Other(failure.clone())),
            _ => Ok(ready),
        }
    }

    /// Re-read everything now (the user asks about now) and return the fresh view.
    ///
    /// # Errors
    /// When the service stopped.
    pub async fn refresh(&self) -> Result<Arc<NetworkView>, SourceError> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(Request::Refresh(tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    /// The counters of every link, from a link dump on the view's request socket.
    ///
    /// # Errors
    /// When the dump fails or the service stopped.
    pub async fn counters(&self) -> Result<Vec<(u32, InterfaceStats)>, SourceError> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(Request::Counters(tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?.map_err(SourceError::Other)
    }

    /// The kernel's routing decision for each query, in order, on a blocking thread.
    ///
    /// # Errors
    /// When the blocking task could not run.
    pub async fn lookup_many(
        &self,
        queries: Vec<RouteQuery>,
    ) -> Result<Vec<Result<RouteAnswer, LookupError>>, SourceError> {
        let lookup = Arc::clone(&self.lookup);
        tokio::task::spawn_blocking(move || {
            let mut lookup = lookup.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            lookup.lookup_many(&queries)
        })
        .await
        .map_err(|error| SourceError::io("route lookups", std::io::Error::other(error)))
    }

    /// The view's route lookup socket, for callers already on a blocking thread.
    #[must_use]
    pub fn route_lookup(&self) -> Arc<Mutex<RouteLookup>> {
        Arc::clone(&self.lookup)
    }
}

fn stopped() -> SourceError {
    SourceError::Other("the kernel view stopped".to_owned())
}
