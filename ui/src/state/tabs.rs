//! What each tab remembers: its table (see [`TableState`]), its open details view,
//! and the few things peculiar to it.

use netlens_collectors::model::Timestamp;

use super::sort::{ConnectionSort, InterfaceSort, Newest, PathSort, RouteSort};
use super::table::{Scroll, TableState};
use crate::conn_filter::ConnFilter;
use crate::filter::Filter;

/// The open details view of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDetails {
    /// The target, in canonical form (its identity in the store).
    pub(crate) target: String,
    /// How far it is scrolled.
    pub(crate) scroll: Scroll,
}

/// The Paths tab. The cursor counts rows the filter lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathsState {
    pub(crate) table: TableState<PathSort, Filter>,
    pub(crate) details: Option<PathDetails>,
}

/// Which part of the DNS tab the movement keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsFocus {
    /// The live query log: rows move.
    #[default]
    Log,
    /// The trace view: it scrolls (and takes the log's room on a short screen).
    Trace,
}

/// A trace asked for whose result has not reached the store yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTrace {
    /// The name as typed (trimmed).
    pub(crate) name: String,
    /// The store's latest event when it was asked: a trace of the name that started
    /// before this is an older one.
    pub(crate) since: Timestamp,
}

/// The DNS tab. The log cursor counts from the newest query the filter lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsState {
    pub(crate) table: TableState<Newest, Filter>,
    /// `Dns::logged()` when the cursor was last placed: queries that arrived since push
    /// the selected one down, and the cursor follows it (on the newest row it stays on
    /// the newest).
    pub(crate) anchor: u64,
    pub(crate) focus: DnsFocus,
    /// How far the trace view is scrolled.
    pub(crate) trace: Scroll,
    pub(crate) pending: Option<PendingTrace>,
}

/// The open details view of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionDetails {
    /// The kernel's socket cookie (addresses and owners can repeat; cookies do not).
    pub(crate) cookie: u64,
    /// How far it is scrolled.
    pub(crate) scroll: Scroll,
}

/// The Connections tab. The selection is kept by socket cookie, so it stays on the
/// same connection while rows come, go and reorder under it every refresh; the cursor
/// is where it was last seen, for when it goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionsState {
    pub(crate) table: TableState<ConnectionSort, ConnFilter>,
    pub(crate) selected: Option<u64>,
    pub(crate) grouped: bool,
    /// Closed rows are listed; otherwise they fold into one summary line.
    pub(crate) show_closed: bool,
    pub(crate) details: Option<ConnectionDetails>,
    /// The cookies of the rows the last frame drew, in order: what reverse-DNS names
    /// are asked for, without placing 10,000 rows a second time per frame.
    pub(crate) drawn: Vec<u64>,
}

/// The open details view of one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Details {
    /// Kernel index of the interface (names change; indexes do not).
    pub(crate) index: u32,
    /// How far it is scrolled.
    pub(crate) scroll: Scroll,
}

/// The Interfaces tab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfacesState {
    pub(crate) table: TableState<InterfaceSort, Filter>,
    pub(crate) details: Option<Details>,
}

/// The Routes tab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutesState {
    pub(crate) table: TableState<RouteSort, Filter>,
}

/// The open details overlay of one timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDetails {
    /// Which entry: its place in the order of arrival (`Timeline::appended()` counts
    /// them), which newer entries do not change.
    pub(crate) serial: u64,
    /// How far it is scrolled.
    pub(crate) scroll: Scroll,
}

/// The Events tab. The cursor counts from the newest entry the filter lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsState {
    pub(crate) table: TableState<Newest, Filter>,
    /// `Timeline::appended()` when the cursor was last placed: entries that arrived
    /// since push the selected one down, and the cursor follows it.
    pub(crate) anchor: u64,
    /// Whether the list stays on the newest entry.
    pub(crate) follow: bool,
    /// The entry shown whole (Enter), if any.
    pub(crate) details: Option<EventDetails>,
}

impl Default for EventsState {
    fn default() -> Self {
        Self { table: TableState::default(), anchor: 0, follow: true, details: None }
    }
}

/// The Overview: which open finding the cursor is on, and the one shown whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverviewState {
    /// Position in the open findings, most severe first.
    pub(crate) cursor: usize,
    /// The finding shown whole (Enter), if any.
    pub(crate) details: Option<FindingDetails>,
}

/// A finding shown whole: evidence, cause and fix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindingDetails {
    /// The finding's id (`rule:subject`): it stays the same while the problem lasts,
    /// and after it closes the view shows the closed finding.
    pub(crate) id: String,
    /// How far it is scrolled.
    pub(crate) scroll: Scroll,
}

/// Every tab's state, one field per tab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tabs {
    pub(crate) overview: OverviewState,
    pub(crate) interfaces: InterfacesState,
    pub(crate) paths: PathsState,
    pub(crate) dns: DnsState,
    pub(crate) connections: ConnectionsState,
    pub(crate) routes: RoutesState,
    pub(crate) events: EventsState,
}
