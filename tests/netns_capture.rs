//! The capture source against a real kernel, inside throwaway network namespaces: UDP
//! datagrams sent between sockets this test opens (across a veth pair to a second
//! namespace, and over loopback) must appear in its flow samples with exact byte
//! counts from the capturing namespace's point of view; captures follow interfaces
//! without spinning; every packet is read or counted dropped. Needs root.
//!
//! Byte counts are IP lengths: a UDP payload of `n` bytes counts `n + 28` over IPv4
//! and `n + 48` over IPv6.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::capture::{
    Capture, INTERVAL, exchange, local, serial, udp_in, wait_until, wakeups_and_ticks, wakeups_of,
};
use common::netns::{Netns, require_netns};
use netlens_collectors::capture::CaptureConfig;
use netlens_collectors::model::Protocol;

#[test]
fn udp_bytes_are_counted_exactly_from_this_hosts_side() {
    let _serial = serial();
    let Some(here) = require_netns() else { return };
    let there = Netns::create().unwrap_or_else(|error| panic!("second namespace: {error}"));
    here.batch(&format!(
        "link set lo up\n\
         link add nlc0 type veth peer name nlc1 netns {there}\n\
         addr add 10.77.0.1/24 dev nlc0\n\
         addr add fd77::1/64 dev nlc0 nodad\n\
         link set nlc0 up\n",
        there = there.name()
    ));
    there.batch(
        "link set lo up\n\
         addr add 10.77.0.2/24 dev nlc1\n\
         addr add fd77::2/64 dev nlc1 nodad\n\
         link set nlc1 up\n",
    );

    let mut capture = Capture::start(&here);
    capture.wait_for_status("packet capture on lo, nlc0");

    let (near4, far4) = (udp_in(&here, "10.77.0.1:0"), udp_in(&there, "10.77.0.2:0"));
    let (near6, far6) = (udp_in(&here, "[fd77::1]:0"), udp_in(&there, "[fd77::2]:0"));
    let (lo_a, lo_b) = (udp_in(&here, "127.0.0.1:0"), udp_in(&here, "127.0.0.1:0"));
    // Resolve the neighbours first, so no counted datagram waits in a neighbour queue;
    // what follows is measured from here.
    exchange(&near4, &far4, 1, 1);
    exchange(&near6, &far6, 1, 1);
    capture.wait_samples(2);
    let before = capture.totals.clone();

    exchange(&near4, &far4, 20, 1000);
    exchange(&far4, &near4, 10, 300);
    exchange(&near6, &far6, 5, 500);
    exchange(&far6, &near6, 2, 52);
    // 333 + 28 = 361: odd, and each loopback packet is seen twice.
    exchange(&lo_a, &lo_b, 7, 333);
    exchange(&lo_b, &lo_a, 3, 100);

    let delta = |capture: &Capture, near: &UdpSocket, far: &UdpSocket| {
        let key = (Protocol::Udp, local(near), local(far));
        let (rx, tx) = capture.total(key.0, key.1, key.2);
        let (rx0, tx0) = before.get(&key).copied().unwrap_or_default();
        (rx - rx0, tx - tx0)
    };
    let expected = [
        ("IPv4 over veth", &near4, &far4, (10 * 328, 20 * 1028)),
        ("IPv6 over veth", &near6, &far6, (2 * 100, 5 * 548)),
        ("loopback, sender's side", &lo_a, &lo_b, (3 * 128, 7 * 361)),
        ("loopback, receiver's side", &lo_b, &lo_a, (7 * 361, 3 * 128)),
    ];
    capture.wait_for("every flow's bytes", |capture| {
        expected.iter().all(|(_, near, far, bytes)| delta(capture, near, far) == *bytes)
    });
    // Nothing counted twice or late.
    capture.wait_samples(3);
    for (what, near, far, bytes) in expected {
        assert_eq!(delta(&capture, near, far), bytes, "{what}: (rx, tx)");
    }
    // The other namespace's end is not a local socket here.
    assert_eq!(capture.total(Protocol::Udp, local(&far4), local(&near4)), (0, 0));
}

#[test]
fn captures_follow_interfaces_as_they_come_and_go() {
    follow_interfaces(false);
}

/// As in the binary: the process's one rtnetlink subscription (the kernel view) tells.
#[test]
fn captures_follow_interfaces_told_by_the_kernel_view() {
    follow_interfaces(true);
}

fn follow_interfaces(kernel_view: bool) {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let config = CaptureConfig { interval: INTERVAL, ..CaptureConfig::default() };
    let mut capture = Capture::start_both(&netns, config, None, kernel_view);
    capture.wait_for_status("packet capture on lo");
    // One thread serves every ring, however many interfaces there are.
    wait_until("the capture thread", || wakeups_of("capture").len() == 1);
    let (wakeups_before, ticks_before) = wakeups_and_ticks("capture")[0];

    for round in 0..5 {
        netns.batch(
            "link add nlc2 type veth peer name nlc3\n\
             link set nlc2 up\n\
             link set nlc3 up\n",
        );
        capture.wait_for_status("packet capture on lo, nlc2, nlc3");
        netns.must(&["link", "set", "nlc3", "down"]);
        // nlc2 loses its carrier with its peer: still up, still captured.
        capture.wait_for_status("packet capture on lo, nlc2");
        netns.must(&["link", "del", "nlc2"]);
        capture.wait_for_status("packet capture on lo");
        assert_eq!(wakeups_of("capture").len(), 1, "round {round}: still one capture thread");
    }
    netns.must(&["link", "set", "lo", "down"]);
    capture.wait_for_status("packet capture: no interface is up");
    netns.must(&["link", "set", "lo", "up"]);
    capture.wait_for_status("packet capture on lo");

    // Woken by notifications and ring errors only: some per link change (each `ip`
    // command makes several), never a loop. A ring left polling after its interface went
    // away would add thousands a second, or burn CPU without sleeping at all.
    let (wakeups, ticks) = wakeups_and_ticks("capture")[0];
    let (wakeups, ticks) = (wakeups - wakeups_before, ticks - ticks_before);
    eprintln!("32 link changes: {wakeups} wake-ups, {ticks} clock ticks of CPU");
    assert!(wakeups < 400 && ticks < 100, "{wakeups} wake-ups and {ticks} ticks for 32 link changes");

    // Quiet: no traffic, no link change. Once the kernel's last notifications of the
    // churn are read (a deleted link's can come late), nothing wakes the thread.
    let mut quiet = wakeups_of("capture")[0];
    wait_until("the notifications of the churn to end", || {
        std::thread::sleep(Duration::from_millis(500));
        let now = wakeups_of("capture")[0];
        std::mem::replace(&mut quiet, now) == now
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(wakeups_of("capture")[0], quiet, "the capture thread woke with nothing to do");
}
