//! The connections source: every TCP and UDP socket from `sock_diag`, with the
//! kernel's TCP statistics and the process that owns it.
//!
//! Each refresh reads one complete table — four dumps (TCP and UDP, IPv4 and IPv6)
//! parsed straight from the kernel's bytes by [`parse`] — resolves socket inodes to
//! processes with [`process::ProcessIndex`], and sends the result as one
//! [`Payload::Sockets`] event; all of that runs on a blocking thread ([`SocketReader`]).
//! Between refreshes the source listens to the kernel's destroy notifications and
//! sends every socket freed as [`Payload::SocketsClosed`] with its final counters, so
//! connections shorter than a refresh are seen too. Where those notifications are not
//! allowed (some kernels reserve them for `CAP_NET_ADMIN`) the store notices closes by diffing dumps, and
//! the status says what is missed.
//!
//! With the kernel view ([`KernelView`]), each table also carries the
//! established connections whose route moved (see `linkage.rs`).

mod destroy;
pub(crate) mod dump;
mod linkage;
pub mod owners;
pub mod parse;
pub mod process;
pub mod watch;
mod watching;

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::event::{Notice, Payload};
use crate::kernel_view::KernelView;
use crate::model::{AddressFamily, Protocol, SocketTable, SourceId, SourceState, TimelineKind};
use crate::source::{EventSink, Source, SourceError};

use destroy::DestroyListener;
pub use dump::DumpError;
use dump::{DumpReport, Dumper, PARTS};
use linkage::Linkage;
use owners::OwnerJoin;
use process::cards::ProcessCards;

use crate::attribution::BpfAttribution;
use crate::model::Socket;
use crate::store::CounterHash;
pub use watch::WatchHandle;
pub use watching::WALK_EVERY;
use watching::Watching;

/// How the connections source runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionsConfig {
    /// How often the whole socket table is read.
    pub refresh: Duration,
    /// Where `/proc` is (tests point it at a fake tree).
    pub proc_root: PathBuf,
    /// Whether to subscribe to the kernel's socket destroy notifications (short-lived
    /// connections); without them closes are noticed only by diffing dumps.
    pub destroy_events: bool,
    /// The kernel view: with it, established connections whose route moved are
    /// found (and looked up again only after its generation changes); `None` judges
    /// no routes (no rtnetlink, so nothing says when routing changed).
    pub route_generation: Option<KernelView>,
    /// The BPF owner book, when the programs are attached: owners it knows are
    /// taken from it, and `/proc` is walked only for the others.
    pub attribution: Option<BpfAttribution>,
    /// The BPF socket watch, when loaded: only the TCP sockets that changed are read
    /// each refresh. `Some(Err(why))`: it could not be loaded, and the status says so.
    pub watch: Option<Result<WatchHandle, String>>,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(1),
            proc_root: PathBuf::from("/proc"),
            destroy_events: true,
            route_generation: None,
            attribution: None,
            watch: None,
        }
    }
}

/// The shortest refresh honoured: a zero period would spin.
const MIN_REFRESH: Duration = Duration::from_millis(50);
/// Notification datagrams read (and sent as one event) per wake-up at most.
const MAX_BATCH: usize = 4096;
/// A lost-notifications line goes on the timeline at most this often.
const OVERRUN_NOTICE_EVERY: Duration = Duration::from_secs(60);

/// With the socket watch, every socket is read again at least this often (in
/// refreshes), changed or not: a thirtieth of them each refresh, by cookie. That
/// catches what the fingerprint cannot see (a congestion algorithm or TOS set on an
/// idle socket, a path MTU update) and owners that changed hands. A thirtieth per
/// refresh rather than a full dump every thirtieth: no 5 MB table every 30 s, which
/// was the process's peak memory (`scripts/measure_connections.py`).
pub const REREAD_EVERY: u64 = 30;

/// Reads one complete socket table with owners: the blocking core of the source,
/// public so benchmarks and tools can time exactly what a refresh does.
pub struct SocketReader {
    dumper: Dumper,
    owners: OwnerJoin,
    expected: usize,
    report: DumpReport,
    watch: Option<Watching>,
}

impl std::fmt::Debug for SocketReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketReader").field("expected", &self.expected).finish_non_exhaustive()
    }
}

impl SocketReader {
    /// Open the `sock_diag` socket (in the calling thread's network namespace) and an
    /// empty process index over `proc_root`.
    pub fn open(proc_root: PathBuf) -> io::Result<Self> {
        Self::with_attribution(proc_root, None)
    }

    /// Like [`Self::open`], with the BPF owner book: the `/proc` walk runs only for
    /// sockets it does not know.
    pub fn with_attribution(proc_root: PathBuf, attribution: Option<BpfAttribution>) -> io::Result<Self> {
        Ok(Self {
            dumper: Dumper::open()?,
            owners: OwnerJoin::new(proc_root, attribution),
            expected: 0,
            report: DumpReport::default(),
            watch: None,
        })
    }

    /// Read with the BPF socket watch: the TCP sockets that did not change since the
    /// last table are listed by cookie only (see [`SocketTable::unchanged`]). The
    /// watch lists the sockets of the network namespace of the thread that calls
    /// [`Self::read`] (the kernel's TCP iterator takes no other), so that thread must
    /// be in the namespace the `sock_diag` socket was opened in. One reader per watch:
    /// each walk consumes the changes it reports.
    #[must_use]
    pub fn with_watch(mut self, watch: Option<WatchHandle>) -> Self {
        self.watch = watch.map(Watching::new);
        self
    }

    /// Why the socket watch stopped, if it did.
    #[must_use]
    pub fn watch_failure(&self) -> Option<&str> {
        self.watch.as_ref().and_then(|watching| watching.failed.as_deref())
    }

    /// Why the socket watch walks every refresh (no tracepoint marks), if it does.
    #[must_use]
    pub fn watch_unmarked(&self) -> Option<&str> {
        self.watch.as_ref().and_then(|watching| watching.unmarked.as_deref())
    }

    /// The established connections of the last table, as route linkage judges them.
    fn route_pairs<'a>(&'a self, table: &'a SocketTable) -> Box<dyn Iterator<Item = linkage::Pair> + 'a> {
        match &self.watch {
            Some(watching) if watching.last_was_delta => {
                Box::new(watching.listed.iter().filter_map(|listed| {
                    linkage::pair_of(
                        Protocol::Tcp,
                        listed.state,
                        listed.interface != 0,
                        listed.local,
                        listed.remote,
                    )
                }))
            }
            _ => Box::new(table.sockets.iter().filter_map(linkage::pair)),
        }
    }

    /// The `/proc` index behind the fallback (its walk counters).
    #[must_use]
    pub const fn processes(&self) -> &process::ProcessIndex {
        self.owners.processes()
    }

    /// Dump every TCP and UDP socket and resolve their owners. Blocking: a few
    /// milliseconds for thousands of sockets, more when `/proc` has to be walked.
    /// With the socket watch, only the TCP sockets that changed are read.
    pub fn read(&mut self) -> Result<SocketTable, DumpError> {
        let mut sockets = Vec::new();
        let mut unchanged = Vec::new();
        // Until this refresh completes, the next must be a full one.
        let needs_full = self.watch.as_mut().is_none_or(|watching| {
            watching.last_was_delta = false;
            std::mem::replace(&mut watching.needs_full, true)
        });
        let delta = self.watch.as_mut().and_then(|watching| watching.plan(needs_full));
        let read_changed = match (&delta, &self.watch) {
            (Some(changed), Some(watching)) => {
                let listed: Vec<watch::Listed> =
                    changed.iter().map(|&index| watching.listed[index]).collect();
                self.dumper.look_up(&listed, &mut sockets)?
            }
            _ => false,
        };
        if read_changed && let Some(watching) = &mut self.watch {
            watching.settle(delta.as_deref().unwrap_or_default(), &sockets);
            let mut udp = Vec::new();
            self.report = self.dumper.read_udp(&mut udp)?;
            sockets.append(&mut udp);
            unchanged.reserve_exact(watching.listed.len());
            unchanged
                .extend(watching.listed.iter().filter(|listed| !listed.changed).map(|listed| listed.cookie));
            watching.needs_full = false;
            watching.last_was_delta = true;
        } else {
            // Sized from the last table so the vector does not regrow while filling
            // (doubling would leave it up to twice the size, and it is the peak of
            // the process's memory).
            sockets.clear();
            sockets.reserve_exact(self.expected + self.expected / 16 + 16);
            self.report = self.dumper.read(&mut sockets)?;
            if let Some(watching) = &mut self.watch {
                watching.settle_dump(&sockets);
                watching.needs_full = false;
            }
        }
        self.expected = sockets.len() + unchanged.len();
        let unchanged_inodes = self.remember_inodes(&sockets, &unchanged);
        let joined = self.owners.join(&sockets, &unchanged, &unchanged_inodes, std::time::Instant::now());
        Ok(SocketTable {
            sockets,
            unchanged,
            owners: joined.owners,
            cookie_owners: joined.cookie_owners,
            processes: joined.processes,
            all_owners_visible: joined.all_owners_visible,
            route_moves: Vec::new(),
            origins: joined.origins,
        })
    }

    /// With the watch: note the inodes of the TCP sockets just read, forget those of
    /// sockets gone, and return those of the `unchanged` ones.
    fn remember_inodes(&mut self, sockets: &[Socket], unchanged: &[u64]) -> Vec<u64> {
        let Some(watching) = &mut self.watch else { return Vec::new() };
        let read = sockets.iter().filter(|s| s.protocol == Protocol::Tcp && s.inode != 0);
        if !watching.last_was_delta {
            watching.inodes.clear();
        }
        watching.inodes.extend(read.map(|socket| (socket.cookie, socket.inode)));
        // Closed sockets leave entries behind: past a quarter more than the table,
        // keep only the listed ones.
        if watching.inodes.len() > watching.listed.len() + watching.listed.len() / 4 + 64 {
            let listed: std::collections::HashSet<u64, CounterHash> =
                watching.listed.iter().map(|listed| listed.cookie).collect();
            watching.inodes.retain(|cookie, _| listed.contains(cookie));
        }
        unchanged.iter().filter_map(|cookie| watching.inodes.get(cookie).copied()).collect()
    }

    /// Parts of the table the kernel cannot dump (no IPv6, no `udp_diag`), as of the
    /// last read: `(family, protocol)`.
    pub fn unavailable(&self) -> impl Iterator<Item = (AddressFamily, Protocol)> + '_ {
        PARTS.into_iter().zip(self.report.unavailable).filter_map(|(part, missing)| missing.then_some(part))
    }
}

/// The connections source; see the module documentation.
#[derive(Debug, Clone)]
pub struct ConnectionsSource {
    config: ConnectionsConfig,
}

impl ConnectionsSource {
    /// A source running with `config`.
    #[must_use]
    pub const fn new(config: ConnectionsConfig) -> Self {
        Self { config }
    }
}

/// Whether destroy notifications are coming in, and if not, why.
#[derive(Debug)]
enum Destroy {
    /// Subscribed.
    Active,
    /// Turned off in the configuration.
    Configured,
    /// The kernel refused (or the listener failed later).
    Unavailable(io::Error),
}

impl Source for ConnectionsSource {
    fn id(&self) -> SourceId {
        SourceId::Connections
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let (watch, watch_unavailable) = match self.config.watch.clone() {
            Some(Ok(handle)) => (Some(handle), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        let mut reader =
            SocketReader::with_attribution(self.config.proc_root.clone(), self.config.attribution.clone())
                .map_err(|error| SourceError::io("opening the sock_diag socket", error))?
                .with_watch(watch);
        // Destroy notifications are read by a task of their own, so a long dump (or a
        // full event channel) never leaves them queued in the kernel until it overflows.
        let (failed_tx, failed) = tokio::sync::watch::channel(None::<String>);
        let (mut destroy, _listening) = if self.config.destroy_events {
            match DestroyListener::subscribe() {
                Ok(listener) => {
                    let owners = self
                        .config
                        .attribution
                        .clone()
                        .map(|bpf| (bpf, ProcessCards::new(self.config.proc_root.clone())));
                    let task = tokio::spawn(listen(listener, sink.clone(), failed_tx, owners));
                    (Destroy::Active, Some(AbortOnDrop(task)))
                }
                Err(error) => {
                    tracing::info!(%error, "sock_diag destroy notifications unavailable; diffing dumps");
                    (Destroy::Unavailable(error), None)
                }
            }
        } else {
            (Destroy::Configured, None)
        };

        // Opened here, in the source's namespace, like the dump socket. Route moves
        // are a nicety on top of the table: without the socket, the table still goes.
        let mut linkage = self.config.route_generation.clone().and_then(|generation| {
            Linkage::open(generation)
                .inspect_err(|error| tracing::info!(%error, "no route lookups for connections"))
                .ok()
        });

        let period = self.config.refresh.max(MIN_REFRESH);
        let mut refresh = tokio::time::interval(period);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut status: Option<(SourceState, String)> = None;
        // The reads run on a thread of their own rather than `spawn_blocking`: one
        // started outside the Landlock domain, which refuses /proc/PID/fd reads
        // (`crate::unconfined`).
        let worker = crate::unconfined::Worker::start("socket-owners")
            .map_err(|error| SourceError::io("starting the socket-owner thread", error))?;
        loop {
            refresh.tick().await;
            let (returned, returned_linkage, result) = worker
                .run(move || {
                    let mut result = reader.read();
                    if let (Ok(table), Some(linkage)) = (&mut result, &mut linkage) {
                        table.route_moves = linkage.moves_of(reader.route_pairs(table));
                    }
                    (reader, linkage, result)
                })
                .await
                .map_err(|error| SourceError::Other(format!("sock_diag: {error}")))?;
            reader = returned;
            linkage = returned_linkage;
            let table = match result {
                Ok(table) => table,
                // Never a half table: skip this refresh, the next one tries again.
                Err(error @ DumpError::Inconsistent(_)) => {
                    tracing::warn!(%error, "skipping a socket refresh");
                    continue;
                }
                Err(error) => return Err(SourceError::Other(error.to_string())),
            };
            if matches!(destroy, Destroy::Active)
                && let Some(error) = failed.borrow().clone()
            {
                // Dumps still work: degrade to diffing them, and say so.
                destroy = Destroy::Unavailable(io::Error::other(error));
            }
            let watching = match (reader.watch_failure(), watch_unavailable.as_deref()) {
                (Some(why), _) | (None, Some(why)) => Watch::Unavailable(why),
                (None, None) if reader.watch.is_some() => Watch::Active(reader.watch_unmarked()),
                (None, None) => Watch::Off,
            };
            let next =
                status_line(period, &destroy, watching, table.all_owners_visible, reader.unavailable());
            if status.as_ref() != Some(&next) {
                sink.status(next.0, next.1.clone()).await?;
                status = Some(next);
            }
            sink.send(Payload::Sockets(table)).await?;
        }
    }
}

/// Aborts the task it holds when dropped: the listener ends with its source.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Read destroy notifications until the listener fails (reported on `failed`) or the
/// app goes away; each wake-up's batch goes out as one event.
async fn listen(
    mut listener: DestroyListener,
    sink: EventSink,
    failed: tokio::sync::watch::Sender<Option<String>>,
    mut owners: Option<(BpfAttribution, ProcessCards)>,
) {
    let mut last_overrun_notice: Option<Instant> = None;
    loop {
        match listener.next_batch(MAX_BATCH).await {
            Ok(batch) => {
                if batch.lost {
                    let now = Instant::now();
                    if last_overrun_notice.is_none_or(|at| now - at >= OVERRUN_NOTICE_EVERY) {
                        last_overrun_notice = Some(now);
                        if sink.notices(vec![overrun_notice()]).await.is_err() {
                            return;
                        }
                    }
                }
                if batch.sockets.is_empty() {
                    continue;
                }
                // Owners from the BPF book, joined by cookie: the socket is gone, so
                // /proc cannot say whose it was. Sent after the close, which creates
                // the entries they name.
                let closed = owners
                    .as_mut()
                    .map(|(bpf, cards)| owners::closed_owners(bpf, cards, &batch.sockets))
                    .filter(|closed| !closed.owners.is_empty());
                if sink.send(Payload::SocketsClosed(batch.sockets)).await.is_err() {
                    return;
                }
                if let Some(closed) = closed
                    && sink.send(Payload::SocketOwners(closed)).await.is_err()
                {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "sock_diag destroy notifications failed; diffing dumps");
                failed.send_replace(Some(error.to_string()));
                return;
            }
        }
    }
}

/// The timeline line for lost destroy notifications.
fn overrun_notice() -> Notice {
    Notice::new(
        TimelineKind::Notice,
        "sock_diag",
        "socket destroy notifications overran: some short-lived connections were missed",
    )
}

/// `1 s`, `500 ms`, `1.5 s`.
fn period_text(period: Duration) -> String {
    let millis = period.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else if millis < 1000 {
        format!("{millis} ms")
    } else {
        format!("{:.1} s", period.as_secs_f64())
    }
}

/// Whether the BPF socket watch spares unchanged sockets their re-read.
#[derive(Debug, Clone, Copy)]
enum Watch<'a> {
    /// Only changed TCP sockets are read; why there are no tracepoint marks (a walk
    /// every refresh), if there are none.
    Active(Option<&'a str>),
    /// Not asked for (tests, tools).
    Off,
    /// Asked for but not available, and why.
    Unavailable(&'a str),
}

/// The status after a refresh: what is active, and each limitation in one clause.
fn status_line(
    period: Duration,
    destroy: &Destroy,
    watch: Watch<'_>,
    all_owners_visible: bool,
    unavailable: impl Iterator<Item = (AddressFamily, Protocol)>,
) -> (SourceState, String) {
    let every = period_text(period);
    let mut degraded = false;
    let mut detail = match destroy {
        Destroy::Active => {
            format!("sock_diag: TCP and UDP every {every}; destroy events catch short-lived connections")
        }
        Destroy::Configured => {
            degraded = true;
            format!(
                "sock_diag: dumps every {every}; short-lived connections between dumps are missed \
                 (destroy events off in the configuration)"
            )
        }
        Destroy::Unavailable(error) => {
            degraded = true;
            let why = if matches!(error.raw_os_error(), Some(libc::EPERM | libc::EACCES)) {
                "destroy events need CAP_NET_ADMIN".to_owned()
            } else {
                format!("destroy events unavailable: {error}")
            };
            format!(
                "sock_diag: dumps every {every}; short-lived connections between dumps are missed ({why})"
            )
        }
    };
    match watch {
        Watch::Active(None) => {
            detail.push_str("; BPF tracepoints and an iterator pick the TCP sockets that changed");
        }
        Watch::Active(Some(why)) => {
            let _ = write!(
                detail,
                "; a BPF iterator picks the TCP sockets that changed (no tracepoint marks: {why})"
            );
        }
        // Not degraded: the table is as exact, only dearer.
        Watch::Unavailable(why) => {
            let _ =
                write!(detail, "; every TCP socket is read each refresh (socket watch unavailable: {why})");
        }
        Watch::Off => {}
    }
    if !all_owners_visible {
        degraded = true;
        detail.push_str("; processes owning other users' sockets are unknown (needs root or CAP_SYS_PTRACE)");
    }
    let missing: Vec<String> = unavailable
        .map(|(family, protocol)| {
            let family = match family {
                AddressFamily::Ipv4 => "IPv4",
                AddressFamily::Ipv6 => "IPv6",
            };
            format!("{family} {}", protocol.as_str().to_uppercase())
        })
        .collect();
    if !missing.is_empty() {
        degraded = true;
        let _ = write!(detail, "; the kernel cannot list {} sockets", missing.join(" or "));
    }
    (if degraded { SourceState::Degraded } else { SourceState::Ok }, detail)
}

#[cfg(test)]
mod tests;
