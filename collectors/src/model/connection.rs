//! Sockets as the kernel's `sock_diag` reports them, the kernel's TCP statistics, and
//! the processes that own them.

use std::net::{IpAddr, SocketAddr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AddressFamily;

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// Socket state with the kernel's names (`TCP_*` from `<net/tcp_states.h>`), in lower
/// case; [`SocketState::Unconnected`] for a UDP socket with no peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SocketState {
    /// Data flows both ways (for UDP: connected to one peer).
    Established,
    /// Our SYN sent, waiting for the answer.
    SynSent,
    /// Their SYN received, our SYN-ACK sent.
    SynRecv,
    /// We closed; waiting for their ACK or FIN.
    FinWait1,
    /// We closed and they acknowledged; waiting for their FIN.
    FinWait2,
    /// Both closed; lingering so late segments are not mistaken for a new connection.
    TimeWait,
    /// Closed.
    Close,
    /// They closed; waiting for our application to close.
    CloseWait,
    /// Both closed, waiting for the last ACK.
    LastAck,
    /// Accepting connections.
    Listen,
    /// Both sides closed at once.
    Closing,
    /// A request socket (a SYN in the accept queue).
    NewSynRecv,
    /// Bound but neither listening nor connected.
    BoundInactive,
    /// A UDP socket with no peer.
    Unconnected,
}

impl SocketState {
    /// The state for a kernel state number; UDP's `TCP_CLOSE` means unconnected.
    #[must_use]
    pub const fn from_kernel(protocol: Protocol, state: u8) -> Option<Self> {
        Some(match (protocol, state) {
            (Protocol::Udp, 7) => Self::Unconnected,
            (_, 1) => Self::Established,
            (_, 2) => Self::SynSent,
            (_, 3) => Self::SynRecv,
            (_, 4) => Self::FinWait1,
            (_, 5) => Self::FinWait2,
            (_, 6) => Self::TimeWait,
            (_, 7) => Self::Close,
            (_, 8) => Self::CloseWait,
            (_, 9) => Self::LastAck,
            (_, 10) => Self::Listen,
            (_, 11) => Self::Closing,
            (_, 12) => Self::NewSynRecv,
            (_, 13) => Self::BoundInactive,
            _ => return None,
        })
    }

    /// The schema name, as serialised (`established`, `syn_sent`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Established => "established",
            Self::SynSent => "syn_sent",
            Self::SynRecv => "syn_recv",
            Self::FinWait1 => "fin_wait1",
            Self::FinWait2 => "fin_wait2",
            Self::TimeWait => "time_wait",
            Self::Close => "close",
            Self::CloseWait => "close_wait",
            Self::LastAck => "last_ack",
            Self::Listen => "listen",
            Self::Closing => "closing",
            Self::NewSynRecv => "new_syn_recv",
            Self::BoundInactive => "bound_inactive",
            Self::Unconnected => "unconnected",
        }
    }

    /// Whether the connection is on its way out (closing states and `time_wait`).
    #[must_use]
    pub const fn is_closing(self) -> bool {
        matches!(
            self,
            Self::FinWait1
                | Self::FinWait2
                | Self::TimeWait
                | Self::Close
                | Self::CloseWait
                | Self::LastAck
                | Self::Closing
        )
    }
}

/// The socket timer that is armed (`idiag_timer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Retransmission timer.
    Retransmit,
    /// Keepalive timer.
    Keepalive,
    /// `TIME_WAIT` timer.
    TimeWait,
    /// Zero-window probe timer.
    ZeroWindowProbe,
    /// Anything else the kernel reports.
    Other,
}

/// An armed socket timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SocketTimer {
    /// Which timer.
    pub kind: TimerKind,
    /// Milliseconds until it fires.
    pub expires_ms: u32,
    /// Retransmissions (or probes) so far under this timer.
    pub retransmits: u8,
}

/// Socket memory (`INET_DIAG_SKMEMINFO`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct SocketMemory {
    /// Receive memory allocated.
    pub rmem_alloc: u32,
    /// Receive buffer size.
    pub rcvbuf: u32,
    /// Send memory allocated.
    pub wmem_alloc: u32,
    /// Send buffer size.
    pub sndbuf: u32,
    /// Memory forward-allocated.
    pub fwd_alloc: u32,
    /// Send memory queued.
    pub wmem_queued: u32,
    /// Option memory.
    pub optmem: u32,
    /// Backlog length.
    pub backlog: u32,
    /// Packets dropped before reaching the socket.
    pub drops: u32,
}

/// The kernel's TCP statistics for one socket (`struct tcp_info`). The struct grew
/// over kernel versions; fields a kernel does not report are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct TcpInfo {
    /// Smoothed round-trip time.
    pub rtt_ms: f64,
    /// Round-trip time variation.
    pub rttvar_ms: f64,
    /// Lowest round-trip time seen.
    pub min_rtt_ms: Option<f64>,
    /// Retransmission timeout.
    pub rto_ms: f64,
    /// Congestion window, in segments.
    pub cwnd: u32,
    /// Slow-start threshold, in segments; `None` while unset (infinite).
    pub ssthresh: Option<u32>,
    /// Sender maximum segment size.
    pub mss: u32,
    /// Path MTU.
    pub pmtu: u32,
    /// Consecutive retransmissions of the current segment (timeouts in a row).
    pub retransmits: u8,
    /// Retransmitted segments over the connection's life.
    pub total_retrans: u32,
    /// Segments currently considered lost.
    pub lost: u32,
    /// Reordering metric.
    pub reordering: u32,
    /// Bytes acknowledged by the peer.
    pub bytes_acked: Option<u64>,
    /// Bytes received.
    pub bytes_received: Option<u64>,
    /// Bytes sent, retransmissions included.
    pub bytes_sent: Option<u64>,
    /// Bytes retransmitted.
    pub bytes_retrans: Option<u64>,
    /// Segments received.
    pub segs_in: Option<u32>,
    /// Segments sent.
    pub segs_out: Option<u32>,
    /// Most recent delivery rate, bits per second.
    pub delivery_rate_bps: Option<u64>,
    /// Pacing rate, bits per second; `None` when unlimited.
    pub pacing_rate_bps: Option<u64>,
    /// Time spent busy sending, milliseconds.
    pub busy_time_ms: Option<u64>,
    /// Time limited by the receiver's window, milliseconds.
    pub rwnd_limited_ms: Option<u64>,
    /// Time limited by the send buffer, milliseconds.
    pub sndbuf_limited_ms: Option<u64>,
    /// Milliseconds since data was last sent.
    pub last_send_ms: u32,
    /// Milliseconds since data was last received.
    pub last_recv_ms: u32,
    /// Milliseconds since an ACK was last received.
    pub last_ack_recv_ms: u32,
    /// The peer's advertised receive window, bytes (newer kernels).
    pub snd_wnd: Option<u32>,
}

/// One socket of one dump: what `ss -tuin` shows, keyed by the kernel's socket cookie.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Socket {
    /// The kernel's unique socket cookie: the identity across dumps.
    pub cookie: u64,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Address family.
    pub family: AddressFamily,
    /// Socket state.
    pub state: SocketState,
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port (unspecified for listeners and unconnected UDP).
    pub remote: SocketAddr,
    /// Interface the socket is bound to (`SO_BINDTODEVICE`), if any.
    pub interface_index: Option<u32>,
    /// Owner's user id.
    pub uid: u32,
    /// Socket inode (0 for `time_wait` and request sockets): the link to a process.
    pub inode: u64,
    /// Bytes queued for the application to read (listeners: accept backlog).
    pub recv_queue: u32,
    /// Bytes not yet acknowledged by the peer (listeners: backlog limit).
    pub send_queue: u32,
    /// The armed timer, if any.
    pub timer: Option<SocketTimer>,
    /// TCP statistics (TCP only).
    pub tcp: Option<TcpInfo>,
    /// Congestion control algorithm (`cubic`, `bbr`, …), from `INET_DIAG_CONG`.
    pub congestion: Option<String>,
    /// Socket memory, if the kernel reported it.
    pub memory: Option<SocketMemory>,
    /// Type of service (IPv4) or traffic class (IPv6).
    pub tos: Option<u8>,
}

impl Socket {
    /// Advance by `ms` the figures the kernel derives from the clock alone: the time
    /// since the last send, receive and acknowledgement grows, an armed timer's time
    /// left shrinks. What a socket that did not change would report `ms` later.
    pub fn advance_clocks(&mut self, ms: u32) {
        if let Some(tcp) = &mut self.tcp {
            tcp.advance_clocks(ms);
        }
        if let Some(timer) = &mut self.timer {
            timer.advance_clocks(ms);
        }
    }
}

impl TcpInfo {
    /// Advance by `ms` the time since the last send, receive and acknowledgement.
    pub const fn advance_clocks(&mut self, ms: u32) {
        self.last_send_ms = self.last_send_ms.saturating_add(ms);
        self.last_recv_ms = self.last_recv_ms.saturating_add(ms);
        self.last_ack_recv_ms = self.last_ack_recv_ms.saturating_add(ms);
    }
}

impl SocketTimer {
    /// Shrink by `ms` the time left.
    pub const fn advance_clocks(&mut self, ms: u32) {
        self.expires_ms = self.expires_ms.saturating_sub(ms);
    }
}

/// A process that owns sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Short name (`comm`).
    pub name: String,
    /// Full command line, space-separated.
    pub cmdline: String,
    /// Owner's user name, or the uid as text.
    pub user: String,
    /// Start time in clock ticks since boot: with `pid`, the identity (pids are reused).
    pub start_time: u64,
    /// Open file descriptors, when readable.
    pub open_files: Option<u64>,
    /// `RLIMIT_NOFILE` soft limit, when readable.
    pub open_files_limit: Option<u64>,
}

/// Bytes one flow carried in one capture interval (from packet capture; UDP and
/// anything `sock_diag` has no counters for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlowBytes {
    /// Protocol.
    pub protocol: Protocol,
    /// This host's end.
    pub local: SocketAddr,
    /// The other end.
    pub remote: SocketAddr,
    /// Bytes received by this host.
    pub rx_bytes: u64,
    /// Bytes sent by this host.
    pub tx_bytes: u64,
}

/// Per-flow byte counts over one capture interval.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FlowSample {
    /// Length of the interval the bytes were counted over, in milliseconds.
    pub interval_ms: u32,
    /// Flows that carried traffic in the interval.
    pub flows: Vec<FlowBytes>,
}

/// An established connection whose remote a fresh route lookup now sends another
/// way than the connection goes: through another interface, or from another source
/// address (DESIGN.md §1 note 5 — typically a VPN that came up after it started).
/// Normal, not a fault: the connection keeps its address; new ones take the new path.
///
/// A source that differs while the interface does not is only a candidate: the store
/// drops it when the connection's address is on that same interface (an older IPv6
/// temporary address, a secondary address), since that is no move.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteMove {
    /// The connection's local address (IPv4-mapped addresses as IPv4).
    pub local: IpAddr,
    /// Its remote address (IPv4-mapped addresses as IPv4).
    pub remote: IpAddr,
    /// The interface new connections to `remote` would leave through.
    pub interface: Option<String>,
    /// Its index: with the address table, it tells a source that merely differs
    /// (another address on the same interface) from one elsewhere.
    pub interface_index: Option<u32>,
    /// Whether that interface differs from the one this connection's packets go
    /// through, now or when first judged (not just the source address).
    pub interface_changed: bool,
    /// The source address new connections to `remote` would use.
    pub source: Option<IpAddr>,
    /// The interface this connection's own packets (from `local`) are routed through now.
    pub current_interface: Option<String>,
    /// The interface its packets were routed through when netlens first judged it.
    pub first_interface: Option<String>,
}

impl RouteMove {
    /// The fact in one sentence: `new connections to 93.184.216.34 would leave via
    /// tun0 from 10.8.0.2; this one stays on veth0 from 10.1.0.2`.
    #[must_use]
    pub fn text(&self) -> String {
        let name = |interface: &Option<String>| interface.clone().unwrap_or_else(|| "?".to_owned());
        let new = match self.source {
            Some(source) => format!(
                "new connections to {} would leave via {} from {source}",
                self.remote,
                name(&self.interface)
            ),
            None => format!("new connections to {} would leave via {}", self.remote, name(&self.interface)),
        };
        let this = match (&self.first_interface, &self.current_interface) {
            // Without policy routing the kernel reroutes the old source too: say where
            // it started and where its packets go now.
            (Some(first), Some(current)) if first != current => {
                format!("this one keeps {} (it started on {first}, now routed via {current})", self.local)
            }
            (_, Some(current)) => format!("this one stays on {current} from {}", self.local),
            (_, None) => format!("this one keeps {}", self.local),
        };
        format!("{new}; {this}")
    }
}

/// How a socket's (or a DNS query's) owner was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Attribution {
    /// Recorded by a BPF hook as the process connected or sent: exact, however
    /// short-lived the socket or the process.
    Bpf,
    /// Found later among the process's descriptors in `/proc`.
    Proc,
}

impl Attribution {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bpf => "bpf",
            Self::Proc => "proc",
        }
    }
}

/// How a socket's owner was found, and the owner's cgroup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SocketOrigin {
    /// BPF or `/proc`.
    pub attribution: Attribution,
    /// The owner's cgroup v2 path (`/system.slice/nginx.service`), when known.
    pub cgroup: Option<std::sync::Arc<str>>,
}

/// Owners of sockets the kernel destroyed between dumps, learned from the BPF book
/// (by cookie), with their processes.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ClosedOwners {
    /// `(cookie, pid, origin)`.
    pub owners: Vec<(u64, u32, SocketOrigin)>,
    /// The processes named in `owners`.
    pub processes: Vec<ProcessInfo>,
}

/// One complete socket table of TCP and UDP, both families, with owners resolved.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SocketTable {
    /// Every socket read this refresh: all of them, or (with the BPF socket watch)
    /// those new or changed since the last table, the others being in `unchanged`.
    pub sockets: Vec<Socket>,
    /// Cookies of sockets still open but not read again: nothing the kernel reports
    /// about them changed since the last table but the clocks (time since the last
    /// send or receive, a timer's time left), which the receiver advances itself.
    /// Empty when `sockets` is the whole table.
    pub unchanged: Vec<u64>,
    /// Owning process of a socket inode, where known.
    pub owners: Vec<(u64, u32)>,
    /// Owning process of a socket without an inode (a time-wait remnant), by cookie,
    /// where the BPF book knows it.
    pub cookie_owners: Vec<(u64, u32)>,
    /// The owning processes, by pid.
    pub processes: Vec<ProcessInfo>,
    /// Whether sockets of other users could be attributed (root or `CAP_SYS_PTRACE`);
    /// if not, their process shows as unknown and the status says why once.
    pub all_owners_visible: bool,
    /// Established TCP connections whose route moved, one per (local, remote) address
    /// pair; empty when routes are not judged (no route generation configured).
    pub route_moves: Vec<RouteMove>,
    /// How each owned socket's owner was found, by cookie (sockets in `owners`, and
    /// BPF-attributed sockets without an inode).
    pub origins: Vec<(u64, SocketOrigin)>,
}
