//! Recording and replay against the real kernel (issue 14): `netlens --netns A record`
//! runs while a script changes namespace A — links up and down, addresses, routes, a
//! policy rule, a tunnel, TCP connections opening and closing, a `resolv.conf` change —
//! and after each step a live `netlens --netns A snapshot` is taken. The journal,
//! replayed at each live snapshot's `taken_at` with `netlens snapshot --from`, must
//! show the same interfaces, addresses, routes, rules, paths, DNS configuration and
//! established TCP 4-tuples.

mod common;
mod support;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::etc_netns::{EtcNetns, Reaped};
use common::netns::{Netns, require_netns};
use common::peer::{Listener, TunHolder, in_netns, settle};
use serde_json::{Value, json};

/// A's end of the veth pair and B's.
const HOST: &str = "10.90.0.1";
const PEER: &str = "10.90.0.2";
/// B's port whose connections the script holds open (accepted and kept).
const HELD_PORT: u16 = 7000;
/// Both netlens runs watch the same targets, so both have the same paths: one probed
/// over the veth (B accepts and drops), one through the tunnel without probes (nothing
/// answers inside a tun nobody reads).
const TARGETS: [&str; 2] = ["10.90.0.2:7001", "10.99.0.1,probe=none"];
/// How long each step waits for the kernel (and the recorder) to go quiet: the
/// connections source reads every 1 s, and the file watch and route lookups follow
/// changes within milliseconds.
const QUIET_MS: u64 = 1500;

const FIRST_RESOLV_CONF: &str = "nameserver 10.90.0.2\nsearch one.test\noptions ndots:2\n";
const SECOND_RESOLV_CONF: &str = "nameserver 10.90.0.53\nnameserver 10.90.0.54\nsearch two.test three.test\noptions timeout:1 attempts:3 rotate\n";

/// Namespace A (the recorded one) and B, joined by the veth pair `va` — `vb`.
struct Lab {
    a: Netns,
    b: Netns,
    files: EtcNetns,
    home: tempfile::TempDir,
}

impl Lab {
    fn new() -> Option<Self> {
        let a = require_netns()?;
        let b = require_netns()?;
        // Addresses skip duplicate address detection: a link-local address turning from
        // tentative to permanent up to 2 s after a link comes up would make "the state
        // is quiet after a step" a guess.
        let dad = "net.ipv6.conf.default.accept_dad=0";
        let status = Command::new("ip").args(["netns", "exec", a.name(), "sysctl", "-qw", dad]).status();
        assert!(status.is_ok_and(|s| s.success()), "sysctl {dad} failed");
        a.batch(&format!(
            "link set lo up\n\
             link add va type veth peer name vb netns {}\n\
             addr add {HOST}/24 dev va\n\
             link set va up\n",
            b.name()
        ));
        b.batch(&format!("link set lo up\naddr add {PEER}/24 dev vb\nlink set vb up\n"));
        let files =
            EtcNetns::write(&a, &[("resolv.conf", FIRST_RESOLV_CONF), ("hosts", "127.0.0.1 localhost\n")]);
        Some(Self { a, b, files, home: support::tempdir() })
    }

    /// `netlens --netns A --log /dev/null --target … ARGS…`, isolated from the user's config.
    fn netlens(&self, args: &[&str]) -> Command {
        let mut command = support::netlens(self.home.path());
        command.args(["--netns", self.a.name(), "--log", "/dev/null"]);
        for target in TARGETS {
            command.args(["--target", target]);
        }
        command.args(args);
        command
    }

    /// A live snapshot of A, collected for 1 s.
    fn live_snapshot(&self, output: &Path) -> Value {
        let path = output.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", output.display()));
        let out = support::run(&mut self.netlens(&["snapshot", "-d", "1s", "-o", path]));
        assert!(out.status.success(), "netlens snapshot failed: {}", support::stderr(&out));
        read_json(output)
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

/// `netlens snapshot --from JOURNAL [--at TIME]`, parsed.
fn replayed(home: &Path, journal: &Path, at: Option<&str>) -> Value {
    let mut command = support::netlens(home);
    command.args(["--log", "/dev/null", "snapshot", "--from"]).arg(journal);
    if let Some(at) = at {
        command.args(["--at", at]);
    }
    let out = support::run(&mut command);
    assert!(out.status.success(), "netlens snapshot --from failed: {}", support::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}: {}", support::stdout(&out)))
}

/// Stop a recorder with SIGINT, as a user's Ctrl-C does, and check it ended well.
fn interrupt(mut recorder: Reaped) {
    let pid = recorder.0.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid} failed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = recorder.0.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(Instant::now() < deadline, "netlens record ignored SIGINT for 10 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = recorder.0.stderr.take() {
        use std::io::Read as _;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(status.success(), "netlens record ended with {status}: {stderr}");
}

/// Wait until `dir` holds a journal segment: the recorder is running and has written
/// its header and first keyframe.
fn wait_for_journal(dir: &Path, recorder: &mut Reaped) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let segments = std::fs::read_dir(dir).map_or(0, |entries| {
            entries.flatten().filter(|e| e.metadata().is_ok_and(|m| m.len() > 0)).count()
        });
        if segments > 0 {
            return;
        }
        if let Some(status) = recorder.0.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            panic!("netlens record exited early: {status}");
        }
        assert!(Instant::now() < deadline, "netlens record wrote nothing to {} in 15 s", dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The interfaces as the kernel states them: identity, state, MTU and addresses with
/// their flags; not counters, rates or `first_seen` (when that netlens first saw it).
fn interfaces(doc: &Value) -> Vec<Value> {
    let mut all: Vec<Value> = doc["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let mut kept = i.clone();
            if let Some(object) = kept.as_object_mut() {
                for volatile in ["stats", "rates", "first_seen"] {
                    object.remove(volatile);
                }
            }
            kept
        })
        .collect();
    all.sort_by_key(|i| i["index"].as_u64());
    all
}

fn sorted(doc: &Value, section: &str) -> Vec<Value> {
    let mut all: Vec<Value> = doc[section].as_array().cloned().unwrap_or_default();
    all.sort_by_key(ToString::to_string);
    all
}

/// Each path's verdict and what it rests on. Left out: `since` and `evaluated_at`
/// (when each netlens evaluated: the live one started a second before `taken_at`, the
/// recorder long before), `transitions` (the live one saw none of the earlier steps),
/// and the probe's measurements (RTTs and history differ per probe run).
fn paths(doc: &Value) -> Vec<Value> {
    let mut all: Vec<Value> = doc["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let checks: Vec<Value> = p["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    // A successful probe's detail carries its RTT.
                    let detail = if c["name"] == "probe" { Value::Null } else { c["detail"].clone() };
                    json!({ "name": c["name"], "ok": c["ok"], "detail": detail })
                })
                .collect();
            json!({
                "target": p["target"], "status": p["status"], "reason": p["reason"],
                "reason_subject": p["reason_subject"], "destination": p["destination"],
                "interface": p["interface"], "interface_kind": p["interface_kind"],
                "source": p["source"], "gateway": p["gateway"], "route_type": p["route_type"],
                "table": p["table"], "matched_prefix": p["matched_prefix"], "tunnel": p["tunnel"],
                "pending": p["pending"], "probe_ok": p["probe"]["ok"], "checks": checks,
            })
        })
        .collect();
    all.sort_by_key(|p| p["target"].to_string());
    all
}

/// The replay's paths, with one difference that comes from history forgiven. A path
/// whose route vanished with its interface says so (`link_down` or `no_carrier`, naming
/// the link, "and its routes went with it") only when that netlens saw the path use
/// that interface (`previous_interface` in the evaluator). The recorder saw va carry
/// the path before it went down. The live snapshot started with va already down and
/// can only say `no_route`. So that verdict is taken as equal when the live snapshot
/// says `no_route` and shows the named link down (or without carrier). Every other
/// field still has to match.
fn reconciled_paths(live: &Value, replay: &Value) -> Vec<Value> {
    let live_paths = paths(live);
    let link_is_out = |name: &Value| {
        interfaces(live).iter().any(|i| {
            &i["name"] == name
                && (!i["flags"].as_array().into_iter().flatten().any(|f| f == "up") || i["carrier"] == false)
        })
    };
    let mut replayed = paths(replay);
    for path in &mut replayed {
        let Some(seen) = live_paths.iter().find(|p| p["target"] == path["target"]) else { continue };
        let remembered = path["reason"] == "link_down" || path["reason"] == "no_carrier";
        if remembered && seen["reason"] == "no_route" && link_is_out(&path["reason_subject"]) {
            eprintln!(
                "{}: taking {} as the live no_route (the recorder saw the route go)",
                path["target"], path["reason"]
            );
            path["reason"] = seen["reason"].clone();
            path["reason_subject"] = seen["reason_subject"].clone();
            // Only the failed route check's wording is history; the checks themselves
            // (which ran, which failed) must still agree.
            let live_route = seen["checks"].as_array().into_iter().flatten().find(|c| c["name"] == "route");
            if let (Some(live_route), Some(checks)) = (live_route, path["checks"].as_array_mut()) {
                for check in checks.iter_mut().filter(|c| c["name"] == "route" && c["ok"] == false) {
                    check["detail"] = live_route["detail"].clone();
                }
            }
        }
    }
    replayed
}

/// The established TCP connections as (protocol, local, remote).
fn established(doc: &Value) -> Vec<(String, String, String)> {
    let text = |c: &Value, key: &str| c[key].as_str().unwrap_or_default().to_owned();
    let mut all: Vec<(String, String, String)> = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["protocol"] == "tcp" && c["state"] == "established")
        .map(|c| (text(c, "protocol"), text(c, "local"), text(c, "remote")))
        .collect();
    all.sort();
    all
}

/// Every section the replay must reproduce, as (name, live, replayed) where they differ.
fn differences(live: &Value, replay: &Value) -> Vec<(&'static str, String, String)> {
    let sections: [(&str, Value, Value); 6] = [
        ("interfaces", json!(interfaces(live)), json!(interfaces(replay))),
        ("routes", json!(sorted(live, "routes")), json!(sorted(replay, "routes"))),
        ("rules", json!(sorted(live, "rules")), json!(sorted(replay, "rules"))),
        ("paths", json!(paths(live)), json!(reconciled_paths(live, replay))),
        ("dns config", live["dns"]["config"].clone(), replay["dns"]["config"].clone()),
        ("established tcp", json!(established(live)), json!(established(replay))),
    ];
    sections
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, a, b)| (name, a.to_string(), b.to_string()))
        .collect()
}

/// After a step: wait for quiet, then a live snapshot, kept as `step`.
fn checkpoint(lab: &Lab, dir: &Path, step: &'static str, taken: &mut Vec<(&'static str, Value)>) {
    settle(QUIET_MS);
    let live = lab.live_snapshot(&dir.join(format!("live-{}.json", taken.len() + 1)));
    taken.push((step, live));
}

/// `count` connections from A to B's held port, both ends kept: (A's, B's).
fn open_connections(lab: &Lab, listener: &TcpListener, count: usize) -> (Vec<TcpStream>, Vec<TcpStream>) {
    let address = format!("{PEER}:{HELD_PORT}");
    let clients = in_netns(&lab.a, move || {
        (0..count).map(|_| TcpStream::connect(&address).unwrap_or_else(|e| panic!("{e}"))).collect()
    });
    let servers = (0..count).map(|_| listener.accept().unwrap_or_else(|e| panic!("{e}")).0).collect();
    (clients, servers)
}

/// The scripted session: six steps, each followed by a live snapshot.
fn script(lab: &Lab, dir: &Path) -> Vec<(&'static str, Value)> {
    let mut taken = Vec::new();
    checkpoint(lab, dir, "baseline: va up with its address", &mut taken);

    lab.a.batch(
        "addr add 10.91.0.1/24 dev va\n\
         addr add 2001:db8:90::1/64 dev va\n\
         route add 10.92.0.0/16 via 10.90.0.2 dev va metric 50\n\
         route add 10.93.0.0/24 via 10.90.0.2 table 100\n\
         rule add from 10.91.0.0/24 lookup 100 pref 1000\n",
    );
    checkpoint(lab, dir, "an address, routes and a policy rule added", &mut taken);

    lab.a.must(&["tuntap", "add", "dev", "tun0", "mode", "tun"]);
    let tunnel = TunHolder::attach(&lab.a, "tun0");
    lab.a.batch("addr add 10.98.0.1/24 dev tun0\nlink set tun0 up\nroute add 10.99.0.0/16 dev tun0\n");
    checkpoint(lab, dir, "tun0 up with an address and a route", &mut taken);

    let held = in_netns(&lab.b, || {
        TcpListener::bind((PEER, HELD_PORT)).unwrap_or_else(|e| panic!("bind {PEER}:{HELD_PORT}: {e}"))
    });
    let connections = open_connections(lab, &held, 3);
    checkpoint(lab, dir, "three TCP connections open", &mut taken);

    drop(connections);
    std::fs::write(lab.files.dir().join("resolv.conf"), SECOND_RESOLV_CONF).unwrap_or_else(|e| panic!("{e}"));
    checkpoint(lab, dir, "connections closed, resolv.conf changed", &mut taken);

    lab.a.must(&["link", "set", "va", "down"]);
    checkpoint(lab, dir, "va down", &mut taken);
    drop(tunnel);
    taken
}

/// The live snapshots show that each step happened: a replay equal to them is not
/// equal by being empty.
fn assert_steps_took_effect(taken: &[(&'static str, Value)]) {
    let has_interface = |doc: &Value, name: &str| interfaces(doc).iter().any(|i| i["name"] == name);
    let held = |doc: &Value| {
        established(doc).iter().filter(|(_, _, remote)| *remote == format!("{PEER}:{HELD_PORT}")).count()
    };
    let [baseline, rules, tunnel, open, closed, down] = taken else {
        panic!("six steps, not {}", taken.len())
    };
    assert!(has_interface(&baseline.1, "va") && !has_interface(&baseline.1, "tun0"), "{}", baseline.0);
    assert!(sorted(&rules.1, "rules").iter().any(|r| r["priority"] == 1000), "{}: no rule", rules.0);
    assert!(has_interface(&tunnel.1, "tun0"), "{}: no tun0", tunnel.0);
    assert_eq!(held(&open.1), 3, "{}: {:?}", open.0, established(&open.1));
    assert_eq!(held(&closed.1), 0, "{}: {:?}", closed.0, established(&closed.1));
    assert_eq!(closed.1["dns"]["config"]["search"], json!(["two.test", "three.test"]), "{}", closed.0);
    let va = interfaces(&down.1).into_iter().find(|i| i["name"] == "va").unwrap_or_default();
    assert!(!va["flags"].as_array().into_iter().flatten().any(|f| f == "up"), "{}: {va}", down.0);
}

#[test]
fn a_recorded_namespace_session_replays_to_the_live_snapshots_taken_then() {
    let started = Instant::now();
    let Some(lab) = Lab::new() else { return };
    let _probed = Listener::start(&lab.b, "10.90.0.2:7001".parse().unwrap_or_else(|e| panic!("{e}")));
    let work = support::tempdir();
    let journal = work.path().join("j");
    let journal_arg = format!("{}/", journal.display());
    let child = lab
        .netlens(&["record", "-o", &journal_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting netlens record: {e}"));
    let mut recorder = Reaped(child);
    wait_for_journal(&journal, &mut recorder);

    let taken = script(&lab, work.path());
    interrupt(recorder);
    assert_steps_took_effect(&taken);

    let mut mismatches = Vec::new();
    for (step, live) in &taken {
        let at = live["taken_at"].as_str().unwrap_or_else(|| panic!("no taken_at: {}", live["taken_at"]));
        let replay = replayed(lab.home.path(), &journal, Some(at));
        assert_eq!(replay["taken_at"], live["taken_at"], "the replay is of the moment asked for");
        for (section, live, replay) in differences(live, &replay) {
            mismatches.push(format!("{step} (at {at}): {section}\n  live:   {live}\n  replay: {replay}"));
        }
    }
    eprintln!("{} steps replayed in {:?}", taken.len(), started.elapsed());
    assert!(mismatches.is_empty(), "the replay differs from the live snapshots:\n{}", mismatches.join("\n"));
}

/// The journal's header names the namespace it was recorded in, and a replay says so
/// even after that namespace is gone and without `--netns`.
#[test]
fn a_journal_names_the_namespace_it_was_recorded_in() {
    let Some(netns) = require_netns() else { return };
    let name = netns.name().to_owned();
    netns.must(&["link", "set", "lo", "up"]);
    let home = support::tempdir();
    let journal = home.path().join("rec");
    let out = support::run(
        support::netlens(home.path())
            .args(["--netns", &name, "--log", "/dev/null", "record", "-d", "1s", "-o"])
            .arg(format!("{}/", journal.display())),
    );
    assert!(out.status.success(), "netlens record failed: {}", support::stderr(&out));
    drop(netns);
    let replay = replayed(home.path(), &journal, None);
    support::schema::check_snapshot(&replay);
    assert_eq!(replay["host"]["netns"], json!(name), "{}", replay["host"]);
}
