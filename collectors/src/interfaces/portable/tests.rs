use std::net::Ipv4Addr;

use super::*;
use crate::interfaces::sysfs::fake::FakeSysfs;
use crate::model::{InterfaceKind, TimelineKind};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn sample(interface: &str, index: Option<u32>, address: &str, prefix_len: u8) -> AddressSample {
    let address = ip(address);
    AddressSample { interface: interface.into(), index, address, prefix_len, loopback: address.is_loopback() }
}

fn link(interface: &str, oper_state: OperState, rx_bytes: u64) -> LinkSample {
    LinkSample {
        interface: interface.into(),
        mac: Some("02:00:00:00:00:01".into()),
        mtu: 1500,
        oper_state,
        stats: InterfaceStats { rx_bytes, ..InterfaceStats::default() },
    }
}

fn host() -> FakeSysfs {
    FakeSysfs::default()
        .with("lo", "ifindex", "1\n")
        .with("lo", "flags", "0x9\n")
        .with("lo", "carrier", "1\n")
        .with("wlan0", "ifindex", "3\n")
        .with("wlan0", "flags", "0x1003\n")
        .with("wlan0", "carrier", "1\n")
        .with("wlan0", "uevent", "DEVTYPE=wlan\nINTERFACE=wlan0\n")
        .with("wlan0", "type", "1\n")
        .with("eth0", "ifindex", "2\n")
        .with("eth0", "type", "1\n")
        .with("eth0", "flags", "0x1002\n")
}

#[test]
fn one_poll_fills_the_interface_model() {
    let addresses = [
        sample("lo", Some(1), "127.0.0.1", 8),
        sample("wlan0", Some(3), "fe80::1", 64),
        sample("wlan0", Some(3), "192.168.1.20", 24),
        sample("eth0", Some(2), "169.254.3.4", 16),
    ];
    let links = [
        link("lo", OperState::Unknown, 10),
        link("wlan0", OperState::Up, 20),
        link("eth0", OperState::Down, 30),
        link("usb0", OperState::Down, 40),
    ];
    let table = assemble(&addresses, &links, &host(), &mut SyntheticIndexes::default());
    let summary: Vec<(u32, &str, InterfaceKind, bool, bool)> =
        table.interfaces.iter().map(|i| (i.index, i.name.as_str(), i.kind, i.is_up(), i.carrier)).collect();
    assert_eq!(
        summary,
        [
            (1, "lo", InterfaceKind::Loopback, true, true),
            (2, "eth0", InterfaceKind::Ethernet, false, false),
            (3, "wlan0", InterfaceKind::Wifi, true, true),
            (SYNTHETIC_INDEX_BASE, "usb0", InterfaceKind::Other, false, false),
        ]
    );
    let wlan0 = &table.interfaces[2];
    let wlan0_addresses: Vec<(String, AddressScope)> =
        wlan0.addresses.iter().map(|a| (format!("{}/{}", a.address, a.prefix_len), a.scope)).collect();
    assert_eq!(
        wlan0_addresses,
        [("192.168.1.20/24".to_owned(), AddressScope::Global), ("fe80::1/64".to_owned(), AddressScope::Link)]
    );
    assert_eq!(table.interfaces[0].addresses[0].scope, AddressScope::Host);
    assert_eq!(table.interfaces[1].addresses[0].scope, AddressScope::Link);
    assert_eq!(wlan0.stats.map(|s| s.rx_bytes), Some(20));
    assert_eq!((wlan0.mtu, wlan0.mac.as_deref()), (1500, Some("02:00:00:00:00:01")));
    assert!(table.routes.is_empty() && table.rules.is_empty() && table.neighbors.is_empty());
}

#[test]
fn without_sysfs_flags_follow_the_operational_state() {
    let links =
        [link("lo", OperState::Unknown, 0), link("en0", OperState::Up, 0), link("en1", OperState::Down, 0)];
    let addresses = [sample("lo", Some(1), "::1", 128), sample("en0", Some(4), "10.1.2.3", 8)];
    let table = assemble(&addresses, &links, &FakeSysfs::default(), &mut SyntheticIndexes::default());
    let summary: Vec<(&str, bool, bool, bool)> = table
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.is_up(), i.carrier, i.flags.contains(LinkFlags::LOOPBACK)))
        .collect();
    assert_eq!(summary, [("lo", true, true, true), ("en0", true, true, false), ("en1", false, false, false)]);
}

#[test]
fn made_up_indexes_are_stable_by_name() {
    let mut synthetic = SyntheticIndexes::default();
    let sysfs = FakeSysfs::default();
    let first = assemble(&[], &[link("a0", OperState::Up, 0)], &sysfs, &mut synthetic);
    let second =
        assemble(&[], &[link("b0", OperState::Up, 0), link("a0", OperState::Up, 0)], &sysfs, &mut synthetic);
    let index_of =
        |table: &NetworkTable, name: &str| table.interfaces.iter().find(|i| i.name == name).map(|i| i.index);
    assert_eq!(index_of(&first, "a0"), index_of(&second, "a0"));
    assert_ne!(index_of(&second, "a0"), index_of(&second, "b0"));
}

#[test]
fn consecutive_polls_are_diffed_into_notices() {
    let sysfs = host();
    let mut synthetic = SyntheticIndexes::default();
    let first = assemble(
        &[sample("eth0", Some(2), "10.0.0.1", 24)],
        &[link("eth0", OperState::Up, 0)],
        &sysfs,
        &mut synthetic,
    );
    let (notices, known) = differences(None, &first);
    assert!(notices.is_empty(), "the first poll is the baseline");

    let second = assemble(
        &[sample("eth0", Some(2), "10.0.0.2", 24), sample("wlan0", Some(3), "192.168.1.20", 24)],
        &[link("eth0", OperState::Up, 0), link("wlan0", OperState::Up, 0)],
        &sysfs,
        &mut synthetic,
    );
    let (notices, known) = differences(Some(known), &second);
    let have: Vec<(TimelineKind, &str)> = notices.iter().map(|n| (n.kind, n.detail.as_str())).collect();
    assert_eq!(
        have,
        [
            (TimelineKind::AddressRemoved, "10.0.0.1/24 removed from eth0"),
            (TimelineKind::AddressAdded, "10.0.0.2/24 added to eth0"),
            (TimelineKind::LinkAdded, "wlan0 added (wifi)"),
            (TimelineKind::AddressAdded, "192.168.1.20/24 added to wlan0"),
        ]
    );

    let third = assemble(&[], &[], &sysfs, &mut synthetic);
    let (notices, _) = differences(Some(known), &third);
    let removed: Vec<(TimelineKind, &str)> = notices.iter().map(|n| (n.kind, n.detail.as_str())).collect();
    assert_eq!(
        removed,
        [
            (TimelineKind::AddressRemoved, "10.0.0.2/24 removed from eth0"),
            (TimelineKind::AddressRemoved, "192.168.1.20/24 removed from wlan0"),
            (TimelineKind::LinkRemoved, "eth0 removed"),
            (TimelineKind::LinkRemoved, "wlan0 removed"),
        ]
    );
}

#[test]
fn the_status_line_says_what_the_fallback_does_not_read() {
    let line = status_line("portable fallback (if-addrs + sysinfo): --no-netlink");
    assert_eq!(
        line,
        "portable fallback (if-addrs + sysinfo): --no-netlink; routes, rules and neighbours are not read \
         (they need rtnetlink)"
    );
    // The Interfaces tab shows the part before the first colon as the backend.
    assert_eq!(line.split(':').next(), Some("portable fallback (if-addrs + sysinfo)"));
}
