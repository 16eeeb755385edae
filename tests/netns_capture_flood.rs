//! The capture under floods, against a real kernel inside throwaway network
//! namespaces: a deliberately small ring's drops are the kernel's and every packet is
//! either read or counted dropped; memory stays bounded under a flood of flows and DNS
//! queries. Needs root; see `common::netns::require_netns`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::capture::{Capture, INTERVAL, TIMEOUT, in_netns, local, serial, udp_in};
use common::netns::{Netns, require_netns};
use netlens_collectors::capture::{CaptureConfig, RingConfig, RingSizes};
use netlens_collectors::dns::capture::DnsCaptureConfig;
use netlens_collectors::model::Protocol;

/// Disable IPv6 in `netns` (its neighbour discovery and MLD would pass the filter's
/// header rule and count in the kernel's packets).
fn without_ipv6(netns: &Netns) {
    for key in ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"] {
        let status = std::process::Command::new("ip")
            .args(["netns", "exec", netns.name(), "sysctl", "-qw", key])
            .status()
            .unwrap_or_else(|error| panic!("sysctl {key}: {error}"));
        assert!(status.success(), "sysctl {key} in {}", netns.name());
    }
}

/// `rx_packets` of interface `name` in `netns`, as the kernel counts them.
fn received_packets(netns: &Netns, name: &str) -> u64 {
    let links = netns.json(&["-s", "link", "show", "dev", name]);
    links[0]["stats64"]["rx"]["packets"]
        .as_u64()
        .unwrap_or_else(|| panic!("no rx counter for {name}: {links}"))
}

/// A second namespace joined to `here` by a veth pair, `nlc4` (10.78.0.1) here and
/// `nlc5` (10.78.0.2) there, neither with IPv6, and permanent neighbours: no ARP during
/// a flood, so every packet `nlc4` receives is the flood's.
fn veth_pair(here: &Netns) -> Netns {
    let there = Netns::create().unwrap_or_else(|error| panic!("second namespace: {error}"));
    without_ipv6(here);
    without_ipv6(&there);
    here.batch(&format!(
        "link set lo up\n\
         link add nlc4 address 02:00:00:00:78:01 type veth peer name nlc5 netns {there} address 02:00:00:00:78:02\n\
         addr add 10.78.0.1/24 dev nlc4\n\
         link set nlc4 up\n\
         neigh add 10.78.0.2 lladdr 02:00:00:00:78:02 dev nlc4 nud permanent\n",
        there = there.name()
    ));
    there.batch(
        "link set lo up\n\
         addr add 10.78.0.2/24 dev nlc5\n\
         link set nlc5 up\n\
         neigh add 10.78.0.1 lladdr 02:00:00:00:78:01 dev nlc5 nud permanent\n",
    );
    there
}

/// The sizes of this process's packet rings, smallest first, from its memory map: each
/// ring is one mapping of a `socket:[inode]`.
fn packet_ring_sizes() -> Vec<u64> {
    let maps =
        std::fs::read_to_string("/proc/self/maps").unwrap_or_else(|error| panic!("/proc/self/maps: {error}"));
    let mut sizes: Vec<u64> = maps
        .lines()
        .filter(|line| line.split_whitespace().nth(5).is_some_and(|path| path.starts_with("socket:")))
        .map(|line| {
            let range = line.split_whitespace().next().unwrap_or_default();
            let (start, end) = range.split_once('-').unwrap_or_else(|| panic!("a maps line: {line}"));
            let address =
                |hex: &str| u64::from_str_radix(hex, 16).unwrap_or_else(|error| panic!("{hex}: {error}"));
            address(end) - address(start)
        })
        .collect();
    sizes.sort_unstable();
    sizes
}

/// The flow the floods are counted in: (protocol, local, remote).
type FlowKey = (Protocol, SocketAddr, SocketAddr);

/// The counts of `nlc4` and of one flow before a flood.
struct Before {
    key: FlowKey,
    received: u64,
    kernel: (u64, u64),
    bytes: u64,
}

/// What a flood came to: packets `nlc4` received, the capture's packets and drops by
/// the kernel's counters, and packets read (the flow's bytes over each one's).
struct Tally {
    arrived: u64,
    packets: u64,
    dropped: u64,
    read: u64,
}

impl Before {
    fn now(capture: &Capture, here: &Netns, key: FlowKey) -> Self {
        let kernel = capture.kernel_of("nlc4");
        Self {
            key,
            received: received_packets(here, "nlc4"),
            kernel,
            bytes: capture.total(key.0, key.1, key.2).0,
        }
    }

    /// Once the capture's kernel counts reach what the interface received.
    fn tally(&self, capture: &mut Capture, here: &Netns, bytes_each: u64) -> Tally {
        let arrived = received_packets(here, "nlc4") - self.received;
        // Every packet that reached the interface passed the filter: the kernel's count.
        capture.wait_for("the flood's kernel counts", |capture| {
            capture.kernel_of("nlc4").0 - self.kernel.0 == arrived
        });
        capture.wait_samples(2);
        let (packets, dropped) = capture.kernel_of("nlc4");
        let (packets, dropped) = (packets - self.kernel.0, dropped - self.kernel.1);
        let (protocol, local, remote) = self.key;
        let read = (capture.total(protocol, local, remote).0 - self.bytes) / bytes_each;
        eprintln!("arrived {arrived}, kernel packets {packets}, dropped {dropped}, read {read}");
        Tally { arrived, packets, dropped, read }
    }
}

#[test]
fn drops_of_a_small_ring_are_the_kernels_and_every_packet_is_accounted_for() {
    let _serial = serial();
    let Some(here) = require_netns() else { return };
    let there = veth_pair(&here);
    // One page-sized block: while the capture thread holds it, every packet is dropped.
    let ring = RingConfig { block_size: 4096, block_count: 1, retire: Duration::from_millis(5) };
    let config =
        CaptureConfig { interval: INTERVAL, rings: RingSizes::fixed(ring), ..CaptureConfig::default() };
    let mut capture = Capture::start_with(&here, config);
    capture.wait_for_status("packet capture on lo, nlc4");

    let flooder = udp_in(&there, "10.78.0.2:0");
    let target: SocketAddr = "10.78.0.1:9".parse().unwrap_or_else(|error| panic!("{error}"));
    let size = 100;
    // Counted by IP length.
    let bytes_each = size as u64 + 28;
    let key = (Protocol::Udp, target, local(&flooder));
    let flood = |count: usize| {
        let payload = vec![0x33; size];
        for _ in 0..count {
            // The kernel may refuse a datagram when its queues are full: then it was
            // never received either, and the interface counter below says so.
            let _ = flooder.send_to(&payload, target);
        }
    };
    flood(10);
    capture.wait_for("the warm-up", |capture| capture.total(key.0, key.1, key.2).0 == 10 * bytes_each);
    capture.wait_for("the warm-up's kernel counts", |capture| capture.kernel_of("nlc4").0 == 10);
    let before = Before::now(&capture, &here, key);

    flood(200_000);
    let Tally { arrived, packets, dropped, read } = before.tally(&mut capture, &here, bytes_each);
    assert_eq!(packets, arrived, "packets past the filter: the interface's rx_packets");
    assert!(dropped > 0, "a one-block ring under {arrived} packets drops some");
    assert_eq!(read + dropped, packets, "every packet was either read ({read}) or dropped ({dropped})");
    // The export's totals are the sum of the interfaces (lo saw nothing).
    assert_eq!(capture.kernel_of("lo"), (0, 0));
    assert_eq!(
        (capture.kernel.packets, capture.kernel.dropped),
        (before.kernel.0 + packets, before.kernel.1 + dropped)
    );
    // And the status says it.
    let detail = capture.status.as_ref().map(|(_, detail)| detail.clone()).unwrap_or_default();
    assert!(detail.contains("dropped by the kernel"), "{detail}");
}

/// Wait until this process's packet rings are of `sizes` (smallest first).
fn wait_for_rings(sizes: &[u64], what: &str) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while packet_ring_sizes() != sizes {
        assert!(std::time::Instant::now() < deadline, "{what}: rings of {:?}", packet_ring_sizes());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_busy_interface_gets_a_larger_ring_without_losing_a_packet_and_a_calm_one_gives_it_back() {
    let _serial = serial();
    let Some(here) = require_netns() else { return };
    let there = veth_pair(&here);
    let ring =
        |blocks| RingConfig { block_size: 4096, block_count: blocks, retire: Duration::from_millis(5) };
    let (quiet, busy) = (ring(2), ring(16));
    let rings = RingSizes { quiet, busy, busy_rate: 5_000, calm_after: Duration::from_secs(3) };
    let config = CaptureConfig { interval: INTERVAL, rings, ..CaptureConfig::default() };
    let mut capture = Capture::start_with(&here, config);
    capture.wait_for_status("packet capture on lo, nlc4");
    assert_eq!(packet_ring_sizes(), vec![quiet.bytes(); 2], "lo and nlc4 start with quiet rings");

    let flooder = udp_in(&there, "10.78.0.2:0");
    let target: SocketAddr = "10.78.0.1:9".parse().unwrap_or_else(|error| panic!("{error}"));
    let key = (Protocol::Udp, target, local(&flooder));
    let bytes_each = 100 + 28;
    let before = Before::now(&capture, &here, key);
    let payload = vec![0x44; 100];
    for _ in 0..100_000 {
        let _ = flooder.send_to(&payload, target);
    }
    wait_for_rings(&[quiet.bytes(), busy.bytes()], "nlc4 moved to a busy ring by the flood");
    let Tally { arrived, packets, dropped, read } = before.tally(&mut capture, &here, bytes_each);
    assert_eq!(packets, arrived, "the two rings together counted every packet the interface received");
    assert_eq!(
        read + dropped,
        packets,
        "every packet was read ({read}) from one ring or dropped ({dropped})"
    );

    // Calm for 3 s: the quiet ring is back, and counts as exactly.
    wait_for_rings(&[quiet.bytes(); 2], "nlc4 back to a quiet ring once calm");
    for _ in 0..10 {
        flooder.send_to(&payload, target).unwrap_or_else(|error| panic!("send: {error}"));
    }
    capture.wait_for("ten more, read from the quiet ring", |capture| {
        (capture.total(key.0, key.1, key.2).0 - before.bytes) / bytes_each == read + 10
    });
    capture.wait_for("and counted", |capture| capture.kernel_of("nlc4").0 - before.kernel.0 == packets + 10);
}

/// A DNS query for `name` with transaction `id`.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        bytes.push(u8::try_from(label.len()).unwrap_or(63));
        bytes.extend_from_slice(label.as_bytes());
    }
    bytes.extend_from_slice(&[0, 0, 1, 0, 1]);
    bytes
}

#[test]
fn memory_stays_bounded_under_a_flood_of_flows_and_dns_queries() {
    let _serial = serial();
    let Some(here) = require_netns() else { return };
    let there = Netns::create().unwrap_or_else(|error| panic!("second namespace: {error}"));
    here.batch(&format!(
        "link set lo up\n\
         link add nlc6 type veth peer name nlc7 netns {there}\n\
         addr add 10.79.1.1/24 dev nlc6\n\
         link set nlc6 up\n",
        there = there.name()
    ));
    there.batch("link set lo up\naddr add 10.79.1.2/24 dev nlc7\nlink set nlc7 up\n");
    let (max_flows, max_pending, max_batch) = (1000, 256, 512);
    let config = CaptureConfig { interval: INTERVAL, max_flows, ..CaptureConfig::default() };
    let dns = DnsCaptureConfig { flush: INTERVAL, max_pending, max_batch, ..DnsCaptureConfig::default() };
    let mut capture = Capture::start_both(&here, config, Some(dns), false);
    capture.wait_for_status("packet capture on lo, nlc6");

    // 200,000 datagrams from 4,000 ports (4,000 flows, four times the table) and
    // 10,000 DNS queries from 1,000 ports that nobody answers (forty times the
    // outstanding limit), as fast as the sender goes.
    let sent = in_netns(&there, || {
        let flows: Vec<UdpSocket> = (0..4000)
            .map(|_| UdpSocket::bind("10.79.1.2:0").unwrap_or_else(|e| panic!("bind: {e}")))
            .collect();
        let askers: Vec<UdpSocket> = (0..1000)
            .map(|_| UdpSocket::bind("10.79.1.2:0").unwrap_or_else(|e| panic!("bind: {e}")))
            .collect();
        let target: SocketAddr = "10.79.1.1:9".parse().unwrap_or_else(|e| panic!("{e}"));
        let resolver: SocketAddr = "10.79.1.1:53".parse().unwrap_or_else(|e| panic!("{e}"));
        let payload = [0x42; 64];
        let mut sent = (0u64, 0u64);
        for n in 0..200_000usize {
            if flows[n % flows.len()].send_to(&payload, target).is_ok() {
                sent.0 += 1;
            }
            if n % 20 == 0 {
                let id = u16::try_from(n / 20 % 65_536).unwrap_or(0);
                if askers[n / 20 % askers.len()]
                    .send_to(&dns_query(id, &format!("q{n}.flood.test")), resolver)
                    .is_ok()
                {
                    sent.1 += 1;
                }
            }
        }
        sent
    });
    // Every query that reached the capture was seen; the unanswered ones time out
    // (5 s) and are logged in bounded batches.
    capture.wait_for("the DNS capture to see the queries", |capture| capture.dns_counters.packets > 0);
    capture.wait_samples(4);
    assert!(sent.0 > 150_000 && sent.1 > 9_000, "sent {sent:?}");
    assert!(capture.largest_sample <= max_flows, "a sample of {} flows", capture.largest_sample);
    assert_eq!(capture.largest_sample, max_flows, "the table filled (4,000 flows for {max_flows} places)");
    let largest_batch = capture.dns_batches.iter().copied().max().unwrap_or_default();
    // A batch is the matcher's finished exchanges (at most max_batch) plus those held
    // one flush for their owner lookup (at most one earlier batch).
    assert!(largest_batch <= 2 * max_batch, "a DNS batch of {largest_batch}");
    // Beyond the outstanding limit the oldest queries were expired early: counted.
    assert!(
        capture.dns_counters.timeouts >= capture.dns_counters.packets - max_pending as u64,
        "{:?}",
        capture.dns_counters
    );
    // The rings are fixed in size: what did not fit was dropped and counted, not queued.
    let (packets, dropped) = capture.kernel_of("nlc6");
    eprintln!(
        "sent {sent:?}; largest flow sample {}, largest DNS batch {largest_batch}, DNS {:?}; \
         kernel {packets} packets, {dropped} dropped",
        capture.largest_sample, capture.dns_counters
    );
    assert!(
        packets >= 150_000,
        "the kernel counted {packets} packets (and dropped {dropped}) of {sent:?} sent"
    );
}
