//! Process attribution against the real `/proc`: a socket this test opens is found
//! in this process's descriptors and attributed to this process, by name. Needs no
//! privileges: a process may always read its own descriptors.

use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netlens_collectors::connections::process::ProcessIndex;

/// The inode behind one of this process's descriptors, from its `socket:[N]` link.
fn socket_inode(fd: i32) -> u64 {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .unwrap_or_else(|error| panic!("readlink /proc/self/fd/{fd}: {error}"));
    let target = target.to_string_lossy();
    target
        .strip_prefix("socket:[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("fd {fd} is not a socket: {target}"))
}

#[test]
fn own_sockets_are_attributed_to_this_process() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("tcp bind: {error}"));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("udp bind: {error}"));
    let tcp_inode = socket_inode(listener.as_raw_fd());
    let udp_inode = socket_inode(udp.as_raw_fd());
    let pid = std::process::id();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap_or_else(|error| panic!("comm: {error}"));

    let mut index = ProcessIndex::new(PathBuf::from("/proc"));
    let now = Instant::now();
    let found = index.resolve(&[tcp_inode, udp_inode], now);

    let mut owners = found.owners.clone();
    owners.sort_unstable();
    let mut expected = vec![(tcp_inode, pid), (udp_inode, pid)];
    expected.sort_unstable();
    assert_eq!(owners, expected);
    let me = found
        .processes
        .iter()
        .find(|process| process.pid == pid)
        .unwrap_or_else(|| panic!("this process is missing from {:?}", found.processes));
    assert_eq!(me.name, comm.trim_end());
    let exe = std::env::args().next().unwrap_or_default();
    assert!(me.cmdline.starts_with(&exe), "{:?} should start with {exe:?}", me.cmdline);
    assert!(me.open_files.is_some_and(|open| open >= 2), "{:?}", me.open_files);
    assert!(me.open_files_limit.is_some());
    assert!(me.start_time > 0);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(me.user, "root");
    }
    assert_eq!(index.scans(), 1);

    // Known now: asking again a second later re-reads only this process's start time.
    let again = index.resolve(&[tcp_inode, udp_inode], now + Duration::from_secs(2));
    assert_eq!(again.owners.len(), 2);
    assert_eq!(index.scans(), 1);

    // Closed: after the next walk nobody owns it.
    drop(udp);
    let new = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("tcp bind: {error}"));
    let new_inode = socket_inode(new.as_raw_fd());
    let later = index.resolve(&[tcp_inode, udp_inode, new_inode], now + Duration::from_secs(4));
    let mut owners = later.owners.clone();
    owners.sort_unstable();
    let mut expected = vec![(tcp_inode, pid), (new_inode, pid)];
    expected.sort_unstable();
    assert_eq!(owners, expected);
    assert_eq!(index.scans(), 2);
}
