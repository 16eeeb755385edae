//! Netlink message framing shared by every netlink user: splitting a datagram into
//! messages (header fields plus body), recognising `NLMSG_DONE`, `NLMSG_ERROR` and
//! the dump-interrupted flag, and parsing rtnetlink bodies with
//! `netlink-packet-route`.
//!
//! The split itself is hand-written rather than `NetlinkBuffer` per message because
//! `sock_diag` dumps of 10,000 sockets go through it (benches/sockets.rs): reading
//! four header fields in place costs nothing, while `NetlinkMessage::deserialize`
//! would build a typed message for each reply only to throw most of them away.

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

/// `NLMSG_HDRLEN`.
pub(crate) const HEADER_LEN: usize = 16;
/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
const NLMSG_DONE: u16 = 3;
/// `NLM_F_DUMP_INTR`: the table changed while this dump was being read.
pub(crate) const DUMP_INTERRUPTED: u16 = 0x10;

/// One message of a datagram, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawMessage<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub sequence: u32,
    /// The whole message, header included, up to `nlmsg_len`.
    pub bytes: &'a [u8],
}

/// What a message means for a request in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// A reply carrying data.
    Data,
    /// The end of a dump (`NLMSG_DONE` with a non-negative status).
    Done,
    /// An acknowledgement (`NLMSG_ERROR` with code 0).
    Ack,
    /// The request failed (or a dump failed part-way) with this positive `errno`.
    Error(i32),
}

impl<'a> RawMessage<'a> {
    /// The message after its header.
    pub(crate) fn body(&self) -> &'a [u8] {
        self.bytes.get(HEADER_LEN..).unwrap_or_default()
    }

    /// Done, error, ack or data. The kernel puts a dump callback's final status in
    /// `NLMSG_DONE`'s body: negative means the dump failed part-way.
    pub(crate) fn control(&self) -> Control {
        let code = self.body().get(..4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes);
        match (self.kind, code) {
            (NLMSG_DONE, Some(code)) if code < 0 => Control::Error(code.saturating_neg()),
            (NLMSG_DONE, _) => Control::Done,
            (NLMSG_ERROR, Some(0)) => Control::Ack,
            (NLMSG_ERROR, Some(code)) => Control::Error(code.saturating_neg()),
            (NLMSG_ERROR, None) => Control::Error(0),
            _ => Control::Data,
        }
    }

    /// The message parsed as rtnetlink, or `None` (logged) when it does not parse.
    pub(crate) fn route(&self) -> Option<NetlinkPayload<RouteNetlinkMessage>> {
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(self.bytes) {
            Ok(message) => Some(message.payload),
            Err(error) => {
                tracing::debug!(%error, kind = self.kind, "skipping an rtnetlink message");
                None
            }
        }
    }
}

/// The messages of one datagram, in order. A length that is too short for a header
/// or runs past the datagram ends it.
pub(crate) fn messages(datagram: &[u8]) -> impl Iterator<Item = RawMessage<'_>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let header = rest.get(..HEADER_LEN)?;
        let field = |at: usize, len: usize| header.get(at..at + len);
        let length = u32::from_ne_bytes(field(0, 4)?.try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(field(4, 2)?.try_into().ok()?);
        let flags = u16::from_ne_bytes(field(6, 2)?.try_into().ok()?);
        let sequence = u32::from_ne_bytes(field(8, 4)?.try_into().ok()?);
        if length < HEADER_LEN {
            tracing::debug!(length, "malformed netlink datagram; ignoring the rest");
            return None;
        }
        let bytes = rest.get(..length)?;
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        rest = rest.get((length + 3) & !3..).unwrap_or_default();
        Some(RawMessage { kind, flags, sequence, bytes })
    })
}

/// A netlink request as bytes: `payload` under a header with `flags` and `sequence`.
pub(crate) fn route_request(sequence: u32, flags: u16, payload: RouteNetlinkMessage) -> Vec<u8> {
    let mut header = netlink_packet_core::NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = sequence;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u32, kind: u16, flags: u16, sequence: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&length.to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes
    }

    #[test]
    fn done_error_ack_and_interrupted_are_told_apart() {
        let mut datagram = header(20, NLMSG_DONE, DUMP_INTERRUPTED, 1);
        datagram.extend_from_slice(&0i32.to_ne_bytes());
        datagram.extend_from_slice(&header(20, NLMSG_DONE, 0, 2));
        datagram.extend_from_slice(&(-libc::EBUSY).to_ne_bytes());
        datagram.extend_from_slice(&header(20, NLMSG_ERROR, 0, 3));
        datagram.extend_from_slice(&0i32.to_ne_bytes());
        datagram.extend_from_slice(&header(20, NLMSG_ERROR, 0, 4));
        datagram.extend_from_slice(&(-libc::ENOENT).to_ne_bytes());
        datagram.extend_from_slice(&header(18, 16, 0, 5));
        datagram.extend_from_slice(&[1, 2, 0, 0]);
        let seen: Vec<(u32, Control, bool)> =
            messages(&datagram).map(|m| (m.sequence, m.control(), m.flags & DUMP_INTERRUPTED != 0)).collect();
        assert_eq!(
            seen,
            [
                (1, Control::Done, true),
                (2, Control::Error(libc::EBUSY), false),
                (3, Control::Ack, false),
                (4, Control::Error(libc::ENOENT), false),
                (5, Control::Data, false),
            ]
        );
    }

    #[test]
    fn bad_lengths_end_the_datagram() {
        assert_eq!(messages(&header(4096, 3, 0, 1)).count(), 0);
        let mut datagram = header(20, NLMSG_DONE, 0, 1);
        datagram.extend_from_slice(&0i32.to_ne_bytes());
        datagram.extend_from_slice(&header(8, 3, 0, 2));
        assert_eq!(messages(&datagram).count(), 1);
    }
}
