//! Route linkage of established connections (DESIGN.md §1 note 5): a connection
//! established before a VPN came up keeps its old source address while a fresh
//! lookup for its remote now leaves through the tunnel. After each dump, every
//! established TCP connection's remote is looked up twice — as a new connection would
//! (no source) and as this one is (`from` its local address) — and the pairs whose
//! answers disagree travel with the table as [`RouteMove`]s.
//!
//! Lookups are cached per (remote, local) address pair and repeated only after the
//! kernel view publishes a new generation (routing may have changed), so a quiet
//! network costs nothing; at most [`MAX_PAIRS_PER_REFRESH`] pairs are looked up per
//! refresh so a changed table of thousands of connections spreads over a few.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use crate::kernel_view::KernelView;
use crate::model::{Protocol, RouteMove, RouteType, Socket, SocketState};
use crate::paths::lookup::{LookupError, RouteAnswer, RouteLookup, RouteQuery};

/// Address pairs looked up per refresh at most (two queries each): a few
/// milliseconds of netlink round trips on the blocking thread.
pub(crate) const MAX_PAIRS_PER_REFRESH: usize = 512;

/// What a judgement is keyed by: the connection's two addresses, IPv4-mapped ones
/// as IPv4. Sockets sharing both share the routing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Pair {
    /// The remote address.
    pub remote: IpAddr,
    /// The local address.
    pub local: IpAddr,
}

/// The pair to judge for `socket`, or `None` when its route is not in question:
/// only established TCP connections between routable addresses that no
/// `SO_BINDTODEVICE` pins to an interface (their application chose it; a lookup
/// without the binding says nothing about them).
pub(crate) fn pair(socket: &Socket) -> Option<Pair> {
    pair_of(
        socket.protocol,
        Some(socket.state),
        socket.interface_index.is_some(),
        socket.local,
        socket.remote,
    )
}

/// [`pair`] from the parts of a socket (the socket watch lists no [`Socket`]s).
pub(crate) fn pair_of(
    protocol: Protocol,
    state: Option<SocketState>,
    bound: bool,
    local: SocketAddr,
    remote: SocketAddr,
) -> Option<Pair> {
    if protocol != Protocol::Tcp || state != Some(SocketState::Established) || bound {
        return None;
    }
    let remote = remote.ip().to_canonical();
    let local = local.ip().to_canonical();
    let routable = |address: IpAddr| {
        !address.is_unspecified()
            && !address.is_loopback()
            && !address.is_multicast()
            && match address {
                IpAddr::V4(v4) => !v4.is_link_local(),
                IpAddr::V6(v6) => !v6.is_unicast_link_local(),
            }
    };
    (routable(remote) && routable(local)).then_some(Pair { remote, local })
}

/// Judge one pair from the fresh answer (`fresh`: what a new connection would get)
/// and the answer for its own source (`pinned`; `None` when the kernel refuses it,
/// as it does once the source address is gone). `first` is the interface the pair's
/// packets went through when first judged. A move when the fresh answer leaves from
/// another source or through another interface than the connection's packets do.
pub(crate) fn judge(
    pair: Pair,
    fresh: &RouteAnswer,
    pinned: Option<&RouteAnswer>,
    first: Option<&str>,
) -> Option<RouteMove> {
    // Local, broadcast and the like are no path that could move.
    if fresh.route_type != RouteType::Unicast {
        return None;
    }
    let other_source = fresh.source.is_some_and(|source| source.to_canonical() != pair.local);
    let current = pinned.map(|answer| answer.interface_index);
    let interface_changed = current.is_some_and(|index| index != fresh.interface_index)
        || first.is_some_and(|first| fresh.interface.as_deref().is_some_and(|name| name != first));
    (other_source || interface_changed).then(|| RouteMove {
        local: pair.local,
        remote: pair.remote,
        interface: fresh.interface.clone(),
        interface_index: fresh.interface_index,
        interface_changed,
        source: fresh.source.map(|source| source.to_canonical()),
        current_interface: pinned.and_then(|answer| answer.interface.clone()),
        first_interface: first.map(str::to_owned),
    })
}

/// What is remembered of one pair.
#[derive(Debug, Clone, Default)]
struct Judged {
    /// Judged before the generation last changed: look again.
    stale: bool,
    /// The interface its packets went through when first judged.
    first_interface: Option<String>,
    /// The latest verdict.
    moved: Option<RouteMove>,
}

/// The lookup socket and the per-pair cache; lives on the source's blocking thread
/// with the socket reader.
pub(crate) struct Linkage {
    /// The kernel view's lookup socket, shared with the other route lookups.
    lookup: std::sync::Arc<std::sync::Mutex<RouteLookup>>,
    kernel: KernelView,
    judged_at: Option<u64>,
    judged: HashMap<Pair, Judged>,
}

impl std::fmt::Debug for Linkage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linkage").field("pairs", &self.judged.len()).finish_non_exhaustive()
    }
}

impl Linkage {
    /// Judge routes with the kernel view's lookups and generation.
    #[expect(
        clippy::unnecessary_wraps,
        reason = "the connections source treats a failed open as no linkage; kept for its call site"
    )]
    pub(crate) fn open(kernel: KernelView) -> std::io::Result<Self> {
        Ok(Self { lookup: kernel.route_lookup(), kernel, judged_at: None, judged: HashMap::new() })
    }

    /// The moves among `sockets`, looking up the pairs not judged since routing last
    /// changed. Blocking (netlink round trips, each answered at once).
    pub(crate) fn moves_of(&mut self, pairs: impl Iterator<Item = Pair>) -> Vec<RouteMove> {
        // Read before looking anything up: a change after this bumps it again, so
        // nothing judged below can be taken for newer than it is.
        let generation = self.kernel.generation();
        if self.judged_at != Some(generation) {
            self.judged_at = Some(generation);
            for judged in self.judged.values_mut() {
                judged.stale = true;
            }
        }
        let wanted: HashSet<Pair> = pairs.collect();
        self.judged.retain(|pair, _| wanted.contains(pair));
        let mut pending: Vec<Pair> = wanted
            .into_iter()
            .filter(|pair| self.judged.get(pair).is_none_or(|judged| judged.stale))
            .collect();
        // Sorted so that a capped refresh leaves a predictable rest for the next one.
        pending.sort_unstable();
        pending.truncate(MAX_PAIRS_PER_REFRESH);
        if !pending.is_empty() {
            self.look_up(&pending);
        }
        let mut moves: Vec<RouteMove> =
            self.judged.values().filter_map(|judged| judged.moved.clone()).collect();
        moves.sort_unstable_by_key(|moved| (moved.remote, moved.local));
        moves
    }

    fn look_up(&mut self, pending: &[Pair]) {
        let queries: Vec<RouteQuery> = pending
            .iter()
            .flat_map(|pair| {
                [
                    RouteQuery::new(pair.remote),
                    RouteQuery { source: Some(pair.local), ..RouteQuery::new(pair.remote) },
                ]
            })
            .collect();
        let answers =
            self.lookup.lock().unwrap_or_else(std::sync::PoisonError::into_inner).lookup_many(&queries);
        for (&pair, answers) in pending.iter().zip(answers.chunks(2)) {
            let [fresh, pinned] = answers else { continue };
            // The kernel did not answer: keep the last verdict and ask next refresh.
            if matches!(fresh, Err(LookupError::Io(_))) || matches!(pinned, Err(LookupError::Io(_))) {
                continue;
            }
            let judged = self.judged.entry(pair).or_default();
            judged.stale = false;
            let pinned = pinned.as_ref().ok();
            if judged.first_interface.is_none() {
                judged.first_interface = pinned.and_then(|answer| answer.interface.clone());
            }
            // No route at all for new connections (a VPN with a kill switch, say) is
            // no move to describe.
            judged.moved = fresh
                .as_ref()
                .ok()
                .and_then(|fresh| judge(pair, fresh, pinned, judged.first_interface.as_deref()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    use super::*;
    use crate::model::AddressFamily;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn socket(local: &str, remote: &str) -> Socket {
        let local: SocketAddr = local.parse().unwrap_or_else(|error| panic!("{local}: {error}"));
        let remote: SocketAddr = remote.parse().unwrap_or_else(|error| panic!("{remote}: {error}"));
        Socket {
            cookie: 1,
            protocol: Protocol::Tcp,
            family: if local.is_ipv6() { AddressFamily::Ipv6 } else { AddressFamily::Ipv4 },
            state: SocketState::Established,
            local,
            remote,
            interface_index: None,
            uid: 0,
            inode: 1,
            recv_queue: 0,
            send_queue: 0,
            timer: None,
            tcp: None,
            congestion: None,
            memory: None,
            tos: None,
        }
    }

    fn answer(interface: &str, index: u32, source: &str) -> RouteAnswer {
        RouteAnswer {
            route_type: RouteType::Unicast,
            table: 254,
            interface_index: Some(index),
            interface: Some(interface.to_owned()),
            source: Some(ip(source)),
            gateway: None,
            metric: None,
            protocol: "static".to_owned(),
            mark: None,
            matched_prefix: None,
        }
    }

    const PAIR: Pair = Pair {
        remote: IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34)),
        local: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 2)),
    };

    #[test]
    fn only_established_tcp_between_routable_addresses_is_judged() {
        assert_eq!(pair(&socket("10.1.0.2:40000", "93.184.216.34:443")), Some(PAIR));
        let mapped = socket("[::ffff:10.1.0.2]:40000", "[::ffff:93.184.216.34]:443");
        assert_eq!(pair(&mapped), Some(PAIR), "IPv4-mapped addresses are judged as IPv4");
        assert_eq!(pair(&socket("127.0.0.1:40000", "127.0.0.1:80")), None, "loopback");
        assert_eq!(pair(&socket("169.254.1.2:40000", "169.254.1.1:80")), None, "IPv4 link-local");
        assert_eq!(pair(&socket("[fe80::2]:40000", "[fe80::1]:80")), None, "IPv6 link-local");
        assert_eq!(pair(&socket("[2001:db8::2]:40000", "[::1]:80")), None, "loopback remote");
        let listening = Socket { state: SocketState::Listen, ..socket("10.1.0.2:80", "0.0.0.0:0") };
        assert_eq!(pair(&listening), None);
        let udp = Socket { protocol: Protocol::Udp, ..socket("10.1.0.2:40000", "93.184.216.34:443") };
        assert_eq!(pair(&udp), None);
        let bound = Socket { interface_index: Some(3), ..socket("10.1.0.2:40000", "93.184.216.34:443") };
        assert_eq!(pair(&bound), None, "pinned by SO_BINDTODEVICE");
        let v6 = pair(&socket("[2001:db8::2]:1", "[2001:db8:9::1]:443"));
        assert_eq!(v6.map(|p| p.local), Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2))));
    }

    #[test]
    fn same_interface_and_source_is_no_move() {
        let both = answer("veth0", 2, "10.1.0.2");
        assert_eq!(judge(PAIR, &both, Some(&both), Some("veth0")), None);
    }

    #[test]
    fn a_full_tunnel_moves_new_connections_while_this_one_keeps_its_source() {
        // 0/1 + 128/1 through tun0 in the main table: the kernel reroutes the old
        // source too, so the pinned lookup also says tun0; source and first differ.
        let fresh = answer("tun0", 7, "10.8.0.2");
        let pinned = answer("tun0", 7, "10.1.0.2");
        let moved = judge(PAIR, &fresh, Some(&pinned), Some("veth0")).unwrap_or_else(|| panic!("moved"));
        assert!(moved.interface_changed);
        assert_eq!(moved.interface_index, Some(7));
        assert_eq!(
            moved.text(),
            "new connections to 93.184.216.34 would leave via tun0 from 10.8.0.2; this one keeps 10.1.0.2 \
             (it started on veth0, now routed via tun0)"
        );
    }

    #[test]
    fn a_policy_routed_tunnel_leaves_this_one_on_its_interface() {
        // A `from 10.1.0.2` rule (or fwmark routing) keeps the old connection on veth0.
        let fresh = answer("tun0", 7, "10.8.0.2");
        let pinned = answer("veth0", 2, "10.1.0.2");
        let moved = judge(PAIR, &fresh, Some(&pinned), Some("veth0")).unwrap_or_else(|| panic!("moved"));
        assert!(moved.interface_changed);
        assert_eq!(
            moved.text(),
            "new connections to 93.184.216.34 would leave via tun0 from 10.8.0.2; this one stays on veth0 from 10.1.0.2"
        );
    }

    #[test]
    fn another_source_on_the_same_interface_is_only_a_candidate() {
        // An older IPv6 temporary address, or a secondary IPv4 one: the store checks
        // whether the connection's address is on that interface.
        let fresh = answer("veth0", 2, "10.1.0.9");
        let pinned = answer("veth0", 2, "10.1.0.2");
        let moved = judge(PAIR, &fresh, Some(&pinned), Some("veth0")).unwrap_or_else(|| panic!("candidate"));
        assert!(!moved.interface_changed);
    }

    #[test]
    fn a_refused_source_and_local_routes_are_handled() {
        // Once the local address is gone the kernel refuses `from` it: judged on the
        // source alone.
        let fresh = answer("veth0", 2, "10.1.0.9");
        let moved = judge(PAIR, &fresh, None, Some("veth0")).unwrap_or_else(|| panic!("moved"));
        assert_eq!(moved.current_interface, None);
        assert!(moved.text().ends_with("; this one keeps 10.1.0.2"), "{}", moved.text());
        let local = RouteAnswer { route_type: RouteType::Local, ..answer("lo", 1, "10.1.0.9") };
        assert_eq!(judge(PAIR, &local, None, None), None);
    }
}
