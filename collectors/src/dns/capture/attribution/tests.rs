//! Picking the socket a query left from, bounded memory, and a real lookup of one of
//! this process's sockets (`sock_diag` and `/proc` need no privilege for our own).

use std::net::UdpSocket;

use super::*;
use crate::capture::testing::Must as _;
use crate::model::Timestamp;

fn endpoint(text: &str) -> SocketAddr {
    text.parse().must()
}

#[test]
fn pace_allows_bursts_and_the_average_rate() {
    let start = Instant::now();
    let mut pace = Pace::new(50, 10, start);
    let allowed = (0..100).filter(|_| pace.allow(start)).count();
    assert_eq!(allowed, 10, "a burst, then nothing");
    assert!(!pace.allow(start + Duration::from_millis(10)), "half a token");
    assert!(pace.allow(start + Duration::from_millis(20)), "one token after 20 ms");
    let later = start + Duration::from_secs(10);
    assert_eq!((0..100).filter(|_| pace.allow(later)).count(), 10, "never more than the burst");
}

#[test]
fn remembered_entries_are_bounded() {
    let mut map = HashMap::new();
    let start = Instant::now();
    for n in 0..(MAX_REMEMBERED as u64 + 10) {
        remember(&mut map, n, start + Duration::from_millis(n), |at| *at);
    }
    assert_eq!(map.len(), MAX_REMEMBERED);
    assert!(!map.contains_key(&0) && map.contains_key(&(MAX_REMEMBERED as u64 + 9)), "the oldest went first");
}

fn exchange(client: SocketAddr, server: SocketAddr) -> DnsQuery {
    DnsQuery {
        at: Timestamp::now_utc(),
        pid: None,
        process: None,
        attribution: None,
        cgroup: None,
        name: "example.com".to_owned(),
        qtype: "A".to_owned(),
        server,
        client,
        transport: DnsTransport::Udp,
        rcode: Some("NOERROR".to_owned()),
        answers: 1,
        latency_ms: Some(1.0),
    }
}

/// This process's name, as `/proc` gives it.
fn own_name() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").must();
    let (open, close) = (stat.find('(').must(), stat.rfind(')').must());
    stat[open + 1..close].to_owned()
}

#[test]
fn a_live_socket_is_attributed_to_this_process() {
    let owners = Owners::start(PathBuf::from("/proc")).must();
    owners.set_locals(LocalAddresses::default());
    let client = UdpSocket::bind("127.0.0.1:0").must();
    // Connecting a UDP socket sends nothing.
    client.connect("127.0.0.53:53").must();
    let (local, remote) = (client.local_addr().must(), endpoint("127.0.0.53:53"));
    owners.request(QuerySocket { transport: DnsTransport::Udp, local, remote }, Instant::now());

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut waited_for = 0;
    let query = loop {
        let (mut ready, waiting) =
            owners.attribute(Vec::new(), vec![exchange(local, remote)], Instant::now());
        if let Some(query) = ready.pop() {
            break query;
        }
        assert_eq!(waiting.len(), 1, "held back while being looked up");
        waited_for += 1;
        assert!(Instant::now() < deadline, "no answer from the attribution thread");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(query.pid, Some(std::process::id()), "after {waited_for} rounds");
    assert_eq!(query.process, Some(own_name()));

    // Held queries go out whatever is known; strangers' sockets are never looked up.
    let stranger = exchange(endpoint("192.0.2.1:40000"), remote);
    owners.request(
        QuerySocket { transport: DnsTransport::Udp, local: stranger.client, remote },
        Instant::now(),
    );
    let (ready, waiting) = owners.attribute(vec![stranger.clone()], vec![stranger], Instant::now());
    assert_eq!((ready.len(), waiting.len()), (2, 0));
    assert!(ready.iter().all(|query| query.pid.is_none()));
    assert_eq!(owners.dropped(), 0);
}
