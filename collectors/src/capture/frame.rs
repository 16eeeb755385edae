//! From one captured frame to the flow it belongs to: addresses, ports and length.
//!
//! Hand-written over byte slices: only a few header fields are needed, every read is
//! bounds-checked, and nothing is allocated. A frame that is shorter than its headers
//! claim, or whose headers contradict each other, is [`Frame::Malformed`]; it never
//! panics.
//!
//! **Byte accounting.** A packet counts its IP length — IP header, transport header
//! and payload, as the IP header states it — not the captured length: link headers
//! differ between Ethernet and tun framing (and would make the same flow count
//! differently on each), captures are cut short at the snap length, and Ethernet pads
//! short frames. A UDP datagram of `n` payload bytes is `n + 28` bytes over IPv4 and
//! `n + 48` over IPv6 (without extension headers). A fragmented datagram counts whole
//! on its first fragment (from the UDP length) and its later fragments, which carry
//! no ports, are [`Frame::Fragment`]. Where segmentation offload leaves the IP length
//! unset (0, for packets over 64 KiB) the captured length stands in.
//!
//! **Payloads.** [`segment`] walks the same headers for parsers of what packets carry
//! (passive DNS): the transport payload ends where the IP length (and for UDP the
//! datagram length) says, so Ethernet padding after a short segment is not mistaken
//! for data; a capture cut short yields what was captured.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::model::Protocol;

#[cfg(test)]
mod tests;

/// How frames on an interface begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// An Ethernet header (also loopback's, with zero addresses), optionally VLAN tags.
    Ethernet,
    /// The IP header itself (tun, `WireGuard`, PPP: `ARPHRD_NONE` and friends).
    RawIp,
}

/// The flow facts of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// UDP or TCP.
    pub protocol: Protocol,
    /// Sender address and port.
    pub source: SocketAddr,
    /// Receiver address and port.
    pub destination: SocketAddr,
    /// IP length: see the module documentation.
    pub bytes: u64,
}

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A UDP or TCP packet.
    Flow(Packet),
    /// A non-first IP fragment: no ports; its datagram counted on the first one.
    Fragment,
    /// Well-formed but not counted: ARP, ICMP, other protocols, encrypted payloads.
    Other,
    /// Truncated or self-contradicting headers.
    Malformed,
}

const ETHERNET_HEADER: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Stacked VLAN tags followed at most (802.1ad plus 802.1Q).
const MAX_VLAN_TAGS: usize = 2;

const IPV4_MIN_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
/// Extension headers followed at most before giving up on a packet.
const MAX_EXTENSION_HEADERS: usize = 8;

const PROTOCOL_TCP: u8 = 6;
const PROTOCOL_UDP: u8 = 17;
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AUTHENTICATION: u8 = 51;
const IPV6_DESTINATION_OPTIONS: u8 = 60;

const UDP_HEADER: usize = 8;
const TCP_MIN_HEADER: usize = 20;

/// The payload of one UDP datagram or TCP segment, with its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// UDP or TCP.
    pub protocol: Protocol,
    /// Sender address and port.
    pub source: SocketAddr,
    /// Receiver address and port.
    pub destination: SocketAddr,
    /// The transport payload, as far as it was captured (see the module documentation).
    pub payload: &'a [u8],
}

/// What a frame carries, for parsers of payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried<'a> {
    /// A UDP datagram (or the first fragment of one) or a TCP segment.
    Segment(Segment<'a>),
    /// A non-first IP fragment: no transport header.
    Fragment,
    /// Well-formed but neither UDP nor TCP.
    Other,
    /// Truncated or self-contradicting headers.
    Malformed,
}

/// How far the link and network headers lead.
enum Layer<'a> {
    /// A transport header follows: its protocol number, the bytes from it to the end of
    /// the capture, and the network-layer facts.
    Transport {
        protocol: u8,
        segment: &'a [u8],
        ip: Ip,
    },
    Fragment,
    Other,
    Malformed,
}

/// Parse one frame captured on an interface with `framing`.
#[must_use]
pub fn parse(framing: Framing, frame: &[u8]) -> Frame {
    match network(framing, frame) {
        Layer::Transport { protocol, segment, ip } => transport(protocol, segment, ip),
        Layer::Fragment => Frame::Fragment,
        Layer::Other => Frame::Other,
        Layer::Malformed => Frame::Malformed,
    }
}

/// The transport payload of one frame captured on an interface with `framing`.
#[must_use]
pub fn segment(framing: Framing, frame: &[u8]) -> Carried<'_> {
    let (protocol, segment, ip) = match network(framing, frame) {
        Layer::Transport { protocol, segment, ip } => (protocol, segment, ip),
        Layer::Fragment => return Carried::Fragment,
        Layer::Other => return Carried::Other,
        Layer::Malformed => return Carried::Malformed,
    };
    // What the IP header says the transport part is, as far as it was captured.
    let length = usize::try_from(ip.bytes).unwrap_or(usize::MAX).saturating_sub(ip.header);
    let segment = &segment[..segment.len().min(length)];
    let (protocol, payload) = match protocol {
        PROTOCOL_UDP => {
            let Some(length) = be16(segment, 4).map(usize::from).filter(|_| segment.len() >= UDP_HEADER)
            else {
                return Carried::Malformed;
            };
            // 0: a jumbogram (RFC 2675), whose length only the IP layer knows.
            let end = match length {
                0 => segment.len(),
                1..UDP_HEADER => return Carried::Malformed,
                _ => length.min(segment.len()),
            };
            (Protocol::Udp, &segment[UDP_HEADER..end])
        }
        PROTOCOL_TCP => {
            let Some(&offset) = segment.get(12) else { return Carried::Malformed };
            let header = usize::from(offset >> 4) * 4;
            let Some(payload) = segment.get(header..).filter(|_| header >= TCP_MIN_HEADER) else {
                return Carried::Malformed;
            };
            (Protocol::Tcp, payload)
        }
        _ => return Carried::Other,
    };
    let (Some(source_port), Some(destination_port)) = (be16(segment, 0), be16(segment, 2)) else {
        return Carried::Malformed;
    };
    Carried::Segment(Segment {
        protocol,
        source: SocketAddr::new(ip.source, source_port),
        destination: SocketAddr::new(ip.destination, destination_port),
        payload,
    })
}

fn network(framing: Framing, frame: &[u8]) -> Layer<'_> {
    match framing {
        Framing::Ethernet => ethernet(frame),
        Framing::RawIp => match frame.first().map(|byte| byte >> 4) {
            Some(4) => ipv4(frame),
            Some(6) => ipv6(frame),
            _ => Layer::Malformed,
        },
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn ethernet(frame: &[u8]) -> Layer<'_> {
    let Some(mut ethertype) = be16(frame, 12) else { return Layer::Malformed };
    let mut offset = ETHERNET_HEADER;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
            break;
        }
        // A tag is 2 bytes of tag control, then the inner ethertype.
        let Some(inner) = be16(frame, offset + 2) else { return Layer::Malformed };
        ethertype = inner;
        offset += 4;
    }
    let Some(payload) = frame.get(offset..) else { return Layer::Malformed };
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(payload),
        ETHERTYPE_IPV6 => ipv6(payload),
        _ => Layer::Other,
    }
}

fn ipv4(packet: &[u8]) -> Layer<'_> {
    if packet.len() < IPV4_MIN_HEADER || packet[0] >> 4 != 4 {
        return Layer::Malformed;
    }
    let header = usize::from(packet[0] & 0x0f) * 4;
    let Some(total) = be16(packet, 2).map(usize::from) else { return Layer::Malformed };
    if header < IPV4_MIN_HEADER || packet.len() < header || (total != 0 && total < header) {
        return Layer::Malformed;
    }
    let Some(fragment) = be16(packet, 6) else { return Layer::Malformed };
    if fragment & 0x1fff != 0 {
        return Layer::Fragment;
    }
    let more_fragments = fragment & 0x2000 != 0;
    let source = IpAddr::V4(Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]));
    let destination = IpAddr::V4(Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]));
    let bytes = if total == 0 { packet.len() } else { total };
    let ip = Ip { source, destination, header, bytes: bytes as u64, first_fragment: more_fragments };
    Layer::Transport { protocol: packet[9], segment: &packet[header..], ip }
}

fn ipv6(packet: &[u8]) -> Layer<'_> {
    if packet.len() < IPV6_HEADER || packet[0] >> 4 != 6 {
        return Layer::Malformed;
    }
    let Some(payload) = be16(packet, 4).map(usize::from) else { return Layer::Malformed };
    let address = |at: usize| {
        let mut octets = [0; 16];
        octets.copy_from_slice(&packet[at..at + 16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let (source, destination) = (address(8), address(24));
    // 0: a jumbogram, or segmentation offload beyond 64 KiB.
    let bytes = if payload == 0 { packet.len() } else { IPV6_HEADER + payload };
    let mut next = packet[6];
    let mut offset = IPV6_HEADER;
    let mut first_fragment = false;
    for _ in 0..MAX_EXTENSION_HEADERS {
        let length = match next {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DESTINATION_OPTIONS => {
                packet.get(offset + 1).map(|&units| (usize::from(units) + 1) * 8)
            }
            IPV6_AUTHENTICATION => packet.get(offset + 1).map(|&units| (usize::from(units) + 2) * 4),
            IPV6_FRAGMENT => {
                let Some(field) = be16(packet, offset + 2) else { return Layer::Malformed };
                if field >> 3 != 0 {
                    return Layer::Fragment;
                }
                first_fragment = field & 1 != 0;
                Some(8)
            }
            _ => break,
        };
        let (Some(length), Some(&header)) = (length, packet.get(offset)) else { return Layer::Malformed };
        next = header;
        offset += length;
    }
    let Some(rest) = packet.get(offset..) else { return Layer::Malformed };
    let ip = Ip { source, destination, header: offset, bytes: bytes as u64, first_fragment };
    Layer::Transport { protocol: next, segment: rest, ip }
}

/// The network-layer facts `transport` needs.
#[derive(Debug, Clone, Copy)]
struct Ip {
    source: IpAddr,
    destination: IpAddr,
    /// IP header length with extension headers.
    header: usize,
    bytes: u64,
    /// The first of several fragments: the UDP length tells the whole datagram.
    first_fragment: bool,
}

fn transport(protocol: u8, segment: &[u8], ip: Ip) -> Frame {
    let (protocol, minimum) = match protocol {
        PROTOCOL_UDP => (Protocol::Udp, UDP_HEADER),
        PROTOCOL_TCP => (Protocol::Tcp, TCP_MIN_HEADER),
        _ => return Frame::Other,
    };
    if segment.len() < minimum {
        return Frame::Malformed;
    }
    let (Some(source_port), Some(destination_port)) = (be16(segment, 0), be16(segment, 2)) else {
        return Frame::Malformed;
    };
    let mut bytes = ip.bytes;
    if ip.first_fragment && protocol == Protocol::Udp {
        let Some(length) = be16(segment, 4).map(usize::from) else { return Frame::Malformed };
        if length < UDP_HEADER {
            return Frame::Malformed;
        }
        bytes = (ip.header + length) as u64;
    }
    Frame::Flow(Packet {
        protocol,
        source: SocketAddr::new(ip.source, source_port),
        destination: SocketAddr::new(ip.destination, destination_port),
        bytes,
    })
}
