//! The cookie of the calling thread's network namespace (`SO_NETNS_COOKIE`, Linux
//! 5.14): what `bpf_get_netns_cookie` returns in the BPF program for sockets of the
//! same namespace. No safe crate offers this option, hence the one `unsafe` call.
#![expect(
    unsafe_code,
    reason = "getsockopt(SO_NETNS_COOKIE): no safe wrapper exists in libc, rustix, nix or socket2"
)]

use std::io;
use std::os::fd::AsRawFd as _;

/// `SO_NETNS_COOKIE` from `<asm-generic/socket.h>` (x86, arm, riscv; libc does not
/// export it for every target).
const SO_NETNS_COOKIE: libc::c_int = 71;

/// The network namespace cookie of the calling thread.
pub fn current() -> io::Result<u64> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let mut cookie: u64 = 0;
    let mut length = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: the socket is open for the duration of the call; `cookie` is a valid,
    // writable u64 and `length` says so, so the kernel writes at most 8 bytes to it.
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            std::ptr::from_mut(&mut cookie).cast(),
            &raw mut length,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cookie)
}
