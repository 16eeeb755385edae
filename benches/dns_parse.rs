//! The passive DNS capture's hot path (issue 5 budget: 20,000 DNS packets per second
//! on one core).
//!
//! - `dns_parse/parse`: a realistic mix of 10,000 captured frames — loopback stub
//!   queries and answers, upstream answers with several records, AAAA NODATA,
//!   NXDOMAIN, PTR, IPv6, glibc's pipelined A+AAAA over TCP, a bare TCP ACK and some
//!   port-53 garbage — parsed from the link header to the question, no I/O.
//! - `dns_parse/parse_and_match`: the same frames parsed and paired by the matcher
//!   (what a capture thread does per frame, minus the read), then drained.
//! - `dns_parse/flood_10k_unanswered`: 10,000 queries that are never answered (the
//!   10,000 queries per second fault): asserts the matcher stays bounded.
//!
//! Criterion's throughput line is packets (frames) per second on one core. Run with
//! `cargo bench --bench dns_parse`.

#![expect(clippy::unwrap_used, reason = "a benchmark: fail loudly")]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use netlens_collectors::dns::matcher::{Matcher, MatcherConfig};
use netlens_collectors::dns::packet::{DnsFrame, Framing, messages};
use netlens_collectors::model::Timestamp;

const FRAMES: usize = 10_000;
/// Frames between two drains of the matcher (a flush).
const FLUSH_EVERY: usize = 1_000;
const PROTOCOL_TCP: u8 = 6;
const PROTOCOL_UDP: u8 = 17;

fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    message.to_vec().unwrap()
}

fn answer(id: u16, name: &str, qtype: RecordType, rcode: ResponseCode, records: &[RData]) -> Vec<u8> {
    let mut message = Message::response(id, OpCode::Query);
    message.metadata.response_code = rcode;
    message.metadata.recursion_available = true;
    let owner = Name::from_ascii(name).unwrap();
    message.add_query(Query::query(owner.clone(), qtype));
    for data in records {
        message.add_answer(Record::from_rdata(owner.clone(), 300, data.clone()));
    }
    message.to_vec().unwrap()
}

/// An Ethernet frame of an IPv4 or IPv6 packet carrying `payload` over UDP or TCP.
fn frame(protocol: u8, source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&source.port().to_be_bytes());
    segment.extend_from_slice(&destination.port().to_be_bytes());
    if protocol == PROTOCOL_UDP {
        segment.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        segment.extend_from_slice(&[0, 0]);
    } else {
        segment.extend_from_slice(&[0; 8]);
        segment.extend_from_slice(&[5 << 4, 0x18, 0, 0, 0, 0, 0, 0]);
    }
    segment.extend_from_slice(payload);
    let mut bytes = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a];
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(from), IpAddr::V4(to)) => {
            bytes.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut header = vec![0x45, 0];
            header.extend_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
            header.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
            header.extend_from_slice(&from.octets());
            header.extend_from_slice(&to.octets());
            bytes.extend_from_slice(&header);
        }
        (IpAddr::V6(from), IpAddr::V6(to)) => {
            bytes.extend_from_slice(&0x86ddu16.to_be_bytes());
            bytes.extend_from_slice(&[0x60, 0, 0, 0]);
            bytes.extend_from_slice(&(segment.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&[protocol, 64]);
            bytes.extend_from_slice(&from.octets());
            bytes.extend_from_slice(&to.octets());
        }
        _ => panic!("mixed families"),
    }
    bytes.extend_from_slice(&segment);
    bytes.resize(bytes.len().max(60), 0);
    bytes
}

fn length_prefixed(message: &[u8]) -> Vec<u8> {
    let mut bytes = (message.len() as u16).to_be_bytes().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

/// One round of a busy host's DNS traffic: 16 frames, 7 exchanges.
fn round(n: u16) -> Vec<Vec<u8>> {
    let port = 30_000 + n % 30_000;
    let id = n.wrapping_mul(7);
    let stub = SocketAddr::from(([127, 0, 0, 53], 53));
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    let upstream = SocketAddr::from(([192, 0, 2, 53], 53));
    let host = SocketAddr::from(([192, 168, 1, 10], port));
    let upstream6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)), 53);
    let host6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)), port);
    let name = format!("host{}.service.example.com.", n % 97);
    let addresses: Vec<RData> = (1..=4).map(|i| RData::A(A(Ipv4Addr::new(192, 0, 2, i)))).collect();
    let v6 = [RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))];
    let ptr = [RData::PTR(PTR(Name::from_ascii("host.example.com.").unwrap()))];
    let reverse = format!("{}.2.0.192.in-addr.arpa.", n % 250);
    let mut pipelined = length_prefixed(&query(id.wrapping_add(5), &name, RecordType::A));
    pipelined.extend_from_slice(&length_prefixed(&query(id.wrapping_add(6), &name, RecordType::AAAA)));
    let tcp_answer =
        length_prefixed(&answer(id.wrapping_add(5), &name, RecordType::A, ResponseCode::NoError, &addresses));
    vec![
        // The stub on loopback: A with four records, AAAA NODATA.
        frame(PROTOCOL_UDP, local, stub, &query(id, &name, RecordType::A)),
        frame(
            PROTOCOL_UDP,
            stub,
            local,
            &answer(id, &name, RecordType::A, ResponseCode::NoError, &addresses),
        ),
        frame(PROTOCOL_UDP, local, stub, &query(id.wrapping_add(1), &name, RecordType::AAAA)),
        frame(
            PROTOCOL_UDP,
            stub,
            local,
            &answer(id.wrapping_add(1), &name, RecordType::AAAA, ResponseCode::NoError, &[]),
        ),
        // The stub's upstream: NXDOMAIN and a PTR.
        frame(
            PROTOCOL_UDP,
            host,
            upstream,
            &query(id.wrapping_add(2), "missing.example.com.", RecordType::A),
        ),
        frame(
            PROTOCOL_UDP,
            upstream,
            host,
            &answer(id.wrapping_add(2), "missing.example.com.", RecordType::A, ResponseCode::NXDomain, &[]),
        ),
        frame(PROTOCOL_UDP, host, upstream, &query(id.wrapping_add(3), &reverse, RecordType::PTR)),
        frame(
            PROTOCOL_UDP,
            upstream,
            host,
            &answer(id.wrapping_add(3), &reverse, RecordType::PTR, ResponseCode::NoError, &ptr),
        ),
        // Over IPv6.
        frame(PROTOCOL_UDP, host6, upstream6, &query(id.wrapping_add(4), &name, RecordType::AAAA)),
        frame(
            PROTOCOL_UDP,
            upstream6,
            host6,
            &answer(id.wrapping_add(4), &name, RecordType::AAAA, ResponseCode::NoError, &v6),
        ),
        // glibc over TCP: A and AAAA in one segment, an ACK, the answers.
        frame(PROTOCOL_TCP, host, upstream, &pipelined),
        frame(PROTOCOL_TCP, upstream, host, &[]),
        frame(PROTOCOL_TCP, upstream, host, &tcp_answer),
        frame(
            PROTOCOL_TCP,
            upstream,
            host,
            &length_prefixed(&answer(
                id.wrapping_add(6),
                &name,
                RecordType::AAAA,
                ResponseCode::NoError,
                &v6,
            )),
        ),
        // Garbage on port 53, and an answer to nothing.
        frame(PROTOCOL_UDP, host, upstream, b"\x00\x01not a dns message at all"),
        frame(
            PROTOCOL_UDP,
            upstream,
            host,
            &answer(id.wrapping_add(9), &name, RecordType::A, ResponseCode::NoError, &[]),
        ),
    ]
}

fn mix() -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = (0..).flat_map(round).take(FRAMES).collect();
    frames.shrink_to_fit();
    frames
}

fn parse(c: &mut Criterion) {
    let frames = mix();
    let mut group = c.benchmark_group("dns_parse");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for frame in &frames {
                for item in messages(Framing::Ethernet, frame) {
                    black_box(item);
                }
            }
        });
    });
    group.bench_function("parse_and_match", |b| {
        let start = Instant::now();
        let wall = Timestamp::now_utc();
        b.iter_batched(
            || Matcher::new(MatcherConfig::default()),
            |mut matcher| {
                let mut exchanges = 0;
                for (n, frame) in frames.iter().enumerate() {
                    observe(&mut matcher, frame, start + Duration::from_micros(n as u64 * 50), wall);
                    // A flush now and then, as the source does.
                    if n % FLUSH_EVERY == 0 {
                        exchanges += matcher.drain().len();
                    }
                }
                matcher.expire(start + Duration::from_secs(1));
                exchanges + matcher.drain().len()
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();

    // What the benchmark matched, so the figure is known to be about real work.
    let (mut matcher, start, wall) =
        (Matcher::new(MatcherConfig::default()), Instant::now(), Timestamp::now_utc());
    let mut answered = 0;
    for (n, frame) in frames.iter().enumerate() {
        observe(&mut matcher, frame, start, wall);
        if n % FLUSH_EVERY == 0 {
            answered += matcher.drain().len();
        }
    }
    answered += matcher.drain().len();
    let counters = matcher.counters();
    println!(
        "dns_parse mix: {FRAMES} frames, {} DNS messages, {answered} exchanges answered, {} malformed, \
         {} unmatched, {} outstanding",
        counters.packets,
        counters.malformed,
        counters.unmatched,
        matcher.pending()
    );
    assert!(answered > FRAMES / 3 && counters.malformed > 0 && matcher.pending() == 0);
}

/// One frame's messages into `matcher`, as a capture thread does.
fn observe(matcher: &mut Matcher, frame: &[u8], seen: Instant, wall: Timestamp) {
    for item in messages(Framing::Ethernet, frame) {
        match item {
            DnsFrame::Message(packet) => {
                matcher.observe(packet, seen, wall);
            }
            DnsFrame::Malformed => matcher.malformed(),
            DnsFrame::NotDns => {}
        }
    }
}

fn flood(c: &mut Criterion) {
    let queries: Vec<Vec<u8>> = (0..10_000u32)
        .map(|n| {
            let client = SocketAddr::from(([127, 0, 0, 1], 20_000 + (n % 40_000) as u16));
            let stub = SocketAddr::from(([127, 0, 0, 53], 53));
            frame(PROTOCOL_UDP, client, stub, &query(n as u16, "flood.example.", RecordType::A))
        })
        .collect();
    let mut group = c.benchmark_group("dns_parse");
    group.throughput(Throughput::Elements(queries.len() as u64));
    group.bench_function("flood_10k_unanswered", |b| {
        let start = Instant::now();
        let wall = Timestamp::now_utc();
        b.iter_batched(
            || Matcher::new(MatcherConfig::default()),
            |mut matcher| {
                for (n, frame) in queries.iter().enumerate() {
                    if let Some(DnsFrame::Message(packet)) = messages(Framing::Ethernet, frame).next() {
                        matcher.observe(packet, start + Duration::from_micros(n as u64 * 100), wall);
                    }
                    assert!(matcher.pending() <= 4096, "outstanding queries are bounded");
                }
                matcher.expire(start + Duration::from_secs(1));
                let drained = matcher.drain();
                assert!(drained.len() <= 4096, "finished exchanges are bounded");
                (drained, matcher.counters())
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, parse, flood);
criterion_main!(benches);
