//! The socket watch: a BPF TCP iterator (`bpf/sockets.bpf.c`) that lists every TCP
//! socket of the namespace with a flag saying whether anything `sock_diag` reports
//! about it changed since the last walk.
//!
//! Why: a full `sock_diag` dump of 10,000 TCP sockets with `tcp_info` costs the kernel
//! about 12 ms, more than netlens's whole budget per refresh; the iterator walks the
//! same sockets for about 4 ms (both measured on a 2-core VM, Linux 6.18, with
//! `scripts/measure_connections.py`), and only the changed ones are then read, by
//! exact lookup. The reader ([`super::SocketReader`]) also reads every socket again
//! at least every [`super::REREAD_EVERY`] refreshes, for what the fingerprint cannot
//! see.
//!
//! Between walks, tracepoint programs in the same object mark the sockets the kernel
//! changed (a segment received, a send or read by the application, a retransmission,
//! a state change), each once per refresh, on a ring buffer ([`SocketWatch::marked`]):
//! a refresh without a walk reads exactly those. Walks still come every few
//! refreshes for what no tracepoint announces (see `bpf/sockets.bpf.c`).
//!
//! Loading needs root (or `CAP_BPF` with `CAP_PERFMON`) and happens before
//! capabilities are dropped ([`load`]), the tracepoints attached for the process's
//! life; each walk then creates a link and an iterator from the loaded program, which
//! this kernel allows without privilege. If a walk fails, the reader says so and goes
//! back to full dumps.

use std::fmt;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use aya::maps::{Array, MapData, RingBuf};
use aya::programs::{BtfTracePoint, Iter};
use aya::{Btf, Ebpf, EbpfLoader};

use crate::model::{AddressFamily, Protocol, SocketState};
use crate::store::CounterMap;

/// The compiled iterator (`bpf/sockets.bpf.c`, built by `bpf/build`): embedded, so
/// building netlens needs no clang.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../../bpf/sockets.bpf.o");

/// Where the kernel publishes its type information.
const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The program's name in the object.
const PROGRAM: &str = "sockets";

/// The tracepoint programs that mark changed sockets, by the tracepoint each attaches to.
const MARKERS: [(&str, &str); 5] = [
    ("segment_received", "tcp_probe"),
    ("application_sent", "sock_send_length"),
    ("application_read", "sock_recv_length"),
    ("retransmitted", "tcp_retransmit_skb"),
    ("state_changed", "inet_sock_set_state"),
];

/// Size of one record (`struct record` in `bpf/sockets.bpf.c`).
pub(crate) const RECORD_LEN: usize = 64;

/// Bytes read from the iterator at a time (a whole number of records).
const READ_BUFFER: usize = 1024 * RECORD_LEN;

/// `FLAG_FULL`: a full socket, with a fingerprint (not time-wait or request).
const FLAG_FULL: u8 = 2;

const AF_INET6: u8 = 10;

/// One socket as the iterator listed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// `sock_diag`'s cookie.
    pub cookie: u64,
    /// Address family.
    pub family: AddressFamily,
    /// Its state (`None`: a number this netlens does not know).
    pub state: Option<SocketState>,
    /// Whether it must be read again (new, changed, or a time-wait or request socket).
    pub changed: bool,
    /// `SO_BINDTODEVICE` interface (0: none): exact lookups must name it.
    pub interface: u32,
    /// Local end (IPv4-mapped addresses stay IPv6, as the socket holds them).
    pub local: SocketAddr,
    /// Remote end.
    pub remote: SocketAddr,
}

/// Parse one record; `None` for a short one. `changed` is left true: [`SocketWatch`]
/// decides it from the fingerprints.
fn record(bytes: &[u8]) -> Option<(Listed, Option<u64>)> {
    let bytes: &[u8; RECORD_LEN] = bytes.try_into().ok()?;
    let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    let cookie = u64::from_ne_bytes(bytes[0..8].try_into().ok()?);
    let ipv6 = bytes[8] == AF_INET6;
    let interface = u32::from_ne_bytes(word(12));
    let local_port = u16::from_ne_bytes([bytes[16], bytes[17]]);
    let remote_port = u16::from_ne_bytes([bytes[18], bytes[19]]);
    let address = |at: usize| -> IpAddr {
        if ipv6 {
            let octets: [u8; 16] = bytes[at..at + 16].try_into().unwrap_or_default();
            IpAddr::V6(Ipv6Addr::from(octets))
        } else {
            IpAddr::V4(Ipv4Addr::from(word(at)))
        }
    };
    let full = bytes[10] & FLAG_FULL != 0;
    let listed = Listed {
        cookie,
        family: if ipv6 { AddressFamily::Ipv6 } else { AddressFamily::Ipv4 },
        state: SocketState::from_kernel(Protocol::Tcp, bytes[9]),
        changed: true,
        interface,
        local: SocketAddr::new(address(24), local_port),
        remote: SocketAddr::new(address(40), remote_port),
    };
    Some((listed, full.then(|| u64::from_ne_bytes(bytes[56..64].try_into().unwrap_or_default()))))
}

/// The fingerprints of one walk, in walk order, with a cookie index built only when
/// the next walk's order departs from it.
///
/// Why not a map alone: the kernel lists sockets in hash-bucket order, which stays
/// the same between walks but for the sockets opened and closed in between, so a
/// cursor finds almost every socket where the last walk had it; hashing 10,000
/// cookies per walk into a map was a tenth of the socket thread's time (perf).
#[derive(Debug, Default)]
pub(crate) struct Fingerprints {
    order: Vec<(u64, u64)>,
    index: CounterMap<u64, usize>,
}

impl Fingerprints {
    /// The fingerprint of `cookie`, looked for at `*cursor` first; the cursor moves
    /// past it.
    fn find(&mut self, cookie: u64, cursor: &mut usize) -> Option<u64> {
        if let Some(&(listed, fingerprint)) = self.order.get(*cursor)
            && listed == cookie
        {
            *cursor += 1;
            return Some(fingerprint);
        }
        if self.index.is_empty() && !self.order.is_empty() {
            self.index.extend(self.order.iter().enumerate().map(|(at, &(cookie, _))| (cookie, at)));
        }
        let at = *self.index.get(&cookie)?;
        *cursor = at + 1;
        Some(self.order[at].1)
    }

    fn clear(&mut self) {
        self.order.clear();
        self.index.clear();
    }
}

/// Every record of one walk's output, in order, each marked changed unless its
/// fingerprint is the one `last` holds; `next` gets this walk's fingerprints.
pub(crate) fn records(
    bytes: &[u8],
    last: &mut Fingerprints,
    next: &mut Fingerprints,
    cursor: &mut usize,
    out: &mut Vec<Listed>,
) {
    for (mut listed, fingerprint) in bytes.chunks_exact(RECORD_LEN).filter_map(record) {
        if let Some(fingerprint) = fingerprint {
            listed.changed = last.find(listed.cookie, cursor) != Some(fingerprint);
            next.order.push((listed.cookie, fingerprint));
        }
        out.push(listed);
    }
}

/// The tracepoints' side: their settings, their ring and their loss counter.
struct Marks {
    /// `struct watch_config`: the namespace watched and the generation.
    config: Array<MapData, [u64; 2]>,
    /// Marks the ring had no room for.
    lost: Array<MapData, u64>,
    ring: RingBuf<MapData>,
    generation: u64,
    /// `lost` as of the last [`SocketWatch::marked`].
    lost_seen: u64,
}

impl Marks {
    /// The maps of a loaded object whose tracepoint programs are attached.
    fn take(ebpf: &mut Ebpf) -> Result<Self, String> {
        let mut map = |name: &str| ebpf.take_map(name).ok_or_else(|| format!("the map {name} is missing"));
        let config = Array::try_from(map("config")?).map_err(|error| format!("config map: {error}"))?;
        let lost = Array::try_from(map("lost")?).map_err(|error| format!("lost map: {error}"))?;
        let ring = RingBuf::try_from(map("changes")?).map_err(|error| format!("ring buffer: {error}"))?;
        Ok(Self { config, lost, ring, generation: 0, lost_seen: 0 })
    }
}

/// The loaded iterator, and the fingerprints of its last walk.
pub struct SocketWatch {
    ebpf: Ebpf,
    buffer: Vec<u8>,
    /// As of the last walk; swapped with `next` after each.
    last: Fingerprints,
    next: Fingerprints,
    /// The tracepoint marks, or why they are unavailable (the walk works without).
    marks: Result<Marks, String>,
}

impl fmt::Debug for SocketWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketWatch").finish_non_exhaustive()
    }
}

impl SocketWatch {
    /// Walk the TCP sockets of the calling thread's network namespace into `out`
    /// (cleared first), each marked changed if it is new or its fingerprint moved
    /// since the last walk. A walk that fails forgets every fingerprint: whoever
    /// missed its changes must read the whole table.
    ///
    /// # Errors
    /// When the kernel refuses the link or the iterator, or the read fails.
    pub fn walk(&mut self, out: &mut Vec<Listed>) -> Result<(), String> {
        out.clear();
        self.next.clear();
        let walked = self.walk_into(out);
        if walked.is_err() {
            self.last.clear();
            self.next.clear();
        }
        std::mem::swap(&mut self.last, &mut self.next);
        walked
    }

    /// Start a new generation of marks for the namespace whose cookie is `netns`, and
    /// put the sockets marked since the last call into `out` (cleared first): those
    /// the kernel changed since. A socket marked in the new generation before this
    /// call returns is in `out` and is not marked again until the next call, so the
    /// caller reads what it gets here at its next refresh too. `Ok(false)`: the ring
    /// overflowed and some marks were lost (walk instead).
    ///
    /// # Errors
    /// When the tracepoints are unavailable (why), or the settings cannot be written.
    pub fn marked(&mut self, netns: u64, out: &mut Vec<Listed>) -> Result<bool, String> {
        out.clear();
        let marks = self.marks.as_mut().map_err(|why| why.clone())?;
        marks.generation += 1;
        marks
            .config
            .set(0, [netns, marks.generation], 0)
            .map_err(|error| format!("socket watch settings: {error}"))?;
        while let Some(item) = marks.ring.next() {
            if let Some((listed, _)) = record(&item) {
                out.push(listed);
            }
        }
        let lost = marks.lost.get(&0, 0).map_err(|error| format!("socket watch loss counter: {error}"))?;
        let complete = lost == marks.lost_seen;
        marks.lost_seen = lost;
        Ok(complete)
    }

    fn walk_into(&mut self, out: &mut Vec<Listed>) -> Result<(), String> {
        let program: &mut Iter = self
            .ebpf
            .program_mut(PROGRAM)
            .ok_or("the socket iterator is missing from its object")?
            .try_into()
            .map_err(|error| format!("socket iterator: {error}"))?;
        let link = program.attach().map_err(|error| format!("socket iterator link: {error}"))?;
        let link = program.take_link(link).map_err(|error| format!("socket iterator link: {error}"))?;
        let mut file = link.into_file().map_err(|error| format!("socket iterator: {error}"))?;
        // Read and parsed a buffer at a time: the whole output of 10,000 sockets would
        // keep 640 KB resident for nothing.
        self.buffer.resize(READ_BUFFER, 0);
        let (mut filled, mut cursor) = (0, 0);
        loop {
            let read = match file.read(&mut self.buffer[filled..]) {
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(format!("reading the socket iterator: {error}")),
            };
            filled += read;
            let whole = filled - filled % RECORD_LEN;
            records(&self.buffer[..whole], &mut self.last, &mut self.next, &mut cursor, out);
            self.buffer.copy_within(whole..filled, 0);
            filled -= whole;
            if read == 0 {
                return Ok(());
            }
        }
    }
}

/// The marks' ring as the object declares it: 512 KiB, 8,192 marks a refresh.
pub const MARKS_RING_BYTES: u32 = 512 << 10;

/// Load the iterator, with the kernel's BTF (the program attaches to `bpf_iter_tcp`
/// and its field reads are relocated against it), its marks' ring `ring_bytes` long (a
/// power of two, at least a page; [`MARKS_RING_BYTES`] unless memory is tight: the ring
/// is mapped twice, so it counts twice in the resident size, and more sockets changing
/// in one refresh than it holds make that refresh walk). Needs root or `CAP_BPF` and
/// `CAP_PERFMON`; run before capabilities are dropped.
///
/// # Errors
/// Why it cannot run, phrased for the connections status.
pub fn load(ring_bytes: u32) -> Result<SocketWatch, String> {
    // The loader parses the kernel's BTF itself (5.5 MB here, several times that once
    // parsed) for the relocations, and the program's load needs it again: parsed one
    // after the other, never two at once, for the peak RSS.
    if !std::path::Path::new(KERNEL_BTF).exists() {
        return Err(format!("the kernel publishes no BTF ({KERNEL_BTF} is missing)"));
    }
    let mut ebpf = EbpfLoader::new()
        .map_max_entries("changes", ring_bytes)
        .load(OBJECT)
        .map_err(|error| format!("loading the socket iterator: {error}"))?;
    let btf =
        Btf::from_sys_fs().map_err(|error| format!("reading the kernel's BTF ({KERNEL_BTF}): {error}"))?;
    let program: &mut Iter = ebpf
        .program_mut(PROGRAM)
        .ok_or("the socket iterator is missing from its object")?
        .try_into()
        .map_err(|error| format!("socket iterator: {error}"))?;
    program.load("tcp", &btf).map_err(|error| format!("the kernel refused the socket iterator: {error}"))?;
    let marks = attach_markers(&mut ebpf, &btf).and_then(|()| Marks::take(&mut ebpf));
    if let Err(why) = &marks {
        tracing::info!(%why, "no socket marks; the socket watch walks every refresh");
    }
    Ok(SocketWatch {
        ebpf,
        buffer: Vec::new(),
        last: Fingerprints::default(),
        next: Fingerprints::default(),
        marks,
    })
}

/// Load and attach the tracepoint programs; their links live as long as the object
/// (owned by file descriptors: gone when netlens is).
fn attach_markers(ebpf: &mut Ebpf, btf: &Btf) -> Result<(), String> {
    for (name, tracepoint) in MARKERS {
        let program: &mut BtfTracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| format!("the program {name} is missing from its object"))?
            .try_into()
            .map_err(|error| format!("{name}: {error}"))?;
        program.load(tracepoint, btf).map_err(|error| format!("the kernel refused {name}: {error}"))?;
        program.attach().map_err(|error| format!("attaching {name} to {tracepoint}: {error}"))?;
    }
    Ok(())
}

/// The process's watch, shared by whoever reads the socket table (one reader at a
/// time: each walk updates the fingerprints).
#[derive(Debug, Clone)]
pub struct WatchHandle(pub(crate) Arc<Mutex<SocketWatch>>);

impl WatchHandle {
    /// Share `watch` (what [`install`] does for the process; tests make their own).
    #[must_use]
    pub fn new(watch: SocketWatch) -> Self {
        Self(Arc::new(Mutex::new(watch)))
    }
}

impl PartialEq for WatchHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for WatchHandle {}

static INSTALLED: OnceLock<Result<WatchHandle, String>> = OnceLock::new();

/// Make `watch` (or why there is none) the process's; the first call wins.
pub fn install(watch: Result<SocketWatch, String>) -> bool {
    INSTALLED.set(watch.map(WatchHandle::new)).is_ok()
}

/// The installed watch, or why there is none (`None`: never loaded, as in tests
/// and tools that read the table without it).
#[must_use]
pub fn installed() -> Option<Result<WatchHandle, String>> {
    INSTALLED.get().cloned()
}

/// Run `f` on the watch, whatever a panicking holder left.
pub(crate) fn with<T>(watch: &Mutex<SocketWatch>, f: impl FnOnce(&mut SocketWatch) -> T) -> T {
    f(&mut watch.lock().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_families_and_the_flag() {
        let mut v4 = [0u8; RECORD_LEN];
        v4[0..8].copy_from_slice(&77u64.to_ne_bytes());
        v4[8] = 2;
        v4[9] = 1;
        v4[10] = FLAG_FULL;
        v4[56..64].copy_from_slice(&5u64.to_ne_bytes());
        v4[16..18].copy_from_slice(&8080u16.to_ne_bytes());
        v4[18..20].copy_from_slice(&40000u16.to_ne_bytes());
        v4[24..28].copy_from_slice(&[127, 0, 0, 1]);
        v4[40..44].copy_from_slice(&[10, 0, 0, 2]);
        let mut v6 = [0u8; RECORD_LEN];
        v6[0..8].copy_from_slice(&78u64.to_ne_bytes());
        v6[8] = AF_INET6;
        v6[10] = FLAG_FULL;
        v6[56..64].copy_from_slice(&6u64.to_ne_bytes());
        v6[12..16].copy_from_slice(&3u32.to_ne_bytes());
        v6[24..40].copy_from_slice(&Ipv6Addr::LOCALHOST.octets());
        let mut bytes = v4.to_vec();
        bytes.extend_from_slice(&v6);
        let mut tw = [0u8; RECORD_LEN];
        tw[0..8].copy_from_slice(&79u64.to_ne_bytes());
        tw[8] = 2;
        tw[9] = 6;
        bytes.extend_from_slice(&tw);
        bytes.extend_from_slice(&[1, 2, 3]);
        // Listed in another order than last time: found all the same.
        let mut last = Fingerprints { order: vec![(78, 6), (77, 4)], ..Fingerprints::default() };
        let mut next = Fingerprints::default();
        let mut out = Vec::new();
        records(&bytes, &mut last, &mut next, &mut 0, &mut out);
        assert_eq!(out.len(), 3, "a cut record is dropped");
        assert!(out[2].changed, "a time-wait socket is always read again");
        assert_eq!(out[2].state, Some(SocketState::TimeWait));
        assert_eq!(next.order, [(77, 5), (78, 6)], "only full sockets have fingerprints");
        assert_eq!(out[0].cookie, 77);
        assert_eq!(out[0].state, Some(SocketState::Established));
        assert!(out[0].changed, "its fingerprint moved");
        assert_eq!(out[0].local, "127.0.0.1:8080".parse().unwrap_or_else(|error| panic!("{error}")));
        assert_eq!(out[0].remote, "10.0.0.2:40000".parse().unwrap_or_else(|error| panic!("{error}")));
        assert_eq!(out[1].family, AddressFamily::Ipv6);
        assert!(!out[1].changed, "same fingerprint");
        assert_eq!(out[1].interface, 3);
        assert_eq!(out[1].local.ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
}
