//! Folding one socket table, in stages a slice at a time ([`super::work`]): its
//! sockets, then the pass over every connection ([`super::refresh`]), burst labels
//! and retirement.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::clock::{Mono, Stamp};
use crate::event::Notice;
use crate::model::{ProcessInfo, Socket, SocketOrigin, SocketState, SocketTable};

use super::bursts::LabelFold;
use super::warnings::near_fd_limit;
use super::work::{Job, STRIDE};
use super::{ConnectionEntry, Connections, CounterHash, CounterMap};

/// A socket table being folded.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TableFold {
    /// When the table was taken.
    pub(super) at: Stamp,
    stage: Stage,
    /// Its number.
    pub(super) dump: u64,
    /// When the table before was folded.
    pub(super) previous: Option<Mono>,
    /// Whether a table came before (else what it lists predates netlens).
    opened: bool,
    /// The sockets left to fold.
    sockets: VecDeque<Socket>,
    by_inode: CounterMap<u64, u32>,
    by_cookie: CounterMap<u64, u32>,
    origins: CounterMap<u64, SocketOrigin>,
    /// The cookies it carried over unchanged (the socket watch's), until they are
    /// marked in their quiet summaries.
    unchanged: Vec<u64>,
    /// Those it carried over that have no quiet summary.
    pub(super) carried: HashSet<u64, CounterHash>,
    /// The connections the pass visits, and how far it got: every one, or (when
    /// the table accounts for every open connection) only those it read and those it
    /// carried over without a quiet summary. At 10,000 quiet connections a full
    /// pass is most of a table's cost, and finds nothing to do.
    keys: Vec<u64>,
    next: usize,
    /// The cookies it read (each once).
    read: Vec<u64>,
    /// How many it carried over with a quiet summary: open connections, all.
    marked: usize,
    /// Of the connections read and carried over without a summary, the open ones.
    open: usize,
    /// An event was folded in the middle: the tallies may be off, so the full pass
    /// runs.
    pub(super) disturbed: bool,
    /// Processes near their open-file limit (few processes, many sockets: judged
    /// once per process, not per socket).
    pub(super) pressured: HashSet<u64, CounterHash>,
    /// Processes still owning a connection; the rest are dropped after the pass (with
    /// the socket watch, tables bring only the owners of the sockets read again).
    pub(super) referenced: HashSet<u64, CounterHash>,
    /// Warnings raised, with their cookies: sorted, so the timeline's order does not
    /// depend on the hash map's.
    pub(super) raised: Vec<(u64, Notice)>,
    /// Whether the pass met a short TCP connection (burst labels are due).
    pub(super) short_lived: bool,
    notices: Vec<Notice>,
}

/// Where a table's fold is.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Carried,
    Sockets,
    Tally,
    /// The pass, over every connection or not.
    Refresh {
        full: bool,
    },
    Labels(Box<LabelFold>),
    Retire,
}

impl TableFold {
    /// Whether `pid` belongs to a process near its open-file limit.
    pub(super) fn under_pressure(&self, pid: Option<u32>) -> bool {
        !self.pressured.is_empty() && pid.is_some_and(|pid| self.pressured.contains(&u64::from(pid)))
    }
}

impl Connections {
    /// Start folding a complete table (finishing whatever was pending first:
    /// [`crate::Store::fold`] makes sure nothing is).
    ///
    /// With 10,000 sockets this runs on every refresh, so it touches each entry as few
    /// times as it can: one lookup per listed socket, then one pass that drops vanished
    /// request sockets, closes what the table no longer lists and derives rates and
    /// warnings, then burst labels, then retirement by close time.
    pub(crate) fn begin_table(&mut self, at: Stamp, table: SocketTable) -> Vec<Notice> {
        let notices = self.finish();
        let SocketTable {
            sockets,
            unchanged,
            owners,
            cookie_owners,
            processes,
            all_owners_visible,
            route_moves,
            origins,
        } = table;
        self.moves = route_moves.into_iter().map(|moved| ((moved.local, moved.remote), moved)).collect();
        let mut by_inode: CounterMap<u64, u32> =
            HashMap::with_capacity_and_hasher(owners.len(), CounterHash::default());
        by_inode.extend(owners);
        let mut by_origin: CounterMap<u64, SocketOrigin> =
            HashMap::with_capacity_and_hasher(origins.len(), CounterHash::default());
        by_origin.extend(origins);
        // The owners of the sockets read now replace what was known of them; the
        // others (a table with the socket watch lists only what changed, and closed
        // and `time_wait` connections keep naming the process that left) stay until
        // the pass finds no connection naming them.
        self.processes.extend(processes.into_iter().map(|process| (process.pid, process)));
        self.all_owners_visible = all_owners_visible;
        let opened = self.dumps > 0;
        self.dumps += 1;
        self.entries.reserve(sockets.len().saturating_sub(self.entries.len()));
        let pressured = pressured(&self.processes);
        let fold = TableFold {
            at,
            stage: Stage::Carried,
            dump: self.dumps,
            previous: self.last_table.replace(at.mono),
            opened,
            sockets: sockets.into(),
            by_inode,
            by_cookie: cookie_owners.into_iter().collect(),
            origins: by_origin,
            unchanged,
            carried: HashSet::default(),
            keys: Vec::new(),
            next: 0,
            read: Vec::new(),
            marked: 0,
            open: 0,
            disturbed: false,
            pressured,
            referenced: HashSet::default(),
            raised: Vec::new(),
            short_lived: false,
            notices: Vec::new(),
        };
        self.job = Some(Job::Table(Box::new(fold)));
        notices
    }

    /// Go on with `fold` until `stop`; its notices once it is done.
    pub(super) fn table_step(
        &mut self,
        fold: &mut TableFold,
        stop: &mut dyn FnMut() -> bool,
    ) -> Option<Vec<Notice>> {
        loop {
            match &mut fold.stage {
                Stage::Carried => {
                    if !self.mark_carried(fold, stop) {
                        return None;
                    }
                    fold.stage = Stage::Sockets;
                }
                Stage::Sockets => {
                    if !self.fold_sockets(fold, stop) {
                        return None;
                    }
                    fold.keys = std::mem::take(&mut fold.read);
                    fold.keys.extend(fold.carried.iter().copied());
                    fold.stage = Stage::Tally;
                }
                Stage::Tally => {
                    while let Some(cookie) = fold.keys.get(fold.next) {
                        fold.open +=
                            usize::from(self.entries.get(cookie).is_some_and(|e| e.closed_at.is_none()));
                        fold.next += 1;
                        if fold.next.is_multiple_of(STRIDE) && stop() {
                            return None;
                        }
                    }
                    // Every open connection read or carried over, no route moved and no
                    // process near its limit: only those read or without a summary
                    // need a visit. Else every connection does.
                    let full = fold.disturbed
                        || !self.moves.is_empty()
                        || !fold.pressured.is_empty()
                        || fold.marked + fold.open != self.counts.tcp + self.counts.udp;
                    if full {
                        fold.keys = self.entries.keys().copied().collect();
                    }
                    fold.next = 0;
                    fold.stage = Stage::Refresh { full };
                }
                &mut Stage::Refresh { full } => {
                    while let Some(&cookie) = fold.keys.get(fold.next) {
                        self.refresh_one(cookie, fold);
                        fold.next += 1;
                        if fold.next.is_multiple_of(STRIDE) && stop() {
                            return None;
                        }
                    }
                    fold.keys = Vec::new();
                    // Processes no connection names any more go, when the pass saw them all.
                    if full {
                        let referenced = std::mem::take(&mut fold.referenced);
                        self.processes.retain(|pid, _| referenced.contains(&u64::from(*pid)));
                    }
                    let mut raised = std::mem::take(&mut fold.raised);
                    raised.sort_by_key(|(cookie, _)| *cookie);
                    fold.notices.extend(raised.into_iter().map(|(_, notice)| notice));
                    fold.stage = match self.labels_due(fold.at, fold.short_lived) {
                        Some(labels) => Stage::Labels(Box::new(labels)),
                        None => Stage::Retire,
                    };
                }
                Stage::Labels(labels) => {
                    fold.notices.extend(self.fold_labels(labels, stop)?);
                    fold.stage = Stage::Retire;
                }
                Stage::Retire => {
                    if !self.retire(fold.at.mono, stop) {
                        return None;
                    }
                    #[cfg(debug_assertions)]
                    self.check_books();
                    return Some(std::mem::take(&mut fold.notices));
                }
            }
        }
    }

    /// Mark the connections the table carried over in their quiet summaries (the
    /// others are remembered); whether all are.
    fn mark_carried(&mut self, fold: &mut TableFold, stop: &mut dyn FnMut() -> bool) -> bool {
        let mut marked = 0_usize;
        while let Some(cookie) = fold.unchanged.pop() {
            match self.quiet.get_mut(&cookie) {
                Some(summary) => {
                    summary.carried_in = fold.dump;
                    fold.marked += 1;
                }
                None => {
                    fold.carried.insert(cookie);
                }
            }
            marked += 1;
            if marked.is_multiple_of(STRIDE) && stop() {
                return fold.unchanged.is_empty();
            }
        }
        fold.unchanged = Vec::new();
        true
    }

    /// Fold the table's sockets into their entries; whether all are.
    fn fold_sockets(&mut self, fold: &mut TableFold, stop: &mut dyn FnMut() -> bool) -> bool {
        let capacity = self.limits.history_capacity;
        let (dump, at) = (fold.dump, fold.at);
        let mut folded = 0_usize;
        while let Some(socket) = fold.sockets.pop_front() {
            self.quiet.remove(&socket.cookie);
            let pid = if socket.inode == 0 {
                fold.by_cookie.get(&socket.cookie).copied()
            } else {
                fold.by_inode.get(&socket.inode).copied()
            };
            match self.entries.get_mut(&socket.cookie).map(Arc::make_mut) {
                // Back in a table: it was only skipped by an earlier one (a dump of a
                // changing table can miss live sockets), or a connection the kernel
                // destroyed left its `time_wait` remnant under the same cookie.
                Some(entry)
                    if entry.closed_at.is_none()
                        || !entry.closed_by_kernel
                        || socket.state == SocketState::TimeWait =>
                {
                    if entry.listed_in != dump {
                        fold.read.push(socket.cookie);
                    }
                    self.counts.remove(entry);
                    self.closing.reopening(entry);
                    entry.reopen();
                    entry.listed_in = dump;
                    // A socket with an inode has the owner the index says now (it may
                    // have been handed to a child); a `time_wait` remnant keeps its last.
                    entry.pid = if socket.inode == 0 { pid.or(entry.pid) } else { pid };
                    let origin = fold.origins.remove(&socket.cookie);
                    entry.origin = if socket.inode == 0 { origin.or(entry.origin.take()) } else { origin };
                    entry.update(socket, at.mono);
                    self.counts.add(entry);
                }
                Some(entry) => {
                    if entry.listed_in != dump {
                        fold.read.push(socket.cookie);
                    }
                    entry.listed_in = dump;
                }
                None => {
                    fold.read.push(socket.cookie);
                    let mut entry = ConnectionEntry::new(socket, at, fold.opened, capacity);
                    entry.pid = pid;
                    entry.origin = fold.origins.remove(&entry.socket.cookie);
                    entry.listed_in = dump;
                    self.counts.add(&entry);
                    self.entries.insert(entry.socket.cookie, Arc::new(entry));
                }
            }
            folded += 1;
            if folded.is_multiple_of(STRIDE) && stop() {
                return fold.sockets.is_empty();
            }
        }
        true
    }
}

/// The pids of processes near their open-file limit.
fn pressured(processes: &HashMap<u32, ProcessInfo>) -> HashSet<u64, CounterHash> {
    processes
        .values()
        .filter(|process| near_fd_limit(process))
        .map(|process| u64::from(process.pid))
        .collect()
}
