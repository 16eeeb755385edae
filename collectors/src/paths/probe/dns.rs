//! A DNS server probe: one query over UDP, answered or not.
//!
//! Hand-built rather than through hickory: the probe asks whether the server
//! answers at all, so only the reply's header matters, and a resolver would add
//! retries, caching and server rotation that would hide exactly that.

use std::time::Duration;

use socket2::{Protocol, Type};
use tokio::time::Instant;

use super::{ProbeError, ProbeSpec, probe_socket, random_u16};

/// Receive buffer: a `.` NS answer fits in 512 bytes without EDNS; a larger one is
/// cut off, which does not matter because only the header is read.
const RECEIVE_BUFFER: usize = 512;

/// Ask the DNS server at `spec.address` (the caller supplies port 53 when the
/// target names none) for the root's NS records over UDP: the time until it
/// answers. Any well-formed response counts, whatever its code — NOERROR,
/// NXDOMAIN, REFUSED, SERVFAIL all mean the server is there and talking. No
/// answer within the timeout, or an ICMP error, is a failure.
pub async fn dns_query(spec: &ProbeSpec) -> Result<Duration, ProbeError> {
    let socket = probe_socket(Type::DGRAM, Protocol::UDP, spec)?;
    let socket = tokio::net::UdpSocket::from_std(socket.into())
        .map_err(|error| ProbeError::Io(format!("socket setup: {error}")))?;
    // Connected, so the kernel drops datagrams from anyone else and reports an
    // ICMP port unreachable as ECONNREFUSED on the next receive.
    socket.connect(spec.address).await.map_err(|error| ProbeError::from_io(&error))?;
    let id = random_u16();
    let query = root_ns_query(id);
    let started = Instant::now();
    let deadline = started + spec.timeout;
    socket.send(&query).await.map_err(|error| udp_error(&error, spec))?;
    let mut buffer = [0_u8; RECEIVE_BUFFER];
    loop {
        let length = match tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await {
            Err(_elapsed) => return Err(ProbeError::TimedOut(spec.timeout)),
            Ok(Err(error)) => return Err(udp_error(&error, spec)),
            Ok(Ok(length)) => length,
        };
        if let Some(rcode) = response_code(&buffer[..length], id) {
            tracing::trace!(server = %spec.address, rcode, "dns probe answered");
            return Ok(started.elapsed());
        }
        // A stale or foreign datagram from the server's address: keep waiting.
    }
}

/// A refused UDP "connection" is an ICMP port unreachable: nothing listens there.
fn udp_error(error: &std::io::Error, spec: &ProbeSpec) -> ProbeError {
    match ProbeError::from_io(error) {
        ProbeError::Refused => {
            ProbeError::Unreachable(format!("no DNS server on {} (port unreachable)", spec.address))
        }
        other => other,
    }
}

/// `. IN NS` with recursion desired (a recursive server answers from its cache):
/// the 12-byte header, the root name (one zero byte), type and class.
fn root_ns_query(id: u16) -> [u8; 17] {
    let [id_high, id_low] = id.to_be_bytes();
    [
        id_high, id_low, // ID
        0x01, 0x00, // QR=0, OPCODE=QUERY, RD=1
        0, 1, // QDCOUNT
        0, 0, // ANCOUNT
        0, 0, // NSCOUNT
        0, 0, // ARCOUNT
        0, // QNAME: the root
        0, 2, // QTYPE: NS
        0, 1, // QCLASS: IN
    ]
}

/// The RCODE of `message` if it is a response to query `id` (QR set, standard
/// query opcode); `None` for anything else.
fn response_code(message: &[u8], id: u16) -> Option<u8> {
    let header = message.get(..12)?;
    let is_response = header[2] & 0x80 != 0;
    let opcode = (header[2] >> 3) & 0x0f;
    (u16::from_be_bytes([header[0], header[1]]) == id && is_response && opcode == 0)
        .then_some(header[3] & 0x0f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes() {
        assert_eq!(root_ns_query(0xbeef), [0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
    }

    #[test]
    fn responses() {
        let header = |id: u16, flags: [u8; 2]| {
            let mut bytes = id.to_be_bytes().to_vec();
            bytes.extend_from_slice(&flags);
            bytes.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            bytes
        };
        let cases = [
            ("NOERROR", header(7, [0x81, 0x80]), Some(0)),
            ("SERVFAIL", header(7, [0x81, 0x82]), Some(2)),
            ("NXDOMAIN", header(7, [0x81, 0x83]), Some(3)),
            ("REFUSED", header(7, [0x81, 0x05]), Some(5)),
            ("another id", header(8, [0x81, 0x80]), None),
            ("a query, not a response", header(7, [0x01, 0x00]), None),
            ("another opcode (NOTIFY)", header(7, [0xa0, 0x00]), None),
            ("shorter than a header", header(7, [0x81, 0x80])[..11].to_vec(), None),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(response_code(&bytes, 7), want, "{name}");
        }
    }
}
