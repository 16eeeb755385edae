//! Allocator tuning — the one place netlens calls into libc without a safe wrapper.
//!
//! Every refresh builds a socket table of a few megabytes on a blocking thread and
//! frees it on the app thread. glibc raises its mmap threshold to the size of such a
//! freed block, after which these tables come from per-thread arenas that keep their
//! peak: with 10,000 sockets that is about 14 MiB of RSS for nothing (46 MiB against
//! 32 MiB, measured with `scripts/measure_connections.py`). A fixed threshold keeps
//! large, short-lived blocks in their own mappings, returned to the system on free.

/// Blocks at least this large get their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;

/// Arenas at most. Every thread that allocates may get an arena of its own, and each
/// keeps its freed memory: a dozen collector threads (captures, attribution, inotify,
/// blocking pool) would otherwise each hold a few hundred KiB to a few MiB of RSS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: libc::c_int = 2;

/// Apply the tuning; call once, first thing in `main`, before other threads exist.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other
    // thread exists, and its result (whether the value was accepted) needs no action:
    // without it netlens merely uses more memory.
    #[expect(unsafe_code, reason = "mallopt has no safe wrapper; it only sets an allocator parameter")]
    let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    // SAFETY: as above.
    #[expect(unsafe_code, reason = "mallopt has no safe wrapper; it only sets an allocator parameter")]
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX) };
}

/// Other C libraries keep their own defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

/// Give the free pages of the heap back to the kernel, once the set-up is done.
///
/// Loading the BPF programs parses the kernel's BTF: tens of thousands of small
/// blocks, freed before the collectors start but scattered among the blocks that stay,
/// so glibc cannot shrink the heap past them. Measured on the idle daemon (Linux 6.18):
/// 1.3 MiB of its 3.1 MiB of anonymous memory was such free space, given back by one
/// `malloc_trim` and not taken again.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_pages() {
    // SAFETY: malloc_trim only returns free heap pages to the kernel (madvise); it
    // takes the allocator's own locks, so other threads may allocate meanwhile.
    #[expect(unsafe_code, reason = "malloc_trim has no safe wrapper; it only gives free pages back")]
    let _ = unsafe { libc::malloc_trim(0) };
}

/// Other C libraries manage their heap their own way.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_pages() {}
