//! netlens's own DNS sockets, so the passive capture can name netlens as the asker.
//!
//! The capture finds a query's process through its socket (`sock_diag`, then `/proc`),
//! and a socket that already closed has no owner to find: netlens's own exchanges with
//! a nameserver on the same host are over within tens of microseconds, so they showed
//! as `?`. The process itself knows which sockets it opened, with no lookup and no
//! race: every socket netlens asks a nameserver from (its traces, the paths source's
//! resolution, reverse-DNS lookups) is registered here when it is bound, and the
//! capture's attribution checks here first. The kernel cannot say this after the fact,
//! which is why it is process state and not a lookup.
//!
//! A socket is remembered by transport, local port and server for [`OWN_TTL`] after it
//! was registered (the register is bounded): once the socket is closed the port may be
//! reused by another process, but only for the same server within that time would the
//! answer be wrong.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_resolver::net::runtime::{RuntimeProvider, TokioRuntimeProvider};

use crate::model::DnsTransport;

/// How long a registered socket is recognised as netlens's: longer than any exchange
/// the capture waits for (its timeout is 5 s).
pub const OWN_TTL: Duration = Duration::from_secs(30);

/// Sockets remembered at most (the oldest is forgotten first).
const REMEMBERED: usize = 1024;

/// One registered socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OwnSocket {
    transport: DnsTransport,
    port: u16,
    server: SocketAddr,
    at: Instant,
}

/// hickory's tokio runtime, with every socket it opens registered here: reverse-DNS
/// lookups and user-named servers go through it.
#[derive(Clone, Default)]
pub struct OwnRuntime(TokioRuntimeProvider);

/// A hickory resolver whose sockets are registered here.
pub type OwnResolver = hickory_resolver::Resolver<OwnRuntime>;

impl RuntimeProvider for OwnRuntime {
    type Handle = <TokioRuntimeProvider as RuntimeProvider>::Handle;
    type Timer = <TokioRuntimeProvider as RuntimeProvider>::Timer;
    type Udp = <TokioRuntimeProvider as RuntimeProvider>::Udp;
    type Tcp = <TokioRuntimeProvider as RuntimeProvider>::Tcp;

    fn create_handle(&self) -> Self::Handle {
        self.0.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = io::Result<Self::Tcp>>>> {
        let connecting = self.0.connect_tcp(server_addr, bind_addr, timeout);
        Box::pin(async move {
            let stream = connecting.await?;
            if let Ok(local) = stream.0.local_addr() {
                register(DnsTransport::Tcp, local, server_addr);
            }
            Ok(stream)
        })
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = io::Result<Self::Udp>>>> {
        let binding = self.0.bind_udp(local_addr, server_addr);
        Box::pin(async move {
            let socket = binding.await?;
            if let Ok(local) = socket.local_addr() {
                register(DnsTransport::Udp, local, server_addr);
            }
            Ok(socket)
        })
    }
}

static SOCKETS: Mutex<VecDeque<OwnSocket>> = Mutex::new(VecDeque::new());

/// This process as the capture names askers: its pid and `comm`.
static SELF: LazyLock<(u32, String)> = LazyLock::new(|| {
    let comm = std::fs::read_to_string("/proc/self/comm")
        .map(|comm| comm.trim_end().to_owned())
        .ok()
        .filter(|comm| !comm.is_empty())
        .unwrap_or_else(|| "netlens".to_owned());
    (std::process::id(), comm)
});

/// Note that this process asks `server` from the socket bound at `local`.
pub fn register(transport: DnsTransport, local: SocketAddr, server: SocketAddr) {
    let now = Instant::now();
    let mut sockets = SOCKETS.lock().unwrap_or_else(PoisonError::into_inner);
    while sockets.len() >= REMEMBERED
        || sockets.front().is_some_and(|socket| now.saturating_duration_since(socket.at) >= OWN_TTL)
    {
        sockets.pop_front();
    }
    sockets.push_back(OwnSocket { transport, port: local.port(), server, at: now });
}

/// This process's pid and name when it asked `server` from `client` recently.
#[must_use]
pub fn owner_of(transport: DnsTransport, client: SocketAddr, server: SocketAddr) -> Option<(u32, String)> {
    let now = Instant::now();
    let sockets = SOCKETS.lock().unwrap_or_else(PoisonError::into_inner);
    sockets
        .iter()
        .rev()
        .take_while(|socket| now.saturating_duration_since(socket.at) < OWN_TTL)
        .any(|socket| {
            socket.transport == transport && socket.port == client.port() && socket.server == server
        })
        .then(|| SELF.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_socket_is_this_process() {
        let server: SocketAddr = "192.0.2.53:53".parse().unwrap_or_else(|e| panic!("{e}"));
        let local: SocketAddr = "0.0.0.0:47111".parse().unwrap_or_else(|e| panic!("{e}"));
        let seen_from: SocketAddr = "10.1.2.3:47111".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(owner_of(DnsTransport::Udp, seen_from, server), None);
        register(DnsTransport::Udp, local, server);
        let (pid, name) = owner_of(DnsTransport::Udp, seen_from, server).unwrap_or_default();
        assert_eq!(pid, std::process::id());
        assert!(!name.is_empty());
        assert_eq!(owner_of(DnsTransport::Tcp, seen_from, server), None, "another transport");
        let other: SocketAddr = "192.0.2.54:53".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(owner_of(DnsTransport::Udp, seen_from, other), None, "another server");
    }
}
