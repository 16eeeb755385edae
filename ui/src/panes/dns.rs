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

use netlens_collectors::Store;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::dns_log::query_log;
use super::dns_resolver::{resolver, resolver_height};
use super::dns_servers::{MAX_SERVERS, server_rows, servers};
use super::dns_trace;
use crate::context::{Keys, Paint};
use crate::state::{DnsFocus, DnsState};
use crate::theme::Theme;
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
fn layout(store: &Store, state: &DnsState, keys: Keys<'_>, area: Rect) -> Areas {
    let mono = Theme::monochrome();
    let servers_wanted = server_rows(store).len().clamp(1, MAX_SERVERS) as u16 + 3;
    let trace_wanted = dns_trace::doc(store, state, keys, &mono).len() as u16 + 2;
    let focus = state.focus;
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

/// Draw the tab, recording the rows the log shows and how far the trace scrolls.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &mut DnsState, ctx: &Paint<'_>) {
    let Paint { store, theme, keys, .. } = *ctx;
    let areas = layout(store, state, keys, area);
    let buf = frame.buffer_mut();
    resolver(buf, areas.resolver, store, theme, areas.compact, areas.warning_lines);
    servers(buf, areas.servers, store, theme);
    let focus = state.focus;
    query_log(buf, areas.log, state, ctx, focus == DnsFocus::Log);
    dns_trace::render(buf, areas.trace, state, ctx, focus == DnsFocus::Trace);
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;
    use netlens_collectors::model::SourceId;
    use ratatui::buffer::Buffer;

    use super::*;
    use crate::panes::dns_resolver::resolver_doc;
    use crate::state::UiState;

    /// The tab's areas on a `width` × `height` terminal (between the tab bar and the
    /// status bar).
    fn layout_for(store: &Store, state: &DnsState, width: u16, height: u16) -> Areas {
        let ui = UiState::new();
        layout(store, state, Keys(ui.bindings()), Rect::new(0, 1, width, height.saturating_sub(2)))
    }

    #[test]
    fn the_layout_keeps_the_log_readable() {
        let store = fake::store();
        let mut state = DnsState::default();
        let areas = layout_for(&store, &state, 80, 24);
        assert!(areas.compact);
        assert_eq!(areas.resolver.height, 5, "three lines");
        assert!(areas.servers.is_empty() && areas.trace.is_empty(), "{areas:?}");
        assert_eq!(areas.log.height, 17);
        state.focus = DnsFocus::Trace;
        let areas = layout_for(&store, &state, 80, 24);
        assert!(areas.log.is_empty(), "a focused trace takes the log's room: {areas:?}");
        assert_eq!(areas.trace.height, 17);
        state.focus = DnsFocus::Log;
        let areas = layout_for(&store, &state, 160, 48);
        assert!(!areas.compact);
        assert!(areas.servers.width > 0 && areas.trace.width > 0);
        assert_eq!(areas.trace.height, 17, "the whole trace below the log");
        assert!(areas.log.height >= LOG_MIN && areas.log.bottom() == areas.trace.y, "{areas:?}");
        let areas = layout_for(&store, &state, 200, 50);
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
            let areas = layout_for(&store, &DnsState::default(), 100, height);
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
