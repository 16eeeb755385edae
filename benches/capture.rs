//! The capture thread's per-frame work (issue 12 budget: at least 1,000,000 packets
//! per second parsed and counted on one core).
//!
//! A realistic mix of captured traffic, laid out in `TPACKET_V3` blocks exactly as the
//! kernel hands them over (`capture::ring::lay_out`, the header-cut frames the socket
//! filter keeps): UDP over IPv4 and IPv6 on a veth (QUIC-sized and small datagrams,
//! many flows), UDP over loopback, and DNS queries and answers to a stub on loopback
//! (whole frames). Each iteration walks the blocks (`ring::frames`), parses every
//! frame once and hands it on (`capture::count::frame`), counts the flows into the
//! flow table under one lock per block (`FlowTable::observe_all`) and the DNS
//! segments into the matcher (`dns::packet::segment_messages`, `Matcher::observe`) —
//! what the capture thread does per wake, minus the `epoll_wait`.
//!
//! - `capture/udp_mix`: flows only (no DNS consumer attached: `--no-dns`-like).
//! - `capture/with_dns`: the same plus 1 frame in 16 DNS, parsed and matched.
//!
//! Criterion's throughput line is packets (frames) per second on one core. Run with
//! `cargo bench --bench capture`.

#![expect(clippy::unwrap_used, reason = "a benchmark: fail loudly")]

use std::hint::black_box;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use netlens_collectors::capture::count;
use netlens_collectors::capture::flows::{FlowTable, LocalAddresses};
use netlens_collectors::capture::frame::{Frame, Framing};
use netlens_collectors::capture::ring::{self, RingFrame};
use netlens_collectors::dns::matcher::{Matcher, MatcherConfig};
use netlens_collectors::dns::packet::{DnsFrame, segment_messages};

/// Frames per round of the mix.
const FRAMES: usize = 16_384;
/// The ring's block size (the default ring's).
const BLOCK: usize = 1 << 20;
const PROTOCOL_UDP: u8 = 17;

fn dns(id: u16, name: &str, response: bool) -> Vec<u8> {
    let mut message = if response {
        let mut message = Message::response(id, OpCode::Query);
        message.metadata.response_code = ResponseCode::NoError;
        message
    } else {
        Message::new(id, MessageType::Query, OpCode::Query)
    };
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    message.to_vec().unwrap()
}

/// An Ethernet frame (zero MACs on loopback) of a UDP datagram with `payload` bytes,
/// of which `captured` are kept (the filter's cut), as the kernel hands it over.
fn udp(source: SocketAddr, destination: SocketAddr, payload: &[u8], captured: usize) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&source.port().to_be_bytes());
    segment.extend_from_slice(&destination.port().to_be_bytes());
    segment.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.extend_from_slice(payload);
    let loopback = source.ip().is_loopback();
    let mut bytes = if loopback { vec![0; 12] } else { vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a] };
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(from), IpAddr::V4(to)) => {
            bytes.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut header = vec![0x45, 0];
            header.extend_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
            header.extend_from_slice(&[0, 0, 0x40, 0, 64, PROTOCOL_UDP, 0, 0]);
            header.extend_from_slice(&from.octets());
            header.extend_from_slice(&to.octets());
            bytes.extend_from_slice(&header);
        }
        (IpAddr::V6(from), IpAddr::V6(to)) => {
            bytes.extend_from_slice(&0x86ddu16.to_be_bytes());
            bytes.extend_from_slice(&[0x60, 0, 0, 0]);
            bytes.extend_from_slice(&(segment.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&[PROTOCOL_UDP, 64]);
            bytes.extend_from_slice(&from.octets());
            bytes.extend_from_slice(&to.octets());
        }
        _ => panic!("mixed families"),
    }
    bytes.extend_from_slice(&segment);
    bytes.resize(bytes.len().max(60), 0);
    bytes.truncate(captured.max(14 + 48));
    bytes
}

/// The traffic of a busy host, `FRAMES` frames, with DNS in 1 of 16 when `with_dns`.
fn mix(with_dns: bool) -> Vec<Vec<u8>> {
    let host = IpAddr::from([192, 168, 1, 10]);
    let host6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x10));
    let quic = vec![0xc3; 1200];
    let small = vec![0x11; 40];
    let mut frames = Vec::with_capacity(FRAMES);
    for n in 0..FRAMES {
        let port = 40_000 + (n / 16 % 512) as u16;
        let frame = match n % 16 {
            // A DNS exchange with the stub on loopback: query, then answer.
            0 | 1 if with_dns => {
                let client = SocketAddr::from(([127, 0, 0, 1], port));
                let stub = SocketAddr::from(([127, 0, 0, 53], 53));
                let id = (n / 16) as u16;
                let name = format!("host{}.example.com.", n / 16 % 97);
                if n % 16 == 0 {
                    udp(client, stub, &dns(id, &name, false), 65_535)
                } else {
                    udp(stub, client, &dns(id, &name, true), 65_535)
                }
            }
            // QUIC download on IPv4 (the filter keeps 256 bytes).
            0..=7 => udp(SocketAddr::from(([203, 0, 113, 9], 443)), SocketAddr::new(host, port), &quic, 256),
            // QUIC upload.
            8..=9 => udp(SocketAddr::new(host, port), SocketAddr::from(([203, 0, 113, 9], 443)), &small, 256),
            // IPv6 media.
            10..=12 => udp(
                SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9)), 3478),
                SocketAddr::new(host6, port),
                &quic,
                256,
            ),
            // Loopback between two local services.
            _ => udp(
                SocketAddr::from(([127, 0, 0, 1], port)),
                SocketAddr::from(([127, 0, 0, 1], 8125)),
                &small,
                256,
            ),
        };
        frames.push(frame);
    }
    frames
}

/// The frames packed into blocks, as the kernel fills them.
fn blocks(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    let mut rest: Vec<(&[u8], u32, u32)> =
        frames.iter().enumerate().map(|(n, f)| (f.as_slice(), 1_764_669_600, (n * 1000) as u32)).collect();
    while !rest.is_empty() {
        let block = ring::lay_out(&rest, BLOCK);
        let mut held = 0;
        ring::frames(&block, &mut |_| held += 1);
        assert!(held > 0, "a frame larger than a block");
        blocks.push(block);
        rest.drain(..held);
    }
    blocks
}

fn locals() -> LocalAddresses {
    let mut locals = LocalAddresses::default();
    locals.unicast.insert(IpAddr::from([192, 168, 1, 10]));
    locals.unicast.insert(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x10)));
    locals
}

/// One pass over `blocks`, as the capture thread reads them; returns frames counted.
fn serve(
    blocks: &[Vec<u8>],
    table: &Mutex<FlowTable>,
    matcher: Option<&Mutex<Matcher>>,
    batch: &mut Vec<Frame>,
) -> usize {
    let mut frames = 0;
    let seen = Instant::now();
    for block in blocks {
        batch.clear();
        let mut dns = |segment: &netlens_collectors::capture::frame::Segment<'_>, at| {
            if let Some(matcher) = matcher {
                let mut matcher = matcher.lock().unwrap();
                for message in segment_messages(*segment) {
                    if let DnsFrame::Message(packet) = message {
                        black_box(matcher.observe(packet, seen, at));
                    }
                }
            }
        };
        ring::frames(block, &mut |captured: RingFrame<'_>| {
            frames += 1;
            count::frame(Framing::Ethernet, &captured, batch, &mut dns);
        });
        table.lock().unwrap().observe_all(batch);
    }
    frames
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("capture");
    for (name, with_dns) in [("udp_mix", false), ("with_dns", true)] {
        let blocks = blocks(&mix(with_dns));
        let table = Mutex::new(FlowTable::new(65_536));
        table.lock().unwrap().set_locals(locals());
        let matcher = Mutex::new(Matcher::new(MatcherConfig::default()));
        let mut batch = Vec::new();
        assert_eq!(serve(&blocks, &table, Some(&matcher), &mut batch), FRAMES);
        let flows = table.lock().unwrap().take();
        // 512 ports × (QUIC v4, v6, loopback both ends…): a few thousand flows, all counted.
        assert!(flows.len() > 1000, "{} flows", flows.len());
        if with_dns {
            assert_eq!(matcher.lock().unwrap().drain().len(), FRAMES / 16, "every exchange matched");
        }
        group.throughput(Throughput::Elements(FRAMES as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let counted = serve(&blocks, &table, with_dns.then_some(&matcher), &mut batch);
                // A flush every round, as the source empties the table every interval.
                black_box(table.lock().unwrap().take());
                if with_dns {
                    black_box(matcher.lock().unwrap().drain());
                }
                counted
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
