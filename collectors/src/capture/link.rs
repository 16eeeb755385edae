//! Which interfaces to capture on, how their frames begin, and the blocking capture
//! thread of each.
//!
//! The interface list comes from pnet (`getifaddrs`, so it is the list of the network
//! namespace the caller runs in). pnet does not report the link type, so it comes from
//! sysfs — but `/sys/class/net` shows the namespace sysfs was mounted in, which need
//! not be ours: a sysfs entry is trusted only when its `ifindex` matches. Without one,
//! the framing is guessed: loopback and anything with a hardware address is Ethernet,
//! the rest (tun, `WireGuard`, PPP: no address) raw IP. Bond members and bridge ports
//! are left out: the bond or bridge carries the same host traffic, which would count
//! twice. Other link types (GRE, IPIP, SIT, radiotap…) are named in the status as not
//! captured.
//!
//! The packet socket is made here (with socket2, safely) and handed to pnet, which
//! binds it to the interface and reads from it: that way it gets a larger receive
//! buffer and a socket filter first. The filter cuts every frame to the headers
//! ([`SNAP_LENGTH`]) in the kernel, and on loopback — where the kernel shows a packet
//! socket each packet twice, once sent and once received — drops the sent copy, as
//! libpcap does, so every loopback packet is read and counted once.
//!
//! Other captures (passive DNS) bring their own filter and snap length
//! ([`open_filtered`], [`drop_sent_copies`]) and frame handler ([`read_frames`],
//! [`Running::spawn`]), and share the rest.

use std::io;
use std::os::fd::IntoRawFd as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pnet::datalink::{self, Channel, DataLinkReceiver, NetworkInterface};
use pnet::ipnetwork::IpNetwork;
use socket2::{Domain, SockFilter, Socket, Type};

use super::flows::{FlowTable, LocalAddresses};
use super::frame::{self, Framing};

#[cfg(test)]
mod tests;

/// How long a capture thread blocks before looking at its stop flag.
pub const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// Bytes of each frame copied out of the kernel: link header, VLAN tags, IP header with
/// extension headers and ports fit; payloads are never read.
const SNAP_LENGTH: u16 = 512;

/// Receive buffer asked for (the kernel caps it at `net.core.rmem_max`): room for
/// bursts while the thread is not scheduled.
const RECEIVE_BUFFER: usize = 4 << 20;

/// `PACKET_OUTGOING` from `<linux/if_packet.h>`: a frame this host sent.
const PACKET_OUTGOING: u32 = 4;

/// `ARPHRD_*` link types from `<linux/if_arp.h>`.
const ARPHRD_ETHER: u32 = 1;
const ARPHRD_PPP: u32 = 512;
const ARPHRD_RAWIP: u32 = 519;
const ARPHRD_LOOPBACK: u32 = 772;
const ARPHRD_NONE: u32 = 65534;

/// `IFF_SLAVE`: a bond member, whose traffic the bond itself shows.
const IFF_SLAVE: u32 = 0x800;

/// One interface to capture on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The interface, as pnet lists it.
    pub interface: NetworkInterface,
    /// How its frames begin.
    pub framing: Framing,
    /// Loopback: every packet passes twice, as sent and as received.
    pub loopback: bool,
}

/// The interfaces of this namespace, sorted out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Up interfaces to capture on.
    pub links: Vec<Link>,
    /// Up interfaces left out because their framing is unknown, as `name (link type N)`.
    pub unsupported: Vec<String>,
    /// This host's addresses, from every interface.
    pub locals: LocalAddresses,
}

/// What sysfs says about one interface, when it speaks for our namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysfsFacts {
    /// `ARPHRD_*` link type.
    pub link_type: u32,
    /// A bridge port: the bridge shows its host traffic.
    pub bridge_port: bool,
}

/// Read `/sys/class/net/NAME` under `sysfs_root`, if it describes this `index`.
#[must_use]
pub fn sysfs_facts(sysfs_root: &Path, name: &str, index: u32) -> Option<SysfsFacts> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let dir = sysfs_root.join("class/net").join(name);
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
    if read("ifindex")?.trim().parse::<u32>().ok()? != index {
        return None;
    }
    Some(SysfsFacts {
        link_type: read("type")?.trim().parse().ok()?,
        bridge_port: dir.join("brport").exists(),
    })
}

/// The current interfaces, sorted out; see [`plan`].
#[must_use]
pub fn inventory(sysfs_root: &Path) -> Inventory {
    let interfaces = datalink::interfaces();
    plan(&interfaces, |interface| sysfs_facts(sysfs_root, &interface.name, interface.index))
}

/// Decide what to capture among `interfaces`, with `facts` from sysfs where trusted.
pub fn plan(
    interfaces: &[NetworkInterface],
    facts: impl Fn(&NetworkInterface) -> Option<SysfsFacts>,
) -> Inventory {
    let mut inventory = Inventory::default();
    for interface in interfaces {
        for network in &interface.ips {
            inventory.locals.unicast.insert(network.ip());
            if let IpNetwork::V4(v4) = network
                && v4.prefix() < 31
            {
                inventory.locals.broadcast.insert(v4.broadcast());
            }
        }
        if !interface.is_up() || interface.index == 0 || interface.flags & IFF_SLAVE != 0 {
            continue;
        }
        let facts = facts(interface);
        if facts.is_some_and(|facts| facts.bridge_port) {
            continue;
        }
        let framing = match facts.map(|facts| facts.link_type) {
            Some(ARPHRD_ETHER | ARPHRD_LOOPBACK) => Framing::Ethernet,
            Some(ARPHRD_NONE | ARPHRD_PPP | ARPHRD_RAWIP) => Framing::RawIp,
            Some(other) => {
                inventory.unsupported.push(format!("{} (link type {other})", interface.name));
                continue;
            }
            None if interface.is_loopback() => Framing::Ethernet,
            None if interface.mac.is_some_and(|mac| !mac.is_zero()) => Framing::Ethernet,
            None => Framing::RawIp,
        };
        inventory.links.push(Link {
            interface: interface.clone(),
            framing,
            loopback: interface.is_loopback(),
        });
    }
    inventory.links.sort_by(|a, b| a.interface.name.cmp(&b.interface.name));
    inventory.unsupported.sort();
    inventory
}

/// The classic BPF program of a capture socket: keep [`SNAP_LENGTH`] bytes of every
/// frame, and on loopback drop the copies of packets as sent.
fn socket_filter(loopback: bool) -> Vec<SockFilter> {
    let keep = SockFilter::new((libc::BPF_RET | libc::BPF_K) as u16, 0, 0, u32::from(SNAP_LENGTH));
    drop_sent_copies(loopback, vec![keep])
}

/// `program` as the filter of a capture on a link; on loopback it first drops the
/// copies of packets as sent (see the module documentation). Jumps are relative, so
/// `program` needs no adjusting.
#[must_use]
pub fn drop_sent_copies(loopback: bool, program: Vec<SockFilter>) -> Vec<SockFilter> {
    if !loopback {
        return program;
    }
    let packet_type = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
    let mut filter = vec![
        // A = the packet type (an ancillary field, not packet data).
        SockFilter::new((libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, 0, 0, packet_type),
        // Outgoing: fall through to the drop; otherwise skip it.
        SockFilter::new((libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16, 0, 1, PACKET_OUTGOING),
        SockFilter::new((libc::BPF_RET | libc::BPF_K) as u16, 0, 0, 0),
    ];
    filter.extend(program);
    filter
}

/// Open a receive-only, non-promiscuous packet socket on `link`.
pub fn open(link: &Link) -> io::Result<Box<dyn DataLinkReceiver>> {
    open_filtered(link, &socket_filter(link.loopback), usize::from(SNAP_LENGTH))
}

/// Open a receive-only, non-promiscuous packet socket on `link` with the socket filter
/// `filter` (made for this link: see [`drop_sent_copies`]), reading frames of at most
/// `snap_length` bytes (longer ones are cut; the filter's own limit should match).
pub fn open_filtered(
    link: &Link,
    filter: &[SockFilter],
    snap_length: usize,
) -> io::Result<Box<dyn DataLinkReceiver>> {
    // Protocol 0: nothing arrives until pnet binds it to the interface (with
    // `ETH_P_ALL`), so no other interface's frame slips in first.
    let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
    socket.attach_filter(filter)?;
    // Best effort: a smaller buffer only means drops under bursts.
    if let Err(error) = socket.set_recv_buffer_size(RECEIVE_BUFFER) {
        tracing::debug!(interface = %link.interface.name, %error, "capture receive buffer");
    }
    let config = datalink::Config {
        read_buffer_size: snap_length,
        // The send half is dropped unused.
        write_buffer_size: 0,
        read_timeout: Some(READ_TIMEOUT),
        // Other hosts' traffic is not this host's flows: never change the link's mode.
        promiscuous: false,
        // pnet owns (and closes) the descriptor from here, also when it fails.
        socket_fd: Some(socket.into_raw_fd()),
        ..datalink::Config::default()
    };
    match datalink::channel(&link.interface, config)? {
        Channel::Ethernet(_, receiver) => Ok(receiver),
        _ => Err(io::Error::other("pnet offered an unknown channel type")),
    }
}

/// Read frames from `receiver` into `table` until `stop` is set or the socket fails
/// (the interface went down or away). Returns the failure.
pub fn capture(
    receiver: Box<dyn DataLinkReceiver>,
    framing: Framing,
    table: &Mutex<FlowTable>,
    stop: &AtomicBool,
) -> Option<io::Error> {
    read_frames(receiver, stop, |bytes| {
        let frame = frame::parse(framing, bytes);
        // sock_diag counts TCP bytes itself: only UDP needs the shared table, and
        // a busy TCP host must neither contend for its lock nor fill it.
        if matches!(&frame, frame::Frame::Flow(packet) if packet.protocol == crate::model::Protocol::Tcp) {
            return;
        }
        table.lock().unwrap_or_else(PoisonError::into_inner).observe(frame);
    })
}

/// Hand every frame read from `receiver` to `handle` until `stop` is set or the socket
/// fails (the interface went down or away). Returns the failure.
pub fn read_frames(
    mut receiver: Box<dyn DataLinkReceiver>,
    stop: &AtomicBool,
    mut handle: impl FnMut(&[u8]),
) -> Option<io::Error> {
    while !stop.load(Ordering::Relaxed) {
        match receiver.next() {
            Ok(bytes) => handle(bytes),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) => {}
            // pnet reports POLLERR (ENETDOWN after the link went away) as an "unexpected
            // poll event" without reading it; polling again would spin, so stop here and
            // let the next inventory reopen the link if it is still up.
            Err(error) => return Some(error),
        }
    }
    None
}

/// A capture thread: stopped by [`Running::stop`] (or dropping it), it exits within
/// [`READ_TIMEOUT`].
#[derive(Debug)]
pub struct Running {
    /// Interface name when it was opened.
    pub name: String,
    stop: Arc<AtomicBool>,
    /// Taken when reaped.
    thread: Option<std::thread::JoinHandle<Option<io::Error>>>,
}

impl Running {
    /// Start capturing `link` into `table`.
    pub fn start(link: &Link, table: Arc<Mutex<FlowTable>>) -> io::Result<Self> {
        let receiver = open(link)?;
        let framing = link.framing;
        Self::spawn(link, "cap", move |stop| capture(receiver, framing, &table, stop))
    }

    /// Run `body` as the capture thread of `link` (named `PREFIX-INTERFACE`): it must
    /// return once the flag it is given is set, within [`READ_TIMEOUT`], with the error
    /// that ended it early, if any — [`read_frames`] does.
    pub fn spawn(
        link: &Link,
        prefix: &str,
        body: impl FnOnce(&AtomicBool) -> Option<io::Error> + Send + 'static,
    ) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("{prefix}-{}", link.interface.name))
            .spawn(move || body(&flag))?;
        Ok(Self { name: link.interface.name.clone(), stop, thread: Some(thread) })
    }

    /// Whether the thread has ended by itself (its socket failed).
    #[must_use]
    pub fn has_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(std::thread::JoinHandle::is_finished)
    }

    /// Ask the thread to stop; it does within [`READ_TIMEOUT`].
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Wait for an ended thread and say why it ended.
    #[must_use]
    pub fn reap(mut self) -> String {
        self.stop();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Some(error))) => error.to_string(),
            Some(Ok(None)) | None => "stopped".to_owned(),
            Some(Err(_)) => "capture thread panicked".to_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}
