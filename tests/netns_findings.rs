//! Findings proven against the kernel: each scenario makes its problem in a network
//! namespace the test creates, runs the sources that feed the rule, and waits for the
//! finding; its healthy twin makes the same traffic without the problem and shows no
//! finding at all. Needs root; see `common::netns::require_netns`.

mod common;
mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use common::netns::{Netns, SourceInNetns, require_netns};
use netlens_collectors::Store;
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::kernel::KernelSource;
use netlens_collectors::source::spawn_supervised;
use nix::sched::{CloneFlags, setns};
use socket2::{Domain, Socket, Type};

/// The kernel counters and the connections sources, as the app runs them.
fn sources(netns: &Netns) -> SourceInNetns {
    SourceInNetns::start_many(netns, 1024, |tx| {
        let connections =
            ConnectionsConfig { refresh: Duration::from_millis(200), ..ConnectionsConfig::default() };
        vec![
            spawn_supervised(KernelSource::new(Duration::from_millis(200)), tx.clone()),
            spawn_supervised(ConnectionsSource::new(connections), tx),
        ]
    })
}

/// Run `body` on a thread inside `netns`; it gets a receiver that says when to stop
/// (its sockets live until then).
fn inside(netns: &Netns, body: impl FnOnce(mpsc::Receiver<()>) + Send + 'static) -> mpsc::Sender<()> {
    let path = netns.path();
    let (stop, stopped) = mpsc::channel();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        body(stopped);
    });
    stop
}

fn open_rules(store: &Store) -> Vec<String> {
    store.findings().open().iter().map(|f| format!("{} on {}", f.rule, f.subject)).collect()
}

/// In `netns`, a listener with a backlog of 1 that never accepts, and 20 clients
/// connecting to it (their sockets live until the returned sender says stop).
fn overflowing_listener(netns: &Netns) -> (mpsc::Sender<()>, SocketAddr) {
    let (address_tx, address_rx) = mpsc::channel();
    let stop = inside(netns, move |stopped| {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("{e}"));
        let address: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        listener.bind(&address.into()).unwrap_or_else(|e| panic!("{e}"));
        listener.listen(1).unwrap_or_else(|e| panic!("{e}"));
        let bound = listener.local_addr().ok().and_then(|a| a.as_socket()).unwrap_or_else(|| panic!("bound"));
        address_tx.send(bound).unwrap_or_else(|e| panic!("{e}"));
        let clients: Vec<Socket> = (0..20)
            .map(|_| {
                let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("{e}"));
                client.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
                let _in_progress = client.connect(&bound.into());
                client
            })
            .collect();
        let _ = stopped.recv_timeout(Duration::from_secs(30));
        drop((clients, listener));
    });
    let bound = address_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    (stop, bound)
}

/// A listener with a backlog of 1 that never accepts, and 20 clients: the kernel
/// drops their handshakes (`TcpExtListenOverflows`), and the finding names the
/// listener, its full queue and its owner.
#[test]
fn listen_overflow_names_the_listener() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let source = sources(&netns);
    source.wait_for("a kernel reading", Duration::from_secs(5), |store| store.kernel().latest().is_some());
    let (stop, bound) = overflowing_listener(&netns);
    let subject = format!("tcp {bound}");
    source.wait_for("listen_overflow on the listener", Duration::from_secs(10), |store| {
        store.findings().open().iter().any(|f| f.rule == "listen_overflow" && f.subject == subject)
    });
    let finding = source.with_store(|store| {
        store.findings().open().into_iter().find(|f| f.rule == "listen_overflow").cloned()
    });
    let finding = finding.unwrap_or_else(|| panic!("the finding"));
    assert!(finding.evidence.iter().any(|e| e.fact.starts_with("TcpExtListenOverflows")), "{finding:?}");
    assert!(
        finding.evidence.iter().any(|e| e.fact.starts_with("accept queue") && e.value.ends_with("/ 1")),
        "{finding:?}"
    );
    let _ = stop.send(());
    source.stop();
}

/// A UDP receiver with a 2 KiB buffer that never reads, and a sender: the kernel drops
/// what does not fit (`UdpRcvbufErrors`, the socket's `SK_MEMINFO_DROPS`), and the
/// finding names the dropping socket and its owner.
#[test]
fn udp_receive_drops_names_the_socket() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let source = sources(&netns);
    source.wait_for("a kernel reading", Duration::from_secs(5), |store| store.kernel().latest().is_some());
    let (address_tx, address_rx) = mpsc::channel();
    let stop = inside(&netns, move |stopped| {
        let receiver = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap_or_else(|e| panic!("{e}"));
        receiver.set_recv_buffer_size(2048).unwrap_or_else(|e| panic!("{e}"));
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        receiver.bind(&any.into()).unwrap_or_else(|e| panic!("{e}"));
        let bound = receiver.local_addr().ok().and_then(|a| a.as_socket()).unwrap_or_else(|| panic!("bound"));
        address_tx.send(bound).unwrap_or_else(|e| panic!("{e}"));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        // A burst a second until told to stop: the buffer stays full, drops keep coming.
        while stopped.recv_timeout(Duration::from_millis(300)).is_err() {
            for _ in 0..200 {
                let _ = sender.send_to(&[0; 512], bound);
            }
        }
        drop(receiver);
    });
    let bound = address_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    let subject = format!("udp {bound}");
    source.wait_for("udp_receive_drops on the receiver", Duration::from_secs(10), |store| {
        store.findings().open().iter().any(|f| f.rule == "udp_receive_drops" && f.subject == subject)
    });
    let finding = source.with_store(|store| {
        store.findings().open().into_iter().find(|f| f.rule == "udp_receive_drops").cloned()
    });
    let finding = finding.unwrap_or_else(|| panic!("the finding"));
    assert!(finding.evidence.iter().any(|e| e.fact.contains("SK_MEMINFO_DROPS")), "{finding:?}");
    assert!(finding.evidence.iter().any(|e| e.fact.starts_with("UdpRcvbufErrors")), "{finding:?}");
    let _ = stop.send(());
    source.stop();
}

/// The same listener with the default backlog, accepting and answering every client:
/// no rule finds anything.
#[test]
fn a_listener_that_accepts_has_no_finding() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let source = sources(&netns);
    source.wait_for("a kernel reading", Duration::from_secs(5), |store| store.kernel().latest().is_some());
    let (done_tx, done_rx) = mpsc::channel();
    let _stop = inside(&netns, move |_| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..200 {
            let mut client = TcpStream::connect(address).unwrap_or_else(|e| panic!("{e}"));
            let (mut server, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
            client.write_all(b"ping").unwrap_or_else(|e| panic!("{e}"));
            let mut buffer = [0; 4];
            server.read_exact(&mut buffer).unwrap_or_else(|e| panic!("{e}"));
        }
        done_tx.send(()).unwrap_or_else(|e| panic!("{e}"));
    });
    done_rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    // Two more readings after the traffic, so every rule saw it.
    std::thread::sleep(Duration::from_millis(1200));
    let open = source.with_store(open_rules);
    assert!(open.is_empty(), "{open:?}");
    assert!(source.with_store(|store| {
        store.kernel().delta(netlens_collectors::store::CounterTable::Snmp, "TcpActiveOpens").is_some()
    }));
    source.stop();
}

/// `netlens doctor --json` in a namespace: exit 1 with `listen_overflow` while a
/// listener overflows, each finding valid against the export schema; exit 0 and an
/// empty list in a quiet namespace.
#[test]
fn doctor_exits_by_what_it_finds() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let home = support::tempdir();
    let doctor = |duration: &str| {
        support::run(support::netlens(home.path()).args([
            "--netns",
            netns.name(),
            "doctor",
            "-d",
            duration,
            "--json",
        ]))
    };
    let quiet = doctor("1s");
    assert_eq!(quiet.status.code(), Some(0), "{}", support::stderr(&quiet));
    assert_eq!(String::from_utf8_lossy(&quiet.stdout).trim(), "[]");
    let (stop, bound) = overflowing_listener(&netns);
    let found = doctor("4s");
    let _ = stop.send(());
    assert_eq!(found.status.code(), Some(1), "{}", support::stderr(&found));
    let findings: serde_json::Value =
        serde_json::from_slice(&found.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    let list = findings.as_array().unwrap_or_else(|| panic!("not a list: {findings}"));
    for (index, finding) in list.iter().enumerate() {
        support::schema::check_finding(finding, &format!("findings[{index}]"));
    }
    assert!(
        list.iter().any(|f| f["rule"] == "listen_overflow" && f["subject"] == format!("tcp {bound}")),
        "{findings}"
    );
}
