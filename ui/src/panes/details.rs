//! The details view of one interface: identity, every address with its flags and
//! lifetimes, counters with errors and drops, the neighbours on its link, and its
//! events. Two columns on wide screens, one scrolled column on narrow ones; the rate
//! chart (receive above the line, transmit below) fills the height the text leaves.

use netlens_collectors::model::{AddressFlags, Interface, TimelineEntry, Timestamp};
use netlens_collectors::{InterfaceEntry, Store};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::addresses::addresses_by_interest;
use super::tones::{address_style, neighbor_style, oper_state_style};
use crate::context::Paint;
use crate::format::{Ago, Bytes, Count, Lifetime, Prefix, Rate, Span, StackText};
use crate::state::Details;
use crate::theme::Theme;
use crate::widgets::chart::{MIN_CHART_WIDTH, RatePoints, rate_chart};
use crate::widgets::columns::{render_columns, split};
use crate::widgets::event_list::kind_style;
use crate::widgets::marks::{note, scroll_marks};
use crate::widgets::pane::pane;
use crate::widgets::sparkline::bars;
use crate::widgets::text::{Doc, fill};

/// Events listed at most (newest first).
const MAX_EVENTS: usize = 50;

/// Label column width.
const LABEL: usize = 11;

/// Rows worth giving a rate chart: below this the text trends say as much.
const CHART_ROWS: u16 = 7;

/// The rows under `lines` of text in `area` a rate chart can have (after a blank
/// line), if enough for one and the history has something to draw.
fn chart_room(area: Rect, lines: usize, entry: &InterfaceEntry) -> Option<Rect> {
    let used = u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(1);
    let height = area.height.saturating_sub(used);
    (height >= CHART_ROWS && area.width >= MIN_CHART_WIDTH && entry.history.len() > 1).then(|| Rect {
        y: area.y + used,
        height,
        ..area
    })
}

fn label(text: &str) -> String {
    format!("{text:<LABEL$}")
}

/// Whether an event is about this interface: its subject is the name, or its sentence
/// names it as a word (`route 10.8.0.0/24 dev wg0 added`).
fn concerns(entry: &TimelineEntry, name: &str) -> bool {
    if entry.subject == name {
        return true;
    }
    let detail = entry.detail.as_str();
    let is_word_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    detail.match_indices(name).any(|(at, _)| {
        let before = detail[..at].chars().next_back();
        let after = detail[at + name.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// Identity, addresses and traffic.
fn main_column(entry: &InterfaceEntry, theme: &Theme, now: Timestamp, width: u16) -> Doc {
    let mut doc = identity(entry, theme, now);
    doc.blank();
    doc.append(addresses(entry, theme));
    doc.blank();
    doc.append(traffic(entry, theme, width));
    doc
}

/// State, MTU, MAC, flags, link relations.
fn identity(entry: &InterfaceEntry, theme: &Theme, now: Timestamp) -> Doc {
    let info: &Interface = &entry.info;
    let mut doc = Doc::default();
    let (carrier, carrier_style) = if info.carrier { ("yes", theme.ok()) } else { ("no", theme.error()) };
    let admin = if info.is_up() { ("admin up", theme.muted()) } else { ("admin down", theme.error()) };
    doc.line([
        (label("state"), theme.muted()),
        (info.oper_state.as_str().to_owned(), oper_state_style(theme, info.oper_state)),
        ("  carrier ".to_owned(), theme.muted()),
        (carrier.to_owned(), carrier_style),
        ("  ".to_owned(), theme.muted()),
        (admin.0.to_owned(), admin.1),
    ]);
    doc.line([
        (label("mtu"), theme.muted()),
        (info.mtu.to_string(), theme.text()),
        ("  mac ".to_owned(), theme.muted()),
        (info.mac.clone().unwrap_or_else(|| "–".to_owned()), theme.text()),
    ]);
    let flags: Vec<&str> = info.flags.names().collect();
    doc.line([(label("flags"), theme.muted()), (flags.join(" "), theme.text())]);
    let mut link = vec![(label("link"), theme.muted())];
    link.push((info.link_kind.clone().unwrap_or_else(|| info.kind.as_str().to_owned()), theme.text()));
    if let Some(peer) = info.link {
        link.push((format!("  peer index {peer}"), theme.muted()));
    }
    if let Some(master) = info.master {
        link.push((format!("  master index {master}"), theme.muted()));
    }
    doc.line(link);
    doc.line([
        (label("seen"), theme.muted()),
        (format!("since {}", Ago { at: entry.first_seen, now }), theme.text()),
    ]);
    doc
}

/// Every address with its scope, flags and lifetimes.
fn addresses(entry: &InterfaceEntry, theme: &Theme) -> Doc {
    let info = &entry.info;
    let mut doc = Doc::default();
    doc.line([(format!("Addresses ({})", info.addresses.len()), theme.title())]);
    let address_width = info
        .addresses
        .iter()
        .map(|a| StackText::new(Prefix(a.address, a.prefix_len)).as_str().len())
        .max()
        .unwrap_or(0)
        .max(18);
    if info.addresses.is_empty() {
        doc.line([("  none".to_owned(), theme.muted())]);
    }
    for address in addresses_by_interest(entry) {
        let flags: Vec<&str> = address.flags.names().collect();
        let flags = if flags.is_empty() { "–".to_owned() } else { flags.join(" ") };
        let flag_style = if address.flags.contains(AddressFlags::DADFAILED) {
            theme.error()
        } else if address.flags.contains(AddressFlags::TENTATIVE)
            || address.flags.contains(AddressFlags::DEPRECATED)
        {
            theme.warn()
        } else {
            theme.muted()
        };
        let mut spans = vec![
            (
                format!("  {:<address_width$}", Prefix(address.address, address.prefix_len).to_string()),
                address_style(theme, address),
            ),
            (format!(" {:<7}", address.scope.as_str()), theme.muted()),
            (format!(" {flags}"), flag_style),
        ];
        if let Some(label) = &address.label {
            spans.push((format!("  label {label}"), theme.muted()));
        }
        doc.line(spans);
        let lifetimes = if address.valid_lifetime_s.is_none() && address.preferred_lifetime_s.is_none() {
            "    lifetime forever".to_owned()
        } else {
            format!(
                "    valid {}  preferred {}",
                Lifetime(address.valid_lifetime_s),
                Lifetime(address.preferred_lifetime_s)
            )
        };
        doc.line([(lifetimes, theme.muted())]);
    }
    doc
}

/// Rates, counters with errors and drops, and the rate history.
fn traffic(entry: &InterfaceEntry, theme: &Theme, width: u16) -> Doc {
    let info = &entry.info;
    let mut doc = Doc::default();
    doc.line([
        (format!("{:<LABEL$}", "Traffic"), theme.title()),
        (format!("{:>14}", "receive"), theme.header()),
        (format!("{:>14}", "transmit"), theme.header()),
    ]);
    let rates = entry.rates;
    let pair = |name: &str, rx: String, tx: String, rx_style: Style, tx_style: Style| {
        [(label(name), theme.muted()), (format!("{rx:>14}"), rx_style), (format!("{tx:>14}"), tx_style)]
    };
    doc.line(pair(
        "rate",
        Rate(rates.map(|r| r.rx_bytes_per_s)).to_string(),
        Rate(rates.map(|r| r.tx_bytes_per_s)).to_string(),
        theme.rx(),
        theme.tx(),
    ));
    match info.stats {
        Some(stats) => {
            let count_style = |n: u64| if n > 0 { theme.error() } else { theme.muted() };
            doc.line(pair(
                "bytes",
                Bytes(stats.rx_bytes).to_string(),
                Bytes(stats.tx_bytes).to_string(),
                theme.text(),
                theme.text(),
            ));
            doc.line(pair(
                "packets",
                Count(stats.rx_packets).to_string(),
                Count(stats.tx_packets).to_string(),
                theme.text(),
                theme.text(),
            ));
            doc.line(pair(
                "errors",
                Count(stats.rx_errors).to_string(),
                Count(stats.tx_errors).to_string(),
                count_style(stats.rx_errors),
                count_style(stats.tx_errors),
            ));
            doc.line(pair(
                "dropped",
                Count(stats.rx_dropped).to_string(),
                Count(stats.tx_dropped).to_string(),
                count_style(stats.rx_dropped),
                count_style(stats.tx_dropped),
            ));
        }
        None => doc.line([
            (label("counters"), theme.muted()),
            ("not reported by this source".to_owned(), theme.muted()),
        ]),
    }
    if !entry.history.is_empty() {
        let spark_width = usize::from(width.saturating_sub(LABEL as u16)).min(entry.history.len());
        let seconds = entry.history.len();
        let rx = bars(entry.history.iter().map(|s| s.rates.rx_bytes_per_s), spark_width);
        let tx = bars(entry.history.iter().map(|s| s.rates.tx_bytes_per_s), spark_width);
        doc.line([(label("rx trend"), theme.muted()), (rx, theme.rx())]);
        doc.line([(label("tx trend"), theme.muted()), (tx, theme.tx())]);
        if let (Some(first), Some(last)) = (entry.history.iter().next(), entry.history.last())
            && let (Some(from), Some(to)) = (first.at, last.at)
        {
            let span = (to - from).whole_seconds().unsigned_abs();
            doc.line([(format!("{:LABEL$}{seconds} samples over {}", "", Span(span)), theme.muted())]);
        }
    }
    doc
}

/// Neighbours on the link and the interface's events.
fn side_column(store: &Store, entry: &InterfaceEntry, theme: &Theme, now: Timestamp) -> Doc {
    let info = &entry.info;
    let mut doc = Doc::default();
    let neighbors: Vec<_> = store.neighbors().iter().filter(|n| n.interface_index == info.index).collect();
    let address_width = neighbors.iter().map(|n| StackText::new(n.address).as_str().len()).max().unwrap_or(0);
    doc.line([(format!("Neighbours on {} ({})", info.name, neighbors.len()), theme.title())]);
    if neighbors.is_empty() {
        doc.line([("  none".to_owned(), theme.muted())]);
    }
    for neighbor in neighbors {
        let state_style = neighbor_style(theme, neighbor.state);
        doc.line([
            (format!("  {:<address_width$}", neighbor.address.to_string()), theme.text()),
            (format!("  {:<17}", neighbor.mac.as_deref().unwrap_or("–")), theme.muted()),
            (format!("  {}", neighbor.state.as_str()), state_style),
        ]);
    }
    doc.blank();
    let events: Vec<&TimelineEntry> =
        store.timeline().iter().rev().filter(|e| concerns(e, &info.name)).take(MAX_EVENTS).collect();
    doc.line([(format!("Events for {} ({})", info.name, events.len()), theme.title())]);
    if events.is_empty() {
        doc.line([("  none yet".to_owned(), theme.muted())]);
    }
    for event in events {
        let mut spans = vec![
            (format!("  {:>10} ", Ago { at: event.at, now }.to_string()), theme.muted()),
            (format!("{:<16} ", event.kind.as_str()), kind_style(theme, event.kind)),
            (event.detail.clone(), theme.text()),
        ];
        if event.count > 1 {
            spans.push((format!(" ×{}", event.count), theme.info()));
        }
        doc.line(spans);
    }
    doc
}

/// The lines of each column.
fn columns(
    store: &Store,
    entry: &InterfaceEntry,
    theme: &Theme,
    now: Timestamp,
    (left, right): (Rect, Option<Rect>),
) -> (Doc, Option<Doc>) {
    let mut main = main_column(entry, theme, now, left.width);
    let side = side_column(store, entry, theme, now);
    if right.is_some() {
        return (main, Some(side));
    }
    main.blank();
    main.append(side);
    (main, None)
}

/// The preview's lines: one line of identity, one per address, one per direction of
/// traffic with its trend, the neighbours and the latest event.
fn preview_doc(
    store: &Store,
    entry: &InterfaceEntry,
    theme: &Theme,
    now: Timestamp,
    width: u16,
    height: u16,
) -> Doc {
    let info = &entry.info;
    let mut doc = Doc::default();
    let (carrier, carrier_style) = if info.carrier { ("yes", theme.ok()) } else { ("no", theme.error()) };
    doc.line([
        (label("state"), theme.muted()),
        (info.oper_state.as_str().to_owned(), oper_state_style(theme, info.oper_state)),
        ("  carrier ".to_owned(), theme.muted()),
        (carrier.to_owned(), carrier_style),
        ("  mtu ".to_owned(), theme.muted()),
        (info.mtu.to_string(), theme.text()),
        ("  mac ".to_owned(), theme.muted()),
        (info.mac.clone().unwrap_or_else(|| "–".to_owned()), theme.text()),
    ]);
    let address_width = info
        .addresses
        .iter()
        .map(|a| StackText::new(Prefix(a.address, a.prefix_len)).as_str().len())
        .max()
        .unwrap_or(0);
    for (i, address) in addresses_by_interest(entry).enumerate() {
        let flags: Vec<&str> = address.flags.names().collect();
        let lifetime = match address.valid_lifetime_s {
            None => "forever".to_owned(),
            valid => format!("valid {}", Lifetime(valid)),
        };
        doc.line([
            (label(if i == 0 { "addresses" } else { "" }), theme.muted()),
            (
                format!("{:<address_width$}", Prefix(address.address, address.prefix_len).to_string()),
                address_style(theme, address),
            ),
            (format!("  {:<6}", address.scope.as_str()), theme.muted()),
            (format!("  {:<10}", flags.join(" ")), theme.muted()),
            (format!("  {lifetime}"), theme.muted()),
        ]);
    }
    let stats = info.stats.unwrap_or_default();
    // Label, rate, total, errors and dropped take 65 cells; the trend gets the rest.
    let trend_width = usize::from(width.saturating_sub(65)).min(entry.history.len()).min(60);
    for (name, rate, bytes, errors, dropped, style, values) in [
        (
            "rx",
            entry.rates.map(|r| r.rx_bytes_per_s),
            stats.rx_bytes,
            stats.rx_errors,
            stats.rx_dropped,
            theme.rx(),
            bars(entry.history.iter().map(|s| s.rates.rx_bytes_per_s), trend_width),
        ),
        (
            "tx",
            entry.rates.map(|r| r.tx_bytes_per_s),
            stats.tx_bytes,
            stats.tx_errors,
            stats.tx_dropped,
            theme.tx(),
            bars(entry.history.iter().map(|s| s.rates.tx_bytes_per_s), trend_width),
        ),
    ] {
        let problem = |n: u64| if n > 0 { theme.error() } else { theme.muted() };
        doc.line([
            (label(name), theme.muted()),
            (format!("{:>10}", Rate(rate).to_string()), style),
            (format!("  total {:>8}", Bytes(bytes).to_string()), theme.muted()),
            (format!("  errors {errors:<4}"), problem(errors)),
            (format!("  dropped {dropped:<4} "), problem(dropped)),
            (values, style),
        ]);
    }
    let mut neighbors = vec![(label("neighbours"), theme.muted())];
    for neighbor in store.neighbors().iter().filter(|n| n.interface_index == info.index) {
        if neighbors.len() > 1 {
            neighbors.push(("  ".to_owned(), theme.muted()));
        }
        neighbors.push((format!("{} ", neighbor.address), theme.text()));
        neighbors.push((neighbor.state.as_str().to_owned(), neighbor_style(theme, neighbor.state)));
    }
    if neighbors.len() == 1 {
        neighbors.push(("none".to_owned(), theme.muted()));
    }
    doc.line(neighbors);
    // The interface's latest events fill whatever room is left.
    let room = usize::from(height).saturating_sub(doc.len());
    let events = store.timeline().iter().rev().filter(|e| concerns(e, &info.name)).take(room.max(1));
    let mut any = false;
    for event in events {
        doc.line([
            (label(if any { "" } else { "events" }), theme.muted()),
            (format!("{:>9}  ", Ago { at: event.at, now }.to_string()), theme.muted()),
            (format!("{:<16} ", event.kind.as_str()), kind_style(theme, event.kind)),
            (event.detail.clone(), theme.text()),
        ]);
        any = true;
    }
    if !any {
        doc.line([(label("events"), theme.muted()), ("none yet".to_owned(), theme.muted())]);
    }
    doc
}

/// Extra event lines the preview keeps above a chart.
const CHART_EVENTS: usize = 3;

/// A preview of the selected interface under a table that leaves room for one.
pub(crate) fn preview(
    buf: &mut Buffer,
    area: Rect,
    store: &Store,
    entry: &InterfaceEntry,
    theme: &Theme,
    now: Timestamp,
    hint: &str,
) {
    let info = &entry.info;
    let subtitle = format!("  {} · index {}", info.kind.as_str(), info.index);
    let title = [(info.name.as_str(), theme.title()), (subtitle.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[(hint, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    // The facts with one event first; when a chart fits under them, a few more events
    // and the chart take the rest of the height, else events fill it.
    let facts = preview_doc(store, entry, theme, now, padded.width, 0);
    let doc = match chart_room(padded, facts.len() + CHART_EVENTS, entry) {
        Some(_) => preview_doc(store, entry, theme, now, padded.width, (facts.len() + CHART_EVENTS) as u16),
        None => preview_doc(store, entry, theme, now, padded.width, padded.height),
    };
    doc.render(buf, padded, 0);
    if let Some(chart) = chart_room(padded, doc.len(), entry) {
        rate_chart(buf, chart, &RatePoints::of(&entry.history), theme);
        return;
    }
    scroll_marks(buf, area, 0, usize::from(inner.height), doc.len(), theme);
}

/// Draw the details of the open interface into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, open: &mut Details, ctx: &Paint<'_>) {
    let Paint { store, theme, now, .. } = *ctx;
    let buf = frame.buffer_mut();
    fill(buf, area, theme.overlay());
    let Some(entry) = store.interface(open.index) else {
        let inner = pane(
            buf,
            area,
            theme.border_focused(),
            &[("Details", theme.title())],
            &[("esc back", theme.muted())],
        );
        let text = format!("interface index {} is gone · esc goes back to the list", open.index);
        note(buf, inner, &text, theme.muted());
        return;
    };
    let info = &entry.info;
    let subtitle = format!("  {} · index {}", info.kind.as_str(), info.index);
    let title = [(info.name.as_str(), theme.title()), (subtitle.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border_focused(), &title, &[("↑↓ scroll  esc back", theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let (left, right) = split(inner);
    let (main, side) = columns(store, entry, theme, now, (left, right));
    // When the text fits with room to spare, the rate chart takes the rest, across the
    // whole width; otherwise the text scrolls as before.
    let tallest = main.len().max(side.as_ref().map_or(0, Doc::len));
    let padded = Rect { x: inner.x + 1, width: inner.width.saturating_sub(2), ..inner };
    let chart = chart_room(padded, tallest, entry);
    let (text, left, right) = match chart {
        Some(chart) => {
            let height = chart.y - 1 - inner.y;
            let shorten = |r: Rect| Rect { height, ..r };
            (shorten(inner), shorten(left), right.map(shorten))
        }
        None => (inner, left, right),
    };
    let (overflow, shown) =
        render_columns(buf, area, text, (left, right), (main, side), open.scroll.line, theme);
    open.scroll.record(overflow, shown);
    if let Some(chart) = chart {
        rate_chart(buf, chart, &RatePoints::of(&entry.history), theme);
    }
}
