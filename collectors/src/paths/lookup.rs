//! The kernel's routing decision for one destination, like `ip route get`: an
//! `RTM_GETROUTE` request (not a dump) per query, on one `NETLINK_ROUTE` socket.
//!
//! **Blocking.** [`RouteLookup`] uses a plain blocking socket: rtnetlink answers a
//! route request while the request is being sent, so a lookup is a couple of
//! syscalls and never waits on the network. Async callers run it on
//! `spawn_blocking` (or a thread that owns it); a receive timeout of
//! [`REPLY_TIMEOUT`] turns a missing reply into an error instead of a hang.
//!
//! **Two requests per query**, sent together: a plain lookup with
//! `RTM_F_LOOKUP_TABLE` (the routing decision: type, table, output interface,
//! preferred source, gateway — without the flag, IPv4 reports every answer as table
//! `main`), and the same lookup with `RTM_F_FIB_MATCH`, which returns the route
//! entry that matched: its prefix (a `0.0.0.0/1` tunnel route versus the default
//! route), metric and protocol, which the plain IPv4 answer leaves out.
//!
//! **Errors.** A lookup that ends in a blackhole, unreachable or prohibit route (or a
//! policy rule with that action) gets no route in reply, only an errno. On kernel
//! 6.18, for both IPv4 and IPv6 (checked against `ip route get` in
//! `tests/netns_route_lookup.rs`):
//!
//! | route / rule   | errno          | [`LookupError`]               |
//! |----------------|----------------|-------------------------------|
//! | none matches   | `ENETUNREACH`  | [`LookupError::NoRoute`]      |
//! | `unreachable`  | `EHOSTUNREACH` | [`LookupError::Unreachable`]  |
//! | `prohibit`     | `EACCES`       | [`LookupError::Prohibit`]     |
//! | `blackhole`    | `EINVAL`       | [`LookupError::Blackhole`]    |
//! | bad `oif`      | `ENODEV` (IPv4) | [`LookupError::NoDevice`]    |
//!
//! With an `oif` that does not exist, IPv6 answers `ENETUNREACH` ([`LookupError::NoRoute`]):
//! callers that turn `via=` into an index should check that the interface exists.
//!
//! `EINVAL` is also what a malformed request gets; the requests built here are
//! well-formed (the unit tests check their bytes), so here it means blackhole.
//! Should a kernel answer such a lookup with a route instead, its type is read
//! from the reply ([`RouteAnswer::route_type`]).

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use netlink_packet_core::{NLM_F_REQUEST, NetlinkPayload};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteFlags, RouteMessage};
use netlink_packet_route::{AddressFamily as NlFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, constants::NETLINK_ROUTE};

use crate::interfaces::netlink::parse::{protocol_name, route_type};
use crate::model::RouteType;
use crate::netlink::frame;

/// How long to wait for the kernel's reply before giving up. Replies are written
/// while the request is sent, so this only bounds a kernel that never answers.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// Queries sent in one datagram. Each reply is a full-page skb in the receive
/// buffer (~4 KiB of `SO_RCVBUF` accounting each); 8 queries are 16 replies,
/// well inside the default 208 KiB, so a batch never overruns it.
const QUERIES_PER_DATAGRAM: usize = 8;
/// Receive buffer per `recv`: one reply is a few hundred bytes; a link reply a few KiB.
const DATAGRAM_BUFFER: usize = 32 * 1024;

/// What to look up: the destination, and what `ip route get` would add as
/// `oif`, `mark` and `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteQuery {
    /// Where the traffic goes.
    pub destination: IpAddr,
    /// Output interface index the lookup is bound to (a target's `via=`).
    pub oif: Option<u32>,
    /// Firewall mark the lookup carries (a target's `mark=`; selects `fwmark` rules).
    pub mark: Option<u32>,
    /// Source address the traffic would use (`from`), if fixed.
    pub source: Option<IpAddr>,
}

impl RouteQuery {
    /// A lookup for `destination` with no interface, mark or source.
    #[must_use]
    pub const fn new(destination: IpAddr) -> Self {
        Self { destination, oif: None, mark: None, source: None }
    }
}

/// The kernel's answer to a [`RouteQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAnswer {
    /// Route type of the decision (`unicast`, `local`, …).
    pub route_type: RouteType,
    /// The table the matching route is in (254 main, 255 local, or a policy table).
    pub table: u32,
    /// Output interface index.
    pub interface_index: Option<u32>,
    /// Output interface name, resolved with `RTM_GETLINK` on the same socket (the
    /// route reply carries only the index). `None` if it vanished meanwhile.
    pub interface: Option<String>,
    /// The source address traffic would use: the reply's preferred source
    /// (`prefsrc`), or the query's `from` when that fixed it.
    pub source: Option<IpAddr>,
    /// Next-hop gateway; `None` for a directly connected destination.
    pub gateway: Option<IpAddr>,
    /// Metric of the matching route, if the kernel reported it.
    pub metric: Option<u32>,
    /// Who installed the matching route (`kernel`, `boot`, `static`, …, or a number).
    pub protocol: String,
    /// The mark the lookup was made with, as the kernel echoes it.
    pub mark: Option<u32>,
    /// The matching route's destination prefix (`0.0.0.0/0`, `0.0.0.0/1`,
    /// `10.60.0.0/16`): tells a tunnel's 0/1 + 128/1 pair from the default route.
    pub matched_prefix: Option<(IpAddr, u8)>,
}

/// Why the kernel gave no route.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No route matches (`ENETUNREACH`).
    #[error("no route to the destination (ENETUNREACH)")]
    NoRoute,
    /// An `unreachable` route or rule matches (`EHOSTUNREACH`).
    #[error("an unreachable route matches the destination (EHOSTUNREACH)")]
    Unreachable,
    /// A `prohibit` route or rule matches (`EACCES`).
    #[error("a prohibit route matches the destination (EACCES)")]
    Prohibit,
    /// A `blackhole` route or rule matches (`EINVAL`).
    #[error("a blackhole route matches the destination (EINVAL)")]
    Blackhole,
    /// The query's output interface does not exist (`ENODEV`; IPv4 only, IPv6 says `NoRoute`).
    #[error("the output interface does not exist (ENODEV)")]
    NoDevice,
    /// The query's source and destination are of different address families.
    #[error("source {from} and destination {to} are not of the same address family")]
    FamilyMismatch {
        /// The query's source.
        from: IpAddr,
        /// The query's destination.
        to: IpAddr,
    },
    /// The socket failed, the kernel did not answer, or it answered another errno.
    #[error("route lookup failed: {0}")]
    Io(#[from] io::Error),
}

impl LookupError {
    /// The errno of a kernel `NLMSG_ERROR` reply (positive), as a lookup verdict.
    #[must_use]
    pub fn from_errno(errno: i32) -> Self {
        match errno {
            libc::ENETUNREACH => Self::NoRoute,
            libc::EHOSTUNREACH => Self::Unreachable,
            libc::EACCES => Self::Prohibit,
            libc::EINVAL => Self::Blackhole,
            libc::ENODEV => Self::NoDevice,
            other => Self::Io(io::Error::from_raw_os_error(other)),
        }
    }

    /// The route type that caused this verdict, for blackhole, unreachable and prohibit.
    #[must_use]
    pub const fn route_type(&self) -> Option<RouteType> {
        match self {
            Self::Blackhole => Some(RouteType::Blackhole),
            Self::Unreachable => Some(RouteType::Unreachable),
            Self::Prohibit => Some(RouteType::Prohibit),
            _ => None,
        }
    }
}

/// One `NETLINK_ROUTE` socket for route lookups. See the module docs for how it
/// blocks and what it sends.
pub struct RouteLookup {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for RouteLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteLookup").field("sequence", &self.sequence).finish_non_exhaustive()
    }
}

/// Which of a query's two requests a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// The routing decision (`RTM_F_LOOKUP_TABLE`).
    Decision,
    /// The matching route entry (`RTM_F_FIB_MATCH`).
    Entry,
}

impl RouteLookup {
    /// Open a socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket2::SockRef::from(&socket).set_read_timeout(Some(REPLY_TIMEOUT))?;
        Ok(Self { socket, sequence: 0, buffer: Vec::with_capacity(DATAGRAM_BUFFER) })
    }

    /// Look one destination up.
    pub fn lookup(&mut self, query: &RouteQuery) -> Result<RouteAnswer, LookupError> {
        self.lookup_many(std::slice::from_ref(query))
            .pop()
            .unwrap_or_else(|| Err(io::Error::other("no answer for the query").into()))
    }

    /// Look many destinations up, answers in query order. Requests go out several to
    /// a datagram; interface names are resolved once per distinct interface.
    pub fn lookup_many(&mut self, queries: &[RouteQuery]) -> Vec<Result<RouteAnswer, LookupError>> {
        let mut results: Vec<Result<RouteAnswer, LookupError>> = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(QUERIES_PER_DATAGRAM) {
            match self.exchange_routes(chunk) {
                Ok(answers) => results.extend(answers),
                // The receive buffer overran after all (a small rmem_default): ask
                // again one query at a time, which cannot overrun it.
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {
                    for query in chunk {
                        let answer = self.exchange_routes(std::slice::from_ref(query)).map_or_else(
                            |error| Err(LookupError::Io(error)),
                            |mut answers| {
                                answers.pop().unwrap_or_else(|| Err(io::Error::other("no answer").into()))
                            },
                        );
                        results.push(answer);
                    }
                }
                Err(error) => {
                    let kind = error.kind();
                    let text = error.to_string();
                    results.extend(chunk.iter().map(|_| Err(io::Error::new(kind, text.clone()).into())));
                }
            }
        }
        self.name_interfaces(&mut results);
        results
    }

    /// The name of interface `index`, or `None` if there is no such interface.
    pub fn interface_name(&mut self, index: u32) -> io::Result<Option<String>> {
        Ok(self.interface_names(&BTreeSet::from([index]))?.remove(&index))
    }

    fn name_interfaces(&mut self, results: &mut [Result<RouteAnswer, LookupError>]) {
        let indexes: BTreeSet<u32> =
            results.iter().filter_map(|result| result.as_ref().ok()?.interface_index).collect();
        if indexes.is_empty() {
            return;
        }
        // A name is a nicety on top of the index: failing to read it is not a failed lookup.
        let names = self.interface_names(&indexes).unwrap_or_else(|error| {
            tracing::debug!(%error, "could not read interface names for route answers");
            HashMap::new()
        });
        for answer in results.iter_mut().filter_map(|result| result.as_mut().ok()) {
            answer.interface = answer.interface_index.and_then(|index| names.get(&index).cloned());
        }
    }

    fn interface_names(&mut self, indexes: &BTreeSet<u32>) -> io::Result<HashMap<u32, String>> {
        let mut names = HashMap::new();
        let indexes: Vec<u32> = indexes.iter().copied().collect();
        for chunk in indexes.chunks(QUERIES_PER_DATAGRAM) {
            let requests = chunk.iter().map(|&index| {
                let mut message = LinkMessage::default();
                message.header.index = index;
                RouteNetlinkMessage::GetLink(message)
            });
            let replies = self.exchange(requests.collect())?;
            for (&index, reply) in chunk.iter().zip(replies) {
                if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = reply {
                    let name = link.attributes.into_iter().find_map(|attribute| match attribute {
                        LinkAttribute::IfName(name) => Some(name),
                        _ => None,
                    });
                    if let Some(name) = name {
                        names.insert(index, name);
                    }
                }
            }
        }
        Ok(names)
    }

    /// Both requests of each query in one datagram; the answers in query order.
    fn exchange_routes(
        &mut self,
        queries: &[RouteQuery],
    ) -> io::Result<Vec<Result<RouteAnswer, LookupError>>> {
        let mut slots: Vec<Option<Result<RouteAnswer, LookupError>>> = Vec::with_capacity(queries.len());
        let mut requests = Vec::with_capacity(queries.len() * 2);
        let mut sent = Vec::with_capacity(queries.len());
        for (position, query) in queries.iter().enumerate() {
            match (route_request(query, Request::Decision), route_request(query, Request::Entry)) {
                (Ok(decision), Ok(entry)) => {
                    requests.push(decision);
                    requests.push(entry);
                    sent.push(position);
                    slots.push(None);
                }
                (Err(error), _) | (_, Err(error)) => slots.push(Some(Err(error))),
            }
        }
        let mut replies = self.exchange(requests)?.into_iter();
        for position in sent {
            let (Some(decision), Some(entry)) = (replies.next(), replies.next()) else {
                break;
            };
            slots[position] = Some(answer_from_replies(decision, entry));
        }
        Ok(slots
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|| Err(io::Error::other("no reply to the route request").into())))
            .collect())
    }

    /// Send `requests` in one datagram and return one reply payload per request, in
    /// request order. An `ENOBUFS` error means replies were lost.
    fn exchange(
        &mut self,
        requests: Vec<RouteNetlinkMessage>,
    ) -> io::Result<Vec<NetlinkPayload<RouteNetlinkMessage>>> {
        let count = requests.len();
        let first = self.sequence.wrapping_add(1);
        let mut datagram = Vec::new();
        for request in requests {
            self.sequence = self.sequence.wrapping_add(1);
            datagram.extend_from_slice(&encode(self.sequence, request));
        }
        self.socket.send_to(&datagram, &SocketAddr::new(0, 0), 0)?;

        let mut replies: Vec<Option<NetlinkPayload<RouteNetlinkMessage>>> =
            (0..count).map(|_| None).collect();
        let mut missing = count;
        while missing > 0 {
            self.buffer.clear();
            let length = match self.socket.recv(&mut self.buffer, libc::MSG_TRUNC) {
                Ok(length) => length,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the kernel did not answer {missing} of {count} requests within {REPLY_TIMEOUT:?}"
                        ),
                    ));
                }
                Err(error) => return Err(error),
            };
            if length > self.buffer.len() {
                // Cut: the reply is unusable; say so like an overrun, so the caller retries.
                return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
            }
            for (sequence, payload) in split(&self.buffer) {
                // Replies to an earlier exchange that gave up carry older numbers.
                let position = sequence.wrapping_sub(first) as usize;
                if let Some(slot @ None) = replies.get_mut(position) {
                    *slot = Some(payload);
                    missing -= 1;
                }
            }
        }
        Ok(replies.into_iter().flatten().collect())
    }
}

/// The request for one query, or why it cannot be asked.
fn route_request(query: &RouteQuery, request: Request) -> Result<RouteNetlinkMessage, LookupError> {
    let mut message = RouteMessage::default();
    let header = &mut message.header;
    let (family, full_length) = match query.destination {
        IpAddr::V4(_) => (NlFamily::Inet, 32),
        IpAddr::V6(_) => (NlFamily::Inet6, 128),
    };
    header.address_family = family;
    header.destination_prefix_length = full_length;
    header.flags = match request {
        Request::Decision => RouteFlags::LookupTable,
        Request::Entry => RouteFlags::LookupTable | RouteFlags::FibMatch,
    };
    message.attributes.push(RouteAttribute::Destination(route_address(query.destination)));
    if let Some(source) = query.source {
        if source.is_ipv4() != query.destination.is_ipv4() {
            return Err(LookupError::FamilyMismatch { from: source, to: query.destination });
        }
        message.header.source_prefix_length = full_length;
        message.attributes.push(RouteAttribute::Source(route_address(source)));
    }
    if let Some(oif) = query.oif {
        message.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(mark) = query.mark {
        message.attributes.push(RouteAttribute::Mark(mark));
    }
    Ok(RouteNetlinkMessage::GetRoute(message))
}

const fn route_address(address: IpAddr) -> RouteAddress {
    match address {
        IpAddr::V4(ip) => RouteAddress::Inet(ip),
        IpAddr::V6(ip) => RouteAddress::Inet6(ip),
    }
}

/// One request as netlink bytes.
fn encode(sequence: u32, request: RouteNetlinkMessage) -> Vec<u8> {
    frame::route_request(sequence, NLM_F_REQUEST, request)
}

/// The messages of one datagram with their sequence numbers. Messages that do not
/// parse are skipped (the request they answer then times out with an error).
fn split(datagram: &[u8]) -> Vec<(u32, NetlinkPayload<RouteNetlinkMessage>)> {
    frame::messages(datagram).filter_map(|message| Some((message.sequence, message.route()?))).collect()
}

/// A query's result from the replies to its two requests. The decision decides;
/// the matched entry only adds prefix, metric and protocol (it fails for some
/// answers a decision has, such as broadcast, and then adds nothing).
fn answer_from_replies(
    decision: NetlinkPayload<RouteNetlinkMessage>,
    entry: NetlinkPayload<RouteNetlinkMessage>,
) -> Result<RouteAnswer, LookupError> {
    let mut answer = match decision {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(message)) => decision_answer(&message),
        NetlinkPayload::Error(error) if error.code.is_some() => {
            return Err(LookupError::from_errno(error.raw_code().abs()));
        }
        other => {
            return Err(io::Error::other(format!("unexpected reply to a route request: {other:?}")).into());
        }
    };
    if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(message)) = entry {
        add_entry(&mut answer, &message);
    }
    Ok(answer)
}

/// The routing decision in a plain lookup's reply.
fn decision_answer(message: &RouteMessage) -> RouteAnswer {
    let header = &message.header;
    let mut answer = RouteAnswer {
        route_type: route_type(header.kind),
        table: u32::from(header.table),
        interface_index: None,
        interface: None,
        source: None,
        gateway: None,
        metric: None,
        protocol: protocol_name(header.protocol.into()),
        mark: None,
        matched_prefix: None,
    };
    let mut fixed_source = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(table) => answer.table = *table,
            RouteAttribute::Oif(index) => answer.interface_index = Some(*index),
            RouteAttribute::PrefSource(address) => answer.source = ip(address),
            // The query's `from`, echoed; IPv6 echoes `::` when there was none.
            RouteAttribute::Source(address) => fixed_source = ip(address).filter(|ip| !ip.is_unspecified()),
            RouteAttribute::Gateway(address) => answer.gateway = ip(address),
            RouteAttribute::Priority(metric) => answer.metric = Some(*metric),
            RouteAttribute::Mark(mark) => answer.mark = Some(*mark),
            RouteAttribute::MultiPath(hops) => {
                if let Some(hop) = hops.first() {
                    answer.interface_index = answer.interface_index.or(Some(hop.interface_index));
                    answer.gateway = answer.gateway.or_else(|| {
                        hop.attributes.iter().find_map(|attribute| match attribute {
                            RouteAttribute::Gateway(address) => ip(address),
                            _ => None,
                        })
                    });
                }
            }
            _ => {}
        }
    }
    answer.source = answer.source.or(fixed_source);
    answer
}

/// Add what only the matched route entry knows.
fn add_entry(answer: &mut RouteAnswer, message: &RouteMessage) {
    let header = &message.header;
    let mut destination = match header.address_family {
        NlFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(address) => destination = ip(address).unwrap_or(destination),
            RouteAttribute::Priority(metric) => answer.metric = Some(*metric),
            _ => {}
        }
    }
    answer.matched_prefix = Some((destination, header.destination_prefix_length));
    answer.protocol = protocol_name(header.protocol.into());
}

const fn ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(*ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
