//! The socket filter of every capture ring, run by the kernel before a frame is
//! copied: UDP and TCP packets to or from port 53 pass whole (the DNS log reads them),
//! other UDP is cut to its headers ([`SNAP_LENGTH`]: the flow table needs addresses,
//! ports and the IP length, never the payload), and everything else — other TCP,
//! whose bytes `sock_diag` counts, ICMP, ARP — is dropped, so it never costs a copy.
//!
//! A classic BPF program: IPv4 with any header length (a later fragment carries no
//! ports: a UDP one keeps its headers, a TCP one is dropped) and IPv6 whose transport
//! header follows the fixed header directly; IPv6 packets with extension headers keep
//! their headers (the flow parser follows them; DNS behind them is not read, it does
//! not use them in practice). Frames start with an Ethernet header (loopback's too) or
//! directly with the IP header ([`Framing`]); VLAN tags rarely reach a packet socket on
//! Linux (the kernel strips them first) and a tagged frame keeps its headers.
//!
//! On loopback, where the kernel shows a packet socket each packet twice (once sent,
//! once received), three instructions first drop the sent copy, as libpcap does, so
//! every loopback packet is read and counted once.

use socket2::SockFilter;

use super::Framing;

#[cfg(test)]
mod tests;

/// Bytes kept of a packet that is not DNS: link header, VLAN tags, IPv6 extension
/// headers and ports fit; payloads are never read.
pub const SNAP_LENGTH: u32 = 256;

/// Bytes kept of a DNS packet: all of it (a DNS message over UDP is at most 65,507
/// bytes), so the header and question are always there.
pub const WHOLE: u32 = 65_535;

/// The DNS port.
const DNS_PORT: u32 = 53;

const ETHERNET_HEADER: u32 = 14;
const ETHERTYPE_IPV4: u32 = 0x0800;
const ETHERTYPE_IPV6: u32 = 0x86dd;
const ETHERTYPE_VLAN: u32 = 0x8100;
const ETHERTYPE_QINQ: u32 = 0x88a8;
const PROTOCOL_TCP: u32 = 6;
const PROTOCOL_UDP: u32 = 17;
/// IPv6 extension headers: hop-by-hop, routing, fragment, authentication, destination.
const IPV6_EXTENSIONS: [u32; 5] = [0, 43, 44, 51, 60];

/// `PACKET_OUTGOING` from `<linux/if_packet.h>`: a frame this host sent.
const PACKET_OUTGOING: u32 = 4;

/// One classic BPF instruction (`struct sock_filter`), readable back (socket2's is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    /// Operation.
    pub code: u16,
    /// Instructions skipped when a jump holds.
    pub jt: u8,
    /// Instructions skipped when it does not.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

/// The filter for a link with `framing`, dropping sent copies first where `loopback`.
#[must_use]
pub fn socket_filter(framing: Framing, loopback: bool) -> Vec<SockFilter> {
    program(framing, loopback).into_iter().map(|op| SockFilter::new(op.code, op.jt, op.jf, op.k)).collect()
}

/// Where a jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The next instruction (no jump).
    Next,
    Ipv4,
    Ipv6,
    Udp4,
    Tcp4,
    Udp6,
    Tcp6,
    /// Keep the headers.
    Snap,
    /// Keep it whole.
    Accept,
    Drop,
}

/// The program for frames with `framing`; see the module documentation.
#[must_use]
pub fn program(framing: Framing, loopback: bool) -> Vec<Instruction> {
    use Target::{Accept, Drop, Ipv4, Ipv6, Next, Snap, Tcp4, Tcp6, Udp4, Udp6};
    let load_byte = libc::BPF_LD | libc::BPF_B | libc::BPF_ABS;
    let load_half = libc::BPF_LD | libc::BPF_H | libc::BPF_ABS;
    let load_word = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    // A = the half-word at X + k.
    let load_half_indexed = libc::BPF_LD | libc::BPF_H | libc::BPF_IND;
    // X = 4 × (the low nibble of the byte at k): the IPv4 header length.
    let load_header_length = libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH;
    let and = libc::BPF_ALU | libc::BPF_AND | libc::BPF_K;
    let equals = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let any_bit = libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;

    let mut code: Vec<(u32, Target, Target, u32)> = Vec::new();
    let mut labels: Vec<(Target, usize)> = Vec::new();
    if loopback {
        // A = the packet type (an ancillary field, not packet data); outgoing: drop.
        #[expect(
            clippy::cast_sign_loss,
            reason = "SKF_AD_OFF is negative by design: the kernel reads it as u32"
        )]
        let packet_type = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
        code.push((load_word, Next, Next, packet_type));
        code.push((equals, Drop, Next, PACKET_OUTGOING));
    }
    let base = match framing {
        Framing::Ethernet => {
            code.push((load_half, Next, Next, 12));
            code.push((equals, Ipv4, Next, ETHERTYPE_IPV4));
            code.push((equals, Ipv6, Next, ETHERTYPE_IPV6));
            code.push((equals, Snap, Next, ETHERTYPE_VLAN));
            code.push((equals, Snap, Drop, ETHERTYPE_QINQ));
            ETHERNET_HEADER
        }
        Framing::RawIp => {
            code.push((load_byte, Next, Next, 0));
            code.push((and, Next, Next, 0xf0));
            code.push((equals, Ipv4, Next, 0x40));
            code.push((equals, Ipv6, Drop, 0x60));
            0
        }
    };
    labels.push((Ipv4, code.len()));
    code.push((load_byte, Next, Next, base + 9));
    code.push((equals, Tcp4, Next, PROTOCOL_TCP));
    code.push((equals, Udp4, Drop, PROTOCOL_UDP));
    labels.push((Udp4, code.len()));
    code.push((load_half, Next, Next, base + 6));
    // A fragment offset: a later fragment, without ports.
    code.push((any_bit, Snap, Next, 0x1fff));
    code.push((load_header_length, Next, Next, base));
    code.push((load_half_indexed, Next, Next, base));
    code.push((equals, Accept, Next, DNS_PORT));
    code.push((load_half_indexed, Next, Next, base + 2));
    code.push((equals, Accept, Snap, DNS_PORT));
    labels.push((Tcp4, code.len()));
    code.push((load_half, Next, Next, base + 6));
    code.push((any_bit, Drop, Next, 0x1fff));
    code.push((load_header_length, Next, Next, base));
    code.push((load_half_indexed, Next, Next, base));
    code.push((equals, Accept, Next, DNS_PORT));
    code.push((load_half_indexed, Next, Next, base + 2));
    code.push((equals, Accept, Drop, DNS_PORT));
    labels.push((Ipv6, code.len()));
    code.push((load_byte, Next, Next, base + 6));
    code.push((equals, Tcp6, Next, PROTOCOL_TCP));
    code.push((equals, Udp6, Next, PROTOCOL_UDP));
    for (at, extension) in IPV6_EXTENSIONS.iter().enumerate() {
        let otherwise = if at + 1 == IPV6_EXTENSIONS.len() { Drop } else { Next };
        code.push((equals, Snap, otherwise, *extension));
    }
    labels.push((Udp6, code.len()));
    code.push((load_half, Next, Next, base + 40));
    code.push((equals, Accept, Next, DNS_PORT));
    code.push((load_half, Next, Next, base + 42));
    code.push((equals, Accept, Snap, DNS_PORT));
    labels.push((Tcp6, code.len()));
    code.push((load_half, Next, Next, base + 40));
    code.push((equals, Accept, Next, DNS_PORT));
    code.push((load_half, Next, Next, base + 42));
    code.push((equals, Accept, Drop, DNS_PORT));
    labels.push((Snap, code.len()));
    code.push((ret, Next, Next, SNAP_LENGTH));
    labels.push((Accept, code.len()));
    code.push((ret, Next, Next, WHOLE));
    labels.push((Drop, code.len()));
    code.push((ret, Next, Next, 0));

    // Jumps count the instructions skipped after the jump itself; the program is a few
    // dozen instructions, far within a u8.
    let offset = |at: usize, target: Target| -> u8 {
        let to = match target {
            Next => return 0,
            label => labels.iter().find(|(name, _)| *name == label).map_or(at + 1, |&(_, to)| to),
        };
        u8::try_from(to.saturating_sub(at + 1)).unwrap_or(u8::MAX)
    };
    code.iter()
        .enumerate()
        .map(|(at, &(op, jt, jf, k))| Instruction {
            code: op as u16,
            jt: offset(at, jt),
            jf: offset(at, jf),
            k,
        })
        .collect()
}
