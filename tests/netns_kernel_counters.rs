//! The kernel counters source against the kernel's own tool: in a namespace the test
//! creates, every counter `nstat` reports equals netlens's reading of the same
//! state, the namespace's own copy is what is read, and the store's change between
//! two readings is exactly the traffic made in between.
//! Needs root; see `common::netns::require_netns`.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::netns::{Netns, SourceInNetns, require_netns};
use netlens_collectors::kernel::{CounterFiles, KernelSource, read};
use netlens_collectors::model::KernelCounters;
use netlens_collectors::store::CounterTable;
use nix::sched::{CloneFlags, setns};

/// Make `count` TCP connections on the calling thread's loopback, each sending a
/// few bytes the server reads, then close them all.
fn connect(count: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..count {
        let mut client = TcpStream::connect(address).unwrap_or_else(|e| panic!("{e}"));
        let (mut server, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
        client.write_all(b"ping").unwrap_or_else(|e| panic!("{e}"));
        let mut buffer = [0; 4];
        server.read_exact(&mut buffer).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Run `body` on a thread inside `netns`, and return what it returns.
fn inside<T: Send + 'static>(netns: &Netns, body: impl FnOnce() -> T + Send + 'static) -> T {
    let path = netns.path();
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        body()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `nstat`'s absolute values in the namespace (`-s`: its history file is left alone).
fn nstat(netns: &Netns) -> BTreeMap<String, i64> {
    let output = std::process::Command::new("ip")
        .args(["netns", "exec", netns.name(), "nstat", "-asz", "--json"])
        .output()
        .unwrap_or_else(|error| panic!("nstat: {error}"));
    assert!(output.status.success(), "nstat: {}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
    json["kernel"]
        .as_object()
        .unwrap_or_else(|| panic!("no kernel object in {json}"))
        .iter()
        .map(|(name, value)| (name.clone(), value.as_i64().unwrap_or_else(|| panic!("{name}: {value}"))))
        .collect()
}

/// Every counter `nstat` shows has the same value in netlens's reading, taken in a
/// still namespace right before; and the reading is the namespace's, not the host's:
/// its connection counts are the test's own.
#[test]
fn every_counter_equals_nstat() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let counters: KernelCounters = inside(&netns, || {
        connect(3);
        // Let the delayed-ACK and close timers of those connections run out first.
        std::thread::sleep(Duration::from_millis(500));
        read(&CounterFiles::default())
    });
    let truth = nstat(&netns);
    assert!(truth.len() > 100, "nstat listed only {} counters", truth.len());
    let ours: BTreeMap<&String, &i64> = counters.snmp.iter().chain(&counters.netstat).collect();
    let differ: Vec<String> = truth
        .iter()
        .filter(|(name, value)| ours.get(name) != Some(value))
        .map(|(name, value)| format!("{name}: nstat {value}, netlens {:?}", ours.get(name)))
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
    assert_eq!(counters.snmp.get("TcpActiveOpens"), Some(&3), "the namespace's own copy");
    assert_eq!(counters.snmp.get("TcpPassiveOpens"), Some(&3));
}

/// The source's readings, folded in the store, change by exactly the traffic made
/// between them.
#[test]
fn the_store_measures_the_change() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let source = SourceInNetns::start(&netns, 64, || KernelSource::new(Duration::from_millis(300)));
    source.wait_for("a first reading", Duration::from_secs(5), |store| store.kernel().latest().is_some());
    inside(&netns, || connect(5));
    source.wait_for("a reading with the connects", Duration::from_secs(5), |store| {
        store.kernel().latest().and_then(|counters| counters.snmp.get("TcpActiveOpens").copied()) == Some(5)
    });
    let active =
        |counters: Option<&KernelCounters>| counters.and_then(|c| c.snmp.get("TcpActiveOpens").copied());
    let (baseline, delta) = source.with_store(|store| {
        (active(store.kernel().baseline()), store.kernel().delta(CounterTable::Snmp, "TcpActiveOpens"))
    });
    let baseline = baseline.unwrap_or_else(|| panic!("a baseline"));
    assert_eq!(delta, u64::try_from(5 - baseline).ok(), "the change is the latest less the baseline");
    // With no traffic after, the next readings change by nothing.
    source.wait_for("a still reading", Duration::from_secs(5), |store| {
        active(store.kernel().baseline()) == Some(5)
    });
    let still = source.with_store(|store| store.kernel().per_second(CounterTable::Snmp, "TcpActiveOpens"));
    assert_eq!(still, Some(0.0));
    let inuse =
        source.with_store(|store| store.kernel().latest().and_then(|c| c.sockstat.get("TCP.inuse").copied()));
    assert_eq!(inuse, Some(0), "every test socket closed");
    source.stop();
}
