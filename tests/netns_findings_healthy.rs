//! A healthy pair of namespaces under a minute of ordinary traffic gives no finding at
//! all: every rule runs over real interfaces, routes, DNS, sockets and kernel counters
//! while a client in one namespace makes TCP transfers to a listener that accepts in
//! the other and resolves names through a nameserver there. Needs root; see
//! `common::netns::require_netns`.

mod common;
mod support;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::dns_server::{DnsTestServer, Zone};
use common::etc_netns::EtcNetns;
use common::netns::{Netns, require_netns};
use common::peer::in_netns;

/// How long netlens watches the pair.
const WATCH: &str = "60s";

/// In `netns`, a listener on `address` that accepts every connection, sends it 256 KiB
/// and closes, until `stop`.
fn serving(netns: &Netns, address: SocketAddr, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let netns_path = netns.path();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let file = std::fs::File::open(&netns_path).unwrap_or_else(|e| panic!("{e}"));
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("{e}"));
        let listener = TcpListener::bind(address).unwrap_or_else(|e| panic!("bind {address}: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
        let _ = ready_tx.send(());
        let payload = vec![7_u8; 256 * 1024];
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.write_all(&payload);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("listener: {e}"));
    thread
}

/// In `netns`, transfers from `server` every 100 ms until `stop`; counts them.
fn transferring(
    netns: &Netns,
    server: SocketAddr,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    let netns_path = netns.path();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&netns_path).unwrap_or_else(|e| panic!("{e}"));
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("{e}"));
        while !stop.load(Ordering::Relaxed) {
            if let Ok(mut stream) = TcpStream::connect_timeout(&server, Duration::from_secs(2)) {
                let mut received = Vec::new();
                if stream.read_to_end(&mut received).is_ok() && received.len() == 256 * 1024 {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

/// `getent hosts web.test` in `netns` every second, through the namespace's own
/// resolv.conf (`ip netns exec` mounts it), until `stop`; counts the answers.
fn resolving(
    netns: &Netns,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    let name = netns.name().to_owned();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let output = std::process::Command::new("ip")
                .args(["netns", "exec", &name, "getent", "hosts", "web.test"])
                .output();
            if output
                .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("10.77.0.2"))
            {
                answered.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    })
}

#[test]
fn a_healthy_pair_with_traffic_has_no_finding_in_a_minute() {
    let Some(client) = require_netns() else { return };
    let server_ns = Netns::create().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (format!("h{}a", std::process::id() % 10_000), format!("h{}b", std::process::id() % 10_000));
    client.must(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
    client.must(&["link", "set", &b, "netns", server_ns.name()]);
    for (netns, link, address) in [(&client, &a, "10.77.0.1/24"), (&server_ns, &b, "10.77.0.2/24")] {
        netns.must(&["link", "set", "lo", "up"]);
        netns.must(&["addr", "add", address, "dev", link]);
        netns.must(&["link", "set", link, "up"]);
    }
    client.must(&["route", "add", "default", "via", "10.77.0.2"]);
    let _etc =
        EtcNetns::write(&client, &[("resolv.conf", "nameserver 10.77.0.2\noptions timeout:1 attempts:2\n")]);
    let server_ip: IpAddr = "10.77.0.2".parse().unwrap_or_else(|e| panic!("{e}"));
    let zone = Zone::new().host("web.test", &[server_ip]);
    let dns = in_netns(&server_ns, move || DnsTestServer::start(SocketAddr::new(server_ip, 53), zone));

    let stop = Arc::new(AtomicBool::new(false));
    let (transfers, answers) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let web = SocketAddr::new(server_ip, 8080);
    let threads = [
        serving(&server_ns, web, Arc::clone(&stop)),
        transferring(&client, web, Arc::clone(&stop), Arc::clone(&transfers)),
        resolving(&client, Arc::clone(&stop), Arc::clone(&answers)),
    ];
    let home = support::tempdir();
    let watched = support::run(support::netlens(home.path()).args([
        "--netns",
        client.name(),
        "snapshot",
        "-d",
        WATCH,
        "-o",
        "-",
    ]));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    }
    drop(dns);
    assert_eq!(watched.status.code(), Some(0), "{}", support::stderr(&watched));
    let snapshot: serde_json::Value =
        serde_json::from_slice(&watched.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    // The traffic happened, and netlens saw it: this is a minute of a working pair, not of an idle one.
    let (transfers, answers) = (transfers.load(Ordering::Relaxed), answers.load(Ordering::Relaxed));
    assert!(transfers > 100, "{transfers} transfers");
    assert!(answers > 30, "{answers} lookups answered");
    let opens = &snapshot["kernel"]["snmp"]["TcpActiveOpens"]["value"];
    assert!(opens.as_i64().is_some_and(|n| n > 100), "TcpActiveOpens {opens}");
    assert!(snapshot["paths"].as_array().is_some_and(|paths| !paths.is_empty()), "paths evaluated");
    let findings = snapshot["findings"].as_array().unwrap_or_else(|| panic!("no findings list"));
    assert!(findings.is_empty(), "a healthy pair has no finding, open or closed: {findings:#?}");
}
