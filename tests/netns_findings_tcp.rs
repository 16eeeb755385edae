//! TCP findings proven against the kernel: each scenario makes its problem in network
//! namespaces the test creates (connects an nftables rule drops, a receiver that never
//! reads, a tiny ephemeral port range, short connections piling up in `time_wait`,
//! a veth that loses a share of the segments), runs the kernel counters and the
//! connections sources there, and waits for the finding with its evidence; the
//! healthy twin makes ordinary traffic and shows none of these rules. Needs root and
//! `nft`; see `common::netns::require_netns`.

mod common;
mod support;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::in_netns;
use netlens_collectors::Store;
use netlens_collectors::clock::Stamp;
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::findings::{FindingsConfig, RuleConfig, RuleOverride, Verdict, rule};
use netlens_collectors::kernel::KernelSource;
use netlens_collectors::model::{Finding, Severity};
use netlens_collectors::source::spawn_supervised;
use nix::sched::{CloneFlags, setns};
use socket2::{Domain, Socket, Type};

/// The rules of this file.
const TCP_RULES: [&str; 5] = [
    "tcp_retransmission_storm",
    "tcp_zero_window",
    "syn_unanswered",
    "time_wait_pileup",
    "ephemeral_ports_exhausted",
];

/// The kernel counters and the connections sources, as the app runs them.
fn sources(netns: &Netns) -> SourceInNetns {
    let source = SourceInNetns::start_many(netns, 4096, |tx| {
        let connections =
            ConnectionsConfig { refresh: Duration::from_millis(200), ..ConnectionsConfig::default() };
        vec![
            spawn_supervised(KernelSource::new(Duration::from_millis(200)), tx.clone()),
            spawn_supervised(ConnectionsSource::new(connections), tx),
        ]
    });
    source.wait_for("a kernel reading and a socket table", Duration::from_secs(5), |store| {
        store.kernel().latest().is_some() && store.connections().has_data()
    });
    source
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

/// Set sysctl `name` (`net/ipv4/ip_local_port_range`) of `netns` to `value`.
fn sysctl(netns: &Netns, name: &'static str, value: &'static str) {
    in_netns(netns, move || {
        let path = format!("/proc/sys/{name}");
        std::fs::write(&path, value).unwrap_or_else(|error| panic!("{path}: {error}"));
    });
}

/// The open finding of `rule` on `subject`.
fn finding(store: &Store, rule: &str, subject: &str) -> Option<Finding> {
    store.findings().open().into_iter().find(|f| f.rule == rule && f.subject == subject).cloned()
}

/// Wait for the finding of `rule` on `subject`, check it against the export schema,
/// and return it.
fn wait_for_finding(source: &SourceInNetns, rule: &str, subject: &str, timeout: Duration) -> Finding {
    source
        .wait_for(&format!("{rule} on {subject}"), timeout, |store| finding(store, rule, subject).is_some());
    let found =
        source.with_store(|store| finding(store, rule, subject)).unwrap_or_else(|| panic!("closed again"));
    let value = serde_json::to_value(&found).unwrap_or_else(|e| panic!("{e}"));
    support::schema::check_finding(&value, rule);
    found
}

fn has(finding: &Finding, fact: &str, value: impl Fn(&str) -> bool) -> bool {
    finding.evidence.iter().any(|e| e.fact.contains(fact) && value(&e.value))
}

/// This test process as evidence names it: `… (pid N)`.
fn this_process() -> String {
    format!("(pid {})", std::process::id())
}

fn socket(address: SocketAddr) -> Socket {
    let domain = if address.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    Socket::new(domain, Type::STREAM, None).unwrap_or_else(|e| panic!("{e}"))
}

/// An nftables input chain in `netns` with `rule` (`tcp dport 443 drop`).
fn drop_input(netns: &Netns, rule: &[&str]) {
    netns.nft(&["add", "table", "inet", "tcp_findings"]);
    netns.nft(&["add", "chain", "inet", "tcp_findings", "input", "{ type filter hook input priority 0 ; }"]);
    let mut full = vec!["add", "rule", "inet", "tcp_findings", "input"];
    full.extend_from_slice(rule);
    netns.nft(&full);
}

/// Connects to an address whose SYNs an nftables rule drops stay in `syn_sent`,
/// retransmitting: the finding names the destination and this process.
#[test]
fn syn_unanswered_names_the_silent_destination() {
    let Some(netns) = require_netns() else { return };
    netns.batch("link set lo up\naddr add 10.9.0.1/32 dev lo\n");
    drop_input(&netns, &["ip", "daddr", "10.9.0.1", "tcp", "dport", "443", "drop"]);
    let source = sources(&netns);
    let stop = inside(&netns, |stopped| {
        let target: SocketAddr = "10.9.0.1:443".parse().unwrap_or_else(|e| panic!("{e}"));
        let connects: Vec<Socket> = (0..2)
            .map(|_| {
                let client = socket(target);
                client.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
                let _in_progress = client.connect(&target.into());
                client
            })
            .collect();
        let _ = stopped.recv_timeout(Duration::from_secs(20));
        drop(connects);
    });
    let found = wait_for_finding(&source, "syn_unanswered", "tcp 10.9.0.1:443", Duration::from_secs(8));
    assert!(has(&found, "in syn_sent", |v| v == "2"), "{found:?}");
    assert!(has(&found, "SYN retransmissions", |v| !v.contains(" 0 retransmitted")), "{found:?}");
    assert!(has(&found, "processes", |v| v.contains(&this_process())), "{found:?}");
    assert!(found.fix.contains("nc -vz -w 3 10.9.0.1 443"), "{}", found.fix);
    let _ = stop.send(());
    source.stop();
}

/// A receiver with a small buffer that never reads, and a sender that writes until it
/// blocks: the receiver's window closes, the sender's kernel probes it, and the
/// finding names the sender's connection and this process.
#[test]
fn tcp_zero_window_names_the_blocked_sender() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let source = sources(&netns);
    let (ends_tx, ends_rx) = mpsc::channel();
    let stop = inside(&netns, move |stopped| {
        let address: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        let listener = socket(address);
        listener.set_recv_buffer_size(4096).unwrap_or_else(|e| panic!("{e}"));
        listener.bind(&address.into()).unwrap_or_else(|e| panic!("{e}"));
        listener.listen(8).unwrap_or_else(|e| panic!("{e}"));
        let bound = listener.local_addr().ok().and_then(|a| a.as_socket()).unwrap_or_else(|| panic!("bound"));
        let mut sender = TcpStream::connect(bound).unwrap_or_else(|e| panic!("{e}"));
        let (receiver, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
        sender.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
        let chunk = vec![1_u8; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(5);
        // Until the receiver's buffer and then the sender's are full.
        loop {
            match sender.write(&chunk) {
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => panic!("write: {error}"),
            }
            assert!(Instant::now() < deadline, "the sender never blocked");
        }
        let local = sender.local_addr().unwrap_or_else(|e| panic!("{e}"));
        ends_tx.send((local, bound)).unwrap_or_else(|e| panic!("{e}"));
        let _ = stopped.recv_timeout(Duration::from_secs(20));
        drop((sender, receiver, listener));
    });
    let (local, remote) = ends_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    let subject = format!("tcp {local} → {remote}");
    let found = wait_for_finding(&source, "tcp_zero_window", &subject, Duration::from_secs(9));
    assert!(
        has(&found, "snd_wnd", |v| v == "0 bytes")
            || has(&found, "zero-window probe timer", |v| v.starts_with("armed")),
        "{found:?}"
    );
    assert!(has(&found, "Send-Q", |v| v.parse::<u64>().is_ok_and(|bytes| bytes > 0)), "{found:?}");
    assert!(found.title.contains(&this_process()), "{}", found.title);
    // Only the sender is stuck: the receiver's peer (the sender) has an open window.
    let stuck = source
        .with_store(|store| store.findings().open().iter().filter(|f| f.rule == "tcp_zero_window").count());
    assert_eq!(stuck, 1);
    let _ = stop.send(());
    source.stop();
}

/// In `netns`, a listener on `address` that accepts every connection until told to
/// stop. With `keep_open` it says hello and keeps the connection; without, it reads
/// it to the end and closes after the client did (so the client's side waits in
/// `time_wait`).
fn accepting(netns: &Netns, address: SocketAddr, keep_open: bool) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let path = netns.path();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        let listener = TcpListener::bind(address).unwrap_or_else(|e| panic!("bind {address}: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
        let _ = ready_tx.send(());
        let mut held = Vec::new();
        while !stopping.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut stream, _)) if keep_open => {
                    let _ = stream.write_all(b"hello");
                    held.push(stream);
                }
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut rest = Vec::new();
                    let _ = stream.read_to_end(&mut rest);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("listener: {e}"));
    stop
}

/// With `ip_local_port_range` at 10 ports, ten connections to one listener take them
/// all (an eleventh connect fails with `EADDRNOTAVAIL`): the finding names the
/// destination, critical, with the range and this process.
#[test]
fn ephemeral_ports_exhausted_names_the_destination() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    sysctl(&netns, "net/ipv4/ip_local_port_range", "40000 40009");
    let server: SocketAddr = "127.0.0.1:5555".parse().unwrap_or_else(|e| panic!("{e}"));
    let listening = accepting(&netns, server, true);
    let source = sources(&netns);
    let (failed_tx, failed_rx) = mpsc::channel();
    let stop = inside(&netns, move |stopped| {
        let clients: Vec<TcpStream> =
            (0..10).map(|_| TcpStream::connect(server).unwrap_or_else(|e| panic!("connect: {e}"))).collect();
        let eleventh = TcpStream::connect(server).map(drop).map_err(|e| e.raw_os_error());
        failed_tx.send(eleventh).unwrap_or_else(|e| panic!("{e}"));
        let _ = stopped.recv_timeout(Duration::from_secs(20));
        drop(clients);
    });
    let eleventh = failed_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(eleventh, Err(Some(nix::libc::EADDRNOTAVAIL)), "the range is used up");
    let found =
        wait_for_finding(&source, "ephemeral_ports_exhausted", "tcp 127.0.0.1:5555", Duration::from_secs(6));
    assert_eq!(found.severity, Severity::Critical, "{found:?}");
    assert!(has(&found, "on an ephemeral port", |v| v == "10 of 10"), "{found:?}");
    assert!(has(&found, "ip_local_port_range", |v| v == "40000 40009 (10 ports)"), "{found:?}");
    assert!(has(&found, "processes", |v| v.contains(&this_process())), "{found:?}");
    let _ = stop.send(());
    listening.store(true, Ordering::Relaxed);
    source.stop();
}

/// 130 short connections that the client closes first, with a 200-port range and
/// `tcp_tw_reuse` off: their `time_wait` remnants hold 65 % of the range toward the
/// listener, and the finding names it (the ports are not yet exhausted). With its
/// host-wide count lowered to 100, the rule also reports the host's `TCP.tw`.
#[test]
fn time_wait_pileup_names_the_destination() {
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    sysctl(&netns, "net/ipv4/ip_local_port_range", "40000 40199");
    sysctl(&netns, "net/ipv4/tcp_tw_reuse", "0");
    let server: SocketAddr = "127.0.0.1:5556".parse().unwrap_or_else(|e| panic!("{e}"));
    let listening = accepting(&netns, server, false);
    let source = sources(&netns);
    in_netns(&netns, move || {
        for _ in 0..130 {
            let mut client = TcpStream::connect(server).unwrap_or_else(|e| panic!("connect: {e}"));
            client.write_all(b"bye").unwrap_or_else(|e| panic!("{e}"));
            // Close first, then wait for the server's close: one at a time, so the
            // accept queue never overflows.
            client.shutdown(std::net::Shutdown::Write).unwrap_or_else(|e| panic!("{e}"));
            let mut rest = Vec::new();
            let _ = client.read_to_end(&mut rest);
        }
    });
    let found = wait_for_finding(&source, "time_wait_pileup", "tcp 127.0.0.1:5556", Duration::from_secs(8));
    assert_eq!(found.severity, Severity::Warning);
    assert!(
        has(&found, "in time_wait on an ephemeral port", |v| v.parse::<u32>().is_ok_and(|n| n >= 100)),
        "{found:?}"
    );
    assert!(has(&found, "ip_local_port_range", |v| v == "40000 40199 (200 ports)"), "{found:?}");
    let open = source.with_store(|store| finding(store, "ephemeral_ports_exhausted", "tcp 127.0.0.1:5556"));
    assert!(open.is_none(), "65 % is no exhaustion: {open:?}");

    // The host-wide count, its threshold lowered through the config.
    let pileup = rule("time_wait_pileup").unwrap_or_else(|| panic!("registered"));
    let lower = RuleOverride { thresholds: [("count".to_owned(), 100.0)].into(), ..RuleOverride::default() };
    let mut store = source.with_store(Clone::clone);
    let Verdict::Found(candidates) = (pileup.evaluate)(&store, &RuleConfig::new(pileup, Some(&lower))) else {
        panic!("applicable")
    };
    let host =
        candidates.iter().find(|c| c.subject == "time_wait").unwrap_or_else(|| panic!("{candidates:?}"));
    assert!(
        host.evidence
            .iter()
            .any(|e| e.fact.contains("TCP.tw") && e.value.parse::<u32>().is_ok_and(|n| n >= 100)),
        "{host:?}"
    );
    // The same through the engine: opened once it held for the debounce.
    let config = FindingsConfig { rules: [("time_wait_pileup".to_owned(), lower)].into() };
    store.set_findings_config(config);
    let now = Stamp::now();
    store.evaluate_findings(now);
    let later = time::Duration::seconds(3);
    store.evaluate_findings(Stamp { wall: now.wall + later, mono: now.mono + later });
    assert!(finding(&store, "time_wait_pileup", "time_wait").is_some(), "{:?}", store.findings().open());
    listening.store(true, Ordering::Relaxed);
    source.stop();
}

/// Host `veth0` 10.1.0.2/24 ↔ peer `veth1` 10.1.0.1/24.
fn pair() -> Option<(Netns, Netns)> {
    let host = require_netns()?;
    let peer = require_netns()?;
    host.batch(&format!(
        "link set lo up\n\
         link add veth0 type veth peer name veth1 netns {peer}\n\
         addr add 10.1.0.2/24 dev veth0\n\
         link set veth0 up\n",
        peer = peer.name()
    ));
    peer.batch("link set lo up\naddr add 10.1.0.1/24 dev veth1\nlink set veth1 up\n");
    Some((host, peer))
}

/// In `peer`, a sink on 10.1.0.1:5001 that reads every connection to its end.
fn sink(peer: &Netns) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let path = peer.path();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        let listener = TcpListener::bind("10.1.0.1:5001").unwrap_or_else(|e| panic!("bind: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
        let _ = ready_tx.send(());
        while !stopping.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    std::thread::spawn(move || {
                        let _ = stream.set_nonblocking(false);
                        let mut buffer = vec![0_u8; 64 * 1024];
                        while stream.read(&mut buffer).is_ok_and(|n| n > 0) {}
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| panic!("sink: {e}"));
    stop
}

/// In `host`, `clients` connections to the sink writing until `stop` (or `for_at_most`).
fn senders(host: &Netns, clients: usize, for_at_most: Duration) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..clients {
        let stopping = Arc::clone(&stop);
        inside(host, move |_| {
            let mut stream = TcpStream::connect("10.1.0.1:5001").unwrap_or_else(|e| panic!("connect: {e}"));
            stream.set_write_timeout(Some(Duration::from_millis(500))).unwrap_or_else(|e| panic!("{e}"));
            let chunk = vec![3_u8; 16 * 1024];
            let deadline = Instant::now() + for_at_most;
            while !stopping.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Err(error) = stream.write_all(&chunk)
                    && !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                {
                    break;
                }
            }
        });
    }
    stop
}

/// The peer drops a fifth of the segments reaching its sink, at random: four bulk
/// senders retransmit, and the finding names the peer with the retransmitted share.
#[test]
fn tcp_retransmission_storm_names_the_lossy_peer() {
    let Some((host, peer)) = pair() else { return };
    drop_input(&peer, &["tcp", "dport", "5001", "numgen", "random", "mod", "5", "==", "0", "drop"]);
    let sinking = sink(&peer);
    let source = sources(&host);
    let sending = senders(&host, 4, Duration::from_secs(15));
    let found =
        wait_for_finding(&source, "tcp_retransmission_storm", "peer 10.1.0.1", Duration::from_secs(8));
    assert!(has(&found, "retransmitted / sent segments to 10.1.0.1", |v| v.ends_with("%)")), "{found:?}");
    assert!(has(&found, "TcpRetransSegs / TcpOutSegs", |v| v.starts_with('+')), "{found:?}");
    assert!(has(&found, "processes", |v| v.contains(&this_process())), "{found:?}");
    sending.store(true, Ordering::Relaxed);
    sinking.store(true, Ordering::Relaxed);
    source.stop();
}

/// The healthy twin of every scenario above: bulk transfers over the veth with no
/// loss, a hundred short connections, a held pool of connections, and a connect refused with a reset. None of the TCP rules finds
/// anything, and each had its inputs.
#[test]
fn healthy_tcp_traffic_has_no_tcp_finding() {
    let Some((host, peer)) = pair() else { return };
    let sinking = sink(&peer);
    let server: SocketAddr = "10.1.0.1:5002".parse().unwrap_or_else(|e| panic!("{e}"));
    let listening = accepting(&peer, server, true);
    let source = sources(&host);
    let sending = senders(&host, 4, Duration::from_secs(3));
    let (done_tx, done_rx) = mpsc::channel();
    let _stop = inside(&host, move |stopped| {
        let pool: Vec<TcpStream> =
            (0..20).map(|_| TcpStream::connect(server).unwrap_or_else(|e| panic!("connect: {e}"))).collect();
        for _ in 0..100 {
            let mut client = TcpStream::connect(server).unwrap_or_else(|e| panic!("connect: {e}"));
            let mut hello = [0_u8; 5];
            client.read_exact(&mut hello).unwrap_or_else(|e| panic!("{e}"));
        }
        let refused = TcpStream::connect("10.1.0.1:5999").map(drop).map_err(|e| e.kind());
        done_tx.send(refused).unwrap_or_else(|e| panic!("{e}"));
        let _ = stopped.recv_timeout(Duration::from_secs(20));
        drop(pool);
    });
    let refused = done_rx.recv_timeout(Duration::from_secs(8)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused, Err(ErrorKind::ConnectionRefused));
    // The transfers last 3 s; watch through them and a while after (past every debounce).
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        let open: Vec<String> = source.with_store(|store| {
            store
                .findings()
                .open()
                .iter()
                .filter(|f| TCP_RULES.contains(&f.rule.as_str()))
                .map(|f| format!("{} on {}: {:?}", f.rule, f.subject, f.evidence))
                .collect()
        });
        assert!(open.is_empty(), "{open:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    source.with_store(|store| {
        for id in TCP_RULES {
            let rule = rule(id).unwrap_or_else(|| panic!("{id} registered"));
            let verdict = (rule.evaluate)(store, &RuleConfig::defaults(rule));
            assert!(matches!(verdict, Verdict::Found(ref found) if found.is_empty()), "{id}: {verdict:?}");
        }
        let others: Vec<String> =
            store.findings().open().iter().map(|f| format!("{} on {}", f.rule, f.subject)).collect();
        if !others.is_empty() {
            eprintln!("other rules' findings (not this file's): {others:?}");
        }
    });
    sending.store(true, Ordering::Relaxed);
    sinking.store(true, Ordering::Relaxed);
    listening.store(true, Ordering::Relaxed);
    source.stop();
}
