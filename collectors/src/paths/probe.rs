//! Active probes for a path (DESIGN.md §5, last link of the chain): a TCP connect,
//! an ICMP echo, or a DNS query — one packet exchange each, sent only for a target
//! the user asked to probe (§1 note 9), each with an explicit timeout.
//!
//! **Same path as the lookup.** A [`ProbeSpec`] carries the target's `via=`
//! interface (`SO_BINDTODEVICE`) and `mark=` (`SO_MARK`), set on the socket before
//! anything is sent, so the kernel routes the probe by the same decision the route
//! lookup evaluated. Binding to an interface needs `CAP_NET_RAW` on kernels before
//! 5.7; a mark needs `CAP_NET_ADMIN` (or `CAP_NET_RAW` from 5.17): without them the
//! probe fails with [`ProbeError::NotPermitted`] rather than silently taking
//! another path.
//!
//! **Async, no blocking calls.** Sockets are made with `socket2` (for the options
//! tokio does not expose), switched to non-blocking and handed to tokio's reactor;
//! nothing here needs `spawn_blocking`.
//!
//! **ICMP** ([`icmp_echo`]) prefers a raw socket (`CAP_NET_RAW`): it sees every
//! ICMP message the host receives, so replies are matched by identifier,
//! sequence and source, and an ICMP error quoting our request ends the probe
//! early as [`ProbeError::Unreachable`]. Without the capability it falls back to
//! an unprivileged ping socket (`SOCK_DGRAM`/`IPPROTO_ICMP`), which the kernel
//! allows only for groups in `net.ipv4.ping_group_range` (the same sysctl governs
//! IPv6). The kernel then picks the identifier and delivers only our replies;
//! ICMP errors are not reported to it, so an unreachable host shows as a timeout.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::time::Instant;

mod dns;
mod icmp;

pub use dns::dns_query;
pub use icmp::icmp_echo;

#[cfg(test)]
mod tests;

/// What to probe and how: the destination, and the interface and mark that make
/// the probe take the path the route lookup evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeSpec {
    /// Where to. The port is used by TCP and DNS and ignored by ICMP; for DNS the
    /// caller fills in 53 when the target has none.
    pub address: SocketAddr,
    /// Output interface to bind to (`SO_BINDTODEVICE`), a target's `via=`.
    pub interface: Option<String>,
    /// Firewall mark to carry (`SO_MARK`), a target's `mark=`.
    pub mark: Option<u32>,
    /// Give up after this long without an answer.
    pub timeout: Duration,
}

impl ProbeSpec {
    /// A probe of `address` with no interface or mark.
    #[must_use]
    pub const fn new(address: SocketAddr, timeout: Duration) -> Self {
        Self { address, interface: None, mark: None, timeout }
    }
}

/// Why a probe failed. The texts are shown to the user as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The far end refused the TCP connection (RST).
    #[error("connection refused")]
    Refused,
    /// No answer within the probe's timeout.
    #[error("no answer within {}", Seconds(*.0))]
    TimedOut(Duration),
    /// The kernel or a router said the destination cannot be reached; the text
    /// says which (`host unreachable`, `network unreachable (reported by 10.0.0.1)`).
    #[error("{0}")]
    Unreachable(String),
    /// The process may not send this probe; the text says why and how to fix it.
    #[error("{0}")]
    NotPermitted(String),
    /// The `via=` interface does not exist (any more).
    #[error("no interface named {0}")]
    NoSuchInterface(String),
    /// Any other failure, in the system's words.
    #[error("{0}")]
    Io(String),
}

/// A duration as a person reads a timeout: `2 s`, `1.5 s`, `250 ms`.
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < Duration::from_secs(1) {
            write!(f, "{} ms", self.0.as_millis())
        } else {
            // `{}` on f64 prints 2 as `2` and 1.5 as `1.5`: no trailing zeros.
            write!(f, "{} s", (self.0.as_secs_f64() * 10.0).round() / 10.0)
        }
    }
}

impl ProbeError {
    /// The failure of sending, connecting or receiving, from the errno.
    fn from_io(error: &io::Error) -> Self {
        match error.raw_os_error() {
            Some(libc::ECONNREFUSED) => Self::Refused,
            Some(libc::ETIMEDOUT) => Self::Unreachable("timed out (the kernel gave up)".to_owned()),
            Some(libc::ENETUNREACH) => Self::Unreachable("network unreachable".to_owned()),
            Some(libc::EHOSTUNREACH) => Self::Unreachable("host unreachable".to_owned()),
            // A prohibit route (EACCES) or a firewall rule rejecting output (EPERM).
            Some(libc::EACCES | libc::EPERM) => {
                Self::Unreachable("prohibited by a route or a firewall rule".to_owned())
            }
            // What a blackhole route answers; also a link-local address without a scope.
            Some(libc::EINVAL) => {
                Self::Unreachable("refused by the kernel: invalid argument (a blackhole route?)".to_owned())
            }
            Some(libc::ENODEV) => Self::Io("the interface went away".to_owned()),
            _ => Self::Io(error.to_string()),
        }
    }
}

/// A non-blocking socket bound to the spec's interface and carrying its mark.
fn probe_socket(ty: Type, protocol: Protocol, spec: &ProbeSpec) -> Result<Socket, ProbeError> {
    let socket = Socket::new(Domain::for_address(spec.address), ty, Some(protocol))
        .map_err(|error| ProbeError::Io(format!("opening a socket: {error}")))?;
    configure(&socket, spec)?;
    Ok(socket)
}

/// Apply the spec's interface and mark, and make the socket non-blocking for tokio.
fn configure(socket: &Socket, spec: &ProbeSpec) -> Result<(), ProbeError> {
    if let Some(interface) = &spec.interface {
        socket.bind_device(Some(interface.as_bytes())).map_err(|error| match error.raw_os_error() {
            Some(libc::ENODEV) => ProbeError::NoSuchInterface(interface.clone()),
            Some(libc::EPERM | libc::EACCES) => ProbeError::NotPermitted(format!(
                "binding the probe to {interface} needs CAP_NET_RAW; run as root or \
                 `setcap cap_net_raw,cap_net_admin+ep netlens`"
            )),
            _ => ProbeError::Io(format!("binding to {interface}: {error}")),
        })?;
    }
    if let Some(mark) = spec.mark {
        socket.set_mark(mark).map_err(|error| match error.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => ProbeError::NotPermitted(format!(
                "marking the probe with mark={mark} needs CAP_NET_ADMIN; run as root or \
                 `setcap cap_net_raw,cap_net_admin+ep netlens`"
            )),
            _ => ProbeError::Io(format!("setting mark {mark}: {error}")),
        })?;
    }
    socket.set_nonblocking(true).map_err(|error| ProbeError::Io(format!("socket setup: {error}")))
}

/// TCP connect to `spec.address`: the time from `connect` to the handshake
/// completing, which is one round trip. The connection is closed at once (a
/// normal FIN), so the server sees a connection that sends nothing.
pub async fn tcp_connect(spec: &ProbeSpec) -> Result<Duration, ProbeError> {
    let socket = probe_socket(Type::STREAM, Protocol::TCP, spec)?;
    let socket = tokio::net::TcpSocket::from_std_stream(socket.into());
    let started = Instant::now();
    match tokio::time::timeout(spec.timeout, socket.connect(spec.address)).await {
        Err(_elapsed) => Err(ProbeError::TimedOut(spec.timeout)),
        Ok(Err(error)) => Err(ProbeError::from_io(&error)),
        Ok(Ok(stream)) => {
            let rtt = started.elapsed();
            drop(stream);
            Ok(rtt)
        }
    }
}

/// A fresh random number for DNS ids and ICMP identifiers, without a crate:
/// each `RandomState` is seeded from the OS once per thread and stepped per call.
fn random_u16() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish() as u16
}
