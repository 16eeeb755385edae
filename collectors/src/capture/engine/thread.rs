//! The engine's thread: the epoll loop, the rings by interface, the inventory.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use netlink_sys::{Socket as NetlinkSocket, SocketAddr as NetlinkAddr, protocols::NETLINK_ROUTE};
use rustix::event::epoll;
use rustix::io::Errno;

use super::{DnsConsumer, EngineConfig, EngineState, Shared};
use crate::capture::count;
use crate::capture::flows::FlowTable;
use crate::capture::frame::{Frame, Framing, Segment};
use crate::capture::link::{self, Link};
use crate::capture::ring::{Ring, RingStatistics};
use crate::capture::sizing::{Load, Read};
use crate::capture::{Report, filter};
use crate::model::{CaptureTotals, InterfaceCapture, Timestamp};
use resize::Swap;

mod resize;

/// The epoll token of the eventfd.
pub(super) const CONTROL: u64 = u64::MAX;
/// The epoll token of the rtnetlink socket; rings use their interface index.
pub(super) const LINKS: u64 = u64::MAX - 1;

/// A socket told of every link and address change in this network namespace.
pub(super) fn link_notifications() -> io::Result<NetlinkSocket> {
    let mut socket = NetlinkSocket::new(NETLINK_ROUTE)?;
    let groups = (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR).unsigned_abs();
    socket.bind(&NetlinkAddr::new(0, groups))?;
    socket.set_non_blocking(true)?;
    Ok(socket)
}

/// One interface's ring and what it has counted.
struct Open {
    ring: Ring,
    link: Link,
    counters: InterfaceCapture,
    /// Frames read from the ring, for the log.
    received: u64,
    /// Whether the ring is the busy size.
    busy: bool,
    /// Whether the kernel refused to resize it (it is not tried again).
    fixed: bool,
    load: Load,
    /// A resize under way.
    swap: Option<Swap>,
}

impl Open {
    /// Whether the ring may be resized now: not refused before, no resize under way.
    const fn resizable(&self) -> bool {
        !self.fixed && self.swap.is_none()
    }
}

/// The consumers alive at one wake.
#[derive(Default)]
struct Live {
    flows: Vec<Arc<Mutex<FlowTable>>>,
    dns: Vec<Arc<dyn DnsConsumer>>,
}

/// Everything the thread owns.
pub(super) struct Worker {
    shared: Arc<Shared>,
    epoll: OwnedFd,
    control: OwnedFd,
    links: Option<NetlinkSocket>,
    config: EngineConfig,
    rings: BTreeMap<u32, Open>,
    /// Packets and drops of rings since closed.
    retired: (u64, u64),
    /// The frames of one read, counted into the flow tables under one lock.
    batch: Vec<Frame>,
    live: Live,
    buffer: Vec<u8>,
}

impl Worker {
    pub(super) fn new(
        shared: Arc<Shared>,
        epoll: OwnedFd,
        control: OwnedFd,
        links: Option<NetlinkSocket>,
        config: EngineConfig,
    ) -> Self {
        Self {
            shared,
            epoll,
            control,
            links,
            config,
            rings: BTreeMap::new(),
            retired: (0, 0),
            batch: Vec::new(),
            live: Live::default(),
            buffer: Vec::with_capacity(32 << 10),
        }
    }

    /// Serve the rings until stopped; see the module documentation of `engine`.
    pub(super) fn run(mut self) {
        let mut replan = true;
        let mut events = Vec::with_capacity(64);
        loop {
            if replan {
                replan = false;
                if !self.plan() {
                    return;
                }
            }
            events.clear();
            let timeout = self.until_calm().map(|wait| rustix::time::Timespec {
                tv_sec: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(wait.subsec_nanos()),
            });
            match epoll::wait(&self.epoll, rustix::buffer::spare_capacity(&mut events), timeout.as_ref()) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(error) => {
                    self.shared.state.send_replace(EngineState::Failed(format!("epoll_wait: {error}")));
                    return;
                }
            }
            self.shared.wakeups.fetch_add(1, Ordering::Relaxed);
            self.refresh_live();
            let mut read = false;
            for event in &events {
                let (token, flags) = (event.data.u64(), event.flags);
                match token {
                    CONTROL => {
                        let mut counter = [0u8; 8];
                        let _ = rustix::io::read(&self.control, &mut counter);
                        if self.shared.stop.load(Ordering::Relaxed) {
                            return;
                        }
                        if self.shared.replan.swap(false, Ordering::Relaxed) {
                            replan = true;
                        }
                    }
                    LINKS => {
                        self.drain_links();
                        replan = true;
                    }
                    index => {
                        let Ok(index) = u32::try_from(index) else { continue };
                        if flags.contains(epoll::EventFlags::IN) {
                            self.read(index);
                            read = true;
                        }
                        if flags.intersects(epoll::EventFlags::ERR | epoll::EventFlags::HUP) {
                            let error =
                                self.rings.get(&index).and_then(|open| open.ring.take_error().ok().flatten());
                            let reason =
                                error.map_or_else(|| "socket hung up".to_owned(), |error| error.to_string());
                            self.close(index, &reason);
                            // Reopened if the interface is still (or again) up.
                            replan = true;
                            read = true;
                        }
                    }
                }
            }
            read |= self.advance_swaps();
            read |= self.shrink_calm();
            if read {
                self.publish_totals();
            }
        }
    }

    /// How long until the first busy ring may shrink: the thread's wait while any ring
    /// is busy (an engine of quiet rings waits for events alone).
    fn until_calm(&self) -> Option<Duration> {
        let now = Instant::now();
        self.rings
            .values()
            .filter(|open| open.busy && open.resizable())
            .filter_map(|open| open.load.calm_at(&self.config.rings))
            .min()
            .map(|at| at.saturating_duration_since(now).max(Duration::from_millis(10)))
    }

    /// Start giving the quiet ring back to every busy interface calm long enough.
    /// Returns whether any did start (the totals are published again then).
    fn shrink_calm(&mut self) -> bool {
        let now = Instant::now();
        let sizes = self.config.rings;
        let calm: Vec<u32> = self
            .rings
            .iter()
            .filter(|(_, open)| open.busy && open.resizable() && open.load.calm(&sizes, now))
            .map(|(index, _)| *index)
            .collect();
        for index in &calm {
            self.resize(*index, false);
        }
        !calm.is_empty()
    }

    /// Read every pending notification; what they say is learnt from the inventory.
    fn drain_links(&mut self) {
        let Some(links) = &self.links else { return };
        loop {
            self.buffer.clear();
            match links.recv(&mut self.buffer, libc::MSG_DONTWAIT) {
                // ENOBUFS: notifications were lost; the inventory reads the truth anyway.
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(_) => return,
            }
        }
    }

    /// The consumers still alive, for this wake.
    fn refresh_live(&mut self) {
        self.live.flows.clear();
        let mut flows = self.shared.flows.lock().unwrap_or_else(PoisonError::into_inner);
        flows.retain(|table| table.strong_count() > 0);
        self.live.flows.extend(flows.iter().filter_map(std::sync::Weak::upgrade));
        drop(flows);
        self.live.dns.clear();
        let mut dns = self.shared.dns.lock().unwrap_or_else(PoisonError::into_inner);
        dns.retain(|consumer| consumer.strong_count() > 0);
        self.live.dns.extend(dns.iter().filter_map(std::sync::Weak::upgrade));
    }

    /// Sort the interfaces out again and open and close rings to match. False when the
    /// kernel refused a packet socket: the thread ends then.
    fn plan(&mut self) -> bool {
        let inventory = link::inventory(&self.config.sysfs_root);
        {
            // Held while the consumers hear of it: one attaching meanwhile either is
            // among them or finds this inventory when it registers (`Engine::add_*`).
            let shared = Arc::clone(&self.shared);
            let mut stored = shared.inventory.lock().unwrap_or_else(PoisonError::into_inner);
            *stored = Some(inventory.clone());
            self.refresh_live();
            for table in &self.live.flows {
                table.lock().unwrap_or_else(PoisonError::into_inner).set_locals(inventory.locals.clone());
            }
            for consumer in &self.live.dns {
                consumer.inventory(&inventory);
            }
        }
        let gone: Vec<u32> = self
            .rings
            .keys()
            .copied()
            .filter(|index| !inventory.links.iter().any(|link| link.interface.index == *index))
            .collect();
        for index in gone {
            self.close(index, "down or away");
        }
        let mut report = Report { unsupported: inventory.unsupported.clone(), ..Report::default() };
        for link in &inventory.links {
            let index = link.interface.index;
            if let Some(open) = self.rings.get_mut(&index) {
                // Renamed: the ring is bound to the index and keeps working.
                open.link.interface.name.clone_from(&link.interface.name);
                open.counters.name.clone_from(&link.interface.name);
                continue;
            }
            match self.open(link) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                    tracing::warn!(interface = %link.interface.name, %error, "packet capture refused");
                    let indexes: Vec<u32> = self.rings.keys().copied().collect();
                    for index in indexes {
                        self.close(index, "capture refused");
                    }
                    self.shared.state.send_replace(EngineState::Refused);
                    return false;
                }
                Err(error) => report.failed.push(format!("{}: {error}", link.interface.name)),
            }
        }
        report.capturing = self.rings.values().map(|open| open.link.interface.name.clone()).collect();
        report.capturing.sort();
        let state = EngineState::Running(report);
        self.shared.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
        self.publish_totals();
        true
    }

    fn open(&mut self, link: &Link) -> io::Result<()> {
        let index = link.interface.index;
        let sizes = self.config.rings;
        let filter = filter::socket_filter(link.framing, link.loopback);
        let mut ring = Ring::open(index, &filter, sizes.quiet)?;
        let mut busy = false;
        if sizes.resizes() && !ring.resizable() {
            // No fanout group (an old or restricted kernel): the ring cannot grow
            // later, so it is the busy size from the start. The quiet one closes
            // before its counters were ever read: nothing of it is in the totals.
            drop(ring);
            ring = Ring::open(index, &filter, sizes.busy)?;
            busy = true;
        }
        epoll::add(&self.epoll, &ring, epoll::EventData::new_u64(u64::from(index)), epoll::EventFlags::IN)?;
        tracing::info!(interface = %link.interface.name, ring_bytes = sizes.ring(busy).bytes(), "capture opened");
        let counters = InterfaceCapture { name: link.interface.name.clone(), packets: 0, dropped: 0 };
        let load = Load::new(Instant::now());
        self.rings.insert(
            index,
            Open { ring, link: link.clone(), counters, received: 0, busy, fixed: false, load, swap: None },
        );
        Ok(())
    }

    /// Close the ring of `index`, keeping its last counts.
    fn close(&mut self, index: u32, reason: &str) {
        let Some(mut open) = self.rings.remove(&index) else { return };
        add_ring_statistics(&mut open.ring, &mut open.counters);
        if let Some(old) = open.swap.as_mut().and_then(|swap| swap.old.as_mut()) {
            add_ring_statistics(old, &mut open.counters);
        }
        self.retired.0 += open.counters.packets;
        self.retired.1 += open.counters.dropped;
        // Closing the socket takes it out of the epoll set.
        tracing::info!(
            interface = %open.counters.name,
            reason,
            packets = open.counters.packets,
            dropped = open.counters.dropped,
            received = open.received,
            "capture closed"
        );
    }

    /// Every handed-over block of the ring of `index`: each frame parsed once, UDP into
    /// the flow tables, DNS to its consumers with the kernel's timestamp; then the
    /// kernel's counters, and the ring grown if that made the interface busy.
    fn read(&mut self, index: u32) {
        let Some(open) = self.rings.get_mut(&index) else { return };
        let mut read = read_frames(&mut open.ring, open.link.framing, &mut self.batch, &self.live);
        read.dropped = u64::from(add_ring_statistics(&mut open.ring, &mut open.counters).dropped);
        // A ring being replaced still takes frames until the group is steered away.
        if let Some(old) = open.swap.as_mut().and_then(|swap| swap.old.as_mut()) {
            let more = read_frames(old, open.link.framing, &mut self.batch, &self.live);
            read.frames += more.frames;
            read.blocks += more.blocks;
            read.dropped += u64::from(add_ring_statistics(old, &mut open.counters).dropped);
        }
        open.received += read.frames;
        let sizes = self.config.rings;
        let busy = open.load.observe(&sizes, Instant::now(), read);
        if busy && !open.busy && open.resizable() && sizes.resizes() {
            self.resize(index, true);
        }
    }

    /// The accumulated counters to the handles, when they changed.
    fn publish_totals(&self) {
        let mut interfaces: Vec<InterfaceCapture> =
            self.rings.values().map(|open| open.counters.clone()).collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        let totals = CaptureTotals {
            packets: self.retired.0 + interfaces.iter().map(|i| i.packets).sum::<u64>(),
            dropped: self.retired.1 + interfaces.iter().map(|i| i.dropped).sum::<u64>(),
            interfaces,
        };
        self.shared.totals.send_if_modified(|current| {
            let changed = *current != totals;
            *current = totals;
            changed
        });
    }
}

/// Every frame the kernel has handed over in `ring`, parsed once: UDP counted into the
/// flow tables (under one lock per table), DNS to its consumers. Returns how many, in
/// how many blocks (no drops: those are the kernel's counters').
fn read_frames(ring: &mut Ring, framing: Framing, batch: &mut Vec<Frame>, live: &Live) -> Read {
    batch.clear();
    let mut received = 0u64;
    let mut dns = |segment: &Segment<'_>, at: Timestamp| {
        for consumer in &live.dns {
            consumer.segment(segment, at);
        }
    };
    let blocks = ring.read(|captured| {
        received += 1;
        count::frame(framing, &captured, batch, &mut dns);
    });
    if !batch.is_empty() {
        for table in &live.flows {
            table.lock().unwrap_or_else(PoisonError::into_inner).observe_all(batch);
        }
    }
    Read { frames: received, blocks: blocks as u64, dropped: 0 }
}

/// Add the kernel's counters since the last read of `ring` (which resets them) to
/// `counters`; returns them.
fn add_ring_statistics(ring: &mut Ring, counters: &mut InterfaceCapture) -> RingStatistics {
    match ring.statistics() {
        Ok(statistics) => {
            counters.packets += u64::from(statistics.packets);
            counters.dropped += u64::from(statistics.dropped);
            statistics
        }
        Err(error) => {
            tracing::debug!(interface = %counters.name, %error, "PACKET_STATISTICS");
            RingStatistics::default()
        }
    }
}
