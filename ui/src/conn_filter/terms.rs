//! The terms of a Connections filter and what each one lets through.

use std::net::{IpAddr, SocketAddr};

use netlens_collectors::model::{Protocol, SocketState, Timestamp};
use netlens_collectors::{ConnectionEntry, ConnectionWarnings, Connections};

use crate::filter::contains;
use crate::format::StackText;

/// Which end of a connection a port or address term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Either end.
    Either,
    /// This host's end.
    Local,
    /// The peer's end.
    Remote,
}

/// What an address term matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddressMatch {
    /// Any address inside a network (`10.0.0.0/8`).
    Network {
        /// The network's address.
        base: IpAddr,
        /// Prefix length, checked against the family.
        prefix: u8,
    },
    /// One address, any port.
    Exact(IpAddr),
    /// One address and port.
    Endpoint(SocketAddr),
    /// Text inside the address (or the peer's reverse-DNS name), lower case.
    Text(String),
}

/// A number the rows can be compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Smoothed RTT, in microseconds (TCP).
    Rtt,
    /// Receive rate, bytes per second.
    Rx,
    /// Transmit rate, bytes per second.
    Tx,
    /// Retransmitted segments over the connection's life (TCP).
    Retrans,
    /// Age, in milliseconds.
    Age,
}

/// How a measure compares to the quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `<`
    Less,
    /// `<=`
    LessEq,
    /// `>`
    Greater,
    /// `>=`
    GreaterEq,
    /// `=`
    Equal,
}

impl Op {
    pub(crate) fn holds(self, value: f64, quantity: f64) -> bool {
        match self {
            Self::Less => value < quantity,
            Self::LessEq => value <= quantity,
            Self::Greater => value > quantity,
            Self::GreaterEq => value >= quantity,
            Self::Equal => (value - quantity).abs() < 0.5,
        }
    }
}

/// The socket states a `state:` term lets through, as a bit set over [`STATES`] plus
/// one bit for closed connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StateSet(pub(crate) u32);

/// Every state a `state:` prefix can name, in the order of their bits.
pub(crate) const STATES: [SocketState; 14] = [
    SocketState::Established,
    SocketState::SynSent,
    SocketState::SynRecv,
    SocketState::FinWait1,
    SocketState::FinWait2,
    SocketState::TimeWait,
    SocketState::Close,
    SocketState::CloseWait,
    SocketState::LastAck,
    SocketState::Listen,
    SocketState::Closing,
    SocketState::NewSynRecv,
    SocketState::BoundInactive,
    SocketState::Unconnected,
];

/// The bit of a connection that has closed (its socket keeps its last state).
pub(crate) const CLOSED_BIT: u32 = 1 << 31;

impl StateSet {
    fn bit(state: SocketState) -> u32 {
        STATES.iter().position(|s| *s == state).map_or(0, |i| 1 << i)
    }

    fn contains(self, entry: &ConnectionEntry) -> bool {
        let bit = if entry.closed_at.is_some() { CLOSED_BIT } else { Self::bit(entry.socket.state) };
        self.0 & bit != 0
    }
}

/// One condition on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Predicate {
    /// A port at one or either end.
    Port(End, u16),
    /// The state (closed connections count as `closed`).
    State(StateSet),
    /// The owning process's name contains this (lower case).
    Process(String),
    /// The owning process id.
    Pid(u32),
    /// The owner's user name contains this (lower case).
    User(String),
    /// The owner's uid.
    Uid(u32),
    /// TCP or UDP.
    Protocol(Protocol),
    /// An address at one end ([`End::Either`] is never produced).
    Address(End, AddressMatch),
    /// A measure against a quantity in the measure's unit.
    Compare(Measure, Op, u64),
    /// Any of these warnings; every warning when empty.
    Warned(ConnectionWarnings),
    /// Closed, still shown.
    Closed,
    /// Free text anywhere in the row (lower case).
    Text(String),
}

/// A predicate, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// `!` or `-` before it.
    pub negated: bool,
    /// The condition.
    pub predicate: Predicate,
}

/// Whether `ip` lies in `base/prefix`; IPv4-mapped IPv6 addresses count as IPv4.
pub(crate) fn in_network(ip: IpAddr, base: IpAddr, prefix: u8) -> bool {
    match (ip.to_canonical(), base) {
        (IpAddr::V4(ip), IpAddr::V4(base)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            u32::from(ip) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(base)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            u128::from(ip) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

/// The state as the table names it: closed connections are `closed`.
const fn state_name(entry: &ConnectionEntry) -> &'static str {
    if entry.closed_at.is_some() { "closed" } else { entry.socket.state.as_str() }
}

impl Predicate {
    pub(crate) fn holds(&self, entry: &ConnectionEntry, connections: &Connections, now: Timestamp) -> bool {
        let socket = &entry.socket;
        let process = || entry.pid.and_then(|pid| connections.process(pid));
        match self {
            Self::Port(End::Local, port) => socket.local.port() == *port,
            Self::Port(End::Remote, port) => socket.remote.port() == *port,
            Self::Port(End::Either, port) => socket.local.port() == *port || socket.remote.port() == *port,
            Self::State(set) => set.contains(entry),
            Self::Process(needle) => process().is_some_and(|p| contains(&p.name, needle)),
            Self::Pid(pid) => entry.pid == Some(*pid),
            Self::User(needle) => process().is_some_and(|p| contains(&p.user, needle)),
            Self::Uid(uid) => socket.uid == *uid,
            Self::Protocol(protocol) => socket.protocol == *protocol,
            Self::Address(end, address) => {
                let endpoint = if *end == End::Local { socket.local } else { socket.remote };
                let name =
                    (*end == End::Remote).then(|| connections.name_of(endpoint.ip()).flatten()).flatten();
                address_holds(address, endpoint, name)
            }
            Self::Compare(measure, op, quantity) => {
                let value = match measure {
                    // A zero RTT is no sample yet (an unanswered SYN), not a fast peer.
                    Measure::Rtt => socket.tcp.map(|tcp| tcp.rtt_ms * 1000.0).filter(|rtt| *rtt > 0.0),
                    Measure::Rx => entry.rates.map(|r| r.rx_bytes_per_s),
                    Measure::Tx => entry.rates.map(|r| r.tx_bytes_per_s),
                    Measure::Retrans => socket.tcp.map(|tcp| f64::from(tcp.total_retrans)),
                    Measure::Age => Some(entry.age(now).whole_milliseconds() as f64),
                };
                value.is_some_and(|value| op.holds(value, *quantity as f64))
            }
            Self::Warned(set) if set.is_empty() => !entry.warnings.is_empty(),
            Self::Warned(set) => entry.warnings.0 & set.0 != 0,
            Self::Closed => entry.closed_at.is_some(),
            Self::Text(needle) => text_holds(needle, entry, connections),
        }
    }
}

fn address_holds(address: &AddressMatch, endpoint: SocketAddr, name: Option<&str>) -> bool {
    match address {
        AddressMatch::Network { base, prefix } => in_network(endpoint.ip(), *base, *prefix),
        AddressMatch::Exact(ip) => endpoint.ip().to_canonical() == ip.to_canonical(),
        AddressMatch::Endpoint(wanted) => {
            endpoint.port() == wanted.port() && endpoint.ip().to_canonical() == wanted.ip().to_canonical()
        }
        AddressMatch::Text(needle) => {
            contains(StackText::new(endpoint).as_str(), needle) || name.is_some_and(|n| contains(n, needle))
        }
    }
}

/// Free text: the protocol, state, either endpoint, the peer's name, the process (name,
/// pid, user), the label and the warnings.
fn text_holds(needle: &str, entry: &ConnectionEntry, connections: &Connections) -> bool {
    let socket = &entry.socket;
    if contains(socket.protocol.as_str(), needle)
        || contains(state_name(entry), needle)
        || contains(StackText::new(socket.local).as_str(), needle)
        || contains(StackText::new(socket.remote).as_str(), needle)
        || connections.name_of(socket.remote.ip()).flatten().is_some_and(|name| contains(name, needle))
        || entry.warnings.names().any(|name| contains(name, needle))
        || entry.label.is_some_and(|label| contains(&label.text(), needle))
    {
        return true;
    }
    match entry.pid {
        Some(pid) => {
            contains(StackText::new(pid).as_str(), needle)
                || connections
                    .process(pid)
                    .is_some_and(|p| contains(&p.name, needle) || contains(&p.user, needle))
        }
        None => false,
    }
}
