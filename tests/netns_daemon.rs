//! `netlens daemon` against the kernel: in a namespace it creates, interface counters
//! on /metrics equal `ip -s -j link`'s, a path target's status series moves when its
//! route becomes a blackhole, /healthz answers, 100 scrapes at once are all served while
//! a client that never sends its request holds a connection, SIGTERM stops it cleanly,
//! and a port in use is exit 2 naming the address.

mod common;
mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::dns_server::{DnsTestServer, Zone};
use common::etc_netns::{EtcNetns, Reaped};
use common::netns::{Netns, require_netns};
use common::peer::in_netns;

const HOST: &str = "10.93.0.1";
const PEER: &str = "10.93.0.2";

/// `GET path` with `accept`; the status code and the body.
fn get(address: SocketAddr, path: &str, accept: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap_or_else(|e| panic!("{e}"));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    (status, body)
}

/// The value of the sample `name{labels}` (labels as written, in order), if present.
fn sample(body: &str, series: &str) -> Option<u64> {
    body.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The daemon on a port of its choosing, watching `netns` with the global options
/// `global` and the daemon options `options`; its address, and its log lines.
fn start(
    netns: &Netns,
    home: &std::path::Path,
    global: &[&str],
    options: &[&str],
) -> (Reaped, SocketAddr, mpsc::Receiver<String>) {
    let child = support::netlens(home)
        .args(["--netns", netns.name(), "--log", "/dev/null", "--refresh", "500ms"])
        .args(global)
        .args(["daemon", "--metrics-addr", "127.0.0.1:0"])
        .args(options)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting netlens daemon: {e}"));
    let mut daemon = Reaped(child);
    let stderr = daemon.0.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("daemon: {line}");
            let _ = tx.send(line);
        }
    });
    let address = log_line(&rx, "address=");
    let address = address.split("address=").nth(1).unwrap_or_default().trim().to_owned();
    (daemon, address.parse().unwrap_or_else(|e| panic!("{address}: {e}")), rx)
}

/// Wait (up to 30 s) for a log line containing `needle`.
fn log_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).unwrap_or_else(|e| panic!("no log line with {needle:?}: {e}"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn signal(daemon: &Reaped, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(daemon.0.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap_or_else(|e| panic!("{e}"));
}

/// The kernel's counters of `device` in `netns` (`ip -s -j link show`).
fn kernel_counters(netns: &Netns, device: &str) -> [u64; 4] {
    let link = netns.json(&["-s", "link", "show", device]);
    let stats = &link[0]["stats64"];
    let read =
        |direction: &str, field: &str| stats[direction][field].as_u64().unwrap_or_else(|| panic!("{link}"));
    [read("rx", "bytes"), read("tx", "bytes"), read("rx", "packets"), read("tx", "packets")]
}

fn scraped_counters(body: &str, device: &str) -> Option<[u64; 4]> {
    let read =
        |name: &str| sample(body, &format!("netlens_interface_{name}_total{{interface=\"{device}\"}}"));
    Some([
        read("receive_bytes")?,
        read("transmit_bytes")?,
        read("receive_packets")?,
        read("transmit_packets")?,
    ])
}

/// `promtool check metrics` on a scrape: no errors, no lint. Without promtool (not
/// installed, and CI not asking for it) the check is skipped with a message.
fn check_metrics(body: &str) {
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(std::env::var("NETLENS_REQUIRE_NETNS").as_deref() != Ok("1"), "promtool is not installed");
        eprintln!("skipping promtool check metrics: promtool is not installed");
        return;
    };
    child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("stdin"))
        .write_all(body.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}\n{body}");
}

/// Poll `/metrics` until `done` says yes (with the last body), or fail after `timeout`.
fn until(address: SocketAddr, what: &str, timeout: Duration, mut done: impl FnMut(&str) -> bool) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let (status, body) = get(address, "/metrics", "text/plain");
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}; last scrape:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_daemon_serves_the_kernels_figures_and_stays_responsive() {
    let Some(a) = require_netns() else { return };
    let Some(b) = require_netns() else { return };
    a.batch(&format!(
        "link set lo up\nlink add va type veth peer name vb netns {}\naddr add {HOST}/24 dev va\nlink set va up\n",
        b.name()
    ));
    b.batch(&format!("link set lo up\naddr add {PEER}/24 dev vb\nlink set vb up\n"));
    // A nameserver in B for A's resolver.
    let resolver: SocketAddr = format!("{PEER}:53").parse().unwrap_or_else(|e| panic!("{e}"));
    let zone = Zone::new().host("api.lab.test", &["10.93.0.80".parse().unwrap_or_else(|e| panic!("{e}"))]);
    let _server = in_netns(&b, move || DnsTestServer::start(resolver, zone));
    let resolv_conf = format!("nameserver {PEER}\noptions timeout:1 attempts:1\n");
    let _files = EtcNetns::write(&a, &[("resolv.conf", &resolv_conf), ("nsswitch.conf", "hosts: dns\n")]);
    let home = support::tempdir();
    let target = format!("{PEER},probe=none");
    let journal = home.path().join("journal");
    let journal_arg = journal.to_str().unwrap_or_else(|| panic!("not UTF-8"));
    let (mut daemon, address, _log) =
        start(&a, home.path(), &["--target", &target], &["--record", journal_arg]);

    // Traffic across the veth pair, then the counters, as the kernel has them.
    let peer: SocketAddr = format!("{PEER}:9").parse().unwrap_or_else(|e| panic!("{e}"));
    in_netns(&a, move || {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..300 {
            let _ = socket.send_to(&[0x5a; 1000], peer);
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let kernel = kernel_counters(&a, "va");
    assert!(kernel[1] >= 300_000, "the traffic did not leave: {kernel:?}");
    until(address, "va's counters equal the kernel's", Duration::from_secs(10), |body| {
        scraped_counters(body, "va") == Some(kernel_counters(&a, "va"))
    });

    // The scrape is valid for Prometheus's own checker.
    let (_, body) = get(address, "/metrics", "text/plain");
    check_metrics(&body);

    // A lookup through A's resolver (before the blackhole cuts B off): the server's
    // series appear.
    let lookup = std::process::Command::new("ip")
        .args(["netns", "exec", a.name(), "getent", "ahosts", "api.lab.test"])
        .output()
        .unwrap_or_else(|e| panic!("getent: {e}"));
    assert!(lookup.status.success(), "getent: {}", String::from_utf8_lossy(&lookup.stderr));
    let body = until(address, "the DNS series", Duration::from_secs(10), |body| {
        sample(body, &format!("netlens_dns_queries_total{{server=\"{PEER}\",rcode=\"NOERROR\"}}"))
            .is_some_and(|n| n >= 1)
    });
    assert!(body.contains(&format!("netlens_dns_latency_seconds_count{{server=\"{PEER}\"}}")), "{body}");

    // The target's status: satisfied, then unsatisfied once its route is a blackhole.
    // The series are labelled by the destination, without the target's options.
    let status = |body: &str, status: &str| {
        sample(body, &format!("netlens_path_status{{target=\"{PEER}\",status=\"{status}\"}}"))
    };
    until(address, "the target satisfied", Duration::from_secs(10), |body| {
        status(body, "satisfied") == Some(1)
    });
    a.must(&["route", "add", "blackhole", &format!("{PEER}/32")]);
    let body = until(address, "the target unsatisfied", Duration::from_secs(10), |body| {
        status(body, "unsatisfied") == Some(1)
    });
    assert_eq!(status(&body, "satisfied"), Some(0), "{body}");
    assert!(body.contains(&format!("netlens_path_reason{{target=\"{PEER}\",reason=")), "{body}");

    let (code, health) = get(address, "/healthz", "*/*");
    assert_eq!((code, health.as_str()), (200, "ok\n"));
    let (code, open_metrics) = get(address, "/metrics", "application/openmetrics-text; version=1.0.0");
    assert_eq!(code, 200);
    assert!(open_metrics.ends_with("# EOF\n"), "{open_metrics}");
    assert_eq!(get(address, "/nothing", "*/*").0, 404);

    // A client that connects and never finishes its request, then 100 scrapes at once.
    let mut stalled = TcpStream::connect(address).unwrap_or_else(|e| panic!("{e}"));
    stalled.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let scrapes: Vec<_> =
        (0..100).map(|_| std::thread::spawn(move || get(address, "/metrics", "text/plain"))).collect();
    for scrape in scrapes {
        let (code, body) = scrape.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert_eq!(code, 200);
        assert!(body.contains("netlens_build_info{version="), "{body}");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "100 scrapes took {:?}", started.elapsed());
    drop(stalled);

    // SIGTERM: a clean exit.
    signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = daemon.0.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(Instant::now() < deadline, "the daemon did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");

    // Its journal replays: the state at its end has the veth and the blackhole route.
    let out = support::run(
        support::netlens(home.path()).args(["--log", "/dev/null", "snapshot", "--from"]).arg(&journal),
    );
    assert!(out.status.success(), "{}", support::stderr(&out));
    let replay: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> =
        replay["interfaces"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str()).collect();
    assert!(names.contains(&"va"), "{names:?}");
    let blackholed = replay["routes"].as_array().into_iter().flatten().any(|route| {
        route["type"] == "blackhole" && route["destination"].as_str().is_some_and(|d| d.starts_with(PEER))
    });
    assert!(blackholed, "no blackhole route in the replay: {}", replay["routes"]);
}

/// SIGHUP: a target added to the config gets series, a removed one loses them, state
/// stays (counters keep counting from where they were); a bad config leaves the one in
/// use, and the log names the file.
#[test]
fn sighup_reloads_targets_and_a_bad_config_keeps_the_old_one() {
    let Some(netns) = require_netns() else { return };
    netns.batch("link set lo up\naddr add 10.94.0.1/24 dev lo\n");
    let home = support::tempdir();
    let config = home.path().join("netlens.toml");
    let write = |text: &str| std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    write("[paths]\ntargets = [\"10.94.0.2\"]\n");
    let config_arg = config.to_str().unwrap_or_else(|| panic!("not UTF-8")).to_owned();
    let (daemon, address, log) = start(&netns, home.path(), &["--config", &config_arg], &[]);
    let has = |body: &str, target: &str| body.contains(&format!("netlens_path_status{{target=\"{target}\""));
    let body = until(address, "the first target", Duration::from_secs(10), |body| has(body, "10.94.0.2"));
    let events = "netlens_events_total{source=\"interfaces\",kind=\"source_status\"}";
    let events_before = sample(&body, events);

    write("[paths]\ntargets = [\"10.94.0.3\"]\n");
    signal(&daemon, nix::sys::signal::Signal::SIGHUP);
    log_line(&log, "config reloaded");
    let body = until(address, "the new target alone", Duration::from_secs(10), |body| {
        has(body, "10.94.0.3") && !has(body, "10.94.0.2")
    });
    // Nothing was started again: the counters carry on.
    assert_eq!(sample(&body, events), events_before, "{body}");

    write("[paths]\ntargets = 7\n");
    signal(&daemon, nix::sys::signal::Signal::SIGHUP);
    let line = log_line(&log, "not reloaded");
    assert!(line.starts_with("<3>") && line.contains(&config_arg), "{line}");
    std::thread::sleep(Duration::from_millis(1500));
    let (code, body) = get(address, "/metrics", "text/plain");
    assert_eq!(code, 200);
    assert!(has(&body, "10.94.0.3") && !has(&body, "10.94.0.2"), "{body}");
}

#[test]
fn a_port_in_use_is_exit_2_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let address = taken.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
    let home = support::tempdir();
    let out = support::run(support::netlens(home.path()).args([
        "--demo",
        "--log",
        "/dev/null",
        "daemon",
        "--metrics-addr",
        &address,
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains(&address), "{}", support::stderr(&out));
}
