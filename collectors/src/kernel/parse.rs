//! Parsers for the kernel's counter files. Each takes the file's text and keeps only
//! what it can read whole: a table whose header and values disagree is skipped, never
//! read shifted by a column.
//!
//! Hand-written: the formats are a few lines each and no maintained crate reads them
//! all in the namespace of the calling thread (procfs reads `/proc/net` of the process).

use std::collections::BTreeMap;

use crate::model::{FileTable, PortRange, SoftnetCpu};

/// Read a `/proc/net/snmp`- or `/proc/net/netstat`-style file: pairs of lines
/// `Prefix: Name1 Name2 …` / `Prefix: value1 value2 …`, into `nstat` names
/// (`TcpRetransSegs`).
pub fn tables(text: &str, into: &mut impl Extend<(String, i64)>) {
    let mut lines = text.lines();
    while let (Some(header), Some(values)) = (lines.next(), lines.next()) {
        let (Some((prefix, names)), Some((value_prefix, values))) =
            (header.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        if prefix != value_prefix {
            continue;
        }
        let names: Vec<&str> = names.split_whitespace().collect();
        let values: Option<Vec<i64>> = values.split_whitespace().map(counter).collect();
        let Some(values) = values.filter(|values| values.len() == names.len()) else { continue };
        into.extend(names.into_iter().zip(values).map(|(name, value)| {
            let mut key = String::with_capacity(prefix.len() + name.len());
            key.push_str(prefix);
            key.push_str(name);
            (key, value)
        }));
    }
}

/// Read `/proc/net/snmp6`: one `Name value` per line, already `nstat`'s names.
pub fn snmp6(text: &str, into: &mut impl Extend<(String, i64)>) {
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(value), None) = (words.next(), words.next().and_then(counter), words.next())
        {
            into.extend([(name.to_owned(), value)]);
        }
    }
}

/// A counter as the kernel prints it: unsigned 64-bit, or signed for the few gauges
/// that may be -1. A value past `i64::MAX` (a counter 2^63 events old) saturates.
fn counter(word: &str) -> Option<i64> {
    word.parse::<i64>()
        .ok()
        .or_else(|| word.parse::<u64>().ok().map(|value| i64::try_from(value).unwrap_or(i64::MAX)))
}

/// Read `/proc/net/softnet_stat`: hexadecimal columns, one row per online CPU.
/// Columns (net/core/net-procfs.c): processed, dropped, time squeeze, five zeros,
/// collisions, received RPS, flow limit count, backlog length, CPU id, …. Kernels
/// before 5.10 print no CPU id: the row's index stands for it.
#[must_use]
pub fn softnet(text: &str) -> Vec<SoftnetCpu> {
    let mut cpus = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let columns: Option<Vec<u64>> =
            line.split_whitespace().map(|word| u64::from_str_radix(word, 16).ok()).collect();
        let Some(columns) = columns.filter(|columns| columns.len() >= 3) else { continue };
        let at = |column: usize| columns.get(column).copied().unwrap_or(0);
        let cpu = columns.get(12).map_or(index, |&cpu| usize::try_from(cpu).unwrap_or(index));
        cpus.push(SoftnetCpu {
            cpu: u32::try_from(cpu).unwrap_or(u32::MAX),
            processed: at(0),
            dropped: at(1),
            time_squeeze: at(2),
            flow_limit: at(10),
        });
    }
    cpus
}

/// Read `/proc/net/sockstat` or `sockstat6`: `LABEL: key value key value …`, as
/// `LABEL.key` (`TCP.inuse`, `TCP6.inuse`, `sockets.used`).
pub fn sockstat(text: &str, into: &mut BTreeMap<String, i64>) {
    for line in text.lines() {
        let Some((label, rest)) = line.split_once(':') else { continue };
        let mut words = rest.split_whitespace();
        while let (Some(key), Some(value)) = (words.next(), words.next()) {
            if let Some(value) = counter(value) {
                into.insert(format!("{label}.{key}"), value);
            }
        }
    }
}

/// Read `/proc/sys/fs/file-nr`: allocated, allocated but unused (always 0 since 2.6),
/// maximum.
#[must_use]
pub fn file_nr(text: &str) -> Option<FileTable> {
    let mut words = text.split_whitespace().map(str::parse::<u64>);
    let allocated = words.next()?.ok()?;
    let _unused = words.next()?.ok()?;
    let max = words.next()?.ok()?;
    Some(FileTable { allocated, max })
}

/// Read `net.ipv4.ip_local_port_range`: two port numbers.
#[must_use]
pub fn port_range(text: &str) -> Option<PortRange> {
    let mut words = text.split_whitespace().map(str::parse::<u16>);
    let low = words.next()?.ok()?;
    let high = words.next()?.ok()?;
    Some(PortRange { low, high })
}

/// Read a sysctl holding one unsigned number.
#[must_use]
pub fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
