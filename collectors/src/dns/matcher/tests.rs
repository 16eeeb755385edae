//! Pairing, table-driven: each case is a script of packets at times after a start, and
//! what comes out.

use super::*;
use crate::capture::testing::Must as _;

const CLIENT: &str = "192.168.1.10:40001";
const SERVER: &str = "192.168.1.1:53";

fn endpoint(text: &str) -> SocketAddr {
    text.parse().must()
}

/// A query from `client` to `server`.
fn query(client: &str, server: &str, id: u16, name: &str, qtype: &str) -> DnsPacket {
    DnsPacket {
        id,
        response: false,
        client: endpoint(client),
        server: endpoint(server),
        transport: DnsTransport::Udp,
        name: name.to_owned(),
        qtype: qtype.to_owned(),
        rcode: "NOERROR".to_owned(),
        answers: 0,
        truncated: false,
    }
}

/// The response to [`query`] with `rcode` and `answers`.
fn answer(
    client: &str,
    server: &str,
    id: u16,
    name: &str,
    qtype: &str,
    rcode: &str,
    answers: u16,
) -> DnsPacket {
    DnsPacket { response: true, rcode: rcode.to_owned(), answers, ..query(client, server, id, name, qtype) }
}

/// One packet `ms` after the start.
struct Step {
    ms: u64,
    packet: DnsPacket,
    observed: Observed,
}

fn step(ms: u64, packet: DnsPacket, observed: Observed) -> Step {
    Step { ms, packet, observed }
}

/// What came out, compactly: name, qtype, rcode, answers, latency in whole ms, and the
/// query's wall-clock offset from the start in ms.
type Outcome = (String, String, Option<String>, u16, Option<u64>, i64);

/// Run `steps` through a matcher with `config`, then expire at `expire_ms`.
fn run(config: MatcherConfig, steps: Vec<Step>, expire_ms: u64) -> (Vec<Outcome>, CaptureCounters, usize) {
    let start = Instant::now();
    let wall = time::macros::datetime!(2025-01-01 12:00 UTC);
    let mut matcher = Matcher::new(config);
    for Step { ms, packet, observed } in steps {
        let description = format!("{packet:?} at {ms} ms");
        let at = wall + Duration::from_millis(ms);
        assert_eq!(matcher.observe(packet, start + Duration::from_millis(ms), at), observed, "{description}");
    }
    matcher.expire(start + Duration::from_millis(expire_ms));
    let outcomes = matcher
        .drain()
        .into_iter()
        .map(|query| {
            assert_eq!((query.pid, query.process.as_deref()), (None, None), "attribution is the caller's");
            (
                query.name,
                query.qtype,
                query.rcode,
                query.answers,
                query.latency_ms.map(|ms| ms.round() as u64),
                (query.at - wall).whole_milliseconds() as i64,
            )
        })
        .collect();
    assert!(matcher.drain().is_empty(), "drained once");
    (outcomes, matcher.counters(), matcher.pending())
}

fn outcome(
    name: &str,
    qtype: &str,
    rcode: Option<&str>,
    answers: u16,
    latency: Option<u64>,
    at: i64,
) -> Outcome {
    (name.to_owned(), qtype.to_owned(), rcode.map(str::to_owned), answers, latency, at)
}

fn counters(packets: u64, unmatched: u64, timeouts: u64) -> CaptureCounters {
    CaptureCounters { packets, malformed: 0, unmatched, timeouts }
}

/// A scripted case: name, packets, when to expire, what comes out, the counters and
/// how many queries are left outstanding.
type Case = (&'static str, Vec<Step>, u64, Vec<Outcome>, CaptureCounters, usize);

/// A query from [`CLIENT`] to [`SERVER`].
fn q(id: u16, name: &str, qtype: &str) -> DnsPacket {
    query(CLIENT, SERVER, id, name, qtype)
}

/// The answer from [`SERVER`] to [`CLIENT`].
fn a(id: u16, name: &str, qtype: &str, rcode: &str, answers: u16) -> DnsPacket {
    answer(CLIENT, SERVER, id, name, qtype, rcode, answers)
}

/// Exchanges that pair.
fn answered() -> Vec<Case> {
    use Observed::{Answered, NewQuery, Repeated, Unmatched};
    vec![
        (
            "an answer",
            vec![
                step(0, q(1, "example.com", "A"), NewQuery),
                step(12, a(1, "example.com", "A", "NOERROR", 2), Answered),
            ],
            100,
            vec![outcome("example.com", "A", Some("NOERROR"), 2, Some(12), 0)],
            counters(2, 0, 0),
            0,
        ),
        (
            "A and AAAA in parallel, answered in reverse order, read by query time",
            vec![
                step(0, q(1, "example.com", "A"), NewQuery),
                step(1, q(2, "example.com", "AAAA"), NewQuery),
                step(20, a(2, "example.com", "AAAA", "NOERROR", 0), Answered),
                step(30, a(1, "example.com", "A", "NOERROR", 1), Answered),
            ],
            100,
            vec![
                outcome("example.com", "A", Some("NOERROR"), 1, Some(30), 0),
                outcome("example.com", "AAAA", Some("NOERROR"), 0, Some(19), 1),
            ],
            counters(4, 0, 0),
            0,
        ),
        (
            "a retransmission keeps the first send time; a second answer is unmatched",
            vec![
                step(0, q(7, "slow.example", "A"), NewQuery),
                step(1_000, q(7, "slow.example", "A"), Repeated),
                step(1_010, a(7, "slow.example", "A", "SERVFAIL", 0), Answered),
                step(1_011, a(7, "slow.example", "A", "SERVFAIL", 0), Unmatched),
            ],
            2_000,
            vec![outcome("slow.example", "A", Some("SERVFAIL"), 0, Some(1_010), 0)],
            counters(4, 1, 0),
            0,
        ),
        (
            "the same id over TCP is another exchange",
            vec![
                step(0, q(1, "big.example", "TXT"), NewQuery),
                step(
                    5,
                    DnsPacket { transport: DnsTransport::Tcp, ..a(1, "big.example", "TXT", "NOERROR", 9) },
                    Unmatched,
                ),
                step(6, DnsPacket { truncated: true, ..a(1, "big.example", "TXT", "NOERROR", 0) }, Answered),
            ],
            100,
            vec![outcome("big.example", "TXT", Some("NOERROR"), 0, Some(6), 0)],
            counters(3, 1, 0),
            0,
        ),
        (
            "the loopback stub: one copy of each packet on lo",
            vec![
                step(0, query("127.0.0.1:53211", "127.0.0.53:53", 9, "example.com", "A"), NewQuery),
                step(
                    3,
                    answer("127.0.0.1:53211", "127.0.0.53:53", 9, "example.com", "A", "NXDOMAIN", 0),
                    Answered,
                ),
            ],
            100,
            vec![outcome("example.com", "A", Some("NXDOMAIN"), 0, Some(3), 0)],
            counters(2, 0, 0),
            0,
        ),
    ]
}

/// Answers that answer nothing, and queries that time out.
fn strays() -> Vec<Case> {
    use Observed::{Answered, NewQuery, Unmatched};
    vec![
        (
            "a wrong id is ignored and counted; the query times out",
            vec![
                step(0, q(1, "example.com", "A"), NewQuery),
                step(5, a(2, "example.com", "A", "NOERROR", 1), Unmatched),
            ],
            5_000,
            vec![outcome("example.com", "A", None, 0, None, 0)],
            counters(2, 1, 1),
            0,
        ),
        (
            "a wrong source address is ignored",
            vec![
                step(0, q(1, "example.com", "A"), NewQuery),
                step(5, answer(CLIENT, "192.168.1.66:53", 1, "example.com", "A", "NOERROR", 1), Unmatched),
                step(9, a(1, "example.com", "A", "NOERROR", 1), Answered),
            ],
            100,
            vec![outcome("example.com", "A", Some("NOERROR"), 1, Some(9), 0)],
            counters(3, 1, 0),
            0,
        ),
        (
            "a wrong client port, question or type is ignored",
            vec![
                step(0, q(1, "example.com", "A"), NewQuery),
                step(1, answer("192.168.1.10:40002", SERVER, 1, "example.com", "A", "NOERROR", 1), Unmatched),
                step(2, a(1, "example.org", "A", "NOERROR", 1), Unmatched),
                step(3, a(1, "example.com", "AAAA", "NOERROR", 1), Unmatched),
            ],
            100,
            vec![],
            counters(4, 3, 0),
            1,
        ),
        (
            "timeouts come at the timeout, not before",
            vec![step(0, q(1, "a.example", "A"), NewQuery), step(3_000, q(2, "b.example", "A"), NewQuery)],
            7_999,
            vec![outcome("a.example", "A", None, 0, None, 0)],
            counters(2, 0, 1),
            1,
        ),
    ]
}

fn check(cases: Vec<Case>) {
    for (name, steps, expire_ms, expected, expected_counters, pending) in cases {
        let (outcomes, counters, left) = run(MatcherConfig::default(), steps, expire_ms);
        assert_eq!(outcomes, expected, "{name}");
        assert_eq!(counters, expected_counters, "{name}");
        assert_eq!(left, pending, "{name}: outstanding");
    }
}

#[test]
fn answers_pair_with_their_queries() {
    check(answered());
}

#[test]
fn strays_are_counted_and_silence_times_out() {
    check(strays());
}

#[test]
fn an_answer_after_the_timeout_is_unmatched() {
    let mut matcher = Matcher::new(MatcherConfig::default());
    let start = Instant::now();
    let wall = time::macros::datetime!(2025-01-01 12:00 UTC);
    assert_eq!(matcher.observe(query(CLIENT, SERVER, 1, "a", "A"), start, wall), Observed::NewQuery);
    matcher.expire(start + Duration::from_secs(5));
    let late = answer(CLIENT, SERVER, 1, "a", "A", "NOERROR", 1);
    assert_eq!(matcher.observe(late, start + Duration::from_millis(5_001), wall), Observed::Unmatched);
    let drained = matcher.drain();
    assert_eq!(drained.len(), 1);
    assert_eq!((drained[0].rcode.as_deref(), drained[0].latency_ms), (None, None));
    assert_eq!((matcher.counters().timeouts, matcher.counters().unmatched), (1, 1));
}

#[test]
fn outstanding_queries_are_bounded_by_expiring_the_oldest() {
    let config = MatcherConfig { max_pending: 3, ..MatcherConfig::default() };
    let steps = (0..5)
        .map(|n| step(n, query(CLIENT, SERVER, n as u16, &format!("n{n}.example"), "A"), Observed::NewQuery))
        .collect();
    let (outcomes, counters, pending) = run(config, steps, 10);
    assert_eq!(
        outcomes,
        [outcome("n0.example", "A", None, 0, None, 0), outcome("n1.example", "A", None, 0, None, 1)],
        "the oldest two expired early"
    );
    assert_eq!((counters.timeouts, pending), (2, 3));
}

#[test]
fn finished_exchanges_are_bounded_until_drained() {
    let config = MatcherConfig { max_completed: 2, ..MatcherConfig::default() };
    let mut steps = Vec::new();
    for n in 0..4u16 {
        let name = format!("n{n}.example");
        steps.push(step(u64::from(n), query(CLIENT, SERVER, n, &name, "A"), Observed::NewQuery));
        steps.push(step(
            u64::from(n),
            answer(CLIENT, SERVER, n, &name, "A", "NOERROR", 1),
            Observed::Answered,
        ));
    }
    let (outcomes, _, _) = run(config, steps, 10);
    let names: Vec<_> = outcomes.iter().map(|outcome| outcome.0.as_str()).collect();
    assert_eq!(names, ["n2.example", "n3.example"], "the newest are kept");
}

#[test]
fn ten_thousand_unanswered_queries_stay_bounded() {
    let mut matcher = Matcher::new(MatcherConfig::default());
    let start = Instant::now();
    let wall = time::macros::datetime!(2025-01-01 12:00 UTC);
    for n in 0..10_000u32 {
        let client = format!("127.0.0.1:{}", 40_000 + n % 20_000);
        let packet = query(&client, "127.0.0.53:53", n as u16, "flood.example", "A");
        matcher.observe(packet, start + Duration::from_micros(u64::from(n) * 100), wall);
        assert!(matcher.pending() <= 4096);
    }
    let counters = matcher.counters();
    assert_eq!((matcher.pending(), counters.timeouts, counters.packets), (4096, 10_000 - 4096, 10_000));
    assert_eq!(matcher.drain().len(), 4096, "finished ones are bounded too");
    assert_eq!(matcher.dropped(), 10_000 - 4096 - 4096);
    matcher.expire(start + Duration::from_secs(10));
    assert_eq!(matcher.pending(), 0);
}

#[test]
fn malformed_frames_are_counted() {
    let mut matcher = Matcher::new(MatcherConfig::default());
    matcher.malformed();
    matcher.malformed();
    assert_eq!(matcher.counters(), CaptureCounters { packets: 0, malformed: 2, unmatched: 0, timeouts: 0 });
}

#[test]
fn zero_limits_count_as_one() {
    let mut matcher =
        Matcher::new(MatcherConfig { max_pending: 0, max_completed: 0, ..MatcherConfig::default() });
    let now = Instant::now();
    let wall = time::macros::datetime!(2025-01-01 12:00 UTC);
    assert_eq!(matcher.observe(query(CLIENT, SERVER, 1, "a", "A"), now, wall), Observed::NewQuery);
    assert_eq!(matcher.observe(query(CLIENT, SERVER, 2, "b", "A"), now, wall), Observed::NewQuery);
    assert_eq!((matcher.pending(), matcher.drain().len()), (1, 1));
}
