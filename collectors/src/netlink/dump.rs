//! Dump requests: a complete read of links, addresses, routes, rules and
//! neighbours, and the lighter link-only read for counters.

use std::io;
use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkPayload};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::rule::RuleMessage;
use netlink_packet_route::{AddressFamily as NlFamily, RouteNetlinkMessage};

use crate::model::{Interface, InterfaceAddress, InterfaceStats, Neighbor, NetworkTable, Route, Rule};
use crate::source::SourceError;

use crate::interfaces::netlink::parse;
use crate::interfaces::sysfs::SysfsCache;

use super::frame;
use super::route_socket::RouteSocket;

/// How often a dump the kernel marks inconsistent (`NLM_F_DUMP_INTR`: the table
/// changed while it was being read) or that lost messages is tried again.
const ATTEMPTS: u32 = 5;
/// A dump the kernel does not finish in this time is an error, not a hang.
const DUMP_TIMEOUT: Duration = Duration::from_secs(10);

/// How one attempt at a dump ended.
enum Attempt {
    /// All replies, consistent.
    Complete(Vec<RouteNetlinkMessage>),
    /// All replies, but the kernel says the table changed meanwhile.
    Interrupted(Vec<RouteNetlinkMessage>),
    /// Replies were lost (a datagram did not fit the buffer, which has grown since).
    Lost,
}

/// Sends dump requests and collects their replies on its own socket.
#[derive(Debug)]
pub(crate) struct Dumper {
    socket: RouteSocket,
    sequence: u32,
}

impl Dumper {
    /// A dumper using `socket` (joined to no multicast group).
    pub(crate) const fn new(socket: RouteSocket) -> Self {
        Self { socket, sequence: 0 }
    }

    /// Everything, as one consistent table.
    pub(crate) async fn network(&mut self, sysfs: &mut SysfsCache) -> Result<NetworkTable, SourceError> {
        let links = self.dump("links", RouteNetlinkMessage::GetLink(LinkMessage::default())).await?;
        let addresses =
            self.dump("addresses", RouteNetlinkMessage::GetAddress(AddressMessage::default())).await?;
        let mut routes = Vec::new();
        let mut rules = Vec::new();
        for family in [NlFamily::Inet, NlFamily::Inet6] {
            let mut route_request = RouteMessage::default();
            route_request.header.address_family = family;
            routes.extend(self.dump("routes", RouteNetlinkMessage::GetRoute(route_request)).await?);
            let mut rule_request = RuleMessage::default();
            rule_request.header.family = family;
            rules.extend(self.dump("rules", RouteNetlinkMessage::GetRule(rule_request)).await?);
        }
        let neighbors =
            self.dump("neighbours", RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default())).await?;

        let links: Vec<Interface> = links
            .iter()
            .filter_map(|message| match message {
                RouteNetlinkMessage::NewLink(link) => parse::link(link, sysfs),
                _ => None,
            })
            .collect();
        sysfs.retain(|index| links.iter().any(|link| link.index == index));
        let addresses = addresses.iter().filter_map(|message| match message {
            RouteNetlinkMessage::NewAddress(address) => parse::address(address),
            _ => None,
        });
        let routes = routes.iter().filter_map(|message| match message {
            RouteNetlinkMessage::NewRoute(route) => parse::route(route),
            _ => None,
        });
        let rules = rules.iter().filter_map(|message| match message {
            RouteNetlinkMessage::NewRule(rule) => parse::rule(rule),
            _ => None,
        });
        let neighbors = neighbors.iter().filter_map(|message| match message {
            RouteNetlinkMessage::NewNeighbour(neighbor) => parse::neighbor(neighbor),
            _ => None,
        });
        Ok(assemble(links, addresses.collect(), routes.collect(), rules.collect(), neighbors.collect()))
    }

    /// The counters of every link.
    pub(crate) async fn counters(&mut self) -> Result<Vec<(u32, InterfaceStats)>, SourceError> {
        let links = self.dump("link counters", RouteNetlinkMessage::GetLink(LinkMessage::default())).await?;
        Ok(links
            .iter()
            .filter_map(|message| match message {
                RouteNetlinkMessage::NewLink(link) => parse::link_counters(link),
                _ => None,
            })
            .collect())
    }

    /// Dump one table, retrying while the kernel reports it changed underneath.
    async fn dump(
        &mut self,
        what: &str,
        request: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, SourceError> {
        let context = || format!("rtnetlink dump of {what}");
        let mut last_interrupted = None;
        for _ in 0..ATTEMPTS {
            let attempt =
                tokio::time::timeout(DUMP_TIMEOUT, self.attempt(request.clone())).await.map_err(|_| {
                    SourceError::Other(format!("{}: no reply within {DUMP_TIMEOUT:?}", context()))
                })?;
            match attempt {
                Ok(Attempt::Complete(messages)) => return Ok(messages),
                Ok(Attempt::Interrupted(messages)) => last_interrupted = Some(messages),
                Ok(Attempt::Lost) => {}
                // A family the kernel was built without (IPv6 disabled) has nothing to show.
                Err(error) if matches!(error.raw_os_error(), Some(libc::EAFNOSUPPORT | libc::EOPNOTSUPP)) => {
                    return Ok(Vec::new());
                }
                Err(error) => return Err(SourceError::io(context(), error)),
            }
        }
        // The table keeps changing faster than it can be read: use the last read;
        // the notifications that interrupted it schedule another one.
        last_interrupted.ok_or_else(|| SourceError::Other(format!("{}: replies kept being lost", context())))
    }

    async fn attempt(&mut self, request: RouteNetlinkMessage) -> io::Result<Attempt> {
        self.sequence = self.sequence.wrapping_add(1).max(1);
        let sequence = self.sequence;
        let bytes = frame::route_request(sequence, NLM_F_REQUEST | NLM_F_DUMP, request);
        self.socket.send(&bytes).await?;

        let mut messages = Vec::new();
        let mut interrupted = false;
        loop {
            let received = self.socket.recv(usize::MAX).await?;
            if received.lost {
                // The rest of this dump's replies carry its sequence number and are
                // skipped by the next attempt.
                return Ok(Attempt::Lost);
            }
            for frame in received.frames {
                // Replies to an abandoned earlier attempt.
                if frame.sequence != sequence {
                    continue;
                }
                interrupted |= frame.flags & frame::DUMP_INTERRUPTED != 0;
                match frame.payload {
                    Some(NetlinkPayload::Done(_)) => {
                        return Ok(if interrupted {
                            Attempt::Interrupted(messages)
                        } else {
                            Attempt::Complete(messages)
                        });
                    }
                    Some(NetlinkPayload::Error(error)) if error.code.is_some() => return Err(error.to_io()),
                    Some(NetlinkPayload::InnerMessage(message)) => messages.push(message),
                    _ => {}
                }
            }
        }
    }
}

/// One table from the parts of a dump: addresses attached to their interfaces
/// (IPv4 first), interface names filled in for routes and neighbours. Whatever
/// refers to an interface that vanished between the dumps is dropped, except
/// routes, which keep their index and go without a name.
pub(crate) fn assemble(
    mut interfaces: Vec<Interface>,
    addresses: Vec<(u32, InterfaceAddress)>,
    mut routes: Vec<Route>,
    rules: Vec<Rule>,
    neighbors: Vec<Neighbor>,
) -> NetworkTable {
    interfaces.sort_by_key(|interface| interface.index);
    let position = |interfaces: &[Interface], index: u32| {
        interfaces.binary_search_by_key(&index, |interface| interface.index).ok()
    };
    for (index, mut address) in addresses {
        let Some(at) = position(&interfaces, index) else { continue };
        let interface = &mut interfaces[at];
        if address.label.as_deref() == Some(interface.name.as_str()) {
            address.label = None;
        }
        interface.addresses.push(address);
    }
    for interface in &mut interfaces {
        // Stable: kernel order is kept within a family.
        interface.addresses.sort_by_key(|address| address.family);
    }
    for route in &mut routes {
        route.interface = route
            .interface_index
            .and_then(|index| position(&interfaces, index))
            .map(|at| interfaces[at].name.clone());
    }
    let neighbors = neighbors
        .into_iter()
        .filter_map(|mut neighbor| {
            let at = position(&interfaces, neighbor.interface_index)?;
            neighbor.interface.clone_from(&interfaces[at].name);
            Some(neighbor)
        })
        .collect();
    NetworkTable { interfaces, routes, rules, neighbors }
}
