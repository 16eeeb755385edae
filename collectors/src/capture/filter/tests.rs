//! The socket filter run by a small classic BPF interpreter over built frames.

use hickory_proto::rr::RecordType;

use super::*;
use crate::capture::frame::{self, Carried};
use crate::dns::packet::tests::{
    PROTOCOL_TCP, PROTOCOL_UDP, endpoint, ethernet, ip, query, tcp_frame, tcp_segment, udp_frame, udp_segment,
};

/// Run `program` over `frame` of packet type `packet_type` as the kernel would: what it
/// returns is the number of bytes kept (0: dropped). A load past the end drops the
/// frame, as in the kernel.
fn interpret(program: &[Instruction], frame: &[u8], packet_type: u32) -> u32 {
    let load = |at: u32, size: usize| -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let bytes = frame.get(at..at.checked_add(size)?)?;
        Some(bytes.iter().fold(0, |value, &byte| (value << 8) | u32::from(byte)))
    };
    let ancillary_type = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    for _ in 0..program.len() {
        let op = program.get(pc).copied().unwrap_or_else(|| panic!("ran off the program at {pc}"));
        let code = u32::from(op.code);
        let mut next = pc + 1;
        let loaded = match code {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS && op.k == ancillary_type => {
                Some(Some(packet_type))
            }
            c if c == libc::BPF_LD | libc::BPF_B | libc::BPF_ABS => Some(load(op.k, 1)),
            c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_ABS => Some(load(op.k, 2)),
            c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_IND => Some(load(x.wrapping_add(op.k), 2)),
            c if c == libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH => {
                let Some(byte) = load(op.k, 1) else { return 0 };
                x = (byte & 0xf) * 4;
                None
            }
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => {
                a &= op.k;
                None
            }
            c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                next += usize::from(if a == op.k { op.jt } else { op.jf });
                None
            }
            c if c == libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K => {
                next += usize::from(if a & op.k != 0 { op.jt } else { op.jf });
                None
            }
            c if c == libc::BPF_RET | libc::BPF_K => return op.k,
            other => panic!("instruction {other:#x} is not interpreted"),
        };
        if let Some(value) = loaded {
            let Some(value) = value else { return 0 };
            a = value;
        }
        pc = next;
    }
    panic!("the program did not return (it must only jump forward)")
}

/// What the filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    Whole,
    Headers,
    Nothing,
}

#[test]
fn dns_passes_whole_other_udp_as_headers_and_the_rest_not_at_all() {
    use Kept::{Headers, Nothing, Whole};
    let asked = query(1, "example.com.", RecordType::A);
    let (client, server) = (endpoint("10.0.0.2:40000"), endpoint("10.0.0.53:53"));
    let (client6, server6) = (endpoint("[fd00::2]:40000"), endpoint("[fd00::53]:53"));
    let udp4 = ip(PROTOCOL_UDP, client, server, &udp_segment(client, server, &asked));
    let udp6 = ip(PROTOCOL_UDP, server6, client6, &udp_segment(server6, client6, &asked));

    let mut with_options = udp4.clone();
    with_options[0] = 0x46;
    with_options.splice(20..20, [1, 1, 1, 0]);
    with_options[2..4].copy_from_slice(&(udp4.len() as u16 + 4).to_be_bytes());
    let mut later_fragment = udp4.clone();
    later_fragment[6..8].copy_from_slice(&0x0001u16.to_be_bytes());
    let mut first_fragment = udp4.clone();
    first_fragment[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
    let mut icmp = udp4.clone();
    icmp[9] = 1;
    let mut hop_by_hop = ip(0, client6, server6, &[PROTOCOL_UDP, 0, 0, 0, 0, 0, 0, 0]);
    hop_by_hop.extend_from_slice(&udp_segment(client6, server6, &asked));
    let mut icmp6 = ip(58, client6, server6, &[128, 0, 0, 0, 0, 0, 0, 0]);
    icmp6.truncate(48);
    let mut arp = ethernet(&udp4);
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    let mut vlan = ethernet(&udp4);
    vlan[12..14].copy_from_slice(&0x8100u16.to_be_bytes());

    let cases: Vec<(&str, Framing, Vec<u8>, Kept)> = vec![
        ("UDP query to 53", Framing::Ethernet, ethernet(&udp4), Whole),
        ("TCP answer from 53", Framing::Ethernet, tcp_frame("10.0.0.53:53", "10.0.0.2:40001", &[]), Whole),
        ("IPv4 with options", Framing::Ethernet, ethernet(&with_options), Whole),
        ("a first fragment", Framing::Ethernet, ethernet(&first_fragment), Whole),
        ("a later UDP fragment", Framing::Ethernet, ethernet(&later_fragment), Headers),
        ("IPv6 UDP", Framing::Ethernet, ethernet(&udp6), Whole),
        (
            "IPv6 TCP to 53",
            Framing::Ethernet,
            ethernet(&ip(PROTOCOL_TCP, client6, server6, &tcp_segment(client6, server6, &[]))),
            Whole,
        ),
        ("raw IPv4", Framing::RawIp, udp4.clone(), Whole),
        ("raw IPv6", Framing::RawIp, udp6.clone(), Whole),
        ("mDNS", Framing::Ethernet, udp_frame("10.0.0.2:5353", "224.0.0.251:5353", &asked), Headers),
        ("other UDP", Framing::Ethernet, udp_frame("10.0.0.2:40000", "10.0.0.9:123", &asked), Headers),
        (
            "other UDP over IPv6",
            Framing::Ethernet,
            udp_frame("[fd00::2]:4000", "[fd00::9]:443", &asked),
            Headers,
        ),
        ("other TCP", Framing::Ethernet, tcp_frame("10.0.0.2:40000", "10.0.0.9:443", &asked), Nothing),
        (
            "other TCP over IPv6",
            Framing::Ethernet,
            tcp_frame("[fd00::2]:4000", "[fd00::9]:443", &asked),
            Nothing,
        ),
        ("ICMP", Framing::Ethernet, ethernet(&icmp), Nothing),
        ("ICMPv6", Framing::Ethernet, ethernet(&icmp6), Nothing),
        ("ARP", Framing::Ethernet, arp, Nothing),
        ("VLAN-tagged", Framing::Ethernet, vlan, Headers),
        ("IPv6 extension headers", Framing::Ethernet, ethernet(&hop_by_hop), Headers),
        ("raw non-IP", Framing::RawIp, vec![0x10; 40], Nothing),
        ("a runt", Framing::Ethernet, ethernet(&udp4)[..20].to_vec(), Nothing),
    ];
    for (name, framing, frame, kept) in cases {
        let expected = match kept {
            Whole => WHOLE,
            Headers => SNAP_LENGTH,
            Nothing => 0,
        };
        for loopback in [false, true] {
            assert_eq!(
                interpret(&program(framing, loopback), &frame, 0),
                expected,
                "{name}, loopback {loopback}"
            );
        }
        if kept == Whole {
            assert!(
                matches!(frame::segment(framing, &frame), Carried::Segment(_)),
                "{name}: what passes whole parses"
            );
        }
    }
}

#[test]
fn on_loopback_the_copy_as_sent_is_dropped() {
    let frame = udp_frame("127.0.0.1:40000", "127.0.0.1:53", &query(1, "a.test.", RecordType::A));
    assert_eq!(interpret(&program(Framing::Ethernet, true), &frame, PACKET_OUTGOING), 0);
    assert_eq!(interpret(&program(Framing::Ethernet, true), &frame, 0), WHOLE);
    // Elsewhere what this host sends is its traffic too.
    assert_eq!(interpret(&program(Framing::Ethernet, false), &frame, PACKET_OUTGOING), WHOLE);
    assert_eq!(socket_filter(Framing::Ethernet, true).len(), program(Framing::Ethernet, false).len() + 2);
}
