//! The socket filter of a DNS capture: the kernel passes only UDP and TCP packets to or
//! from port 53, whole, so the capture threads never see (or copy) other traffic.
//!
//! A classic BPF program, the equivalent of tcpdump's `udp port 53 or tcp port 53`:
//! IPv4 with any header length (first fragments only: later ones carry no ports) and
//! IPv6 whose transport header follows the fixed header directly. IPv6 packets with
//! extension headers are not passed; DNS traffic does not use them in practice.
//! Frames start with an Ethernet header (loopback's too) or directly with the IP
//! header ([`Framing`]); VLAN tags never reach a packet socket on Linux (the kernel
//! strips them first).

use socket2::SockFilter;

use crate::capture::Framing;
use crate::capture::link;
use crate::dns::packet::DNS_PORT;

/// Bytes of each frame kept: all of it (a DNS message over UDP is at most 65,507
/// bytes), so the header and question are always there.
pub const SNAP_LENGTH: u32 = 65_535;

const ETHERNET_HEADER: u32 = 14;
const ETHERTYPE_IPV4: u32 = 0x0800;
const ETHERTYPE_IPV6: u32 = 0x86dd;
const PROTOCOL_TCP: u32 = 6;
const PROTOCOL_UDP: u32 = 17;

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

/// The filter for a link with `framing`, with the loopback drop of sent copies where
/// `loopback` (see [`link::drop_sent_copies`]).
#[must_use]
pub fn socket_filter(framing: Framing, loopback: bool) -> Vec<SockFilter> {
    let program =
        program(framing).into_iter().map(|op| SockFilter::new(op.code, op.jt, op.jf, op.k)).collect();
    link::drop_sent_copies(loopback, program)
}

/// Where a jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The next instruction (no jump).
    Next,
    /// The instruction after the next.
    SkipOne,
    Ipv4,
    Ipv6,
    Accept,
    Drop,
}

/// The program for frames with `framing`.
#[must_use]
pub fn program(framing: Framing) -> Vec<Instruction> {
    use Target::{Accept, Drop, Ipv4, Ipv6, Next, SkipOne};
    let load_byte = libc::BPF_LD | libc::BPF_B | libc::BPF_ABS;
    let load_half = libc::BPF_LD | libc::BPF_H | libc::BPF_ABS;
    // A = the half-word at X + k.
    let load_half_indexed = libc::BPF_LD | libc::BPF_H | libc::BPF_IND;
    // X = 4 × (the low nibble of the byte at k): the IPv4 header length.
    let load_header_length = libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH;
    let and = libc::BPF_ALU | libc::BPF_AND | libc::BPF_K;
    let equals = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let any_bit = libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    let dns = u32::from(DNS_PORT);

    let mut code: Vec<(u32, Target, Target, u32)> = Vec::new();
    let mut labels: Vec<(Target, usize)> = Vec::new();
    let base = match framing {
        Framing::Ethernet => {
            code.push((load_half, Next, Next, 12));
            code.push((equals, Ipv4, Next, ETHERTYPE_IPV4));
            code.push((equals, Ipv6, Drop, ETHERTYPE_IPV6));
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
    code.push((equals, SkipOne, Next, PROTOCOL_TCP));
    code.push((equals, Next, Drop, PROTOCOL_UDP));
    code.push((load_half, Next, Next, base + 6));
    // A fragment offset: a later fragment, without ports.
    code.push((any_bit, Drop, Next, 0x1fff));
    code.push((load_header_length, Next, Next, base));
    code.push((load_half_indexed, Next, Next, base));
    code.push((equals, Accept, Next, dns));
    code.push((load_half_indexed, Next, Next, base + 2));
    code.push((equals, Accept, Drop, dns));
    labels.push((Ipv6, code.len()));
    code.push((load_byte, Next, Next, base + 6));
    code.push((equals, SkipOne, Next, PROTOCOL_TCP));
    code.push((equals, Next, Drop, PROTOCOL_UDP));
    code.push((load_half, Next, Next, base + 40));
    code.push((equals, Accept, Next, dns));
    code.push((load_half, Next, Next, base + 42));
    code.push((equals, Accept, Drop, dns));
    labels.push((Accept, code.len()));
    code.push((ret, Next, Next, SNAP_LENGTH));
    labels.push((Drop, code.len()));
    code.push((ret, Next, Next, 0));

    // Jumps count the instructions skipped after the jump itself; the program is a few
    // dozen instructions, far within a u8.
    let offset = |at: usize, target: Target| -> u8 {
        let to = match target {
            Next => return 0,
            SkipOne => return 1,
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
