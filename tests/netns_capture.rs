//! The capture source against a real kernel, inside throwaway network namespaces: UDP
//! datagrams sent between sockets this test opens (across a veth pair to a second
//! namespace, and over loopback) must appear in its flow samples with exact byte
//! counts from the capturing namespace's point of view; captures must open and close
//! as interfaces come and go. Needs root; see `common::netns::require_netns`.
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
use netlens_collectors::capture::{CaptureConfig, CaptureSource};
use netlens_collectors::model::{Protocol, SourceState, Timestamp};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{Event, Payload};
use nix::sched::{CloneFlags, setns};
use tokio::sync::{mpsc, watch};

/// Generous: a slow CI machine, not a performance budget (that is a benchmark).
const TIMEOUT: Duration = Duration::from_secs(15);

/// The flow interval the tests run with.
const INTERVAL: Duration = Duration::from_millis(250);

/// The tests count this process's capture threads by name, so they must not overlap.
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
}

impl Capture {
    fn start(netns: &Netns) -> Self {
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
                let config = CaptureConfig { interval: INTERVAL, ..CaptureConfig::default() };
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
            });
        });
        Self { events, stop, thread: Some(thread), totals: Totals::new(), status: None, samples: Vec::new() }
    }

    fn fold(&mut self, event: Event) {
        match event.payload {
            Payload::Flows(sample) => {
                self.samples.push(event.at);
                for flow in sample.flows {
                    let total = self.totals.entry((flow.protocol, flow.local, flow.remote)).or_default();
                    total.0 += flow.rx_bytes;
                    total.1 += flow.tx_bytes;
                }
            }
            Payload::Status(status) => self.status = Some((status.status, status.detail)),
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

    fn wait_for_status(&mut self, detail: &str) {
        self.wait_for(&format!("status `{detail}`"), |capture| {
            capture.status.as_ref().is_some_and(|(state, text)| *state == SourceState::Ok && text == detail)
        });
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

/// Threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter(|task| {
                    std::fs::read_to_string(task.path().join("comm"))
                        .is_ok_and(|name| name.starts_with(prefix))
                })
                .count()
        })
        .unwrap_or_default()
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

    netns.batch(
        "link add nlc2 type veth peer name nlc3\n\
         link set nlc2 up\n\
         link set nlc3 up\n",
    );
    capture.wait_for_status("packet capture on lo, nlc2, nlc3");
    // A new thread takes its name a moment after it starts.
    wait_until("a capture thread for nlc2", || threads_named("cap-nlc2") == 1);

    netns.must(&["link", "set", "nlc3", "down"]);
    capture.wait_for_status("packet capture on lo, nlc2");
    netns.must(&["link", "del", "nlc2"]);
    capture.wait_for_status("packet capture on lo");
    wait_until("the capture threads of deleted links to end", || threads_named("cap-nlc") == 0);

    netns.must(&["link", "set", "lo", "down"]);
    capture.wait_for_status("packet capture: no interface is up");
    wait_until("the loopback capture to end with it", || threads_named("cap-lo") == 0);
}
