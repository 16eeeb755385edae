//! What the capture thread does with each frame a ring hands over: parse it once
//! ([`frame::decode`]), keep UDP (and what is not a flow, for the counters) for the
//! flow tables, and hand port-53 segments to the DNS log with the kernel's timestamp.
//! Public so `benches/capture.rs` measures exactly this work.

use super::frame::{self, Carried, Frame, Framing, Segment};
use super::ring::RingFrame;
use crate::model::{Protocol, Timestamp};

/// The DNS port.
const DNS_PORT: u16 = 53;

/// Parse `captured` (from an interface with `framing`): its flow facts go to `batch`
/// (for [`FlowTable::observe_all`](super::flows::FlowTable::observe_all) under one
/// lock), a segment to or from port 53 to `dns` with the kernel's receive time.
pub fn frame<'a>(
    framing: Framing,
    captured: &RingFrame<'a>,
    batch: &mut Vec<Frame>,
    dns: &mut impl FnMut(&Segment<'a>, Timestamp),
) {
    let decoded = frame::decode(framing, captured.bytes);
    // sock_diag counts TCP bytes itself: only UDP needs the flow table.
    if !matches!(decoded.frame, Frame::Flow(packet) if packet.protocol == Protocol::Tcp) {
        batch.push(decoded.frame);
    }
    if let Carried::Segment(segment) = decoded.carried
        && (segment.source.port() == DNS_PORT || segment.destination.port() == DNS_PORT)
    {
        dns(&segment, kernel_time(captured.seconds, captured.nanoseconds));
    }
}

/// The kernel's receive time as a timestamp.
#[must_use]
pub fn kernel_time(seconds: u32, nanoseconds: u32) -> Timestamp {
    let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(nanoseconds);
    Timestamp::from_unix_timestamp_nanos(nanos).unwrap_or_else(|_| Timestamp::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_times_are_exact_to_the_nanosecond() {
        let at = kernel_time(1_764_669_600, 123_456_789);
        assert_eq!(at.unix_timestamp(), 1_764_669_600);
        assert_eq!(at.nanosecond(), 123_456_789);
    }
}
