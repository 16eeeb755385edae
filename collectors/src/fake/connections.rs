//! Scripted sockets: a laptop's browser, ssh, a database on loopback, DNS over the
//! stub resolver, a stalled upload, a port-scan-like burst and a Happy Eyeballs race.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::model::{
    AddressFamily, FlowBytes, FlowSample, ProcessInfo, Protocol, Socket, SocketState, SocketTable,
    SocketTimer, TcpInfo, TimerKind,
};

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port)
}

fn v6(segments: [u16; 8], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::from(segments)), port)
}

const ANY4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
const ANY6: SocketAddr = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0);

/// One scripted socket: identity, owner, and its traffic per second.
struct Script {
    cookie: u64,
    protocol: Protocol,
    state: SocketState,
    local: SocketAddr,
    remote: SocketAddr,
    pid: u32,
    rtt_ms: f64,
    rx_per_s: u64,
    tx_per_s: u64,
    /// Sample the socket appears at (relative to the first connection sample) and
    /// the one it disappears at.
    from: u32,
    until: u32,
    retransmitting: bool,
}

#[expect(clippy::too_many_arguments, reason = "a table of scripted sockets reads best as one call per row")]
const fn script(
    cookie: u64,
    protocol: Protocol,
    state: SocketState,
    local: SocketAddr,
    remote: SocketAddr,
    pid: u32,
    rtt_ms: f64,
    rx_per_s: u64,
    tx_per_s: u64,
) -> Script {
    Script {
        cookie,
        protocol,
        state,
        local,
        remote,
        pid,
        rtt_ms,
        rx_per_s,
        tx_per_s,
        from: 0,
        until: u32::MAX,
        retransmitting: false,
    }
}

/// Processes owning the scripted sockets.
pub(super) fn processes() -> Vec<ProcessInfo> {
    let process =
        |pid: u32, name: &str, cmdline: &str, user: &str, open_files: u64, limit: u64| ProcessInfo {
            pid,
            name: name.to_owned(),
            cmdline: cmdline.to_owned(),
            user: user.to_owned(),
            start_time: u64::from(pid) * 100,
            open_files: Some(open_files),
            open_files_limit: Some(limit),
        };
    vec![
        process(812, "sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "root", 6, 1024),
        process(903, "systemd-resolve", "/lib/systemd/systemd-resolved", "systemd-resolve", 24, 524_288),
        process(1290, "postgres", "postgres: 16/main: walwriter", "postgres", 19, 1024),
        process(2210, "firefox", "/usr/lib/firefox/firefox -contentproc", "ana", 311, 524_288),
        process(3117, "ssh", "ssh deploy@build-03.corp.example", "ana", 5, 1024),
        process(4022, "rsync", "rsync -az ./dist/ backup.example.net:/srv/dist/", "ana", 9, 1024),
        process(4471, "curl", "curl -sS https://api.example.com/v1/health", "ana", 4, 1024),
        process(5150, "nmap", "nmap -sT 10.99.0.0/30", "ana", 7, 1024),
        process(6001, "node", "node server.js", "ana", 1015, 1024),
    ]
}

#[rustfmt::skip]
fn scripts() -> Vec<Script> {
    use Protocol::{Tcp, Udp};
    use SocketState::{Established, Listen, SynSent, TimeWait, Unconnected};
    let me4 = |port| v4(192, 168, 1, 23, port);
    let me6 = |port| v6([0x2001, 0xdb8, 0x10, 0, 0x5054, 0xff, 0xfe12, 0x3456], port);
    let lo = |port| v4(127, 0, 0, 1, port);
    let mut all = vec![
        script(1, Tcp, Listen, v4(0, 0, 0, 0, 22), ANY4, 812, 0.0, 0, 0),
        script(2, Tcp, Listen, v6([0; 8], 22), ANY6, 812, 0.0, 0, 0),
        script(3, Tcp, Listen, lo(5432), ANY4, 1290, 0.0, 0, 0),
        script(4, Tcp, Listen, v4(0, 0, 0, 0, 3000), ANY4, 6001, 0.0, 0, 0),
        script(5, Udp, Unconnected, v4(127, 0, 0, 53, 53), ANY4, 903, 0.0, 1_800, 1_800),
        script(6, Tcp, Established, me4(51_514), v4(93, 184, 215, 14, 443), 2210, 23.4, 1_450_000, 36_000),
        script(7, Tcp, Established, me6(40_022), v6([0x2606, 0x4700, 0, 0, 0, 0, 0x6812, 0x1a2b], 443), 2210, 11.8, 310_000, 12_000),
        script(8, Udp, Established, me4(58_211), v4(142, 250, 185, 78, 443), 2210, 0.0, 820_000, 41_000),
        script(9, Tcp, Established, me4(43_870), v4(10, 8, 0, 7, 22), 3117, 48.2, 2_100, 900),
        script(10, Tcp, Established, lo(45_512), lo(5432), 6001, 0.08, 56_000, 9_800),
        script(11, Tcp, Established, lo(5432), lo(45_512), 1290, 0.06, 9_800, 56_000),
        script(12, Tcp, TimeWait, me4(50_990), v4(151, 101, 1, 69, 443), 2210, 0.0, 0, 0),
        script(13, Tcp, SynSent, me4(39_001), v4(203, 0, 113, 50, 443), 4471, 1000.0, 0, 0),
    ];
    // An upload that stopped making progress: retransmitting, nothing acknowledged.
    let mut stalled = script(14, Tcp, Established, me4(35_642), v4(198, 51, 100, 20, 873), 4022, 310.0, 0, 0);
    stalled.retransmitting = true;
    all.push(stalled);
    // A connect scan: short connections to one host, one after another.
    for (i, port) in [21_u16, 23, 25, 80, 110].into_iter().enumerate() {
        let mut probe = script(20 + i as u64, Tcp, SynSent, v4(10, 99, 0, 1, 41_000 + port), v4(10, 99, 0, 2, port), 5150, 0.0, 0, 0);
        probe.from = 24;
        probe.until = 25;
        all.push(probe);
    }
    // Happy Eyeballs: the IPv6 attempt loses to IPv4 and closes at once.
    let mut loser = script(30, Tcp, SynSent, me6(52_001), v6([0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, 1], 443), 4471, 0.0, 0, 0);
    loser.from = 27;
    loser.until = 28;
    all.push(loser);
    let mut winner = script(31, Tcp, Established, me4(52_002), v4(198, 51, 100, 7, 443), 4471, 35.0, 4_000, 700);
    winner.from = 27;
    all.push(winner);
    all
}

/// The socket table at connection sample `n` (one per second).
pub(super) fn table(n: u32) -> SocketTable {
    let processes = processes();
    let mut sockets = Vec::new();
    let mut owners = Vec::new();
    for s in scripts().into_iter().filter(|s| s.from <= n && n < s.until) {
        let seconds = u64::from(n - s.from + 1);
        let inode = 40_000 + s.cookie;
        let tcp = (s.protocol == Protocol::Tcp)
            .then(|| {
                let sent = s.tx_per_s * seconds + 1200;
                TcpInfo {
                    rtt_ms: s.rtt_ms,
                    rttvar_ms: s.rtt_ms / 4.0,
                    min_rtt_ms: Some(s.rtt_ms * 0.8),
                    rto_ms: (s.rtt_ms * 2.0 + 200.0).max(204.0),
                    cwnd: if s.retransmitting { 1 } else { 10 + (seconds as u32 % 30) },
                    ssthresh: s.retransmitting.then_some(2),
                    mss: 1448,
                    pmtu: 1500,
                    retransmits: u8::from(s.retransmitting) * 4,
                    total_retrans: u32::from(s.retransmitting) * 37,
                    lost: u32::from(s.retransmitting) * 3,
                    reordering: 3,
                    bytes_acked: Some(if s.retransmitting { 1_204_224 } else { sent }),
                    bytes_received: Some(s.rx_per_s * seconds + 600),
                    bytes_sent: Some(if s.retransmitting { 1_380_000 } else { sent }),
                    bytes_retrans: Some(if s.retransmitting { 175_776 } else { 0 }),
                    segs_in: Some((s.rx_per_s * seconds / 1448) as u32 + 5),
                    segs_out: Some((sent / 1448) as u32 + 5),
                    delivery_rate_bps: Some(s.rx_per_s.max(s.tx_per_s) * 8),
                    pacing_rate_bps: Some(s.rx_per_s.max(s.tx_per_s) * 16 + 100_000),
                    busy_time_ms: Some(seconds * 120),
                    rwnd_limited_ms: Some(0),
                    sndbuf_limited_ms: Some(0),
                    last_send_ms: if s.retransmitting { 9_000 } else { 40 },
                    last_recv_ms: if s.retransmitting { 9_200 } else { 35 },
                    last_ack_recv_ms: if s.retransmitting { 9_200 } else { 35 },
                    snd_wnd: Some(65_535),
                }
            })
            .filter(|_| s.state != SocketState::Listen && s.state != SocketState::TimeWait);
        let timer = if s.retransmitting {
            Some(SocketTimer { kind: TimerKind::Retransmit, expires_ms: 3_200, retransmits: 4 })
        } else if s.state == SocketState::TimeWait {
            Some(SocketTimer { kind: TimerKind::TimeWait, expires_ms: 41_000, retransmits: 0 })
        } else {
            None
        };
        let socket = Socket {
            cookie: s.cookie,
            protocol: s.protocol,
            family: if s.local.is_ipv6() { AddressFamily::Ipv6 } else { AddressFamily::Ipv4 },
            state: s.state,
            local: s.local,
            remote: s.remote,
            interface_index: None,
            uid: processes
                .iter()
                .find(|p| p.pid == s.pid)
                .map_or(0, |p| if p.user == "root" { 0 } else { 1000 }),
            inode: if s.state == SocketState::TimeWait { 0 } else { inode },
            recv_queue: 0,
            send_queue: if s.retransmitting { 175_776 } else { 0 },
            timer,
            congestion: tcp.map(|_| "cubic".to_owned()),
            tcp,
            memory: None,
            tos: None,
        };
        if socket.inode != 0 {
            owners.push((inode, s.pid));
        }
        sockets.push(socket);
    }
    SocketTable {
        sockets,
        owners,
        processes,
        all_owners_visible: true,
        route_moves: Vec::new(),
        origins: Vec::new(),
        unchanged: Vec::new(),
        cookie_owners: Vec::new(),
    }
}

/// What packet capture counted in one second: the UDP sockets' traffic.
pub(super) fn flows() -> FlowSample {
    let flow = |local, remote, rx_bytes, tx_bytes| FlowBytes {
        protocol: Protocol::Udp,
        local,
        remote,
        rx_bytes,
        tx_bytes,
    };
    FlowSample {
        interval_ms: 1000,
        flows: vec![
            flow(v4(127, 0, 0, 53, 53), v4(127, 0, 0, 1, 43_117), 900, 1_100),
            flow(v4(127, 0, 0, 53, 53), v4(127, 0, 0, 1, 51_302), 900, 700),
            flow(v4(192, 168, 1, 23, 58_211), v4(142, 250, 185, 78, 443), 820_000, 41_000),
        ],
    }
}

/// Reverse-DNS names of the scripted remotes.
pub(super) fn names() -> Vec<(IpAddr, Option<String>)> {
    vec![
        (IpAddr::V4(Ipv4Addr::new(93, 184, 215, 14)), Some("example.org".into())),
        (
            IpAddr::V6(Ipv6Addr::new(0x2606, 0x4700, 0, 0, 0, 0, 0x6812, 0x1a2b)),
            Some("cdn.example.net".into()),
        ),
        (IpAddr::V4(Ipv4Addr::new(142, 250, 185, 78)), Some("video.example.com".into())),
        (IpAddr::V4(Ipv4Addr::new(10, 8, 0, 7)), Some("build-03.corp.example".into())),
        (IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)), Some("backup.example.net".into())),
        (IpAddr::V4(Ipv4Addr::new(203, 0, 113, 50)), None),
    ]
}

/// A table of `count` established loopback connections (pairs) for benchmarks.
pub(super) fn large_table(count: u32, n: u32) -> SocketTable {
    let sockets = (0..count)
        .map(|i| {
            let server = i % 2 == 1;
            let client_port = 20_000 + (i / 2) as u16;
            let (local, remote) = if server {
                (v4(127, 0, 0, 1, 8080), v4(127, 0, 0, 1, client_port))
            } else {
                (v4(127, 0, 0, 1, client_port), v4(127, 0, 0, 1, 8080))
            };
            Socket {
                cookie: u64::from(i) + 1,
                protocol: Protocol::Tcp,
                family: AddressFamily::Ipv4,
                state: SocketState::Established,
                local,
                remote,
                interface_index: None,
                uid: 1000,
                inode: 100_000 + u64::from(i),
                recv_queue: 0,
                send_queue: 0,
                timer: None,
                tcp: Some(TcpInfo {
                    rtt_ms: 0.05 + f64::from(i % 97) * 0.3,
                    bytes_acked: Some(u64::from(n) * u64::from(i % 1000) * 100),
                    bytes_received: Some(u64::from(n) * u64::from(i % 700) * 100),
                    ..TcpInfo::default()
                }),
                congestion: Some("cubic".to_owned()),
                memory: None,
                tos: None,
            }
        })
        .collect::<Vec<_>>();
    let owners = sockets.iter().map(|s| (s.inode, 6001 + u32::from(s.local.port() == 8080))).collect();
    SocketTable {
        sockets,
        owners,
        processes: processes(),
        all_owners_visible: true,
        route_moves: Vec::new(),
        origins: Vec::new(),
        unchanged: Vec::new(),
        cookie_owners: Vec::new(),
    }
}
