//! DNS and tunnel findings proven against the kernel: each scenario makes its problem
//! in namespaces the test creates (a silent or refusing nameserver, none at all, a
//! search list that multiplies queries, a full tunnel over a LAN) with the sources
//! that feed the rules running inside, and waits for the finding with its evidence;
//! the healthy twins make the same set-ups without the problem and show none of these
//! rules' findings. Traffic stays inside the test's namespaces. Needs root; see
//! `common::netns::require_netns`.

mod common;
mod support;

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::dns_server::{DnsTestServer, Zone};
use common::etc_netns::EtcNetns;
use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::{TunHolder, in_netns};
use netlens_collectors::Store;
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::dns::capture::{DnsCaptureConfig, DnsCaptureSource};
use netlens_collectors::dns::files::ResolverFiles;
use netlens_collectors::dns::source::{DnsConfig, DnsControl, DnsHandle, dns};
use netlens_collectors::interfaces::{InterfacesConfig, InterfacesSource};
use netlens_collectors::kernel_view::{KernelView, KernelViewConfig};
use netlens_collectors::model::{Finding, Severity, SourceId};
use netlens_collectors::paths::source::{PathsConfig, paths};
use netlens_collectors::source::spawn_supervised;

/// Generous: a slow CI machine, not a performance budget.
const TIMEOUT: Duration = Duration::from_secs(12);
const SERVER: &str = "10.53.0.1";
const SILENT: &str = "10.53.0.9";
/// The rules these scenarios are about.
const RULES: [&str; 9] = [
    "dns_no_nameserver",
    "dns_server_timeout",
    "dns_server_unreachable",
    "dns_search_amplification",
    "dns_outside_tunnel",
    "dns_hosts_override",
    "tunnel_down",
    "tunnel_swallows_lan",
    "route_moved_connections",
];

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `/etc/netns/<ns>/` with `resolv_conf`, a hosts file of localhost alone and
/// `hosts: files dns`.
fn etc_netns(netns: &Netns, resolv_conf: &str) -> EtcNetns {
    let files = [
        ("resolv.conf", resolv_conf),
        ("hosts", "127.0.0.1 localhost\n"),
        ("nsswitch.conf", "hosts: files dns\n"),
    ];
    EtcNetns::write(netns, &files)
}

/// Every source these rules read, inside `netns`, sharing one kernel view as the app
/// wires them; passive DNS capture too when `capture`.
fn sources(netns: &Netns, capture: bool) -> (DnsHandle, SourceInNetns) {
    let config = DnsConfig {
        files: ResolverFiles::for_netns(netns.name()),
        // getaddrinfo in this process reads the host's files, not the namespace's.
        system_answer: false,
        detect_dns64: false,
        ..DnsConfig::default()
    };
    let (handle, source) = dns(config);
    let running = SourceInNetns::start_many(netns, 1024, move |tx| {
        let kernel = KernelView::start(KernelViewConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let interfaces =
            InterfacesConfig { refresh: Duration::from_millis(250), ..InterfacesConfig::default() };
        let (_, paths) = paths(PathsConfig::default());
        let connections = ConnectionsConfig {
            refresh: Duration::from_millis(200),
            route_generation: Some(kernel.clone()),
            ..ConnectionsConfig::default()
        };
        let mut tasks = vec![
            spawn_supervised(InterfacesSource::new(interfaces).with_kernel(kernel.clone()), tx.clone()),
            spawn_supervised(paths.with_kernel(kernel.clone()), tx.clone()),
            spawn_supervised(ConnectionsSource::new(connections), tx.clone()),
            spawn_supervised(source.with_kernel(kernel), tx.clone()),
        ];
        if capture {
            let config =
                DnsCaptureConfig { query_timeout: Duration::from_secs(2), ..DnsCaptureConfig::default() };
            tasks.push(spawn_supervised(DnsCaptureSource::new(config), tx));
        }
        tasks
    });
    running.wait_for("the resolver configuration and a socket table", TIMEOUT, |store| {
        store.dns().config().is_some() && store.connections().has_data()
    });
    if capture {
        running.wait_for("capture running", TIMEOUT, |store| {
            store.sources().any(|s| s.name == SourceId::DnsCapture && s.detail.contains("lo"))
        });
    }
    (handle, running)
}

/// The open finding of `rule` on `subject`, if any.
fn finding(store: &Store, rule: &str, subject: &str) -> Option<Finding> {
    store.findings().open().into_iter().find(|f| f.rule == rule && f.subject == subject).cloned()
}

fn wait_finding(running: &SourceInNetns, rule: &str, subject: &str) -> Finding {
    running
        .wait_for(&format!("{rule} on {subject}"), TIMEOUT, |store| finding(store, rule, subject).is_some());
    running.with_store(|store| finding(store, rule, subject)).unwrap_or_else(|| panic!("{rule} closed again"))
}

/// Open findings of the rules under test, as `rule on subject`.
fn ours(store: &Store) -> Vec<String> {
    store
        .findings()
        .open()
        .iter()
        .filter(|f| RULES.contains(&f.rule.as_str()))
        .map(|f| format!("{} on {}", f.rule, f.subject))
        .collect()
}

fn evidence<'f>(finding: &'f Finding, fact: &str) -> &'f str {
    finding
        .evidence
        .iter()
        .find(|e| e.fact.starts_with(fact))
        .map_or_else(|| panic!("no `{fact}` in {finding:#?}"), |e| e.value.as_str())
}

/// One namespace with loopback up and the DNS server's addresses on it.
fn dns_lab() -> Option<Netns> {
    let netns = require_netns()?;
    netns.batch(&format!("link set lo up\naddr add {SERVER}/32 dev lo\naddr add {SILENT}/32 dev lo\n"));
    Some(netns)
}

fn server(netns: &Netns, zone: Zone) -> DnsTestServer {
    let address: SocketAddr = format!("{SERVER}:53").parse().unwrap_or_else(|e| panic!("{e}"));
    in_netns(netns, move || DnsTestServer::start(address, zone))
}

fn trace(handle: &DnsHandle, running: &SourceInNetns, name: &str) {
    let before = running.with_store(|store| store.dns().traced());
    assert!(handle.send(DnsControl::Trace(name.to_owned())));
    running.wait_for("the trace", TIMEOUT, |store| store.dns().traced() > before);
}

#[test]
fn a_silent_first_nameserver_times_out_and_the_finding_says_what_it_costs() {
    let Some(netns) = dns_lab() else { return };
    let _server = server(&netns, Zone::new().host("db.test", &[ip("10.0.0.5")]));
    // Bound but never read: queries to it vanish, as to a filtered server.
    let silent: SocketAddr = format!("{SILENT}:53").parse().unwrap_or_else(|e| panic!("{e}"));
    let _silent =
        in_netns(&netns, move || std::net::UdpSocket::bind(silent).unwrap_or_else(|e| panic!("{e}")));
    let _files = etc_netns(
        &netns,
        &format!("nameserver {SILENT}\nnameserver {SERVER}\noptions timeout:1 attempts:1\n"),
    );
    let (handle, running) = sources(&netns, false);
    trace(&handle, &running, "db.test.");
    let found = wait_finding(&running, "dns_server_timeout", &format!("nameserver {SILENT}"));
    assert_eq!(found.severity, Severity::Warning, "{found:#?}");
    assert_eq!(evidence(&found, "unanswered queries"), "2 of 2");
    assert!(evidence(&found, "trace of db.test").starts_with("timeout after 1000 ms"), "{found:#?}");
    assert!(
        evidence(&found, "delay it adds")
            .starts_with(&format!("every query waits 1 s (timeout:1) for it before {SERVER} is asked")),
        "{found:#?}"
    );
    running.with_store(|store| {
        let open = ours(store);
        assert_eq!(open, [format!("dns_server_timeout on nameserver {SILENT}")], "the live server is fine");
    });
    running.stop();
}

#[test]
fn a_refusing_and_an_unroutable_nameserver_are_unreachable() {
    let Some(netns) = dns_lab() else { return };
    // Nothing listens on 127.0.0.1:53 (ICMP port unreachable); nothing routes 10.99.0.0/16.
    let _files =
        etc_netns(&netns, "nameserver 127.0.0.1\nnameserver 10.99.0.1\noptions timeout:1 attempts:1\n");
    let (handle, running) = sources(&netns, false);
    trace(&handle, &running, "db.test.");
    let refused = wait_finding(&running, "dns_server_unreachable", "nameserver 127.0.0.1");
    assert!(refused.title.ends_with("port 53 refused"), "{refused:#?}");
    assert!(
        evidence(&refused, "trace of db.test").contains("refused (ICMP port unreachable"),
        "{refused:#?}"
    );
    let unroutable = wait_finding(&running, "dns_server_unreachable", "nameserver 10.99.0.1");
    assert!(unroutable.title.ends_with("no route"), "{unroutable:#?}");
    assert!(!evidence(&unroutable, "route to 10.99.0.1").is_empty());
    assert_eq!(
        (refused.severity, unroutable.severity),
        (Severity::Critical, Severity::Critical),
        "none is left"
    );
    running.with_store(|store| {
        assert!(store.findings().open().iter().all(|f| f.rule != "dns_server_timeout"), "{:?}", ours(store));
    });
    running.stop();
}

#[test]
fn no_nameserver_sends_glibc_to_an_empty_loopback() {
    let Some(netns) = dns_lab() else { return };
    let _files = etc_netns(&netns, "search lab.test\noptions timeout:1\n");
    let (_handle, running) = sources(&netns, false);
    let found = wait_finding(&running, "dns_no_nameserver", "resolv.conf");
    assert_eq!(found.severity, Severity::Critical, "{found:#?}");
    assert_eq!(evidence(&found, "glibc asks instead"), "127.0.0.1:53");
    assert_eq!(evidence(&found, "listening on 127.0.0.1:53"), "nothing (socket table)");
    running.stop();
}

/// `getent ahosts NAME` in `netns`, as any program would look it up.
fn getent(netns: &Netns, name: &str) {
    let output = Command::new("ip")
        .args(["netns", "exec", netns.name(), "getent", "ahosts", name])
        .output()
        .unwrap_or_else(|e| panic!("getent: {e}"));
    assert!(output.status.success(), "getent {name}: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn ndots_sends_a_dotted_name_through_the_search_list_first() {
    let Some(netns) = dns_lab() else { return };
    let zone = Zone::new().host("api.example.com", &[ip("10.0.0.5")]).delay(Duration::from_millis(20));
    let server = server(&netns, zone);
    let _files = etc_netns(
        &netns,
        &format!("nameserver {SERVER}\nsearch a.test b.test\noptions ndots:3 timeout:1 attempts:1\n"),
    );
    // A global IPv6 address, so getaddrinfo's AI_ADDRCONFIG asks AAAA too.
    netns.must(&["addr", "add", "fd00:53::1/128", "dev", "lo"]);
    let (_handle, running) = sources(&netns, true);
    getent(&netns, "api.example.com");
    let asked = server.log().len();
    assert_eq!(asked, 6, "A and AAAA for two search domains, then as written");
    let found = wait_finding(&running, "dns_search_amplification", "search list");
    assert!(found.title.starts_with("api.example.com takes 6 queries: ndots:3"), "{found:#?}");
    assert!(
        evidence(&found, "lookup of api.example.com")
            .starts_with("6 queries: api.example.com.a.test NXDOMAIN"),
        "{found:#?}"
    );
    running.stop();
}

#[test]
fn healthy_dns_has_none_of_these_findings() {
    let Some(netns) = dns_lab() else { return };
    let zone = Zone::new()
        .host("db.test", &[ip("10.0.0.5")])
        .host("api.example.com", &[ip("10.0.0.6")])
        .delay(Duration::from_millis(20));
    let _server = server(&netns, zone);
    let _files = etc_netns(
        &netns,
        &format!("nameserver {SERVER}\nsearch a.test b.test\noptions ndots:1 timeout:1 attempts:1\n"),
    );
    let (handle, running) = sources(&netns, true);
    trace(&handle, &running, "db.test.");
    getent(&netns, "api.example.com");
    running.wait_for("the captured lookup", TIMEOUT, |store| {
        store.dns().queries().any(|q| q.name == "api.example.com" && q.rcode.is_some())
    });
    // Past every debounce of these rules (5 s at most).
    std::thread::sleep(Duration::from_secs(6));
    running.with_store(|store| {
        let open = ours(store);
        assert!(open.is_empty(), "{open:?}");
        assert!(store.dns().servers().get(&ip(SERVER)).is_some_and(|h| h.queries >= 2 && h.timeouts == 0));
    });
    running.stop();
}

/// host veth0 10.1.0.2/24 ↔ peer veth1 10.1.0.1/24 with 10.9.0.1/32 on the peer's
/// loopback; the host's default route goes via the peer, and its resolv.conf names
/// `nameserver`.
struct TunnelLab {
    host: Netns,
    peer: Netns,
    _files: EtcNetns,
}

fn tunnel_lab(nameserver: &str) -> Option<TunnelLab> {
    let host = require_netns()?;
    let peer = require_netns()?;
    host.batch(&format!(
        "link set lo up\n\
         link add veth0 type veth peer name veth1 netns {peer}\n\
         addr add 10.1.0.2/24 dev veth0\n\
         link set veth0 up\n\
         route add default via 10.1.0.1 dev veth0\n",
        peer = peer.name()
    ));
    peer.batch(
        "link set lo up\naddr add 10.9.0.1/32 dev lo\naddr add 10.1.0.1/24 dev veth1\nlink set veth1 up\n",
    );
    let files = etc_netns(&host, &format!("nameserver {nameserver}\noptions timeout:1 attempts:1\n"));
    Some(TunnelLab { host, peer, _files: files })
}

/// tun0 with a carrier (held open, as a running VPN client holds it), 10.200.0.2/24,
/// and `routes` through it.
fn tunnel(netns: &Netns, routes: &[&str]) -> TunHolder {
    netns.must(&["tuntap", "add", "mode", "tun", "name", "tun0"]);
    let holder = TunHolder::attach(netns, "tun0");
    let mut script = "link set tun0 up\naddr add 10.200.0.2/24 dev tun0\n".to_owned();
    for route in routes {
        let _ = writeln!(script, "route add {route} dev tun0");
    }
    netns.batch(&script);
    holder
}

const FULL: [&str; 2] = ["0.0.0.0/1", "128.0.0.0/1"];

#[test]
fn a_full_tunnel_over_the_lan_leaks_dns_and_strands_an_open_connection() {
    let Some(lab) = tunnel_lab("10.1.0.1") else { return };
    let server: SocketAddr = "10.9.0.1:8443".parse().unwrap_or_else(|e| panic!("{e}"));
    let listener = in_netns(&lab.peer, move || TcpListener::bind(server).unwrap_or_else(|e| panic!("{e}")));
    let (_, running) = sources(&lab.host, false);
    let client = in_netns(&lab.host, move || {
        TcpStream::connect_timeout(&server, TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
    });
    let (_accepted, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
    running.wait_for("the connection and the default path", TIMEOUT, |store| {
        store.path("default-ipv4").is_some()
            && store.connections().iter().any(|e| e.socket.remote == server && e.closed_at.is_none())
    });
    let _holder = tunnel(&lab.host, &FULL);
    let leak = wait_finding(&running, "dns_outside_tunnel", "nameserver 10.1.0.1");
    assert!(leak.title.contains("reached via veth0, outside the tunnel tun0"), "{leak:#?}");
    assert_eq!(evidence(&leak, "path default-ipv4"), "via tun0 (full tunnel)");
    assert!(
        evidence(&leak, "route to 10.1.0.1").starts_with("unicast 10.1.0.0/24 dev veth0 table main"),
        "{leak:#?}"
    );
    let moved = wait_finding(&running, "route_moved_connections", "moved to tun0");
    let local = client.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let row = evidence(&moved, &format!("tcp {local} → {server}"));
    assert!(row.contains("new connections to 10.9.0.1 would leave via tun0 from 10.200.0.2"), "{moved:#?}");
    assert!(moved.title.starts_with("1 connection(s) bypass tun0"), "{moved:#?}");
    assert!(moved.fix.ends_with("ss -K dst 10.9.0.1 dport = 8443"), "{moved:#?}");
    running.stop();
}

#[test]
fn a_tunnel_route_inside_the_lan_swallows_it() {
    let Some(lab) = tunnel_lab("10.200.0.1") else { return };
    let (_, running) = sources(&lab.host, false);
    let _holder = tunnel(&lab.host, &["10.1.0.0/25"]);
    let found = wait_finding(&running, "tunnel_swallows_lan", "10.1.0.0/24 on veth0");
    assert!(
        found.title.starts_with("tun0 takes the LAN 10.1.0.0/24 of veth0: the gateway 10.1.0.1"),
        "{found:#?}"
    );
    assert!(evidence(&found, "route to the gateway 10.1.0.1").contains("10.1.0.0/25 dev tun0"), "{found:#?}");
    assert!(found.fix.starts_with("ip route del 10.1.0.0/25 dev tun0 table main"), "{found:#?}");
    running.stop();
}

#[test]
fn a_tunnel_that_loses_its_carrier_under_the_default_path_is_down() {
    let Some(lab) = tunnel_lab("10.200.0.1") else { return };
    let (_, running) = sources(&lab.host, false);
    let holder = tunnel(&lab.host, &FULL);
    running.wait_for("the default path through tun0", TIMEOUT, |store| {
        store.path("default-ipv4").is_some_and(|p| p.interface.as_deref() == Some("tun0"))
    });
    // The VPN client exits: the device stays, without a carrier, its routes with it.
    drop(holder);
    running.wait_for("tunnel_down, critical", TIMEOUT, |store| {
        finding(store, "tunnel_down", "tun0").is_some_and(|f| f.severity == Severity::Critical)
    });
    let found =
        running.with_store(|store| finding(store, "tunnel_down", "tun0")).unwrap_or_else(|| panic!("closed"));
    assert!(evidence(&found, "state of tun0").starts_with("up, no carrier"), "{found:#?}");
    assert!(evidence(&found, "routes into tun0").contains("0.0.0.0/1 table main"), "{found:#?}");
    assert!(evidence(&found, "path default-ipv4").contains("no_carrier"), "{found:#?}");
    running.stop();
}

#[test]
fn a_healthy_full_tunnel_has_none_of_these_findings() {
    let Some(lab) = tunnel_lab("10.200.0.1") else { return };
    let (_, running) = sources(&lab.host, false);
    let _holder = tunnel(&lab.host, &FULL);
    running.wait_for("the default path through tun0", TIMEOUT, |store| {
        store.path("default-ipv4").is_some_and(|p| p.interface.as_deref() == Some("tun0"))
    });
    // Past every debounce of these rules (5 s at most).
    std::thread::sleep(Duration::from_secs(6));
    running.with_store(|store| {
        let open = ours(store);
        assert!(open.is_empty(), "{open:?}");
    });
    running.stop();
}

/// `netlens --netns NS --target db.test doctor -d 3s --json`: its findings of `rule`,
/// as (subject, title).
fn doctor_findings(netns: &Netns, rule: &str) -> Vec<(String, String)> {
    let home = support::tempdir();
    let output = support::run(support::netlens(home.path()).args([
        "--netns",
        netns.name(),
        "--log",
        "/dev/null",
        "--target",
        "db.test",
        "doctor",
        "-d",
        "3s",
        "--json",
    ]));
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", support::stderr(&output)));
    let list = findings.as_array().unwrap_or_else(|| panic!("not a list: {findings}"));
    for (index, finding) in list.iter().enumerate() {
        support::schema::check_finding(finding, &format!("findings[{index}]"));
    }
    list.iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["subject"].as_str().unwrap_or_default().to_owned(),
                f["title"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The whole app in the namespace (getaddrinfo reads the namespace's hosts file
/// there): a watched name that /etc/hosts answers differently from DNS is reported;
/// with no hosts line for it, nothing is.
#[test]
fn a_hosts_line_overriding_a_watched_name_is_reported() {
    let Some(netns) = dns_lab() else { return };
    let _server = server(&netns, Zone::new().host("db.test", &[ip("10.0.0.5")]));
    let files = etc_netns(&netns, &format!("nameserver {SERVER}\noptions timeout:1 attempts:1\n"));
    std::fs::write(files.dir().join("hosts"), "127.0.0.1 localhost\n10.9.9.9 db.test\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let found = doctor_findings(&netns, "dns_hosts_override");
    assert_eq!(
        found,
        [(
            "hosts db.test".to_owned(),
            "/etc/hosts overrides db.test: programs get 10.9.9.9, DNS says 10.0.0.5".to_owned()
        )]
    );
    std::fs::write(files.dir().join("hosts"), "127.0.0.1 localhost\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doctor_findings(&netns, "dns_hosts_override"), []);
}
