//! Direction, loopback and bounds of the flow table.

use super::*;
use crate::capture::testing::Must as _;

fn endpoint(text: &str) -> SocketAddr {
    text.parse().must()
}

fn packet(protocol: Protocol, source: &str, destination: &str, bytes: u64) -> Frame {
    Frame::Flow(Packet { protocol, source: endpoint(source), destination: endpoint(destination), bytes })
}

fn table() -> FlowTable {
    let mut table = FlowTable::new(1000);
    table.set_locals(LocalAddresses {
        unicast: ["10.0.0.1", "fd00::1"].iter().map(|a| a.parse().must()).collect(),
        broadcast: ["10.0.0.255".parse().must()].into_iter().collect(),
    });
    table
}

/// (protocol, local, remote) → (rx, tx), sorted.
fn summary(flows: &[FlowBytes]) -> Vec<(Protocol, String, String, u64, u64)> {
    let mut rows: Vec<_> = flows
        .iter()
        .map(|flow| {
            (flow.protocol, flow.local.to_string(), flow.remote.to_string(), flow.rx_bytes, flow.tx_bytes)
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    protocol: Protocol,
    local: &str,
    remote: &str,
    rx: u64,
    tx: u64,
) -> (Protocol, String, String, u64, u64) {
    (protocol, local.to_owned(), remote.to_owned(), rx, tx)
}

#[test]
fn direction_follows_the_local_addresses() {
    let mut table = table();
    table.observe(packet(Protocol::Udp, "10.0.0.1:40000", "10.0.0.53:53", 60));
    table.observe(packet(Protocol::Udp, "10.0.0.53:53", "10.0.0.1:40000", 200));
    table.observe(packet(Protocol::Udp, "10.0.0.53:53", "10.0.0.1:40000", 100));
    table.observe(packet(Protocol::Tcp, "[fd00::9]:443", "[fd00::1]:50000", 1500));
    assert_eq!(
        summary(&table.take()),
        [
            row(Protocol::Tcp, "[fd00::1]:50000", "[fd00::9]:443", 1500, 0),
            row(Protocol::Udp, "10.0.0.1:40000", "10.0.0.53:53", 300, 60),
        ]
    );
    assert!(table.take().is_empty(), "each interval starts empty");
}

#[test]
fn multicast_and_broadcast_are_received_and_transit_is_ignored() {
    let mut table = table();
    table.observe(packet(Protocol::Udp, "10.0.0.7:5353", "224.0.0.251:5353", 100));
    table.observe(packet(Protocol::Udp, "10.0.0.7:68", "255.255.255.255:67", 300));
    table.observe(packet(Protocol::Udp, "10.0.0.7:137", "10.0.0.255:137", 90));
    table.observe(packet(Protocol::Udp, "10.0.0.7:1", "10.0.0.8:2", 1000));
    table.observe(packet(Protocol::Udp, "10.0.0.1:5353", "224.0.0.251:5353", 80));
    assert_eq!(
        summary(&table.take()),
        [
            row(Protocol::Udp, "10.0.0.1:5353", "224.0.0.251:5353", 0, 80),
            row(Protocol::Udp, "10.0.0.255:137", "10.0.0.7:137", 90, 0),
            row(Protocol::Udp, "224.0.0.251:5353", "10.0.0.7:5353", 100, 0),
            row(Protocol::Udp, "255.255.255.255:67", "10.0.0.7:68", 300, 0),
        ]
    );
    assert_eq!(table.stats().transit, 1);
    assert_eq!(table.stats().counted, 4);
}

#[test]
fn loopback_counts_once_from_each_side() {
    let mut table = table();
    table.observe(packet(Protocol::Udp, "127.0.0.1:1000", "127.0.0.1:2000", 361));
    // Traffic to the host's own non-loopback address goes over lo too.
    table.observe(packet(Protocol::Tcp, "10.0.0.1:3000", "10.0.0.1:4000", 52));
    assert_eq!(
        summary(&table.take()),
        [
            row(Protocol::Tcp, "10.0.0.1:3000", "10.0.0.1:4000", 0, 52),
            row(Protocol::Tcp, "10.0.0.1:4000", "10.0.0.1:3000", 52, 0),
            row(Protocol::Udp, "127.0.0.1:1000", "127.0.0.1:2000", 0, 361),
            row(Protocol::Udp, "127.0.0.1:2000", "127.0.0.1:1000", 361, 0),
        ]
    );
}

#[test]
fn the_table_is_bounded() {
    let mut table = FlowTable::new(2);
    table.set_locals(LocalAddresses::default());
    for port in 1..=5 {
        table.observe(packet(Protocol::Udp, &format!("127.0.0.1:{port}"), "127.0.0.2:9", 10));
    }
    let flows = table.take();
    assert_eq!(flows.len(), 2);
    // Each packet wanted two entries (sender's and receiver's side).
    assert_eq!(table.stats().overflow, 8);
}

#[test]
fn frames_that_are_not_flows_are_counted_by_kind() {
    let mut table = table();
    table.observe(Frame::Malformed);
    table.observe(Frame::Malformed);
    table.observe(Frame::Fragment);
    table.observe(Frame::Other);
    let stats = table.stats();
    assert_eq!((stats.frames, stats.malformed, stats.fragments, stats.other), (4, 2, 1, 1));
    assert!(table.take().is_empty());
}
