//! The capture source against a real kernel, inside throwaway network namespaces: UDP
//! datagrams sent between sockets this test opens (across a veth pair to a second
//! namespace, and over loopback) must appear in its flow samples with exact byte
//! counts from the capturing namespace's point of view; captures follow interfaces
//! without spinning; every packet is read or counted dropped. Needs root.
//!
//! Byte counts are IP lengths: a UDP payload of `n` bytes counts `n + 28` over IPv4
//! and `n + 48` over IPv6.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::netns::{Netns, require_netns};
use netlens_collectors::capture::{CaptureConfig, CaptureSource, RingConfig};
use netlens_collectors::dns::capture::{DnsCaptureConfig, DnsCaptureSource};
use netlens_collectors::model::{CaptureCounters, CaptureTotals, Protocol, SourceId, SourceState, Timestamp};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{Event, Payload};
use nix::sched::{CloneFlags, setns};
use tokio::sync::{mpsc, watch};

/// Generous: a slow CI machine, not a performance budget (that is a benchmark).
const TIMEOUT: Duration = Duration::from_secs(15);

/// The flow interval the tests run with.
const INTERVAL: Duration = Duration::from_millis(250);

/// The tests count the wake-ups of this process's capture thread by name, so they must
/// not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run `work` on a thread inside `netns`: every socket it opens belongs there, and
/// stays there whichever thread uses it later.
fn in_netns<T: Send + 'static>(netns: &Netns, work: impl FnOnce() -> T + Send + 'static) -> T {
    let path = netns.path();
    let thread = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        work()
    });
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A UDP socket bound inside `netns`.
fn udp_in(netns: &Netns, address: &'static str) -> UdpSocket {
    in_netns(netns, move || {
        let socket = UdpSocket::bind(address).unwrap_or_else(|error| panic!("bind {address}: {error}"));
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap_or_else(|error| panic!("timeout: {error}"));
        socket
    })
}

fn local(socket: &UdpSocket) -> SocketAddr {
    socket.local_addr().unwrap_or_else(|error| panic!("local_addr: {error}"))
}

/// Send `count` datagrams of `size` bytes from `from` to `to`, and read them all at
/// `to`: none lost, so the expected byte counts are exact.
fn exchange(from: &UdpSocket, to: &UdpSocket, count: usize, size: usize) {
    let payload = vec![0x5a; size];
    let destination = local(to);
    for _ in 0..count {
        from.send_to(&payload, destination).unwrap_or_else(|error| panic!("send to {destination}: {error}"));
    }
    let mut buffer = vec![0; size + 1];
    for n in 0..count {
        let (length, _) = to
            .recv_from(&mut buffer)
            .unwrap_or_else(|error| panic!("datagram {n} to {destination}: {error}"));
        assert_eq!(length, size);
    }
}

/// (protocol, local, remote) → (rx bytes, tx bytes) over every sample so far.
type Totals = BTreeMap<(Protocol, SocketAddr, SocketAddr), (u64, u64)>;

/// The capture source running on its own thread inside a namespace; its events are
/// folded into flow totals and the latest status.
struct Capture {
    events: std_mpsc::Receiver<Event>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    totals: Totals,
    status: Option<(SourceState, String)>,
    /// When each flow sample was taken.
    samples: Vec<Timestamp>,
    /// The kernel's counters, as last sent.
    kernel: CaptureTotals,
    /// The most flows one sample carried.
    largest_sample: usize,
    /// The size of every DNS batch.
    dns_batches: Vec<usize>,
    /// The DNS capture's counters, as last sent.
    dns_counters: CaptureCounters,
}

impl Capture {
    fn start(netns: &Netns) -> Self {
        Self::start_with(netns, CaptureConfig { interval: INTERVAL, ..CaptureConfig::default() })
    }

    fn start_with(netns: &Netns, config: CaptureConfig) -> Self {
        Self::start_both(netns, config, None)
    }

    /// The capture source with `config`, and the passive DNS capture with `dns` if
    /// given (both served by the one capture of the namespace).
    fn start_both(netns: &Netns, config: CaptureConfig, dns: Option<DnsCaptureConfig>) -> Self {
        let (forward, events) = std_mpsc::channel();
        let (stop, mut stop_rx) = watch::channel(false);
        let path = netns.path();
        let thread = std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
            // Blocking-pool and capture threads are spawned from this one: they inherit
            // the namespace.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|error| panic!("tokio runtime: {error}"));
            runtime.block_on(async move {
                let (tx, mut rx) = mpsc::channel(64);
                let dns_task = dns.map(|dns| spawn_supervised(DnsCaptureSource::new(dns), tx.clone()));
                let task = spawn_supervised(CaptureSource::new(config), tx);
                loop {
                    tokio::select! {
                        _ = stop_rx.changed() => break,
                        event = rx.recv() => match event {
                            Some(event) => {
                                if forward.send(event).is_err() {
                                    break;
                                }
                            }
                            None => break,
                        },
                    }
                }
                task.abort();
                let _ = task.await;
                if let Some(dns_task) = dns_task {
                    dns_task.abort();
                    let _ = dns_task.await;
                }
            });
        });
        Self {
            events,
            stop,
            thread: Some(thread),
            totals: Totals::new(),
            status: None,
            samples: Vec::new(),
            kernel: CaptureTotals::default(),
            largest_sample: 0,
            dns_batches: Vec::new(),
            dns_counters: CaptureCounters::default(),
        }
    }

    fn fold(&mut self, event: Event) {
        match event.payload {
            Payload::Flows(sample) => {
                self.samples.push(event.at);
                self.largest_sample = self.largest_sample.max(sample.flows.len());
                for flow in sample.flows {
                    let total = self.totals.entry((flow.protocol, flow.local, flow.remote)).or_default();
                    total.0 += flow.rx_bytes;
                    total.1 += flow.tx_bytes;
                }
            }
            Payload::Status(status) if event.source == SourceId::Capture => {
                self.status = Some((status.status, status.detail));
            }
            Payload::Status(_) => {}
            Payload::Capture(totals) => self.kernel = totals,
            Payload::DnsQueries(batch) => {
                self.dns_batches.push(batch.queries.len());
                self.dns_counters = batch.counters;
            }
            other => panic!("the capture source sent {other:?}"),
        }
    }

    /// Fold events until `done` holds; fail with `what` and the state after `timeout`.
    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => self.fold(event),
                Err(error) => panic!(
                    "{error} after {TIMEOUT:?} waiting for {what}; status {:?}, totals {:#?}",
                    self.status, self.totals
                ),
            }
        }
    }

    /// Wait for the status naming the interfaces captured (drops, if any, follow it).
    fn wait_for_status(&mut self, detail: &str) {
        self.wait_for(&format!("status `{detail}`"), |capture| {
            capture.status.as_ref().is_some_and(|(state, text)| {
                *state == SourceState::Ok && text.split(" · ").next() == Some(detail)
            })
        });
    }

    /// The kernel's counters of interface `name`: (packets, dropped).
    fn kernel_of(&self, name: &str) -> (u64, u64) {
        self.kernel.interfaces.iter().find(|i| i.name == name).map_or((0, 0), |i| (i.packets, i.dropped))
    }

    /// Fold until `samples` flow samples taken from now on have arrived (not ones
    /// already queued): everything sent before is in the totals then.
    fn wait_samples(&mut self, samples: usize) {
        let since = Timestamp::now_utc();
        self.wait_for(&format!("{samples} more samples"), |capture| {
            capture.samples.iter().filter(|&&at| at > since).count() >= samples
        });
    }

    fn total(&self, protocol: Protocol, local: SocketAddr, remote: SocketAddr) -> (u64, u64) {
        self.totals.get(&(protocol, local, remote)).copied().unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
            && !std::thread::panicking()
        {
            panic!("capture thread panicked");
        }
    }
}

/// Poll `done` until it holds; fail with `what` and the thread list after [`TIMEOUT`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}; threads: {:?}", thread_names());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
                .map(|name| name.trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// For each thread of this process named `name`, the kernel's count of times it went
/// to sleep and was woken (`voluntary_ctxt_switches`: a thread waiting in `epoll_wait`
/// adds one per wake-up), and its CPU time in clock ticks (a loop that never sleeps
/// shows there).
fn wakeups_and_ticks(name: &str) -> Vec<(u64, u64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let read = |task: &std::fs::DirEntry, file: &str| std::fs::read_to_string(task.path().join(file)).ok();
    tasks
        .filter_map(Result::ok)
        .filter(|task| read(task, "comm").is_some_and(|comm| comm.trim_end() == name))
        .filter_map(|task| {
            let status = read(&task, "status")?;
            let switches = status.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?;
            let stat = read(&task, "stat")?;
            // After the parenthesised name, utime and stime are the 12th and 13th fields.
            let fields: Vec<u64> =
                stat[stat.rfind(')')? + 2..].split(' ').filter_map(|f| f.parse().ok()).collect();
            Some((switches.trim().parse().ok()?, fields.get(10)? + fields.get(11)?))
        })
        .collect()
}

/// [`wakeups_and_ticks`]' wake-ups.
fn wakeups_of(name: &str) -> Vec<u64> {
    wakeups_and_ticks(name).into_iter().map(|(wakeups, _)| wakeups).collect()
}

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
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let mut capture = Capture::start(&netns);
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

#[test]
fn drops_of_a_small_ring_are_the_kernels_and_every_packet_is_accounted_for() {
    let _serial = serial();
    let Some(here) = require_netns() else { return };
    let there = Netns::create().unwrap_or_else(|error| panic!("second namespace: {error}"));
    without_ipv6(&here);
    without_ipv6(&there);
    // Permanent neighbours: no ARP during the flood, so every packet the interface
    // receives is the flood's.
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
    // One page-sized block: while the capture thread holds it, every packet is dropped.
    let ring = RingConfig { block_size: 4096, block_count: 1, retire: Duration::from_millis(5) };
    let config = CaptureConfig { interval: INTERVAL, ring, ..CaptureConfig::default() };
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
    let (rx_before, kernel_before) = (received_packets(&here, "nlc4"), capture.kernel_of("nlc4"));
    let bytes_before = capture.total(key.0, key.1, key.2).0;

    flood(200_000);
    let arrived = received_packets(&here, "nlc4") - rx_before;
    // Every packet that reached the interface passed the filter: the kernel's count.
    capture.wait_for("the flood's kernel counts", |capture| {
        capture.kernel_of("nlc4").0 - kernel_before.0 == arrived
    });
    capture.wait_samples(2);
    let (packets, dropped) = capture.kernel_of("nlc4");
    let (packets, dropped) = (packets - kernel_before.0, dropped - kernel_before.1);
    let read = (capture.total(key.0, key.1, key.2).0 - bytes_before) / bytes_each;
    eprintln!("arrived {arrived}, kernel packets {packets}, dropped {dropped}, read {read}");
    assert_eq!(packets, arrived, "packets past the filter: the interface's rx_packets");
    assert!(dropped > 0, "a one-block ring under {arrived} packets drops some");
    assert_eq!(read + dropped, packets, "every packet was either read ({read}) or dropped ({dropped})");
    // The export's totals are the sum of the interfaces (lo saw nothing).
    assert_eq!(capture.kernel_of("lo"), (0, 0));
    assert_eq!(
        (capture.kernel.packets, capture.kernel.dropped),
        (kernel_before.0 + packets, kernel_before.1 + dropped)
    );
    // And the status says it.
    let detail = capture.status.as_ref().map(|(_, detail)| detail.clone()).unwrap_or_default();
    assert!(detail.contains("dropped by the kernel"), "{detail}");
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
    let mut capture = Capture::start_both(&here, config, Some(dns));
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
