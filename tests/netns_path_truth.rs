//! Path verdicts that say what is so, and numbers that are right, against the real
//! kernel: a name that does not exist is `name_not_found`; a failing target's probes
//! back off (SYNs counted by nftables in the peer); and the live source (what the
//! TUI shows) and `netlens path` give one state the same verdicts; the portable
//! fallback (`--no-netlink`) claims nothing about routes it cannot read. Two namespaces
//! joined by a veth pair; traffic only crosses it. Needs root and `nft`; see
//! `common::netns::require_netns`.

mod common;
mod support;

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::dns::DnsServer;
use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::{Listener, in_netns};
use netlens_collectors::Store;
use netlens_collectors::model::{CheckName, PathReason, PathState, PathStatus};
use netlens_collectors::paths::schedule::{BACKOFF_MAX, failing_probe_starts};
use netlens_collectors::paths::source::{PathsConfig, paths};
use netlens_collectors::paths::target::Target;

struct Lab {
    host: Netns,
    peer: Netns,
}

/// Host `veth0` 10.1.0.2/24 ↔ peer `veth1` 10.1.0.1/24, the host's default route via the peer.
fn lab() -> Option<Lab> {
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
        "link set lo up\n\
         addr add 10.1.0.1/24 dev veth1\n\
         link set veth1 up\n",
    );
    Some(Lab { host, peer })
}

fn targets(texts: &[&str]) -> Vec<Target> {
    texts.iter().map(|text| text.parse::<Target>().unwrap_or_else(|e| panic!("{text}: {e}"))).collect()
}

fn path<'s>(store: &'s Store, target: &str) -> Option<&'s PathState> {
    store.path(target)
}

fn settled(store: &Store, target: &str, status: PathStatus, reason: Option<&str>) -> bool {
    path(store, target).is_some_and(|p| {
        p.status == status && p.reason.map(PathReason::as_str) == reason && p.pending.is_none()
    })
}

/// Packets the `syn` counter of the peer's drop rule has seen.
fn syns_dropped(peer: &Netns) -> u64 {
    let text = peer.nft(&["-j", "list", "counter", "inet", "lab", "syn"]);
    let doc: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    doc["nftables"]
        .as_array()
        .and_then(|items| items.iter().find_map(|item| item["counter"]["packets"].as_u64()))
        .unwrap_or_else(|| panic!("no counter in {text}"))
}

/// SYNs one TCP connect sends before `timeout` gives up: the first, then the
/// kernel's retransmissions at 1 s, 3 s, 7 s … (initial RTO 1 s, doubling).
fn syns_per_connect(timeout: Duration) -> u64 {
    let retransmissions = (1..16_u32).take_while(|k| Duration::from_secs((1 << k) - 1) < timeout).count();
    1 + retransmissions as u64
}

#[test]
fn a_failing_target_gets_at_most_the_backed_off_number_of_syns() {
    let Some(lab) = lab() else { return };
    // The peer drops every SYN to the target's port and counts it.
    lab.peer.nft(&["add", "table", "inet", "lab"]);
    lab.peer.nft(&["add", "counter", "inet", "lab", "syn"]);
    lab.peer.nft(&["add", "chain", "inet", "lab", "input", "{ type filter hook input priority 0 ; }"]);
    lab.peer.nft(&[
        "add", "rule", "inet", "lab", "input", "tcp", "dport", "8080", "tcp", "flags", "syn", "counter",
        "name", "syn", "drop",
    ]);
    // The shipped schedule: probes every 5 s, backing off to 60 s, 2 s per connect.
    let config = PathsConfig { targets: targets(&["10.1.0.1:8080"]), ..PathsConfig::default() };
    let (period, timeout) = (config.probe_interval, config.probe_timeout);
    let source = SourceInNetns::start(&lab.host, 256, move || paths(config).1);

    let deadline = Instant::now() + Duration::from_secs(10);
    while syns_dropped(&lab.peer) == 0 {
        assert!(Instant::now() < deadline, "no SYN reached the peer within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = Instant::now();
    source.wait_for("failing", Duration::from_secs(10), |s| {
        settled(s, "10.1.0.1:8080", PathStatus::Failing, Some("probe_failed"))
    });
    source.with_store(|s| {
        let state = path(s, "10.1.0.1:8080").unwrap_or_else(|| panic!("no path"));
        let probe = state.probe.as_ref().unwrap_or_else(|| panic!("no probe: {state:?}"));
        assert_eq!(probe.rtt_ms, None, "{probe:?}");
        assert_eq!(probe.loss_pct, Some(100.0), "{probe:?}");
        // Its first verdict is logged as one, not as a change from a state it never had.
        let details: Vec<&str> =
            s.timeline().iter().filter(|e| e.subject == "10.1.0.1:8080").map(|e| e.detail.as_str()).collect();
        assert!(details.contains(&"10.1.0.1:8080: first verdict: failing (probe_failed)"), "{details:?}");
        assert!(!details.iter().any(|d| d.contains("satisfied → failing")), "{details:?}");
    });

    // The measure is a count over a fixed window of wire time, so this waits out the
    // window itself (no state to poll for: the claim is about what does not happen).
    let window = Duration::from_secs(30);
    std::thread::sleep(window.saturating_sub(first.elapsed()));
    let syns = syns_dropped(&lab.peer);
    source.stop();

    // The most probes the schedule allows in a window that starts with one, as if each
    // took no time, times the SYNs each connect sends before it times out.
    let probes =
        failing_probe_starts(period, BACKOFF_MAX, 16).iter().filter(|at| **at < window).count() as u64;
    let bound = probes * syns_per_connect(timeout);
    eprintln!(
        "{syns} SYNs in {window:?}: at most {probes} probes × {} SYNs = {bound}",
        syns_per_connect(timeout)
    );
    assert!(syns >= 1, "the target was probed");
    assert!(syns <= bound, "{syns} SYNs in {window:?}, the backoff allows {bound}");
}

#[test]
fn a_name_that_does_not_exist_is_name_not_found_and_a_dead_server_is_dns_unavailable() {
    let Some(lab) = lab() else { return };
    let server = in_netns(&lab.host, || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
        DnsServer::serve(
            socket,
            vec![("known.test".to_owned(), "10.1.0.1".parse().unwrap_or_else(|e| panic!("{e}")))],
        )
    });
    let config = PathsConfig {
        targets: targets(&["missing.test", "known.test"]),
        debounce: Duration::from_millis(300),
        nameserver: Some(server.address()),
        ..PathsConfig::default()
    };
    let source = SourceInNetns::start(&lab.host, 256, move || paths(config).1);
    source.wait_for("missing.test name_not_found, known.test satisfied", Duration::from_secs(10), |s| {
        settled(s, "missing.test", PathStatus::Unsatisfied, Some("name_not_found"))
            && settled(s, "known.test", PathStatus::Satisfied, None)
    });
    source.with_store(|s| {
        let missing = path(s, "missing.test").unwrap_or_else(|| panic!("no path"));
        // The path stops at DNS: no device, gateway, source or route of its own.
        assert_eq!(
            (&missing.interface, missing.gateway, missing.source, missing.route_type, missing.table),
            (&None, None, None, None, None),
            "{missing:?}"
        );
        assert_eq!(missing.checks.len(), 1, "{:?}", missing.checks);
        let dns = &missing.checks[0];
        assert!(dns.name == CheckName::Dns && !dns.ok, "{dns:?}");
        assert!(dns.detail.contains("does not exist"), "{dns:?}");
        assert!(
            dns.detail.contains(&format!("nameserver {} is reachable", server.address().ip())),
            "{dns:?}"
        );
        let known = path(s, "known.test").unwrap_or_else(|| panic!("no path"));
        assert_eq!(known.interface.as_deref(), Some("veth0"));
    });
    source.stop();

    // A server that does not answer: DNS is unavailable, which is not the same.
    let silent =
        in_netns(&lab.host, || UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}")));
    let address: SocketAddr = silent.local_addr().unwrap_or_else(|error| panic!("{error}"));
    let config = PathsConfig {
        targets: targets(&["missing.test"]),
        debounce: Duration::from_millis(300),
        probe_timeout: Duration::from_millis(300),
        nameserver: Some(address),
        ..PathsConfig::default()
    };
    let source = SourceInNetns::start(&lab.host, 256, move || paths(config).1);
    source.wait_for("dns_unavailable", Duration::from_secs(10), |s| {
        settled(s, "missing.test", PathStatus::Unsatisfied, Some("dns_unavailable"))
    });
    source.stop();
    drop(silent);
}

fn netlens(netns: &Netns, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(["--netns", netns.name(), "--config", "/dev/null"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|error| panic!("running netlens: {error}"))
}

/// What a verdict says, for comparing two of them.
fn verdict(value: &serde_json::Value) -> BTreeMap<&'static str, serde_json::Value> {
    [
        "status",
        "reason",
        "interface",
        "interface_kind",
        "gateway",
        "source",
        "route_type",
        "table",
        "tunnel",
        "ipv4",
        "ipv6",
        "dns",
    ]
    .into_iter()
    .map(|key| (key, value[key].clone()))
    .chain([
        ("probe.ok", value["probe"]["ok"].clone()),
        ("probe.rtt_ms is null", serde_json::Value::Bool(value["probe"]["rtt_ms"].is_null())),
    ])
    .collect()
}

#[test]
fn the_paths_tab_and_the_path_command_agree_on_one_state() {
    let Some(lab) = lab() else { return };
    let _listener = Listener::start(&lab.peer, "10.1.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")));
    lab.host.batch(
        "route add blackhole 10.50.0.0/16\n\
         rule add fwmark 7 lookup 100\n\
         route add default via 10.1.0.1 dev veth0 table 100\n",
    );
    // Answers, refuses (nothing listens on 8081), is refused by the kernel, and
    // takes a policy table over the veth.
    let texts = ["10.1.0.1:8080", "10.1.0.1:8081", "10.50.0.1:80", "10.70.0.1,mark=7"];
    let config = PathsConfig {
        targets: targets(&texts),
        debounce: Duration::from_millis(300),
        ..PathsConfig::default()
    };
    let source = SourceInNetns::start(&lab.host, 256, move || paths(config).1);
    source.wait_for("every verdict settled", Duration::from_secs(15), |s| {
        settled(s, "10.1.0.1:8080", PathStatus::Satisfied, None)
            && settled(s, "10.1.0.1:8081", PathStatus::Failing, Some("probe_failed"))
            && settled(s, "10.50.0.1:80", PathStatus::Unsatisfied, Some("blackhole"))
            && settled(s, "10.70.0.1,mark=7", PathStatus::Satisfied, None)
            && path(s, "10.50.0.1:80").is_some_and(|p| p.probe.is_some())
    });
    let live: Vec<serde_json::Value> = source.with_store(|s| {
        texts
            .iter()
            .map(|text| {
                serde_json::to_value(path(s, text).unwrap_or_else(|| panic!("{text}"))).unwrap_or_default()
            })
            .collect()
    });
    source.with_store(|s| {
        let details: Vec<&str> = s.timeline().iter().map(|e| e.detail.as_str()).collect();
        assert!(details.contains(&"10.1.0.1:8081: first verdict: failing (probe_failed)"), "{details:?}");
        assert!(!details.iter().any(|d| d.starts_with("10.1.0.1:8081: satisfied")), "{details:?}");
    });

    let mut args = vec!["path", "--json"];
    args.extend(texts);
    let output = netlens(&lab.host, &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "not every target is satisfied: {stdout}");
    let once: Vec<serde_json::Value> =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"));
    assert_eq!(once.len(), texts.len(), "{stdout}");
    for ((text, live), once) in texts.iter().zip(&live).zip(&once) {
        assert_eq!(once["target"], *text);
        assert_eq!(verdict(live), verdict(once), "{text}: the Paths tab and `netlens path` disagree");
    }
    assert_eq!(live[3]["tunnel"], serde_json::Value::Null, "mark=7 over a veth is no tunnel");
    source.stop();
}

#[test]
fn without_netlink_the_default_route_is_not_checked_rather_than_missing() {
    let Some(lab) = lab() else { return };
    let home = support::tempdir();
    let args = ["--netns", lab.host.name(), "--config", "/dev/null", "--no-netlink"];
    let mut session = support::pty::PtySession::spawn(home.path(), &args, 160, 48);
    let screen = session.wait_for(
        &["not checked: route lookups need rtnetlink (--no-netlink)", "veth0"],
        Duration::from_secs(15),
    );
    // The namespace has a default route: the fallback, which reads none, must not deny it.
    assert!(!screen.contains("no default route"), "{screen}");
    assert!(lab.host.must(&["route", "show", "default"]).contains("via 10.1.0.1"));
    session.send(b"q");
    assert_eq!(session.wait_exit(Duration::from_secs(10)), 0);
}
