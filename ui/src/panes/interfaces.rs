//! The Interfaces tab: one row per interface with its state, addresses, rates and a
//! traffic sparkline; Enter opens the details view.

use std::cmp::Ordering;

use netlens_collectors::model::{OperState, SourceId};
use netlens_collectors::{InterfaceEntry, Store};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::addresses::addresses_by_interest;
use super::details;
use super::tones::{address_style, oper_state_style};
use crate::context::Paint;
use crate::filter::{Field, Filter, contains};
use crate::format::{Prefix, Rate, StackText};
use crate::state::{InterfaceSort, InterfacesState, SortKey};
use crate::theme::Theme;
use crate::widgets::banner::source_banner;
use crate::widgets::marks::{note, position};
use crate::widgets::pane::{filter_title, pane};
use crate::widgets::sparkline::{column_scale, scale_header, sparkline_scaled, traffic};
use crate::widgets::split_top;
use crate::widgets::table::{Column, Layout, Row, header, scroll};
use crate::widgets::text::{Scratch, put, width};

const NAME: usize = 0;
const KIND: usize = 1;
const STATE: usize = 2;
const CARRIER: usize = 3;
const MTU: usize = 4;
const ADDRESSES: usize = 5;
const RX: usize = 6;
const TX: usize = 7;
const TRAFFIC: usize = 8;

/// A preview of the selected interface appears below the table when at least this
/// many rows are left over.
const PREVIEW_MIN: u16 = 8;

/// Name, state and rates survive the narrowest screens; the sparkline and the carrier
/// column (the state cell already shows carrier as ●/○) go first.
const COLUMNS: [Column; 9] = [
    Column::left("NAME", 10, 15, 0, 2),
    Column::left("KIND", 9, 9, 3, 9),
    Column::left("STATE", 11, 11, 0, 9),
    Column::left("CARRIER", 7, 7, 5, 9),
    Column::right("MTU", 5, 4),
    Column::left("ADDRESSES", 20, 34, 1, 0),
    Column::right("RX", 9, 0),
    Column::right("TX", 9, 0),
    Column::left("TRAFFIC", 10, 60, 6, 1),
];

/// The column a sort key marks with an arrow.
const fn sort_column(sort: InterfaceSort) -> Option<usize> {
    match sort {
        InterfaceSort::Index => None,
        InterfaceSort::Name => Some(NAME),
        InterfaceSort::Kind => Some(KIND),
        InterfaceSort::State => Some(STATE),
        InterfaceSort::Mtu => Some(MTU),
        InterfaceSort::Rx => Some(RX),
        InterfaceSort::Tx => Some(TX),
    }
}

/// Whether an interface passes the filter: `name:`, `kind:`, `state:`, or free words
/// matching the name, kind, state, MAC or any address.
pub(crate) fn matches(filter: &Filter, entry: &InterfaceEntry) -> bool {
    let info = &entry.info;
    filter.matches(|field, needle| match field {
        Some(Field::Name) => contains(&info.name, needle),
        Some(Field::Kind) => {
            contains(info.kind.as_str(), needle)
                || info.link_kind.as_deref().is_some_and(|k| contains(k, needle))
        }
        Some(Field::State) => contains(info.oper_state.as_str(), needle),
        _ => {
            contains(&info.name, needle)
                || contains(info.kind.as_str(), needle)
                || contains(info.oper_state.as_str(), needle)
                || info.mac.as_deref().is_some_and(|mac| contains(mac, needle))
                || info
                    .addresses
                    .iter()
                    .any(|a| contains(StackText::new(Prefix(a.address, a.prefix_len)).as_str(), needle))
        }
    })
}

/// Up first, gone last.
const fn state_rank(state: OperState) -> u8 {
    match state {
        OperState::Up => 0,
        OperState::Unknown => 1,
        OperState::Dormant => 2,
        OperState::Testing => 3,
        OperState::LowerLayerDown => 4,
        OperState::Down => 5,
        OperState::NotPresent => 6,
    }
}

fn compare(sort: InterfaceSort, a: &InterfaceEntry, b: &InterfaceEntry) -> Ordering {
    let rate = |e: &InterfaceEntry, rx: bool| {
        e.rates.map_or(-1.0, |r| if rx { r.rx_bytes_per_s } else { r.tx_bytes_per_s })
    };
    match sort {
        InterfaceSort::Index => Ordering::Equal,
        InterfaceSort::Name => a.info.name.cmp(&b.info.name),
        InterfaceSort::Kind => a.info.kind.as_str().cmp(b.info.kind.as_str()),
        InterfaceSort::State => state_rank(a.info.oper_state).cmp(&state_rank(b.info.oper_state)),
        InterfaceSort::Mtu => a.info.mtu.cmp(&b.info.mtu),
        InterfaceSort::Rx => rate(a, true).total_cmp(&rate(b, true)),
        InterfaceSort::Tx => rate(a, false).total_cmp(&rate(b, false)),
    }
}

/// The rows of the table: filtered, then sorted (ties by index, so the order is stable).
pub(crate) fn ordered<'s>(store: &'s Store, state: &InterfacesState) -> Vec<&'s InterfaceEntry> {
    let mut rows: Vec<&InterfaceEntry> =
        store.interfaces().filter(|e| matches(&state.table.filter, e)).collect();
    let descending = state.table.descending();
    rows.sort_by(|a, b| {
        let order = compare(state.table.sort, a, b).then(a.info.index.cmp(&b.info.index));
        if descending { order.reverse() } else { order }
    });
    rows
}

/// Draw the tab (or the details view, when one is open).
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &mut InterfacesState, ctx: &Paint<'_>) {
    let Paint { store, theme, now, keys } = *ctx;
    let rows = ordered(store, state);
    let buf = frame.buffer_mut();
    let cursor = state.table.cursor.min(rows.len().saturating_sub(1));
    // Borders and heading around the rows; what is left below previews the selection.
    let table_height = rows.len() as u16 + 3;
    let (area, preview_area) = match rows.get(cursor) {
        Some(_) if area.height >= table_height + PREVIEW_MIN => split_top(area, table_height),
        _ => (area, Rect::default()),
    };
    if let Some(entry) = rows.get(cursor).filter(|_| !preview_area.is_empty()) {
        let hint = format!("{} details", keys.of("open").unwrap_or("enter"));
        details::preview(buf, preview_area, store, entry, theme, now, &hint);
    }

    let count = store.interface_count().to_string();
    let shown = format!("{} of {}", rows.len(), store.interface_count());
    // Which backend fills the table ("rtnetlink", "portable fallback (…)"): the part of
    // the source detail before its explanation.
    let backend = store
        .source(SourceId::Interfaces)
        .map_or("", |status| status.detail.split(':').next().unwrap_or_default());
    let mut title =
        vec![("Interfaces", theme.title()), (" ", theme.muted()), (count.as_str(), theme.muted())];
    if !backend.is_empty() {
        title.extend([(" · ", theme.muted()), (backend, theme.muted())]);
    }
    filter_title(&mut title, state.table.filter.text(), &shown, theme);
    let arrow = if state.table.descending() { " ▼" } else { " ▲" };
    let open_hint = format!("  {} details", keys.of("open").unwrap_or("enter"));
    let notes = [
        ("sort ", theme.muted()),
        (state.table.sort.label(), theme.accent()),
        (arrow, theme.accent()),
        (open_hint.as_str(), theme.muted()),
    ];
    let inner = pane(buf, area, theme.border(), &title, &notes);
    let inner = source_banner(buf, inner, store, SourceId::Interfaces, theme);
    if inner.is_empty() {
        return;
    }
    let layout = Layout::new(&COLUMNS, inner.x, inner.width);
    let sorted = sort_column(state.table.sort).map(|column| (column, state.table.descending()));
    header(buf, inner.y, &COLUMNS, &layout, theme, sorted);
    let body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height.saturating_sub(1));
    if rows.is_empty() {
        let text = if state.table.filter.is_empty() {
            "waiting for the interfaces source…".to_owned()
        } else {
            format!("no interface matches \"{}\" · esc clears the filter", state.table.filter.text())
        };
        note(buf, body, &text, theme.muted());
        return;
    }
    let visible = usize::from(body.height);
    let offset = scroll(state.table.offset, cursor, visible, rows.len());
    state.table.record(offset, visible);
    // One scale for the whole column (every row, not only the visible ones, so
    // scrolling does not rescale), said in its header.
    let scale = layout.slot(TRAFFIC).map_or(0.0, |slot| {
        let scale = column_scale(rows.iter().copied());
        put(buf, slot.x, inner.y, slot.width, &scale_header("TRAFFIC", scale, slot.width), theme.header());
        scale
    });
    let mut scratch = Scratch::default();
    for (i, (entry, y)) in rows.iter().skip(offset).zip(body.top()..body.bottom()).enumerate() {
        let selection = (offset + i == cursor).then(|| theme.selection());
        let mut row = Row::new(buf, body, y, &layout, &COLUMNS, selection, &mut scratch);
        draw_row(&mut row, entry, theme, scale);
        let marked = super::finding_marks::interface(store, &entry.info.name);
        super::finding_marks::draw(buf, body.x.saturating_sub(1), y, marked, theme);
    }
    position(buf, area, cursor, rows.len(), theme.muted());
}

fn draw_row(row: &mut Row<'_>, entry: &InterfaceEntry, theme: &Theme, scale: f64) {
    let info = &entry.info;
    row.text(NAME, &info.name, theme.text());
    row.text(KIND, info.kind.as_str(), theme.muted());
    if let Some(slot) = row.slot(STATE) {
        let (dot, dot_style) = if info.carrier { ("●", theme.ok()) } else { ("○", theme.error()) };
        let (dot_style, state_style) =
            (row.style(dot_style), row.style(oper_state_style(theme, info.oper_state)));
        let y = row.y();
        put(row.buf(), slot.x, y, 1, dot, dot_style);
        put(
            row.buf(),
            slot.x + 2,
            y,
            slot.width.saturating_sub(2),
            oper_state_word(info.oper_state),
            state_style,
        );
    }
    let (carrier, carrier_style) = if info.carrier { ("yes", theme.ok()) } else { ("no", theme.error()) };
    row.text(CARRIER, carrier, carrier_style);
    row.display(MTU, info.mtu, theme.muted());
    addresses(row, entry, theme);
    row.display(RX, Rate(entry.rates.map(|r| r.rx_bytes_per_s)), theme.rx());
    row.display(TX, Rate(entry.rates.map(|r| r.tx_bytes_per_s)), theme.tx());
    if let Some(slot) = row.slot(TRAFFIC) {
        let (style, baseline) = (row.style(theme.rx()), row.style(theme.muted()));
        let y = row.y();
        sparkline_scaled(row.buf(), slot.x, y, slot.width, traffic(entry), style, baseline, scale);
    }
}

/// As many addresses as fit, global ones first, then `+N` for the rest.
fn addresses(row: &mut Row<'_>, entry: &InterfaceEntry, theme: &Theme) {
    let Some(slot) = row.slot(ADDRESSES) else { return };
    let total = entry.info.addresses.len();
    if total == 0 {
        let style = row.style(theme.muted());
        let y = row.y();
        put(row.buf(), slot.x, y, slot.width, "–", style);
        return;
    }
    let more_style = row.style(theme.muted());
    let y = row.y();
    let mut x = slot.x;
    let end = slot.x + slot.width;
    for (k, address) in addresses_by_interest(entry).enumerate() {
        let style = row.style(address_style(theme, address));
        let text = StackText::new(Prefix(address.address, address.prefix_len));
        let rest = total - k - 1;
        let more = if rest > 0 { StackText::new(format_args!("+{rest}")) } else { StackText::new("") };
        let more_width = if rest > 0 { width(more.as_str()) as u16 + 1 } else { 0 };
        let gap = u16::from(k > 0);
        let need = gap + width(text.as_str()) as u16;
        if k == 0 || x + need + more_width <= end {
            let room = end.saturating_sub(x + gap + more_width);
            if room == 0 {
                break;
            }
            x += gap + put(row.buf(), x + gap, y, room, text.as_str(), style);
        } else {
            let remaining = StackText::new(format_args!("+{}", total - k));
            put(row.buf(), x + 1, y, end.saturating_sub(x + 1), remaining.as_str(), more_style);
            return;
        }
    }
}

/// The operational state as a table cell: the kernel's word, with `lowerlayerdown`
/// (a stacked device whose lower device, or a veth whose peer, is down) shortened
/// so it is not cut; the details spell it whole.
pub(crate) fn oper_state_word(state: OperState) -> &'static str {
    match state {
        OperState::LowerLayerDown => "lowerdown",
        other => other.as_str(),
    }
}
