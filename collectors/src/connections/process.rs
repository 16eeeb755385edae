//! Process attribution: which process owns a socket, from the `socket:[INODE]` links
//! in `/proc/*/fd`.
//!
//! Walking every process's descriptors is the expensive part (one `readlink` per open
//! file on the host, about 2 µs each), so [`ProcessIndex`] caches each inode's owner
//! and walks `/proc` only when it is asked about a socket it has never seen, at most
//! once per [`SCAN_INTERVAL`]. A walk visits the processes that already own sockets
//! first (new sockets mostly belong to them: a server accepting, a client connecting)
//! and stops as soon as every new inode is found. Between walks only the start times
//! of the owning processes are re-read, at most once per [`VALIDATE_INTERVAL`]: a pid
//! alone is not an identity (pids are reused), (pid, start time) is. An owner that
//! exited or whose pid now names another process loses its inodes, which are looked
//! for again.
//!
//! Everything about one process is read through one open `/proc/PID` directory, so a
//! pid reused halfway through cannot mix two processes' facts: once the process the
//! directory was opened for has exited, reads through it fail instead of reaching its
//! successor. Name and command line come from `/proc/PID/{stat,cmdline}` read that way
//! rather than through sysinfo, which would re-read the same files by path (losing
//! that pin and the fake-`/proc` seam the tests use) and more of them; sysinfo's user
//! list turns uids into names.
//!
//! Directory listings and `readlink`s go through rustix into reused buffers: a walk
//! allocates nothing per descriptor.
//!
//! Sockets too short-lived for paced walks (a resolver's query socket) are looked up
//! on demand with [`search::OwnerSearch`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::fs::{CWD, Mode, OFlags, openat};
use rustix::io::Errno;

use crate::model::ProcessInfo;

pub mod cards;
mod procfs;
pub mod search;

use procfs::{UserNames, list_pids, parse_stat, read_at, read_process, stat_start_time, walk_fds};
#[cfg(test)]
mod tests;

/// The shortest time between two walks of `/proc`: inodes first seen within it wait.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest time between two start-time checks of the cached owners.
pub const VALIDATE_INTERVAL: Duration = Duration::from_secs(1);

/// `stat`, `status` and `limits` are a few kilobytes at most.
const SMALL_FILE_LIMIT: u64 = 16 * 1024;

/// `getdents64` buffer: a few hundred entries per call.
const DIR_BUFFER: usize = 32 * 1024;

/// A multiply-rotate hash for kernel-assigned integer keys (inodes, pids): several
/// times faster than `SipHash` on the 10,000-lookup path, and nobody chooses the keys.
#[derive(Debug, Default, Clone, Copy)]
struct IntegerHasher(u64);

impl Hasher for IntegerHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        // The constant of the Fx hash (rustc's): odd, with well-spread bits.
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type IntegerMap<K, V> = HashMap<K, V, BuildHasherDefault<IntegerHasher>>;

/// Owners of the sockets asked about, as far as this process may know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attribution {
    /// `(inode, pid)` for each requested inode whose owner is known.
    pub owners: Vec<(u64, u32)>,
    /// The processes named in `owners`, once each.
    pub processes: Vec<ProcessInfo>,
    /// False when the last walk could not read some process's descriptors (another
    /// user's, when unprivileged): their sockets stay unattributed.
    pub all_owners_visible: bool,
}

/// A process, as opposed to a pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    pid: u32,
    /// Clock ticks after boot (`/proc/PID/stat` field 22).
    start_time: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// Not looked for yet: the next allowed walk looks.
    Unknown,
    /// The last walk did not find it (another user's process, a descriptor in flight
    /// between processes): no reason to walk again until something new appears.
    Unowned,
    /// Held by this process.
    Process(Identity),
}

#[derive(Debug)]
struct InodeEntry {
    owner: Owner,
    /// The `resolve` call that last asked for it.
    seen: u32,
    /// The walk that last found it among its owner's descriptors.
    confirmed: u64,
}

#[derive(Debug)]
struct ProcessEntry {
    info: ProcessInfo,
    /// The `resolve` call that last reported it.
    seen: u32,
}

/// Socket inode → owning process, cached; see the module documentation.
#[derive(Debug)]
pub struct ProcessIndex {
    proc_root: PathBuf,
    /// `proc_root`, opened on first use.
    root: Option<OwnedFd>,
    inodes: IntegerMap<u64, InodeEntry>,
    processes: IntegerMap<u32, ProcessEntry>,
    /// Counts `resolve` calls; entries carry the call that last touched them.
    generation: u32,
    /// The distinct non-zero inodes of the current call with their owners as cached
    /// when the call began, in request order.
    requested: Vec<(u64, Owner)>,
    /// A validation or walk changed owners during this call: `requested` is stale.
    changed: bool,
    last_scan: Option<Instant>,
    last_validation: Option<Instant>,
    all_visible: bool,
    scans: u64,
    validations: u64,
    users: UserNames,
    scratch: Scratch,
}

/// Buffers reused across walks.
#[derive(Debug, Default)]
struct Scratch {
    pids: Vec<u32>,
    matched: Vec<u64>,
    /// Known owners whose descriptors the current walk read.
    walked: Vec<u32>,
    /// Only its spare capacity is used (as `getdents64` space).
    dir: Vec<u8>,
    file: Vec<u8>,
    path: String,
}

impl ProcessIndex {
    /// An index over the processes under `proc_root` (`/proc` normally).
    #[must_use]
    pub fn new(proc_root: PathBuf) -> Self {
        Self {
            proc_root,
            root: None,
            inodes: IntegerMap::default(),
            processes: IntegerMap::default(),
            generation: 0,
            requested: Vec::new(),
            changed: false,
            last_scan: None,
            last_validation: None,
            all_visible: true,
            scans: 0,
            validations: 0,
            users: UserNames::default(),
            scratch: Scratch { dir: Vec::with_capacity(DIR_BUFFER), ..Scratch::default() },
        }
    }

    /// How many times `/proc` has been walked.
    #[must_use]
    pub const fn scans(&self) -> u64 {
        self.scans
    }

    /// How many times the cached owners' start times have been re-read (passes with at
    /// least one owner to check).
    #[must_use]
    pub const fn validations(&self) -> u64 {
        self.validations
    }

    /// Owners of these socket inodes (0, the inode of `time_wait` and request sockets,
    /// is ignored). Walks `/proc/*/fd` only when some inode is not yet known, and at
    /// most once per [`SCAN_INTERVAL`]; unknown inodes wait for the next allowed walk.
    /// Inodes not asked about again are forgotten.
    pub fn resolve(&mut self, inodes: &[u64], now: Instant) -> Attribution {
        self.resolve_keeping(inodes, &[], now)
    }

    /// [`Self::resolve`], also keeping what is known of the inodes `keep` (sockets
    /// still open but not read again this refresh: the socket watch's unchanged
    /// ones), which are neither looked up nor reported.
    pub fn resolve_keeping(&mut self, inodes: &[u64], keep: &[u64], now: Instant) -> Attribution {
        let mut unknown = self.track(inodes, keep);
        let scan_allowed = due(self.last_scan, now, SCAN_INTERVAL);
        // A walk trusts the owners it already knows, so it validates them first.
        if due(self.last_validation, now, VALIDATE_INTERVAL) || (unknown > 0 && scan_allowed) {
            unknown += self.validate(now);
        }
        if unknown > 0 && scan_allowed {
            self.scan(now);
        }
        self.attribution()
    }

    /// Start a new call: remember which inodes are asked about, forget the others.
    /// Returns how many are unknown.
    fn track(&mut self, inodes: &[u64], keep: &[u64]) -> usize {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let previous = generation.wrapping_sub(1);
        self.requested.clear();
        let mut unknown = 0;
        for &inode in inodes {
            if inode == 0 {
                continue;
            }
            let entry = self.inodes.entry(inode).or_insert(InodeEntry {
                owner: Owner::Unknown,
                seen: previous,
                confirmed: 0,
            });
            if entry.seen == generation {
                continue;
            }
            entry.seen = generation;
            if entry.owner == Owner::Unknown {
                unknown += 1;
            }
            self.requested.push((inode, entry.owner));
        }
        let mut kept = 0;
        for inode in keep {
            if let Some(entry) = self.inodes.get_mut(inode)
                && entry.seen != generation
            {
                entry.seen = generation;
                kept += 1;
            }
        }
        self.changed = false;
        // Only the requested and kept entries carry this generation: a size
        // difference is the cheap test for stale ones.
        if self.inodes.len() != self.requested.len() + kept {
            self.inodes.retain(|_, entry| entry.seen == generation);
        }
        unknown
    }

    fn root(&mut self) -> Option<&OwnedFd> {
        if self.root.is_none() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            match openat(CWD, &self.proc_root, flags, Mode::empty()) {
                Ok(fd) => self.root = Some(fd),
                Err(error) => {
                    tracing::warn!(root = %self.proc_root.display(), %error, "cannot open the process directory");
                }
            }
        }
        self.root.as_ref()
    }

    /// Re-read the start time of every cached owner; owners that exited or whose pid
    /// now names another process lose their inodes. Returns how many requested inodes
    /// that made unknown.
    fn validate(&mut self, now: Instant) -> usize {
        self.last_validation = Some(now);
        if self.processes.is_empty() {
            return 0;
        }
        self.validations += 1;
        let Self { root, inodes, processes, scratch, changed, .. } = self;
        let Some(root) = root.as_ref() else { return 0 };
        scratch.pids.clear();
        for (&pid, entry) in processes.iter() {
            scratch.path.clear();
            let _ = write!(scratch.path, "{pid}/stat");
            let alive = read_at(root, scratch.path.as_str(), SMALL_FILE_LIMIT, &mut scratch.file)
                .and_then(|()| stat_start_time(&scratch.file));
            if alive != Some(entry.info.start_time) {
                scratch.pids.push(pid);
            }
        }
        if scratch.pids.is_empty() {
            return 0;
        }
        for pid in &scratch.pids {
            processes.remove(pid);
        }
        *changed = true;
        let mut unknown = 0;
        for entry in inodes.values_mut() {
            if let Owner::Process(owner) = entry.owner
                && !processes.contains_key(&owner.pid)
            {
                entry.owner = Owner::Unknown;
                unknown += 1;
            }
        }
        unknown
    }

    /// Walk `/proc/*/fd` for the owners of unknown inodes (and, on the way, of those
    /// earlier walks did not find): owners already known first, then every other
    /// process by pid, until every unknown inode is found. Known owners that were not
    /// walked stay as they are ([`Self::validate`] has just checked them); those that
    /// were lose the sockets they no longer hold.
    fn scan(&mut self, now: Instant) {
        self.scans += 1;
        self.last_scan = Some(now);
        self.changed = true;
        let generation = self.generation;
        if self.root().is_none() {
            for entry in self.inodes.values_mut() {
                if entry.owner == Owner::Unknown {
                    entry.owner = Owner::Unowned;
                }
            }
            self.all_visible = false;
            return;
        }
        let Self { root, inodes, processes, scratch, users, all_visible, scans, .. } = self;
        let Some(root) = root.as_ref() else { return };
        let walk = *scans;
        let mut unknown = inodes.values().filter(|entry| entry.owner == Owner::Unknown).count();
        scratch.walked.clear();
        list_pids(root, &mut scratch.dir, &mut scratch.pids);
        // Stable: each half stays in pid order, so of several processes sharing a new
        // socket (a forked server's listener) the lowest pid of the first half to hold
        // it wins.
        scratch.pids.sort_by_key(|pid| !processes.contains_key(pid));
        let mut visible = true;
        let mut complete = true;
        for &pid in &scratch.pids {
            if unknown == 0 {
                complete = false;
                break;
            }
            scratch.path.clear();
            let _ = write!(scratch.path, "{pid}");
            let directory = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            // Gone since the listing: normal.
            let Ok(process) = openat(root, scratch.path.as_str(), directory, Mode::empty()) else { continue };
            let fds = match openat(&process, c"fd", directory, Mode::empty()) {
                Ok(fds) => fds,
                Err(Errno::NOENT | Errno::SRCH) => continue,
                // EACCES: another user's process while unprivileged.
                Err(_) => {
                    visible = false;
                    continue;
                }
            };
            scratch.matched.clear();
            let matched = &mut scratch.matched;
            let open_files = walk_fds(&fds, &mut scratch.dir, |inode| {
                let Some(entry) = inodes.get_mut(&inode) else { return };
                if entry.seen != generation {
                    return;
                }
                match entry.owner {
                    Owner::Unknown | Owner::Unowned => matched.push(inode),
                    Owner::Process(owner) if owner.pid == pid => entry.confirmed = walk,
                    Owner::Process(_) => {}
                }
            });
            if let Some(entry) = processes.get_mut(&pid) {
                entry.info.open_files = Some(open_files);
                scratch.walked.push(pid);
            }
            if scratch.matched.is_empty() {
                continue;
            }
            // Exited since its descriptors were read: its sockets are found elsewhere or
            // have closed.
            let Some(stat) = read_at(&process, c"stat", SMALL_FILE_LIMIT, &mut scratch.file)
                .and_then(|()| parse_stat(&scratch.file))
            else {
                continue;
            };
            let identity = Identity { pid, start_time: stat.start_time };
            for inode in &scratch.matched {
                if let Some(entry) = inodes.get_mut(inode) {
                    match entry.owner {
                        Owner::Unknown => unknown -= 1,
                        Owner::Unowned => {}
                        // Found in an earlier process of this walk.
                        Owner::Process(_) => continue,
                    }
                    entry.owner = Owner::Process(identity);
                    entry.confirmed = walk;
                }
            }
            match processes.get_mut(&pid) {
                Some(entry) if entry.info.start_time == stat.start_time => {}
                _ => {
                    let info = read_process(
                        &process,
                        identity,
                        stat.name,
                        open_files,
                        users,
                        now,
                        &mut scratch.file,
                    );
                    processes.insert(pid, ProcessEntry { info, seen: generation.wrapping_sub(1) });
                }
            }
        }
        settle(inodes, &mut scratch.walked, walk);
        // A walk that stopped early saw only some processes: it can only add doubt.
        *all_visible = if complete { visible } else { *all_visible && visible };
    }

    /// The answer for the current call; forgets processes it no longer mentions.
    fn attribution(&mut self) -> Attribution {
        let generation = self.generation;
        let mut owners = Vec::with_capacity(self.requested.len());
        let mut processes = Vec::new();
        // Sockets come in runs of one process: check each run's process once.
        let mut last: Option<Identity> = None;
        for &(inode, owner) in &self.requested {
            let owner = if self.changed {
                match self.inodes.get(&inode) {
                    Some(entry) => entry.owner,
                    None => continue,
                }
            } else {
                owner
            };
            let Owner::Process(owner) = owner else { continue };
            if last != Some(owner) {
                let Some(process) = self.processes.get_mut(&owner.pid) else { continue };
                if process.info.start_time != owner.start_time {
                    continue;
                }
                if process.seen != generation {
                    process.seen = generation;
                    processes.push(process.info.clone());
                }
                last = Some(owner);
            }
            owners.push((inode, owner.pid));
        }
        if self.processes.len() != processes.len() {
            self.processes.retain(|_, process| process.seen == generation);
        }
        Attribution { owners, processes, all_owners_visible: self.all_visible }
    }
}

/// After walk number `walk`: what it looked for and did not find has no owner, until a
/// walk finds it again. The sockets of `walked` known owners that no longer hold them
/// were handed on (a server that forks per connection) or closed: unknown, so the next
/// allowed walk looks through every process for them once.
fn settle(inodes: &mut IntegerMap<u64, InodeEntry>, walked: &mut [u32], walk: u64) {
    walked.sort_unstable();
    for entry in inodes.values_mut() {
        match entry.owner {
            Owner::Unknown => entry.owner = Owner::Unowned,
            Owner::Process(owner) if entry.confirmed != walk && walked.binary_search(&owner.pid).is_ok() => {
                entry.owner = Owner::Unknown;
            }
            _ => {}
        }
    }
}

/// Whether an action last done at `last` may run again at `now`.
fn due(last: Option<Instant>, now: Instant, interval: Duration) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= interval)
}
