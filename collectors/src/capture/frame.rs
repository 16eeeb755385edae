//! From one captured frame to the flow it belongs to and the payload it carries:
//! addresses, ports, length. The headers are read with `pnet::packet` (Ethernet, VLAN
//! tags, IPv4, IPv6 with its extension headers, UDP, TCP); what is decided here is
//! which of their fields to trust. A frame that is shorter than its headers claim, or
//! whose headers contradict each other, is [`Frame::Malformed`]; it never panics (pnet's
//! constructors refuse a buffer shorter than the fixed header, and every offset taken
//! from a header is checked against the bytes captured before it is used).
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
//! **Payloads.** [`segment`] reads the same headers for parsers of what packets carry
//! (passive DNS): the transport payload ends where the IP length (and for UDP the
//! datagram length — pnet's `UdpPacket::payload` ignores it, so it is cut here) says,
//! so Ethernet padding after a short segment is not mistaken for data; a capture cut
//! short yields what was captured. [`decode`] gives both in one pass, for the capture
//! engine, which parses each frame once for the flow table and the DNS log.

use std::net::{IpAddr, SocketAddr};

use pnet::packet::ethernet::{EtherType, EtherTypes, EthernetPacket};
use pnet::packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet::packet::ipv4::{Ipv4Flags, Ipv4Packet};
use pnet::packet::ipv6::{ExtensionPacket, FragmentPacket, Ipv6Packet};
use pnet::packet::tcp::TcpPacket;
use pnet::packet::udp::UdpPacket;
use pnet::packet::vlan::VlanPacket;

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

#[cfg(test)]
const ETHERTYPE_IPV4: u16 = 0x0800;
#[cfg(test)]
const ETHERTYPE_IPV6: u16 = 0x86dd;
#[cfg(test)]
const ETHERTYPE_VLAN: u16 = 0x8100;
#[cfg(test)]
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Stacked VLAN tags followed at most (802.1ad plus 802.1Q).
const MAX_VLAN_TAGS: usize = 2;

const IPV4_MIN_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
/// Extension headers followed at most before giving up on a packet.
const MAX_EXTENSION_HEADERS: usize = 8;

#[cfg(test)]
const PROTOCOL_TCP: u8 = 6;
#[cfg(test)]
const PROTOCOL_UDP: u8 = 17;
#[cfg(test)]
const IPV6_HOP_BY_HOP: u8 = 0;
#[cfg(test)]
const IPV6_ROUTING: u8 = 43;
#[cfg(test)]
const IPV6_FRAGMENT: u8 = 44;
#[cfg(test)]
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

/// One frame, read once: its flow facts and the payload it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// For the flow table.
    pub frame: Frame,
    /// For payload parsers.
    pub carried: Carried<'a>,
}

/// Parse one frame captured on an interface with `framing`.
#[cfg(test)]
#[must_use]
pub fn parse(framing: Framing, frame: &[u8]) -> Frame {
    decode(framing, frame).frame
}

/// The transport payload of one frame captured on an interface with `framing`.
#[must_use]
pub fn segment(framing: Framing, frame: &[u8]) -> Carried<'_> {
    decode(framing, frame).carried
}

/// Both views of one frame captured on an interface with `framing`.
#[must_use]
pub fn decode(framing: Framing, frame: &[u8]) -> Decoded<'_> {
    let layer = match framing {
        Framing::Ethernet => ethernet(frame),
        Framing::RawIp => ip(frame),
    };
    match layer {
        Layer::Transport { protocol, segment, ip } => transport(protocol, segment, ip),
        Layer::Fragment => Decoded { frame: Frame::Fragment, carried: Carried::Fragment },
        Layer::Other => Decoded { frame: Frame::Other, carried: Carried::Other },
        Layer::Malformed => MALFORMED,
    }
}

const MALFORMED: Decoded<'static> = Decoded { frame: Frame::Malformed, carried: Carried::Malformed };

/// How far the link and network headers lead.
enum Layer<'a> {
    /// A transport header follows: its protocol, the bytes from it to the end of the
    /// capture, and the network-layer facts.
    Transport {
        protocol: IpNextHeaderProtocol,
        segment: &'a [u8],
        ip: Ip,
    },
    Fragment,
    Other,
    Malformed,
}

/// A raw IP packet (tun, `WireGuard`, PPP): the version nibble says which.
fn ip(packet: &[u8]) -> Layer<'_> {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => ipv4(packet),
        Some(6) => ipv6(packet),
        _ => Layer::Malformed,
    }
}

fn ethernet(frame: &[u8]) -> Layer<'_> {
    let Some(ethernet) = EthernetPacket::new(frame) else { return Layer::Malformed };
    let mut ethertype = ethernet.get_ethertype();
    // The header is fixed-size: what follows it is the frame past 14 bytes.
    let mut rest = &frame[EthernetPacket::minimum_packet_size()..];
    for _ in 0..MAX_VLAN_TAGS {
        // 802.1Q, 802.1ad, and the older 0x9100 some switches use for the outer tag.
        if ![EtherTypes::Vlan, EtherTypes::PBridge, EtherTypes::QinQ].contains(&ethertype) {
            break;
        }
        let Some(tag) = VlanPacket::new(rest) else { return Layer::Malformed };
        ethertype = tag.get_ethertype();
        rest = &rest[VlanPacket::minimum_packet_size()..];
    }
    network(ethertype, rest)
}

fn network(ethertype: EtherType, packet: &[u8]) -> Layer<'_> {
    match ethertype {
        EtherTypes::Ipv4 => ipv4(packet),
        EtherTypes::Ipv6 => ipv6(packet),
        _ => Layer::Other,
    }
}

fn ipv4(packet: &[u8]) -> Layer<'_> {
    let Some(header) = Ipv4Packet::new(packet).filter(|header| header.get_version() == 4) else {
        return Layer::Malformed;
    };
    let length = usize::from(header.get_header_length()) * 4;
    let total = usize::from(header.get_total_length());
    if length < IPV4_MIN_HEADER || packet.len() < length || (total != 0 && total < length) {
        return Layer::Malformed;
    }
    if header.get_fragment_offset() != 0 {
        return Layer::Fragment;
    }
    let ip = Ip {
        source: IpAddr::V4(header.get_source()),
        destination: IpAddr::V4(header.get_destination()),
        header: length,
        bytes: if total == 0 { packet.len() } else { total } as u64,
        first_fragment: header.get_flags() & Ipv4Flags::MoreFragments != 0,
    };
    Layer::Transport { protocol: header.get_next_level_protocol(), segment: &packet[length..], ip }
}

fn ipv6(packet: &[u8]) -> Layer<'_> {
    let Some(header) = Ipv6Packet::new(packet).filter(|header| header.get_version() == 6) else {
        return Layer::Malformed;
    };
    let payload = usize::from(header.get_payload_length());
    let (source, destination) = (IpAddr::V6(header.get_source()), IpAddr::V6(header.get_destination()));
    // 0: a jumbogram, or segmentation offload beyond 64 KiB.
    let bytes = if payload == 0 { packet.len() } else { IPV6_HEADER + payload };
    let mut next = header.get_next_header();
    let mut offset = IPV6_HEADER;
    let mut first_fragment = false;
    for _ in 0..MAX_EXTENSION_HEADERS {
        let rest = &packet[offset.min(packet.len())..];
        let length = match next {
            IpNextHeaderProtocols::Hopopt
            | IpNextHeaderProtocols::Ipv6Route
            | IpNextHeaderProtocols::Ipv6Opts => {
                let Some(extension) = ExtensionPacket::new(rest) else { return Layer::Malformed };
                next = extension.get_next_header();
                (usize::from(extension.get_hdr_ext_len()) + 1) * 8
            }
            IpNextHeaderProtocols::Ah => {
                let Some(extension) = ExtensionPacket::new(rest) else { return Layer::Malformed };
                next = extension.get_next_header();
                (usize::from(extension.get_hdr_ext_len()) + 2) * 4
            }
            IpNextHeaderProtocols::Ipv6Frag => {
                let Some(fragment) = FragmentPacket::new(rest) else { return Layer::Malformed };
                // The offset is the field's upper 13 bits (pnet's getter keeps a
                // reserved bit), the M flag its lowest.
                let field = fragment.get_fragment_offset_with_flags();
                if field >> 3 != 0 {
                    return Layer::Fragment;
                }
                first_fragment = !fragment.is_last_fragment();
                next = fragment.get_next_header();
                FragmentPacket::minimum_packet_size()
            }
            _ => break,
        };
        offset += length;
    }
    let Some(segment) = packet.get(offset..) else { return Layer::Malformed };
    let ip = Ip { source, destination, header: offset, bytes: bytes as u64, first_fragment };
    Layer::Transport { protocol: next, segment, ip }
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

fn transport(protocol: IpNextHeaderProtocol, segment: &[u8], ip: Ip) -> Decoded<'_> {
    // What the IP header says the transport part is, as far as it was captured.
    let stated = usize::try_from(ip.bytes).unwrap_or(usize::MAX).saturating_sub(ip.header);
    let within = &segment[..segment.len().min(stated)];
    match protocol {
        IpNextHeaderProtocols::Udp => udp(segment, within, ip),
        IpNextHeaderProtocols::Tcp => tcp(segment, within, ip),
        _ => Decoded { frame: Frame::Other, carried: Carried::Other },
    }
}

/// A UDP datagram: `segment` is everything captured from its header on, `within` the
/// part the IP length covers.
fn udp<'a>(segment: &'a [u8], within: &'a [u8], ip: Ip) -> Decoded<'a> {
    let Some(header) = UdpPacket::new(segment) else { return MALFORMED };
    let length = usize::from(header.get_length());
    let mut bytes = ip.bytes;
    if ip.first_fragment {
        if length < UDP_HEADER {
            return MALFORMED;
        }
        bytes = (ip.header + length) as u64;
    }
    let packet = Packet {
        protocol: Protocol::Udp,
        source: SocketAddr::new(ip.source, header.get_source()),
        destination: SocketAddr::new(ip.destination, header.get_destination()),
        bytes,
    };
    // `UdpPacket::payload` runs to the end of the buffer: the datagram's own length
    // ends it (0: a jumbogram, RFC 2675, whose length only the IP layer knows).
    let carried = match length {
        1..UDP_HEADER => Carried::Malformed,
        _ if within.len() < UDP_HEADER => Carried::Malformed,
        0 => carried(packet, &within[UDP_HEADER..]),
        _ => carried(packet, &within[UDP_HEADER..length.min(within.len())]),
    };
    Decoded { frame: Frame::Flow(packet), carried }
}

/// A TCP segment: `segment` is everything captured from its header on, `within` the
/// part the IP length covers.
fn tcp<'a>(segment: &'a [u8], within: &'a [u8], ip: Ip) -> Decoded<'a> {
    let Some(header) = TcpPacket::new(segment) else { return MALFORMED };
    let packet = Packet {
        protocol: Protocol::Tcp,
        source: SocketAddr::new(ip.source, header.get_source()),
        destination: SocketAddr::new(ip.destination, header.get_destination()),
        bytes: ip.bytes,
    };
    let offset = usize::from(header.get_data_offset()) * 4;
    let carried = match within.get(offset..) {
        Some(payload) if offset >= TCP_MIN_HEADER => carried(packet, payload),
        _ => Carried::Malformed,
    };
    Decoded { frame: Frame::Flow(packet), carried }
}

const fn carried(packet: Packet, payload: &[u8]) -> Carried<'_> {
    Carried::Segment(Segment {
        protocol: packet.protocol,
        source: packet.source,
        destination: packet.destination,
        payload,
    })
}
