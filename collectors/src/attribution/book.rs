//! The owner book: socket cookie → the process that last acted on it, and a DNS
//! socket's bound ends → its cookie. Bounded, so a connection storm cannot grow it
//! without limit.
//!
//! An owner is kept while its socket is alive (the connections source says which
//! cookies are, [`OwnerBook::retain_live`]) or while it is younger than
//! [`RECENT_NS`] (a socket may close before any dump sees it; its destroy
//! notification still needs the owner). Past [`MAX_OWNERS`] the oldest go first:
//! their sockets fall back to the `/proc` walk, as lost records do.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::event::{Act, ActKind};
use crate::model::Protocol;

/// Owners (sockets) remembered at most.
pub const MAX_OWNERS: usize = 131_072;

/// DNS sockets remembered at most, by their bound ends.
pub const MAX_FLOWS: usize = 16_384;

/// An owner not seen alive in a dump is kept this long after its last act (ns).
pub const RECENT_NS: u64 = 30_000_000_000;

/// Who acted on a socket, as the BPF hook saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpfOwner {
    /// The process id.
    pub pid: u32,
    /// The thread that acted.
    pub tid: u32,
    /// The acting thread's name (the process's own name unless it renamed threads).
    pub comm: Arc<str>,
    /// The actor's uid.
    pub uid: u32,
    /// The actor's cgroup v2 id.
    pub cgroup_id: u64,
    /// When it acted, `CLOCK_BOOTTIME` nanoseconds.
    pub at_ns: u64,
}

/// A bound end of a DNS socket: transport and local address and port.
type FlowKey = (Protocol, SocketAddr);

/// See the module documentation.
#[derive(Debug, Default)]
pub struct OwnerBook {
    owners: HashMap<u64, BpfOwner>,
    flows: HashMap<FlowKey, (u64, u64)>,
    /// Thread names, shared between the owners of one thread.
    names: HashMap<String, Arc<str>>,
}

/// The key of an end: IPv4-mapped IPv6 addresses as IPv4, so a dual-stack socket's
/// end matches what the capture parsed.
fn canonical(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(address.ip().to_canonical(), address.port())
}

impl OwnerBook {
    /// Fold one record.
    pub fn record(&mut self, act: Act) {
        match act.kind {
            ActKind::Connect | ActKind::Send => {
                if self.owners.len() >= MAX_OWNERS && !self.owners.contains_key(&act.cookie) {
                    self.evict_oldest();
                }
                if self.names.len() > 4096 {
                    self.names.clear();
                }
                let comm =
                    self.names.entry(act.comm).or_insert_with_key(|name| Arc::from(name.as_str())).clone();
                let owner = BpfOwner {
                    pid: act.tgid,
                    tid: act.tid,
                    comm,
                    uid: act.uid,
                    cgroup_id: act.cgroup_id,
                    at_ns: act.at_ns,
                };
                self.owners.insert(act.cookie, owner);
            }
            ActKind::DnsEgress => {
                if self.flows.len() >= MAX_FLOWS {
                    let oldest = self.flows.values().map(|&(_, at)| at).min().unwrap_or(0);
                    let cutoff = oldest.saturating_add(RECENT_NS / 2).min(act.at_ns);
                    self.flows.retain(|_, &mut (_, at)| at > cutoff);
                    if self.flows.len() >= MAX_FLOWS {
                        self.flows.clear();
                    }
                }
                self.flows.insert((act.protocol, canonical(act.local)), (act.cookie, act.at_ns));
            }
        }
    }

    /// The owner of a socket, by cookie.
    #[must_use]
    pub fn owner(&self, cookie: u64) -> Option<&BpfOwner> {
        self.owners.get(&cookie)
    }

    /// The cookie of the DNS socket bound to `local` (an unconnected socket bound to
    /// the wildcard address matches by port).
    #[must_use]
    pub fn cookie_of(&self, protocol: Protocol, local: SocketAddr) -> Option<u64> {
        let local = canonical(local);
        self.flows
            .get(&(protocol, local))
            .or_else(|| {
                let any = match local.ip() {
                    IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                };
                self.flows.get(&(protocol, SocketAddr::new(any, local.port())))
            })
            .map(|&(cookie, _)| cookie)
    }

    /// Forget owners of sockets not in `live` (sorted cookies of the latest dump)
    /// whose last act is older than [`RECENT_NS`] before `now_ns`.
    pub fn retain_live(&mut self, live: &[u64], now_ns: u64) {
        let cutoff = now_ns.saturating_sub(RECENT_NS);
        self.owners.retain(|cookie, owner| owner.at_ns >= cutoff || live.binary_search(cookie).is_ok());
        self.flows.retain(|_, &mut (_, at)| at >= cutoff);
    }

    /// Owners held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no owner is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Make room: forget the oldest eighth (amortised: one sort per 16,000 inserts).
    fn evict_oldest(&mut self) {
        let mut ages: Vec<u64> = self.owners.values().map(|owner| owner.at_ns).collect();
        let index = ages.len() / 8;
        let (_, &mut cutoff, _) = ages.select_nth_unstable(index);
        self.owners.retain(|_, owner| owner.at_ns > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(cookie: u64, kind: ActKind, at_ns: u64) -> Act {
        Act {
            cookie,
            cgroup_id: 1,
            at_ns,
            tgid: 10,
            tid: 11,
            uid: 0,
            kind,
            protocol: Protocol::Udp,
            local: SocketAddr::from(([127, 0, 0, 1], 40_000 + (cookie % 1000) as u16)),
            remote: SocketAddr::from(([127, 0, 0, 53], 53)),
            comm: "getent".to_owned(),
        }
    }

    #[test]
    fn egress_joins_the_bound_end_to_the_cookie_and_the_connect_to_the_owner() {
        let mut book = OwnerBook::default();
        book.record(act(5, ActKind::Connect, 1));
        book.record(act(5, ActKind::DnsEgress, 2));
        let cookie = book.cookie_of(Protocol::Udp, SocketAddr::from(([127, 0, 0, 1], 40_005)));
        assert_eq!(cookie, Some(5));
        assert_eq!(book.owner(5).map(|owner| (owner.pid, &*owner.comm)), Some((10, "getent")));
        assert_eq!(book.cookie_of(Protocol::Tcp, SocketAddr::from(([127, 0, 0, 1], 40_005))), None);
    }

    #[test]
    fn a_mapped_address_matches_its_ipv4_form() {
        let mut book = OwnerBook::default();
        let mut egress = act(7, ActKind::DnsEgress, 1);
        egress.local = "[::ffff:127.0.0.1]:40007".parse().unwrap_or(egress.local);
        book.record(egress);
        assert_eq!(book.cookie_of(Protocol::Udp, SocketAddr::from(([127, 0, 0, 1], 40_007))), Some(7));
    }

    #[test]
    fn old_owners_go_unless_alive() {
        let mut book = OwnerBook::default();
        book.record(act(1, ActKind::Connect, 1));
        book.record(act(2, ActKind::Connect, 1));
        book.record(act(3, ActKind::Connect, RECENT_NS + 10));
        book.retain_live(&[2], RECENT_NS + 20);
        assert!(book.owner(1).is_none(), "old and not alive");
        assert!(book.owner(2).is_some(), "old but alive");
        assert!(book.owner(3).is_some(), "recent");
    }

    #[test]
    fn a_storm_stays_bounded() {
        let mut book = OwnerBook::default();
        for cookie in 0..(MAX_OWNERS as u64 + 10_000) {
            book.record(act(cookie, ActKind::Connect, cookie));
        }
        assert!(book.len() <= MAX_OWNERS);
        assert!(book.owner(MAX_OWNERS as u64 + 9_999).is_some(), "the newest stays");
        assert!(book.owner(0).is_none(), "the oldest went");
    }
}
