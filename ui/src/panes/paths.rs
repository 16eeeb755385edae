//! The Paths tab: one row per target — its verdict with the reason, how long it has
//! held, where traffic leaves (interface, gateway, source), what is available (IPv4,
//! IPv6, DNS), tunnel and cost, and the probe's RTT and loss. A change being debounced
//! shows as `→ failing?`. Enter opens the details view; a preview of the selected path
//! fills the room below the table.

use std::cmp::Ordering;

use netlens_collectors::Store;
use netlens_collectors::model::{PathState, PathStatus, SourceId, SourceState, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::path_details;
use super::path_text::{notes, pending_text, reason_text};
use super::tones::{loss_style, status_style};
use crate::context::Paint;
use crate::filter::{Field, Filter, contains};
use crate::format::{Millis, Span, StackText};
use crate::state::{PathSort, PathsState, SortKey};
use crate::theme::Theme;
use crate::widgets::banner::source_banner;
use crate::widgets::marks::{note, position};
use crate::widgets::pane::{filter_title, pane};
use crate::widgets::split_top;
use crate::widgets::table::{Column, Layout, Measure, Row, header, scroll};
use crate::widgets::text::{Scratch, put, put_spans, width};

const TARGET: usize = 0;
const STATUS: usize = 1;
const SINCE: usize = 2;
const DEV: usize = 3;
const VIA: usize = 4;
const SOURCE: usize = 5;
const AVAILABLE: usize = 6;
const NOTES: usize = 7;
const RTT: usize = 8;
const LOSS: usize = 9;

/// A preview of the selected path appears below the table when at least this many
/// rows are left over.
const PREVIEW_MIN: u16 = 8;

/// Target, verdict (with its reason), interface, time in state and the probe's
/// numbers fill an 80-column screen; gateway and source join from about 100 columns,
/// availability and notes on wide screens (the preview below the table shows them all
/// for the selected path).
/// Text columns are sized by what the rows on screen hold ([`Layout::fit`]).
const COLUMNS: [Column; 10] = [
    Column::left("TARGET", 19, 40, 0, 0),
    Column::left("STATUS", 29, 48, 0, 1),
    Column::right("SINCE", 6, 4),
    Column::left("DEV", 8, 24, 1, 2),
    Column::left("VIA", 15, 39, 5, 3),
    Column::left("SRC", 15, 39, 6, 3),
    Column::left("AVAIL", 12, 12, 7, 9),
    Column::left("NOTES", 9, 32, 8, 1),
    Column::right("RTT", 7, 2),
    Column::right("LOSS", 4, 3),
];

/// Below this inner width availability and notes stay out of the table: they rarely
/// differ between rows (availability is host-wide), and the preview shows them.
const WIDE: u16 = 110;

/// Below this inner width target and verdict shrink to share what there is.
const NARROW: u16 = 60;

/// A width no screen has: the column never fits.
const HIDDEN: u16 = u16::MAX / 4;

/// The columns for an inner width.
fn columns(width: u16) -> [Column; 10] {
    let mut columns = COLUMNS;
    if width < WIDE {
        columns[AVAILABLE].min = HIDDEN;
        columns[NOTES].min = HIDDEN;
    } else {
        // Room for `eth0 [ethernet]`.
        columns[DEV].min = 15;
    }
    if width < NARROW {
        columns[TARGET].min = 12;
        columns[STATUS].min = 24;
    }
    columns
}

/// The column a sort key marks with an arrow.
const fn sort_column(sort: PathSort) -> Option<usize> {
    match sort {
        PathSort::Configured => None,
        PathSort::Target => Some(TARGET),
        PathSort::Status => Some(STATUS),
        PathSort::Interface => Some(DEV),
        PathSort::Rtt => Some(RTT),
        PathSort::Loss => Some(LOSS),
        PathSort::Since => Some(SINCE),
    }
}

/// Whether a path passes the filter: `target:`, `status:` (status or reason), `dev:`,
/// `kind:`, or free words matching any of those or an address.
pub(crate) fn matches(filter: &Filter, path: &PathState) -> bool {
    let status = |needle: &str| {
        contains(path.status.as_str(), needle) || path.reason.is_some_and(|r| contains(r.as_str(), needle))
    };
    let dev = |needle: &str| path.interface.as_deref().is_some_and(|name| contains(name, needle));
    let kind = |needle: &str| path.interface_kind.is_some_and(|kind| contains(kind.as_str(), needle));
    filter.matches(|field, needle| match field {
        Some(Field::Target) => contains(&path.target, needle),
        Some(Field::Status) => status(needle),
        Some(Field::Dev) => dev(needle),
        Some(Field::Kind) => kind(needle),
        _ => {
            let address = |ip: Option<std::net::IpAddr>| {
                ip.is_some_and(|ip| contains(StackText::new(ip).as_str(), needle))
            };
            contains(&path.target, needle)
                || status(needle)
                || dev(needle)
                || kind(needle)
                || address(path.destination)
                || address(path.gateway)
                || address(path.source)
                || path.tunnel.is_some_and(|t| contains(t.as_str(), needle))
        }
    })
}

/// Unsatisfied first, then failing, then satisfied: what needs a look comes first.
const fn status_rank(status: PathStatus) -> u8 {
    match status {
        PathStatus::Unsatisfied => 0,
        PathStatus::Failing => 1,
        PathStatus::Satisfied => 2,
    }
}

fn compare(sort: PathSort, a: &PathState, b: &PathState) -> Ordering {
    let rtt = |p: &PathState| p.probe.as_ref().and_then(|probe| probe.rtt_ms).unwrap_or(-1.0);
    let loss = |p: &PathState| p.probe.as_ref().and_then(|probe| probe.loss_pct).unwrap_or(-1.0);
    match sort {
        PathSort::Configured => Ordering::Equal,
        PathSort::Target => a.target.cmp(&b.target),
        PathSort::Status => status_rank(a.status).cmp(&status_rank(b.status)),
        PathSort::Interface => a.interface.cmp(&b.interface),
        PathSort::Rtt => rtt(a).total_cmp(&rtt(b)),
        PathSort::Loss => loss(a).total_cmp(&loss(b)),
        // Longest in its state: the earliest `since`.
        PathSort::Since => b.since.cmp(&a.since),
    }
}

/// The rows of the table: filtered, then sorted (ties in configured order, so the
/// order is stable).
pub(crate) fn ordered<'s>(store: &'s Store, state: &PathsState) -> Vec<&'s PathState> {
    let mut rows: Vec<(usize, &PathState)> =
        store.paths().iter().enumerate().filter(|(_, path)| matches(&state.table.filter, path)).collect();
    let descending = state.table.descending();
    rows.sort_by(|(i, a), (j, b)| {
        let order = compare(state.table.sort, a, b).then(i.cmp(j));
        if descending { order.reverse() } else { order }
    });
    rows.into_iter().map(|(_, path)| path).collect()
}

/// Why the table is empty, in words.
fn empty_note(store: &Store, state: &PathsState) -> String {
    if !state.table.filter.is_empty() {
        return format!("no path matches \"{}\" · esc clears the filter", state.table.filter.text());
    }
    match store.source(SourceId::Paths) {
        None => "waiting for the paths source…".to_owned(),
        Some(status) if status.status == SourceState::Ok => "no paths yet".to_owned(),
        Some(status) => format!("paths source {}: {}", status.status.as_str(), status.detail),
    }
}

/// Draw the tab (or the details view, when one is open).
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &mut PathsState, ctx: &Paint<'_>) {
    let Paint { store, theme, now, keys } = *ctx;
    let rows = ordered(store, state);
    let buf = frame.buffer_mut();
    let cursor = state.table.cursor.min(rows.len().saturating_sub(1));
    let table_height = rows.len() as u16 + 3;
    let (area, preview_area) = match rows.get(cursor) {
        Some(_) if area.height >= table_height + PREVIEW_MIN => split_top(area, table_height),
        _ => (area, Rect::default()),
    };
    if let Some(path) = rows.get(cursor).filter(|_| !preview_area.is_empty()) {
        let hint = format!("{} details", keys.of("open").unwrap_or("enter"));
        path_details::preview(buf, preview_area, store, path, theme, now, &hint);
    }

    let total = store.paths().len();
    let count = total.to_string();
    let shown = format!("{} of {total}", rows.len());
    let mut title = vec![("Paths", theme.title()), (" ", theme.muted()), (count.as_str(), theme.muted())];
    filter_title(&mut title, state.table.filter.text(), &shown, theme);
    let arrow = if state.table.descending() { " ▼" } else { " ▲" };
    let keys = format!(
        "  {} add  {} lookup",
        keys.of("add_target").unwrap_or("a"),
        keys.of("route_lookup").unwrap_or("r")
    );
    let notes = [
        ("sort ", theme.muted()),
        (state.table.sort.label(), theme.accent()),
        (arrow, theme.accent()),
        (keys.as_str(), theme.muted()),
    ];
    let inner = pane(buf, area, theme.border(), &title, &notes);
    let inner = source_banner(buf, inner, store, SourceId::Paths, theme);
    if inner.is_empty() {
        return;
    }
    let columns = columns(inner.width);
    let sorted = sort_column(state.table.sort).map(|column| (column, state.table.descending()));
    let body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height.saturating_sub(1));
    if rows.is_empty() {
        header(buf, inner.y, &columns, &Layout::new(&columns, inner.x, inner.width), theme, sorted);
        note(buf, body, &empty_note(store, state), theme.muted());
        return;
    }
    let visible = usize::from(body.height);
    let offset = scroll(state.table.offset, cursor, visible, rows.len());
    state.table.record(offset, visible);
    let on_screen = || rows.iter().skip(offset).take(visible);
    let mut measure = Measure::of(&[TARGET, STATUS, DEV, VIA, SOURCE, NOTES]);
    for path in on_screen() {
        measure_row(&mut measure, path, true);
    }
    let mut layout = Layout::fit(&columns, &measure, inner.x, inner.width);
    if layout.slot(DEV).is_none() {
        // Without DEV the reason names the interface itself.
        for path in on_screen() {
            measure_row(&mut measure, path, false);
        }
        layout = Layout::fit(&columns, &measure, inner.x, inner.width);
    }
    header(buf, inner.y, &columns, &layout, theme, sorted);
    let mut scratch = Scratch::default();
    for (i, (path, y)) in rows.iter().skip(offset).zip(body.top()..body.bottom()).enumerate() {
        let selection = (offset + i == cursor).then(|| theme.selection());
        let mut row = Row::new(buf, body, y, &layout, &columns, selection, &mut scratch);
        draw_row(&mut row, path, theme, now);
        let marked = super::finding_marks::target(store, &path.target);
        super::finding_marks::draw(buf, body.x.saturating_sub(1), y, marked, theme);
    }
    position(buf, area, cursor, rows.len(), theme.muted());
}

/// The widths of a row's text cells, as [`draw_row`] writes them.
fn measure_row(measure: &mut Measure, path: &PathState, interface_shown: bool) {
    measure.text(TARGET, &path.target);
    let status = width(path.status.as_str())
        + reason_text(path, interface_shown).map_or(0, |reason| 1 + width(&reason))
        + pending_text(path).map_or(0, |pending| 1 + width(&pending));
    measure.cell(STATUS, status);
    let kind = path.interface_kind.map_or(0, |kind| 3 + kind.as_str().len());
    measure.cell(DEV, path.interface.as_deref().map_or(1, |name| width(name) + kind));
    let address = |ip: Option<std::net::IpAddr>| ip.map_or(1, |ip| StackText::new(ip).as_str().len());
    measure.cell(
        VIA,
        if path.gateway.is_none() && path.interface.is_some() { 6 } else { address(path.gateway) },
    );
    measure.cell(SOURCE, address(path.source));
    measure.text(NOTES, &notes(path));
}

/// `v4✓ v6✗ dns✓`: each flag says whether it holds, in words as well as colour.
fn availability_cell(row: &mut Row<'_>, path: &PathState, theme: &Theme) {
    let Some(slot) = row.slot(AVAILABLE) else { return };
    let flag = |name: &'static str, on: bool| {
        let (mark, style) = if on { ("✓", theme.ok()) } else { ("✗", theme.muted()) };
        [(name, row.style(style)), (mark, row.style(style))]
    };
    let gap = (" ", row.style(theme.muted()));
    let [v4, v4_mark] = flag("v4", path.ipv4);
    let [v6, v6_mark] = flag("v6", path.ipv6);
    let [dns, dns_mark] = flag("dns", path.dns);
    let spans = [v4, v4_mark, gap, v6, v6_mark, gap, dns, dns_mark];
    let y = row.y();
    put_spans(row.buf(), slot.x, y, slot.width, &spans);
}

fn draw_row(row: &mut Row<'_>, path: &PathState, theme: &Theme, now: Timestamp) {
    row.text(TARGET, &path.target, theme.text());
    status_cell(row, path, theme);
    let held = (now - path.since).whole_seconds().max(0).unsigned_abs();
    row.display(SINCE, Span(held), theme.muted());
    interface_cell(row, path, theme);
    match (path.gateway, &path.interface) {
        (Some(gateway), _) => row.display(VIA, gateway, theme.text()),
        (None, Some(_)) => row.text(VIA, "direct", theme.muted()),
        (None, None) => row.text(VIA, "–", theme.muted()),
    }
    match path.source {
        Some(source) => row.display(SOURCE, source, theme.text()),
        None => row.text(SOURCE, "–", theme.muted()),
    }
    availability_cell(row, path, theme);
    let notes = notes(path);
    row.text(NOTES, &notes, theme.info());
    if let Some(probe) = &path.probe {
        let style = if probe.ok { theme.text() } else { theme.warn() };
        row.display(RTT, Millis(probe.rtt_ms), style);
        match probe.loss_pct {
            Some(loss) => row.display(LOSS, format_args!("{loss:.0}%"), loss_style(theme, loss)),
            None => row.text(LOSS, "–", theme.muted()),
        }
    } else {
        row.text(RTT, "–", theme.muted());
        row.text(LOSS, "–", theme.muted());
    }
}

/// `satisfied`, or `unsatisfied link_down veth0`, then `→ failing?` while pending.
fn status_cell(row: &mut Row<'_>, path: &PathState, theme: &Theme) {
    let Some(slot) = row.slot(STATUS) else { return };
    let style = row.style(status_style(theme, path.status));
    let reason = reason_text(path, row.slot(DEV).is_some()).map(|reason| format!(" {reason}"));
    let pending = pending_text(path).map(|pending| format!(" {pending}"));
    let mut spans = vec![(path.status.as_str(), style)];
    if let Some(reason) = &reason {
        spans.push((reason.as_str(), style));
    }
    let pending_style = row.style(theme.warn());
    // The pending marker matters more than the end of a long reason: keep it in view.
    let pending_width = pending.as_deref().map_or(0, |p| width(p) as u16);
    let y = row.y();
    let used = put_spans(row.buf(), slot.x, y, slot.width.saturating_sub(pending_width), &spans);
    if let Some(pending) = &pending {
        put(row.buf(), slot.x + used, y, slot.width.saturating_sub(used), pending, pending_style);
    }
}

/// `eth0 [ethernet]` when there is room, else the name alone.
fn interface_cell(row: &mut Row<'_>, path: &PathState, theme: &Theme) {
    let Some(slot) = row.slot(DEV) else { return };
    let Some(name) = path.interface.as_deref() else {
        row.text(DEV, "–", theme.muted());
        return;
    };
    let kind = path.interface_kind.map(|kind| format!(" [{}]", kind.as_str())).unwrap_or_default();
    let (name_style, kind_style) = (row.style(theme.accent()), row.style(theme.muted()));
    let y = row.y();
    let used = put(row.buf(), slot.x, y, slot.width, name, name_style);
    if usize::from(used) + width(&kind) <= usize::from(slot.width) {
        put(row.buf(), slot.x + used, y, slot.width - used, &kind, kind_style);
    }
}
