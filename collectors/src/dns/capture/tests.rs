//! The socket filter run by a small classic BPF interpreter over built frames, the
//! flush, and the source itself on this namespace's interfaces.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use super::filter::{Instruction, SNAP_LENGTH, program};
use super::*;
use crate::capture::testing::Must as _;
use crate::dns::packet::tests::{
    PROTOCOL_TCP, PROTOCOL_UDP, endpoint, ethernet, ip, length_prefixed, query, response, tcp_frame,
    tcp_segment, udp_frame, udp_segment,
};
use crate::model::{DnsTransport, SourceState};

/// Run `program` over `frame` as the kernel would: what it returns is the number of
/// bytes kept (0: dropped). A load past the end drops the frame, as in the kernel.
fn interpret(program: &[Instruction], frame: &[u8]) -> u32 {
    let load = |at: u32, size: usize| -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let bytes = frame.get(at..at.checked_add(size)?)?;
        Some(bytes.iter().fold(0, |value, &byte| (value << 8) | u32::from(byte)))
    };
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    for _ in 0..program.len() {
        let op = program.get(pc).copied().unwrap_or_else(|| panic!("ran off the program at {pc}"));
        let code = u32::from(op.code);
        let mut next = pc + 1;
        let loaded = match code {
            c if c == libc::BPF_LD | libc::BPF_B | libc::BPF_ABS => Some(load(op.k, 1)),
            c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_ABS => Some(load(op.k, 2)),
            c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_IND => Some(load(x.wrapping_add(op.k), 2)),
            c if c == libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH => {
                let Some(byte) = load(op.k, 1) else { return 0 };
                x = (byte & 0xf) * 4;
                None
            }
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => {
                a &= op.k;
                None
            }
            c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                next += usize::from(if a == op.k { op.jt } else { op.jf });
                None
            }
            c if c == libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K => {
                next += usize::from(if a & op.k != 0 { op.jt } else { op.jf });
                None
            }
            c if c == libc::BPF_RET | libc::BPF_K => return op.k,
            other => panic!("instruction {other:#x} is not interpreted"),
        };
        if let Some(value) = loaded {
            let Some(value) = value else { return 0 };
            a = value;
        }
        pc = next;
    }
    panic!("the program did not return (it must only jump forward)")
}

#[test]
fn the_filter_passes_whole_port_53_packets_only() {
    let asked = query(1, "example.com.", RecordType::A);
    let (client, server) = (endpoint("10.0.0.2:40000"), endpoint("10.0.0.53:53"));
    let (client6, server6) = (endpoint("[fd00::2]:40000"), endpoint("[fd00::53]:53"));
    let udp4 = ip(PROTOCOL_UDP, client, server, &udp_segment(client, server, &asked));
    let udp6 = ip(PROTOCOL_UDP, server6, client6, &udp_segment(server6, client6, &asked));

    let mut with_options = udp4.clone();
    with_options[0] = 0x46;
    with_options.splice(20..20, [1, 1, 1, 0]);
    with_options[2..4].copy_from_slice(&(udp4.len() as u16 + 4).to_be_bytes());
    let mut later_fragment = udp4.clone();
    later_fragment[6..8].copy_from_slice(&0x0001u16.to_be_bytes());
    let mut first_fragment = udp4.clone();
    first_fragment[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
    let mut icmp = udp4.clone();
    icmp[9] = 1;
    let mut hop_by_hop = ip(0, client6, server6, &[PROTOCOL_UDP, 0, 0, 0, 0, 0, 0, 0]);
    hop_by_hop.extend_from_slice(&udp_segment(client6, server6, &asked));
    let mut arp = ethernet(&udp4);
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());

    let cases: Vec<(&str, Framing, Vec<u8>, bool)> = vec![
        ("UDP query to 53", Framing::Ethernet, ethernet(&udp4), true),
        ("TCP answer from 53", Framing::Ethernet, tcp_frame("10.0.0.53:53", "10.0.0.2:40001", &[]), true),
        ("IPv4 with options", Framing::Ethernet, ethernet(&with_options), true),
        ("a first fragment", Framing::Ethernet, ethernet(&first_fragment), true),
        ("a later fragment", Framing::Ethernet, ethernet(&later_fragment), false),
        ("IPv6 UDP", Framing::Ethernet, ethernet(&udp6), true),
        (
            "IPv6 TCP",
            Framing::Ethernet,
            ethernet(&ip(PROTOCOL_TCP, client6, server6, &tcp_segment(client6, server6, &[]))),
            true,
        ),
        ("raw IPv4", Framing::RawIp, udp4.clone(), true),
        ("raw IPv6", Framing::RawIp, udp6.clone(), true),
        ("mDNS", Framing::Ethernet, udp_frame("10.0.0.2:5353", "224.0.0.251:5353", &asked), false),
        ("other UDP", Framing::Ethernet, udp_frame("10.0.0.2:40000", "10.0.0.9:123", &asked), false),
        ("ICMP", Framing::Ethernet, ethernet(&icmp), false),
        ("ARP", Framing::Ethernet, arp, false),
        ("IPv6 extension headers", Framing::Ethernet, ethernet(&hop_by_hop), false),
        ("raw non-IP", Framing::RawIp, vec![0x10; 40], false),
        ("a runt", Framing::Ethernet, ethernet(&udp4)[..20].to_vec(), false),
    ];
    for (name, framing, frame, kept) in cases {
        let expected = if kept { SNAP_LENGTH } else { 0 };
        assert_eq!(interpret(&program(framing), &frame), expected, "{name}");
        if kept {
            assert!(
                !matches!(packet::parse(framing, &frame), DnsFrame::Malformed),
                "{name}: what passes the filter parses"
            );
        }
    }
    // On loopback three instructions come first, dropping the copies as sent.
    assert_eq!(filter::socket_filter(Framing::Ethernet, true).len(), program(Framing::Ethernet).len() + 3);
    assert_eq!(filter::socket_filter(Framing::RawIp, false).len(), program(Framing::RawIp).len());
}

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
    for frame in [&asked, &answered] {
        handle(Framing::Ethernet, frame, &matcher, &owners, &mut asked_sockets);
    }
    let batch = flush.next(&matcher, &owners, start).must();
    assert_eq!(batch.queries.len(), 1);
    let exchange = &batch.queries[0];
    assert_eq!((exchange.name.as_str(), exchange.rcode.as_deref()), ("example.com", Some("NXDOMAIN")));
    assert_eq!((exchange.pid, exchange.transport), (None, DnsTransport::Udp), "not this host's socket");
    assert_eq!(batch.counters, CaptureCounters { packets: 2, ..CaptureCounters::default() });
    assert_eq!(flush.next(&matcher, &owners, start), None, "nothing changed");

    let garbage = udp_frame("192.0.2.10:40000", "192.0.2.53:53", b"not dns at all");
    handle(Framing::Ethernet, &garbage, &matcher, &owners, &mut asked_sockets);
    let batch = flush.next(&matcher, &owners, start).must();
    assert!(batch.queries.is_empty());
    assert_eq!(batch.counters.malformed, 1, "a counter change is sent");

    handle(Framing::Ethernet, &asked, &matcher, &owners, &mut asked_sockets);
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
        // Capture times are taken when a capture thread reads a frame: on a loaded host a
        // late read can shorten the measured wait, so only its bounds are checked.
        let latency = exchange.latency_ms.must();
        assert!((0.0..2000.0).contains(&latency), "{name}: the responder waited 5 ms: {latency} ms");
        assert_eq!(
            (exchange.pid, exchange.process.clone()),
            (Some(std::process::id()), Some(own_name())),
            "{name}"
        );
    }
    drop((udp, tcp, udp6));
}
