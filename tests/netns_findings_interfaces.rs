//! Interface findings proven against the kernel: each scenario makes its problem on a
//! veth whose peer lives in a second namespace, runs the interfaces and kernel
//! sources in the first, and waits for the finding; the healthy scenario brings the
//! same pair up cleanly, with traffic, and shows no interface finding. Needs root;
//! see `common::netns::require_netns`.
//!
//! `softnet_drops` has no scenario: its counters are per CPU and host-wide, and the
//! backlog only overflows past `net.core.netdev_max_backlog`, a sysctl of the whole
//! host (not of a namespace) that a test must not lower.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::netns::{Netns, require_netns};
use common::peer::in_netns;
use netlens_collectors::findings::{FindingsConfig, RuleOverride, rule};
use netlens_collectors::interfaces::{InterfacesConfig, InterfacesSource};
use netlens_collectors::kernel::KernelSource;
use netlens_collectors::model::{Finding, InterfaceAddress, Severity};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{Stamp, Store};
use nix::sched::{CloneFlags, setns};
use tokio::sync::{mpsc, oneshot};

const TIMEOUT: Duration = Duration::from_secs(8);

/// The interfaces and kernel sources running inside a namespace, folded into a store
/// with the given `[findings]` settings, which evaluates its rules after every event
/// as the app does.
struct Watched {
    store: Arc<Mutex<Store>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watched {
    fn start(netns: &Netns, config: FindingsConfig) -> Self {
        let mut store = Store::default();
        store.set_findings_config(config);
        let store = Arc::new(Mutex::new(store));
        let folded = Arc::clone(&store);
        let path = netns.path();
        let (stop, mut stopped) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns: {e}"));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
            runtime.block_on(async move {
                let (tx, mut rx) = mpsc::channel(1024);
                let interfaces =
                    InterfacesConfig { refresh: Duration::from_millis(250), ..InterfacesConfig::default() };
                let tasks = vec![
                    spawn_supervised(InterfacesSource::new(interfaces), tx.clone()),
                    spawn_supervised(KernelSource::new(Duration::from_millis(250)), tx),
                ];
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        event = rx.recv() => {
                            let Some(event) = event else { break };
                            let mut store = folded.lock().unwrap_or_else(PoisonError::into_inner);
                            store.apply(event);
                            store.evaluate_findings(Stamp::now());
                        }
                    }
                }
                for task in &tasks {
                    task.abort();
                }
            });
        });
        let watched = Self { store, stop: Some(stop), thread: Some(thread) };
        watched.wait_for("the first read", |store| store.interface_by_name("lo").is_some());
        watched
    }

    fn with_store<R>(&self, look: impl FnOnce(&Store) -> R) -> R {
        look(&self.store.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Wait until `done(store)` holds; fail with `what` and the recent timeline.
    fn wait_for(&self, what: &str, mut done: impl FnMut(&Store) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.with_store(&mut done) {
            if Instant::now() > deadline {
                let recent = self.with_store(|store| {
                    let lines = store.timeline().iter().rev().take(30);
                    lines.map(|e| format!("  {:?} [{}] {}", e.kind, e.subject, e.detail)).collect::<Vec<_>>()
                });
                panic!("timed out waiting for {what}; newest timeline entries:\n{}", recent.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for `rule`'s finding about `subject` to open, and return it.
    fn wait_for_finding(&self, rule: &str, subject: &str) -> Finding {
        self.wait_for(&format!("{rule} on {subject}"), |store| open(store, rule, subject).is_some());
        self.with_store(|store| open(store, rule, subject)).unwrap_or_else(|| panic!("{rule} on {subject}"))
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
            && !std::thread::panicking()
        {
            panic!("the sources' thread panicked");
        }
    }
}

fn open(store: &Store, rule: &str, subject: &str) -> Option<Finding> {
    store.findings().open().into_iter().find(|f| f.rule == rule && f.subject == subject).cloned()
}

/// Open findings of the interfaces family, as `rule on subject`.
fn interface_findings(store: &Store) -> Vec<String> {
    let interfaces = |id: &str| rule(id).is_some_and(|r| r.family == "interfaces");
    let open = store.findings().open().into_iter().filter(|f| interfaces(&f.rule));
    open.map(|f| format!("{} on {}", f.rule, f.subject)).collect()
}

/// `[findings]` with `rule`'s debounce and hold set (in milliseconds).
fn timing(rules: &[(&str, u64, u64)]) -> FindingsConfig {
    let ms = |n: u64| time::Duration::milliseconds(i64::try_from(n).unwrap_or(i64::MAX));
    let rules = rules.iter().map(|&(id, debounce, hold)| {
        (
            id.to_owned(),
            RuleOverride { debounce: Some(ms(debounce)), hold: Some(ms(hold)), ..RuleOverride::default() },
        )
    });
    FindingsConfig { rules: rules.collect() }
}

/// `sysctl -w SETTING…` inside `netns`.
fn sysctl(netns: &Netns, settings: &[&str]) {
    let output = Command::new("ip")
        .args(["netns", "exec", netns.name(), "sysctl", "-q", "-w"])
        .args(settings)
        .output()
        .unwrap_or_else(|e| panic!("sysctl: {e}"));
    assert!(output.status.success(), "sysctl {settings:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Wait until no address on `dev` in `netns` is tentative (duplicate address
/// detection done: a `nodad` address joins its solicited-node group only then).
fn settled(netns: &Netns, dev: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let links = netns.json(&["address", "show", "dev", dev]);
        let mut addresses = links
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|link| link["addr_info"].as_array().into_iter().flatten());
        if !addresses.any(|address| address.get("tentative").is_some()) {
            return;
        }
        assert!(Instant::now() < deadline, "addresses on {dev} in {} stay tentative", netns.name());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `veth0` in `here`, up, with duplicate address detection on; its peer `veth1` in a
/// second namespace, which the caller sets up (it is down).
fn veth_pair(here: &Netns) -> Netns {
    let there = Netns::create().unwrap_or_else(|error| panic!("second namespace: {error}"));
    here.must(&["link", "set", "lo", "up"]);
    here.must(&["link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", there.name()]);
    sysctl(here, &["net.ipv6.conf.veth0.accept_dad=1", "net.ipv6.conf.veth0.dad_transmits=1"]);
    here.must(&["link", "set", "veth0", "up"]);
    there
}

/// The peer already holds `2001:db8:7::1` (without detection) when veth0 adds it: the
/// peer answers veth0's Neighbor Solicitation, detection fails, and the finding names
/// the address and its flags.
#[test]
fn address_dad_failed_names_the_duplicate() {
    let Some(here) = require_netns() else { return };
    let there = veth_pair(&here);
    there.must(&["address", "add", "2001:db8:7::1/64", "dev", "veth1", "nodad"]);
    there.must(&["link", "set", "veth1", "up"]);
    // Until then the peer would not hear veth0's Neighbor Solicitation.
    settled(&there, "veth1");
    let watched = Watched::start(&here, FindingsConfig::default());
    here.must(&["address", "add", "2001:db8:7::1/64", "dev", "veth0"]);
    let finding = watched.wait_for_finding("address_dad_failed", "veth0 2001:db8:7::1");
    assert_eq!(finding.severity, Severity::Critical);
    assert!(finding.evidence.iter().any(|e| e.value.contains("dadfailed")), "{finding:?}");
    assert!(finding.fix.starts_with("ip address del 2001:db8:7::1/64 dev veth0"), "{}", finding.fix);
}

/// veth0's peer is down, so veth0 has no carrier and duplicate address detection
/// never starts: the address stays tentative and the finding opens (debounce cut to
/// 2 s here). When the peer comes up, detection finishes and the finding closes.
#[test]
fn address_tentative_stuck_without_carrier_then_clears() {
    let Some(here) = require_netns() else { return };
    let there = veth_pair(&here);
    let watched = Watched::start(&here, timing(&[("address_tentative_stuck", 2000, 500)]));
    here.must(&["address", "add", "2001:db8:7::1/64", "dev", "veth0"]);
    let finding = watched.wait_for_finding("address_tentative_stuck", "veth0 2001:db8:7::1");
    assert_eq!(finding.severity, Severity::Info, "{finding:?}");
    assert!(finding.cause.contains("no carrier"), "{}", finding.cause);
    assert!(finding.evidence.iter().any(|e| e.value.contains("NO-CARRIER")), "{finding:?}");
    there.must(&["link", "set", "veth1", "up"]);
    watched.wait_for("the address to settle and the finding to close", |store| {
        open(store, "address_tentative_stuck", "veth0 2001:db8:7::1").is_none()
            && store.findings().closed().any(|f| f.rule == "address_tentative_stuck")
    });
}

/// The peer goes down and up four times: eight state changes in a few seconds, and
/// veth0 (whose carrier follows the peer) is flapping.
#[test]
fn interface_flapping_when_the_peer_toggles() {
    let Some(here) = require_netns() else { return };
    let there = veth_pair(&here);
    let watched = Watched::start(&here, FindingsConfig::default());
    for _ in 0..4 {
        there.must(&["link", "set", "veth1", "up"]);
        watched.wait_for("carrier", |s| s.interface_by_name("veth0").is_some_and(|e| e.info.carrier));
        there.must(&["link", "set", "veth1", "down"]);
        watched.wait_for("no carrier", |s| s.interface_by_name("veth0").is_some_and(|e| !e.info.carrier));
    }
    let finding = watched.wait_for_finding("interface_flapping", "veth0");
    assert!(
        finding.evidence.iter().any(|e| e.fact.starts_with("up/down and carrier changes")),
        "{finding:?}"
    );
    assert!(finding.evidence.iter().any(|e| e.value.contains("carrier lost")), "{finding:?}");
}

/// Sending through veth0 while its peer is down: veth drops every frame and counts
/// it in `tx_dropped`, a thousand a second.
#[test]
fn interface_errors_when_sending_into_a_dead_veth() {
    let Some(here) = require_netns() else { return };
    let _there = veth_pair(&here);
    here.must(&["address", "add", "10.77.0.1/24", "dev", "veth0"]);
    here.must(&[
        "neigh",
        "add",
        "10.77.0.2",
        "lladdr",
        "02:00:00:00:77:02",
        "dev",
        "veth0",
        "nud",
        "permanent",
    ]);
    let watched = Watched::start(&here, FindingsConfig::default());
    let sender = flood(&here, "10.77.0.1:0", "10.77.0.2:9", Duration::from_secs(7));
    let finding = watched.wait_for_finding("interface_errors", "veth0");
    assert!(finding.evidence.iter().any(|e| e.fact.starts_with("tx_dropped of veth0")), "{finding:?}");
    assert!(finding.cause.contains("no carrier"), "{}", finding.cause);
    sender.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

/// A thread in `netns` sending a small datagram from `from` to `to` every
/// millisecond for `duration`.
fn flood(netns: &Netns, from: &'static str, to: &'static str, duration: Duration) -> JoinHandle<()> {
    let path = netns.path();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns: {e}"));
        let socket = UdpSocket::bind(from).unwrap_or_else(|e| panic!("bind {from}: {e}"));
        let end = Instant::now() + duration;
        while Instant::now() < end {
            let _ = socket.send_to(b"netlens", to);
            std::thread::sleep(Duration::from_millis(1));
        }
    })
}

/// A veth pair brought up once, with IPv4 and IPv6 addresses (detection passes) and
/// traffic both ways: no interface finding, with the debounces cut so a blip would show.
#[test]
fn a_healthy_veth_pair_has_no_interface_finding() {
    let Some(here) = require_netns() else { return };
    let there = veth_pair(&here);
    let config = timing(&[("address_tentative_stuck", 3000, 500), ("interface_errors", 500, 500)]);
    let watched = Watched::start(&here, config);
    there.batch(
        "address add 10.77.0.2/24 dev veth1\naddress add 2001:db8:7::2/64 dev veth1\nlink set veth1 up\nlink set lo up\n",
    );
    here.must(&["address", "add", "10.77.0.1/24", "dev", "veth0"]);
    here.must(&["address", "add", "2001:db8:7::1/64", "dev", "veth0"]);
    watched.wait_for("the addresses to leave tentative", |store| {
        store
            .interface_by_name("veth0")
            .is_some_and(|e| e.info.carrier && e.info.addresses.iter().all(InterfaceAddress::is_usable))
    });
    settled(&there, "veth1");
    let echo = in_netns(&there, || UdpSocket::bind("[2001:db8:7::2]:0").unwrap_or_else(|e| panic!("{e}")));
    let target = echo.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let sender = in_netns(&here, move || {
        let socket = UdpSocket::bind("[2001:db8:7::1]:0").unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..500 {
            socket.send_to(b"netlens", target).unwrap_or_else(|e| panic!("{e}"));
        }
        socket
    });
    let mut buffer = [0; 16];
    echo.set_read_timeout(Some(Duration::from_secs(2))).unwrap_or_else(|e| panic!("{e}"));
    let (_, from) = echo.recv_from(&mut buffer).unwrap_or_else(|e| panic!("nothing arrived: {e}"));
    echo.send_to(b"back", from).unwrap_or_else(|e| panic!("{e}"));
    // Past every cut debounce, with counter and kernel readings all along.
    std::thread::sleep(Duration::from_secs(4));
    let open = watched.with_store(interface_findings);
    assert!(open.is_empty(), "{open:?}");
    assert!(watched.with_store(|store| store.kernel().interval().is_some()), "kernel readings arrived");
    drop(sender);
}
