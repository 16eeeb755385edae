//! Parsing against real kernel bytes (the committed fixtures, captured by
//! `fixtures/capture.py` on Linux 6.18; `fixtures/ss.txt` is what `ss` said about the
//! same sockets) and against messages derived from them: older `tcp_info` lengths,
//! truncations, garbage.

use std::net::SocketAddr;

use super::*;

/// `expect` without the lint: tests fail loudly with what was missing.
trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T> Must<T> for Option<T> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|| panic!("missing: {what}"))
    }
}

impl<T, E: std::fmt::Debug> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|error| panic!("{what}: {error:?}"))
    }
}

const TCP4: &[u8] = include_bytes!("../fixtures/tcp4.bin");
const TCP6: &[u8] = include_bytes!("../fixtures/tcp6.bin");
const UDP4: &[u8] = include_bytes!("../fixtures/udp4.bin");
const UDP6: &[u8] = include_bytes!("../fixtures/udp6.bin");
const DESTROY: &[u8] = include_bytes!("../fixtures/destroy.bin");

fn dump(bytes: &[u8], protocol: Protocol) -> (Vec<Socket>, DumpProgress) {
    let sequence = messages(bytes).next().map(|message| message.sequence).must("a message");
    let mut sockets = Vec::new();
    let mut progress = DumpProgress::default();
    dump_datagram(bytes, sequence, protocol, &mut sockets, &mut progress);
    (sockets, progress)
}

fn addr(text: &str) -> SocketAddr {
    text.parse().must("a socket address")
}

fn find<'a>(sockets: &'a [Socket], local: &str, remote: &str) -> &'a Socket {
    let (local, remote) = (addr(local), addr(remote));
    sockets
        .iter()
        .find(|socket| socket.local == local && socket.remote == remote)
        .unwrap_or_else(|| panic!("no socket {local} -> {remote} in {sockets:#?}"))
}

/// The raw bytes of the first socket message in `bytes` from `local_port`, header included.
fn raw_message(bytes: &[u8], local_port: u16) -> Vec<u8> {
    let mut offset = 0;
    for message in messages(bytes) {
        let length = HEADER_LEN + message.body.len();
        if message.kind == SOCK_DIAG_BY_FAMILY && message.body[4..6] == local_port.to_be_bytes() {
            return bytes[offset..offset + length].to_vec();
        }
        offset += align(length);
    }
    panic!("no message from port {local_port}");
}

/// `message` with its `INET_DIAG_INFO` payload cut to `length` bytes, as an older
/// kernel would have sent it (attribute and message lengths adjusted, realigned).
fn with_info_length(message: &[u8], length: usize) -> Vec<u8> {
    let mut out = message[..HEADER_LEN + MESSAGE_LEN].to_vec();
    let mut rest = &message[HEADER_LEN + MESSAGE_LEN..];
    while rest.len() >= 4 {
        let attribute_length = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]);
        let payload = &rest[4..attribute_length];
        let payload = if kind == INET_DIAG_INFO { &payload[..length] } else { payload };
        out.extend_from_slice(&((payload.len() + 4) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(payload);
        out.resize(align(out.len()), 0);
        rest = rest.get(align(attribute_length)..).unwrap_or(&[]);
    }
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_ne_bytes());
    out
}

#[test]
fn the_request_is_an_inet_diag_req_v2_dump_for_every_state() {
    let request = dump_request(7, AddressFamily::Ipv6, Protocol::Udp);
    assert_eq!(request.len(), 72);
    assert_eq!(u32::from_ne_bytes(request[0..4].try_into().must("a field")), 72);
    assert_eq!(u16::from_ne_bytes(request[4..6].try_into().must("a field")), SOCK_DIAG_BY_FAMILY);
    assert_eq!(
        u16::from_ne_bytes(request[6..8].try_into().must("a field")),
        0x301,
        "NLM_F_REQUEST | NLM_F_DUMP"
    );
    assert_eq!(u32::from_ne_bytes(request[8..12].try_into().must("a field")), 7);
    assert_eq!((request[16], request[17]), (10, 17), "AF_INET6, IPPROTO_UDP");
    // INFO (2), CONG (4), TOS (5), TCLASS (6), SKMEMINFO (7) as bits ext - 1.
    assert_eq!(request[18], 0b0111_1010);
    // Every state but TCP_BOUND_INACTIVE (bit 13).
    assert_eq!(u32::from_ne_bytes(request[20..24].try_into().must("a field")), 0x1ffe);
    assert!(request[24..].iter().all(|&byte| byte == 0), "no socket id filter");
    let request = dump_request(1, AddressFamily::Ipv4, Protocol::Tcp);
    assert_eq!((request[16], request[17]), (2, 6));
}

#[test]
fn a_socket_request_names_one_socket_the_way_each_protocol_reads_it() {
    let (local, remote) = (addr("10.0.0.2:40000"), addr("10.0.0.53:53"));
    let request = socket_request(9, Protocol::Tcp, local, remote);
    assert_eq!(u16::from_ne_bytes(request[6..8].try_into().must("a field")), 0x1, "NLM_F_REQUEST, no dump");
    assert_eq!((request[16], request[17]), (2, 6), "AF_INET, IPPROTO_TCP");
    assert_eq!((&request[24..26], &request[26..28]), (&40000u16.to_be_bytes()[..], &53u16.to_be_bytes()[..]));
    assert_eq!((&request[28..32], &request[44..48]), (&[10, 0, 0, 2][..], &[10, 0, 0, 53][..]));
    assert!(request[64..72].iter().all(|&byte| byte == 0xff), "INET_DIAG_NOCOOKIE");
    // UDP's lookup reads the source as the sending peer.
    let request = socket_request(9, Protocol::Udp, local, remote);
    assert_eq!((&request[24..26], &request[26..28]), (&53u16.to_be_bytes()[..], &40000u16.to_be_bytes()[..]));
    assert_eq!((&request[28..32], &request[44..48]), (&[10, 0, 0, 53][..], &[10, 0, 0, 2][..]));
    let request = socket_request(9, Protocol::Udp, addr("[fd00::2]:40000"), addr("[fd00::53]:53"));
    assert_eq!((request[16], request[17]), (10, 17), "AF_INET6, IPPROTO_UDP");
    let server: std::net::Ipv6Addr = "fd00::53".parse().must("an address");
    assert_eq!(request[28..44], server.octets());
}

#[test]
fn an_ipv4_tcp_dump_has_every_socket_in_its_state() {
    // (local, remote, state, inode, interface, timer, has tcp_info)
    type Row = (&'static str, &'static str, SocketState, u64, Option<u32>, Option<(TimerKind, u32)>, bool);
    let (sockets, progress) = dump(TCP4, Protocol::Tcp);
    assert_eq!(progress, DumpProgress { finished: true, interrupted: false, error: None, skipped: 0 });
    let expected: [Row; 5] = [
        ("127.0.0.1:5001", "0.0.0.0:0", SocketState::Listen, 385_304, None, None, true),
        ("127.0.0.1:40001", "127.0.0.1:5001", SocketState::Established, 385_305, Some(1), None, true),
        (
            "127.0.0.1:40002",
            "127.0.0.1:5001",
            SocketState::TimeWait,
            0,
            None,
            Some((TimerKind::TimeWait, 59_796)),
            false,
        ),
        ("127.0.0.1:5001", "127.0.0.1:40001", SocketState::Established, 385_306, None, None, true),
        ("127.0.0.1:40004", "127.0.0.1:5004", SocketState::Established, 385_314, None, None, true),
    ];
    assert_eq!(sockets.len(), expected.len());
    for (socket, (local, remote, state, inode, interface, timer, info)) in sockets.iter().zip(expected) {
        let case = format!("{local} -> {remote}");
        assert_eq!((socket.local, socket.remote), (addr(local), addr(remote)), "{case}");
        assert_eq!(socket.protocol, Protocol::Tcp, "{case}");
        assert_eq!(socket.family, AddressFamily::Ipv4, "{case}");
        assert_eq!(socket.state, state, "{case}");
        assert_eq!(socket.inode, inode, "{case}");
        assert_eq!(socket.uid, 0, "{case}");
        assert_eq!(socket.interface_index, interface, "{case}");
        assert_eq!(socket.timer.map(|timer| (timer.kind, timer.expires_ms)), timer, "{case}");
        assert_eq!(socket.tcp.is_some(), info, "{case}");
    }
    // Cookies are the kernel's sk:… numbers in ss.txt, all distinct.
    let cookies: Vec<u64> = sockets.iter().map(|socket| socket.cookie).collect();
    assert_eq!(cookies, [0x1be22, 0x1be23, 0x1be24, 0x1be25, 0x1be26]);
    // The socket bound to :5003 without listening is not asked for.
    assert!(sockets.iter().all(|socket| socket.local.port() != 5003));
}

#[test]
fn an_established_socket_carries_what_ss_showed() {
    let (sockets, _) = dump(TCP4, Protocol::Tcp);
    // ss: reno wscale:10,10 rto:204 rtt:0.029/0.016 mss:35328 pmtu:65535 cwnd:10
    // bytes_sent:1000 bytes_acked:1001 bytes_received:2000 segs_out:4 segs_in:3
    // pacing_rate 189204351464bps delivery_rate 35328000000bps minrtt:0.008 snd_wnd:70656
    // skmem:(r0,rb131072,t0,tb2626560,f0,w0,o0,bl0,d0), tos 0x10, bound to lo.
    let client = find(&sockets, "127.0.0.1:40001", "127.0.0.1:5001");
    let tcp = client.tcp.must("tcp_info");
    assert!((tcp.rtt_ms - 0.029).abs() < 1e-9);
    assert!((tcp.rttvar_ms - 0.016).abs() < 1e-9);
    assert!((tcp.rto_ms - 204.0).abs() < 1e-9);
    assert_eq!(tcp.min_rtt_ms, Some(0.008));
    assert_eq!((tcp.mss, tcp.pmtu, tcp.cwnd, tcp.ssthresh), (35_328, 65_535, 10, None));
    assert_eq!((tcp.bytes_sent, tcp.bytes_acked, tcp.bytes_received), (Some(1000), Some(1001), Some(2000)));
    assert_eq!((tcp.segs_out, tcp.segs_in), (Some(4), Some(3)));
    assert_eq!((tcp.retransmits, tcp.total_retrans, tcp.lost, tcp.reordering), (0, 0, 0, 3));
    assert_eq!(tcp.bytes_retrans, Some(0));
    assert_eq!(tcp.pacing_rate_bps, Some(189_204_351_464));
    assert_eq!(tcp.delivery_rate_bps, Some(35_328_000_000));
    assert_eq!(tcp.snd_wnd, Some(70_656));
    assert_eq!((tcp.busy_time_ms, tcp.rwnd_limited_ms, tcp.sndbuf_limited_ms), (Some(0), Some(0), Some(0)));
    // ss ran a few milliseconds after the dump: lastsnd:256 there.
    assert!((200..=260).contains(&tcp.last_send_ms), "{}", tcp.last_send_ms);
    assert_eq!((tcp.last_send_ms, tcp.last_recv_ms), (tcp.last_ack_recv_ms, tcp.last_ack_recv_ms));
    assert_eq!(client.congestion.as_deref(), Some("reno"));
    assert_eq!(client.tos, Some(0x10));
    assert_eq!(
        client.memory,
        Some(SocketMemory { rcvbuf: 131_072, sndbuf: 2_626_560, ..SocketMemory::default() })
    );
    assert_eq!((client.recv_queue, client.send_queue), (0, 0));

    let server = find(&sockets, "127.0.0.1:5001", "127.0.0.1:40001");
    let tcp = server.tcp.must("tcp_info");
    assert_eq!((tcp.bytes_sent, tcp.bytes_acked, tcp.bytes_received), (Some(2000), Some(2000), Some(1000)));
    assert_eq!(server.congestion.as_deref(), Some("bbr"));
    assert_eq!(server.interface_index, None);
}

#[test]
fn a_listener_reports_its_backlog_and_a_time_wait_socket_its_timer() {
    let (sockets, _) = dump(TCP4, Protocol::Tcp);
    let listener = find(&sockets, "127.0.0.1:5001", "0.0.0.0:0");
    // For listeners the queues are the accept backlog and its limit (listen(16)).
    assert_eq!((listener.recv_queue, listener.send_queue), (0, 16));
    assert_eq!(listener.tcp.map(|tcp| tcp.pacing_rate_bps), Some(None), "unlimited pacing");
    let waiting = find(&sockets, "127.0.0.1:40002", "127.0.0.1:5001");
    assert_eq!(
        waiting.timer,
        Some(SocketTimer { kind: TimerKind::TimeWait, expires_ms: 59_796, retransmits: 0 })
    );
    assert_eq!((waiting.memory, waiting.congestion.as_deref(), waiting.tos), (None, None, None));
}

#[test]
fn ipv6_sockets_use_the_traffic_class_and_keep_mapped_addresses() {
    let (sockets, progress) = dump(TCP6, Protocol::Tcp);
    assert!(progress.finished && progress.error.is_none());
    assert_eq!(sockets.len(), 5);
    assert!(sockets.iter().all(|socket| socket.family == AddressFamily::Ipv6));
    let client = find(&sockets, "[::1]:40003", "[::1]:5002");
    assert_eq!(client.tos, Some(0x20), "IPV6_TCLASS");
    assert_eq!(client.congestion.as_deref(), Some("bbr"));
    let tcp = client.tcp.must("tcp_info");
    assert_eq!((tcp.bytes_sent, tcp.bytes_acked, tcp.bytes_received), (Some(3000), Some(3001), Some(4000)));
    assert_eq!(tcp.pmtu, 65_536);
    let dual = find(&sockets, "[::]:5004", "[::]:0");
    assert_eq!((dual.state, dual.send_queue), (SocketState::Listen, 4));
    let mapped = find(&sockets, "[::ffff:127.0.0.1]:5004", "[::ffff:127.0.0.1]:40004");
    assert_eq!(mapped.state, SocketState::Established);
}

#[test]
fn udp_sockets_are_unconnected_or_established_without_tcp_info() {
    let (v4, _) = dump(UDP4, Protocol::Udp);
    let (v6, _) = dump(UDP6, Protocol::Udp);
    let rows: Vec<(SocketAddr, SocketAddr, SocketState, u32)> = v4
        .iter()
        .chain(&v6)
        .map(|socket| (socket.local, socket.remote, socket.state, socket.recv_queue))
        .collect();
    assert_eq!(
        rows,
        [
            // 33 bytes queued, 832 with the kernel's overhead (ss: UNCONN 832).
            (addr("127.0.0.1:5353"), addr("0.0.0.0:0"), SocketState::Unconnected, 832),
            (addr("127.0.0.1:40005"), addr("127.0.0.1:5353"), SocketState::Established, 0),
            (addr("[::1]:5354"), addr("[::]:0"), SocketState::Unconnected, 0),
        ]
    );
    for socket in v4.iter().chain(&v6) {
        assert_eq!(socket.protocol, Protocol::Udp);
        assert_eq!((socket.tcp, socket.congestion.as_deref()), (None, None));
        assert_eq!(socket.memory.map(|memory| memory.rcvbuf), Some(212_992));
    }
    assert_eq!(v4[0].memory.map(|memory| memory.rmem_alloc), Some(832));
}

#[test]
fn destroy_notifications_carry_the_protocol_and_final_counters() {
    let mut sockets = Vec::new();
    for message in messages(DESTROY) {
        assert_eq!(
            (message.kind, message.sequence, message.control()),
            (SOCK_DIAG_BY_FAMILY, 0, Control::Socket)
        );
        sockets.push(socket(message.body, None, Origin::Destroyed).must("parses"));
    }
    assert_eq!(sockets.len(), 3);
    // The server closed first (500 bytes in, 700 out), then the client; both are gone.
    let server = &sockets[0];
    assert_eq!((server.local, server.remote), (addr("127.0.0.1:5001"), addr("127.0.0.1:40006")));
    assert_eq!((server.protocol, server.state, server.inode), (Protocol::Tcp, SocketState::Close, 0));
    let tcp = server.tcp.must("final tcp_info");
    // Our FIN counts as one acked byte, theirs as one received.
    assert_eq!((tcp.bytes_received, tcp.bytes_sent, tcp.bytes_acked), (Some(500), Some(700), Some(701)));
    let client = &sockets[1];
    let tcp = client.tcp.must("final tcp_info");
    assert_eq!((tcp.bytes_received, tcp.bytes_sent, tcp.bytes_acked), (Some(701), Some(500), Some(502)));
    // UDP: no tcp_info; the kernel's "-1 bytes" send queue reads as 0.
    let udp = &sockets[2];
    assert_eq!(
        (udp.protocol, udp.family, udp.local),
        (Protocol::Udp, AddressFamily::Ipv6, addr("[::1]:40007"))
    );
    assert_eq!((udp.tcp, udp.send_queue, udp.recv_queue), (None, 0, 0));
    // Without Origin::Destroyed the same bytes keep the raw value.
    let raw = messages(DESTROY).nth(2).must("udp");
    assert_eq!(socket(raw.body, None, Origin::Dump).map(|udp| udp.send_queue), Ok(u32::MAX));
}

#[test]
fn a_notification_without_protocol_needs_the_callers() {
    let (v4, _) = dump(UDP4, Protocol::Udp);
    let body = &messages(UDP4).next().must("a message").body;
    assert_eq!(socket(body, None, Origin::Destroyed), Err(ParseError::Protocol(None)));
    assert_eq!(socket(body, Some(Protocol::Udp), Origin::Dump).as_ref(), Ok(&v4[0]));
}

#[test]
fn tcp_info_of_every_historical_length_parses_what_it_has() {
    // (length, pacing, bytes acked/received, segs, min rtt, delivery, busy, bytes sent, snd_wnd)
    type Row = (usize, bool, bool, bool, bool, bool, bool, bool, bool);
    let full = raw_message(TCP4, 40001);
    let table: [Row; 13] = [
        (104, false, false, false, false, false, false, false, false),
        (120, true, false, false, false, false, false, false, false),
        (136, true, true, false, false, false, false, false, false),
        (144, true, true, true, false, false, false, false, false),
        (160, true, true, true, true, false, false, false, false),
        (168, true, true, true, true, true, false, false, false),
        (192, true, true, true, true, true, true, false, false),
        (200, true, true, true, true, true, true, false, false),
        (224, true, true, true, true, true, true, true, false),
        (232, true, true, true, true, true, true, true, true),
        (240, true, true, true, true, true, true, true, true),
        (248, true, true, true, true, true, true, true, true),
        (280, true, true, true, true, true, true, true, true),
    ];
    assert_eq!(table.map(|row| row.0), TCP_INFO_LENGTHS);
    for (length, pacing, bytes, segs, min_rtt, delivery, busy, sent, window) in table {
        let message = with_info_length(&full, length);
        let parsed = messages(&message).next().must("one message");
        let socket = socket(parsed.body, Some(Protocol::Tcp), Origin::Dump).must("parses");
        let tcp = socket.tcp.unwrap_or_else(|| panic!("tcp_info of {length} bytes"));
        assert!((tcp.rtt_ms - 0.029).abs() < 1e-9, "{length}: the base fields are always there");
        assert_eq!((tcp.cwnd, tcp.mss, tcp.reordering), (10, 35_328, 3), "{length}");
        assert_eq!(tcp.pacing_rate_bps.is_some(), pacing, "{length}");
        assert_eq!(tcp.bytes_acked.is_some(), bytes, "{length}");
        assert_eq!(tcp.bytes_received.is_some(), bytes, "{length}");
        assert_eq!(tcp.segs_in.is_some(), segs, "{length}");
        assert_eq!(tcp.min_rtt_ms.is_some(), min_rtt, "{length}");
        assert_eq!(tcp.delivery_rate_bps.is_some(), delivery, "{length}");
        assert_eq!(tcp.busy_time_ms.is_some(), busy, "{length}");
        assert_eq!(tcp.bytes_sent.is_some(), sent, "{length}");
        assert_eq!(tcp.bytes_retrans.is_some(), sent, "{length}");
        assert_eq!(tcp.snd_wnd.is_some(), window, "{length}");
        // Everything else about the socket is unaffected.
        assert_eq!((socket.congestion.as_deref(), socket.tos), (Some("reno"), Some(0x10)), "{length}");
    }
    // Shorter than the original struct: not TCP info at all.
    let message = with_info_length(&full, 100);
    let parsed = messages(&message).next().must("one message");
    assert_eq!(socket(parsed.body, Some(Protocol::Tcp), Origin::Dump).map(|socket| socket.tcp), Ok(None));
}

#[test]
fn tcp_info_sentinels_and_units() {
    let mut info = [0u8; 232];
    let put32 = |info: &mut [u8], offset: usize, value: u32| {
        info[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
    };
    let put64 = |info: &mut [u8], offset: usize, value: u64| {
        info[offset..offset + 8].copy_from_slice(&value.to_ne_bytes());
    };
    put32(&mut info, tcpi::RTT, 1_500);
    put32(&mut info, tcpi::RTO, 200_000);
    put32(&mut info, tcpi::MIN_RTT, u32::MAX);
    put32(&mut info, tcpi::SND_SSTHRESH, 0x7fff_ffff);
    put64(&mut info, tcpi::PACING_RATE, u64::MAX);
    put64(&mut info, tcpi::DELIVERY_RATE, 1_250_000);
    put64(&mut info, tcpi::BUSY_TIME, 2_500_000);
    put64(&mut info, tcpi::RWND_LIMITED, 999);
    put64(&mut info, tcpi::SNDBUF_LIMITED, 1_000);
    info[tcpi::RETRANSMITS] = 3;
    let tcp = tcp_info(&info).must("parses");
    assert!((tcp.rtt_ms - 1.5).abs() < 1e-9);
    assert!((tcp.rto_ms - 200.0).abs() < 1e-9);
    assert_eq!(tcp.min_rtt_ms, None, "no RTT sample yet");
    assert_eq!(tcp.ssthresh, None, "infinite");
    assert_eq!(tcp.pacing_rate_bps, None, "unlimited");
    assert_eq!(tcp.delivery_rate_bps, Some(10_000_000));
    assert_eq!(
        (tcp.busy_time_ms, tcp.rwnd_limited_ms, tcp.sndbuf_limited_ms),
        (Some(2_500), Some(0), Some(1))
    );
    assert_eq!(tcp.retransmits, 3);
    put32(&mut info, tcpi::SND_SSTHRESH, 0xfffe);
    put64(&mut info, tcpi::DELIVERY_RATE, u64::MAX);
    let tcp = tcp_info(&info).must("parses");
    assert_eq!(tcp.ssthresh, Some(0xfffe));
    assert_eq!(tcp.delivery_rate_bps, Some(u64::MAX), "saturates instead of wrapping");
}

/// (case, datagram, sockets kept, finished, interrupted, error)
type ControlCase = (&'static str, Vec<u8>, usize, bool, bool, Option<i32>);

#[test]
fn control_messages_end_or_fail_the_dump() {
    fn message(kind: u16, flags: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
        let mut bytes = ((HEADER_LEN + body.len()) as u32).to_ne_bytes().to_vec();
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(body);
        bytes.resize(align(bytes.len()), 0);
        bytes
    }
    let run = |datagram: &[u8]| {
        let mut sockets = Vec::new();
        let mut progress = DumpProgress::default();
        dump_datagram(datagram, 9, Protocol::Tcp, &mut sockets, &mut progress);
        (sockets.len(), progress)
    };
    let socket_message = raw_message(TCP4, 40001);
    let mut interrupted = socket_message.clone();
    interrupted[8..12].copy_from_slice(&9u32.to_ne_bytes());
    interrupted[6..8].copy_from_slice(&(0x2 | NLM_F_DUMP_INTR).to_ne_bytes());

    let cases: Vec<ControlCase> = vec![
        ("done", message(NLMSG_DONE, 2, 9, &0i32.to_ne_bytes()), 0, true, false, None),
        ("done without a body", message(NLMSG_DONE, 2, 9, &[]), 0, true, false, None),
        (
            "done with a failure",
            message(NLMSG_DONE, 2, 9, &(-libc::EMSGSIZE).to_ne_bytes()),
            0,
            true,
            false,
            Some(libc::EMSGSIZE),
        ),
        (
            "error",
            message(NLMSG_ERROR, 0, 9, &(-libc::ENOENT).to_ne_bytes()),
            0,
            true,
            false,
            Some(libc::ENOENT),
        ),
        ("ack", message(NLMSG_ERROR, 0, 9, &0i32.to_ne_bytes()), 0, false, false, None),
        ("noop", message(1, 0, 9, &[]), 0, false, false, None),
        ("another request's done", message(NLMSG_DONE, 2, 8, &0i32.to_ne_bytes()), 0, false, false, None),
        ("another request's socket", socket_message.clone(), 0, false, false, None),
        (
            "interrupted",
            [interrupted.clone(), message(NLMSG_DONE, 2, 9, &[0; 4])].concat(),
            1,
            true,
            true,
            None,
        ),
        (
            "nothing after done",
            [message(NLMSG_DONE, 2, 9, &[0; 4]), interrupted].concat(),
            0,
            true,
            false,
            None,
        ),
    ];
    for (case, datagram, kept, finished, was_interrupted, error) in cases {
        let (count, progress) = run(&datagram);
        assert_eq!(count, kept, "{case}");
        assert_eq!(
            (progress.finished, progress.interrupted, progress.error),
            (finished, was_interrupted, error),
            "{case}"
        );
    }
}

#[test]
fn truncated_and_corrupted_input_never_panics() {
    // Every prefix of every fixture: at most the whole messages before the cut.
    for (fixture, protocol) in [
        (TCP4, Protocol::Tcp),
        (TCP6, Protocol::Tcp),
        (UDP4, Protocol::Udp),
        (UDP6, Protocol::Udp),
        (DESTROY, Protocol::Tcp),
    ] {
        let (all, _) = dump(fixture, protocol);
        let sequence = messages(fixture).next().map_or(0, |message| message.sequence);
        for cut in 0..fixture.len() {
            let mut sockets = Vec::new();
            let mut progress = DumpProgress::default();
            dump_datagram(&fixture[..cut], sequence, protocol, &mut sockets, &mut progress);
            assert!(sockets.len() <= all.len());
            assert_eq!(&all[..sockets.len()], &sockets[..], "a cut never changes what came before");
        }
    }
    // Every prefix of one message body: an error or a socket, never a panic.
    let message = raw_message(TCP4, 40001);
    for cut in 0..message.len() - HEADER_LEN {
        let result = socket(&message[HEADER_LEN..HEADER_LEN + cut], Some(Protocol::Tcp), Origin::Dump);
        assert_eq!(result.is_err(), cut < MESSAGE_LEN, "cut at {cut}");
    }
    // Deterministic garbage: bytes flipped all over real dumps.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2_000 {
        let mut bytes = if round % 2 == 0 { TCP4.to_vec() } else { TCP6.to_vec() };
        for _ in 0..=next() % 16 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        let mut sockets = Vec::new();
        let mut progress = DumpProgress::default();
        dump_datagram(&bytes, 1 + (round % 2), Protocol::Tcp, &mut sockets, &mut progress);
        for message in messages(&bytes) {
            let _ = socket(message.body, None, Origin::Destroyed);
        }
    }
}

#[test]
fn bad_family_state_and_protocol_are_errors() {
    let message = raw_message(TCP4, 40001);
    let body = &message[HEADER_LEN..];
    let mut bad_family = body.to_vec();
    bad_family[0] = 1;
    assert_eq!(socket(&bad_family, Some(Protocol::Tcp), Origin::Dump), Err(ParseError::Family(1)));
    let mut bad_state = body.to_vec();
    bad_state[1] = 99;
    assert_eq!(socket(&bad_state, Some(Protocol::Tcp), Origin::Dump), Err(ParseError::State(99)));
    // An INET_DIAG_PROTOCOL attribute naming something else (SCTP, 132).
    let mut sctp = body.to_vec();
    sctp.extend_from_slice(&5u16.to_ne_bytes());
    sctp.extend_from_slice(&INET_DIAG_PROTOCOL.to_ne_bytes());
    sctp.extend_from_slice(&[132, 0, 0, 0]);
    assert_eq!(socket(&sctp, Some(Protocol::Tcp), Origin::Dump), Err(ParseError::Protocol(Some(132))));
    // A zero-length attribute ends the walk; what came before it still counts.
    let mut stuck = body.to_vec();
    stuck.extend_from_slice(&[0, 0, 0, 0]);
    assert!(socket(&stuck, Some(Protocol::Tcp), Origin::Dump).is_ok());
    // The kernel's state numbers, whatever the origin; UDP's TCP_CLOSE is "unconnected".
    let state = |number: u8, protocol: Protocol, origin: Origin| {
        let mut changed = body.to_vec();
        changed[1] = number;
        socket(&changed, Some(protocol), origin).map(|socket| socket.state)
    };
    assert_eq!(state(7, Protocol::Tcp, Origin::Destroyed), Ok(SocketState::Close));
    assert_eq!(state(7, Protocol::Udp, Origin::Dump), Ok(SocketState::Unconnected));
    assert_eq!(state(13, Protocol::Tcp, Origin::Dump), Ok(SocketState::BoundInactive));
}

#[test]
fn every_socket_message_of_the_fixtures_is_understood() {
    let total: usize = [TCP4, TCP6, UDP4, UDP6]
        .iter()
        .map(|bytes| messages(bytes).filter(|message| message.kind == SOCK_DIAG_BY_FAMILY).count())
        .sum();
    let (a, _) = dump(TCP4, Protocol::Tcp);
    let (b, _) = dump(TCP6, Protocol::Tcp);
    let (c, _) = dump(UDP4, Protocol::Udp);
    let (d, _) = dump(UDP6, Protocol::Udp);
    assert_eq!(a.len() + b.len() + c.len() + d.len(), total);
    assert_eq!(total, 13);
}
