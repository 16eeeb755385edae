//! The host's resolver configuration (DESIGN.md §4 `dns.config`), as read from
//! resolv.conf, nsswitch.conf, hosts and gai.conf.

use std::net::IpAddr;

use serde::Serialize;

/// How this host turns names into addresses, per its configuration files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolverConfig {
    /// Nameservers glibc uses, in order (at most three).
    pub nameservers: Vec<IpAddr>,
    /// Search domains, in order (`search`, or the last `domain`).
    pub search: Vec<String>,
    /// Dots a name needs before it is tried as-is first (`options ndots:`).
    pub ndots: u8,
    /// Seconds to wait for one server (`options timeout:`).
    pub timeout_s: u32,
    /// Rounds over the server list (`options attempts:`).
    pub attempts: u32,
    /// Every option in effect, as written (`rotate`, `edns0`, `ndots:2`, …).
    pub options: Vec<String>,
    /// The nameserver is a local stub (systemd-resolved's 127.0.0.53 or 127.0.0.54).
    pub stub: bool,
    /// The stub's upstream servers, from `/run/systemd/resolve/resolv.conf`.
    pub upstreams: Vec<IpAddr>,
    /// Sources of the `hosts` database in nsswitch order (`files`, `dns`, `resolve`, …).
    pub hosts_order: Vec<String>,
    /// Files read, in the order read.
    pub sources: Vec<String>,
}

impl Default for ResolverConfig {
    /// glibc's defaults with no resolv.conf: ndots 1, timeout 5 s, 2 attempts, and
    /// `files dns` for hosts.
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout_s: 5,
            attempts: 2,
            options: Vec::new(),
            stub: false,
            upstreams: Vec::new(),
            hosts_order: vec!["files".to_owned(), "dns".to_owned()],
            sources: Vec::new(),
        }
    }
}

/// One `/etc/hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostsEntry {
    /// The address.
    pub address: IpAddr,
    /// Canonical name, then aliases, lower case.
    pub names: Vec<String>,
}
