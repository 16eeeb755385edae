//! The interfaces source against a real kernel, inside throwaway network namespaces:
//! what it puts on the timeline, and whether its final state equals what `ip -j`
//! reports in the same namespace. Needs root; see `common::netns::require_netns`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use common::netns::{Netns, SourceInNetns, open_fds, require_netns};
use netlens_collectors::Store;
use netlens_collectors::interfaces::{InterfacesConfig, InterfacesSource};
use netlens_collectors::model::TimelineKind::{
    self, AddressAdded, AddressChanged, AddressRemoved, LinkAdded, LinkChanged, LinkRemoved, LinkRenamed,
    RouteAdded, RouteRemoved, RuleAdded, RuleRemoved,
};
use netlens_collectors::model::{AddressFamily, Route, SourceId, SourceState};
use serde_json::Value;

/// Generous: a slow CI machine, not a performance budget (that is a benchmark).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Address changes in the overrun test.
const BURST: u32 = 2000;
/// Create/delete cycles in the churn test.
const CYCLES: usize = 200;

/// The tests count this process's file descriptors, so they must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn config() -> InterfacesConfig {
    InterfacesConfig { refresh: Duration::from_millis(250), ..InterfacesConfig::default() }
}

fn start(netns: &Netns, config: InterfacesConfig, capacity: usize) -> SourceInNetns {
    let run = SourceInNetns::start(netns, capacity, move || InterfacesSource::new(config));
    run.wait_for("the initial read", TIMEOUT, |store| {
        store.source(SourceId::Interfaces).is_some_and(|s| s.status == SourceState::Ok)
            && store.interface_by_name("lo").is_some()
    });
    run
}

fn has_notice(store: &Store, kind: TimelineKind, detail: &str) -> bool {
    store.timeline().iter().any(|entry| entry.kind == kind && entry.detail == detail)
}

/// Run `ip` in the namespace, then wait for each expected notice.
fn expect_notices(run: &SourceInNetns, netns: &Netns, command: &[&str], notices: &[(TimelineKind, &str)]) {
    netns.must(command);
    for &(kind, detail) in notices {
        run.wait_for(&format!("{kind:?} `{detail}` after `ip {}`", command.join(" ")), TIMEOUT, |store| {
            has_notice(store, kind, detail)
        });
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// (name, administratively up, mtu, mac) by index.
type Links = BTreeMap<u32, (String, bool, u32, Option<String>)>;

fn kernel_links(netns: &Netns) -> Links {
    let links = netns.json(&["link", "show"]);
    links
        .as_array()
        .into_iter()
        .flatten()
        .map(|link| {
            let index = link["ifindex"].as_u64().unwrap_or_default() as u32;
            let up = link["flags"].as_array().is_some_and(|flags| flags.iter().any(|f| f == "UP"));
            let mtu = link["mtu"].as_u64().unwrap_or_default() as u32;
            (index, (text(link, "ifname").unwrap_or_default(), up, mtu, text(link, "address")))
        })
        .collect()
}

fn store_links(store: &Store) -> Links {
    store
        .interfaces()
        .map(|entry| {
            let info = &entry.info;
            (info.index, (info.name.clone(), info.is_up(), info.mtu, info.mac.clone()))
        })
        .collect()
}

/// (interface index, address, prefix length).
type Addresses = BTreeSet<(u32, String, u8)>;

fn kernel_addresses(netns: &Netns) -> Addresses {
    let mut addresses = BTreeSet::new();
    for link in netns.json(&["address", "show"]).as_array().into_iter().flatten() {
        let index = link["ifindex"].as_u64().unwrap_or_default() as u32;
        for address in link["addr_info"].as_array().into_iter().flatten() {
            let local = text(address, "local").unwrap_or_default();
            let prefix = address["prefixlen"].as_u64().unwrap_or_default() as u8;
            addresses.insert((index, local, prefix));
        }
    }
    addresses
}

fn store_addresses(store: &Store) -> Addresses {
    store
        .interfaces()
        .flat_map(|entry| {
            let index = entry.info.index;
            entry.info.addresses.iter().map(move |a| (index, a.address.to_string(), a.prefix_len))
        })
        .collect()
}

/// (family, table, destination, type, device, gateway).
type Routes = BTreeSet<(u8, String, String, String, Option<String>, Option<String>)>;

fn kernel_routes(netns: &Netns) -> Routes {
    let mut routes = BTreeSet::new();
    for (family, flag, host_len) in [(4, "-4", "/32"), (6, "-6", "/128")] {
        for route in netns.json(&[flag, "route", "show", "table", "all"]).as_array().into_iter().flatten() {
            let destination = text(route, "dst").unwrap_or_default();
            let destination = if destination == "default" || destination.contains('/') {
                destination
            } else {
                format!("{destination}{host_len}")
            };
            routes.insert((
                family,
                text(route, "table").unwrap_or_else(|| "main".to_owned()),
                destination,
                text(route, "type").unwrap_or_else(|| "unicast".to_owned()),
                text(route, "dev"),
                text(route, "gateway"),
            ));
        }
    }
    routes
}

fn store_routes(store: &Store) -> Routes {
    store
        .routes()
        .iter()
        .map(|route| {
            (
                if route.family == AddressFamily::Ipv4 { 4 } else { 6 },
                Route::table_name(route.table),
                route.destination_text(),
                route.route_type.as_str().to_owned(),
                route.interface.clone(),
                route.gateway.map(|gateway| gateway.to_string()),
            )
        })
        .collect()
}

/// (family, priority, table or action).
type Rules = BTreeSet<(u8, u64, String)>;

fn kernel_rules(netns: &Netns) -> Rules {
    let mut rules = BTreeSet::new();
    for (family, flag) in [(4, "-4"), (6, "-6")] {
        for rule in netns.json(&[flag, "rule", "show"]).as_array().into_iter().flatten() {
            let target = text(rule, "table").or_else(|| text(rule, "action")).unwrap_or_default();
            rules.insert((family, rule["priority"].as_u64().unwrap_or_default(), target));
        }
    }
    rules
}

fn store_rules(store: &Store) -> Rules {
    store
        .rules()
        .iter()
        .map(|rule| {
            let target =
                if rule.action == "lookup" { Route::table_name(rule.table) } else { rule.action.clone() };
            (if rule.family == AddressFamily::Ipv4 { 4 } else { 6 }, u64::from(rule.priority), target)
        })
        .collect()
}

/// Wait until the store shows exactly what `ip -j` shows (the store catches up
/// after the debounced re-read), then compare once more for the failure message.
fn expect_kernel_state(run: &SourceInNetns, netns: &Netns) {
    let kernel = || (kernel_links(netns), kernel_addresses(netns), kernel_routes(netns), kernel_rules(netns));
    let ours =
        |store: &Store| (store_links(store), store_addresses(store), store_routes(store), store_rules(store));
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let want = kernel();
        let have = run.with_store(ours);
        if want == have {
            return;
        }
        if std::time::Instant::now() > deadline {
            assert_eq!(have.0, want.0, "links differ from `ip -j link`");
            assert_eq!(have.1, want.1, "addresses differ from `ip -j addr`");
            assert_eq!(have.2, want.2, "routes differ from `ip -j route show table all`");
            assert_eq!(have.3, want.3, "rules differ from `ip -j rule`");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One `ip` command and the notices it must put on the timeline.
type Step<'a> = (&'a [&'a str], &'a [(TimelineKind, &'a str)]);

/// Build up a veth pair with addresses, routes and a rule.
const BUILD_UP: &[Step<'_>] = &[
    (
        &["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"],
        &[(LinkAdded, "veth0 added (veth)"), (LinkAdded, "veth1 added (veth)")],
    ),
    (&["link", "set", "veth0", "up"], &[(LinkChanged, "veth0 up")]),
    (&["link", "set", "veth1", "up"], &[(LinkChanged, "veth1 up"), (LinkChanged, "veth0 carrier gained")]),
    (&["address", "add", "10.0.0.1/24", "dev", "veth0"], &[(AddressAdded, "10.0.0.1/24 added to veth0")]),
    (
        &["address", "add", "2001:db8::1/64", "dev", "veth0"],
        &[
            (AddressAdded, "2001:db8::1/64 added to veth0 (tentative)"),
            (AddressChanged, "2001:db8::1/64 on veth0 no longer tentative"),
        ],
    ),
    (
        &["route", "add", "default", "via", "10.0.0.2", "dev", "veth0"],
        &[(RouteAdded, "default route via 10.0.0.2 dev veth0 added")],
    ),
    (
        &["route", "add", "blackhole", "10.9.0.0/16", "table", "100"],
        &[(RouteAdded, "blackhole route 10.9.0.0/16 table 100 added")],
    ),
    (
        &["rule", "add", "fwmark", "0x1", "lookup", "100", "priority", "1000"],
        &[(RuleAdded, "rule 1000: from all fwmark 0x1 lookup 100 added")],
    ),
];

/// Take some of it apart again, renaming and changing on the way.
const TAKE_APART: &[Step<'_>] = &[
    (
        &["route", "del", "default", "via", "10.0.0.2"],
        &[(RouteRemoved, "default route via 10.0.0.2 dev veth0 removed")],
    ),
    (
        &["rule", "del", "priority", "1000"],
        &[(RuleRemoved, "rule 1000: from all fwmark 0x1 lookup 100 removed")],
    ),
    (&["link", "set", "veth1", "down"], &[(LinkChanged, "veth1 down"), (LinkChanged, "veth0 carrier lost")]),
    (&["link", "set", "veth1", "name", "wan0"], &[(LinkRenamed, "renamed veth1 → wan0")]),
    (&["link", "set", "veth0", "mtu", "9000"], &[(LinkChanged, "veth0 mtu 1500 → 9000")]),
    (
        &["address", "del", "10.0.0.1/24", "dev", "veth0"],
        &[(AddressRemoved, "10.0.0.1/24 removed from veth0")],
    ),
];

fn play(run: &SourceInNetns, netns: &Netns, steps: &[Step<'_>]) {
    for (command, notices) in steps {
        expect_notices(run, netns, command, notices);
    }
}

#[test]
fn veth_lifecycle_is_on_the_timeline_and_matches_the_kernel() {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let run = start(&netns, config(), 256);
    expect_kernel_state(&run, &netns);

    play(&run, &netns, BUILD_UP);
    expect_kernel_state(&run, &netns);
    run.with_store(|store| {
        let rule = store.rules().iter().find(|rule| rule.priority == 1000);
        assert_eq!(rule.map(|rule| (rule.table, rule.selector.as_str())), Some((100, "from all fwmark 0x1")));
        let veth0 = store.interface_by_name("veth0").map(|entry| entry.info.kind.as_str());
        assert_eq!(veth0, Some("veth"));
    });

    play(&run, &netns, TAKE_APART);
    expect_kernel_state(&run, &netns);
    let kernel_index =
        kernel_links(&netns).into_iter().find(|(_, link)| link.0 == "wan0").map(|(index, _)| index);
    assert_eq!(
        run.with_store(|store| store.interface_by_name("wan0").map(|entry| entry.info.index)),
        kernel_index
    );

    expect_notices(
        &run,
        &netns,
        &["link", "del", "veth0"],
        &[(LinkRemoved, "veth0 removed"), (LinkRemoved, "wan0 removed")],
    );
    expect_kernel_state(&run, &netns);
    run.stop();
}

#[test]
fn an_overrun_burst_is_resynced_to_the_right_addresses() {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"]);
    netns.must(&["link", "set", "veth0", "up"]);
    // A tiny receive buffer, and a channel of one the test stops draining: the
    // source blocks on its first send and the kernel must drop notifications.
    let small = InterfacesConfig { receive_buffer: Some(4096), ..config() };
    let run = start(&netns, small, 1);
    run.wait_for("veth0", TIMEOUT, |store| store.interface_by_name("veth0").is_some());

    let expected: BTreeSet<String> =
        (0..BURST).map(|i| format!("10.100.{}.{}", i / 250, i % 250 + 1)).collect();
    let script: String = expected
        .iter()
        .map(|address| format!("address add {address}/32 dev veth0\n"))
        .collect::<Vec<_>>()
        .concat();
    run.pause();
    netns.batch(&script);
    run.resume();

    run.wait_for("a resync notice", TIMEOUT, |store| {
        store
            .timeline()
            .iter()
            .any(|entry| entry.kind == TimelineKind::Resynced && entry.subject == "rtnetlink")
    });
    let burst_addresses = |store: &Store| -> BTreeSet<String> {
        store
            .interface_by_name("veth0")
            .map(|entry| {
                entry
                    .info
                    .addresses
                    .iter()
                    .filter(|address| address.address.is_ipv4())
                    .map(|address| address.address.to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    run.wait_for("all 2000 addresses", TIMEOUT, |store| burst_addresses(store) == expected);
    expect_kernel_state(&run, &netns);
    run.stop();
}

#[test]
fn a_burst_of_notifications_costs_one_reread() {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"]);
    let run = start(&netns, config(), 256);
    run.wait_for("veth0", TIMEOUT, |store| store.interface_by_name("veth0").is_some());
    // Let the start-up settle so only the burst's re-reads are counted: two counter
    // refreshes (250 ms each) outlast the 150 ms debounce of any start-up re-read.
    run.wait_for_counter_refreshes(2, TIMEOUT);
    let before = run.network_reads();

    let script: String =
        (1..=250).map(|i| format!("address add 10.7.0.{i}/32 dev veth0\n")).collect::<Vec<_>>().concat();
    netns.batch(&script);
    run.wait_for("the 250 addresses", TIMEOUT, |store| {
        store.interface_by_name("veth0").is_some_and(|entry| entry.info.addresses.len() == 250)
            && store.timeline().iter().filter(|e| e.kind == TimelineKind::AddressAdded).count() == 250
    });
    // Any trailing re-read is due within the debounce: two refreshes outlast it.
    run.wait_for_counter_refreshes(2, TIMEOUT);
    // 500 notifications (each address and its local route): one re-read, maybe two
    // when the burst straddles a debounce window; never one per notification.
    let rereads = run.network_reads() - before;
    assert!((1..=3).contains(&rereads), "{rereads} re-reads for a burst of 500 notifications");
    run.stop();
}

#[test]
fn veth_churn_leaks_no_file_descriptors() {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    let before_start = open_fds();
    let run = start(&netns, config(), 256);
    let running = open_fds();

    let cycle = "link add churn0 type veth peer name churn1\nlink del churn0\n";
    for _ in 0..4 {
        netns.batch(&cycle.repeat(CYCLES / 4));
        // Four separate bursts: the source goes round once between them.
        run.wait_for_counter_refreshes(1, TIMEOUT);
    }
    run.wait_for("the churn to settle", TIMEOUT, |store| {
        store.interface_count() == 1 && has_notice(store, TimelineKind::LinkRemoved, "churn0 removed")
    });
    expect_kernel_state(&run, &netns);
    let after_churn = open_fds();
    assert!(after_churn <= running + 2, "fds grew from {running} to {after_churn} over {CYCLES} veth cycles");

    run.stop();
    let after_stop = open_fds();
    assert!(
        after_stop <= before_start + 2,
        "fds grew from {before_start} to {after_stop} once the source stopped"
    );
}

#[test]
fn a_link_going_down_reaches_the_store() {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"]);
    netns.must(&["link", "set", "veth0", "up"]);
    let run = start(&netns, config(), 256);
    run.wait_for("veth0 up", TIMEOUT, |store| {
        store.interface_by_name("veth0").is_some_and(|e| e.info.is_up())
    });
    netns.must(&["link", "set", "veth0", "down"]);
    run.wait_for("veth0 down in the store", Duration::from_secs(5), |store| {
        store.interface_by_name("veth0").is_some_and(|entry| !entry.info.is_up())
    });
    run.stop();
}

/// The running binary holds exactly one rtnetlink socket subscribed to notification
/// groups: interfaces, paths, DNS route warnings and connections share the one
/// kernel view. Counted from `/proc/PID/net/netlink` (protocol 0 is `NETLINK_ROUTE`,
/// a non-zero group mask is a subscription), among the sockets the process holds.
#[test]
fn the_binary_holds_one_rtnetlink_subscription() {
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let output = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(["--netns", netns.name(), "--log", "/dev/null", "--target", "127.0.0.1", "snapshot"])
        .args(["--duration", "10s", "-o"])
        .arg(output.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("running netlens snapshot: {e}"));
    let pid = child.id();
    let subscriptions = || -> Option<usize> {
        let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()?
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|target| {
                let text = target.to_string_lossy().into_owned();
                text.strip_prefix("socket:[").and_then(|rest| rest.strip_suffix(']')).map(str::to_owned)
            })
            .collect();
        let table = std::fs::read_to_string(format!("/proc/{pid}/net/netlink")).ok()?;
        let count = table
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|columns| columns.len() >= 10)
            .filter(|columns| columns[1] == "0" && columns[3] != "00000000" && inodes.contains(columns[9]))
            .count();
        Some(count)
    };
    // Wait until every source is running (a subscription exists and the paths
    // source has evaluated), then look for a second one for a while.
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(count) = subscriptions() {
            seen.push(count);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains(&1), "no rtnetlink subscription seen: {seen:?}");
    assert!(seen.iter().all(|&count| count <= 1), "more than one rtnetlink subscription: {seen:?}");
}

/// The kernel flushes a downed link's IPv4 routes without an `RTM_DELROUTE`: the
/// connected and the default route must still be logged as removed, each once, and
/// the store's routes must match `ip -j route` again.
#[test]
fn a_link_going_down_logs_its_ipv4_route_removals_once() {
    const CONNECTED: &str = "route 10.0.0.0/24 dev veth0 removed";
    const DEFAULT: &str = "default route via 10.0.0.2 dev veth0 removed";
    let _serial = serial();
    let Some(netns) = require_netns() else { return };
    netns.batch(
        "link set lo up\nlink add veth0 type veth peer name veth1\nlink set veth1 up\nlink set veth0 up\n\
         address add 10.0.0.1/24 dev veth0\nroute add default via 10.0.0.2 dev veth0\n",
    );
    let run = start(&netns, config(), 256);
    run.wait_for("the default route", TIMEOUT, |store| {
        store.routes().iter().any(|route| route.is_default() && route.family == AddressFamily::Ipv4)
    });
    expect_notices(
        &run,
        &netns,
        &["link", "set", "veth0", "down"],
        &[(LinkChanged, "veth0 down"), (RouteRemoved, CONNECTED), (RouteRemoved, DEFAULT)],
    );
    // A later change and its re-read: the removals are not reported a second time.
    expect_notices(
        &run,
        &netns,
        &["address", "add", "10.0.9.1/32", "dev", "lo"],
        &[(AddressAdded, "10.0.9.1/32 added to lo")],
    );
    run.wait_for("the main table without veth0's IPv4 routes", TIMEOUT, |store| {
        !store.routes().iter().any(|route| {
            route.table == 254
                && route.family == AddressFamily::Ipv4
                && route.interface.as_deref() == Some("veth0")
        })
    });
    expect_kernel_state(&run, &netns);
    run.with_store(|store| {
        for detail in [CONNECTED, DEFAULT] {
            let lines: Vec<_> =
                store.timeline().iter().filter(|e| e.kind == RouteRemoved && e.detail == detail).collect();
            assert_eq!(lines.len(), 1, "{detail}: {lines:?}");
            assert_eq!(lines[0].count, 1, "{detail} folded from two reports");
        }
    });
    // Up again with its address: the connected route comes back and is logged added.
    expect_notices(
        &run,
        &netns,
        &["link", "set", "veth0", "up"],
        &[(RouteAdded, "route 10.0.0.0/24 dev veth0 added")],
    );
    run.stop();
}
