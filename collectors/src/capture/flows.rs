//! The flow table the capture thread feeds: bytes per flow from this host's point
//! of view, bounded, emptied every interval.
//!
//! **Direction.** A packet whose source address is one of this host's is sent (`tx`)
//! by the flow from that address to the destination; one whose destination is this
//! host's (or multicast, or an IPv4 broadcast) is received (`rx`) by the flow from
//! that address to the source. The set of this host's addresses is refreshed with the
//! interface list; all of `127.0.0.0/8` and `::1` count as local, as Linux routes them.
//! Packets between two other hosts (a bridge or promiscuous neighbour traffic) count
//! nowhere.
//!
//! **Loopback.** A packet between two local addresses is counted once from each
//! socket's side: `tx` of the sender's flow *and* `rx` of the receiver's flow — each
//! socket's row shows its own traffic, as `sock_diag` would for TCP. (The kernel hands
//! every loopback packet to a packet socket twice, as sent and as received; the
//! loopback ring's socket filter keeps only the received copy, see `filter`.)

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::model::{FlowBytes, Protocol};

use super::frame::{Frame, Packet};

#[cfg(test)]
mod tests;

/// This host's addresses, for telling sent from received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalAddresses {
    /// Addresses of this host's interfaces.
    pub unicast: HashSet<IpAddr>,
    /// Directed broadcast addresses of this host's IPv4 networks.
    pub broadcast: HashSet<Ipv4Addr>,
}

impl LocalAddresses {
    /// Whether `address` is this host's own.
    #[must_use]
    pub fn is_local(&self, address: IpAddr) -> bool {
        address.is_loopback() || self.unicast.contains(&address)
    }

    /// Whether a packet to `address` is received by this host (local, multicast or
    /// broadcast).
    #[must_use]
    pub fn receives(&self, address: IpAddr) -> bool {
        match address {
            IpAddr::V4(v4) if v4.is_broadcast() || self.broadcast.contains(&v4) => true,
            _ => address.is_multicast() || self.is_local(address),
        }
    }
}

/// What the capture saw, for the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames read.
    pub frames: u64,
    /// Frames counted in some flow.
    pub counted: u64,
    /// Non-first fragments (their datagrams counted on the first fragment).
    pub fragments: u64,
    /// Frames that are not UDP or TCP.
    pub other: u64,
    /// Frames with broken headers, skipped.
    pub malformed: u64,
    /// UDP or TCP between two other hosts.
    pub transit: u64,
    /// Packets of new flows dropped because the table was full.
    pub overflow: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    protocol: Protocol,
    local: SocketAddr,
    remote: SocketAddr,
}

/// Bytes per direction.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    rx: u64,
    tx: u64,
}

/// Per-flow bytes of the current interval.
#[derive(Debug)]
pub struct FlowTable {
    flows: HashMap<FlowKey, Counts>,
    max_flows: usize,
    locals: LocalAddresses,
    stats: CaptureStats,
}

impl FlowTable {
    /// An empty table holding at most `max_flows` flows per interval.
    #[must_use]
    pub fn new(max_flows: usize) -> Self {
        Self {
            flows: HashMap::new(),
            max_flows: max_flows.max(1),
            locals: LocalAddresses::default(),
            stats: CaptureStats::default(),
        }
    }

    /// Replace the set of this host's addresses.
    pub fn set_locals(&mut self, locals: LocalAddresses) {
        self.locals = locals;
    }

    /// Counters since the table was made.
    #[must_use]
    pub const fn stats(&self) -> CaptureStats {
        self.stats
    }

    /// Count one parsed frame.
    pub fn observe(&mut self, frame: Frame) {
        self.stats.frames += 1;
        match frame {
            Frame::Flow(packet) => self.count(&packet),
            Frame::Fragment => self.stats.fragments += 1,
            Frame::Other => self.stats.other += 1,
            Frame::Malformed => self.stats.malformed += 1,
        }
    }

    /// Count a batch of parsed frames (one ring read's, under one lock).
    pub fn observe_all(&mut self, frames: &[Frame]) {
        for &frame in frames {
            self.observe(frame);
        }
    }

    fn count(&mut self, packet: &Packet) {
        let sent = self.locals.is_local(packet.source.ip());
        // Our own multicast and broadcast is only sent: its looped-back copy never
        // reaches a packet socket.
        let received = if sent {
            self.locals.is_local(packet.destination.ip())
        } else {
            self.locals.receives(packet.destination.ip())
        };
        if !sent && !received {
            self.stats.transit += 1;
            return;
        }
        self.stats.counted += 1;
        if sent {
            let key = FlowKey { protocol: packet.protocol, local: packet.source, remote: packet.destination };
            if let Some(flow) = self.entry(key) {
                flow.tx = flow.tx.saturating_add(packet.bytes);
            }
        }
        if received {
            let key = FlowKey { protocol: packet.protocol, local: packet.destination, remote: packet.source };
            if let Some(flow) = self.entry(key) {
                flow.rx = flow.rx.saturating_add(packet.bytes);
            }
        }
    }

    /// The entry for `key`, unless it is new and the table is full.
    fn entry(&mut self, key: FlowKey) -> Option<&mut Counts> {
        if self.flows.len() >= self.max_flows && !self.flows.contains_key(&key) {
            self.stats.overflow += 1;
            return None;
        }
        Some(self.flows.entry(key).or_default())
    }

    /// The interval's flows; empties the table (keeping its allocation, which is
    /// bounded by `max_flows`).
    pub fn take(&mut self) -> Vec<FlowBytes> {
        self.flows
            .drain()
            .map(|(key, counts)| FlowBytes {
                protocol: key.protocol,
                local: key.local,
                remote: key.remote,
                rx_bytes: counts.rx,
                tx_bytes: counts.tx,
            })
            .collect()
    }
}
