//! DNS rules: no nameserver, a nameserver that times out or cannot be reached, one
//! name turned into many queries by the search list, DNS leaving outside a full
//! tunnel, and `/etc/hosts` overriding a name that is looked up.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::Store;
use crate::model::{
    AddressFamily, DnsTrace, Evidence, Protocol, ResolverConfig, RouteType, Severity, SocketState, TraceStep,
};
use crate::store::{RECENT_WINDOW, RecentOutcomes};

use super::tunnels::{default_path, egress, tunnel_named};
use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

/// The traces started within [`RECENT_WINDOW`] of the store's last event, oldest first.
fn recent_traces(store: &Store) -> impl DoubleEndedIterator<Item = &DnsTrace> {
    let now = store.updated_at();
    store.dns().traces().filter(move |trace| now.is_some_and(|now| now - trace.started_at <= RECENT_WINDOW))
}

/// How one trace step to a server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Outcome<'a> {
    Answered,
    TimedOut(&'a str),
    /// No route, ICMP unreachable or a refused connection, with the error.
    Unreachable(&'a str),
    Other,
}

fn outcome(step: &TraceStep) -> Outcome<'_> {
    match (&step.rcode, step.error.as_deref()) {
        (Some(_), _) => Outcome::Answered,
        (None, Some(error)) if error.starts_with("timeout") => Outcome::TimedOut(error),
        (None, Some(error))
            if ["refused", "unreachable", "No route", "cannot reach", "cannot send"]
                .iter()
                .any(|word| error.contains(word)) =>
        {
            Outcome::Unreachable(error)
        }
        _ => Outcome::Other,
    }
}

/// The newest recent trace step that asked `server`, with its trace.
fn latest_step(store: &Store, server: IpAddr) -> Option<(&DnsTrace, &TraceStep)> {
    recent_traces(store).rev().find_map(|trace| {
        trace.steps.iter().rev().find(|s| s.server.ip() == server).map(|step| (trace, step))
    })
}

/// The DNS source's warning that `server` has no usable route, if it gave one.
fn route_warning(store: &Store, server: IpAddr) -> Option<&str> {
    let prefixes =
        [format!("nameserver {server} has no route: "), format!("upstream {server} has no route: ")];
    store.dns().warnings().iter().find_map(|warning| {
        prefixes.iter().find_map(|prefix| warning.strip_prefix(prefix.as_str())).map(|rest| {
            // The warning's tail says what to do; the evidence keeps the fact.
            rest.split(';').next().unwrap_or(rest)
        })
    })
}

/// What `server` is to this host: `nameserver 1 of 2`, `systemd-resolved upstream`.
fn role(config: &ResolverConfig, server: IpAddr) -> Option<String> {
    let count = config.nameservers.len();
    if let Some(index) = config.nameservers.iter().position(|ns| *ns == server) {
        return Some(format!("nameserver {} of {count}", index + 1));
    }
    config.upstreams.contains(&server).then(|| "systemd-resolved upstream".to_owned())
}

/// `options timeout:5 attempts:2 rotate`, as glibc reads them.
fn options_text(config: &ResolverConfig) -> String {
    let rotate = if rotates(config) { " rotate" } else { "" };
    format!("options timeout:{} attempts:{}{rotate}", config.timeout_s, config.attempts)
}

fn rotates(config: &ResolverConfig) -> bool {
    config.options.iter().any(|option| option == "rotate")
}

/// Seconds glibc waits for server `index` (0-based) of `count` before asking the next:
/// `timeout` for the first, `(timeout << index) / count` (at least 1) for the others
/// (`send_dg` in glibc's `res_send.c`), in every round of `attempts`.
fn glibc_wait(timeout: u32, index: usize, count: usize) -> u64 {
    let timeout = u64::from(timeout.max(1));
    if index == 0 {
        return timeout;
    }
    let count = u64::try_from(count.max(1)).unwrap_or(1);
    ((timeout << index.min(16)) / count).max(1)
}

/// The delay a timing-out `server` adds to lookups under glibc's rules.
fn glibc_delay(config: &ResolverConfig, server: IpAddr, all_dead: bool) -> String {
    let count = config.nameservers.len();
    let Some(index) = config.nameservers.iter().position(|ns| *ns == server) else {
        return "its askers wait out their own timeout on every query to it".to_owned();
    };
    let wait = glibc_wait(config.timeout_s, index, count);
    if all_dead {
        let round: u64 = (0..count).map(|i| glibc_wait(config.timeout_s, i, count)).sum();
        let total = round * u64::from(config.attempts.max(1));
        return format!(
            "every lookup fails after {total} s ({} round(s) of {round} s over {count} server(s)), for each name the search list tries",
            config.attempts.max(1)
        );
    }
    if rotates(config) {
        return format!(
            "with rotate, the queries that start at it (1 in {count}) wait {wait} s for it before the next server is asked"
        );
    }
    if index == 0 {
        let next =
            config.nameservers.get(1).map_or_else(String::new, |next| format!(" before {next} is asked"));
        return format!(
            "every query waits {wait} s (timeout:{}) for it{next}; A and AAAA go together, so each name the search list tries costs {wait} s more",
            config.timeout_s
        );
    }
    format!(
        "asked only when the {index} server(s) before it fail; then each query waits {wait} s more for it"
    )
}

/// `dns_no_nameserver`: the resolver configuration names no nameserver (glibc then
/// asks 127.0.0.1), or the local stub has no upstream server.
pub const DNS_NO_NAMESERVER: Rule = Rule {
    id: "dns_no_nameserver",
    family: "dns",
    summary: "resolv.conf names no nameserver (glibc falls back to 127.0.0.1) or the stub has no upstream",
    // DHCP clients rewrite resolv.conf by truncating it first.
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(5),
    thresholds: &[],
    evaluate: dns_no_nameserver,
};

fn dns_no_nameserver(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(config) = store.dns().config() else { return Verdict::NotApplicable };
    if !config.hosts_order.iter().any(|source| source == "dns") {
        return Verdict::Found(Vec::new());
    }
    let resolv = config
        .sources
        .first()
        .filter(|s| s.ends_with("resolv.conf"))
        .map_or("/etc/resolv.conf", String::as_str);
    if config.nameservers.is_empty() {
        return Verdict::Found(vec![no_nameserver(store, config, resolv)]);
    }
    let resolved_read = config.sources.iter().any(|source| source.ends_with("systemd/resolve/resolv.conf"));
    if config.stub && config.upstreams.is_empty() && resolved_read {
        let stub = config.nameservers.first().map(ToString::to_string).unwrap_or_default();
        return Verdict::Found(vec![Candidate {
            subject: "systemd-resolved".to_owned(),
            severity: Severity::Warning,
            title: format!("the DNS stub {stub} has no upstream server"),
            evidence: vec![
                Evidence::new(format!("nameserver in {resolv}"), format!("{stub} (systemd-resolved's stub)")),
                Evidence::new("servers in /run/systemd/resolve/resolv.conf", "none"),
            ],
            cause: "systemd-resolved knows no DNS server for any link, so it can only answer from its cache and FallbackDNS".to_owned(),
            fix: "resolvectl status  # then: resolvectl dns <interface> <server>, or fix the DHCP/NetworkManager DNS settings".to_owned(),
        }]);
    }
    Verdict::Found(Vec::new())
}

fn no_nameserver(store: &Store, config: &ResolverConfig, resolv: &str) -> Candidate {
    let listener = store.connections().has_data().then(|| {
        store.connections().iter().find(|entry| {
            let local = entry.socket.local;
            entry.closed_at.is_none()
                && local.port() == 53
                && (local.ip().is_unspecified() || local.ip() == IpAddr::from([127, 0, 0, 1]))
                && (entry.socket.protocol == Protocol::Udp || entry.socket.state == SocketState::Listen)
        })
    });
    let mut evidence = vec![
        Evidence::new(format!("nameserver lines in {resolv}"), "none"),
        Evidence::new("glibc asks instead", "127.0.0.1:53"),
    ];
    if let Some(warning) = store.dns().warnings().iter().find(|w| w.contains("glibc asks 127.0.0.1")) {
        evidence.push(Evidence::new("resolver warning", warning.clone()));
    }
    let (severity, cause) = match listener {
        Some(Some(entry)) => {
            let who = entry
                .pid
                .and_then(|pid| store.connections().process(pid))
                .map_or_else(|| "an unknown process".to_owned(), |p| format!("{} (pid {})", p.name, p.pid));
            evidence.push(Evidence::new(
                "listening on port 53",
                format!("{} {} by {who}", entry.socket.protocol.as_str(), entry.socket.local),
            ));
            (
                Severity::Info,
                format!(
                    "{resolv} names no nameserver; lookups work only because {who} happens to listen on 127.0.0.1:53"
                ),
            )
        }
        Some(None) => {
            evidence.push(Evidence::new("listening on 127.0.0.1:53", "nothing (socket table)"));
            (
                Severity::Critical,
                format!(
                    "{resolv} names no nameserver, so glibc asks 127.0.0.1:53, where nothing listens: every lookup fails at once"
                ),
            )
        }
        None => (
            Severity::Warning,
            format!(
                "{resolv} names no nameserver, so glibc asks 127.0.0.1:53; unless a local resolver listens there, every lookup fails"
            ),
        ),
    };
    let server = store
        .default_route(AddressFamily::Ipv4)
        .and_then(|route| route.gateway)
        .map_or_else(|| "<your DNS server>".to_owned(), |gateway| gateway.to_string());
    Candidate {
        subject: "resolv.conf".to_owned(),
        severity,
        title: format!(
            "no nameserver configured: {} asks 127.0.0.1",
            if config.stub { "the stub" } else { "glibc" }
        ),
        evidence,
        cause,
        fix: format!(
            "echo 'nameserver {server}' >> {resolv}  # or let the DHCP client / NetworkManager write it"
        ),
    }
}

/// `dns_server_timeout`: a nameserver leaves queries unanswered; the evidence says
/// what that costs every lookup under glibc's timeout rules.
pub const DNS_SERVER_TIMEOUT: Rule = Rule {
    id: "dns_server_timeout",
    family: "dns",
    summary: "a nameserver leaves queries unanswered, delaying or failing lookups",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(10),
    thresholds: &[
        Threshold {
            name: "timeouts",
            default: 2.0,
            doc: "unanswered queries to one server in the last minute",
        },
        Threshold {
            name: "percent",
            default: 20.0,
            doc: "share of its queries in the last minute left unanswered, in percent",
        },
    ],
    evaluate: dns_server_timeout,
};

#[expect(clippy::cast_precision_loss, reason = "query counts, a percentage")]
fn unanswered_pct(recent: RecentOutcomes) -> f64 {
    recent.timeouts as f64 * 100.0 / recent.queries.max(1) as f64
}

/// Whether the newest word on `server` is that it cannot be reached (the other rule's).
fn unreachable_now(store: &Store, server: IpAddr) -> bool {
    route_warning(store, server).is_some()
        || latest_step(store, server)
            .is_some_and(|(_, step)| matches!(outcome(step), Outcome::Unreachable(_)))
}

/// `recent` without the trace steps that failed some other way than a timeout: server
/// health counts every exchange without an answer as a timeout, a refused one too.
fn timeouts_only(store: &Store, server: IpAddr, mut recent: RecentOutcomes) -> RecentOutcomes {
    let failed = recent_traces(store)
        .flat_map(|trace| &trace.steps)
        .filter(|step| {
            step.server.ip() == server
                && step.rcode.is_none()
                && !matches!(outcome(step), Outcome::TimedOut(_))
        })
        .count();
    recent.timeouts = recent.timeouts.saturating_sub(u64::try_from(failed).unwrap_or(u64::MAX));
    recent
}

fn dns_server_timeout(store: &Store, config: &RuleConfig) -> Verdict {
    let (Some(resolver), Some(now)) = (store.dns().config(), store.updated_mono()) else {
        return Verdict::NotApplicable;
    };
    let timing_out: BTreeMap<IpAddr, RecentOutcomes> = store
        .dns()
        .servers()
        .iter()
        .map(|(server, health)| (*server, timeouts_only(store, *server, health.recent(now))))
        .filter(|(server, recent)| {
            f64::from(u32::try_from(recent.timeouts).unwrap_or(u32::MAX)) >= config.threshold("timeouts")
                && unanswered_pct(*recent) >= config.threshold("percent")
                && !unreachable_now(store, *server)
        })
        .collect();
    let all_dead = !resolver.stub
        && !resolver.nameservers.is_empty()
        && resolver.nameservers.iter().all(|ns| timing_out.contains_key(ns));
    let found = timing_out
        .iter()
        .map(|(server, recent)| timeout_candidate(store, resolver, *server, *recent, all_dead))
        .collect();
    Verdict::Found(found)
}

fn timeout_candidate(
    store: &Store,
    resolver: &ResolverConfig,
    server: IpAddr,
    recent: RecentOutcomes,
    all_dead: bool,
) -> Candidate {
    let role = role(resolver, server);
    let index = resolver.nameservers.iter().position(|ns| *ns == server);
    let delay = glibc_delay(resolver, server, all_dead);
    let mut evidence = vec![Evidence::new(
        format!("unanswered queries to {server}, last {} s", RECENT_WINDOW.whole_seconds()),
        format!("{} of {}", recent.timeouts, recent.queries),
    )];
    if let Some((trace, step)) = latest_step(store, server)
        && let Outcome::TimedOut(error) = outcome(step)
    {
        evidence.push(Evidence::new(
            format!("trace of {}: {} {} to {}", trace.name, step.candidate, step.qtype, step.server),
            error.to_owned(),
        ));
    }
    evidence.push(Evidence::new(
        "resolv.conf",
        format!("{}; {}", role.as_deref().unwrap_or("not configured here"), options_text(resolver)),
    ));
    evidence.push(Evidence::new("delay it adds", delay.clone()));
    let now = store.updated_at();
    let mut askers: Vec<String> = Vec::new();
    for query in store.dns().queries().rev() {
        if now.is_some_and(|now| now - query.at > RECENT_WINDOW) || askers.len() == 3 {
            break;
        }
        if query.server.ip() == server && query.rcode.is_none() {
            let who = query.process.clone().unwrap_or_else(|| query.client.ip().to_string());
            if !askers.contains(&who) {
                askers.push(who);
            }
        }
    }
    if !askers.is_empty() {
        evidence.push(Evidence::new("left waiting", askers.join(", ")));
    }
    let severity = if all_dead {
        Severity::Critical
    } else if index.is_none_or(|i| i == 0) || rotates(resolver) {
        Severity::Warning
    } else {
        Severity::Info
    };
    let fix = match (index, resolver.upstreams.contains(&server)) {
        (Some(_), _) => format!(
            "delete `nameserver {server}` from /etc/resolv.conf or move it last (`options timeout:1` caps the wait), or repair the server"
        ),
        (None, true) => format!(
            "resolvectl dns <interface> <working server>  # systemd-resolved asks {server}, which does not answer"
        ),
        (None, false) => format!("point whatever asks {server} at a working server, or repair it"),
    };
    Candidate {
        subject: format!("nameserver {server}"),
        severity,
        title: format!("nameserver {server} does not answer: {delay}"),
        evidence,
        cause: format!(
            "{server} leaves queries unanswered (down, filtered, or the path to it drops them), so resolvers wait out their timeout before giving up on it"
        ),
        fix,
    }
}

/// `dns_server_unreachable`: a nameserver has no route, or answers with ICMP
/// unreachable or a refused connection.
pub const DNS_SERVER_UNREACHABLE: Rule = Rule {
    id: "dns_server_unreachable",
    family: "dns",
    summary: "a nameserver has no route, or its port 53 is unreachable or refused",
    debounce: time::Duration::seconds(3),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: dns_server_unreachable,
};

fn dns_server_unreachable(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(resolver) = store.dns().config() else { return Verdict::NotApplicable };
    let mut found = Vec::new();
    let servers = resolver.nameservers.iter().chain(&resolver.upstreams);
    let mut unreachable = 0;
    for server in servers.clone() {
        let no_route = route_warning(store, *server);
        let step = latest_step(store, *server).and_then(|(trace, step)| match outcome(step) {
            Outcome::Unreachable(error) => Some((trace, step, error)),
            _ => None,
        });
        if no_route.is_none() && step.is_none() {
            continue;
        }
        unreachable += 1;
        let mut evidence = Vec::new();
        if let Some(problem) = no_route {
            evidence.push(Evidence::new(format!("route to {server}"), problem.to_owned()));
        }
        if let Some((trace, step, error)) = step {
            evidence.push(Evidence::new(
                format!("trace of {}: {} {} to {}", trace.name, step.candidate, step.qtype, step.server),
                error.to_owned(),
            ));
        }
        if let Some(egress) = egress(store, *server) {
            evidence.push(Evidence::new(format!("route lookup {server}"), egress.describe()));
        }
        evidence.push(Evidence::new("resolv.conf", role(resolver, *server).unwrap_or_default()));
        let refused = no_route.is_none() && step.is_some_and(|(_, _, error)| error.contains("refused"));
        let (cause, fix) = if refused {
            (
                format!(
                    "nothing serves DNS on {server} port 53: it answers with ICMP port unreachable (or refuses TCP), and the resolver moves on"
                ),
                format!(
                    "start the DNS server on {server} (ss -lun 'sport = :53' there), or delete `nameserver {server}` from /etc/resolv.conf"
                ),
            )
        } else {
            (
                format!(
                    "this host has no usable route to {server}: queries to it fail at once and the resolver moves on"
                ),
                format!(
                    "ip route get {server}  # then add a route to it (ip route add {server} via <gateway>) or delete `nameserver {server}` from /etc/resolv.conf"
                ),
            )
        };
        found.push(Candidate {
            subject: format!("nameserver {server}"),
            severity: Severity::Warning,
            title: format!(
                "nameserver {server} is unreachable: {}",
                if refused { "port 53 refused" } else { "no route" }
            ),
            evidence,
            cause,
            fix,
        });
    }
    if unreachable > 0 && unreachable == servers.count() {
        for candidate in &mut found {
            candidate.severity = Severity::Critical;
        }
    }
    Verdict::Found(found)
}

/// `dns_outside_tunnel`: the default path goes through a tunnel but a nameserver is
/// routed outside it, so lookups leak.
pub const DNS_OUTSIDE_TUNNEL: Rule = Rule {
    id: "dns_outside_tunnel",
    family: "dns",
    summary: "the default path uses a tunnel but a nameserver is routed outside it (DNS leak)",
    // VPN clients set routes first and resolv.conf a moment later.
    debounce: time::Duration::seconds(5),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: dns_outside_tunnel,
};

fn dns_outside_tunnel(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(config) = store.dns().config() else { return Verdict::NotApplicable };
    if store.interface_count() == 0 || store.paths().is_empty() {
        return Verdict::NotApplicable;
    }
    let now = store.updated_mono();
    // Behind a stub, the upstreams it actually asked lately are what leave the host.
    let servers: Vec<IpAddr> = if config.stub {
        let used = |server: &IpAddr| {
            let health = store.dns().servers().get(server);
            now.zip(health).is_some_and(|(now, health)| health.recent(now).queries > 0)
        };
        config.upstreams.iter().copied().filter(used).collect()
    } else {
        config.nameservers.clone()
    };
    let mut found = Vec::new();
    for server in servers {
        let family = AddressFamily::of(&server);
        let Some(path) = default_path(store, family) else { continue };
        let Some(tunnel) = path.interface.as_deref().filter(|via| tunnel_named(store, via)) else { continue };
        let Some(route) = egress(store, server) else { continue };
        let Some(via) = route.route.interface.as_deref() else { continue };
        if route.route.route_type != RouteType::Unicast
            || route.route.is_default()
            || tunnel_named(store, via)
        {
            continue;
        }
        let mode = path.tunnel.map_or("tunnel", |mode| mode.as_str());
        found.push(Candidate {
            subject: format!("nameserver {server}"),
            severity: Severity::Warning,
            title: format!("DNS leaks: nameserver {server} is reached via {via}, outside the tunnel {tunnel}"),
            evidence: vec![
                Evidence::new(format!("path {}", path.target), format!("via {tunnel} ({mode} tunnel)")),
                Evidence::new(format!("route to {server}"), route.describe()),
                Evidence::new("resolv.conf", role(config, server).unwrap_or_default()),
            ],
            cause: format!(
                "everything else goes through {tunnel}, but the route {} dev {via} is more specific for {server}, so every lookup (the names this host visits) leaves via {via}, unencrypted",
                route.route.destination_text()
            ),
            fix: if config.stub {
                format!("resolvectl dns {tunnel} <the VPN's DNS server>; resolvectl domain {tunnel} '~.'")
            } else {
                format!("use the VPN's DNS server: replace `nameserver {server}` in /etc/resolv.conf with it (or let the VPN client manage resolv.conf)")
            },
        });
    }
    Verdict::Found(found)
}

#[path = "dns_names.rs"]
mod names;
pub use names::{DNS_HOSTS_OVERRIDE, DNS_SEARCH_AMPLIFICATION};

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
