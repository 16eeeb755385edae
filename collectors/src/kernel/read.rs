//! One reading of every counter file, from the calling thread's namespace.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::parse;
use crate::model::{Conntrack, KernelCounters};

/// Where the counter files are: the calling thread's `/proc/thread-self/net` and
/// `/proc/sys` by default (both follow the thread's network namespace, where the
/// kernel keeps a copy per namespace), another tree in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterFiles {
    /// The `net` directory (`snmp`, `netstat`, …).
    pub net: PathBuf,
    /// The `sys` directory (`fs/file-nr`, `net/…`).
    pub sys: PathBuf,
    /// The namespace file whose inode names the namespace.
    pub netns: PathBuf,
}

impl Default for CounterFiles {
    fn default() -> Self {
        Self {
            net: PathBuf::from("/proc/thread-self/net"),
            sys: PathBuf::from("/proc/sys"),
            netns: PathBuf::from("/proc/thread-self/ns/net"),
        }
    }
}

/// A file's text, or `None` when it is missing or unreadable: a missing file (IPv6
/// off, conntrack not loaded) leaves its part of the reading empty.
fn text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Read every counter file once (blocking; about 20 µs of file reads).
#[must_use]
pub fn read(files: &CounterFiles) -> KernelCounters {
    let mut counters = KernelCounters {
        netns: std::fs::metadata(&files.netns).map_or(0, |meta| meta.ino()),
        ..KernelCounters::default()
    };
    let net = |name: &str| text(&files.net.join(name));
    if let Some(snmp) = net("snmp") {
        parse::tables(&snmp, &mut counters.snmp);
    }
    if let Some(snmp6) = net("snmp6") {
        parse::snmp6(&snmp6, &mut counters.snmp);
    }
    if let Some(netstat) = net("netstat") {
        parse::tables(&netstat, &mut counters.netstat);
    }
    if let Some(softnet) = net("softnet_stat") {
        counters.softnet = parse::softnet(&softnet);
    }
    for name in ["sockstat", "sockstat6"] {
        if let Some(sockstat) = net(name) {
            parse::sockstat(&sockstat, &mut counters.sockstat);
        }
    }
    let sys = |name: &str| text(&files.sys.join(name));
    let count = sys("net/netfilter/nf_conntrack_count").as_deref().and_then(parse::number);
    let max = sys("net/netfilter/nf_conntrack_max").as_deref().and_then(parse::number);
    counters.conntrack = count.zip(max).map(|(count, max)| Conntrack { count, max });
    counters.files = sys("fs/file-nr").as_deref().and_then(parse::file_nr);
    counters.port_range = sys("net/ipv4/ip_local_port_range").as_deref().and_then(parse::port_range);
    counters.rp_filter = rp_filter(&files.sys.join("net/ipv4/conf"));
    counters
}

/// `rp_filter` of every directory under `net/ipv4/conf` (interfaces, `all`, `default`).
fn rp_filter(conf: &Path) -> std::collections::BTreeMap<String, u8> {
    let Ok(entries) = std::fs::read_dir(conf) else {
        return std::collections::BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let value = text(&entry.path().join("rp_filter"))?.trim().parse().ok()?;
            Some((entry.file_name().to_string_lossy().into_owned(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with only some files: what is missing stays empty, the rest is read.
    #[test]
    fn missing_files_leave_their_part_empty() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let net = root.path().join("net");
        let sys = root.path().join("sys");
        std::fs::create_dir_all(&net).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(sys.join("fs")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(net.join("snmp"), "Tcp: RetransSegs\nTcp: 7\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(sys.join("fs/file-nr"), "10 0 100\n").unwrap_or_else(|e| panic!("{e}"));
        let files = CounterFiles { net, sys, netns: root.path().join("absent") };
        let counters = read(&files);
        assert_eq!(counters.snmp.get("TcpRetransSegs"), Some(&7));
        assert!(counters.netstat.is_empty() && counters.softnet.is_empty() && counters.sockstat.is_empty());
        assert_eq!(counters.conntrack, None, "no conntrack module: not applicable, not zero");
        assert_eq!(counters.files.map(|files| files.allocated), Some(10));
        assert_eq!(counters.port_range, None);
        assert_eq!(counters.netns, 0);
    }

    /// This thread's own reading: the namespace has a number and the tables are there.
    #[test]
    fn reads_this_namespace() {
        let counters = read(&CounterFiles::default());
        assert_ne!(counters.netns, 0);
        assert!(
            counters.snmp.contains_key("TcpActiveOpens"),
            "{:?}",
            counters.snmp.keys().take(5).collect::<Vec<_>>()
        );
        assert!(counters.netstat.contains_key("TcpExtListenOverflows"));
        assert!(!counters.softnet.is_empty());
        assert!(counters.sockstat.contains_key("TCP.inuse"));
        assert!(counters.files.is_some_and(|files| files.max > 0));
        assert!(counters.port_range.is_some_and(|range| range.size() > 0));
        assert!(counters.rp_filter.contains_key("all") && counters.rp_filter.contains_key("lo"));
        let (lo, all) = (counters.rp_filter["lo"], counters.rp_filter["all"]);
        assert_eq!(counters.effective_rp_filter("lo"), Some(lo.max(all)));
    }
}
