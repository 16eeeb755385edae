//! Which interfaces are captured, with which framing, and what counts as local.

use std::net::{IpAddr, Ipv4Addr};

use pnet::datalink::MacAddr;

use super::*;
use crate::capture::testing::Must as _;

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_POINTOPOINT: u32 = 0x10;

fn interface(name: &str, index: u32, flags: u32, mac: Option<MacAddr>, ips: &[&str]) -> NetworkInterface {
    NetworkInterface {
        name: name.to_owned(),
        description: String::new(),
        index,
        mac,
        ips: ips.iter().map(|ip| ip.parse().must()).collect(),
        flags,
    }
}

fn ethernet_mac(last: u8) -> Option<MacAddr> {
    Some(MacAddr::new(0x02, 0, 0, 0, 0, last)).filter(|mac| !mac.is_zero())
}

#[test]
fn up_interfaces_are_captured_with_their_framing() {
    let interfaces = [
        interface("lo", 1, IFF_UP | IFF_LOOPBACK, Some(MacAddr::zero()), &["127.0.0.1/8", "::1/128"]),
        interface("eth0", 2, IFF_UP | IFF_BROADCAST, ethernet_mac(1), &["192.168.1.10/24", "fe80::1/64"]),
        interface("tun0", 3, IFF_UP | IFF_POINTOPOINT, None, &["10.8.0.2/32"]),
        interface("wg0", 4, IFF_UP | IFF_POINTOPOINT, Some(MacAddr::zero()), &["10.9.0.2/24"]),
        interface("eth1", 5, IFF_BROADCAST, ethernet_mac(5), &["10.1.1.1/24"]),
        interface("eth2", 6, IFF_UP | IFF_SLAVE, ethernet_mac(6), &[]),
        interface("vethport", 7, IFF_UP | IFF_BROADCAST, ethernet_mac(7), &["fe80::7/64"]),
        interface("gre1", 8, IFF_UP | IFF_POINTOPOINT, None, &["10.10.0.1/30"]),
        interface("vanished", 0, IFF_UP, ethernet_mac(9), &[]),
    ];
    let inventory = plan(&interfaces, |interface| match interface.name.as_str() {
        "wg0" => Some(SysfsFacts { link_type: ARPHRD_NONE, bridge_port: false }),
        "vethport" => Some(SysfsFacts { link_type: ARPHRD_ETHER, bridge_port: true }),
        "gre1" => Some(SysfsFacts { link_type: 778, bridge_port: false }),
        _ => None,
    });
    let links: Vec<_> = inventory
        .links
        .iter()
        .map(|link| (link.interface.name.as_str(), link.framing, link.loopback))
        .collect();
    assert_eq!(
        links,
        [
            ("eth0", Framing::Ethernet, false),
            ("lo", Framing::Ethernet, true),
            ("tun0", Framing::RawIp, false),
            ("wg0", Framing::RawIp, false),
        ]
    );
    assert_eq!(inventory.unsupported, ["gre1 (link type 778)"]);

    let locals = &inventory.locals;
    for local in ["192.168.1.10", "fe80::1", "10.8.0.2", "10.1.1.1", "127.0.0.1", "127.1.2.3", "::1"] {
        assert!(locals.is_local(local.parse().must()), "{local} is local");
    }
    assert!(!locals.is_local("192.168.1.11".parse().must()));
    assert!(locals.broadcast.contains(&Ipv4Addr::new(192, 168, 1, 255)));
    assert!(locals.broadcast.contains(&Ipv4Addr::new(10, 9, 0, 255)));
    assert!(!locals.broadcast.contains(&Ipv4Addr::new(10, 8, 0, 2)), "a /32 has no broadcast address");
    assert!(locals.receives(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 255))));
    assert!(locals.receives("ff02::fb".parse().must()));
}

#[test]
fn sysfs_is_trusted_only_for_the_same_interface_index() {
    let root = tempfile::tempdir().must();
    let eth0 = root.path().join("class/net/eth0");
    std::fs::create_dir_all(eth0.join("brport")).must();
    std::fs::write(eth0.join("ifindex"), "2\n").must();
    std::fs::write(eth0.join("type"), "1\n").must();
    assert_eq!(
        sysfs_facts(root.path(), "eth0", 2),
        Some(SysfsFacts { link_type: ARPHRD_ETHER, bridge_port: true })
    );
    assert_eq!(sysfs_facts(root.path(), "eth0", 7), None, "another namespace's eth0");
    assert_eq!(sysfs_facts(root.path(), "eth9", 2), None);
    assert_eq!(sysfs_facts(root.path(), "../eth0", 2), None);
}
