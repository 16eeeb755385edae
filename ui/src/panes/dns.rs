//! The DNS tab: how this host turns names into addresses, and how that is going — the
//! resolver configuration with what is wrong with it, how each server has been doing,
//! every exchange the passive capture sees (newest first), and the latest trace the
//! user asked for (`t`, drawn by [`super::dns_trace`]).
//!
//! ```text
//! From 150 columns and 40 rows:
//! ╭ Resolver ──────────────────────────────────────────╮╭ Servers 4 ─── passive log and traces ─╮
//! │ nameservers 127.0.0.53 10.9.9.9 (stub → 10.0.0.53 …)││ SERVER     ROLE     QUERIES TIMEOUTS … │
//! │ search      corp.test lab.test                     ││ 127.0.0.53 stub          24        0 … │
//! │ options     ndots 1 · timeout 2s · attempts 2 · …  ││ 10.0.0.53  upstream       8        4 … │
//! │ hosts       files dns · gai.conf RFC 6724 defaults ││ …                                      │
//! │ ⚠ each warning, wrapped · NAT64 · files read        ││                                        │
//! ╰────────────────────────────────────────────────────╯╰────────────────────────────────────────╯
//! ╭ Query log 40 logged · 1 malformed · 1 unmatched ───────────────────── t trace  ←→ focus ─╮
//! │ TIME     PROCESS      NAME                  TYPE  SERVER      RCODE    LATENCY          │
//! │ 09:26:51 curl 4471    api.example.com       AAAA  127.0.0.53  NODATA     300µs          │
//! │ … newest first: slow rows warn, failed rows error, NXDOMAIN/NODATA in the info colour  │
//! ╰─────────────────────────────────────────────────────────────────────────────── 1/40 ───╯
//! ╭ Trace db ───────────────────────────────────────────────────────────────────── 12s ago ─╮
//! │ db  (search corp.test lab.test, ndots 1)  → 10.0.0.5 2001:db8::5  2.00s                 │
//! │ ├─ db.corp.test … (the tree of `dns_trace`)                                             │
//! ╰─────────────────────────────────────────────────────────────────────────────────────────╯
//!   (from 180 columns the log and the trace sit side by side, the trace on the right)
//!
//! Narrower or shorter (80×24): the resolver in three lines, then the log; the server
//! table and the trace join below it only while the log keeps 14 rows. The focused
//! view (←/→) has the highlighted border; a focused trace takes the log's room when
//! both do not fit.
//! ```

use std::net::IpAddr;

use netlens_collectors::Store;
use netlens_collectors::model::{DnsQuery, ResolverConfig, SourceId, SourceState, Timestamp};
use netlens_collectors::store::{SLOW_QUERY_MS, ServerHealth, is_error_rcode};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::{dns_trace, note, position, source_banner};
use crate::filter::{Field, Filter, contains};
use crate::format::{Clock, Count, Millis, StackText};
use crate::state::{DnsFocus, DnsState, ListState, UiState};
use crate::theme::Theme;
use crate::widgets::pane::pane;
use crate::widgets::table::{Column, Layout, Row, header, scroll};
use crate::widgets::text::{Doc, Scratch, put, width, wrap};
use crate::widgets::{split_bottom, split_left, split_top};

/// From this size (of the tab's area) the resolver box shows every fact on its own
/// line beside the server table; below it, three lines above it cut less.
const WIDE_WIDTH: u16 = 150;
const WIDE_HEIGHT: u16 = 38;

/// From this width the log and the trace sit side by side (each needs about 90
/// columns to show its lines whole).
const SIDE_BY_SIDE: u16 = 180;

/// Rows the log keeps (borders and heading included) before the server table or the
/// trace may take room from it.
const LOG_MIN: u16 = 14;

/// Rows the log keeps beside a focused trace; below that the trace takes them all.
const LOG_SMALL: u16 = 6;

/// Rows of a trace worth drawing below the log (borders included).
const TRACE_MIN: u16 = 5;

/// Servers the table lists at most.
const MAX_SERVERS: usize = 8;

/// Label column of the resolver box.
const LABEL: usize = 12;

const TIME: usize = 0;
const PROCESS: usize = 1;
const NAME: usize = 2;
const QTYPE: usize = 3;
const SERVER: usize = 4;
const RCODE: usize = 5;
const LATENCY: usize = 6;

/// The name, its outcome and its latency matter most; the server goes first on a narrow
/// screen (most queries go to the one stub anyway), then the type.
const LOG_COLUMNS: [Column; 7] = [
    Column::left("TIME", 8, 8, 1, 9),
    Column::left("PROCESS", 15, 20, 2, 2),
    Column::left("NAME", 18, 44, 0, 0),
    Column::left("TYPE", 5, 5, 3, 9),
    Column::left("SERVER", 15, 28, 4, 1),
    Column::left("RCODE", 8, 8, 0, 9),
    Column::right("LATENCY", 7, 0),
];

const ADDRESS: usize = 0;
const ROLE: usize = 1;
const QUERIES: usize = 2;
const TIMEOUTS: usize = 3;
const ERRORS: usize = 4;
const P50: usize = 5;
const P95: usize = 6;

/// Who the server is goes last on a narrow box; how it is doing stays.
const SERVER_COLUMNS: [Column; 7] = [
    Column::left("SERVER", 15, 39, 0, 0),
    Column::left("ROLE", 10, 10, 3, 9),
    Column::right("QUERIES", 7, 0),
    Column::right("TIMEOUTS", 8, 2),
    Column::right("ERR%", 5, 1),
    Column::right("P50", 7, 1),
    Column::right("P95", 7, 2),
];

/// Where the tab's pieces go; an empty area is not drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Areas {
    resolver: Rect,
    servers: Rect,
    log: Rect,
    trace: Rect,
    /// The resolver box in its three-line form.
    compact: bool,
    /// Warning lines the compact box shows at most (the last one sums up the rest).
    warning_lines: usize,
}

/// Below this height the compact resolver box sums its warnings up in one line.
const TALL_HEIGHT: u16 = 30;
/// Warning lines the compact box shows at most on a taller screen.
const TALL_WARNING_LINES: usize = 4;

/// Lay the tab out in `area`.
fn layout(store: &Store, ui: &UiState, area: Rect) -> Areas {
    let mono = Theme::monochrome();
    let servers_wanted = server_rows(store).len().clamp(1, MAX_SERVERS) as u16 + 3;
    let trace_wanted = dns_trace::doc(store, ui, &mono).len() as u16 + 2;
    let focus = ui.dns.focus;
    if area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT {
        // Room for every column of the server table.
        let servers_width = (area.width * 9 / 20).clamp(70, 76);
        let text_width = usize::from(area.width - servers_width).saturating_sub(3);
        let resolver_wanted = resolver_height(store, &mono, false, 0, text_width);
        let top_height = resolver_wanted.max(servers_wanted).min(area.height / 3);
        let (top, rest) = split_top(area, top_height);
        let (resolver, servers) = split_left(top, top.width - servers_width);
        let (log, trace) = if rest.width >= SIDE_BY_SIDE {
            let trace_width = (rest.width * 9 / 20).clamp(80, 100);
            split_left(rest, rest.width - trace_width)
        } else {
            let (_, log, trace) = stack(rest, focus, None, trace_wanted);
            (log, trace)
        };
        return Areas { resolver, servers, log, trace, compact: false, warning_lines: 0 };
    }
    let warning_lines = if area.height >= TALL_HEIGHT { TALL_WARNING_LINES } else { 1 };
    let (resolver, rest) = split_top(area, resolver_height(store, &mono, true, warning_lines, 0));
    let (servers, log, trace) = stack(rest, focus, Some(servers_wanted), trace_wanted);
    Areas { resolver, servers, log, trace, compact: true, warning_lines }
}

/// The server table (when asked for), the log and the trace, one above the other in
/// `rest`: the log keeps [`LOG_MIN`] rows unless the trace has the focus.
fn stack(rest: Rect, focus: DnsFocus, servers_wanted: Option<u16>, trace_wanted: u16) -> (Rect, Rect, Rect) {
    let trace_wanted = trace_wanted.max(TRACE_MIN);
    match focus {
        DnsFocus::Log => {
            let (servers, rest) = match servers_wanted {
                Some(height) if rest.height >= height + LOG_MIN => split_top(rest, height),
                _ => (Rect::default(), rest),
            };
            let trace_height =
                if rest.height >= LOG_MIN + TRACE_MIN { trace_wanted.min(rest.height - LOG_MIN) } else { 0 };
            let (log, trace) = split_bottom(rest, trace_height);
            (servers, log, trace)
        }
        DnsFocus::Trace => {
            if rest.height < trace_wanted + LOG_SMALL {
                return (Rect::default(), Rect::default(), rest);
            }
            let (servers, rest) = match servers_wanted {
                Some(height) if rest.height >= height + trace_wanted + LOG_MIN => split_top(rest, height),
                _ => (Rect::default(), rest),
            };
            let (log, trace) = split_bottom(rest, trace_wanted);
            (servers, log, trace)
        }
    }
}

/// The layout of the tab on a `width` × `height` terminal (between the tab bar and the
/// status bar), for the update's page sizes and scroll limits.
fn layout_for(store: &Store, ui: &UiState, width: u16, height: u16) -> Areas {
    layout(store, ui, Rect::new(0, 1, width, height.saturating_sub(2)))
}

/// The rows of queries the log shows on a `width` × `height` terminal.
pub(crate) fn log_rows(store: &Store, ui: &UiState, width: u16, height: u16) -> usize {
    let areas = layout_for(store, ui, width, height);
    usize::from(log_body(store, areas.log).height)
}

/// Rows a page moves on a `width` × `height` terminal: the focused view's height.
pub(crate) fn page_rows(store: &Store, ui: &UiState, width: u16, height: u16) -> usize {
    match ui.dns.focus {
        DnsFocus::Log => log_rows(store, ui, width, height),
        DnsFocus::Trace => {
            let areas = layout_for(store, ui, width, height);
            usize::from(areas.trace.height.saturating_sub(2))
        }
    }
}

/// Lines of the trace hidden below its view on a `width` × `height` terminal.
pub(crate) fn trace_overflow(store: &Store, ui: &UiState, width: u16, height: u16) -> usize {
    let areas = layout_for(store, ui, width, height);
    let lines = dns_trace::doc(store, ui, &Theme::monochrome()).len();
    lines.saturating_sub(usize::from(areas.trace.height.saturating_sub(2)))
}

/// The rows of the log pane at `area` that hold queries: inside the border, below the
/// capture's banner (when it is not healthy) and the headings.
fn log_body(store: &Store, area: Rect) -> Rect {
    if area.width < 2 || area.height < 2 {
        return Rect::default();
    }
    let inner = Rect::new(area.x + 1, area.y + 1, area.width - 2, area.height - 2);
    let skip = (u16::from(banner_fits(store, inner)) + 1).min(inner.height);
    Rect::new(inner.x, inner.y + skip, inner.width, inner.height - skip)
}

/// Whether the log says on its first line that the capture is not healthy (the same
/// room test as [`source_banner`]).
fn banner_fits(store: &Store, inner: Rect) -> bool {
    capture_unhealthy(store) && inner.height >= 3 && inner.width >= 8
}

/// Whether the passive capture runs below full fidelity (or not at all).
fn capture_unhealthy(store: &Store) -> bool {
    store.source(SourceId::DnsCapture).is_some_and(|status| status.status != SourceState::Ok)
}

/// Draw the tab.
pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    store: &Store,
    ui: &UiState,
    theme: &Theme,
    now: Timestamp,
) {
    let areas = layout(store, ui, area);
    let buf = frame.buffer_mut();
    resolver(buf, areas.resolver, store, theme, areas.compact, areas.warning_lines);
    servers(buf, areas.servers, store, theme);
    let focus = ui.dns.focus;
    query_log(buf, areas.log, store, ui, theme, focus == DnsFocus::Log);
    dns_trace::render(buf, areas.trace, store, ui, theme, now, focus == DnsFocus::Trace);
}

// ---------------------------------------------------------------------------------
// The resolver box

/// Rows the resolver box wants (borders included) for lines `room` cells wide.
fn resolver_height(store: &Store, theme: &Theme, compact: bool, warning_lines: usize, room: usize) -> u16 {
    let banner = store
        .source(SourceId::Dns)
        .is_some_and(|s| matches!(s.status, SourceState::Degraded | SourceState::Failed));
    resolver_doc(store, theme, compact, warning_lines, room).len() as u16 + 2 + u16::from(banner)
}

fn label(text: &str) -> String {
    format!("{text:<LABEL$}")
}

/// `127.0.0.53 10.9.9.9 (stub → 10.0.0.53 10.0.1.53)`.
fn nameserver_spans(config: &ResolverConfig, theme: &Theme) -> Vec<(String, Style)> {
    let mut spans = Vec::new();
    if config.nameservers.is_empty() {
        spans.push(("none: glibc asks 127.0.0.1".to_owned(), theme.warn()));
        return spans;
    }
    spans.push((list(&config.nameservers), theme.accent()));
    if config.stub {
        spans.push((" (stub → ".to_owned(), theme.muted()));
        if config.upstreams.is_empty() {
            spans.push(("upstreams unknown".to_owned(), theme.muted()));
        } else {
            spans.push((list(&config.upstreams), theme.text()));
        }
        spans.push((")".to_owned(), theme.muted()));
    }
    spans
}

/// Items separated by spaces.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// `timeout 2s · attempts 2`: how long one server is waited for, and how many rounds.
fn limits_text(config: &ResolverConfig) -> String {
    format!("timeout {}s · attempts {}", config.timeout_s, config.attempts)
}

/// Every other option as written (`edns0 trust-ad rotate`); ndots, timeout and
/// attempts are shown on their own.
fn other_options(config: &ResolverConfig) -> String {
    let others: Vec<&str> = config
        .options
        .iter()
        .map(String::as_str)
        .filter(|option| !["ndots:", "timeout:", "attempts:"].iter().any(|shown| option.starts_with(shown)))
        .collect();
    others.join(" ")
}

/// `ndots 1 · timeout 2s · attempts 2 · edns0 trust-ad`: the three that shape a lookup,
/// then every other option as written.
fn options_text(config: &ResolverConfig) -> String {
    let mut text = format!("ndots {} · {}", config.ndots, limits_text(config));
    let others = other_options(config);
    if !others.is_empty() {
        text.push_str(" · ");
        text.push_str(&others);
    }
    text
}

/// The hosts sources in nsswitch order without their `[STATUS=action]` items, for
/// the compact box.
fn hosts_sources(config: &ResolverConfig) -> String {
    let words: Vec<&str> = config
        .hosts_order
        .iter()
        .flat_map(|entry| entry.split_whitespace())
        .filter(|word| !word.starts_with('['))
        .collect();
    words.join(" ")
}

/// `RFC 6724 defaults`, or how many rules gai.conf sets.
fn gai_text(config: &ResolverConfig) -> String {
    match config.gai_rules.len() {
        0 => "RFC 6724 defaults".to_owned(),
        1 => "1 rule".to_owned(),
        n => format!("{n} rules"),
    }
}

/// The configuration as lines: every fact on its own line with the warnings wrapped
/// to `room` cells, or (`compact`) in two lines and at most `warning_lines` warnings,
/// cut at the edge.
fn resolver_doc(store: &Store, theme: &Theme, compact: bool, warning_lines: usize, room: usize) -> Doc {
    let dns = store.dns();
    let mut doc = Doc::default();
    let Some(config) = dns.config() else {
        let (text, style) = match store.source(SourceId::Dns) {
            Some(status) if status.status != SourceState::Ok => {
                let style = if status.status == SourceState::Failed { theme.error() } else { theme.muted() };
                (format!("dns source {}: {}", status.status.as_str(), status.detail), style)
            }
            _ => ("waiting for the first resolver read…".to_owned(), theme.muted()),
        };
        doc.line([(text, style)]);
        return doc;
    };
    let search = if config.search.is_empty() { "(none)".to_owned() } else { config.search.join(" ") };
    let nat64 = dns.dns64().and_then(|report| report.prefix.clone());
    if compact {
        // Most telling first on each line, so a narrow screen cuts the least.
        let mut first = nameserver_spans(config, theme);
        if let Some(prefix) = nat64 {
            first.push((" · NAT64 ".to_owned(), theme.muted()));
            first.push((prefix, theme.info()));
        }
        doc.line(first);
        let mut second = vec![
            ("search ".to_owned(), theme.muted()),
            (search, theme.text()),
            (format!(" · ndots {}", config.ndots), theme.text()),
            (" · hosts ".to_owned(), theme.muted()),
            (hosts_sources(config), theme.text()),
            (format!(" · {}", limits_text(config)), theme.text()),
        ];
        let others = other_options(config);
        if !others.is_empty() {
            second.push((format!(" · {others}"), theme.text()));
        }
        second.push((" · gai ".to_owned(), theme.muted()));
        second.push((gai_text(config), theme.text()));
        doc.line(second);
        let warnings = dns.warnings();
        // Each warning on its own line while they fit; the last line sums up the rest.
        let whole =
            if warnings.len() <= warning_lines { warnings.len() } else { warning_lines.saturating_sub(1) };
        for warning in &warnings[..whole] {
            doc.line([(format!("⚠ {warning}"), theme.warn())]);
        }
        if let Some(next) = warnings.get(whole) {
            let count = warnings.len() - whole;
            let prefix =
                if whole == 0 { format!("⚠ {count} warnings: ") } else { format!("⚠ {count} more: ") };
            doc.line([(prefix, theme.warn()), (next.clone(), theme.warn())]);
        }
        return doc;
    }
    let mut servers = vec![(label("nameservers"), theme.muted())];
    servers.extend(nameserver_spans(config, theme));
    doc.line(servers);
    doc.line([(label("search"), theme.muted()), (search, theme.text())]);
    doc.line([(label("options"), theme.muted()), (options_text(config), theme.text())]);
    doc.line([
        (label("hosts"), theme.muted()),
        (config.hosts_order.join(" "), theme.text()),
        (" · gai.conf ".to_owned(), theme.muted()),
        (gai_text(config), theme.text()),
    ]);
    // Each warning whole (it says how to fix what it names), before the lines a short
    // box may cut.
    for warning in dns.warnings() {
        for (i, part) in wrap(warning, room.saturating_sub(2).max(20)).into_iter().enumerate() {
            let mark = if i == 0 { "⚠ " } else { "  " };
            doc.line([(format!("{mark}{part}"), theme.warn())]);
        }
    }
    if let Some(prefix) = nat64 {
        doc.line([
            (label("NAT64"), theme.muted()),
            (prefix, theme.info()),
            (" · DNS64 synthesises AAAA".to_owned(), theme.muted()),
        ]);
    }
    doc.line([(label("read"), theme.muted()), (config.sources.join("  "), theme.muted())]);
    doc
}

/// The resolver box.
fn resolver(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme, compact: bool, warning_lines: usize) {
    if area.is_empty() {
        return;
    }
    let files = store.dns().config().map(|config| config.sources.len()).unwrap_or_default();
    let read = match files {
        0 => String::new(),
        1 => "1 file read".to_owned(),
        n => format!("{n} files read"),
    };
    let notes: &[(&str, Style)] = if compact { &[(read.as_str(), theme.muted())] } else { &[] };
    let inner = pane(buf, area, theme.border(), &[("Resolver", theme.title())], notes);
    let inner = source_banner(buf, inner, store, SourceId::Dns, theme);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(1), inner.height);
    resolver_doc(store, theme, compact, warning_lines, usize::from(padded.width)).render(buf, padded, 0);
}

// ---------------------------------------------------------------------------------
// The server table

/// One row of the server table: a configured server (asked or not) or one the
/// capture or a trace saw.
struct ServerRow<'s> {
    address: IpAddr,
    role: &'static str,
    health: Option<&'s ServerHealth>,
}

/// Configured servers first, in the order glibc and the stub use them, then every
/// other server seen, by address.
fn server_rows<'s>(store: &'s Store) -> Vec<ServerRow<'s>> {
    let dns = store.dns();
    let health = dns.servers();
    let mut rows: Vec<ServerRow<'_>> = Vec::new();
    let add = |rows: &mut Vec<ServerRow<'s>>, address: IpAddr, role: &'static str| {
        if !rows.iter().any(|row| row.address == address) {
            rows.push(ServerRow { address, role, health: health.get(&address) });
        }
    };
    if let Some(config) = dns.config() {
        for address in &config.nameservers {
            let role = if config.stub && address.is_loopback() { "stub" } else { "nameserver" };
            add(&mut rows, *address, role);
        }
        for address in &config.upstreams {
            add(&mut rows, *address, "upstream");
        }
    }
    for address in health.keys() {
        add(&mut rows, *address, "seen");
    }
    rows
}

/// The colour of an error rate: none is quiet, some needs a look, most is broken.
const fn error_rate_style(theme: &Theme, pct: f64) -> Style {
    if pct >= 50.0 {
        theme.error()
    } else if pct > 0.0 {
        theme.warn()
    } else {
        theme.muted()
    }
}

/// The colour of a latency: slow is worth a look.
const fn latency_style(theme: &Theme, ms: Option<f64>) -> Style {
    match ms {
        Some(ms) if ms > SLOW_QUERY_MS => theme.warn(),
        Some(_) => theme.text(),
        None => theme.muted(),
    }
}

fn servers(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let rows = server_rows(store);
    let count = rows.len().to_string();
    let title = [("Servers", theme.title()), (" ", theme.muted()), (count.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[("passive log and traces", theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let layout = Layout::new(&SERVER_COLUMNS, inner.x + 1, inner.width.saturating_sub(1));
    header(buf, inner.y, &SERVER_COLUMNS, &layout, theme, None);
    let body = Rect { y: inner.y + 1, height: inner.height.saturating_sub(1), ..inner };
    if rows.is_empty() {
        note(buf, body, "no server configured or seen yet", theme.muted());
        return;
    }
    let mut scratch = Scratch::default();
    for (server, y) in rows.iter().take(MAX_SERVERS).zip(body.top()..body.bottom()) {
        let mut row = Row::new(buf, body, y, &layout, &SERVER_COLUMNS, None, &mut scratch);
        let asked = server.health.is_some_and(|health| health.queries > 0);
        row.display(ADDRESS, server.address, if asked { theme.text() } else { theme.muted() });
        row.text(ROLE, server.role, theme.muted());
        let Some(health) = server.health else {
            row.text(QUERIES, "0", theme.muted());
            for column in [TIMEOUTS, ERRORS, P50, P95] {
                row.text(column, "–", theme.muted());
            }
            continue;
        };
        row.display(QUERIES, health.queries, theme.text());
        let timeouts = if health.timeouts > 0 { theme.warn() } else { theme.muted() };
        row.display(TIMEOUTS, health.timeouts, timeouts);
        let rate = health.error_rate_pct();
        row.display(ERRORS, format_args!("{rate:.0}%"), error_rate_style(theme, rate));
        let (p50, p95) = (health.p50_ms(), health.p95_ms());
        row.display(P50, Millis(p50), latency_style(theme, p50));
        row.display(P95, Millis(p95), latency_style(theme, p95));
    }
}

// ---------------------------------------------------------------------------------
// The query log

/// How an exchange went, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Answered with records.
    Answered,
    /// Answered that the name (NXDOMAIN) or the type (NODATA) does not exist: an
    /// answer, not a failure.
    Negative,
    /// Answered, slower than [`SLOW_QUERY_MS`].
    Slow,
    /// No answer in time, or the server failed (SERVFAIL, REFUSED, …).
    Failed,
}

fn outcome(query: &DnsQuery) -> Outcome {
    match query.rcode.as_deref() {
        None => Outcome::Failed,
        Some(code) if is_error_rcode(code) => Outcome::Failed,
        _ if query.latency_ms.is_some_and(|ms| ms > SLOW_QUERY_MS) => Outcome::Slow,
        Some("NXDOMAIN") => Outcome::Negative,
        Some("NOERROR") if query.answers == 0 => Outcome::Negative,
        Some(_) => Outcome::Answered,
    }
}

/// The response code as shown: `timeout` when none came, `NODATA` for an empty
/// NOERROR.
fn rcode_text(query: &DnsQuery) -> &str {
    match query.rcode.as_deref() {
        None => "timeout",
        Some("NOERROR") if query.answers == 0 => "NODATA",
        Some(code) => code,
    }
}

/// Whether a query passes the filter: `name:`, `proc:`, `server:`, `type:`, `rcode:`,
/// or free words matching the name, the process, the server or the response code.
pub(crate) fn matches(filter: &Filter, query: &DnsQuery) -> bool {
    let process = |needle: &str| {
        query.process.as_deref().is_some_and(|name| contains(name, needle))
            || query.pid.is_some_and(|pid| contains(StackText::new(pid).as_str(), needle))
    };
    let server = |needle: &str| contains(StackText::new(query.server).as_str(), needle);
    let rcode = |needle: &str| {
        contains(rcode_text(query), needle)
            || query.rcode.as_deref().is_some_and(|code| contains(code, needle))
    };
    filter.matches(|field, needle| match field {
        Some(Field::Name) => contains(&query.name, needle),
        Some(Field::Process) => process(needle),
        Some(Field::Server) => server(needle),
        Some(Field::Type) => query.qtype.eq_ignore_ascii_case(needle),
        Some(Field::Rcode) => rcode(needle),
        _ => {
            contains(&query.name, needle)
                || process(needle)
                || server(needle)
                || rcode(needle)
                || query.qtype.eq_ignore_ascii_case(needle)
        }
    })
}

/// Queries the filter lets through.
pub(crate) fn filtered_len(store: &Store, state: &DnsState) -> usize {
    let queries = store.dns().queries();
    if state.filter.is_empty() {
        queries.len()
    } else {
        queries.filter(|query| matches(&state.filter, query)).count()
    }
}

/// Queries the filter lets through that arrived after the cursor was placed.
fn arrived_since_anchor(store: &Store, state: &DnsState) -> usize {
    let dns = store.dns();
    let new = dns.logged().saturating_sub(state.anchor);
    let new = usize::try_from(new).unwrap_or(usize::MAX).min(dns.queries().len());
    if state.filter.is_empty() {
        new
    } else {
        dns.queries().rev().take(new).filter(|query| matches(&state.filter, query)).count()
    }
}

/// The cursor and offset as they stand now: on the newest query while there, otherwise
/// still on the same query however many arrived since.
pub(crate) fn current(state: &DnsState, store: &Store) -> ListState {
    if state.list.cursor == 0 {
        return ListState::default();
    }
    let arrived = arrived_since_anchor(store, state);
    ListState { cursor: state.list.cursor + arrived, offset: state.list.offset + arrived }
}

/// `←→` when the focus keys are the arrows, else the first key bound.
fn focus_keys(ui: &UiState) -> String {
    let keys: Vec<&str> = ui
        .bindings()
        .iter()
        .find(|binding| binding.action == "switch_focus")
        .map(|binding| binding.keys.iter().map(String::as_str).collect())
        .unwrap_or_default();
    match keys.as_slice() {
        ["left", "right"] | ["right", "left"] => "←→".to_owned(),
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}

/// Why the log is empty, in words.
fn empty_note(store: &Store, state: &DnsState) -> String {
    if !state.filter.is_empty() {
        return format!("no query matches \"{}\" · esc clears the filter", state.filter.text());
    }
    match store.source(SourceId::DnsCapture) {
        None => "waiting for the DNS capture…".to_owned(),
        Some(status) if status.status == SourceState::Ok => "no DNS query seen yet".to_owned(),
        Some(status) => format!("no queries: dns capture {}", status.status.as_str()),
    }
}

fn query_log(buf: &mut Buffer, area: Rect, store: &Store, ui: &UiState, theme: &Theme, focused: bool) {
    if area.is_empty() {
        return;
    }
    let state = &ui.dns;
    let dns = store.dns();
    let counters = dns.counters();
    let total = filtered_len(store, state);
    let logged = format!(" {} logged", Count(dns.logged()));
    let shown = format!("  {total} of {}", dns.queries().len());
    let malformed = format!(" · {} malformed", Count(counters.malformed));
    let unmatched = format!(" · {} unmatched", Count(counters.unmatched));
    let counter_style = |n: u64| if n > 0 { theme.warn() } else { theme.muted() };
    let mut title = vec![("Query log", theme.title())];
    if state.filter.is_empty() {
        title.extend([
            (logged.as_str(), theme.muted()),
            (malformed.as_str(), counter_style(counters.malformed)),
            (unmatched.as_str(), counter_style(counters.unmatched)),
        ]);
    } else {
        title.extend([
            ("  filter ", theme.muted()),
            (state.filter.text(), theme.accent()),
            (shown.as_str(), theme.muted()),
        ]);
    }
    let keys = format!("{} trace  {} focus", ui.keys_of("trace").unwrap_or("t"), focus_keys(ui));
    let border = if focused { theme.border_focused() } else { theme.border() };
    let inner = pane(buf, area, border, &title, &[(keys.as_str(), theme.muted())]);
    if inner.is_empty() {
        return;
    }
    if banner_fits(store, inner) {
        match store.source(SourceId::DnsCapture) {
            // The shared banner speaks only of trouble; a capture turned off is said
            // here, as plainly.
            Some(status) if status.status == SourceState::Off => {
                let text = format!("○ dns_capture source off: {}", status.detail);
                put(buf, inner.x + 1, inner.y, inner.width - 1, &text, theme.muted());
            }
            _ => {
                source_banner(buf, inner, store, SourceId::DnsCapture, theme);
            }
        }
    }
    let body = log_body(store, area);
    let layout = Layout::new(&LOG_COLUMNS, inner.x + 1, inner.width.saturating_sub(1));
    if body.y > inner.y {
        header(buf, body.y - 1, &LOG_COLUMNS, &layout, theme, None);
    }
    if total == 0 {
        note(buf, body, &empty_note(store, state), theme.muted());
        return;
    }
    let visible = usize::from(body.height);
    let list = current(state, store);
    let cursor = list.cursor.min(total - 1);
    let offset = scroll(list.offset, cursor, visible, total);
    let mut scratch = Scratch::default();
    // An empty filter lets every query through at the cost of a call.
    let rows = dns.queries().rev().filter(|query| matches(&state.filter, query)).skip(offset);
    for (i, (query, y)) in rows.zip(body.top()..body.bottom()).enumerate() {
        let selection = (focused && offset + i == cursor).then(|| theme.selection());
        let mut row = Row::new(buf, body, y, &layout, &LOG_COLUMNS, selection, &mut scratch);
        draw_query(&mut row, query, theme);
    }
    position(buf, area, cursor, total, theme.muted());
}

fn draw_query(row: &mut Row<'_>, query: &DnsQuery, theme: &Theme) {
    let outcome = outcome(query);
    // A slow or failed exchange is coloured across the row, so it stands out in a
    // scrolling log; a negative answer only in its code.
    let tone = match outcome {
        Outcome::Failed => Some(theme.error()),
        Outcome::Slow => Some(theme.warn()),
        Outcome::Answered | Outcome::Negative => None,
    };
    let or = |style: Style| tone.unwrap_or(style);
    row.display(TIME, Clock(query.at), or(theme.muted()));
    process_cell(row, query, or(theme.text()), or(theme.muted()));
    row.text(NAME, &query.name, or(theme.text()));
    row.text(QTYPE, &query.qtype, or(theme.muted()));
    if query.server.port() == 53 {
        row.display(SERVER, query.server.ip(), or(theme.text()));
    } else {
        row.display(SERVER, query.server, or(theme.text()));
    }
    let code_style = match outcome {
        Outcome::Negative => theme.info(),
        _ => or(theme.muted()),
    };
    row.text(RCODE, rcode_text(query), code_style);
    row.display(LATENCY, Millis(query.latency_ms), or(theme.text()));
}

/// `name pid`, the pid dropped first when the column is narrow; `pid N` for a process
/// whose name is unknown, `?` when the capture could not tell who asked.
fn process_cell(row: &mut Row<'_>, query: &DnsQuery, style: Style, muted: Style) {
    let Some(slot) = row.slot(PROCESS) else { return };
    let (style, muted) = (row.style(style), row.style(muted));
    let y = row.y();
    let (buf, scratch) = row.parts();
    match (&query.process, query.pid) {
        (Some(name), Some(pid)) => {
            let pid = scratch.format(pid);
            if width(name) + 1 + pid.len() <= usize::from(slot.width) {
                let used = put(buf, slot.x, y, slot.width, name, style);
                put(buf, slot.x + used + 1, y, slot.width.saturating_sub(used + 1), pid, muted);
            } else {
                put(buf, slot.x, y, slot.width, name, style);
            }
        }
        (Some(name), None) => {
            put(buf, slot.x, y, slot.width, name, style);
        }
        (None, Some(pid)) => {
            put(buf, slot.x, y, slot.width, scratch.format(format_args!("pid {pid}")), muted);
        }
        (None, None) => {
            put(buf, slot.x, y, slot.width, "?", muted);
        }
    }
}

// ---------------------------------------------------------------------------------
// The Overview's line

/// How DNS is doing, for the Overview's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Health {
    Ok,
    Warn,
    Error,
}

/// The median latency of the answered exchanges in the log.
fn median_latency(store: &Store) -> Option<f64> {
    let mut latencies: Vec<f64> = store.dns().queries().filter_map(|query| query.latency_ms).collect();
    if latencies.is_empty() {
        return None;
    }
    // Nearest rank, as the per-server percentiles.
    let middle = (latencies.len() - 1) / 2;
    let (_, median, _) = latencies.select_nth_unstable_by(middle, f64::total_cmp);
    Some(*median)
}

/// The Overview's DNS line: `● 127.0.0.53 +1 (stub → 2 upstreams) · 1 warning · 2
/// timeouts · 40 queries · p50 5.10ms · NAT64 64:ff9b::/96`, coloured by health; or
/// why there is nothing to say yet.
pub(crate) fn summary(store: &Store, theme: &Theme) -> Vec<(String, Style)> {
    let dns = store.dns();
    let mut spans = Vec::new();
    let Some(config) = dns.config() else {
        let text = match store.source(SourceId::Dns) {
            Some(status) if status.status != SourceState::Ok => {
                format!("dns source {}: {}", status.status.as_str(), status.detail)
            }
            _ => "waiting for the first resolver read…".to_owned(),
        };
        spans.push((text, theme.muted()));
        return spans;
    };
    let counters = dns.counters();
    let capture = store.source(SourceId::DnsCapture).filter(|status| status.status != SourceState::Ok);
    let servers = dns.servers().values().filter(|health| health.queries > 0);
    let all_failing = servers.clone().count() > 0 && servers.clone().all(|h| h.error_rate_pct() >= 50.0);
    let some_failing = servers.clone().any(|h| h.error_rate_pct() > 0.0);
    let health = if config.nameservers.is_empty() || all_failing {
        Health::Error
    } else if !dns.warnings().is_empty() || counters.timeouts > 0 || capture.is_some() || some_failing {
        Health::Warn
    } else {
        Health::Ok
    };
    let style = match health {
        Health::Ok => theme.ok(),
        Health::Warn => theme.warn(),
        Health::Error => theme.error(),
    };
    spans.push(("● ".to_owned(), style));
    match config.nameservers.as_slice() {
        [] => spans.push(("no nameservers: glibc asks 127.0.0.1".to_owned(), theme.error())),
        [first, rest @ ..] => {
            spans.push((first.to_string(), theme.accent()));
            if !rest.is_empty() {
                spans.push((format!(" +{}", rest.len()), theme.muted()));
            }
        }
    }
    if config.stub {
        let upstreams = match config.upstreams.len() {
            0 => "upstreams unknown".to_owned(),
            1 => "1 upstream".to_owned(),
            n => format!("{n} upstreams"),
        };
        spans.push((format!(" (stub → {upstreams})"), theme.muted()));
    }
    let separator = || (" · ".to_owned(), theme.muted());
    // A capture in trouble makes the counts that follow partial: say so before them,
    // briefly (the reason before its first colon; the DNS tab has the whole of it).
    if let Some(status) = capture {
        let reason = status.detail.split(':').next().unwrap_or_default().trim();
        spans.push(separator());
        spans.push((format!("capture {}: {reason}", status.status.as_str()), theme.warn()));
    }
    // What needs a look before the counts, so a narrow screen cuts the counts.
    match dns.warnings().len() {
        0 => {}
        n => {
            spans.push(separator());
            spans.push((format!("{n} warning{}", if n == 1 { "" } else { "s" }), theme.warn()));
        }
    }
    if counters.timeouts > 0 {
        let s = if counters.timeouts == 1 { "" } else { "s" };
        spans.push(separator());
        spans.push((format!("{} timeout{s}", Count(counters.timeouts)), theme.warn()));
    }
    if dns.logged() > 0 {
        spans.push(separator());
        spans.push((format!("{} queries", Count(dns.logged())), theme.text()));
        if let Some(median) = median_latency(store) {
            spans.push(separator());
            spans.push((format!("p50 {}", Millis(Some(median))), latency_style(theme, Some(median))));
        }
    }
    if let Some(prefix) = dns.dns64().and_then(|report| report.prefix.as_deref()) {
        spans.push(separator());
        spans.push((format!("NAT64 {prefix}"), theme.info()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;
    use crate::filter::DNS_FIELDS;

    fn texts(spans: &[(String, Style)]) -> String {
        spans.iter().map(|(text, _)| text.as_str()).collect()
    }

    #[test]
    fn filter_terms_pick_rows() {
        let store = fake::store();
        let count = |text: &str| {
            let state = DnsState { filter: Filter::parse(text, DNS_FIELDS), ..DnsState::default() };
            filtered_len(&store, &state)
        };
        assert_eq!(count(""), 40);
        assert_eq!(count("proc:curl"), 5);
        assert_eq!(count("proc:4471"), 5);
        assert_eq!(count("timeout"), 2);
        assert_eq!(count("rcode:servfail"), 2);
        assert_eq!(count("type:ptr"), 4);
        assert_eq!(count("server:10.0.1.53"), 10);
        assert_eq!(count("corp.test"), 6);
        assert_eq!(count("nodata"), count("rcode:nodata"));
    }

    #[test]
    fn outcomes_colour_what_matters() {
        let store = fake::store();
        let outcomes: Vec<(String, Outcome)> =
            store.dns().queries().map(|q| (format!("{} {}", q.name, rcode_text(q)), outcome(q))).collect();
        let of = |needle: &str| outcomes.iter().find(|(text, _)| text == needle).map(|(_, outcome)| *outcome);
        assert_eq!(of("api.example.com timeout"), Some(Outcome::Failed));
        assert_eq!(of("5.0.20.10.in-addr.arpa SERVFAIL"), Some(Outcome::Failed), "slow and failed: failed");
        assert_eq!(of("slow.example.org NOERROR"), Some(Outcome::Slow));
        assert_eq!(of("wpad.corp.test NXDOMAIN"), Some(Outcome::Negative));
        assert_eq!(of("git.corp.test NODATA"), Some(Outcome::Negative));
        assert_eq!(of("git.corp.test NOERROR"), Some(Outcome::Answered));
    }

    #[test]
    fn the_overview_line_says_how_dns_is_doing() {
        use netlens_collectors::Payload;
        use netlens_collectors::model::SourceStatus;

        let theme = Theme::default();
        let store = fake::store();
        let line = texts(&summary(&store, &theme));
        assert_eq!(
            line,
            "● 127.0.0.53 +1 (stub → 2 upstreams) · 1 warning · 2 timeouts · 40 queries · p50 5.10ms · NAT64 64:ff9b::/96"
        );
        assert_eq!(summary(&store, &theme)[0].1, theme.warn());

        let empty = Store::default();
        assert_eq!(texts(&summary(&empty, &theme)), "waiting for the first resolver read…");

        let mut degraded = store.clone();
        let detail = "passive DNS capture needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep`";
        let status =
            SourceStatus { name: SourceId::DnsCapture, status: SourceState::Degraded, detail: detail.into() };
        degraded.apply(fake::event(fake::NOW, SourceId::DnsCapture, Payload::Status(status)));
        let line = texts(&summary(&degraded, &theme));
        let expected = "● 127.0.0.53 +1 (stub → 2 upstreams) · capture degraded: passive DNS capture needs \
                        CAP_NET_RAW · 1 warning";
        assert!(line.starts_with(expected), "{line}");
    }

    #[test]
    fn servers_list_configured_ones_first() {
        let store = fake::store();
        let rows: Vec<(String, &str)> =
            server_rows(&store).iter().map(|row| (row.address.to_string(), row.role)).collect();
        assert_eq!(
            rows,
            [
                ("127.0.0.53".to_owned(), "stub"),
                ("10.9.9.9".to_owned(), "nameserver"),
                ("10.0.0.53".to_owned(), "upstream"),
                ("10.0.1.53".to_owned(), "upstream"),
            ]
        );
    }

    #[test]
    fn the_layout_keeps_the_log_readable() {
        let store = fake::store();
        let mut ui = UiState::new();
        let areas = layout_for(&store, &ui, 80, 24);
        assert!(areas.compact);
        assert_eq!(areas.resolver.height, 5, "three lines");
        assert!(areas.servers.is_empty() && areas.trace.is_empty(), "{areas:?}");
        assert_eq!(areas.log.height, 17);
        ui.dns.focus = DnsFocus::Trace;
        let areas = layout_for(&store, &ui, 80, 24);
        assert!(areas.log.is_empty(), "a focused trace takes the log's room: {areas:?}");
        assert_eq!(areas.trace.height, 17);
        ui.dns.focus = DnsFocus::Log;
        let areas = layout_for(&store, &ui, 160, 48);
        assert!(!areas.compact);
        assert!(areas.servers.width > 0 && areas.trace.width > 0);
        assert_eq!(areas.trace.height, 17, "the whole trace below the log");
        assert!(areas.log.height >= LOG_MIN && areas.log.bottom() == areas.trace.y, "{areas:?}");
        let areas = layout_for(&store, &ui, 200, 50);
        assert_eq!(areas.log.y, areas.trace.y, "side by side");
        assert_eq!(areas.trace.width, 90);
    }

    #[test]
    fn a_taller_screen_lists_more_warnings() {
        let mut store = fake::store();
        let config = store.dns().config().cloned().unwrap_or_default();
        let warnings: Vec<String> = (1..=5).map(|n| format!("warning number {n}")).collect();
        store.apply(netlens_collectors::Event::now(
            SourceId::Dns,
            netlens_collectors::Payload::DnsConfig(netlens_collectors::model::DnsConfigReport {
                config,
                warnings,
            }),
        ));
        let text = |height: u16| {
            let areas = layout_for(&store, &UiState::new(), 100, height);
            let doc = resolver_doc(&store, &Theme::monochrome(), areas.compact, areas.warning_lines, 98);
            let area = Rect::new(0, 0, 98, doc.len() as u16);
            let mut buf = Buffer::empty(area);
            doc.render(&mut buf, area, 0);
            (0..area.height)
                .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect::<String>())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let short = text(24);
        assert!(short.contains("⚠ 5 warnings: warning number 1"), "{short}");
        let tall = text(36);
        for expected in ["⚠ warning number 1", "⚠ warning number 3", "⚠ 2 more: warning number 4"] {
            assert!(tall.contains(expected), "{expected} missing in\n{tall}");
        }
    }
}
