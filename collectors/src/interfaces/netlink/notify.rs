//! Notifications → [`Change`]s for the known state (which phrases them).

use netlink_packet_route::RouteNetlinkMessage;

use super::super::known::Change;
use super::super::sysfs::SysfsCache;
use super::parse;

/// What one notification says changed, or `None` for what netlens does not track.
pub(crate) fn change(message: &RouteNetlinkMessage, sysfs: &mut SysfsCache) -> Option<Change> {
    match message {
        RouteNetlinkMessage::NewLink(link) => parse::link(link, sysfs).map(Change::Link),
        RouteNetlinkMessage::DelLink(link) => parse::link_identity(link).map(|(index, name)| {
            sysfs.forget(index);
            Change::LinkRemoved { index, name }
        }),
        RouteNetlinkMessage::NewAddress(address) => {
            parse::address(address).map(|(index, address)| Change::Address(index, address))
        }
        RouteNetlinkMessage::DelAddress(address) => {
            parse::address(address).map(|(index, address)| Change::AddressRemoved(index, address))
        }
        RouteNetlinkMessage::NewRoute(route) => parse::route(route).map(Change::Route),
        RouteNetlinkMessage::DelRoute(route) => parse::route(route).map(Change::RouteRemoved),
        RouteNetlinkMessage::NewRule(rule) => parse::rule(rule).map(Change::Rule),
        RouteNetlinkMessage::DelRule(rule) => parse::rule(rule).map(Change::RuleRemoved),
        RouteNetlinkMessage::NewNeighbour(neighbor) => parse::neighbor(neighbor).map(Change::Neighbor),
        RouteNetlinkMessage::DelNeighbour(neighbor) => parse::neighbor(neighbor).map(Change::NeighborRemoved),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::address::{AddressAttribute, AddressMessage};
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};
    use netlink_packet_route::nsid::NsidMessage;

    use super::*;
    use crate::interfaces::sysfs::fake::FakeSysfs;

    #[test]
    fn notifications_become_changes() {
        let mut sysfs = SysfsCache::new(Box::new(FakeSysfs::default()));
        let mut link = LinkMessage::default();
        link.header.index = 4;
        link.attributes.push(LinkAttribute::IfName("veth0".into()));
        let mut address = AddressMessage::default();
        address.header.family = netlink_packet_route::AddressFamily::Inet;
        address.header.index = 4;
        address.header.prefix_len = 24;
        address.attributes.push(AddressAttribute::Local([10, 0, 0, 1].into()));

        let removed = change(&RouteNetlinkMessage::DelLink(link.clone()), &mut sysfs);
        assert_eq!(removed, Some(Change::LinkRemoved { index: 4, name: "veth0".into() }));
        let added = change(&RouteNetlinkMessage::NewLink(link), &mut sysfs);
        assert!(matches!(added, Some(Change::Link(interface)) if interface.name == "veth0"));
        let address = change(&RouteNetlinkMessage::DelAddress(address), &mut sysfs);
        assert!(matches!(address, Some(Change::AddressRemoved(4, a)) if a.prefix_len == 24));
        let untracked = RouteNetlinkMessage::NewNsId(NsidMessage::default());
        assert_eq!(change(&untracked, &mut sysfs), None);
    }
}
