//! The flush, and the source itself on this namespace's interfaces.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use super::*;
use crate::capture::Framing;
use crate::capture::frame::{self, Carried};
use crate::capture::testing::Must as _;
use crate::dns::packet::tests::{length_prefixed, query, response, udp_frame};
use crate::model::{DnsTransport, SourceState};

#[test]
fn defaults() {
    let config = DnsCaptureConfig::default();
    assert_eq!(
        (config.flush, config.query_timeout, config.max_pending, config.max_batch),
        (Duration::from_millis(250), Duration::from_secs(5), 4096, 4096)
    );
    assert_eq!(DnsCaptureSource::new(config).id(), SourceId::DnsCapture);
}

#[test]
fn the_privilege_message_says_how_to_fix_it() {
    assert!(NEEDS_CAP_NET_RAW.starts_with("passive DNS capture needs CAP_NET_RAW"));
    assert!(NEEDS_CAP_NET_RAW.contains("setcap cap_net_raw+ep"));
}

#[test]
fn a_flush_sends_what_changed_only() {
    let matcher = Mutex::new(Matcher::new(MatcherConfig::default()));
    let owners = Owners::start(PathBuf::from("/proc")).must();
    let mut flush = Flush::default();
    let start = Instant::now();
    assert_eq!(flush.next(&matcher, &owners, start), None, "nothing yet");

    let asked = udp_frame("192.0.2.10:40000", "192.0.2.53:53", &query(1, "example.com.", RecordType::A));
    let answer = response(1, "example.com.", RecordType::A, ResponseCode::NXDomain, &[]);
    let answered = udp_frame("192.0.2.53:53", "192.0.2.10:40000", &answer);
    let mut asked_sockets = Vec::new();
    let at = Timestamp::now_utc();
    let mut handle = |frame: &[u8], at: Timestamp| {
        let Carried::Segment(segment) = frame::segment(Framing::Ethernet, frame) else { panic!("a segment") };
        observe(segment, at, &matcher, &owners, &mut asked_sockets);
    };
    handle(&asked, at);
    // The kernel's timestamps make the latency, whenever the frames were read.
    handle(&answered, at + Duration::from_micros(1500));
    let batch = flush.next(&matcher, &owners, start).must();
    assert_eq!(batch.queries.len(), 1);
    let exchange = &batch.queries[0];
    assert_eq!((exchange.name.as_str(), exchange.rcode.as_deref()), ("example.com", Some("NXDOMAIN")));
    assert_eq!((exchange.pid, exchange.transport), (None, DnsTransport::Udp), "not this host's socket");
    assert_eq!(exchange.latency_ms, Some(1.5));
    assert_eq!(exchange.at, at);
    assert_eq!(batch.counters, CaptureCounters { packets: 2, ..CaptureCounters::default() });
    assert_eq!(flush.next(&matcher, &owners, start), None, "nothing changed");

    let garbage = udp_frame("192.0.2.10:40000", "192.0.2.53:53", b"not dns at all");
    handle(&garbage, at);
    let batch = flush.next(&matcher, &owners, start).must();
    assert!(batch.queries.is_empty());
    assert_eq!(batch.counters.malformed, 1, "a counter change is sent");

    handle(&asked, at);
    assert_eq!(flush.next(&matcher, &owners, start + Duration::from_secs(1)).must().queries.len(), 0);
    // Timed from when the frame was read.
    let batch = flush.next(&matcher, &owners, Instant::now() + Duration::from_secs(5)).must();
    assert_eq!((batch.queries.len(), batch.counters.timeouts), (1, 1));
    assert_eq!(batch.queries[0].rcode, None, "a timeout");
}

/// This process's name, as `/proc` gives it.
fn own_name() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").must();
    let (open, close) = (stat.find('(').must(), stat.rfind(')').must());
    stat[open + 1..close].to_owned()
}

/// A UDP socket on port 53 of some loopback address, if one is free.
fn bind_port_53() -> Option<UdpSocket> {
    ["127.0.0.1:53", "127.0.0.2:53", "127.53.0.1:53"]
        .into_iter()
        .find_map(|address| UdpSocket::bind(address).ok())
}

/// The answer to `asked`: one A record.
fn answer_to(asked: &[u8]) -> Vec<u8> {
    let asked = Message::from_vec(asked).must();
    let question = asked.queries[0].clone();
    let address = std::net::IpAddr::from([192, 0, 2, 7]);
    response(
        asked.metadata.id,
        &question.name().to_ascii(),
        question.query_type(),
        ResponseCode::NoError,
        &[address],
    )
}

/// Ask `server` for `name` over UDP from a new socket bound to `client`; the answer
/// comes after a few milliseconds. Returns the asking socket's address and the socket,
/// kept open: its owner is found through it.
fn ask_over_udp(server: UdpSocket, client: &str, name: &str) -> (SocketAddr, UdpSocket) {
    let server_address = server.local_addr().must();
    let responder = std::thread::spawn(move || {
        let mut buffer = [0; 512];
        server.set_read_timeout(Some(Duration::from_secs(10))).must();
        let (length, from) = server.recv_from(&mut buffer).must();
        std::thread::sleep(Duration::from_millis(5));
        server.send_to(&answer_to(&buffer[..length]), from).must();
    });
    let socket = UdpSocket::bind(client).must();
    socket.connect(server_address).must();
    socket.set_read_timeout(Some(Duration::from_secs(5))).must();
    socket.send(&query(0x5eed, &format!("{name}."), RecordType::A)).must();
    let mut buffer = [0; 512];
    assert!(socket.recv(&mut buffer).must() > 12);
    responder.join().must();
    (socket.local_addr().must(), socket)
}

/// The same over TCP (length-prefixed messages on one connection).
fn ask_over_tcp(server: TcpListener, name: &str) -> (SocketAddr, TcpStream) {
    let server_address = server.local_addr().must();
    let responder = std::thread::spawn(move || {
        let (mut connection, _) = server.accept().must();
        connection.set_read_timeout(Some(Duration::from_secs(10))).must();
        let mut length = [0; 2];
        connection.read_exact(&mut length).must();
        let mut asked = vec![0; usize::from(u16::from_be_bytes(length))];
        connection.read_exact(&mut asked).must();
        std::thread::sleep(Duration::from_millis(5));
        connection.write_all(&length_prefixed(&answer_to(&asked))).must();
    });
    let mut stream = TcpStream::connect(server_address).must();
    stream.set_read_timeout(Some(Duration::from_secs(5))).must();
    stream.write_all(&length_prefixed(&query(0x5eee, &format!("{name}."), RecordType::A))).must();
    let mut length = [0; 2];
    stream.read_exact(&mut length).must();
    assert!(u16::from_be_bytes(length) > 12);
    responder.join().must();
    (stream.local_addr().must(), stream)
}

/// As root this opens real captures on this namespace's interfaces and sees exchanges
/// on loopback — over UDP and TCP, and over IPv6 where `::1` is there — each with its
/// latency and this process as the asker; unprivileged it must report the missing
/// capability and send nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_its_state_and_sees_queries_with_their_process() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let config = DnsCaptureConfig { flush: Duration::from_millis(100), ..DnsCaptureConfig::default() };
    let handle = crate::source::spawn_supervised(DnsCaptureSource::new(config), tx);
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.must().must();
    let Payload::Status(status) = first.payload else { panic!("first event should be a status: {first:?}") };
    assert_eq!(first.source, SourceId::DnsCapture);
    if !crate::system::privileges().net_raw {
        assert_eq!((status.status, status.detail.as_str()), (SourceState::Degraded, NEEDS_CAP_NET_RAW));
        let nothing = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        assert!(nothing.is_err(), "nothing else is sent: {nothing:?}");
        handle.abort();
        return;
    }
    assert_eq!(status.status, SourceState::Ok, "{}", status.detail);
    assert!(status.detail.starts_with("DNS capture on "), "{}", status.detail);
    assert!(
        status.detail.split([' ', ',']).any(|word| word == "lo"),
        "loopback is captured: {}",
        status.detail
    );

    let Some(server) = bind_port_53() else {
        crate::test_policy::cannot_run("the exchanges: port 53 is taken on every loopback address tried");
        handle.abort();
        return;
    };
    let server_address = server.local_addr().must();
    let tag = std::process::id();
    // (name, transport, server, client); the sockets stay open until the end.
    let mut expected = Vec::new();
    let (client, udp) = ask_over_udp(server, "127.0.0.1:0", &format!("udp4-{tag}.netlens.test"));
    expected.push((format!("udp4-{tag}.netlens.test"), DnsTransport::Udp, server_address, client));
    let tcp = match TcpListener::bind(server_address) {
        Ok(listener) => {
            let (client, stream) = ask_over_tcp(listener, &format!("tcp4-{tag}.netlens.test"));
            expected.push((format!("tcp4-{tag}.netlens.test"), DnsTransport::Tcp, server_address, client));
            Some(stream)
        }
        Err(error) => {
            crate::test_policy::cannot_run(&format!("the TCP exchange: {server_address} over TCP: {error}"));
            None
        }
    };
    let udp6 = match UdpSocket::bind("[::1]:53") {
        Ok(server) => {
            let server_address = server.local_addr().must();
            let (client, socket) = ask_over_udp(server, "[::1]:0", &format!("udp6-{tag}.netlens.test"));
            expected.push((format!("udp6-{tag}.netlens.test"), DnsTransport::Udp, server_address, client));
            Some(socket)
        }
        Err(error) => {
            crate::test_policy::cannot_run(&format!("the IPv6 exchange: [::1]:53: {error}"));
            None
        }
    };

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {seen:?} of {expected:?} were seen"))
            .must();
        if let Payload::DnsQueries(batch) = event.payload {
            seen.extend(
                batch
                    .queries
                    .into_iter()
                    .filter(|exchange| expected.iter().any(|(name, ..)| *name == exchange.name)),
            );
        }
    }
    handle.abort();
    for (name, transport, server, client) in expected {
        let exchange = seen.iter().find(|exchange| exchange.name == name).must();
        assert_eq!(
            (exchange.qtype.as_str(), exchange.rcode.as_deref(), exchange.answers),
            ("A", Some("NOERROR"), 1),
            "{name}"
        );
        assert_eq!(
            (exchange.transport, exchange.server, exchange.client),
            (transport, server, client),
            "{name}"
        );
        // Kernel timestamps: the answer was sent at least 5 ms after the query arrived,
        // however late the capture thread read either.
        let latency = exchange.latency_ms.must();
        assert!((5.0..2000.0).contains(&latency), "{name}: the responder waited 5 ms: {latency} ms");
        assert_eq!(
            (exchange.pid, exchange.process.clone()),
            (Some(std::process::id()), Some(own_name())),
            "{name}"
        );
    }
    drop((udp, tcp, udp6));
}
