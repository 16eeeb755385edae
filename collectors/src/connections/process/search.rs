//! A focused walk of `/proc` for the owners of a few socket inodes, right now.
//!
//! [`ProcessIndex`](super::ProcessIndex) paces its walks (one per [`SCAN_INTERVAL`])
//! because it keeps a whole socket table attributed. A resolver's query socket lives a
//! few milliseconds: by the next paced walk it is gone. [`OwnerSearch`] walks at once,
//! through the processes that owned its earlier finds first (the same resolvers and
//! stubs ask again and again), then the newest processes first (a short-lived asker
//! is a young process), and stops as soon as every inode is found. Pacing the searches
//! is the caller's job.
//!
//! [`SCAN_INTERVAL`]: super::SCAN_INTERVAL

use std::fmt::Write as _;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::fs::{CWD, Mode, OFlags, openat};

use super::{DIR_BUFFER, SMALL_FILE_LIMIT, list_pids, parse_stat, read_at, walk_fds};

/// Owners of earlier finds remembered, to be looked through first.
const RECENT_OWNERS: usize = 16;

/// The process holding a socket, as found by one walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOwner {
    /// The socket's inode.
    pub inode: u64,
    /// The process holding a descriptor of it (the lowest pid of the first processes
    /// looked through, when several share it).
    pub pid: u32,
    /// The process's name (`comm`).
    pub name: String,
}

/// Finds the owners of socket inodes by walking `/proc/*/fd` on demand; see the
/// module documentation.
#[derive(Debug)]
pub struct OwnerSearch {
    proc_root: PathBuf,
    /// `proc_root`, opened on first use.
    root: Option<OwnedFd>,
    /// Owners of recent finds, most recent first.
    recent: Vec<u32>,
    walks: u64,
    pids: Vec<u32>,
    /// Only its spare capacity is used (as `getdents64` space).
    dir: Vec<u8>,
    file: Vec<u8>,
    path: String,
}

impl OwnerSearch {
    /// A search over the processes under `proc_root` (`/proc` normally).
    #[must_use]
    pub fn new(proc_root: PathBuf) -> Self {
        Self {
            proc_root,
            root: None,
            recent: Vec::new(),
            walks: 0,
            pids: Vec::new(),
            dir: Vec::with_capacity(DIR_BUFFER),
            file: Vec::new(),
            path: String::new(),
        }
    }

    /// How many walks have been made.
    #[must_use]
    pub const fn walks(&self) -> u64 {
        self.walks
    }

    /// The owners of those of `inodes` some process holds now (0 is ignored). One walk,
    /// ended as soon as every inode is found; processes this user may not look into
    /// are skipped (their sockets are not found).
    pub fn find(&mut self, inodes: &[u64]) -> Vec<SocketOwner> {
        let mut wanted: Vec<u64> = inodes.iter().copied().filter(|&inode| inode != 0).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut owners = Vec::new();
        if wanted.is_empty() {
            return owners;
        }
        if self.root.is_none() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            match openat(CWD, &self.proc_root, flags, Mode::empty()) {
                Ok(fd) => self.root = Some(fd),
                Err(error) => {
                    tracing::warn!(root = %self.proc_root.display(), %error, "cannot open the process directory");
                    return owners;
                }
            }
        }
        let Self { root, recent, walks, pids, dir, file, path, .. } = self;
        let Some(root) = root.as_ref() else { return owners };
        *walks += 1;
        list_pids(root, dir, pids);
        // The recent owners first, most recent first; then the newest processes: a
        // short-lived asker is a young process, gone soon. Newest is counted back from
        // the last pid the kernel handed out, not by size: once pids wrap (pid_max is
        // 32768 on many hosts) the newest are the small ones, and a walk from the
        // highest pid down visited every older process first (measured: 20 ms on a busy
        // host, longer than a resolver's socket lives).
        let last = last_pid(root, file).unwrap_or(u32::MAX);
        pids.sort_by_key(|&pid| {
            (recent.iter().position(|&recent| recent == pid).unwrap_or(usize::MAX), last.wrapping_sub(pid))
        });
        let directory = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut matched = Vec::new();
        for &pid in pids.iter() {
            if wanted.is_empty() {
                break;
            }
            path.clear();
            let _ = write!(path, "{pid}");
            // Gone since the listing, or another user's: skipped.
            let Ok(process) = openat(root, path.as_str(), directory, Mode::empty()) else { continue };
            let Ok(fds) = openat(&process, c"fd", directory, Mode::empty()) else { continue };
            matched.clear();
            walk_fds(&fds, dir, |inode| {
                if wanted.binary_search(&inode).is_ok() {
                    matched.push(inode);
                }
            });
            if matched.is_empty() {
                continue;
            }
            // Exited since its descriptors were read: its sockets are gone with it.
            let Some(stat) =
                read_at(&process, c"stat", SMALL_FILE_LIMIT, file).and_then(|()| parse_stat(file))
            else {
                continue;
            };
            for &inode in &matched {
                if let Ok(index) = wanted.binary_search(&inode) {
                    wanted.remove(index);
                    owners.push(SocketOwner { inode, pid, name: stat.name.clone() });
                }
            }
            recent.retain(|&recent| recent != pid);
            recent.insert(0, pid);
            recent.truncate(RECENT_OWNERS);
        }
        owners
    }
}

/// The pid the kernel handed out last in this pid namespace: the last field of
/// `/proc/loadavg` (`0.00 0.01 0.05 1/123 19202`).
fn last_pid(root: &OwnedFd, file: &mut Vec<u8>) -> Option<u32> {
    read_at(root, c"loadavg", SMALL_FILE_LIMIT, file)?;
    let text = std::str::from_utf8(file).ok()?;
    text.split_ascii_whitespace().nth(4)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd as _;

    use super::*;

    /// The inode of one of this process's descriptors.
    fn inode_of(fd: i32) -> u64 {
        let link =
            std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_else(|e| panic!("readlink: {e}"));
        let text = link.to_string_lossy();
        text.strip_prefix("socket:[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("not a socket: {text}"))
    }

    #[test]
    fn finds_this_process_and_stops_at_nothing_else() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let inode = inode_of(socket.as_raw_fd());
        let mut search = OwnerSearch::new(PathBuf::from("/proc"));
        let owners = search.find(&[inode, 0, inode]);
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert_eq!((owners[0].inode, owners[0].pid), (inode, std::process::id()));
        assert!(!owners[0].name.is_empty());
        assert_eq!(search.recent, [std::process::id()], "looked through first next time");
        assert_eq!(search.walks(), 1);

        assert!(search.find(&[0]).is_empty());
        assert_eq!(search.walks(), 1, "nothing to look for: no walk");
        // An inode nobody holds: a whole walk, no owner.
        assert!(search.find(&[u64::MAX]).is_empty());
        assert_eq!(search.walks(), 2);
        assert!(OwnerSearch::new(PathBuf::from("/nonexistent")).find(&[inode]).is_empty());
    }
}
