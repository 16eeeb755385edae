//! Joining a dump with its owners: the BPF book first (by socket cookie, exact),
//! the `/proc` walk only for the sockets the book does not know (sockets older than
//! netlens, accepted sockets, records a full ring lost). That split is what keeps
//! 10,000 sockets cheap: the walk's cost is paid only for what BPF missed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::process::ProcessIndex;
use super::process::cards::{Actor, ProcessCards};
use crate::attribution::{ActOwner, BpfAttribution};
use crate::model::{Attribution, ClosedOwners, ProcessInfo, Socket, SocketOrigin};

/// Owners of one dump.
#[derive(Debug, Default)]
pub struct Joined {
    /// `(inode, pid)`.
    pub owners: Vec<(u64, u32)>,
    /// `(cookie, pid)` of owned sockets without an inode (time-wait remnants).
    pub cookie_owners: Vec<(u64, u32)>,
    /// The processes named.
    pub processes: Vec<ProcessInfo>,
    /// `(cookie, origin)` for every owned socket.
    pub origins: Vec<(u64, SocketOrigin)>,
    /// Whether other users' processes could be walked.
    pub all_owners_visible: bool,
}

/// The join; see the module documentation.
#[derive(Debug)]
pub struct OwnerJoin {
    processes: ProcessIndex,
    cards: ProcessCards,
    bpf: Option<BpfAttribution>,
    inodes: Vec<u64>,
    live: Vec<u64>,
    /// Joins so far: when the book is next trimmed to the live sockets.
    joins: u64,
}

/// The BPF book is trimmed to the live sockets every this many joins.
const RETAIN_EVERY: u64 = 10;

impl OwnerJoin {
    /// A join over the processes under `proc_root`, with the BPF book when attached.
    #[must_use]
    pub fn new(proc_root: PathBuf, bpf: Option<BpfAttribution>) -> Self {
        Self {
            processes: ProcessIndex::new(proc_root.clone()),
            cards: ProcessCards::new(proc_root),
            bpf,
            inodes: Vec::new(),
            live: Vec::new(),
            joins: 0,
        }
    }

    /// The `/proc` index (benchmarks read its counters).
    #[must_use]
    pub const fn processes(&self) -> &ProcessIndex {
        &self.processes
    }

    /// Owners of `sockets`. `unchanged` are the cookies of sockets also still open
    /// whose owners the receiver already has, and `unchanged_inodes` their inodes
    /// where known: the book and the `/proc` index keep them.
    pub fn join(
        &mut self,
        sockets: &[Socket],
        unchanged: &[u64],
        unchanged_inodes: &[u64],
        now: Instant,
    ) -> Joined {
        let known: HashMap<u64, ActOwner> = match &self.bpf {
            Some(bpf) => {
                let known: HashMap<u64, ActOwner> =
                    bpf.owners_of(sockets.iter().map(|socket| socket.cookie)).into_iter().collect();
                // The book drops owners of closed sockets only past its recent window:
                // every tenth join is soon enough, and spares sorting 10,000 cookies a
                // refresh (an empty book needs nothing).
                self.joins = self.joins.wrapping_add(1);
                if self.joins.is_multiple_of(RETAIN_EVERY) && bpf.owners_held() > 0 {
                    self.live.clear();
                    self.live.extend(sockets.iter().map(|socket| socket.cookie));
                    self.live.extend_from_slice(unchanged);
                    self.live.sort_unstable();
                    bpf.retain_live(&self.live);
                }
                known
            }
            None => HashMap::new(),
        };
        self.inodes.clear();
        // Time-wait and request sockets have no inode, and no process.
        self.inodes.extend(
            sockets
                .iter()
                .filter(|socket| socket.inode != 0 && !known.contains_key(&socket.cookie))
                .map(|socket| socket.inode),
        );
        let walked = self.processes.resolve_keeping(&self.inodes, unchanged_inodes, now);
        let mut joined = Joined {
            owners: walked.owners,
            cookie_owners: Vec::new(),
            processes: walked.processes,
            origins: Vec::new(),
            all_owners_visible: walked.all_owners_visible,
        };
        if known.is_empty() && joined.owners.is_empty() {
            return joined;
        }
        let by_inode: HashMap<u64, u32> = joined.owners.iter().copied().collect();
        let mut cgroups: HashMap<u32, Option<Arc<str>>> = HashMap::new();
        for process in &joined.processes {
            cgroups.insert(process.pid, self.cards.cgroup(process));
        }
        let mut described: HashSet<u32> = joined.processes.iter().map(|process| process.pid).collect();
        for socket in sockets {
            if let Some(owner) = known.get(&socket.cookie) {
                if socket.inode == 0 {
                    joined.cookie_owners.push((socket.cookie, owner.pid));
                } else {
                    joined.owners.push((socket.inode, owner.pid));
                }
                if described.insert(owner.pid) {
                    joined.processes.push(self.cards.actor(actor(owner), now));
                }
                let origin = SocketOrigin { attribution: Attribution::Bpf, cgroup: owner.cgroup.clone() };
                joined.origins.push((socket.cookie, origin));
            } else if let Some(&pid) = by_inode.get(&socket.inode) {
                let cgroup = cgroups.get(&pid).cloned().flatten();
                joined.origins.push((socket.cookie, SocketOrigin { attribution: Attribution::Proc, cgroup }));
            }
        }
        joined
    }
}

fn actor(owner: &ActOwner) -> Actor<'_> {
    Actor { pid: owner.pid, comm: &owner.comm, uid: owner.uid, at_ns: owner.at_ns }
}

/// Owners of sockets the kernel destroyed between dumps, from the BPF book:
/// without it, a connection shorter than a refresh has no owner.
pub fn closed_owners(bpf: &BpfAttribution, cards: &mut ProcessCards, sockets: &[Socket]) -> ClosedOwners {
    let now = Instant::now();
    let mut closed = ClosedOwners::default();
    let mut described: HashSet<u32> = HashSet::new();
    for (cookie, owner) in bpf.owners_of(sockets.iter().map(|socket| socket.cookie)) {
        if described.insert(owner.pid) {
            closed.processes.push(cards.actor(actor(&owner), now));
        }
        let origin = SocketOrigin { attribution: Attribution::Bpf, cgroup: owner.cgroup.clone() };
        closed.owners.push((cookie, owner.pid, origin));
    }
    closed
}
