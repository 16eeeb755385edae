//! `paths::lookup::RouteLookup` against the real kernel, inside a throwaway network
//! namespace: every answer is compared with `ip -j route get` for the same query in
//! the same namespace (type, table, dev, gateway, source), and every refusal with
//! `ip route get`'s error. Sends no packet: route lookups only. Needs root; see
//! `common::netns::require_netns`.

mod common;

use std::fs::File;
use std::net::IpAddr;

use common::netns::{Netns, require_netns};
use netlens_collectors::model::Route;
use netlens_collectors::paths::lookup::{LookupError, RouteAnswer, RouteLookup, RouteQuery};
use netlens_collectors::paths::target::Target;
use nix::sched::{CloneFlags, setns};
use serde_json::Value;

/// A veth pair with addresses in both families and default routes via a gateway,
/// a blackhole, an unreachable and a prohibit route per family, a policy rule
/// `fwmark 7 lookup 100` with a route in table 100, and a tun device holding
/// 0.0.0.0/1 + 128.0.0.0/1 like a full-tunnel VPN.
const SETUP: &str = "\
link set lo up
link add veth0 type veth peer name veth1
link set veth0 up
link set veth1 up
addr add 10.1.0.2/24 dev veth0
addr add 2001:db8:1::2/64 dev veth0 nodad
route add default via 10.1.0.1 dev veth0
route add ::/0 via 2001:db8:1::1 dev veth0
route add blackhole 10.50.0.0/16
route add unreachable 10.51.0.0/16
route add prohibit 10.52.0.0/16
route add blackhole 2001:db8:50::/48
route add unreachable 2001:db8:51::/48
route add prohibit 2001:db8:52::/48
rule add fwmark 7 lookup 100
route add 10.60.0.0/16 via 10.1.0.3 dev veth0 table 100
tuntap add mode tun name tun0
link set tun0 up
addr add 10.200.0.2/24 dev tun0
route add 0.0.0.0/1 dev tun0
route add 128.0.0.0/1 dev tun0
";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn ifindex(netns: &Netns, name: &str) -> u32 {
    let links = netns.json(&["link", "show", "dev", name]);
    links[0]["ifindex"].as_u64().unwrap_or_else(|| panic!("no ifindex for {name}: {links}")) as u32
}

/// The `ip route get` arguments for a query (interface names for `oif`).
fn ip_args(query: &RouteQuery, oif_name: Option<&str>) -> Vec<String> {
    let mut args = vec!["route".to_owned(), "get".to_owned(), query.destination.to_string()];
    if let Some(source) = query.source {
        args.extend(["from".to_owned(), source.to_string()]);
    }
    if let Some(name) = oif_name {
        args.extend(["oif".to_owned(), name.to_owned()]);
    }
    if let Some(mark) = query.mark {
        args.extend(["mark".to_owned(), mark.to_string()]);
    }
    args
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Compare one answer with `ip -j route get` field by field.
fn compare(netns: &Netns, query: &RouteQuery, oif_name: Option<&str>, answer: &RouteAnswer) {
    let args = ip_args(query, oif_name);
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let kernel = &netns.json(&words)[0];
    let what = format!("`ip route get` {}: kernel {kernel}, ours {answer:?}", args[2..].join(" "));
    // `ip` leaves out what is the default: type unicast, table main.
    assert_eq!(
        answer.route_type.as_str(),
        text(kernel, "type").unwrap_or_else(|| "unicast".into()),
        "type: {what}"
    );
    assert_eq!(
        Route::table_name(answer.table),
        text(kernel, "table").unwrap_or_else(|| "main".into()),
        "table: {what}"
    );
    assert_eq!(answer.interface, text(kernel, "dev"), "dev: {what}");
    assert_eq!(answer.gateway.map(|g| g.to_string()), text(kernel, "gateway"), "gateway: {what}");
    // With a fixed source the kernel echoes it as `from` and gives no prefsrc.
    let source = text(kernel, "prefsrc").or_else(|| text(kernel, "from").filter(|from| from != "::"));
    assert_eq!(answer.source.map(|s| s.to_string()), source, "source: {what}");
    assert_eq!(answer.mark, kernel.get("mark").and_then(Value::as_u64).map(|m| m as u32), "mark: {what}");
}

/// The error `ip route get` prints for a query the kernel refuses.
fn kernel_refusal(netns: &Netns, query: &RouteQuery) -> String {
    let args = ip_args(query, None);
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match netns.ip(&words) {
        Ok(out) => panic!("`ip route get {}` answered {out}, expected a refusal", args[2..].join(" ")),
        Err(error) => error,
    }
}

/// Run `body` on a thread inside `netns`, so its socket belongs there.
fn inside<R: Send>(netns: &Netns, body: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let path = netns.path();
                let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
                body()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn open() -> RouteLookup {
    RouteLookup::open().unwrap_or_else(|error| panic!("opening the rtnetlink socket: {error}"))
}

#[test]
fn lookups_match_ip_route_get() {
    let Some(netns) = require_netns() else { return };
    netns.batch(SETUP);
    let veth0 = ifindex(&netns, "veth0");
    let tun0 = ifindex(&netns, "tun0");

    // (query, oif name for `ip`, the matched prefix we expect)
    let q = RouteQuery::new;
    let cases: Vec<(RouteQuery, Option<&str>, (IpAddr, u8))> = vec![
        (q(ip("1.1.1.1")), None, (ip("0.0.0.0"), 1)),
        (q(ip("200.1.1.1")), None, (ip("128.0.0.0"), 1)),
        (q(ip("10.1.0.9")), None, (ip("10.1.0.0"), 24)),
        (q(ip("10.1.0.2")), None, (ip("10.1.0.2"), 32)),
        (q(ip("10.60.0.1")), None, (ip("0.0.0.0"), 1)),
        (RouteQuery { mark: Some(7), ..q(ip("10.60.0.1")) }, None, (ip("10.60.0.0"), 16)),
        (RouteQuery { mark: Some(7), ..q(ip("1.1.1.1")) }, None, (ip("0.0.0.0"), 1)),
        (RouteQuery { oif: Some(veth0), ..q(ip("1.1.1.1")) }, Some("veth0"), (ip("0.0.0.0"), 0)),
        (RouteQuery { oif: Some(tun0), ..q(ip("10.1.0.9")) }, Some("tun0"), (ip("0.0.0.0"), 1)),
        (RouteQuery { source: Some(ip("10.1.0.2")), ..q(ip("1.1.1.1")) }, None, (ip("0.0.0.0"), 1)),
        (q(ip("2606:4700:4700::1111")), None, (ip("::"), 0)),
        (q(ip("2001:db8:1::9")), None, (ip("2001:db8:1::"), 64)),
        (RouteQuery { oif: Some(veth0), ..q(ip("2001:db8:1::9")) }, Some("veth0"), (ip("2001:db8:1::"), 64)),
        (
            RouteQuery { source: Some(ip("2001:db8:1::2")), ..q(ip("2606:4700:4700::1111")) },
            None,
            (ip("::"), 0),
        ),
    ];
    let queries: Vec<RouteQuery> = cases.iter().map(|(query, ..)| *query).collect();
    let (singles, batch) = inside(&netns, || {
        let mut lookup = open();
        let singles: Vec<_> = queries.iter().map(|query| lookup.lookup(query)).collect();
        (singles, lookup.lookup_many(&queries))
    });
    for (((query, oif_name, prefix), single), batched) in cases.iter().zip(singles).zip(batch) {
        let answer = single.unwrap_or_else(|error| panic!("{query:?}: {error}"));
        compare(&netns, query, *oif_name, &answer);
        assert_eq!(answer.matched_prefix, Some(*prefix), "matched prefix of {query:?}");
        let batched = batched.unwrap_or_else(|error| panic!("{query:?} in a batch: {error}"));
        assert_eq!(batched, answer, "a batched lookup answers like a single one");
    }

    // The built-in default path is a lookup for its representative address.
    let target: Target = "default-ipv4".parse().unwrap_or_else(|error| panic!("{error}"));
    let destination = target.destination.lookup_address().unwrap_or_else(|| panic!("no address"));
    let answer = inside(&netns, || open().lookup(&RouteQuery::new(destination)));
    let answer = answer.unwrap_or_else(|error| panic!("default-ipv4: {error}"));
    assert_eq!(answer.interface.as_deref(), Some("tun0"), "0/1 + 128/1 take the default path");
}

#[test]
fn refusals_map_to_their_route_types() {
    let Some(netns) = require_netns() else { return };
    netns.batch(SETUP);
    // (destination, what `ip` says, our variant)
    let cases = [
        ("10.50.0.1", "Invalid argument", "Blackhole"),
        ("10.51.0.1", "No route to host", "Unreachable"),
        ("10.52.0.1", "Permission denied", "Prohibit"),
        ("2001:db8:50::1", "Invalid argument", "Blackhole"),
        ("2001:db8:51::1", "No route to host", "Unreachable"),
        ("2001:db8:52::1", "Permission denied", "Prohibit"),
    ];
    let queries: Vec<RouteQuery> =
        cases.iter().map(|(destination, ..)| RouteQuery::new(ip(destination))).collect();
    let results = inside(&netns, || open().lookup_many(&queries));
    for ((destination, message, variant), result) in cases.iter().zip(results) {
        let refusal = kernel_refusal(&netns, &RouteQuery::new(ip(destination)));
        assert!(refusal.contains(message), "ip route get {destination}: {refusal}");
        match result {
            Ok(answer) => panic!("{destination}: expected {variant}, got {answer:?}"),
            Err(error) => {
                assert!(format!("{error:?}").starts_with(variant), "{destination}: {error:?}");
                assert!(error.route_type().is_some(), "{destination}: {error:?}");
            }
        }
    }

    // A bad output interface, and then no route at all in either family.
    let bad_oif = RouteQuery { oif: Some(9999), ..RouteQuery::new(ip("1.1.1.1")) };
    let bad_oif_v6 = RouteQuery { oif: Some(9999), ..RouteQuery::new(ip("2606:4700:4700::1111")) };
    let results = inside(&netns, || open().lookup_many(&[bad_oif, bad_oif_v6]));
    // IPv4 checks the interface; IPv6 finds no route through a missing one.
    assert!(matches!(results[0], Err(LookupError::NoDevice)), "IPv4, oif 9999: {:?}", results[0]);
    assert!(matches!(results[1], Err(LookupError::NoRoute)), "IPv6, oif 9999: {:?}", results[1]);
    netns.batch("route del 0.0.0.0/1\nroute del 128.0.0.0/1\nroute del default\nroute del ::/0\n");
    for destination in ["1.1.1.1", "2606:4700:4700::1111"] {
        let query = RouteQuery::new(ip(destination));
        let refusal = kernel_refusal(&netns, &query);
        assert!(refusal.contains("Network is unreachable"), "ip route get {destination}: {refusal}");
        let result = inside(&netns, || open().lookup(&query));
        assert!(matches!(result, Err(LookupError::NoRoute)), "{destination}: {result:?}");
    }
}

/// Not a budget check (timing lives in benchmarks, DESIGN.md §7): prints how long
/// re-evaluating 100 targets' route lookups takes, for the closing note.
#[test]
fn a_hundred_batched_lookups_agree_with_ip_route_get() {
    let Some(netns) = require_netns() else { return };
    netns.batch(SETUP);
    let queries: Vec<RouteQuery> = (0..100u8)
        .map(|i| match i % 4 {
            0 => RouteQuery::new(ip(&format!("1.1.1.{i}"))),
            1 => RouteQuery { mark: Some(7), ..RouteQuery::new(ip(&format!("10.60.0.{i}"))) },
            2 => RouteQuery::new(ip(&format!("2606:4700:4700::{i:x}"))),
            _ => RouteQuery::new(ip(&format!("10.51.0.{i}"))),
        })
        .collect();
    // One batch: several requests to a datagram, answers matched by sequence number.
    let results = inside(&netns, || open().lookup_many(&queries));
    assert_eq!(results.len(), queries.len(), "one answer per query");
    for (query, result) in queries.iter().zip(&results) {
        match result {
            Ok(answer) => compare(&netns, query, None, answer),
            Err(error) => {
                let refusal = kernel_refusal(&netns, query);
                assert!(
                    matches!(error, LookupError::Unreachable) && refusal.contains("No route to host"),
                    "{}: ours {error}, kernel {refusal}",
                    query.destination
                );
            }
        }
    }
    let answered = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(answered, 75, "a quarter of the queries hit the unreachable route");
}
