//! The Overview tab: where traffic leaves and whether it works (the default path of each
//! family, or its default route before paths are evaluated), how name resolution is
//! doing (one line: servers, queries, latency, timeouts, warnings), how busy
//! each interface is (and, where the height allows, rate charts of the busiest),
//! which processes talk the most and how many connections are in
//! each state, what happened last, and what netlens can see (sources, privileges, host
//! facts).

use std::collections::HashMap;
use std::net::IpAddr;

use netlens_collectors::model::{
    AddressFamily, PathState, PathStatus, ProcessInfo, Route, SourceId, SourceState, Timestamp,
};
use netlens_collectors::{ConnectionEntry, Store};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

mod access;
mod host;
mod kernel;

use super::addresses::addresses_by_interest;
use super::path_text::{pending_text, reason_text};
use super::tones::{address_style, oper_state_style, status_style};
use crate::context::Paint;
use crate::format::{Prefix, Rate, Span, StackText};
use crate::state::Tab;
use crate::theme::Theme;
use crate::widgets::chart::{busiest_charts, rate_scale};
use crate::widgets::event_list::{self, COMPACT, NARROW};
use crate::widgets::marks::note;
use crate::widgets::pane::pane;
use crate::widgets::sparkline::{column_scale, scale_header, sparkline_scaled, traffic};
use crate::widgets::table::Column as TableColumn;
use crate::widgets::table::{Column, Layout, Row, header};
use crate::widgets::text::{Scratch, put, put_spans};
use crate::widgets::{split_left, split_top};

const NAME: usize = 0;
const STATE: usize = 1;
const ADDRESS: usize = 2;
const RX: usize = 3;
const TX: usize = 4;
const TRAFFIC: usize = 5;

const SUMMARY_COLUMNS: [Column; 6] = [
    Column::left("NAME", 8, 12, 0, 1),
    Column::left("STATE", 11, 11, 0, 9),
    Column::left("ADDRESS", 15, 20, 2, 1),
    Column::right("RX", 9, 0),
    Column::right("TX", 9, 0),
    Column::left("TRAFFIC", 12, 60, 3, 0),
];

/// Width of the labels in the host box.
const LABEL: usize = 9;

const TALKER: usize = 0;
const CONNS: usize = 1;
const PEER: usize = 2;
const TALKER_RX: usize = 3;
const TALKER_TX: usize = 4;
const TALKER_TRAFFIC: usize = 5;

/// Top talkers: who, how many connections, the busiest peer, the traffic and its
/// trend. The trend and the peer go first on a narrow box; the rates never.
const TALKER_COLUMNS: [TableColumn; 6] = [
    TableColumn::left("PROCESS", 8, 18, 0, 1),
    TableColumn::right("CONNS", 5, 3),
    TableColumn::left("BUSIEST PEER", 16, 34, 2, 0),
    TableColumn::right("RX", 9, 0),
    TableColumn::right("TX", 9, 1),
    TableColumn::left("TRAFFIC", 12, 60, 4, 2),
];

/// Talkers listed at most.
const MAX_TALKERS: usize = 5;

/// Below this many columns the latest events and the talkers cannot share a row.
const SIDE_BY_SIDE: u16 = 76;

/// A process (or the unknown owner) and the traffic of its open connections.
pub(crate) struct Talker<'s> {
    /// The owner, if known.
    pub pid: Option<u32>,
    /// Its process, if known.
    pub process: Option<&'s ProcessInfo>,
    /// Its open connections.
    pub connections: usize,
    /// Bytes received per second, summed.
    pub rx: f64,
    /// Bytes sent per second, summed.
    pub tx: f64,
    /// Its busiest connection.
    pub busiest: &'s ConnectionEntry,
}

/// Processes by traffic (receive plus transmit), busiest first; idle ones left out.
pub(crate) fn talkers(store: &Store) -> Vec<Talker<'_>> {
    let connections = store.connections();
    let mut by_owner: HashMap<Option<u32>, Talker<'_>> = HashMap::new();
    let total = |e: &ConnectionEntry| e.rates.map_or(0.0, |r| r.rx_bytes_per_s + r.tx_bytes_per_s);
    for entry in connections.iter().filter(|e| e.closed_at.is_none()) {
        let talker = by_owner.entry(entry.pid).or_insert_with(|| Talker {
            pid: entry.pid,
            process: entry.pid.and_then(|pid| connections.process(pid)),
            connections: 0,
            rx: 0.0,
            tx: 0.0,
            busiest: entry,
        });
        talker.connections += 1;
        if let Some(rates) = entry.rates {
            talker.rx += rates.rx_bytes_per_s;
            talker.tx += rates.tx_bytes_per_s;
        }
        let busier = total(entry)
            .total_cmp(&total(talker.busiest))
            .then(talker.busiest.socket.cookie.cmp(&entry.socket.cookie));
        if busier == std::cmp::Ordering::Greater {
            talker.busiest = entry;
        }
    }
    let mut talkers: Vec<Talker<'_>> = by_owner.into_values().filter(|t| t.rx + t.tx > 0.0).collect();
    talkers.sort_by(|a, b| (b.rx + b.tx).total_cmp(&(a.rx + a.tx)).then(a.pid.cmp(&b.pid)));
    talkers
}

/// The busiest peers of the talkers the Overview can show, for reverse-DNS lookups.
pub(crate) fn talker_remotes(store: &Store) -> Vec<IpAddr> {
    talkers(store).iter().take(MAX_TALKERS).map(|t| t.busiest.socket.remote.ip()).collect()
}

/// Draw the tab, with the findings panel's cursor at `cursor`; returns the cursor
/// as drawn (clamped to the open findings).
pub(crate) fn render(frame: &mut Frame, area: Rect, cursor: usize, ctx: &Paint<'_>) -> usize {
    let Paint { store, theme, now, keys } = *ctx;
    let buf = frame.buffer_mut();
    let (routes_area, rest) = split_top(area, 5);
    default_routes(buf, routes_area, store, theme, now);
    // Open findings go first after the paths: they are the answer the rest explains.
    // On a short screen they leave the boxes below a row at least (the banner above
    // names the worst finding anyway).
    let findings_height = super::findings::panel_height(store).min(rest.height.saturating_sub(3));
    let findings_height = if findings_height < 3 { 0 } else { findings_height };
    let (findings_area, rest) = split_top(rest, findings_height);
    let cursor = super::findings::panel(buf, findings_area, cursor, ctx);

    let host_width = if rest.width >= 120 { rest.width * 2 / 5 } else { (rest.width / 2).max(36) };
    // Borders and the left padding: what a line of the host box holds.
    let host = host::facts(store, theme, now, usize::from(host_width.saturating_sub(3)));
    let wanted = (store.interface_count() + 1).max(host.len()) as u16 + 2;
    // Leave the latest events at least three rows (plus borders).
    let middle_height = wanted.min(rest.height.saturating_sub(5)).max(rest.height.min(6));
    // A box with no row for an event is left out: its rows go to the boxes above.
    let middle_height =
        if rest.height.saturating_sub(middle_height) < 3 { rest.height } else { middle_height };
    let (middle, events_area) = split_top(rest, middle_height);
    let (summary_area, host_area) = split_left(middle, middle.width.saturating_sub(host_width));
    interface_summary(buf, summary_area, store, theme);
    let inner = pane(buf, host_area, theme.border(), &[("Host & sources", theme.title())], &[]);
    host.render(buf, Rect { x: inner.x + 1, width: inner.width.saturating_sub(1), ..inner }, 0);

    // Top talkers above the latest events when there is height for both, beside them
    // when not (80×24), left out on a screen too small for either arrangement.
    let talkers = talkers(store);
    let talker_height = talkers.len().clamp(1, MAX_TALKERS) as u16 + 4;
    // Rate charts of the busiest interfaces above them, when the events keep six rows;
    // else above talkers and events side by side, when those keep eight.
    let stacked = events_area.height.saturating_sub(talker_height + 6);
    let chart_height = if stacked >= CHART_PANE_MIN || events_area.width < SIDE_BY_SIDE {
        stacked
    } else {
        events_area.height.saturating_sub(8)
    }
    .min(CHART_PANE_MAX);
    let events_area = if chart_height >= CHART_PANE_MIN {
        let (charts_area, rest) = split_top(events_area, chart_height);
        busiest_charts(buf, charts_area, store, theme);
        rest
    } else {
        events_area
    };
    let (talkers_area, events_area, narrow) = if events_area.height >= talker_height + 6 {
        let (top, bottom) = split_top(events_area, talker_height);
        (top, bottom, false)
    } else if events_area.width >= SIDE_BY_SIDE {
        let talkers_width = (events_area.width * 2 / 5).clamp(30, 48);
        let (left, right) = split_left(events_area, events_area.width - talkers_width);
        (right, left, true)
    } else {
        (Rect::default(), events_area, false)
    };
    let connections_key = keys.of(Tab::Connections.binding()).unwrap_or("5");
    top_talkers(buf, talkers_area, store, &talkers, theme, &format!("{connections_key} for all"));
    let all_key = keys.of(Tab::Events.binding()).unwrap_or("7");
    let columns: &[TableColumn] = if narrow { &NARROW } else { &COMPACT };
    latest_events(buf, events_area, store, theme, now, &format!("{all_key} for all"), columns);
    cursor
}

/// Fewest rows (borders included) a row of rate charts gets: a readable chart.
const CHART_PANE_MIN: u16 = 8;

/// Most rows a row of rate charts takes: the talkers and events need the rest.
const CHART_PANE_MAX: u16 = 11;

/// Connection counts per state, then the busiest processes with their busiest peer.
fn top_talkers(
    buf: &mut Buffer,
    area: Rect,
    store: &Store,
    talkers: &[Talker<'_>],
    theme: &Theme,
    hint: &str,
) {
    if area.is_empty() {
        return;
    }
    let connections = store.connections();
    let total = connections.len().to_string();
    let title = [("Connections", theme.title()), (" ", theme.muted()), (total.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[(hint, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    if !connections.has_data() {
        let text = match store.source(SourceId::Connections) {
            Some(status) if status.status != SourceState::Ok => {
                format!("connections source {}: {}", status.status.as_str(), status.detail)
            }
            _ => "waiting for the connections source…".to_owned(),
        };
        note(buf, inner, &text, theme.muted());
        return;
    }
    let counts = super::connections::count_spans(connections.counts(), theme);
    let counts: Vec<(&str, Style)> = counts.iter().map(|(text, style)| (text.as_str(), *style)).collect();
    put_spans(buf, inner.x + 1, inner.y, inner.width.saturating_sub(1), &counts);
    if inner.height < 2 {
        return;
    }
    let layout = Layout::new(&TALKER_COLUMNS, inner.x + 1, inner.width.saturating_sub(1));
    header(buf, inner.y + 1, &TALKER_COLUMNS, &layout, theme, None);
    let body = Rect { y: inner.y + 2, height: inner.height.saturating_sub(2), ..inner };
    if talkers.is_empty() {
        put(buf, body.x + 1, body.y, body.width.saturating_sub(1), "no traffic right now", theme.muted());
        return;
    }
    let shown = talkers.len().min(MAX_TALKERS).min(usize::from(body.height));
    let trends =
        layout.slot(TALKER_TRAFFIC).map(|slot| trends(store, &talkers[..shown], usize::from(slot.width)));
    // One scale for every row, so the trends compare the talkers with each other.
    let peak = rate_scale(trends.iter().flatten().flatten().copied());
    if let Some(slot) = layout.slot(TALKER_TRAFFIC) {
        put(buf, slot.x, inner.y + 1, slot.width, &scale_header("TRAFFIC", peak, slot.width), theme.header());
    }
    let mut scratch = Scratch::default();
    for (i, (talker, y)) in talkers.iter().take(shown).zip(body.top()..body.bottom()).enumerate() {
        let mut row = Row::new(buf, body, y, &layout, &TALKER_COLUMNS, None, &mut scratch);
        match (talker.process, talker.pid) {
            (Some(process), _) => row.text(TALKER, &process.name, theme.text()),
            (None, Some(pid)) => row.display(TALKER, format_args!("pid {pid}"), theme.muted()),
            (None, None) => row.text(TALKER, "?", theme.muted()),
        }
        row.display(CONNS, talker.connections, theme.muted());
        let remote = talker.busiest.socket.remote;
        match connections.name_of(remote.ip()).flatten() {
            Some(name) => row.display(PEER, format_args!("{name}:{}", remote.port()), theme.text()),
            None => row.display(PEER, remote, theme.text()),
        }
        row.display(TALKER_RX, Rate(Some(talker.rx)), theme.rx());
        row.display(TALKER_TX, Rate(Some(talker.tx)), theme.tx());
        if let (Some(slot), Some(trend)) = (row.slot(TALKER_TRAFFIC), trends.as_ref().and_then(|t| t.get(i)))
        {
            let values = trend.iter().copied();
            sparkline_scaled(row.buf(), slot.x, y, slot.width, values, theme.rx(), theme.muted(), peak);
        }
    }
}

/// Each talker's traffic (receive plus transmit) over its open connections' histories,
/// the newest `width` samples, summed position by position from the newest: every
/// history gains a sample per refresh, so equal distances from the end are the same
/// moment.
fn trends(store: &Store, talkers: &[Talker<'_>], width: usize) -> Vec<Vec<f64>> {
    let mut sums = vec![vec![0.0; width]; talkers.len()];
    let mut lengths = vec![0; talkers.len()];
    for entry in store.connections().iter().filter(|e| e.closed_at.is_none()) {
        let Some(at) = talkers.iter().position(|t| t.pid == entry.pid) else { continue };
        let newest = entry.history.iter().rev().take(width);
        for (back, sample) in newest.enumerate() {
            sums[at][width - 1 - back] += f64::from(sample.rx_bytes_per_s) + f64::from(sample.tx_bytes_per_s);
            lengths[at] = lengths[at].max(back + 1);
        }
    }
    // Older than any history: left blank, not drawn as idle.
    sums.into_iter().zip(lengths).map(|(sum, length)| sum[width - length..].to_vec()).collect()
}

/// The default path of a family, when the paths source has evaluated it: verdict
/// (with the reason), where it leaves, what is available and for how long —
/// `● satisfied eth0 via 192.168.1.1 src 192.168.1.23 · v4 v6 dns · 19s`.
fn default_path(texts: &mut Vec<(String, Style)>, path: &PathState, theme: &Theme, now: Timestamp) {
    let style = status_style(theme, path.status);
    let dot = if path.status == PathStatus::Satisfied { "● " } else { "✗ " };
    texts.push((dot.to_owned(), style));
    texts.push((path.status.as_str().to_owned(), style));
    if let Some(reason) = reason_text(path, true) {
        texts.push((format!(" {reason}"), style));
    }
    if let Some(pending) = pending_text(path) {
        texts.push((format!(" {pending}"), theme.warn()));
    }
    texts.push(("  ".to_owned(), theme.muted()));
    if let Some(name) = &path.interface {
        texts.push((name.clone(), theme.accent()));
    }
    match path.gateway {
        Some(gateway) => {
            texts.push((" via ".to_owned(), theme.muted()));
            texts.push((gateway.to_string(), theme.text()));
        }
        None if path.interface.is_some() => texts.push((" direct".to_owned(), theme.muted())),
        None => {}
    }
    if let Some(source) = path.source {
        texts.push((" src ".to_owned(), theme.muted()));
        texts.push((source.to_string(), theme.text()));
    }
    if let Some(tunnel) = path.tunnel {
        texts.push((format!(" · {} tunnel", tunnel.as_str()), theme.info()));
    }
    texts.push((" · avail ".to_owned(), theme.muted()));
    texts.extend(super::path_text::availability(path, theme));
    let held = (now - path.since).whole_seconds().max(0).unsigned_abs();
    texts.push((format!(" · for {}", Span(held)), theme.muted()));
}

/// The default path of each family (once evaluated; else the default route), plus
/// defaults in policy tables (a VPN's full tunnel lives there), most telling first so a
/// narrow screen cuts only the details:
/// `eth0 via 192.168.1.1 src 192.168.1.23 · policy table 51820 → wg0 · metric 100 · dhcp`;
/// then how name resolution is doing, in one line.
fn default_routes(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme, now: Timestamp) {
    let title = if store.paths().iter().any(PathState::is_default_path) {
        "Default paths & DNS"
    } else {
        "Default routes & DNS"
    };
    let inner = pane(buf, area, theme.border(), &[(title, theme.title())], &[]);
    if let Some(y) = (inner.top()..inner.bottom()).nth(2) {
        let mut texts: Vec<(String, Style)> = vec![(" DNS   ".to_owned(), theme.header())];
        texts.extend(super::dns_summary::summary(store, theme));
        let spans: Vec<(&str, Style)> = texts.iter().map(|(text, style)| (text.as_str(), *style)).collect();
        put_spans(buf, inner.x, y, inner.width, &spans);
    }
    for (family, y) in [AddressFamily::Ipv4, AddressFamily::Ipv6].into_iter().zip(inner.top()..inner.bottom())
    {
        let (label, target) = match family {
            AddressFamily::Ipv4 => (" IPv4  ", "default-ipv4"),
            AddressFamily::Ipv6 => (" IPv6  ", "default-ipv6"),
        };
        let mut texts: Vec<(String, Style)> = vec![(label.to_owned(), theme.header())];
        let route = store.default_route(family);
        if let Some(path) = store.path(target) {
            // The path says where traffic really leaves; the route table's details
            // (metric, protocol) belong to the Routes tab.
            default_path(&mut texts, path, theme, now);
            let spans: Vec<(&str, Style)> =
                texts.iter().map(|(text, style)| (text.as_str(), *style)).collect();
            put_spans(buf, inner.x, y, inner.width, &spans);
            continue;
        }
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
            // Without rtnetlink (`--no-netlink`) no route was read: say so rather than
            // claim there is none.
            None => match store.source(SourceId::Paths).filter(|status| status.status == SourceState::Off) {
                Some(off) => texts.push((format!("not checked: {}", off.detail), theme.muted())),
                None => texts.push((
                    "no default route: nothing beyond local networks is reachable".to_owned(),
                    theme.warn(),
                )),
            },
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
    let scale = layout.slot(TRAFFIC).map_or(0.0, |slot| {
        let scale = column_scale(store.interfaces());
        put(buf, slot.x, inner.y, slot.width, &scale_header("TRAFFIC", scale, slot.width), theme.header());
        scale
    });
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
                super::interfaces::oper_state_word(info.oper_state),
                oper_state_style(theme, info.oper_state),
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
            sparkline_scaled(
                row.buf(),
                slot.x,
                y,
                slot.width,
                traffic(entry),
                theme.rx(),
                theme.muted(),
                scale,
            );
        }
    }
    if hidden > 0 && body.height > 0 {
        let text = format!("… {} more on the Interfaces tab", hidden + 1);
        put(buf, body.x, body.bottom() - 1, body.width, &text, theme.muted());
    }
}

/// The newest timeline entries that fit.
fn latest_events(
    buf: &mut Buffer,
    area: Rect,
    store: &Store,
    theme: &Theme,
    now: Timestamp,
    hint: &str,
    columns: &[TableColumn],
) {
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
    event_list::render(buf, inner, theme, now, columns, false, entries, None);
}
