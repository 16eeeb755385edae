//! The Overview tab: where traffic leaves (the default route of each family), how busy
//! each interface is, what happened last, and what netlens can see (sources,
//! privileges, host facts).

use netlens_collectors::Store;
use netlens_collectors::model::{AddressFamily, Route, SourceState, Timestamp};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::interfaces::{address_style, addresses_by_interest, state_style};
use super::note;
use crate::format::{Memory, Prefix, Rate, Span, StackText};
use crate::state::UiState;
use crate::theme::Theme;
use crate::widgets::event_list::{self, COMPACT};
use crate::widgets::pane::pane;
use crate::widgets::sparkline::sparkline;
use crate::widgets::table::{Column, Layout, Row, header};
use crate::widgets::text::{Doc, Scratch, put, put_spans};
use crate::widgets::{split_left, split_top};

const NAME: usize = 0;
const STATE: usize = 1;
const ADDRESS: usize = 2;
const RX: usize = 3;
const TX: usize = 4;
const TRAFFIC: usize = 5;

const SUMMARY_COLUMNS: [Column; 6] = [
    Column::left("NAME", 8, 12, 0, 1),
    Column::left("STATE", 9, 9, 0, 9),
    Column::left("ADDRESS", 15, 20, 2, 1),
    Column::right("RX", 9, 0),
    Column::right("TX", 9, 0),
    Column::left("TRAFFIC", 12, 60, 3, 0),
];

/// Width of the labels in the host box.
const LABEL: usize = 9;

/// Draw the tab.
pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    store: &Store,
    ui: &UiState,
    theme: &Theme,
    now: Timestamp,
) {
    let buf = frame.buffer_mut();
    let (routes_area, rest) = split_top(area, 4);
    default_routes(buf, routes_area, store, theme);

    let host = host_facts(store, theme, now);
    let wanted = (store.interface_count() + 1).max(host.len()) as u16 + 2;
    // Leave the latest events at least three rows (plus borders).
    let middle_height = wanted.min(rest.height.saturating_sub(5)).max(rest.height.min(6));
    let (middle, events_area) = split_top(rest, middle_height);
    let host_width = if middle.width >= 120 { middle.width * 2 / 5 } else { (middle.width / 2).max(36) };
    let (summary_area, host_area) = split_left(middle, middle.width.saturating_sub(host_width));
    interface_summary(buf, summary_area, store, theme);
    let inner = pane(buf, host_area, theme.border(), &[("Host & sources", theme.title())], &[]);
    host.render(buf, Rect { x: inner.x + 1, width: inner.width.saturating_sub(1), ..inner }, 0);

    let all_key = ui.keys_of("tab_4").unwrap_or("4");
    latest_events(buf, events_area, store, theme, now, &format!("{all_key} for all"));
}

/// The default route of each family, plus defaults in policy tables (a VPN's full
/// tunnel lives there), most telling first so a narrow screen cuts only the details:
/// `eth0 via 192.168.1.1 src 192.168.1.23 · policy table 51820 → wg0 · metric 100 · dhcp`
fn default_routes(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme) {
    let inner = pane(buf, area, theme.border(), &[("Default routes", theme.title())], &[]);
    for (family, y) in [AddressFamily::Ipv4, AddressFamily::Ipv6].into_iter().zip(inner.top()..inner.bottom())
    {
        let label = match family {
            AddressFamily::Ipv4 => " IPv4  ",
            AddressFamily::Ipv6 => " IPv6  ",
        };
        let mut texts: Vec<(String, Style)> = vec![(label.to_owned(), theme.header())];
        let route = store.default_route(family);
        match route {
            Some(route) => {
                texts.push((route.interface.clone().unwrap_or_else(|| "–".to_owned()), theme.accent()));
                match route.gateway {
                    Some(gateway) => {
                        texts.push((" via ".to_owned(), theme.muted()));
                        texts.push((gateway.to_string(), theme.text()));
                    }
                    None => texts.push((" direct".to_owned(), theme.muted())),
                }
                texts.push((" src ".to_owned(), theme.muted()));
                texts.push((route.source.map_or_else(|| "auto".to_owned(), |s| s.to_string()), theme.text()));
            }
            None => texts.push((
                "no default route: nothing beyond local networks is reachable".to_owned(),
                theme.warn(),
            )),
        }
        let policy = store.routes().iter().filter(|r| {
            r.family == family
                && r.is_default()
                && r.table != 254
                && r.table != 255
                && r.route_type.as_str() == "unicast"
        });
        for other in policy {
            texts.push((" · policy table ".to_owned(), theme.muted()));
            texts.push((Route::table_name(other.table), theme.info()));
            if let Some(dev) = &other.interface {
                texts.push((" → ".to_owned(), theme.muted()));
                texts.push((dev.clone(), theme.info()));
            }
        }
        if let Some(route) = route {
            if let Some(metric) = route.metric {
                texts.push((format!(" · metric {metric}"), theme.muted()));
            }
            texts.push((format!(" · {}", route.protocol), theme.muted()));
        }
        let spans: Vec<(&str, Style)> = texts.iter().map(|(text, style)| (text.as_str(), *style)).collect();
        put_spans(buf, inner.x, y, inner.width, &spans);
    }
}

/// One row per interface (as many as fit) with state, main address and rates.
fn interface_summary(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme) {
    let count = store.interface_count().to_string();
    let title = [("Interfaces", theme.title()), (" ", theme.muted()), (count.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[]);
    if inner.is_empty() {
        return;
    }
    let layout = Layout::new(&SUMMARY_COLUMNS, inner.x, inner.width);
    header(buf, inner.y, &SUMMARY_COLUMNS, &layout, theme, None);
    let body = Rect { y: inner.y + 1, height: inner.height.saturating_sub(1), ..inner };
    if store.interface_count() == 0 {
        note(buf, body, "waiting for the interfaces source…", theme.muted());
        return;
    }
    let fits = usize::from(body.height);
    let hidden = store.interface_count().saturating_sub(fits);
    // The last row says how many more there are instead of showing one of them.
    let shown = if hidden > 0 { fits.saturating_sub(1) } else { fits };
    let mut scratch = Scratch::default();
    for (entry, y) in store.interfaces().take(shown).zip(body.top()..body.bottom()) {
        let mut row = Row::new(buf, body, y, &layout, &SUMMARY_COLUMNS, None, &mut scratch);
        let info = &entry.info;
        row.text(NAME, &info.name, theme.text());
        if let Some(slot) = row.slot(STATE) {
            let (dot, dot_style) = if info.carrier { ("●", theme.ok()) } else { ("○", theme.error()) };
            put(row.buf(), slot.x, y, 1, dot, dot_style);
            put(
                row.buf(),
                slot.x + 2,
                y,
                slot.width - 2,
                info.oper_state.as_str(),
                state_style(theme, info.oper_state),
            );
        }
        match addresses_by_interest(entry).next() {
            Some(address) => {
                let text = StackText::new(Prefix(address.address, address.prefix_len));
                row.text(ADDRESS, text.as_str(), address_style(theme, address));
            }
            None => row.text(ADDRESS, "–", theme.muted()),
        }
        row.display(RX, Rate(entry.rates.map(|r| r.rx_bytes_per_s)), theme.rx());
        row.display(TX, Rate(entry.rates.map(|r| r.tx_bytes_per_s)), theme.tx());
        if let Some(slot) = row.slot(TRAFFIC) {
            let values = entry.history.iter().map(|s| s.rates.rx_bytes_per_s + s.rates.tx_bytes_per_s);
            sparkline(row.buf(), slot.x, y, slot.width, values, theme.rx(), theme.muted());
        }
    }
    if hidden > 0 && body.height > 0 {
        let text = format!("… {} more on the Interfaces tab", hidden + 1);
        put(buf, body.x, body.bottom() - 1, body.width, &text, theme.muted());
    }
}

/// Host, kernel, load, privileges and the health of each source.
fn host_facts(store: &Store, theme: &Theme, now: Timestamp) -> Doc {
    let system = store.system();
    let host = &system.host;
    let mut doc = Doc::default();
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let hostname = if host.hostname.is_empty() { "–".to_owned() } else { host.hostname.clone() };
    doc.line([label("host"), (hostname, theme.accent())]);
    if let Some(netns) = &host.netns {
        doc.line([label("netns"), (netns.clone(), theme.info())]);
    }
    if !host.kernel.is_empty() {
        doc.line([label("kernel"), (host.kernel.clone(), theme.text())]);
    }
    if system.cpus > 0 {
        doc.line([
            label("load"),
            (format!("{:.1}%", system.cpu_pct), theme.text()),
            (format!(" of {} cpus · up {}", system.cpus, Span(system.uptime_s)), theme.muted()),
        ]);
    }
    if system.memory_total_bytes > 0 {
        doc.line([
            label("memory"),
            (Memory(system.memory_used_bytes).to_string(), theme.text()),
            (format!(" of {}", Memory(system.memory_total_bytes)), theme.muted()),
        ]);
    }
    let privileges = host.privileges;
    if privileges.root {
        doc.line([label("access"), ("root: everything visible".to_owned(), theme.ok())]);
    } else {
        let cap = |held: bool, name: &str| {
            if held { (name.to_owned(), theme.ok()) } else { (format!("no {name}"), theme.warn()) }
        };
        doc.line([
            label("access"),
            cap(privileges.net_admin, "net_admin"),
            (" · ".to_owned(), theme.muted()),
            cap(privileges.net_raw, "net_raw"),
        ]);
    }
    let mut first = true;
    for source in store.sources() {
        let (dot, style) = match source.status {
            SourceState::Ok => ("● ", theme.ok()),
            SourceState::Degraded => ("● ", theme.warn()),
            SourceState::Failed => ("● ", theme.error()),
            SourceState::Off => ("○ ", theme.muted()),
        };
        doc.line([
            label(if first { "sources" } else { "" }),
            (dot.to_owned(), style),
            (format!("{} ", source.name.as_str()), theme.text()),
            (source.status.as_str().to_owned(), style),
            (format!(" · {}", source.detail), theme.muted()),
        ]);
        first = false;
    }
    if first {
        doc.line([label("sources"), ("starting…".to_owned(), theme.muted())]);
    }
    if let Some(updated) = store.updated_at() {
        doc.line([label("updated"), (crate::format::Ago { at: updated, now }.to_string(), theme.muted())]);
    }
    doc
}

/// The newest timeline entries that fit.
fn latest_events(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme, now: Timestamp, hint: &str) {
    let timeline = store.timeline();
    let total = timeline.len().to_string();
    let title = [("Latest events", theme.title()), (" ", theme.muted()), (total.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[(hint, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    if timeline.is_empty() {
        note(buf, inner, "no events yet", theme.muted());
        return;
    }
    let entries = (0..usize::from(inner.height)).map_while(|i| timeline.from_newest(i));
    event_list::render(buf, inner, theme, now, &COMPACT, false, entries, None);
}
