//! An in-process authoritative DNS server for tests, speaking the wire protocol over
//! UDP and TCP (length-prefixed, several queries per connection) on the same port.
//!
//! Each name (optionally each name and type) has a [`Behaviour`]: answer, alias,
//! fail with an rcode, truncate, stay silent, or reply first with a wrong
//! transaction id. Names not in the [`Zone`] get NXDOMAIN. Every query received is
//! logged with its transport, client and timing. The server runs on plain threads
//! (no async runtime), so its sockets live in the network namespace of the thread
//! that calls [`DnsTestServer::start`]; it stops and joins its threads on drop.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// TTL of address records.
const ADDRESS_TTL: u32 = 300;
/// TTL of CNAME records.
const CNAME_TTL: u32 = 60;
/// How often the threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// A TCP connection idle this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(2);
/// Largest UDP reply to a query without EDNS (RFC 1035).
const PLAIN_UDP_LIMIT: usize = 512;
/// The payload size this server advertises in its own OPT record.
const SERVER_EDNS_PAYLOAD: u16 = 4096;
/// Longest CNAME chain followed inside the zone (guards against loops).
const MAX_CNAME_CHAIN: usize = 16;

/// What the server does for one (name, qtype).
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// NOERROR with these addresses: an A question gets the IPv4 ones, AAAA the IPv6
    /// ones, ANY all of them, any other type none. No matching address is NODATA.
    Answer(Vec<IpAddr>),
    /// A CNAME (TTL 60) to `target` (without trailing dot). When the zone knows the
    /// target, the chain is followed inside the answer like an authoritative server
    /// does for in-zone targets: its addresses are appended, an NXDOMAIN, SERVFAIL
    /// or REFUSED target sets that rcode; an unknown (out-of-zone) target leaves the
    /// CNAME alone with NOERROR. A CNAME question gets only the first CNAME.
    Cname(String),
    /// NXDOMAIN.
    NxDomain,
    /// SERVFAIL.
    ServFail,
    /// REFUSED.
    Refused,
    /// Over UDP: a reply with TC=1 and no answers; over TCP: answer these addresses.
    Truncate(Vec<IpAddr>),
    /// Never answer (over TCP the connection stays open).
    Drop,
    /// First a reply with a wrong transaction id (which a client must ignore), then
    /// the right answer with these addresses. Over TCP both go on the connection.
    WrongIdFirst(Vec<IpAddr>),
}

/// The server's data: a behaviour per name, or per name and type.
#[derive(Clone, Debug, Default)]
pub struct Zone {
    /// Lower-case name without trailing dot, and type (`None` = every type).
    entries: HashMap<(String, Option<RecordType>), Behaviour>,
    /// How long the server "thinks" before each UDP reply, like a real resolver.
    delay: std::time::Duration,
}

impl Zone {
    /// An empty zone: every name is NXDOMAIN.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Set what `name` (trailing dot optional, case-insensitive) does for `qtype`;
    /// `None` = every type. A `(name, Some(qtype))` entry wins over `(name, None)`; a
    /// name with entries, but none for the type asked, is NODATA. Setting the same
    /// key again replaces the behaviour.
    #[must_use]
    pub fn on(mut self, name: &str, qtype: Option<RecordType>, behaviour: Behaviour) -> Self {
        if let Behaviour::Cname(target) = &behaviour {
            // Fail when the zone is built, not with a silent SERVFAIL mid-test.
            fqdn(target).unwrap_or_else(|| panic!("dns test server: bad CNAME target {target:?}"));
        }
        self.entries.insert((normalise(name), qtype), behaviour);
        self
    }

    /// Wait this long before each UDP reply (a real server takes milliseconds; an
    /// instant answer lets the asking process exit before anyone can see it).
    #[must_use]
    pub const fn delay(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }

    /// A and AAAA answers from a mixed address list: A gets the IPv4 addresses, AAAA
    /// the IPv6 ones; a family without addresses is NODATA.
    #[must_use]
    pub fn host(self, name: &str, addresses: &[IpAddr]) -> Self {
        let v4 = addresses.iter().copied().filter(IpAddr::is_ipv4).collect();
        let v6 = addresses.iter().copied().filter(IpAddr::is_ipv6).collect();
        self.on(name, Some(RecordType::A), Behaviour::Answer(v4)).on(
            name,
            Some(RecordType::AAAA),
            Behaviour::Answer(v6),
        )
    }

    /// The NAT64 discovery name of RFC 7050: `ipv4only.arpa` A = 192.0.0.170 and
    /// 192.0.0.171, AAAA = those two embedded in the last 32 bits of `prefix_v6`
    /// (a /96; its last 32 bits are ignored).
    #[must_use]
    pub fn dns64(self, prefix_v6: Ipv6Addr) -> Self {
        let well_known = [Ipv4Addr::new(192, 0, 0, 170), Ipv4Addr::new(192, 0, 0, 171)];
        let prefix = u128::from(prefix_v6) & !u128::from(u32::MAX);
        let mut addresses: Vec<IpAddr> = well_known.iter().copied().map(IpAddr::V4).collect();
        addresses.extend(
            well_known.iter().map(|v4| IpAddr::V6(Ipv6Addr::from(prefix | u128::from(u32::from(*v4))))),
        );
        self.host("ipv4only.arpa", &addresses)
    }

    /// The behaviour configured for `(name, qtype)`, the specific entry first.
    fn lookup(&self, name: &str, qtype: RecordType) -> Option<&Behaviour> {
        let name = name.to_owned();
        self.entries.get(&(name.clone(), Some(qtype))).or_else(|| self.entries.get(&(name, None)))
    }

    /// Whether the zone has any entry for `name`.
    fn knows(&self, name: &str) -> bool {
        self.entries.keys().any(|(known, _)| known == name)
    }

    /// What to do for `(name, qtype)`: the configured behaviour, NODATA for a known
    /// name without one, NXDOMAIN for an unknown name.
    fn behaviour(&self, name: &str, qtype: RecordType) -> Behaviour {
        match self.lookup(name, qtype) {
            Some(behaviour) => behaviour.clone(),
            None if self.knows(name) => Behaviour::Answer(Vec::new()),
            None => Behaviour::NxDomain,
        }
    }
}

/// One query the server received (in arrival order).
#[derive(Clone, Debug)]
pub struct Logged {
    /// The name asked, lower case, without trailing dot.
    pub name: String,
    /// The type asked.
    pub qtype: RecordType,
    /// `"udp"` or `"tcp"`.
    pub transport: &'static str,
    /// The asking socket.
    pub client: SocketAddr,
    /// When the query was received.
    pub at: Instant,
    /// When the (final) reply was sent; `None` if none was (yet).
    pub replied_at: Option<Instant>,
}

/// State shared by the server's threads.
struct Shared {
    zone: Zone,
    stop: AtomicBool,
    next_serial: AtomicU64,
    /// Entries with a serial number, so a reply can find its entry after `clear_log`.
    log: Mutex<Vec<(u64, Logged)>>,
}

impl Shared {
    /// Log a query; returns its serial number.
    fn record(&self, entry: Logged) -> u64 {
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        self.log.lock().unwrap_or_else(PoisonError::into_inner).push((serial, entry));
        serial
    }

    /// Note that the reply to query `serial` was sent.
    fn replied(&self, serial: u64, at: Instant) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, entry)) = log.iter_mut().rev().find(|(logged, _)| *logged == serial) {
            entry.replied_at = Some(at);
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A running server; stops on drop.
pub struct DnsTestServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl DnsTestServer {
    /// Listen on `address`, UDP and TCP on the same port (port 0 = pick a free one,
    /// the same for both), and serve `zone`. The sockets are bound by the calling
    /// thread, so they live in its network namespace. Panics if it cannot bind.
    #[must_use]
    pub fn start(address: SocketAddr, zone: Zone) -> Self {
        let (udp, tcp) = bind(address);
        let address = udp.local_addr().unwrap_or_else(|e| panic!("dns test server: local address: {e}"));
        udp.set_read_timeout(Some(POLL)).unwrap_or_else(|e| panic!("dns test server: UDP read timeout: {e}"));
        tcp.set_nonblocking(true).unwrap_or_else(|e| panic!("dns test server: TCP nonblocking: {e}"));
        let shared = Arc::new(Shared {
            zone,
            stop: AtomicBool::new(false),
            next_serial: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let udp_thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("dns-test-udp".to_owned())
                .spawn(move || serve_udp(&shared, &udp))
                .unwrap_or_else(|e| panic!("dns test server: spawn UDP thread: {e}"))
        };
        let tcp_thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("dns-test-tcp".to_owned())
                .spawn(move || accept_tcp(&shared, &tcp))
                .unwrap_or_else(|e| panic!("dns test server: spawn TCP thread: {e}"))
        };
        Self { address, shared, threads: vec![udp_thread, tcp_thread] }
    }

    /// Where it listens (UDP and TCP).
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every query received so far, in arrival order.
    #[must_use]
    pub fn log(&self) -> Vec<Logged> {
        let log = self.shared.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().map(|(_, entry)| entry.clone()).collect()
    }

    /// Forget the log.
    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl Drop for DnsTestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Bind UDP and TCP on the same port; with port 0, retry until a port is free for both.
fn bind(address: SocketAddr) -> (UdpSocket, TcpListener) {
    const ATTEMPTS: usize = 50;
    for _ in 0..ATTEMPTS {
        let udp = UdpSocket::bind(address)
            .unwrap_or_else(|e| panic!("dns test server: cannot bind UDP {address}: {e}"));
        let bound = udp.local_addr().unwrap_or_else(|e| panic!("dns test server: local address: {e}"));
        match TcpListener::bind(bound) {
            Ok(tcp) => return (udp, tcp),
            Err(e) if address.port() == 0 && e.kind() == ErrorKind::AddrInUse => {}
            Err(e) => panic!("dns test server: cannot bind TCP {bound}: {e}"),
        }
    }
    panic!("dns test server: no port free for both UDP and TCP on {} after {ATTEMPTS} tries", address.ip());
}

/// The UDP loop: one datagram in, zero, one or two out.
fn serve_udp(shared: &Shared, socket: &UdpSocket) {
    let mut buffer = vec![0_u8; 65_535];
    while !shared.stopping() {
        // Timeouts (the stop-flag poll), ICMP errors from earlier sends: keep serving.
        let Ok((len, client)) = socket.recv_from(&mut buffer) else { continue };
        let at = Instant::now();
        let Some(query) = decode_query(&buffer[..len]) else { continue };
        let serial = shared.record(logged(&query, "udp", client, at));
        let replies = respond(&shared.zone, &query, Transport::Udp);
        if replies.is_empty() {
            continue;
        }
        if !shared.zone.delay.is_zero() {
            std::thread::sleep(shared.zone.delay);
        }
        let mut sent = true;
        for reply in &replies {
            sent &= socket.send_to(reply, client).is_ok();
        }
        if sent {
            shared.replied(serial, Instant::now());
        }
    }
}

/// The TCP accept loop; each connection gets its own thread, joined on stop.
fn accept_tcp(shared: &Arc<Shared>, listener: &TcpListener) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, client)) => {
                let shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("dns-test-conn".to_owned())
                    .spawn(move || serve_tcp(&shared, stream, client));
                if let Ok(handle) = spawned {
                    connections.push(handle);
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
        // Finished threads need no join.
        connections.retain(|handle| !handle.is_finished());
    }
    for handle in connections {
        let _ = handle.join();
    }
}

/// One TCP connection: 2-byte length-prefixed queries until EOF, error, 2 s idle or stop.
fn serve_tcp(shared: &Shared, mut stream: TcpStream, client: SocketAddr) {
    let configured = stream.set_nonblocking(false).is_ok()
        && stream.set_read_timeout(Some(POLL)).is_ok()
        && stream.set_write_timeout(Some(Duration::from_millis(100))).is_ok()
        && stream.set_nodelay(true).is_ok();
    if !configured {
        return;
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = [0_u8; 4096];
    let mut last_activity = Instant::now();
    while !shared.stopping() {
        // Answer every complete message buffered so far.
        while pending.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([pending[0], pending[1]]));
            if pending.len() < 2 + len {
                break;
            }
            let frame: Vec<u8> = pending.drain(..2 + len).skip(2).collect();
            let at = Instant::now();
            let Some(query) = decode_query(&frame) else { continue };
            let serial = shared.record(logged(&query, "tcp", client, at));
            let replies = respond(&shared.zone, &query, Transport::Tcp);
            if replies.is_empty() {
                continue;
            }
            let mut framed = Vec::new();
            for reply in &replies {
                framed.extend_from_slice(&(reply.len() as u16).to_be_bytes());
                framed.extend_from_slice(reply);
            }
            if stream.write_all(&framed).is_err() {
                return;
            }
            shared.replied(serial, Instant::now());
        }
        if last_activity.elapsed() >= TCP_IDLE {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                pending.extend_from_slice(&chunk[..n]);
                last_activity = Instant::now();
            }
            Err(e) if is_retry(&e) => {}
            Err(_) => return,
        }
    }
}

/// A read that timed out or was interrupted: try again.
fn is_retry(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

/// The message if it is a standard query with a question; `None` for anything else.
fn decode_query(bytes: &[u8]) -> Option<Message> {
    let message = Message::from_vec(bytes).ok()?;
    let is_query = message.metadata.message_type == MessageType::Query
        && message.metadata.op_code == OpCode::Query
        && !message.queries.is_empty();
    is_query.then_some(message)
}

/// The log entry for a decoded query (its first question).
fn logged(query: &Message, transport: &'static str, client: SocketAddr, at: Instant) -> Logged {
    let (name, qtype) = query
        .queries
        .first()
        .map_or((String::new(), RecordType::A), |q| (normalise(&q.name().to_ascii()), q.query_type()));
    Logged { name, qtype, transport, client, at, replied_at: None }
}

/// Lower case, no trailing dot.
fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `name` as a fully qualified [`Name`].
fn fqdn(name: &str) -> Option<Name> {
    let mut parsed = Name::from_ascii(name.trim_end_matches('.')).ok()?;
    parsed.set_fqdn(true);
    Some(parsed)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// The encoded replies to `query`, in sending order; empty = stay silent.
fn respond(zone: &Zone, query: &Message, transport: Transport) -> Vec<Vec<u8>> {
    let Some(question) = query.queries.first() else { return Vec::new() };
    let name = normalise(&question.name().to_ascii());
    let qtype = question.query_type();

    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.metadata.checking_disabled = query.metadata.checking_disabled;
    reply.add_queries(query.queries.iter().cloned());
    if query.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(SERVER_EDNS_PAYLOAD);
        reply.set_edns(edns);
    }

    let owner = question.name().clone();
    let mut wrong_id_first = false;
    match zone.behaviour(&name, qtype) {
        Behaviour::Drop => return Vec::new(),
        Behaviour::NxDomain => reply.metadata.response_code = ResponseCode::NXDomain,
        Behaviour::ServFail => reply.metadata.response_code = ResponseCode::ServFail,
        Behaviour::Refused => reply.metadata.response_code = ResponseCode::Refused,
        Behaviour::Answer(addresses) => reply.answers = address_records(&owner, qtype, &addresses),
        Behaviour::Truncate(addresses) => match transport {
            Transport::Udp => reply.metadata.truncation = true,
            Transport::Tcp => reply.answers = address_records(&owner, qtype, &addresses),
        },
        Behaviour::WrongIdFirst(addresses) => {
            reply.answers = address_records(&owner, qtype, &addresses);
            wrong_id_first = true;
        }
        Behaviour::Cname(target) => {
            reply.metadata.response_code = follow_cname(zone, owner, &target, qtype, &mut reply.answers);
        }
    }

    let limit = match transport {
        Transport::Udp => query
            .edns
            .as_ref()
            .map_or(PLAIN_UDP_LIMIT, |edns| usize::from(edns.max_payload()).max(PLAIN_UDP_LIMIT)),
        Transport::Tcp => usize::from(u16::MAX),
    };
    let Some(bytes) = encode(&mut reply, limit) else { return Vec::new() };
    if wrong_id_first {
        let mut decoy = reply.clone();
        decoy.metadata.id = reply.metadata.id.wrapping_add(1);
        match encode(&mut decoy, limit) {
            Some(decoy) => vec![decoy, bytes],
            None => vec![bytes],
        }
    } else {
        vec![bytes]
    }
}

/// Encode `reply`; if it exceeds `limit`, drop its records and set TC (natural
/// truncation) instead.
fn encode(reply: &mut Message, limit: usize) -> Option<Vec<u8>> {
    let bytes = reply.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    reply.answers.clear();
    reply.authorities.clear();
    reply.additionals.clear();
    reply.metadata.truncation = true;
    reply.to_vec().ok()
}

/// The records of `addresses` that answer `qtype`, owned by `owner`.
fn address_records(owner: &Name, qtype: RecordType, addresses: &[IpAddr]) -> Vec<Record> {
    addresses
        .iter()
        .filter_map(|address| match (qtype, address) {
            (RecordType::A | RecordType::ANY, IpAddr::V4(v4)) => Some(RData::A(A(*v4))),
            (RecordType::AAAA | RecordType::ANY, IpAddr::V6(v6)) => Some(RData::AAAA(AAAA(*v6))),
            _ => None,
        })
        .map(|data| Record::from_rdata(owner.clone(), ADDRESS_TTL, data))
        .collect()
}

/// Append the CNAME `owner` → `target` and, for in-zone targets, the rest of the
/// chain and its answer; returns the rcode.
fn follow_cname(
    zone: &Zone,
    mut owner: Name,
    target: &str,
    qtype: RecordType,
    answers: &mut Vec<Record>,
) -> ResponseCode {
    let mut target = target.to_owned();
    for _ in 0..MAX_CNAME_CHAIN {
        let Some(target_name) = fqdn(&target) else { return ResponseCode::ServFail };
        answers.push(Record::from_rdata(owner, CNAME_TTL, RData::CNAME(CNAME(target_name.clone()))));
        if qtype == RecordType::CNAME {
            return ResponseCode::NoError;
        }
        let key = normalise(&target);
        let Some(behaviour) = zone.lookup(&key, qtype) else {
            // Known name without this type: NODATA; unknown: out of zone, left to the client.
            return ResponseCode::NoError;
        };
        match behaviour {
            Behaviour::Answer(addresses)
            | Behaviour::Truncate(addresses)
            | Behaviour::WrongIdFirst(addresses) => {
                answers.extend(address_records(&target_name, qtype, addresses));
                return ResponseCode::NoError;
            }
            Behaviour::Cname(next) => {
                owner = target_name;
                target.clone_from(next);
            }
            Behaviour::NxDomain => return ResponseCode::NXDomain,
            Behaviour::ServFail => return ResponseCode::ServFail,
            Behaviour::Refused => return ResponseCode::Refused,
            Behaviour::Drop => return ResponseCode::NoError,
        }
    }
    ResponseCode::NoError
}
