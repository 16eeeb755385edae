//! `struct tcp_info` (`linux/tcp.h`) of any length a kernel reports, read by offset.

use super::{read_u32, read_u64};
use crate::model::TcpInfo;

/// Offsets into `struct tcp_info` (`linux/tcp.h`), and the kernel that added each
/// group. The struct only ever grows at the end, so a field is present exactly when
/// the reported length covers it.
pub(super) mod tcpi {
    pub const RETRANSMITS: usize = 2;
    pub const RTO: usize = 8;
    pub const SND_MSS: usize = 16;
    pub const LOST: usize = 32;
    pub const LAST_DATA_SENT: usize = 44;
    pub const LAST_DATA_RECV: usize = 52;
    pub const LAST_ACK_RECV: usize = 56;
    pub const PMTU: usize = 60;
    pub const RTT: usize = 68;
    pub const RTTVAR: usize = 72;
    pub const SND_SSTHRESH: usize = 76;
    pub const SND_CWND: usize = 80;
    pub const REORDERING: usize = 88;
    pub const TOTAL_RETRANS: usize = 100;
    /// End of the original (2.6) struct: everything before is always there.
    pub const BASE_LEN: usize = 104;
    /// 3.15.
    pub const PACING_RATE: usize = 104;
    /// 4.1.
    pub const BYTES_ACKED: usize = 120;
    pub const BYTES_RECEIVED: usize = 128;
    /// 4.2.
    pub const SEGS_OUT: usize = 136;
    pub const SEGS_IN: usize = 140;
    /// 4.6.
    pub const MIN_RTT: usize = 148;
    /// 4.9.
    pub const DELIVERY_RATE: usize = 160;
    /// 4.10.
    pub const BUSY_TIME: usize = 168;
    pub const RWND_LIMITED: usize = 176;
    pub const SNDBUF_LIMITED: usize = 184;
    /// 4.19.
    pub const BYTES_SENT: usize = 200;
    pub const BYTES_RETRANS: usize = 208;
    /// 5.4.
    pub const SND_WND: usize = 228;
}

/// Lengths of `struct tcp_info` in kernels that changed it, oldest first: 2.6, 3.15,
/// 4.1, 4.2, 4.6, 4.9, 4.10, 4.18, 4.19, 5.4, 6.2, 6.7, 6.18 (what this parser was
/// tested against).
pub const TCP_INFO_LENGTHS: [usize; 13] = [104, 120, 136, 144, 160, 168, 192, 200, 224, 232, 240, 248, 280];

/// `tcpi_snd_ssthresh` at or above this is the "infinite" initial value.
const SSTHRESH_UNSET: u32 = 0xffff;

/// `struct tcp_info` of any length, units converted (µs → ms, bytes/s → bits/s).
/// `None` when shorter than the original struct.
#[must_use]
pub fn tcp_info(bytes: &[u8]) -> Option<TcpInfo> {
    if bytes.len() < tcpi::BASE_LEN {
        return None;
    }
    let word = |offset| read_u32(bytes, offset).unwrap_or(0);
    let microseconds = |offset| f64::from(word(offset)) / 1000.0;
    let long = |offset| read_u64(bytes, offset);
    let ssthresh = word(tcpi::SND_SSTHRESH);
    Some(TcpInfo {
        rtt_ms: microseconds(tcpi::RTT),
        rttvar_ms: microseconds(tcpi::RTTVAR),
        // u32::MAX until the first RTT sample.
        min_rtt_ms: read_u32(bytes, tcpi::MIN_RTT)
            .filter(|&us| us != u32::MAX)
            .map(|us| f64::from(us) / 1000.0),
        rto_ms: microseconds(tcpi::RTO),
        cwnd: word(tcpi::SND_CWND),
        ssthresh: (ssthresh < SSTHRESH_UNSET).then_some(ssthresh),
        mss: word(tcpi::SND_MSS),
        pmtu: word(tcpi::PMTU),
        retransmits: bytes.get(tcpi::RETRANSMITS).copied().unwrap_or(0),
        total_retrans: word(tcpi::TOTAL_RETRANS),
        lost: word(tcpi::LOST),
        reordering: word(tcpi::REORDERING),
        bytes_acked: long(tcpi::BYTES_ACKED),
        bytes_received: long(tcpi::BYTES_RECEIVED),
        bytes_sent: long(tcpi::BYTES_SENT),
        bytes_retrans: long(tcpi::BYTES_RETRANS),
        segs_in: read_u32(bytes, tcpi::SEGS_IN),
        segs_out: read_u32(bytes, tcpi::SEGS_OUT),
        delivery_rate_bps: long(tcpi::DELIVERY_RATE).map(|rate| rate.saturating_mul(8)),
        // ~0 means "no pacing limit".
        pacing_rate_bps: long(tcpi::PACING_RATE)
            .filter(|&rate| rate != u64::MAX)
            .map(|rate| rate.saturating_mul(8)),
        busy_time_ms: long(tcpi::BUSY_TIME).map(|us| us / 1000),
        rwnd_limited_ms: long(tcpi::RWND_LIMITED).map(|us| us / 1000),
        sndbuf_limited_ms: long(tcpi::SNDBUF_LIMITED).map(|us| us / 1000),
        last_send_ms: word(tcpi::LAST_DATA_SENT),
        last_recv_ms: word(tcpi::LAST_DATA_RECV),
        last_ack_recv_ms: word(tcpi::LAST_ACK_RECV),
        snd_wnd: read_u32(bytes, tcpi::SND_WND),
    })
}
