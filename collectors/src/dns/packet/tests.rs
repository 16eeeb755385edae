//! The DNS frame parser on real messages (encoded by hickory) in hand-built Ethernet,
//! IPv4, IPv6, UDP and TCP headers, and on random and mutated bytes. The frame
//! builders serve the capture's tests too.

use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, Record};
use proptest::prelude::*;

use super::*;
use crate::capture::testing::Must as _;

pub(crate) const PROTOCOL_TCP: u8 = 6;
pub(crate) const PROTOCOL_UDP: u8 = 17;

pub(crate) fn endpoint(text: &str) -> SocketAddr {
    text.parse().must()
}

/// A query as a stub resolver sends it (recursion desired).
pub(crate) fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).must(), qtype));
    message.to_vec().must()
}

/// The answer to [`query`] with `rcode` and `addresses` (A or AAAA records).
pub(crate) fn response(
    id: u16,
    name: &str,
    qtype: RecordType,
    rcode: ResponseCode,
    addresses: &[IpAddr],
) -> Vec<u8> {
    let mut message = Message::response(id, OpCode::Query);
    message.metadata.response_code = rcode;
    message.metadata.recursion_desired = true;
    message.metadata.recursion_available = true;
    let owner = Name::from_ascii(name).must();
    message.add_query(Query::query(owner.clone(), qtype));
    for address in addresses {
        let data = match address {
            IpAddr::V4(v4) => RData::A(A(*v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
        };
        message.add_answer(Record::from_rdata(owner.clone(), 300, data));
    }
    message.to_vec().must()
}

/// `message` preceded by its TCP length.
pub(crate) fn length_prefixed(message: &[u8]) -> Vec<u8> {
    let mut bytes = (message.len() as u16).to_be_bytes().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

pub(crate) fn udp_segment(source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&source.port().to_be_bytes());
    segment.extend_from_slice(&destination.port().to_be_bytes());
    segment.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.extend_from_slice(payload);
    segment
}

/// A TCP segment with PSH and ACK (or only ACK when `payload` is empty).
pub(crate) fn tcp_segment(source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut segment = vec![0; 20];
    segment[0..2].copy_from_slice(&source.port().to_be_bytes());
    segment[2..4].copy_from_slice(&destination.port().to_be_bytes());
    segment[12] = 5 << 4;
    segment[13] = if payload.is_empty() { 0x10 } else { 0x18 };
    segment.extend_from_slice(payload);
    segment
}

/// An IPv4 or IPv6 header (by the addresses' family) in front of `segment`.
pub(crate) fn ip(protocol: u8, source: SocketAddr, destination: SocketAddr, segment: &[u8]) -> Vec<u8> {
    let mut packet = match (source.ip(), destination.ip()) {
        (IpAddr::V4(from), IpAddr::V4(to)) => {
            let mut header = vec![0; 20];
            header[0] = 0x45;
            header[2..4].copy_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
            header[6] = 0x40;
            header[8] = 64;
            header[9] = protocol;
            header[12..16].copy_from_slice(&from.octets());
            header[16..20].copy_from_slice(&to.octets());
            header
        }
        (IpAddr::V6(from), IpAddr::V6(to)) => {
            let mut header = vec![0; 40];
            header[0] = 0x60;
            header[4..6].copy_from_slice(&(segment.len() as u16).to_be_bytes());
            header[6] = protocol;
            header[7] = 64;
            header[8..24].copy_from_slice(&from.octets());
            header[24..40].copy_from_slice(&to.octets());
            header
        }
        _ => panic!("mixed address families"),
    };
    packet.extend_from_slice(segment);
    packet
}

/// `packet` in an Ethernet frame, padded to the 60-byte minimum as a NIC pads it.
pub(crate) fn ethernet(packet: &[u8]) -> Vec<u8> {
    let ethertype: u16 = if packet[0] >> 4 == 6 { 0x86dd } else { 0x0800 };
    let mut frame = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a];
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(packet);
    frame.resize(frame.len().max(60), 0);
    frame
}

pub(crate) fn udp_frame(source: &str, destination: &str, payload: &[u8]) -> Vec<u8> {
    let (source, destination) = (endpoint(source), endpoint(destination));
    ethernet(&ip(PROTOCOL_UDP, source, destination, &udp_segment(source, destination, payload)))
}

pub(crate) fn tcp_frame(source: &str, destination: &str, payload: &[u8]) -> Vec<u8> {
    let (source, destination) = (endpoint(source), endpoint(destination));
    ethernet(&ip(PROTOCOL_TCP, source, destination, &tcp_segment(source, destination, payload)))
}

fn message(frame: DnsFrame) -> DnsPacket {
    match frame {
        DnsFrame::Message(packet) => packet,
        other => panic!("expected a DNS message, got {other:?}"),
    }
}

#[test]
fn an_a_query_and_its_answer() {
    let asked = message(parse(
        Framing::Ethernet,
        &udp_frame("192.168.1.10:40001", "192.168.1.1:53", &query(0x1234, "Example.COM.", RecordType::A)),
    ));
    assert_eq!(
        asked,
        DnsPacket {
            id: 0x1234,
            response: false,
            client: endpoint("192.168.1.10:40001"),
            server: endpoint("192.168.1.1:53"),
            transport: DnsTransport::Udp,
            name: "example.com".to_owned(),
            qtype: "A".to_owned(),
            rcode: "NOERROR".to_owned(),
            answers: 0,
            truncated: false,
        }
    );
    let addresses = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))];
    let answer = response(0x1234, "example.com.", RecordType::A, ResponseCode::NoError, &addresses);
    let answered =
        message(parse(Framing::Ethernet, &udp_frame("192.168.1.1:53", "192.168.1.10:40001", &answer)));
    assert!(answered.response);
    assert_eq!((answered.client, answered.server), (asked.client, asked.server), "the same sides");
    assert_eq!((answered.id, answered.name.as_str(), answered.qtype.as_str()), (0x1234, "example.com", "A"));
    assert_eq!((answered.rcode.as_str(), answered.answers, answered.truncated), ("NOERROR", 2, false));
}

#[test]
fn nodata_nxdomain_and_errors_are_told_by_their_header() {
    let cases = [
        (RecordType::AAAA, ResponseCode::NoError, "AAAA", "NOERROR"),
        (RecordType::A, ResponseCode::NXDomain, "A", "NXDOMAIN"),
        (RecordType::A, ResponseCode::ServFail, "A", "SERVFAIL"),
        (RecordType::PTR, ResponseCode::Refused, "PTR", "REFUSED"),
        (RecordType::HTTPS, ResponseCode::FormErr, "HTTPS", "FORMERR"),
        (RecordType::Unknown(65280), ResponseCode::NotImp, "TYPE65280", "NOTIMP"),
    ];
    for (qtype, rcode, qtype_text, rcode_text) in cases {
        let answer = response(7, "only-v4.example.", qtype, rcode, &[]);
        let packet = message(parse(Framing::Ethernet, &udp_frame("10.0.0.53:53", "10.0.0.2:33333", &answer)));
        assert_eq!(
            (packet.qtype.as_str(), packet.rcode.as_str(), packet.answers),
            (qtype_text, rcode_text, 0)
        );
    }
}

#[test]
fn the_truncation_bit_is_reported() {
    let mut answer = Message::response(9, OpCode::Query);
    answer.metadata.truncation = true;
    answer.add_query(Query::query(Name::from_ascii("big.example.").must(), RecordType::TXT));
    let bytes = answer.to_vec().must();
    let packet = message(parse(Framing::Ethernet, &udp_frame("10.0.0.53:53", "10.0.0.2:33333", &bytes)));
    assert!(packet.truncated && packet.response);
    assert_eq!(packet.qtype, "TXT");
}

#[test]
fn names_are_lower_case_without_the_trailing_dot() {
    let cases = [
        (Name::root(), "."),
        (Name::from_ascii("WWW.Example.Org.").must(), "www.example.org"),
        (Name::from_ascii("1.2.0.192.in-addr.arpa.").must(), "1.2.0.192.in-addr.arpa"),
        (Name::from_labels([b"a.b".as_slice(), b"example".as_slice()]).must(), "a\\.b.example"),
    ];
    for (name, expected) in cases {
        let mut bytes = Message::new(1, MessageType::Query, OpCode::Query);
        bytes.add_query(Query::query(name, RecordType::NS));
        let frame = udp_frame("10.0.0.2:33333", "10.0.0.53:53", &bytes.to_vec().must());
        assert_eq!(message(parse(Framing::Ethernet, &frame)).name, expected);
    }
}

#[test]
fn tcp_messages_follow_their_length() {
    let asked = length_prefixed(&query(0xbeef, "example.net.", RecordType::AAAA));
    let frame = tcp_frame("192.168.1.10:40002", "192.168.1.1:53", &asked);
    let packet = message(parse(Framing::Ethernet, &frame));
    assert_eq!((packet.transport, packet.id, packet.qtype.as_str()), (DnsTransport::Tcp, 0xbeef, "AAAA"));
    assert_eq!(packet.server, endpoint("192.168.1.1:53"));

    // glibc's A and AAAA queries in one segment: both are read.
    let mut both = length_prefixed(&query(1, "example.net.", RecordType::A));
    both.extend_from_slice(&length_prefixed(&query(2, "example.net.", RecordType::AAAA)));
    let frame = tcp_frame("192.168.1.10:40002", "192.168.1.1:53", &both);
    let ids: Vec<_> = messages(Framing::Ethernet, &frame).map(|frame| message(frame).id).collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(message(parse(Framing::Ethernet, &frame)).id, 1, "parse gives the first");

    // The first segment of a response too large for one: header and question are there.
    let addresses: Vec<IpAddr> = (0..200).map(|n| IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))).collect();
    let large =
        length_prefixed(&response(3, "many.example.", RecordType::A, ResponseCode::NoError, &addresses));
    let (start, rest) = large.split_at(1400);
    let packet = message(parse(Framing::Ethernet, &tcp_frame("192.168.1.1:53", "192.168.1.10:40002", start)));
    assert_eq!((packet.id, packet.answers, packet.response), (3, 200, true));
    // Its continuation cannot be told from garbage: not DNS, and not malformed.
    assert_eq!(
        parse(Framing::Ethernet, &tcp_frame("192.168.1.1:53", "192.168.1.10:40002", rest)),
        DnsFrame::NotDns
    );

    // A handshake or a bare ACK (padded by Ethernet) carries nothing.
    let ack = tcp_frame("192.168.1.1:53", "192.168.1.10:40002", &[]);
    assert_eq!(ack.len(), 60, "padded");
    assert_eq!(parse(Framing::Ethernet, &ack), DnsFrame::NotDns);
    assert_eq!(messages(Framing::Ethernet, &ack).count(), 1);
}

#[test]
fn ipv6_over_ethernet_and_raw_ip() {
    let asked = query(77, "example.org.", RecordType::AAAA);
    let (source, destination) = (endpoint("[2001:db8::10]:45000"), endpoint("[2001:db8::53]:53"));
    let packet = ip(PROTOCOL_UDP, source, destination, &udp_segment(source, destination, &asked));
    for (framing, frame) in [(Framing::Ethernet, ethernet(&packet)), (Framing::RawIp, packet.clone())] {
        let parsed = message(parse(framing, &frame));
        assert_eq!((parsed.client, parsed.server, parsed.id), (source, destination, 77));
    }
}

#[test]
fn port_53_garbage_is_malformed_and_other_traffic_is_not_dns() {
    let garbage = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    assert_eq!(
        parse(Framing::Ethernet, &udp_frame("10.0.0.2:33333", "10.0.0.53:53", garbage)),
        DnsFrame::Malformed
    );
    assert_eq!(
        parse(Framing::Ethernet, &udp_frame("10.0.0.2:33333", "10.0.0.53:53", &[0; 11])),
        DnsFrame::Malformed
    );
    // A header without a question: nothing to pair or show.
    let mut empty = query(5, "example.com.", RecordType::A);
    empty[4..6].copy_from_slice(&[0, 0]);
    assert_eq!(
        parse(Framing::Ethernet, &udp_frame("10.0.0.2:33333", "10.0.0.53:53", &empty)),
        DnsFrame::Malformed
    );
    // A question cut in the middle of its name.
    let cut = &query(5, "example.com.", RecordType::A)[..16];
    assert_eq!(
        parse(Framing::Ethernet, &udp_frame("10.0.0.2:33333", "10.0.0.53:53", cut)),
        DnsFrame::Malformed
    );
    // Broken IP headers on the way to port 53.
    let mut frame = udp_frame("10.0.0.2:33333", "10.0.0.53:53", &query(5, "example.com.", RecordType::A));
    frame[14] = 0x4f;
    assert_eq!(parse(Framing::Ethernet, &frame), DnsFrame::Malformed);

    let elsewhere = udp_frame("10.0.0.2:33333", "10.0.0.53:5353", &query(5, "example.com.", RecordType::A));
    assert_eq!(parse(Framing::Ethernet, &elsewhere), DnsFrame::NotDns);
    assert_eq!(parse(Framing::Ethernet, &[0xff; 60]), DnsFrame::NotDns, "not IP");
    assert_eq!(parse(Framing::Ethernet, &[]), DnsFrame::Malformed);
}

#[test]
fn records_that_do_not_decode_do_not_hide_the_answer() {
    // An answer record claiming more data than there is: hickory's full decode fails,
    // the header and question are intact.
    let mut answer = response(
        11,
        "example.com.",
        RecordType::A,
        ResponseCode::NoError,
        &[IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))],
    );
    assert!(Message::from_vec(&answer).is_ok());
    let rdlength = answer.len() - 6;
    answer[rdlength..rdlength + 2].copy_from_slice(&400u16.to_be_bytes());
    assert!(Message::from_vec(&answer).is_err());
    let packet = message(parse(Framing::Ethernet, &udp_frame("10.0.0.53:53", "10.0.0.2:33333", &answer)));
    assert_eq!((packet.id, packet.answers, packet.rcode.as_str()), (11, 1, "NOERROR"));
}

#[test]
fn the_port_53_side_is_the_server() {
    let asked = query(3, "example.com.", RecordType::A);
    let between_servers = udp_frame("10.0.0.1:53", "10.0.0.2:53", &asked);
    let packet = message(parse(Framing::Ethernet, &between_servers));
    assert_eq!((packet.client, packet.server), (endpoint("10.0.0.1:53"), endpoint("10.0.0.2:53")));
    let answer = response(3, "example.com.", RecordType::A, ResponseCode::NoError, &[]);
    let packet = message(parse(Framing::Ethernet, &udp_frame("10.0.0.2:53", "10.0.0.1:53", &answer)));
    assert_eq!((packet.client, packet.server), (endpoint("10.0.0.1:53"), endpoint("10.0.0.2:53")));
}

#[test]
fn response_code_names() {
    assert_eq!(rcode_name(0), "NOERROR");
    assert_eq!(rcode_name(3), "NXDOMAIN");
    assert_eq!(rcode_name(16), "BADVERS");
    assert_eq!(rcode_name(12), "RCODE12");
}

/// Real frames to mutate, with the offsets of their length fields.
fn fixtures() -> Vec<(Framing, Vec<u8>, Vec<usize>)> {
    let asked = query(0x4242, "www.example.com.", RecordType::A);
    let addresses = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))];
    let answer = response(0x4242, "www.example.com.", RecordType::A, ResponseCode::NoError, &addresses);
    let (v6_client, v6_server) = (endpoint("[fd00::2]:40000"), endpoint("[fd00::53]:53"));
    let v6_answer = ip(PROTOCOL_UDP, v6_server, v6_client, &udp_segment(v6_server, v6_client, &answer));
    let mut pipelined = length_prefixed(&asked);
    pipelined.extend_from_slice(&length_prefixed(&query(0x4243, "www.example.com.", RecordType::AAAA)));
    // IPv4 total length at 16, UDP length at 38, DNS counts from 46, the first label
    // length at 54 (a compression pointer at 75 in the answer); TCP data offset at 46,
    // the length prefix at 54; IPv6 payload length at 4, UDP length at 44, counts from 52.
    vec![
        (
            Framing::Ethernet,
            udp_frame("192.168.1.10:40001", "192.168.1.1:53", &asked),
            vec![16, 38, 46, 48, 54],
        ),
        (
            Framing::Ethernet,
            udp_frame("192.168.1.1:53", "192.168.1.10:40001", &answer),
            vec![16, 38, 48, 50, 75],
        ),
        (
            Framing::Ethernet,
            tcp_frame("192.168.1.10:40002", "192.168.1.1:53", &pipelined),
            vec![16, 46, 54, 60],
        ),
        (Framing::RawIp, v6_answer, vec![4, 44, 52, 54]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700), raw in any::<bool>()) {
        let framing = if raw { Framing::RawIp } else { Framing::Ethernet };
        let _ = parse(framing, &bytes);
        prop_assert!(messages(framing, &bytes).count() >= 1);
    }

    #[test]
    fn random_payloads_on_port_53_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..600),
        tcp in any::<bool>(),
    ) {
        let frame = if tcp {
            tcp_frame("10.0.0.2:40000", "10.0.0.53:53", &payload)
        } else {
            udp_frame("10.0.0.2:40000", "10.0.0.53:53", &payload)
        };
        for item in messages(Framing::Ethernet, &frame) {
            if let DnsFrame::Message(packet) = item {
                prop_assert_eq!(packet.server, endpoint("10.0.0.53:53"));
            }
        }
    }

    #[test]
    fn mutated_packets_never_panic(
        which in 0..4usize,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..6),
        field in proptest::option::of((any::<prop::sample::Index>(), any::<u16>())),
        anywhere in proptest::option::of((any::<prop::sample::Index>(), any::<u16>())),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (framing, mut frame, lengths) = fixtures().swap_remove(which);
        for (at, bit) in flips {
            let at = at.index(frame.len());
            frame[at] ^= 1 << bit;
        }
        for (at, value) in [field.map(|(at, value)| (lengths[at.index(lengths.len())], value)),
            anywhere.map(|(at, value)| (at.index(frame.len() - 1), value))].into_iter().flatten()
        {
            frame[at..at + 2].copy_from_slice(&value.to_be_bytes());
        }
        if let Some(cut) = cut {
            frame.truncate(cut.index(frame.len() + 1));
        }
        for item in messages(framing, &frame) {
            if let DnsFrame::Message(packet) = item {
                prop_assert_eq!(packet.server.port(), DNS_PORT);
                prop_assert!(!packet.name.is_empty());
            }
        }
    }
}

#[test]
fn the_fixtures_parse_unmutated() {
    for (framing, frame, lengths) in fixtures() {
        let count = messages(framing, &frame).filter(|item| matches!(item, DnsFrame::Message(_))).count();
        assert!(count >= 1, "{frame:?}");
        assert!(lengths.iter().all(|&at| at + 2 <= frame.len()));
    }
}
