//! The frame parser on hand-built frames, and on random and mutated bytes.

use std::net::Ipv6Addr;

use super::*;
use crate::capture::testing::Must as _;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn ethernet_header(ethertype: u16, source: [u8; 6], destination: [u8; 6]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&destination);
    frame.extend_from_slice(&source);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

fn udp(source_port: u16, destination_port: u16, payload: usize) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&source_port.to_be_bytes());
    segment.extend_from_slice(&destination_port.to_be_bytes());
    segment.extend_from_slice(&((UDP_HEADER + payload) as u16).to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.resize(UDP_HEADER + payload, 0x55);
    segment
}

fn tcp(source_port: u16, destination_port: u16, payload: usize) -> Vec<u8> {
    let mut segment = vec![0; TCP_MIN_HEADER + payload];
    segment[0..2].copy_from_slice(&source_port.to_be_bytes());
    segment[2..4].copy_from_slice(&destination_port.to_be_bytes());
    segment[12] = 5 << 4;
    segment
}

/// An IPv4 header (no options) in front of `segment`; `fragment` is the flags and
/// offset field.
fn ipv4_with(protocol: u8, source: [u8; 4], destination: [u8; 4], fragment: u16, segment: &[u8]) -> Vec<u8> {
    let mut packet = vec![0; 20];
    packet[0] = 0x45;
    packet[2..4].copy_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
    packet[6..8].copy_from_slice(&fragment.to_be_bytes());
    packet[8] = 64;
    packet[9] = protocol;
    packet[12..16].copy_from_slice(&source);
    packet[16..20].copy_from_slice(&destination);
    packet.extend_from_slice(segment);
    packet
}

fn ipv4(protocol: u8, source: [u8; 4], destination: [u8; 4], segment: &[u8]) -> Vec<u8> {
    ipv4_with(protocol, source, destination, 0x4000, segment)
}

/// An IPv6 header in front of `rest` (extension headers and segment); `next` is the
/// first next-header value.
fn ipv6(next: u8, source: Ipv6Addr, destination: Ipv6Addr, rest: &[u8]) -> Vec<u8> {
    let mut packet = vec![0; 40];
    packet[0] = 0x60;
    packet[4..6].copy_from_slice(&(rest.len() as u16).to_be_bytes());
    packet[6] = next;
    packet[7] = 64;
    packet[8..24].copy_from_slice(&source.octets());
    packet[24..40].copy_from_slice(&destination.octets());
    packet.extend_from_slice(rest);
    packet
}

fn flow(frame: Frame) -> Packet {
    match frame {
        Frame::Flow(packet) => packet,
        other => panic!("expected a flow, got {other:?}"),
    }
}

fn v6(text: &str) -> Ipv6Addr {
    text.parse().must()
}

fn endpoint(text: &str) -> SocketAddr {
    text.parse().must()
}

#[test]
fn ethernet_ipv4_udp() {
    let packet = ipv4(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], &udp(40000, 53, 100));
    let mut frame = ethernet_header(ETHERTYPE_IPV4, MAC_A, MAC_B);
    frame.extend_from_slice(&packet);
    let parsed = flow(parse(Framing::Ethernet, &frame));
    assert_eq!(parsed.protocol, Protocol::Udp);
    assert_eq!(parsed.source, endpoint("10.0.0.1:40000"));
    assert_eq!(parsed.destination, endpoint("10.0.0.2:53"));
    assert_eq!(parsed.bytes, 128, "IP length: 20 + 8 + 100");

    // Ethernet padding and a capture cut at the snap length change nothing.
    let mut padded = frame.clone();
    padded.extend_from_slice(&[0; 18]);
    assert_eq!(parse(Framing::Ethernet, &padded), Frame::Flow(parsed));
    assert_eq!(parse(Framing::Ethernet, &frame[..14 + 28]), Frame::Flow(parsed));
}

#[test]
fn ethernet_ipv6_udp_and_tcp() {
    let (a, b) = (v6("fd00::1"), v6("fd00::2"));
    let mut frame = ethernet_header(ETHERTYPE_IPV6, MAC_A, MAC_B);
    frame.extend_from_slice(&ipv6(PROTOCOL_UDP, a, b, &udp(5353, 5353, 500)));
    let parsed = flow(parse(Framing::Ethernet, &frame));
    assert_eq!((parsed.source, parsed.destination), (endpoint("[fd00::1]:5353"), endpoint("[fd00::2]:5353")));
    assert_eq!(parsed.bytes, 548, "40 + 8 + 500");

    let mut frame = ethernet_header(ETHERTYPE_IPV6, MAC_A, MAC_B);
    frame.extend_from_slice(&ipv6(PROTOCOL_TCP, b, a, &tcp(443, 50000, 1000)));
    let parsed = flow(parse(Framing::Ethernet, &frame));
    assert_eq!(parsed.protocol, Protocol::Tcp);
    assert_eq!(parsed.source, endpoint("[fd00::2]:443"));
    assert_eq!(parsed.bytes, 1060);
}

#[test]
fn loopback_frames_have_zero_addresses() {
    let mut frame = ethernet_header(ETHERTYPE_IPV4, [0; 6], [0; 6]);
    frame.extend_from_slice(&ipv4(PROTOCOL_UDP, [127, 0, 0, 1], [127, 0, 0, 1], &udp(1000, 2000, 333)));
    let parsed = flow(parse(Framing::Ethernet, &frame));
    assert_eq!((parsed.source, parsed.destination), (endpoint("127.0.0.1:1000"), endpoint("127.0.0.1:2000")));
    assert_eq!(parsed.bytes, 361);
}

#[test]
fn raw_ip_frames_of_tun_devices() {
    let packet = ipv4(PROTOCOL_UDP, [10, 8, 0, 2], [1, 1, 1, 1], &udp(51820, 53, 40));
    assert_eq!(flow(parse(Framing::RawIp, &packet)).bytes, 68);
    let packet = ipv6(PROTOCOL_UDP, v6("fd10::2"), v6("2001:db8::1"), &udp(1, 2, 0));
    let parsed = flow(parse(Framing::RawIp, &packet));
    assert_eq!((parsed.destination, parsed.bytes), (endpoint("[2001:db8::1]:2"), 48));
    // Raw IP read as Ethernet, or Ethernet read as raw IP, is not a flow.
    assert_ne!(parse(Framing::Ethernet, &packet), Frame::Flow(parsed));
    let mut ethernet = ethernet_header(ETHERTYPE_IPV6, MAC_A, MAC_B);
    ethernet.extend_from_slice(&packet);
    assert_eq!(parse(Framing::RawIp, &ethernet), Frame::Malformed);
}

#[test]
fn vlan_tags_are_skipped() {
    let mut frame = ethernet_header(ETHERTYPE_QINQ, MAC_A, MAC_B);
    frame.extend_from_slice(&[0x00, 0x64]);
    frame.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
    frame.extend_from_slice(&[0x00, 0x0a]);
    frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    frame.extend_from_slice(&ipv4(PROTOCOL_UDP, [192, 168, 1, 2], [192, 168, 1, 1], &udp(68, 67, 300)));
    assert_eq!(flow(parse(Framing::Ethernet, &frame)).bytes, 328);
}

#[test]
fn ipv6_extension_headers_are_followed() {
    let mut rest = Vec::new();
    // Hop-by-hop options (8 bytes) → destination options (16 bytes) → UDP.
    rest.extend_from_slice(&[IPV6_DESTINATION_OPTIONS, 0, 1, 4, 0, 0, 0, 0]);
    rest.extend_from_slice(&[PROTOCOL_UDP, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    rest.extend_from_slice(&udp(1234, 4321, 10));
    let packet = ipv6(IPV6_HOP_BY_HOP, v6("::1"), v6("::1"), &rest);
    let parsed = flow(parse(Framing::RawIp, &packet));
    assert_eq!(parsed.destination, endpoint("[::1]:4321"));
    assert_eq!(parsed.bytes, 40 + 24 + 18);

    // Encrypted (ESP) and unknown payloads are not flows.
    assert_eq!(parse(Framing::RawIp, &ipv6(50, v6("::1"), v6("::2"), &[0; 16])), Frame::Other);
    assert_eq!(parse(Framing::RawIp, &ipv6(58, v6("::1"), v6("::2"), &[0; 8])), Frame::Other);
    // An extension header running past the end.
    assert_eq!(
        parse(Framing::RawIp, &ipv6(IPV6_ROUTING, v6("::1"), v6("::2"), &[17, 200])),
        Frame::Malformed
    );
}

#[test]
fn fragmented_datagrams_count_whole_on_their_first_fragment() {
    // A 3000-byte datagram: the first fragment carries the UDP header and 1472 bytes.
    let mut first = udp(5000, 6000, 3000);
    first.truncate(1480);
    let packet = ipv4_with(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], 0x2000, &first);
    assert_eq!(flow(parse(Framing::RawIp, &packet)).bytes, 20 + 3008);
    let later = ipv4_with(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], 185, &[0; 1480]);
    assert_eq!(parse(Framing::RawIp, &later), Frame::Fragment);

    let mut rest = vec![PROTOCOL_UDP, 0, 0, 1, 0, 0, 0, 7];
    rest.extend_from_slice(&first);
    let packet = ipv6(IPV6_FRAGMENT, v6("fd00::1"), v6("fd00::2"), &rest);
    assert_eq!(flow(parse(Framing::RawIp, &packet)).bytes, 48 + 3008);
    let packet =
        ipv6(IPV6_FRAGMENT, v6("fd00::1"), v6("fd00::2"), &[PROTOCOL_UDP, 0, 0x05, 0xc8, 0, 0, 0, 7]);
    assert_eq!(parse(Framing::RawIp, &packet), Frame::Fragment);
}

#[test]
fn an_unset_ip_length_falls_back_to_the_captured_length() {
    let mut packet = ipv4(PROTOCOL_TCP, [127, 0, 0, 1], [127, 0, 0, 1], &tcp(1, 2, 100));
    packet[2..4].copy_from_slice(&[0, 0]);
    assert_eq!(flow(parse(Framing::RawIp, &packet)).bytes, packet.len() as u64);
}

#[test]
fn other_protocols_are_not_flows() {
    let mut arp = ethernet_header(0x0806, MAC_A, [0xff; 6]);
    arp.extend_from_slice(&[0; 28]);
    assert_eq!(parse(Framing::Ethernet, &arp), Frame::Other);
    let icmp = ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], &[8, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(parse(Framing::RawIp, &icmp), Frame::Other);
}

#[test]
fn malformed_frames_are_recognised() {
    let good = ipv4(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, 10));
    let cases: Vec<(&str, Framing, Vec<u8>)> = vec![
        ("empty", Framing::RawIp, vec![]),
        ("empty ethernet", Framing::Ethernet, vec![]),
        ("short ethernet", Framing::Ethernet, vec![0; 13]),
        ("ethernet, no IP", Framing::Ethernet, ethernet_header(ETHERTYPE_IPV4, MAC_A, MAC_B)),
        ("truncated VLAN", Framing::Ethernet, ethernet_header(ETHERTYPE_VLAN, MAC_A, MAC_B)),
        ("version 5", Framing::RawIp, {
            let mut packet = good.clone();
            packet[0] = 0x55;
            packet
        }),
        ("IHL 4", Framing::RawIp, {
            let mut packet = good.clone();
            packet[0] = 0x44;
            packet
        }),
        ("IHL past the end", Framing::RawIp, {
            let mut packet = good[..24].to_vec();
            packet[0] = 0x4f;
            packet
        }),
        ("total below header", Framing::RawIp, {
            let mut packet = good.clone();
            packet[2..4].copy_from_slice(&10u16.to_be_bytes());
            packet
        }),
        ("UDP header cut", Framing::RawIp, good[..25].to_vec()),
        ("IPv6 header cut", Framing::RawIp, ipv6(PROTOCOL_UDP, v6("::1"), v6("::1"), &[])[..39].to_vec()),
        ("IPv6 in an IPv4 ethertype", Framing::Ethernet, {
            let mut frame = ethernet_header(ETHERTYPE_IPV4, MAC_A, MAC_B);
            frame.extend_from_slice(&ipv6(PROTOCOL_UDP, v6("::1"), v6("::1"), &udp(1, 2, 0)));
            frame
        }),
        ("first fragment with UDP length 3", Framing::RawIp, {
            let mut segment = udp(1, 2, 10);
            segment[4..6].copy_from_slice(&3u16.to_be_bytes());
            ipv4_with(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], 0x2000, &segment)
        }),
    ];
    for (name, framing, frame) in cases {
        assert_eq!(parse(framing, &frame), Frame::Malformed, "{name}");
    }
}

/// Marsaglia's xorshift64: deterministic noise without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

#[test]
fn payloads_end_where_the_headers_say() {
    let mut frame = ethernet_header(ETHERTYPE_IPV4, MAC_A, MAC_B);
    frame.extend_from_slice(&ipv4(PROTOCOL_TCP, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(53, 40000, 0)));
    // Ethernet pads a bare ACK to 60 bytes: the padding is not payload.
    frame.resize(60, 0);
    let Carried::Segment(ack) = segment(Framing::Ethernet, &frame) else { panic!("a segment") };
    assert_eq!((ack.protocol, ack.source, ack.payload.len()), (Protocol::Tcp, endpoint("10.0.0.1:53"), 0));

    let datagram = ipv4(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], &udp(40000, 53, 30));
    let Carried::Segment(whole) = segment(Framing::RawIp, &datagram) else { panic!("a segment") };
    assert_eq!((whole.destination, whole.payload.len()), (endpoint("10.0.0.2:53"), 30));
    // A capture cut short gives what was captured; a UDP length below its header is broken.
    let Carried::Segment(cut) = segment(Framing::RawIp, &datagram[..40]) else { panic!("a segment") };
    assert_eq!(cut.payload.len(), 12);
    let mut broken = datagram.clone();
    broken[24..26].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(segment(Framing::RawIp, &broken), Carried::Malformed);
    let mut short = datagram;
    short[24..26].copy_from_slice(&18u16.to_be_bytes());
    let Carried::Segment(short) = segment(Framing::RawIp, &short) else { panic!("a segment") };
    assert_eq!(short.payload.len(), 10, "the UDP length bounds the payload");

    let mut later = ipv4_with(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], 0x0010, &udp(1, 2, 8));
    assert_eq!(segment(Framing::RawIp, &later), Carried::Fragment);
    later[9] = 1;
    later[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    assert_eq!(segment(Framing::RawIp, &later), Carried::Other);
    let mut offset = ipv4(PROTOCOL_TCP, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(53, 40000, 4));
    offset[32] = 4 << 4;
    assert_eq!(segment(Framing::RawIp, &offset), Carried::Malformed, "a TCP header below 20 bytes");
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut templates = Vec::new();
    let mut frame = ethernet_header(ETHERTYPE_IPV4, MAC_A, MAC_B);
    frame.extend_from_slice(&ipv4(PROTOCOL_UDP, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, 30)));
    templates.push((Framing::Ethernet, frame));
    let mut rest = vec![IPV6_FRAGMENT, 0, 0, 0, 0, 0, 0, 0, PROTOCOL_UDP, 0, 0, 1, 0, 0, 0, 1];
    rest.extend_from_slice(&udp(3, 4, 20));
    templates.push((Framing::RawIp, ipv6(IPV6_HOP_BY_HOP, v6("fd00::1"), v6("fd00::2"), &rest)));
    templates.push((Framing::RawIp, ipv4(PROTOCOL_TCP, [1, 2, 3, 4], [5, 6, 7, 8], &tcp(80, 8080, 5))));

    let mut flows = 0;
    for round in 0..200_000 {
        let frame = if round % 2 == 0 {
            let length = random.below(120);
            (0..length).map(|_| random.next() as u8).collect::<Vec<_>>()
        } else {
            let (_, template) = &templates[random.below(templates.len())];
            let mut frame = template.clone();
            for _ in 0..=random.below(4) {
                let at = random.below(frame.len());
                frame[at] = random.next() as u8;
            }
            frame.truncate(random.below(frame.len() + 1));
            frame
        };
        for framing in [Framing::Ethernet, Framing::RawIp] {
            if let Frame::Flow(packet) = parse(framing, &frame) {
                flows += 1;
                assert!(packet.bytes > 0);
            }
            if let Carried::Segment(segment) = segment(framing, &frame) {
                assert!(segment.payload.len() <= frame.len());
            }
        }
    }
    assert!(flows > 0, "mutations of valid frames still parse sometimes");
}
