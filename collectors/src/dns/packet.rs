//! One captured frame to the DNS message it carries: who asked whom, which name and
//! type, and — for a response — the response code and how many answers.
//!
//! The link, IP and transport headers are read by the capture's frame parser (pnet:
//! `capture::frame`), once per frame, and the segment handed here ([`segment_messages`]);
//! a frame counts as DNS when UDP or TCP port 53 is on either side.
//!
//! **What is decoded.** Only the 12-byte header and the first question, with
//! hickory-proto's [`BinDecoder`] — everything pairing and the query log need. The
//! answer, authority and additional sections are not decoded, for two reasons: speed
//! (a full decode allocates every record), and because a response whose *records* a
//! strict decoder rejects (an unknown record layout, an OPT record out of place, a
//! datagram cut short by the snap length or by IP fragmentation) still answered its
//! query, with the response code and answer count its header states. So a message is
//! [`DnsFrame::Malformed`] exactly when its header or first question does not decode,
//! or it has no question at all (nothing to pair or to show). The response code is the
//! header's four bits: the extended bits live in an OPT record, which is not read.
//!
//! **TCP.** Each message is preceded by its 2-byte length. A segment's payload is read
//! as one or more messages from its start: the first whole or partial one is decoded
//! (a response larger than a segment still shows its header and question in the first
//! segment), and further messages in the same segment — glibc writes its A and AAAA
//! queries with one `writev` — are yielded by [`messages`] as well. Without stream
//! reassembly a segment continuing a message begun in an earlier one cannot be told
//! from garbage, so a segment whose start does not decode (and an empty one: SYN, ACK,
//! FIN) is [`DnsFrame::NotDns`], never counted as malformed; to make a continuation
//! that happens to decode vanishingly rare, a TCP message must also look like a
//! lookup: exactly one question, of class IN, CH, HS or ANY.
//!
//! Nothing here panics or allocates beyond the name of the message it returns.

use std::net::SocketAddr;

use hickory_proto::op::{Header, MessageType, Query};
use hickory_proto::rr::{DNSClass, RecordType};
use hickory_proto::serialize::binary::{BinDecodable as _, BinDecoder};

pub use crate::capture::Framing;
use crate::capture::frame::{self, Carried, Segment};
use crate::model::{DnsTransport, Protocol};

#[cfg(test)]
pub(crate) mod tests;

/// The DNS port.
pub const DNS_PORT: u16 = 53;

/// The size of a DNS header.
const HEADER_LEN: usize = 12;

/// The size of the length that precedes every DNS message on TCP.
const TCP_LENGTH_PREFIX: usize = 2;

/// One DNS message seen on the wire: its header and first question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsPacket {
    /// The transaction id.
    pub id: u16,
    /// A response (QR set); otherwise a query.
    pub response: bool,
    /// The asking side (`ip:port`).
    pub client: SocketAddr,
    /// The answering side, the port-53 one (`ip:port`).
    pub server: SocketAddr,
    /// UDP or TCP.
    pub transport: DnsTransport,
    /// The first question's name: lower case, no trailing dot, `.` for the root;
    /// bytes that are not printable ASCII escaped as `\DDD`.
    pub name: String,
    /// The first question's type (`A`, `AAAA`, `PTR`, `HTTPS`, `TYPE65280`, …).
    pub qtype: String,
    /// The response code from the header (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, …); a
    /// query's is `NOERROR`.
    pub rcode: String,
    /// Records in the answer section, as the header counts them.
    pub answers: u16,
    /// The TC bit: the answer did not fit, the client should ask again over TCP.
    pub truncated: bool,
}

/// What one frame turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsFrame {
    /// A DNS message (the first one, for a TCP segment holding several).
    Message(DnsPacket),
    /// Not a DNS message: not port 53, neither UDP nor TCP, an IP fragment after the
    /// first, a TCP segment without the start of a message.
    NotDns,
    /// Port 53, but broken headers or a header or first question that does not decode.
    Malformed,
}

/// The DNS message of one frame captured on an interface with `framing` (the first,
/// when a TCP segment holds several: see [`messages`]).
#[must_use]
pub fn parse(framing: Framing, frame: &[u8]) -> DnsFrame {
    messages(framing, frame).next().unwrap_or(DnsFrame::NotDns)
}

/// Every DNS message of one frame, in order. The first item is the frame's verdict
/// ([`parse`]); a TCP segment holding several messages yields each further one that
/// decodes as a [`DnsFrame::Message`] (the rest of the segment is dropped at the first
/// that does not).
#[must_use]
pub fn messages(framing: Framing, frame: &[u8]) -> Messages<'_> {
    match frame::segment(framing, frame) {
        Carried::Segment(segment) => segment_messages(segment),
        Carried::Malformed => Messages { state: State::Verdict(DnsFrame::Malformed) },
        Carried::Fragment | Carried::Other => Messages { state: State::Verdict(DnsFrame::NotDns) },
    }
}

/// Every DNS message of one UDP datagram or TCP segment (see [`messages`]).
#[must_use]
pub fn segment_messages(segment: Segment<'_>) -> Messages<'_> {
    let state = if is_dns(&segment) {
        match segment.protocol {
            Protocol::Udp => State::Verdict(udp(&segment)),
            Protocol::Tcp => State::Stream { segment, first: true },
        }
    } else {
        State::Verdict(DnsFrame::NotDns)
    };
    Messages { state }
}

/// Iterator returned by [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    state: State<'a>,
}

#[derive(Debug, Clone)]
enum State<'a> {
    /// One item left.
    Verdict(DnsFrame),
    /// The messages of a TCP segment; `segment.payload` is what is left to read.
    Stream {
        segment: Segment<'a>,
        first: bool,
    },
    Done,
}

impl Iterator for Messages<'_> {
    type Item = DnsFrame;

    fn next(&mut self) -> Option<DnsFrame> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Verdict(verdict) => Some(verdict),
            State::Done => None,
            State::Stream { mut segment, first } => {
                let Some(length) = segment.payload.get(..TCP_LENGTH_PREFIX) else {
                    return first.then_some(DnsFrame::NotDns);
                };
                let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
                let rest = &segment.payload[TCP_LENGTH_PREFIX..];
                let message = &rest[..length.min(rest.len())];
                let packet = (length >= HEADER_LEN)
                    .then(|| decode(message, &segment, DnsTransport::Tcp))
                    .flatten()
                    .filter(|(_, looks_like_a_lookup)| *looks_like_a_lookup);
                let Some((packet, _)) = packet else { return first.then_some(DnsFrame::NotDns) };
                segment.payload = rest.get(length..).unwrap_or_default();
                if !segment.payload.is_empty() {
                    self.state = State::Stream { segment, first: false };
                }
                Some(DnsFrame::Message(packet))
            }
        }
    }
}

/// Whether port 53 is on either side.
fn is_dns(segment: &Segment<'_>) -> bool {
    segment.source.port() == DNS_PORT || segment.destination.port() == DNS_PORT
}

fn udp(segment: &Segment<'_>) -> DnsFrame {
    match decode(segment.payload, segment, DnsTransport::Udp) {
        Some((packet, _)) => DnsFrame::Message(packet),
        None => DnsFrame::Malformed,
    }
}

/// The header and first question of `message`, and whether it looks like a lookup
/// (one question, of a class lookups use). `None` when either does not decode or
/// there is no question.
fn decode(message: &[u8], segment: &Segment<'_>, transport: DnsTransport) -> Option<(DnsPacket, bool)> {
    let mut decoder = BinDecoder::new(message);
    let header = Header::read(&mut decoder).ok()?;
    if header.counts.queries == 0 {
        return None;
    }
    let query = Query::read(&mut decoder).ok()?;
    let response = header.message_type == MessageType::Response;
    let (client, server) = sides(segment, response);
    let looks_like_a_lookup = header.counts.queries == 1
        && matches!(query.query_class(), DNSClass::IN | DNSClass::CH | DNSClass::HS | DNSClass::ANY);
    let packet = DnsPacket {
        id: header.id,
        response,
        client,
        server,
        transport,
        name: presentation(&query),
        qtype: qtype_name(query.query_type()),
        rcode: rcode_name(u16::from(header.response_code)).into_owned(),
        answers: header.counts.answers,
        truncated: header.truncation,
    };
    Some((packet, looks_like_a_lookup))
}

/// `(client, server)`: the server is the port-53 side; when both are, the QR bit says
/// who asks (server-to-server traffic).
fn sides(segment: &Segment<'_>, response: bool) -> (SocketAddr, SocketAddr) {
    let (source, destination) = (segment.source, segment.destination);
    match (source.port() == DNS_PORT, destination.port() == DNS_PORT) {
        (true, false) => (destination, source),
        (true, true) if response => (destination, source),
        _ => (source, destination),
    }
}

/// The question's name as people write it: lower case, no trailing dot.
fn presentation(query: &Query) -> String {
    let name = query.name();
    if name.is_root() {
        return ".".to_owned();
    }
    // Escapes are digits and backslashes, which lower-casing leaves alone.
    let mut text = name.to_ascii();
    text.make_ascii_lowercase();
    // Names from the wire are absolute: the last character is the root's separator.
    if name.is_fqdn() {
        text.pop();
    }
    text
}

/// The type's mnemonic, or `TYPEn` (RFC 3597) for a type hickory does not name.
#[must_use]
pub fn qtype_name(qtype: RecordType) -> String {
    match qtype {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        named => named.to_string(),
    }
}

/// The IANA mnemonic of a response code (`NOERROR`, `NXDOMAIN`, …), or `RCODEn`.
#[must_use]
pub fn rcode_name(rcode: u16) -> std::borrow::Cow<'static, str> {
    let name = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        other => return format!("RCODE{other}").into(),
    };
    name.into()
}
