//! `NETLINK_ROUTE` sockets on tokio: one joined to the notification groups, one for
//! dump requests, so dump replies and notifications never interleave. Both belong to
//! the kernel view ([`crate::kernel_view`]), the only place that opens them.

use std::io;

use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket, constants::NETLINK_ROUTE};

/// The multicast groups the notification socket joins (`RTNLGRP_*`).
const GROUPS: [u32; 8] = [
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV6_IFADDR,
    libc::RTNLGRP_IPV4_ROUTE,
    libc::RTNLGRP_IPV6_ROUTE,
    libc::RTNLGRP_IPV4_RULE,
    libc::RTNLGRP_IPV6_RULE,
    libc::RTNLGRP_NEIGH,
];

/// The kernel sizes dump datagrams to what the reader asked for before, up to 32 KiB;
/// start above that so a datagram is never cut.
const INITIAL_BUFFER: usize = 64 * 1024;
/// A single message larger than this is not something rtnetlink sends.
const MAX_BUFFER: usize = 4 * 1024 * 1024;

/// One netlink message as received: its header fields, and its payload unless it
/// could not be parsed (then it is skipped by the caller, not fatal).
#[derive(Debug)]
pub(crate) struct Frame {
    /// `NLM_F_*` flags.
    pub flags: u16,
    /// Sequence number (ours for dump replies, 0 for notifications).
    pub sequence: u32,
    /// The parsed payload.
    pub payload: Option<NetlinkPayload<RouteNetlinkMessage>>,
}

/// What one read returned.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Messages in arrival order.
    pub frames: Vec<Frame>,
    /// Messages were lost: the kernel reported `ENOBUFS` (the receive buffer
    /// overran), or a datagram may not have fit the buffer.
    pub lost: bool,
}

/// A non-blocking `NETLINK_ROUTE` socket registered with tokio.
pub(crate) struct RouteSocket {
    socket: TokioSocket,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for RouteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteSocket").field("buffer", &self.buffer.capacity()).finish_non_exhaustive()
    }
}

/// Whether a read error means "the kernel dropped messages for us".
fn is_overrun(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ENOBUFS)
}

impl RouteSocket {
    /// A socket for dump requests, joined to no group.
    pub(crate) fn requests() -> io::Result<Self> {
        Self::open(&[], None)
    }

    /// A socket receiving link, address, route, rule and neighbour notifications,
    /// with `SO_RCVBUF` set to `receive_buffer` when given.
    pub(crate) fn notifications(receive_buffer: Option<usize>) -> io::Result<Self> {
        Self::open(&GROUPS, receive_buffer)
    }

    fn open(groups: &[u32], receive_buffer: Option<usize>) -> io::Result<Self> {
        let mut socket = TokioSocket::new(NETLINK_ROUTE)?;
        let raw = socket.socket_mut();
        if let Some(size) = receive_buffer {
            raw.set_rx_buf_sz(libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX))?;
        }
        raw.bind_auto()?;
        for group in groups {
            raw.add_membership(*group)?;
        }
        Ok(Self { socket, buffer: Vec::with_capacity(INITIAL_BUFFER) })
    }

    /// Send one request to the kernel.
    pub(crate) async fn send(&self, request: &[u8]) -> io::Result<()> {
        self.socket.send_to(request, &SocketAddr::new(0, 0)).await.map(drop)
    }

    /// Wait for at least one datagram, then take whatever else is already queued,
    /// up to `max_datagrams`. Cancel-safe: nothing is read before the first
    /// datagram is complete, and nothing is awaited after.
    pub(crate) async fn recv(&mut self, max_datagrams: usize) -> io::Result<Received> {
        let mut received = Received::default();
        self.buffer.clear();
        match self.socket.recv(&mut self.buffer).await {
            Ok(()) => {}
            Err(error) if is_overrun(&error) => {
                received.lost = true;
                return Ok(received);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(received),
            Err(error) => return Err(error),
        }
        if !self.take_datagram(&mut received) {
            return Ok(received);
        }
        for _ in 1..max_datagrams {
            self.buffer.clear();
            match self.socket.socket_ref().recv(&mut self.buffer, libc::MSG_DONTWAIT) {
                Ok(_) => {
                    if !self.take_datagram(&mut received) {
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if is_overrun(&error) => {
                    received.lost = true;
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(received)
    }

    /// Split the datagram in the buffer into `received`. A datagram that filled the
    /// whole buffer may have been cut: it counts as lost, and the buffer grows so
    /// the next one fits. Returns whether reading may go on.
    fn take_datagram(&mut self, received: &mut Received) -> bool {
        if self.buffer.len() >= self.buffer.capacity() {
            let grown = (self.buffer.capacity() * 2).min(MAX_BUFFER);
            self.buffer.reserve(grown.saturating_sub(self.buffer.len()));
            received.lost = true;
            return false;
        }
        split(&self.buffer, &mut received.frames);
        true
    }

    /// Throw away everything queued, without waiting. Returns how many datagrams
    /// went; stops after `limit` so a flood cannot keep it busy forever.
    pub(crate) fn discard_queued(&mut self, limit: usize) -> io::Result<usize> {
        let mut discarded = 0;
        while discarded < limit {
            self.buffer.clear();
            match self.socket.socket_ref().recv(&mut self.buffer, libc::MSG_DONTWAIT) {
                Ok(_) => discarded += 1,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                // Another overrun while draining changes nothing: everything is re-read next.
                Err(error) if is_overrun(&error) || error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(discarded)
    }
}

/// Split a datagram into messages. A message that does not parse is kept as a
/// header-only frame; a malformed length ends the datagram.
pub(crate) fn split(datagram: &[u8], frames: &mut Vec<Frame>) {
    frames.extend(super::frame::messages(datagram).map(|message| Frame {
        flags: message.flags,
        sequence: message.sequence,
        payload: message.route(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u32, message_type: u16, flags: u16, sequence: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&length.to_ne_bytes());
        bytes.extend_from_slice(&message_type.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes
    }

    #[test]
    fn a_kernel_dump_splits_into_messages_ending_in_done() {
        let mut frames = Vec::new();
        split(include_bytes!("../interfaces/netlink/fixtures/links.bin"), &mut frames);
        assert_eq!(frames.len(), 6);
        assert!(frames.iter().all(|frame| frame.sequence == 1 && frame.payload.is_some()));
        assert!(matches!(
            frames.last().and_then(|frame| frame.payload.as_ref()),
            Some(NetlinkPayload::Done(_))
        ));
    }

    #[test]
    fn an_unparseable_message_keeps_its_header_and_garbage_ends_the_datagram() {
        const RTM_NEWLINK: u16 = 16;
        // A link message whose body is too short to be one, then NLMSG_DONE, then junk.
        let mut datagram = header(19, RTM_NEWLINK, 0x2, 7);
        datagram.extend_from_slice(&[1, 2, 3, 0]);
        datagram.extend_from_slice(&header(20, 3, 0x2 | 0x10, 7));
        datagram.extend_from_slice(&0i32.to_ne_bytes());
        datagram.extend_from_slice(&[0xff; 7]);
        let mut frames = Vec::new();
        split(&datagram, &mut frames);
        let summary: Vec<(u16, u32, bool)> =
            frames.iter().map(|frame| (frame.flags, frame.sequence, frame.payload.is_some())).collect();
        assert_eq!(summary, [(0x2, 7, false), (0x12, 7, true)]);
    }

    #[test]
    fn a_length_beyond_the_datagram_stops_splitting() {
        let mut frames = Vec::new();
        split(&header(4096, 3, 0, 1), &mut frames);
        assert!(frames.is_empty());
    }
}
