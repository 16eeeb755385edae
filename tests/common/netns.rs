//! Network namespaces for real-kernel tests (DESIGN.md §7): a guard that creates a
//! uniquely named namespace and deletes it on drop, `ip` helpers that run inside it,
//! the skip-or-fail policy, and a harness running [`Source`]s inside it.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netlens_collectors::source::{Source, spawn_supervised};
use netlens_collectors::{Event, Payload, Store};
use nix::sched::{CloneFlags, setns};
use tokio::sync::{mpsc, watch};

/// Set to `1` to turn every skip into a failure (CI does).
pub const REQUIRE_ENV: &str = "NETLENS_REQUIRE_NETNS";

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A network namespace `/run/netns/<name>`, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create a namespace with a name unique to this process and call.
    pub fn create() -> Result<Self, String> {
        let name = format!("nlt-{}-{}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed));
        run_ip(&["netns", "add", &name])?;
        Ok(Self { name })
    }

    /// Its name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace file to `setns` into.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// `ip -n NAME ARGS…`: stdout, or stderr as the error.
    pub fn ip(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_ip(&full)
    }

    /// `ip -n NAME ARGS…`, failing the test with `ip`'s message if it fails.
    pub fn must(&self, args: &[&str]) -> String {
        self.ip(args).unwrap_or_else(|error| panic!("ip -n {} {}: {error}", self.name, args.join(" ")))
    }

    /// `nft ARGS…` inside the namespace: stdout, failing the test with `nft`'s message
    /// (or with how to install it).
    pub fn nft(&self, args: &[&str]) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", self.name.as_str(), "nft"])
            .args(args)
            .output()
            .unwrap_or_else(|error| panic!("running nft: {error} (install the `nftables` package)"));
        assert!(
            output.status.success(),
            "nft {}: {} (install the `nftables` package)",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `ip -n NAME -j ARGS…`, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["-j"];
        full.extend_from_slice(args);
        let text = self.must(&full);
        if text.trim().is_empty() {
            return serde_json::Value::Array(Vec::new());
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("ip -j {}: {error}: {text}", args.join(" ")))
    }

    /// `ip -n NAME -batch -` with `script` (one command per line) on stdin.
    pub fn batch(&self, script: &str) {
        use std::io::Write as _;
        let mut child = Command::new("ip")
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("starting ip -batch: {error}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).unwrap_or_else(|error| panic!("feeding ip -batch: {error}"));
        }
        let output =
            child.wait_with_output().unwrap_or_else(|error| panic!("waiting for ip -batch: {error}"));
        assert!(output.status.success(), "ip -batch failed: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(error) = run_ip(&["netns", "del", &self.name]) {
            eprintln!("could not delete network namespace {}: {error}", self.name);
        }
    }
}

fn run_ip(args: &[&str]) -> Result<String, String> {
    let output = Command::new("ip").args(args).output().map_err(|error| format!("cannot run ip: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// A fresh namespace, or `None` (after saying why) when this environment cannot
/// make one — unless `NETLENS_REQUIRE_NETNS=1`, where that is a failure.
pub fn require_netns() -> Option<Netns> {
    let reason = if nix::unistd::geteuid().is_root() {
        match Netns::create() {
            Ok(netns) => return Some(netns),
            Err(error) => format!("`ip netns add` failed: {error}"),
        }
    } else {
        "network namespace tests need root".to_owned()
    };
    assert!(
        std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
        "{reason} (and {REQUIRE_ENV}=1 forbids skipping)"
    );
    eprintln!("skipping: {reason}");
    None
}

/// Open file descriptors of this process.
#[must_use]
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// A [`Source`] running on its own thread inside a namespace, its events folded
/// into a [`Store`] the test can look at.
pub struct SourceInNetns {
    store: Arc<Mutex<Store>>,
    network_reads: Arc<AtomicUsize>,
    socket_tables: Arc<AtomicUsize>,
    counter_reads: Arc<AtomicUsize>,
    paused: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl SourceInNetns {
    /// Start `make()` inside `netns`: the thread enters the namespace before the
    /// source exists, so every socket it opens belongs there. Events travel over a
    /// channel of `capacity`.
    pub fn start<S, F>(netns: &Netns, capacity: usize, make: F) -> Self
    where
        S: Source,
        F: FnOnce() -> S + Send + 'static,
    {
        Self::start_many(netns, capacity, move |tx| vec![spawn_supervised(make(), tx)])
    }

    /// Start several sources inside `netns`, all folded into one store: `spawn` runs
    /// on the namespace's runtime and spawns each (with [`spawn_supervised`]) on a
    /// clone of the sender it is given, returning their tasks.
    pub fn start_many<F>(netns: &Netns, capacity: usize, spawn: F) -> Self
    where
        F: FnOnce(mpsc::Sender<Event>) -> Vec<tokio::task::JoinHandle<()>> + Send + 'static,
    {
        let store = Arc::new(Mutex::new(Store::default()));
        let (paused, mut paused_rx) = watch::channel(false);
        let (stop, mut stop_rx) = watch::channel(false);
        let path = netns.path();
        let folded = Arc::clone(&store);
        let network_reads = Arc::new(AtomicUsize::new(0));
        let reads = Arc::clone(&network_reads);
        let socket_tables = Arc::new(AtomicUsize::new(0));
        let tables = Arc::clone(&socket_tables);
        let counter_reads = Arc::new(AtomicUsize::new(0));
        let counters = Arc::clone(&counter_reads);
        let thread = std::thread::spawn(move || -> Result<(), String> {
            let file = File::open(&path).map_err(|error| format!("{}: {error}", path.display()))?;
            setns(&file, CloneFlags::CLONE_NEWNET)
                .map_err(|error| format!("setns {}: {error}", path.display()))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| format!("tokio runtime: {error}"))?;
            runtime.block_on(async move {
                let (tx, mut rx) = mpsc::channel(capacity);
                let tasks = spawn(tx);
                loop {
                    if *paused_rx.borrow_and_update() {
                        // Not receiving: the channel fills and the source blocks.
                        tokio::select! {
                            _ = paused_rx.changed() => continue,
                            _ = stop_rx.changed() => break,
                        }
                    }
                    tokio::select! {
                        _ = stop_rx.changed() => break,
                        _ = paused_rx.changed() => {}
                        event = rx.recv() => match event {
                            Some(event) => {
                                if matches!(event.payload, Payload::Network(_)) {
                                    reads.fetch_add(1, Ordering::Relaxed);
                                }
                                if matches!(event.payload, Payload::Sockets(_)) {
                                    tables.fetch_add(1, Ordering::Relaxed);
                                }
                                if matches!(event.payload, Payload::Counters(_)) {
                                    counters.fetch_add(1, Ordering::Relaxed);
                                }
                                {
                                    // As the app does: fold, then evaluate the findings.
                                    let mut store = folded.lock().unwrap_or_else(PoisonError::into_inner);
                                    store.apply(event);
                                    store.evaluate_findings(netlens_collectors::clock::Stamp::now());
                                }
                            }
                            None => break,
                        },
                    }
                }
                for task in &tasks {
                    task.abort();
                }
                for task in tasks {
                    let _ = task.await;
                }
            });
            Ok(())
        });
        Self { store, network_reads, socket_tables, counter_reads, paused, stop, thread: Some(thread) }
    }

    /// Stop receiving events (the source blocks once the channel is full).
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Receive events again.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// How many complete reads (`Payload::Network` events) arrived so far.
    pub fn network_reads(&self) -> usize {
        self.network_reads.load(Ordering::Relaxed)
    }

    /// Wait until `count` more socket tables (`Payload::Sockets`, one per
    /// connections refresh) have been folded into the store: "several refreshes
    /// later" as a condition rather than a guessed sleep.
    pub fn wait_for_socket_tables(&self, count: usize, timeout: Duration) {
        wait_for_more(&self.socket_tables, count, timeout, "socket tables");
    }

    /// Wait until `count` more counter refreshes (`Payload::Counters`, one per
    /// interfaces refresh period) have been folded into the store: the source's
    /// loop has gone round that often since.
    pub fn wait_for_counter_refreshes(&self, count: usize, timeout: Duration) {
        wait_for_more(&self.counter_reads, count, timeout, "counter refreshes");
    }

    /// Look at the store.
    pub fn with_store<R>(&self, look: impl FnOnce(&Store) -> R) -> R {
        look(&self.store.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Wait until `done(store)` holds, polling; fail with `what` and the recent
    /// timeline after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Store) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.with_store(&mut done) {
                return;
            }
            if Instant::now() > deadline {
                let recent = self.with_store(|store| {
                    store
                        .timeline()
                        .iter()
                        .rev()
                        .take(40)
                        .map(|entry| format!("  {:?} [{}] {}", entry.kind, entry.subject, entry.detail))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                panic!("timed out after {timeout:?} waiting for {what}; newest timeline entries:\n{recent}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop the source and its thread; every socket it had is closed when this returns.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => panic!("source thread failed: {error}"),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    }
}

impl Drop for SourceInNetns {
    fn drop(&mut self) {
        if self.thread.is_some() && !std::thread::panicking() {
            self.shut_down();
        } else {
            self.stop.send_replace(true);
        }
    }
}

/// Wait until `counter` has grown by `count`, failing after `timeout`.
fn wait_for_more(counter: &AtomicUsize, count: usize, timeout: Duration, what: &str) {
    let target = counter.load(Ordering::Relaxed) + count;
    let deadline = Instant::now() + timeout;
    while counter.load(Ordering::Relaxed) < target {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {count} {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
