//! The blocks a packet ring hands over (`TPACKET_V3`, `<linux/if_packet.h>`): each
//! begins with a `tpacket_block_desc` (status, number of frames, offset to the first),
//! and each frame with a `tpacket3_hdr` (offset to the next, timestamp, captured and
//! wire length, offset to the link header). Header fields are read from the block's
//! bytes by their offsets in libc's definitions of those structs, in safe code; the
//! ring itself is in [`super::ring`].

use std::mem::{offset_of, size_of};

/// One frame in a block the kernel handed over.
#[derive(Debug, Clone, Copy)]
pub struct RingFrame<'a> {
    /// The frame from its link header, as far as captured (the socket filter's cut).
    pub bytes: &'a [u8],
    /// Its length on the wire.
    pub wire_length: u32,
    /// When the kernel received it: seconds and nanoseconds since the epoch.
    pub seconds: u32,
    /// See `seconds`.
    pub nanoseconds: u32,
}

/// A native-endian `u32` at `at` in `bytes`, if there.
fn word(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// A native-endian `u16` at `at` in `bytes`, if there.
fn half(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Every frame of one handed-over `block` to `handle`; returns how many the block
/// holds (by its descriptor: the kernel counted each). Safe code over the block's
/// bytes: a descriptor that points outside the block ends the walk.
pub fn frames(block: &[u8], handle: &mut impl FnMut(RingFrame<'_>)) -> u32 {
    let header = offset_of!(libc::tpacket_block_desc, hdr);
    let field = |name: usize| word(block, header + name).map_or(0, |value| value as usize);
    let count = field(offset_of!(libc::tpacket_hdr_v1, num_pkts));
    let mut at = field(offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt));
    let held = u32::try_from(count).unwrap_or(u32::MAX);
    for _ in 0..count {
        let frame = |name: usize| word(block, at + name);
        let (Some(next), Some(seconds), Some(nanoseconds), Some(snap), Some(wire), Some(mac)) = (
            frame(offset_of!(libc::tpacket3_hdr, tp_next_offset)),
            frame(offset_of!(libc::tpacket3_hdr, tp_sec)),
            frame(offset_of!(libc::tpacket3_hdr, tp_nsec)),
            frame(offset_of!(libc::tpacket3_hdr, tp_snaplen)),
            frame(offset_of!(libc::tpacket3_hdr, tp_len)),
            half(block, at + offset_of!(libc::tpacket3_hdr, tp_mac)),
        ) else {
            return held;
        };
        let start = at + usize::from(mac);
        let Some(bytes) = block.get(start..start + snap as usize) else { return held };
        handle(RingFrame { bytes, wire_length: wire, seconds, nanoseconds });
        if next == 0 {
            return held;
        }
        at += next as usize;
    }
    held
}

/// A block laid out as the kernel lays one out: `frames` (bytes, seconds, nanoseconds)
/// in a block of `block_size` bytes, as many as fit. For tests and benchmarks of the
/// reading side ([`frames`]) without a ring.
#[must_use]
pub fn lay_out(frames_in: &[(&[u8], u32, u32)], block_size: usize) -> Vec<u8> {
    let mut block = vec![0u8; block_size];
    let header = offset_of!(libc::tpacket_block_desc, hdr);
    let put = |block: &mut Vec<u8>, at: usize, value: usize| {
        let value = u32::try_from(value).unwrap_or(u32::MAX);
        block[at..at + 4].copy_from_slice(&value.to_ne_bytes());
    };
    // The kernel's: the descriptor, aligned; each frame's header and `sockaddr_ll`,
    // then the link header at `tp_mac`, aligned; frames aligned to 16 bytes.
    let first = (size_of::<libc::tpacket_block_desc>() + 15) & !15;
    let mac = (libc::TPACKET3_HDRLEN + 15) & !15;
    let mut at = first;
    let mut count = 0;
    let mut previous: Option<usize> = None;
    for (bytes, seconds, nanoseconds) in frames_in {
        let size = (mac + bytes.len() + 15) & !15;
        if at + size > block_size {
            break;
        }
        if let Some(previous) = previous {
            put(&mut block, previous + offset_of!(libc::tpacket3_hdr, tp_next_offset), at - previous);
        }
        put(&mut block, at + offset_of!(libc::tpacket3_hdr, tp_sec), *seconds as usize);
        put(&mut block, at + offset_of!(libc::tpacket3_hdr, tp_nsec), *nanoseconds as usize);
        put(&mut block, at + offset_of!(libc::tpacket3_hdr, tp_snaplen), bytes.len());
        put(&mut block, at + offset_of!(libc::tpacket3_hdr, tp_len), bytes.len());
        let mac_at = at + offset_of!(libc::tpacket3_hdr, tp_mac);
        block[mac_at..mac_at + 2].copy_from_slice(&u16::try_from(mac).unwrap_or(u16::MAX).to_ne_bytes());
        block[at + mac..at + mac + bytes.len()].copy_from_slice(bytes);
        previous = Some(at);
        at += size;
        count += 1;
    }
    put(&mut block, header + offset_of!(libc::tpacket_hdr_v1, num_pkts), count);
    put(&mut block, header + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt), first);
    put(&mut block, header + offset_of!(libc::tpacket_hdr_v1, blk_len), at);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(frames_in: &[(&[u8], u32, u32)]) -> Vec<u8> {
        lay_out(frames_in, 4096)
    }

    #[test]
    fn frames_are_walked_with_their_kernel_times() {
        let block = block(&[(b"first", 10, 20), (b"second frame", 11, 999_999_999)]);
        let mut seen = Vec::new();
        frames(&block, &mut |frame: RingFrame<'_>| {
            seen.push((frame.bytes.to_vec(), frame.wire_length, frame.seconds, frame.nanoseconds));
        });
        assert_eq!(
            seen,
            vec![(b"first".to_vec(), 5, 10, 20), (b"second frame".to_vec(), 12, 11, 999_999_999)]
        );
    }

    #[test]
    fn a_descriptor_pointing_outside_the_block_ends_the_walk() {
        let mut block = block(&[(b"first", 1, 2)]);
        let header = offset_of!(libc::tpacket_block_desc, hdr);
        let count_at = header + offset_of!(libc::tpacket_hdr_v1, num_pkts);
        block[count_at..count_at + 4].copy_from_slice(&5u32.to_ne_bytes());
        let first = (size_of::<libc::tpacket_block_desc>() + 15) & !15;
        let snap_at = first + offset_of!(libc::tpacket3_hdr, tp_snaplen);
        block[snap_at..snap_at + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let mut count = 0;
        frames(&block, &mut |_| count += 1);
        assert_eq!(count, 0);
        assert_eq!(frames_in_empty(), 0);
    }

    fn frames_in_empty() -> usize {
        let mut count = 0;
        frames(&[0u8; 16], &mut |_| count += 1);
        count
    }
}
