//! The pass over every connection after a socket table: closes, rates, warnings and
//! counts. With 10,000 sockets it runs every refresh, so a connection the table
//! carried over unchanged and that is quiet ([`ConnectionEntry::quiet`]) is not even
//! read: it is counted from its [`Quiet`] summary. No copy of a shared entry, no
//! sample pushed (its sparkline repeats the last one), no warning re-derived from
//! facts that did not change.

use std::collections::HashSet;
use std::sync::Arc;

use crate::clock::{Mono, Stamp};
use crate::event::Notice;
use crate::model::{Protocol, SocketState};

use super::ConnectionEntry;

use super::warnings::{linkage_warnings, near_fd_limit, raise};
use super::{ConnectionCounts, ConnectionWarnings, Connections, CounterHash, MAX_CLOSED, retires};

/// What one socket table listed.
#[derive(Clone, Copy)]
pub(super) struct Listing<'a> {
    /// Its number.
    pub(super) dump: u64,
    /// The cookies it carried over unchanged (the socket watch's).
    pub(super) unchanged: &'a HashSet<u64, CounterHash>,
    /// When the table before was folded.
    pub(super) previous: Option<Mono>,
}

/// What the refresh pass reads of a quiet open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quiet {
    pid: Option<u32>,
    protocol: Protocol,
    state: SocketState,
    /// It has a warning that signals a problem (it counts as warned).
    warned: bool,
    /// It has been warned that its process is near its open-file limit.
    fd_warned: bool,
}

impl Quiet {
    fn of(entry: &ConnectionEntry) -> Self {
        Self {
            pid: entry.pid,
            protocol: entry.socket.protocol,
            state: entry.socket.state,
            warned: !entry.warnings.alarming().is_empty(),
            fd_warned: entry.warnings.contains(ConnectionWarnings::NEAR_FD_LIMIT),
        }
    }
}

impl Connections {
    /// After a socket table: drop the request sockets it no longer lists (a handshake
    /// in the accept queue ends by becoming a new socket with its own cookie: its
    /// vanishing is no close, and no burst), close the connections it no longer lists,
    /// and take rates, warnings and labels from the rest. Returns the notices, and the
    /// counts when no connection is due to retire (else [`Self::retire`] must run,
    /// after the burst labels, which still see the connections it drops).
    pub(super) fn refresh(
        &mut self,
        at: Stamp,
        listing: Listing<'_>,
    ) -> (Vec<Notice>, Option<ConnectionCounts>) {
        let Listing { dump, unchanged, previous } = listing;
        let limits = self.limits;
        let window = limits.burst_window;
        let (processes, moves, addresses) = (&self.processes, &self.moves, self.addresses.as_ref());
        // Collected with their cookies and sorted, so the timeline order does not
        // depend on the hash map's.
        let mut raised: Vec<(u64, Notice)> = Vec::new();
        let mut short_lived = false;
        let (mut counts, mut retiring) = (ConnectionCounts::default(), false);
        // Processes still owning an entry; the rest are dropped after the pass (with
        // the socket watch, tables bring only the owners of the sockets read again).
        let mut referenced: HashSet<u64, CounterHash> = HashSet::default();
        // Few processes, many sockets: judged once per process, not per socket.
        let pressured: HashSet<u64, CounterHash> = processes
            .values()
            .filter(|process| near_fd_limit(process))
            .map(|process| u64::from(process.pid))
            .collect();
        let under_pressure = |pid: Option<u32>| {
            !pressured.is_empty() && pid.is_some_and(|pid| pressured.contains(&u64::from(pid)))
        };
        let quiet = &mut self.quiet;
        self.entries.retain(|cookie, entry| {
            // Quiet, carried over, and no new reason for a warning: counted from its
            // summary, the entry itself not even read. (A table never lists a socket
            // both read and unchanged.)
            let carried = unchanged.contains(cookie);
            if carried
                && let Some(&summary) = quiet.get(cookie)
                && moves.is_empty()
                && (summary.fd_warned || !under_pressure(summary.pid))
            {
                if let Some(pid) = summary.pid {
                    referenced.insert(u64::from(pid));
                }
                counts.add_open(summary.protocol, summary.state, summary.warned);
                return true;
            }
            let read = !carried && entry.listed_in == dump;
            if entry.socket.state == SocketState::NewSynRecv && !read && !carried {
                return false;
            }
            // Quiet and carried over: nothing to write. A warning it does not hold yet
            // can only come from a process now near its limit, or a moved route.
            let untouched = carried
                && entry.quiet()
                && moves.is_empty()
                && (!under_pressure(entry.pid) || entry.warnings.contains(ConnectionWarnings::NEAR_FD_LIMIT));
            // Carried over after a dump had skipped it: open again.
            if carried && entry.closed_at.is_some() && !entry.closed_by_kernel {
                Arc::make_mut(entry).reopen();
            }
            if !untouched && entry.closed_at.is_none() {
                let entry = Arc::make_mut(entry);
                if read || carried {
                    entry.sample_tcp(at.mono, dump, previous);
                    let now = entry.current_warnings(at.mono, &limits, under_pressure(entry.pid));
                    let linked = linkage_warnings(entry, moves, addresses);
                    raise(entry, ConnectionWarnings(now.0 | linked.0), processes, &limits, &mut raised);
                } else {
                    entry.close(at, false, dump);
                }
            }
            if carried && entry.quiet() {
                quiet.insert(*cookie, Quiet::of(entry));
            } else {
                quiet.remove(cookie);
            }
            if let Some(pid) = entry.pid {
                referenced.insert(u64::from(pid));
            }
            short_lived |= entry.socket.protocol == Protocol::Tcp && entry.short_lived(window);
            if retires(entry, at.mono, limits.closed_retention) {
                retiring = true;
            } else {
                counts.add(entry);
            }
            true
        });
        self.processes.retain(|pid, _| referenced.contains(&u64::from(*pid)));
        raised.sort_by_key(|(cookie, _)| *cookie);
        let mut notices: Vec<Notice> = raised.into_iter().map(|(_, notice)| notice).collect();
        if short_lived {
            notices.extend(self.label_bursts_soon(at.mono));
        } else {
            // Nothing to label: only the notice memory ages.
            self.forget_bursts(at.mono);
        }
        let counted = !retiring && counts.closed <= MAX_CLOSED;
        (notices, counted.then_some(counts))
    }
}
