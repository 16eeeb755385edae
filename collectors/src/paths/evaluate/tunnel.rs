//! Whether a path leaves through a tunnel (DESIGN.md §5): by the output interface's
//! kind alone. A policy table or a mark is no tunnel: `mark=16` over a veth, or
//! `via=lo`, leave through ordinary interfaces.

use crate::model::Interface;

/// Link kinds (`IFLA_INFO_KIND`) of tunnels that have no functional kind of their
/// own: IP-in-IP, GRE, SIT, VTI, IPv6 tunnels, XFRM, and the overlay tunnels.
const TUNNEL_LINK_KINDS: [&str; 13] = [
    "ipip",
    "gre",
    "gretap",
    "erspan",
    "sit",
    "vti",
    "vti6",
    "ip6tnl",
    "ip6gre",
    "ip6gretap",
    "xfrm",
    "vxlan",
    "geneve",
];

/// Whether traffic leaving through `link` is tunnelled: tun, `WireGuard`, PPP, or a
/// tunnel link kind.
pub(super) fn leaves_through_tunnel(link: &Interface) -> bool {
    link.kind.is_tunnel() || link.link_kind.as_deref().is_some_and(|kind| TUNNEL_LINK_KINDS.contains(&kind))
}
