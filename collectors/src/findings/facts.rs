//! Facts several rules quote the same way: who owns a socket, a counter's growth over
//! the last interval, a share in percent.

use crate::Store;
use crate::model::Evidence;
use crate::store::{ConnectionEntry, CounterTable};

/// Who owns a connection: `curl (pid 812)`, `pid 812` or `unknown process`.
pub(super) fn owner(store: &Store, entry: &ConnectionEntry) -> String {
    entry.pid.map_or_else(
        || "unknown process".to_owned(),
        |pid| {
            store
                .connections()
                .process(pid)
                .map_or_else(|| format!("pid {pid}"), |p| format!("{} (pid {pid})", p.name))
        },
    )
}

/// The distinct known owners of `entries`, three at most and how many more:
/// `curl (pid 1), wget (pid 2) and 2 more`; `unknown process` when none is known.
pub(super) fn owners<'a>(store: &Store, entries: impl IntoIterator<Item = &'a ConnectionEntry>) -> String {
    let mut names: Vec<String> =
        entries.into_iter().filter(|entry| entry.pid.is_some()).map(|entry| owner(store, entry)).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return "unknown process".to_owned();
    }
    let more = names.len().saturating_sub(3);
    names.truncate(3);
    let listed = names.join(", ");
    if more == 0 { listed } else { format!("{listed} and {more} more") }
}

/// A counter's growth over the last interval as evidence (`TcpRetransSegs, last 1.0 s`,
/// `+37`), with the growth; `None` without two readings.
pub(super) fn growth(store: &Store, table: CounterTable, name: &str) -> Option<(u64, Evidence)> {
    let delta = store.kernel().delta(table, name)?;
    let interval = store.kernel().interval().unwrap_or(0.0);
    Some((delta, Evidence::new(format!("{name}, last {interval:.1} s"), format!("+{delta}"))))
}

/// `part` as a percentage of `whole` (0 when `whole` is).
#[expect(clippy::cast_precision_loss, reason = "a percentage")]
pub(super) fn percent_of(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}
