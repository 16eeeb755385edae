//! A checker for the export schema, version 1 (DESIGN.md §4): every documented field
//! present with the documented JSON type. Extra fields are allowed by the contract.

use serde_json::Value;

#[derive(Clone, Copy, Debug)]
enum Ty {
    Str,
    Num,
    Bool,
    Arr,
    Obj,
    OptStr,
    OptNum,
    OptObj,
}

fn check(value: &Value, path: &str, fields: &[(&str, Ty)]) {
    let Some(object) = value.as_object() else { panic!("{path} is not an object: {value}") };
    for (name, ty) in fields {
        let Some(field) = object.get(*name) else { panic!("{path}.{name} is missing in {value}") };
        let ok = match ty {
            Ty::Str => field.is_string(),
            Ty::Num => field.is_number(),
            Ty::Bool => field.is_boolean(),
            Ty::Arr => field.is_array(),
            Ty::Obj => field.is_object(),
            Ty::OptStr => field.is_string() || field.is_null(),
            Ty::OptNum => field.is_number() || field.is_null(),
            Ty::OptObj => field.is_object() || field.is_null(),
        };
        assert!(ok, "{path}.{name} should be {ty:?}, is {field}");
    }
}

fn each<'a>(value: &'a Value, path: &str) -> &'a Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("{path} is not an array"))
}

fn one_of(value: &Value, path: &str, allowed: &[&str]) {
    let text = value.as_str().unwrap_or_else(|| panic!("{path} is not a string"));
    assert!(allowed.contains(&text), "{path} = {text:?}, not one of {allowed:?}");
}

fn rfc3339(value: &Value, path: &str) {
    let text = value.as_str().unwrap_or_else(|| panic!("{path} is not a string"));
    assert!(
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok(),
        "{path} = {text:?} is not RFC 3339"
    );
    assert!(text.ends_with('Z'), "{path} = {text:?} is not UTC");
}

const KINDS: &[&str] = &[
    "loopback",
    "ethernet",
    "wifi",
    "cellular",
    "veth",
    "tun",
    "tap",
    "bridge",
    "vlan",
    "bond",
    "wireguard",
    "ppp",
    "other",
];

/// Panic with the first schema violation in a snapshot document.
pub fn check_snapshot(doc: &Value) {
    use Ty::{Arr, Bool, Num, Obj, OptNum, OptStr, Str};
    check(
        doc,
        "$",
        &[
            ("schema_version", Num),
            ("netlens_version", Str),
            ("taken_at", Str),
            ("host", Obj),
            ("sources", Arr),
            ("interfaces", Arr),
            ("routes", Arr),
            ("rules", Arr),
            ("neighbors", Arr),
            ("paths", Arr),
            ("dns", Obj),
            ("connections", Arr),
            ("events", Arr),
        ],
    );
    check_dns(&doc["dns"]);
    for (i, connection) in each(&doc["connections"], "connections").iter().enumerate() {
        check_connection(connection, &format!("connections[{i}]"));
    }
    for (i, path) in each(&doc["paths"], "paths").iter().enumerate() {
        check_path(path, &format!("paths[{i}]"));
    }
    assert_eq!(doc["schema_version"], 1);
    rfc3339(&doc["taken_at"], "$.taken_at");
    check(
        &doc["host"],
        "host",
        &[("hostname", Str), ("kernel", Str), ("netns", OptStr), ("privileges", Obj)],
    );
    check(
        &doc["host"]["privileges"],
        "host.privileges",
        &[("net_raw", Bool), ("net_admin", Bool), ("root", Bool)],
    );
    for (i, source) in each(&doc["sources"], "sources").iter().enumerate() {
        let path = format!("sources[{i}]");
        check(source, &path, &[("name", Str), ("status", Str), ("detail", Str)]);
        one_of(&source["status"], &path, &["ok", "degraded", "failed", "off"]);
    }
    for (i, interface) in each(&doc["interfaces"], "interfaces").iter().enumerate() {
        check_interface(interface, &format!("interfaces[{i}]"));
    }
    for (i, route) in each(&doc["routes"], "routes").iter().enumerate() {
        let path = format!("routes[{i}]");
        check(
            route,
            &path,
            &[
                ("family", Str),
                ("table", Num),
                ("type", Str),
                ("destination", Str),
                ("prefix_len", Num),
                ("gateway", OptStr),
                ("interface", OptStr),
                ("source", OptStr),
                ("metric", OptNum),
                ("protocol", Str),
                ("scope", Str),
            ],
        );
    }
    for (i, rule) in each(&doc["rules"], "rules").iter().enumerate() {
        check(
            rule,
            &format!("rules[{i}]"),
            &[("family", Str), ("priority", Num), ("table", Num), ("selector", Str)],
        );
    }
    for (i, neighbor) in each(&doc["neighbors"], "neighbors").iter().enumerate() {
        check(
            neighbor,
            &format!("neighbors[{i}]"),
            &[("interface", Str), ("address", Str), ("mac", OptStr), ("state", Str)],
        );
    }
    for (i, event) in each(&doc["events"], "events").iter().enumerate() {
        let path = format!("events[{i}]");
        check(
            event,
            &path,
            &[("at", Str), ("source", Str), ("kind", Str), ("subject", Str), ("detail", Str)],
        );
        rfc3339(&event["at"], &path);
    }
}

/// Panic with the first schema violation in the `dns` section.
pub fn check_dns(dns: &Value) {
    use Ty::{Arr, Bool, Num, OptNum, OptObj, OptStr, Str};
    check(dns, "dns", &[("config", OptObj), ("warnings", Arr), ("traces", Arr), ("queries", Arr)]);
    if dns["config"].is_object() {
        check(
            &dns["config"],
            "dns.config",
            &[
                ("nameservers", Arr),
                ("search", Arr),
                ("ndots", Num),
                ("timeout_s", Num),
                ("attempts", Num),
                ("options", Arr),
                ("stub", Bool),
                ("upstreams", Arr),
                ("sources", Arr),
            ],
        );
    }
    for (i, trace) in each(&dns["traces"], "dns.traces").iter().enumerate() {
        check_trace(trace, &format!("dns.traces[{i}]"));
    }
    for (i, query) in each(&dns["queries"], "dns.queries").iter().enumerate() {
        let path = format!("dns.queries[{i}]");
        check(
            query,
            &path,
            &[
                ("at", Str),
                ("pid", OptNum),
                ("process", OptStr),
                ("name", Str),
                ("qtype", Str),
                ("server", Str),
                ("rcode", OptStr),
                ("latency_ms", OptNum),
            ],
        );
        rfc3339(&query["at"], &path);
    }
}

/// Panic with the first schema violation in one `traces` object (also what
/// `netlens trace --json` prints).
pub fn check_trace(trace: &Value, path: &str) {
    use Ty::{Arr, Num, OptObj, OptStr, Str};
    check(
        trace,
        path,
        &[
            ("name", Str),
            ("started_at", Str),
            ("result", Arr),
            ("error", OptStr),
            ("steps", Arr),
            ("system", OptObj),
        ],
    );
    rfc3339(&trace["started_at"], path);
    for (i, step) in each(&trace["steps"], "steps").iter().enumerate() {
        let step_path = format!("{path}.steps[{i}]");
        check(
            step,
            &step_path,
            &[
                ("candidate", Str),
                ("server", Str),
                ("qtype", Str),
                ("transport", Str),
                ("rcode", OptStr),
                ("answers", Arr),
                ("latency_ms", Num),
                ("error", OptStr),
            ],
        );
        one_of(&step["transport"], &step_path, &["udp", "tcp"]);
        for (j, answer) in each(&step["answers"], "answers").iter().enumerate() {
            check(answer, &format!("{step_path}.answers[{j}]"), &[("data", Str), ("ttl", Num)]);
        }
    }
    if trace["system"].is_object() {
        check(&trace["system"], &format!("{path}.system"), &[("addresses", Arr), ("error", OptStr)]);
    }
}

/// Panic with the first schema violation in one `paths` object (DESIGN.md §4).
pub fn check_path(value: &Value, path: &str) {
    use Ty::{Arr, Bool, OptNum, OptStr, Str};
    check(
        value,
        path,
        &[
            ("target", Str),
            ("family", OptStr),
            ("status", Str),
            ("reason", OptStr),
            ("interface", OptStr),
            ("interface_kind", OptStr),
            ("source", OptStr),
            ("gateway", OptStr),
            ("route_type", OptStr),
            ("table", OptNum),
            ("tunnel", OptStr),
            ("ipv4", Bool),
            ("ipv6", Bool),
            ("dns", Bool),
            ("expensive", Bool),
            ("constrained", Bool),
            ("since", Str),
            ("checks", Arr),
            ("attempts", Arr),
        ],
    );
    one_of(&value["status"], path, &["satisfied", "unsatisfied", "failing"]);
    rfc3339(&value["since"], path);
    if let Some(reason) = value["reason"].as_str() {
        let reasons = [
            "no_route",
            "blackhole",
            "unreachable",
            "prohibit",
            "link_down",
            "no_carrier",
            "no_source_address",
            "address_tentative",
            "gateway_unreachable",
            "dns_unavailable",
            "probe_failed",
        ];
        assert!(reasons.contains(&reason), "{path}.reason: unknown reason {reason}");
    }
    if let Some(tunnel) = value["tunnel"].as_str() {
        assert!(["full", "split"].contains(&tunnel), "{path}.tunnel: {tunnel}");
    }
    for (j, check_value) in each(&value["checks"], path).iter().enumerate() {
        check(check_value, &format!("{path}.checks[{j}]"), &[("name", Str), ("ok", Bool), ("detail", Str)]);
    }
    if !value["probe"].is_null() {
        check(
            &value["probe"],
            &format!("{path}.probe"),
            &[("kind", Str), ("ok", Bool), ("rtt_ms", OptNum), ("loss_pct", OptNum), ("error", OptStr)],
        );
    }
    for (j, attempt) in each(&value["attempts"], path).iter().enumerate() {
        use Ty::Num;
        check(
            attempt,
            &format!("{path}.attempts[{j}]"),
            &[
                ("address", Str),
                ("started_ms", Num),
                ("duration_ms", Num),
                ("outcome", Str),
                ("winner", Bool),
            ],
        );
    }
}

fn check_interface(interface: &Value, path: &str) {
    use Ty::{Arr, Bool, Num, OptObj, OptStr, Str};
    check(
        interface,
        path,
        &[
            ("index", Num),
            ("name", Str),
            ("kind", Str),
            ("oper_state", Str),
            ("carrier", Bool),
            ("mtu", Num),
            ("mac", OptStr),
            ("flags", Arr),
            ("addresses", Arr),
            ("stats", OptObj),
            ("rates", OptObj),
        ],
    );
    one_of(&interface["kind"], path, KINDS);
    for (j, address) in each(&interface["addresses"], path).iter().enumerate() {
        let path = format!("{path}.addresses[{j}]");
        check(
            address,
            &path,
            &[("address", Str), ("prefix_len", Num), ("family", Str), ("scope", Str), ("flags", Arr)],
        );
        one_of(&address["family"], &path, &["ipv4", "ipv6"]);
    }
    if interface["stats"].is_object() {
        let fields: Vec<(&str, Ty)> = [
            "rx_bytes",
            "tx_bytes",
            "rx_packets",
            "tx_packets",
            "rx_errors",
            "tx_errors",
            "rx_dropped",
            "tx_dropped",
        ]
        .iter()
        .map(|name| (*name, Num))
        .collect();
        check(&interface["stats"], &format!("{path}.stats"), &fields);
    }
    if interface["rates"].is_object() {
        check(
            &interface["rates"],
            &format!("{path}.rates"),
            &[("rx_bytes_per_s", Num), ("tx_bytes_per_s", Num)],
        );
    }
}

const TCP_FIELDS: [&str; 22] = [
    "rtt_ms",
    "rttvar_ms",
    "min_rtt_ms",
    "rto_ms",
    "cwnd",
    "ssthresh",
    "mss",
    "pmtu",
    "retransmits",
    "total_retrans",
    "lost",
    "reordering",
    "bytes_acked",
    "bytes_received",
    "bytes_sent",
    "bytes_retrans",
    "segs_in",
    "segs_out",
    "delivery_rate_bps",
    "pacing_rate_bps",
    "last_send_ms",
    "last_recv_ms",
];

fn check_connection(connection: &Value, path: &str) {
    use Ty::{Arr, Num, OptNum, OptObj, OptStr, Str};
    check(
        connection,
        path,
        &[
            ("protocol", Str),
            ("family", Str),
            ("state", Str),
            ("local", Str),
            ("remote", Str),
            ("interface", OptStr),
            ("uid", Num),
            ("inode", Num),
            ("pid", OptNum),
            ("process", OptStr),
            ("rx_bytes_per_s", OptNum),
            ("tx_bytes_per_s", OptNum),
            ("opened_at", OptStr),
            ("closed_at", OptStr),
            ("tcp", OptObj),
            ("warnings", Arr),
        ],
    );
    one_of(&connection["protocol"], path, &["tcp", "udp"]);
    one_of(
        &connection["state"],
        path,
        &[
            "established",
            "syn_sent",
            "syn_recv",
            "fin_wait1",
            "fin_wait2",
            "time_wait",
            "close",
            "close_wait",
            "last_ack",
            "listen",
            "closing",
            "new_syn_recv",
            "bound_inactive",
            "unconnected",
        ],
    );
    for end in ["local", "remote"] {
        let text = connection[end].as_str().unwrap_or_default();
        let parsed = text.parse::<std::net::SocketAddr>();
        assert!(parsed.is_ok(), "{path}.{end} = {text:?} is not ip:port ([v6]:port)");
    }
    if connection["tcp"].is_object() {
        for field in TCP_FIELDS {
            assert!(connection["tcp"].get(field).is_some(), "{path}.tcp.{field} is missing");
        }
    }
}
