//! The synthetic host of the journal budgets (issue 14), shared by the journal and
//! flight-recorder benchmarks: every second a socket table (1,000 established TCP
//! sockets, one in 20 moving bytes, the rest only their clocks; 20 short connections,
//! each in one table, then closed with its final counters and owner) and interface
//! counters; kernel counters every 2 s; paths and netlens's usage every 5 s; host facts
//! and a network re-read with its notice every 10 s; a source status every 15 minutes.

// Each benchmark that includes this module uses a different part of it.
#![allow(dead_code, reason = "the journal and flight-recorder benchmarks each use a part of the host")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use netlens_collectors::model::{
    Attribution, ClosedOwners, Conntrack, FileTable, InterfaceStats, KernelCounters, NeighborState,
    NetworkTable, PathState, PortRange, ProcessInfo, ProcessUsage, Socket, SocketOrigin, SocketState,
    SocketTable, SoftnetCpu, SourceId, SourceState, SourceStatus, SystemFacts, TcpInfo, TimelineKind,
    Timestamp,
};
use netlens_collectors::{Event, Notice, Payload, fake};

/// The seconds of the synthetic hour.
pub const HOUR: u32 = 3600;
pub const ESTABLISHED: u64 = 1000;
pub const SHORT_PER_S: u64 = 20;
/// One established socket in this many moves bytes in a given second.
const BUSY_ONE_IN: u64 = 20;

/// When the hour starts.
pub const START: Timestamp = fake::NOW;

/// xorshift64: the same hour on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn v4(octets: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(octets)), port)
}

fn some_add<T: std::ops::Add<Output = T> + Copy>(field: &mut Option<T>, by: T) {
    *field = field.map(|value| value + by);
}

/// An established socket well into a life of modest traffic; the fields no source
/// varies (state, family, congestion control…) as the scripted host's loopback ones.
fn socket(cookie: u64, local: SocketAddr, remote: SocketAddr, rng: &mut Rng) -> Socket {
    static TEMPLATE: LazyLock<Socket> =
        LazyLock::new(|| fake::large_socket_table(1, 1).sockets.swap_remove(0));
    let (received, sent) = (rng.below(50_000_000), rng.below(5_000_000));
    let (rtt, idle) = (0.4 + rng.below(800) as f64 / 10.0, rng.below(60_000) as u32);
    let tcp = TcpInfo {
        rtt_ms: rtt,
        rttvar_ms: rtt / 4.0,
        min_rtt_ms: Some(rtt * 0.8),
        rto_ms: (rtt * 2.0 + 200.0).max(204.0),
        cwnd: 10 + rng.below(40) as u32,
        mss: 1448,
        pmtu: 1500,
        total_retrans: rng.below(4) as u32,
        reordering: 3,
        bytes_acked: Some(sent),
        bytes_received: Some(received),
        bytes_sent: Some(sent),
        bytes_retrans: Some(0),
        segs_in: Some((received / 1448) as u32 + 3),
        segs_out: Some((sent / 1448) as u32 + 3),
        delivery_rate_bps: Some(rng.below(100_000_000)),
        pacing_rate_bps: Some(rng.below(200_000_000)),
        busy_time_ms: Some(rng.below(100_000)),
        rwnd_limited_ms: Some(0),
        sndbuf_limited_ms: Some(0),
        last_send_ms: idle,
        last_recv_ms: idle,
        last_ack_recv_ms: idle,
        snd_wnd: Some(262_140),
        ..TcpInfo::default()
    };
    Socket { cookie, local, remote, uid: 33, inode: 1_000_000 + cookie, tcp: Some(tcp), ..TEMPLATE.clone() }
}

/// A second of traffic on `socket`: its counters move and its clocks start again.
fn traffic(socket: &mut Socket, rng: &mut Rng) {
    let Some(tcp) = &mut socket.tcp else { return };
    let (rx, tx) = (200 + rng.below(40_000), 100 + rng.below(8_000));
    some_add(&mut tcp.bytes_received, rx);
    some_add(&mut tcp.bytes_sent, tx);
    some_add(&mut tcp.bytes_acked, tx);
    some_add(&mut tcp.segs_in, (rx / 1448) as u32 + 1);
    some_add(&mut tcp.segs_out, (tx / 1448) as u32 + 1);
    some_add(&mut tcp.busy_time_ms, rng.below(50));
    tcp.delivery_rate_bps = Some(rng.below(100_000_000));
    tcp.rtt_ms = 0.4 + rng.below(800) as f64 / 10.0;
    let ms = rng.below(1000) as u32;
    (tcp.last_recv_ms, tcp.last_ack_recv_ms, tcp.last_send_ms) = (ms, ms, ms / 2);
}

fn process(pid: u32, name: &str, cmdline: &str) -> ProcessInfo {
    let (name, cmdline, user) = (name.to_owned(), cmdline.to_owned(), "www-data".to_owned());
    let (start_time, open_files, open_files_limit) = (u64::from(pid) * 1000, Some(1200), Some(65_536));
    ProcessInfo { pid, name, cmdline, user, start_time, open_files, open_files_limit }
}

const HOST: [u8; 4] = [192, 168, 1, 23];
const NGINX: [u32; 4] = [1401, 1402, 1403, 1404];
const APP: u32 = 1600;

/// The synthetic host: what the sources would read from it, second by second.
pub struct Host {
    rng: Rng,
    established: Vec<Socket>,
    owners: Vec<(u64, u32)>,
    processes: Vec<ProcessInfo>,
    cgroups: Vec<(u32, Arc<str>)>,
    next_cookie: u64,
    counters: Vec<(u32, InterfaceStats)>,
    kernel: KernelCounters,
    paths: Vec<PathState>,
    network: NetworkTable,
}

impl Host {
    /// The host at the start of the hour.
    pub fn new() -> Self {
        let (mut rng, mut established, mut owners) = (Rng(0x9e37_79b9_7f4a_7c15), Vec::new(), Vec::new());
        for cookie in 1..=ESTABLISHED {
            let port = 32_768 + (cookie as u16);
            let (local, remote, pid) = match cookie % 10 {
                0..7 => {
                    let client = [100, 64, rng.below(256) as u8, rng.below(256) as u8];
                    (v4(HOST, 443), v4(client, port), NGINX[(cookie % 4) as usize])
                }
                7 | 8 => (v4(HOST, port), v4([10, 0, 0, 5], 8080), NGINX[(cookie % 4) as usize]),
                _ => (v4(HOST, port), v4([10, 0, 0, 9], 5432), APP),
            };
            let socket = socket(cookie, local, remote, &mut rng);
            owners.push((socket.inode, pid));
            established.push(socket);
        }
        let mut processes: Vec<ProcessInfo> =
            NGINX.iter().map(|&pid| process(pid, "nginx", "nginx: worker process")).collect();
        processes.push(process(APP, "node", "node /srv/app/server.js"));
        let cgroups = processes
            .iter()
            .map(|p| (p.pid, Arc::from(format!("/system.slice/{}.service", p.name).as_str())))
            .collect();
        let counters = [1, 2, 3].iter().map(|&index| (index, fake::counters(index, 1))).collect();
        let (kernel, paths, network) = (kernel_counters(), fake::path_states(), fake::network());
        let next_cookie = 1_000_000;
        Self { rng, established, owners, processes, cgroups, next_cookie, counters, kernel, paths, network }
    }

    fn origin(&self, pid: u32) -> SocketOrigin {
        let cgroup = self.cgroups.iter().find(|(p, _)| *p == pid).map(|(_, cgroup)| Arc::clone(cgroup));
        SocketOrigin { attribution: Attribution::Proc, cgroup }
    }

    /// The events of second `s`, in the order the sources would send them.
    pub fn second(&mut self, s: u32) -> Vec<Event> {
        let at = |ms: i64| START + time::Duration::milliseconds(i64::from(s) * 1000 + ms);
        let mut events = Vec::with_capacity(16);
        if s == 0 {
            events.push(fake::event(at(0), SourceId::System, Payload::System(fake::system())));
            events.push(fake::event(at(0), SourceId::Interfaces, Payload::Network(self.network.clone())));
        }
        if s.is_multiple_of(900) {
            let detail = format!("sock_diag every 1 s, {ESTABLISHED} sockets");
            let status = SourceStatus { name: SourceId::Connections, status: SourceState::Ok, detail };
            events.push(fake::event(at(0), SourceId::Connections, Payload::Status(status)));
        }
        events.push(fake::event(at(0), SourceId::Interfaces, Payload::Counters(self.counters())));
        let (table, short) = self.table();
        events.push(fake::event(at(100), SourceId::Connections, Payload::Sockets(table)));
        if s.is_multiple_of(2) {
            events.push(fake::event(at(200), SourceId::Kernel, Payload::Kernel(Box::new(self.kernel()))));
        }
        if s.is_multiple_of(5) {
            events.push(fake::event(at(300), SourceId::Paths, Payload::Paths(self.paths(at(300)))));
            let usage = ProcessUsage { cpu_pct: 0.5 + self.rng.below(20) as f32 / 10.0, rss_bytes: 24 << 20 };
            events.push(fake::event(at(400), SourceId::System, Payload::SelfUsage(usage)));
        }
        if s.is_multiple_of(10) && s > 0 {
            let (network, notice) = self.network(s);
            events.push(fake::event(at(500), SourceId::Interfaces, Payload::Network(network)));
            events.push(fake::event(at(550), SourceId::Interfaces, Payload::Notices(vec![notice])));
        }
        let (closed, owners) = self.close(short);
        events.push(fake::event(at(600), SourceId::Connections, Payload::SocketsClosed(closed)));
        events.push(fake::event(at(650), SourceId::Connections, Payload::SocketOwners(owners)));
        if s % 10 == 5 {
            let (uptime_s, cpu_pct) = (273_640 + u64::from(s), 10.0 + self.rng.below(300) as f32 / 10.0);
            let system = SystemFacts { uptime_s, cpu_pct, ..fake::system() };
            events.push(fake::event(at(700), SourceId::System, Payload::System(system)));
        }
        events
    }

    fn counters(&mut self) -> Vec<(u32, InterfaceStats)> {
        for (_, stats) in &mut self.counters {
            let (rx, tx) = (2_000_000 + self.rng.below(500_000), 300_000 + self.rng.below(100_000));
            stats.rx_bytes += rx;
            stats.tx_bytes += tx;
            stats.rx_packets += rx / 900;
            stats.tx_packets += tx / 700;
        }
        self.counters.clone()
    }

    /// This second's dump: the established sockets a second on, and 20 new short
    /// connections among them (the kernel dumps in hash order, not by age).
    fn table(&mut self) -> (SocketTable, Vec<(Socket, u32)>) {
        for socket in &mut self.established {
            socket.advance_clocks(1000);
            if self.rng.below(BUSY_ONE_IN) == 0 {
                traffic(socket, &mut self.rng);
            }
        }
        let mut short: Vec<(usize, Socket, u32)> = (0..SHORT_PER_S)
            .map(|n| {
                self.next_cookie += 1;
                let cookie = self.next_cookie;
                let port = 32_768 + (cookie % 28_000) as u16;
                let client = [100, 65, self.rng.below(256) as u8, self.rng.below(256) as u8];
                let (local, remote, pid) = if n < 15 {
                    (v4(HOST, 443), v4(client, port), NGINX[(cookie % 4) as usize])
                } else {
                    (v4(HOST, port), v4([10, 0, 0, 7], 6379), APP)
                };
                let mut socket = socket(cookie, local, remote, &mut self.rng);
                if let Some(tcp) = &mut socket.tcp {
                    (tcp.bytes_received, tcp.bytes_sent, tcp.bytes_acked) = (Some(517), Some(0), Some(0));
                    (tcp.last_recv_ms, tcp.last_send_ms, tcp.last_ack_recv_ms) = (3, 3, 3);
                }
                (self.rng.below(ESTABLISHED) as usize, socket, pid)
            })
            .collect();
        short.sort_by_key(|(at, _, _)| *at);
        let mut sockets = Vec::with_capacity(self.established.len() + short.len());
        let mut origins = Vec::with_capacity(sockets.capacity());
        let mut owners = self.owners.clone();
        let mut next = short.iter().peekable();
        for (at, socket) in self.established.iter().enumerate() {
            while let Some((_, new, pid)) = next.next_if(|(before, _, _)| *before == at) {
                owners.push((new.inode, *pid));
                origins.push((new.cookie, self.origin(*pid)));
                sockets.push(new.clone());
            }
            origins.push((socket.cookie, self.origin(self.owners[at].1)));
            sockets.push(socket.clone());
        }
        let (processes, all_owners_visible) = (self.processes.clone(), true);
        let (unchanged, cookie_owners, route_moves) = (Vec::new(), Vec::new(), Vec::new());
        let table = SocketTable {
            sockets,
            unchanged,
            owners,
            cookie_owners,
            processes,
            all_owners_visible,
            route_moves,
            origins,
        };
        (table, short.into_iter().map(|(_, socket, pid)| (socket, pid)).collect())
    }

    /// The short connections closed, with their final counters, and their owners.
    fn close(&self, short: Vec<(Socket, u32)>) -> (Vec<Socket>, ClosedOwners) {
        let owners: Vec<_> =
            short.iter().map(|(socket, pid)| (socket.cookie, *pid, self.origin(*pid))).collect();
        let owning = |process: &&ProcessInfo| owners.iter().any(|(_, pid, _)| *pid == process.pid);
        let processes = self.processes.iter().filter(owning).cloned().collect();
        let closed = short.into_iter().map(|(mut socket, _)| {
            socket.state = SocketState::Close;
            if let Some(tcp) = &mut socket.tcp {
                (tcp.bytes_received, tcp.bytes_sent, tcp.bytes_acked) =
                    (Some(1_240), Some(18_400), Some(18_400));
            }
            socket
        });
        (closed.collect(), ClosedOwners { owners, processes })
    }

    /// A reading of ~300 counters of which a few dozen moved.
    fn kernel(&mut self) -> KernelCounters {
        for (n, value) in self.kernel.snmp.values_mut().enumerate().filter(|(n, _)| n % 5 == 0) {
            *value += 40 + n as i64;
        }
        for (_, value) in self.kernel.netstat.values_mut().enumerate().filter(|(n, _)| n % 8 == 0) {
            *value += 7 + self.rng.below(100) as i64;
        }
        for cpu in &mut self.kernel.softnet {
            cpu.processed += 2_000 + self.rng.below(1_000);
        }
        self.kernel.sockstat.insert("TCP.tw".into(), 1_180 + self.rng.below(40) as i64);
        self.kernel.conntrack = Some(Conntrack { count: 2_400 + self.rng.below(200), max: 262_144 });
        self.kernel.clone()
    }

    fn paths(&mut self, at: Timestamp) -> Vec<PathState> {
        for path in &mut self.paths {
            path.evaluated_at = at;
            if let Some(probe) = &mut path.probe {
                let rtt = Some(10.0 + self.rng.below(200) as f64 / 10.0);
                probe.sent += 1;
                probe.rtt_ms = rtt;
                if !probe.history.is_empty() {
                    probe.history.remove(0);
                }
                probe.history.push(rtt);
            }
        }
        self.paths.clone()
    }

    /// The network re-read after a neighbour changed state, with its notice.
    fn network(&mut self, s: u32) -> (NetworkTable, Notice) {
        let state = if s.is_multiple_of(20) { NeighborState::Stale } else { NeighborState::Reachable };
        let neighbor = &mut self.network.neighbors[0];
        neighbor.state = state;
        let detail = format!("neighbor {} on {} {state:?}", neighbor.address, neighbor.interface);
        let notice = Notice::new(TimelineKind::NeighborChanged, neighbor.interface.clone(), detail);
        (self.network.clone(), notice)
    }
}

fn kernel_counters() -> KernelCounters {
    let mut counters = KernelCounters { netns: 4_026_531_840, ..KernelCounters::default() };
    for n in 0..100 {
        counters.snmp.insert(format!("Ip6InMulticastCounter{n:03}"), 1_000_000 + n * 17);
    }
    for n in 0..200 {
        counters.netstat.insert(format!("TcpExtTCPSomethingHappened{n:03}"), 10_000 + n * 3);
    }
    for (name, value) in [("sockets.used", 1_310), ("TCP.inuse", 1_020), ("TCP.tw", 1_200), ("UDP.inuse", 9)]
    {
        counters.sockstat.insert(name.to_owned(), value);
    }
    for name in ["all", "default", "lo", "eth0", "wlan0", "wg0", "docker0", "veth-lab"] {
        counters.rp_filter.insert(name.to_owned(), 2);
    }
    counters.softnet =
        (0..2).map(|cpu| SoftnetCpu { cpu, processed: 9_000_000, ..SoftnetCpu::default() }).collect();
    counters.files = Some(FileTable { allocated: 12_000, max: 9_223_372_036_854_775_807 });
    counters.port_range = Some(PortRange { low: 32_768, high: 60_999 });
    counters
}
