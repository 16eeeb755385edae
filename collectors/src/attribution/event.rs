//! One record of the BPF ring, parsed from its bytes (`struct event` in
//! `bpf/attribution.bpf.c`; the layout is fixed there and mirrored here):
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | cookie |
//! | 8..16 | cgroup id |
//! | 16..24 | time (`CLOCK_BOOTTIME` ns) |
//! | 24..28, 28..32, 32..36 | tgid, tid, uid |
//! | 36, 37, 38, 39 | kind, family, protocol, padding |
//! | 40..42, 42..44 | local and remote port (host order) |
//! | 44..60, 60..76 | local and remote address (network order) |
//! | 76..92 | thread name, NUL-padded |
//! | 92..96 | padding to 8-byte alignment |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::model::Protocol;

/// The record's size in bytes, as the BPF program reserves it.
pub const RECORD_BYTES: usize = 96;

/// What the process did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActKind {
    /// `connect()` (for UDP too: glibc's resolver connects its query socket).
    Connect,
    /// `sendto()`/`sendmsg()` with an address.
    Send,
    /// A DNS packet left a socket seen by the other hooks: it gives the bound local
    /// end, which a connect does not have yet. Its actor is not trusted (egress may
    /// run in another context), only its 5-tuple.
    DnsEgress,
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    /// The socket cookie (`sock_diag` reports the same).
    pub cookie: u64,
    /// The actor's cgroup v2 id.
    pub cgroup_id: u64,
    /// When, on `CLOCK_BOOTTIME`, in nanoseconds (comparable with a process start time).
    pub at_ns: u64,
    /// The process id.
    pub tgid: u32,
    /// The thread id.
    pub tid: u32,
    /// The actor's uid.
    pub uid: u32,
    /// What happened.
    pub kind: ActKind,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// This end; port 0 and the unspecified address until bound (connect and send).
    pub local: SocketAddr,
    /// The other end.
    pub remote: SocketAddr,
    /// The acting thread's name (`comm`), as the kernel had it.
    pub comm: String,
}

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(word)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(word)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

/// An address stored in network order, IPv4 in its first four bytes.
fn address(family: u8, bytes: &[u8]) -> IpAddr {
    if family == AF_INET {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        let mut octets = [0; 16];
        octets.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    }
}

impl Act {
    /// Parse one record; `None` for a short record or an unknown kind, family or
    /// protocol (a newer object with an older reader: skipped, not misread).
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < RECORD_BYTES {
            return None;
        }
        let kind = match bytes[36] {
            1 => ActKind::Connect,
            2 => ActKind::Send,
            3 => ActKind::DnsEgress,
            _ => return None,
        };
        let family = bytes[37];
        if family != AF_INET && family != AF_INET6 {
            return None;
        }
        let protocol = match bytes[38] {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            _ => return None,
        };
        let comm = &bytes[76..92];
        let end = comm.iter().position(|&byte| byte == 0).unwrap_or(comm.len());
        Some(Self {
            cookie: u64_at(bytes, 0),
            cgroup_id: u64_at(bytes, 8),
            at_ns: u64_at(bytes, 16),
            tgid: u32_at(bytes, 24),
            tid: u32_at(bytes, 28),
            uid: u32_at(bytes, 32),
            kind,
            protocol,
            local: SocketAddr::new(address(family, &bytes[44..60]), u16_at(bytes, 40)),
            remote: SocketAddr::new(address(family, &bytes[60..76]), u16_at(bytes, 42)),
            comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record laid out as the C struct is (little-endian host order fields).
    fn record(kind: u8, family: u8, protocol: u8) -> Vec<u8> {
        let mut bytes = vec![0; RECORD_BYTES];
        bytes[0..8].copy_from_slice(&42u64.to_ne_bytes());
        bytes[8..16].copy_from_slice(&7u64.to_ne_bytes());
        bytes[16..24].copy_from_slice(&1_000u64.to_ne_bytes());
        bytes[24..28].copy_from_slice(&300u32.to_ne_bytes());
        bytes[28..32].copy_from_slice(&301u32.to_ne_bytes());
        bytes[32..36].copy_from_slice(&1000u32.to_ne_bytes());
        bytes[36] = kind;
        bytes[37] = family;
        bytes[38] = protocol;
        bytes[40..42].copy_from_slice(&40000u16.to_ne_bytes());
        bytes[42..44].copy_from_slice(&53u16.to_ne_bytes());
        bytes[44..48].copy_from_slice(&[127, 0, 0, 1]);
        bytes[60..64].copy_from_slice(&[127, 0, 0, 53]);
        bytes[76..82].copy_from_slice(b"getent");
        bytes
    }

    #[test]
    fn parses_the_c_layout() {
        let act = Act::parse(&record(3, AF_INET, 17));
        assert_eq!(
            act,
            Some(Act {
                cookie: 42,
                cgroup_id: 7,
                at_ns: 1000,
                tgid: 300,
                tid: 301,
                uid: 1000,
                kind: ActKind::DnsEgress,
                protocol: Protocol::Udp,
                local: "127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()),
                remote: "127.0.0.53:53".parse().unwrap_or_else(|_| unreachable!()),
                comm: "getent".to_owned(),
            })
        );
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        assert_eq!(Act::parse(&record(9, AF_INET, 17)), None, "kind");
        assert_eq!(Act::parse(&record(1, 1, 17)), None, "family");
        assert_eq!(Act::parse(&record(1, AF_INET, 1)), None, "protocol");
        assert_eq!(Act::parse(&record(1, AF_INET, 6)[..50]), None, "short");
    }

    #[test]
    fn ipv6_uses_all_sixteen_bytes() {
        let mut bytes = record(1, AF_INET6, 6);
        bytes[60..76]
            .copy_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().map(|a| a.octets()).unwrap_or_default());
        let act = Act::parse(&bytes).map(|act| act.remote.ip());
        assert_eq!(act, "2001:db8::1".parse().ok());
    }
}
