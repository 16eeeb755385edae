//! The capture sources run inside a network namespace for the `netns_capture*`
//! tests: their events folded into flow totals, the kernel's counters and the DNS
//! batches; and readers of this process's threads (wake-ups, CPU) and sockets.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netlens_collectors::capture::{CaptureConfig, CaptureSource};
use netlens_collectors::dns::capture::{DnsCaptureConfig, DnsCaptureSource};
use netlens_collectors::kernel_view::{KernelView, KernelViewConfig};
use netlens_collectors::model::{CaptureCounters, CaptureTotals, Protocol, SourceId, SourceState, Timestamp};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{Event, Payload};
use nix::sched::{CloneFlags, setns};
use tokio::sync::{mpsc, watch};

use super::netns::Netns;

/// Generous: a slow CI machine, not a performance budget (that is a benchmark).
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The flow interval the tests run with.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// The tests count the wake-ups of this process's capture thread by name, so they must
/// not overlap.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run `work` on a thread inside `netns`: every socket it opens belongs there, and
/// stays there whichever thread uses it later.
pub fn in_netns<T: Send + 'static>(netns: &Netns, work: impl FnOnce() -> T + Send + 'static) -> T {
    let path = netns.path();
    let thread = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        work()
    });
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A UDP socket bound inside `netns`.
pub fn udp_in(netns: &Netns, address: &'static str) -> UdpSocket {
    in_netns(netns, move || {
        let socket = UdpSocket::bind(address).unwrap_or_else(|error| panic!("bind {address}: {error}"));
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap_or_else(|error| panic!("timeout: {error}"));
        socket
    })
}

pub fn local(socket: &UdpSocket) -> SocketAddr {
    socket.local_addr().unwrap_or_else(|error| panic!("local_addr: {error}"))
}

/// Send `count` datagrams of `size` bytes from `from` to `to`, and read them all at
/// `to`: none lost, so the expected byte counts are exact.
pub fn exchange(from: &UdpSocket, to: &UdpSocket, count: usize, size: usize) {
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
pub type Totals = BTreeMap<(Protocol, SocketAddr, SocketAddr), (u64, u64)>;

/// The capture source running on its own thread inside a namespace; its events are
/// folded into flow totals and the latest status.
pub struct Capture {
    pub events: std_mpsc::Receiver<Event>,
    pub stop: watch::Sender<bool>,
    pub thread: Option<JoinHandle<()>>,
    pub totals: Totals,
    pub status: Option<(SourceState, String)>,
    /// When each flow sample was taken.
    pub samples: Vec<Timestamp>,
    /// The kernel's counters, as last sent.
    pub kernel: CaptureTotals,
    /// The most flows one sample carried.
    pub largest_sample: usize,
    /// The size of every DNS batch.
    pub dns_batches: Vec<usize>,
    /// The DNS capture's counters, as last sent.
    pub dns_counters: CaptureCounters,
}

impl Capture {
    pub fn start(netns: &Netns) -> Self {
        Self::start_with(netns, CaptureConfig { interval: INTERVAL, ..CaptureConfig::default() })
    }

    pub fn start_with(netns: &Netns, config: CaptureConfig) -> Self {
        Self::start_both(netns, config, None, false)
    }

    /// The capture source with `config`, and the passive DNS capture with `dns` if
    /// given (both served by the one capture of the namespace); told of link changes
    /// by a kernel view (as in the binary) when `kernel_view`, else by their own.
    pub fn start_both(
        netns: &Netns,
        config: CaptureConfig,
        dns: Option<DnsCaptureConfig>,
        kernel_view: bool,
    ) -> Self {
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
                let mut source = CaptureSource::new(config);
                if kernel_view {
                    let kernel = KernelView::start(KernelViewConfig::default());
                    source =
                        source.with_kernel(kernel.unwrap_or_else(|error| panic!("kernel view: {error}")));
                }
                let task = spawn_supervised(source, tx);
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

    pub fn fold(&mut self, event: Event) {
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
    pub fn wait_for(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
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
    pub fn wait_for_status(&mut self, detail: &str) {
        self.wait_for(&format!("status `{detail}`"), |capture| {
            capture.status.as_ref().is_some_and(|(state, text)| {
                *state == SourceState::Ok && text.split(" · ").next() == Some(detail)
            })
        });
    }

    /// The kernel's counters of interface `name`: (packets, dropped).
    pub fn kernel_of(&self, name: &str) -> (u64, u64) {
        self.kernel.interfaces.iter().find(|i| i.name == name).map_or((0, 0), |i| (i.packets, i.dropped))
    }

    /// Fold until `samples` flow samples taken from now on have arrived (not ones
    /// already queued): everything sent before is in the totals then.
    pub fn wait_samples(&mut self, samples: usize) {
        let since = Timestamp::now_utc();
        self.wait_for(&format!("{samples} more samples"), |capture| {
            capture.samples.iter().filter(|&&at| at > since).count() >= samples
        });
    }

    pub fn total(&self, protocol: Protocol, local: SocketAddr, remote: SocketAddr) -> (u64, u64) {
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
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}; threads: {:?}", thread_names());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Names of this process's threads.
pub fn thread_names() -> Vec<String> {
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
pub fn wakeups_and_ticks(name: &str) -> Vec<(u64, u64)> {
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
pub fn wakeups_of(name: &str) -> Vec<u64> {
    wakeups_and_ticks(name).into_iter().map(|(wakeups, _)| wakeups).collect()
}
