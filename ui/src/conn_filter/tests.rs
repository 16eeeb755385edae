use std::net::{IpAddr, Ipv4Addr};

use netlens_collectors::fake;

use super::*;

fn parsed(text: &str) -> Vec<Term> {
    ConnFilter::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}")).terms().to_vec()
}

const fn yes(predicate: Predicate) -> Term {
    Term { negated: false, predicate }
}

const fn not(predicate: Predicate) -> Term {
    Term { negated: true, predicate }
}

fn text(needle: &str) -> Predicate {
    Predicate::Text(needle.to_owned())
}

#[test]
fn terms_parse_into_predicates() {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let cases: Vec<(&str, Vec<Term>)> = vec![
        ("", vec![]),
        ("   ", vec![]),
        ("port:443", vec![yes(Predicate::Port(End::Either, 443))]),
        (
            "lport:22 rport:8080",
            vec![yes(Predicate::Port(End::Local, 22)), yes(Predicate::Port(End::Remote, 8080))],
        ),
        ("state:estab", vec![yes(Predicate::State(StateSet(1)))]),
        ("state:time-wait", vec![yes(Predicate::State(StateSet(1 << 5)))]),
        ("state:close", vec![yes(Predicate::State(StateSet(1 << 6 | 1 << 7 | CLOSED_BIT)))]),
        ("proc:Curl", vec![yes(Predicate::Process("curl".to_owned()))]),
        ("pid:123", vec![yes(Predicate::Pid(123))]),
        ("user:ana user:1000", vec![yes(Predicate::User("ana".to_owned())), yes(Predicate::Uid(1000))]),
        (
            "proto:TCP -proto:udp",
            vec![yes(Predicate::Protocol(Protocol::Tcp)), not(Predicate::Protocol(Protocol::Udp))],
        ),
        (
            "remote:10.0.0.0/8",
            vec![yes(Predicate::Address(
                End::Remote,
                AddressMatch::Network { base: v4(10, 0, 0, 0), prefix: 8 },
            ))],
        ),
        ("local:127.0.0.1", vec![yes(Predicate::Address(End::Local, AddressMatch::Exact(v4(127, 0, 0, 1))))]),
        (
            "remote:[::1]:443",
            vec![yes(Predicate::Address(
                End::Remote,
                AddressMatch::Endpoint("[::1]:443".parse().unwrap_or_else(|e| panic!("{e}"))),
            ))],
        ),
        (
            "remote:Example.ORG",
            vec![yes(Predicate::Address(End::Remote, AddressMatch::Text("example.org".to_owned())))],
        ),
        ("rtt>100ms", vec![yes(Predicate::Compare(Measure::Rtt, Op::Greater, 100_000))]),
        ("rtt<1s", vec![yes(Predicate::Compare(Measure::Rtt, Op::Less, 1_000_000))]),
        ("rtt>=250us", vec![yes(Predicate::Compare(Measure::Rtt, Op::GreaterEq, 250))]),
        ("rtt>20", vec![yes(Predicate::Compare(Measure::Rtt, Op::Greater, 20_000))]),
        ("rx>1MB", vec![yes(Predicate::Compare(Measure::Rx, Op::Greater, 1_000_000))]),
        ("rx>1.5mb/s", vec![yes(Predicate::Compare(Measure::Rx, Op::Greater, 1_500_000))]),
        ("tx>10k", vec![yes(Predicate::Compare(Measure::Tx, Op::Greater, 10_000))]),
        ("tx<=2G", vec![yes(Predicate::Compare(Measure::Tx, Op::LessEq, 2_000_000_000))]),
        ("retrans>0", vec![yes(Predicate::Compare(Measure::Retrans, Op::Greater, 0))]),
        ("retrans=3", vec![yes(Predicate::Compare(Measure::Retrans, Op::Equal, 3))]),
        (
            "age>5m age<2h",
            vec![
                yes(Predicate::Compare(Measure::Age, Op::Greater, 300_000)),
                yes(Predicate::Compare(Measure::Age, Op::Less, 7_200_000)),
            ],
        ),
        ("warn", vec![yes(Predicate::Warned(ConnectionWarnings::default()))]),
        ("warn:stalled", vec![yes(Predicate::Warned(ConnectionWarnings::STALLED))]),
        ("!warn:high", vec![not(Predicate::Warned(ConnectionWarnings::HIGH_RETRANSMITS))]),
        ("closed !closed", vec![yes(Predicate::Closed), not(Predicate::Closed)]),
        // Free text: words, IPv6 addresses, host:port, anything whose prefix is no field.
        ("Firefox", vec![yes(text("firefox"))]),
        ("fe80::1 dead:beef::2", vec![yes(text("fe80::1")), yes(text("dead:beef::2"))]),
        ("example.org:443 localhost:8080", vec![yes(text("example.org:443")), yes(text("localhost:8080"))]),
        ("\"big upload\" -\"a b\"", vec![yes(text("big upload")), not(text("a b"))]),
        ("speed>fast", vec![yes(text("speed>fast"))]),
        ("proc:\"my app\"", vec![yes(Predicate::Process("my app".to_owned()))]),
    ];
    for (input, expected) in cases {
        assert_eq!(parsed(input), expected, "{input:?}");
    }
    let filter = ConnFilter::parse("  port:443   curl ").unwrap_or_default();
    assert_eq!(filter.text(), "port:443   curl");
    assert!(ConnFilter::parse(" ").is_ok_and(|f| f.is_empty()));
}

#[test]
fn malformed_terms_say_what_and_where() {
    // (input, span in characters, message)
    let cases: [(&str, (usize, usize), &str); 20] = [
        ("rtt>fast", (4, 8), "`fast` is not a duration: write rtt>100ms or rtt<1s (us, ms, s)"),
        ("port:443  rtt>fast", (14, 18), "`fast` is not a duration: write rtt>100ms or rtt<1s (us, ms, s)"),
        ("remote:10.0.0.0/99", (7, 18), "/99 is not a prefix length for IPv4: use 0–32"),
        ("local:fd00::/129", (6, 16), "/129 is not a prefix length for IPv6: use 0–128"),
        ("remote:foo/8", (7, 12), "`foo` is not an IP address: write a network as 10.0.0.0/8 or fd00::/8"),
        ("port:http", (5, 9), "`http` is not a port number: write port:443 (0–65535)"),
        ("rport:70000", (6, 11), "`70000` is not a port number: write rport:443 (0–65535)"),
        (
            "state:bogus",
            (6, 11),
            "no state starts with `bogus`; states are established syn_sent syn_recv fin_wait1 fin_wait2 time_wait close close_wait last_ack listen closing new_syn_recv bound_inactive unconnected closed",
        ),
        (
            "warn:bogus",
            (5, 10),
            "no warning starts with `bogus`; warnings are stalled long_syn_sent zero_window high_retransmits near_fd_limit \
             orphaned route_moved",
        ),
        ("proto:icmp", (6, 10), "`icmp` is not a protocol netlens shows: write proto:tcp or proto:udp"),
        ("pid:abc", (4, 7), "`abc` is not a process id: write pid:1234"),
        (
            "rx>lots",
            (3, 7),
            "`lots` is not a rate: write rx>1MB or tx>10k (B, KB, MB, GB or k, M, G per second)",
        ),
        ("retrans>1.5", (8, 11), "`1.5` is not a count: write retrans>0"),
        ("age>3d", (4, 6), "`3d` is not a duration: write age>30s or age<5m (ms, s, m, h)"),
        ("rtt>", (0, 4), "`rtt>` needs a value, e.g. rtt>100ms"),
        ("port:", (0, 5), "`port:` needs a value, e.g. port:443"),
        ("rtt:100ms", (0, 9), "rtt is compared, not matched: write rtt>100ms"),
        ("prot:tcp", (0, 4), "unknown field `prot`, did you mean `proto`?"),
        ("closed:yes", (0, 10), "`closed` takes no value: write closed or !closed"),
        ("curl !", (5, 6), "`!` needs a term after it, e.g. !state:listen"),
    ];
    for (input, (start, end), message) in cases {
        let error = ConnFilter::parse(input).err();
        assert_eq!(error, Some(FilterError { start, end, message: message.to_owned() }), "{input:?}");
    }
    let quote = ConnFilter::parse("proc:x \"never closed").err();
    assert_eq!(quote.map(|e| (e.start, e.end)), Some((7, 20)));
    let measure = ConnFilter::parse("rtx>1").err().map(|e| e.message);
    assert_eq!(measure.as_deref(), Some("unknown measure `rtx`, did you mean `rtt`?"));
}

/// The scripted cookies a filter keeps.
fn kept(filter: &str) -> Vec<u64> {
    let store = fake::store();
    let filter = ConnFilter::parse(filter).unwrap_or_else(|e| panic!("{filter:?}: {e:?}"));
    let connections = store.connections();
    let mut cookies: Vec<u64> = connections
        .iter()
        .filter(|entry| filter.matches(entry, connections, fake::NOW))
        .map(|entry| entry.socket.cookie)
        .collect();
    cookies.sort_unstable();
    cookies
}

#[test]
fn filters_keep_the_right_scripted_connections() {
    let all = kept("");
    assert_eq!(all.len(), 21, "{all:?}");
    let cases: [(&str, &[u64]); 29] = [
        ("port:443", &[6, 7, 8, 12, 13, 30, 31]),
        ("lport:22", &[1, 2]),
        ("rport:22", &[9]),
        ("state:estab", &[6, 7, 8, 9, 10, 11, 14, 31]),
        ("state:listen", &[1, 2, 3, 4]),
        ("state:closed", &[20, 21, 22, 23, 24, 30]),
        ("closed", &[20, 21, 22, 23, 24, 30]),
        ("!closed proto:udp", &[5, 8]),
        ("proc:fire", &[6, 7, 8]),
        ("pid:4471", &[13, 30, 31]),
        ("user:root", &[1, 2]),
        ("user:0", &[1, 2]),
        ("remote:10.0.0.0/8", &[9, 20, 21, 22, 23, 24]),
        ("remote:example", &[6, 7, 8, 9, 14]),
        ("remote:198.51.100.20", &[14]),
        ("remote:198.51.100.20:873", &[14]),
        ("local:127.0.0.1", &[3, 10, 11]),
        ("rtt>100ms", &[13, 14]),
        ("rx>1MB", &[6]),
        ("tx>10k", &[6, 7, 8, 11]),
        ("retrans>0", &[14]),
        ("warn", &[4, 10, 13, 14]),
        ("warn:stalled", &[14]),
        ("-warn state:estab", &[6, 7, 8, 9, 11, 31]),
        ("firefox", &[6, 7, 8]),
        ("burst", &[20, 21, 22, 23, 24]),
        ("example.org", &[6]),
        ("curl 443", &[13, 30, 31]),
        ("age<10s", &[20, 21, 22, 23, 24, 30, 31]),
    ];
    for (filter, expected) in cases {
        assert_eq!(kept(filter), expected, "{filter:?}");
    }
}

#[test]
fn networks_match_by_prefix_and_mapped_addresses() {
    let ip = |text: &str| text.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
    for (address, base, prefix, expected) in [
        ("10.1.2.3", "10.0.0.0", 8, true),
        ("11.1.2.3", "10.0.0.0", 8, false),
        ("::ffff:10.1.2.3", "10.0.0.0", 8, true),
        ("192.168.1.23", "0.0.0.0", 0, true),
        ("192.168.1.23", "192.168.1.23", 32, true),
        ("2001:db8::1", "2001:db8::", 32, true),
        ("2001:db9::1", "2001:db8::", 32, false),
        ("10.1.2.3", "::", 0, false),
    ] {
        assert_eq!(in_network(ip(address), ip(base), prefix), expected, "{address} in {base}/{prefix}");
    }
}
