//! ICMP and `ICMPv6` echo: one request, its reply matched by identifier, sequence
//! and source (see the parent module for raw versus ping sockets).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pnet::packet::Packet;
use pnet::packet::icmp::{self, IcmpPacket, IcmpTypes};
use pnet::packet::icmpv6::{Icmpv6Packet, Icmpv6Types};
use pnet::packet::ip::IpNextHeaderProtocols;
use pnet::packet::ipv4::Ipv4Packet;
use pnet::packet::ipv6::Ipv6Packet;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::time::Instant;

use super::{ProbeError, ProbeSpec, configure, random_u16};

/// Echo payload: recognisable in a capture, and long enough that a reply is not
/// mistaken for a header-only ICMP message.
const PAYLOAD: &[u8; 16] = b"netlens probe\0\0\0";
/// Receive buffer: our replies are tiny; a larger unrelated message is cut off,
/// which is fine because it is ignored anyway.
const RECEIVE_BUFFER: usize = 2048;

/// Which socket an echo goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketKind {
    /// `SOCK_RAW`: we choose the identifier and see all ICMP traffic (and, for
    /// IPv4, the IP header).
    Raw,
    /// `SOCK_DGRAM` ping socket: the kernel sets the identifier and delivers only
    /// our replies, without the IP header.
    Ping,
}

/// What a reply must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    destination: IpAddr,
    /// Our identifier; `None` on a ping socket, where the kernel rewrites it and
    /// already matches it.
    ident: Option<u16>,
    sequence: u16,
}

impl Expected {
    fn matches(&self, ident: u16, sequence: u16) -> bool {
        self.ident.is_none_or(|expected| expected == ident) && self.sequence == sequence
    }
}

/// What one received ICMP message means for our probe.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Received {
    /// Our echo reply.
    Reply,
    /// An ICMP error quoting our request: the probe failed, for this reason.
    Error(String),
    /// Anything else: other processes' pings, our own request on loopback,
    /// neighbour discovery.
    Unrelated,
}

/// Send one ICMP (IPv4) or `ICMPv6` echo request to `spec.address` (its port is
/// ignored) with this `sequence` number, and wait for the matching reply: the
/// round-trip time.
///
/// Each call uses a fresh random identifier (on a raw socket), so concurrent
/// probes, late replies to earlier probes and other programs' pings are never
/// taken for this one's reply. Without `CAP_NET_RAW` and outside
/// `net.ipv4.ping_group_range` it fails with [`ProbeError::NotPermitted`], whose
/// text says how to fix it.
pub async fn icmp_echo(spec: &ProbeSpec, sequence: u16) -> Result<Duration, ProbeError> {
    let (socket, kind) = open(spec.address)?;
    configure(&socket, spec)?;
    let ident = random_u16();
    let request = match spec.address {
        SocketAddr::V4(_) => echo_request_v4(ident, sequence),
        SocketAddr::V6(_) => echo_request_v6(ident, sequence),
    };
    let expected = Expected {
        destination: spec.address.ip(),
        ident: (kind == SocketKind::Raw).then_some(ident),
        sequence,
    };
    // A std UDP socket is only a wrapper of the descriptor: its `send_to` and
    // `recv_from` are plain `sendto`/`recvfrom`, which is all a raw or ping socket
    // needs, and tokio can drive it without unsafe code.
    let socket = tokio::net::UdpSocket::from_std(socket.into())
        .map_err(|error| ProbeError::Io(format!("socket setup: {error}")))?;
    // Raw and ping sockets take no port: IPv6 raw sockets reject anything but 0
    // or the protocol number.
    let mut destination = spec.address;
    destination.set_port(0);

    let started = Instant::now();
    let deadline = started + spec.timeout;
    socket.send_to(&request, destination).await.map_err(|error| ProbeError::from_io(&error))?;
    let mut buffer = vec![0_u8; RECEIVE_BUFFER];
    loop {
        let (length, from) = match tokio::time::timeout_at(deadline, socket.recv_from(&mut buffer)).await {
            Err(_elapsed) => return Err(ProbeError::TimedOut(spec.timeout)),
            Ok(Err(error)) => return Err(ProbeError::from_io(&error)),
            Ok(Ok(received)) => received,
        };
        let message = &buffer[..length];
        let received = match spec.address {
            SocketAddr::V4(_) => classify_v4(message, kind == SocketKind::Raw, from.ip(), &expected),
            SocketAddr::V6(_) => classify_v6(message, from.ip(), &expected),
        };
        match received {
            Received::Reply => return Ok(started.elapsed()),
            Received::Error(reason) => return Err(ProbeError::Unreachable(reason)),
            Received::Unrelated => {}
        }
    }
}

/// A raw socket if the process may, else a ping socket if its group may, else
/// why neither.
fn open(address: SocketAddr) -> Result<(Socket, SocketKind), ProbeError> {
    let protocol = if address.is_ipv4() { Protocol::ICMPV4 } else { Protocol::ICMPV6 };
    let domain = Domain::for_address(address);
    match Socket::new(domain, Type::RAW, Some(protocol)) {
        Ok(socket) => return Ok((socket, SocketKind::Raw)),
        Err(error) if matches!(error.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {}
        Err(error) => return Err(ProbeError::Io(format!("opening a raw ICMP socket: {error}"))),
    }
    match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(socket) => Ok((socket, SocketKind::Ping)),
        // EACCES: the group is outside ping_group_range; EPROTONOSUPPORT: a kernel
        // built without ping sockets.
        Err(error)
            if matches!(error.raw_os_error(), Some(libc::EPERM | libc::EACCES | libc::EPROTONOSUPPORT)) =>
        {
            Err(ProbeError::NotPermitted(not_permitted(ping_group_range().as_deref(), own_gid().as_deref())))
        }
        Err(error) => Err(ProbeError::Io(format!("opening a ping socket: {error}"))),
    }
}

/// Why ICMP probes cannot be sent, and the ways out: `range` is the sysctl's
/// text (`1\t0`), `gid` the process's group id, each if they could be read.
fn not_permitted(range: Option<&str>, gid: Option<&str>) -> String {
    let gid = gid.unwrap_or("of netlens");
    let range = range.map(|range| range.split_whitespace().collect::<Vec<_>>().join(" "));
    let now = range.map(|range| format!(" (it is `{range}`)")).unwrap_or_default();
    format!(
        "ICMP probes need CAP_NET_RAW or net.ipv4.ping_group_range covering gid {gid}{now}; \
         run as root, `setcap cap_net_raw+ep netlens`, widen the range with sysctl, or use probe=tcp"
    )
}

fn ping_group_range() -> Option<String> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").ok().map(|text| text.trim().to_owned())
}

/// The effective group id, from `/proc/self/status` (`Gid: real effective saved fs`).
fn own_gid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("Gid:"))?;
    line.split_whitespace().nth(1).map(str::to_owned)
}

/// An ICMP echo request with its checksum (a raw IPv4 socket sends it as is).
fn echo_request_v4(ident: u16, sequence: u16) -> Vec<u8> {
    let mut bytes = echo_request(IcmpTypes::EchoRequest.0, ident, sequence);
    if let Some(packet) = IcmpPacket::new(&bytes) {
        let sum = icmp::checksum(&packet);
        bytes[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    bytes
}

/// An `ICMPv6` echo request. Its checksum covers a pseudo-header with the source
/// address, which only the kernel knows; Linux fills it in for every `ICMPv6`
/// socket (RFC 3542 §3.1), raw or ping.
fn echo_request_v6(ident: u16, sequence: u16) -> Vec<u8> {
    echo_request(Icmpv6Types::EchoRequest.0, ident, sequence)
}

fn echo_request(icmp_type: u8, ident: u16, sequence: u16) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + PAYLOAD.len());
    bytes.extend_from_slice(&[icmp_type, 0, 0, 0]);
    bytes.extend_from_slice(&ident.to_be_bytes());
    bytes.extend_from_slice(&sequence.to_be_bytes());
    bytes.extend_from_slice(PAYLOAD);
    bytes
}

/// Identifier and sequence of an echo message (request or reply: same layout).
fn echo_fields(message: &[u8]) -> Option<(u16, u16)> {
    let ident = u16::from_be_bytes([*message.get(4)?, *message.get(5)?]);
    let sequence = u16::from_be_bytes([*message.get(6)?, *message.get(7)?]);
    Some((ident, sequence))
}

/// Classify an IPv4 ICMP message received from `from`; `with_ip_header` when it
/// came from a raw socket, which hands over the whole IP datagram.
fn classify_v4(datagram: &[u8], with_ip_header: bool, from: IpAddr, expected: &Expected) -> Received {
    let message = if with_ip_header {
        match Ipv4Packet::new(datagram) {
            Some(ip) => datagram.get(usize::from(ip.get_header_length()) * 4..).unwrap_or_default(),
            None => return Received::Unrelated,
        }
    } else {
        datagram
    };
    let Some(icmp) = IcmpPacket::new(message) else { return Received::Unrelated };
    let icmp_type = icmp.get_icmp_type();
    if icmp_type == IcmpTypes::EchoReply {
        let ours = from == expected.destination
            && echo_fields(message).is_some_and(|(ident, sequence)| expected.matches(ident, sequence));
        return if ours { Received::Reply } else { Received::Unrelated };
    }
    let reason = match (icmp_type, icmp.get_icmp_code().0) {
        (IcmpTypes::DestinationUnreachable, 0 | 6 | 11) => "network unreachable",
        (IcmpTypes::DestinationUnreachable, 1 | 7 | 12) => "host unreachable",
        (IcmpTypes::DestinationUnreachable, 9 | 10 | 13) => "administratively prohibited",
        (IcmpTypes::DestinationUnreachable, _) => "destination unreachable",
        (IcmpTypes::TimeExceeded, _) => "TTL exceeded in transit (a routing loop?)",
        _ => return Received::Unrelated,
    };
    // After type, code, checksum and 4 unused bytes: our request's IP header and
    // at least the first 8 bytes of its ICMP header (RFC 792).
    let quoted = icmp.payload().get(4..).unwrap_or_default();
    let Some(inner) = Ipv4Packet::new(quoted) else { return Received::Unrelated };
    let inner_message = quoted.get(usize::from(inner.get_header_length()) * 4..).unwrap_or_default();
    let ours = inner.get_next_level_protocol() == IpNextHeaderProtocols::Icmp
        && IpAddr::V4(inner.get_destination()) == expected.destination
        && inner_message.first() == Some(&IcmpTypes::EchoRequest.0)
        && echo_fields(inner_message).is_some_and(|(ident, sequence)| expected.matches(ident, sequence));
    if ours { Received::Error(reported(reason, from)) } else { Received::Unrelated }
}

/// Classify an `ICMPv6` message received from `from` (no IP header: neither raw
/// nor ping `ICMPv6` sockets deliver it).
fn classify_v6(message: &[u8], from: IpAddr, expected: &Expected) -> Received {
    let Some(icmp) = Icmpv6Packet::new(message) else { return Received::Unrelated };
    let icmp_type = icmp.get_icmpv6_type();
    if icmp_type == Icmpv6Types::EchoReply {
        let ours = from == expected.destination
            && echo_fields(message).is_some_and(|(ident, sequence)| expected.matches(ident, sequence));
        return if ours { Received::Reply } else { Received::Unrelated };
    }
    let reason = match (icmp_type, icmp.get_icmpv6_code().0) {
        (Icmpv6Types::DestinationUnreachable, 0) => "no route to destination",
        (Icmpv6Types::DestinationUnreachable, 1 | 5 | 6) => "administratively prohibited",
        (Icmpv6Types::DestinationUnreachable, 3) => "address unreachable",
        (Icmpv6Types::DestinationUnreachable, _) => "destination unreachable",
        (Icmpv6Types::TimeExceeded, _) => "hop limit exceeded in transit (a routing loop?)",
        _ => return Received::Unrelated,
    };
    // After 4 unused bytes: as much of our request as fits (RFC 4443 §3.1). Our
    // requests carry no extension headers, so the ICMPv6 header follows directly.
    let quoted = icmp.payload().get(4..).unwrap_or_default();
    let Some(inner) = Ipv6Packet::new(quoted) else { return Received::Unrelated };
    let inner_message = inner.payload();
    let ours = inner.get_next_header() == IpNextHeaderProtocols::Icmpv6
        && IpAddr::V6(inner.get_destination()) == expected.destination
        && inner_message.first() == Some(&Icmpv6Types::EchoRequest.0)
        && echo_fields(inner_message).is_some_and(|(ident, sequence)| expected.matches(ident, sequence));
    if ours { Received::Error(reported(reason, from)) } else { Received::Unrelated }
}

fn reported(reason: &str, by: IpAddr) -> String {
    format!("{reason} (reported by {by})")
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const TARGET4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
    const ROUTER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    const OTHER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 8);
    const TARGET6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);
    const ROUTER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);

    fn expected(destination: impl Into<IpAddr>, ident: Option<u16>) -> Expected {
        Expected { destination: destination.into(), ident, sequence: 7 }
    }

    /// A 20-byte IPv4 header (no options) from `source` to `destination`.
    fn ipv4_header(protocol: u8, source: Ipv4Addr, destination: Ipv4Addr, payload: usize) -> Vec<u8> {
        let total = (20 + payload) as u16;
        let mut header = vec![0x45, 0];
        header.extend_from_slice(&total.to_be_bytes());
        header.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
        header.extend_from_slice(&source.octets());
        header.extend_from_slice(&destination.octets());
        header
    }

    fn ipv6_header(source: Ipv6Addr, destination: Ipv6Addr, payload: usize) -> Vec<u8> {
        let mut header = vec![0x60, 0, 0, 0];
        header.extend_from_slice(&(payload as u16).to_be_bytes());
        header.extend_from_slice(&[58, 64]);
        header.extend_from_slice(&source.octets());
        header.extend_from_slice(&destination.octets());
        header
    }

    /// An ICMP error (`kind`, `code`) quoting `request` sent from 192.0.2.1 to `destination`.
    fn icmp4_error(kind: u8, code: u8, destination: Ipv4Addr, request: &[u8]) -> Vec<u8> {
        let mut message = vec![kind, code, 0, 0, 0, 0, 0, 0];
        message.extend(ipv4_header(1, Ipv4Addr::new(192, 0, 2, 1), destination, request.len()));
        message.extend_from_slice(&request[..8]);
        message
    }

    fn icmp6_error(kind: u8, code: u8, destination: Ipv6Addr, request: &[u8]) -> Vec<u8> {
        let mut message = vec![kind, code, 0, 0, 0, 0, 0, 0];
        message.extend(ipv6_header("2001:db8::1".parse().unwrap(), destination, request.len()));
        message.extend_from_slice(request);
        message
    }

    fn with_ip(source: Ipv4Addr, message: &[u8]) -> Vec<u8> {
        let mut datagram = ipv4_header(1, source, Ipv4Addr::new(192, 0, 2, 1), message.len());
        datagram.extend_from_slice(message);
        datagram
    }

    #[test]
    fn request_bytes() {
        let request = echo_request_v4(0x1234, 7);
        assert_eq!(&request[..2], &[8, 0][..]);
        assert_eq!(&request[4..8], &[0x12, 0x34, 0, 7][..]);
        assert_eq!(&request[8..], PAYLOAD);
        // A correct checksum makes the one's-complement sum over the message 0xffff.
        let sum =
            request.chunks(2).map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]]))).sum::<u32>();
        let folded = (sum & 0xffff) + (sum >> 16);
        assert_eq!(folded, 0xffff);
        assert_eq!(&echo_request_v6(0x1234, 7)[..8], &[128, 0, 0, 0, 0x12, 0x34, 0, 7][..]);
    }

    #[test]
    fn ipv4_replies() {
        let reply = echo_request(0, 0x1234, 7);
        let raw = expected(TARGET4, Some(0x1234));
        let cases = [
            ("our reply", with_ip(TARGET4, &reply), TARGET4, Received::Reply),
            ("from another host", with_ip(OTHER4, &reply), OTHER4, Received::Unrelated),
            (
                "another identifier",
                with_ip(TARGET4, &echo_request(0, 0x9999, 7)),
                TARGET4,
                Received::Unrelated,
            ),
            ("another sequence", with_ip(TARGET4, &echo_request(0, 0x1234, 8)), TARGET4, Received::Unrelated),
            (
                "our own request, seen on loopback",
                with_ip(TARGET4, &echo_request_v4(0x1234, 7)),
                TARGET4,
                Received::Unrelated,
            ),
            ("truncated", with_ip(TARGET4, &reply[..6]), TARGET4, Received::Unrelated),
            ("empty", Vec::new(), TARGET4, Received::Unrelated),
        ];
        for (name, bytes, from, want) in cases {
            assert_eq!(classify_v4(&bytes, true, from.into(), &raw), want, "raw socket: {name}");
        }
        // A ping socket hands over the ICMP message alone, its identifier the kernel's.
        let ping = expected(TARGET4, None);
        assert_eq!(classify_v4(&echo_request(0, 0x9999, 7), false, TARGET4.into(), &ping), Received::Reply);
        assert_eq!(
            classify_v4(&echo_request(0, 0x9999, 8), false, TARGET4.into(), &ping),
            Received::Unrelated
        );
    }

    #[test]
    fn ipv4_errors_quoting_our_request() {
        let ours = echo_request_v4(0x1234, 7);
        let raw = expected(TARGET4, Some(0x1234));
        let cases = [
            (3, 1, TARGET4, &ours, Received::Error(format!("host unreachable (reported by {ROUTER4})"))),
            (3, 0, TARGET4, &ours, Received::Error(format!("network unreachable (reported by {ROUTER4})"))),
            (
                3,
                13,
                TARGET4,
                &ours,
                Received::Error(format!("administratively prohibited (reported by {ROUTER4})")),
            ),
            (
                11,
                0,
                TARGET4,
                &ours,
                Received::Error(format!("TTL exceeded in transit (a routing loop?) (reported by {ROUTER4})")),
            ),
            (3, 1, OTHER4, &ours, Received::Unrelated),
            (3, 1, TARGET4, &echo_request_v4(0x4321, 7), Received::Unrelated),
            (5, 1, TARGET4, &ours, Received::Unrelated),
        ];
        for (kind, code, destination, request, want) in cases {
            let datagram = with_ip(ROUTER4, &icmp4_error(kind, code, destination, request));
            assert_eq!(
                classify_v4(&datagram, true, ROUTER4.into(), &raw),
                want,
                "type {kind} code {code} to {destination}"
            );
        }
    }

    #[test]
    fn ipv6_messages() {
        let ours = echo_request_v6(0x1234, 7);
        let raw = expected(TARGET6, Some(0x1234));
        let reply = echo_request(129, 0x1234, 7);
        let cases = [
            ("our reply", reply.clone(), TARGET6, Received::Reply),
            ("from another host", reply, ROUTER6, Received::Unrelated),
            ("another identifier", echo_request(129, 1, 7), TARGET6, Received::Unrelated),
            ("our own request", ours.clone(), TARGET6, Received::Unrelated),
            ("neighbour solicitation", vec![135, 0, 0, 0, 0, 0, 0, 0], TARGET6, Received::Unrelated),
            (
                "address unreachable",
                icmp6_error(1, 3, TARGET6, &ours),
                ROUTER6,
                Received::Error(format!("address unreachable (reported by {ROUTER6})")),
            ),
            (
                "hop limit exceeded",
                icmp6_error(3, 0, TARGET6, &ours),
                ROUTER6,
                Received::Error(format!(
                    "hop limit exceeded in transit (a routing loop?) (reported by {ROUTER6})"
                )),
            ),
            ("error about someone else", icmp6_error(1, 3, ROUTER6, &ours), ROUTER6, Received::Unrelated),
        ];
        for (name, bytes, from, want) in cases {
            assert_eq!(classify_v6(&bytes, from.into(), &raw), want, "{name}");
        }
        let ping = expected(TARGET6, None);
        assert_eq!(classify_v6(&echo_request(129, 0x9999, 7), TARGET6.into(), &ping), Received::Reply);
    }

    #[test]
    fn not_permitted_says_how_to_fix_it() {
        assert_eq!(
            not_permitted(Some("1\t0"), Some("1000")),
            "ICMP probes need CAP_NET_RAW or net.ipv4.ping_group_range covering gid 1000 (it is `1 0`); \
             run as root, `setcap cap_net_raw+ep netlens`, widen the range with sysctl, or use probe=tcp"
        );
        assert!(not_permitted(None, None).contains("covering gid of netlens;"));
    }

    #[test]
    fn own_gid_is_read() {
        assert!(own_gid().is_some_and(|gid| gid.parse::<u32>().is_ok()));
    }
}
