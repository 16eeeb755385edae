//! The pass over the connections after a socket table: closes, rates, warnings and
//! the processes still named. With 10,000 sockets it runs every refresh, so a
//! connection the table carried over unchanged and that is quiet
//! ([`ConnectionEntry::quiet`]) is not even read: its [`Quiet`] summary says what the
//! pass needs; and when the table accounts for every open connection, the pass
//! visits only those it read and those it carried over without a summary. No copy of a shared entry, no sample pushed (its sparkline repeats
//! the last one), no warning re-derived from facts that did not change. Counts are
//! kept as entries change, so a connection the pass does not change costs nothing.

use std::sync::Arc;

use crate::model::{Protocol, SocketState};

use super::ConnectionEntry;
use super::table::TableFold;
use super::warnings::{linkage_warnings, raise};
use super::{ConnectionWarnings, Connections};

/// What the refresh pass reads of a quiet open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Quiet {
    pid: Option<u32>,
    /// It has been warned that its process is near its open-file limit.
    fd_warned: bool,
    /// The last table that carried it over unchanged: marked as a table begins,
    /// rather than kept in a set of its 10,000 unchanged cookies built for every
    /// table and probed for every connection.
    pub(super) carried_in: u64,
}

impl Quiet {
    fn of(entry: &ConnectionEntry, table: u64) -> Self {
        Self {
            pid: entry.pid,
            fd_warned: entry.warnings.contains(ConnectionWarnings::NEAR_FD_LIMIT),
            carried_in: table,
        }
    }
}

impl Connections {
    /// One connection after `fold`'s table: a request socket it no longer lists is
    /// dropped (a handshake in the accept queue ends by becoming a new socket with its
    /// own cookie: its vanishing is no close, and no burst), a connection it no longer
    /// lists is closed, the rest get rates, warnings and labels.
    pub(super) fn refresh_one(&mut self, cookie: u64, fold: &mut TableFold) {
        // Quiet, carried over, and no new reason for a warning: the entry itself is
        // not even read. (A table never lists a socket both read and unchanged.)
        let summary = self.quiet.get(&cookie).copied().filter(|summary| summary.carried_in == fold.dump);
        let carried = summary.is_some() || (!fold.carried.is_empty() && fold.carried.contains(&cookie));
        if let Some(summary) = summary
            && self.moves.is_empty()
            && (summary.fd_warned || !fold.under_pressure(summary.pid))
        {
            if let Some(pid) = summary.pid {
                fold.referenced.insert(u64::from(pid));
            }
            return;
        }
        let Some(shared) = self.entries.get_mut(&cookie) else { return };
        let read = !carried && shared.listed_in == fold.dump;
        if shared.socket.state == SocketState::NewSynRecv && !read && !carried {
            self.counts.remove(shared);
            self.entries.remove(&cookie);
            self.quiet.remove(&cookie);
            return;
        }
        // Quiet and carried over: nothing to write. A warning it does not hold yet
        // can only come from a process now near its limit, or a moved route.
        let untouched = carried
            && shared.quiet()
            && self.moves.is_empty()
            && (!fold.under_pressure(shared.pid)
                || shared.warnings.contains(ConnectionWarnings::NEAR_FD_LIMIT));
        // Carried over after a dump had skipped it: open again.
        let reopen = carried && shared.closed_at.is_some() && !shared.closed_by_kernel;
        if reopen || (!untouched && shared.closed_at.is_none()) {
            let entry = Arc::make_mut(shared);
            self.counts.remove(entry);
            if reopen {
                self.closing.reopening(entry);
                entry.reopen();
            }
            if read || carried {
                let limits = self.limits;
                entry.sample_tcp(fold.at.mono, fold.dump, fold.previous);
                let now = entry.current_warnings(fold.at.mono, &limits, fold.under_pressure(entry.pid));
                let linked = linkage_warnings(entry, &self.moves, self.addresses.as_ref());
                raise(
                    entry,
                    ConnectionWarnings(now.0 | linked.0),
                    &self.processes,
                    &limits,
                    &mut fold.raised,
                );
            } else {
                entry.close(fold.at, false, fold.dump);
                self.closing.closed(entry);
            }
            self.counts.add(entry);
        }
        let entry: &ConnectionEntry = shared;
        if carried && entry.quiet() {
            self.quiet.insert(cookie, Quiet::of(entry, fold.dump));
        } else {
            self.quiet.remove(&cookie);
        }
        if let Some(pid) = entry.pid {
            fold.referenced.insert(u64::from(pid));
        }
        fold.short_lived |=
            entry.socket.protocol == Protocol::Tcp && entry.short_lived(self.limits.burst_window);
    }
}
