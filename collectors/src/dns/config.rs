//! Reading the resolver configuration the way glibc does: `resolv.conf` (with its
//! limits and silent fallbacks made visible as warnings), the `hosts` line of
//! `nsswitch.conf`, and `/etc/hosts`. Pure: the caller reads the files, so every rule
//! is tested from text.

use std::net::IpAddr;

use crate::model::{HostsEntry, ResolverConfig};

/// glibc uses at most this many nameservers (`MAXNS`).
pub const MAX_NAMESERVERS: usize = 3;
/// Largest `ndots` glibc accepts (`RES_MAXNDOTS`).
const MAX_NDOTS: u8 = 15;
/// Largest `timeout` glibc accepts (`RES_MAXRETRANS`).
const MAX_TIMEOUT_S: u32 = 30;
/// Largest `attempts` glibc accepts (`RES_MAXRETRY`).
const MAX_ATTEMPTS: u32 = 5;
/// systemd-resolved's stub listeners.
const STUBS: [&str; 2] = ["127.0.0.53", "127.0.0.54"];

/// What `resolv.conf` says, plus what looked wrong in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The configuration glibc would use.
    pub config: ResolverConfig,
    /// Lines glibc ignores or limits it applies, in words, with the line number.
    pub warnings: Vec<String>,
}

/// Parse `resolv.conf` text named `path` (for the warnings).
#[must_use]
pub fn parse_resolv_conf(path: &str, text: &str) -> Parsed {
    let mut config = ResolverConfig { sources: vec![path.to_owned()], ..ResolverConfig::default() };
    let mut warnings = Vec::new();
    let mut all_servers: Vec<IpAddr> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let mut words = line.split_whitespace();
        let keyword = words.next().unwrap_or_default();
        match keyword {
            "nameserver" => match words.next().and_then(parse_server) {
                Some(server) => all_servers.push(server),
                None => warnings
                    .push(format!("{path} line {number}: `{line}` is not a nameserver address (ignored)")),
            },
            // The last of `domain` and `search` wins, as in glibc.
            "domain" => config.search = words.next().map(normalize_domain).into_iter().collect(),
            "search" => config.search = words.map(normalize_domain).collect(),
            "options" => {
                for option in words {
                    apply_option(&mut config, option, path, number, &mut warnings);
                }
            }
            "sortlist" => {}
            other => warnings
                .push(format!("{path} line {number}: unknown keyword `{other}` (ignored, as glibc does)")),
        }
    }
    if all_servers.len() > MAX_NAMESERVERS {
        let ignored: Vec<String> = all_servers[MAX_NAMESERVERS..].iter().map(ToString::to_string).collect();
        warnings.push(format!(
            "{path}: {} nameservers; glibc uses only the first {MAX_NAMESERVERS} and ignores {}",
            all_servers.len(),
            ignored.join(", ")
        ));
    }
    all_servers.truncate(MAX_NAMESERVERS);
    config.nameservers = all_servers;
    config.stub = config.nameservers.iter().any(|server| STUBS.contains(&server.to_string().as_str()));
    if config.nameservers.is_empty() {
        warnings.push(format!("{path}: no nameserver; glibc falls back to 127.0.0.1"));
    }
    if config.ndots > 1 && config.search.len() > 1 {
        warnings.push(format!(
            "ndots:{} with {} search domains: a name with fewer than {} dots costs up to {} queries per type before it is tried as written",
            config.ndots,
            config.search.len(),
            config.ndots,
            config.search.len()
        ));
    }
    for domain in &config.search {
        if domain.ends_with("in-addr.arpa") || domain.ends_with("ip6.arpa") {
            warnings.push(format!(
                "reverse zone {domain} in the search list: short names are looked up inside it"
            ));
        }
    }
    Parsed { config, warnings }
}

/// `fe80::1%eth0` keeps only the address (the scope is the interface's business).
fn parse_server(text: &str) -> Option<IpAddr> {
    text.split('%').next()?.parse().ok()
}

fn normalize_domain(domain: &str) -> String {
    domain.trim_end_matches('.').to_lowercase()
}

fn apply_option(
    config: &mut ResolverConfig,
    option: &str,
    path: &str,
    number: usize,
    warnings: &mut Vec<String>,
) {
    let (name, value) = option.split_once(':').map_or((option, None), |(name, value)| (name, Some(value)));
    let number_value = |max: u32| value.and_then(|v| v.parse::<u32>().ok()).map(|v| v.min(max));
    let known = match name {
        "ndots" => {
            number_value(u32::from(MAX_NDOTS)).map(|v| config.ndots = u8::try_from(v).unwrap_or(MAX_NDOTS))
        }
        "timeout" => number_value(MAX_TIMEOUT_S).map(|v| config.timeout_s = v.max(1)),
        "attempts" => number_value(MAX_ATTEMPTS).map(|v| config.attempts = v.max(1)),
        "rotate"
        | "edns0"
        | "single-request"
        | "single-request-reopen"
        | "use-vc"
        | "trust-ad"
        | "no-aaaa"
        | "no-tld-query"
        | "no-reload"
        | "inet6"
        | "debug"
        | "no-check-names"
        | "ip6-bytestring"
        | "ip6-dotint"
        | "no-ip6-dotint"
        | "insecure1"
        | "insecure2" => Some(()),
        _ => None,
    };
    match known {
        Some(()) => {
            config.options.retain(|existing| existing.split(':').next() != Some(name));
            config.options.push(option.to_owned());
        }
        None => {
            warnings.push(format!("{path} line {number}: unknown or malformed option `{option}` (ignored)"));
        }
    }
}

/// The sources of the `hosts` database from `nsswitch.conf`, e.g. `files`, `resolve`,
/// `dns`, without the `[NOTFOUND=return]` actions; glibc's default when absent.
#[must_use]
pub fn parse_nsswitch_hosts(text: &str) -> Vec<String> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(rest) = line.strip_prefix("hosts:") {
            return rest
                .split_whitespace()
                .filter(|word| !word.starts_with('['))
                .map(str::to_owned)
                .collect();
        }
    }
    ResolverConfig::default().hosts_order
}

/// The rules of `gai.conf` (`label`, `precedence`, `scopev4`, `reload`), comments
/// and blank lines dropped; unknown lines are warnings, as glibc ignores them.
#[must_use]
pub fn parse_gai_conf(path: &str, text: &str) -> (Vec<String>, Vec<String>) {
    let mut rules = Vec::new();
    let mut warnings = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let well_formed = match words.first().copied() {
            Some("label" | "precedence" | "scopev4") => words.len() == 3,
            Some("reload") => words.len() == 2,
            _ => false,
        };
        if well_formed {
            rules.push(words.join(" "));
        } else {
            warnings.push(format!("{path} line {}: `{line}` is not a gai.conf rule (ignored)", index + 1));
        }
    }
    (rules, warnings)
}

/// The entries of a hosts file; malformed lines are skipped.
#[must_use]
pub fn parse_hosts(text: &str) -> Vec<HostsEntry> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let address = parse_server(words.next()?)?;
            let names: Vec<String> = words.map(normalize_domain).collect();
            (!names.is_empty()).then_some(HostsEntry { address, names })
        })
        .collect()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    #[test]
    fn glibc_limits_and_defaults() {
        let parsed = parse_resolv_conf(
            "/etc/resolv.conf",
            "# comment\n; also\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver 10.0.0.3\n\
             nameserver 10.0.0.4\ndomain old.test\nsearch Corp.Test. lab.test\n\
             options ndots:2 timeout:60 attempts:3 rotate edns0 bogus ndots:x\nfrobnicate yes\n",
        );
        let config = &parsed.config;
        assert_eq!(config.nameservers.len(), 3);
        assert_eq!(config.nameservers[1], "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(config.search, ["corp.test", "lab.test"]);
        assert_eq!(config.ndots, 2);
        assert_eq!(config.timeout_s, 30, "capped as glibc caps it");
        assert_eq!(config.attempts, 3);
        assert!(config.options.contains(&"rotate".to_owned()));
        let warnings = parsed.warnings.join("\n");
        for expected in [
            "4 nameservers; glibc uses only the first 3 and ignores 10.0.0.4",
            "line 9: unknown or malformed option `bogus`",
            "line 9: unknown or malformed option `ndots:x`",
            "line 10: unknown keyword `frobnicate`",
            "ndots:2 with 2 search domains",
        ] {
            assert!(warnings.contains(expected), "missing {expected:?} in:\n{warnings}");
        }
    }

    #[test]
    fn empty_files_fall_back_like_glibc() {
        let parsed = parse_resolv_conf("/etc/resolv.conf", "");
        assert_eq!(parsed.config.ndots, 1);
        assert_eq!(parsed.config.timeout_s, 5);
        assert_eq!(parsed.config.attempts, 2);
        assert!(parsed.warnings[0].contains("no nameserver; glibc falls back to 127.0.0.1"));
    }

    #[test]
    fn the_last_of_domain_and_search_wins_and_stubs_are_seen() {
        let parsed = parse_resolv_conf("r", "search a.test b.test\ndomain c.test\nnameserver 127.0.0.53\n");
        assert_eq!(parsed.config.search, ["c.test"]);
        assert!(parsed.config.stub);
        let reverse = parse_resolv_conf("r", "nameserver 1.1.1.1\nsearch 10.in-addr.arpa\n");
        assert!(reverse.warnings.iter().any(|w| w.contains("reverse zone 10.in-addr.arpa")));
    }

    #[test]
    fn gai_rules_and_garbage() {
        let (rules, warnings) = parse_gai_conf(
            "/etc/gai.conf",
            "# comment\n#precedence ::ffff:0:0/96  100\nprecedence  ::ffff:0:0/96  100 # prefer v4\nlabel x\n",
        );
        assert_eq!(rules, ["precedence ::ffff:0:0/96 100"]);
        assert_eq!(warnings, ["/etc/gai.conf line 4: `label x` is not a gai.conf rule (ignored)"]);
    }

    #[test]
    fn nsswitch_and_hosts() {
        let order = parse_nsswitch_hosts(
            "passwd: files\nhosts:  files mdns4_minimal [NOTFOUND=return] resolve dns # x\n",
        );
        assert_eq!(order, ["files", "mdns4_minimal", "resolve", "dns"]);
        assert_eq!(parse_nsswitch_hosts(""), ["files", "dns"]);
        let hosts = parse_hosts(
            "127.0.0.1 localhost\n10.0.0.5 DB.internal db # comment\nbroken\n::1 ip6-localhost\n",
        );
        assert_eq!(hosts.len(), 3);
        assert_eq!(hosts[1].names, ["db.internal", "db"]);
    }
}
