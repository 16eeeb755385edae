//! Path, route and MTU findings proven against the kernel: each scenario makes its
//! problem in namespaces the test creates (a "host" watched by netlens, peers acting
//! as gateways, routers and servers), runs the sources that feed the rule in the host,
//! and waits for the finding with its evidence; its healthy twin makes the same set-up
//! without the problem and shows no finding of the rule. Traffic only crosses the
//! test's own veth pairs. Needs root; see `common::netns::require_netns`.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::dns::DnsServer;
use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::{Listener, in_netns, settle};
use netlens_collectors::Store;
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::findings::{self, RuleConfig, Verdict};
use netlens_collectors::interfaces::{InterfacesConfig, InterfacesSource};
use netlens_collectors::kernel::KernelSource;
use netlens_collectors::kernel_view::{KernelView, KernelViewConfig};
use netlens_collectors::model::{Finding, Severity};
use netlens_collectors::paths::source::{PathsConfig, paths};
use netlens_collectors::paths::target::Target;
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::store::CounterTable;
use nix::sched::{CloneFlags, setns};

/// Every rule of the paths and MTU families.
const RULES: &[&str] = &[
    "path_failing",
    "ipv6_broken",
    "default_route_missing",
    "gateway_unreachable",
    "rp_filter_asymmetric",
    "multicast_send_no_route",
    "mtu_mismatch",
    "pmtu_blackhole",
];

/// Generous: the longest debounce (5 s) plus a slow CI machine.
const TIMEOUT: Duration = Duration::from_secs(12);

/// The interfaces, kernel and connections sources in `netns` sharing one kernel view
/// as the app wires them, and the paths source when `targets` are given.
fn watch(netns: &Netns, targets: Option<PathsConfig>) -> SourceInNetns {
    SourceInNetns::start_many(netns, 1024, move |tx| {
        let kernel = KernelView::start(KernelViewConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let interfaces =
            InterfacesConfig { refresh: Duration::from_millis(250), ..InterfacesConfig::default() };
        let connections = ConnectionsConfig {
            refresh: Duration::from_millis(200),
            route_generation: Some(kernel.clone()),
            ..ConnectionsConfig::default()
        };
        let mut tasks = vec![
            spawn_supervised(KernelSource::new(Duration::from_millis(200)), tx.clone()),
            spawn_supervised(ConnectionsSource::new(connections), tx.clone()),
        ];
        if let Some(config) = targets {
            tasks.push(spawn_supervised(paths(config).1.with_kernel(kernel.clone()), tx.clone()));
        }
        tasks.push(spawn_supervised(InterfacesSource::new(interfaces).with_kernel(kernel), tx));
        tasks
    })
}

/// Paths probing `targets` quickly, resolving names with `nameserver`.
fn probing(targets: &[&str], nameserver: Option<SocketAddr>) -> PathsConfig {
    PathsConfig {
        targets: targets.iter().map(|t| t.parse::<Target>().unwrap_or_else(|e| panic!("{t}: {e}"))).collect(),
        debounce: Duration::from_millis(500),
        probe_interval: Duration::from_millis(300),
        backoff_max: Duration::from_secs(1),
        probe_timeout: Duration::from_millis(600),
        nameserver,
        ..PathsConfig::default()
    }
}

fn open(store: &Store, rule: &str) -> Vec<Finding> {
    store.findings().open().into_iter().filter(|f| f.rule == rule).cloned().collect()
}

/// Wait for `rule`'s finding on `subject` and return it.
fn wait_for(source: &SourceInNetns, rule: &str, subject: &str) -> Finding {
    source.wait_for(&format!("{rule} on {subject}"), TIMEOUT, |store| {
        open(store, rule).iter().any(|f| f.subject == subject)
    });
    source
        .with_store(|store| open(store, rule).into_iter().find(|f| f.subject == subject))
        .unwrap_or_else(|| panic!("{rule}"))
}

/// Whether `rule` sees nothing now (before its hold closes an open finding).
fn clear(store: &Store, rule: &str) -> bool {
    let rule = findings::rule(rule).unwrap_or_else(|| panic!("no rule {rule}"));
    (rule.evaluate)(store, &RuleConfig::defaults(rule)) == Verdict::Found(Vec::new())
}

/// The open findings of this file's rules.
fn ours(store: &Store) -> Vec<String> {
    store
        .findings()
        .open()
        .iter()
        .filter(|f| RULES.contains(&f.rule.as_str()))
        .map(|f| format!("{} on {}: {}", f.rule, f.subject, f.title))
        .collect()
}

fn has(finding: &Finding, fact: &str, value: &str) -> bool {
    finding.evidence.iter().any(|e| e.fact.contains(fact) && e.value.contains(value))
}

/// Run `f` on a new thread inside `netns` (for threads that own sockets there).
fn spawn_in<R: Send + 'static>(netns: &Netns, f: impl FnOnce() -> R + Send + 'static) -> JoinHandle<R> {
    let path = netns.path();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        f()
    })
}

fn sysctl(netns: &Netns, key: &str, value: &str) {
    let status = Command::new("ip")
        .args(["netns", "exec", netns.name(), "sysctl", "-qw", &format!("{key}={value}")])
        .status()
        .unwrap_or_else(|error| panic!("sysctl: {error}"));
    assert!(status.success(), "sysctl {key}={value}");
}

struct Lab {
    host: Netns,
    peer: Netns,
}

/// Host `veth0` 10.1.0.2/24 + `2001:db8:1::2/64` ↔ peer `veth1` 10.1.0.1/24 +
/// `2001:db8:1::1/64`, and `routes` (lines of `ip -batch`) on the host.
fn lab(routes: &str) -> Option<Lab> {
    let host = require_netns()?;
    let peer = require_netns()?;
    host.batch(&format!(
        "link set lo up\n\
         link add veth0 type veth peer name veth1 netns {peer}\n\
         addr add 10.1.0.2/24 dev veth0\n\
         addr add 2001:db8:1::2/64 dev veth0 nodad\n\
         link set veth0 up\n\
         {routes}",
        peer = peer.name()
    ));
    peer.batch(
        "link set lo up\n\
         addr add 10.1.0.1/24 dev veth1\n\
         addr add 2001:db8:1::1/64 dev veth1 nodad\n\
         link set veth1 up\n",
    );
    sysctl(&host, "net.ipv4.conf.all.rp_filter", "0");
    Some(Lab { host, peer })
}

const DEFAULTS: &str =
    "route add default via 10.1.0.1 dev veth0\nroute add ::/0 via 2001:db8:1::1 dev veth0\n";

/// Dual-stack with default routes, a probed listener that answers, a dual-stack name
/// whose IPv6 address answers, strict reverse-path filtering that routing agrees
/// with, equal MTUs and a TCP transfer: none of these rules finds anything.
#[test]
fn a_healthy_dual_stack_host_has_no_path_or_mtu_finding() {
    let Some(lab) = lab(DEFAULTS) else { return };
    sysctl(&lab.host, "net.ipv4.conf.veth0.rp_filter", "1");
    let _v4 = Listener::start(&lab.peer, "10.1.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")));
    let _v6 = Listener::start(&lab.peer, "[2001:db8:1::1]:8443".parse().unwrap_or_else(|e| panic!("{e}")));
    let _v4s = Listener::start(&lab.peer, "10.1.0.1:8443".parse().unwrap_or_else(|e| panic!("{e}")));
    let dns = dual_stack_names(&lab.host, "2001:db8:1::1");
    let source = watch(&lab.host, Some(probing(&["10.1.0.1:8080", "dual.test:8443"], Some(dns.address()))));
    source.wait_for("both probes answered, IPv6 won its race", TIMEOUT, |store| {
        let answered =
            |t: &str| store.path(t).is_some_and(|p| p.probe.as_ref().is_some_and(|probe| probe.ok));
        answered("10.1.0.1:8080")
            && answered("dual.test:8443")
            && store
                .path("dual.test:8443")
                .is_some_and(|p| p.attempts.iter().any(|a| a.winner && a.address.is_ipv6()))
    });
    let _server = echo_server(&lab.peer, "10.1.0.1:5001".parse().unwrap_or_else(|e| panic!("{e}")));
    in_netns(&lab.host, || {
        let mut stream = TcpStream::connect("10.1.0.1:5001").unwrap_or_else(|e| panic!("{e}"));
        let mut answer = [0; 1];
        stream
            .write_all(&[1; 100])
            .and_then(|()| stream.read_exact(&mut answer))
            .unwrap_or_else(|e| panic!("{e}"));
        stream.write_all(&vec![7; 300_000]).unwrap_or_else(|e| panic!("{e}"));
    });
    // After a transfer, longer than every debounce of these rules.
    settle(6500);
    assert_eq!(source.with_store(ours), Vec::<String>::new());
    assert!(
        source.with_store(|s| s.kernel().latest().is_some_and(|k| k.effective_rp_filter("veth0") == Some(1)))
    );
    source.stop();
}

/// A DNS server on the host's loopback answering `dual.test` with `v6` and 10.1.0.1.
fn dual_stack_names(host: &Netns, v6: &str) -> DnsServer {
    let v6: IpAddr = v6.parse().unwrap_or_else(|e| panic!("{e}"));
    in_netns(host, move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
        let v4: IpAddr = "10.1.0.1".parse().unwrap_or_else(|e| panic!("{e}"));
        DnsServer::serve(socket, vec![("dual.test".to_owned(), v6), ("dual.test".to_owned(), v4)])
    })
}

/// Only the connected networks: the IPv4 address makes `default_route_missing`; the
/// IPv6 side has a global address too, and is found as well.
#[test]
fn a_host_without_default_routes_is_found() {
    let Some(lab) = lab("") else { return };
    let source = watch(&lab.host, None);
    let finding = wait_for(&source, "default_route_missing", "ipv4");
    assert!(has(&finding, "global ipv4 addresses", "10.1.0.2/24 on veth0"), "{finding:?}");
    assert!(has(&finding, "default route (tables", "none"), "{finding:?}");
    assert!(lab.host.ip(&["route", "get", "192.0.2.1"]).is_err(), "the kernel agrees: no route");
    let v6 = wait_for(&source, "default_route_missing", "ipv6");
    assert!(has(&v6, "global ipv6 addresses", "2001:db8:1::2/64 on veth0"), "{v6:?}");
    // The default routes come: the rule clears at once (the finding closes after its hold).
    lab.host.batch(DEFAULTS);
    source.wait_for("default_route_missing clear", TIMEOUT, |store| clear(store, "default_route_missing"));
    source.stop();
}

/// The default gateway is an address nobody holds: once something is sent, the
/// kernel's ARP fails and the finding names the gateway.
#[test]
fn a_default_gateway_that_does_not_answer_is_found() {
    let Some(lab) = lab("route add default via 10.1.0.99 dev veth0\n") else { return };
    let source = watch(&lab.host, None);
    let sending = Arc::new(AtomicBool::new(true));
    let keep = Arc::clone(&sending);
    let sender = spawn_in(&lab.host, move || {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap_or_else(|error| panic!("{error}"));
        while keep.load(Ordering::Relaxed) {
            let _ = socket.send_to(b"x", "192.0.2.1:9");
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let finding = wait_for(&source, "gateway_unreachable", "gateway 10.1.0.99");
    sending.store(false, Ordering::Relaxed);
    let _ = sender.join();
    assert_eq!(finding.severity, Severity::Critical);
    assert!(
        has(&finding, "neighbour 10.1.0.99 on veth0", "failed")
            || has(&finding, "neighbour 10.1.0.99", "incomplete"),
        "{finding:?}"
    );
    assert!(has(&finding, "route", "default via 10.1.0.99 dev veth0 table main"), "{finding:?}");
    let neighbours = lab.host.json(&["neigh", "show", "dev", "veth0"]).to_string();
    assert!(
        neighbours.contains("FAILED") || neighbours.contains("INCOMPLETE"),
        "the kernel agrees: {neighbours}"
    );
    source.stop();
}

/// Two uplinks: `veth0` to the first peer (default, metric 100) and `veth2` to a
/// second (default, metric 200), strict `rp_filter` on `veth2`. With `source_routing`,
/// a rule sends replies from veth2's address out of veth2.
fn two_uplinks(source_routing: bool) -> Option<(Lab, Netns)> {
    let lab = lab("route add default via 10.1.0.1 dev veth0 metric 100\n")?;
    let second = require_netns()?;
    lab.host.batch(&format!(
        "link add veth2 type veth peer name veth3 netns {}\n\
         addr add 10.2.0.2/24 dev veth2\n\
         link set veth2 up\n\
         route add default via 10.2.0.1 dev veth2 metric 200\n",
        second.name()
    ));
    if source_routing {
        lab.host
            .batch("rule add from 10.2.0.2 lookup 100\nroute add default via 10.2.0.1 dev veth2 table 100\n");
    }
    // 198.51.100.7 stands for a host beyond the second uplink's router.
    second.batch(
        "link set lo up\n\
         addr add 10.2.0.1/24 dev veth3\n\
         addr add 198.51.100.7/32 dev lo\n\
         link set veth3 up\n",
    );
    sysctl(&lab.host, "net.ipv4.conf.veth2.rp_filter", "1");
    // ARP from the router's own address: the filter would drop ARP from 198.51.100.7.
    sysctl(&second, "net.ipv4.conf.veth3.arp_announce", "2");
    Some((lab, second))
}

/// Datagrams from 198.51.100.7 to the host's veth2 address, every 100 ms, until dropped.
fn from_beyond(second: &Netns) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let running = Arc::new(AtomicBool::new(true));
    let keep = Arc::clone(&running);
    let thread = spawn_in(second, move || {
        let socket = UdpSocket::bind("198.51.100.7:0").unwrap_or_else(|error| panic!("{error}"));
        while keep.load(Ordering::Relaxed) {
            let _ = socket.send_to(b"x", "10.2.0.2:9");
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    (running, thread)
}

fn reverse_path_drops(store: &Store) -> i64 {
    store.kernel().latest().and_then(|k| k.netstat.get("TcpExtIPReversePathFilter").copied()).unwrap_or(0)
}

/// Traffic from beyond the second uplink arrives on veth2, but replies would leave by
/// veth0: strict `rp_filter` drops it (the kernel counts it), and the finding says why.
#[test]
fn strict_rp_filter_on_an_uplink_routing_answers_elsewhere_is_found() {
    let Some((lab, second)) = two_uplinks(false) else { return };
    let source = watch(&lab.host, None);
    let (running, sender) = from_beyond(&second);
    let finding = wait_for(&source, "rp_filter_asymmetric", "veth2");
    source.wait_for("the kernel counts reverse-path drops", TIMEOUT, |s| reverse_path_drops(s) > 0);
    running.store(false, Ordering::Relaxed);
    let _ = sender.join();
    assert!(has(&finding, "net.ipv4.conf.veth2.rp_filter", "1 (strict)"), "{finding:?}");
    assert!(has(&finding, "route through veth2", "default via 10.2.0.1 dev veth2 table main metric 200"));
    assert!(has(&finding, "reply from 10.2.0.2 to 1.1.1.1", "dev veth0"), "{finding:?}");
    let answer = lab.host.must(&["route", "get", "1.1.1.1", "from", "10.2.0.2"]);
    assert!(answer.contains("dev veth0"), "the kernel agrees: {answer}");
    assert!(finding.fix.starts_with("ip rule add from 10.2.0.2 lookup 100"), "{}", finding.fix);
    source.stop();
}

/// The same uplinks with source routing: replies leave by veth2, the filter passes
/// the same traffic, and there is no finding.
#[test]
fn strict_rp_filter_with_source_routing_is_quiet() {
    let Some((lab, second)) = two_uplinks(true) else { return };
    let source = watch(&lab.host, None);
    let (running, sender) = from_beyond(&second);
    source.wait_for("a kernel reading and the network", TIMEOUT, |s| {
        s.kernel().latest().is_some() && s.interface_by_name("veth2").is_some()
    });
    settle(6000);
    running.store(false, Ordering::Relaxed);
    let _ = sender.join();
    source.with_store(|s| {
        assert!(open(s, "rp_filter_asymmetric").is_empty(), "{:?}", ours(s));
        assert_eq!(reverse_path_drops(s), 0, "the kernel dropped nothing");
    });
    source.stop();
}

/// A veth pair inside the host with different MTUs, and one with equal MTUs.
/// (Tunnels over a lower device cannot be made here: this kernel has no ipip or gre,
/// and VXLAN does not name its lower device in `IFLA_LINK`.)
#[test]
fn mismatched_mtus_are_found_and_equal_ones_are_not() {
    let Some(host) = require_netns() else { return };
    host.batch(
        "link set lo up\n\
         link add m0 type veth peer name m1\n\
         link add e0 type veth peer name e1\n\
         addr add 10.5.0.1/24 dev m0\n\
         link set m0 mtu 1400\n\
         link set m0 up\n\
         link set m1 up\n\
         link set e0 up\n\
         link set e1 up\n",
    );
    let source = watch(&host, None);
    let pair = wait_for(&source, "mtu_mismatch", "m0 ↔ m1");
    assert!(has(&pair, "mtu of m0", "1400") && has(&pair, "mtu of m1", "1500"), "{pair:?}");
    assert_eq!(pair.fix, "ip link set dev m1 mtu 1400  # both ends of a veth pair must agree");
    let kernel = host.must(&["link", "show", "m1"]);
    assert!(kernel.contains("m1@m0") && kernel.contains("mtu 1500"), "the kernel agrees: {kernel}");
    source.with_store(|s| {
        let subjects: Vec<String> = open(s, "mtu_mismatch").into_iter().map(|f| f.subject).collect();
        assert_eq!(subjects, ["m0 ↔ m1"], "equal MTUs are quiet");
    });
    // Made equal, the rule clears at once (the finding closes after its hold).
    host.must(&["link", "set", "m1", "mtu", "1400"]);
    source.wait_for("mtu_mismatch clear", TIMEOUT, |s| clear(s, "mtu_mismatch"));
    source.stop();
}

/// A listener that answers each 100-byte request with one byte and then reads whatever
/// comes, on `address` inside `netns`.
fn echo_server(netns: &Netns, address: SocketAddr) -> JoinHandle<()> {
    let listener = in_netns(netns, move || TcpListener::bind(address).unwrap_or_else(|e| panic!("{e}")));
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0; 100];
            if stream.read_exact(&mut request).is_ok() && stream.write_all(b"k").is_ok() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
                let mut sink = vec![0; 65536];
                while stream.read(&mut sink).is_ok_and(|n| n > 0) {}
            }
        }
    })
}

/// Client `c0` 10.1.0.2 → router (10.1.0.1 | 10.2.0.1, the route onwards limited to
/// 1280 bytes) → server 10.2.0.2; with `filtered`, the router drops the ICMP
/// "fragmentation needed" it sends back.
fn narrow_path(filtered: bool) -> Option<(Netns, Netns, Netns)> {
    let client = require_netns()?;
    let router = require_netns()?;
    let server = require_netns()?;
    client.batch(&format!(
        "link set lo up\n\
         link add c0 type veth peer name r0 netns {}\n\
         addr add 10.1.0.2/24 dev c0\n\
         link set c0 up\n\
         route add default via 10.1.0.1 dev c0\n",
        router.name()
    ));
    router.batch(&format!(
        "link set lo up\n\
         link add r1 type veth peer name s0 netns {}\n\
         addr add 10.1.0.1/24 dev r0\n\
         addr add 10.2.0.1/24 dev r1\n\
         link set r0 up\n\
         link set r1 up\n\
         route replace 10.2.0.0/24 dev r1 mtu 1280\n",
        server.name()
    ));
    server.batch(
        "link set lo up\n\
         addr add 10.2.0.2/24 dev s0\n\
         link set s0 up\n\
         route add default via 10.2.0.1 dev s0\n",
    );
    sysctl(&router, "net.ipv4.ip_forward", "1");
    if filtered {
        router.nft(&["add table inet blackhole"]);
        router.nft(&["add chain inet blackhole out { type filter hook output priority 0 ; }"]);
        router.nft(&["add rule inet blackhole out icmp type destination-unreachable drop"]);
    }
    Some((client, router, server))
}

/// Connect from the client, exchange a small request and answer, then send 256 KiB
/// (the writer runs on until the returned flag is cleared).
fn transfer(client: &Netns) -> (Arc<AtomicBool>, JoinHandle<usize>) {
    let running = Arc::new(AtomicBool::new(true));
    let keep = Arc::clone(&running);
    let thread = spawn_in(client, move || {
        let mut stream = TcpStream::connect("10.2.0.2:5001").unwrap_or_else(|e| panic!("{e}"));
        stream.write_all(&[1; 100]).unwrap_or_else(|e| panic!("{e}"));
        let mut answer = [0; 1];
        stream.read_exact(&mut answer).unwrap_or_else(|e| panic!("{e}"));
        stream.set_write_timeout(Some(Duration::from_millis(200))).unwrap_or_else(|e| panic!("{e}"));
        let mut written = 0;
        let chunk = [2; 16384];
        while keep.load(Ordering::Relaxed) && written < 262_144 {
            if let Ok(n) = stream.write(&chunk) {
                written += n;
            }
        }
        while keep.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        written
    });
    (running, thread)
}

/// A second connection to the server trading 10-byte messages every 200 ms, until
/// the flag is cleared: small segments pass the narrow path.
fn small_talk(client: &Netns, server: &Netns) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let listener = in_netns(server, || TcpListener::bind("10.2.0.2:5002").unwrap_or_else(|e| panic!("{e}")));
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut message = [0; 10];
            while stream.read_exact(&mut message).is_ok() && stream.write_all(&message).is_ok() {}
        }
    });
    let running = Arc::new(AtomicBool::new(true));
    let keep = Arc::clone(&running);
    let thread = spawn_in(client, move || {
        let mut stream = TcpStream::connect("10.2.0.2:5002").unwrap_or_else(|e| panic!("{e}"));
        let mut answer = [0; 10];
        while keep.load(Ordering::Relaxed)
            && stream.write_all(&[3; 10]).is_ok()
            && stream.read_exact(&mut answer).is_ok()
        {
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    (running, thread)
}

/// Full-size segments vanish behind the router, which also drops the ICMP that
/// would say so: TCP retransmits them while the small request got through, and a
/// second connection's small messages still pass.
#[test]
fn a_path_mtu_black_hole_is_found() {
    let Some((client, _router, server)) = narrow_path(true) else { return };
    let _server = echo_server(&server, "10.2.0.2:5001".parse().unwrap_or_else(|e| panic!("{e}")));
    let source = watch(&client, None);
    source.wait_for("a kernel reading", TIMEOUT, |s| s.kernel().latest().is_some());
    let (talking, talker) = small_talk(&client, &server);
    let (running, writer) = transfer(&client);
    let finding = wait_for(&source, "pmtu_blackhole", "10.2.0.2");
    running.store(false, Ordering::Relaxed);
    talking.store(false, Ordering::Relaxed);
    let _ = writer.join();
    let _ = talker.join();
    assert_eq!(finding.severity, Severity::Critical, "{finding:?}");
    assert!(has(&finding, "another connection to 10.2.0.2", "yes"), "{finding:?}");
    assert!(has(&finding, "mss / path MTU", "1448 / 1500 bytes"), "{finding:?}");
    assert!(has(&finding, "IcmpInDestUnreachs", "+0"), "{finding:?}");
    assert!(has(&finding, "bytes acknowledged before", "101"), "{finding:?}");
    source.stop();
}

/// The same narrow path with the ICMP let through: the client learns the path MTU,
/// the transfer completes, and there is no finding.
#[test]
fn a_narrow_path_that_says_so_is_quiet() {
    let Some((client, _router, server)) = narrow_path(false) else { return };
    let _reader = echo_server(&server, "10.2.0.2:5001".parse().unwrap_or_else(|e| panic!("{e}")));
    let source = watch(&client, None);
    source.wait_for("a kernel reading", TIMEOUT, |s| s.kernel().latest().is_some());
    let (running, writer) = transfer(&client);
    source.wait_for("the ICMP arrived", TIMEOUT, |s| {
        s.kernel().latest().and_then(|k| k.snmp.get("IcmpInDestUnreachs").copied()).unwrap_or(0) > 0
    });
    settle(3000);
    running.store(false, Ordering::Relaxed);
    assert_eq!(writer.join().unwrap_or(0), 262_144, "the transfer completed");
    source.with_store(|s| assert!(open(s, "pmtu_blackhole").is_empty(), "{:?}", ours(s)));
    source.stop();
}

/// A probed listener behind a firewall that drops the probes while the route, link
/// and gateway are fine.
#[test]
fn a_probed_target_behind_a_dropping_firewall_is_failing() {
    let Some(lab) = lab(DEFAULTS) else { return };
    let _listener = Listener::start(&lab.peer, "10.1.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")));
    let source = watch(&lab.host, Some(probing(&["10.1.0.1:8080"], None)));
    source.wait_for("the probe answered", TIMEOUT, |s| {
        s.path("10.1.0.1:8080").is_some_and(|p| p.probe.as_ref().is_some_and(|probe| probe.ok))
    });
    lab.peer.nft(&["add table inet wall"]);
    lab.peer.nft(&["add chain inet wall in { type filter hook input priority 0 ; }"]);
    lab.peer.nft(&["add rule inet wall in tcp dport 8080 drop"]);
    let finding = wait_for(&source, "path_failing", "10.1.0.1:8080");
    assert!(finding.title.contains("via veth0"), "{}", finding.title);
    assert!(has(&finding, "route check", "dev veth0"), "{finding:?}");
    assert!(has(&finding, "tcp probe", "failed"), "{finding:?}");
    assert!(finding.fix.starts_with("nc -vz -w 3 10.1.0.1 8080"), "{}", finding.fix);
    assert!(lab.host.must(&["route", "get", "10.1.0.1"]).contains("dev veth0"), "the kernel routes it");
    source.stop();
}

/// A dual-stack name whose IPv6 address is on-link but held by nobody: Happy Eyeballs
/// waits 250 ms for IPv4 on every connect.
#[test]
fn ipv6_that_makes_dual_stack_connects_wait_is_found() {
    let Some(lab) = lab(DEFAULTS) else { return };
    let _listener = Listener::start(&lab.peer, "10.1.0.1:8443".parse().unwrap_or_else(|e| panic!("{e}")));
    let dns = dual_stack_names(&lab.host, "2001:db8:1::99");
    let source = watch(&lab.host, Some(probing(&["dual.test:8443"], Some(dns.address()))));
    let finding = wait_for(&source, "ipv6_broken", "ipv6");
    assert!(has(&finding, "IPv6 attempt to [2001:db8:1::99]:8443", ""), "{finding:?}");
    assert!(has(&finding, "IPv4 attempt to 10.1.0.1:8443", "connected"), "{finding:?}");
    assert!(finding.title.contains("for the IPv4 fallback"), "{}", finding.title);
    source.stop();
}

/// An SSDP-like sender on 0.0.0.0:1900 sending to 239.255.255.250 with no route for
/// the group and no default route: every send fails with "network is unreachable" —
/// or, in the twin, a 224.0.0.0/4 route takes them and they leave.
fn multicast(with_route: bool) {
    let Some(lab) = lab(if with_route { "route add 224.0.0.0/4 dev veth0\n" } else { "" }) else { return };
    let source = watch(&lab.host, None);
    source.wait_for("a kernel reading", TIMEOUT, |s| s.kernel().latest().is_some());
    let running = Arc::new(AtomicBool::new(true));
    let keep = Arc::clone(&running);
    let sender = spawn_in(&lab.host, move || {
        let socket = UdpSocket::bind("0.0.0.0:1900").unwrap_or_else(|e| panic!("{e}"));
        let mut unreachable = 0;
        while keep.load(Ordering::Relaxed) {
            let sent = socket.send_to(b"M-SEARCH * HTTP/1.1\r\n\r\n", "239.255.255.250:1900");
            if sent.is_err_and(|e| e.kind() == std::io::ErrorKind::NetworkUnreachable) {
                unreachable += 1;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        unreachable
    });
    if with_route {
        source.wait_for("the socket seen", TIMEOUT, |s| {
            s.connections().iter().any(|e| e.socket.local.to_string() == "0.0.0.0:1900")
        });
        settle(2000);
        source.with_store(|s| {
            assert!(open(s, "multicast_send_no_route").is_empty(), "{:?}", ours(s));
            assert_eq!(s.kernel().delta(CounterTable::Snmp, "IpOutNoRoutes"), Some(0));
        });
    } else {
        let finding = wait_for(&source, "multicast_send_no_route", "multicast ipv4");
        assert!(has(&finding, "routes covering 224.0.0.0/4", "none"), "{finding:?}");
        assert!(has(&finding, "IpOutNoRoutes", "+"), "{finding:?}");
        assert!(has(&finding, "sockets that send to groups", "udp 0.0.0.0:1900"), "{finding:?}");
        assert!(finding.fix.starts_with("ip route add 224.0.0.0/4 dev veth0"), "{}", finding.fix);
    }
    running.store(false, Ordering::Relaxed);
    let unreachable = sender.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_eq!(unreachable > 0, !with_route, "the kernel refused the sends: {unreachable}");
    source.stop();
}

#[test]
fn multicast_sends_without_a_route_are_found_and_with_one_are_quiet() {
    multicast(false);
    multicast(true);
}
