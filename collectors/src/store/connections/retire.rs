//! Retiring closed connections: by close time, from an ordered set of them, so a
//! table costs what it retires, not a pass over every connection and a sort of the
//! closed ones (a connection storm keeps 20,000 closed: 6–20 ms a table, measured
//! with `examples/owner_latency.rs`).

use std::collections::BTreeSet;

use crate::clock::Mono;

use super::work::STRIDE;
use super::{ConnectionEntry, Connections, MAX_CLOSED};

/// Every closed connection the store holds, by (close time, cookie).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Closing(BTreeSet<(Mono, u64)>);

impl Closing {
    /// `entry` has just closed.
    pub(super) fn closed(&mut self, entry: &ConnectionEntry) {
        if let Some(at) = entry.clock.closed {
            self.0.insert((at, entry.socket.cookie));
        }
    }

    /// `entry` is about to open again (or to go).
    pub(super) fn reopening(&mut self, entry: &ConnectionEntry) {
        if let Some(at) = entry.clock.closed {
            self.0.remove(&(at, entry.socket.cookie));
        }
    }

    /// How many closed connections there are.
    #[cfg(debug_assertions)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Connections {
    /// Drop connections closed longer ago than the retention at `at` and, past
    /// [`MAX_CLOSED`], the longest closed (heavy churn must not grow memory with the
    /// connection rate). Returns whether it is done; `stop` is asked every
    /// [`STRIDE`] connections.
    pub(super) fn retire(&mut self, at: Mono, stop: &mut dyn FnMut() -> bool) -> bool {
        let retention = self.limits.closed_retention;
        let mut retired = 0_usize;
        while let Some(&(closed, cookie)) = self.closing.0.first() {
            if at - closed <= retention && self.counts.closed <= MAX_CLOSED {
                return true;
            }
            self.closing.0.pop_first();
            if let Some(entry) = self.entries.remove(&cookie) {
                self.counts.remove(&entry);
            }
            self.quiet.remove(&cookie);
            retired += 1;
            if retired.is_multiple_of(STRIDE) && stop() {
                return false;
            }
        }
        true
    }
}
