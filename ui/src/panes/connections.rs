//! The Connections tab: every socket with its state, endpoints (the peer's reverse-DNS
//! name when known), owning process, rates, RTT, retransmits and age; counts per state
//! above; optionally grouped by process with per-process totals; Enter opens details.
//! The rows and their order are [`super::connection_model`]'s job.

use std::net::{IpAddr, SocketAddr};

use netlens_collectors::model::{ProcessInfo, Protocol, SourceId, SourceState, Timestamp};
use netlens_collectors::{ConnectionCounts, Connections, Store};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::connection_details;
use super::connection_model::{Conn, Folded, Group, Line, Model, placement, short_state};
use super::tones::socket_state_style;
use crate::context::Paint;
use crate::format::{Millis, Rate, Span};
use crate::state::{ConnectionSort, ConnectionsState, SortKey};
use crate::theme::Theme;
use crate::widgets::banner::source_banner;
use crate::widgets::marks::{note, position, scroll_marks};
use crate::widgets::pane::{filter_title, pane};
use crate::widgets::split_top;
use crate::widgets::table::{Column, Layout, Measure, Row, header};
use crate::widgets::text::{Scratch, put, put_spans, width};

const MARK: usize = 0;
const PROTO: usize = 1;
const STATE: usize = 2;
const LOCAL: usize = 3;
const REMOTE: usize = 4;
const PROCESS: usize = 5;
const RX: usize = 6;
const TX: usize = 7;
const RTT: usize = 8;
const RETRANS: usize = 9;
const AGE: usize = 10;

/// The peer, the state and the owner survive the narrowest screens; at 80 columns the
/// rates, RTT and the local end still fit; protocol, age and retransmits come with
/// width (details always show them).
pub(crate) const COLUMNS: [Column; 11] = [
    Column::left("", 1, 1, 0, 9),
    Column::left("PROTO", 5, 5, 5, 9),
    Column::left("STATE", 10, 10, 0, 9),
    Column::left("LOCAL", 8, 47, 3, 1),
    Column::left("REMOTE", 16, 60, 0, 2),
    Column::left("PROCESS", 10, 24, 1, 0),
    Column::right("RX", 9, 1),
    Column::right("TX", 9, 2),
    Column::right("RTT", 6, 2),
    Column::right("RETR", 4, 6),
    Column::right("AGE", 6, 4),
];

/// A preview of the selected connection appears below the table when at least this
/// many rows are left over.
const PREVIEW_MIN: u16 = 10;

/// The column a sort key marks with an arrow.
const fn sort_column(sort: ConnectionSort) -> usize {
    match sort {
        ConnectionSort::State => STATE,
        ConnectionSort::Local => LOCAL,
        ConnectionSort::Remote => REMOTE,
        ConnectionSort::Process => PROCESS,
        ConnectionSort::Rx => RX,
        ConnectionSort::Tx => TX,
        ConnectionSort::Rtt => RTT,
        ConnectionSort::Retransmits => RETRANS,
        ConnectionSort::Age => AGE,
        ConnectionSort::Protocol => PROTO,
    }
}

/// Lines the tab spends above its rows inside the pane: a degraded-source banner, the
/// counts, a note about hidden owners or unavailable rates, the heading.
fn chrome_lines(store: &Store) -> u16 {
    let banner = store
        .source(SourceId::Connections)
        .is_some_and(|s| matches!(s.status, SourceState::Degraded | SourceState::Failed));
    2 + u16::from(banner) + u16::from(caveats(store).is_some())
}

/// The marks of the first column, explained on the counts line.
pub(crate) const LEGEND: &str = "! warned  ~ noted";

/// What the table cannot show, said once instead of on every row: owners of other
/// users' sockets, and UDP rates without packet capture.
fn caveats(store: &Store) -> Option<String> {
    let connections = store.connections();
    let mut parts = Vec::new();
    if connections.has_data() && !connections.all_owners_visible() {
        parts.push("– owner unknown: other users' sockets need root or CAP_SYS_PTRACE".to_owned());
    }
    let capture = store.source(SourceId::Capture);
    if connections.counts().udp > 0 && capture.is_none_or(|c| c.status != SourceState::Ok) {
        let why = capture
            .filter(|c| !c.detail.is_empty())
            .map_or_else(|| "packet capture is not running".to_owned(), |c| c.detail.clone());
        parts.push(format!("UDP rates n/a: {why}"));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// The line that stands for the folded closed rows.
pub(crate) fn folded_text(folded: Folded, now: Timestamp, key: &str) -> String {
    let span = folded.since.map_or(0, |since| (now - since).whole_seconds().max(0).unsigned_abs());
    format!("{} closed in the last {} — {key} shows them", folded.count, Span(span.max(1)))
}

/// Counts per state, most telling first, so a narrow line cuts the least useful.
pub(crate) fn count_spans(counts: ConnectionCounts, theme: &Theme) -> Vec<(String, Style)> {
    let mut spans: Vec<(String, Style)> = Vec::new();
    let mut push = |n: usize, what: &str, style: Style, always: bool| {
        if n == 0 && !always {
            return;
        }
        if !spans.is_empty() {
            spans.push((" · ".to_owned(), theme.muted()));
        }
        spans.push((n.to_string(), style));
        spans.push((format!(" {what}"), theme.muted()));
    };
    push(counts.established, "established", theme.established(), true);
    push(counts.listen, "listening", theme.listening(), true);
    push(counts.warned, "warned", theme.warn(), false);
    push(counts.connecting, "connecting", theme.connecting(), false);
    push(counts.closing, "closing", theme.closing(), false);
    push(counts.time_wait, "time_wait", theme.closing(), false);
    push(counts.unconnected, "unconnected", theme.listening(), false);
    push(counts.closed, "closed", theme.closed(), false);
    spans.push((format!("  tcp {} · udp {}", counts.tcp, counts.udp), theme.muted()));
    spans
}

/// Draw the tab (or the details view, when one is open).
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &mut ConnectionsState, ctx: &Paint<'_>) {
    let Paint { store, theme, now, keys } = *ctx;
    let connections = store.connections();
    state.drawn.clear();
    let mut model = Model::build(store, state, now);
    let folded = model.folded();
    let buf = frame.buffer_mut();
    // A short table leaves room below it: preview the selected connection there.
    let table_height =
        (model.lines() as u16).saturating_add(chrome_lines(store) + 2 + u16::from(folded.count > 0));
    let (area, preview_area) = if model.rows() > 0 && area.height >= table_height.saturating_add(PREVIEW_MIN)
    {
        split_top(area, table_height)
    } else {
        (area, Rect::default())
    };

    let matched = model.matched();
    let closed_key = keys.of("closed").unwrap_or("c");
    let inner = frame_pane(buf, area, state, matched, ctx);
    let inner = source_banner(buf, inner, store, SourceId::Connections, theme);
    if inner.is_empty() {
        return;
    }
    let mut y = inner.y;
    counts_line(buf, Rect::new(inner.x + 1, y, inner.width.saturating_sub(1), 1), matched, theme);
    y += 1;
    if let Some(caveat) = caveats(store)
        && y < inner.bottom()
    {
        put(buf, inner.x + 1, y, inner.width.saturating_sub(1), &caveat, theme.muted());
        y += 1;
    }
    if y >= inner.bottom() {
        return;
    }
    let sorted = Some((sort_column(state.table.sort), state.table.descending()));
    let body = Rect::new(inner.x, y + 1, inner.width, inner.bottom().saturating_sub(y + 1));
    let folded_line = (folded.count > 0).then(|| folded_text(folded, now, closed_key));
    if model.rows() == 0 {
        header(buf, y, &COLUMNS, &Layout::new(&COLUMNS, inner.x, inner.width), theme, sorted);
        let text = empty_note(store, state, folded_line);
        note(buf, body, &text, theme.muted());
        return;
    }
    // The closed line keeps the last line of the body when the rows fill it.
    let visible = usize::from(body.height.saturating_sub(u16::from(folded_line.is_some())));
    let (cursor, offset) = placement(&model, state, Some(visible));
    state.table.record(offset, visible);
    let total_lines = model.lines();
    let lines = model.window(offset, visible);
    state.drawn.extend(lines.iter().filter_map(|line| match line {
        Line::Conn(conn, _) => Some(conn.entry.socket.cookie),
        Line::Group(_) => None,
    }));
    let layout = fit_rows(&lines, connections, inner);
    header(buf, y, &COLUMNS, &layout, theme, sorted);
    let mut painter = Painter { theme, body, layout, now, connections, store, scratch: Scratch::default() };
    let mut selected = None;
    let mut after = body.y;
    for (line, y) in lines.into_iter().zip(body.top()..body.bottom()) {
        match line {
            Line::Group(group) => painter.group(buf, y, group),
            Line::Conn(conn, index) => {
                if index == cursor {
                    selected = Some(conn.entry);
                }
                painter.row(buf, y, conn, index == cursor);
            }
        }
        after = y + 1;
    }
    if let Some(text) = folded_line
        && after < body.bottom()
    {
        put(buf, body.x + 2, after, body.width.saturating_sub(2), &text, theme.closed());
    }
    position(buf, area, cursor, model.rows(), theme.muted());
    scroll_marks(buf, area, offset, visible, total_lines, theme);
    if let Some(entry) = selected.filter(|_| !preview_area.is_empty()) {
        let hint = format!("{} details", keys.of("open").unwrap_or("enter"));
        connection_details::preview(buf, preview_area, store, entry, theme, now, &hint);
    }
}

/// The pane around the table: its title (with the filter and how many it lets
/// through) and the keys. Returns the inside.
fn frame_pane(
    buf: &mut Buffer,
    area: Rect,
    state: &ConnectionsState,
    matched: ConnectionCounts,
    ctx: &Paint<'_>,
) -> Rect {
    let Paint { store, theme, keys, .. } = *ctx;
    let connections = store.connections();
    let total = connections.len().to_string();
    // The same set the counts line and the closed line count: what the filter passes.
    let shown = format!("{} of {}", matched_total(matched), connections.len());
    let mut title =
        vec![("Connections", theme.title()), (" ", theme.muted()), (total.as_str(), theme.muted())];
    filter_title(&mut title, state.table.filter.text(), &shown, theme);
    // UDP rates miss what the capture's rings dropped.
    let drops = super::dns_log::kernel_drops(store).unwrap_or_default();
    title.push((drops.as_str(), theme.warn()));
    let arrow = if state.table.descending() { " ▼" } else { " ▲" };
    let group_key = keys.of("group").unwrap_or("g");
    let group_hint =
        if state.grouped { format!("  {group_key} ungroup") } else { format!("  {group_key} group") };
    let closed_hint = if state.show_closed && matched.closed > 0 {
        format!("  {} fold closed", keys.of("closed").unwrap_or("c"))
    } else {
        String::new()
    };
    let open_hint = format!("  {} details", keys.of("open").unwrap_or("enter"));
    let notes = [
        ("sort ", theme.muted()),
        (state.table.sort.label(), theme.accent()),
        (arrow, theme.accent()),
        (group_hint.as_str(), theme.muted()),
        (closed_hint.as_str(), theme.muted()),
        (open_hint.as_str(), theme.muted()),
    ];
    pane(buf, area, theme.border(), &title, &notes)
}

/// Why the table has no row, in words.
fn empty_note(store: &Store, state: &ConnectionsState, folded_line: Option<String>) -> String {
    if !store.connections().has_data() {
        return match store.source(SourceId::Connections) {
            Some(status) if status.status != SourceState::Ok => {
                format!("no sockets: connections source {}", status.status.as_str())
            }
            _ => "waiting for the connections source…".to_owned(),
        };
    }
    match folded_line {
        Some(line) => line,
        None if state.table.filter.is_empty() => "no sockets".to_owned(),
        None => format!("no connection matches \"{}\" · esc clears the filter", state.table.filter.text()),
    }
}

/// The columns sized by the rows on screen; with no room for LOCAL, peerless rows
/// name their own end under REMOTE instead, and are measured so.
fn fit_rows(lines: &[Line<'_, '_>], connections: &Connections, inner: Rect) -> Layout {
    let mut measure = Measure::of(&[LOCAL, REMOTE, PROCESS]);
    for line in lines {
        if let Line::Conn(conn, _) = line {
            measure_row(&mut measure, conn, connections);
        }
    }
    let layout = Layout::fit(&COLUMNS, &measure, inner.x, inner.width);
    if layout.slot(LOCAL).is_some() {
        return layout;
    }
    for line in lines {
        if let Line::Conn(conn, _) = line
            && no_peer(conn.entry.socket.remote)
        {
            measure.cell(REMOTE, ON.len() + endpoint_width(conn.entry.socket.local, None));
        }
    }
    Layout::fit(&COLUMNS, &measure, inner.x, inner.width)
}

/// Every connection `counts` counts, closed ones included.
const fn matched_total(counts: ConnectionCounts) -> usize {
    counts.tcp + counts.udp + counts.closed
}

/// The counts of the rows the filter passes, and the legend of the marks at the right
/// when both fit (the counts give way first: the legend is short and always the same).
fn counts_line(buf: &mut Buffer, area: Rect, counts: ConnectionCounts, theme: &Theme) {
    let spans = count_spans(counts, theme);
    let spans: Vec<(&str, Style)> = spans.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    let legend = width(LEGEND) as u16;
    let room = if area.width >= legend + 20 { area.width - legend - 2 } else { area.width };
    put_spans(buf, area.x, area.y, room, &spans);
    if room < area.width {
        let x = area.right() - legend;
        put(buf, x, area.y, legend, "!", theme.warn());
        put(buf, x + 1, area.y, legend - 1, &LEGEND[1..], theme.muted());
        let tilde = LEGEND.find('~').unwrap_or(0) as u16;
        put(buf, x + tilde, area.y, 1, "~", theme.info());
    }
}

/// The cells of a row the layout sizes by content: its endpoints and its owner.
fn measure_row(measure: &mut Measure, conn: &Conn<'_>, connections: &Connections) {
    let socket = &conn.entry.socket;
    measure.cell(LOCAL, endpoint_width(socket.local, None));
    let name = connections.name_of(socket.remote.ip()).flatten();
    measure.cell(REMOTE, endpoint_width(socket.remote, name));
    let process = match conn.process {
        Some(process) => width(&process.name) + 1 + crate::format::StackText::new(process.pid).as_str().len(),
        None => 1,
    };
    measure.cell(PROCESS, process);
}

/// What drawing a line needs besides the line.
struct Painter<'a> {
    theme: &'a Theme,
    body: Rect,
    layout: Layout,
    now: Timestamp,
    connections: &'a Connections,
    store: &'a Store,
    scratch: Scratch,
}

impl Painter<'_> {
    fn row(&mut self, buf: &mut Buffer, y: u16, conn: Conn<'_>, selected: bool) {
        let theme = self.theme;
        let entry = conn.entry;
        let socket = &entry.socket;
        let closed = entry.closed_at.is_some();
        // A closed row is dimmed throughout; its cells keep their text.
        let dim = |style: Style| if closed { theme.closed() } else { style };
        let selection = selected.then(|| theme.selection());
        let mut row = Row::new(buf, self.body, y, &self.layout, &COLUMNS, selection, &mut self.scratch);
        // Informational warnings (a moved route) are marked like labels: facts, not alarms.
        let (mark, mark_style) = if !entry.warnings.alarming().is_empty() {
            ("!", theme.warn().add_modifier(ratatui::style::Modifier::BOLD))
        } else if entry.label.is_some() || !entry.warnings.is_empty() {
            ("~", theme.info())
        } else {
            ("", theme.muted())
        };
        row.text(MARK, mark, mark_style);
        row.text(PROTO, socket.protocol.as_str(), dim(theme.muted()));
        row.text(STATE, short_state(entry), socket_state_style(theme, entry));
        let local_style = row.style(dim(theme.muted()));
        if let Some(slot) = row.slot(LOCAL) {
            endpoint(row.buf(), slot.x, y, slot.width, socket.local, Host::Own, local_style, local_style);
        }
        if let Some(slot) = row.slot(REMOTE) {
            let host = match self.connections.name_of(socket.remote.ip()).flatten() {
                Some(name) => Host::Named(name),
                None => Host::Peer,
            };
            let (text, muted) = (row.style(dim(theme.text())), row.style(dim(theme.muted())));
            if row.slot(LOCAL).is_none() && no_peer(socket.remote) {
                // A listener's port is its identity: with no LOCAL column, say it here.
                let used = put(row.buf(), slot.x, y, slot.width, ON, muted);
                let room = slot.width.saturating_sub(used);
                endpoint(row.buf(), slot.x + used, y, room, socket.local, Host::Own, muted, muted);
            } else {
                endpoint(row.buf(), slot.x, y, slot.width, socket.remote, host, text, muted);
            }
        }
        if let Some(slot) = row.slot(PROCESS) {
            let (text, muted) = (row.style(dim(theme.text())), row.style(dim(theme.muted())));
            process_cell(row.buf(), slot.x, y, slot.width, conn.process, text, muted);
        }
        let unknown_rate = if socket.protocol == Protocol::Udp { "n/a" } else { "–" };
        if let Some(rates) = entry.rates {
            row.display(RX, Rate(Some(rates.rx_bytes_per_s)), dim(theme.rx()));
            row.display(TX, Rate(Some(rates.tx_bytes_per_s)), dim(theme.tx()));
        } else {
            row.text(RX, unknown_rate, dim(theme.muted()));
            row.text(TX, unknown_rate, dim(theme.muted()));
        }
        match conn.rtt() {
            Some(rtt) => row.display(RTT, Millis(Some(rtt)), dim(theme.text())),
            None => row.text(RTT, "–", dim(theme.muted())),
        }
        match conn.retransmits() {
            Some(0) => row.text(RETRANS, "0", dim(theme.muted())),
            Some(n) => row.display(RETRANS, n, dim(theme.warn())),
            None => row.text(RETRANS, "–", dim(theme.muted())),
        }
        let age = entry.age(self.now).whole_seconds().max(0).unsigned_abs();
        if entry.opened_at.is_some() {
            row.display(AGE, Span(age), dim(theme.muted()));
        } else {
            // It predates netlens: at least this old.
            row.display(AGE, format_args!("≥{}", Span(age)), dim(theme.muted()));
        }
        let marked = super::finding_marks::socket(self.store, socket.local, socket.remote);
        super::finding_marks::draw(buf, self.body.x.saturating_sub(1), y, marked, theme);
    }

    fn group(&mut self, buf: &mut Buffer, y: u16, group: &Group<'_>) {
        let theme = self.theme;
        let mut row = Row::new(buf, self.body, y, &self.layout, &COLUMNS, None, &mut self.scratch);
        // The heading spans the text columns: from the first shown to the process column.
        let first = [MARK, PROTO, STATE, LOCAL, REMOTE, PROCESS].into_iter().find_map(|i| row.slot(i));
        let last = [PROCESS, REMOTE, STATE].into_iter().find_map(|i| row.slot(i));
        if let (Some(first), Some(last)) = (first, last) {
            let span = (last.x + last.width).saturating_sub(first.x);
            let count = group.rows.len();
            let connections = format!(" · {count} connection{}", if count == 1 { "" } else { "s" });
            let warned =
                if group.warned > 0 { format!(" · {} warned", group.warned) } else { String::new() };
            let (name, pid, user) = match group.process {
                Some(process) => {
                    (process.name.clone(), format!(" {}", process.pid), format!(" · {}", process.user))
                }
                None => ("–".to_owned(), " owner unknown".to_owned(), String::new()),
            };
            let spans = [
                ("▾ ", theme.muted()),
                (name.as_str(), theme.header()),
                (pid.as_str(), theme.muted()),
                (user.as_str(), theme.muted()),
                (connections.as_str(), theme.muted()),
                (warned.as_str(), theme.warn()),
            ];
            put_spans(row.buf(), first.x, y, span, &spans);
        }
        let mut measure = |column: usize, value: Option<String>, style: Style| match value {
            Some(text) => row.text(column, &text, style),
            None => row.text(column, "–", theme.muted()),
        };
        measure(RX, group.rx.map(|v| Rate(Some(v)).to_string()), theme.rx());
        measure(TX, group.tx.map(|v| Rate(Some(v)).to_string()), theme.tx());
        measure(RTT, group.worst_rtt.map(|v| Millis(Some(v)).to_string()), theme.text());
        match group.retransmits {
            Some(0) => row.text(RETRANS, "0", theme.muted()),
            Some(n) => row.display(RETRANS, n, theme.warn()),
            None => row.text(RETRANS, "–", theme.muted()),
        }
        if let Some(oldest) = group.oldest {
            row.display(AGE, Span(oldest.whole_seconds().max(0).unsigned_abs()), theme.muted());
        }
    }
}

/// How an address reads in a cell: IPv6 in brackets, and each family's own wildcard
/// (`0.0.0.0`, `[::]`) so a dual-stack pair of listeners reads as two families.
fn host_text(ip: IpAddr) -> crate::format::StackText {
    if ip.is_ipv6() {
        crate::format::StackText::new(format_args!("[{ip}]"))
    } else {
        crate::format::StackText::new(ip)
    }
}

/// What precedes a peerless socket's own address under REMOTE when LOCAL is hidden.
const ON: &str = "on ";

/// A listener's or an unconnected socket's remote end: nobody yet.
fn no_peer(remote: SocketAddr) -> bool {
    remote.ip().is_unspecified() && remote.port() == 0
}

/// The cells an endpoint cell needs to show whole (`name` for a peer known by name).
fn endpoint_width(address: SocketAddr, name: Option<&str>) -> usize {
    if no_peer(address) {
        return 1;
    }
    let host = name.map_or_else(|| width(host_text(address.ip()).as_str()), width);
    host + 1 + crate::format::StackText::new(address.port()).as_str().len()
}

/// Whose address an endpoint cell shows, which decides what gives way when it is cut.
#[derive(Debug, Clone, Copy)]
enum Host<'n> {
    /// This host's: the same few addresses on every row, so the port is what matters.
    Own,
    /// The peer's, by address: its first digits tell networks apart.
    Peer,
    /// The peer's reverse-DNS name.
    Named(&'n str),
}

/// `host:port` in `max` cells; `*` alone for an unconnected peer, `0.0.0.0:port` or
/// `[::]:port` for a wildcard bind. When it does not fit, the port always stays: a
/// peer's host is cut with `…`, this host's address gives way to `…` entirely.
#[expect(clippy::too_many_arguments, reason = "a drawing call: each argument is one input of the cell")]
fn endpoint(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    max: u16,
    address: SocketAddr,
    host: Host<'_>,
    style: Style,
    muted: Style,
) {
    if no_peer(address) {
        put(buf, x, y, max, "*", muted);
        return;
    }
    let text = host_text(address.ip());
    let (shown, own) = match host {
        Host::Named(name) => (name, false),
        Host::Peer => (text.as_str(), false),
        Host::Own => (text.as_str(), true),
    };
    let port = crate::format::StackText::new(format_args!(":{}", address.port()));
    let port_width = width(port.as_str()) as u16;
    let host_room = max.saturating_sub(port_width);
    let cut = width(shown) > usize::from(host_room);
    let shown = if cut && (own || host_room < 3) { "…" } else { shown };
    let used = put(buf, x, y, host_room, shown, style);
    put(buf, x + used, y, port_width, port.as_str(), muted);
}

/// `name pid`, the pid dropped first; `–` for every owner netlens cannot name (the
/// details say why: the kernel's socket, another user's, an exited process…).
fn process_cell(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    max: u16,
    process: Option<&ProcessInfo>,
    style: Style,
    muted: Style,
) {
    let Some(process) = process else {
        put(buf, x, y, max, "–", muted);
        return;
    };
    let pid = crate::format::StackText::new(process.pid);
    let need = width(&process.name) + 1 + pid.as_str().len();
    if need <= usize::from(max) {
        let used = put(buf, x, y, max, &process.name, style);
        put(buf, x + used + 1, y, max.saturating_sub(used + 1), pid.as_str(), muted);
    } else {
        put(buf, x, y, max, &process.name, style);
    }
}

#[cfg(test)]
mod tests;
