//! `sock_diag` on the wire: the dump request, netlink message framing, and
//! `inet_diag_msg` with its attributes (including `struct tcp_info`, read by its
//! length) into [`Socket`]s. Pure functions over bytes: no I/O, never a panic on bad
//! input, no allocation beyond the [`Socket`] itself (and its congestion name).
//!
//! Layouts are from the kernel's UAPI headers (`linux/netlink.h`, `linux/sock_diag.h`,
//! `linux/inet_diag.h`, `linux/tcp.h`); integers are in host byte order except ports
//! and addresses, which are in network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::netlink::frame::{self, Control as FrameControl};

use crate::model::{AddressFamily, Protocol, Socket, SocketMemory, SocketState, SocketTimer, TimerKind};

mod tcp_info;

#[cfg(test)]
use tcp_info::tcpi;
pub use tcp_info::{TCP_INFO_LENGTHS, tcp_info};

/// `NLMSG_HDRLEN`.
pub const HEADER_LEN: usize = 16;
/// `NLMSG_ERROR` (the tests build replies with it).
#[cfg(test)]
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
#[cfg(test)]
const NLMSG_DONE: u16 = 3;
/// `SOCK_DIAG_BY_FAMILY`: the request type, and the type of every socket reply.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `TCPDIAG_GETSOCK`: the original TCP-only request (`struct inet_diag_req`), and the
/// type of its replies. It asks with no address family (`AF_UNSPEC`), so the kernel
/// lists IPv4 and IPv6 sockets in one walk of its connection hash instead of two.
pub const TCPDIAG_GETSOCK: u16 = 18;
/// `NLM_F_REQUEST`.
const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_DUMP_INTR`: the table changed while this dump was read.
pub const NLM_F_DUMP_INTR: u16 = 0x10;

/// `AF_INET` / `AF_INET6`.
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `IPPROTO_TCP` / `IPPROTO_UDP`.
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// `INET_DIAG_*` attribute types this parser reads.
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_CONG: u16 = 4;
const INET_DIAG_TOS: u16 = 5;
const INET_DIAG_TCLASS: u16 = 6;
const INET_DIAG_SKMEMINFO: u16 = 7;
const INET_DIAG_PROTOCOL: u16 = 10;
/// `NLA_TYPE_MASK`: the top two bits of `nla_type` are flags (nested, byte order).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The extensions requested (`idiag_ext`, bit `ext - 1`): TCP info (which also
/// brings the congestion algorithm's own info where it has one), congestion control
/// name, TOS, traffic class and socket memory. `INET_DIAG_MEMINFO` is not asked for:
/// `SKMEMINFO` says all it does and more.
pub const EXTENSIONS: u8 = (1 << (INET_DIAG_INFO - 1))
    | (1 << (INET_DIAG_CONG - 1))
    | (1 << (INET_DIAG_TOS - 1))
    | (1 << (INET_DIAG_TCLASS - 1))
    | (1 << (INET_DIAG_SKMEMINFO - 1));

/// Every socket state (`TCPF_*` bits 1–12, `TCP_ESTABLISHED` to `TCP_NEW_SYN_RECV`;
/// UDP uses 1 and 7) — but not `TCP_BOUND_INACTIVE` (bit 13, kernel 6.5+): asking for
/// sockets that merely hold a port makes the kernel walk the whole bind table once
/// per family, which costs about 20% of a 10,000-socket dump, for sockets that are
/// rare and short-lived. `ss -a` does not list them either (iproute2 before 6.5).
const STATES: u32 = 0x1ffe;

/// Size of `struct inet_diag_req_v2`.
const REQUEST_BODY_LEN: usize = 56;
/// Size of a whole dump request.
pub const REQUEST_LEN: usize = HEADER_LEN + REQUEST_BODY_LEN;
/// Size of `struct inet_diag_msg`.
const MESSAGE_LEN: usize = 72;

/// Timer numbers in `idiag_timer`.
const TIMER_RETRANSMIT: u8 = 1;
const TIMER_KEEPALIVE: u8 = 2;
const TIMER_TIME_WAIT: u8 = 3;
const TIMER_ZERO_WINDOW_PROBE: u8 = 4;

/// The kernel number of a protocol.
const fn protocol_number(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
    }
}

/// The kernel number of an address family.
const fn family_number(family: AddressFamily) -> u8 {
    match family {
        AddressFamily::Ipv4 => AF_INET,
        AddressFamily::Ipv6 => AF_INET6,
    }
}

/// A `SOCK_DIAG_BY_FAMILY` dump request (`inet_diag_req_v2`) for every socket of one
/// family and protocol, in every state but bound-only TCP sockets, with [`EXTENSIONS`].
#[must_use]
pub fn dump_request(sequence: u32, family: AddressFamily, protocol: Protocol) -> [u8; REQUEST_LEN] {
    let mut request = [0u8; REQUEST_LEN];
    request[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    request[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request[8..12].copy_from_slice(&sequence.to_ne_bytes());
    // nlmsg_pid 0: the kernel. The request body follows.
    request[16] = family_number(family);
    request[17] = protocol_number(protocol);
    request[18] = EXTENSIONS;
    request[20..24].copy_from_slice(&STATES.to_ne_bytes());
    // The socket id stays zero: no filter. Its cookie must be INET_DIAG_NOCOOKIE only
    // for exact lookups, which a dump is not.
    request
}

/// Size of `struct inet_diag_req`: family, source and destination prefix lengths,
/// extensions, `inet_diag_sockid` (48 bytes), states, `idiag_dbs`.
const COMPAT_BODY_LEN: usize = 60;
/// Size of a whole [`tcp_dump_request`].
pub const COMPAT_REQUEST_LEN: usize = HEADER_LEN + COMPAT_BODY_LEN;

/// A `TCPDIAG_GETSOCK` dump request for every TCP socket of both families, in the
/// states and with the extensions of [`dump_request`]. The kernel walks its TCP
/// connection hash table once per dump request, and on a host with a large table that
/// walk costs milliseconds even when the namespace holds no socket at all: one
/// request for both families halves it. The replies are `inet_diag_msg` like those
/// of `SOCK_DIAG_BY_FAMILY`, each with its own family.
#[must_use]
pub fn tcp_dump_request(sequence: u32) -> [u8; COMPAT_REQUEST_LEN] {
    let mut request = [0u8; COMPAT_REQUEST_LEN];
    request[0..4].copy_from_slice(&(COMPAT_REQUEST_LEN as u32).to_ne_bytes());
    request[4..6].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    request[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request[8..12].copy_from_slice(&sequence.to_ne_bytes());
    // Family 0 (AF_UNSPEC: both), no prefix lengths; the socket id stays zero.
    request[HEADER_LEN + 3] = EXTENSIONS;
    request[HEADER_LEN + 52..HEADER_LEN + 56].copy_from_slice(&STATES.to_ne_bytes());
    request
}

/// `INET_DIAG_NOCOOKIE`: an exact lookup by endpoints, not by socket cookie.
const INET_DIAG_NOCOOKIE: u32 = u32::MAX;

/// A `SOCK_DIAG_BY_FAMILY` request for the one socket of `protocol` whose own address
/// and port are `local` and whose peer is `remote` (unspecified for an unconnected UDP
/// socket, which the kernel matches too). The kernel answers with that socket, or an
/// error (`ENOENT`): one hash lookup instead of a walk of the whole table.
#[must_use]
pub fn socket_request(
    sequence: u32,
    protocol: Protocol,
    local: SocketAddr,
    remote: SocketAddr,
) -> [u8; REQUEST_LEN] {
    let family = if local.is_ipv4() { AddressFamily::Ipv4 } else { AddressFamily::Ipv6 };
    let mut request = dump_request(sequence, family, protocol);
    request[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    // The UDP lookup takes the source as the sending peer and the destination as the
    // socket itself (`udp_dump_one`: "src and dst are swapped for historical
    // reasons"); TCP's takes them as named.
    let (source, destination) = match protocol {
        Protocol::Tcp => (local, remote),
        Protocol::Udp => (remote, local),
    };
    // struct inet_diag_sockid at 24: sport, dport, src[16], dst[16], if, cookie[2].
    request[24..26].copy_from_slice(&source.port().to_be_bytes());
    request[26..28].copy_from_slice(&destination.port().to_be_bytes());
    request[28..44].copy_from_slice(&address_bytes(source.ip()));
    request[44..60].copy_from_slice(&address_bytes(destination.ip()));
    request[64..68].copy_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
    request[68..72].copy_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
    request
}

/// A `SOCK_DIAG_BY_FAMILY` request for one TCP socket by its ends, its interface
/// (`SO_BINDTODEVICE`; 0 for none) and its cookie, with [`EXTENSIONS`]: what the
/// socket watch asks about each socket it saw change. Addresses go as the socket holds
/// them (an IPv6 socket's IPv4-mapped peer stays mapped: the lookup is in the IPv6
/// table). A socket closed since, or another one reusing its ends (the cookie differs),
/// is answered with an error (`ENOENT`, `ESTALE`).
#[must_use]
pub fn tcp_lookup_request(
    sequence: u32,
    local: SocketAddr,
    remote: SocketAddr,
    interface: u32,
    cookie: u64,
) -> [u8; REQUEST_LEN] {
    let family = if local.is_ipv4() { AddressFamily::Ipv4 } else { AddressFamily::Ipv6 };
    let mut request = dump_request(sequence, family, Protocol::Tcp);
    request[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    request[24..26].copy_from_slice(&local.port().to_be_bytes());
    request[26..28].copy_from_slice(&remote.port().to_be_bytes());
    request[28..44].copy_from_slice(&raw_address_bytes(local.ip()));
    request[44..60].copy_from_slice(&raw_address_bytes(remote.ip()));
    request[60..64].copy_from_slice(&interface.to_ne_bytes());
    // inet_diag_sockid's cookie: the low word first.
    request[64..68].copy_from_slice(&(cookie as u32).to_ne_bytes());
    request[68..72].copy_from_slice(&((cookie >> 32) as u32).to_ne_bytes());
    request
}

/// `idiag_src`/`idiag_dst`: 16 bytes, IPv4 in the first 4 (an IPv4-mapped IPv6
/// address of an IPv4 request as plain IPv4).
fn address_bytes(address: IpAddr) -> [u8; 16] {
    raw_address_bytes(address.to_canonical())
}

/// `idiag_src`/`idiag_dst` as the socket holds the address (IPv4 in the first 4).
fn raw_address_bytes(address: IpAddr) -> [u8; 16] {
    let mut bytes = [0; 16];
    match address {
        IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => bytes = v6.octets(),
    }
    bytes
}

/// One netlink message: its header fields and its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub sequence: u32,
    /// Everything after the header, up to `nlmsg_len`.
    pub body: &'a [u8],
    /// The meaning the shared framing gave it.
    frame: FrameControl,
}

impl Message<'_> {
    /// What this message means for a dump in progress.
    #[must_use]
    pub fn control(&self) -> Control {
        match self.frame {
            FrameControl::Done => Control::Done,
            FrameControl::Ack => Control::Ack,
            FrameControl::Error(code) => Control::Error(code),
            FrameControl::Data if self.kind == SOCK_DIAG_BY_FAMILY || self.kind == TCPDIAG_GETSOCK => {
                Control::Socket
            }
            FrameControl::Data => Control::Other,
        }
    }
}

/// The role of one message in a reply stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// A socket (`inet_diag_msg`).
    Socket,
    /// The end of a dump.
    Done,
    /// An acknowledgement (error code 0).
    Ack,
    /// The request failed with this `errno` (0 when the body was unreadable).
    Error(i32),
    /// Anything else (`NLMSG_NOOP`, `NLMSG_OVERRUN`): skipped.
    Other,
}

/// The messages of one datagram (or of several concatenated), framed by the one
/// netlink framing module (`crate::netlink::frame`), with their `sock_diag` meaning.
/// A length that is too small or runs past the end stops the iteration.
pub fn messages(datagram: &[u8]) -> impl Iterator<Item = Message<'_>> {
    frame::messages(datagram).map(|raw| Message {
        kind: raw.kind,
        flags: raw.flags,
        sequence: raw.sequence,
        body: raw.body(),
        frame: raw.control(),
    })
}

/// `NLA_ALIGN`.
const fn align(length: usize) -> usize {
    (length + 3) & !3
}

/// Where a socket message came from: the state numbers mean slightly different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A dump reply.
    Dump,
    /// A destroy notification: the socket is gone (its state is normally `TCP_CLOSE`),
    /// and the queue sizes are whatever was left (negative leftovers read as 0).
    Destroyed,
}

/// Why a socket message was not turned into a [`Socket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Shorter than `struct inet_diag_msg`.
    #[error("inet_diag_msg truncated: {0} bytes")]
    Truncated(usize),
    /// Neither `AF_INET` nor `AF_INET6`.
    #[error("unexpected address family {0}")]
    Family(u8),
    /// Neither TCP nor UDP, or not said (a notification without `INET_DIAG_PROTOCOL`).
    #[error("unexpected or missing protocol {0:?}")]
    Protocol(Option<u8>),
    /// A state number the kernel does not define.
    #[error("unknown socket state {0}")]
    State(u8),
}

/// One `inet_diag_msg` with its attributes. `protocol` is what the request asked for;
/// an `INET_DIAG_PROTOCOL` attribute (destroy notifications carry one) overrides it.
pub fn socket(body: &[u8], protocol: Option<Protocol>, origin: Origin) -> Result<Socket, ParseError> {
    let header = body.get(..MESSAGE_LEN).ok_or(ParseError::Truncated(body.len()))?;
    let attributes = Attributes::read(body.get(MESSAGE_LEN..).unwrap_or(&[]));

    let protocol = match attributes.protocol {
        Some(IPPROTO_TCP) => Protocol::Tcp,
        Some(IPPROTO_UDP) => Protocol::Udp,
        Some(other) => return Err(ParseError::Protocol(Some(other))),
        None => protocol.ok_or(ParseError::Protocol(None))?,
    };
    let (family_byte, state, timer, retransmits) = (header[0], header[1], header[2], header[3]);
    let family = match family_byte {
        AF_INET => AddressFamily::Ipv4,
        AF_INET6 => AddressFamily::Ipv6,
        other => return Err(ParseError::Family(other)),
    };
    let state = SocketState::from_kernel(protocol, state).ok_or(ParseError::State(state))?;

    // struct inet_diag_sockid at offset 4: sport, dport, src[16], dst[16], if, cookie[2].
    let local = endpoint(family, &header[8..24], &header[4..6]);
    let remote = endpoint(family, &header[24..40], &header[6..8]);
    let interface = read_u32(header, 40).unwrap_or(0);
    let cookie_low = u64::from(read_u32(header, 44).unwrap_or(0));
    let cookie_high = u64::from(read_u32(header, 48).unwrap_or(0));
    let expires_ms = read_u32(header, 52).unwrap_or(0);
    let mut recv_queue = read_u32(header, 56).unwrap_or(0);
    let mut send_queue = read_u32(header, 60).unwrap_or(0);
    if origin == Origin::Destroyed {
        // At destruction the kernel's accounting can sit one below zero (UDP's
        // wmem_alloc - 1 = -1): that is "nothing queued".
        recv_queue = non_negative(recv_queue);
        send_queue = non_negative(send_queue);
    }

    let tcp = match protocol {
        Protocol::Tcp => attributes.info.and_then(tcp_info),
        Protocol::Udp => None,
    };
    let tos = match family {
        AddressFamily::Ipv6 => attributes.tclass.or(attributes.tos),
        AddressFamily::Ipv4 => attributes.tos,
    };
    Ok(Socket {
        cookie: (cookie_high << 32) | cookie_low,
        protocol,
        family,
        state,
        local,
        remote,
        interface_index: (interface != 0).then_some(interface),
        uid: read_u32(header, 64).unwrap_or(0),
        inode: u64::from(read_u32(header, 68).unwrap_or(0)),
        recv_queue,
        send_queue,
        timer: timer_of(timer, expires_ms, retransmits),
        tcp,
        congestion: attributes.congestion.and_then(congestion_name),
        memory: attributes.memory.map(memory),
        tos,
    })
}

/// A queue size the kernel computed as a small negative number, read as 0.
const fn non_negative(value: u32) -> u32 {
    if value > i32::MAX as u32 { 0 } else { value }
}

/// The endpoint from `idiag_src`/`idiag_dst` (16 bytes; IPv4 uses the first 4) and a
/// big-endian port.
fn endpoint(family: AddressFamily, address: &[u8], port: &[u8]) -> SocketAddr {
    let port = read_u16_be(port).unwrap_or(0);
    let ip = match family {
        AddressFamily::Ipv4 => {
            let octets: [u8; 4] = address.get(..4).and_then(|bytes| bytes.try_into().ok()).unwrap_or([0; 4]);
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        AddressFamily::Ipv6 => {
            let octets: [u8; 16] = address.try_into().unwrap_or([0; 16]);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    };
    SocketAddr::new(ip, port)
}

/// The armed timer, if any.
const fn timer_of(timer: u8, expires_ms: u32, retransmits: u8) -> Option<SocketTimer> {
    let kind = match timer {
        0 => return None,
        TIMER_RETRANSMIT => TimerKind::Retransmit,
        TIMER_KEEPALIVE => TimerKind::Keepalive,
        TIMER_TIME_WAIT => TimerKind::TimeWait,
        TIMER_ZERO_WINDOW_PROBE => TimerKind::ZeroWindowProbe,
        _ => TimerKind::Other,
    };
    Some(SocketTimer { kind, expires_ms, retransmits })
}

/// The attributes this parser uses, as slices into the message.
#[derive(Debug, Default)]
struct Attributes<'a> {
    info: Option<&'a [u8]>,
    congestion: Option<&'a [u8]>,
    memory: Option<&'a [u8]>,
    tos: Option<u8>,
    tclass: Option<u8>,
    protocol: Option<u8>,
}

impl<'a> Attributes<'a> {
    /// Walk `struct nlattr`s; a malformed one ends the walk (keeping what came before).
    fn read(mut bytes: &'a [u8]) -> Self {
        let mut attributes = Self::default();
        while let (Some(length), Some(kind)) = (read_u16(bytes, 0), read_u16(bytes, 2)) {
            let length = usize::from(length);
            let Some(payload) = (length >= 4).then(|| bytes.get(4..length)).flatten() else { break };
            match kind & NLA_TYPE_MASK {
                INET_DIAG_INFO => attributes.info = Some(payload),
                INET_DIAG_CONG => attributes.congestion = Some(payload),
                INET_DIAG_SKMEMINFO => attributes.memory = Some(payload),
                INET_DIAG_TOS => attributes.tos = payload.first().copied(),
                INET_DIAG_TCLASS => attributes.tclass = payload.first().copied(),
                INET_DIAG_PROTOCOL => attributes.protocol = payload.first().copied(),
                // Shutdown, mark, class and cgroup ids, socket options, padding, and
                // whatever newer kernels add.
                _ => {}
            }
            bytes = bytes.get(align(length)..).unwrap_or(&[]);
        }
        attributes
    }
}

/// The congestion control name: a NUL-terminated string.
fn congestion_name(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
    let name = std::str::from_utf8(&bytes[..end]).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// `INET_DIAG_SKMEMINFO`: `u32[SK_MEMINFO_VARS]`; older kernels have fewer (no drops).
fn memory(bytes: &[u8]) -> SocketMemory {
    let at = |index: usize| read_u32(bytes, index * 4).unwrap_or(0);
    SocketMemory {
        rmem_alloc: at(0),
        rcvbuf: at(1),
        wmem_alloc: at(2),
        sndbuf: at(3),
        fwd_alloc: at(4),
        wmem_queued: at(5),
        optmem: at(6),
        backlog: at(7),
        drops: at(8),
    }
}

/// What one pass over dump replies found besides sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DumpProgress {
    /// `NLMSG_DONE` (or an error) was seen: this dump is over.
    pub finished: bool,
    /// Some reply carried `NLM_F_DUMP_INTR`.
    pub interrupted: bool,
    /// The request failed with this `errno`.
    pub error: Option<i32>,
    /// Socket messages that did not parse (skipped, counted).
    pub skipped: usize,
}

/// Fold one datagram of replies to the dump with `sequence` into `sockets`. Messages
/// with another sequence number (replies to an abandoned request) are ignored.
pub fn dump_datagram(
    datagram: &[u8],
    sequence: u32,
    protocol: Protocol,
    sockets: &mut Vec<Socket>,
    progress: &mut DumpProgress,
) {
    for message in messages(datagram) {
        if message.sequence != sequence || progress.finished {
            continue;
        }
        progress.interrupted |= message.flags & NLM_F_DUMP_INTR != 0;
        match message.control() {
            Control::Socket => match socket(message.body, Some(protocol), Origin::Dump) {
                Ok(socket) => sockets.push(socket),
                Err(error) => {
                    progress.skipped += 1;
                    tracing::debug!(%error, "skipping a sock_diag message");
                }
            },
            Control::Done => progress.finished = true,
            Control::Error(code) => {
                progress.finished = true;
                progress.error = Some(code);
            }
            Control::Ack | Control::Other => {}
        }
    }
}

fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(offset..offset + 2)?.try_into().ok()?))
}

fn read_u16_be(bytes: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?))
}

fn read_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(offset..offset + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
