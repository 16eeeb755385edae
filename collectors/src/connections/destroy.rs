//! The `sock_diag` destroy notifications: the kernel multicasts an `inet_diag_msg`
//! with the final `tcp_info` whenever a TCP or UDP socket is freed, so a connection
//! that opens and closes between two dumps is still seen, with its last counters.
//! Older kernels (and hardened ones) require `CAP_NET_ADMIN` to join the groups;
//! recent ones (6.x) let anyone join. When joining fails the source falls back to
//! noticing closes by diffing dumps.

use std::io;

use netlink_sys::{AsyncSocket, AsyncSocketExt, TokioSocket, constants::NETLINK_SOCK_DIAG};

use crate::model::Socket;

use crate::netlink::frame::{self, Control};

use super::parse::{self, Origin, SOCK_DIAG_BY_FAMILY};

/// `SKNLGRP_INET_TCP_DESTROY`, `SKNLGRP_INET_UDP_DESTROY`, `SKNLGRP_INET6_TCP_DESTROY`,
/// `SKNLGRP_INET6_UDP_DESTROY` (`linux/sock_diag.h`).
const GROUPS: [u32; 4] = [1, 2, 3, 4];
/// Notifications are one small message per datagram; this fits any of them.
const BUFFER: usize = 64 * 1024;
/// `SO_RCVBUF` asked for: closes come in bursts (a server shedding connections), and
/// between two reads they queue here. The kernel caps it at `net.core.rmem_max`.
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// What one wake-up read.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The sockets destroyed, in the order the kernel reported them.
    pub sockets: Vec<Socket>,
    /// The kernel dropped notifications (`ENOBUFS`): some closes were missed.
    pub lost: bool,
}

/// A socket joined to the four destroy groups.
pub(crate) struct DestroyListener {
    socket: TokioSocket,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for DestroyListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestroyListener").finish_non_exhaustive()
    }
}

/// Whether a read error means "the kernel dropped messages for us".
fn is_overrun(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ENOBUFS)
}

impl DestroyListener {
    /// Open a socket and join the groups. Fails with `EPERM` where the kernel
    /// reserves them for `CAP_NET_ADMIN`.
    pub(crate) fn subscribe() -> io::Result<Self> {
        let mut socket = TokioSocket::new(NETLINK_SOCK_DIAG)?;
        let raw = socket.socket_mut();
        raw.bind_auto()?;
        if let Err(error) =
            raw.set_rx_buf_sz(libc::c_int::try_from(RECEIVE_BUFFER).unwrap_or(libc::c_int::MAX))
        {
            tracing::debug!(%error, "could not enlarge the sock_diag notification buffer");
        }
        for group in GROUPS {
            raw.add_membership(group)?;
        }
        Ok(Self { socket, buffer: Vec::with_capacity(BUFFER) })
    }

    /// Wait for a notification, then take every one already queued, up to
    /// `max_datagrams`. Cancel-safe: nothing is consumed before the first datagram is
    /// complete, and nothing is awaited after.
    pub(crate) async fn next_batch(&mut self, max_datagrams: usize) -> io::Result<Batch> {
        let mut batch = Batch::default();
        self.buffer.clear();
        match self.socket.recv(&mut self.buffer).await {
            Ok(()) => take(&self.buffer, &mut batch.sockets),
            Err(error) if is_overrun(&error) => batch.lost = true,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(batch),
            Err(error) => return Err(error),
        }
        for _ in 1..max_datagrams {
            self.buffer.clear();
            match self.socket.socket_ref().recv(&mut self.buffer, libc::MSG_DONTWAIT) {
                Ok(_) => take(&self.buffer, &mut batch.sockets),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                // The overrun is reported; what is still queued is good.
                Err(error) if is_overrun(&error) => batch.lost = true,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(batch)
    }
}

/// The destroyed sockets of one datagram. Messages that do not parse are skipped.
pub(crate) fn take(datagram: &[u8], sockets: &mut Vec<Socket>) {
    for message in frame::messages(datagram) {
        if message.control() != Control::Data || message.kind != SOCK_DIAG_BY_FAMILY {
            continue;
        }
        match parse::socket(message.body(), None, Origin::Destroyed) {
            Ok(socket) => sockets.push(socket),
            Err(error) => tracing::debug!(%error, "skipping a sock_diag destroy notification"),
        }
    }
}
