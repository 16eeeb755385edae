//! The capture engine: one packet ring per interface ([`ring`](super::ring)), every ring
//! served by one thread that sleeps in `epoll_wait` without a timeout, each frame parsed
//! once ([`frame::decode`]) for both the flow table and the DNS log.
//!
//! **What wakes the thread**, and nothing else: a ring handing over a block (full, or
//! its retire timer expired with frames in it: an idle interface never wakes it); an
//! rtnetlink notification (`RTMGRP_LINK` and the address groups: an interface came,
//! went, changed state, or this host's addresses changed), after which the interfaces
//! are sorted out again ([`link::inventory`]) and rings opened and closed to match; an
//! error on a ring (`EPOLLERR`: `ENETDOWN` when its interface went down or away), which
//! closes that ring — it is reopened by the notification of the interface coming back;
//! and the eventfd through which the last consumer's departure stops it. Each wake is
//! counted ([`Engine::wakeups`]), so tests can see that nothing spins.
//!
//! **Sharing.** The flow capture and the passive DNS capture are two sources, with their
//! own status, but one engine per network namespace serves them both: each
//! [`Engine::attach`]es, registering what it consumes (a flow table, a DNS consumer),
//! and the engine ends when the last handle is dropped. The first attacher's ring sizes
//! are the ones used.
//!
//! **Ring sizes.** Each interface starts with a small ring and moves to a large one
//! while busy ([`super::sizing`]): the new ring joins the old one's fanout group and is
//! read alongside it, a helper thread steers the group to it (the step that waits),
//! and the old one is read until the kernel's counts say it is empty, then closed.
//! While any ring is large the thread also wakes when it would have been calm long
//! enough to shrink.
//!
//! **Kernel counters.** After each wake, the rings read are asked for
//! `PACKET_STATISTICS`, which the kernel resets on every read, so only this thread reads
//! them and it accumulates them per interface ([`Engine::totals`]); a ring's last counts
//! are read when it closes and stay in the totals.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use rustix::event::{EventfdFlags, epoll};
use tokio::sync::watch;

use super::Report;
use super::flows::FlowTable;
use super::frame::Segment;
use super::link::Inventory;
use super::sizing::RingSizes;
use crate::model::{CaptureTotals, Timestamp};

mod thread;

/// What the DNS log takes from the capture.
pub(crate) trait DnsConsumer: Send + Sync {
    /// This host's addresses changed (the owner lookup needs them).
    fn inventory(&self, inventory: &Inventory);

    /// A UDP datagram or TCP segment to or from port 53, received by the kernel at
    /// `at` (its timestamp, not when it was read).
    fn segment(&self, segment: &Segment<'_>, at: Timestamp);
}

/// How the engine runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EngineConfig {
    /// The size of every ring, quiet and busy.
    pub rings: RingSizes,
    /// Where sysfs is (the link type of each interface).
    pub sysfs_root: PathBuf,
    /// Subscribe to rtnetlink link and address notifications itself. Off when the
    /// process's kernel view (its one rtnetlink subscription) tells the sources, which
    /// then call [`Engine::replan`].
    pub own_notifications: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { rings: RingSizes::default(), sysfs_root: PathBuf::from("/sys"), own_notifications: true }
    }
}

/// What the engine has to say about its rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EngineState {
    /// Not yet through its first inventory.
    Starting,
    /// Capturing (or not) as the report says.
    Running(Report),
    /// The kernel refused a packet socket: no `CAP_NET_RAW`.
    Refused,
    /// It stopped: why.
    Failed(String),
}

/// What the engine thread and the handles share.
pub(crate) struct Shared {
    stop: AtomicBool,
    /// Links or addresses changed (told by [`Engine::replan`]).
    replan: AtomicBool,
    flows: Mutex<Vec<Weak<Mutex<FlowTable>>>>,
    dns: Mutex<Vec<Weak<dyn DnsConsumer>>>,
    state: watch::Sender<EngineState>,
    totals: watch::Sender<CaptureTotals>,
    wakeups: AtomicU64,
    /// The last inventory, for consumers attaching later.
    inventory: Mutex<Option<Inventory>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("wakeups", &self.wakeups).finish_non_exhaustive()
    }
}

/// A handle on the engine of this thread's network namespace; see the module
/// documentation. Dropping the last handle stops the engine.
#[derive(Debug)]
pub(crate) struct Engine {
    shared: Arc<Shared>,
    control: OwnedFd,
    thread: Option<std::thread::JoinHandle<()>>,
    namespace: u64,
}

/// The running engines, by network namespace (the inode of `/proc/thread-self/ns/net`).
static ENGINES: Mutex<Vec<(u64, Weak<Engine>)>> = Mutex::new(Vec::new());

/// The inode of the calling thread's network namespace (0 when it cannot be read: one
/// engine is shared then).
fn namespace() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").map_or(0, |meta| meta.ino())
}

impl Engine {
    /// The engine of the calling thread's network namespace, started (on a thread that
    /// inherits that namespace) with `config` if none runs.
    ///
    /// # Errors
    /// When the epoll set, the eventfd, the rtnetlink socket or the thread cannot be made.
    pub(crate) fn attach(config: &EngineConfig) -> io::Result<Arc<Self>> {
        let namespace = namespace();
        let mut engines = ENGINES.lock().unwrap_or_else(PoisonError::into_inner);
        engines.retain(|(_, engine)| engine.strong_count() > 0);
        if let Some(engine) = engines.iter().find(|(ns, _)| *ns == namespace).and_then(|(_, e)| e.upgrade()) {
            return Ok(engine);
        }
        let engine = Arc::new(Self::start(config, namespace)?);
        engines.push((namespace, Arc::downgrade(&engine)));
        Ok(engine)
    }

    fn start(config: &EngineConfig, namespace: u64) -> io::Result<Self> {
        let control = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &control, epoll::EventData::new_u64(thread::CONTROL), epoll::EventFlags::IN)?;
        let links = if config.own_notifications {
            let links = thread::link_notifications()?;
            epoll::add(&epoll, &links, epoll::EventData::new_u64(thread::LINKS), epoll::EventFlags::IN)?;
            Some(links)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            replan: AtomicBool::new(false),
            flows: Mutex::new(Vec::new()),
            dns: Mutex::new(Vec::new()),
            state: watch::Sender::new(EngineState::Starting),
            totals: watch::Sender::new(CaptureTotals::default()),
            wakeups: AtomicU64::new(0),
            inventory: Mutex::new(None),
        });
        let worker =
            thread::Worker::new(Arc::clone(&shared), epoll, control.try_clone()?, links, config.clone());
        let thread = std::thread::Builder::new().name("capture".to_owned()).spawn(move || worker.run())?;
        Ok(Self { shared, control, thread: Some(thread), namespace })
    }

    /// Count UDP frames into `table` from now on (until it is dropped).
    pub(crate) fn add_flows(&self, table: &Arc<Mutex<FlowTable>>) {
        // Registered under the inventory's lock: see `thread::Worker::plan`.
        let inventory = self.shared.inventory.lock().unwrap_or_else(PoisonError::into_inner);
        self.shared.flows.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::downgrade(table));
        if let Some(inventory) = &*inventory {
            table.lock().unwrap_or_else(PoisonError::into_inner).set_locals(inventory.locals.clone());
        }
    }

    /// Hand DNS segments to `consumer` from now on (until it is dropped).
    pub(crate) fn add_dns(&self, consumer: &Arc<dyn DnsConsumer>) {
        // Registered under the inventory's lock: see `thread::Worker::plan`.
        let inventory = self.shared.inventory.lock().unwrap_or_else(PoisonError::into_inner);
        self.shared.dns.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::downgrade(consumer));
        if let Some(inventory) = &*inventory {
            consumer.inventory(inventory);
        }
    }

    /// The state of the rings, updated as they open and close.
    pub(crate) fn state(&self) -> watch::Receiver<EngineState> {
        self.shared.state.subscribe()
    }

    /// The kernel's counters, accumulated; updated after each wake that read a ring.
    pub(crate) fn totals(&self) -> watch::Receiver<CaptureTotals> {
        self.shared.totals.subscribe()
    }

    /// Links or addresses changed: sort the interfaces out again (for an engine without
    /// its own notifications; harmless otherwise).
    pub(crate) fn replan(&self) {
        self.shared.replan.store(true, Ordering::Relaxed);
        if let Err(error) = rustix::io::write(&self.control, &1u64.to_ne_bytes()) {
            tracing::warn!(%error, "could not wake the capture thread for a link change");
        }
    }

    /// How often the thread has woken up since it started.
    pub(crate) fn wakeups(&self) -> u64 {
        self.shared.wakeups.load(Ordering::Relaxed)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Err(error) = rustix::io::write(&self.control, &1u64.to_ne_bytes()) {
            tracing::warn!(%error, "could not wake the capture thread to stop it");
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the capture thread panicked");
        }
        tracing::debug!(namespace = self.namespace, "capture engine stopped");
    }
}
