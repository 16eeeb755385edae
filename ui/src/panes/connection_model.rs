//! The rows of the Connections table: the sockets that pass the filter, flat or
//! grouped by process, in the order of the sort key.
//!
//! The table may hold 100,000 sockets, so a frame never sorts them all: it filters
//! into a vector of references, then uses selection (`select_nth_unstable`) to bring
//! just the rows on screen into place and sorts only those. Finding where the selected
//! connection sits is one counting pass. Both are linear, and keep a 10,000-row frame
//! far inside its budget with no cache to invalidate.

use std::cmp::Ordering;

use netlens_collectors::model::{ProcessInfo, SocketState, Timestamp};
use netlens_collectors::{ConnectionCounts, ConnectionEntry, Store};

pub(crate) use owner::{Owner, owner};

use crate::state::{ConnectionSort, ConnectionsState};
use crate::widgets::table::scroll;

/// The state as the table shows it: `ss`'s short forms for the long names.
pub(crate) const fn short_state(entry: &ConnectionEntry) -> &'static str {
    if entry.closed_at.is_some() {
        return "closed";
    }
    match entry.socket.state {
        SocketState::Established => "estab",
        SocketState::Unconnected => "unconn",
        SocketState::NewSynRecv => "syn_recv",
        SocketState::BoundInactive => "bound",
        other => other.as_str(),
    }
}

/// Established first (what is talking), then connecting, closing, waiting, closed.
const fn state_rank(entry: &ConnectionEntry) -> u8 {
    if entry.closed_at.is_some() {
        return 9;
    }
    match entry.socket.state {
        SocketState::Established => 0,
        SocketState::SynSent | SocketState::SynRecv | SocketState::NewSynRecv => 1,
        SocketState::CloseWait => 2,
        SocketState::FinWait1
        | SocketState::FinWait2
        | SocketState::LastAck
        | SocketState::Closing
        | SocketState::Close => 3,
        SocketState::TimeWait => 4,
        SocketState::Listen => 5,
        SocketState::Unconnected | SocketState::BoundInactive => 6,
    }
}

/// Closed connections left out of the rows, summed up in one line instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Folded {
    /// How many.
    pub count: usize,
    /// When the first of them closed.
    pub since: Option<Timestamp>,
}

/// One connection that passed the filter, with its owner looked up once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conn<'s> {
    /// The connection.
    pub entry: &'s ConnectionEntry,
    /// Its process, when known.
    pub process: Option<&'s ProcessInfo>,
    /// What the default order compares, copied out of the entry: a selection over
    /// 10,000 rows compares tens of thousands of times, and the entries lie scattered
    /// in memory (perf: most of a frame went to cache misses in [`compare`]).
    rank: u8,
    remote: std::net::SocketAddr,
}

impl<'s> Conn<'s> {
    /// `entry`, owned by `process`.
    pub(crate) fn new(entry: &'s ConnectionEntry, process: Option<&'s ProcessInfo>) -> Self {
        Self { entry, process, rank: state_rank(entry), remote: entry.socket.remote }
    }
}

impl Conn<'_> {
    fn name(&self) -> Option<&str> {
        self.process.map(|p| p.name.as_str())
    }

    fn rx(&self) -> Option<f64> {
        self.entry.rates.map(|r| r.rx_bytes_per_s)
    }

    fn tx(&self) -> Option<f64> {
        self.entry.rates.map(|r| r.tx_bytes_per_s)
    }

    /// The smoothed RTT; a zero means no sample yet (a SYN not answered).
    pub(crate) fn rtt(&self) -> Option<f64> {
        self.entry.socket.tcp.map(|tcp| tcp.rtt_ms).filter(|rtt| *rtt > 0.0)
    }

    /// Retransmitted segments, for TCP.
    pub(crate) fn retransmits(&self) -> Option<u32> {
        self.entry.socket.tcp.map(|tcp| tcp.total_retrans)
    }
}

/// Known values first in the requested direction; unknown ones always last.
fn by_value<T: PartialOrd>(a: Option<T>, b: Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let order = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn by_name(a: Option<&str>, b: Option<&str>, descending: bool) -> Ordering {
    by_value(a, b, descending)
}

/// The order of two rows: the key in its direction, then a stable tail (process, peer,
/// cookie) so equal keys never swap between frames.
fn compare(sort: ConnectionSort, descending: bool, now: Timestamp, a: &Conn<'_>, b: &Conn<'_>) -> Ordering {
    let (x, y) = (&a.entry.socket, &b.entry.socket);
    let directed = |order: Ordering| if descending { order.reverse() } else { order };
    let key = match sort {
        ConnectionSort::State => directed(a.rank.cmp(&b.rank)),
        ConnectionSort::Local => directed(x.local.cmp(&y.local)),
        ConnectionSort::Remote => directed(a.remote.cmp(&b.remote)),
        ConnectionSort::Process => by_name(a.name(), b.name(), descending),
        ConnectionSort::Rx => by_value(a.rx(), b.rx(), descending),
        ConnectionSort::Tx => by_value(a.tx(), b.tx(), descending),
        ConnectionSort::Rtt => by_value(a.rtt(), b.rtt(), descending),
        ConnectionSort::Retransmits => by_value(a.retransmits(), b.retransmits(), descending),
        ConnectionSort::Age => directed(a.entry.age(now).cmp(&b.entry.age(now))),
        ConnectionSort::Protocol => directed(x.protocol.cmp(&y.protocol)),
    };
    // One process owns most rows: the same one needs no comparing of names.
    let same_owner = match (a.process, b.process) {
        (Some(first), Some(second)) => std::ptr::eq(first, second),
        (None, None) => true,
        _ => false,
    };
    key.then_with(|| if same_owner { Ordering::Equal } else { by_name(a.name(), b.name(), false) })
        .then_with(|| a.remote.cmp(&b.remote))
        .then_with(|| x.local.cmp(&y.local))
        .then_with(|| x.cookie.cmp(&y.cookie))
}

/// Put the rows of ranks `start..end` (in `order`) into `rows[start..end]`, sorted,
/// without sorting the rest: two selections and a sort of the window.
fn window<T>(rows: &mut [T], start: usize, end: usize, mut order: impl FnMut(&T, &T) -> Ordering) {
    let end = end.min(rows.len());
    if start >= end {
        return;
    }
    if start > 0 {
        rows.select_nth_unstable_by(start, &mut order);
    }
    let tail = &mut rows[start..];
    let len = end - start;
    if len < tail.len() {
        tail.select_nth_unstable_by(len, &mut order);
    }
    tail[..len].sort_unstable_by(order);
}

/// A process (or the unknown owner) with its connections and totals.
#[derive(Debug)]
pub(crate) struct Group<'s> {
    /// The owner; `None` for sockets whose owner is unknown, whatever the reason.
    pub pid: Option<u32>,
    /// Its process, when known.
    pub process: Option<&'s ProcessInfo>,
    /// Its connections that passed the filter, in no order until placed.
    pub rows: Vec<Conn<'s>>,
    /// Sum of the known receive rates.
    pub rx: Option<f64>,
    /// Sum of the known transmit rates.
    pub tx: Option<f64>,
    /// The slowest RTT.
    pub worst_rtt: Option<f64>,
    /// Retransmitted segments, summed.
    pub retransmits: Option<u64>,
    /// The oldest connection's age.
    pub oldest: Option<time::Duration>,
    /// Connections with a warning.
    pub warned: usize,
}

impl<'s> Group<'s> {
    fn new(pid: Option<u32>, process: Option<&'s ProcessInfo>) -> Self {
        Self {
            pid,
            process,
            rows: Vec::new(),
            rx: None,
            tx: None,
            worst_rtt: None,
            retransmits: None,
            oldest: None,
            warned: 0,
        }
    }

    fn add(&mut self, conn: Conn<'s>, now: Timestamp) {
        let add = |total: Option<f64>, value: Option<f64>| match (total, value) {
            (Some(t), Some(v)) => Some(t + v),
            (t, v) => t.or(v),
        };
        self.rx = add(self.rx, conn.rx());
        self.tx = add(self.tx, conn.tx());
        if let Some(rtt) = conn.rtt().filter(|_| conn.entry.closed_at.is_none()) {
            self.worst_rtt = Some(self.worst_rtt.map_or(rtt, |w| w.max(rtt)));
        }
        if let Some(retrans) = conn.retransmits() {
            self.retransmits = Some(self.retransmits.unwrap_or(0) + u64::from(retrans));
        }
        let age = conn.entry.age(now);
        self.oldest = Some(self.oldest.map_or(age, |o| o.max(age)));
        if !conn.entry.warnings.is_empty() {
            self.warned += 1;
        }
        self.rows.push(conn);
    }

    fn name(&self) -> Option<&str> {
        self.process.map(|p| p.name.as_str())
    }
}

fn compare_groups(sort: ConnectionSort, descending: bool, a: &Group<'_>, b: &Group<'_>) -> Ordering {
    let by_owner = || {
        // Unknown owners last, whatever the direction.
        (a.pid.is_none(), a.name(), a.pid).cmp(&(b.pid.is_none(), b.name(), b.pid))
    };
    let key = match sort {
        ConnectionSort::Rx => by_value(a.rx, b.rx, descending),
        ConnectionSort::Tx => by_value(a.tx, b.tx, descending),
        ConnectionSort::Rtt => by_value(a.worst_rtt, b.worst_rtt, descending),
        ConnectionSort::Retransmits => by_value(a.retransmits, b.retransmits, descending),
        ConnectionSort::Age => by_value(a.oldest, b.oldest, descending),
        ConnectionSort::Process => {
            let order = by_owner();
            if descending && a.pid.is_some() && b.pid.is_some() { order.reverse() } else { order }
        }
        ConnectionSort::State | ConnectionSort::Local | ConnectionSort::Remote | ConnectionSort::Protocol => {
            Ordering::Equal
        }
    };
    key.then_with(by_owner)
}

/// One display line of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Line<'m, 's> {
    /// A process heading with its totals (grouped view).
    Group(&'m Group<'s>),
    /// A connection, with its data-row index.
    Conn(Conn<'s>, usize),
}

/// The connections that pass the filter, flat or grouped, placed lazily.
pub(crate) struct Model<'s> {
    sort: ConnectionSort,
    descending: bool,
    now: Timestamp,
    /// Every row, when not grouped.
    flat: Vec<Conn<'s>>,
    /// The groups in display order, when grouped.
    groups: Vec<Group<'s>>,
    grouped: bool,
    /// Counts per state of every connection the filter lets through, closed included.
    matched: ConnectionCounts,
    /// The closed connections the filter let through but the rows leave out.
    folded: Folded,
}

impl<'s> Model<'s> {
    /// Filter the store's connections as the tab's state says.
    pub(crate) fn build(store: &'s Store, state: &ConnectionsState, now: Timestamp) -> Self {
        let connections = store.connections();
        let filter = &state.table.filter;
        let rows =
            connections.iter().filter(|entry| filter.is_empty() || filter.matches(entry, connections, now));
        // Most rows share an owner: the last lookup answers the next.
        let mut last: Option<(u32, Option<&'s ProcessInfo>)> = None;
        let mut conn = move |entry: &'s ConnectionEntry| {
            let process = entry.pid.and_then(|pid| match last {
                Some((known, process)) if known == pid => process,
                _ => {
                    let process = connections.process(pid);
                    last = Some((pid, process));
                    process
                }
            });
            Conn::new(entry, process)
        };
        let (mut matched, mut folded) = (ConnectionCounts::default(), Folded::default());
        let show_closed = state.show_closed || filter.asks_for_closed();
        // Unfiltered, the store's own counts are the same; only a filter needs a tally.
        let counting = !filter.is_empty();
        let rows = rows.filter(|entry| {
            if counting {
                matched.add(entry);
            }
            match entry.closed_at {
                Some(at) if !show_closed => {
                    folded.count += 1;
                    folded.since = Some(folded.since.map_or(at, |since| since.min(at)));
                    false
                }
                _ => true,
            }
        });
        let descending = state.table.descending();
        let mut model = Self {
            sort: state.table.sort,
            descending,
            now,
            flat: Vec::new(),
            groups: Vec::new(),
            grouped: state.grouped,
            matched: ConnectionCounts::default(),
            folded: Folded::default(),
        };
        if state.grouped {
            let mut index: std::collections::HashMap<Option<u32>, usize> = std::collections::HashMap::new();
            for entry in rows {
                let row = conn(entry);
                // Every unknown owner is one group, whatever the reason.
                let pid = row.process.map(|p| p.pid);
                let at = *index.entry(pid).or_insert_with(|| {
                    model.groups.push(Group::new(pid, row.process));
                    model.groups.len() - 1
                });
                model.groups[at].add(row, now);
            }
            model.groups.sort_by(|a, b| compare_groups(state.table.sort, descending, a, b));
        } else {
            model.flat = Vec::with_capacity(connections.len());
            model.flat.extend(rows.map(conn));
        }
        model.matched = if counting { matched } else { connections.counts() };
        model.folded = folded;
        model
    }

    fn order(&self) -> impl Fn(&Conn<'_>, &Conn<'_>) -> Ordering + use<> {
        let (sort, descending, now) = (self.sort, self.descending, self.now);
        move |a, b| compare(sort, descending, now, a, b)
    }

    /// Connections that passed the filter.
    pub(crate) fn rows(&self) -> usize {
        if self.grouped { self.groups.iter().map(|g| g.rows.len()).sum() } else { self.flat.len() }
    }

    /// Counts per state of the connections the filter lets through (the whole table
    /// when there is no filter), closed ones included even when folded.
    pub(crate) const fn matched(&self) -> ConnectionCounts {
        self.matched
    }

    /// The closed connections folded into the summary line.
    pub(crate) const fn folded(&self) -> Folded {
        self.folded
    }

    /// Display lines: rows plus group headings.
    pub(crate) fn lines(&self) -> usize {
        self.rows() + if self.grouped { self.groups.len() } else { 0 }
    }

    /// The groups, when grouped.
    #[cfg(test)]
    pub(crate) fn groups(&self) -> &[Group<'s>] {
        &self.groups
    }

    /// Where the connection with `cookie` sits among the rows, if it passed the filter.
    pub(crate) fn rank_of(&self, cookie: u64) -> Option<usize> {
        let order = self.order();
        let rank = |rows: &[Conn<'_>]| {
            let target = rows.iter().find(|c| c.entry.socket.cookie == cookie)?;
            Some(rows.iter().filter(|c| order(c, target) == Ordering::Less).count())
        };
        if !self.grouped {
            return rank(&self.flat);
        }
        let mut before = 0;
        for group in &self.groups {
            if let Some(r) = rank(&group.rows) {
                return Some(before + r);
            }
            before += group.rows.len();
        }
        None
    }

    /// The connection at row `index`.
    pub(crate) fn row_at(&mut self, index: usize) -> Option<&'s ConnectionEntry> {
        let order = self.order();
        let pick = |rows: &mut [Conn<'s>], i: usize| {
            if i >= rows.len() {
                return None;
            }
            rows.select_nth_unstable_by(i, &order);
            Some(rows[i].entry)
        };
        if !self.grouped {
            return pick(&mut self.flat, index);
        }
        let mut before = 0;
        for group in &mut self.groups {
            if index < before + group.rows.len() {
                return pick(&mut group.rows, index - before);
            }
            before += group.rows.len();
        }
        None
    }

    /// The display line of row `index` (after the headings of its group and those above).
    pub(crate) fn line_of(&self, index: usize) -> usize {
        if !self.grouped {
            return index;
        }
        let mut before = 0;
        for (g, group) in self.groups.iter().enumerate() {
            if index < before + group.rows.len() {
                return index + g + 1;
            }
            before += group.rows.len();
        }
        index + self.groups.len()
    }

    /// The first line to draw so that row `cursor` shows in `visible` lines, starting
    /// from the remembered `offset`; its group's heading comes along when there is room.
    pub(crate) fn offset_for(&self, cursor: usize, offset: usize, visible: usize) -> usize {
        let target = self.line_of(cursor);
        let offset = scroll(offset, target, visible, self.lines());
        if self.grouped && target > 0 && target - 1 < offset && self.is_group_start(cursor) && visible > 1 {
            return target - 1;
        }
        offset
    }

    fn is_group_start(&self, index: usize) -> bool {
        let mut before = 0;
        for group in &self.groups {
            if index == before {
                return true;
            }
            before += group.rows.len();
        }
        false
    }

    /// Lines `offset..offset + count`, in order.
    pub(crate) fn window(&mut self, offset: usize, count: usize) -> Vec<Line<'_, 's>> {
        let order = self.order();
        let end = offset.saturating_add(count);
        if !self.grouped {
            window(&mut self.flat, offset, end, &order);
            let shown = self.flat.get(offset..end.min(self.flat.len())).unwrap_or_default();
            return shown.iter().enumerate().map(|(i, c)| Line::Conn(*c, offset + i)).collect();
        }
        // Place the rows each visible group contributes, then read the lines out.
        let mut line = 0;
        for group in &mut self.groups {
            let first_row_line = line + 1;
            let last = first_row_line + group.rows.len();
            if last > offset && line < end {
                let start = offset.saturating_sub(first_row_line);
                let stop = end.saturating_sub(first_row_line).min(group.rows.len());
                window(&mut group.rows, start, stop, &order);
            }
            line = last;
            if line >= end {
                break;
            }
        }
        let mut lines = Vec::with_capacity(count);
        let (mut line, mut row) = (0, 0);
        for group in &self.groups {
            if line >= end {
                break;
            }
            if line >= offset {
                lines.push(Line::Group(group));
            }
            line += 1;
            for conn in &group.rows {
                if line >= end {
                    break;
                }
                if line >= offset {
                    lines.push(Line::Conn(*conn, row));
                }
                line += 1;
                row += 1;
            }
        }
        lines
    }
}

/// The cursor row and the first line drawn, as they stand: on the selected connection
/// if it still shows, else where the cursor was.
/// With `visible` unknown (before the first frame) the offset stays as it was.
pub(crate) fn placement(
    model: &Model<'_>,
    state: &ConnectionsState,
    visible: Option<usize>,
) -> (usize, usize) {
    let rows = model.rows();
    let cursor = state
        .selected
        .and_then(|cookie| model.rank_of(cookie))
        .unwrap_or(state.table.cursor)
        .min(rows.saturating_sub(1));
    let offset =
        visible.map_or(state.table.offset, |visible| model.offset_for(cursor, state.table.offset, visible));
    (cursor, offset)
}

/// The connections on screen (for reverse-DNS lookups): the open details' connection,
/// or the rows of the table as the last frame drew them (still in the store).
pub(crate) fn on_screen<'s>(store: &'s Store, state: &ConnectionsState) -> Vec<&'s ConnectionEntry> {
    if let Some(open) = state.details {
        return store.connections().get(open.cookie).into_iter().collect();
    }
    state.drawn.iter().filter_map(|cookie| store.connections().get(*cookie)).collect()
}

mod owner;
#[cfg(test)]
mod tests;
