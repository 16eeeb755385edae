//! The in-process DNS test server (`common::dns_server`) checked with raw sockets
//! and hickory-proto: every behaviour over UDP and TCP, natural truncation, the log.
//! Listens on 127.0.0.1 with a kernel-chosen port and sends nothing anywhere else;
//! needs neither root nor a namespace.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::dns_server::{Behaviour, DnsTestServer, Zone};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

const TIMEOUT: Duration = Duration::from_secs(2);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("address {text}: {e}"))
}

fn start(zone: Zone) -> DnsTestServer {
    DnsTestServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), zone)
}

/// A standard query with RD set.
fn query(name: &str, qtype: RecordType, id: u16) -> Message {
    let name = Name::from_ascii(format!("{name}.")).unwrap_or_else(|e| panic!("name {name}: {e}"));
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name, qtype));
    message
}

fn encode(message: &Message) -> Vec<u8> {
    message.to_vec().unwrap_or_else(|e| panic!("encode: {e}"))
}

fn decode(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).unwrap_or_else(|e| panic!("decode: {e}"))
}

/// A client socket on loopback, connected to the server, with a read timeout.
fn udp_client(server: &DnsTestServer, timeout: Duration) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind client: {e}"));
    socket.connect(server.address()).unwrap_or_else(|e| panic!("connect: {e}"));
    socket.set_read_timeout(Some(timeout)).unwrap_or_else(|e| panic!("timeout: {e}"));
    socket
}

fn udp_receive(socket: &UdpSocket) -> Message {
    let mut buffer = vec![0_u8; 65_535];
    let len = socket.recv(&mut buffer).unwrap_or_else(|e| panic!("UDP receive: {e}"));
    decode(&buffer[..len])
}

/// One query over UDP, one reply.
fn udp_exchange(server: &DnsTestServer, message: &Message) -> Message {
    let socket = udp_client(server, TIMEOUT);
    socket.send(&encode(message)).unwrap_or_else(|e| panic!("UDP send: {e}"));
    udp_receive(&socket)
}

fn tcp_connect(server: &DnsTestServer) -> TcpStream {
    let stream = TcpStream::connect(server.address()).unwrap_or_else(|e| panic!("TCP connect: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap_or_else(|e| panic!("timeout: {e}"));
    stream
}

fn tcp_send(stream: &mut TcpStream, message: &Message) {
    let bytes = encode(message);
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).unwrap_or_else(|e| panic!("TCP send: {e}"));
}

fn tcp_receive(stream: &mut TcpStream) -> Message {
    let mut prefix = [0_u8; 2];
    stream.read_exact(&mut prefix).unwrap_or_else(|e| panic!("TCP length: {e}"));
    let mut body = vec![0_u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut body).unwrap_or_else(|e| panic!("TCP body: {e}"));
    decode(&body)
}

/// One query on a fresh TCP connection, one reply.
fn tcp_exchange(server: &DnsTestServer, message: &Message) -> Message {
    let mut stream = tcp_connect(server);
    tcp_send(&mut stream, message);
    tcp_receive(&mut stream)
}

/// The addresses of the A/AAAA records of an answer section, in order.
fn addresses(reply: &Message) -> Vec<IpAddr> {
    reply
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .collect()
}

/// Shared checks of a reply to `asked`: id, QR, AA, RD copied, question echoed.
fn assert_reply_to(reply: &Message, asked: &Message) {
    assert_eq!(reply.metadata.id, asked.metadata.id, "transaction id");
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    assert!(reply.metadata.authoritative, "AA");
    assert_eq!(reply.metadata.recursion_desired, asked.metadata.recursion_desired, "RD copied");
    assert_eq!(reply.queries, asked.queries, "question echoed");
}

fn record_name(record: &Record) -> String {
    record.name.to_ascii()
}

#[test]
fn a_answer_carries_ttl_300_over_udp_and_tcp() {
    let server = start(Zone::new().host("www.example.test", &[ip("192.0.2.1"), ip("2001:db8::1")]));
    let asked = query("www.example.test", RecordType::A, 0x1234);
    for reply in [udp_exchange(&server, &asked), tcp_exchange(&server, &asked)] {
        assert_reply_to(&reply, &asked);
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(!reply.metadata.truncation);
        assert_eq!(addresses(&reply), vec![ip("192.0.2.1")]);
        assert_eq!(reply.answers[0].ttl, 300);
        assert_eq!(record_name(&reply.answers[0]), "www.example.test.");
    }
    let asked = query("WWW.Example.TEST", RecordType::AAAA, 7);
    let reply = udp_exchange(&server, &asked);
    assert_reply_to(&reply, &asked);
    assert_eq!(addresses(&reply), vec![ip("2001:db8::1")], "names are case-insensitive");
}

#[test]
fn aaaa_of_an_a_only_host_is_nodata() {
    let server = start(Zone::new().host("v4only.example.test", &[ip("192.0.2.2")]));
    let asked = query("v4only.example.test", RecordType::AAAA, 2);
    let reply = udp_exchange(&server, &asked);
    assert_reply_to(&reply, &asked);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty(), "NODATA: {reply:?}");
    // Another type of a known name is NODATA too.
    let reply = udp_exchange(&server, &query("v4only.example.test", RecordType::MX, 3));
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
}

#[test]
fn unknown_names_and_explicit_failures_get_their_rcodes() {
    let server = start(
        Zone::new()
            .on("nx.example.test", None, Behaviour::NxDomain)
            .on("broken.example.test", None, Behaviour::ServFail)
            .on("closed.example.test", None, Behaviour::Refused)
            .host("mixed.example.test", &[ip("192.0.2.3")])
            .on("mixed.example.test", Some(RecordType::AAAA), Behaviour::ServFail),
    );
    for (name, qtype, expected) in [
        ("unknown.example.test", RecordType::A, ResponseCode::NXDomain),
        ("nx.example.test", RecordType::AAAA, ResponseCode::NXDomain),
        ("broken.example.test", RecordType::A, ResponseCode::ServFail),
        ("closed.example.test", RecordType::A, ResponseCode::Refused),
        ("mixed.example.test", RecordType::AAAA, ResponseCode::ServFail),
        ("mixed.example.test", RecordType::A, ResponseCode::NoError),
    ] {
        let asked = query(name, qtype, 9);
        for reply in [udp_exchange(&server, &asked), tcp_exchange(&server, &asked)] {
            assert_reply_to(&reply, &asked);
            assert_eq!(reply.metadata.response_code, expected, "{name} {qtype}");
        }
    }
}

#[test]
fn truncate_sets_tc_over_udp_and_answers_over_tcp() {
    let server = start(Zone::new().on("big.example.test", None, Behaviour::Truncate(vec![ip("192.0.2.4")])));
    let asked = query("big.example.test", RecordType::A, 4);
    let reply = udp_exchange(&server, &asked);
    assert_reply_to(&reply, &asked);
    assert!(reply.metadata.truncation, "TC over UDP");
    assert!(reply.answers.is_empty());
    let reply = tcp_exchange(&server, &asked);
    assert_reply_to(&reply, &asked);
    assert!(!reply.metadata.truncation, "no TC over TCP");
    assert_eq!(addresses(&reply), vec![ip("192.0.2.4")]);
}

#[test]
fn answers_too_big_for_a_datagram_are_truncated_naturally() {
    let many: Vec<IpAddr> = (1..=60_u8).map(|i| IpAddr::from([198, 51, 100, i])).collect();
    let server = start(Zone::new().host("many.example.test", &many));
    let plain = query("many.example.test", RecordType::A, 5);
    let reply = udp_exchange(&server, &plain);
    assert!(reply.metadata.truncation, "60 A records do not fit 512 bytes");
    assert!(reply.answers.is_empty());

    let mut with_edns = query("many.example.test", RecordType::A, 6);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    with_edns.set_edns(edns);
    let reply = udp_exchange(&server, &with_edns);
    assert!(!reply.metadata.truncation, "fits the advertised EDNS size");
    assert_eq!(addresses(&reply), many);
    assert!(reply.edns.is_some(), "EDNS answered with OPT");

    let reply = tcp_exchange(&server, &plain);
    assert!(!reply.metadata.truncation);
    assert_eq!(addresses(&reply), many);
}

#[test]
fn wrong_id_first_then_the_right_answer() {
    let server = start(Zone::new().on(
        "tricky.example.test",
        Some(RecordType::A),
        Behaviour::WrongIdFirst(vec![ip("192.0.2.5")]),
    ));
    let asked = query("tricky.example.test", RecordType::A, 0x4242);
    let socket = udp_client(&server, TIMEOUT);
    socket.send(&encode(&asked)).unwrap_or_else(|e| panic!("send: {e}"));
    let first = udp_receive(&socket);
    assert_ne!(first.metadata.id, 0x4242, "the decoy has another id");
    let second = udp_receive(&socket);
    assert_reply_to(&second, &asked);
    assert_eq!(addresses(&second), vec![ip("192.0.2.5")]);

    let mut stream = tcp_connect(&server);
    tcp_send(&mut stream, &asked);
    assert_ne!(tcp_receive(&mut stream).metadata.id, 0x4242);
    assert_eq!(addresses(&tcp_receive(&mut stream)), vec![ip("192.0.2.5")]);
}

#[test]
fn cname_chains_are_followed_inside_the_zone() {
    let server = start(
        Zone::new()
            .on("alias.example.test", None, Behaviour::Cname("middle.example.test".to_owned()))
            .on("middle.example.test", None, Behaviour::Cname("www.example.test".to_owned()))
            .host("www.example.test", &[ip("192.0.2.6"), ip("2001:db8::6")])
            .on("outside.example.test", None, Behaviour::Cname("elsewhere.invalid".to_owned()))
            .on("dangling.example.test", None, Behaviour::Cname("gone.example.test".to_owned()))
            .on("gone.example.test", None, Behaviour::NxDomain),
    );
    let asked = query("alias.example.test", RecordType::AAAA, 8);
    let reply = udp_exchange(&server, &asked);
    assert_reply_to(&reply, &asked);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    let chain: Vec<(String, RecordType, u32)> =
        reply.answers.iter().map(|r| (record_name(r), r.record_type(), r.ttl)).collect();
    assert_eq!(
        chain,
        vec![
            ("alias.example.test.".to_owned(), RecordType::CNAME, 60),
            ("middle.example.test.".to_owned(), RecordType::CNAME, 60),
            ("www.example.test.".to_owned(), RecordType::AAAA, 300),
        ]
    );
    assert_eq!(addresses(&reply), vec![ip("2001:db8::6")]);
    match &reply.answers[0].data {
        RData::CNAME(target) => assert_eq!(target.0.to_ascii(), "middle.example.test."),
        other => panic!("expected a CNAME, got {other:?}"),
    }

    // Out of zone: the CNAME alone, NOERROR.
    let reply = udp_exchange(&server, &query("outside.example.test", RecordType::A, 10));
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 1);
    assert_eq!(reply.answers[0].record_type(), RecordType::CNAME);

    // In-zone target that does not exist: the CNAME with NXDOMAIN.
    let reply = udp_exchange(&server, &query("dangling.example.test", RecordType::A, 11));
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(reply.answers.len(), 1);
}

#[test]
fn drop_never_answers() {
    let server = start(Zone::new().on("silent.example.test", None, Behaviour::Drop));
    let asked = query("silent.example.test", RecordType::A, 12);
    let socket = udp_client(&server, Duration::from_millis(300));
    socket.send(&encode(&asked)).unwrap_or_else(|e| panic!("send: {e}"));
    let mut buffer = [0_u8; 512];
    match socket.recv(&mut buffer) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no reply within 300 ms, got {other:?}"),
    }

    let mut stream = tcp_connect(&server);
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap_or_else(|e| panic!("timeout: {e}"));
    tcp_send(&mut stream, &asked);
    match stream.read(&mut buffer) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no TCP reply within 300 ms, got {other:?}"),
    }
}

#[test]
fn several_queries_share_one_tcp_connection() {
    let server = start(
        Zone::new().host("a.example.test", &[ip("192.0.2.7")]).host("b.example.test", &[ip("192.0.2.8")]),
    );
    let mut stream = tcp_connect(&server);
    // Both queries in one write: the server must split the stream by length prefix.
    let first = query("a.example.test", RecordType::A, 20);
    let second = query("b.example.test", RecordType::A, 21);
    let mut both = Vec::new();
    for message in [&first, &second] {
        let bytes = encode(message);
        both.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        both.extend_from_slice(&bytes);
    }
    stream.write_all(&both).unwrap_or_else(|e| panic!("send: {e}"));
    let reply = tcp_receive(&mut stream);
    assert_reply_to(&reply, &first);
    assert_eq!(addresses(&reply), vec![ip("192.0.2.7")]);
    let reply = tcp_receive(&mut stream);
    assert_reply_to(&reply, &second);
    assert_eq!(addresses(&reply), vec![ip("192.0.2.8")]);
    // And a third after a pause on the same connection.
    tcp_send(&mut stream, &first);
    assert_reply_to(&tcp_receive(&mut stream), &first);
}

#[test]
fn dns64_helper_publishes_ipv4only_arpa() {
    let prefix: Ipv6Addr = "64:ff9b::".parse().unwrap_or_else(|e| panic!("prefix: {e}"));
    let server = start(Zone::new().dns64(prefix));
    let reply = udp_exchange(&server, &query("ipv4only.arpa", RecordType::AAAA, 30));
    assert_eq!(addresses(&reply), vec![ip("64:ff9b::c000:aa"), ip("64:ff9b::c000:ab")]);
    let reply = udp_exchange(&server, &query("ipv4only.arpa", RecordType::A, 31));
    assert_eq!(addresses(&reply), vec![ip("192.0.0.170"), ip("192.0.0.171")]);
}

#[test]
fn the_log_records_names_types_and_transports_in_order() {
    let server = start(Zone::new().host("one.example.test", &[ip("192.0.2.9")]).on(
        "quiet.example.test",
        None,
        Behaviour::Drop,
    ));
    let before = Instant::now();
    let _ = udp_exchange(&server, &query("One.Example.Test", RecordType::A, 40));
    let _ = tcp_exchange(&server, &query("two.example.test", RecordType::AAAA, 41));
    let socket = udp_client(&server, TIMEOUT);
    socket
        .send(&encode(&query("quiet.example.test", RecordType::A, 42)))
        .unwrap_or_else(|e| panic!("send: {e}"));
    // A datagram that is not a DNS query is ignored and not logged: the query sent
    // after it on the same socket is logged right after `quiet`, and nothing between.
    socket.send(b"not dns").unwrap_or_else(|e| panic!("send: {e}"));
    socket
        .send(&encode(&query("after.example.test", RecordType::A, 44)))
        .unwrap_or_else(|e| panic!("send: {e}"));
    let deadline = Instant::now() + TIMEOUT;
    while server.log().len() < 4 {
        assert!(Instant::now() < deadline, "the server logged {:?}", server.log());
        std::thread::sleep(Duration::from_millis(10));
    }

    let log = server.log();
    let summary: Vec<(&str, RecordType, &str)> =
        log.iter().map(|entry| (entry.name.as_str(), entry.qtype, entry.transport)).collect();
    assert_eq!(
        summary,
        vec![
            ("one.example.test", RecordType::A, "udp"),
            ("two.example.test", RecordType::AAAA, "tcp"),
            ("quiet.example.test", RecordType::A, "udp"),
            ("after.example.test", RecordType::A, "udp"),
        ]
    );
    for entry in &log {
        assert_eq!(entry.client.ip(), ip("127.0.0.1"));
        assert!(entry.at >= before);
    }
    assert_eq!(log[2].client, socket.local_addr().unwrap_or_else(|e| panic!("local: {e}")));
    let answered = log[0].replied_at.unwrap_or_else(|| panic!("the UDP answer was logged as sent"));
    assert!(answered >= log[0].at);
    assert!(log[1].replied_at.is_some(), "the TCP answer was logged as sent");
    assert!(log[2].replied_at.is_none(), "a dropped query has no reply");

    server.clear_log();
    assert!(server.log().is_empty());
    let _ = udp_exchange(&server, &query("one.example.test", RecordType::A, 43));
    assert_eq!(server.log().len(), 1);
}

#[test]
fn dropping_the_server_stops_it_promptly() {
    let server = start(Zone::new().host("x.example.test", &[ip("192.0.2.10")]));
    // An idle TCP connection must not hold the drop up. A whole exchange on a later
    // connection shows the server has accepted the idle one.
    let _idle = tcp_connect(&server);
    let _ = tcp_exchange(&server, &query("x.example.test", RecordType::A, 45));
    let started = Instant::now();
    drop(server);
    // Only a hang fails this: a blocked drop never returns at all.
    assert!(started.elapsed() < TIMEOUT, "drop took {:?}", started.elapsed());
}
