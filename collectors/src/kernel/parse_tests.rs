use super::*;

const SNMP: &str = include_str!("fixtures/snmp");
const NETSTAT: &str = include_str!("fixtures/netstat");
const SNMP6: &str = include_str!("fixtures/snmp6");
const SOFTNET: &str = include_str!("fixtures/softnet_stat");
const SOCKSTAT: &str = include_str!("fixtures/sockstat");
const SOCKSTAT6: &str = include_str!("fixtures/sockstat6");

/// Fixtures copied from Linux 6.18's `/proc/net`: every table is read, with `nstat`'s
/// names and the signed -1 of `TcpMaxConn`.
#[test]
fn snmp_and_netstat_tables() {
    let mut counters = BTreeMap::new();
    tables(SNMP, &mut counters);
    assert_eq!(counters.get("IpInReceives"), Some(&7747));
    assert_eq!(counters.get("IpOutDiscards"), Some(&16));
    assert_eq!(counters.get("TcpMaxConn"), Some(&-1));
    assert!(counters.contains_key("UdpRcvbufErrors") && counters.contains_key("IcmpMsgInType3"));
    let mut netstat = BTreeMap::new();
    tables(NETSTAT, &mut netstat);
    assert!(netstat.contains_key("TcpExtListenOverflows"));
    assert!(netstat.contains_key("IpExtInOctets"));
    assert!(netstat.keys().all(|name| !name.contains(':') && !name.contains(' ')));
}

#[test]
fn snmp6_lines() {
    let mut counters = BTreeMap::new();
    snmp6(SNMP6, &mut counters);
    assert_eq!(counters.get("Ip6InReceives"), Some(&146));
    assert!(counters.contains_key("Udp6RcvbufErrors"));
}

/// A table whose header and values disagree in length, or whose values are not
/// numbers, is left out whole; the tables around it are still read.
#[test]
fn a_broken_table_is_skipped_not_shifted() {
    let text = "Ip: A B C\nIp: 1 2\nTcp: X Y\nTcp: 5 6\nUdp: P Q\nUdp: 7 seven\nIcmp: Z\nUdpLite: Z\n";
    let mut counters = BTreeMap::new();
    tables(text, &mut counters);
    assert_eq!(counters, BTreeMap::from([("TcpX".to_owned(), 5), ("TcpY".to_owned(), 6)]));
    let mut empty = BTreeMap::new();
    tables("", &mut empty);
    snmp6("garbage\nIp6X 1 2\n", &mut empty);
    assert!(empty.is_empty());
}

#[test]
fn counters_past_i64_saturate() {
    let mut counters = BTreeMap::new();
    tables("TcpExt: Big Small\nTcpExt: 18446744073709551615 -1\n", &mut counters);
    assert_eq!(counters.get("TcpExtBig"), Some(&i64::MAX));
    assert_eq!(counters.get("TcpExtSmall"), Some(&-1));
}

#[test]
fn softnet_rows() {
    let cpus = softnet(SOFTNET);
    assert_eq!(cpus.len(), 2);
    assert_eq!(cpus[0].cpu, 0);
    assert_eq!(cpus[0].processed, 0x0044_fa75);
    assert_eq!(cpus[1].cpu, 1);
    assert_eq!(cpus[1].time_squeeze, 2);
    // An old kernel's row, without a CPU id: its index stands for it.
    let old = softnet(
        "00000010 00000002 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000004\n00000001 00000000 00000000\nzz\n",
    );
    assert_eq!(old.len(), 2);
    assert_eq!((old[0].cpu, old[0].dropped, old[0].flow_limit), (0, 2, 4));
    assert_eq!(old[1].cpu, 1);
}

#[test]
fn sockstat_labels() {
    let mut counters = BTreeMap::new();
    sockstat(SOCKSTAT, &mut counters);
    sockstat(SOCKSTAT6, &mut counters);
    assert_eq!(counters.get("sockets.used"), Some(&9));
    assert_eq!(counters.get("TCP.inuse"), Some(&1));
    assert_eq!(counters.get("TCP.tw"), Some(&0));
    assert_eq!(counters.get("TCP6.inuse"), Some(&0));
    assert_eq!(counters.get("FRAG.memory"), Some(&0));
}

#[test]
fn single_values() {
    assert_eq!(file_nr("315\t0\t2466097\n"), Some(FileTable { allocated: 315, max: 2_466_097 }));
    assert_eq!(file_nr("315 0"), None);
    assert_eq!(port_range("32768\t60999\n"), Some(PortRange { low: 32768, high: 60999 }));
    assert_eq!(port_range("32768 70000"), None);
    assert_eq!(PortRange { low: 32768, high: 60999 }.size(), 28232);
    assert_eq!(PortRange { low: 10, high: 9 }.size(), 0);
    assert_eq!(number("262144\n"), Some(262_144));
    assert_eq!(number("-"), None);
}
