//! The paths source against the real kernel: two namespaces joined by a veth pair
//! (netlens's "host" and a "peer" acting as gateway and server), changed while the
//! source runs; every verdict is checked against `ip -j route get` in the same
//! namespace. Traffic only crosses the test's own veth pair. Needs root; see
//! `common::netns::require_netns`.

mod common;
mod support;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::dns::DnsServer;
use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::{Listener, TunHolder, in_netns, settle};
use netlens_collectors::Store;
use netlens_collectors::model::{AttemptOutcome, PathReason, PathState, PathStatus, TunnelMode};
use netlens_collectors::paths::source::{PathsConfig, paths};
use netlens_collectors::paths::target::Target;

/// The debounce the tests run with: short, so the suite stays fast, but long enough
/// that "within the debounce plus 300 ms" means something.
const DEBOUNCE: Duration = Duration::from_millis(500);

struct Lab {
    host: Netns,
    peer: Netns,
}

/// Host `veth0` 10.1.0.2/24 + `2001:db8:1::2/64` ↔ peer `veth1` 10.1.0.1/24 + `2001:db8:1::1/64`,
/// default routes of both families via the peer.
fn lab() -> Option<Lab> {
    let host = require_netns()?;
    let peer = require_netns()?;
    host.batch(&format!(
        "link set lo up\n\
         link add veth0 type veth peer name veth1 netns {peer}\n\
         addr add 10.1.0.2/24 dev veth0\n\
         addr add 2001:db8:1::2/64 dev veth0 nodad\n\
         link set veth0 up\n\
         route add default via 10.1.0.1 dev veth0\n\
         route add ::/0 via 2001:db8:1::1 dev veth0\n",
        peer = peer.name()
    ));
    peer.batch(
        "link set lo up\n\
         addr add 10.1.0.1/24 dev veth1\n\
         addr add 2001:db8:1::1/64 dev veth1 nodad\n\
         link set veth1 up\n",
    );
    Some(Lab { host, peer })
}

fn config(targets: &[&str]) -> PathsConfig {
    PathsConfig {
        targets: targets
            .iter()
            .map(|text| text.parse::<Target>().unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        debounce: DEBOUNCE,
        probe_interval: Duration::from_millis(300),
        backoff_max: Duration::from_secs(2),
        probe_timeout: Duration::from_millis(400),
        ..PathsConfig::default()
    }
}

fn start(netns: &Netns, config: PathsConfig) -> SourceInNetns {
    SourceInNetns::start(netns, 256, move || paths(config).1)
}

fn path<'s>(store: &'s Store, target: &str) -> Option<&'s PathState> {
    store.path(target)
}

fn is(store: &Store, target: &str, status: PathStatus, reason: Option<&str>) -> bool {
    path(store, target).is_some_and(|p| {
        p.status == status && p.reason.map(PathReason::as_str) == reason && p.pending.is_none()
    })
}

/// `ip -j route get ARGS` in `netns`: the answer, or `ip`'s error text.
fn route_get(netns: &Netns, args: &[&str]) -> Result<serde_json::Value, String> {
    let mut full = vec!["-j", "route", "get"];
    full.extend_from_slice(args);
    netns
        .ip(&full)
        .map(|text| serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default()[0].clone())
}

/// The path's interface, gateway and source agree with `ip route get`.
fn agrees_with_ip(netns: &Netns, state: &PathState, args: &[&str]) {
    let expected = route_get(netns, args).unwrap_or_else(|error| panic!("ip route get {args:?}: {error}"));
    assert_eq!(state.interface.as_deref(), expected["dev"].as_str(), "dev of {}: {expected}", state.target);
    assert_eq!(
        state.gateway.map(|g| g.to_string()),
        expected["gateway"].as_str().map(str::to_owned),
        "gateway of {}: {expected}",
        state.target
    );
    if let Some(source) = expected["prefsrc"].as_str() {
        assert_eq!(state.source.map(|s| s.to_string()).as_deref(), Some(source), "src of {}", state.target);
    }
}

fn wait(source: &SourceInNetns, what: &str, timeout: Duration, done: impl FnMut(&Store) -> bool) {
    source.wait_for(what, timeout, done);
}

#[test]
fn link_down_is_reported_within_the_debounce_and_recovers() {
    let Some(lab) = lab() else { return };
    // A nameserver on the peer: DNS availability follows the way to it.
    let mut config = config(&[]);
    config.nameserver = Some("[2001:db8:1::1]:53".parse().unwrap_or_else(|e| panic!("{e}")));
    let source = start(&lab.host, config);
    let available = |p: &PathState| (p.ipv4, p.ipv6, p.dns);
    wait(&source, "default-ipv4 satisfied, every family and DNS available", Duration::from_secs(10), |s| {
        is(s, "default-ipv4", PathStatus::Satisfied, None)
            && path(s, "default-ipv4").is_some_and(|p| available(p) == (true, true, true))
    });
    source.with_store(|s| {
        agrees_with_ip(&lab.host, path(s, "default-ipv4").unwrap_or_else(|| panic!()), &["1.1.1.1"]);
    });

    let started = Instant::now();
    lab.host.must(&["link", "set", "veth0", "down"]);
    wait(&source, "default-ipv4 link_down", DEBOUNCE + Duration::from_millis(300), |s| {
        is(s, "default-ipv4", PathStatus::Unsatisfied, Some("link_down"))
    });
    eprintln!("link down → unsatisfied after {:?}", started.elapsed());
    source.with_store(|s| {
        let state = path(s, "default-ipv4").unwrap_or_else(|| panic!());
        assert_eq!(state.reason_subject.as_deref(), Some("veth0"));
        assert_eq!(available(state), (false, false, false), "no family and no DNS while the link is down");
        assert!(
            s.timeline()
                .iter()
                .any(|e| e.detail == "default-ipv4: satisfied → unsatisfied (link_down veth0)"),
            "the transition is on the timeline with both ends"
        );
    });
    assert!(route_get(&lab.host, &["1.1.1.1"]).is_err(), "the kernel agrees: no route while veth0 is down");

    // Back up: the kernel flushed the default route with the link, so put it back as a
    // network manager would.
    lab.host.must(&["link", "set", "veth0", "up"]);
    lab.host.must(&["route", "replace", "default", "via", "10.1.0.1", "dev", "veth0"]);
    wait(&source, "default-ipv4 satisfied again", DEBOUNCE + Duration::from_secs(1), |s| {
        is(s, "default-ipv4", PathStatus::Satisfied, None)
    });
    source.stop();
}

#[test]
fn kernel_refusals_have_their_reasons() {
    let Some(lab) = lab() else { return };
    lab.host.batch(
        "route add blackhole 10.50.0.0/16\n\
         route add unreachable 10.51.0.0/16\n\
         route add prohibit 10.52.0.0/16\n",
    );
    let source = start(&lab.host, config(&["10.50.0.1", "10.51.0.1", "10.52.0.1", "10.1.0.1"]));
    wait(&source, "every refusal", Duration::from_secs(10), |s| {
        is(s, "10.50.0.1", PathStatus::Unsatisfied, Some("blackhole"))
            && is(s, "10.51.0.1", PathStatus::Unsatisfied, Some("unreachable"))
            && is(s, "10.52.0.1", PathStatus::Unsatisfied, Some("prohibit"))
            && is(s, "10.1.0.1", PathStatus::Satisfied, None)
    });
    for (destination, error) in [
        ("10.50.0.1", "Invalid argument"),
        ("10.51.0.1", "No route to host"),
        ("10.52.0.1", "Permission denied"),
    ] {
        let answer = route_get(&lab.host, &[destination]);
        assert!(
            answer.as_ref().is_err_and(|text| text.contains(error)),
            "ip route get {destination}: {answer:?}"
        );
    }
    source.with_store(|s| {
        agrees_with_ip(&lab.host, path(s, "10.1.0.1").unwrap_or_else(|| panic!()), &["10.1.0.1"]);
    });

    lab.host.must(&["route", "del", "default"]);
    wait(&source, "default-ipv4 no_route", Duration::from_secs(5), |s| {
        is(s, "default-ipv4", PathStatus::Unsatisfied, Some("no_route"))
    });
    assert!(route_get(&lab.host, &["1.1.1.1"]).is_err_and(|text| text.contains("unreachable")));
    source.stop();
}

#[test]
fn tentative_and_duplicate_ipv6_addresses_fail_only_ipv6() {
    let Some(lab) = lab() else { return };
    // Replace the global IPv6 address with one whose duplicate address detection
    // runs for a long time (one probe a minute, a hundred of them).
    lab.host.must(&["addr", "del", "2001:db8:1::2/64", "dev", "veth0"]);
    sysctl(&lab.host, "net.ipv6.conf.veth0.dad_transmits", "100");
    sysctl(&lab.host, "net.ipv6.neigh.veth0.retrans_time_ms", "60000");
    lab.host.must(&["addr", "add", "2001:db8:1::2/64", "dev", "veth0"]);
    lab.host.must(&["route", "replace", "::/0", "via", "fe80::1", "dev", "veth0"]);
    let source = start(&lab.host, config(&[]));
    wait(&source, "IPv6 tentative, IPv4 fine", Duration::from_secs(10), |s| {
        is(s, "default-ipv6", PathStatus::Unsatisfied, Some("address_tentative"))
            && is(s, "default-ipv4", PathStatus::Satisfied, None)
    });
    source.with_store(|s| {
        let v4 = path(s, "default-ipv4").unwrap_or_else(|| panic!());
        assert!(v4.ipv4 && !v4.ipv6, "IPv4 available, IPv6 not: {v4:?}");
    });

    // A duplicate: the peer already holds the address, so detection fails.
    lab.host.must(&["addr", "del", "2001:db8:1::2/64", "dev", "veth0"]);
    sysctl(&lab.host, "net.ipv6.conf.veth0.dad_transmits", "1");
    sysctl(&lab.host, "net.ipv6.neigh.veth0.retrans_time_ms", "100");
    lab.peer.must(&["addr", "add", "2001:db8:1::7/64", "dev", "veth1", "nodad"]);
    lab.host.must(&["addr", "add", "2001:db8:1::7/64", "dev", "veth0"]);
    lab.host.must(&["route", "replace", "::/0", "via", "fe80::1", "dev", "veth0"]);
    wait(&source, "IPv6 dadfailed", Duration::from_secs(10), |s| {
        is(s, "default-ipv6", PathStatus::Unsatisfied, Some("no_source_address"))
            && is(s, "default-ipv4", PathStatus::Satisfied, None)
    });
    let flags = lab.host.must(&["addr", "show", "dev", "veth0"]);
    assert!(flags.contains("dadfailed"), "the kernel agrees: {flags}");
    source.stop();
}

fn sysctl(netns: &Netns, key: &str, value: &str) {
    let status = Command::new("ip")
        .args(["netns", "exec", netns.name(), "sysctl", "-qw", &format!("{key}={value}")])
        .status()
        .unwrap_or_else(|error| panic!("sysctl: {error}"));
    assert!(status.success(), "sysctl {key}={value}");
}

#[test]
fn a_gateway_that_does_not_answer_is_unreachable() {
    let Some(lab) = lab() else { return };
    // The default gateway is an address nobody holds.
    lab.host.must(&["route", "replace", "default", "via", "10.1.0.99", "dev", "veth0"]);
    let source = start(&lab.host, config(&[]));
    wait(&source, "satisfied before anything was sent", Duration::from_secs(10), |s| {
        is(s, "default-ipv4", PathStatus::Satisfied, None)
    });
    // Something on the host sends: the kernel asks for the gateway and gets no answer.
    in_netns(&lab.host, || {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap_or_else(|error| panic!("{error}"));
        let _ = socket.send_to(b"x", "192.0.2.1:9");
    });
    wait(&source, "gateway_unreachable", Duration::from_secs(15), |s| {
        is(s, "default-ipv4", PathStatus::Unsatisfied, Some("gateway_unreachable"))
    });
    source.with_store(|s| {
        let state = path(s, "default-ipv4").unwrap_or_else(|| panic!());
        assert_eq!(state.reason_subject.as_deref(), Some("10.1.0.99"));
    });
    let neighbours = lab.host.json(&["neigh", "show", "dev", "veth0"]);
    assert!(
        neighbours.to_string().contains("FAILED") || neighbours.to_string().contains("INCOMPLETE"),
        "{neighbours}"
    );
    source.stop();
}

#[test]
fn tunnels_are_full_or_split_and_a_mark_over_a_veth_is_no_tunnel() {
    let Some(lab) = lab() else { return };
    lab.host.batch(
        "tuntap add mode tun name tun0\n\
         link set tun0 up\n\
         addr add 10.200.0.2/24 dev tun0\n\
         rule add fwmark 7 lookup 100\n\
         route add default via 10.1.0.3 dev veth0 table 100\n",
    );
    let _holder = TunHolder::attach(&lab.host, "tun0");
    let source = start(&lab.host, config(&["10.60.1.1", "10.70.0.1,mark=7"]));
    wait(&source, "default via veth0", Duration::from_secs(10), |s| {
        path(s, "default-ipv4").is_some_and(|p| p.interface.as_deref() == Some("veth0"))
    });
    source.with_store(|s| {
        let marked = path(s, "10.70.0.1,mark=7").unwrap_or_else(|| panic!());
        assert_eq!(marked.table, Some(100), "{marked:?}");
        assert_eq!(marked.gateway.map(|g| g.to_string()).as_deref(), Some("10.1.0.3"));
        agrees_with_ip(&lab.host, marked, &["10.70.0.1", "mark", "7"]);
        // A rule-selected table sends the marked traffic over the veth: a policy
        // route, not a tunnel.
        assert_eq!(marked.interface_kind, Some(netlens_collectors::model::InterfaceKind::Veth));
        assert_eq!(marked.tunnel, None, "mark=7 over a veth is no tunnel: {marked:?}");
    });

    // Split tunnel: only a /16 goes through tun0.
    lab.host.must(&["route", "add", "10.60.0.0/16", "dev", "tun0"]);
    wait(&source, "10.60.1.1 through tun0, split", Duration::from_secs(5), |s| {
        path(s, "10.60.1.1")
            .is_some_and(|p| p.interface.as_deref() == Some("tun0") && p.tunnel == Some(TunnelMode::Split))
    });
    source.with_store(|s| {
        let default = path(s, "default-ipv4").unwrap_or_else(|| panic!());
        assert_eq!(default.interface.as_deref(), Some("veth0"), "the default path is unchanged");
        assert_eq!(default.tunnel, None);
        agrees_with_ip(&lab.host, path(s, "10.60.1.1").unwrap_or_else(|| panic!()), &["10.60.1.1"]);
    });

    // Full tunnel: 0/1 + 128/1 take everything without touching the default route.
    lab.host.batch("route add 0.0.0.0/1 dev tun0\nroute add 128.0.0.0/1 dev tun0\n");
    wait(&source, "default-ipv4 moved to tun0, full", Duration::from_secs(5), |s| {
        path(s, "default-ipv4").is_some_and(|p| {
            p.interface.as_deref() == Some("tun0")
                && p.tunnel == Some(TunnelMode::Full)
                && p.status == PathStatus::Satisfied
        })
    });
    source.with_store(|s| {
        let default = path(s, "default-ipv4").unwrap_or_else(|| panic!());
        assert_eq!(default.matched_prefix.as_deref(), Some("0.0.0.0/1"));
        agrees_with_ip(&lab.host, default, &["1.1.1.1"]);
        assert!(
            s.timeline().iter().any(|e| e.detail == "default-ipv4: moved veth0 → tun0"),
            "the move is on the timeline"
        );
    });
    source.stop();
}

#[test]
fn a_tcp_probe_tells_failing_from_satisfied() {
    let Some(lab) = lab() else { return };
    let _listener = Listener::start(&lab.peer, "10.1.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")));
    let source = start(&lab.host, config(&["10.1.0.1:8080"]));
    wait(&source, "probe answered", Duration::from_secs(10), |s| {
        is(s, "10.1.0.1:8080", PathStatus::Satisfied, None)
            && path(s, "10.1.0.1:8080")
                .is_some_and(|p| p.probe.as_ref().is_some_and(|probe| probe.ok && probe.rtt_ms.is_some()))
    });
    // Drop the far side: the peer throws away everything back to the host.
    lab.peer.must(&["route", "add", "blackhole", "10.1.0.2/32"]);
    wait(&source, "failing", Duration::from_secs(10), |s| {
        is(s, "10.1.0.1:8080", PathStatus::Failing, Some("probe_failed"))
    });
    source.with_store(|s| {
        let state = path(s, "10.1.0.1:8080").unwrap_or_else(|| panic!());
        assert!(
            state.checks.iter().filter(|c| c.name.as_str() != "probe").all(|c| c.ok),
            "the kernel's checks pass"
        );
        agrees_with_ip(&lab.host, state, &["10.1.0.1"]);
    });
    source.with_store(|s| {
        let probe = path(s, "10.1.0.1:8080").and_then(|p| p.probe.clone()).unwrap_or_else(|| panic!());
        assert_eq!(probe.rtt_ms, None, "a failed probe leaves no stale RTT: {probe:?}");
        assert!(probe.loss_pct.is_some_and(|loss| loss > 0.0), "the loss shows: {probe:?}");
    });
    lab.peer.must(&["route", "del", "blackhole", "10.1.0.2/32"]);
    wait(&source, "satisfied again", Duration::from_secs(10), |s| {
        is(s, "10.1.0.1:8080", PathStatus::Satisfied, None)
            && path(s, "10.1.0.1:8080")
                .is_some_and(|p| p.probe.as_ref().is_some_and(|pr| pr.rtt_ms.is_some()))
    });
    // Blackholed on the host itself: the kernel refuses, the probe is not sent, and
    // the last RTT goes with it.
    lab.host.must(&["route", "add", "blackhole", "10.1.0.1/32"]);
    wait(&source, "blackhole, probe not sent", Duration::from_secs(10), |s| {
        is(s, "10.1.0.1:8080", PathStatus::Unsatisfied, Some("blackhole"))
            && path(s, "10.1.0.1:8080").is_some_and(|p| {
                p.probe.as_ref().is_some_and(|probe| {
                    !probe.ok
                        && probe.rtt_ms.is_none()
                        && probe.loss_pct.is_some_and(|loss| loss > 0.0)
                        && probe.error.as_deref().is_some_and(|e| e.starts_with("not sent: "))
                })
            })
    });
    source.stop();
}

#[test]
fn happy_eyeballs_falls_back_to_ipv4_after_the_attempt_delay() {
    let Some(lab) = lab() else { return };
    let _listener = Listener::start(&lab.peer, "10.1.0.1:8443".parse().unwrap_or_else(|e| panic!("{e}")));
    // The AAAA address is on-link but nobody holds it: neighbour discovery never
    // answers, so the IPv6 attempt hangs and Happy Eyeballs starts IPv4 250 ms later.
    let server = in_netns(&lab.host, || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
        DnsServer::serve(
            socket,
            vec![
                (
                    "dual.test".to_owned(),
                    "2001:db8:1::99".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}")),
                ),
                ("dual.test".to_owned(), "10.1.0.1".parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"))),
            ],
        )
    });
    let mut config = config(&["dual.test:8443"]);
    config.nameserver = Some(server.address());
    config.probe_timeout = Duration::from_secs(2);
    config.probe_interval = Duration::from_secs(30);
    let source = start(&lab.host, config);
    wait(&source, "a race with a winner", Duration::from_secs(15), |s| {
        path(s, "dual.test:8443").is_some_and(|p| p.attempts.iter().any(|a| a.winner))
    });
    source.with_store(|s| {
        let state = path(s, "dual.test:8443").unwrap_or_else(|| panic!());
        let v6 = state
            .attempts
            .iter()
            .find(|a| a.address.is_ipv6())
            .unwrap_or_else(|| panic!("{:?}", state.attempts));
        let v4 = state
            .attempts
            .iter()
            .find(|a| a.address.is_ipv4())
            .unwrap_or_else(|| panic!("{:?}", state.attempts));
        assert!(!v6.winner && v6.started_ms < 1.0, "IPv6 first, an also-ran: {v6:?}");
        assert!(matches!(
            v6.outcome,
            AttemptOutcome::Cancelled | AttemptOutcome::TimedOut | AttemptOutcome::Unreachable
        ));
        assert!(v4.winner && v4.outcome == AttemptOutcome::Connected, "{v4:?}");
        let gap = v4.started_ms - v6.started_ms;
        assert!((240.0..400.0).contains(&gap), "IPv4 starts ~250 ms after IPv6: {gap} ms");
        assert_eq!(
            state.destination.map(|d| d.to_string()).as_deref(),
            Some("10.1.0.1"),
            "the winner is evaluated"
        );
        assert!(state.checks.iter().any(|c| c.name.as_str() == "dns" && c.ok), "{:?}", state.checks);
    });
    let addr: SocketAddr = server.address();
    assert!(addr.ip().is_loopback());
    source.stop();
}

#[test]
fn without_user_targets_no_packet_is_sent() {
    let Some(lab) = lab() else { return };
    // IPv6 would send router solicitations and MLD reports of its own accord.
    sysctl(&lab.host, "net.ipv6.conf.veth0.disable_ipv6", "1");
    settle(300);
    let sent = |netns: &Netns| -> u64 {
        let links = netns.json(&["-s", "link", "show", "dev", "veth0"]);
        links[0]["stats64"]["tx"]["packets"].as_u64().unwrap_or_else(|| panic!("{links}"))
    };
    let before = sent(&lab.host);
    let source = start(&lab.host, config(&[]));
    wait(&source, "evaluated", Duration::from_secs(10), |s| {
        is(s, "default-ipv4", PathStatus::Satisfied, None)
    });
    // Changes make the source evaluate again: still only questions to the kernel.
    lab.host.must(&["route", "add", "10.99.0.0/16", "via", "10.1.0.1"]);
    lab.host.must(&["route", "del", "10.99.0.0/16"]);
    settle(1500);
    assert_eq!(sent(&lab.host), before, "the paths source sent packets without a user target");
    source.stop();
}

fn netlens(netns: &Netns, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(["--netns", netns.name(), "--config", "/dev/null"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|error| panic!("running netlens: {error}"))
}

#[test]
fn the_path_command_exits_by_verdict() {
    let Some(lab) = lab() else { return };
    let _listener = Listener::start(&lab.peer, "10.1.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")));
    lab.host.must(&["route", "add", "blackhole", "10.50.0.0/16"]);

    let ok = netlens(&lab.host, &["path", "10.1.0.1:8080", "default-ipv4", "--json"]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&ok.stderr));
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"));
    let list = doc.as_array().unwrap_or_else(|| panic!("a list: {doc}"));
    assert_eq!(list.len(), 2);
    for (i, value) in list.iter().enumerate() {
        support::schema::check_path(value, &format!("[{i}]"));
    }
    assert_eq!(list[0]["target"], "10.1.0.1:8080");
    assert_eq!(list[0]["probe"]["ok"], true);

    let bad = netlens(&lab.host, &["path", "10.50.0.1"]);
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("unsatisfied (blackhole)") && text.contains("FAIL route"), "{text}");

    // An IPv6 address followed by what may be a port is refused with the suggestion.
    let ambiguous = netlens(&lab.host, &["path", "fd77::1:8080"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&ambiguous.stderr);
    assert!(
        stderr.contains("did you mean `[fd77::1]:8080`?") && stderr.contains("`[fd77::1:8080]`"),
        "{stderr}"
    );
    let bracketed = netlens(&lab.host, &["path", "[fd77::1]"]);
    assert_ne!(bracketed.status.code(), Some(2), "{}", String::from_utf8_lossy(&bracketed.stderr));

    let usage = netlens(&lab.host, &["path", "10.0.0.1,via="]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("`via=`"),
        "{}",
        String::from_utf8_lossy(&usage.stderr)
    );
}
