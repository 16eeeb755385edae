//! Snapshot export (DESIGN.md §4, schema version 1): the document built from the
//! store, its redaction, its Markdown rendering and the atomic file write.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlens_collectors::model::{
    AddressFamily, HostFacts, Interface, InterfaceRates, Neighbor, PathState, Protocol, Route, Rule,
    SocketState, SocketTimer, SourceStatus, SystemFacts, TcpInfo, TimelineEntry, Timestamp,
};
use netlens_collectors::{ConnectionEntry, ConnectionLabel, Store};
use serde::Serialize;
use serde_json::Value;

/// The version of the export schema this build writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Rates as the schema names them.
#[derive(Debug, Serialize)]
#[expect(clippy::struct_field_names, reason = "the export schema's field names")]
struct RatesDoc {
    rx_bytes_per_s: f64,
    tx_bytes_per_s: f64,
    rx_packets_per_s: f64,
    tx_packets_per_s: f64,
}

impl From<InterfaceRates> for RatesDoc {
    fn from(rates: InterfaceRates) -> Self {
        Self {
            rx_bytes_per_s: rates.rx_bytes_per_s,
            tx_bytes_per_s: rates.tx_bytes_per_s,
            rx_packets_per_s: rates.rx_packets_per_s,
            tx_packets_per_s: rates.tx_packets_per_s,
        }
    }
}

#[derive(Debug, Serialize)]
struct InterfaceDoc<'a> {
    #[serde(flatten)]
    interface: &'a Interface,
    rates: Option<RatesDoc>,
    #[serde(with = "time::serde::rfc3339")]
    first_seen: Timestamp,
}

#[derive(Debug, Serialize)]
struct SystemDoc {
    uptime_s: u64,
    cpus: usize,
    cpu_pct: f32,
    memory_total_bytes: u64,
    memory_used_bytes: u64,
}

impl From<&SystemFacts> for SystemDoc {
    fn from(facts: &SystemFacts) -> Self {
        Self {
            uptime_s: facts.uptime_s,
            cpus: facts.cpus,
            cpu_pct: facts.cpu_pct,
            memory_total_bytes: facts.memory_total_bytes,
            memory_used_bytes: facts.memory_used_bytes,
        }
    }
}

/// A connection as the schema names it.
#[derive(Debug, Serialize)]
struct ConnectionDoc<'a> {
    cookie: u64,
    protocol: Protocol,
    family: AddressFamily,
    state: SocketState,
    local: String,
    remote: String,
    /// Reverse-DNS name of the remote address, when known.
    remote_name: Option<&'a str>,
    interface: Option<&'a str>,
    uid: u32,
    inode: u64,
    pid: Option<u32>,
    process: Option<&'a str>,
    user: Option<&'a str>,
    rx_bytes_per_s: Option<f64>,
    tx_bytes_per_s: Option<f64>,
    #[serde(with = "time::serde::rfc3339::option")]
    opened_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<Timestamp>,
    recv_queue: u32,
    send_queue: u32,
    timer: Option<SocketTimer>,
    congestion: Option<&'a str>,
    tcp: Option<&'a TcpInfo>,
    warnings: Vec<&'static str>,
    label: Option<String>,
}

impl<'a> ConnectionDoc<'a> {
    fn new(store: &'a Store, entry: &'a ConnectionEntry) -> Self {
        let connections = store.connections();
        let socket = &entry.socket;
        let process = entry.pid.and_then(|pid| connections.process(pid));
        Self {
            cookie: socket.cookie,
            protocol: socket.protocol,
            family: socket.family,
            state: socket.state,
            local: socket.local.to_string(),
            remote: socket.remote.to_string(),
            remote_name: connections.name_of(socket.remote.ip()).flatten(),
            interface: socket
                .interface_index
                .and_then(|index| store.interface(index))
                .map(|e| e.info.name.as_str()),
            uid: socket.uid,
            inode: socket.inode,
            pid: entry.pid,
            process: process.map(|p| p.name.as_str()),
            user: process.map(|p| p.user.as_str()),
            rx_bytes_per_s: entry.rates.map(|r| r.rx_bytes_per_s),
            tx_bytes_per_s: entry.rates.map(|r| r.tx_bytes_per_s),
            opened_at: entry.opened_at,
            closed_at: entry.closed_at,
            recv_queue: socket.recv_queue,
            send_queue: socket.send_queue,
            timer: socket.timer,
            congestion: socket.congestion.as_deref(),
            tcp: socket.tcp.as_ref(),
            warnings: entry.warnings.names().collect(),
            label: entry.label.map(ConnectionLabel::text),
        }
    }
}

/// Connections in a stable order: open before closed, then by protocol, state and ends.
fn connection_docs(store: &Store) -> Vec<ConnectionDoc<'_>> {
    let mut entries: Vec<&ConnectionEntry> = store.connections().iter().collect();
    entries.sort_by_key(|e| {
        (
            e.closed_at.is_some(),
            e.socket.protocol,
            e.socket.state,
            e.socket.local,
            e.socket.remote,
            e.socket.cookie,
        )
    });
    entries.into_iter().map(|entry| ConnectionDoc::new(store, entry)).collect()
}

/// The whole snapshot document.
#[derive(Debug, Serialize)]
struct SnapshotDoc<'a> {
    schema_version: u32,
    netlens_version: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    taken_at: Timestamp,
    host: &'a HostFacts,
    system: SystemDoc,
    sources: Vec<&'a SourceStatus>,
    interfaces: Vec<InterfaceDoc<'a>>,
    routes: &'a [Route],
    rules: &'a [Rule],
    neighbors: &'a [Neighbor],
    paths: &'a [PathState],
    dns: DnsDoc<'a>,
    connections: Vec<ConnectionDoc<'a>>,
    events: Vec<&'a TimelineEntry>,
}

/// Recent passive queries exported at most (the newest).
const EXPORTED_QUERIES: usize = 500;

/// The `dns` section.
#[derive(Debug, Serialize)]
struct DnsDoc<'a> {
    config: Option<&'a netlens_collectors::model::ResolverConfig>,
    warnings: &'a [String],
    traces: Vec<&'a netlens_collectors::model::DnsTrace>,
    queries: Vec<&'a netlens_collectors::model::DnsQuery>,
    servers: Vec<ServerDoc>,
    capture: netlens_collectors::model::CaptureCounters,
    queries_logged: u64,
    dns64: Option<&'a netlens_collectors::model::Dns64Report>,
}

/// One server's health.
#[derive(Debug, Serialize)]
struct ServerDoc {
    server: IpAddr,
    queries: u64,
    timeouts: u64,
    errors: u64,
    error_rate_pct: f64,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
}

impl<'a> DnsDoc<'a> {
    fn new(store: &'a Store) -> Self {
        let dns = store.dns();
        let skip = dns.queries().len().saturating_sub(EXPORTED_QUERIES);
        Self {
            config: dns.config(),
            warnings: dns.warnings(),
            traces: dns.traces().collect(),
            queries: dns.queries().skip(skip).collect(),
            servers: dns
                .servers()
                .iter()
                .map(|(server, health)| ServerDoc {
                    server: *server,
                    queries: health.queries,
                    timeouts: health.timeouts,
                    errors: health.errors,
                    error_rate_pct: health.error_rate_pct(),
                    p50_ms: health.p50_ms(),
                    p95_ms: health.p95_ms(),
                })
                .collect(),
            capture: dns.counters(),
            queries_logged: dns.logged(),
            dns64: dns.dns64(),
        }
    }
}

/// Build the snapshot of `store` taken at `taken_at`, as a JSON value.
pub fn snapshot(store: &Store, taken_at: Timestamp) -> Value {
    let system = store.system();
    let doc = SnapshotDoc {
        schema_version: SCHEMA_VERSION,
        netlens_version: env!("CARGO_PKG_VERSION"),
        taken_at,
        host: &system.host,
        system: SystemDoc::from(system),
        sources: store.sources().collect(),
        interfaces: store
            .interfaces()
            .map(|entry| InterfaceDoc {
                interface: &entry.info,
                rates: entry.rates.map(RatesDoc::from),
                first_seen: entry.first_seen,
            })
            .collect(),
        routes: store.routes(),
        rules: store.rules(),
        neighbors: store.neighbors(),
        paths: store.paths(),
        dns: DnsDoc::new(store),
        connections: connection_docs(store),
        events: store.timeline().iter().collect(),
    };
    // Serialising plain data into a Value cannot fail (no maps with non-string keys).
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

/// Replaces identifying strings with stable pseudonyms: the same input gives the
/// same pseudonym throughout one snapshot, and addresses of one IPv4 /24 or IPv6 /64
/// stay in one pseudo-network, so on-link routes still match their addresses (shorter
/// prefixes do not keep that relation).
#[derive(Debug, Default)]
pub struct Redactor {
    hostname: Option<String>,
    macs: HashMap<String, String>,
    v4_networks: HashMap<[u8; 3], u32>,
    v6_networks: HashMap<[u16; 4], u32>,
    v6_hosts: HashMap<Ipv6Addr, u32>,
    words: HashMap<(Pseudonym, String), String>,
}

/// Kinds of identifying words replaced whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pseudonym {
    /// A host name from reverse DNS.
    Name,
    /// A user name.
    User,
}

impl Redactor {
    /// A redactor that also replaces `hostname` wherever it appears.
    #[must_use]
    pub fn new(hostname: &str) -> Self {
        let hostname = (hostname.len() >= 2).then(|| hostname.to_owned());
        Self { hostname, ..Self::default() }
    }

    /// Redact every string in `value`, in place.
    pub fn redact(&mut self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.redact_text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact(item)),
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    match (key.as_str(), item) {
                        // Who this host talks to and who runs what identify people too.
                        ("remote_name", Value::String(name)) => *name = self.pseudonym(Pseudonym::Name, name),
                        ("user", Value::String(user)) => *user = self.pseudonym(Pseudonym::User, user),
                        ("dns", item) => self.redact_dns(item),
                        (_, item) => self.redact(item),
                    }
                }
            }
            _ => {}
        }
    }

    /// The DNS section names what this host looks up: every domain name in it (a
    /// word with a dot and a letter, no path, no spaces) becomes a pseudonym; the rest
    /// is redacted as text.
    fn redact_dns(&mut self, value: &mut Value) {
        match value {
            Value::String(text) => {
                *text = if looks_like_domain(text) {
                    self.pseudonym(Pseudonym::Name, text)
                } else {
                    // Sentences (errors, warnings) name hosts too: each such word goes.
                    let redacted = self.redact_text(text);
                    let words: Vec<String> = redacted
                        .split(' ')
                        .map(|word| {
                            let core = word.trim_matches(|c: char| "`,;()[]'\"".contains(c) || c == '.');
                            if looks_like_domain(core) {
                                word.replace(core, &self.pseudonym(Pseudonym::Name, core))
                            } else {
                                word.to_owned()
                            }
                        })
                        .collect();
                    words.join(" ")
                };
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_dns(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.redact_dns(item)),
            _ => {}
        }
    }

    /// Redact one string: every address-like token and the hostname.
    pub fn redact_text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut token = String::new();
        for ch in text.chars() {
            if ch.is_ascii_hexdigit() || ch == ':' || ch == '.' {
                token.push(ch);
            } else {
                self.flush_token(&mut token, &mut out);
                out.push(ch);
            }
        }
        self.flush_token(&mut token, &mut out);
        match &self.hostname {
            Some(hostname) => replace_word(&out, hostname, "host-1"),
            None => out,
        }
    }

    fn pseudonym(&mut self, kind: Pseudonym, word: &str) -> String {
        let next = self.words.keys().filter(|(k, _)| *k == kind).count() + 1;
        self.words
            .entry((kind, word.to_owned()))
            .or_insert_with(|| match kind {
                Pseudonym::Name => format!("host-{next}.invalid"),
                Pseudonym::User => format!("user-{next}"),
            })
            .clone()
    }

    fn flush_token(&mut self, token: &mut String, out: &mut String) {
        if !token.is_empty() {
            out.push_str(&self.redact_token(token));
            token.clear();
        }
    }

    fn redact_token(&mut self, token: &str) -> String {
        // Sentence punctuation around a token is not part of it.
        let core = token.trim_end_matches(['.', ':']);
        let tail = &token[core.len()..];
        if let Ok(address) = core.parse::<IpAddr>() {
            return format!("{}{tail}", self.address(address));
        }
        // ip:port
        if let Some((host, port)) = core.rsplit_once(':')
            && let Ok(address) = host.parse::<Ipv4Addr>()
            && port.parse::<u16>().is_ok()
        {
            return format!("{}:{port}{tail}", self.address(IpAddr::V4(address)));
        }
        if is_mac(core) {
            return format!("{}{tail}", self.mac(core));
        }
        token.to_owned()
    }

    fn address(&mut self, address: IpAddr) -> IpAddr {
        let keep = address.is_loopback() || address.is_unspecified() || address.is_multicast();
        match address {
            _ if keep => address,
            IpAddr::V4(v4) if v4.is_broadcast() => address,
            IpAddr::V4(v4) => {
                let [net_a, net_b, net_c, host] = v4.octets();
                let next = self.v4_networks.len() as u32;
                let network = *self.v4_networks.entry([net_a, net_b, net_c]).or_insert(next);
                // 198.18.0.0/15 (benchmarking) holds the first 512 networks and 240.0.0.0/4
                // (reserved) a million more: neither ever names a real host, and no two
                // networks share a pseudonym.
                let base: u32 = if network < 512 { 0xc612_0000 } else { 0xf000_0000 };
                let index = if network < 512 { network } else { network - 512 };
                IpAddr::V4(Ipv4Addr::from(base + (index << 8) + u32::from(host)))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                let next = self.v6_networks.len() as u32;
                let n = *self.v6_networks.entry([s[0], s[1], s[2], s[3]]).or_insert(next);
                // The interface identifier may embed the MAC (EUI-64): replace it too,
                // keeping an all-zero one (a network address) as it is.
                let host = if s[4..] == [0, 0, 0, 0] {
                    0
                } else {
                    let next = self.v6_hosts.len() as u32 + 1;
                    *self.v6_hosts.entry(v6).or_insert(next)
                };
                let prefix = if s[0] & 0xffc0 == 0xfe80 { 0xfe80 } else { 0x2001 };
                let second = if prefix == 0xfe80 { 0 } else { 0x0db8 };
                let [n_hi, n_lo] = [(0xffff - (n >> 16)) as u16, n as u16];
                IpAddr::V6(Ipv6Addr::new(prefix, second, n_hi, n_lo, 0, 0, (host >> 16) as u16, host as u16))
            }
        }
    }

    fn mac(&mut self, mac: &str) -> String {
        let lower = mac.to_ascii_lowercase();
        if lower == "00:00:00:00:00:00" || lower == "ff:ff:ff:ff:ff:ff" {
            return lower;
        }
        let next = self.macs.len() + 1;
        self.macs
            .entry(lower)
            .or_insert_with(|| {
                // 02: locally administered, never a vendor's.
                format!("02:00:00:00:{:02x}:{:02x}", next / 256 % 256, next % 256)
            })
            .clone()
    }
}

/// `text` with every whole-word occurrence of `word` replaced: a hostname `db` must
/// not rewrite `2001:db8::`, nor `lo` rewrite `loopback`.
fn replace_word(text: &str, word: &str, replacement: &str) -> String {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        out.push_str(&rest[..at]);
        let before = out.chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
            out.push_str(word);
        } else {
            out.push_str(replacement);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A word that names a host: dotted, with a letter, not an address, a path, a file
/// name or a key.
fn looks_like_domain(word: &str) -> bool {
    const FILE_SUFFIXES: [&str; 3] = [".conf", ".rs", ".json"];
    word.contains('.')
        && word.chars().any(|ch| ch.is_ascii_alphabetic())
        && word.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' || ch == '_')
        && !word.starts_with('.')
        && !FILE_SUFFIXES.iter().any(|suffix| word.ends_with(suffix))
        && word.parse::<IpAddr>().is_err()
}

/// A cell of a Markdown table: text as it is (pipes escaped), lists space-separated,
/// null as a dash.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "–".to_owned(),
        Value::String(text) => text.replace('|', "\\|"),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// A duration cell: milliseconds with one decimal, a dash when absent.
fn ms(value: &Value) -> String {
    value.as_f64().map_or_else(|| "–".to_owned(), |ms| format!("{ms:.1}"))
}

fn rows(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// Render a snapshot value as a Markdown report.
#[must_use]
pub fn markdown(snapshot: &Value) -> String {
    let mut md = String::new();
    markdown_host(&mut md, snapshot);
    markdown_interfaces(&mut md, snapshot);
    markdown_paths(&mut md, snapshot);
    markdown_dns(&mut md, snapshot);
    markdown_routing(&mut md, snapshot);
    markdown_connections(&mut md, snapshot);
    md.push_str(
        "\n## Events (oldest first)\n\n| at | source | kind | subject | detail |\n|---|---|---|---|---|\n",
    );
    for event in rows(&snapshot["events"]) {
        let count = event["count"].as_u64().map_or_else(String::new, |n| format!(" (×{n})"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {}{count} |",
            cell(&event["at"]),
            cell(&event["source"]),
            cell(&event["kind"]),
            cell(&event["subject"]),
            cell(&event["detail"])
        );
    }
    md
}

fn markdown_host(md: &mut String, snapshot: &Value) {
    let host = &snapshot["host"];
    let _ = writeln!(md, "# netlens snapshot of {}\n", cell(&host["hostname"]));
    let _ = writeln!(
        md,
        "Taken {} by netlens {} (schema {}). Kernel {}, network namespace {}.\n",
        cell(&snapshot["taken_at"]),
        cell(&snapshot["netlens_version"]),
        cell(&snapshot["schema_version"]),
        cell(&host["kernel"]),
        host["netns"].as_str().unwrap_or("of netlens itself"),
    );
    let privileges = &host["privileges"];
    let _ = writeln!(
        md,
        "Privileges: root {}, CAP_NET_ADMIN {}, CAP_NET_RAW {}.\n",
        cell(&privileges["root"]),
        cell(&privileges["net_admin"]),
        cell(&privileges["net_raw"])
    );
    md.push_str("## Sources\n\n| source | status | detail |\n|---|---|---|\n");
    for source in rows(&snapshot["sources"]) {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            cell(&source["name"]),
            cell(&source["status"]),
            cell(&source["detail"])
        );
    }
}

fn markdown_interfaces(md: &mut String, snapshot: &Value) {
    md.push_str("\n## Interfaces\n\n| # | name | kind | state | carrier | MTU | MAC | rx/s | tx/s | addresses |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for interface in rows(&snapshot["interfaces"]) {
        let addresses: Vec<String> = rows(&interface["addresses"])
            .iter()
            .map(|a| {
                let flags = cell(&a["flags"]);
                let flags = if flags.is_empty() { String::new() } else { format!(" ({flags})") };
                format!("{}/{}{}", cell(&a["address"]), cell(&a["prefix_len"]), flags)
            })
            .collect();
        let rate = |key: &str| interface["rates"][key].as_f64().map_or_else(|| "–".to_owned(), human_rate);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&interface["index"]),
            cell(&interface["name"]),
            cell(&interface["kind"]),
            cell(&interface["oper_state"]),
            if interface["carrier"].as_bool() == Some(true) { "yes" } else { "no" },
            cell(&interface["mtu"]),
            cell(&interface["mac"]),
            rate("rx_bytes_per_s"),
            rate("tx_bytes_per_s"),
            addresses.join("<br>"),
        );
    }
}

fn markdown_dns(md: &mut String, snapshot: &Value) {
    let dns = &snapshot["dns"];
    md.push_str("\n## DNS\n\n");
    let config = &dns["config"];
    if config.is_null() {
        md.push_str("The resolver configuration was not read.\n");
    } else {
        let _ = writeln!(
            md,
            "- nameservers: {}\n- search: {}\n- ndots {}, timeout {} s, attempts {}, options: {}\n- hosts (nsswitch): {}\n- files: {}",
            cell(&config["nameservers"]),
            cell(&config["search"]),
            cell(&config["ndots"]),
            cell(&config["timeout_s"]),
            cell(&config["attempts"]),
            cell(&config["options"]),
            cell(&config["hosts_order"]),
            cell(&config["sources"]),
        );
        if config["stub"].as_bool() == Some(true) {
            let _ = writeln!(md, "- stub resolver; upstreams: {}", cell(&config["upstreams"]));
        }
    }
    if let Some(prefix) = dns["dns64"]["prefix"].as_str() {
        let _ = writeln!(md, "- NAT64: DNS64 synthesises AAAA in {prefix}");
    }
    for warning in rows(&dns["warnings"]) {
        let _ = writeln!(md, "- **warning:** {}", cell(warning));
    }
    md.push_str("\n### Servers\n\n| server | queries | timeouts | errors | p50 ms | p95 ms |\n|---|---|---|---|---|---|\n");
    for server in rows(&dns["servers"]) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&server["server"]),
            cell(&server["queries"]),
            cell(&server["timeouts"]),
            cell(&server["errors"]),
            ms(&server["p50_ms"]),
            ms(&server["p95_ms"])
        );
    }
    md.push_str("\n### Traces\n");
    for trace in rows(&dns["traces"]) {
        let _ = writeln!(
            md,
            "\n**{}** ({}) → {} {}\n\n| candidate | server | qtype | transport | rcode | answers | ms | error |\n|---|---|---|---|---|---|---|---|",
            cell(&trace["name"]),
            cell(&trace["origin"]),
            cell(&trace["result"]),
            trace["error"].as_str().unwrap_or_default()
        );
        for step in rows(&trace["steps"]) {
            let answers: Vec<String> =
                rows(&step["answers"]).iter().map(|answer| cell(&answer["data"])).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&step["candidate"]),
                cell(&step["server"]),
                cell(&step["qtype"]),
                cell(&step["transport"]),
                cell(&step["rcode"]),
                answers.join(" "),
                ms(&step["latency_ms"]),
                cell(&step["error"])
            );
        }
        if !trace["system"].is_null() {
            let _ = writeln!(
                md,
                "\nsystem (getaddrinfo): {} {}",
                cell(&trace["system"]["addresses"]),
                trace["system"]["error"].as_str().unwrap_or_default()
            );
        }
        for difference in rows(&trace["differences"]) {
            let _ = writeln!(md, "- differs: {}", cell(difference));
        }
    }
    md.push_str("\n### Recent queries (passive capture)\n\n| at | process | name | qtype | server | rcode | ms |\n|---|---|---|---|---|---|---|\n");
    for query in rows(&dns["queries"]) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&query["at"]),
            cell(&query["process"]),
            cell(&query["name"]),
            cell(&query["qtype"]),
            cell(&query["server"]),
            query["rcode"].as_str().unwrap_or("timeout"),
            ms(&query["latency_ms"])
        );
    }
}

fn markdown_paths(md: &mut String, snapshot: &Value) {
    md.push_str("\n## Paths\n\n| target | status | reason | interface | via | source | tunnel | v4 | v6 | dns | probe | since |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for path in rows(&snapshot["paths"]) {
        let reason = match (path["reason"].as_str(), path["reason_subject"].as_str()) {
            (Some(reason), Some(subject)) => format!("{reason} {subject}"),
            (Some(reason), None) => reason.to_owned(),
            _ => "–".to_owned(),
        };
        let probe = &path["probe"];
        let probe = if probe.is_null() {
            "–".to_owned()
        } else if probe["ok"].as_bool() == Some(true) {
            format!(
                "{} {} ms, {} % lost",
                cell(&probe["kind"]),
                cell(&probe["rtt_ms"]),
                cell(&probe["loss_pct"])
            )
        } else {
            format!("{} failed: {}", cell(&probe["kind"]), cell(&probe["error"]))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {reason} | {} | {} | {} | {} | {} | {} | {} | {probe} | {} |",
            cell(&path["target"]),
            cell(&path["status"]),
            cell(&path["interface"]),
            cell(&path["gateway"]),
            cell(&path["source"]),
            cell(&path["tunnel"]),
            cell(&path["ipv4"]),
            cell(&path["ipv6"]),
            cell(&path["dns"]),
            cell(&path["since"]),
        );
    }
    for path in rows(&snapshot["paths"]) {
        let failed: Vec<String> = rows(&path["checks"])
            .iter()
            .filter(|check| check["ok"].as_bool() == Some(false))
            .map(|check| format!("{}: {}", cell(&check["name"]), cell(&check["detail"])))
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(md, "\n{} failed check: {}", cell(&path["target"]), failed.join("; "));
        }
        let attempts = rows(&path["attempts"]);
        if !attempts.is_empty() {
            let _ = writeln!(md, "\nHappy Eyeballs for {}:\n", cell(&path["target"]));
            for attempt in attempts {
                let role = if attempt["winner"].as_bool() == Some(true) { "winner" } else { "also-ran" };
                let _ = writeln!(
                    md,
                    "- {} started at {} ms, {} after {} ms ({role})",
                    cell(&attempt["address"]),
                    cell(&attempt["started_ms"]),
                    cell(&attempt["outcome"]),
                    cell(&attempt["duration_ms"]),
                );
            }
        }
    }
}

fn markdown_routing(md: &mut String, snapshot: &Value) {
    md.push_str("\n## Routes\n\n| table | type | destination | gateway | interface | source | metric | protocol | scope |\n|---|---|---|---|---|---|---|---|---|\n");
    for route in rows(&snapshot["routes"]) {
        let destination = if route["prefix_len"].as_u64() == Some(0) {
            "default".to_owned()
        } else {
            format!("{}/{}", cell(&route["destination"]), cell(&route["prefix_len"]))
        };
        let table = route["table"].as_u64().map_or_else(|| "–".to_owned(), |t| Route::table_name(t as u32));
        let _ = writeln!(
            md,
            "| {table} | {} | {destination} | {} | {} | {} | {} | {} | {} |",
            cell(&route["type"]),
            cell(&route["gateway"]),
            cell(&route["interface"]),
            cell(&route["source"]),
            cell(&route["metric"]),
            cell(&route["protocol"]),
            cell(&route["scope"]),
        );
    }
    md.push_str(
        "\n## Policy rules\n\n| family | priority | rule | action | table |\n|---|---|---|---|---|\n",
    );
    for rule in rows(&snapshot["rules"]) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&rule["family"]),
            cell(&rule["priority"]),
            cell(&rule["selector"]),
            cell(&rule["action"]),
            cell(&rule["table"])
        );
    }
    md.push_str("\n## Neighbours\n\n| interface | address | MAC | state |\n|---|---|---|---|\n");
    for neighbor in rows(&snapshot["neighbors"]) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            cell(&neighbor["interface"]),
            cell(&neighbor["address"]),
            cell(&neighbor["mac"]),
            cell(&neighbor["state"])
        );
    }
}

/// Connections shown in the Markdown report at most (busiest first).
const MARKDOWN_CONNECTIONS: usize = 100;

fn markdown_connections(md: &mut String, snapshot: &Value) {
    let connections = rows(&snapshot["connections"]);
    let open = connections.iter().filter(|c| c["closed_at"].is_null()).count();
    let _ = writeln!(md, "\n## Connections\n\n{open} open, {} recently closed.\n", connections.len() - open);
    let volume =
        |c: &Value| c["rx_bytes_per_s"].as_f64().unwrap_or(0.0) + c["tx_bytes_per_s"].as_f64().unwrap_or(0.0);
    let mut busiest: Vec<&Value> = connections.iter().collect();
    busiest.sort_by(|a, b| volume(b).total_cmp(&volume(a)));
    if busiest.len() > MARKDOWN_CONNECTIONS {
        let _ = writeln!(
            md,
            "The {MARKDOWN_CONNECTIONS} busiest are listed; the JSON and CSV exports have all of them.\n"
        );
        busiest.truncate(MARKDOWN_CONNECTIONS);
    }
    md.push_str("| proto | state | local | remote | process | rx/s | tx/s | RTT | retrans | warnings |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for c in busiest {
        let remote = match c["remote_name"].as_str() {
            Some(name) => format!("{} ({name})", cell(&c["remote"])),
            None => cell(&c["remote"]),
        };
        let process = match (c["process"].as_str(), c["pid"].as_u64()) {
            (Some(name), Some(pid)) => format!("{name} ({pid})"),
            (None, Some(pid)) => pid.to_string(),
            _ => "?".to_owned(),
        };
        let rate = |key: &str| c[key].as_f64().map_or_else(|| "–".to_owned(), human_rate);
        let rtt = c["tcp"]["rtt_ms"].as_f64().map_or_else(|| "–".to_owned(), |ms| format!("{ms:.1} ms"));
        let closed = if c["closed_at"].is_null() { "" } else { " (closed)" };
        let _ = writeln!(
            md,
            "| {} | {}{closed} | {} | {remote} | {process} | {} | {} | {rtt} | {} | {} |",
            cell(&c["protocol"]),
            cell(&c["state"]),
            cell(&c["local"]),
            rate("rx_bytes_per_s"),
            rate("tx_bytes_per_s"),
            c["tcp"]["total_retrans"].as_u64().map_or_else(|| "–".to_owned(), |n| n.to_string()),
            cell(&c["warnings"]),
        );
    }
}

/// The columns of the CSV export, one row per connection.
const CSV_COLUMNS: [&str; 20] = [
    "protocol",
    "family",
    "state",
    "local",
    "remote",
    "remote_name",
    "interface",
    "pid",
    "process",
    "user",
    "rx_bytes_per_s",
    "tx_bytes_per_s",
    "rtt_ms",
    "min_rtt_ms",
    "total_retrans",
    "bytes_received",
    "bytes_acked",
    "opened_at",
    "closed_at",
    "warnings",
];

/// Render the connection table of a snapshot value as CSV (RFC 4180, header row),
/// so a redacted snapshot gives a redacted table.
#[must_use]
pub fn csv(snapshot: &Value) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for c in rows(&snapshot["connections"]) {
        let fields = CSV_COLUMNS.map(|column| {
            let value = match column {
                "rtt_ms" | "min_rtt_ms" | "total_retrans" | "bytes_received" | "bytes_acked" => {
                    &c["tcp"][column]
                }
                other => &c[other],
            };
            match value {
                Value::Null => String::new(),
                Value::String(text) => csv_field(text),
                Value::Array(items) => {
                    csv_field(&items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                }
                other => other.to_string(),
            }
        });
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn human_rate(bytes_per_s: f64) -> String {
    const UNITS: [&str; 5] = ["B/s", "KB/s", "MB/s", "GB/s", "TB/s"];
    let mut value = bytes_per_s;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} {}", UNITS[unit]) } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `netlens-snapshot-20260314T092653Z.json`
#[must_use]
pub fn file_name(taken_at: Timestamp, extension: &str) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = taken_at.format(&format).unwrap_or_else(|_| taken_at.unix_timestamp().to_string());
    format!("netlens-snapshot-{stamp}.{extension}")
}

/// The pretty JSON text of a snapshot value, with a final newline.
#[must_use]
pub fn json_text(snapshot: &Value) -> String {
    let mut text = serde_json::to_string_pretty(snapshot).unwrap_or_default();
    text.push('\n');
    text
}

/// Redact a snapshot in place, using its own hostname.
pub fn redact(snapshot: &mut Value) {
    let hostname = snapshot["host"]["hostname"].as_str().unwrap_or_default().to_owned();
    Redactor::new(&hostname).redact(snapshot);
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;

    #[test]
    fn snapshot_has_every_schema_section() {
        let value = snapshot(&fake::store(), fake::NOW);
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["taken_at"], "2026-03-14T09:26:53Z");
        for key in ["host", "sources", "interfaces", "routes", "rules", "neighbors", "events"] {
            assert!(!value[key].is_null(), "{key} missing");
        }
        let eth0 = &value["interfaces"][1];
        assert_eq!(eth0["name"], "eth0");
        assert_eq!(eth0["kind"], "ethernet");
        assert_eq!(eth0["oper_state"], "up");
        assert!(eth0["rates"]["rx_bytes_per_s"].as_f64().is_some_and(|r| r > 0.0));
        assert!(eth0["stats"]["rx_bytes"].as_u64().is_some_and(|r| r > 0));
        assert_eq!(eth0["addresses"][0]["family"], "ipv4");
        let default = &value["routes"][0];
        assert_eq!(default["prefix_len"], 0);
        assert_eq!(default["destination"], "0.0.0.0");
        assert_eq!(default["type"], "unicast");
        assert_eq!(value["events"][0]["source"], "interfaces");
    }

    #[test]
    fn redaction_is_stable_and_keeps_structure() {
        let mut redactor = Redactor::new("devbox");
        let a = redactor.redact_text("10.0.0.2/24 added to veth1 on devbox");
        let b = redactor.redact_text("route 10.0.0.0/24 via 10.0.0.1 dev veth1");
        assert_eq!(a, "198.18.0.2/24 added to veth1 on host-1");
        assert_eq!(b, "route 198.18.0.0/24 via 198.18.0.1 dev veth1", "same network, same pseudo-network");
        assert_eq!(redactor.redact_text("127.0.0.1 ::1 0.0.0.0"), "127.0.0.1 ::1 0.0.0.0");
        assert_eq!(redactor.redact_text("mac 52:54:00:12:34:56."), "mac 02:00:00:00:00:01.");
        assert_eq!(redactor.redact_text("52:54:00:12:34:56"), "02:00:00:00:00:01");
        assert_eq!(redactor.redact_text("192.0.2.7:443"), "198.18.1.7:443");
        let v6 = redactor.redact_text("fe80::5054:ff:fe12:3456/64");
        assert!(!v6.contains("5054") && v6.starts_with("fe80:"), "{v6}");
        assert_eq!(redactor.redact_text("mtu 1500, table 254, face cafe"), "mtu 1500, table 254, face cafe");
    }

    #[test]
    fn redaction_gives_every_network_its_own_pseudonym() {
        let mut redactor = Redactor::new("db");
        let mut seen = std::collections::HashSet::new();
        for n in 0..2000_u32 {
            let text = format!("10.{}.{}.7", n / 256, n % 256);
            assert!(seen.insert(redactor.redact_text(&text)), "network {n} reused a pseudonym");
        }
        assert_eq!(redactor.redact_text("10.0.0.7"), "198.18.0.7", "stable");
        assert_eq!(redactor.redact_text("10.2.0.7"), "240.0.0.7", "past 512 networks: 240.0.0.0/4");
    }

    #[test]
    fn hostname_is_replaced_as_a_whole_word_only() {
        assert_eq!(
            replace_word("db on db.lan, 2001:db8::1 dbx", "db", "host-1"),
            "host-1 on host-1.lan, 2001:db8::1 dbx"
        );
        let mut redactor = Redactor::new("lo");
        assert_eq!(redactor.redact_text("lo is loopback"), "host-1 is loopback");
    }

    #[test]
    fn redacted_snapshot_leaks_nothing() {
        let mut value = snapshot(&fake::store(), fake::NOW);
        redact(&mut value);
        let text = value.to_string();
        for secret in ["devbox", "192.168.1.23", "52:54:00:12:34:56", "2001:db8:10:0:5054", "10.20.30.41"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        assert!(text.contains("127.0.0.1"), "loopback kept");
        assert_eq!(value["host"]["hostname"], "host-1");
    }

    #[test]
    fn the_dns_section_has_config_traces_queries_and_health() {
        let value = snapshot(&fake::store(), fake::NOW);
        let dns = &value["dns"];
        assert_eq!(dns["config"]["search"], serde_json::json!(["corp.test", "lab.test"]));
        assert!(dns["config"]["stub"].as_bool().unwrap_or_default());
        assert!(!dns["warnings"].as_array().cloned().unwrap_or_default().is_empty());
        let trace = &dns["traces"][0];
        assert!(trace["steps"][0]["server"].as_str().is_some_and(|s| s.ends_with(":53")), "{trace}");
        assert!(trace["steps"][0]["latency_ms"].is_number());
        assert!(dns["queries"].as_array().is_some_and(|q| !q.is_empty()));
        assert!(dns["servers"][0]["p50_ms"].is_number() || dns["servers"][0]["p50_ms"].is_null());

        let md = markdown(&value);
        for expected in
            ["## DNS", "### Servers", "### Traces", "### Recent queries", "- search: corp.test lab.test"]
        {
            assert!(md.contains(expected), "{expected} missing");
        }

        let mut redacted = value.clone();
        redact(&mut redacted);
        let text = redacted["dns"].to_string();
        for name in ["corp.test", "db.lab.test", "example.com"] {
            assert!(!text.contains(name), "{name} leaked from the dns section");
        }
        let mut redactor = Redactor::new("devbox");
        let mut error =
            serde_json::json!({"error": "NXDOMAIN: no such name (tried db.secret-corp.example, db)"});
        redactor.redact_dns(&mut error);
        assert!(!error.to_string().contains("secret-corp"), "{error}");
        assert!(text.contains("/etc/resolv.conf"), "file names are not host names");
    }

    #[test]
    fn markdown_renders_every_section() {
        let md = markdown(&snapshot(&fake::store(), fake::NOW));
        for heading in [
            "# netlens snapshot of devbox",
            "## Interfaces",
            "## Routes",
            "## Policy rules",
            "## Neighbours",
            "## Events",
        ] {
            assert!(md.contains(heading), "{heading}");
        }
        assert!(md.contains("| main | unicast | default | 192.168.1.1 | eth0 |"));
        assert!(md.contains("| 2 | eth0 | ethernet | up | yes | 1500 | 52:54:00:12:34:56 |"));
    }

    #[test]
    fn connections_are_exported_with_their_tcp_facts() {
        let value = snapshot(&fake::store(), fake::NOW);
        let connections = value["connections"].as_array().cloned().unwrap_or_default();
        assert!(connections.len() >= 15, "{}", connections.len());
        let firefox = connections
            .iter()
            .find(|c| c["remote"] == "93.184.215.14:443")
            .unwrap_or_else(|| panic!("the firefox connection"));
        assert_eq!(firefox["protocol"], "tcp");
        assert_eq!(firefox["state"], "established");
        assert_eq!(firefox["local"], "192.168.1.23:51514");
        assert_eq!(firefox["remote_name"], "example.org");
        assert_eq!(firefox["process"], "firefox");
        assert_eq!(firefox["pid"], 2210);
        assert!((firefox["tcp"]["rtt_ms"].as_f64().unwrap_or_default() - 23.4).abs() < 1e-9);
        assert!((firefox["rx_bytes_per_s"].as_f64().unwrap_or_default() - 1_450_000.0).abs() < 1e-6);
        let v6 = connections.iter().find(|c| c["family"] == "ipv6" && c["state"] == "established");
        assert!(v6.is_some_and(|c| {
            c["remote"].as_str().is_some_and(|r| r.starts_with('[') && r.ends_with("]:443"))
        }));
        let stalled = connections.iter().find(|c| c["process"] == "rsync").cloned().unwrap_or_default();
        assert_eq!(stalled["warnings"], serde_json::json!(["stalled", "high_retransmits"]));
        let scan = connections.iter().find(|c| c["process"] == "nmap").cloned().unwrap_or_default();
        assert_eq!(scan["label"], "burst of 5 short connections");
        assert!(scan["closed_at"].is_string());
        let listener = connections.iter().find(|c| c["state"] == "listen").cloned().unwrap_or_default();
        assert!(listener["tcp"].is_null() && listener["remote"] == "0.0.0.0:0");
        let udp = connections.iter().find(|c| c["state"] == "unconnected").cloned().unwrap_or_default();
        assert_eq!(udp["protocol"], "udp");
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_connection() {
        let mut value = snapshot(&fake::store(), fake::NOW);
        let rows = value["connections"].as_array().map_or(0, Vec::len);
        let text = csv(&value);
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), rows + 1);
        assert!(lines[0].starts_with("protocol,family,state,local,remote,remote_name"));
        assert!(lines.iter().any(|l| l.starts_with(
            "tcp,ipv4,established,192.168.1.23:51514,93.184.215.14:443,example.org,,2210,firefox,ana,"
        )));
        assert!(
            lines.iter().any(|l| l.contains(",\"sshd: /usr/sbin/sshd") || l.contains(",sshd,")),
            "fields with commas are quoted"
        );
        assert_eq!(csv_field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
        redact(&mut value);
        let redacted = csv(&value);
        for secret in ["192.168.1.23", "example.org", ",ana,"] {
            assert!(!redacted.contains(secret), "{secret} leaked into the redacted CSV");
        }
    }

    #[test]
    fn file_names_carry_the_utc_time() {
        assert_eq!(file_name(fake::NOW, "json"), "netlens-snapshot-20260314T092653Z.json");
    }
}
