//! `netlens daemon` against the kernel: in a namespace it creates, interface counters
//! on /metrics equal `ip -s -j link`'s, a path target's status series moves when its
//! route becomes a blackhole, /healthz answers, 100 scrapes at once are all served while
//! a client that never sends its request holds a connection, SIGTERM stops it cleanly,
//! and a port in use is exit 2 naming the address; a real Prometheus scraping it every
//! second stores the kernel's counters, the DNS and path series, and answers every query
//! of the shipped Grafana dashboard.

mod common;
mod support;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::daemon::{
    Lab, PEER, check_metrics, get, log_line, sample, scraped_counters, signal, start, until,
};
use common::netns::require_netns;
use common::prometheus::{Prometheus, dashboard_queries};

#[test]
fn the_daemon_serves_the_kernels_figures_and_stays_responsive() {
    let Some(lab) = Lab::new() else { return };
    let a = &lab.a;
    let home = support::tempdir();
    let target = format!("{PEER},probe=none");
    let journal = home.path().join("journal");
    let journal_arg = journal.to_str().unwrap_or_else(|| panic!("not UTF-8"));
    let (mut daemon, address, _log) =
        start(support::netlens(home.path()), a, &["--target", &target], &["--record", journal_arg]);

    // Traffic across the veth pair, then the counters, as the kernel has them.
    lab.traffic();
    until(address, "va's counters equal the kernel's", Duration::from_secs(10), |body| {
        scraped_counters(body, "va") == Some(common::daemon::kernel_counters(a, "va"))
    });

    // The scrape is valid for Prometheus's own checker.
    let (_, body) = get(address, "/metrics", "text/plain");
    check_metrics(&body);

    // A lookup through A's resolver (before the blackhole cuts B off): the server's
    // series appear.
    lab.lookup();
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
    let (daemon, address, log) =
        start(support::netlens(home.path()), &netns, &["--config", &config_arg], &[]);
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

/// A real Prometheus scraping the daemon every second: its API gives the kernel's
/// interface counters after traffic, the DNS series after a lookup, and a path target's
/// status moving when its route becomes a blackhole.
#[test]
fn prometheus_scrapes_the_kernels_figures() {
    let Some(lab) = Lab::new() else { return };
    let a = &lab.a;
    let home = support::tempdir();
    let target = format!("{PEER},probe=none");
    let (_daemon, address, _log) = start(support::netlens(home.path()), a, &["--target", &target], &[]);
    let Some(prometheus) = Prometheus::scraping(address) else { return };
    prometheus
        .until("the first scrape", Duration::from_secs(30), |p| p.value("up{job=\"netlens\"}") == Some(1.0));

    lab.traffic();
    let started = Instant::now();
    let series = ["receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets"];
    prometheus.until("va's counters in Prometheus equal the kernel's", Duration::from_secs(15), |p| {
        let stored = series.map(|name| {
            p.value(&format!("netlens_interface_{name}_total{{interface=\"va\"}}")).map(|v| v as u64)
        });
        stored.map(Option::unwrap_or_default) == common::daemon::kernel_counters(a, "va")
    });
    eprintln!("Prometheus held the kernel's counters {:?} after the traffic", started.elapsed());

    lab.lookup();
    let queries = format!("netlens_dns_queries_total{{server=\"{PEER}\",rcode=\"NOERROR\"}}");
    prometheus
        .until("the DNS series", Duration::from_secs(15), |p| p.value(&queries).is_some_and(|n| n >= 1.0));
    let latency = format!("netlens_dns_latency_seconds_count{{server=\"{PEER}\"}}");
    assert!(prometheus.value(&latency).is_some_and(|n| n >= 1.0), "{latency}");

    let status = |p: &Prometheus, status: &str| {
        p.value(&format!("netlens_path_status{{target=\"{PEER}\",status=\"{status}\"}}"))
    };
    prometheus
        .until("the target satisfied", Duration::from_secs(15), |p| status(p, "satisfied") == Some(1.0));
    a.must(&["route", "add", "blackhole", &format!("{PEER}/32")]);
    prometheus.until("the target unsatisfied", Duration::from_secs(15), |p| {
        status(p, "unsatisfied") == Some(1.0) && status(p, "satisfied") == Some(0.0)
    });
    let transitions = format!("netlens_path_transitions_total{{target=\"{PEER}\"}}");
    assert!(prometheus.value(&transitions).is_some_and(|n| n >= 1.0), "{transitions}");

    // The shipped dashboard's queries run against these series (Grafana's variables
    // as it would fill them), and the interface, path and DNS panels have data.
    let dashboard =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/grafana/netlens.json"))
            .unwrap_or_else(|e| panic!("{e}"));
    let dashboard = serde_json::from_str(&dashboard).unwrap_or_else(|e| panic!("{e}"));
    let mut with_data = Vec::new();
    for expr in dashboard_queries(&dashboard) {
        let promql = expr.replace("$__rate_interval", "5s").replace("$instance", ".*");
        if !prometheus.query(&promql).is_empty() {
            with_data.push(expr);
        }
    }
    for needed in
        ["netlens_interface_receive_bytes_total", "netlens_path_status", "netlens_dns_queries_total"]
    {
        assert!(
            with_data.iter().any(|expr| expr.contains(needed)),
            "no dashboard query of {needed} has data"
        );
    }
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
