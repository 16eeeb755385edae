//! The system's own answer, and why it may differ from the trace.
//!
//! [`getaddrinfo`] asks the C library the way most programs do (`AF_UNSPEC`,
//! `SOCK_STREAM`, `AI_ADDRCONFIG`): through nsswitch (hosts file, systemd-resolved,
//! mDNS…), with gai.conf sorting. [`differences`] compares that with the traced DNS
//! answer and names the likely cause of each mismatch.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Instant;

use crate::model::{HostsEntry, ResolverConfig, SystemAnswer};

/// `getaddrinfo(name, AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG)`. Blocking: run it on a
/// blocking thread.
#[must_use]
pub fn getaddrinfo(name: &str) -> SystemAnswer {
    let hints = dns_lookup::AddrInfoHints {
        flags: libc::AI_ADDRCONFIG,
        address: libc::AF_UNSPEC,
        socktype: libc::SOCK_STREAM,
        protocol: 0,
    };
    let start = Instant::now();
    let result = dns_lookup::getaddrinfo(Some(name), None, Some(hints));
    let mut addresses = Vec::new();
    let error = match result {
        Ok(entries) => {
            for entry in entries.flatten() {
                let address = entry.sockaddr.ip();
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
            None
        }
        Err(error) => Some(gai_error(error.error_num())),
    };
    SystemAnswer { addresses, error, latency_ms: start.elapsed().as_secs_f64() * 1_000.0 }
}

/// The `EAI_*` name and glibc's sentence for it.
fn gai_error(code: i32) -> String {
    let name = match code {
        libc::EAI_NONAME => "EAI_NONAME: name or service not known",
        libc::EAI_AGAIN => "EAI_AGAIN: temporary failure in name resolution",
        libc::EAI_FAIL => "EAI_FAIL: non-recoverable failure in name resolution",
        libc::EAI_NODATA => "EAI_NODATA: no address associated with hostname",
        libc::EAI_MEMORY => "EAI_MEMORY: out of memory",
        libc::EAI_SYSTEM => "EAI_SYSTEM: system error",
        _ => return format!("getaddrinfo error {code}"),
    };
    name.to_owned()
}

/// Which families `AI_ADDRCONFIG` lets through. glibc's Linux `__check_pf` counts
/// any IPv4 address but 127.0.0.1 and any IPv6 address but `::1` — link-local `fe80::`
/// included, so a host with only link-local IPv6 still gets AAAA answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrConfig {
    /// An IPv4 address other than 127.0.0.1 exists.
    pub ipv4: bool,
    /// An IPv6 address other than `::1` exists.
    pub ipv6: bool,
}

impl AddrConfig {
    /// From the host's addresses.
    #[must_use]
    pub fn from_addresses(addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        let mut config = Self::default();
        for address in addresses {
            match address {
                IpAddr::V4(v4) if v4 != std::net::Ipv4Addr::LOCALHOST => config.ipv4 = true,
                IpAddr::V6(v6) if !v6.is_loopback() => config.ipv6 = true,
                _ => {}
            }
        }
        config
    }
}

/// What the difference analysis looks at.
#[derive(Debug, Clone, Copy)]
pub struct Comparison<'a> {
    /// The name as typed.
    pub name: &'a str,
    /// The trace's candidates (hosts-file entries may match any of them).
    pub candidates: &'a [String],
    /// The trace's addresses.
    pub traced: &'a [IpAddr],
    /// The trace's error.
    pub traced_error: Option<&'a str>,
    /// What getaddrinfo said.
    pub system: &'a SystemAnswer,
    /// The resolver configuration.
    pub config: &'a ResolverConfig,
    /// `/etc/hosts`.
    pub hosts: &'a [HostsEntry],
    /// The families `AI_ADDRCONFIG` allows.
    pub addrconfig: AddrConfig,
}

/// Each disagreement between the trace and the system answer, with its likely cause.
#[must_use]
pub fn differences(c: &Comparison<'_>) -> Vec<String> {
    let traced: BTreeSet<IpAddr> = c.traced.iter().copied().collect();
    let system: BTreeSet<IpAddr> = c.system.addresses.iter().copied().collect();
    if traced == system && c.traced_error.is_some() == c.system.error.is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let dns_position = c.config.hosts_order.iter().position(|source| source == "dns");
    let before_dns: Vec<&str> = c
        .config
        .hosts_order
        .iter()
        .take(dns_position.unwrap_or(c.config.hosts_order.len()))
        .map(String::as_str)
        .collect();
    let lowered = c.name.trim().trim_end_matches('.').to_lowercase();
    let in_hosts: Vec<IpAddr> = c
        .hosts
        .iter()
        .filter(|entry| {
            entry
                .names
                .iter()
                .any(|host| *host == lowered || c.candidates.iter().any(|candidate| candidate == host))
        })
        .map(|entry| entry.address)
        .collect();
    if !in_hosts.is_empty() && before_dns.contains(&"files") {
        let from_hosts: Vec<String> =
            in_hosts.iter().filter(|address| system.contains(address)).map(ToString::to_string).collect();
        if !from_hosts.is_empty() {
            // A hosts-file match ends the lookup: DNS was never asked, so nothing the
            // trace found shows up, and that needs no other explanation.
            out.push(format!(
                "system answer {} comes from the hosts file, which nsswitch.conf consults before DNS",
                from_hosts.join(", ")
            ));
            return out;
        }
    }
    if dns_position.is_none() {
        out.push(
            "nsswitch.conf `hosts:` has no `dns`: programs never ask the DNS servers traced here".to_owned(),
        );
        return out;
    }
    let only_traced: Vec<IpAddr> = traced.difference(&system).copied().collect();
    let only_system: Vec<IpAddr> = system.difference(&traced).copied().collect();
    let v6_dropped: Vec<String> =
        only_traced.iter().filter(|address| address.is_ipv6()).map(ToString::to_string).collect();
    let v4_dropped: Vec<String> =
        only_traced.iter().filter(|address| address.is_ipv4()).map(ToString::to_string).collect();
    let mut unexplained_traced: Vec<String> = Vec::new();
    if !v6_dropped.is_empty() && !c.addrconfig.ipv6 && system.iter().all(IpAddr::is_ipv4) {
        out.push(format!(
            "system answer lacks AAAA {}: AI_ADDRCONFIG dropped IPv6 (this host has no IPv6 address besides ::1)",
            v6_dropped.join(", ")
        ));
    } else {
        unexplained_traced.extend(v6_dropped);
    }
    if !v4_dropped.is_empty() && !c.addrconfig.ipv4 && system.iter().all(IpAddr::is_ipv6) {
        out.push(format!(
            "system answer lacks A {}: AI_ADDRCONFIG dropped IPv4 (this host has no IPv4 address besides loopback)",
            v4_dropped.join(", ")
        ));
    } else {
        unexplained_traced.extend(v4_dropped);
    }
    let others: Vec<&str> = before_dns.iter().copied().filter(|source| *source != "files").collect();
    let cause = if others.is_empty() {
        "the answers changed between the two lookups, or the system resolver uses other settings".to_owned()
    } else {
        format!("nsswitch.conf asks {} before dns", others.join(", "))
    };
    if !only_system.is_empty() {
        let list: Vec<String> = only_system.iter().map(ToString::to_string).collect();
        out.push(format!("only the system answer has {}: {cause}", list.join(", ")));
    }
    if !unexplained_traced.is_empty() {
        out.push(format!("only the trace has {}: {cause}", unexplained_traced.join(", ")));
    }
    match (c.traced_error, &c.system.error) {
        (Some(error), None) if !system.is_empty() && out.is_empty() => {
            out.push(format!("the trace failed ({error}) but the system resolved the name: {cause}"));
        }
        (None, Some(error)) if out.is_empty() => {
            out.push(format!("the trace resolved the name but the system failed ({error}): {cause}"));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn answer(addresses: &[&str]) -> SystemAnswer {
        SystemAnswer { addresses: addresses.iter().map(|a| ip(a)).collect(), error: None, latency_ms: 1.0 }
    }

    fn compare(
        traced: &[&str],
        system: &SystemAnswer,
        config: &ResolverConfig,
        hosts: &[HostsEntry],
        v6: bool,
    ) -> Vec<String> {
        let traced: Vec<IpAddr> = traced.iter().map(|a| ip(a)).collect();
        differences(&Comparison {
            name: "db",
            candidates: &["db.corp.test".to_owned(), "db".to_owned()],
            traced: &traced,
            traced_error: None,
            system,
            config,
            hosts,
            addrconfig: AddrConfig { ipv4: true, ipv6: v6 },
        })
    }

    #[test]
    fn equal_answers_in_any_order_are_no_difference() {
        let config = ResolverConfig::default();
        assert!(
            compare(&["10.0.0.5", "2001:db8::5"], &answer(&["2001:db8::5", "10.0.0.5"]), &config, &[], true)
                .is_empty()
        );
    }

    #[test]
    fn the_hosts_file_is_named() {
        let config = ResolverConfig::default();
        let hosts = [HostsEntry { address: ip("10.9.9.9"), names: vec!["db".into()] }];
        let found = compare(&["10.0.0.5"], &answer(&["10.9.9.9"]), &config, &hosts, true);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("10.9.9.9 comes from the hosts file"), "{found:?}");
    }

    #[test]
    fn addrconfig_explains_a_missing_aaaa() {
        let config = ResolverConfig::default();
        let found = compare(&["10.0.0.5", "2001:db8::5"], &answer(&["10.0.0.5"]), &config, &[], false);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("AI_ADDRCONFIG dropped IPv6"), "{found:?}");
        // With a global IPv6 address AI_ADDRCONFIG is not the cause.
        let found = compare(&["10.0.0.5", "2001:db8::5"], &answer(&["10.0.0.5"]), &config, &[], true);
        assert!(found[0].contains("only the trace has 2001:db8::5"), "{found:?}");
    }

    #[test]
    fn nsswitch_sources_before_dns_are_named() {
        let config = ResolverConfig {
            hosts_order: vec!["files".into(), "mdns4_minimal".into(), "resolve".into(), "dns".into()],
            ..ResolverConfig::default()
        };
        let found = compare(&["10.0.0.5"], &answer(&["10.0.0.7"]), &config, &[], true);
        assert!(
            found.iter().any(|d| d.contains(
                "only the system answer has 10.0.0.7: nsswitch.conf asks mdns4_minimal, resolve before dns"
            )),
            "{found:?}"
        );
        let no_dns = ResolverConfig {
            hosts_order: vec!["files".into(), "resolve".into()],
            ..ResolverConfig::default()
        };
        let found = compare(&["10.0.0.5"], &answer(&["10.0.0.7"]), &no_dns, &[], true);
        assert!(found.iter().any(|d| d.contains("has no `dns`")), "{found:?}");
    }

    #[test]
    fn addrconfig_counts_what_glibc_counts() {
        let config = AddrConfig::from_addresses([ip("127.0.0.1"), ip("::1")]);
        assert_eq!(config, AddrConfig { ipv4: false, ipv6: false });
        // Link-local IPv6 and other loopback IPv4 addresses count, as in __check_pf.
        let config = AddrConfig::from_addresses([ip("127.0.0.2"), ip("fe80::1")]);
        assert_eq!(config, AddrConfig { ipv4: true, ipv6: true });
        let config = AddrConfig::from_addresses([ip("10.0.0.1"), ip("2001:db8::1")]);
        assert_eq!(config, AddrConfig { ipv4: true, ipv6: true });
    }

    #[test]
    fn numeric_names_go_through_the_real_library() {
        // A numeric host never reaches nsswitch or the network.
        let found = getaddrinfo("127.0.0.1");
        assert!(found.error.is_none(), "{found:?}");
        assert_eq!(found.addresses, [ip("127.0.0.1")]);
    }
}
