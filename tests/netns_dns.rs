//! DNS against a real server: an in-process authoritative server speaking the wire
//! protocol inside a test namespace, `/etc/netns/<ns>/resolv.conf` pointing at it,
//! and netlens (`netlens trace --netns`, the DNS source, passive capture) compared
//! with what glibc's `getent` does in the same namespace and what the server saw.
//! Needs root; traffic stays inside the namespace.

mod common;
mod support;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use common::dns_server::{Behaviour, DnsTestServer, Zone};
use common::etc_netns::EtcNetns;
use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::in_netns;
use hickory_proto::rr::RecordType;
use serde_json::Value;

const SERVER: &str = "10.53.0.1";
const SILENT: &str = "10.53.0.9";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A namespace with loopback up and the server addresses on it.
fn lab() -> Option<Netns> {
    let netns = require_netns()?;
    netns.batch(&format!("link set lo up\naddr add {SERVER}/32 dev lo\naddr add {SILENT}/32 dev lo\n"));
    Some(netns)
}

fn server(netns: &Netns, zone: Zone) -> DnsTestServer {
    let address: SocketAddr = format!("{SERVER}:53").parse().unwrap_or_else(|e| panic!("{e}"));
    in_netns(netns, move || DnsTestServer::start(address, zone))
}

fn resolver_files(netns: &Netns, resolv_conf: &str, hosts: &str) -> EtcNetns {
    EtcNetns::write(
        netns,
        &[("resolv.conf", resolv_conf), ("hosts", hosts), ("nsswitch.conf", "hosts: files dns\n")],
    )
}

/// `netlens trace --netns NS NAME --json`: the exit code and the parsed trace.
fn run_trace(netns: &Netns, name: &str) -> (i32, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(["--netns", netns.name(), "--log", "/dev/null", "trace", name, "--json"])
        .output()
        .unwrap_or_else(|e| panic!("running netlens trace: {e}"));
    let code = output.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    if value.is_object() {
        support::schema::check_trace(&value, "trace");
    }
    (code, value)
}

fn steps(trace: &Value) -> Vec<String> {
    trace["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|step| {
                    format!(
                        "{} {} {} {}{}",
                        step["candidate"].as_str().unwrap_or_default(),
                        step["qtype"].as_str().unwrap_or_default(),
                        step["transport"].as_str().unwrap_or_default(),
                        step["rcode"].as_str().unwrap_or("timeout"),
                        if step["nodata"].as_bool() == Some(true) { " nodata" } else { "" }
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Names in the order the server first saw them (A and AAAA of one name count once).
fn names_in_order(server: &DnsTestServer) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for logged in server.log() {
        if names.last() != Some(&logged.name) && !names.contains(&logged.name) {
            names.push(logged.name);
        }
    }
    names
}

#[test]
fn the_search_list_is_walked_in_getents_order() {
    let Some(netns) = lab() else { return };
    let server = server(&netns, Zone::new().host("db.lab.test", &[ip("10.0.0.5")]));
    let _files = resolver_files(
        &netns,
        &format!("nameserver {SERVER}\nsearch corp.test lab.test\noptions ndots:1 timeout:1 attempts:1\n"),
        "127.0.0.1 localhost\n",
    );

    let (code, trace) = run_trace(&netns, "db");
    assert_eq!(code, 0, "{trace:#}");
    assert_eq!(
        steps(&trace),
        [
            "db.corp.test A udp NXDOMAIN",
            "db.corp.test AAAA udp NXDOMAIN",
            "db.lab.test A udp NOERROR",
            "db.lab.test AAAA udp NOERROR nodata"
        ],
        "{trace:#}"
    );
    assert_eq!(trace["result"], serde_json::json!(["10.0.0.5"]));
    assert_eq!(trace["answered_by"], "db.lab.test");
    assert_eq!(trace["steps"][2]["answers"][0]["ttl"], 300);
    assert_eq!(trace["system"]["addresses"], serde_json::json!(["10.0.0.5"]), "{trace:#}");
    let traced_order = names_in_order(&server);

    // glibc, in the same namespace with the same files, asks in the same order.
    server.clear_log();
    let getent = Command::new("ip")
        .args(["netns", "exec", netns.name(), "getent", "ahosts", "db"])
        .output()
        .unwrap_or_else(|e| panic!("getent: {e}"));
    assert!(getent.status.success(), "getent failed: {}", String::from_utf8_lossy(&getent.stderr));
    assert!(String::from_utf8_lossy(&getent.stdout).contains("10.0.0.5"));
    let getent_order = names_in_order(&server);
    assert_eq!(getent_order, ["db.corp.test", "db.lab.test"]);
    // The trace also asks the system (getaddrinfo) after its own queries; its own
    // part is what getent does.
    assert_eq!(traced_order[..2], getent_order[..]);

    let (code, trace) = run_trace(&netns, "nothing");
    assert_eq!(code, 1, "an unknown name exits 1: {trace:#}");
    assert!(trace["error"].as_str().unwrap_or_default().contains("NXDOMAIN"), "{trace:#}");
    let (code, _) = run_trace(&netns, "not a name!");
    assert_eq!(code, 2, "an invalid name exits 2");
}

#[test]
fn a_silent_first_server_times_out_and_the_second_answers() {
    let Some(netns) = lab() else { return };
    let _server = server(&netns, Zone::new().host("db.test", &[ip("10.0.0.5")]));
    // Bound but never read: queries to it vanish, as to a blackholed server.
    let silent: SocketAddr = format!("{SILENT}:53").parse().unwrap_or_else(|e| panic!("{e}"));
    let _silent =
        in_netns(&netns, move || std::net::UdpSocket::bind(silent).unwrap_or_else(|e| panic!("{e}")));
    let _files = resolver_files(
        &netns,
        &format!("nameserver {SILENT}\nnameserver {SERVER}\noptions timeout:1 attempts:1\n"),
        "",
    );
    let (code, trace) = run_trace(&netns, "db.test.");
    assert_eq!(code, 0, "{trace:#}");
    let steps = trace["steps"].as_array().cloned().unwrap_or_default();
    let first = &steps[0];
    assert_eq!(first["server"], format!("{SILENT}:53"));
    assert!(first["rcode"].is_null());
    assert!(first["error"].as_str().unwrap_or_default().contains("timeout after 1000 ms"), "{first:#}");
    let timed_out = first["latency_ms"].as_f64().unwrap_or_default();
    assert!((1_000.0..1_150.0).contains(&timed_out), "timeout recorded at {timed_out} ms");
    let answered =
        steps.iter().find(|step| step["server"] == format!("{SERVER}:53")).cloned().unwrap_or_default();
    assert_eq!(answered["rcode"], "NOERROR");
    let total = trace["total_ms"].as_f64().unwrap_or_default();
    let answer_ms = answered["latency_ms"].as_f64().unwrap_or_default();
    // The total is the timeout plus the second server's answer, plus little overhead.
    assert!(total >= timed_out + answer_ms && total < timed_out + answer_ms + 50.0, "total {total} ms");
}

#[test]
fn nodata_servfail_refused_and_truncation() {
    let Some(netns) = lab() else { return };
    let _server = server(
        &netns,
        Zone::new()
            .host("aonly.test", &[ip("10.0.0.5")])
            .on("sf.test", None, Behaviour::ServFail)
            .on("ref.test", None, Behaviour::Refused)
            .on("big.test", None, Behaviour::Truncate(vec![ip("10.0.0.7"), ip("2001:db8::7")]))
            .on("www.test", None, Behaviour::Cname("aonly.test".into()))
            .on("id.test", None, Behaviour::WrongIdFirst(vec![ip("10.0.0.8")])),
    );
    let _files = resolver_files(&netns, &format!("nameserver {SERVER}\noptions timeout:1 attempts:1\n"), "");

    let (code, trace) = run_trace(&netns, "aonly.test.");
    assert_eq!(code, 0);
    assert_eq!(steps(&trace), ["aonly.test A udp NOERROR", "aonly.test AAAA udp NOERROR nodata"]);

    let (code, trace) = run_trace(&netns, "sf.test.");
    assert_eq!(code, 1);
    assert_eq!(steps(&trace), ["sf.test A udp SERVFAIL", "sf.test AAAA udp SERVFAIL"]);
    assert!(trace["error"].as_str().unwrap_or_default().contains("SERVFAIL"), "{trace:#}");

    let (code, trace) = run_trace(&netns, "ref.test.");
    assert_eq!(code, 1);
    assert_eq!(steps(&trace), ["ref.test A udp REFUSED", "ref.test AAAA udp REFUSED"]);
    assert!(trace["error"].as_str().unwrap_or_default().contains("REFUSED"), "{trace:#}");

    let (code, trace) = run_trace(&netns, "big.test.");
    assert_eq!(code, 0);
    let big = steps(&trace);
    assert_eq!(
        big,
        [
            "big.test A udp NOERROR",
            "big.test A tcp NOERROR",
            "big.test AAAA udp NOERROR",
            "big.test AAAA tcp NOERROR"
        ],
        "{trace:#}"
    );
    assert_eq!(trace["steps"][0]["truncated"], true);
    assert_eq!(trace["result"], serde_json::json!(["10.0.0.7", "2001:db8::7"]));

    let (_, trace) = run_trace(&netns, "www.test.");
    assert_eq!(trace["steps"][0]["cname_chain"], serde_json::json!(["www.test", "aonly.test"]), "{trace:#}");
    assert_eq!(trace["result"], serde_json::json!(["10.0.0.5"]));

    let (_, trace) = run_trace(&netns, "id.test.");
    assert_eq!(trace["result"], serde_json::json!(["10.0.0.8"]));
    assert!(
        trace["steps"][0]["ignored"].as_u64().unwrap_or_default() >= 1,
        "the decoy is ignored and counted: {trace:#}"
    );
}

#[test]
fn a_hosts_entry_that_differs_from_dns_is_flagged() {
    let Some(netns) = lab() else { return };
    let _server = server(&netns, Zone::new().host("db.test", &[ip("10.0.0.5")]));
    let _files =
        resolver_files(&netns, &format!("nameserver {SERVER}\noptions timeout:1\n"), "10.9.9.9 db.test\n");
    let (code, trace) = run_trace(&netns, "db.test");
    assert_eq!(code, 0);
    assert_eq!(trace["result"], serde_json::json!(["10.0.0.5"]));
    assert_eq!(trace["system"]["addresses"], serde_json::json!(["10.9.9.9"]));
    let differences = trace["differences"].to_string();
    assert!(differences.contains("hosts file"), "{trace:#}");
}

#[test]
fn dns64_is_detected_with_the_first_trace() {
    let Some(netns) = lab() else { return };
    let _server = server(
        &netns,
        Zone::new()
            .dns64("64:ff9b::".parse().unwrap_or_else(|e| panic!("{e}")))
            .host("v4.test", &[ip("10.0.0.5")]),
    );
    let _files = resolver_files(&netns, &format!("nameserver {SERVER}\noptions timeout:1\n"), "");
    let config = netlens_collectors::dns::source::DnsConfig {
        files: netlens_collectors::dns::files::ResolverFiles::for_netns(netns.name()),
        // getaddrinfo in this process reads the host's files, not the namespace's.
        system_answer: false,
        ..Default::default()
    };
    let (handle, source) = netlens_collectors::dns::source::dns(config);
    let running = SourceInNetns::start(&netns, 64, move || source);
    running.wait_for("the configuration", Duration::from_secs(10), |store| store.dns().config().is_some());
    running.with_store(|store| {
        assert_eq!(store.dns().config().map(|c| c.nameservers.clone()), Some(vec![ip(SERVER)]));
        assert!(store.dns().dns64().is_none(), "no query before anyone asks");
    });
    assert!(handle.send(netlens_collectors::dns::source::DnsControl::Trace("v4.test.".into())));
    running.wait_for("NAT64 detection", Duration::from_secs(10), |store| store.dns().dns64().is_some());
    running.with_store(|store| {
        assert_eq!(store.dns().dns64().and_then(|r| r.prefix.clone()).as_deref(), Some("64:ff9b::/96"));
        assert!(store.timeline().iter().any(|e| e.detail.contains("NAT64 detected")));
    });
    running.stop();
}

#[test]
fn passive_capture_sees_getent_with_its_process_and_latency() {
    let Some(netns) = lab() else { return };
    // A real server takes milliseconds; an instant answer lets getent close its
    // socket (some 40 µs after sending) before anyone could ask the kernel whose it was
    // through `/proc`. The capture hands a query over up to 1 ms after it passed (its
    // ring's block timer), and the owner lookup's threads must be scheduled on a
    // loaded machine: 20 ms, an upstream resolver's usual time, leaves room for both.
    let server =
        server(&netns, Zone::new().host("seen.test", &[ip("10.0.0.5")]).delay(Duration::from_millis(20)));
    let _files = resolver_files(&netns, &format!("nameserver {SERVER}\noptions timeout:1\n"), "");
    let running = SourceInNetns::start(&netns, 256, || {
        netlens_collectors::dns::capture::DnsCaptureSource::new(
            netlens_collectors::dns::capture::DnsCaptureConfig::default(),
        )
    });
    running.wait_for("capture running", Duration::from_secs(10), |store| {
        store
            .sources()
            .any(|s| s.name == netlens_collectors::model::SourceId::DnsCapture && s.detail.contains("lo"))
    });
    let getent = Command::new("ip")
        .args(["netns", "exec", netns.name(), "getent", "hosts", "seen.test"])
        .output()
        .unwrap_or_else(|e| panic!("getent: {e}"));
    assert!(getent.status.success(), "{}", String::from_utf8_lossy(&getent.stderr));
    running.wait_for("the captured query", Duration::from_secs(10), |store| {
        store.dns().queries().any(|q| q.name == "seen.test" && q.qtype == "A" && q.rcode.is_some())
    });
    let logged = server
        .log()
        .into_iter()
        .find(|l| l.name == "seen.test" && l.qtype == RecordType::A)
        .unwrap_or_else(|| panic!("the server saw no query"));
    let server_ms =
        logged.replied_at.map(|at| at.duration_since(logged.at).as_secs_f64() * 1_000.0).unwrap_or_default();
    running.with_store(|store| {
        let query = store
            .dns()
            .queries()
            .find(|q| q.name == "seen.test" && q.qtype == "A")
            .cloned()
            .unwrap_or_else(|| panic!());
        assert_eq!(query.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(
            query.server,
            format!("{SERVER}:53").parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(query.process.as_deref(), Some("getent"), "{query:?}");
        let latency = query.latency_ms.unwrap_or(f64::MAX);
        // The kernel's timestamps: the query passed before the server read it and the
        // answer after the server waited its 20 ms, so the wire's latency is at least that
        // wait (not a read time microseconds long), and close to what the server measured.
        assert!(latency >= 20.0, "capture saw {latency} ms, the server waited 20 ms");
        assert!((latency - server_ms).abs() < 5.0, "capture saw {latency} ms, the server {server_ms} ms");
    });
    running.stop();
}

/// A namespace whose resolv.conf changes from a silent nameserver to a live one
/// while `netlens --netns NS snapshot --target NAME` runs: the change is written in
/// place to `/etc/netns/NS/resolv.conf`, which netlens sees only through its bind
/// mount over `/etc/resolv.conf` (so only a watch on the file itself notices it
/// before the 5 s poll), and the path's DNS check then names the live server and
/// the path is satisfied within the debounce.
#[test]
fn a_resolv_conf_change_reaches_the_path_verdict() {
    let Some(netns) = lab() else { return };
    let zone = Zone::new().host("www.test.", &[ip(SERVER)]);
    let _server = server(&netns, zone);
    let silent = format!("nameserver {SILENT}\noptions timeout:1 attempts:1\n");
    let files = resolver_files(&netns, &silent, "127.0.0.1 localhost\n");
    let output = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(["--netns", netns.name(), "--log", "/dev/null", "--target", "www.test", "snapshot"])
        .args(["--duration", "4s", "-o"])
        .arg(output.path())
        .spawn()
        .unwrap_or_else(|e| panic!("running netlens snapshot: {e}"));
    // Once netlens watches the file itself, point it at the live server, in place:
    // the bind mount keeps the inode, so only that watch can notice.
    let resolv_conf = files.dir().join("resolv.conf");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !watches_inode(child.id(), &resolv_conf) {
        assert!(std::time::Instant::now() < deadline, "netlens never watched {}", resolv_conf.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let live = format!("nameserver {SERVER}\noptions timeout:1 attempts:1\n");
    std::fs::write(&resolv_conf, live).unwrap_or_else(|e| panic!("{e}"));
    let changed_after = started.elapsed();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "netlens snapshot failed: {status}");
    // The poll would only look 5 s after start, after the 4 s run: the file watch saw it.
    assert!(changed_after < Duration::from_secs(4), "the change came after the run: {changed_after:?}");
    let text = std::fs::read_to_string(output.path()).unwrap_or_else(|e| panic!("{e}"));
    let snapshot: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let path = snapshot["paths"]
        .as_array()
        .and_then(|paths| paths.iter().find(|path| path["target"] == "www.test"))
        .unwrap_or_else(|| panic!("no path for www.test: {text}"));
    let dns = path["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["name"] == "dns"))
        .unwrap_or_else(|| panic!("no dns check: {path}"));
    assert_eq!(dns["ok"], true, "{path}");
    let detail = dns["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("answered by {SERVER}")), "the check names the live server: {detail}");
    assert_eq!(path["status"], "satisfied", "{path}");
}

/// Whether process `pid` holds an inotify watch on the inode of `path`
/// (`/proc/PID/fdinfo` lists each watch as `inotify wd:N ino:HEX …`).
fn watches_inode(pid: u32, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::metadata(path) else { return false };
    let wanted = format!("ino:{:x} ", meta.ino());
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return false };
    entries.flatten().any(|entry| {
        std::fs::read_to_string(entry.path())
            .is_ok_and(|info| info.lines().any(|line| line.starts_with("inotify") && line.contains(&wanted)))
    })
}

/// A namespace whose first nameserver is silent and whose second answers, with the
/// DNS source (and, when `capture`, passive capture) running inside: a user trace of
/// `db.test.` asks the silent server A and AAAA, both time out, then the live one.
/// Returns the running sources once the trace is in the store.
fn trace_past_a_dead_server(netns: &Netns, capture: bool) -> SourceInNetns {
    use netlens_collectors::dns::capture::{DnsCaptureConfig, DnsCaptureSource};
    use netlens_collectors::dns::source::{DnsConfig, DnsControl, dns};
    use netlens_collectors::source::spawn_supervised;

    let config = DnsConfig {
        files: netlens_collectors::dns::files::ResolverFiles::for_netns(netns.name()),
        // getaddrinfo in this process reads the host's files, not the namespace's.
        system_answer: false,
        detect_dns64: false,
        ..Default::default()
    };
    let (handle, source) = dns(config);
    let running = SourceInNetns::start_many(netns, 256, move |tx| {
        let mut tasks = vec![spawn_supervised(source, tx.clone())];
        if capture {
            // A short wait, so the capture reports the silent server's queries soon.
            let config =
                DnsCaptureConfig { query_timeout: Duration::from_secs(2), ..DnsCaptureConfig::default() };
            tasks.push(spawn_supervised(DnsCaptureSource::new(config), tx));
        }
        tasks
    });
    running.wait_for("the configuration", Duration::from_secs(10), |store| store.dns().config().is_some());
    if capture {
        running.wait_for("capture running", Duration::from_secs(10), |store| {
            store
                .sources()
                .any(|s| s.name == netlens_collectors::model::SourceId::DnsCapture && s.detail.contains("lo"))
        });
    }
    assert!(handle.send(DnsControl::Trace("db.test.".into())));
    running.wait_for("the trace", Duration::from_secs(10), |store| store.dns().last_user_trace().is_some());
    running
}

/// The silent server's and the live server's health, and how many steps of the trace
/// asked each.
fn health_and_steps(store: &netlens_collectors::Store) -> ((u64, u64), (u64, u64), usize, usize) {
    let dns = store.dns();
    let health = |server: &str| dns.servers().get(&ip(server)).map_or((0, 0), |h| (h.queries, h.timeouts));
    let trace = dns.last_user_trace().cloned().unwrap_or_else(|| panic!("no trace"));
    let asked = |server: &str| trace.steps.iter().filter(|step| step.server.ip() == ip(server)).count();
    (health(SILENT), health(SERVER), asked(SILENT), asked(SERVER))
}

fn silent_first_then_live(netns: &Netns) -> (DnsTestServer, std::net::UdpSocket, EtcNetns) {
    let server = server(netns, Zone::new().host("db.test", &[ip("10.0.0.5")]));
    // Bound but never read: queries to it vanish, as to a blackholed server.
    let silent: SocketAddr = format!("{SILENT}:53").parse().unwrap_or_else(|e| panic!("{e}"));
    let silent = in_netns(netns, move || std::net::UdpSocket::bind(silent).unwrap_or_else(|e| panic!("{e}")));
    let files = resolver_files(
        netns,
        &format!("nameserver {SILENT}\nnameserver {SERVER}\noptions timeout:1 attempts:1\n"),
        "",
    );
    (server, silent, files)
}

#[test]
fn a_dead_first_nameservers_timeouts_count_in_server_health() {
    let Some(netns) = lab() else { return };
    let _lab = silent_first_then_live(&netns);
    let running = trace_past_a_dead_server(&netns, false);
    running.with_store(|store| {
        let ((queries, timeouts), (live, live_timeouts), asked_silent, asked_live) = health_and_steps(store);
        assert_eq!(asked_silent, 2, "A and AAAA to the silent server");
        assert_eq!((queries, timeouts), (2, 2), "the silent server's health counts the trace's timeouts");
        assert_eq!((live, live_timeouts), (asked_live as u64, 0));
        match store.dns_state() {
            netlens_collectors::store::DnsState::TimingOut { server, timeouts, .. } => {
                assert_eq!((server, timeouts), (ip(SILENT), 2));
            }
            other => panic!("the worst DNS state is {other:?}"),
        }
    });
    running.stop();
}

#[test]
fn with_capture_each_traced_exchange_counts_once_and_is_netlenss_own() {
    let Some(netns) = lab() else { return };
    let _lab = silent_first_then_live(&netns);
    let running = trace_past_a_dead_server(&netns, true);
    // Counted as soon as the trace is in, before the capture's wait for the silent
    // server runs out (and equally after: the capture's reports are the same exchanges).
    running.with_store(|store| {
        let ((queries, timeouts), _, asked_silent, _) = health_and_steps(store);
        assert_eq!((queries, timeouts), (asked_silent as u64, asked_silent as u64));
        assert_eq!(asked_silent, 2);
    });
    // The capture reports the silent server's queries when its own (2 s) wait runs out.
    running.wait_for("the captured timeouts", Duration::from_secs(10), |store| {
        store.dns().queries().filter(|q| q.server.ip() == ip(SILENT) && q.rcode.is_none()).count() >= 2
    });
    running.with_store(|store| {
        let ((queries, timeouts), (live, _), asked_silent, asked_live) = health_and_steps(store);
        assert_eq!(
            (queries, timeouts),
            (asked_silent as u64, asked_silent as u64),
            "counted once, not twice"
        );
        assert_eq!(live, asked_live as u64, "the live server's answers counted once");
        let own = std::process::id();
        let traced: Vec<_> = store
            .dns()
            .queries()
            .filter(|q| q.name == "db.test")
            .map(|q| (q.server.ip(), q.pid, q.process.clone()))
            .collect();
        assert!(traced.len() >= asked_silent + asked_live, "{traced:?}");
        assert!(traced.iter().all(|(_, pid, process)| *pid == Some(own) && process.is_some()), "{traced:?}");
        // Sent first, timed out last: the log still reads by send time.
        let times: Vec<_> = store.dns().queries().map(|q| q.at).collect();
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "out of order: {times:?}");
    });
    running.stop();
}
