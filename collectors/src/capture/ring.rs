//! The memory-mapped receive ring of one packet socket (`TPACKET_V3`): the only unsafe
//! code of the capture, kept to the system calls no safe crate offers for packet
//! sockets (the ring's socket options, `bind` to an interface, `mmap`) and to reading
//! the blocks the kernel hands over.
//!
//! **Why a ring.** The kernel writes each frame, with its own receive timestamp
//! (`tp_sec`/`tp_nsec`, `CLOCK_REALTIME`), into a block of a ring shared with this
//! process; a block is handed over (its status set to `TP_STATUS_USER`) when it is
//! full or when its retire timer ([`RingConfig::retire`]) expires with frames in it,
//! and `epoll` reports the socket readable then. Reading costs no system call per
//! frame: the capture thread alone measured 0.5 % / 1.2 % of a core at 100,000 /
//! 300,000 packets/s on a veth pair, where `recvmmsg` with `SO_TIMESTAMPNS` cost
//! 19–33 % (the whole process's figures, with drops, are in the README).
//! When every block is still held by this process, the kernel drops the frame and
//! counts it ([`Ring::statistics`]).
//!
//! **Resizing.** A ring's size is fixed once mapped, and giving a socket a new one
//! stops its capture meanwhile; so each socket is alone in a fanout group
//! (`PACKET_FANOUT_CBPF`), and a ring of another size joins the group
//! ([`Ring::open_beside`]), is steered to ([`Steering::steer`]), and the old one is read
//! until empty ([`Ring::pending`]) and closed: every frame lands in exactly one of the
//! two, counted by that one's `PACKET_STATISTICS`.
//!
//! **Layout** (`<linux/if_packet.h>`): `block_count` blocks of `block_size` bytes;
//! each begins with a `tpacket_block_desc` (status, number of frames, offset to the
//! first), and each frame with a `tpacket3_hdr` (offset to the next, timestamp,
//! captured and wire length, offset to the link header). Header fields are read from
//! the block's bytes by their offsets in libc's definitions of those structs, safely.

#![expect(
    unsafe_code,
    reason = "packet rings need mmap, PACKET_RX_RING/PACKET_VERSION/PACKET_STATISTICS/PACKET_FANOUT and \
              bind(sockaddr_ll), which no safe crate wraps, and reading memory the kernel shares"
)]

use std::io;
use std::mem::{offset_of, size_of};

pub use super::block::{RingFrame, frames, lay_out};
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use socket2::{Domain, SockFilter, Socket, Type};

/// The size and latency of a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Bytes per block: a multiple of the page size.
    pub block_size: u32,
    /// Blocks in the ring.
    pub block_count: u32,
    /// How long a block with frames in it waits to fill before it is handed over
    /// anyway: the longest a frame waits to be read. The timer runs only while frames
    /// are pending, so an idle ring never wakes its reader.
    pub retire: Duration,
}

impl RingConfig {
    /// The ring of a busy interface: 32 blocks of 64 KiB, 2 MiB, which the kernel
    /// allocates and this process maps (it counts in the resident size).
    ///
    /// Blocks are retired after 1 ms, the kernel's smallest, in every ring: a new DNS
    /// query must reach the owner lookup while the asking socket still exists (a
    /// resolver answering in a few milliseconds lets it close right after), and a
    /// frame is read at most a millisecond after it arrived; an idle ring never wakes
    /// its reader. So under a flood a block is handed over after about a millisecond,
    /// however much room is left in it, and what a ring holds while its reader is not
    /// scheduled is its number of blocks in milliseconds (or their room, if less):
    /// 32 blocks, some 35 ms at 100,000 or 300,000 header-cut frames a second, where 8
    /// blocks of 256 KiB held 8 ms. A block holds the largest frame kept: 64 KiB fits
    /// a whole DNS message.
    pub const BUSY: Self = Self { block_size: 64 << 10, block_count: 32, retire: Duration::from_millis(1) };

    /// The ring of a quiet interface, where every interface starts: 8 blocks of 32 KiB,
    /// 256 KiB, as many milliseconds of a flood as the 2 MiB ring of 8 blocks that
    /// every interface had before (the capture moves a busy interface to a
    /// [`Self::BUSY`] ring). A DNS message over 32 KiB arriving meanwhile is cut there
    /// by the kernel and counted malformed.
    pub const QUIET: Self = Self { block_size: 32 << 10, block_count: 8, retire: Duration::from_millis(1) };

    /// The bytes of the ring.
    #[must_use]
    pub const fn bytes(&self) -> u64 {
        self.block_size as u64 * self.block_count as u64
    }
}

/// Kernel counters since the last read: frames that passed the filter (delivered or
/// not) and those dropped because the ring was full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStatistics {
    /// Frames that passed the socket filter, dropped ones included.
    pub packets: u32,
    /// Frames dropped: no room in the ring.
    pub dropped: u32,
}

/// A packet socket bound to one interface, with its ring mapped.
#[derive(Debug)]
pub struct Ring {
    socket: Socket,
    map: NonNull<u8>,
    length: usize,
    block_size: usize,
    block_count: usize,
    /// The next block to look at: the kernel fills blocks in order.
    next: usize,
    /// The interface bound to.
    index: u32,
    /// The fanout group the socket is in, through which a ring of another size can
    /// take over ([`Self::open_beside`]); `None` where the kernel refused one.
    group: Option<u16>,
    /// Frames read, and the kernel's counters read, since the ring opened: what is
    /// still in it is their difference ([`Self::pending`]).
    frames_read: u64,
    counted: (u64, u64),
}

// SAFETY: the mapping is owned by this value alone (nothing else holds its address),
// and the kernel's side of it is synchronised through each block's status word.
unsafe impl Send for Ring {}

/// `BPF_RET | BPF_K`: a classic BPF program's "return the constant".
const BPF_RET_K: u16 = 0x06;

/// `ETH_P_ALL` in network byte order, as `bind` takes it.
const ALL_PROTOCOLS: u16 = (libc::ETH_P_ALL as u16).to_be();

impl Ring {
    /// A receive-only, non-promiscuous packet socket on interface `index`, with the
    /// socket filter `filter` and a ring of `config`'s size, alone in a new fanout
    /// group (where the kernel allows one: see [`Self::resizable`]).
    ///
    /// # Errors
    /// The kernel's: `EPERM` without `CAP_NET_RAW`, `ENODEV` for an interface that
    /// went away, `ENOMEM` for a ring it cannot allocate.
    pub fn open(index: u32, filter: &[SockFilter], config: RingConfig) -> io::Result<Self> {
        let mut ring = Self::unbound(index, config)?;
        ring.bind()?;
        // Every frame goes to member 0, this ring, until another is steered to; a
        // program is in place from the start because replacing one makes the kernel
        // wait for frames already being delivered (`synchronize_net`), which is what
        // lets [`Self::open_beside`]'s caller drain the old ring knowing nothing more
        // arrives in it.
        ring.group = match ring.join(None).and_then(|group| steer(&ring.socket, 0).map(|()| group)) {
            Ok(group) => Some(group),
            Err(error) => {
                tracing::debug!(index, %error, "no fanout group: the ring keeps its size");
                None
            }
        };
        ring.socket.attach_filter(filter)?;
        Ok(ring)
    }

    /// A ring of `config`'s size on the same interface and in the same fanout group,
    /// as its member 1, with the filter `filter`: it receives nothing until steered to
    /// ([`Steering::steer`]). Between its `bind` and joining the group its own filter
    /// rejects every frame, which the kernel then does not count: no frame is counted
    /// twice.
    ///
    /// # Errors
    /// `Unsupported` for a ring in no group; else the kernel's, as for [`Self::open`].
    pub fn open_beside(&self, filter: &[SockFilter], config: RingConfig) -> io::Result<Self> {
        let Some(group) = self.group else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "the ring is in no fanout group"));
        };
        let mut ring = Self::unbound(self.index, config)?;
        ring.bind()?;
        ring.group = Some(ring.join(Some(group))?);
        ring.socket.attach_filter(filter)?;
        Ok(ring)
    }

    /// Whether a ring of another size can take over from this one.
    #[must_use]
    pub const fn resizable(&self) -> bool {
        self.group.is_some()
    }

    /// A handle on this ring's fanout group for another thread: replacing the group's
    /// program waits for the frames being delivered under the old one (the kernel's
    /// `synchronize_net`, tens of milliseconds on a busy host), which the thread
    /// reading the rings must not.
    ///
    /// # Errors
    /// `Unsupported` for a ring in no group; the kernel's, for the descriptor's copy.
    pub fn steering(&self) -> io::Result<Steering> {
        if self.group.is_none() {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "the ring is in no fanout group"));
        }
        Ok(Steering { socket: self.socket.try_clone()? })
    }

    /// Frames the kernel counted into this ring and not yet read (those of a block it
    /// has not handed over included), as of the last [`Self::statistics`].
    #[must_use]
    pub const fn pending(&self) -> u64 {
        self.counted.0.saturating_sub(self.counted.1).saturating_sub(self.frames_read)
    }

    /// The socket with its ring mapped, filtering out every frame, not yet bound.
    fn unbound(index: u32, config: RingConfig) -> io::Result<Self> {
        // Protocol 0: nothing arrives until bound to the interface, and then nothing
        // passes until the caller's filter replaces this one.
        let socket = Socket::new(Domain::PACKET, Type::RAW.nonblocking().cloexec(), None)?;
        socket.attach_filter(&[SockFilter::new(BPF_RET_K, 0, 0, 0)])?;
        set_int(&socket, libc::PACKET_VERSION, libc::tpacket_versions::TPACKET_V3 as libc::c_int)?;
        let request = libc::tpacket_req3 {
            tp_block_size: config.block_size,
            tp_block_nr: config.block_count,
            // Frames are packed in blocks; the frame size only bounds the largest one.
            tp_frame_size: 2048,
            tp_frame_nr: config.block_size / 2048 * config.block_count,
            tp_retire_blk_tov: u32::try_from(config.retire.as_millis()).unwrap_or(u32::MAX).max(1),
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set_option(&socket, libc::PACKET_RX_RING, &request)?;
        let block_size = config.block_size as usize;
        let block_count = config.block_count as usize;
        let length = block_size * block_count;
        // SAFETY: a fresh shared mapping of the socket's ring, at an address the kernel
        // chooses; nothing else refers to that range. Checked for MAP_FAILED below.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                socket.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let Some(map) = NonNull::new(address.cast::<u8>()) else {
            return Err(io::Error::other("mmap of the packet ring returned a null address"));
        };
        // From here `Drop` unmaps.
        Ok(Self {
            socket,
            map,
            length,
            block_size,
            block_count,
            next: 0,
            index,
            group: None,
            frames_read: 0,
            counted: (0, 0),
        })
    }

    fn bind(&self) -> io::Result<()> {
        let address = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: ALL_PROTOCOLS,
            sll_ifindex: i32::try_from(self.index)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: `address` is a live `sockaddr_ll` and the length passed is its size.
        let status = unsafe {
            libc::bind(self.socket.as_raw_fd(), (&raw const address).cast(), socklen::<libc::sockaddr_ll>())
        };
        if status == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    /// Join fanout group `group`, or a new one with an id the kernel picks; returns the
    /// group's id. Steered by a classic BPF program (`PACKET_FANOUT_CBPF`), so that
    /// every frame goes to exactly one member, the one chosen.
    fn join(&self, group: Option<u16>) -> io::Result<u16> {
        let mode =
            libc::PACKET_FANOUT_CBPF | if group.is_none() { libc::PACKET_FANOUT_FLAG_UNIQUEID } else { 0 };
        let request = u32::from(group.unwrap_or(0)) | (mode << 16);
        set_int(&self.socket, libc::PACKET_FANOUT, request.cast_signed())?;
        let mut value: libc::c_int = 0;
        get_option(&self.socket, libc::PACKET_FANOUT, &mut value)?;
        // The group id is the low 16 bits.
        Ok((value.cast_unsigned() & 0xffff) as u16)
    }

    /// Hand every frame of every block the kernel has handed over to `handle`, in
    /// order, and give the blocks back. Returns how many blocks were read.
    pub fn read(&mut self, mut handle: impl FnMut(RingFrame<'_>)) -> usize {
        let mut blocks = 0;
        // At most one lap: the kernel may hand over the block just given back.
        while blocks < self.block_count {
            let offset = self.next * self.block_size;
            let status = self.block_status(offset);
            if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
                break;
            }
            // SAFETY: the block lies within the mapping, and while its status says
            // TP_STATUS_USER the kernel does not write to it; the slice is dropped
            // before the status is given back below.
            let block = unsafe {
                std::slice::from_raw_parts(self.map.as_ptr().add(offset).cast_const(), self.block_size)
            };
            let held = frames(block, &mut handle);
            status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.frames_read += u64::from(held);
            self.next = (self.next + 1) % self.block_count;
            blocks += 1;
        }
        blocks
    }

    /// The status word of the block at `offset`, shared with the kernel.
    fn block_status(&self, offset: usize) -> &AtomicU32 {
        let at = offset
            + offset_of!(libc::tpacket_block_desc, hdr)
            + offset_of!(libc::tpacket_hdr_v1, block_status);
        // SAFETY: `at` is within the mapping (a block starts with its descriptor), is
        // 4-aligned (blocks are page-aligned, the field at offset 8), and the kernel
        // accesses the word with barriers around it, as this atomic does.
        #[expect(clippy::cast_ptr_alignment, reason = "4-aligned: see the SAFETY comment")]
        let word = unsafe { self.map.as_ptr().add(at).cast::<u32>() };
        // SAFETY: as above: a live, aligned word of the mapping, which outlives `&self`.
        unsafe { AtomicU32::from_ptr(word) }
    }

    /// The kernel's counters since the last call: reading resets them.
    ///
    /// # Errors
    /// The kernel's, for a socket that is gone.
    pub fn statistics(&mut self) -> io::Result<RingStatistics> {
        let mut counters = libc::tpacket_stats_v3 { tp_packets: 0, tp_drops: 0, tp_freeze_q_cnt: 0 };
        get_option(&self.socket, libc::PACKET_STATISTICS, &mut counters)?;
        // TPACKET_V3: `tp_packets` already includes the drops.
        self.counted.0 += u64::from(counters.tp_packets);
        self.counted.1 += u64::from(counters.tp_drops);
        Ok(RingStatistics { packets: counters.tp_packets, dropped: counters.tp_drops })
    }

    /// The pending socket error (`ENETDOWN` after the interface went down), cleared.
    ///
    /// # Errors
    /// When the error cannot be read.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.take_error()
    }
}

impl AsFd for Ring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, of that length; no slice of it outlives
        // `read`. The socket closes after this.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.length);
        }
    }
}

/// A copy of a ring's socket descriptor, to steer its fanout group from another thread
/// ([`Ring::steering`]).
#[derive(Debug)]
pub struct Steering {
    socket: Socket,
}

impl Steering {
    /// Send every frame of the fanout group to its member `member` (0: the first to
    /// join; when a ring leaves, the last one takes its place). Returns once the frames
    /// being delivered under the previous choice have landed.
    ///
    /// # Errors
    /// The kernel's.
    pub fn steer(&self, member: u32) -> io::Result<()> {
        steer(&self.socket, member)
    }
}

/// Set the fanout group's program of `socket` to one that returns `member`.
fn steer(socket: &Socket, member: u32) -> io::Result<()> {
    // One classic BPF instruction: return the member's index.
    let mut program = [libc::sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: member }];
    // The one-instruction array outlives the call, in which the kernel copies it.
    let program = libc::sock_fprog { len: 1, filter: program.as_mut_ptr() };
    set_option(socket, libc::PACKET_FANOUT_DATA, &program)
}

/// Read packet socket option `option` into `value`: an int or a C struct of integers
/// (any bytes the kernel writes make a valid one).
fn get_option<T: Copy>(socket: &Socket, option: libc::c_int, value: &mut T) -> io::Result<()> {
    let mut length = socklen::<T>();
    // SAFETY: `value` is a live, exclusive `T` of `length` bytes; the kernel writes at
    // most that many, and every bit pattern is a valid `T` of plain integers.
    let status = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            std::ptr::from_mut(value).cast(),
            &raw mut length,
        )
    };
    if status == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn set_int(socket: &Socket, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    set_option(socket, option, &value)
}

/// Set packet socket option `option` to `value`: the int or C struct the option takes,
/// every pointer in it to memory live for the call (the kernel copies what it needs).
fn set_option<T>(socket: &Socket, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live `T` of the length passed; the kernel only reads it.
    let status = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            std::ptr::from_ref(value).cast(),
            socklen::<T>(),
        )
    };
    if status == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[expect(clippy::cast_possible_truncation, reason = "the structs are a few dozen bytes")]
const fn socklen<T>() -> libc::socklen_t {
    size_of::<T>() as libc::socklen_t
}
