//! `netlens --netns NAME snapshot` against the kernel's own view of that namespace
//! (`ip -j`), for interfaces, addresses, routes of every table and policy rules.

mod common;
mod support;

use std::collections::BTreeSet;

use serde_json::Value;

fn strings(value: &Value, key: &str) -> String {
    value[key].as_str().map_or_else(|| value[key].to_string(), str::to_owned)
}

/// `(table, destination, type)` the way `ip -j route show table all` writes them.
fn ip_routes(netns: &common::netns::Netns, family: &str) -> BTreeSet<(String, String, String)> {
    let routes = netns.json(&[family, "route", "show", "table", "all"]);
    routes
        .as_array()
        .into_iter()
        .flatten()
        .map(|route| {
            let table = route["table"].as_str().unwrap_or("main").to_owned();
            let kind = route["type"].as_str().unwrap_or("unicast").to_owned();
            (table, strings(route, "dst"), kind)
        })
        .collect()
}

fn netlens_routes(doc: &Value, family: &str) -> BTreeSet<(String, String, String)> {
    doc["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|route| route["family"] == family)
        .map(|route| {
            let table = match route["table"].as_u64() {
                Some(253) => "default".to_owned(),
                Some(254) => "main".to_owned(),
                Some(255) => "local".to_owned(),
                Some(other) => other.to_string(),
                None => "?".to_owned(),
            };
            let prefix = route["prefix_len"].as_u64().unwrap_or(0);
            let full = if family == "ipv4" { 32 } else { 128 };
            let destination = match prefix {
                0 => "default".to_owned(),
                p if p == full => strings(route, "destination"),
                p => format!("{}/{p}", strings(route, "destination")),
            };
            (table, destination, strings(route, "type"))
        })
        .collect()
}

#[test]
fn snapshot_of_a_namespace_equals_ip() {
    let Some(netns) = common::netns::require_netns() else { return };
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "add", "va", "type", "veth", "peer", "name", "vb"],
        &["link", "set", "va", "up"],
        &["link", "set", "vb", "up", "mtu", "9000"],
        &["addr", "add", "10.77.0.1/24", "dev", "va"],
        &["-6", "addr", "add", "2001:db8:77::1/64", "dev", "va", "nodad"],
        &["route", "add", "default", "via", "10.77.0.2"],
        &["route", "add", "blackhole", "203.0.113.0/24"],
        &["route", "add", "unreachable", "198.51.100.0/24"],
        &["rule", "add", "fwmark", "7", "table", "100", "pref", "1000"],
        &["route", "add", "10.99.0.0/16", "dev", "va", "table", "100"],
    ] {
        netns.must(args);
    }
    let home = support::tempdir();
    let output = support::run(support::netlens(home.path()).args([
        "--netns",
        netns.name(),
        "snapshot",
        "-d",
        "300ms",
    ]));
    assert!(output.status.success(), "{}", support::stderr(&output));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    support::schema::check_snapshot(&doc);
    assert_eq!(doc["host"]["netns"], netns.name());

    compare_interfaces(&netns, &doc);
    for (ip_family, family) in [("-4", "ipv4"), ("-6", "ipv6")] {
        assert_eq!(
            netlens_routes(&doc, family),
            ip_routes(&netns, ip_family),
            "{family} routes differ from `ip -j {ip_family} route show table all`"
        );
    }

    let rule = doc["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["priority"] == 1000)
        .cloned()
        .unwrap_or_default();
    assert_eq!(rule["table"], 100, "{rule}");
    assert!(rule["selector"].as_str().is_some_and(|s| s.contains("fwmark 0x7")), "{rule}");
    let rule_count = |family: &str| netns.json(&[family, "rule"]).as_array().map_or(0, Vec::len);
    let netlens_rules = |family: &str| {
        doc["rules"].as_array().into_iter().flatten().filter(|r| r["family"] == family).count()
    };
    assert_eq!(netlens_rules("ipv4"), rule_count("-4"));
    assert_eq!(netlens_rules("ipv6"), rule_count("-6"));
}

/// Interfaces and addresses against `ip -j link` and `ip -j addr`.
fn compare_interfaces(netns: &common::netns::Netns, doc: &Value) {
    let links = netns.json(&["link"]);
    let expected: BTreeSet<(u64, String, u64, String)> = links
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["ifindex"].as_u64().unwrap_or(0),
                strings(l, "ifname"),
                l["mtu"].as_u64().unwrap_or(0),
                strings(l, "address"),
            )
        })
        .collect();
    let seen: BTreeSet<(u64, String, u64, String)> = doc["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let mac = i["mac"].as_str().unwrap_or("00:00:00:00:00:00").to_owned();
            (i["index"].as_u64().unwrap_or(0), strings(i, "name"), i["mtu"].as_u64().unwrap_or(0), mac)
        })
        .collect();
    assert_eq!(seen, expected, "interfaces differ from `ip -j link`");
    let kind_of = |name: &str| {
        doc["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["name"] == name)
            .map(|i| i["kind"].clone())
    };
    assert_eq!(kind_of("va"), Some(Value::from("veth")));
    assert_eq!(kind_of("lo"), Some(Value::from("loopback")));

    let addresses = netns.json(&["addr"]);
    let expected: BTreeSet<(String, String, u64)> = addresses
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| {
            let name = strings(l, "ifname");
            l["addr_info"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |a| (name.clone(), strings(&a, "local"), a["prefixlen"].as_u64().unwrap_or(0)))
        })
        .collect();
    let seen: BTreeSet<(String, String, u64)> =
        doc["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|i| {
                let name = strings(i, "name");
                i["addresses"].as_array().cloned().unwrap_or_default().into_iter().map(move |a| {
                    (name.clone(), strings(&a, "address"), a["prefix_len"].as_u64().unwrap_or(0))
                })
            })
            .collect();
    assert_eq!(seen, expected, "addresses differ from `ip -j addr`");
}
