//! The `connections` section: one entry per socket, open before closed.

use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{AddressFamily, Attribution, Protocol, SocketState, SocketTimer, TcpInfo, Timestamp};

/// A connection as the schema names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionDoc {
    /// The kernel's socket cookie: the identity across dumps.
    pub cookie: u64,
    /// `tcp` or `udp`.
    pub protocol: Protocol,
    /// `ipv4` or `ipv6`.
    pub family: AddressFamily,
    /// The kernel's state name in lower case (`established`, `unconnected`, …).
    pub state: SocketState,
    /// Local end, `ip:port` (`[addr]:port` for IPv6).
    pub local: SocketAddr,
    /// Remote end, `ip:port`; the unspecified address for a listener.
    pub remote: SocketAddr,
    /// Reverse-DNS name of the remote address, when known.
    pub remote_name: Option<String>,
    /// Interface the socket is bound to or routed through, by name.
    pub interface: Option<String>,
    /// Owning user id.
    pub uid: u32,
    /// Socket inode.
    pub inode: u64,
    /// Owning process, when attributed.
    pub pid: Option<u32>,
    /// That process's name.
    pub process: Option<String>,
    /// That process's user name.
    pub user: Option<String>,
    /// How the owner was found: `bpf` (recorded by a BPF hook as the process
    /// connected or sent), `proc` (found among its descriptors) or `null` (unknown).
    #[serde(default)]
    pub attribution: Option<Attribution>,
    /// The owner's cgroup v2 path (`/system.slice/nginx.service`), when known.
    #[serde(default)]
    pub cgroup: Option<String>,
    /// Bytes received per second, once two samples exist.
    pub rx_bytes_per_s: Option<f64>,
    /// Bytes sent per second.
    pub tx_bytes_per_s: Option<f64>,
    /// When the connection opened, when seen.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "super::schema::optional_timestamp")]
    pub opened_at: Option<Timestamp>,
    /// When it closed; `null` while open.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "super::schema::optional_timestamp")]
    pub closed_at: Option<Timestamp>,
    /// Bytes queued to the application.
    pub recv_queue: u32,
    /// Bytes not yet acknowledged (or queued to send).
    pub send_queue: u32,
    /// The armed socket timer.
    pub timer: Option<SocketTimer>,
    /// TCP congestion control algorithm.
    pub congestion: Option<String>,
    /// The kernel's TCP statistics; `null` for UDP and listeners.
    pub tcp: Option<TcpInfo>,
    /// Warning names (`stalled`, `high_retransmits`, …).
    pub warnings: Vec<String>,
    /// What the connection is part of (`burst of 5 short connections`).
    pub label: Option<String>,
}
