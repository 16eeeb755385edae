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

/// Reads files into one buffer, reused from file to file.
///
/// Hand-rolled, measured (strace and perf over `examples/kernel_source_cpu.rs`):
/// `read_to_string` asks for the size first (statx, lseek), which procfs reports as 0,
/// then grows from a 32-byte probe; and a fresh 16 KiB buffer per file cost malloc
/// consolidation on every free. One buffer the size of the largest file (`snmp6`,
/// `netstat`: 5-8 KiB) takes one read and the EOF, and no size query.
struct Reader {
    bytes: Vec<u8>,
}

impl Reader {
    fn new() -> Self {
        Self { bytes: vec![0; 16 * 1024] }
    }

    /// A file's text, or `None` when it is missing or unreadable: a missing file (IPv6
    /// off, conntrack not loaded) leaves its part of the reading empty.
    fn text(&mut self, path: &Path) -> Option<&str> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path).ok()?;
        let mut len = 0;
        loop {
            match file.read(&mut self.bytes[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
            if len == self.bytes.len() {
                self.bytes.resize(len * 2, 0);
            }
        }
        std::str::from_utf8(&self.bytes[..len]).ok()
    }
}

/// Read every counter file once (blocking, but procfs serves it from memory: about
/// 20 files, a few hundred µs).
#[must_use]
pub fn read(files: &CounterFiles) -> KernelCounters {
    let mut reader = Reader::new();
    let mut counters = read_counters(files, &mut reader);
    counters.netns = std::fs::metadata(&files.netns).map_or(0, |meta| meta.ino());
    let max = reader.text(&files.sys.join("net/netfilter/nf_conntrack_max")).and_then(parse::number);
    counters.conntrack = counters.conntrack.zip(max).map(|(count, max)| Conntrack { max, ..count });
    counters.port_range =
        reader.text(&files.sys.join("net/ipv4/ip_local_port_range")).and_then(parse::port_range);
    counters.rp_filter = rp_filter(&files.sys.join("net/ipv4/conf"), &mut reader);
    counters
}

/// Read again only what changes between readings (the counters, the tables' fill),
/// keeping the settings an administrator changes by hand (`nf_conntrack_max`, the
/// port range, `rp_filter`) from `previous`: half the files of [`read`]. A conntrack
/// module loaded since `previous` shows at the next full reading. The namespace is
/// `previous`'s too: a process inside a namespace holds it, so it cannot be re-created
/// under the reader (and asking nsfs cost a tenth of a reading, by perf).
#[must_use]
pub fn read_again(files: &CounterFiles, previous: &KernelCounters) -> KernelCounters {
    let mut counters = read_counters(files, &mut Reader::new());
    counters.netns = previous.netns;
    counters.conntrack =
        counters.conntrack.zip(previous.conntrack).map(|(count, then)| Conntrack { max: then.max, ..count });
    counters.port_range = previous.port_range;
    counters.rp_filter.clone_from(&previous.rp_filter);
    counters
}

/// `pairs` as a map (the last of equal names wins, as inserting them would), emptied.
fn sorted(pairs: &mut Vec<(String, i64)>) -> std::collections::BTreeMap<String, i64> {
    pairs.drain(..).collect()
}

/// The counter files and the tables' fill; `conntrack.max` is left 0.
fn read_counters(files: &CounterFiles, reader: &mut Reader) -> KernelCounters {
    let mut counters = KernelCounters::default();
    // Collected in file order, then built sorted in one pass: a third of the cost of
    // inserting 400 counters one by one (perf, examples/kernel_source_cpu.rs).
    let mut pairs = Vec::with_capacity(512);
    if let Some(snmp) = reader.text(&files.net.join("snmp")) {
        parse::tables(snmp, &mut pairs);
    }
    if let Some(snmp6) = reader.text(&files.net.join("snmp6")) {
        parse::snmp6(snmp6, &mut pairs);
    }
    counters.snmp = sorted(&mut pairs);
    if let Some(netstat) = reader.text(&files.net.join("netstat")) {
        parse::tables(netstat, &mut pairs);
    }
    counters.netstat = sorted(&mut pairs);
    if let Some(softnet) = reader.text(&files.net.join("softnet_stat")) {
        counters.softnet = parse::softnet(softnet);
    }
    for name in ["sockstat", "sockstat6"] {
        if let Some(sockstat) = reader.text(&files.net.join(name)) {
            parse::sockstat(sockstat, &mut counters.sockstat);
        }
    }
    let count = reader.text(&files.sys.join("net/netfilter/nf_conntrack_count")).and_then(parse::number);
    counters.conntrack = count.map(|count| Conntrack { count, max: 0 });
    counters.files = reader.text(&files.sys.join("fs/file-nr")).and_then(parse::file_nr);
    counters
}

/// `rp_filter` of every directory under `net/ipv4/conf` (interfaces, `all`, `default`).
fn rp_filter(conf: &Path, reader: &mut Reader) -> std::collections::BTreeMap<String, u8> {
    let Ok(entries) = std::fs::read_dir(conf) else {
        return std::collections::BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let value = reader.text(&entry.path().join("rp_filter"))?.trim().parse().ok()?;
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

    /// A second reading keeps the hand-set settings and reads the counters afresh.
    #[test]
    fn reading_again_keeps_the_settings_and_refreshes_the_counters() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (net, sys) = (root.path().join("net"), root.path().join("sys"));
        std::fs::create_dir_all(&net).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(sys.join("net/netfilter")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(sys.join("net/ipv4/conf/eth0")).unwrap_or_else(|e| panic!("{e}"));
        let write = |path: std::path::PathBuf, text: &str| {
            std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
        };
        write(net.join("snmp"), "Tcp: RetransSegs\nTcp: 7\n");
        write(sys.join("net/netfilter/nf_conntrack_count"), "10\n");
        write(sys.join("net/netfilter/nf_conntrack_max"), "100\n");
        write(sys.join("net/ipv4/ip_local_port_range"), "40000\t40009\n");
        write(sys.join("net/ipv4/conf/eth0/rp_filter"), "1\n");
        let files = CounterFiles { net: net.clone(), sys: sys.clone(), netns: root.path().join("absent") };
        let first = read(&files);
        assert_eq!(first.conntrack, Some(Conntrack { count: 10, max: 100 }));
        write(net.join("snmp"), "Tcp: RetransSegs\nTcp: 9\n");
        write(sys.join("net/netfilter/nf_conntrack_count"), "12\n");
        write(sys.join("net/ipv4/ip_local_port_range"), "1024\t65535\n");
        let again = read_again(&files, &first);
        assert_eq!(again.snmp.get("TcpRetransSegs"), Some(&9));
        assert_eq!(again.conntrack, Some(Conntrack { count: 12, max: 100 }));
        assert_eq!(again.port_range, first.port_range, "settings come from the full reading");
        assert_eq!(again.rp_filter.get("eth0"), Some(&1));
        assert_eq!(read(&files).port_range.map(|range| range.low), Some(1024));
    }
}
